package keyword

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

// A plain word the Russian stemmer takes whole for an ending ("ейш", a
// superlative suffix) used to leave an empty Aho-Corasick pattern, and
// the build panicked: in a live reload that took the process down. Such a
// word is a syntax error now, with the column and a way out.
func TestWordWithoutStemIsASyntaxError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rule   string
		column int
		word   string
	}{
		{"ейш", 1, "ейш"},
		{"ремонт ейшая", 8, "ейшая"},
		{"окна -ейше", 7, "ейше"},
		{"(окна | ЕЙШ)", 9, "ейш"},
	} {
		_, err := Compile(Config{Rules: []Rule{{Expr: tc.rule}}})
		require.Error(t, err, tc.rule)
		require.ErrorIs(t, err, chatter.ErrInvalid, tc.rule)
		var se *SyntaxError
		require.ErrorAs(t, err, &se, tc.rule)
		if d := cmp.Diff(tc.column, se.Column); d != "" {
			t.Errorf("%q: column (-want +got):\n%s", tc.rule, d)
		}
		m := se.Message()
		for _, want := range []string{"нет основы", "!" + tc.word, tc.word + "*"} {
			require.Contains(t, m.RU, want, tc.rule)
		}
		for _, want := range []string{"has no stem", "!" + tc.word, tc.word + "*"} {
			require.Contains(t, m.EN, want, tc.rule)
		}
	}
	// The ways out work.
	set, err := Compile(Config{Rules: ParseRules("!ейш\nейша*")})
	require.NoError(t, err)
	var got []string
	for _, m := range set.MatchText("ейш и ейшая").Matches {
		got = append(got, m.Rule)
	}
	if d := cmp.Diff([]string{"!ейш", "ейша*"}, got); d != "" {
		t.Errorf("matches (-want +got):\n%s", d)
	}
}

// A bad reload returns the error and keeps the running set.
func TestLiveUpdateKeepsTheSetOnAnUnbuildableRule(t *testing.T) {
	t.Parallel()
	good := MustCompile(Config{Rules: ParseRules("ремонт")})
	l := NewLive(good)
	err := l.Update(Config{Rules: ParseRules("ремонт\nейшая"), Overrides: []Override{{Scope: Scope{ChatID: 1}, Rules: ParseRules("ейш")}}})
	require.Error(t, err)
	var se *SyntaxError
	require.ErrorAs(t, err, &se)
	require.Len(t, unjoin(err), 2, "both bad rules are reported: %v", err)
	require.Same(t, good, l.Set())
	require.True(t, l.Filter(&chatter.Message{Text: "нужен ремонт"}).Accept)
}

// build reports an automaton it cannot make instead of panicking, for
// whatever the parser might let through one day.
func TestBuildFailsWithoutPanicking(t *testing.T) {
	t.Parallel()
	m, err := build([]namedRule{{name: "x", r: &parsedRule{terms: []term{{alts: []atom{{kind: kindStem, text: "ейш"}}}}}}})
	require.Nil(t, m)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "keyword: build automaton: "), err.Error())
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
