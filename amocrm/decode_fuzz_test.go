package amocrm

import (
	"encoding/json"
	"reflect"
	"testing"
)

var fieldValueSeeds = []string{
	`{"value":"Москва","enum_code":"city"}`,
	`{"value":"+79990000000","enum_id":"11","enum_code":"MOB"}`,
	`{"value":12.50}`, `{"value":true}`, `{"value":null,"enum_id":null}`,
	`{"value":{"name":"ООО","vat_id":"7701"}}`, `{"enum":"WORK"}`, `{"enum":7,"enum_id":8}`,
	`{"Value":"case"}`, `{"value":"a\"b\\u0041"}`, `{"value":"x","extra":[1,{"value":2}]}`,
	`{"value":1,"value":2}`, `"scalar"`, `42`, `null`, `{}`, `{"\u0076alue":"escaped key"}`,
}

// FuzzFieldValue checks the fast decoding path of FieldValue against the
// general (map) path: they must agree on every valid JSON object.
func FuzzFieldValue(f *testing.F) {
	for _, s := range fieldValueSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var fast, slow FieldValue
		errFast := fast.UnmarshalJSON(b)
		if len(b) == 0 || b[0] != '{' {
			return
		}
		errSlow := slow.unmarshalMap(b)
		if (errFast == nil) != (errSlow == nil) || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%s:\nfast %#v (%v)\nslow %#v (%v)", b, fast, errFast, slow, errSlow)
		}
	})
}

// FuzzCustomFieldValues checks the one-pass decoding of a field's values
// against the tolerant path.
func FuzzCustomFieldValues(f *testing.F) {
	for _, s := range []string{
		`{"field_id":1,"field_name":"Источник","field_code":null,"field_type":"select","values":[{"value":"Бот","enum_id":11}]}`,
		`{"field_id":"7","field_type":"ai_summary","values":[{"value":{"x":1}}]}`,
		`{"field_id":3,"field_type":"date","values":[{"value":1600000000}]}`,
		`{"field_id":3,"values":{"0":{"value":"php object"}}}`,
		`{"field_id":3,"values":"broken"}`, `{"field_id":3,"values":null}`, `{"field_id":3,"values":[]}`,
		`{"field_id":true,"field_code":12,"values":["bare",1]}`, `[]`, `{"field_id":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var fast, slow CustomFieldValues
		errFast := fast.UnmarshalJSON(b)
		errSlow := slow.unmarshalTolerant(b)
		if (errFast == nil) != (errSlow == nil) || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%s:\nfast %#v (%v)\nslow %#v (%v)", b, fast, errFast, slow, errSlow)
		}
	})
}

// FuzzDecodeValue checks decodeValue against a json.Decoder with UseNumber.
func FuzzDecodeValue(f *testing.F) {
	for _, s := range []string{`"a"`, `"a\nb"`, `"\u00e9"`, "\"\xff\"", `-1.5e3`, `0`, `true`, `false`, `null`, `[1,"x"]`, `{"a":1}`, ` 7 `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		got, err := decodeValue(b)
		var want any
		wantErr := decodeAny(b, &want)
		if (err == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %#v (%v), want %#v (%v)", b, got, err, want, wantErr)
		}
	})
}

// FuzzDecodeLeadsPage feeds arbitrary bodies to the lenient list decoder:
// it may fail, never panic.
func FuzzDecodeLeadsPage(f *testing.F) {
	f.Add(leadsPage(2))
	f.Add([]byte(`{"_page":"1","_embedded":{"leads":{"0":{"id":"5","custom_fields_values":null,"price":"10"}}}}`))
	f.Add([]byte(`{"_embedded":[]}`))
	f.Add([]byte(`{"_embedded":{"leads":[{"id":1,"custom_fields_values":[{"field_id":1,"values":[{"value":"x","extra":1}]}],"_embedded":{"tags":false}}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		env := pageEnvelope[*Lead]{Embedded: embeddedItems[*Lead]{key: "leads"}}
		if err := unmarshalLenient(b, &env); err != nil {
			return
		}
		for _, l := range env.Embedded.items {
			if l != nil {
				for _, cf := range l.CustomFieldsValues {
					_ = cf.First().Text()
				}
			}
		}
	})
}
