package keyword

import (
	"errors"
	"strings"
	"testing"

	"github.com/chatterhq/sdk/chatter"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, clean, words string
		fold             bool
	}{
		{"  Ремонт   КВАРТИРЫ! ", "ремонт квартиры!", "ремонт квартиры", false},
		{"Ёлка зелёная", "елка зеленая", "елка зеленая", false},
		{"ре\u00adмонт\u200b под\u200dключ", "ремонт подключ", "ремонт подключ", false},
		{"ﬁle Ｒｅｍｏｎｔ", "file remont", "file remont", false},                                 // NFKC: ligature and full-width letters
		{"рeмонт кваpтиры, price", "рeмонт кваpтиры, price", "ремонт квартиры price", true}, // Latin e and p folded in Cyrillic words only
		{"бизнес-центр", "бизнес-центр", "бизнес центр", false},
		{"", "", "", false},
	} {
		o := NormalizeOptions{FoldLookalikes: tc.fold}
		if got := Normalize(tc.in, o); got != tc.clean {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.clean)
		}
		if got := Words(tc.in, o); got != tc.words {
			t.Errorf("Words(%q) = %q, want %q", tc.in, got, tc.words)
		}
	}
}

func key(chat int64) chatter.Key {
	return chatter.Key{Source: chatter.SourceParser, Account: "acc1", ChatID: chat, MessageID: 1}
}

func TestMatchOperators(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rule, text string
		want       bool
		hits       string // joined hit texts when matched
	}{
		{"ремонт квартиры", "Нужен ремонт квартиры в Москве", true, "ремонт,квартиры"},
		{"ремонт квартиры", "Ищу бригаду для ремонта квартир", true, "ремонта,квартир"},
		{"ремонт квартиры", "квартирах после ремонтом", true, "ремонтом,квартирах"},
		{"ремонт квартиры", "Нужен ремонт дома", false, ""},
		{"ремонт", "Хочу отремонтировать", false, ""},
		{"!ремонт", "Нужен ремонт", true, "ремонт"},
		{"!ремонт", "Нужен ремонта", false, ""},
		{"+на ремонт", "на ремонт", true, "на,ремонт"},
		{`"ремонт под ключ"`, "Сделаем ремонт под ключ быстро", true, "ремонт под ключ"},
		{`"ремонт под ключ"`, "Ремонт, под ключ!", true, "ремонт под ключ"},
		{`"ремонт под ключ"`, "ключ под ремонт", false, ""},
		{`"ремонт под ключ"`, "евроремонт под ключи", false, ""},
		{"ремонт*", "будем ремонтировать", true, "ремонтировать"},
		{"ремонт*", "евроремонт", false, ""},
		{"*ремонт*", "евроремонт", true, "ремонт"},
		{"(купить | заказать) окна", "Хочу заказать окна", true, "заказать,окна"},
		{"(купить | заказать) окна", "Хочу купить окно", true, "купить,окно"},
		{"(купить | заказать) окна", "Хочу продать окна", false, ""},
		{"ремонт -бесплатно", "ремонт бесплатно", false, ""},
		{"ремонт -бесплатно", "ремонт недорого", true, "ремонт"},
		{`ремонт -"своими руками"`, "ремонт своими руками", false, ""},
		{`ремонт -"своими руками"`, "ремонт руками своими", true, "ремонт"},
		{`re:\+7\d{10}`, "звоните +79161234567", true, "+79161234567"},
		{`re:(^|\P{L})срочно($|\P{L})`, "СРОЧНО нужен мастер", true, "срочно "},
		{"happy customer", "two happiest customers", false, ""},
		{"happy customer", "happy customers", true, "happy,customers"},
		{"ёлка", "Купим елки оптом", true, "елки"},
		{"бизнес-центр", "офис в бизнес центре", false, ""}, // exact phrase forms
		{"бизнес-центр", "офис в бизнес-центр", true, "бизнес центр"},
	} {
		set, err := Compile(Config{Rules: []Rule{{Expr: tc.rule}}})
		if err != nil {
			t.Fatalf("%q: %v", tc.rule, err)
		}
		res := set.Match(key(-1001), tc.text)
		if res.Accepted() != tc.want {
			t.Errorf("rule %q on %q: accepted = %v, want %v (%+v)", tc.rule, tc.text, res.Accepted(), tc.want, res)
			continue
		}
		if tc.want {
			var got []string
			for _, h := range res.Matches[0].Hits {
				got = append(got, h.Text)
			}
			if strings.Join(got, ",") != tc.hits {
				t.Errorf("rule %q on %q: hits = %v, want %s", tc.rule, tc.text, got, tc.hits)
			}
		}
	}
}

