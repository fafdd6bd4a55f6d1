package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as text: Go's form ("90s", "1h30m")
// with days allowed in front ("7d", "1d12h"). Its JSON form is that text.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String renders the duration, in days when it is a whole number of days
// ("7d"), else in Go's form ("1h30m0s").
func (d Duration) String() string {
	td := time.Duration(d)
	if td > 0 && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	return td.String()
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

var errDuration = errors.New(`want a duration such as 30s, 5m, 2h or 7d`)

// ParseDuration parses Go's duration form with an optional leading number
// of days: "7d", "1d12h", "90s". Negative durations are accepted (validation
// decides whether they make sense); "0" is zero.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errDuration
	}
	neg := false
	rest := s
	if rest[0] == '-' || rest[0] == '+' {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	var days int64
	if i := strings.IndexByte(rest, 'd'); i > 0 {
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64/int64(24*time.Hour) {
			return 0, errDuration
		}
		days, rest = n, rest[i+1:]
	}
	var td time.Duration
	if rest != "" {
		if rest[0] == '-' || rest[0] == '+' {
			return 0, errDuration
		}
		v, err := time.ParseDuration(rest)
		if err != nil {
			return 0, errDuration
		}
		td = v
	}
	dd := time.Duration(days) * 24 * time.Hour
	if td > math.MaxInt64-dd {
		return 0, errDuration
	}
	td += dd
	if neg {
		td = -td
	}
	return Duration(td), nil
}
