package keyword

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/coregx/ahocorasick"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/russian"

	"github.com/chatterhq/sdk/chatter"
)

// Rule is one keyword rule: a name for reports and an expression in the
// rule syntax (see the package documentation).
type Rule struct {
	Name string `json:"name,omitempty" yaml:"name,omitempty"` // defaults to Expr
	Expr string `json:"expr" yaml:"expr"`
}

// Scope selects messages by source, account and chat; zero fields match
// anything.
type Scope struct {
	Source  chatter.SourceKind `json:"source,omitempty" yaml:"source,omitempty"`
	Account string             `json:"account,omitempty" yaml:"account,omitempty"`
	ChatID  int64              `json:"chat_id,omitempty" yaml:"chat_id,omitempty"`
}

func (s Scope) matches(k chatter.Key) bool {
	return (s.Source == "" || s.Source == k.Source) && (s.Account == "" || s.Account == k.Account) &&
		(s.ChatID == 0 || s.ChatID == k.ChatID)
}

func (s Scope) specificity() int {
	n := 0
	if s.ChatID != 0 {
		n += 4
	}
	if s.Account != "" {
		n += 2
	}
	if s.Source != "" {
		n++
	}
	return n
}

// Override gives the messages of a scope their own rules: added to the
// global rules, or instead of them when Replace is set. When several
// overrides match a message, the most specific scope wins (chat over account
// over source; the first declared on a tie).
type Override struct {
	Scope   Scope  `json:"scope" yaml:"scope"`
	Replace bool   `json:"replace,omitempty" yaml:"replace,omitempty"`
	Rules   []Rule `json:"rules" yaml:"rules"`
}

// Config is a rule set before compilation.
type Config struct {
	Rules     []Rule           `json:"rules" yaml:"rules"`
	Overrides []Override       `json:"overrides,omitempty" yaml:"overrides,omitempty"`
	Normalize NormalizeOptions `json:"normalize" yaml:"normalize"`
}

// ParseRules reads rules one per line; empty lines and lines starting with
// '#' are skipped. Each rule is named by its text.
func ParseRules(text string) []Rule {
	var rules []Rule
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rules = append(rules, Rule{Expr: line})
	}
	return rules
}

// Set is a compiled rule set. It is immutable and safe for concurrent use;
// swap sets atomically with Live.
type Set struct {
	norm      NormalizeOptions
	global    *matcher
	overrides []compiledOverride
	rules     int
}

type compiledOverride struct {
	scope Scope
	m     *matcher
}

