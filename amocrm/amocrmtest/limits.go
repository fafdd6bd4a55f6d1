package amocrmtest

import (
	"cmp"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Rate limit defaults.
const (
	DefaultPerSecond   = 7                // requests per second per account
	DefaultBlockAfter  = 20               // 429 answers within DefaultBlockWindow that trigger a block
	DefaultBlockWindow = time.Minute      // window over which 429 answers are counted
	DefaultBlockFor    = 15 * time.Minute // how long a block lasts
)

// RateLimit configures the account rate limit and the block that follows repeated
// violations. Requests to /api/ are counted over a sliding one second window of
// the server clock; a request over PerSecond is answered 429 with an HTML body and
// is not counted. When BlockAfter such 429 answers happen within BlockWindow, the
// account is blocked: every request, including /oauth2/access_token, is answered
// 403 with an HTML body until BlockFor has passed (or Unblock is called).
type RateLimit struct {
	PerSecond   int           // defaults to DefaultPerSecond; negative disables the limit
	BlockAfter  int           // defaults to DefaultBlockAfter; negative disables blocking
	BlockWindow time.Duration // defaults to DefaultBlockWindow
	BlockFor    time.Duration // defaults to DefaultBlockFor
}

func (rl RateLimit) withDefaults() RateLimit {
	rl.PerSecond = cmp.Or(rl.PerSecond, DefaultPerSecond)
	rl.BlockAfter = cmp.Or(rl.BlockAfter, DefaultBlockAfter)
	rl.BlockWindow = cmp.Or(rl.BlockWindow, DefaultBlockWindow)
	rl.BlockFor = cmp.Or(rl.BlockFor, DefaultBlockFor)
	return rl
}

type rateState struct {
	admitted     []time.Time // admitted /api/ requests within the last second
	violations   []time.Time // 429 answers within BlockWindow
	blockedUntil time.Time
}

// admit decides whether a request gets through: 0, 403 (blocked) or 429.
// Called with s.mu held.
func (s *Server) admit(now time.Time, isAPI bool) int {
	rs := &s.rl
	if now.Before(rs.blockedUntil) {
		return http.StatusForbidden
	}
	if !isAPI || s.limit.PerSecond < 0 {
		return 0
	}
	cut := now.Add(-time.Second)
	rs.admitted = slices.DeleteFunc(rs.admitted, func(t time.Time) bool { return !t.After(cut) })
	if len(rs.admitted) < s.limit.PerSecond {
		rs.admitted = append(rs.admitted, now)
		return 0
	}
	if s.limit.BlockAfter > 0 {
		wcut := now.Add(-s.limit.BlockWindow)
		rs.violations = slices.DeleteFunc(rs.violations, func(t time.Time) bool { return !t.After(wcut) })
		rs.violations = append(rs.violations, now)
		if len(rs.violations) >= s.limit.BlockAfter {
			rs.blockedUntil = now.Add(s.limit.BlockFor)
			rs.violations = nil
			s.log.Warn("amocrmtest: account blocked", slog.Time("until", rs.blockedUntil))
		}
	}
	return http.StatusTooManyRequests
}

// Blocked reports whether the account is blocked (answering 403 to everything)
// and until when.
func (s *Server) Blocked() (bool, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now().Before(s.rl.blockedUntil), s.rl.blockedUntil
}

// Block blocks the account now for d, as repeated violations would: every
// request, /oauth2/access_token included, is answered 403 with an HTML body
// until d has passed (or Unblock is called).
func (s *Server) Block(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rl.blockedUntil = s.now().Add(d)
	s.log.Warn("amocrmtest: account blocked", slog.Time("until", s.rl.blockedUntil))
}

// Unblock lifts a block and forgets counted violations, like a ticket to amoCRM
// support would.
func (s *Server) Unblock() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rl = rateState{}
}

// SetRateLimit replaces the rate limit configuration; see RateLimit.
func (s *Server) SetRateLimit(rl RateLimit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = rl.withDefaults()
}

// Fault describes an injected failure. A request matches when its method equals
// Method (any if empty) and its path starts with PathPrefix (any if empty). Each
// matching request consumes one of Count (then the fault is removed) or, when Count
// is 0, fails with probability Fraction drawn from the seeded random source (see
// WithFaultSeed); with both zero every matching request fails.
type Fault struct {
	Method     string
	PathPrefix string

	// Latency delays the response (real time, not the server clock). When the
	// client gives up first the request is abandoned without being applied.
	Latency time.Duration

	// Status is the status answered instead of the real response, with an HTML
	// gateway body (500, 502, 503, 504...). 0 means no status override (use with
	// Latency alone).
	Status int

	// ApplyThenFail makes the server apply the request (the write happens, state
	// changes) and then answer Status instead of the real response, like a gateway
	// timing out after the backend committed. Status defaults to 504.
	ApplyThenFail bool

	Count    int
	Fraction float64
}

type faultEntry struct {
	Fault
	left int // remaining count when Count > 0
	id   int
}

// InjectFault adds a fault and returns a function that removes it. Faults are
// checked in the order they were added; the first match applies.
func (s *Server) InjectFault(f Fault) (remove func()) {
	if f.ApplyThenFail && f.Status == 0 {
		f.Status = http.StatusGatewayTimeout
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultSeq++
	id := s.faultSeq
	s.faults = append(s.faults, &faultEntry{Fault: f, left: f.Count, id: id})
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.faults = slices.DeleteFunc(s.faults, func(e *faultEntry) bool { return e.id == id })
	}
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the fault that applies to the request, if any.
func (s *Server) takeFault(method, path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.faults {
		if e.Method != "" && !strings.EqualFold(e.Method, method) {
			continue
		}
		if e.PathPrefix != "" && !strings.HasPrefix(path, e.PathPrefix) {
			continue
		}
		if e.Count > 0 {
			e.left--
			if e.left <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			f := e.Fault
			return &f
		}
		if e.Fraction > 0 && s.rng.Float64() >= e.Fraction {
			continue
		}
		f := e.Fault
		return &f
	}
	return nil
}

// Request is an entry of the request log.
type Request struct {
	Method       string
	Path         string
	Query        string // raw query string
	Status       int
	Time         time.Time // server clock when the request arrived
	BodySize     int       // request body size in bytes
	ResponseSize int       // response body size in bytes
	Body         []byte    // request body
	Header       http.Header
}

func (s *Server) record(r *http.Request, body []byte, rec *recorder, now time.Time) {
	h := r.Header.Clone()
	if h.Get("Authorization") != "" {
		h.Set("Authorization", "[redacted]")
	}
	e := Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: rec.status, Time: now,
		BodySize: len(body), ResponseSize: rec.size, Body: body, Header: h,
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, e)
	s.mu.Unlock()
	s.log.Debug("amocrmtest: request", slog.String("method", e.Method), slog.String("path", e.Path),
		slog.Int("status", e.Status), slog.Int("body_size", e.BodySize))
}

// Requests returns the request log, oldest first. The Authorization header is
// redacted.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// CountRequests counts logged requests with the method (any if empty) whose path
// starts with pathPrefix.
func (s *Server) CountRequests(method, pathPrefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.reqs {
		if (method == "" || strings.EqualFold(method, e.Method)) && strings.HasPrefix(e.Path, pathPrefix) {
			n++
		}
	}
	return n
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}
