package fieldmap

import (
	"bytes"
	"strings"
	"testing"
	"text/template"
	"time"
)

// benchRecord is a message as MapRecord, the shape chatter.Message takes.
func benchRecord() MapRecord {
	return MapRecord{
		"chat":   map[string]any{"id": int64(-1001), "type": "supergroup", "title": "Продажи B2B"},
		"sender": map[string]any{"id": int64(123456789), "username": "ivanov", "first_name": "Пётр", "last_name": "Иванов", "phone": "+79161234567"},
		"text":   "Срочно нужен опт, Москва, бюджет 150 тыс. Почта petr@example.ru",
		"time":   time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC),
		"link":   "https://t.me/c/1001/7",
	}
}

const bench10 = `
lookups:
  src: {"Продажи B2B": 1002, "*": 1001}
lead:
  name: '{{ sender.first_name }}: {{ chat.title }}'
  fields:
    - {id: 1, type: text, value: {from: chat.title}}
    - {id: 2, type: text, value: {from: sender.username}}
    - {id: 3, type: textarea, value: {from: text}}
    - {id: 4, type: url, value: {from: link}}
    - {id: 5, type: date_time, value: {from: time}}
    - {id: 6, type: select, value: {from: chat.title, lookup: src}}
    - {id: 7, type: checkbox, value: '{{ text | icontains "срочно" }}'}
    - {id: 8, type: text, value: '{{ sender.first_name }} {{ sender.last_name }}'}
contact:
  fields:
    - {code: PHONE, value: {from: sender.phone}}
    - {id: 9, type: text, value: {from: sender.username}}
`

// BenchmarkApply10 maps a message onto 10 custom fields plus the lead name.
func BenchmarkApply10(b *testing.B) {
	spec, err := ParseSpec([]byte(bench10), FormatYAML)
	if err != nil {
		b.Fatal(err)
	}
	m := MustCompile(spec)
	rec := benchRecord()
	if _, err := m.Apply(rec); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		if _, err := m.Apply(rec); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkApplyInto10 is BenchmarkApply10 with one Result reused across
// calls (ApplyInto): the output is not allocated again.
func BenchmarkApplyInto10(b *testing.B) {
	spec, err := ParseSpec([]byte(bench10), FormatYAML)
	if err != nil {
		b.Fatal(err)
	}
	m := MustCompile(spec)
	rec := benchRecord()
	var res Result
	if err := m.ApplyInto(rec, &res); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		if err := m.ApplyInto(rec, &res); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkTextTemplate10 executes one text/template per field for the same
// 10 fields plus the name: the baseline a hand-rolled mapper would use.
func BenchmarkTextTemplate10(b *testing.B) {
	srcs := []string{
		`{{ .sender.first_name }}: {{ .chat.title }}`,
		`{{ .chat.title }}`, `{{ .sender.username }}`, `{{ .text }}`, `{{ .link }}`, `{{ .time.Unix }}`,
		`{{ if eq .chat.title "Продажи B2B" }}1002{{ else }}1001{{ end }}`,
		`{{ if contains .text "Срочно" }}true{{ else }}false{{ end }}`,
		`{{ .sender.first_name }} {{ .sender.last_name }}`, `{{ .sender.phone }}`, `{{ .sender.username }}`,
	}
	funcs := template.FuncMap{"contains": strings.Contains}
	tmpls := make([]*template.Template, len(srcs))
	for i, s := range srcs {
		tmpls[i] = template.Must(template.New("f").Funcs(funcs).Parse(s))
	}
	rec := map[string]any(benchRecord())
	out := make([]string, len(tmpls))
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		for i, t := range tmpls {
			var buf bytes.Buffer
			if err := t.Execute(&buf, rec); err != nil {
				b.Fatal(err)
			}
			out[i] = buf.String()
		}
	}
	reportCPU(b, cpu)
}
