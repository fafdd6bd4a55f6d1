package sqlitestore_test

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
)

// leadSink creates one lead per message key and, like amocrmsink, answers a
// repeated delivery of a key with the same lead, Adopted.
type leadSink struct {
	mu    sync.Mutex
	leads map[chatter.Key]int64
	next  int64
	calls atomic.Int64
}

func newLeadSink() *leadSink { return &leadSink{leads: map[chatter.Key]int64{}, next: 9000} }

func (s *leadSink) Deliver(ctx context.Context, d *chatter.Delivery) (*chatter.DeliveryResult, error) {
	s.calls.Add(1)
	select { // a CRM round trip, so that deliveries are in flight when we stop
	case <-time.After(2 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.leads[d.Message.Key]; ok {
		return &chatter.DeliveryResult{LeadID: id, Adopted: true}, nil
	}
	s.next++
	s.leads[d.Message.Key] = s.next
	return &chatter.DeliveryResult{LeadID: s.next}, nil
}

// leadNotes records the NotifyNewLead it is given, by dedupe key. After
// kill it records nothing more: the process it stands for is dead.
type leadNotes struct {
	mu     sync.Mutex
	byKey  map[string][]*chatter.Notification
	killed bool
}

func newLeadNotes() *leadNotes { return &leadNotes{byKey: map[string][]*chatter.Notification{}} }

func (n *leadNotes) Notify(ctx context.Context, x *chatter.Notification) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.killed {
		return context.Canceled
	}
	if x.Type == chatter.NotifyNewLead {
		c := *x
		n.byKey[x.DedupeKey] = append(n.byKey[x.DedupeKey], &c)
	}
	return nil
}

func (n *leadNotes) kill() {
	n.mu.Lock()
	n.killed = true
	n.mu.Unlock()
}

func (n *leadNotes) count() (distinct, total int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ns := range n.byKey {
		distinct++
		total += len(ns)
	}
	return distinct, total
}

// runPipeline runs a pipeline on s until the returned stop is called.
func runPipeline(t *testing.T, s *sqlitestore.Store, sink chatter.Sink, notes chatter.Notifier) (*chatter.Pipeline, func()) {
	t.Helper()
	p, err := chatter.NewPipeline(chatter.PipelineConfig{Store: s, Sink: sink, Notifier: notes, Workers: 4,
		NotifyWorkers: 2, NotifyTimeout: 5 * time.Second, JobTimeout: 5 * time.Second})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return p, stop
}

func acceptAll(t *testing.T, p *chatter.Pipeline, n int) []*chatter.Message {
	t.Helper()
	ms := make([]*chatter.Message, n)
	for i := range ms {
		ms[i] = msg("ws", -900, int64(i+1))
	}
	_, err := p.AcceptBatch(t.Context(), ms)
	require.NoError(t, err)
	return ms
}

func countState(t *testing.T, s chatter.Store, st chatter.State) int {
	t.Helper()
	c, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: "ws"})
	require.NoError(t, err)
	return c[st]
}

// pendingNotifications counts notification jobs River has not finished.
func pendingNotifications(t *testing.T, db *sql.DB) int {
	t.Helper()
	return countRows(t, db, `SELECT count(*) FROM river_job WHERE kind = 'chatter_notify' AND state NOT IN ('completed', 'discarded', 'cancelled')`)
}

// Every NewLead is notified exactly once across a restart: the pipeline is
// stopped (its context cancelled) with deliveries and notifications in
// flight, the store closed, and a new pipeline on the same file finishes.
// What "exactly once" relies on: the notification job is committed with the
// outcome (so a recorded lead always has one, and an unrecorded one none),
// and a sent notification's job is completed in the store right after the
// notifier returns; a graceful stop waits for that.
func TestNewLeadNotifiedOnceAcrossRestart(t *testing.T) {
	t.Parallel()
	const n = 80
	s, path := newStore(t, sqlitestore.Config{Queue: sqlitestore.QueueTuning{FetchPollInterval: 100 * time.Millisecond}})
	sink, notes := newLeadSink(), newLeadNotes()
	p, stop := runPipeline(t, s, sink, notes)
	acceptAll(t, p, n)
	waitFor(t, waitTimeout, "a third delivered", func() (bool, error) { return countState(t, s, chatter.StateDelivered) >= n/3, nil })
	stop()
	delivered := countState(t, s, chatter.StateDelivered)
	require.Less(t, delivered, n, "everything was delivered before the stop; the test proves nothing")
	require.NoError(t, s.Close())

	s2 := openAt(t, path, sqlitestore.Config{Queue: sqlitestore.QueueTuning{FetchPollInterval: 100 * time.Millisecond}})
	_, stop2 := runPipeline(t, s2, sink, notes)
	waitFor(t, waitTimeout, "every lead notified", func() (bool, error) {
		d, _ := notes.count()
		return countState(t, s2, chatter.StateDelivered) == n && d == n && pendingNotifications(t, s2.DB()) == 0, nil
	})
	stop2()
	distinct, total := notes.count()
	require.Equal(t, n, distinct, "leads notified")
	require.Equal(t, n, total, "NewLead notifications: each lead exactly once")
	t.Logf("stopped after %d of %d deliveries; %d sink calls", delivered, n, sink.calls.Load())
}

// The same with a crash instead of a stop: the database as a kill -9 at an
// instant leaves it (a consistent copy, VACUUM INTO), restarted, while the
// crashed process's notifier goes silent at that instant. Every lead is
// notified, and a receiver that drops repeated dedupe keys sees each exactly
// once. Raw repeats are possible only for a notification the notifier had
// accepted when the process died before committing its completion (at most
// one per notification worker), which is why Notification.DedupeKey exists.
func TestNewLeadNotifiedAcrossCrash(t *testing.T) {
	t.Parallel()
	const n = 80
	s, _ := newStore(t, crashCfg)
	sink := newLeadSink()
	before := newLeadNotes()
	p, stop := runPipeline(t, s, sink, before)
	acceptAll(t, p, n)
	waitFor(t, waitTimeout, "deliveries and notifications under way", func() (bool, error) {
		d, _ := before.count()
		return countState(t, s, chatter.StateDelivered) >= n/3 && d >= 5, nil
	})
	before.kill() // the process dies here: nothing it sends from now on happens
	crashed := snapshot(t, s)
	stop()
	require.NoError(t, s.Close())

	s2 := openAt(t, crashed, crashCfg)
	require.Less(t, countState(t, s2, chatter.StateDelivered), n, "everything was delivered before the crash; the test proves nothing")
	after := newLeadNotes()
	_, stop2 := runPipeline(t, s2, sink, after)
	waitFor(t, rescueTimeout, "every lead delivered and notified", func() (bool, error) {
		return countState(t, s2, chatter.StateDelivered) == n && pendingNotifications(t, s2.DB()) == 0, nil
	})
	stop2()
	seen := map[string]int{}
	for _, l := range []*leadNotes{before, after} {
		l.mu.Lock()
		for k, ns := range l.byKey {
			seen[k] += len(ns)
		}
		l.mu.Unlock()
	}
	repeats := 0
	for _, c := range seen {
		repeats += c - 1
	}
	require.Len(t, seen, n, "distinct leads notified (what a receiver dropping repeats sees)")
	require.LessOrEqual(t, repeats, 2, "repeated notifications (at most one per notification worker cut at the crash)")
	t.Logf("%d notifications repeated across the crash", repeats)
}
