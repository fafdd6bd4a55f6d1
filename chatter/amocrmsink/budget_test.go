package amocrmsink_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

// reservation is one Reserve call seen by spyBudget.
type reservation struct {
	At       time.Time // when the call was made
	Interval time.Duration
	Slot     time.Time
}

// spyBudget records the Reserve calls made to a RateBudget, can fail them,
// and can run a hook after each (to move a manual clock).
type spyBudget struct {
	chatter.RateBudget
	now func() time.Time

	mu        sync.Mutex
	calls     []reservation
	penalties []time.Time
	fail      error
	after     func(n int) // called after the n-th Reserve (1-based)
}

func (s *spyBudget) Reserve(ctx context.Context, ws, key string, interval time.Duration) (time.Time, error) {
	s.mu.Lock()
	fail, after := s.fail, s.after
	s.mu.Unlock()
	at := s.now()
	if fail != nil {
		return time.Time{}, fail
	}
	slot, err := s.RateBudget.Reserve(ctx, ws, key, interval)
	s.mu.Lock()
	s.calls = append(s.calls, reservation{At: at, Interval: interval, Slot: slot})
	n := len(s.calls)
	s.mu.Unlock()
	if after != nil {
		after(n)
	}
	return slot, err
}

func (s *spyBudget) Penalize(ctx context.Context, ws, key string, until time.Time) error {
	s.mu.Lock()
	fail := s.fail
	s.penalties = append(s.penalties, until)
	s.mu.Unlock()
	if fail != nil {
		return fail
	}
	return s.RateBudget.Penalize(ctx, ws, key, until)
}

func (s *spyBudget) reservations() []reservation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]reservation(nil), s.calls...)
}

func newBudget(t *testing.T, rb chatter.RateBudget, mod func(*amocrmsink.BudgetConfig)) *amocrmsink.BudgetLimiter {
	t.Helper()
	cfg := amocrmsink.BudgetConfig{Budget: rb, Workspace: ws, Account: "example"}
	if mod != nil {
		mod(&cfg)
	}
	l, err := amocrmsink.NewBudgetLimiter(cfg)
	require.NoError(t, err)
	return l
}

func TestNewBudgetLimiterConfig(t *testing.T) {
	t.Parallel()
	store := chattertest.NewMemStore()
	l := newBudget(t, store, func(c *amocrmsink.BudgetConfig) { c.Account = "  Example " })
	require.Equal(t, "amocrm:example", l.Key())
	for name, cfg := range map[string]amocrmsink.BudgetConfig{
		"no budget":         {Workspace: ws, Account: "a"},
		"no workspace":      {Budget: store, Account: "a"},
		"no account":        {Budget: store, Workspace: ws, Account: " "},
		"negative interval": {Budget: store, Workspace: ws, Account: "a", Interval: -time.Second},
	} {
		_, err := amocrmsink.NewBudgetLimiter(cfg)
		require.ErrorIs(t, err, chatter.ErrInvalid, name)
	}
}

// A pause one instance learns of (a 429, a block) reaches the others
// through the store: their next Wait gives up at once with a snoozing,
// rate_limited error instead of sleeping into its deadline.
func TestBudgetPauseReachesOtherInstances(t *testing.T) {
	t.Parallel()
	store := chattertest.NewMemStore()
	spyB := &spyBudget{RateBudget: store, now: time.Now}
	a := newBudget(t, store, nil)
	b := newBudget(t, spyB, nil)
	require.NoError(t, b.Wait(t.Context()), "an idle budget grants a slot at once")

	require.NoError(t, a.Throttled(t.Context(), time.Hour))
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	err := b.Wait(ctx)
	var we *amocrmsink.BudgetWaitError
	require.ErrorAs(t, err, &we)
	require.Equal(t, "example", we.Account)
	require.Greater(t, we.RetryAfter(), 59*time.Minute)
	require.Equal(t, chatter.ClassRateLimited, chatter.ClassOf(err))
	ra, ok := chatter.RetryAfter(err)
	require.True(t, ok)
	require.Greater(t, ra, 59*time.Minute)
	require.NotEmpty(t, we.Message("ru"))
	require.NotEmpty(t, we.Message("en"))

	// b now knows of the pause: it gives up without asking the store again.
	n := len(spyB.reservations())
	require.ErrorAs(t, b.Wait(ctx), &we)
	require.Len(t, spyB.reservations(), n)
	// a paused itself too.
	require.ErrorAs(t, a.Wait(ctx), &we)
}

