package keyword

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
)

// Limits on rule text.
const (
	MaxRuleBytes   = 4096
	MaxRegexpRules = 500
)

// kind is how an atom is compared with the message.
type kind uint8

const (
	kindStem      kind = iota // the word in any inflected form (snowball stem)
	kindExact                 // exactly this word form: !word or +word
	kindPhrase                // consecutive words, exact forms: "w1 w2"
	kindPrefix                // words starting with: word*
	kindSubstring             // anywhere in the text, even inside words: *text*
	kindRegexp                // re: RE2 over the normalised text
)

func (k kind) String() string {
	return [...]string{"stem", "exact", "phrase", "prefix", "substring", "regexp"}[k]
}

// atom is one thing to look for.
type atom struct {
	kind kind
	text string // normalised word/phrase/fragment, the stem for kindStem, the pattern for kindRegexp
	show string // as written by the user, for "why it matched"
	re   *regexp.Regexp
}

// term is satisfied when any of its alternatives is found.
type term struct{ alts []atom }

// parsedRule is the syntax tree of one rule: all terms must be found and
// none of the minus atoms.
type parsedRule struct {
	terms []term
	minus []atom
}

// SyntaxError reports a rule that cannot be parsed, with the 1-based column
// (in characters) where the problem is.
type SyntaxError struct {
	Rule    string // the rule's name
	Text    string // the rule text
	Column  int
	Problem chatter.Text
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("keyword: rule %q, column %d: %s", e.Rule, e.Column, e.Problem.EN)
}

// Message returns the error for an operator, in Russian and English.
func (e *SyntaxError) Message() chatter.Text {
	return chatter.T(
		fmt.Sprintf("Правило «%s», позиция %d: %s", e.Rule, e.Column, e.Problem.RU),
		fmt.Sprintf("Rule %q, column %d: %s", e.Rule, e.Column, e.Problem.EN))
}

// Unwrap returns chatter.ErrInvalid.
func (e *SyntaxError) Unwrap() error { return chatter.ErrInvalid }

type parser struct {
	name, src string
	rs        []rune
	pos       int
	norm      NormalizeOptions
}

func (p *parser) fail(at int, ru, en string) error {
	return &SyntaxError{Rule: p.name, Text: p.src, Column: at + 1, Problem: chatter.T(ru, en)}
}

// parseRule parses one rule in the Yandex.Direct-like syntax documented in
// the package comment.
func parseRule(name, src string, o NormalizeOptions) (*parsedRule, error) {
	p := &parser{name: name, src: src, rs: []rune(src), norm: o}
	if len(src) > MaxRuleBytes {
		return nil, p.fail(0, fmt.Sprintf("правило длиннее %d байт", MaxRuleBytes), fmt.Sprintf("rule is longer than %d bytes", MaxRuleBytes))
	}
	if !utf8.ValidString(src) {
		return nil, p.fail(0, "правило не в кодировке UTF-8", "rule is not valid UTF-8")
	}
	p.skipSpace()
	if strings.HasPrefix(string(p.rs[p.pos:]), "re:") {
		start := p.pos + 3
		pattern := strings.TrimSpace(string(p.rs[start:]))
		if pattern == "" {
			return nil, p.fail(start, "пустое регулярное выражение после re:", "empty regular expression after re:")
		}
		re, err := regexp.Compile("(?i)" + pattern)
		if err != nil {
			return nil, p.fail(start, "неверное регулярное выражение: "+err.Error(), "invalid regular expression: "+err.Error())
		}
		return &parsedRule{terms: []term{{alts: []atom{{kind: kindRegexp, text: pattern, show: "re:" + pattern, re: re}}}}}, nil
	}
	r := &parsedRule{}
	for {
		p.skipSpace()
		if p.pos >= len(p.rs) {
			break
		}
		if p.rs[p.pos] == '-' {
			at := p.pos
			p.pos++
			if p.pos >= len(p.rs) || unicode.IsSpace(p.rs[p.pos]) {
				return nil, p.fail(at, "после «-» нет слова", "nothing after '-'")
			}
			alts, err := p.alternatives()
			if err != nil {
				return nil, err
			}
			if len(alts) == 0 {
				return nil, p.fail(at, "после «-» нет слова", "nothing after '-'")
			}
			r.minus = append(r.minus, alts...)
			continue
		}
		alts, err := p.alternatives()
		if err != nil {
			return nil, err
		}
		r.terms = append(r.terms, term{alts: alts})
	}
	if len(r.terms) == 0 && len(r.minus) == 0 {
		return nil, p.fail(0, "пустое правило", "empty rule")
	}
	return r, nil
}

func (p *parser) skipSpace() {
	for p.pos < len(p.rs) && unicode.IsSpace(p.rs[p.pos]) {
		p.pos++
	}
}

