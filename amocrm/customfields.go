package amocrm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldType is the type of an amoCRM custom field ("text", "select", ...).
// New types appear without notice; a FieldType that is not one of the
// constants below is still decoded (see FieldType.Known and
// CustomFieldValues.Raw).
type FieldType string

// The custom field types known to amoCRM API v4 (26, the official SDK's list).
const (
	FieldTypeText          FieldType = "text"
	FieldTypeNumeric       FieldType = "numeric"
	FieldTypeCheckbox      FieldType = "checkbox"
	FieldTypeSelect        FieldType = "select"
	FieldTypeMultiselect   FieldType = "multiselect"
	FieldTypeMultitext     FieldType = "multitext"
	FieldTypeDate          FieldType = "date"
	FieldTypeURL           FieldType = "url"
	FieldTypeTextarea      FieldType = "textarea"
	FieldTypeRadiobutton   FieldType = "radiobutton"
	FieldTypeStreetAddress FieldType = "streetaddress"
	FieldTypeSmartAddress  FieldType = "smart_address"
	FieldTypeBirthday      FieldType = "birthday"
	FieldTypeLegalEntity   FieldType = "legal_entity"
	FieldTypeDateTime      FieldType = "date_time"
	FieldTypeItems         FieldType = "items"
	FieldTypeCategory      FieldType = "category"
	FieldTypePrice         FieldType = "price"
	FieldTypeTrackingData  FieldType = "tracking_data"
	FieldTypeLinkedEntity  FieldType = "linked_entity"
	FieldTypeOrgLegalName  FieldType = "org_legal_name"
	FieldTypeMonetary      FieldType = "monetary"
	FieldTypeChainedList   FieldType = "chained_list"
	FieldTypeFile          FieldType = "file"
	FieldTypePayer         FieldType = "payer"
	FieldTypeSupplier      FieldType = "supplier"
)

// FieldTypes returns the 26 known field types in a stable order.
func FieldTypes() []FieldType {
	return []FieldType{
		FieldTypeText, FieldTypeNumeric, FieldTypeCheckbox, FieldTypeSelect, FieldTypeMultiselect,
		FieldTypeMultitext, FieldTypeDate, FieldTypeURL, FieldTypeTextarea, FieldTypeRadiobutton,
		FieldTypeStreetAddress, FieldTypeSmartAddress, FieldTypeBirthday, FieldTypeLegalEntity,
		FieldTypeDateTime, FieldTypeItems, FieldTypeCategory, FieldTypePrice, FieldTypeTrackingData,
		FieldTypeLinkedEntity, FieldTypeOrgLegalName, FieldTypeMonetary, FieldTypeChainedList,
		FieldTypeFile, FieldTypePayer, FieldTypeSupplier,
	}
}

// Known reports whether t is one of the 26 FieldType constants.
func (t FieldType) Known() bool {
	switch t {
	case FieldTypeText, FieldTypeNumeric, FieldTypeCheckbox, FieldTypeSelect, FieldTypeMultiselect,
		FieldTypeMultitext, FieldTypeDate, FieldTypeURL, FieldTypeTextarea, FieldTypeRadiobutton,
		FieldTypeStreetAddress, FieldTypeSmartAddress, FieldTypeBirthday, FieldTypeLegalEntity,
		FieldTypeDateTime, FieldTypeItems, FieldTypeCategory, FieldTypePrice, FieldTypeTrackingData,
		FieldTypeLinkedEntity, FieldTypeOrgLegalName, FieldTypeMonetary, FieldTypeChainedList,
		FieldTypeFile, FieldTypePayer, FieldTypeSupplier:
		return true
	}
	return false
}

// HasEnums reports whether values of t refer to the field's Enums
// (select, multiselect, radiobutton, category, and multitext whose enum_code
// is WORK/MOB/...).
func (t FieldType) HasEnums() bool {
	switch t {
	case FieldTypeSelect, FieldTypeMultiselect, FieldTypeRadiobutton, FieldTypeMultitext, FieldTypeCategory:
		return true
	}
	return false
}

// IsMultiple reports whether a field of type t may hold several values
// (multiselect, multitext, items, chained_list, file).
func (t FieldType) IsMultiple() bool {
	switch t {
	case FieldTypeMultiselect, FieldTypeMultitext, FieldTypeItems, FieldTypeChainedList, FieldTypeFile, FieldTypeCategory:
		return true
	}
	return false
}

