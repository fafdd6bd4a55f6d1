package fieldmap

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// located is what a test compares of a problem.
type located struct {
	Code         Code
	Path         string
	Line, Column int
	RU, EN       string
}

func locatedOf(ps Problems) []located {
	var out []located
	for _, p := range ps {
		out = append(out, located{p.Code, p.Path, p.Line, p.Column, p.Message.RU, p.Message.EN})
	}
	return out
}

func TestParseSpecErrorPositions(t *testing.T) {
	const ruPre, enPre = "ошибка в описании сопоставления: ", "spec error: "
	for _, tc := range []struct {
		name, in  string
		line, col int
		ru, en    string
	}{
		{"yaml unknown key", "lead:\n  name: x\n  nam: y\n", 3, 3,
			`неизвестный ключ "nam"`, `unknown field "nam"`},
		{"yaml unknown key in a flow list", "lead: {name: x, tags: [a, b: c]}", 1, 27,
			`неизвестный ключ "b"`, `unknown field "b"`},
		{"yaml source with two kinds", "lead:\n  name: x\n  fields:\n    - id: 1\n      type: text\n      value: {from: a, const: 1}\n", 6, 14,
			"у значения должно быть ровно одно из: from, const, template", "a value needs exactly one of from, const, template"},
		{"yaml wrong type", "lead:\n  name: x\n  fields:\n    - id: 1\n      type: text\n      max_length: abc\n", 6, 19,
			"ключ lead.fields.max_length: ожидается целое число, а не строка",
			"cannot unmarshal string into Go struct field FieldSpec.lead.fields.max_length of type int"},
		{"yaml route id", "lead:\n  name: x\n  status: {id: x}\n", 3, 11,
			"ключ lead.status.id: ожидается целое число, а не строка",
			"cannot unmarshal string into Go struct field LeadSpec.lead.status.id of type int"},
		{"yaml ref in round robin", "lead:\n  name: x\n  responsible:\n    round_robin: [1, -5]\n", 4, 22,
			"id -5 в ссылке — не целое положительное число", "reference id -5 is not a positive whole number"},
		{"yaml syntax", "lead:\n  name: x\n   bad: 1\n", 3, 4,
			"синтаксическая ошибка YAML в строке 3: двоеточие здесь не допускается (ключ: значение не на своём месте)",
			"yaml: line 3: mapping values are not allowed in this context"},
		{"yaml duplicate key", "a: 1\na: 2\n", 2, 1,
			"синтаксическая ошибка YAML в строке 2: ключ повторяется",
			"yaml: unmarshal errors:\n  line 2: mapping key \"a\" already defined at line 1"},
		{"yaml list for a value", "lead:\n  name: [a, b]\n", 2, 9,
			"значение здесь не может быть списком (для нескольких — values:)", "a value cannot be a list here (use values: for several)"},
		{"json unknown key", "{\"lead\": {\"name\": \"x\",\n  \"nam\": 1}}", 2, 3,
			`неизвестный ключ "nam"`, `unknown field "nam"`},
		{"json wrong type", `{"lead": {"name": "x", "fields": [{"id": 1, "type": "text", "max_length": "a"}]}}`, 1, 75,
			"ключ lead.fields.max_length: ожидается целое число, а не строка",
			"cannot unmarshal string into Go struct field FieldSpec.lead.fields.max_length of type int"},
		{"json syntax", `{"lead": {"name": "x",, }}`, 1, 23,
			"синтаксическая ошибка JSON: недопустимый символ ','", "invalid character ',' looking for beginning of object key string"},
		{"json after a line break", "{\"lead\":\n  {\"name\" \"x\"}}", 2, 11,
			`синтаксическая ошибка JSON: недопустимый символ '"'`, `invalid character '"' after object key`},
		{"json cut short", "{\"lead\": {\"name\": \"x\"\n", 1, 22,
			"описание сопоставления оборвано (не хватает конца JSON)", "unexpected end of JSON input"},
		{"json trailing data", `{"lead": {"name": "x"}}  {}`, 1, 26,
			"данные после конца описания сопоставления", "data after the end of the spec"},
		{"json trailing garbage", `{"lead": {"name": "x"}} x`, 1, 25,
			"синтаксическая ошибка JSON: недопустимый символ 'x'", "invalid character 'x' looking for beginning of value"},
		{"json column in characters", `{"lead": {"name": "Привет", "nam": 1}}`, 1, 29,
			`неизвестный ключ "nam"`, `unknown field "nam"`},
		{"empty", "  \n", 1, 1, "описание сопоставления пустое", "spec is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSpec([]byte(tc.in), FormatAuto)
			require.Error(t, err)
			want := []located{{CodeSpecSyntax, "", tc.line, tc.col, ruPre + tc.ru, enPre + tc.en}}
			if d := cmp.Diff(want, locatedOf(ProblemsOf(err))); d != "" {
				t.Errorf("problem (-want +got):\n%s", d)
			}
		})
	}
}

