package amocrm

import (
	"context"
	"math/rand/v2"
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
// delay), repeated 429s or a 403 block (d is the circuit's cool-down) — and
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
		l.mu.Unlock()
		// Several waiters may wake together; one takes the slot, the others
		// wait for the next one.
		if err := sleepCtx(ctx, at.Sub(now)); err != nil {
			return err
		}
	}
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
		if err := sleepCtx(ctx, d); err != nil {
			return err
		}
	}
	return l.lim.Wait(ctx)
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

// circuit stops all requests of an account after a block.
type circuit struct {
	mu          sync.Mutex
	consecutive int // consecutive 429 answers
	openUntil   time.Time
	status      int
}

// BlockPolicy says when the client stops calling an account.
type BlockPolicy struct {
	// Max429 is how many consecutive 429 answers (across calls, reset by any
	// other answer) open the circuit. Defaults to 4.
	Max429 int
	// Cooldown429 is the pause after repeated 429. Defaults to 1 minute.
	Cooldown429 time.Duration
	// Cooldown403 is the pause after a 403 HTML block. amoCRM lifts such
	// blocks only through support, so probing is rare. Defaults to 15 minutes.
	Cooldown403 time.Duration
}

func (p BlockPolicy) withDefaults() BlockPolicy {
	if p.Max429 <= 0 {
		p.Max429 = 4
	}
	if p.Cooldown429 <= 0 {
		p.Cooldown429 = time.Minute
	}
	if p.Cooldown403 <= 0 {
		p.Cooldown403 = 15 * time.Minute
	}
	return p
}

func (c *circuit) check(now time.Time) (until time.Time, status int, open bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Before(c.openUntil) {
		return c.openUntil, c.status, true
	}
	return time.Time{}, 0, false
}

// record429 counts a 429 and reports whether the circuit opened.
func (c *circuit) record429(now time.Time, p BlockPolicy) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.consecutive++
	if c.consecutive >= p.Max429 {
		c.consecutive = 0
		c.openUntil = now.Add(p.Cooldown429)
		c.status = 429
		return c.openUntil, true
	}
	return time.Time{}, false
}

func (c *circuit) block(now time.Time, d time.Duration, status int) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.consecutive = 0
	if u := now.Add(d); u.After(c.openUntil) {
		c.openUntil = u
	}
	c.status = status
	return c.openUntil
}

func (c *circuit) success() {
	c.mu.Lock()
	c.consecutive = 0
	c.mu.Unlock()
}
