package amocrm

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

const html403 = "<html><head><title>403 Forbidden</title></head><body><center><h1>403 Forbidden</h1></center><hr><center>nginx</center></body></html>"

// blockable is an amoCRM stand-in that answers the 403 block page while
// blocked, and counts requests.
type blockable struct {
	blocked atomic.Bool
	n       atomic.Int32
	delay   time.Duration
}

func (b *blockable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.n.Add(1)
	if b.delay > 0 {
		time.Sleep(b.delay)
	}
	if b.blocked.Load() {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(html403))
		return
	}
	if r.URL.Path == "/api/v4/account" {
		writeJSON(w, 200, `{"id": 1, "name": "example", "subdomain": "example"}`)
		return
	}
	writeJSON(w, 200, `{"_embedded": {"leads": []}}`)
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestProbeGap(t *testing.T) {
	t.Parallel()
	p := BlockPolicy{}
	got := map[time.Duration]time.Duration{}
	for _, age := range []time.Duration{0, time.Second, time.Minute, 3 * time.Minute, 30 * time.Minute, 10 * time.Hour} {
		got[age] = p.ProbeGap(age)
	}
	want := map[time.Duration]time.Duration{
		0: 2 * time.Second, time.Second: 2 * time.Second, time.Minute: 2 * time.Second,
		3 * time.Minute: 6 * time.Second, 30 * time.Minute: time.Minute, 10 * time.Hour: 5 * time.Minute,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ProbeGap by age (-want +got):\n%s", d)
	}
}

// TestCircuitProbesUntilTheBlockEnds: a 403 block opens the circuit; while
// the next probe is not due no request is sent; the request that comes when
// it is due is the probe; the first answer closes the circuit.
func TestCircuitProbesUntilTheBlockEnds(t *testing.T) {
	t.Parallel()
	srv := &blockable{}
	srv.blocked.Store(true)
	clk := &testClock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	b := setup(t, srv, WithClock(clk.now))
	t0 := clk.now()

	_, _, err := b.client.Leads.List(t.Context(), nil)
	var be *BlockedError
	require.ErrorAs(t, err, &be)
	if d := cmp.Diff([]any{403, t0.Add(2 * time.Second), t0}, []any{be.StatusCode, be.Until, be.Since}); d != "" {
		t.Errorf("first block (-want +got):\n%s", d)
	}
	require.EqualValues(t, 1, srv.n.Load())

	clk.add(time.Second)
	_, _, err = b.client.Leads.List(t.Context(), nil)
	require.ErrorAs(t, err, &be)
	require.EqualValues(t, 1, srv.n.Load(), "no request before the probe is due")

	// Minute 3 of the block: each probe that finds it blocked schedules
	// the next one a 30th of the block's age later.
	clk.add(3*time.Minute - time.Second)
	_, _, err = b.client.Leads.List(t.Context(), nil)
	require.ErrorAs(t, err, &be)
	require.EqualValues(t, 2, srv.n.Load(), "the due request is the probe")
	require.Equal(t, clk.now().Add(6*time.Second), be.Until, "next probe after 3 minutes blocked")
	st := b.client.Circuit()
	if d := cmp.Diff(CircuitState{Open: true, StatusCode: 403, Since: t0, NextProbe: clk.now().Add(6 * time.Second)}, st); d != "" {
		t.Errorf("circuit while blocked (-want +got):\n%s", d)
	}

	srv.blocked.Store(false)
	clk.add(6 * time.Second)
	_, _, err = b.client.Leads.List(t.Context(), nil)
	require.NoError(t, err, "the probe gets an answer: the circuit closes and the request succeeds")
	require.EqualValues(t, 3, srv.n.Load())
	require.Equal(t, CircuitState{}, b.client.Circuit())
	_, _, err = b.client.Leads.List(t.Context(), nil)
	require.NoError(t, err)
	require.EqualValues(t, 4, srv.n.Load())
}

