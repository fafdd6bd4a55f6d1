package fieldmap

import (
	"encoding"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"time"
)

// RecordSchema is the shape of the records a Mapper will map: the record
// paths that exist. Compiled WithRecordSchema, every record path of the
// spec (from:, and the operands and path arguments of templates and
// conditions) must exist, or Compile fails with a CodeUnknownPath problem
// that suggests the closest paths; without one, a mistyped path
// (sendr.first_name) compiles and yields empty values.
//
// A path is dotted segments. In a schema, the segment # stands for any
// list index (attachments.#.kind matches attachments.0.kind), and a last
// segment * opens everything below (raw.* matches raw.update.message.id):
// the dynamic parts of a record, such as map keys or a raw JSON payload,
// stay allowed without being listed. Every prefix of a path exists too
// (sender, attachments.0), as a composite value.
//
// A RecordSchema is immutable and safe for concurrent use.
type RecordSchema struct {
	exact map[string]bool // normalised paths and their prefixes
	open  []string        // prefixes with anything below
	list  []string        // the paths as given, for suggestions and Paths
}

// NewRecordSchema returns the schema of the given paths (see RecordSchema
// for # and *).
func NewRecordSchema(paths ...string) *RecordSchema {
	return (&RecordSchema{exact: map[string]bool{}}).With(paths...)
}

// With returns a copy of s with more paths: those a Record computes that
// its JSON form does not have (MessageRecord's sender.name, say).
func (s *RecordSchema) With(paths ...string) *RecordSchema {
	out := &RecordSchema{exact: make(map[string]bool, len(s.exact)+2*len(paths)),
		open: append([]string(nil), s.open...), list: append([]string(nil), s.list...)}
	for k := range s.exact {
		out.exact[k] = true
	}
	for _, p := range paths {
		p = strings.Trim(strings.TrimSpace(p), ".")
		if p == "" {
			continue
		}
		out.list = append(out.list, p)
		if base, ok := strings.CutSuffix(p, ".*"); ok || p == "*" {
			if p == "*" {
				base = ""
			}
			out.open = append(out.open, base)
			p = base
		}
		for q := p; q != ""; q = parentSegment(q) {
			out.exact[q] = true
		}
	}
	sort.Strings(out.list)
	return out
}

func parentSegment(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// Paths returns the paths of the schema as given (with # and *), sorted.
func (s *RecordSchema) Paths() []string { return append([]string(nil), s.list...) }

// Has reports whether path exists in records of this schema.
func (s *RecordSchema) Has(path string) bool {
	n := normalizePath(path)
	if s.exact[n] {
		return true
	}
	for _, o := range s.open {
		if o == "" || n == o || strings.HasPrefix(n, o+".") {
			return true
		}
	}
	return false
}

// normalizePath writes list indexes as #.
func normalizePath(p string) string {
	segs := strings.Split(p, ".")
	for i, s := range segs {
		if s != "" && strings.Trim(s, "0123456789") == "" {
			segs[i] = "#"
		}
	}
	return strings.Join(segs, ".")
}

// suggest returns the paths closest to a path the schema does not have,
// written with index 0 for #.
func (s *RecordSchema) suggest(path string) []string {
	cands := make([]string, 0, len(s.exact))
	for k := range s.exact {
		cands = append(cands, k)
	}
	sort.Strings(cands)
	out := closest(normalizePath(path), cands, 3)
	for i, c := range out {
		out[i] = strings.ReplaceAll(strings.ReplaceAll(c, ".#.", ".0."), ".#", ".0")
	}
	return out
}

// RecordSchemaOf returns the schema of the records StructRecord(v) makes
// of values of v's type (a struct such as chatter.Message, or a pointer to
// one): the JSON names of its fields, by the rules of encoding/json, so
// that it cannot drift from the records. Lists become #; maps, interface
// values, json.RawMessage and types with their own MarshalJSON open their
// subtree (*); time.Time and encoding.TextMarshaler values are leaves.
func RecordSchemaOf(v any) *RecordSchema {
	var paths []string
	if v != nil {
		recordPaths(reflect.TypeOf(v), "", 0, &paths)
	}
	return NewRecordSchema(paths...)
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// maxRecordDepth bounds the walk of a (possibly recursive) record type.
const maxRecordDepth = 12

func recordPaths(t reflect.Type, prefix string, depth int, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	join := func(seg string) string {
		if prefix == "" {
			return seg
		}
		return prefix + "." + seg
	}
	leaf := func() {
		if prefix != "" {
			*out = append(*out, prefix)
		}
	}
	open := func() { *out = append(*out, join("*")) }
	if depth > maxRecordDepth {
		open()
		return
	}
	switch {
	case t == timeType:
		leaf()
		return
	case t == rawMessageType:
		open()
		return
	case t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(jsonMarshalerType):
		open()
		return
	case t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType):
		leaf()
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if sf.Anonymous && name == "" {
				ft := sf.Type
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct { // promoted fields, as encoding/json flattens them
					recordPaths(ft, prefix, depth+1, out)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			recordPaths(sf.Type, join(name), depth+1, out)
		}
	case reflect.Map, reflect.Interface:
		open()
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 { // []byte is a base64 string
			leaf()
			return
		}
		recordPaths(t.Elem(), join("#"), depth+1, out)
	default:
		leaf()
	}
}

// WithRecordSchema checks the spec's record paths against the shape of
// the records while compiling (see RecordSchema): for chatter messages,
// RecordSchemaOf(chatter.Message{}) (with "sender.name" when the records
// are amocrmsink.MessageRecord); for other records, NewRecordSchema with
// their paths. Validate checks them again.
func WithRecordSchema(s *RecordSchema) Option { return func(o *compileOptions) { o.record = s } }
