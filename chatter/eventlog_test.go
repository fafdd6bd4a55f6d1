package chatter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/slogtest"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// The next handler sees exactly what it would see without the EventLog.
func TestEventLogSlogtestNext(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	store := newFakeStore(time.Now)
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		buf.Reset()
		el, err := NewEventLog(store, slog.NewJSONHandler(&buf, nil), EventLogConfig{Workspace: "ws1"})
		require.NoError(t, err)
		return el
	}, func(t *testing.T) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	})
}

// The events recorded follow the same semantics: groups, WithAttrs,
// WithGroup, Resolve, empty attributes and groups.
func TestEventLogSlogtestEvents(t *testing.T) {
	t.Parallel()
	filled := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC) // what Now gives a record without a time
	var store *fakeStore
	var el *EventLog
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		store = newFakeStore(time.Now)
		var err error
		el, err = NewEventLog(store, nil, EventLogConfig{Workspace: "ws1", Now: func() time.Time { return filled }})
		require.NoError(t, err)
		return el
	}, func(t *testing.T) map[string]any {
		if err := el.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		evs := store.allEvents()
		if len(evs) != 1 {
			t.Fatalf("%d events; want 1", len(evs))
		}
		return eventMap(evs[0], filled)
	})
}

// eventMap turns an event back into the nested map slogtest checks.
func eventMap(ev Event, filled time.Time) map[string]any {
	m := map[string]any{slog.LevelKey: ev.Level.String(), slog.MessageKey: ev.Text}
	if !ev.Time.Equal(filled) {
		m[slog.TimeKey] = ev.Time
	}
	for k, v := range map[string]string{AttrCategory: ev.Category, AttrErrorClass: string(ev.ErrorClass), AttrSource: ev.Source, AttrMessageKey: ev.MessageKey} {
		if v != "" {
			m[k] = v
		}
	}
	for k, v := range ev.Attrs {
		parts := strings.Split(k, ".")
		g := m
		for _, p := range parts[:len(parts)-1] {
			sub, ok := g[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				g[p] = sub
			}
			g = sub
		}
		g[parts[len(parts)-1]] = v
	}
	return m
}

type eventBundle struct {
	clock  *testClock
	store  *fakeStore
	el     *EventLog
	log    *slog.Logger
	flushC chan time.Time
	pruneC chan time.Time
	ticks  atomic.Int32
}

func setupEventLog(t *testing.T, cfg EventLogConfig) *eventBundle {
	t.Helper()
	b := &eventBundle{clock: newTestClock(), flushC: make(chan time.Time), pruneC: make(chan time.Time)}
	b.store = newFakeStore(b.clock.Now)
	cfg.Now = b.clock.Now
	cfg.NewTicker = func(d time.Duration) (<-chan time.Time, func()) {
		b.ticks.Add(1)
		if d == cmpOr(cfg.PruneInterval, DefaultEventPruneInterval) {
			return b.pruneC, func() {}
		}
		return b.flushC, func() {}
	}
	var err error
	b.el, err = NewEventLog(b.store, nil, cfg)
	require.NoError(t, err)
	b.log = slog.New(b.el)
	return b
}

func cmpOr(a, b time.Duration) time.Duration {
	if a != 0 {
		return a
	}
	return b
}

func TestEventLogFields(t *testing.T) {
	t.Parallel()
	b := setupEventLog(t, EventLogConfig{})
	ctx := t.Context()
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	l := b.log.With(AttrWorkspace, "ws1", AttrSource, "tgbot").WithGroup("req")
	r := slog.NewRecord(at, slog.LevelError, "delivery dead", 0)
	r.AddAttrs(slog.String(AttrCategory, "inside-group"), slog.Int("attempt", 3), slog.String("access_token", "secret-value"))
	_ = l.Handler().Handle(ctx, r)

	b.log.LogAttrs(ctx, slog.LevelWarn, "snoozed", slog.String(AttrWorkspace, "ws2"), slog.String(AttrCategory, CategoryDelivery),
		slog.String(AttrErrorClass, "rate_limited"), slog.String(AttrMessageKey, "tgbot:1:2:3"), slog.Any("err", errBoom),
		slog.Duration("delay", time.Minute), slog.Time("next", at), slog.Group("g", slog.Int("n", 1)))
	b.log.Debug("below MinLevel", AttrWorkspace, "ws1")
	b.log.Info("no workspace")
	if err := b.el.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	evs := b.store.allEvents()
	if len(evs) != 2 {
		t.Fatalf("%d events: %+v", len(evs), evs)
	}
	e := evs[0]
	if e.Workspace != "ws1" || e.Source != "tgbot" || e.Category != "" || e.Level != slog.LevelError || !e.Time.Equal(at) || e.Text != "delivery dead" {
		t.Errorf("event 0 = %+v", e)
	}
	if e.Attrs["req.category"] != "inside-group" || e.Attrs["req.attempt"] != "3" || e.Attrs["req.access_token"] != "[redacted]" {
		t.Errorf("event 0 attrs = %v", e.Attrs)
	}
	e = evs[1]
	if e.Workspace != "ws2" || e.Category != CategoryDelivery || e.ErrorClass != ClassRateLimited || e.MessageKey != "tgbot:1:2:3" || e.Time.IsZero() {
		t.Errorf("event 1 = %+v", e)
	}
	if e.Attrs["err"] != "boom" || e.Attrs["delay"] != "1m0s" || e.Attrs["next"] != "2025-01-02T03:04:05Z" || e.Attrs["g.n"] != "1" || len(e.Attrs) != 4 {
		t.Errorf("event 1 attrs = %v", e.Attrs)
	}
	if st := b.el.Stats(); st.Written != 2 || st.Skipped != 1 || st.Dropped != 0 || st.Buffered != 0 {
		t.Errorf("stats = %+v", st)
	}
	if !b.el.Enabled(ctx, slog.LevelInfo) || b.el.Enabled(ctx, slog.LevelDebug) {
		t.Error("Enabled does not follow MinLevel")
	}
}

