package fieldmap

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func tmplRecord() MapRecord {
	return MapRecord{
		"text":   "  Привет, нужен ОПТ. Звоните +7 (916) 123-45-67 или пишите Petr@Mail.RU, бюджет 150 тыс. руб  ",
		"name":   "",
		"user":   map[string]any{"first": "Пётр", "username": "petr", "id": json.Number("123456789")},
		"tags":   []any{"a", "", "b"},
		"time":   time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC),
		"iso":    "2026-03-02T10:15:00Z",
		"n":      json.Number("1500"),
		"city":   "Москва",
		"phone":  "89161234567",
		"bad":    "abc",
		"items":  []any{map[string]any{"name": "x"}},
		"flat.k": "flat",
	}
}

func TestTemplate(t *testing.T) {
	rec := tmplRecord()
	cases := []struct {
		src, want string
	}{
		{"plain", "plain"},
		{"", ""},
		{"{{ user.first }}", "Пётр"},
		{"Hi {{user.first}}!", "Hi Пётр!"},
		{"{{ name | default user.username }}", "petr"},
		{"{{ name | default 'anon' | upper }}", "ANON"},
		{"{{ missing.path | default \"-\" }}", "-"},
		{"{{ text | trim | truncate 12 }}", "Привет, нуже"},
		{"{{ text | trim | truncate 10 '…' }}", "Привет, н…"},
		{"{{ city | lower }}|{{ city | upper }}", "москва|МОСКВА"},
		{"{{ 'иван' | capitalize }}", "Иван"},
		{"{{ tags | join '/' }}", "a/b"},
		{"{{ tags | join }}", "a, b"},
		{"{{ tags | first }}", "a"},
		{"{{ tags | len }}", "3"},
		{"{{ city | len }}", "6"},
		{"{{ city | replace 'ск' 'SK' }}", "МоSKва"},
		{"{{ time | date 'date' }}", "02.03.2026"},
		{"{{ time | date 'datetime' '+03:00' }}", "02.03.2026 13:15"},
		{"{{ iso | date '2006-01-02 15:04' }}", "2026-03-02 10:15"},
		{"{{ iso | unix }}", "1772446500"},
		{"{{ n | number }}", "1500"},
		{"{{ '1 500,5' | number }}", "1500.5"},
		{"{{ phone | phone }}", "+79161234567"},
		{"{{ text | find_phone }}", "+79161234567"},
		{"{{ text | find_email }}", "petr@mail.ru"},
		{"{{ 'A@B.CO' | email }}", "a@b.co"},
		{"{{ text | find_amount }}", "150000"},
		{"{{ text | match 'бюджет (\\d+)' }}", "150"},
		{"{{ text | match '(\\d+) тыс' 0 }}", "150 тыс"},
		{"{{ text | match 'нет такого' | default 'none' }}", "none"},
		{"{{ user.id }}", "123456789"},
		{"{{ flat.k }}", "flat"},
		{"{{ items.0.name }}", "x"},
		{"{{ city | eq 'Москва' }}", "true"},
		{"{{ city | ieq ' москва ' }}", "true"},
		{"{{ city | ne 'Москва' }}", "false"},
		{"{{ city | in 'Питер' 'Москва' }}", "true"},
		{"{{ text | contains 'ОПТ' }}", "true"},
		{"{{ text | icontains 'опт' }}", "true"},
		{"{{ city | prefix 'Мос' }}", "true"},
		{"{{ city | suffix 'ва' }}", "true"},
		{"{{ text | matches '\\d{3}' }}", "true"},
		{"{{ n | gt 1000 }}{{ n | ge 1500 }}{{ n | lt 10 }}{{ n | le 1500 }}", "truetruefalsetrue"},
		{"{{ name | empty }}{{ city | not }}", "truefalse"},
		{"{{ 'a\\'b\\n' }}", "a'b\n"},
	}
	for _, tc := range cases {
		tm, err := CompileTemplate(tc.src)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		got, err := tm.Execute(rec)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%q = %q, want %q", tc.src, got, tc.want)
		}
		if tm.String() != tc.src {
			t.Errorf("String() = %q", tm.String())
		}
	}
}

