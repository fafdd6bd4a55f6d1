package fieldmap

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/chatterhq/sdk/amocrm"
)

// supportedType reports whether fieldmap converts values to t (all 26 types
// amoCRM documents). A type added to amocrm later is a CodeUnknownType
// problem until fieldmap learns it.
func supportedType(t amocrm.FieldType) bool {
	switch t {
	case amocrm.FieldTypeText, amocrm.FieldTypeNumeric, amocrm.FieldTypeCheckbox, amocrm.FieldTypeSelect,
		amocrm.FieldTypeMultiselect, amocrm.FieldTypeMultitext, amocrm.FieldTypeDate, amocrm.FieldTypeURL,
		amocrm.FieldTypeTextarea, amocrm.FieldTypeRadiobutton, amocrm.FieldTypeStreetAddress,
		amocrm.FieldTypeSmartAddress, amocrm.FieldTypeBirthday, amocrm.FieldTypeLegalEntity,
		amocrm.FieldTypeDateTime, amocrm.FieldTypeItems, amocrm.FieldTypeCategory, amocrm.FieldTypePrice,
		amocrm.FieldTypeTrackingData, amocrm.FieldTypeLinkedEntity, amocrm.FieldTypeOrgLegalName,
		amocrm.FieldTypeMonetary, amocrm.FieldTypeChainedList, amocrm.FieldTypeFile, amocrm.FieldTypePayer,
		amocrm.FieldTypeSupplier:
		return true
	}
	return false
}

// objectKeys returns the parts of a composite field type.
func objectKeys(t amocrm.FieldType) ([]string, bool) {
	switch t {
	case amocrm.FieldTypeSmartAddress:
		return []string{"address_line_1", "address_line_2", "city", "state", "zip", "country"}, true
	case amocrm.FieldTypeLegalEntity, amocrm.FieldTypePayer, amocrm.FieldTypeSupplier:
		return []string{"name", "entity_type", "vat_id", "tax_registration_reason_code", "address", "kpp",
			"external_uid", "bank_code", "bank_account_number"}, true
	case amocrm.FieldTypeLinkedEntity:
		return []string{"name", "entity_id", "entity_type", "catalog_id"}, true
	case amocrm.FieldTypeChainedList:
		return []string{"catalog_id", "catalog_element_id"}, true
	case amocrm.FieldTypeFile:
		return []string{"file_uuid", "version_uuid", "file_name", "file_size"}, true
	case amocrm.FieldTypeItems:
		return []string{"sku", "description", "unit_price", "quantity", "unit_type", "discount_type",
			"discount_value", "vat_rate_id", "external_uid"}, true
	}
	return nil, false
}

// defaultMaxLen is the default cut length of text values of t (0: none).
func defaultMaxLen(t amocrm.FieldType) int {
	switch t {
	case amocrm.FieldTypeText, amocrm.FieldTypeURL, amocrm.FieldTypeStreetAddress, amocrm.FieldTypeTrackingData,
		amocrm.FieldTypeOrgLegalName, amocrm.FieldTypeMultitext:
		return DefaultTextMaxLength
	}
	return 0
}

// convError is a conversion failure of one value.
type convError struct {
	path string
	msg  Text
	code Code
}

func badValue(path string, fp *fieldPlan, v value, ru, en string) *convError {
	return &convError{path: path, code: CodeBadValue, msg: T(
		fmt.Sprintf("поле %s (%s): значение %s %s", fp.name, fp.typ, quote(v), ru),
		fmt.Sprintf("field %s (%s): value %s %s", fp.name, fp.typ, quote(v), en))}
}

// convKind is how convertScalar converts values of a field type, decided
// once at Compile time (scalarKind) instead of switching on the type string
// for every value.
type convKind uint8

const (
	convUnknown   convKind = iota
	convText               // text, textarea, street_address, tracking_data, org_legal_name
	convURL                // url
	convNumber             // numeric, price, monetary
	convCheckbox           // checkbox
	convDate               // date, birthday: midnight in the mapper's zone
	convDateTime           // date_time
	convEnum               // select, radiobutton, multiselect, category
	convMultitext          // multitext (PHONE, EMAIL, IM, …)
)

// Multitext field codes that convertScalar checks and normalises.
const (
	codeOther uint8 = iota
	codePhone
	codeEmail
)