// The problems Compile finds in a parsed spec carry the line and column of
// their path, in YAML and in JSON.
func TestCompileErrorPositions(t *testing.T) {
	yml := "lead:\n" +
		"  name: x\n" +
		"  fields:\n" +
		"    - id: 5\n" +
		"      type: text\n" +
		"      value: '{{ text | nope }}'\n" +
		"contact:\n" +
		"  phone: {from: sender.phone, lookup: missing}\n"
	js := "{\"lead\": {\"name\": \"x\", \"fields\": [\n" +
		"  {\"id\": 5, \"type\": \"text\", \"value\": \"{{ text | nope }}\"}]},\n" +
		" \"contact\": {\"phone\": {\"from\": \"sender.phone\", \"lookup\": \"missing\"}}}"
	for _, tc := range []struct {
		name, in string
		want     []located
	}{
		{"yaml", yml, []located{
			{CodeTemplateSyntax, "lead.fields[0].value", 6, 14,
				`ошибка в шаблоне: столбец 11: неизвестная функция "nope" (похожие: ne, not)`,
				`template error: col 11: unknown function "nope" (known: ne, not)`},
			{CodeSpecInvalid, "contact.phone.lookup", 8, 39, `нет таблицы "missing" в lookups`, `no table "missing" in lookups`},
		}},
		{"json", js, []located{
			{CodeTemplateSyntax, "lead.fields[0].value", 2, 38,
				`ошибка в шаблоне: столбец 11: неизвестная функция "nope" (похожие: ne, not)`,
				`template error: col 11: unknown function "nope" (known: ne, not)`},
			{CodeSpecInvalid, "contact.phone.lookup", 3, 58, `нет таблицы "missing" в lookups`, `no table "missing" in lookups`},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := ParseSpec([]byte(tc.in), FormatAuto)
			require.NoError(t, err)
			_, err = Compile(spec)
			if d := cmp.Diff(tc.want, locatedOf(ProblemsOf(err))); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
			p, ok := spec.Position("lead.fields[0].value.nothing")
			require.True(t, ok)
			if d := cmp.Diff(tc.want[0].Line, p.Line); d != "" {
				t.Errorf("Position falls back to the parent (-want +got):\n%s", d)
			}
		})
	}
}

// A Spec built in code has no positions, and its problems none either.
func TestCompileWithoutPositions(t *testing.T) {
	spec := &Spec{Lead: LeadSpec{Name: &Source{Template: "{{ text | nope }}"}}}
	_, err := Compile(spec)
	ps := ProblemsOf(err)
	require.Len(t, ps, 1)
	if d := cmp.Diff([2]int{0, 0}, [2]int{ps[0].Line, ps[0].Column}); d != "" {
		t.Errorf("position (-want +got):\n%s", d)
	}
	_, ok := spec.Position("lead.name")
	require.False(t, ok)
}

// Problems of contact.phone and contact.email name those keys, not the
// contact.fields[i] they are compiled into, so their positions are right.
func TestContactShorthandPaths(t *testing.T) {
	spec, err := ParseSpec([]byte("lead: {name: x}\ncontact:\n  email: '{{ text | nope }}'\n  fields:\n    - {id: 3, type: text, value: '{{ a | nope2 }}'}\n"), FormatYAML)
	require.NoError(t, err)
	_, err = Compile(spec)
	var got [][3]any
	for _, p := range ProblemsOf(err) {
		got = append(got, [3]any{p.Path, p.Line, p.Column})
	}
	want := [][3]any{{"contact.email", 3, 10}, {"contact.fields[0].value", 5, 34}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}

func TestProblemErrorHasPosition(t *testing.T) {
	p := problem(CodeSpecInvalid, "lead.name", T("нет", "missing"), Text{})
	p.Line, p.Column = 3, 7
	if d := cmp.Diff("fieldmap: 3:7: lead.name: missing [spec_invalid]", p.Error()); d != "" {
		t.Errorf("Error (-want +got):\n%s", d)
	}
}
