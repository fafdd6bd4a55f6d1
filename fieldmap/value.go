package fieldmap

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// kind is the kind of an evaluated value.
type kind uint8

const (
	kNull kind = iota
	kString
	kNumber
	kBool
	kTime
	kList
	kOther
)

func (k kind) String() string {
	switch k {
	case kNull:
		return "null"
	case kString:
		return "string"
	case kNumber:
		return "number"
	case kBool:
		return "bool"
	case kTime:
		return "time"
	case kList:
		return "list"
	}
	return "object"
}

// value is an evaluated template or source value. It is passed by value and
// keeps the original interface (raw) so that a string read from a record can
// be stored into a FieldValue without boxing it again.
type value struct {
	k   kind
	s   string    // kString; also the text of a json.Number
	f   float64   // kNumber, kBool (0/1)
	t   time.Time // kTime
	raw any       // the original any when it is reusable as is (string, list, object)
}

func strValue(s string) value  { return value{k: kString, s: s} }
func numValue(f float64) value { return value{k: kNumber, f: f} }
func boolValue(b bool) value {
	if b {
		return value{k: kBool, f: 1}
	}
	return value{k: kBool}
}

// fromAny converts a record value to a value.
func fromAny(x any) value {
	switch v := x.(type) {
	case nil:
		return value{}
	case string:
		return value{k: kString, s: v, raw: x}
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return value{k: kString, s: string(v)}
		}
		return value{k: kNumber, f: f, s: string(v)}
	case float64:
		return value{k: kNumber, f: v}
	case float32:
		return value{k: kNumber, f: float64(v)}
	case int:
		return value{k: kNumber, f: float64(v)}
	case int64:
		return value{k: kNumber, f: float64(v)}
	case int32:
		return value{k: kNumber, f: float64(v)}
	case uint64:
		return value{k: kNumber, f: float64(v)}
	case bool:
		return boolValue(v)
	case time.Time:
		return value{k: kTime, t: v}
	case *time.Time:
		if v == nil {
			return value{}
		}
		return value{k: kTime, t: *v}
	case []any, []string:
		return value{k: kList, raw: x}
	case json.RawMessage:
		return value{k: kString, s: string(v)}
	}
	return value{k: kOther, raw: x}
}

// isEmpty reports whether v carries nothing: null, blank text, an empty list.
func (v value) isEmpty() bool {
	switch v.k {
	case kNull:
		return true
	case kString:
		return strings.TrimSpace(v.s) == ""
	case kTime:
		return v.t.IsZero()
	case kList:
		return v.listLen() == 0
	}
	return false
}

// truthy is the truth of v in a condition: false for null, "", "0",
// "false", "no", "нет", 0, false, an empty list and the zero time.
func (v value) truthy() bool {
	switch v.k {
	case kNull:
		return false
	case kString:
		switch strings.ToLower(strings.TrimSpace(v.s)) {
		case "", "0", "false", "no", "off", "нет":
			return false
		}
		return true
	case kNumber, kBool:
		return v.f != 0 && !math.IsNaN(v.f)
	case kTime:
		return !v.t.IsZero()
	case kList:
		return v.listLen() > 0
	}
	return true
}

func (v value) listLen() int {
	switch l := v.raw.(type) {
	case []any:
		return len(l)
	case []string:
		return len(l)
	}
	return 0
}

// items returns the elements of a list value, or v itself as a one-item list.
func (v value) items(dst []value) []value {
	switch l := v.raw.(type) {
	case []any:
		for _, x := range l {
			dst = append(dst, fromAny(x))
		}
		return dst
	case []string:
		for _, x := range l {
			dst = append(dst, strValue(x))
		}
		return dst
	}
	if v.k == kNull {
		return dst
	}
	return append(dst, v)
}