// IsDate reports whether values of t are Unix timestamps (date, date_time, birthday).
func (t FieldType) IsDate() bool {
	return t == FieldTypeDate || t == FieldTypeDateTime || t == FieldTypeBirthday
}

// EntityType names an amoCRM entity collection as used in URLs and custom
// field endpoints.
type EntityType string

// Entity types that own custom fields, notes, tags and links.
const (
	EntityLeads     EntityType = "leads"
	EntityContacts  EntityType = "contacts"
	EntityCompanies EntityType = "companies"
	EntityCustomers EntityType = "customers"
	EntitySegments  EntityType = "customers/segments"
	EntityCatalogs  EntityType = "catalog_elements"
)

// CustomField is the schema of one custom field, as returned by
// GET /api/v4/{entity}/custom_fields.
type CustomField struct {
	ID               int              `json:"id,omitempty"`
	Name             string           `json:"name"`
	Code             string           `json:"code,omitempty"`
	Type             FieldType        `json:"type"`
	AccountID        int              `json:"account_id,omitempty"`
	Sort             int              `json:"sort,omitempty"`
	GroupID          string           `json:"group_id,omitempty"`
	EntityType       EntityType       `json:"entity_type,omitempty"`
	IsAPIOnly        bool             `json:"is_api_only,omitempty"`
	IsPredefined     bool             `json:"is_predefined,omitempty"`
	IsDeletable      bool             `json:"is_deletable,omitempty"`
	IsVisible        bool             `json:"is_visible,omitempty"`
	IsRequired       bool             `json:"is_required,omitempty"`
	IsComputed       bool             `json:"is_computed,omitempty"`
	Enums            []Enum           `json:"enums,omitempty"`
	RequiredStatuses []RequiredStatus `json:"required_statuses,omitempty"`
	// Nested holds the tree of a category (nested list) field.
	Nested []NestedEnum `json:"nested,omitempty"`
	// ChainedLists holds the catalogs of a chained_list field.
	ChainedLists []ChainedList `json:"chained_lists,omitempty"`
	// Currency is set for monetary fields (ISO 4217).
	Currency         string          `json:"currency,omitempty"`
	CatalogID        int             `json:"catalog_id,omitempty"`
	Remind           string          `json:"remind,omitempty"`
	SearchIn         string          `json:"search_in,omitempty"`
	TrackingCallback string          `json:"tracking_callback,omitempty"`
	Settings         json.RawMessage `json:"settings,omitempty"`
	RequestID        string          `json:"request_id,omitempty"`
}

