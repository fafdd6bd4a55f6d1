package keyword

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizeOptions tunes Normalize.
type NormalizeOptions struct {
	// FoldLookalikes maps Latin letters that look like Cyrillic ones (a, e, o,
	// p, c, x, y, k, m, t, h, b) to Cyrillic inside words that already contain
	// Cyrillic, undoing a common trick to dodge filters ("рeмонт" with a Latin
	// "e"). Pure Latin words are left alone.
	FoldLookalikes bool
}

// Normalize returns the form rules and messages are compared in: NFKC,
// Unicode lower case, ё→е, zero-width characters and soft hyphens removed,
// whitespace collapsed to single spaces and trimmed.
func Normalize(s string, o NormalizeOptions) string {
	clean, _ := normalize(s, o, nil, nil)
	return clean
}

// Words returns the words of s after Normalize: maximal runs of letters and
// digits, joined by single spaces. Rules other than regular expressions are
// matched against this form, so punctuation never splits or hides a phrase.
func Words(s string, o NormalizeOptions) string {
	_, words := normalize(s, o, nil, nil)
	return words
}

func isInvisible(r rune) bool {
	switch r {
	case '\u00ad', // soft hyphen
		'\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', // zero-width space, non-joiner, joiner, word joiner, BOM
		'\u180e', '\u034f': // Mongolian vowel separator, combining grapheme joiner
		return true
	}
	return false
}

func isWordRune(r rune) bool {
	switch {
	case r < 0x80:
		return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z'
	case r >= 0x430 && r <= 0x44f: // а..я, the common case
		return true
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func isCyrillic(r rune) bool {
	if r >= 0x400 && r <= 0x4ff {
		return true
	}
	return r >= 0x500 && unicode.Is(unicode.Cyrillic, r)
}

// isBasicCyrillic reports whether r is А..я, Ё or ё.
func isBasicCyrillic(r rune) bool { return r >= 0x410 && r <= 0x44f || r == 0x401 || r == 0x451 }

func toLower(r rune) rune {
	switch {
	case r < 0x80:
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	case r >= 0x410 && r <= 0x42f: // А..Я
		return r + 0x20
	case r >= 0x430 && r <= 0x44f:
		return r
	}
	return unicode.ToLower(r)
}

func isSpace(r rune) bool {
	switch {
	case r < 0x80:
		return r == ' ' || r >= '\t' && r <= '\r'
	case r >= 0x400 && r <= 0x4ff:
		return false
	}
	return unicode.IsSpace(r)
}

var lookalikes = map[rune]rune{
	'a': 'а', 'e': 'е', 'o': 'о', 'p': 'р', 'c': 'с', 'x': 'х', 'y': 'у',
	'k': 'к', 'm': 'м', 't': 'т', 'h': 'н', 'b': 'в', 'u': 'и', 'n': 'п',
}

// normalize produces the clean form and the words form in one pass, reusing
// the given buffers when they are large enough.
func normalize(s string, o NormalizeOptions, cleanBuf, wordsBuf []byte) (clean, words string) {
	c, w := normalizeBytes(s, o, cleanBuf, wordsBuf, true)
	return string(c), string(w)
}

// normalizeBytes is normalize writing into (and returning) the given buffers;
// the clean form is skipped (returned empty) unless withClean.
func normalizeBytes(s string, o NormalizeOptions, cleanBuf, wordsBuf []byte, withClean bool) (clean, words []byte) {
	checked := false // s is known to be in NFKC (or to need no check)
restart:
	c := cleanBuf[:0]
	w := wordsBuf[:0]
	space := true     // last byte written to c was a space (or nothing yet)
	wordSpace := true // last byte written to w was a space (or nothing yet)
	wordStart := 0    // start of the current word in w
	wordHasCyr, wordHasLat := false, false
	for i := 0; i < len(s); {
		var r rune
		if b0 := s[i]; b0 < utf8.RuneSelf {
			r = rune(b0)
			i++
		} else if (b0 == 0xd0 || b0 == 0xd1) && i+1 < len(s) && s[i+1]&0xc0 == 0x80 &&
			isBasicCyrillic(rune(b0&0x1f)<<6|rune(s[i+1]&0x3f)) {
			// Basic Cyrillic letters, the common case: lower-case, ё→е and
			// append to both forms without the general checks.
			r = rune(b0&0x1f)<<6 | rune(s[i+1]&0x3f)
			i += 2
			switch {
			case r == 0x401 || r == 0x451:
				r = 'е'
			case r < 0x430:
				r += 0x20
			}
			if withClean {
				c = append(c, byte(0xc0|r>>6), byte(0x80|r&0x3f))
				space = false
			}
			if wordSpace {
				if len(w) > 0 {
					w = append(w, ' ')
				}
				wordStart = len(w)
				wordHasCyr, wordHasLat = false, false
				wordSpace = false
			}
			wordHasCyr = true
			w = append(w, byte(0xc0|r>>6), byte(0x80|r&0x3f))
			continue
		} else {
			if !checked && s[i] >= 0xc0 && (s[i] < 0xd0 || s[i] > 0xd3) {
				// The first rune outside ASCII and basic Cyrillic: only now
				// is the NFKC check worth its cost.
				checked = true
				if !norm.NFKC.IsNormalString(s) {
					s = norm.NFKC.String(s)
					goto restart
				}
			}
			var size int
			r, size = utf8.DecodeRuneInString(s[i:])
			i += size
		}
		if r >= 0x80 && isInvisible(r) {
			continue
		}
		r = toLower(r)
		if r == 'ё' {
			r = 'е'
		}
		if !withClean {
			// only the words form is wanted
		} else if isSpace(r) {
			if !space {
				c = append(c, ' ')
				space = true
			}
		} else {
			c = utf8.AppendRune(c, r)
			space = false
		}
		if isWordRune(r) {
			if wordSpace {
				if len(w) > 0 {
					w = append(w, ' ')
				}
				wordStart = len(w)
				wordHasCyr, wordHasLat = false, false
				wordSpace = false
			}
			if isCyrillic(r) {
				wordHasCyr = true
			} else if r < utf8.RuneSelf && r >= 'a' && r <= 'z' {
				wordHasLat = true
			}
			w = utf8.AppendRune(w, r)
		} else if !wordSpace {
			if o.FoldLookalikes && wordHasCyr && wordHasLat {
				w = foldWord(w, wordStart)
			}
			wordSpace = true
		}
	}
	if !wordSpace && o.FoldLookalikes && wordHasCyr && wordHasLat {
		w = foldWord(w, wordStart)
	}
	if n := len(c); n > 0 && c[n-1] == ' ' {
		c = c[:n-1]
	}
	return c, w
}

// foldWord rewrites the Latin look-alikes in w[start:] as Cyrillic.
func foldWord(w []byte, start int) []byte {
	word := string(w[start:])
	var b strings.Builder
	b.Grow(len(word) + 8)
	for _, r := range word {
		if cy, ok := lookalikes[r]; ok {
			r = cy
		}
		b.WriteRune(r)
	}
	return append(w[:start], b.String()...)
}
