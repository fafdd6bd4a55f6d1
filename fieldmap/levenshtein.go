package fieldmap

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// levenshtein returns the edit distance between a and b in runes, compared
// case-insensitively.
func levenshtein(a, b string) int {
	ra := []rune(strings.ToLower(a))
	rb := []rune(strings.ToLower(b))
	if len(ra) == 0 {
		return len(rb)
	}
	if len(rb) == 0 {
		return len(ra)
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// maxSuggestLen bounds the names closest compares.
const maxSuggestLen = 128

// closest returns up to n candidates nearest to name: those within an edit
// distance of about a third of the longer name, or containing it (or
// contained in it) case-insensitively, best first.
func closest(name string, candidates []string, n int) []string {
	type scored struct {
		s string
		d int
	}
	var out []scored
	seen := make(map[string]bool, len(candidates))
	ln := strings.ToLower(strings.TrimSpace(name))
	if utf8.RuneCountInString(ln) > maxSuggestLen {
		return nil // not a misspelling worth an O(n·m) search
	}
	for _, c := range candidates {
		if utf8.RuneCountInString(c) > 4*maxSuggestLen {
			continue
		}
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		lc := strings.ToLower(c)
		d := levenshtein(ln, lc)
		limit := max(utf8.RuneCountInString(ln), utf8.RuneCountInString(lc))/3 + 1
		if ln != "" && (strings.Contains(lc, ln) || strings.Contains(ln, lc)) {
			d = min(d, limit)
		}
		if d <= limit {
			out = append(out, scored{c, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].d < out[j].d })
	res := make([]string, 0, min(n, len(out)))
	for i := 0; i < len(out) && i < n; i++ {
		res = append(res, out[i].s)
	}
	return res
}