// When the store fails, Wait returns its error (the request is not sent:
// per-process pacing would multiply the rate by the instances), Throttled
// says the pause was not shared but still pauses this process, and Stats
// counts the failures.
func TestBudgetStoreFailure(t *testing.T) {
	t.Parallel()
	errDB := errors.New("connection refused")
	spy := &spyBudget{RateBudget: chattertest.NewMemStore(), now: time.Now, fail: errDB}
	stats := amocrmsink.NewRequestStats(nil)
	l := newBudget(t, spy, func(c *amocrmsink.BudgetConfig) { c.Stats = stats })
	err := l.Wait(t.Context())
	require.ErrorIs(t, err, errDB)
	require.Contains(t, err.Error(), "example")
	err = l.Throttled(t.Context(), time.Hour)
	require.ErrorIs(t, err, errDB)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	var we *amocrmsink.BudgetWaitError
	require.ErrorAs(t, l.Wait(ctx), &we, "the local pause holds although the store failed")
	calls, failures, at, last := stats.BudgetCalls()
	require.Equal(t, int64(2), calls)
	require.Equal(t, int64(2), failures)
	require.ErrorIs(t, last, errDB)
	require.False(t, at.IsZero())

	// A cancelled caller is not a store failure.
	spy.mu.Lock()
	spy.fail = nil
	spy.mu.Unlock()
	l2 := newBudget(t, spy, func(c *amocrmsink.BudgetConfig) { c.Stats = amocrmsink.NewRequestStats(nil) })
	cctx, ccancel := context.WithCancel(t.Context())
	ccancel()
	require.ErrorIs(t, l2.Wait(cctx), context.Canceled)
}

