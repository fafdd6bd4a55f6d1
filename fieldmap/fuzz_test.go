package fieldmap

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/chatterhq/sdk/amocrm"
)

func FuzzParseSpec(f *testing.F) {
	for _, p := range []string{"testdata/spec.yaml", "testdata/spec.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(bench10))
	f.Add([]byte("lead: {name: x, pipeline: [1, {when: a, id: 2}], responsible: {round_robin: [a@b.c, 3]}}"))
	f.Add([]byte(`{"lead":{"name":{"const":1},"fields":[{"id":1,"type":"items","objects":[{"sku":"a"}]}]}}`))
	f.Add([]byte("&a [*a, *a]"))
	f.Add([]byte("lookups: {t: {1: 2, '*': x}}\nlead: {name: '{{ a | lookup t }}'}"))
	// the positioned trees: merge keys and aliases, JSON syntax errors, bad keys
	f.Add([]byte("base: &b {name: x}\nlead:\n  <<: *b\n  tags: [*b]\n"))
	f.Add([]byte("lead:\n  name: x\n   bad: 1\n"))
	f.Add([]byte("{\"lead\": {\"name\": \"Привет\",, \"nam\": 1}}"))
	f.Add([]byte("{\"lead\": {\"name\": \"x\", \"fields\": [{\"id\": 1, \"type\": \"text\", \"max_length\": \"a\"}]}} {}"))
	f.Add([]byte("lead: {name: x, responsible: {round_robin: [1, -5]}, pipeline: {id: 1, foo: 2}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := ParseSpec(data, FormatAuto)
		if err != nil {
			ps := ProblemsOf(err)
			if ps == nil {
				t.Fatalf("ParseSpec error is not an *Error: %v", err)
			}
			if len(data) <= MaxSpecBytes && (ps[0].Line < 1 || ps[0].Column < 1) {
				t.Fatalf("ParseSpec problem without a position: %v", err)
			}
			return
		}
		m, err := Compile(spec)
		if err != nil {
			if ProblemsOf(err) == nil {
				t.Fatalf("Compile error is not an *Error: %v", err)
			}
			return
		}
		if _, err := m.DryRun(MapRecord{"text": "x"}); err != nil && ProblemsOf(err) == nil {
			t.Fatalf("DryRun error is not an *Error: %v", err)
		}
	})
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"{{ sender.first_name | default sender.username | trim | truncate 40 '…' }}",
		"{{ time | date 'datetime' '+03:00' }}", "{{ text | find_phone }} {{ text | find_email }} {{ text | find_amount }}",
		"{{ text | match '(\\d+)' 1 }}", "{{ tags | join '/' }}", "{{ a && b }}", "{{ 'x\\'y' }}", "{{", "}}",
		"{{ n | gt 3 }}", "{{ text | icontains 'ОПТ' | not }}",
	} {
		f.Add(s, "Срочно, 8 916 123-45-67, a@b.ru, бюджет 50к")
	}
	f.Fuzz(func(t *testing.T, src, text string) {
		rec := MapRecord{"text": text, "tags": []any{text, "x"}, "n": json.Number("5"),
			"sender": map[string]any{"first_name": text}, "time": text}
		tm, err := CompileTemplate(src)
		if err == nil {
			_, _ = tm.Execute(rec)
		} else if ProblemsOf(err) == nil {
			t.Fatalf("CompileTemplate error is not an *Error: %v", err)
		}
		if c, err := CompileCondition(src); err == nil {
			_, _ = c.Eval(rec)
		}
		_, _ = NormalizePhone(text)
	})
}

func FuzzApply(f *testing.F) {
	b, err := os.ReadFile("testdata/message.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"text": 5, "time": "вчера", "sender": {"phone": "abc"}}`))
	f.Add([]byte(`{"chat": {"title": ["a", {"b": 1}]}, "link": "javascript:alert(1)", "time": 1e300}`))
	f.Add([]byte(`{}`))
	spec, err := LoadSpec("testdata/spec.yaml")
	if err != nil {
		f.Fatal(err)
	}
	schema := loadSchema(f)
	m := MustCompile(spec, WithSchema(schema))
	m2 := MustCompile(spec, WithSchema(schema)) // ApplyInto: round-robin in step with m
	var reused Result                           // across inputs: one worker calls the target sequentially
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := JSONRecord(data)
		if err != nil {
			return
		}
		res, err := m.Apply(rec)
		checkSame(t, "ApplyInto", res, err, &reused, m2.ApplyInto(rec, &reused))
		if err != nil {
			ps := ProblemsOf(err)
			if len(ps) == 0 {
				t.Fatalf("Apply error without problems: %v", err)
			}
			for _, p := range ps {
				if p.Severity != SeverityError || p.Message.RU == "" || p.Message.EN == "" {
					t.Fatalf("bad problem %+v", p)
				}
			}
			return
		}
		if err := amocrm.ValidateComplex([]*amocrm.ComplexLead{&res.Lead}); err != nil {
			t.Fatalf("result fails client validation: %v", err)
		}
		if _, err := json.Marshal(res.Lead); err != nil {
			t.Fatalf("result does not encode: %v", err)
		}
		if res.Lead.Lead.Name == "" {
			t.Fatal("lead without a name")
		}
	})
}
