package chatter_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

// simClock is a clock that a test moves forward while the pipeline runs.
type simClock struct{ ns atomic.Int64 }

func newSimClock() *simClock {
	c := &simClock{}
	c.ns.Store(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *simClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *simClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// runSim runs p on store while advancing clock by step every millisecond of
// real time, until done reports true (checked between steps) or the
// simulated time passes limit.
func runSim(t *testing.T, p *chatter.Pipeline, clock *simClock, step, limit time.Duration, done func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx) }()
	start := clock.Now()
	for !done() {
		require.Less(t, clock.Now().Sub(start), limit, "simulated time ran out")
		time.Sleep(time.Millisecond)
		clock.Advance(step)
	}
	cancel()
	require.NoError(t, <-ran)
}

// budgetSink fails every delivery with errOf(now) until it returns nil.
type budgetSink struct {
	clock *simClock
	errOf func(now time.Time) error
	mu    sync.Mutex
	calls map[chatter.Key]int
}

func (s *budgetSink) Deliver(_ context.Context, d *chatter.Delivery) (*chatter.DeliveryResult, error) {
	s.mu.Lock()
	s.calls[d.Message.Key]++
	s.mu.Unlock()
	if err := s.errOf(s.clock.Now()); err != nil {
		return nil, err
	}
	return &chatter.DeliveryResult{LeadID: 100 + d.Message.Key.MessageID}, nil
}

func budgetPipeline(t *testing.T, clock *simClock, errOf func(time.Time) error, cfg chatter.PipelineConfig) (*chatter.Pipeline, *chattertest.MemStore, *chattertest.RecordingNotifier, *budgetSink) {
	t.Helper()
	store := chattertest.NewMemStore(chattertest.WithClock(clock.Now))
	notes := chattertest.NewRecordingNotifier()
	sink := &budgetSink{clock: clock, errOf: errOf, calls: make(map[chatter.Key]int)}
	cfg.Store, cfg.Sink, cfg.Notifier, cfg.Now = store, sink, notes, clock.Now
	p, err := chatter.NewPipeline(cfg)
	require.NoError(t, err)
	return p, store, notes, sink
}

func states(t *testing.T, store *chattertest.MemStore, ws string) map[chatter.State]int {
	t.Helper()
	c, err := store.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws})
	require.NoError(t, err)
	return c
}

func typesOf(ns []*chatter.Notification) map[chatter.NotificationType]int {
	out := map[chatter.NotificationType]int{}
	for _, n := range ns {
		out[n.Type]++
	}
	return out
}

// A five-minute CRM outage (every call a 5xx) loses nothing with the default
// budget: with the old default of 8 attempts (about 2–4 minutes of backoff)
// every message went dead.
func TestPipelineSurvivesFiveMinuteOutage(t *testing.T) {
	t.Parallel()
	clock := newSimClock()
	outageEnd := clock.Now().Add(5 * time.Minute)
	p, store, notes, _ := budgetPipeline(t, clock, func(now time.Time) error {
		if now.Before(outageEnd) {
			return errors.New("amocrm: 503 Service Unavailable")
		}
		return nil
	}, chatter.PipelineConfig{Workers: 4})
	const n = 12
	ms := make([]*chatter.Message, n)
	for i := range ms {
		ms[i] = chattertest.NewMessage("ws", -100, int64(i+1), "")
	}
	_, err := p.AcceptBatch(t.Context(), ms)
	require.NoError(t, err)
	// Notifications are sent after the outcomes, by workers of their own:
	// the pipeline runs until they are out too.
	runSim(t, p, clock, 2*time.Second, 2*time.Hour, func() bool {
		return states(t, store, "ws")[chatter.StateDelivered] == n && len(notes.Notifications()) >= n
	})
	if d := cmp.Diff(map[chatter.State]int{chatter.StateDelivered: n}, states(t, store, "ws")); d != "" {
		t.Errorf("ledger after the outage (-want +got):\n%s", d)
	}
	if got := typesOf(notes.Notifications()); got[chatter.NotifyDeliveryFailed] != 0 || got[chatter.NotifyNewLead] != n {
		t.Errorf("notifications = %v, want %d new leads and no failure", got, n)
	}
}

// Auth errors snooze without spending the budget: a token dead for longer
// than MaxAge loses nothing, costs one attempt per message, and is notified
// once, not once per message.
func TestPipelineAuthOutageSnoozesWithoutSpendingBudget(t *testing.T) {
	t.Parallel()
	clock := newSimClock()
	fixed := clock.Now().Add(30 * time.Hour) // MaxAge is 24 h
	p, store, notes, sink := budgetPipeline(t, clock, func(now time.Time) error {
		if now.Before(fixed) {
			return chatter.WithClass(errors.New("amocrm: 401 token revoked"), chatter.ClassAuth)
		}
		return nil
	}, chatter.PipelineConfig{Workers: 2})
	const n = 5
	for i := range n {
		_, err := p.Accept(t.Context(), chattertest.NewMessage("ws", -200, int64(i+1), ""))
		require.NoError(t, err)
	}
	runSim(t, p, clock, 30*time.Second, 48*time.Hour, func() bool {
		return states(t, store, "ws")[chatter.StateDelivered] == n && len(notes.Notifications()) >= n+1
	})
	for i := range n {
		k := chattertest.NewMessage("ws", -200, int64(i+1), "").Key
		e, err := store.GetEntry(t.Context(), "ws", k)
		require.NoError(t, err)
		require.Equal(t, 1, e.Attempts, "attempts of %s: snoozes must not count", k)
		sink.mu.Lock()
		calls := sink.calls[k]
		sink.mu.Unlock()
		require.Greater(t, calls, 10, "the message was not tried while the token was dead")
	}
	got := typesOf(notes.Notifications())
	if d := cmp.Diff(map[chatter.NotificationType]int{chatter.NotifyAuthFailed: 1, chatter.NotifyNewLead: n}, got); d != "" {
		t.Errorf("notifications (-want +got):\n%s", d)
	}
}

