package web

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/demo"
	"github.com/chatterhq/sdk/fieldmap"
)

const mappingSpecSample = `# a comment
version: 1
lead:
  name: '{{ sender.name }}'
  pipeline: Воронка
  fields:
    - name: Источник
      value: { from: key.source }
    - name: Бюджет
      value: 1
lookups:
  t:
    name: x
contact:
  name: { from: sender.name }
`

func TestMappingIndexFindsPathLines(t *testing.T) {
	idx := newMappingIndex(mappingSpecSample)
	got := map[string]int{}
	for _, p := range []string{"lead", "lead.name", "lead.pipeline[0]", "lead.fields[0]", "lead.fields[1]", "lead.fields[1].value",
		"lead.fields[0].value.from", "lead.fields[7]", "contact.name", "nothing", ""} {
		got[p] = idx.line(p)
	}
	want := map[string]int{"lead": 3, "lead.name": 4, "lead.pipeline[0]": 5, "lead.fields[0]": 7, "lead.fields[1]": 9,
		"lead.fields[1].value": 10, "lead.fields[0].value.from": 8, "lead.fields[7]": 6, "contact.name": 15, "nothing": 0, "": 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	require.Equal(t, 4, idx.keyLine("name"), "the first name outside the lookup tables")
}

// TestMappingSyntaxLines: every kind of error ParseSpec reports is placed
// at the line it is on.
func TestMappingSyntaxLines(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		line       int
	}{
		{"yaml colon", "lead:\n  name: x: y\n", 2},
		{"yaml indent", "lead:\n  name: x\n fields: []\n", 3},
		{"yaml tab", "lead:\n\tname: x\n", 2},
		{"yaml quote", "version: 1\nlead:\n  name: \"x\n", 3},
		{"unknown key", "lead:\n  name: x\n  fields:\n    - nam: Бюджет\n      value: 1\n", 4},
		{"wrong shape", "lead:\n  name: x\n  fields: 5\n", 3},
		{"route id", "lead:\n  name: x\n  pipeline: {id: x}\n", 3},
		{"two sources", "lead:\n  name: x\n  fields:\n    - name: a\n      value: {from: text}\n    - name: b\n      value: {from: a, const: b}\n", 7},
		{"list value", "lead:\n  name: x\n  fields:\n    - name: a\n      value: 1\n    - name: b\n      value: [1]\n", 7},
		{"tag", "lead:\n  name: x\n  tags:\n    - ok\n    - {const: a, template: b}\n", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fieldmap.ParseSpec([]byte(tc.text), fieldmap.FormatYAML)
			ps := fieldmap.ProblemsOf(err)
			require.Len(t, ps, 1, "%v", err)
			require.Equal(t, tc.line, newMappingIndex(tc.text).syntaxLine(ps[0].Message.EN), ps[0].Message.EN)
		})
	}
}

// TestMappingToYAMLRoundTrips: the spec written out as YAML parses back to
// the same spec (the demo's, with a multi-line note and constants that
// look like other types), and the spec's JSON form is stable through the
// settings' round trip, so the saved text is recognised after a restart.
func TestMappingToYAMLRoundTrips(t *testing.T) {
	spec, err := demo.Mapping()
	require.NoError(t, err)
	spec.Note = &fieldmap.NoteSpec{Text: &fieldmap.Source{Template: "{{ text }}\n\nЧат: {{ chat.title }}"}}
	spec.Lead.Fields = append(spec.Lead.Fields, fieldmap.FieldSpec{Name: "X", Value: &fieldmap.Source{Const: "true"}},
		fieldmap.FieldSpec{Name: "Y", Value: &fieldmap.Source{Const: json.Number("12")}})
	text, err := mappingToYAML(spec)
	require.NoError(t, err)
	require.Contains(t, text, "note:\n  text: |-\n    {{ text }}\n")
	back, err := fieldmap.ParseSpec([]byte(text), fieldmap.FormatYAML)
	require.NoError(t, err)
	require.Equal(t, mappingSpecHash(spec), mappingSpecHash(back))

	b, err := json.Marshal(back)
	require.NoError(t, err)
	again, err := fieldmap.ParseSpec(b, fieldmap.FormatJSON)
	require.NoError(t, err)
	require.Equal(t, mappingSpecHash(back), mappingSpecHash(again))
}

func TestMappingListing(t *testing.T) {
	got := mappingListing("a\r\nb\nc\n\n", map[int]bool{2: true})
	want := []mappingLine{{N: 1, Text: "a"}, {N: 2, Text: "b", Bad: true}, {N: 3, Text: "c"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listing (-want +got):\n%s", diff)
	}
}

func FuzzMappingIndex(f *testing.F) {
	f.Add(mappingSpecSample)
	f.Add("lead:\n  name: x: y\n")
	f.Add("{\"lead\": {\"name\": \"x\", \"fields\": [{\"nam\": 1}]}}")
	f.Add("a: &x [*x]\n")
	f.Add("- - - - -\n")
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 1<<14 {
			return
		}
		idx := newMappingIndex(text)
		lines := strings.Count(text, "\n") + 1
		for _, p := range []string{"lead", "lead.fields[0].value", "contact.name"} {
			if l := idx.line(p); l < 0 || l > lines {
				t.Fatalf("line %d of %q outside the text (%d lines)", l, p, lines)
			}
		}
		_, err := fieldmap.ParseSpec([]byte(text), fieldmap.FormatAuto)
		for _, p := range fieldmap.ProblemsOf(err) {
			if l := idx.syntaxLine(p.Message.EN); l < 0 || l > lines+1 {
				t.Fatalf("syntax line %d outside the text (%d lines): %s", l, lines, p.Message.EN)
			}
		}
		_ = mappingListing(text, nil)
	})
}