// alternatives parses a group "(a | b | c)" or a single element.
func (p *parser) alternatives() ([]atom, error) {
	if p.pos < len(p.rs) && p.rs[p.pos] == '(' {
		open := p.pos
		p.pos++
		var alts []atom
		for {
			p.skipSpace()
			if p.pos >= len(p.rs) {
				return nil, p.fail(open, "не закрыта скобка «(»", "unclosed '('")
			}
			if p.rs[p.pos] == ')' {
				if len(alts) == 0 {
					return nil, p.fail(open, "пустая группа «()»", "empty group '()'")
				}
				p.pos++
				return alts, nil
			}
			if p.rs[p.pos] == '|' {
				if len(alts) == 0 {
					return nil, p.fail(p.pos, "«|» без слова перед ним", "'|' without a word before it")
				}
				p.pos++
				continue
			}
			a, err := p.element()
			if err != nil {
				return nil, err
			}
			alts = append(alts, a)
		}
	}
	a, err := p.element()
	if err != nil {
		return nil, err
	}
	return []atom{a}, nil
}

// element parses a word, !word, +word, word*, *text*, or "phrase".
func (p *parser) element() (atom, error) {
	start := p.pos
	if p.pos >= len(p.rs) {
		return atom{}, p.fail(start, "ожидалось слово", "a word was expected")
	}
	switch c := p.rs[p.pos]; {
	case c == '"':
		p.pos++
		end := p.pos
		for end < len(p.rs) && p.rs[end] != '"' {
			end++
		}
		if end >= len(p.rs) {
			return atom{}, p.fail(start, "не закрыта кавычка", "unclosed quote")
		}
		raw := string(p.rs[p.pos:end])
		p.pos = end + 1
		words := Words(raw, p.norm)
		if words == "" {
			return atom{}, p.fail(start, "пустая фраза в кавычках", "empty quoted phrase")
		}
		return atom{kind: kindPhrase, text: words, show: `"` + raw + `"`}, nil
	case c == '!' || c == '+':
		p.pos++
		w, err := p.word(start, false)
		if err != nil {
			return atom{}, err
		}
		if strings.Contains(w, " ") { // "!бизнес-центр" is two words once normalised
			return atom{kind: kindPhrase, text: w, show: string(p.rs[start:p.pos])}, nil
		}
		return atom{kind: kindExact, text: w, show: string(p.rs[start:p.pos])}, nil
	case c == '*':
		p.pos++
		end := p.pos
		for end < len(p.rs) && p.rs[end] != '*' {
			end++
		}
		if end >= len(p.rs) {
			return atom{}, p.fail(start, "подстрока должна заканчиваться «*»: *текст*", "a substring must end with '*': *text*")
		}
		raw := string(p.rs[p.pos:end])
		p.pos = end + 1
		frag := Words(raw, p.norm)
		if frag == "" {
			return atom{}, p.fail(start, "пустая подстрока", "empty substring")
		}
		return atom{kind: kindSubstring, text: frag, show: "*" + raw + "*"}, nil
	case c == '(' || c == ')' || c == '|' || c == '-':
		return atom{}, p.fail(start, fmt.Sprintf("неожиданный символ «%c»", c), fmt.Sprintf("unexpected %q", c))
	}
	w, err := p.word(start, true)
	if err != nil {
		return atom{}, err
	}
	if p.pos < len(p.rs) && p.rs[p.pos] == '*' {
		p.pos++
		return atom{kind: kindPrefix, text: w, show: string(p.rs[start:p.pos])}, nil
	}
	if strings.Contains(w, " ") { // "бизнес-центр" is two words once normalised: a phrase
		return atom{kind: kindPhrase, text: w, show: string(p.rs[start:p.pos])}, nil
	}
	if stem(w) == "" {
		// The stemmer takes the whole word for an ending ("ейш"): there is
		// nothing to match other forms by.
		return atom{}, p.fail(start,
			fmt.Sprintf("у слова «%s» нет основы для поиска по формам: укажите точную форму (!%s) или начало слова (%s*)", w, w, w),
			fmt.Sprintf("the word %q has no stem to match its forms by: give the exact form (!%s) or a prefix (%s*)", w, w, w))
	}
	return atom{kind: kindStem, text: w, show: string(p.rs[start:p.pos])}, nil
}

// word reads letters and digits (and inner hyphens or apostrophes, which
// normalise to a space-free join) up to a delimiter.
func (p *parser) word(start int, allowStar bool) (string, error) {
	from := p.pos
	for p.pos < len(p.rs) {
		c := p.rs[p.pos]
		if unicode.IsSpace(c) || c == '(' || c == ')' || c == '|' || c == '"' || (c == '*' && allowStar) {
			break
		}
		if c == '!' || c == '+' || c == '*' {
			return "", p.fail(p.pos, fmt.Sprintf("символ «%c» внутри слова", c), fmt.Sprintf("%q inside a word", c))
		}
		p.pos++
	}
	raw := string(p.rs[from:p.pos])
	w := Words(raw, p.norm)
	if w == "" {
		return "", p.fail(start, "ожидалось слово из букв или цифр", "a word of letters or digits was expected")
	}
	return w, nil
}