// scalarKind returns the conversion of non-composite values of t.
func scalarKind(t amocrm.FieldType) convKind {
	switch t {
	case amocrm.FieldTypeText, amocrm.FieldTypeTextarea, amocrm.FieldTypeStreetAddress,
		amocrm.FieldTypeTrackingData, amocrm.FieldTypeOrgLegalName:
		return convText
	case amocrm.FieldTypeURL:
		return convURL
	case amocrm.FieldTypeNumeric, amocrm.FieldTypePrice, amocrm.FieldTypeMonetary:
		return convNumber
	case amocrm.FieldTypeCheckbox:
		return convCheckbox
	case amocrm.FieldTypeDate, amocrm.FieldTypeBirthday:
		return convDate
	case amocrm.FieldTypeDateTime:
		return convDateTime
	case amocrm.FieldTypeSelect, amocrm.FieldTypeRadiobutton, amocrm.FieldTypeMultiselect, amocrm.FieldTypeCategory:
		return convEnum
	case amocrm.FieldTypeMultitext:
		return convMultitext
	}
	return convUnknown
}

// convertScalar converts one value for a non-composite type and appends it
// to dst. Empty values are skipped by the caller.
func (a *applier) convertScalar(fp *fieldPlan, s *src, v value, dst []amocrm.FieldValue) ([]amocrm.FieldValue, *convError) {
	path := s.path
	switch fp.conv {
	case convText:
		if v.k == kList || v.k == kOther {
			return dst, badValue(path, fp, v, "— не текст", "is not text")
		}
		return append(dst, amocrm.FieldValue{Value: a.cut(fp, path, v)}), nil
	case convURL:
		txt := strings.TrimSpace(v.text())
		if !isHTTPURL(txt) {
			return dst, badValue(path, fp, v, "— не ссылка http(s)://…", "is not an http(s):// URL")
		}
		if len(txt) != len(v.s) || v.k != kString {
			v = strValue(txt)
		}
		return append(dst, amocrm.FieldValue{Value: a.cut(fp, path, v)}), nil
	case convNumber:
		f, ok := v.number()
		if !ok {
			return dst, badValue(path, fp, v, "— не число", "is not a number")
		}
		return append(dst, amocrm.FieldValue{Value: json.Number(formatNumber(f))}), nil
	case convCheckbox:
		b, ok := v.asBool()
		if !ok {
			return dst, badValue(path, fp, v, "— не да/нет", "is not yes/no")
		}
		return append(dst, amocrm.FieldValue{Value: b}), nil
	case convDate, convDateTime:
		t, ok := v.asTime(a.m.loc)
		if !ok {
			return dst, badValue(path, fp, v, "— не дата", "is not a date")
		}
		if fp.conv == convDate {
			t = t.In(a.m.loc)
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, a.m.loc)
		}
		return append(dst, amocrm.FieldValue{Value: t.Unix()}), nil
	case convEnum:
		if v.k == kNumber && (v.f != math.Trunc(v.f) || v.f <= 0) {
			return dst, badValue(path, fp, v, "— не id варианта", "is not an option id")
		}
		if fp.field == nil {
			if v.k == kNumber {
				return append(dst, amocrm.FieldValue{EnumID: int(v.f)}), nil
			}
			return append(dst, amocrm.FieldValue{Value: v.asAny()}), nil
		}
		id, ok := resolveEnum(fp.field, v)
		if !ok {
			e := badValue(path, fp, v, "— нет такого варианта", "is not one of the options")
			e.code = CodeEnumNotFound
			return dst, e
		}
		return append(dst, amocrm.FieldValue{EnumID: id}), nil
	case convMultitext:
		txt := v.text()
		code := s.enum
		if code == "" {
			code = fp.enum
		}
		switch fp.codeKind {
		case codePhone:
			p, ok := NormalizePhone(txt)
			if !ok {
				return dst, badValue(path, fp, v, "— не номер телефона", "is not a phone number")
			}
			if p != txt || v.k != kString {
				v = strValue(p) // else keep v: its raw interface is stored without a copy
			}
			if code == "" {
				code = amocrm.EnumCodeMobile
			}
		case codeEmail:
			t := strings.TrimSpace(txt)
			at := strings.IndexByte(t, '@')
			if at <= 0 || at == len(t)-1 || strings.ContainsAny(t, " \t\n,;") || !strings.Contains(t[at:], ".") || strings.Count(t, "@") != 1 {
				return dst, badValue(path, fp, v, "— не адрес email", "is not an email address")
			}
			if t != txt {
				v = strValue(t)
			}
		}
		if code == "" {
			code = amocrm.EnumCodeWork
		}
		if fp.field != nil && len(fp.field.Enums) > 0 {
			if e := fp.field.EnumByValue(code); e != nil {
				code = e.Value
			}
		}
		return append(dst, amocrm.FieldValue{Value: a.cut(fp, path, v), EnumCode: code}), nil
	}
	return dst, &convError{path: path, code: CodeUnknownType, msg: T(
		fmt.Sprintf("поле %s: тип %q не поддерживается", fp.name, fp.typ),
		fmt.Sprintf("field %s: type %q is not supported", fp.name, fp.typ))}
}