func TestStopRulesAndVerdict(t *testing.T) {
	t.Parallel()
	set := MustCompile(Config{Rules: ParseRules(`
# leads
ремонт квартиры
(купить | заказать) окна
-вакансия -резюме
`)})
	res := set.Match(key(-1), "Заказать окна и ремонт квартиры")
	if !res.Accepted() || len(res.Matches) != 2 {
		t.Fatalf("res = %+v", res)
	}
	v := res.Verdict()
	if !v.Accept || v.Rule != "ремонт квартиры" || !strings.Contains(v.Reason, "(купить | заказать) окна") {
		t.Errorf("verdict = %+v", v)
	}
	res = set.Match(key(-1), "Вакансия: ремонт квартиры, оплата сдельная")
	if res.Accepted() || res.Stopped == nil || res.Stopped.Rule != "-вакансия -резюме" {
		t.Fatalf("stop rule not applied: %+v", res)
	}
	if v := res.Verdict(); v.Accept || v.Rule != "-вакансия -резюме" || v.Matched[0] != "вакансия" {
		t.Errorf("verdict = %+v", v)
	}
	if v := set.Match(key(-1), "просто болтовня").Verdict(); v.Accept || v.Reason != "no keyword rule matched" {
		t.Errorf("verdict = %+v", v)
	}
	empty := MustCompile(Config{})
	if v := empty.Match(key(-1), "что угодно").Verdict(); !v.Accept {
		t.Errorf("an empty set must accept: %+v", v)
	}
}

func TestOverrides(t *testing.T) {
	t.Parallel()
	set := MustCompile(Config{
		Rules: []Rule{{Name: "global", Expr: "ремонт"}},
		Overrides: []Override{
			{Scope: Scope{Source: chatter.SourceParser}, Rules: []Rule{{Name: "parser", Expr: "окна"}}},
			{Scope: Scope{ChatID: -42}, Replace: true, Rules: []Rule{{Name: "chat42", Expr: "доставка"}}},
		},
	})
	if got := set.Match(key(-1), "окна").Verdict().Rule; got != "parser" {
		t.Errorf("source override (extend): %q", got)
	}
	if got := set.Match(key(-1), "ремонт").Verdict().Rule; got != "global" {
		t.Errorf("global still applies when extended: %q", got)
	}
	if set.Match(key(-42), "ремонт").Accepted() {
		t.Error("chat override replaces the global rules")
	}
	if got := set.Match(key(-42), "нужна доставка").Verdict().Rule; got != "chat42" {
		t.Errorf("chat override: %q", got)
	}
	botKey := chatter.Key{Source: chatter.SourceBot, Account: "b", ChatID: 5, MessageID: 1}
	if set.Match(botKey, "окна").Accepted() {
		t.Error("parser override applied to the bot")
	}
	if set.Len() != 3 {
		t.Errorf("Len = %d", set.Len())
	}
}

func TestSyntaxErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rule string
		col  int
	}{
		{`"ремонт под`, 1},
		{"(купить | заказать", 1},
		{"ремонт ()", 8},
		{"( | окна)", 3},
		{"ремонт -", 8},
		{"*ремонт", 1},
		{"re:(", 4},
		{"re:   ", 4},
		{"   ", 1},
		{"ре!монт", 3},
		{"окна )", 6},
		{`""`, 1},
		{"!!", 2},
	} {
		_, err := Compile(Config{Rules: []Rule{{Name: "r", Expr: tc.rule}}})
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: err = %v, want *SyntaxError", tc.rule, err)
			continue
		}
		if se.Column != tc.col {
			t.Errorf("%q: column %d, want %d (%v)", tc.rule, se.Column, tc.col, se)
		}
		if msg := se.Message(); msg.RU == "" || msg.EN == "" || !errors.Is(err, chatter.ErrInvalid) {
			t.Errorf("%q: message %+v", tc.rule, msg)
		}
	}
	// All errors are reported, not just the first.
	_, err := Compile(Config{Rules: []Rule{{Expr: "("}, {Expr: "ok"}, {Expr: `"`}}})
	if n := strings.Count(err.Error(), "keyword: rule"); n != 2 {
		t.Errorf("reported %d errors, want 2: %v", n, err)
	}
}

