package fieldmap

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// TestParseSourceDecodesAsParseSpec: one source decodes the way ParseSpec
// decodes it inside a spec, with the same problem text when it is wrong.
func TestParseSourceDecodesAsParseSpec(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Source
	}{
		{"{from: sender.id}", Source{From: "sender.id"}},
		{"12", Source{Const: json.Number("12")}},
		{"'{{ text }}'", Source{Const: "{{ text }}"}},
	} {
		got, err := ParseSource([]byte(tc.text), FormatYAML)
		require.NoError(t, err, tc.text)
		spec, err := ParseSpec([]byte("lead:\n  name: "+tc.text+"\n"), FormatYAML)
		require.NoError(t, err, tc.text)
		if diff := cmp.Diff(*spec.Lead.Name, *got); diff != "" {
			t.Errorf("%s: ParseSource differs from ParseSpec (-spec +source):\n%s", tc.text, diff)
		}
	}
	for _, bad := range []string{"{from: a, const: b}", "[1]", "{form: a}"} {
		_, err := ParseSource([]byte(bad), FormatYAML)
		ps := ProblemsOf(err)
		require.Len(t, ps, 1, bad)
		_, err = ParseSpec([]byte("lead:\n  name: "+bad+"\n"), FormatYAML)
		want := ProblemsOf(err)
		require.Len(t, want, 1, bad)
		require.Contains(t, want[0].Message.EN, ps[0].Message.EN[len("spec error: "):], bad)
	}
}
