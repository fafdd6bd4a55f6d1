package fieldmap

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/chatterhq/sdk/amocrm"
)

func loadSchema(t testing.TB) *Schema {
	t.Helper()
	b, err := os.ReadFile("testdata/schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s Schema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func loadMessage(t testing.TB) MapRecord {
	t.Helper()
	b, err := os.ReadFile("testdata/message.json")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := JSONRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// typeSchema has one lead field per enum-backed type, for bound conversions.
func typeSchema() *Schema {
	return &Schema{LeadFields: []amocrm.CustomField{
		{ID: 10, Name: "Sel", Type: amocrm.FieldTypeSelect, Enums: []amocrm.Enum{{ID: 1, Value: "A"}, {ID: 2, Value: "B"}}},
		{ID: 11, Name: "Radio", Type: amocrm.FieldTypeRadiobutton, Enums: []amocrm.Enum{{ID: 3, Value: "yes"}, {ID: 4, Value: "no"}}},
		{ID: 12, Name: "Multi", Type: amocrm.FieldTypeMultiselect, Enums: []amocrm.Enum{{ID: 5, Value: "red"}, {ID: 6, Value: "green"}}},
		{ID: 13, Name: "Cat", Type: amocrm.FieldTypeCategory, Nested: []amocrm.NestedEnum{{ID: 7, Value: "Shoes"}, {ID: 8, ParentID: 7, Value: "Boots"}}},
		{ID: 14, Name: "Phones", Code: "PHONE", Type: amocrm.FieldTypeMultitext, Enums: []amocrm.Enum{{ID: 20, Value: "WORK"}, {ID: 21, Value: "MOB"}}},
	}}
}

func applyOne(t *testing.T, fs FieldSpec, schema *Schema, rec Record) (*Result, error) {
	t.Helper()
	spec := &Spec{Timezone: "+03:00", Lead: LeadSpec{Name: &Source{Const: "x"}, Fields: []FieldSpec{fs}}}
	var opts []Option
	if schema != nil {
		opts = append(opts, WithSchema(schema))
	}
	m, err := Compile(spec, opts...)
	if err != nil {
		return nil, err
	}
	res, err := m.Apply(rec)
	// ApplyInto, into a Result a bigger mapping used before, gives the same
	res2 := dirtyResult(t)
	checkSame(t, "ApplyInto", res, err, res2, MustCompile(spec, opts...).ApplyInto(rec, res2))
	return res, err
}

// dirtyResult is a Result that already holds a lead with a contact, a
// company, a note, tags and custom fields.
func dirtyResult(t testing.TB) *Result {
	t.Helper()
	rec := reuseRecords()[0]
	rec["link"] = "https://example.com/x"
	var res Result
	if err := mustMapper(t, reuseSpec).ApplyInto(rec, &res); err != nil {
		t.Fatal(err)
	}
	if res.Lead.Contact == nil || res.Lead.Company == nil || res.Note == nil {
		t.Fatalf("dirtyResult is not dirty: %+v", res.Lead)
	}
	return &res
}

func valuesJSON(t *testing.T, r *Result) string {
	t.Helper()
	if len(r.Lead.Lead.CustomFieldsValues) == 0 {
		return "none"
	}
	b, err := json.Marshal(r.Lead.Lead.CustomFieldsValues[0].Values)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func from(path string) *Source { return &Source{From: path} }

// TestConvertAllTypes covers every one of the 26 field types, good and bad values.
func TestConvertAllTypes(t *testing.T) {
	longText := strings.Repeat("я", 300)
	rec := MapRecord{
		"s": "hello", "n": json.Number("42"), "num": "1 500,5", "bad": "abc", "yes": "да", "maybe": "maybe",
		"zero": 0.0, "long": longText, "list": []any{"red", "green"}, "day": "2026-03-02", "ru_day": "02.01.2006",
		"unix": 1772446500.0, "url": "https://example.com/a?b=1", "nourl": "example.com", "phone": "8 (916) 123-45-67",
		"nophone": "позвоните мне", "email": " Petr@Example.RU ", "noemail": "petr at example", "frac": 1.5,
		"legal": map[string]any{"name": "ООО Ромашка", "vat_id": "7701234567"}, "legal_bad": map[string]any{"nam": "x"},
		"obj": map[string]any{"x": 1},
	}
	cases := []struct {
		name    string
		fs      FieldSpec
		schema  bool
		want    string // JSON of the values
		code    Code   // expected problem code instead
		warning Code
	}{
		{name: "text", fs: FieldSpec{ID: 1, Type: "text", Value: from("s")}, want: `[{"value":"hello"}]`},
		{name: "text number", fs: FieldSpec{ID: 1, Type: "text", Value: from("n")}, want: `[{"value":"42"}]`},
		{name: "text list is bad", fs: FieldSpec{ID: 1, Type: "text", Value: from("list")}, code: CodeBadValue},
		{name: "text cut", fs: FieldSpec{ID: 1, Type: "text", Value: from("long")}, want: `[{"value":"` + strings.Repeat("я", 256) + `"}]`, warning: CodeTruncated},
		{name: "text max_length", fs: FieldSpec{ID: 1, Type: "text", Value: from("s"), MaxLength: 3}, want: `[{"value":"hel"}]`, warning: CodeTruncated},
		{name: "textarea not cut", fs: FieldSpec{ID: 1, Type: "textarea", Value: from("long")}, want: `[{"value":"` + longText + `"}]`},
		{name: "streetaddress", fs: FieldSpec{ID: 1, Type: "streetaddress", Value: &Source{Const: "ул. Ленина, 1"}}, want: `[{"value":"ул. Ленина, 1"}]`},
		{name: "tracking_data", fs: FieldSpec{ID: 1, Type: "tracking_data", Value: &Source{Const: "utm_source=tg"}}, want: `[{"value":"utm_source=tg"}]`},
		{name: "org_legal_name", fs: FieldSpec{ID: 1, Type: "org_legal_name", Value: &Source{Const: "ООО Ромашка"}}, want: `[{"value":"ООО Ромашка"}]`},
		{name: "numeric", fs: FieldSpec{ID: 1, Type: "numeric", Value: from("num")}, want: `[{"value":1500.5}]`},
		{name: "numeric int", fs: FieldSpec{ID: 1, Type: "numeric", Value: from("n")}, want: `[{"value":42}]`},
		{name: "numeric bad", fs: FieldSpec{ID: 1, Type: "numeric", Value: from("bad")}, code: CodeBadValue},
		{name: "price", fs: FieldSpec{ID: 1, Type: "price", Value: &Source{Const: json.Number("100")}}, want: `[{"value":100}]`},
		{name: "price bad", fs: FieldSpec{ID: 1, Type: "price", Value: from("s")}, code: CodeBadValue},
		{name: "monetary", fs: FieldSpec{ID: 1, Type: "monetary", Value: from("num")}, want: `[{"value":1500.5}]`},
		{name: "monetary bad", fs: FieldSpec{ID: 1, Type: "monetary", Value: from("bad")}, code: CodeBadValue},
		{name: "checkbox da", fs: FieldSpec{ID: 1, Type: "checkbox", Value: from("yes")}, want: `[{"value":true}]`},
		{name: "checkbox zero", fs: FieldSpec{ID: 1, Type: "checkbox", Value: from("zero")}, want: `[{"value":false}]`},
		{name: "checkbox bad", fs: FieldSpec{ID: 1, Type: "checkbox", Value: from("maybe")}, code: CodeBadValue},
		{name: "date", fs: FieldSpec{ID: 1, Type: "date", Value: from("day")}, want: `[{"value":1772398800}]`},
		{name: "date from datetime", fs: FieldSpec{ID: 1, Type: "date", Value: from("unix")}, want: `[{"value":1772398800}]`},
		{name: "date bad", fs: FieldSpec{ID: 1, Type: "date", Value: from("bad")}, code: CodeBadValue},
		{name: "birthday", fs: FieldSpec{ID: 1, Type: "birthday", Value: from("ru_day")}, want: `[{"value":1136149200}]`},
		{name: "birthday bad", fs: FieldSpec{ID: 1, Type: "birthday", Value: from("s")}, code: CodeBadValue},
		{name: "date_time", fs: FieldSpec{ID: 1, Type: "date_time", Value: from("unix")}, want: `[{"value":1772446500}]`},
		{name: "date_time bad", fs: FieldSpec{ID: 1, Type: "date_time", Value: from("maybe")}, code: CodeBadValue},
		{name: "url", fs: FieldSpec{ID: 1, Type: "url", Value: from("url")}, want: `[{"value":"https://example.com/a?b=1"}]`},
		{name: "url bad", fs: FieldSpec{ID: 1, Type: "url", Value: from("nourl")}, code: CodeBadValue},
		{name: "select by text unbound", fs: FieldSpec{ID: 1, Type: "select", Value: &Source{Const: "A"}}, want: `[{"value":"A"}]`},
		{name: "select by id unbound", fs: FieldSpec{ID: 1, Type: "select", Value: &Source{Const: json.Number("5")}}, want: `[{"enum_id":5}]`},
		{name: "select bad id", fs: FieldSpec{ID: 1, Type: "select", Value: from("frac")}, code: CodeBadValue},
		{name: "select bound", fs: FieldSpec{Name: "Sel", Value: &Source{Template: "{{ 'b' }}"}}, schema: true, want: `[{"enum_id":2}]`},
		{name: "select bound id", fs: FieldSpec{Name: "Sel", Value: &Source{Template: "{{ 1 }}"}}, schema: true, want: `[{"enum_id":1}]`},
		{name: "select bound missing", fs: FieldSpec{Name: "Sel", Value: from("s")}, schema: true, code: CodeEnumNotFound},
		{name: "radiobutton bound", fs: FieldSpec{Name: "Radio", Value: from("s"), Optional: true}, schema: true, code: CodeEnumNotFound},
		{name: "radiobutton ok", fs: FieldSpec{Name: "Radio", Value: &Source{Template: "{{ 'NO' }}"}}, schema: true, want: `[{"enum_id":4}]`},
		{name: "multiselect list", fs: FieldSpec{Name: "Multi", Value: from("list")}, schema: true, want: `[{"enum_id":5},{"enum_id":6}]`},
		{name: "multiselect values", fs: FieldSpec{ID: 1, Type: "multiselect", Values: []Source{{Const: json.Number("5")}, {Const: json.Number("6")}}}, want: `[{"enum_id":5},{"enum_id":6}]`},
		{name: "category nested", fs: FieldSpec{Name: "Cat", Value: &Source{Template: "{{ 'boots' }}"}}, schema: true, want: `[{"enum_id":8}]`},
		{name: "category missing", fs: FieldSpec{Name: "Cat", Value: from("s")}, schema: true, code: CodeEnumNotFound},
		{name: "multitext phone", fs: FieldSpec{Code: "PHONE", Value: from("phone")}, want: `[{"enum_code":"MOB","value":"+79161234567"}]`},
		{name: "multitext phone bound", fs: FieldSpec{Code: "PHONE", Enum: "WORK", Value: from("phone")}, schema: true, want: `[{"enum_code":"WORK","value":"+79161234567"}]`},
		{name: "multitext phone bad", fs: FieldSpec{Code: "PHONE", Value: from("nophone")}, code: CodeBadValue},
		{name: "multitext email", fs: FieldSpec{Code: "EMAIL", Value: from("email")}, want: `[{"enum_code":"WORK","value":"Petr@Example.RU"}]`},
		{name: "multitext email bad", fs: FieldSpec{Code: "EMAIL", Value: from("noemail")}, code: CodeBadValue},
		{name: "multitext other", fs: FieldSpec{ID: 9, Type: "multitext", Enum: "HOME", Value: from("s")}, want: `[{"enum_code":"HOME","value":"hello"}]`},
		{name: "smart_address", fs: FieldSpec{ID: 1, Type: "smart_address", Object: map[string]Source{"zip": {Const: "101000"}, "city": {Const: "Москва"}}},
			want: `[{"enum_code":"city","value":"Москва"},{"enum_code":"zip","value":"101000"}]`},
		{name: "legal_entity", fs: FieldSpec{ID: 1, Type: "legal_entity", Object: map[string]Source{"name": {Const: "ООО Ромашка"}, "vat_id": {Const: "7701234567"}, "entity_type": {Const: json.Number("2")}}},
			want: `[{"value":{"name":"ООО Ромашка","entity_type":2,"vat_id":"7701234567"}}]`},
		{name: "legal_entity no name", fs: FieldSpec{ID: 1, Type: "legal_entity", Object: map[string]Source{"vat_id": {Const: "1"}}}, code: CodeBadValue},
		{name: "legal_entity from record", fs: FieldSpec{ID: 1, Type: "legal_entity", Value: from("legal")}, want: `[{"value":{"name":"ООО Ромашка","vat_id":"7701234567"}}]`},
		{name: "legal_entity record bad key", fs: FieldSpec{ID: 1, Type: "legal_entity", Value: from("legal_bad")}, code: CodeBadValue},
		{name: "legal_entity record not object", fs: FieldSpec{ID: 1, Type: "legal_entity", Value: from("s")}, code: CodeBadValue},
		{name: "payer", fs: FieldSpec{ID: 1, Type: "payer", Object: map[string]Source{"name": {From: "s"}}}, want: `[{"value":{"name":"hello"}}]`},
		{name: "supplier", fs: FieldSpec{ID: 1, Type: "supplier", Object: map[string]Source{"name": {Const: "ИП Петров"}, "kpp": {Const: "770101001"}}}, want: `[{"value":{"name":"ИП Петров","kpp":"770101001"}}]`},
		{name: "linked_entity", fs: FieldSpec{ID: 1, Type: "linked_entity", Object: map[string]Source{"entity_id": {Const: json.Number("5")}, "entity_type": {Const: "contacts"}}},
			want: `[{"value":{"entity_id":5,"entity_type":"contacts"}}]`},
		{name: "linked_entity bad id", fs: FieldSpec{ID: 1, Type: "linked_entity", Object: map[string]Source{"entity_id": {From: "s"}, "entity_type": {Const: "contacts"}}}, code: CodeBadValue},
		{name: "linked_entity bad type", fs: FieldSpec{ID: 1, Type: "linked_entity", Object: map[string]Source{"entity_id": {Const: json.Number("5")}, "entity_type": {Const: "people"}}}, code: CodeBadValue},
		{name: "items", fs: FieldSpec{ID: 1, Type: "items", Objects: []map[string]Source{{"description": {Const: "Стол"}, "unit_price": {Const: "1 000"}, "quantity": {Const: json.Number("2")}}}},
			want: `[{"value":{"description":"Стол","unit_price":1000,"quantity":2}}]`},
		{name: "items discount", fs: FieldSpec{ID: 1, Type: "items", Objects: []map[string]Source{{"sku": {Const: "A1"}, "discount_value": {Const: json.Number("10")}, "discount_type": {Const: "percentage"}}}},
			want: `[{"value":{"sku":"A1","discount":{"type":"percentage","value":10}}}]`},
		{name: "items bad price", fs: FieldSpec{ID: 1, Type: "items", Objects: []map[string]Source{{"description": {Const: "Стол"}, "unit_price": {From: "bad"}}}}, code: CodeBadValue},
		{name: "items no description", fs: FieldSpec{ID: 1, Type: "items", Objects: []map[string]Source{{"quantity": {Const: json.Number("1")}}}}, code: CodeBadValue},
		{name: "chained_list", fs: FieldSpec{ID: 1, Type: "chained_list", Object: map[string]Source{"catalog_id": {Const: json.Number("3")}, "catalog_element_id": {Const: json.Number("9")}}},
			want: `[{"value":{"catalog_id":3,"catalog_element_id":9}}]`},
		{name: "chained_list missing", fs: FieldSpec{ID: 1, Type: "chained_list", Object: map[string]Source{"catalog_id": {Const: json.Number("3")}}}, code: CodeBadValue},
		{name: "file", fs: FieldSpec{ID: 1, Type: "file", Object: map[string]Source{"file_uuid": {Const: "u-1"}, "file_name": {Const: "a.pdf"}}},
			want: `[{"value":{"file_uuid":"u-1","file_name":"a.pdf"}}]`},
		{name: "file missing uuid", fs: FieldSpec{ID: 1, Type: "file", Object: map[string]Source{"file_name": {Const: "a.pdf"}}}, code: CodeBadValue},
		{name: "unknown type", fs: FieldSpec{ID: 1, Type: "hologram", Value: from("s")}, code: CodeUnknownType},
		{name: "values on one-value type", fs: FieldSpec{ID: 1, Type: "text", Values: []Source{{From: "s"}}}, code: CodeSpecInvalid},
		{name: "object on scalar type", fs: FieldSpec{ID: 1, Type: "text", Object: map[string]Source{"x": {From: "s"}}}, code: CodeSpecInvalid},
		{name: "bad object part", fs: FieldSpec{ID: 1, Type: "smart_address", Object: map[string]Source{"cty": {From: "s"}}}, code: CodeSpecInvalid},
		{name: "empty optional", fs: FieldSpec{ID: 1, Type: "text", Value: from("missing"), Optional: true}, want: "none", warning: CodeOptionalSkipped},
		{name: "empty required", fs: FieldSpec{ID: 1, Type: "text", Value: from("missing")}, code: CodeValueEmpty},
		{name: "when false", fs: FieldSpec{ID: 1, Type: "text", Value: from("s"), When: "s | eq 'other'"}, want: "none"},
		{name: "no type", fs: FieldSpec{ID: 1, Value: from("s")}, code: CodeNeedsSchema},
		{name: "by name without schema", fs: FieldSpec{Name: "Sel", Value: from("s")}, code: CodeNeedsSchema},
		{name: "enum on non-multitext", fs: FieldSpec{ID: 1, Type: "text", Enum: "MOB", Value: from("s")}, code: CodeSpecInvalid},
		{name: "unknown enum code", fs: FieldSpec{Code: "PHONE", Enum: "CELL", Value: from("phone")}, code: CodeEnumNotFound},
	}
	seen := map[amocrm.FieldType]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var schema *Schema
			if tc.schema {
				schema = typeSchema()
			}
			res, err := applyOne(t, tc.fs, schema, rec)
			if tc.code != "" {
				if err == nil {
					t.Fatalf("want problem %s, got values %s", tc.code, valuesJSON(t, res))
				}
				probs := ProblemsOf(err)
				if !probs.Has(tc.code) {
					t.Fatalf("want problem %s, got %v", tc.code, err)
				}
				for _, p := range probs {
					if p.Message.RU == "" || p.Message.EN == "" || p.Path == "" {
						t.Errorf("problem without text or path: %+v", p)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := valuesJSON(t, res); got != tc.want {
				t.Errorf("values\n got %s\nwant %s", got, tc.want)
			}
			if tc.warning != "" && !res.Warnings.Has(tc.warning) {
				t.Errorf("want warning %s, got %v", tc.warning, res.Warnings)
			}
			if tc.warning == "" && len(res.Warnings) > 0 {
				t.Errorf("unexpected warnings %v", res.Warnings)
			}
			seen[tc.fs.Type] = true
		})
	}
	for _, f := range typeSchema().LeadFields {
		seen[f.Type] = true
	}
	seen[amocrm.FieldTypeMultitext] = true
	for _, ft := range amocrm.FieldTypes() {
		if !seen[ft] {
			t.Errorf("field type %s has no passing conversion case", ft)
		}
	}
}

func TestMergeSameField(t *testing.T) {
	spec := &Spec{Lead: LeadSpec{Name: &Source{Const: "x"}}, Contact: &ContactSpec{
		Name:  &Source{Const: "c"},
		Phone: &Source{From: "phone"},
		Fields: []FieldSpec{
			{Code: "PHONE", Values: []Source{{Template: "{{ text | find_phone }}"}, {From: "phone"}}, Optional: true},
			{ID: 5, Type: "text", Value: &Source{Const: "first"}},
			{ID: 5, Type: "text", Value: &Source{Const: "second"}},
		}}}
	m := MustCompile(spec)
	res, err := m.Apply(MapRecord{"phone": "+7 916 123 45 67", "text": "или 8-903-000-00-00"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res.Lead.Contact.CustomFieldsValues)
	want := `[{"field_code":"PHONE","values":[{"enum_code":"MOB","value":"+79161234567"},{"enum_code":"MOB","value":"+79030000000"}]},{"field_id":5,"values":[{"value":"first"}]}]`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