// text renders v as a string. Numbers use the shortest exact form, times
// RFC 3339, lists are joined with ", ", objects are JSON.
func (v value) text() string {
	switch v.k {
	case kNull:
		return ""
	case kString:
		return v.s
	case kNumber:
		if v.s != "" {
			return v.s
		}
		return formatNumber(v.f)
	case kBool:
		if v.f != 0 {
			return "true"
		}
		return "false"
	case kTime:
		if v.t.IsZero() {
			return ""
		}
		return v.t.Format(time.RFC3339)
	case kList:
		var b strings.Builder
		var buf [8]value
		for i, it := range v.items(buf[:0]) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(it.text())
		}
		return b.String()
	}
	b, err := json.Marshal(v.raw)
	if err != nil {
		return ""
	}
	return string(b)
}

// asAny returns v as a value to put into a FieldValue, reusing the
// original interface when there is one (no allocation).
func (v value) asAny() any {
	if v.raw != nil && v.k == kString {
		return v.raw
	}
	return v.text()
}

func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// number converts v to a number: numbers as is, booleans as 0/1, and text
// with spaces as thousand separators and a decimal comma ("1 500,50").
func (v value) number() (float64, bool) {
	switch v.k {
	case kNumber, kBool:
		return v.f, !math.IsNaN(v.f) && !math.IsInf(v.f, 0)
	case kString:
		return parseNumber(v.s)
	}
	return 0, false
}

// parseNumber parses human-written numbers: "1500", "1 500", "1\u00a0500,5",
// "-3.25", "+7". It rejects anything else (letters, several separators).
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	var buf [64]byte
	b := buf[:0]
	seenSep := false
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b = append(b, byte(r))
		case (r == '-' || r == '+') && i == 0:
			b = append(b, byte(r))
		case r == ' ' || r == '\u00a0' || r == '\u202f' || r == '_' || r == '\'':
			// thousand separators
		case r == '.' || r == ',':
			if seenSep {
				return 0, false
			}
			seenSep = true
			b = append(b, '.')
		default:
			return 0, false
		}
		if len(b) >= len(buf)-1 {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// asTime converts v to a time: times as is, numbers as Unix seconds, text
// in RFC 3339, "2006-01-02[ 15:04[:05]]", "02.01.2006[ 15:04[:05]]" or Unix
// seconds. Times without a zone are read in loc.
func (v value) asTime(loc *time.Location) (time.Time, bool) {
	switch v.k {
	case kTime:
		return v.t, !v.t.IsZero()
	case kNumber:
		if v.f <= 0 || v.f > 1e11 {
			return time.Time{}, false
		}
		return time.Unix(int64(v.f), 0).In(loc), true
	case kString:
		s := strings.TrimSpace(v.s)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 && n < 1e11 {
			return time.Unix(n, 0).In(loc), true
		}
		for _, l := range [...]string{
			time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02",
			"02.01.2006 15:04:05", "02.01.2006 15:04", "02.01.2006",
		} {
			if t, err := time.ParseInLocation(l, s, loc); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// asBool converts v to a checkbox value.
func (v value) asBool() (bool, bool) {
	switch v.k {
	case kBool:
		return v.f != 0, true
	case kNumber:
		if v.f == 0 || v.f == 1 {
			return v.f == 1, true
		}
		return false, false
	case kString:
		switch strings.ToLower(strings.TrimSpace(v.s)) {
		case "1", "true", "y", "yes", "on", "да", "д", "+":
			return true, true
		case "0", "false", "n", "no", "off", "нет", "н", "-":
			return false, true
		}
	}
	return false, false
}

// truncateRunes cuts s to at most n runes; ok is false when it had to cut.
func truncateRunes(s string, n int) (string, bool) {
	if n <= 0 || len(s) <= n {
		return s, true
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos], false
		}
		i++
	}
	return s, true
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// containsFold reports whether sub is within s, Unicode case-insensitively,
// without allocating.
func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	for i := range s {
		if hasPrefixFold(s[i:], sub) {
			return true
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		r1, n1 := utf8.DecodeRuneInString(s)
		r2, n2 := utf8.DecodeRuneInString(prefix)
		if r1 != r2 && unicode.ToLower(r1) != unicode.ToLower(r2) {
			return false
		}
		s, prefix = s[n1:], prefix[n2:]
	}
	return true
}