// UnmarshalJSON decodes a custom field leniently: numeric ids may be strings,
// remind/group_id may be null, and settings of any shape are kept raw.
func (f *CustomField) UnmarshalJSON(b []byte) error {
	type plain CustomField
	var aux struct {
		plain
		ID        flexInt         `json:"id"`
		AccountID flexInt         `json:"account_id"`
		Sort      flexInt         `json:"sort"`
		CatalogID flexInt         `json:"catalog_id"`
		GroupID   json.RawMessage `json:"group_id"`
		Remind    json.RawMessage `json:"remind"`
		SearchIn  json.RawMessage `json:"search_in"`
		Settings  json.RawMessage `json:"settings"`
		Currency  json.RawMessage `json:"currency"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*f = CustomField(aux.plain)
	f.ID, f.AccountID, f.Sort, f.CatalogID = int(aux.ID), int(aux.AccountID), int(aux.Sort), int(aux.CatalogID)
	f.GroupID = rawScalarString(aux.GroupID)
	f.Remind = rawScalarString(aux.Remind)
	f.SearchIn = rawScalarString(aux.SearchIn)
	f.Currency = rawScalarString(aux.Currency)
	if len(aux.Settings) > 0 && string(aux.Settings) != "null" {
		f.Settings = append(json.RawMessage(nil), aux.Settings...)
	}
	return nil
}

// EnumByID returns the enum with the given id, or nil.
func (f *CustomField) EnumByID(id int) *Enum {
	for i := range f.Enums {
		if f.Enums[i].ID == id {
			return &f.Enums[i]
		}
	}
	return nil
}

// EnumByValue returns the enum whose Value equals v (case-insensitively, as
// amoCRM matches), or nil. For PHONE/EMAIL the value is the code (WORK, MOB...).
func (f *CustomField) EnumByValue(v string) *Enum {
	for i := range f.Enums {
		if strings.EqualFold(f.Enums[i].Value, v) {
			return &f.Enums[i]
		}
	}
	return nil
}

// RequiredIn reports whether the field must be filled when a lead is put
// into the given pipeline status.
func (f *CustomField) RequiredIn(pipelineID, statusID int) bool {
	for _, rs := range f.RequiredStatuses {
		if rs.PipelineID == pipelineID && rs.StatusID == statusID {
			return true
		}
	}
	return false
}

// Enum is one option of a select/multiselect/radiobutton/multitext field.
// For the predefined PHONE and EMAIL fields Value holds the code
// (WORK, WORKDD, MOB, FAX, HOME, OTHER; EMAIL: WORK, PRIV, OTHER).
type Enum struct {
	ID    int    `json:"id,omitempty"`
	Value string `json:"value"`
	Sort  int    `json:"sort,omitempty"`
	Code  string `json:"code,omitempty"`
}

// UnmarshalJSON decodes an enum leniently (ids and sort may be strings).
func (e *Enum) UnmarshalJSON(b []byte) error {
	var aux struct {
		ID    flexInt         `json:"id"`
		Value json.RawMessage `json:"value"`
		Sort  flexInt         `json:"sort"`
		Code  json.RawMessage `json:"code"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*e = Enum{ID: int(aux.ID), Value: rawScalarString(aux.Value), Sort: int(aux.Sort), Code: rawScalarString(aux.Code)}
	return nil
}

// NestedEnum is a node of a category (nested list) field.
type NestedEnum struct {
	ID       int    `json:"id,omitempty"`
	ParentID int    `json:"parent_id,omitempty"`
	Value    string `json:"value"`
	Sort     int    `json:"sort,omitempty"`
}

// ChainedList is one catalog link of a chained_list field.
type ChainedList struct {
	Title           string `json:"title,omitempty"`
	CatalogID       int    `json:"catalog_id"`
	ParentCatalogID int    `json:"parent_catalog_id,omitempty"`
}

// RequiredStatus is a pipeline stage in which a field is required.
type RequiredStatus struct {
	PipelineID int `json:"pipeline_id"`
	StatusID   int `json:"status_id"`
}

// Predefined field codes of contacts and companies.
const (
	FieldCodePhone    = "PHONE"
	FieldCodeEmail    = "EMAIL"
	FieldCodePosition = "POSITION"
	FieldCodeWeb      = "WEB"
	FieldCodeAddress  = "ADDRESS"
)

// Enum codes of the PHONE and EMAIL multitext fields.
const (
	EnumCodeWork   = "WORK"
	EnumCodeWorkDD = "WORKDD"
	EnumCodeMobile = "MOB"
	EnumCodeFax    = "FAX"
	EnumCodeHome   = "HOME"
	EnumCodeOther  = "OTHER"
	EnumCodePriv   = "PRIV"
)

// CustomFieldsValues is the custom_fields_values list of an entity. A null
// in JSON decodes to nil; nil is omitted when writing.
type CustomFieldsValues []CustomFieldValues

// ByID returns the values of field id, or nil.
func (vs CustomFieldsValues) ByID(id int) *CustomFieldValues {
	for i := range vs {
		if vs[i].FieldID == id {
			return &vs[i]
		}
	}
	return nil
}

// ByCode returns the values of the field with the given code (PHONE, EMAIL,
// ...), compared case-insensitively, or nil.
func (vs CustomFieldsValues) ByCode(code string) *CustomFieldValues {
	for i := range vs {
		if vs[i].FieldCode != "" && strings.EqualFold(vs[i].FieldCode, code) {
			return &vs[i]
		}
	}
	return nil
}

// CustomFieldValues is the value of one custom field on an entity.
//
// Reading, amoCRM fills FieldID, FieldName, FieldCode, FieldType and Values.
// Writing, set FieldID or FieldCode (codes work for PHONE/EMAIL without
// knowing ids) and Values; FieldName and FieldType are ignored by amoCRM.
// A nil Values is sent as "values": null, which CLEARS the field (see
// ClearField); to leave a field unchanged, leave it out of the list.
type CustomFieldValues struct {
	FieldID   int          `json:"field_id,omitempty"`
	FieldCode string       `json:"field_code,omitempty"`
	FieldName string       `json:"field_name,omitempty"`
	FieldType FieldType    `json:"field_type,omitempty"`
	Values    []FieldValue `json:"values"`
	// Raw is the original JSON of "values" when the field type is not one of
	// the known FieldType constants, or when the values did not have the
	// expected shape. It is never sent.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes leniently: field_id may be a string, an unknown
// field_type keeps its values in Raw, and a malformed values list is kept in
// Raw instead of failing the whole entity.
//
// The common case (well-formed values) is decoded in one pass; anything the
// fast pass rejects is decoded again by the tolerant path.
func (cv *CustomFieldValues) UnmarshalJSON(b []byte) error {
	var aux struct {
		FieldID   flexInt      `json:"field_id"`
		FieldCode flexString   `json:"field_code"`
		FieldName flexString   `json:"field_name"`
		FieldType flexString   `json:"field_type"`
		Values    []FieldValue `json:"values"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return cv.unmarshalTolerant(b)
	}
	*cv = CustomFieldValues{
		FieldID:   int(aux.FieldID),
		FieldCode: string(aux.FieldCode),
		FieldName: string(aux.FieldName),
		FieldType: FieldType(aux.FieldType),
		Values:    aux.Values,
	}
	if aux.Values != nil && cv.FieldType != "" && !cv.FieldType.Known() {
		var raw struct {
			Values json.RawMessage `json:"values"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		cv.Raw = append(json.RawMessage(nil), bytes.TrimSpace(raw.Values)...)
	}
	return nil
}

// unmarshalTolerant is the slow path of UnmarshalJSON: values that do not
// decode are kept in Raw.
func (cv *CustomFieldValues) unmarshalTolerant(b []byte) error {
	var aux struct {
		FieldID   flexInt         `json:"field_id"`
		FieldCode json.RawMessage `json:"field_code"`
		FieldName json.RawMessage `json:"field_name"`
		FieldType json.RawMessage `json:"field_type"`
		Values    json.RawMessage `json:"values"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*cv = CustomFieldValues{
		FieldID:   int(aux.FieldID),
		FieldCode: rawScalarString(aux.FieldCode),
		FieldName: rawScalarString(aux.FieldName),
		FieldType: FieldType(rawScalarString(aux.FieldType)),
	}
	vals := bytes.TrimSpace(aux.Values)
	if len(vals) == 0 || string(vals) == "null" {
		return nil
	}
	if err := json.Unmarshal(vals, &cv.Values); err != nil {
		cv.Values = nil
		cv.Raw = append(json.RawMessage(nil), vals...)
		return nil
	}
	if cv.FieldType != "" && !cv.FieldType.Known() {
		cv.Raw = append(json.RawMessage(nil), vals...)
	}
	return nil
}

// flexString decodes any JSON scalar as text (see rawScalarString).
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	*s = flexString(rawScalarString(b))
	return nil
}

// MarshalJSON writes field_id or field_code (field_id wins when both are set,
// name and type are omitted) and "values" (null when nil: clears the field).
func (cv CustomFieldValues) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	switch {
	case cv.FieldID != 0:
		buf.WriteString(`"field_id":`)
		buf.WriteString(strconv.Itoa(cv.FieldID))
	case cv.FieldCode != "":
		buf.WriteString(`"field_code":`)
		code, _ := json.Marshal(cv.FieldCode)
		buf.Write(code)
	default:
		return nil, errors.New("amocrm: custom field value without field_id or field_code")
	}
	buf.WriteString(`,"values":`)
	if cv.Values == nil {
		buf.WriteString("null")
	} else {
		vals, err := json.Marshal(cv.Values)
		if err != nil {
			return nil, err
		}
		buf.Write(vals)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// First returns the first value, or the zero FieldValue when there is none.
func (cv *CustomFieldValues) First() FieldValue {
	if cv == nil || len(cv.Values) == 0 {
		return FieldValue{}
	}
	return cv.Values[0]
}

// SetField returns a CustomFieldValues that writes values into field id.
func SetField(id int, values ...FieldValue) CustomFieldValues {
	if values == nil {
		values = []FieldValue{}
	}
	return CustomFieldValues{FieldID: id, Values: values}
}

// SetFieldCode returns a CustomFieldValues that writes values into the field
// with the given code (for example FieldCodePhone).
func SetFieldCode(code string, values ...FieldValue) CustomFieldValues {
	if values == nil {
		values = []FieldValue{}
	}
	return CustomFieldValues{FieldCode: code, Values: values}
}

// ClearField returns a CustomFieldValues that clears field id ("values": null).
func ClearField(id int) CustomFieldValues { return CustomFieldValues{FieldID: id} }

// FieldValue is one item of a custom field's "values".
//
// Value holds the decoded "value": a string, a json.Number (numbers are kept
// exact), a bool, a map[string]any (legal_entity, linked_entity, file, items,
// chained_list, payer, supplier) or nil. Use the accessors (Text, Int, Float,
// Bool, Time, Decode) rather than type switches: amoCRM sends numbers as
// strings and dates as ints or strings.
//
// Writing, set Value to any JSON-encodable value, or EnumID/EnumCode; the
// constructors (TextValue, EnumValue, MultitextValue, DateValue, ...) build
// the right shape for each field type.
type FieldValue struct {
	Value    any    `json:"value,omitempty"`
	EnumID   int    `json:"enum_id,omitempty"`
	EnumCode string `json:"enum_code,omitempty"`
	// Subtype is kept when a value item carries a "subtype" key (seen in
	// some payloads); smart_address parts use EnumCode (see AddressValue).
	Subtype string `json:"subtype,omitempty"`
	// Extra keeps any other keys of the value item (raw), e.g. for field types
	// this package does not know yet. It is sent back when writing.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a value item leniently: enum_id may be a string,
// numbers stay json.Number, unknown keys go to Extra.
func (v *FieldValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*v = FieldValue{}
		return nil
	}
	if b[0] != '{' {
		// A bare scalar in "values" (seen in webhooks and old payloads).
		*v = FieldValue{}
		val, err := decodeValue(b)
		v.Value = val
		return err
	}
	if !fieldValueKeysOnly(b) {
		return v.unmarshalMap(b)
	}
	// Fast path: only the known keys, decoded without a map.
	var aux struct {
		Value    json.RawMessage `json:"value"`
		EnumID   json.RawMessage `json:"enum_id"`
		Enum     json.RawMessage `json:"enum"`
		EnumCode json.RawMessage `json:"enum_code"`
		Subtype  json.RawMessage `json:"subtype"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*v = FieldValue{}
	return v.setKnown(aux.Value, aux.Enum, aux.EnumID, aux.EnumCode, aux.Subtype)
}

// setKnown applies the known keys (nil when absent); "enum_id" wins over the
// legacy "enum".
func (v *FieldValue) setKnown(value, enum, enumID, enumCode, subtype json.RawMessage) error {
	if value != nil {
		val, err := decodeValue(value)
		if err != nil {
			return err
		}
		v.Value = val
	}
	for _, raw := range []json.RawMessage{enum, enumID} {
		if raw == nil {
			continue
		}
		n, err := parseFlexInt(raw)
		if err != nil {
			// An enum given by name in "enum" (legacy) is kept as text.
			v.EnumCode = rawScalarString(raw)
			continue
		}
		v.EnumID = n
	}
	if enumCode != nil {
		v.EnumCode = rawScalarString(enumCode)
	}
	if subtype != nil {
		v.Subtype = rawScalarString(subtype)
	}
	return nil
}

// unmarshalMap is the general path of UnmarshalJSON, for items with keys
// other than the known ones (kept in Extra).
func (v *FieldValue) unmarshalMap(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*v = FieldValue{}
	for k, raw := range m {
		switch k {
		case "value", "enum_id", "enum", "enum_code", "subtype":
		default:
			if v.Extra == nil {
				v.Extra = make(map[string]json.RawMessage, 1)
			}
			v.Extra[k] = append(json.RawMessage(nil), raw...)
		}
	}
	return v.setKnown(m["value"], m["enum"], m["enum_id"], m["enum_code"], m["subtype"])
}

// fieldValueKeysOnly reports whether the JSON object b (already validated)
// has no top-level keys other than FieldValue's known ones, spelled exactly
// (encoding/json matches struct fields case-insensitively; such keys belong
// in Extra).
func fieldValueKeysOnly(b []byte) bool {
	depth := 0
	expectKey := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			depth++
			expectKey = c == '{' && depth == 1
		case '}', ']':
			depth--
		case ',':
			expectKey = depth == 1
		case '"':
			j := i + 1
			escaped := false
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					escaped = true
					j++
				}
				j++
			}
			if j >= len(b) {
				return false
			}
			if depth == 1 && expectKey {
				if escaped {
					return false
				}
				switch string(b[i+1 : j]) {
				case "value", "enum_id", "enum", "enum_code", "subtype":
				default:
					return false
				}
				expectKey = false
			}
			i = j
		}
	}
	return true
}

