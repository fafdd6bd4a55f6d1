package amocrmtest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Validation error codes. NotSupportedChoice and InvalidType are amoCRM's own; the
// others are this fake's choice where amoCRM's code is not documented.
const (
	CodeNotSupportedChoice = "NotSupportedChoice" // unknown id, code, enum, pipeline, status or user
	CodeInvalidType        = "InvalidType"        // a value of the wrong JSON type
	CodeFieldRequired      = "FieldRequired"      // a field required by the target status is empty
	CodeCountMaxLimit      = "CountMaxLimit"      // too many entities or values in one request
	CodeNotBlank           = "NotBlank"           // a required parameter is missing
)

// item is one object of a request body being validated. Errors collect per item
// so they can be reported under the item's request_id.
type item struct {
	m      map[string]json.RawMessage
	prefix string
	errs   *[]vError
}

func newItem(raw json.RawMessage, prefix string, errs *[]vError) (*item, bool) {
	it := &item{prefix: prefix, errs: errs}
	if err := json.Unmarshal(raw, &it.m); err != nil || it.m == nil {
		it.add(CodeInvalidType, "", "This value should be of type object.")
		return it, false
	}
	return it, true
}

func (it *item) add(code, path, detail string) {
	p := it.prefix + path
	p = strings.TrimSuffix(p, ".")
	*it.errs = append(*it.errs, vError{Code: code, Path: p, Detail: detail})
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// raw returns the value of key unless it is absent or null.
func (it *item) raw(key string) (json.RawMessage, bool) {
	v, ok := it.m[key]
	if !ok || isNull(v) {
		return nil, false
	}
	return v, true
}

func parseInt(raw json.RawMessage) (int64, bool) {
	s := string(bytes.TrimSpace(raw))
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func (it *item) int(key string) (int64, bool) {
	raw, ok := it.raw(key)
	if !ok {
		return 0, false
	}
	n, ok := parseInt(raw)
	if !ok {
		it.add(CodeInvalidType, key, "This value should be of type int.")
		return 0, false
	}
	return n, true
}

func parseString(raw json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func (it *item) str(key string) (string, bool) {
	raw, ok := it.raw(key)
	if !ok {
		return "", false
	}
	s, ok := parseString(raw)
	if !ok {
		it.add(CodeInvalidType, key, "This value should be of type string.")
		return "", false
	}
	return s, true
}

func (it *item) bool(key string) (bool, bool) {
	raw, ok := it.raw(key)
	if !ok {
		return false, false
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		it.add(CodeInvalidType, key, "This value should be of type bool.")
		return false, false
	}
	return b, true
}

// array decodes key as an array of raw values.
func (it *item) array(key string) ([]json.RawMessage, bool) {
	raw, ok := it.raw(key)
	if !ok {
		return nil, false
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err != nil {
		it.add(CodeInvalidType, key, "This value should be of type array.")
		return nil, false
	}
	return arr, true
}

// sub returns the object under key as an item with a longer path prefix.
func (it *item) sub(key string) (*item, bool) {
	raw, ok := it.raw(key)
	if !ok {
		return nil, false
	}
	return newItem(raw, it.prefix+key+".", it.errs)
}

// requestID returns the item's request_id as a string, or def.
func (it *item) requestID(def string) string {
	raw, ok := it.raw("request_id")
	if !ok {
		return def
	}
	if s, ok := parseString(raw); ok {
		return s
	}
	if n, ok := parseInt(raw); ok {
		return strconv.FormatInt(n, 10)
	}
	return def
}

// --- custom field values ---------------------------------------------------

// applyCF applies custom_fields_values input (raw, at path) to cur and returns the
// new values. Errors go to it.
func (s *Server) applyCF(entity string, cur []FieldValues, raw json.RawMessage, it *item, path string) []FieldValues {
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err != nil {
		it.add(CodeInvalidType, path, "This value should be of type array.")
		return cur
	}
	out := cloneFieldValues(cur)
	for i, fraw := range arr {
		fp := path + "." + strconv.Itoa(i) + "."
		fi, ok := newItem(fraw, it.prefix+fp, it.errs)
		if !ok {
			continue
		}
		var f *CustomField
		if id, ok := fi.int("field_id"); ok {
			if f = s.st.field(entity, id); f == nil {
				fi.add(CodeNotSupportedChoice, "field_id", "The value you selected is not a valid choice.")
				continue
			}
		} else if code, ok := fi.str("field_code"); ok {
			if f = s.st.fieldByCode(entity, code); f == nil {
				fi.add(CodeNotSupportedChoice, "field_code", "The value you selected is not a valid choice.")
				continue
			}
		} else {
			if _, bad := fi.m["field_id"]; !bad {
				fi.add(CodeNotBlank, "field_id", "This value should not be blank.")
			}
			continue
		}
		vals, present := fi.m["values"]
		var values []FieldValue
		if present && !isNull(vals) {
			var varr []json.RawMessage
			if err := json.Unmarshal(vals, &varr); err != nil {
				fi.add(CodeInvalidType, "values", "This value should be of type array.")
				continue
			}
			values = s.cfValues(f, varr, fi)
		} else if !present {
			fi.add(CodeNotBlank, "values", "This value should not be blank.")
			continue
		}
		// Replace (or clear) the field's values.
		idx := -1
		for j := range out {
			if out[j].FieldID == f.ID {
				idx = j
			}
		}
		switch {
		case len(values) == 0 && idx >= 0:
			out = append(out[:idx], out[idx+1:]...)
		case len(values) == 0:
		case idx >= 0:
			out[idx].Values = values
		default:
			out = append(out, FieldValues{FieldID: f.ID, FieldName: f.Name, FieldCode: f.Code, FieldType: f.Type, Values: values})
		}
	}
	return out
}

func (s *Server) cfValues(f *CustomField, varr []json.RawMessage, fi *item) []FieldValue {
	var out []FieldValue
	single := f.Type == FieldSelect || f.Type == FieldRadiobutton || f.Type == FieldCheckbox ||
		f.Type == FieldNumeric || f.Type == FieldDate || f.Type == FieldDateTime || f.Type == FieldBirthday
	if single && len(varr) > 1 {
		fi.add(CodeCountMaxLimit, "values", "This collection should contain 1 element or less.")
		return nil
	}
	for j, vraw := range varr {
		vi, ok := newItem(vraw, fi.prefix+"values."+strconv.Itoa(j)+".", fi.errs)
		if !ok {
			continue
		}
		if v, ok := s.cfValue(f, vi); ok {
			out = append(out, v)
		}
	}
	return out
}

func enumByID(f *CustomField, id int64) *Enum {
	for i := range f.Enums {
		if f.Enums[i].ID == id {
			return &f.Enums[i]
		}
	}
	return nil
}

func enumByValue(f *CustomField, v string) *Enum {
	for i := range f.Enums {
		if strings.EqualFold(f.Enums[i].Value, v) {
			return &f.Enums[i]
		}
	}
	return nil
}

var dateLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02", "02.01.2006"}

// cfValue validates one value item against the field type.
func (s *Server) cfValue(f *CustomField, vi *item) (FieldValue, bool) {
	raw, has := vi.raw("value")
	switch f.Type {
	case FieldText, FieldTextarea, FieldURL, FieldStreetAddress:
		if !has {
			vi.add(CodeNotBlank, "value", "This value should not be blank.")
			return FieldValue{}, false
		}
		if str, ok := parseString(raw); ok {
			return FieldValue{Value: str}, true
		}
		if _, err := strconv.ParseFloat(string(raw), 64); err == nil {
			return FieldValue{Value: string(raw)}, true
		}
		vi.add(CodeInvalidType, "value", "This value should be of type string.")
	case FieldNumeric, FieldPrice, FieldMonetary:
		if !has {
			vi.add(CodeNotBlank, "value", "This value should not be blank.")
			return FieldValue{}, false
		}
		str, isStr := parseString(raw)
		if !isStr {
			str = string(raw)
		}
		str = strings.TrimSpace(str)
		if _, err := strconv.ParseFloat(str, 64); err != nil || str == "" {
			vi.add(CodeInvalidType, "value", "This value should be of type numeric.")
			return FieldValue{}, false
		}
		return FieldValue{Value: str}, true
	case FieldCheckbox:
		var b bool
		if !has || json.Unmarshal(raw, &b) != nil {
			vi.add(CodeInvalidType, "value", "This value should be of type bool.")
			return FieldValue{}, false
		}
		return FieldValue{Value: b}, true
	case FieldDate, FieldDateTime, FieldBirthday:
		if !has {
			vi.add(CodeNotBlank, "value", "This value should not be blank.")
			return FieldValue{}, false
		}
		if n, ok := parseInt(raw); ok {
			return FieldValue{Value: n}, true
		}
		if str, ok := parseString(raw); ok {
			if n, err := strconv.ParseInt(str, 10, 64); err == nil {
				return FieldValue{Value: n}, true
			}
			for _, l := range dateLayouts {
				if t, err := time.Parse(l, str); err == nil {
					return FieldValue{Value: t.Unix()}, true
				}
			}
		}
		vi.add(CodeInvalidType, "value", "This value should be of type int.")
	case FieldSelect, FieldMultiselect, FieldRadiobutton, FieldCategory:
		if id, ok := vi.int("enum_id"); ok {
			e := enumByID(f, id)
			if e == nil {
				vi.add(CodeNotSupportedChoice, "enum_id", "The value you selected is not a valid choice.")
				return FieldValue{}, false
			}
			return FieldValue{Value: e.Value, EnumID: e.ID}, true
		}
		if _, bad := vi.m["enum_id"]; bad && !isNull(vi.m["enum_id"]) {
			return FieldValue{}, false // InvalidType already reported
		}
		if !has {
			vi.add(CodeNotBlank, "enum_id", "This value should not be blank.")
			return FieldValue{}, false
		}
		str, ok := parseString(raw)
		if !ok {
			vi.add(CodeInvalidType, "value", "This value should be of type string.")
			return FieldValue{}, false
		}
		e := enumByValue(f, str)
		if e == nil {
			vi.add(CodeNotSupportedChoice, "value", "The value you selected is not a valid choice.")
			return FieldValue{}, false
		}
		return FieldValue{Value: e.Value, EnumID: e.ID}, true
	case FieldMultitext:
		if !has {
			vi.add(CodeNotBlank, "value", "This value should not be blank.")
			return FieldValue{}, false
		}
		str, ok := parseString(raw)
		if !ok {
			if _, err := strconv.ParseFloat(string(raw), 64); err != nil {
				vi.add(CodeInvalidType, "value", "This value should be of type string.")
				return FieldValue{}, false
			}
			str = string(raw)
		}
		var e *Enum
		if id, ok := vi.int("enum_id"); ok {
			if e = enumByID(f, id); e == nil {
				vi.add(CodeNotSupportedChoice, "enum_id", "The value you selected is not a valid choice.")
				return FieldValue{}, false
			}
		} else if code, ok := vi.str("enum_code"); ok {
			if e = enumByValue(f, code); e == nil {
				vi.add(CodeNotSupportedChoice, "enum_code", "The value you selected is not a valid choice.")
				return FieldValue{}, false
			}
		} else if len(f.Enums) > 0 {
			e = &f.Enums[0]
		}
		v := FieldValue{Value: str}
		if e != nil {
			v.EnumID, v.EnumCode = e.ID, e.Value
		}
		return v, true
	default:
		// Composite and unknown types are stored as given.
		var v any
		if has {
			_ = json.Unmarshal(raw, &v)
		} else {
			m := map[string]any{}
			for k, r := range vi.m {
				var x any
				_ = json.Unmarshal(r, &x)
				m[k] = x
			}
			v = m
		}
		out := FieldValue{Value: v}
		if id, ok := vi.int("enum_id"); ok {
			out.EnumID = id
		}
		if code, ok := vi.str("enum_code"); ok {
			out.EnumCode = code
		}
		return out, true
	}
	return FieldValue{}, false
}

// digits returns the decimal digits of s.
func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// phoneKey normalises a phone number for duplicate detection: its last ten
// digits, so "+7 (912) 345-67-89" and "89123456789" match.
func phoneKey(s string) string {
	d := digits(s)
	if len(d) > 10 {
		d = d[len(d)-10:]
	}
	return d
}

// contactKeys returns the phone and e-mail keys of a contact's values.
func contactKeys(cf []FieldValues) []string {
	var out []string
	for _, fv := range cf {
		for _, v := range fv.Values {
			str, _ := v.Value.(string)
			switch strings.ToUpper(fv.FieldCode) {
			case "PHONE":
				if k := phoneKey(str); len(k) >= 5 {
					out = append(out, "p:"+k)
				}
			case "EMAIL":
				if k := strings.ToLower(strings.TrimSpace(str)); k != "" {
					out = append(out, "e:"+k)
				}
			}
		}
	}
	return out
}
