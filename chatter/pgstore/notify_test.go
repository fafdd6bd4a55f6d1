package pgstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/pgstore"
)

// leadSink creates one lead per message key and answers a repeated delivery
// of a key with the same lead, Adopted (as amocrmsink does).
type leadSink struct {
	mu    sync.Mutex
	leads map[chatter.Key]int64
}

func (s *leadSink) Deliver(ctx context.Context, d *chatter.Delivery) (*chatter.DeliveryResult, error) {
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
	id := int64(9000 + len(s.leads))
	s.leads[d.Message.Key] = id
	return &chatter.DeliveryResult{LeadID: id}, nil
}

// leadNotes counts the NotifyNewLead it is given by dedupe key.
type leadNotes struct {
	mu    sync.Mutex
	byKey map[string]int
}

func (n *leadNotes) Notify(ctx context.Context, x *chatter.Notification) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if x.Type == chatter.NotifyNewLead {
		n.byKey[x.DedupeKey]++
	}
	return nil
}

func (n *leadNotes) count() (distinct, total int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.byKey {
		distinct++
		total += c
	}
	return distinct, total
}

func runPipeline(t *testing.T, s *pgstore.Store, sink chatter.Sink, notes chatter.Notifier) (*chatter.Pipeline, func()) {
	t.Helper()
	p, err := chatter.NewPipeline(chatter.PipelineConfig{Store: s, Sink: sink, Notifier: notes, Workers: 4,
		NotifyWorkers: 2, NotifyTimeout: 5 * time.Second, JobTimeout: 5 * time.Second})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); require.NoError(t, <-done) }) }
	t.Cleanup(stop)
	return p, stop
}

// Every NewLead is notified exactly once across a restart: one instance is
// stopped with deliveries and notifications in flight, another (its own
// pool, the same schema) finishes. See sqlitestore's test of the same name
// for what "exactly once" relies on.
func TestNewLeadNotifiedOnceAcrossRestart(t *testing.T) {
	t.Parallel()
	const n = 80
	schema := newSchema(t)
	s, pool := storeOn(t, schema)
	sink, notes := &leadSink{leads: map[chatter.Key]int64{}}, &leadNotes{byKey: map[string]int{}}
	p, stop := runPipeline(t, s, sink, notes)
	ms := make([]*chatter.Message, n)
	for i := range ms {
		ms[i] = msg("ws", -900, int64(i+1))
	}
	_, err := p.AcceptBatch(t.Context(), ms)
	require.NoError(t, err)
	delivered := func(s *pgstore.Store) int {
		c, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: "ws"})
		require.NoError(t, err)
		return c[chatter.StateDelivered]
	}
	waitFor(t, "a third delivered", func() (bool, error) { return delivered(s) >= n/3, nil })
	stop()
	require.Less(t, delivered(s), n, "everything was delivered before the stop; the test proves nothing")

	s2, _ := storeOn(t, schema)
	_, stop2 := runPipeline(t, s2, sink, notes)
	waitFor(t, "every lead notified", func() (bool, error) {
		d, _ := notes.count()
		pending := count(t, pool, `SELECT count(*) FROM river_job WHERE kind = 'chatter_notify' AND state NOT IN ('completed', 'discarded', 'cancelled')`)
		return delivered(s2) == n && d == n && pending == 0, nil
	})
	stop2()
	distinct, total := notes.count()
	require.Equal(t, n, distinct, "leads notified")
	require.Equal(t, n, total, "NewLead notifications: each lead exactly once")
}
