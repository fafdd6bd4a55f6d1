package chatter

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// FoldText returns the form in which the text searches of LedgerQuery.Text
// and EventQuery.Text compare: an entry matches when FoldText of its text
// contains FoldText of the pattern. Stores keep a folded copy of every text
// they save, and so must use exactly this function.
//
// Folding is, rune by rune:
//   - case, for every alphabet: runes that strings.EqualFold treats as equal
//     fold to the same rune, the lower-case one ("Ремонт", "РЕМОНТ" and
//     "ремонт" fold alike, as do Greek "Σ", "σ" and "ς", "ß" and "ẞ", the
//     Kelvin sign and "k"); "İ" folds to "i". Folding is rune for rune, so
//     "ß" does not match "ss";
//   - ё and Ё to е, as Russian writers use them interchangeably (the keyword
//     rules of chatter/keyword do the same): "ещё" finds "еще" and back;
//   - a run of white space (unicode.IsSpace: spaces, tabs, line breaks) to
//     one space, so a phrase is found across a line break;
//   - NUL and the invisible characters that hide words from search (soft
//     hyphen, zero-width space, non-joiner and joiner, word joiner, byte
//     order mark) are dropped.
//
// Nothing else changes: punctuation, digits and symbols (% and _ included)
// are compared literally, and there is no Unicode normalisation (a letter
// with a combining accent differs from the precomposed one). Invalid UTF-8
// bytes become U+FFFD. A pattern that folds to "" matches every text.
//
// FoldText's output is stored: changing the mapping requires a migration
// that folds the stored texts again.
func FoldText(s string) string {
	// Fast path: nothing to change (lower-case ASCII and Cyrillic without ё,
	// single spaces).
	if folded(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		var r rune
		switch {
		case c < utf8.RuneSelf:
			r = rune(c)
			i++
		case (c == 0xd0 || c == 0xd1) && i+1 < len(s) && s[i+1]&0xc0 == 0x80:
			r = rune(c&0x1f)<<6 | rune(s[i+1]&0x3f)
			i += 2
		default:
			var n int
			r, n = utf8.DecodeRuneInString(s[i:])
			i += n
		}
		r = foldRune(r)
		if r < 0 {
			continue
		}
		if r == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// foldRune returns r's folded form, or -1 for a rune that is dropped.
func foldRune(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		switch {
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		case r == 0:
			return -1
		case r == ' ' || r >= '\t' && r <= '\r':
			return ' '
		}
		return r
	case r >= 'А' && r <= 'Я':
		return r + 'а' - 'А'
	case r >= 'а' && r <= 'я':
		return r
	case r == 'ё' || r == 'Ё':
		return 'е'
	}
	switch r {
	case '\u00ad', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
		return -1
	}
	if unicode.IsSpace(r) {
		return ' '
	}
	// The smallest rune of r's case orbit (the runes strings.EqualFold
	// treats as equal to r) stands for the orbit; its lower case is the
	// folded form.
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return unicode.ToLower(m)
}

// folded reports whether FoldText(s) == s for the common case: s holds only
// lower-case ASCII (no control characters but single spaces) and lower-case
// basic Cyrillic other than ё, with no two spaces in a row.
func folded(s string) bool {
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			if space {
				return false
			}
			space = true
			continue
		case c > ' ' && c < utf8.RuneSelf && (c < 'A' || c > 'Z'):
		case (c == 0xd0 || c == 0xd1) && i+1 < len(s) && s[i+1]&0xc0 == 0x80:
			r := rune(c&0x1f)<<6 | rune(s[i+1]&0x3f)
			if r < 'а' || r > 'я' {
				return false
			}
			i++
		default:
			return false
		}
		space = false
	}
	return true
}