// An outage that outlasts MaxAge sends the message dead once the budget is
// spent, notified once; every retry waits at most DefaultBackoffMax and is
// scheduled no later than the deadline.
func TestPipelineBudgetSpentGoesDead(t *testing.T) {
	t.Parallel()
	clock := newSimClock()
	type decision struct {
		at       time.Time
		deadline time.Time
		o        chatter.Outcome
	}
	var mu sync.Mutex
	var ds []decision
	p, store, notes, _ := budgetPipeline(t, clock, func(time.Time) error {
		return errors.New("amocrm: dial tcp: connection refused")
	}, chatter.PipelineConfig{MaxAge: 3 * time.Hour, Hooks: chatter.Hooks{OnOutcome: func(_ context.Context, j *chatter.Job, o chatter.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		ds = append(ds, decision{at: clock.Now(), deadline: j.BudgetStart.Add(3 * time.Hour), o: o})
	}}})
	m := chattertest.NewMessage("ws", -300, 1, "")
	_, err := p.Accept(t.Context(), m)
	require.NoError(t, err)
	received, err := store.GetEntry(t.Context(), "ws", m.Key)
	require.NoError(t, err)
	runSim(t, p, clock, 20*time.Second, 6*time.Hour, func() bool {
		return states(t, store, "ws")[chatter.StateDead] == 1 && len(notes.Notifications()) >= 1
	})
	e, err := store.GetEntry(t.Context(), "ws", m.Key)
	require.NoError(t, err)
	require.Equal(t, chatter.ClassTransient, e.ErrorClass)
	mu.Lock()
	defer mu.Unlock()
	require.Greater(t, len(ds), 5)
	for i, d := range ds {
		require.True(t, d.deadline.Equal(received.ReceivedAt.Add(3*time.Hour)), "run %d: deadline %s, want ReceivedAt + MaxAge", i+1, d.deadline)
		if i == len(ds)-1 {
			require.Equal(t, chatter.OutcomeDead, d.o.Kind, "the last decision")
			require.False(t, d.at.Before(d.deadline), "dead before the deadline")
			continue
		}
		require.Equal(t, chatter.OutcomeRetry, d.o.Kind, "run %d", i+1)
		require.LessOrEqual(t, d.o.Delay, chatter.DefaultBackoffMax, "run %d: a wait above the backoff cap", i+1)
		require.False(t, d.at.Add(d.o.Delay).After(d.deadline), "run %d: retry scheduled after the deadline", i+1)
	}
	require.Equal(t, len(ds), e.Attempts)
	if d := cmp.Diff(map[chatter.NotificationType]int{chatter.NotifyDeliveryFailed: 1}, typesOf(notes.Notifications())); d != "" {
		t.Errorf("notifications (-want +got):\n%s", d)
	}
}

// ReplayDead after an outage re-queues every dead message of the query with
// a fresh budget; they are delivered.
func TestPipelineReplayDeadAfterOutage(t *testing.T) {
	t.Parallel()
	clock := newSimClock()
	var down atomic.Bool
	down.Store(true)
	p, store, _, _ := budgetPipeline(t, clock, func(time.Time) error {
		if down.Load() {
			return errors.New("amocrm: 502 Bad Gateway")
		}
		return nil
	}, chatter.PipelineConfig{MaxAge: time.Hour})
	const n = 6
	for i := range n {
		_, err := p.Accept(t.Context(), chattertest.NewMessage("ws", -400, int64(i+1), ""))
		require.NoError(t, err)
	}
	runSim(t, p, clock, 20*time.Second, 3*time.Hour, func() bool { return states(t, store, "ws")[chatter.StateDead] == n })
	down.Store(false)
	got, err := p.ReplayDead(t.Context(), chatter.LedgerQuery{Workspace: "ws", ErrorClass: chatter.ClassTransient})
	require.NoError(t, err)
	require.Equal(t, n, got)
	runSim(t, p, clock, time.Second, time.Hour, func() bool { return states(t, store, "ws")[chatter.StateDelivered] == n })
	_, err = p.ReplayDead(t.Context(), chatter.LedgerQuery{Workspace: "ws", States: []chatter.State{chatter.StateFailed}})
	require.ErrorIs(t, err, chatter.ErrInvalid)
}
