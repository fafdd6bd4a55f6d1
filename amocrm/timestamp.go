package amocrm

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Timestamp is a Unix time in seconds, the way amoCRM represents dates
// (created_at, updated_at, complete_till, date custom fields, ...).
//
// Decoding is lenient: a JSON number, a numeric string, an RFC 3339 or
// "2006-01-02[ 15:04:05]" string and null are all accepted; null and ""
// decode to 0. It encodes as a JSON number. The zero value means "not set"
// and is dropped by omitempty.
type Timestamp int64

// TimestampOf converts t to a Timestamp; the zero time.Time gives 0.
func TimestampOf(t time.Time) Timestamp {
	if t.IsZero() {
		return 0
	}
	return Timestamp(t.Unix())
}

// Time returns ts as a time.Time in UTC; 0 gives the zero time.Time.
func (ts Timestamp) Time() time.Time {
	if ts == 0 {
		return time.Time{}
	}
	return time.Unix(int64(ts), 0).UTC()
}

// IsZero reports whether ts is unset.
func (ts Timestamp) IsZero() bool { return ts == 0 }

// UnmarshalJSON implements json.Unmarshaler leniently (see Timestamp).
func (ts *Timestamp) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*ts = 0
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		t, ok := parseTimeString(s)
		if !ok {
			// Unparseable dates are not worth failing a whole page for.
			*ts = 0
			return nil
		}
		*ts = Timestamp(t)
		return nil
	}
	if b[0] == 't' || b[0] == 'f' { // booleans have been seen for "no date"
		*ts = 0
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*ts = Timestamp(int64(f))
	return nil
}

// parseTimeString parses the string date forms amoCRM uses into Unix seconds.
func parseTimeString(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return int64(f), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02", "02.01.2006 15:04:05", "02.01.2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix(), true
		}
	}
	return 0, false
}

// flexInt decodes a JSON number, a numeric string or null into an int.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	v, err := parseFlexInt(b)
	*n = flexInt(v)
	return err
}

func parseFlexInt(b []byte) (int, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" || string(b) == `""` || string(b) == "false" {
		return 0, nil
	}
	if string(b) == "true" {
		return 1, nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, err
		}
		b = []byte(strings.TrimSpace(s))
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		return int(n), nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, err
	}
	return int(f), nil
}

// RequestIDs is the request_id echo of a batch result. amoCRM sends a
// string for plain batches and an array for /leads/complex (several ids when
// leads were merged); both decode into a slice.
type RequestIDs []string

// UnmarshalJSON implements json.Unmarshaler for a string, number, array or null.
func (r *RequestIDs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*r = nil
		return nil
	case b[0] == '[':
		var raw []json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		out := make(RequestIDs, 0, len(raw))
		for _, x := range raw {
			out = append(out, rawScalarString(x))
		}
		*r = out
		return nil
	default:
		*r = RequestIDs{rawScalarString(b)}
		return nil
	}
}

// rawScalarString renders a JSON scalar as a Go string ("x" → x, 12 → 12).
func rawScalarString(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		// Fast path: no escapes, valid UTF-8 — the text between the quotes.
		if len(b) >= 2 && b[len(b)-1] == '"' {
			if in := b[1 : len(b)-1]; bytes.IndexByte(in, '\\') < 0 && bytes.IndexByte(in, '"') < 0 && utf8.Valid(in) {
				return string(in)
			}
		}
		var s string
		if json.Unmarshal(b, &s) == nil {
			return s
		}
	}
	if string(b) == "null" {
		return ""
	}
	return string(b)
}
