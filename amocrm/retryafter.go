package amocrm

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter caps a Retry-After wait. amoCRM does not send the header
// today; a value beyond this (or one that would overflow time.Duration) is
// taken as this much rather than a wait of years or a negative one.
const maxRetryAfter = time.Hour

// parseRetryAfter reads a Retry-After value (delay-seconds or an HTTP date)
// as a wait in [0, maxRetryAfter]; an unreadable value or a date in the
// past gives 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil || isRangeErr(err) {
		switch {
		case n <= 0:
			return 0
		case n >= int64(maxRetryAfter/time.Second):
			return maxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return 0
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
