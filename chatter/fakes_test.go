package chatter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// This file holds small in-test fakes of the role interfaces, so the
// package's tests do not depend on chattertest.

// waitFor polls cond until it holds, failing the test after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeClock is a testClock with timers fired by Advance.
type fakeClock struct {
	testClock
	waiters []*fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{testClock: *newTestClock()}
}

func (c *fakeClock) After(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &fakeWaiter{at: c.now.Add(d), c: make(chan time.Time, 1)}
	c.waiters = append(c.waiters, w)
	return w.c, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.waiters = slices.DeleteFunc(c.waiters, func(x *fakeWaiter) bool { return x == w })
	}
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waiters = slices.DeleteFunc(c.waiters, func(w *fakeWaiter) bool {
		if w.at.After(c.now) {
			return false
		}
		w.c <- c.now
		return true
	})
}

func (c *fakeClock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// fakeStore is an in-memory MessageStore, Queue and EventStore.
type fakeStore struct {
	mu       sync.Mutex
	now      func() time.Time
	entries  map[string]*LedgerEntry
	order    []string
	saveErr  error // returned by SaveMessage(s) when set
	saves    int
	opts     []AcceptOptions
	outcomes []Outcome
	events   []Event
	nextID   int64

	appendErr error
	appends   int
	pruneErr  error
	prunedAt  []time.Time
}

var (
	_ PipelineStore = (*fakeStore)(nil)
	_ EventStore    = (*fakeStore)(nil)
)

func newFakeStore(now func() time.Time) *fakeStore {
	return &fakeStore{now: now, entries: make(map[string]*LedgerEntry)}
}

func entryKey(ws string, k Key) string { return ws + "|" + k.String() }

func (s *fakeStore) SaveMessage(ctx context.Context, m *Message, opts AcceptOptions) (AcceptResult, error) {
	rs, err := s.SaveMessages(ctx, []*Message{m}, []AcceptOptions{opts})
	if err != nil {
		return AcceptResult{}, err
	}
	return rs[0], nil
}

func (s *fakeStore) SaveMessages(ctx context.Context, ms []*Message, opts []AcceptOptions) ([]AcceptResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	if s.saveErr != nil {
		return nil, s.saveErr
	}
	for _, m := range ms {
		if err := m.Validate(); err != nil {
			return nil, err
		}
	}
	rs := make([]AcceptResult, len(ms))
	for i, m := range ms {
		k := entryKey(m.Workspace, m.Key)
		if e, ok := s.entries[k]; ok {
			rs[i] = AcceptResult{Duplicate: true, State: e.State}
			continue
		}
		s.opts = append(s.opts, opts[i])
		st := StateQueued
		if !opts[i].Verdict.Accept {
			st = StateFiltered
		}
		cp := *m
		s.entries[k] = &LedgerEntry{
			Workspace: m.Workspace, Key: m.Key, State: st, Verdict: opts[i].Verdict,
			Priority: opts[i].Priority, ReceivedAt: s.now(), UpdatedAt: s.now(), Message: &cp,
		}
		s.order = append(s.order, k)
		rs[i] = AcceptResult{State: st}
	}
	return rs, nil
}

func (s *fakeStore) SaveRejected(ctx context.Context, m *Message, r *Rejection) (AcceptResult, error) {
	if err := ctx.Err(); err != nil {
		return AcceptResult{}, err
	}
	if err := m.Validate(); err != nil {
		return AcceptResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	if s.saveErr != nil {
		return AcceptResult{}, s.saveErr
	}
	k := entryKey(m.Workspace, m.Key)
	if e, ok := s.entries[k]; ok {
		return AcceptResult{Duplicate: true, State: e.State}, nil
	}
	cp := *m
	rc := *r
	s.entries[k] = &LedgerEntry{Workspace: m.Workspace, Key: m.Key, State: StateRejected, ErrorClass: ClassInvalid,
		LastError: r.Text().EN, Rejection: &rc, ReceivedAt: s.now(), UpdatedAt: s.now(), Message: &cp}
	s.order = append(s.order, k)
	return AcceptResult{State: StateRejected}, nil
}

func (s *fakeStore) GetEntry(_ context.Context, ws string, key Key) (*LedgerEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[entryKey(ws, key)]
	if !ok {
		return nil, ErrNotFound
	}
	cp := *e
	return &cp, nil
}

func (s *fakeStore) ListEntries(_ context.Context, q LedgerQuery) ([]*LedgerEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*LedgerEntry
	for _, k := range slices.Backward(s.order) {
		e := s.entries[k]
		if e.Workspace == q.Workspace && (len(q.States) == 0 || slices.Contains(q.States, e.State)) {
			cp := *e
			out = append(out, &cp)
		}
	}
	return out, nil
}

func (s *fakeStore) CountEntries(ctx context.Context, q LedgerQuery) (map[State]int, error) {
	es, _ := s.ListEntries(ctx, q)
	out := map[State]int{}
	for _, e := range es {
		out[e.State]++
	}
	return out, nil
}

// Work runs due jobs (queued or failed with NextAt ≤ now) one at a time
// until ctx ends.
func (s *fakeStore) Work(ctx context.Context, cfg QueueConfig, fn WorkFunc) error {
	for ctx.Err() == nil {
		e, j := s.take()
		if j == nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Millisecond):
			}
			continue
		}
		jctx, cancel := context.WithTimeout(ctx, cfg.JobTimeout)
		o := fn(jctx, j)
		cancel()
		s.apply(e, j, o)
		// After the outcome is recorded (no episodes, no retries: a fake).
		if cfg.Notifier != nil {
			for _, n := range o.Notifications {
				_ = cfg.Notifier.Notify(ctx, n)
			}
			for _, a := range o.Alerts {
				_ = cfg.Notifier.Notify(ctx, a.Notification)
			}
		}
	}
	return nil
}

