package sqlitestore_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
)

// instanceTuning: River's rescuer waits an hour, so only the instance
// machinery can bring a dead process's job back within the tests' waits;
// the sweep runs often.
var instanceTuning = sqlitestore.QueueTuning{RescueAfter: time.Hour, InstanceSweep: 50 * time.Millisecond}

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
func diedRunning(t *testing.T, s *sqlitestore.Store, key chatter.Key, client string) {
	t.Helper()
	res, err := s.DB().Exec(`UPDATE river_job SET state = 'running', attempt = attempt + 1,
		attempted_at = datetime('now', 'subsec'), attempted_by = jsonb(json_array(?))
		WHERE json_extract(args, '$.message_id') = (SELECT id FROM chatter_messages WHERE message_id = ?)`, client, key.MessageID)
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	// The ledger counted the attempt before it started.
	_, err = s.DB().Exec(`UPDATE chatter_messages SET state = 'delivering', attempts = attempts + 1 WHERE message_id = ?`, key.MessageID)
	require.NoError(t, err)
}

// TestInstanceRestartResumesAtOnce: a process killed mid-attempt leaves its
// job running and its leases held; the restart of the same instance runs
// the job again at once and frees its leases (only its own).
func TestInstanceRestartResumesAtOnce(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{Queue: instanceTuning})
	ctx := context.Background()
	m := msg("ws", 1, 1)
	_, err := s.SaveMessage(ctx, m, accept(1, 5))
	require.NoError(t, err)
	diedRunning(t, s, m.Key, "shop-1/0a0b0c")
	for _, h := range []string{"shop-1/0a0b0c", "shop-1/ffffff", "shop-10/0a0b0c", "shop-1"} {
		_, err := s.AcquireLease(ctx, "ws", "lease of "+h, h, time.Hour)
		require.NoError(t, err)
	}

	var log syncBuffer
	k := newSink()
	startWork(t, s, chatter.QueueConfig{Workers: 1, Instance: "shop-1", Logger: slog.New(slog.NewTextHandler(&log, nil))}, k.deliver)
	waitState(t, s, "ws", m.Key, waitTimeout, chatter.StateDelivered)
	if d := cmp.Diff([]int{2}, k.runs(m.Key)); d != "" {
		t.Errorf("attempts (-want +got):\n%s", d)
	}
	require.Contains(t, log.String(), "instance claimed")
	require.Contains(t, log.String(), "jobs_resumed=1 leases_freed=2")

	free := map[string]bool{}
	for _, h := range []string{"shop-1/0a0b0c", "shop-1/ffffff", "shop-10/0a0b0c", "shop-1"} {
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
	s, _ := newStore(t, sqlitestore.Config{Queue: instanceTuning})
	ctx := context.Background()
	m := msg("ws", 1, 1)
	_, err := s.SaveMessage(ctx, m, accept(1, 5))
	require.NoError(t, err)
	diedRunning(t, s, m.Key, "shop-1/0a0b0c")
	_, err = s.AcquireLease(ctx, "ws", "person", "shop-1/0a0b0c", time.Hour)
	require.NoError(t, err)

	var log syncBuffer
	k := newSink()
	startWork(t, s, chatter.QueueConfig{Workers: 1, Instance: "shop-2", Logger: slog.New(slog.NewTextHandler(&log, nil))}, k.deliver)
	waitState(t, s, "ws", m.Key, waitTimeout, chatter.StateDelivered)
	require.Contains(t, log.String(), "the process of an instance died")
	_, err = s.AcquireLease(ctx, "ws", "person", "shop-2/1", time.Minute)
	require.NoError(t, err, "the dead instance's lease is free")
}

// TestInstanceLiveWorkUntouched: while the process of an instance runs an
// attempt, another instance on the same file never takes its job, and a
// second process of the same instance waits for the first to stop.
func TestInstanceLiveWorkUntouched(t *testing.T) {
	s1, path := newStore(t, sqlitestore.Config{Queue: instanceTuning})
	s2 := openAt(t, path, sqlitestore.Config{Queue: instanceTuning})
	ctx := context.Background()
	m := msg("ws", 1, 1)
	_, err := s1.SaveMessage(ctx, m, accept(1, 5))
	require.NoError(t, err)

	running, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		once.Do(func() { close(running) })
		<-release
		return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{LeadID: 1}}
	}
	r1 := startWork(t, s1, chatter.QueueConfig{Workers: 1, Instance: "shop-1"}, slow)
	<-running

	other := newSink()
	startWork(t, s2, chatter.QueueConfig{Workers: 1, Instance: "shop-2"}, other.deliver)
	var log syncBuffer
	same := newSink()
	startWork(t, s2, chatter.QueueConfig{Workers: 1, Instance: "shop-1", Logger: slog.New(slog.NewTextHandler(&log, nil))}, same.deliver)
	waitFor(t, waitTimeout, "the second process of shop-1 to wait", func() (bool, error) {
		return strings.Contains(log.String(), "waiting for the instance's other process to stop"), nil
	})
	time.Sleep(20 * instanceTuning.InstanceSweep) // many sweeps of shop-2
	state, attempt := jobState(t, s1.DB(), "ws", m.Key)
	require.Equal(t, "running", state)
	require.Equal(t, 1, attempt)
	require.Empty(t, other.runs(m.Key))
	require.NotContains(t, log.String(), "instance claimed")

	close(release)
	waitState(t, s1, "ws", m.Key, waitTimeout, chatter.StateDelivered)
	r1.stop(t)
	waitFor(t, waitTimeout, "the second process of shop-1 to take over", func() (bool, error) {
		return strings.Contains(log.String(), "instance claimed"), nil
	})
	require.Empty(t, other.runs(m.Key))
	require.Empty(t, same.runs(m.Key))
}

// TestInstanceInvalid: a bad instance id is refused before anything runs.
func TestInstanceInvalid(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{})
	for _, id := range []string{"shop/1", "магазин", strings.Repeat("a", chatter.MaxInstanceLen+1)} {
		wantErr(t, "Work(Instance "+id+")", s.Work(t.Context(), chatter.QueueConfig{Instance: id}, newSink().deliver), chatter.ErrInvalid)
	}
}