// Compile parses and compiles cfg. All syntax errors are reported together
// (errors.Join of *SyntaxError, each matchable with errors.As).
func Compile(cfg Config) (*Set, error) {
	var errs []error
	global, err := parseAll(cfg.Rules, cfg.Normalize)
	errs = append(errs, err...)
	s := &Set{norm: cfg.Normalize, rules: len(cfg.Rules)}
	type pending struct {
		scope Scope
		rules []namedRule
	}
	var ovs []pending
	for _, o := range cfg.Overrides {
		rs, err := parseAll(o.Rules, cfg.Normalize)
		errs = append(errs, err...)
		if !o.Replace {
			rs = append(slices.Clone(global), rs...)
		}
		ovs = append(ovs, pending{o.Scope, rs})
		s.rules += len(o.Rules)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var berr error
	if s.global, berr = build(global); berr != nil {
		return nil, berr
	}
	for _, o := range ovs {
		m, err := build(o.rules)
		if err != nil {
			return nil, err
		}
		s.overrides = append(s.overrides, compiledOverride{scope: o.scope, m: m})
	}
	// Most specific first, stable on ties.
	slices.SortStableFunc(s.overrides, func(a, b compiledOverride) int { return b.scope.specificity() - a.scope.specificity() })
	return s, nil
}

// MustCompile is Compile for rule sets known to be valid; it panics on error.
func MustCompile(cfg Config) *Set {
	s, err := Compile(cfg)
	if err != nil {
		panic(err)
	}
	return s
}

// Len returns the number of rules in the set (global plus overrides).
func (s *Set) Len() int { return s.rules }

type namedRule struct {
	name string
	r    *parsedRule
}

func parseAll(rules []Rule, o NormalizeOptions) ([]namedRule, []error) {
	var out []namedRule
	var errs []error
	regexps := 0
	for _, r := range rules {
		name := r.Name
		if name == "" {
			name = strings.TrimSpace(r.Expr)
		}
		pr, err := parseRule(name, r.Expr, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(pr.terms) == 1 && pr.terms[0].alts[0].kind == kindRegexp {
			regexps++
			if regexps > MaxRegexpRules {
				errs = append(errs, &SyntaxError{Rule: name, Text: r.Expr, Column: 1,
					Problem: chatter.T(fmt.Sprintf("слишком много правил re: (больше %d)", MaxRegexpRules), fmt.Sprintf("too many re: rules (more than %d)", MaxRegexpRules))})
				continue
			}
		}
		out = append(out, namedRule{name: name, r: pr})
	}
	return out, errs
}

// role says which boundaries an Aho-Corasick hit needs for an atom.
type role uint8

const (
	rolePhrase    role = iota // whole words on both sides
	rolePrefix                // starts at a word start
	roleSubstring             // anywhere
	roleStemCand              // starts at a word start; then the word's stem must equal the atom's
)

type patRef struct {
	atom int32
	role role
}

type ruleRef struct {
	rule  int32
	term  int16 // -1 for a minus atom
	alt   int16
	minus bool
}

type catom struct {
	atom
	refs []ruleRef
}

type crule struct {
	name  string
	terms [][]int32 // atom ids per term (alternatives)
	minus []int32
	stop  bool // only minus atoms: a hit rejects the message
}

type matcher struct {
	rules   []crule
	atoms   []catom
	exact   map[string][]int32
	ac      *ahocorasick.Automaton
	pats    [][]patRef
	regexps []int32
	scratch sync.Pool

	stemCache    sync.Map // word → stem
	stemCacheLen atomic.Int64
	noStemCache  bool // benchmarks of the cold path
}

// build compiles parsed rules into a matcher. It fails (instead of
// panicking in the middle of a live reload) when the automaton cannot be
// built; the parser refuses the rules that would make it so.
func build(rules []namedRule) (*matcher, error) {
	m := &matcher{exact: map[string][]int32{}}
	atomID := map[atom]int32{}
	patID := map[string]int{}
	var patterns []string
	addPattern := func(p string, ref patRef) {
		id, ok := patID[p]
		if !ok {
			id = len(patterns)
			patID[p] = id
			patterns = append(patterns, p)
			m.pats = append(m.pats, nil)
		}
		m.pats[id] = append(m.pats[id], ref)
	}
	intern := func(a atom) int32 {
		key := a
		key.show, key.re = "", nil
		if a.kind == kindRegexp {
			key.show = a.show
		}
		if id, ok := atomID[key]; ok {
			return id
		}
		id := int32(len(m.atoms))
		atomID[key] = id
		m.atoms = append(m.atoms, catom{atom: a})
		switch a.kind {
		case kindExact:
			m.exact[a.text] = append(m.exact[a.text], id)
		case kindStem:
			addPattern(stemCandidate(a.text), patRef{atom: id, role: roleStemCand})
		case kindPhrase:
			addPattern(a.text, patRef{atom: id, role: rolePhrase})
		case kindPrefix:
			addPattern(a.text, patRef{atom: id, role: rolePrefix})
		case kindSubstring:
			addPattern(a.text, patRef{atom: id, role: roleSubstring})
		case kindRegexp:
			m.regexps = append(m.regexps, id)
		}
		return id
	}
	for ri, nr := range rules {
		cr := crule{name: nr.name, stop: len(nr.r.terms) == 0}
		for ti, t := range nr.r.terms {
			var ids []int32
			for ai, a := range t.alts {
				if a.kind == kindStem {
					a.text = stem(a.text)
				}
				id := intern(a)
				ids = append(ids, id)
				m.atoms[id].refs = append(m.atoms[id].refs, ruleRef{rule: int32(ri), term: int16(ti), alt: int16(ai)})
			}
			cr.terms = append(cr.terms, ids)
		}
		for _, a := range nr.r.minus {
			if a.kind == kindStem {
				a.text = stem(a.text)
			}
			id := intern(a)
			cr.minus = append(cr.minus, id)
			m.atoms[id].refs = append(m.atoms[id].refs, ruleRef{rule: int32(ri), term: -1, minus: true})
		}
		m.rules = append(m.rules, cr)
	}
	if len(patterns) > 0 {
		ac, err := ahocorasick.NewBuilder().AddStrings(patterns).Build()
		if err != nil {
			// The builder refuses an empty pattern, which the parser never
			// lets through (an empty word, phrase, fragment or stem).
			return nil, fmt.Errorf("keyword: build automaton: %w", err)
		}
		m.ac = ac
	}
	n := len(m.atoms)
	m.scratch.New = func() any {
		return &scratch{hit: make([]hitPos, n), clean: make([]byte, 0, 1024), words: make([]byte, 0, 1024)}
	}
	return m, nil
}

// stem returns the snowball stem of a normalised word: Russian for words
// with Cyrillic letters, English otherwise.
func stem(w string) string {
	for _, r := range w {
		if isCyrillic(r) {
			return russian.Stem(w, true)
		}
	}
	return english.Stem(w, true)
}

// stemCandidate is the Aho-Corasick pattern that finds words which may have
// stem s: s without its last letter (English stems may change it: "happy" →
// "happi"), or s itself when short.
func stemCandidate(s string) string {
	if utf8.RuneCountInString(s) < 3 {
		return s
	}
	_, size := utf8.DecodeLastRuneInString(s)
	return s[:len(s)-size]
}
