package config

import (
	"reflect"
	"strings"

	"github.com/chatterhq/sdk/fieldmap"
)

// fieldInfo is what the loader knows about one struct field.
type fieldInfo struct {
	index  int
	key    string // the YAML key
	secret string // "", "true" or "url"
	noFile bool   // no <key>_file sibling
	lines  bool   // a list given one item per line in a variable
}

// hasFile reports whether the key accepts a <key>_file sibling.
func (f *fieldInfo) hasFile() bool { return f.secret != "" && !f.noFile }

// The types the loader treats as single values although they are not
// plain kinds.
var (
	durationType = reflect.TypeFor[Duration]()
	specType     = reflect.TypeFor[*fieldmap.Spec]()
)

// fieldsOf lists the configuration keys of a struct type, in order.
func fieldsOf(t reflect.Type) []*fieldInfo {
	var out []*fieldInfo
	for i := range t.NumField() {
		sf := t.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || key == "" || key == "-" {
			continue
		}
		out = append(out, &fieldInfo{index: i, key: key, secret: sf.Tag.Get("secret"),
			noFile: sf.Tag.Get("file") == "no", lines: sf.Tag.Get("env") == "lines"})
	}
	return out
}

// fieldByKey finds the field of a YAML key.
func fieldByKey(t reflect.Type, key string) *fieldInfo {
	for _, f := range fieldsOf(t) {
		if f.key == key {
			return f
		}
	}
	return nil
}

// isNested reports whether values of t are sections (structs decoded key by
// key) rather than single values.
func isNested(t reflect.Type) bool { return t.Kind() == reflect.Struct && t != durationType }

// isItemList reports whether t is a list of sections.
func isItemList(t reflect.Type) bool { return t.Kind() == reflect.Slice && isNested(t.Elem()) }

// idOf returns the id of a list item whose type has an "id" key, and whether
// the type has one.
func idOf(v reflect.Value) (string, bool) {
	f := fieldByKey(v.Type(), "id")
	if f == nil {
		return "", false
	}
	return v.Field(f.index).String(), true
}

// keysOf lists every key name of a struct type and the types under it, for
// suggestions.
func keysOf(t reflect.Type) []string {
	var out []string
	for _, f := range fieldsOf(t) {
		out = append(out, f.key)
		if f.hasFile() {
			out = append(out, f.key+"_file")
		}
	}
	return out
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}
