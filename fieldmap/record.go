package fieldmap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Record is the source of values for a mapping: one message, form post or
// any other event, addressed by dotted paths such as "sender.username",
// "chat.title", "text" or "attachments.0.name".
//
// Lookup returns the value at path and whether it exists. Values are the
// JSON-ish Go kinds: string, bool, float64, int, int64, json.Number,
// time.Time, nil, []any, []string, map[string]any. Lookup must be safe to call
// concurrently and must not change the record (it must return the same
// answer for the same path): Apply calls it many times per record, reads a
// path the spec uses in several places once per Apply, and never marshals.
type Record interface {
	Lookup(path string) (any, bool)
}

// RecordFunc adapts a function to Record.
type RecordFunc func(path string) (any, bool)

// Lookup calls f(path).
func (f RecordFunc) Lookup(path string) (any, bool) { return f(path) }

// MapRecord is a Record over nested maps, as decoded from JSON: path
// segments walk map[string]any (and map[string]string), and a numeric
// segment indexes []any or []string. It uses no reflection and does not
// allocate.
type MapRecord map[string]any

// Lookup implements Record.
func (m MapRecord) Lookup(path string) (any, bool) {
	return lookupPath(map[string]any(m), path)
}

func lookupPath(m map[string]any, path string) (any, bool) {
	if m == nil {
		return nil, false
	}
	if v, ok := m[path]; ok { // flat keys, and the common one-segment path
		return v, true
	}
	var cur any = m
	for path != "" {
		seg := path
		if i := strings.IndexByte(path, '.'); i >= 0 {
			seg, path = path[:i], path[i+1:]
		} else {
			path = ""
		}
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case MapRecord:
			v, ok := x[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case map[string]string:
			v, ok := x[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			cur = x[i]
		case []string:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			cur = x[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// JSONRecord decodes a JSON object once into a MapRecord. Numbers are kept
// exact as json.Number.
func JSONRecord(data []byte) (MapRecord, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("fieldmap: record is not a JSON object: %w", err)
	}
	if m == nil {
		return nil, fmt.Errorf("fieldmap: record is not a JSON object: null")
	}
	if dec.More() {
		return nil, fmt.Errorf("fieldmap: record has data after the JSON object")
	}
	return MapRecord(m), nil
}

// StructRecord converts any JSON-encodable value (a struct such as
// chatter.Message) into a MapRecord through encoding/json, once. Keys are the
// JSON names (so a Message's sender username is "sender.username"). Convert
// once per record and Apply the result; do not call it in a hot loop.
func StructRecord(v any) (MapRecord, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("fieldmap: encode record: %w", err)
	}
	return JSONRecord(b)
}