// TestProbe: Client.Probe sends its request whatever the schedule, reports
// the block while it lasts and closes the circuit when amoCRM answers.
func TestProbe(t *testing.T) {
	t.Parallel()
	srv := &blockable{}
	b := setup(t, srv)
	require.NoError(t, b.client.Probe(t.Context()), "a probe of an account that answers")
	require.EqualValues(t, 1, srv.n.Load())

	srv.blocked.Store(true)
	var be *BlockedError
	require.ErrorAs(t, b.client.Probe(t.Context()), &be)
	require.True(t, b.client.Circuit().Open)
	require.ErrorAs(t, b.client.Probe(t.Context()), &be, "probing again at once, before the schedule")
	require.EqualValues(t, 3, srv.n.Load(), "Probe sends whatever the schedule, once, without retries")

	srv.blocked.Store(false)
	require.NoError(t, b.client.Probe(t.Context()))
	require.False(t, b.client.Circuit().Open)
	_, _, err := b.client.Leads.List(t.Context(), nil)
	require.NoError(t, err)
}

// TestUnblock: another process's probe found the account answering; this
// process's circuit and its limiter's pause end at once.
func TestUnblock(t *testing.T) {
	t.Parallel()
	srv := &blockable{}
	srv.blocked.Store(true)
	lim := NewIntervalLimiter(time.Millisecond)
	b := setup(t, srv, WithLimiter(lim), WithBlockPolicy(BlockPolicy{ProbeMin: time.Hour}))
	_, _, err := b.client.Leads.List(t.Context(), nil)
	var be *BlockedError
	require.ErrorAs(t, err, &be)
	srv.blocked.Store(false)
	require.True(t, b.client.Unblock(t.Context()))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, _, err = b.client.Leads.List(ctx, nil)
	require.NoError(t, err, "no circuit, no hour-long pause in the limiter")
	require.False(t, b.client.Unblock(t.Context()), "the circuit was closed")
}

// TestWaitersWakeWhenTheCircuitOpens: requests waiting in the limiter for
// their slot when a 403 opens the circuit return the *BlockedError at once;
// none sleeps toward the pause and its deadline, none is sent.
func TestWaitersWakeWhenTheCircuitOpens(t *testing.T) {
	t.Parallel()
	srv := &blockable{delay: 100 * time.Millisecond}
	srv.blocked.Store(true)
	b := setup(t, srv, WithLimiter(&queueLimiter{gap: time.Minute}), WithBlockPolicy(BlockPolicy{ProbeMin: time.Minute}))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, _, errs[i] = b.client.Leads.List(ctx, nil) })
	}
	wg.Wait()
	require.NoError(t, ctx.Err(), "every request returned before the deadline")
	kinds := map[string]int{}
	for _, err := range errs {
		var be *BlockedError
		switch {
		case errors.As(err, &be):
			kinds["blocked"]++
		default:
			kinds[err.Error()]++
		}
	}
	if d := cmp.Diff(map[string]int{"blocked": n}, kinds); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
	require.EqualValues(t, 1, srv.n.Load(), "one request reached the blocked account")
}

// TestPauseBeyondTheDeadline: a request whose slot comes after a pause that
// outlasts its deadline is refused at once with a *PauseError, not left to
// sleep into the deadline.
func TestPauseBeyondTheDeadline(t *testing.T) {
	t.Parallel()
	for name, lim := range map[string]Limiter{"interval": NewIntervalLimiter(time.Millisecond), "rate": NewLimiter(100, 1)} {
		require.NoError(t, lim.Throttled(t.Context(), time.Hour))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := lim.Wait(ctx)
		require.NoError(t, ctx.Err(), name)
		cancel()
		var pe *PauseError
		require.ErrorAs(t, err, &pe, name)
		require.InDelta(t, time.Hour.Seconds(), pe.RetryAfter().Seconds(), 5, name)
		require.Contains(t, pe.Message("ru"), "приостановлены", name)
		require.Contains(t, pe.Message("en"), "paused", name)
		require.NoError(t, lim.(Resumer).Resume(t.Context()))
		ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
		require.NoError(t, lim.Wait(ctx), "%s: no pause after Resume", name)
		cancel()
	}
}

// queueLimiter grants its first slot at once and each next one gap later
// (a long queue of a shared budget): a waiter sleeps until its slot or ctx's
// end.
type queueLimiter struct {
	gap  time.Duration
	mu   sync.Mutex
	next time.Time
}

func (l *queueLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.gap)
	l.mu.Unlock()
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (l *queueLimiter) Throttled(context.Context, time.Duration) error { return nil }
