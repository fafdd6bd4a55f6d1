package keyword

import (
	"bytes"
	"slices"
	"strings"

	"github.com/coregx/ahocorasick"

	"github.com/chatterhq/sdk/chatter"
)

// Hit is one element of a rule found in a message.
type Hit struct {
	Element string `json:"element"` // as written in the rule: ремонт, !ремонт, "фраза", *суб*, re:…
	Text    string `json:"text"`    // what it matched in the normalised message
}

// RuleMatch says that a rule matched and why.
type RuleMatch struct {
	Rule string `json:"rule"`
	Hits []Hit  `json:"hits"`
}

// Result is the outcome of matching one message.
type Result struct {
	// Matches lists the rules that matched, in rule order.
	Matches []RuleMatch `json:"matches,omitempty"`
	// Stopped is set when a stop rule (a rule of minus-words only) found one
	// of its words: the message is rejected whatever else matched.
	Stopped *RuleMatch `json:"stopped,omitempty"`
	// NoRules is set when the set has no rules for the message's scope;
	// such messages are accepted.
	NoRules bool `json:"no_rules,omitempty"`
}

// Accepted reports whether the message passes: no stop rule hit, and either
// a rule matched or there are no rules.
func (r *Result) Accepted() bool {
	return r.Stopped == nil && (r.NoRules || len(r.Matches) > 0)
}

// Verdict turns the result into a chatter.Verdict for the ledger.
func (r *Result) Verdict() chatter.Verdict {
	switch {
	case r.Stopped != nil:
		return chatter.Verdict{Accept: false, Rule: r.Stopped.Rule, Matched: hitTexts(r.Stopped.Hits), Reason: "stop word found"}
	case r.NoRules:
		return chatter.Verdict{Accept: true, Reason: "no keyword rules"}
	case len(r.Matches) == 0:
		return chatter.Verdict{Accept: false, Reason: "no keyword rule matched"}
	}
	v := chatter.Verdict{Accept: true, Rule: r.Matches[0].Rule, Matched: hitTexts(r.Matches[0].Hits), Reason: "keyword rule matched"}
	if len(r.Matches) > 1 {
		names := make([]string, len(r.Matches))
		for i, m := range r.Matches {
			names[i] = m.Rule
		}
		v.Reason = "keyword rules matched: " + strings.Join(names, "; ")
	}
	return v
}

func hitTexts(hs []Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Text
	}
	return out
}

// Match evaluates the rules that apply to a message of key k with this text.
func (s *Set) Match(k chatter.Key, text string) *Result {
	return s.matcherFor(k).match(text, s.norm)
}

// MatchText evaluates the global rules against text.
func (s *Set) MatchText(text string) *Result {
	return s.global.match(text, s.norm)
}

// Filter implements chatter.Filter: the message's text is matched with the
// rules for its scope.
func (s *Set) Filter(m *chatter.Message) chatter.Verdict {
	return s.Match(m.Key, m.Text).Verdict()
}

func (s *Set) matcherFor(k chatter.Key) *matcher {
	for _, o := range s.overrides {
		if o.scope.matches(k) {
			return o.m
		}
	}
	return s.global
}

type hitPos struct {
	start, end int32 // in the words form (or the clean form for regexps); end == 0: not hit
	epoch      uint32
}

type scratch struct {
	hit     []hitPos
	epoch   uint32
	touched []int32
	cands   []int32
	clean   []byte
	words   []byte
	stems   map[int]string // token start → stem, for this message
	acm     []ahocorasick.Match
}

