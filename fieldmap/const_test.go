package fieldmap

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

type constProblem struct {
	Code         Code
	Path         string
	Line, Column int
	RU, EN       string
}

// Constants that do not fit their field's type fail Compile, at their line,
// instead of every Apply; enum errors list the options.
func TestCompileChecksConstants(t *testing.T) {
	spec, err := ParseSpec([]byte(`lookups:
  budget: {small: 1000, big: много}
lead:
  name: x
  fields:
    - {name: Бюджет (прогноз), value: abc}
    - {name: Дата обращения, value: 32.13.2026}
    - {name: Срочно, value: может быть}
    - {name: Ссылка на сообщение, value: 'ftp://x'}
    - {name: Источник, value: Телеграм}
    - {name: Бюджет (прогноз), value: {from: text, lookup: budget}}
    - {name: Бюджет (прогноз), value: '1 500,5'}
    - {name: Дата обращения, value: 02.03.2026}
    - {name: Срочно, value: да}
    - {name: Источник, value: telegram b2b}
    - {name: Текст заявки, value: '{{ text }}'}
contact:
  phone: позвоните
`), FormatYAML)
	require.NoError(t, err)
	_, err = Compile(spec, WithSchema(loadSchema(t)))
	var got []constProblem
	for _, p := range ProblemsOf(err) {
		got = append(got, constProblem{p.Code, p.Path, p.Line, p.Column, p.Message.RU, p.Message.EN})
	}
	want := []constProblem{ // select options are checked with the field, the other types after
		{CodeEnumNotFound, "lead.fields[4].value", 10, 31,
			`в поле "Источник" нет варианта "Телеграм"; варианты: "Telegram", "Telegram B2B", "Сайт"`,
			`field "Источник" has no option "Телеграм"; the options are: "Telegram", "Telegram B2B", "Сайт"`},
		{CodeBadValue, "lead.fields[0].value", 6, 39, `поле "Бюджет (прогноз)" (numeric): значение "abc" — не число`,
			`field "Бюджет (прогноз)" (numeric): value "abc" is not a number`},
		{CodeBadValue, "lead.fields[1].value", 7, 37, `поле "Дата обращения" (date_time): значение "32.13.2026" — не дата`,
			`field "Дата обращения" (date_time): value "32.13.2026" is not a date`},
		{CodeBadValue, "lead.fields[2].value", 8, 29, `поле "Срочно" (checkbox): значение "может быть" — не да/нет`,
			`field "Срочно" (checkbox): value "может быть" is not yes/no`},
		{CodeBadValue, "lead.fields[3].value", 9, 42, `поле "Ссылка на сообщение" (url): значение "ftp://x" — не ссылка http(s)://…`,
			`field "Ссылка на сообщение" (url): value "ftp://x" is not an http(s):// URL`},
		{CodeBadValue, "lookups.budget.big", 2, 30, `поле "Бюджет (прогноз)" (numeric): значение "много" — не число`,
			`field "Бюджет (прогноз)" (numeric): value "много" is not a number`},
		{CodeBadValue, "contact.phone", 18, 10, `поле "Телефон" (multitext): значение "позвоните" — не номер телефона`,
			`field "Телефон" (multitext): value "позвоните" is not a phone number`},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}

// Without a schema, a declared type is checked the same way.
func TestCompileChecksConstantsOfDeclaredType(t *testing.T) {
	spec := &Spec{Lead: LeadSpec{Name: &Source{Template: "x"}, Fields: []FieldSpec{
		{ID: 7, Type: "numeric", Value: &Source{Const: "abc"}},
		{ID: 8, Type: "numeric", Value: &Source{Const: 12}},
		{ID: 9, Type: "date", Value: &Source{Template: "2026-02-30"}},
		{ID: 10, Type: "select", Value: &Source{Const: -1}},
	}}}
	_, err := Compile(spec)
	var got [][2]string
	for _, p := range ProblemsOf(err) {
		got = append(got, [2]string{p.Path, p.Message.EN})
	}
	want := [][2]string{
		{"lead.fields[0].value", `field #7 (numeric): value "abc" is not a number`},
		{"lead.fields[2].value", `field #9 (date): value "2026-02-30" is not a date`},
		{"lead.fields[3].value", `field #10 (select): value "-1" is not an option id`},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}
