package amocrmtest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// creatableTypes are the field types POST /api/v4/{entity}/custom_fields
// accepts (the system types such as tracking_data and the catalog ones are
// created by amoCRM itself).
var creatableTypes = []string{FieldText, FieldNumeric, FieldCheckbox, FieldSelect, FieldMultiselect, FieldMultitext,
	FieldDate, FieldURL, FieldTextarea, FieldRadiobutton, FieldStreetAddress, FieldSmartAddress, FieldBirthday,
	FieldLegalEntity, FieldDateTime, FieldPrice, FieldMonetary, FieldFile}

// enumTypes need enums.
var enumTypes = []string{FieldSelect, FieldMultiselect, FieldRadiobutton}

// createFields serves POST /api/v4/{entity}/custom_fields: an administrator
// adds fields (name, type, sort, code, is_api_only, enums with value and
// sort). The answer lists them with their ids, like the real API.
func (s *Server) createFields(kind string) func(c *call) {
	return func(c *call) {
		if !c.requireAdmin() {
			return
		}
		arr, ok := c.readArray(MaxBatch)
		if !ok {
			return
		}
		var groups []vGroup
		type in struct {
			f     CustomField
			reqID string
		}
		var ins []in
		for i, raw := range arr {
			var errs []vError
			it, ok := newItem(raw, "", &errs)
			reqID := strconv.Itoa(i)
			if ok {
				reqID = it.requestID(reqID)
				var f CustomField
				f.Name, _ = it.str("name")
				if strings.TrimSpace(f.Name) == "" {
					it.add(CodeNotBlank, "name", "This value should not be blank.")
				}
				f.Type, _ = it.str("type")
				if !slices.Contains(creatableTypes, f.Type) {
					it.add(CodeNotSupportedChoice, "type", "The value you selected is not a valid choice.")
				}
				f.Code, _ = it.str("code")
				f.IsAPIOnly, _ = it.bool("is_api_only")
				if n, ok := it.int("sort"); ok {
					f.Sort = int(n)
				}
				if enums, ok := it.array("enums"); ok {
					for j, er := range enums {
						e, ok := newItem(er, "enums."+strconv.Itoa(j), &errs)
						if !ok {
							continue
						}
						v, _ := e.str("value")
						if strings.TrimSpace(v) == "" {
							e.add(CodeNotBlank, "value", "This value should not be blank.")
						}
						sort, _ := e.int("sort")
						f.Enums = append(f.Enums, Enum{Value: v, Sort: int(sort)})
					}
				}
				if slices.Contains(enumTypes, f.Type) && len(f.Enums) == 0 {
					it.add(CodeNotBlank, "enums", "This value should not be blank.")
				}
				for _, o := range s.st.fields[kind] {
					if f.Code != "" && strings.EqualFold(o.Code, f.Code) {
						it.add(CodeNotSupportedChoice, "code", "A field with this code already exists.")
					}
				}
				ins = append(ins, in{f, reqID})
			}
			if len(errs) > 0 {
				groups = append(groups, vGroup{RequestID: reqID, Errors: errs})
			}
		}
		if len(groups) > 0 {
			writeValidation(c.w, groups)
			return
		}
		out := []any{}
		for _, x := range ins {
			f := s.st.addField(kind, x.f)
			r := c.renderField(&f)
			r["request_id"] = x.reqID
			out = append(out, r)
		}
		writeHAL(c.w, http.StatusOK, obj{"_total_items": len(out), "_links": c.selfLink("/api/v4/" + kind + "/custom_fields"),
			"_embedded": obj{"custom_fields": out}})
	}
}