// cut applies the field's maximum length, warning when it cuts. It returns
// the value to store (the record's own interface when unchanged).
func (a *applier) cut(fp *fieldPlan, path string, v value) any {
	limit := fp.limit
	if limit > 0 && v.k == kString && len(v.s) > limit {
		if s, ok := truncateRunes(v.s, limit); !ok {
			a.warn(warning(CodeTruncated, path,
				T(fmt.Sprintf("поле %s: значение обрезано до %d символов", fp.name, limit), fmt.Sprintf("field %s: value cut to %d characters", fp.name, limit)),
				T("Увеличьте max_length или сократите шаблон.", "Raise max_length or shorten the template.")))
			return s
		}
	}
	if limit > 0 && v.k != kString {
		s := v.text()
		if cut, ok := truncateRunes(s, limit); !ok {
			a.warn(warning(CodeTruncated, path,
				T(fmt.Sprintf("поле %s: значение обрезано до %d символов", fp.name, limit), fmt.Sprintf("field %s: value cut to %d characters", fp.name, limit)),
				T("Увеличьте max_length или сократите шаблон.", "Raise max_length or shorten the template.")))
			return cut
		}
		return s
	}
	return v.asAny()
}

// objectGetter yields the parts of one composite value: from compiled parts,
// or from a map produced by a Value source.
type objectGetter struct {
	parts []objPart
	m     map[string]any
	path  string
}

func (g *objectGetter) get(r *reader, key string) (value, string, error) {
	if g.m != nil {
		x, ok := g.m[key]
		if !ok {
			return value{}, g.path + "." + key, nil
		}
		return fromAny(x), g.path + "." + key, nil
	}
	for i := range g.parts {
		if g.parts[i].key == key {
			v, err := g.parts[i].src.eval(r)
			return v, g.parts[i].src.path, err
		}
	}
	return value{}, g.path + "." + key, nil
}

// mapKeysOK checks that a record map has only known parts.
func mapKeysOK(m map[string]any, keys []string) (string, bool) {
	for k := range m {
		if !contains(keys, k) {
			return k, false
		}
	}
	return "", true
}

