package amocrm

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultRate is amoCRM's documented limit: 7 requests per second per account.
const DefaultRate = 7

// DefaultInterval is the default limiter's minimum gap between the starts of
// two requests of one client: 1/7 s plus a 5 ms guard, so at most ≈6.76
// requests per second (96.6% of DefaultRate).
//
// Why not a token bucket at 7/s: amoCRM (and amocrmtest) count requests over a
// sliding one-second window by ARRIVAL time. A token bucket schedules sends
// at exact multiples of 1/7 s, and a send that starts late (a busy scheduler,
// a slow previous request) lets the next one catch up, so the server can see
// 8 arrivals within one second and answer 429 — measured: a few 429s in every
// 4-second run at 7/s burst 1. The interval limiter measures each gap from the
// previous request's actual start, so lateness is never caught up, and the
// guard absorbs up to 7 × 5 ms = 35 ms of arrival jitter within a window. It
// also never bursts, which keeps a leaky-bucket gateway (nginx limit_req)
// happy. See the amocrm section of BENCHMARKS.md for the measurements.
const DefaultInterval = time.Second/DefaultRate + 5*time.Millisecond

// Limiter paces the requests of one amoCRM account.
//
// Wait blocks until a request may be sent or ctx ends (returning ctx's
// error); any other error fails the request before it is sent. Throttled
// tells the limiter that amoCRM pushed back — a 429 (d is the backoff
// delay), repeated 429s or a 403 block (d is the time to the next probe) — and
// that no request should be sent for d. A limiter shared between processes
// (amocrmsink's budget limiter: a GCRA row in the chatter store) moves the
// shared clock so that every instance pauses; an error from Throttled means
// the pause may not have reached the other instances (the client logs it
// and still backs off itself). Implementations must be safe for concurrent
// use.
type Limiter interface {
	Wait(ctx context.Context) error
	Throttled(ctx context.Context, d time.Duration) error
}

// NewLimiter returns the in-process default Limiter: rps requests per second
// with the given burst (golang.org/x/time/rate), plus a pause honoured after
// Throttled. Use one per account; pass the same value to several clients of
// one account with WithLimiter.
func NewLimiter(rps float64, burst int) Limiter {
	if burst < 1 {
		burst = 1
	}
	return &rateLimiter{lim: rate.NewLimiter(rate.Limit(rps), burst), now: time.Now}
}

// NewIntervalLimiter returns a Limiter that starts requests at least interval
// apart, measured from when the previous request actually started: a request
// that starts late never lets the next one catch up (unlike a token bucket),
// and there are no bursts. It honours Throttled like NewLimiter. NewClient
// uses NewIntervalLimiter(DefaultInterval) by default; interval must be
// positive (a smaller value is treated as DefaultInterval).
func NewIntervalLimiter(interval time.Duration) Limiter {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &intervalLimiter{interval: interval, now: time.Now}
}

type intervalLimiter struct {
	interval time.Duration
	now      func() time.Time

	mu          sync.Mutex
	last        time.Time // start of the previous request
	pausedUntil time.Time
}

func (l *intervalLimiter) Wait(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.mu.Lock()
		now := l.now()
		at := l.pausedUntil
		if !l.last.IsZero() {
			if next := l.last.Add(l.interval); next.After(at) {
				at = next
			}
		}
		if !now.Before(at) {
			l.last = now
			l.mu.Unlock()
			return nil
		}
		paused := l.pausedUntil
		l.mu.Unlock()
		if err := pastDeadline(ctx, paused, at, l.now); err != nil {
			return err
		}
		// Several waiters may wake together; one takes the slot, the others
		// wait for the next one.
		if err := sleepCtx(ctx, at.Sub(now)); err != nil {
			return err
		}
	}
}

// Resume implements Resumer.
func (l *intervalLimiter) Resume(context.Context) error {
	l.mu.Lock()
	l.pausedUntil = time.Time{}
	l.mu.Unlock()
	return nil
}

func (l *intervalLimiter) Throttled(_ context.Context, d time.Duration) error {
	until := l.now().Add(d)
	l.mu.Lock()
	if until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
	l.mu.Unlock()
	return nil
}

// Unlimited returns a Limiter that never waits (for tests and for callers
// that pace requests themselves).
func Unlimited() Limiter { return unlimited{} }

type unlimited struct{}

func (unlimited) Wait(ctx context.Context) error                 { return ctx.Err() }
func (unlimited) Throttled(context.Context, time.Duration) error { return nil }