// A request that starts late moves the schedule by the excess over the
// 10 ms guard (plus a store round trip), so the requests after it keep
// their distance; one more than an interval late leaves its slot unused (at
// most twice) and takes the next.
func TestBudgetLateStartMovesSchedule(t *testing.T) {
	t.Parallel()
	const interval = 100 * time.Millisecond
	for _, tc := range []struct {
		name      string
		late      time.Duration // how late the first Reserve answers
		intervals []time.Duration
		slots     []time.Duration // offsets of the granted slots from t0
	}{
		{"on time", 5 * time.Millisecond,
			[]time.Duration{interval, interval}, []time.Duration{0, interval}},
		// The store answers 50 ms after the slot: 40 ms over the guard,
		// plus the 50 ms the booking of the gap will take as well.
		{"late by 50ms", 50 * time.Millisecond,
			[]time.Duration{interval, 90 * time.Millisecond, interval}, []time.Duration{0, interval, 190 * time.Millisecond}},
		{"late by 250ms", 250 * time.Millisecond,
			// Slot 0 is missed by more than an interval and left unused; the
			// next one is granted when asked for, at 250 ms.
			[]time.Duration{interval, interval, interval},
			[]time.Duration{0, 250 * time.Millisecond, 350 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			clock := amocrmtest.NewManualClock(t0)
			spy := &spyBudget{RateBudget: chattertest.NewMemStore(chattertest.WithClock(clock.Now)), now: clock.Now}
			spy.after = func(n int) {
				if n == 1 {
					clock.Advance(tc.late)
				}
			}
			l := newBudget(t, spy, func(c *amocrmsink.BudgetConfig) { c.Interval = interval; c.Now = clock.Now })
			require.NoError(t, l.Wait(t.Context()))
			// The next Wait finds its slot in the future; move the clock
			// there when it asks, so it does not wait.
			spy.after = func(int) {
				calls := spy.reservations()
				if last := calls[len(calls)-1]; last.Slot.After(clock.Now()) {
					clock.Set(last.Slot)
				}
			}
			require.NoError(t, l.Wait(t.Context()))
			var intervals, slots []time.Duration
			for _, r := range spy.reservations() {
				intervals = append(intervals, r.Interval)
				slots = append(slots, r.Slot.Sub(t0))
			}
			if diff := cmp.Diff(tc.intervals, intervals); diff != "" {
				t.Errorf("reserved intervals (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.slots, slots); diff != "" {
				t.Errorf("granted slots (-want +got):\n%s", diff)
			}
		})
	}
}

// A process keeps at most one reservation waiting: its next Reserve is made
// only once the previous slot has come. Callers that give up while queued
// locally book nothing.
func TestBudgetOneReservationPerProcess(t *testing.T) {
	t.Parallel()
	spy := &spyBudget{RateBudget: chattertest.NewMemStore(), now: time.Now}
	l := newBudget(t, spy, func(c *amocrmsink.BudgetConfig) { c.Interval = 5 * time.Millisecond })
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for range 3 {
				require.NoError(t, l.Wait(t.Context()))
			}
		})
	}
	wg.Wait()
	var grants []reservation
	for _, r := range spy.reservations() {
		if r.Interval == 5*time.Millisecond {
			grants = append(grants, r)
		}
	}
	// 18 slots taken, plus any left unused by a caller that got to it
	// more than an interval late (a loaded machine).
	require.GreaterOrEqual(t, len(grants), 18)
	for i := 1; i < len(grants); i++ {
		require.False(t, grants[i].At.Before(grants[i-1].Slot),
			"reservation %d made at %v, before the previous slot %v", i, grants[i].At, grants[i-1].Slot)
	}

	// A caller waiting for a slot 300 ms ahead holds the process's turn; a
	// second caller queues behind it and gives up.
	slow := newBudget(t, spy, func(c *amocrmsink.BudgetConfig) { c.Interval = 300 * time.Millisecond })
	require.NoError(t, slow.Wait(t.Context()))
	n := len(spy.reservations())
	done := make(chan error, 1)
	go func() { done <- slow.Wait(t.Context()) }()
	for len(spy.reservations()) == n {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, slow.Wait(ctx), context.DeadlineExceeded)
	require.Len(t, spy.reservations(), n+1, "a caller that gave up in the local queue booked a slot")
	require.NoError(t, <-done)
}

// The limiter is what amocrm.Client uses: a 429 from amocrmtest reaches the
// store as a pause every instance sees.
func TestBudgetThrottledByClient429(t *testing.T) {
	t.Parallel()
	srv := amocrmtest.NewServer(t, amocrmtest.WithSeed(amocrmtest.DemoAccount),
		amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: 1, BlockAfter: -1}))
	store := chattertest.NewMemStore()
	spy := &spyBudget{RateBudget: store, now: time.Now}
	// Pacing far above the fake's 1/s: the second request gets a 429.
	l := newBudget(t, spy, func(c *amocrmsink.BudgetConfig) { c.Interval = time.Millisecond })
	c, err := amocrm.NewClient("example", amocrm.WithBaseURL(srv.URL), amocrm.WithLongLivedToken(srv.AccessToken()),
		amocrm.WithLimiter(l), amocrm.WithBackoff(amocrm.Backoff{Retries: -1}))
	require.NoError(t, err)
	_, _, err = c.Account.Get(t.Context(), nil)
	require.NoError(t, err)
	_, _, err = c.Account.Get(t.Context(), nil)
	var rl *amocrm.RateLimitError
	require.ErrorAs(t, err, &rl)
	spy.mu.Lock()
	penalties := append([]time.Time(nil), spy.penalties...)
	spy.mu.Unlock()
	require.Len(t, penalties, 1)
	// Another instance on the same store is paused by it.
	other := newBudget(t, store, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	var we *amocrmsink.BudgetWaitError
	require.ErrorAs(t, other.Wait(ctx), &we)
	require.Equal(t, penalties[0], we.Until)
}