// convertObject builds one composite value (nil, nil when all parts are
// empty).
func (a *applier) convertObject(fp *fieldPlan, g *objectGetter, r *reader, dst []amocrm.FieldValue) ([]amocrm.FieldValue, *convError, error) {
	keys, _ := objectKeys(fp.typ)
	if g.m != nil {
		if k, ok := mapKeysOK(g.m, keys); !ok {
			return dst, &convError{path: g.path, code: CodeBadValue, msg: T(
				fmt.Sprintf("поле %s (%s): у значения лишняя часть %q", fp.name, fp.typ, k),
				fmt.Sprintf("field %s (%s): the value has an unknown part %q", fp.name, fp.typ, k))}, nil
		}
	}
	vals := make(map[string]value, len(keys))
	paths := make(map[string]string, len(keys))
	for _, k := range keys {
		v, p, err := g.get(r, k)
		if err != nil {
			return dst, nil, &srcError{path: p, err: err}
		}
		if !v.isEmpty() {
			vals[k], paths[k] = v, p
		}
	}
	if len(vals) == 0 {
		return dst, nil, nil
	}
	text := func(k string) string { return strings.TrimSpace(vals[k].text()) }
	intOf := func(k string, required bool) (int, *convError) {
		v, ok := vals[k]
		if !ok {
			if required {
				return 0, &convError{path: g.path + "." + k, code: CodeBadValue, msg: T(
					fmt.Sprintf("поле %s (%s): не заполнена часть %s", fp.name, fp.typ, k),
					fmt.Sprintf("field %s (%s): part %s is missing", fp.name, fp.typ, k))}
			}
			return 0, nil
		}
		f, ok := v.number()
		if !ok || f != math.Trunc(f) || f < 0 || f > 1<<53 {
			return 0, badValue(paths[k], fp, v, "— не целое число ("+k+")", "is not a whole number ("+k+")")
		}
		return int(f), nil
	}
	numOf := func(k string) (float64, *convError) {
		v, ok := vals[k]
		if !ok {
			return 0, nil
		}
		f, ok := v.number()
		if !ok {
			return 0, badValue(paths[k], fp, v, "— не число ("+k+")", "is not a number ("+k+")")
		}
		return f, nil
	}
	switch fp.typ {
	case amocrm.FieldTypeSmartAddress:
		for _, k := range keys {
			if _, ok := vals[k]; ok {
				dst = append(dst, amocrm.AddressValue(k, text(k)))
			}
		}
		return dst, nil, nil
	case amocrm.FieldTypeLegalEntity, amocrm.FieldTypePayer, amocrm.FieldTypeSupplier:
		le := amocrm.LegalEntityValue{Name: text("name"), VATID: text("vat_id"), TaxRegistrationReasonCode: text("tax_registration_reason_code"),
			Address: text("address"), KPP: text("kpp"), ExternalUID: text("external_uid"), BankCode: text("bank_code"),
			BankAccountNumber: text("bank_account_number")}
		if v, ok := vals["entity_type"]; ok {
			if f, isNum := v.number(); isNum && f == math.Trunc(f) {
				le.EntityType = int(f)
			} else {
				le.EntityType = text("entity_type")
			}
		}
		if le.Name == "" {
			return dst, &convError{path: g.path + ".name", code: CodeBadValue, msg: T(
				fmt.Sprintf("поле %s (%s): не заполнено название (name)", fp.name, fp.typ),
				fmt.Sprintf("field %s (%s): name is missing", fp.name, fp.typ))}, nil
		}
		return append(dst, amocrm.ObjectValue(le)), nil, nil
	case amocrm.FieldTypeLinkedEntity:
		id, e := intOf("entity_id", true)
		if e != nil {
			return dst, e, nil
		}
		cat, e := intOf("catalog_id", false)
		if e != nil {
			return dst, e, nil
		}
		et := text("entity_type")
		switch et {
		case "contacts", "companies", "leads", "customers", "catalog_elements":
		default:
			return dst, badValue(g.path+".entity_type", fp, strValue(et), "— не тип сущности (contacts, companies, leads, customers, catalog_elements)",
				"is not an entity type (contacts, companies, leads, customers, catalog_elements)"), nil
		}
		return append(dst, amocrm.ObjectValue(amocrm.LinkedEntityValue{Name: text("name"), EntityID: id, EntityType: et, CatalogID: cat})), nil, nil
	case amocrm.FieldTypeChainedList:
		cat, e := intOf("catalog_id", true)
		if e != nil {
			return dst, e, nil
		}
		el, e := intOf("catalog_element_id", true)
		if e != nil {
			return dst, e, nil
		}
		return append(dst, amocrm.ObjectValue(amocrm.ChainedListValue{CatalogID: cat, CatalogElementID: el})), nil, nil
	case amocrm.FieldTypeFile:
		if text("file_uuid") == "" {
			return dst, &convError{path: g.path + ".file_uuid", code: CodeBadValue, msg: T(
				fmt.Sprintf("поле %s (file): не заполнен file_uuid", fp.name), fmt.Sprintf("field %s (file): file_uuid is missing", fp.name))}, nil
		}
		size, e := intOf("file_size", false)
		if e != nil {
			return dst, e, nil
		}
		return append(dst, amocrm.ObjectValue(amocrm.FileValue{FileUUID: text("file_uuid"), VersionUUID: text("version_uuid"),
			FileName: text("file_name"), FileSize: int64(size)})), nil, nil
	case amocrm.FieldTypeItems:
		it := amocrm.ItemValue{SKU: text("sku"), Description: text("description"), UnitType: text("unit_type"), ExternalUID: text("external_uid")}
		var e *convError
		if it.UnitPrice, e = numOf("unit_price"); e != nil {
			return dst, e, nil
		}
		if it.Quantity, e = numOf("quantity"); e != nil {
			return dst, e, nil
		}
		if it.VATRateID, e = intOf("vat_rate_id", false); e != nil {
			return dst, e, nil
		}
		if _, ok := vals["discount_value"]; ok {
			d := &amocrm.ItemDiscount{Type: text("discount_type")}
			if d.Type == "" {
				d.Type = "amount"
			}
			if d.Type != "amount" && d.Type != "percentage" {
				return dst, badValue(paths["discount_type"], fp, vals["discount_type"], "— не amount/percentage", "is not amount/percentage"), nil
			}
			if d.Value, e = numOf("discount_value"); e != nil {
				return dst, e, nil
			}
			it.Discount = d
		}
		if it.Description == "" && it.SKU == "" {
			return dst, &convError{path: g.path, code: CodeBadValue, msg: T(
				fmt.Sprintf("поле %s (items): у позиции нет ни description, ни sku", fp.name),
				fmt.Sprintf("field %s (items): the line has neither description nor sku", fp.name))}, nil
		}
		return append(dst, amocrm.ObjectValue(it)), nil, nil
	}
	return dst, &convError{path: g.path, code: CodeUnknownType, msg: T("тип не составной", "type is not composite")}, nil
}

// srcError wraps a template failure with the spec path of its source.
type srcError struct {
	path string
	err  error
}

func (e *srcError) Error() string { return e.path + ": " + e.err.Error() }

// isHTTPURL reports whether s is an absolute http(s) URL with a host and no
// spaces or control characters (checked by hand: url.Parse allocates).
func isHTTPURL(s string) bool {
	rest, ok := cutPrefixFold(s, "https://")
	if !ok {
		if rest, ok = cutPrefixFold(s, "http://"); !ok {
			return false
		}
	}
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if host == "" || strings.HasPrefix(host, ":") || strings.HasPrefix(host, "@") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