// MarshalJSON writes only the keys that are set; a non-nil Value is always
// written (so false and 0 are sent).
func (v FieldValue) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, 4+len(v.Extra))
	for k, raw := range v.Extra {
		m[k] = raw
	}
	if v.Value != nil {
		m["value"] = v.Value
	}
	if v.EnumID != 0 {
		m["enum_id"] = v.EnumID
	}
	if v.EnumCode != "" {
		m["enum_code"] = v.EnumCode
	}
	if v.Subtype != "" {
		m["subtype"] = v.Subtype
	}
	return json.Marshal(m)
}

// decodeValue decodes a JSON value like decodeAny, without a json.Decoder
// for the common scalars: strings without escapes, numbers (as
// json.Number), booleans and null.
func decodeValue(raw []byte) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, errors.New("amocrm: empty JSON value")
	}
	switch c := raw[0]; {
	case c == '"':
		if len(raw) >= 2 && raw[len(raw)-1] == '"' && bytes.IndexByte(raw[1:len(raw)-1], '\\') < 0 &&
			bytes.IndexByte(raw[1:len(raw)-1], '"') < 0 && utf8.Valid(raw) {
			return string(raw[1 : len(raw)-1]), nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		if json.Valid(raw) {
			return json.Number(raw), nil
		}
	case string(raw) == "true":
		return true, nil
	case string(raw) == "false":
		return false, nil
	case string(raw) == "null":
		return nil, nil
	}
	var out any
	err := decodeAny(raw, &out)
	return out, err
}