func (s *fakeStore) take() (*LedgerEntry, *Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.order {
		e := s.entries[k]
		if (e.State == StateQueued || e.State == StateFailed) && !e.NextAt.After(s.now()) {
			e.State = StateDelivering
			s.nextID++
			return e, &Job{ID: s.nextID, Message: e.Message, Attempt: e.Attempts + 1, MaxAttempts: 3, Priority: e.Priority, LastError: e.LastError, LastClass: e.ErrorClass}
		}
	}
	return nil, nil
}

func (s *fakeStore) apply(e *LedgerEntry, j *Job, o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes = append(s.outcomes, o)
	e.UpdatedAt = s.now()
	switch o.Kind {
	case OutcomeDelivered:
		e.State, e.Result, e.Attempts, e.DeliveredAt = StateDelivered, o.Result, j.Attempt, s.now()
	case OutcomeRetry:
		e.State, e.Attempts, e.ErrorClass, e.LastError, e.NextAt = StateFailed, j.Attempt, o.Class, o.Err, s.now().Add(o.Delay)
	case OutcomeSnooze:
		e.State, e.ErrorClass, e.LastError, e.NextAt = StateQueued, o.Class, o.Err, s.now().Add(o.Delay)
	case OutcomeDead:
		e.State, e.Attempts, e.ErrorClass, e.LastError = StateDead, j.Attempt, o.Class, o.Err
	}
}

func (s *fakeStore) Replay(_ context.Context, ws string, key Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[entryKey(ws, key)]
	if !ok {
		return ErrNotFound
	}
	if e.State != StateDead && e.State != StateFailed {
		return fmt.Errorf("message is %s: %w", e.State, ErrConflict)
	}
	e.State, e.Attempts, e.NextAt = StateQueued, 0, time.Time{}
	return nil
}

// Wake is not used by the pipeline's tests of this fake.
func (s *fakeStore) Wake(context.Context, string, ...ErrorClass) (int, error) {
	return 0, errors.New("fakeStore: Wake is not supported")
}

func (s *fakeStore) ReplayDead(_ context.Context, q LedgerQuery) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.entries {
		if e.Workspace == q.Workspace && e.State == StateDead {
			e.State, e.Attempts, e.NextAt = StateQueued, 0, time.Time{}
			n++
		}
	}
	return n, nil
}

func (s *fakeStore) AppendEvents(ctx context.Context, evs []Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appends++
	if s.appendErr != nil {
		return s.appendErr
	}
	for _, ev := range evs {
		s.nextID++
		ev.ID = s.nextID
		s.events = append(s.events, ev)
	}
	return nil
}

func (s *fakeStore) ListEvents(_ context.Context, q EventQuery) ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for _, ev := range slices.Backward(s.events) {
		if ev.Workspace == q.Workspace && (q.Category == "" || q.Category == ev.Category) {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (s *fakeStore) CountEvents(ctx context.Context, q EventQuery) (map[ErrorClass]int, error) {
	evs, _ := s.ListEvents(ctx, q)
	out := map[ErrorClass]int{}
	for _, ev := range evs {
		out[ev.ErrorClass]++
	}
	return out, nil
}

func (s *fakeStore) PruneEvents(_ context.Context, before time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prunedAt = append(s.prunedAt, before)
	if s.pruneErr != nil {
		return 0, s.pruneErr
	}
	n := len(s.events)
	s.events = slices.DeleteFunc(s.events, func(ev Event) bool { return ev.Time.Before(before) })
	return n - len(s.events), nil
}

func (s *fakeStore) allEvents() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// recordingNotifier records notifications and can fail.
type recordingNotifier struct {
	mu  sync.Mutex
	got []*Notification
	err error
}

func (r *recordingNotifier) Notify(_ context.Context, n *Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, n)
	return r.err
}

func (r *recordingNotifier) all() []*Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *recordingNotifier) types() []NotificationType {
	var out []NotificationType
	for _, n := range r.all() {
		out = append(out, n.Type)
	}
	return out
}

// testMessage returns a valid message with message id id.
func testMessage(id int64) *Message {
	return &Message{
		Workspace: "ws1",
		Key:       Key{Source: SourceBot, Account: "bot1", ChatID: -100, MessageID: id},
		Chat:      Chat{ID: -100, Type: ChatSupergroup, Title: "Продажи"},
		Sender:    Sender{ID: 42, Username: "ivan", FirstName: "Иван"},
		Text:      "Хочу купить 10 тонн цемента",
		Time:      time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC),
	}
}

type retryAfterErr struct{ d time.Duration }

func (e *retryAfterErr) Error() string             { return fmt.Sprintf("slow down for %s", e.d) }
func (e *retryAfterErr) RetryAfter() time.Duration { return e.d }

var errBoom = errors.New("boom")

func (s *fakeStore) prunedAtCopy() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.prunedAt)
}