func (m *matcher) match(text string, o NormalizeOptions) *Result {
	if len(m.rules) == 0 {
		return &Result{NoRules: true}
	}
	sc := m.scratch.Get().(*scratch)
	defer m.scratch.Put(sc)
	sc.epoch++
	if sc.epoch == 0 { // wrapped: clear stale marks
		for i := range sc.hit {
			sc.hit[i] = hitPos{}
		}
		sc.epoch = 1
	}
	sc.touched = sc.touched[:0]
	clear(sc.stems)
	var clean, words []byte
	clean, words = normalizeBytes(text, o, sc.clean, sc.words, len(m.regexps) > 0)
	sc.clean, sc.words = clean, words

	mark := func(id int32, start, end int) {
		h := &sc.hit[id]
		if h.epoch == sc.epoch {
			return
		}
		*h = hitPos{start: int32(start), end: int32(end), epoch: sc.epoch}
		sc.touched = append(sc.touched, id)
	}

	// Exact word forms: a hash lookup per word.
	if len(m.exact) > 0 {
		for start := 0; start < len(words); {
			end := bytes.IndexByte(words[start:], ' ')
			if end < 0 {
				end = len(words)
			} else {
				end += start
			}
			if ids, ok := m.exact[string(words[start:end])]; ok {
				for _, id := range ids {
					mark(id, start, end)
				}
			}
			start = end + 1
		}
	}

	// Phrases, prefixes, substrings and stem candidates: one Aho-Corasick pass.
	if m.ac != nil && len(words) > 0 {
		sc.acm = m.ac.FindAllOverlapping(words)
		for _, mt := range sc.acm {
			s, e := mt.Start, mt.End
			left := s == 0 || words[s-1] == ' '
			right := e == len(words) || words[e] == ' '
			for _, ref := range m.pats[mt.PatternID] {
				switch ref.role {
				case rolePhrase:
					if left && right {
						mark(ref.atom, s, e)
					}
				case rolePrefix:
					if left {
						mark(ref.atom, s, wordEnd(words, e))
					}
				case roleSubstring:
					mark(ref.atom, s, e)
				case roleStemCand:
					if !left || sc.hit[ref.atom].epoch == sc.epoch {
						continue
					}
					we := wordEnd(words, e)
					if m.stemAt(sc, words, s, we) == m.atoms[ref.atom].text {
						mark(ref.atom, s, we)
					}
				}
			}
		}
	}

	// Regular expressions over the clean text.
	for _, id := range m.regexps {
		if loc := m.atoms[id].re.FindIndex(clean); loc != nil {
			mark(id, loc[0], loc[1])
		}
	}

	// Evaluate the rules that have a hit.
	sc.cands = sc.cands[:0]
	for _, id := range sc.touched {
		for _, ref := range m.atoms[id].refs {
			sc.cands = append(sc.cands, ref.rule)
		}
	}
	res := &Result{}
	if len(sc.cands) == 0 {
		return res
	}
	sortUnique(&sc.cands)
	for _, ri := range sc.cands {
		r := &m.rules[ri]
		if r.stop {
			for _, id := range r.minus {
				if sc.hit[id].epoch == sc.epoch {
					res.Stopped = &RuleMatch{Rule: r.name, Hits: []Hit{m.hitOf(sc, id, clean, words)}}
					return res
				}
			}
			continue
		}
		if m.ruleMatches(sc, r) {
			rm := RuleMatch{Rule: r.name}
			for _, alts := range r.terms {
				for _, id := range alts {
					if sc.hit[id].epoch == sc.epoch {
						rm.Hits = append(rm.Hits, m.hitOf(sc, id, clean, words))
						break
					}
				}
			}
			res.Matches = append(res.Matches, rm)
		}
	}
	return res
}

func (m *matcher) ruleMatches(sc *scratch, r *crule) bool {
	for _, id := range r.minus {
		if sc.hit[id].epoch == sc.epoch {
			return false
		}
	}
	for _, alts := range r.terms {
		found := false
		for _, id := range alts {
			if sc.hit[id].epoch == sc.epoch {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (m *matcher) hitOf(sc *scratch, id int32, clean, words []byte) Hit {
	h := sc.hit[id]
	src := words
	if m.atoms[id].kind == kindRegexp {
		src = clean
	}
	return Hit{Element: m.atoms[id].show, Text: string(src[h.start:h.end])}
}

// stemAt returns the stem of the word words[s:e], memoised per message and,
// up to maxStemCache words, across messages: chat vocabulary repeats, and
// snowball stemming is the costliest step of a match.
func (m *matcher) stemAt(sc *scratch, words []byte, s, e int) string {
	if st, ok := sc.stems[s]; ok {
		return st
	}
	if sc.stems == nil {
		sc.stems = make(map[int]string, 8)
	}
	var st string
	if v, ok := m.stemCache.Load(string(words[s:e])); ok && !m.noStemCache {
		st = v.(string)
	} else {
		w := string(words[s:e])
		st = stem(w)
		if !m.noStemCache && m.stemCacheLen.Load() < maxStemCache {
			if _, loaded := m.stemCache.LoadOrStore(w, st); !loaded {
				m.stemCacheLen.Add(1)
			}
		}
	}
	sc.stems[s] = st
	return st
}

// maxStemCache bounds the cross-message stem cache of one compiled set.
const maxStemCache = 100_000

func wordEnd(words []byte, from int) int {
	if i := bytes.IndexByte(words[from:], ' '); i >= 0 {
		return from + i
	}
	return len(words)
}

func sortUnique(p *[]int32) {
	slices.Sort(*p)
	*p = slices.Compact(*p)
}
