package amocrmsink

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/chatterhq/sdk/amocrm"
)

// maxRateEvents bounds the 429 timestamps RequestStats keeps.
const maxRateEvents = 4096

// RequestStats counts amoCRM answers that matter to the diagnostics: 429s
// (the warning before a block) and blocks, and the calls of a shared
// BudgetLimiter to its store. Every HTTP attempt reaches it through
// Attach, which New (Config.Stats) and NewClient (ClientConfig.Stats, also
// given to the BudgetLimiter) call; the Sink also feeds it the errors of
// its deliveries. It is safe for concurrent use.
type RequestStats struct {
	now func() time.Time

	mu           sync.Mutex
	rate429      []time.Time // ring of recent 429 answers
	next         int
	total        int64
	total429     int64
	blockedUntil time.Time
	blockStatus  int

	attached       map[*amocrm.Client]bool // see Attach
	budgetCalls    int64                   // rate-budget store calls (Reserve, Penalize)
	budgetFailures int64
	budgetErr      error // the latest failure
	budgetErrAt    time.Time
}

// NewRequestStats returns empty statistics read by now (nil: time.Now).
func NewRequestStats(now func() time.Time) *RequestStats {
	if now == nil {
		now = time.Now
	}
	return &RequestStats{now: now}
}

// Attach makes c report every HTTP attempt to r (amocrm.Client.Observe),
// once however often it is called for c: NewClient attaches
// ClientConfig.Stats, New attaches Config.Stats, and the same value given
// to both counts each answer once.
func (r *RequestStats) Attach(c *amocrm.Client) {
	if c == nil {
		return
	}
	r.mu.Lock()
	if r.attached == nil {
		r.attached = map[*amocrm.Client]bool{}
	}
	done := r.attached[c]
	r.attached[c] = true
	r.mu.Unlock()
	if !done {
		c.Observe(r.Observe)
	}
}

// Observe records one HTTP attempt; Attach feeds it from a client.
func (r *RequestStats) Observe(info amocrm.RequestInfo) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total++
	if info.Status == http.StatusTooManyRequests {
		r.add429(now)
	}
}

func (r *RequestStats) add429(at time.Time) {
	r.total429++
	if len(r.rate429) < maxRateEvents {
		r.rate429 = append(r.rate429, at)
		return
	}
	r.rate429[r.next] = at
	r.next = (r.next + 1) % maxRateEvents
}

// observeErr records a delivery error: a block and its end.
func (r *RequestStats) observeErr(err error) {
	var be *amocrm.BlockedError
	if !errors.As(err, &be) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if be.Until.After(r.blockedUntil) {
		r.blockedUntil, r.blockStatus = be.Until, be.StatusCode
	}
}

// Count429 returns how many 429 answers arrived within window before now.
func (r *RequestStats) Count429(window time.Duration) int {
	since := r.now().Add(-window)
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, t := range r.rate429 {
		if t.After(since) {
			n++
		}
	}
	return n
}

// Totals returns the number of attempts and of 429 answers observed.
func (r *RequestStats) Totals() (requests, tooMany int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total, r.total429
}

// BlockedUntil returns the end of the latest block seen (zero if none) and
// the status that caused it (403 or 429).
func (r *RequestStats) BlockedUntil() (time.Time, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.blockedUntil, r.blockStatus
}

// observeBudget records the outcome of one rate-budget store call. It does
// nothing on a nil RequestStats.
func (r *RequestStats) observeBudget(at time.Time, err error) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.budgetCalls++
	if err != nil {
		r.budgetFailures++
		r.budgetErr, r.budgetErrAt = err, at
	}
}

// BudgetCalls returns how many store calls a BudgetLimiter reporting here
// made and how many failed, with the time and error of the latest failure
// (zero and nil when none failed). No calls means no shared budget feeds these
// statistics.
func (r *RequestStats) BudgetCalls() (calls, failures int64, lastAt time.Time, lastErr error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.budgetCalls, r.budgetFailures, r.budgetErrAt, r.budgetErr
}