type rateLimiter struct {
	lim *rate.Limiter
	now func() time.Time

	mu          sync.Mutex
	pausedUntil time.Time
}

func (l *rateLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	until := l.pausedUntil
	l.mu.Unlock()
	if d := until.Sub(l.now()); d > 0 {
		if err := pastDeadline(ctx, until, until, l.now); err != nil {
			return err
		}
		if err := sleepCtx(ctx, d); err != nil {
			return err
		}
	}
	return l.lim.Wait(ctx)
}

// Resume implements Resumer.
func (l *rateLimiter) Resume(context.Context) error {
	l.mu.Lock()
	l.pausedUntil = time.Time{}
	l.mu.Unlock()
	return nil
}

func (l *rateLimiter) Throttled(_ context.Context, d time.Duration) error {
	until := l.now().Add(d)
	l.mu.Lock()
	if until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
	l.mu.Unlock()
	return nil
}

// Resumer is implemented by a Limiter whose pause (after Throttled) can be
// ended early: Client.Unblock calls it when the account answers again.
type Resumer interface {
	Resume(ctx context.Context) error
}

// pastDeadline returns a *PauseError when a request must wait for a pause
// (paused) and its slot (at) comes after ctx's deadline: the caller learns
// at once instead of sleeping into the deadline.
func pastDeadline(ctx context.Context, paused, at time.Time, now func() time.Time) error {
	if !paused.After(now()) {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(at) {
		return &PauseError{Until: at, now: now}
	}
	return nil
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff is the retry schedule for 429 and, for reads, 5xx responses and
// transport errors: exponential from Base, capped at Max, with "equal
// jitter" (half fixed, half random).
type Backoff struct {
	// Base is the first delay. Defaults to 1s.
	Base time.Duration
	// Max caps a delay. Defaults to 30s.
	Max time.Duration
	// Retries is the number of retries after the first attempt. Defaults to 3.
	Retries int
}

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = time.Second
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	if b.Retries == 0 {
		b.Retries = 3
	}
	if b.Retries < 0 {
		b.Retries = 0
	}
	return b
}

// delay returns the wait before retry n (0-based).
func (b Backoff) delay(n int, jitter func() float64) time.Duration {
	d := b.Base
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	return half + time.Duration(float64(half)*jitter())
}

func defaultJitter() float64 { return rand.Float64() }

// ProbeRatio sets how often an open circuit probes the account: the gap
// between two probes is the block's age so far divided by ProbeRatio (within
// BlockPolicy.ProbeMin and ProbeMax), so requests resume at most about 1/30
// of the block's length after amoCRM lifts it, and a block that lasts hours
// costs a few probes an hour.
const ProbeRatio = 30

// BlockPolicy says when the client stops calling an account (opens the
// circuit) and how it finds out that the account answers again: it probes
// — lets one request through (Client.Probe sends a cheap one) — and closes
// the circuit on any answer other than 429 or the 403 block page.
type BlockPolicy struct {
	// Max429 is how many consecutive 429 answers (across calls, reset by a
	// success) open the circuit. Defaults to 4.
	Max429 int
	// Cooldown429 is the wait before the first probe after repeated 429.
	// Defaults to 1 minute.
	Cooldown429 time.Duration
	// ProbeMin is the wait before the first probe after a 403 block, and
	// the shortest gap between two probes. Defaults to 2 seconds.
	ProbeMin time.Duration
	// ProbeMax caps the gap between two probes (see ProbeRatio). Defaults
	// to 5 minutes.
	ProbeMax time.Duration
}

func (p BlockPolicy) withDefaults() BlockPolicy {
	if p.Max429 <= 0 {
		p.Max429 = 4
	}
	if p.Cooldown429 <= 0 {
		p.Cooldown429 = time.Minute
	}
	if p.ProbeMin <= 0 {
		p.ProbeMin = 2 * time.Second
	}
	if p.ProbeMax <= 0 {
		p.ProbeMax = 5 * time.Minute
	}
	p.ProbeMax = max(p.ProbeMax, p.ProbeMin)
	return p
}

// ProbeGap is the wait before the next probe of a circuit open for age.
func (p BlockPolicy) ProbeGap(age time.Duration) time.Duration {
	p = p.withDefaults()
	return min(max(age/ProbeRatio, p.ProbeMin), p.ProbeMax)
}

// circuit stops all requests of an account after a block, and lets one
// request through (a probe) when the next probe is due.
type circuit struct {
	mu          sync.Mutex
	consecutive int       // consecutive 429 answers
	open        bool      // requests are refused, but for a probe
	since       time.Time // when the circuit opened
	next        time.Time // when the next probe may start
	probing     bool      // a probe is in flight
	status      int       // 403 or 429
	waiters     map[uint64]context.CancelFunc
	seq         uint64
}

// admit decides whether a request may be sent now: nil, or the
// *BlockedError to return. probe says the request is the circuit's probe
// (or force asks for one whatever the schedule); its answer closes or
// re-opens the circuit, and abandon must be called when it gets none.
func (c *circuit) admit(now time.Time, p BlockPolicy, force bool) (probe bool, blocked *BlockedError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.open {
		return force, nil
	}
	if c.probing || (!force && now.Before(c.next)) {
		until := c.next
		if c.probing || !until.After(now) {
			until = now.Add(p.ProbeMin)
		}
		return false, &BlockedError{StatusCode: c.status, Until: until, Since: c.since}
	}
	c.probing = true
	return true, nil
}

// abandon ends a probe that got no answer: the next one follows the
// schedule.
func (c *circuit) abandon(now time.Time, p BlockPolicy) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open && c.probing {
		c.probing = false
		c.next = now.Add(p.ProbeGap(now.Sub(c.since)))
	}
}