func decodeAny(raw []byte, dst *any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(dst)
}

// Text returns the value as text: strings as is, numbers in their JSON form,
// booleans as "true"/"false", objects as compact JSON; "" when there is none.
func (v FieldValue) Text() string {
	switch x := v.Value.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

// Float returns a numeric value (numeric, price, monetary) from a number or a
// numeric string (spaces and a decimal comma are tolerated).
func (v FieldValue) Float() (float64, error) {
	switch x := v.Value.(type) {
	case json.Number:
		return x.Float64()
	case float64:
		return x, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(x), " ", "")
		s = strings.ReplaceAll(s, "\u00a0", "")
		s = strings.Replace(s, ",", ".", 1)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("amocrm: value %q is not a number", x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("amocrm: value of type %T is not a number", v.Value)
}

// Int returns the value as an integer (see Float); fractions are truncated.
func (v FieldValue) Int() (int64, error) {
	if n, ok := v.Value.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i, nil
		}
	}
	f, err := v.Float()
	if err != nil {
		return 0, err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("amocrm: value %v is not an integer", f)
	}
	return int64(f), nil
}

// Bool returns a checkbox value: true, 1, "1", "true", "Y" are true; false,
// 0, "", "0", "false", "N" and nil are false.
func (v FieldValue) Bool() (bool, error) {
	switch x := v.Value.(type) {
	case nil:
		return false, nil
	case bool:
		return x, nil
	case json.Number, float64, int, int64:
		f, err := v.Float()
		return f != 0, err
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "1", "true", "y", "yes", "on":
			return true, nil
		case "", "0", "false", "n", "no", "off":
			return false, nil
		}
		return false, fmt.Errorf("amocrm: value %q is not a boolean", x)
	}
	return false, fmt.Errorf("amocrm: value of type %T is not a boolean", v.Value)
}

