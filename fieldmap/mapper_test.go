package fieldmap

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm"
)

func exampleMapper(t testing.TB) *Mapper {
	t.Helper()
	spec, err := LoadSpec("testdata/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compile(spec, WithSchema(loadSchema(t)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSpecYAMLAndJSONAreTheSame(t *testing.T) {
	rec := loadMessage(t)
	var outs []string
	for _, path := range []string{"testdata/spec.yaml", "testdata/spec.json"} {
		spec, err := LoadSpec(path)
		if err != nil {
			t.Fatal(path, err)
		}
		m, err := Compile(spec, WithSchema(loadSchema(t)))
		if err != nil {
			t.Fatal(path, err)
		}
		out, err := m.DryRun(rec)
		if err != nil {
			t.Fatal(path, err)
		}
		outs = append(outs, string(out))
	}
	if outs[0] != outs[1] {
		t.Errorf("YAML and JSON specs differ:\n%s\n%s", outs[0], outs[1])
	}
	// the spec survives a JSON round trip
	spec, _ := LoadSpec("testdata/spec.yaml")
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseSpec(b, FormatJSON); err != nil {
		t.Fatalf("round trip: %v", err)
	}
}

func TestApplyExample(t *testing.T) {
	m := exampleMapper(t)
	res, err := m.Apply(loadMessage(t))
	if err != nil {
		t.Fatal(err)
	}
	l := res.Lead.Lead
	if l.PipelineID != 12 || l.StatusID != 122 || l.Price != 150000 || l.ResponsibleUserID != 501 {
		t.Errorf("routing: pipeline %d status %d price %d responsible %d", l.PipelineID, l.StatusID, l.Price, l.ResponsibleUserID)
	}
	if err := amocrm.ValidateComplex([]*amocrm.ComplexLead{&res.Lead}); err != nil {
		t.Errorf("the result does not pass the client's validation: %v", err)
	}
	if res.Note == nil || !strings.Contains(res.Note.Params.Text, "https://t.me/c/1001/7") {
		t.Errorf("note: %+v", res.Note)
	}
	if res.Lead.Contact == nil || res.Lead.Contact.Phones()[0] != "+79161234567" {
		t.Errorf("contact: %+v", res.Lead.Contact)
	}
	// a private chat: no company, other routing
	rec := loadMessage(t)
	rec["chat"] = map[string]any{"id": 5, "type": "private", "title": "VIP"}
	rec["text"] = "хочу купить"
	res, err = m.Apply(rec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Lead.Company != nil || res.Lead.Lead.ResponsibleUserID != 503 || res.Lead.Lead.PipelineID != 11 || res.Lead.Lead.StatusID != 111 {
		t.Errorf("private chat: %+v", res.Lead.Lead)
	}
	if !res.Warnings.Has(CodeOptionalSkipped) { // no amount in the text
		t.Errorf("warnings: %v", res.Warnings)
	}
}

func TestApplyBadRecordLosesNothing(t *testing.T) {
	m := exampleMapper(t)
	rec := loadMessage(t)
	rec["sender"] = map[string]any{"id": 1, "phone": "позвоните"}
	rec["time"] = "вчера"
	res, err := m.Apply(rec)
	if err == nil {
		t.Fatalf("want problems, got %+v", res)
	}
	probs := ProblemsOf(err)
	paths := map[string]bool{}
	for _, p := range probs {
		paths[p.Path] = true
		if p.Code != CodeBadValue {
			t.Errorf("code %s", p.Code)
		}
	}
	if !paths["lead.fields[2].value"] || !paths["contact.fields[0].values[0]"] {
		t.Errorf("want every bad value reported, got %v", probs)
	}
	var fe *Error
	if !errors.As(err, &fe) || !fe.Permanent() || fe.Message().RU == "" {
		t.Errorf("error type: %T", err)
	}
	out, derr := m.DryRun(rec)
	if derr == nil || !strings.Contains(string(out), `"problems"`) {
		t.Errorf("dry run must list problems: %s %v", out, derr)
	}
}

func TestParseSpecErrors(t *testing.T) {
	cases := map[string]struct {
		data    string
		format  Format
		suggest string
	}{
		"unknown key":       {data: "lead:\n  name: x\n  feilds: []\n", suggest: "fields"},
		"yaml syntax":       {data: "lead: [\n"},
		"json syntax":       {data: `{"lead": }`, format: FormatJSON},
		"empty":             {data: ""},
		"source two kinds":  {data: "lead:\n  name: {from: a, const: b}\n"},
		"source list":       {data: "lead:\n  name: [a]\n"},
		"bad ref":           {data: "lead:\n  pipeline: -3\n"},
		"bad ref obj":       {data: "lead:\n  pipeline: {idd: 3}\n"},
		"bad format":        {data: "lead: {}", format: "toml"},
		"trailing json":     {data: `{"lead":{}} {}`, format: FormatJSON},
		"nan":               {data: "lead:\n  price: .nan\n"},
		"wrong type":        {data: "lead:\n  fields: {id: 1}\n"},
		"route unknown key": {data: "lead:\n  status: {when: a, nme: b}\n"},
	}
	for name, tc := range cases {
		_, err := ParseSpec([]byte(tc.data), tc.format)
		ps := ProblemsOf(err)
		if len(ps) != 1 || ps[0].Code != CodeSpecSyntax {
			t.Errorf("%s: want spec_syntax, got %v", name, err)
			continue
		}
		if tc.suggest != "" && (len(ps[0].Suggestions) == 0 || ps[0].Suggestions[0] != tc.suggest) {
			t.Errorf("%s: suggestions %v", name, ps[0].Suggestions)
		}
	}
	if _, err := ParseSpec(make([]byte, MaxSpecBytes+1), FormatYAML); err == nil {
		t.Error("oversized spec accepted")
	}
	if _, err := LoadSpec("testdata/nope.yaml"); err == nil {
		t.Error("missing file accepted")
	}
	// YAML with numeric keys in a lookup table
	s, err := ParseSpec([]byte("lookups:\n  codes:\n    1: A\nlead:\n  name: x\n  pipeline: 5\n"), FormatAuto)
	if err != nil || s.Lookups["codes"]["1"] != "A" || s.Lead.Pipeline[0].ID != 5 {
		t.Errorf("numeric keys: %+v %v", s, err)
	}
}

func TestCompileProblems(t *testing.T) {
	cases := map[string]struct {
		spec string
		code Code
	}{
		"no name":          {"lead: {}", CodeSpecInvalid},
		"version":          {"version: 3\nlead: {name: x}", CodeSpecInvalid},
		"timezone":         {"timezone: Mars/Base\nlead: {name: x}", CodeSpecInvalid},
		"template":         {"lead: {name: '{{ x | nope }}'}", CodeTemplateSyntax},
		"when":             {"lead: {name: x, status: [{when: 'a &&', id: 1}]}", CodeTemplateSyntax},
		"bad path":         {"lead: {name: {from: 'a..b'}}", CodeSpecInvalid},
		"no lookup table":  {"lead: {name: {from: a, lookup: t}}", CodeSpecInvalid},
		"table value":      {"lookups: {t: {a: [1]}}\nlead: {name: x}", CodeSpecInvalid},
		"two targets":      {"lead: {name: x, fields: [{id: 1, name: a, type: text, value: v}]}", CodeSpecInvalid},
		"no value":         {"lead: {name: x, fields: [{id: 1, type: text}]}", CodeSpecInvalid},
		"rr on pipeline":   {"lead: {name: x, pipeline: [{round_robin: [1, 2]}]}", CodeSpecInvalid},
		"empty route":      {"lead: {name: x, pipeline: [{when: a}]}", CodeSpecInvalid},
		"email pipeline":   {"lead: {name: x, pipeline: a@b.c}", CodeSpecInvalid},
		"pipeline by name": {"lead: {name: x, pipeline: Продажи}", CodeNeedsSchema},
		"note type":        {"lead: {name: x}\nnote: {type: sms_in, text: t}", CodeSpecInvalid},
		"note no text":     {"lead: {name: x}\nnote: {}", CodeSpecInvalid},
		"const object":     {"lead: {name: {const: {a: 1}}}", CodeSpecInvalid},
		"negative max":     {"lead: {name: x, fields: [{id: 1, type: text, value: v, max_length: -1}]}", CodeSpecInvalid},
	}
	for name, tc := range cases {
		spec, err := ParseSpec([]byte(tc.spec), FormatYAML)
		if err != nil {
			t.Errorf("%s: parse: %v", name, err)
			continue
		}
		_, err = Compile(spec)
		if !ProblemsOf(err).Has(tc.code) {
			t.Errorf("%s: want %s, got %v", name, tc.code, err)
		}
	}
	many := &Spec{Lead: LeadSpec{Name: &Source{Const: "x"}}}
	for i := 1; i <= MaxFieldsPerEntity+1; i++ {
		many.Lead.Fields = append(many.Lead.Fields, FieldSpec{ID: i, Type: "text", Value: &Source{Const: "v"}})
	}
	if _, err := Compile(many); !ProblemsOf(err).Has(CodeTooManyFields) {
		t.Errorf("too many fields: %v", err)
	}
	if _, err := Compile(nil); err == nil {
		t.Error("nil spec compiled")
	}
	defer func() {
		if recover() == nil {
			t.Error("MustCompile did not panic")
		}
	}()
	MustCompile(&Spec{})
}

func TestValidate(t *testing.T) {
	schema := loadSchema(t)
	spec, err := ParseSpec([]byte(`
lookups:
  src: {a: Telegram, b: Факс}
lead:
  name: x
  pipeline: [{when: "text | eq 'x'", name: Продажы}, Продажи]
  status: Горячий лид
  responsible: [{when: "text | eq 'a'", name: Уволенный}, {round_robin: [Анна Смирнова, nobody@example.com]}]
  fields:
    - name: Истоник
      value: a
    - name: Источник
      value: {from: text, lookup: src}
    - name: Регион
      value: Сибирь
    - name: Срочно
      type: text
      value: "1"
contact:
  fields:
    - code: PHONE
      enum: CELL
      value: {from: phone}
`), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(spec, WithSchema(schema))
	if err == nil {
		t.Fatal("want problems")
	}
	probs := Validate(exampleMapperUnbound(t, spec), schema)
	want := map[Code]string{
		CodeFieldNotFound:     "Источник",
		CodePipelineNotFound:  "Продажи",
		CodeUserNotFound:      "",
		CodeEnumNotFound:      "",
		CodeFieldTypeMismatch: "",
		CodeRequiredMissing:   "",
	}
	for code, suggestion := range want {
		found := false
		for _, p := range probs {
			if p.Code != code {
				continue
			}
			found = true
			if suggestion != "" && (len(p.Suggestions) == 0 || p.Suggestions[0] != suggestion) {
				t.Errorf("%s: suggestions %v, want %q first", code, p.Suggestions, suggestion)
			}
			if p.Message.RU == "" || p.Message.EN == "" || p.Remedy.RU == "" {
				t.Errorf("%s: texts missing: %+v", code, p)
			}
		}
		if !found {
			t.Errorf("no %s problem in %v", code, probs)
		}
	}
	// "Факс" from the lookup table and "Сибирь" are not options; the CELL code neither
	n := 0
	for _, p := range probs {
		if p.Code == CodeEnumNotFound {
			n++
		}
	}
	if n != 3 {
		t.Errorf("want 3 enum problems, got %d: %v", n, probs)
	}
	if ps := Validate(exampleMapper(t), schema); ps.HasErrors() || len(ps) != 0 {
		t.Errorf("the example spec must validate cleanly: %v", ps)
	}
	if ps := Validate(nil, schema); !ps.HasErrors() {
		t.Error("nil mapper")
	}
	if ps := Validate(exampleMapper(t), nil); !ps.Has(CodeNeedsSchema) {
		t.Error("nil schema")
	}
}

// exampleMapperUnbound compiles spec without a schema, ignoring its
// needs_schema problems, as a caller that validates later would hold it.
func exampleMapperUnbound(t *testing.T, spec *Spec) *Mapper {
	t.Helper()
	m, _ := compile(spec, nil)
	return m
}

func TestValidateStatusesAndRequired(t *testing.T) {
	schema := loadSchema(t)
	mk := func(y string) Problems {
		spec, err := ParseSpec([]byte(y), FormatYAML)
		if err != nil {
			t.Fatal(err)
		}
		_, probs := compile(spec, schema)
		return probs
	}
	// status missing in the only pipeline: error
	if ps := mk("lead: {name: x, pipeline: Оптовые продажи, status: Неразобранное}"); !ps.Errors().Has(CodeStatusNotFound) {
		t.Errorf("status: %v", ps)
	}
	// required field for Продажи → Горячий лид (105) not mapped
	if ps := mk("lead: {name: x, status: Горячий лид}"); !ps.Errors().Has(CodeRequiredMissing) {
		t.Errorf("required: %v", ps)
	}
	// mapped but optional: a warning
	ps := mk("lead: {name: x, status: Горячий лид, fields: [{name: Текст заявки, value: {from: text}, optional: true}]}")
	if ps.HasErrors() || !ps.Warnings().Has(CodeRequiredOptional) {
		t.Errorf("required optional: %v", ps)
	}
	// computed fields cannot be written
	schema.LeadFields = append(schema.LeadFields, amocrm.CustomField{ID: 199, Name: "Формула", Type: amocrm.FieldTypeNumeric, IsComputed: true})
	if ps := mk("lead: {name: x, fields: [{name: Формула, value: 1}]}"); !ps.Has(CodeFieldReadOnly) {
		t.Errorf("computed: %v", ps)
	}
	// a status by name in two routed pipelines: resolved per pipeline
	spec, _ := ParseSpec([]byte(`lead: {name: x, pipeline: [{when: "a", name: Оптовые продажи}, Продажи], status: Первичный контакт}`), FormatYAML)
	m, err := Compile(spec, WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	for rec, want := range map[string][2]int{"": {11, 111}, "1": {12, 121}} {
		res, err := m.Apply(MapRecord{"a": rec})
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]int{res.Lead.Lead.PipelineID, res.Lead.Lead.StatusID}; got != want {
			t.Errorf("a=%q: got %v want %v", rec, got, want)
		}
	}
}

func TestRoundRobinConcurrent(t *testing.T) {
	spec, _ := ParseSpec([]byte("lead: {name: x, responsible: {round_robin: [1, 2, 3]}}"), FormatYAML)
	m := MustCompile(spec)
	// DryRun does not advance the rotation
	for range 5 {
		out, _ := m.DryRun(MapRecord{})
		if !strings.Contains(string(out), `"responsible_user_id": 1`) {
			t.Fatalf("dry run advanced round robin: %s", out)
		}
	}
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				res, err := m.Apply(MapRecord{})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				counts[res.Lead.Lead.ResponsibleUserID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if counts[1] != 100 || counts[2] != 100 || counts[3] != 100 {
		t.Errorf("uneven rotation: %v", counts)
	}
}

func TestNoRouteWarning(t *testing.T) {
	spec, _ := ParseSpec([]byte("lead: {name: x, status: [{when: 'a', id: 5}]}"), FormatYAML)
	res, err := MustCompile(spec).Apply(MapRecord{})
	if err != nil || !res.Warnings.Has(CodeNoRoute) || res.Lead.Lead.StatusID != 0 {
		t.Errorf("%+v %v", res, err)
	}
}

type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *manualClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestSchemaCache(t *testing.T) {
	clock := &manualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	fetches := 0
	fail := false
	release := make(chan struct{})
	fetch := func(ctx context.Context) (*Schema, error) {
		mu.Lock()
		fetches++
		f := fail
		mu.Unlock()
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f {
			return nil, errors.New("boom")
		}
		return &Schema{}, nil
	}
	c := NewSchemaCache(fetch, SchemaCacheConfig{TTL: time.Minute, MinRefresh: 10 * time.Second, Now: clock.Now})
	ctx := t.Context()

	// concurrent first Get: one fetch
	var wg sync.WaitGroup
	versions := make(chan uint64, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, v, err := c.Get(ctx)
			if err != nil || s == nil {
				t.Error(err)
			}
			versions <- v
		}()
	}
	close(release) // every later fetch returns at once
	wg.Wait()
	close(versions)
	for v := range versions {
		if v != 1 {
			t.Errorf("version %d", v)
		}
	}
	if fetches != 1 {
		t.Errorf("fetches = %d, want 1", fetches)
	}
	// within TTL: cached
	clock.Add(30 * time.Second)
	if _, v, _ := c.Get(ctx); v != 1 || fetches != 1 {
		t.Errorf("cached: v=%d fetches=%d", v, fetches)
	}
	// a field error invalidates; MinRefresh has passed since the fetch
	apiErr := &amocrm.APIError{StatusCode: 400, ValidationErrors: []amocrm.ValidationError{{RequestID: "0",
		Errors: []amocrm.FieldError{{Code: "NotSupportedChoice", Path: "custom_fields_values.0.field_id"}}}}}
	if c.ReportError(errors.New("network")) {
		t.Error("a network error is not a schema error")
	}
	if !c.ReportError(errors.Join(errors.New("deliver"), apiErr)) {
		t.Error("a field error must invalidate")
	}
	if _, v, _ := c.Get(ctx); v != 2 || fetches != 2 {
		t.Errorf("refetch: v=%d fetches=%d", v, fetches)
	}
	// a second report right away: MinRefresh holds the refetch back
	c.ReportError(apiErr)
	if _, v, _ := c.Get(ctx); v != 2 {
		t.Errorf("MinRefresh ignored: v=%d", v)
	}
	// expiry with a failing fetch: error, Cached keeps the old schema
	clock.Add(2 * time.Minute)
	mu.Lock()
	fail = true
	mu.Unlock()
	if _, _, err := c.Get(ctx); err == nil {
		t.Error("want fetch error")
	}
	if c.Cached() == nil {
		t.Error("Cached lost the old schema")
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	if _, v, err := c.Get(ctx); err != nil || v != 3 {
		t.Errorf("recovery: v=%d err=%v", v, err)
	}
	// a nil schema from fetch is an error
	c2 := NewSchemaCache(func(context.Context) (*Schema, error) { return nil, nil }, SchemaCacheConfig{})
	if _, _, err := c2.Get(ctx); err == nil {
		t.Error("nil schema accepted")
	}
}

func TestSchemaCacheWaiterContext(t *testing.T) {
	started := make(chan struct{})
	block := make(chan struct{})
	c := NewSchemaCache(func(ctx context.Context) (*Schema, error) {
		close(started)
		<-block
		return &Schema{}, nil
	}, SchemaCacheConfig{})
	go func() { _, _, _ = c.Get(context.Background()) }()
	<-started
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := c.Get(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("waiter: %v", err)
	}
	close(block)
}

func TestIsSchemaError(t *testing.T) {
	for path, want := range map[string]bool{
		"custom_fields_values.0.values.0.enum_id": true, "status_id": true, "pipeline_id": true,
		"responsible_user_id": true, "name": false,
	} {
		err := &amocrm.APIError{StatusCode: 400, ValidationErrors: []amocrm.ValidationError{{Errors: []amocrm.FieldError{{Path: path}}}}}
		if IsSchemaError(err) != want {
			t.Errorf("%s: want %v", path, want)
		}
	}
}

func TestSchemaJSON(t *testing.T) {
	b, err := os.ReadFile("testdata/schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s Schema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Fields(amocrm.EntityLeads)) != 8 || len(s.Fields(amocrm.EntityContacts)) != 4 || len(s.Fields(amocrm.EntityCompanies)) != 1 || s.Fields("x") != nil {
		t.Error("Fields")
	}
}