func TestEventLogLimits(t *testing.T) {
	t.Parallel()
	b := setupEventLog(t, EventLogConfig{Workspace: "sys", BufferSize: 3, MaxAttrs: 2, MinLevel: slog.LevelWarn})
	ctx := t.Context()
	long := strings.Repeat("я", 2000)
	for i := range 5 {
		b.log.Warn("w", "a", long, "b", i, "c", "dropped attr")
	}
	if st := b.el.Stats(); st.Buffered != 3 || st.Dropped != 2 {
		t.Fatalf("stats = %+v; want 3 buffered, 2 dropped", st)
	}
	if err := b.el.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ev := b.store.allEvents()[0]
	if ev.Workspace != "sys" || len(ev.Attrs) != 2 || len(ev.Attrs["a"]) > maxEventValueBytes || !strings.HasPrefix(ev.Attrs["a"], "яя") {
		t.Errorf("event = %+v", ev)
	}
}

func TestEventLogFlushFailureKeepsEvents(t *testing.T) {
	t.Parallel()
	b := setupEventLog(t, EventLogConfig{Workspace: "ws1", BatchSize: 2, BufferSize: 5})
	ctx := t.Context()
	for range 4 {
		b.log.Info("e")
	}
	b.store.appendErr = errBoom
	if err := b.el.Flush(ctx); !errors.Is(err, errBoom) {
		t.Fatalf("Flush = %v; want errBoom", err)
	}
	b.log.Info("after")
	b.log.Info("overflow") // 6 > BufferSize 5
	if st := b.el.Stats(); st.Buffered != 5 || st.Dropped != 1 {
		t.Fatalf("stats = %+v", st)
	}
	b.store.appendErr = nil
	if err := b.el.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	evs := b.store.allEvents()
	if len(evs) != 5 || evs[4].Text != "after" || evs[0].Text != "e" {
		t.Errorf("events = %+v", evs)
	}
	// Requeue on a full buffer drops the overflow and counts it.
	for range 3 {
		b.log.Info("x")
	}
	b.store.appendErr = errBoom
	b.el.core.mu.Lock()
	evs3 := b.el.core.buf
	b.el.core.buf = []Event{{Text: "y"}, {Text: "y"}, {Text: "y"}}
	b.el.core.mu.Unlock()
	b.el.core.requeue(evs3)
	if st := b.el.Stats(); st.Buffered != 5 || st.Dropped != 2 {
		t.Errorf("after requeue: %+v", st)
	}
}

func TestEventLogRun(t *testing.T) {
	t.Parallel()
	b := setupEventLog(t, EventLogConfig{Workspace: "ws1", BatchSize: 3, Retention: 24 * time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	old := Event{Workspace: "ws1", Time: b.clock.Now().Add(-25 * time.Hour), Text: "old"}
	if err := b.store.AppendEvents(ctx, []Event{old}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.el.Run(ctx) }()
	waitFor(t, "tickers", func() bool { return b.ticks.Load() == 2 })
	waitFor(t, "prune at start", func() bool { return b.el.Stats().Pruned == 1 })

	b.log.Info("one")
	b.flushC <- b.clock.Now()
	waitFor(t, "flush on tick", func() bool { return b.el.Stats().Written == 1 })

	for range 3 { // a full batch wakes Run without a tick
		b.log.Info("batch")
	}
	waitFor(t, "flush on full batch", func() bool { return b.el.Stats().Written == 4 })

	b.store.pruneErr = errBoom
	b.clock.Advance(time.Hour)
	b.pruneC <- b.clock.Now()
	waitFor(t, "prune on tick", func() bool { return len(b.store.prunedAtCopy()) == 2 })
	if got := b.store.prunedAtCopy()[1]; !got.Equal(b.clock.Now().Add(-24 * time.Hour)) {
		t.Errorf("pruned before %v", got)
	}

	b.log.Info("last words")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := b.el.Stats(); st.Written != 5 || st.Buffered != 0 {
		t.Errorf("after Run: %+v", st)
	}
}

func TestEventLogNoRetention(t *testing.T) {
	t.Parallel()
	b := setupEventLog(t, EventLogConfig{Workspace: "ws1", Retention: -1})
	if n, err := b.el.Prune(t.Context()); n != 0 || err != nil || len(b.store.prunedAtCopy()) != 0 {
		t.Errorf("Prune with retention disabled = %d, %v", n, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.el.Run(ctx) }()
	waitFor(t, "ticker", func() bool { return b.ticks.Load() == 1 })
	cancel()
	<-done
	if b.ticks.Load() != 1 || len(b.store.prunedAtCopy()) != 0 {
		t.Error("Run pruned with retention disabled")
	}
}

func TestEventLogNilStoreIsAnError(t *testing.T) {
	t.Parallel()
	el, err := NewEventLog(nil, nil, EventLogConfig{})
	require.Nil(t, el)
	require.ErrorIs(t, err, ErrInvalid)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	if d := gocmp.Diff(ValidationError{Field: "store", Problem: T("не задано хранилище событий", "event store is nil")}, *ve); d != "" {
		t.Errorf("validation error (-want +got):\n%s", d)
	}
	require.Equal(t, "chatter: new event log: invalid store: event store is nil", err.Error())
}