// Time returns a date/date_time/birthday value, given as a Unix timestamp
// (number or string) or a date string (RFC 3339, "2006-01-02", ...), in UTC.
func (v FieldValue) Time() (time.Time, error) {
	switch x := v.Value.(type) {
	case string:
		sec, ok := parseTimeString(x)
		if !ok {
			return time.Time{}, fmt.Errorf("amocrm: value %q is not a date", x)
		}
		return Timestamp(sec).Time(), nil
	case nil:
		return time.Time{}, nil
	}
	n, err := v.Int()
	if err != nil {
		return time.Time{}, err
	}
	return Timestamp(n).Time(), nil
}

// Decode re-encodes Value into dst, for composite values such as
// LegalEntityValue, LinkedEntityValue, FileValue, ItemValue, ChainedListValue.
func (v FieldValue) Decode(dst any) error {
	b, err := json.Marshal(v.Value)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

// TextValue is a value for text, textarea, url, streetaddress and
// tracking_data fields, and for select/radiobutton/multiselect fields when
// choosing an option by its text.
func TextValue(s string) FieldValue { return FieldValue{Value: s} }

// NumberValue is a value for numeric, price and monetary fields.
func NumberValue(f float64) FieldValue {
	return FieldValue{Value: json.Number(strconv.FormatFloat(f, 'f', -1, 64))}
}

// BoolValue is a value for checkbox fields.
func BoolValue(b bool) FieldValue { return FieldValue{Value: b} }

// EnumValue is a value for select, radiobutton, multiselect and category
// fields chosen by enum id (one FieldValue per chosen option).
func EnumValue(enumID int) FieldValue { return FieldValue{EnumID: enumID} }

// MultitextValue is a value for multitext fields such as PHONE and EMAIL,
// e.g. MultitextValue("+79990000000", EnumCodeMobile).
func MultitextValue(value, enumCode string) FieldValue {
	return FieldValue{Value: value, EnumCode: enumCode}
}

// DateValue is a value for date, date_time and birthday fields (a Unix
// timestamp, as API v4 documents).
func DateValue(t time.Time) FieldValue { return FieldValue{Value: t.Unix()} }

// AddressValue is one part of a smart_address value; part is its enum code,
// one of address_line_1, address_line_2, city, state, zip, country (amoCRM
// models smart_address values as {value, enum_id, enum_code}, like the
// official SDK's SmartAddressCustomFieldValueModel).
func AddressValue(part, value string) FieldValue {
	return FieldValue{Value: value, EnumCode: part}
}

// ObjectValue is a value for composite fields (legal_entity, linked_entity,
// file, items, chained_list, payer, supplier); v is encoded as the "value"
// object, for example a LegalEntityValue.
func ObjectValue(v any) FieldValue { return FieldValue{Value: v} }

// LegalEntityValue is the value object of legal_entity, payer and supplier fields.
type LegalEntityValue struct {
	Name                      string `json:"name,omitempty"`
	EntityType                any    `json:"entity_type,omitempty"`
	VATID                     string `json:"vat_id,omitempty"`
	TaxRegistrationReasonCode string `json:"tax_registration_reason_code,omitempty"`
	Address                   string `json:"address,omitempty"`
	KPP                       string `json:"kpp,omitempty"`
	ExternalUID               string `json:"external_uid,omitempty"`
	BankCode                  string `json:"bank_code,omitempty"`
	BankAccountNumber         string `json:"bank_account_number,omitempty"`
}

// LinkedEntityValue is the value object of linked_entity fields.
type LinkedEntityValue struct {
	Name       string `json:"name,omitempty"`
	EntityID   int    `json:"entity_id"`
	EntityType string `json:"entity_type"`
	CatalogID  int    `json:"catalog_id,omitempty"`
}

// FileValue is the value object of file fields.
type FileValue struct {
	FileUUID    string `json:"file_uuid"`
	VersionUUID string `json:"version_uuid,omitempty"`
	FileName    string `json:"file_name,omitempty"`
	FileSize    int64  `json:"file_size,omitempty"`
	IsDeleted   bool   `json:"is_deleted,omitempty"`
}

// ItemValue is the value object of items (invoice lines) fields.
type ItemValue struct {
	SKU         string         `json:"sku,omitempty"`
	Description string         `json:"description,omitempty"`
	UnitPrice   float64        `json:"unit_price,omitempty"`
	Quantity    float64        `json:"quantity,omitempty"`
	UnitType    string         `json:"unit_type,omitempty"`
	Discount    *ItemDiscount  `json:"discount,omitempty"`
	VATRateID   int            `json:"vat_rate_id,omitempty"`
	ExternalUID string         `json:"external_uid,omitempty"`
	Extra       map[string]any `json:"-"`
}

// ItemDiscount is the discount of an ItemValue: Type is "amount" or "percentage".
type ItemDiscount struct {
	Type  string  `json:"type"`
	Value float64 `json:"value"`
}

// ChainedListValue is the value object of chained_list fields.
type ChainedListValue struct {
	CatalogID        int `json:"catalog_id"`
	CatalogElementID int `json:"catalog_element_id"`
}
