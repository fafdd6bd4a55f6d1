package amocrm

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// maxLenientFixes bounds how many type mismatches one document may have.
const maxLenientFixes = 64

// unmarshalLenient decodes b into v like json.Unmarshal, but tolerates the
// type drift amoCRM is known for: numbers sent as strings (and back), bools
// as 0/1/"1", "[]" or false where an object is expected, and PHP-style
// objects {"0":…,"1":…} where an array is expected. The fast path is a plain
// json.Unmarshal; the slow path runs only when a *json.UnmarshalTypeError
// occurs, fixing the offending values and decoding again.
func unmarshalLenient(b []byte, v any) error {
	err := json.Unmarshal(b, v)
	var te *json.UnmarshalTypeError
	if err == nil || !errors.As(err, &te) {
		return err
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return err
	}
	var tree any
	if derr := decodeAny(b, &tree); derr != nil {
		return err
	}
	firstErr := err
	for range maxLenientFixes {
		if !errors.As(err, &te) {
			return err
		}
		path := te.Field
		var parts []string
		if path != "" {
			parts = strings.Split(path, ".")
		}
		if !fixTree(&tree, parts, te.Type) {
			return firstErr
		}
		nb, merr := json.Marshal(tree)
		if merr != nil {
			return firstErr
		}
		rv.Elem().Set(reflect.Zero(rv.Elem().Type()))
		err = json.Unmarshal(nb, v)
		if err == nil {
			return nil
		}
	}
	return firstErr
}

// fixTree converts every value reachable by path (descending through arrays
// at any level, and tried from every object as a suffix match) towards type
// t. It reports whether anything changed.
func fixTree(root *any, path []string, t reflect.Type) bool {
	changed := false
	var walk func(node *any)
	walk = func(node *any) {
		if applyPath(node, path, t) {
			changed = true
		}
		switch x := (*node).(type) {
		case map[string]any:
			for k := range x {
				child := x[k]
				walk(&child)
				x[k] = child
			}
		case []any:
			for i := range x {
				walk(&x[i])
			}
		}
	}
	walk(root)
	return changed
}

func applyPath(node *any, path []string, t reflect.Type) bool {
	if arr, ok := (*node).([]any); ok && len(path) > 0 {
		changed := false
		for i := range arr {
			if applyPath(&arr[i], path, t) {
				changed = true
			}
		}
		return changed
	}
	if len(path) == 0 {
		nv, ok := coerce(*node, t)
		if ok {
			*node = nv
		}
		return ok
	}
	m, ok := (*node).(map[string]any)
	if !ok {
		return false
	}
	child, ok := m[path[0]]
	if !ok {
		return false
	}
	if applyPath(&child, path[1:], t) {
		m[path[0]] = child
		return true
	}
	return false
}

// coerce converts v to a JSON value decodable into t; ok is false when v
// already fits or cannot be helped.
func coerce(v any, t reflect.Type) (any, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		switch x := v.(type) {
		case string:
			s := strings.TrimSpace(x)
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return json.Number(strconv.FormatInt(n, 10)), true
			}
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return json.Number(strconv.FormatInt(int64(f), 10)), true
			}
			return nil, true
		case json.Number:
			if f, err := x.Float64(); err == nil {
				return json.Number(strconv.FormatInt(int64(f), 10)), true
			}
			return nil, true
		case bool:
			if x {
				return json.Number("1"), true
			}
			return json.Number("0"), true
		default:
			return nil, true
		}
	case reflect.Float32, reflect.Float64:
		switch x := v.(type) {
		case string:
			s := strings.Replace(strings.TrimSpace(x), ",", ".", 1)
			if _, err := strconv.ParseFloat(s, 64); err == nil {
				return json.Number(s), true
			}
			return nil, true
		case bool:
			if x {
				return json.Number("1"), true
			}
			return json.Number("0"), true
		default:
			return nil, true
		}
	case reflect.Bool:
		switch x := v.(type) {
		case string:
			s := strings.ToLower(strings.TrimSpace(x))
			return s == "1" || s == "true" || s == "y" || s == "yes" || s == "on", true
		case json.Number:
			f, _ := x.Float64()
			return f != 0, true
		default:
			return nil, true
		}
	case reflect.String:
		switch x := v.(type) {
		case json.Number:
			return x.String(), true
		case bool:
			return strconv.FormatBool(x), true
		default:
			return nil, true
		}
	case reflect.Slice, reflect.Array:
		if m, ok := v.(map[string]any); ok {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool {
				a, errA := strconv.Atoi(keys[i])
				b, errB := strconv.Atoi(keys[j])
				if errA == nil && errB == nil {
					return a < b
				}
				return keys[i] < keys[j]
			})
			arr := make([]any, 0, len(keys))
			for _, k := range keys {
				arr = append(arr, m[k])
			}
			return arr, true
		}
		return nil, true
	case reflect.Struct, reflect.Map:
		if _, ok := v.(map[string]any); ok {
			return nil, false
		}
		return nil, true
	}
	return nil, false
}

// isJSON reports whether b looks like a JSON document (object or array).
func isJSON(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}
