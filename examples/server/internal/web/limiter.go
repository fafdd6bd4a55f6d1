package web

import (
	"sync"
	"time"
)

// limiter allows at most max events per key within window, remembering at
// most size keys (the oldest entries go first when full). It lives in the
// process: several instances each count on their own.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	size   int
	hits   map[string][]time.Time
}

func newLimiter(max int, window time.Duration, size int) *limiter {
	return &limiter{max: max, window: window, size: size, hits: map[string][]time.Time{}}
}

// allow records an event of key at now and reports whether it is within
// the limit; refused events are not recorded. retry is when the next one
// will be allowed.
func (l *limiter) allow(key string, now time.Time) (ok bool, retry time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	hs := l.live(l.hits[key], now)
	if len(hs) >= l.max {
		l.hits[key] = hs
		return false, hs[0].Add(l.window)
	}
	if _, known := l.hits[key]; !known && len(l.hits) >= l.size {
		l.evict(now)
	}
	l.hits[key] = append(hs, now)
	return true, time.Time{}
}

// live drops the events of hs older than the window.
func (l *limiter) live(hs []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(hs) && now.Sub(hs[i]) >= l.window {
		i++
	}
	return hs[i:]
}

// evict drops the keys with no live event, then, if still full, the key
// whose last event is oldest.
func (l *limiter) evict(now time.Time) {
	var oldest string
	var at time.Time
	for k, hs := range l.hits {
		hs = l.live(hs, now)
		if len(hs) == 0 {
			delete(l.hits, k)
			continue
		}
		if last := hs[len(hs)-1]; oldest == "" || last.Before(at) {
			oldest, at = k, last
		}
	}
	if len(l.hits) >= l.size && oldest != "" {
		delete(l.hits, oldest)
	}
}