func TestLookalikeFolding(t *testing.T) {
	t.Parallel()
	text := "Нужен рeмонт кваpтиры" // Latin e and p
	plain := MustCompile(Config{Rules: []Rule{{Expr: "ремонт квартиры"}}})
	if plain.MatchText(text).Accepted() {
		t.Fatal("matched without folding: the test text is not disguised")
	}
	folded := MustCompile(Config{Rules: []Rule{{Expr: "ремонт квартиры"}}, Normalize: NormalizeOptions{FoldLookalikes: true}})
	if !folded.MatchText(text).Accepted() {
		t.Fatal("folding did not undo Latin look-alikes")
	}
	if got := Words("price happy", NormalizeOptions{FoldLookalikes: true}); got != "price happy" {
		t.Errorf("pure Latin words changed by folding: %q", got)
	}
}

func TestLiveSwap(t *testing.T) {
	t.Parallel()
	l := NewLive(nil)
	m := &chatter.Message{Key: key(-1), Text: "ремонт"}
	if !l.Filter(m).Accept {
		t.Fatal("no set: accept")
	}
	if err := l.Update(Config{Rules: []Rule{{Expr: "окна"}}}); err != nil {
		t.Fatal(err)
	}
	if l.Filter(m).Accept {
		t.Fatal("new rules not applied")
	}
	if err := l.Update(Config{Rules: []Rule{{Expr: "("}}}); err == nil {
		t.Fatal("bad rules accepted")
	}
	if l.Filter(m).Accept || l.Set() == nil {
		t.Fatal("a failed update must keep the previous set")
	}
}

func TestConcurrentMatch(t *testing.T) {
	t.Parallel()
	set := MustCompile(Config{Rules: ParseRules("ремонт квартиры\nокна -пластиковые\n\"под ключ\"")})
	done := make(chan bool)
	for g := range 8 {
		go func() {
			ok := true
			for i := range 500 {
				text := "ремонт квартиры под ключ"
				if (i+g)%2 == 1 {
					text = "пластиковые окна"
				}
				res := set.MatchText(text)
				if res.Accepted() != ((i+g)%2 == 0) || (res.Accepted() && len(res.Matches) != 2) {
					ok = false
				}
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Fatal("concurrent matching gave a wrong result")
		}
	}
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		"ремонт квартиры", "!ремонт", `"ремонт под ключ"`, "ремонт*", "*ремонт*", "(купить | заказать) окна",
		"ремонт -бесплатно", "-вакансия", `re:\+7\d{10}`, "((", `"`, "*", "!", "-", "|", "re:", "a-b", "\xff",
		"ейш", "ремонт -ейшая", "(окна | ейше)", // words the stemmer reduces to nothing
	} {
		f.Add(s, "Нужен ремонт квартиры под ключ, +79161234567")
	}
	f.Fuzz(func(t *testing.T, rule, text string) {
		set, err := Compile(Config{Rules: []Rule{{Expr: rule}}, Normalize: NormalizeOptions{FoldLookalikes: true}})
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Column < 1 {
				t.Fatalf("rule %q: error without a position: %v", rule, err)
			}
			return
		}
		res := set.MatchText(text)
		_ = res.Verdict()
		for _, m := range res.Matches {
			if len(m.Hits) == 0 {
				t.Fatalf("rule %q matched %q without hits", rule, text)
			}
		}
	})
}

// Patterns that overlap in the text (a phrase, a prefix, a fragment inside
// a word, stems sharing letters) must all be found in one pass.
func TestOverlappingPatternsInOneSet(t *testing.T) {
	t.Parallel()
	rules := []string{`"ремонт под ключ"`, "ремонт*", "*емон*", "!ремонт", "ключ", "*монт под*", "под ключ"}
	set := MustCompile(Config{Rules: ParseRules(strings.Join(rules, "\n"))})
	res := set.MatchText("Сделаем ремонт под ключ")
	var got []string
	for _, m := range res.Matches {
		got = append(got, m.Rule)
	}
	if strings.Join(got, "|") != strings.Join(rules, "|") {
		t.Fatalf("matched %q, want all of %q", got, rules)
	}
}