// record429 counts a 429 and reports whether the circuit opened (or, for a
// probe, stays open) and until when.
func (c *circuit) record429(now time.Time, p BlockPolicy) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.consecutive++
	if c.open {
		// A probe (or a request granted before the circuit opened).
		c.probing = false
		c.next = later(c.next, now.Add(p.ProbeGap(now.Sub(c.since))))
		return c.next, true
	}
	if c.consecutive >= p.Max429 {
		c.consecutive = 0
		c.openLocked(now, now.Add(p.Cooldown429), http.StatusTooManyRequests)
		return c.next, true
	}
	return time.Time{}, false
}

// block opens the circuit after a 403 block page (or keeps it open after a
// probe got one) and returns when the next probe is due.
func (c *circuit) block(now time.Time, p BlockPolicy, status int) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.consecutive = 0
	if !c.open {
		c.openLocked(now, now.Add(p.ProbeMin), status)
		return c.next
	}
	c.probing = false
	c.status = status
	c.next = later(c.next, now.Add(p.ProbeGap(now.Sub(c.since))))
	return c.next
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// openLocked opens the circuit and wakes the requests waiting for a slot:
// they return the *BlockedError instead of sleeping toward their deadline.
func (c *circuit) openLocked(now, next time.Time, status int) {
	c.open, c.since, c.next, c.status, c.probing = true, now, next, status, false
	for id, cancel := range c.waiters {
		cancel()
		delete(c.waiters, id)
	}
}

// answered records an answer other than 429 or the block page: amoCRM
// answers, so an open circuit closes. ok resets the 429 count.
func (c *circuit) answered(ok bool) (closed bool, since time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok {
		c.consecutive = 0
	}
	if !c.open {
		return false, time.Time{}
	}
	since = c.since
	c.open, c.probing, c.next = false, false, time.Time{}
	return true, since
}

// reset closes the circuit (Client.Unblock).
func (c *circuit) reset() (was bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	was = c.open
	c.open, c.probing, c.next, c.consecutive = false, false, time.Time{}, 0
	return was
}

// state returns the circuit's state for Client.Circuit.
func (c *circuit) state() CircuitState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.open {
		return CircuitState{}
	}
	return CircuitState{Open: true, StatusCode: c.status, Since: c.since, NextProbe: c.next, Probing: c.probing}
}

// watch returns ctx, cancelled as well when the circuit opens, and the func
// that stops watching.
func (c *circuit) watch(ctx context.Context) (context.Context, func()) {
	wctx, cancel := context.WithCancel(ctx)
	c.mu.Lock()
	if c.waiters == nil {
		c.waiters = map[uint64]context.CancelFunc{}
	}
	c.seq++
	id := c.seq
	c.waiters[id] = cancel
	c.mu.Unlock()
	return wctx, func() {
		c.mu.Lock()
		delete(c.waiters, id)
		c.mu.Unlock()
		cancel()
	}
}

// CircuitState is what Client.Circuit reports.
type CircuitState struct {
	// Open says requests are refused (a *BlockedError) until a probe gets
	// an answer.
	Open bool
	// StatusCode is what opened it: 403 (the block page) or 429.
	StatusCode int
	// Since is when it opened.
	Since time.Time
	// NextProbe is when a request (or Client.Probe) may probe the account.
	NextProbe time.Time
	// Probing says a probe is in flight.
	Probing bool
}
