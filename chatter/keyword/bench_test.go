package keyword

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// benchMessage is an ~800-byte Russian message with one rule hit.
const benchMessage = `Добрый день, коллеги! Подскажите, пожалуйста, кто может взяться за капитальный ремонт квартиры ` +
	`в новостройке на Юго-Западе Москвы: две комнаты, около шестидесяти квадратных метров, нужна замена ` +
	`электрики, выравнивание стен и потолков, укладка ламината и плитки в санузле. Сроки сжатые, хотим ` +
	`заехать до Нового года, бюджет обсуждаем, материалы частично уже закуплены. Пишите в личные сообщения ` +
	`или звоните, телефон есть в профиле. Спасибо заранее всем откликнувшимся!`

func randomWords(n int, seed uint64) []string {
	const letters = "абвгдежзийклмнопрстуфхцчшщыэюя"
	rs := []rune(letters)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		l := 5 + r.IntN(8)
		var b strings.Builder
		for range l {
			b.WriteRune(rs[r.IntN(len(rs))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

func benchRules(n int) []Rule {
	words := randomWords(n-1, 1)
	rules := make([]Rule, 0, n)
	for _, w := range words {
		rules = append(rules, Rule{Expr: w})
	}
	return append(rules, Rule{Expr: "ремонт квартиры"}) // the one real hit
}

func BenchmarkMatch5000Rules(b *testing.B) {
	set := MustCompile(Config{Rules: benchRules(5000)})
	if !set.MatchText(benchMessage).Accepted() {
		b.Fatal("no match")
	}
	b.SetBytes(int64(len(benchMessage)))
	b.ReportAllocs()
	for b.Loop() {
		set.MatchText(benchMessage)
	}
}

// BenchmarkMatch5000RulesColdStems is the same match with the cross-message
// stem cache off: every candidate word is stemmed anew.
func BenchmarkMatch5000RulesColdStems(b *testing.B) {
	set := MustCompile(Config{Rules: benchRules(5000)})
	set.global.noStemCache = true
	b.SetBytes(int64(len(benchMessage)))
	b.ReportAllocs()
	for b.Loop() {
		set.MatchText(benchMessage)
	}
}

// BenchmarkRegexpPlainAlternation5000 is the alternative the issue names: one
// alternation regexp of the same 5,000 words (no word boundaries, so it would
// also match inside longer words).
func BenchmarkRegexpPlainAlternation5000(b *testing.B) {
	rules := benchRules(5000)
	alts := make([]string, 0, len(rules))
	for _, r := range rules[:len(rules)-1] {
		alts = append(alts, regexp.QuoteMeta(r.Expr))
	}
	alts = append(alts, `ремонт\S*\s+квартир`)
	re := regexp.MustCompile(`(?i)(?:` + strings.Join(alts, "|") + `)`)
	text := Normalize(benchMessage, NormalizeOptions{})
	if !re.MatchString(text) {
		b.Fatal("no match")
	}
	b.SetBytes(int64(len(benchMessage)))
	b.ReportAllocs()
	for b.Loop() {
		re.MatchString(text)
	}
}

// BenchmarkRegexpAlternation5000 is a stricter alternative: one alternation
// regexp of the same 5,000 words with Unicode-aware word boundaries (what a
// correct regexp-based filter would need, since \b is ASCII-only).
func BenchmarkRegexpAlternation5000(b *testing.B) {
	rules := benchRules(5000)
	alts := make([]string, 0, len(rules))
	for _, r := range rules[:len(rules)-1] {
		alts = append(alts, regexp.QuoteMeta(r.Expr))
	}
	alts = append(alts, `ремонт\S*\s+квартир\S*`)
	re := regexp.MustCompile(`(?i)(?:^|[^\p{L}\p{N}])(?:` + strings.Join(alts, "|") + `)(?:$|[^\p{L}\p{N}])`)
	text := Normalize(benchMessage, NormalizeOptions{})
	if !re.MatchString(text) {
		b.Fatal("no match")
	}
	b.SetBytes(int64(len(benchMessage)))
	b.ReportAllocs()
	for b.Loop() {
		re.MatchString(text)
	}
}

func BenchmarkCompile5000Rules(b *testing.B) {
	rules := benchRules(5000)
	b.ReportAllocs()
	for b.Loop() {
		MustCompile(Config{Rules: rules})
	}
}