func TestTemplateBadValues(t *testing.T) {
	rec := tmplRecord()
	for _, src := range []string{
		"{{ bad | number }}", "{{ bad | phone }}", "{{ bad | email }}", "{{ bad | date 'date' }}", "{{ bad | unix }}",
	} {
		tm, err := CompileTemplate(src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if _, err := tm.Execute(rec); err == nil || !strings.Contains(err.Error(), "abc") {
			t.Errorf("%q: want an error naming the value, got %v", src, err)
		}
	}
}

func TestTemplateSyntaxErrors(t *testing.T) {
	for _, src := range []string{
		"{{", "{{ }}", "{{ text", "{{ text | }}", "{{ text | nosuch }}", "{{ 'unterminated }}",
		"{{ text | truncate }}", "{{ text | truncate 'x' }}", "{{ text | truncate 2 'long' }}", "{{ text | match '(' }}",
		"{{ text | date 'nolayout' }}", "{{ text | date 'date' 'Mars/Base' }}", "{{ text | lookup nosuch }}",
		"{{ text | trim 1 }}", "{{ text | match 'a' 3 }}", "{{ a..b }}", "{{ text # }}", "}} {{ text }}x{{ a b }}",
		"{{ text | replace '' 'x' }}", "\xff{{ text }}", "{{ text && x }}",
	} {
		_, err := CompileTemplate(src)
		if err == nil {
			t.Errorf("%q: want a syntax error", src)
			continue
		}
		if ps := ProblemsOf(err); len(ps) != 1 || ps[0].Code != CodeTemplateSyntax || ps[0].Message.RU == "" {
			t.Errorf("%q: want one template_syntax problem, got %v", src, err)
		}
	}
	_, err := CompileTemplate("{{ text | trimm }}")
	if err == nil || !strings.Contains(err.Error(), "trim") {
		t.Errorf("unknown function should suggest trim: %v", err)
	}
}

func TestCondition(t *testing.T) {
	rec := tmplRecord()
	cases := []struct {
		src  string
		want bool
	}{
		{"city | eq 'Москва'", true},
		{"{{ city | eq 'Москва' }}", true},
		{"city | eq 'Питер' || text | icontains 'опт'", true},
		{"city | eq 'Питер' || text | icontains 'розница'", false},
		{"city && name", false},
		{"city && !name", true},
		{"!(city | eq 'Питер') && (n | gt 100)", true},
		{"missing", false},
		{"n", true},
		{"'0'", false},
		{"'нет'", false},
		{"tags", true},
	}
	for _, tc := range cases {
		c, err := CompileCondition(tc.src)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		got, err := c.Eval(rec)
		if err != nil || got != tc.want {
			t.Errorf("%q = %v, %v; want %v", tc.src, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "a &&", "(a", "a b", "a )", "| a", strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100)} {
		if _, err := CompileCondition(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	c, _ := CompileCondition("bad | number | gt 1")
	if _, err := c.Eval(rec); err == nil {
		t.Error("a failing function in a condition must be reported")
	}
}

func TestNormalizePhone(t *testing.T) {
	cases := map[string]string{
		"89161234567":             "+79161234567",
		"8 (916) 123-45-67":       "+79161234567",
		"+7 916 123 45 67":        "+79161234567",
		"79161234567":             "+79161234567",
		"9161234567":              "+79161234567",
		"4951234567":              "+74951234567",
		"+8 916 123 45 67":        "+79161234567",
		"0079161234567":           "+79161234567",
		"+380 50 123 4567":        "+380501234567",
		"+1 (202) 555-0123":       "+12025550123",
		"12025550123":             "+12025550123",
		"+49 30 1234567":          "+49301234567",
		"":                        "",
		"12345":                   "",
		"abc":                     "",
		"+7 916 123 45 67 доб. 5": "",
		"1234567890123456":        "",
		"+0 123 456 789":          "",
		"7+9161234567":            "",
		"5161234567":              "",
	}
	for in, want := range cases {
		got, ok := NormalizePhone(in)
		if ok != (want != "") || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestFindAmount(t *testing.T) {
	cases := map[string]string{
		"бюджет 150 тыс":                 "150000",
		"Бюджет: 1 500 000 руб.":         "1500000",
		"готов заплатить 50к":            "50000",
		"цена 2,5 млн":                   "2500000",
		"$300 per month":                 "300",
		"до 700 000 ₽":                   "700000",
		"стоимость 99,90 рублей":         "99.9",
		"нужны 2 менеджера на 3 месяца":  "",
		"звоните 8 916 123 45 67":        "",
		"5 км от центра, бюджет 10 тыс.": "10000",
	}
	for in, want := range cases {
		tm, err := CompileTemplate("{{ text | find_amount }}")
		if err != nil {
			t.Fatal(err)
		}
		got, err := tm.Execute(MapRecord{"text": in})
		if err != nil || got != want {
			t.Errorf("find_amount(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestRecords(t *testing.T) {
	rec, err := JSONRecord([]byte(`{"a":{"b":[1,{"c":"x"}]},"m":{"k":"v"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]any{"a.b.1.c": "x", "a.b.0": json.Number("1"), "m.k": "v"} {
		if got, ok := rec.Lookup(path); !ok || got != want {
			t.Errorf("Lookup(%q) = %v, %v", path, got, ok)
		}
	}
	for _, path := range []string{"a.b.2", "a.b.x", "a.c", "m.k.z", "zz", "a.b.-1"} {
		if _, ok := rec.Lookup(path); ok {
			t.Errorf("Lookup(%q) should miss", path)
		}
	}
	for _, bad := range []string{``, `null`, `[1]`, `{"a":1} {}`, `{`} {
		if _, err := JSONRecord([]byte(bad)); err == nil {
			t.Errorf("JSONRecord(%q): want error", bad)
		}
	}
	type msg struct {
		Sender struct {
			Username string `json:"username"`
		} `json:"sender"`
		Time time.Time `json:"time"`
	}
	var m msg
	m.Sender.Username = "petr"
	m.Time = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sr, err := StructRecord(m)
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := CompileTemplate("{{ sender.username }} {{ time | date 'iso' }}")
	if got, _ := tm.Execute(sr); got != "petr 2026-01-02" {
		t.Errorf("StructRecord: %q", got)
	}
	if _, err := StructRecord(func() {}); err == nil {
		t.Error("StructRecord of a func must fail")
	}
	fr := RecordFunc(func(p string) (any, bool) { return strings.ToUpper(p), true })
	tf, _ := CompileTemplate("{{ sender.username }}")
	if got, _ := tf.Execute(fr); got != "SENDER.USERNAME" {
		t.Errorf("RecordFunc: %q", got)
	}
}

func TestLevenshteinClosest(t *testing.T) {
	if d := levenshtein("Источник", "Источнк"); d != 1 {
		t.Errorf("distance %d", d)
	}
	if d := levenshtein("", "abc"); d != 3 {
		t.Errorf("distance %d", d)
	}
	got := closest("Истоник", []string{"Регион", "Источник", "Источник лида", "Срочно"}, 3)
	if len(got) == 0 || got[0] != "Источник" {
		t.Errorf("closest = %v", got)
	}
	if got := closest("zzzzzz", []string{"Регион"}, 3); len(got) != 0 {
		t.Errorf("closest of unrelated = %v", got)
	}
}
