package pgstore_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/pgstore"
)

// instanceTuning: River's rescuer waits an hour, so only the instance
// machinery can bring a dead process's job back within the tests' waits;
// the sweep runs often.
var instanceTuning = pgstore.QueueTuning{RescueAfter: time.Hour, InstanceSweep: 50 * time.Millisecond}

// syncBuffer is a log the Work goroutines write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// diedRunning makes the River job of key look like what a process of
// client id leaves behind when it is killed mid-attempt: running, its
// attempt counted in River and in the ledger, attempted by that client.
func diedRunning(t *testing.T, pool *pgxpool.Pool, key chatter.Key, client string) {
	t.Helper()
	ctx := context.Background()
	tag, err := pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = attempt + 1, attempted_at = now(),
		attempted_by = ARRAY[$1::text] WHERE (args->>'message_id')::bigint = (SELECT id FROM chatter_messages WHERE message_id = $2)`,
		client, key.MessageID)
	require.NoError(t, err)
	require.Equal(t, int64(1), tag.RowsAffected())
	_, err = pool.Exec(ctx, `UPDATE chatter_messages SET state = 'delivering', attempts = attempts + 1 WHERE message_id = $1`, key.MessageID)
	require.NoError(t, err)
}

// recorder records the attempts a WorkFunc saw.
type recorder struct {
	mu   sync.Mutex
	seen []int
}

func (r *recorder) deliver(_ context.Context, j *chatter.Job) chatter.Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, j.Attempt)
	return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{LeadID: 1}}
}

func (r *recorder) runs() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.seen...)
}

// TestInstanceRestartResumesAtOnce: a process killed mid-attempt leaves its
// job running and its leases held; the restart of the same instance runs
// the job again at once and frees its leases (only its own).
func TestInstanceRestartResumesAtOnce(t *testing.T) {
	s, pool := storeConfigured(t, newSchema(t), pgstore.Config{Queue: instanceTuning})
	ctx := context.Background()
	m := msg("ws", 1, 1)
	_, err := s.SaveMessage(ctx, m, acceptOpts(1, 5))
	require.NoError(t, err)
	diedRunning(t, pool, m.Key, "shop-1/0a0b0c")
	holders := []string{"shop-1/0a0b0c", "shop-1/ffffff", "shop-10/0a0b0c", "shop-1"}
	for _, h := range holders {
		_, err := s.AcquireLease(ctx, "ws", "lease of "+h, h, time.Hour)
		require.NoError(t, err)
	}

	var log syncBuffer
	var r recorder
	startWork(t, s, chatter.QueueConfig{Workers: 1, Instance: "shop-1", Logger: slog.New(slog.NewTextHandler(&log, nil))}, r.deliver)
	waitState(t, s, "ws", m.Key, chatter.StateDelivered)
	if d := cmp.Diff([]int{2}, r.runs()); d != "" {
		t.Errorf("attempts (-want +got):\n%s", d)
	}
	require.Contains(t, log.String(), "jobs_resumed=1 leases_freed=2")
	free := map[string]bool{}
	for _, h := range holders {
		_, err := s.AcquireLease(ctx, "ws", "lease of "+h, "someone-else", time.Minute)
		free[h] = err == nil
	}
	if d := cmp.Diff(map[string]bool{"shop-1/0a0b0c": true, "shop-1/ffffff": true, "shop-10/0a0b0c": false, "shop-1": false}, free); d != "" {
		t.Errorf("leases free after the restart (-want +got):\n%s", d)
	}
}

// TestInstanceSweepTakesOverDeadInstance: another instance finds the dead
// process's running job (its fence is free) and runs it.
func TestInstanceSweepTakesOverDeadInstance(t *testing.T) {
	s, pool := storeConfigured(t, newSchema(t), pgstore.Config{Queue: instanceTuning})
	ctx := context.Background()
	m := msg("ws", 1, 1)
	_, err := s.SaveMessage(ctx, m, acceptOpts(1, 5))
	require.NoError(t, err)
	diedRunning(t, pool, m.Key, "shop-1/0a0b0c")
	_, err = s.AcquireLease(ctx, "ws", "person", "shop-1/0a0b0c", time.Hour)
	require.NoError(t, err)

	var log syncBuffer
	var r recorder
	startWork(t, s, chatter.QueueConfig{Workers: 1, Instance: "shop-2", Logger: slog.New(slog.NewTextHandler(&log, nil))}, r.deliver)
	waitState(t, s, "ws", m.Key, chatter.StateDelivered)
	require.Contains(t, log.String(), "the process of an instance died")
	_, err = s.AcquireLease(ctx, "ws", "person", "shop-2/1", time.Minute)
	require.NoError(t, err, "the dead instance's lease is free")
}

// TestInstanceLiveWorkUntouched: while a process of an instance runs an
// attempt, another store (another process's pool) with another instance
// never takes its job, and a second process of the same instance waits
// for the first to stop.
func TestInstanceLiveWorkUntouched(t *testing.T) {
	schema := newSchema(t)
	s1, _ := storeConfigured(t, schema, pgstore.Config{Queue: instanceTuning})
	s2, pool := storeConfigured(t, schema, pgstore.Config{Queue: instanceTuning})
	ctx := context.Background()
	m := msg("ws", 1, 1)
	_, err := s1.SaveMessage(ctx, m, acceptOpts(1, 5))
	require.NoError(t, err)

	running, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		once.Do(func() { close(running) })
		<-release
		return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{LeadID: 1}}
	}
	ctx1, stop1 := context.WithCancel(ctx)
	done1 := make(chan error, 1)
	go func() { done1 <- s1.Work(ctx1, chatter.QueueConfig{Workers: 1, Instance: "shop-1"}, slow) }()
	t.Cleanup(func() { stop1(); <-done1 })
	<-running

	var other, same recorder
	startWork(t, s2, chatter.QueueConfig{Workers: 1, Instance: "shop-2"}, other.deliver)
	var log syncBuffer
	startWork(t, s2, chatter.QueueConfig{Workers: 1, Instance: "shop-1", Logger: slog.New(slog.NewTextHandler(&log, nil))}, same.deliver)
	waitFor(t, "the second process of shop-1 to wait", func() (bool, error) {
		return strings.Contains(log.String(), "waiting for the instance's other process to stop"), nil
	})
	time.Sleep(20 * instanceTuning.InstanceSweep) // many sweeps of shop-2
	var state string
	var attempt int
	require.NoError(t, pool.QueryRow(ctx, `SELECT state, attempt FROM river_job`).Scan(&state, &attempt))
	require.Equal(t, "running", state)
	require.Equal(t, 1, attempt)
	require.Empty(t, other.runs())
	require.NotContains(t, log.String(), "instance claimed")

	close(release)
	waitState(t, s1, "ws", m.Key, chatter.StateDelivered)
	stop1()
	require.NoError(t, <-done1)
	done1 <- nil // for the cleanup
	waitFor(t, "the second process of shop-1 to take over", func() (bool, error) {
		return strings.Contains(log.String(), "instance claimed"), nil
	})
	require.Empty(t, other.runs())
	require.Empty(t, same.runs())
}
