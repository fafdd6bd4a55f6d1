package pgstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/pgstore"
)

// TestCrashedAttemptIsRescued simulates a process killed mid-delivery: the
// River job is left running and the ledger delivering. River's rescuer (after
// QueueTuning.RescueAfter) makes it runnable again; the next attempt has a higher
// Attempt. A message whose interrupted attempt was its last goes dead without
// another call.
func TestCrashedAttemptIsRescued(t *testing.T) {
	t.Parallel()
	s, pool := storeConfigured(t, newSchema(t), pgstore.Config{Queue: pgstore.QueueTuning{RescueAfter: 2 * time.Second}})
	ctx := t.Context()
	again := msg("ws", 1, 1)   // 3 attempts: runs again
	lastOne := msg("ws", 1, 2) // 1 attempt: goes dead
	if _, err := s.SaveMessage(ctx, again, acceptOpts(0, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveMessage(ctx, lastOne, acceptOpts(0, 1)); err != nil {
		t.Fatal(err)
	}
	// The "crashed" process had taken both jobs (attempt 1) and marked them
	// delivering, the attempt counted.
	if _, err := pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1,
		attempted_at = now() - interval '1 hour', attempted_by = '{crashed-host}'`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE chatter_messages SET state = 'delivering', attempts = 1`); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		jobs = map[chatter.Key][]chatter.Job{}
	)
	startWork(t, s, chatter.QueueConfig{Workers: 2, JobTimeout: time.Second}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		mu.Lock()
		jobs[j.Message.Key] = append(jobs[j.Message.Key], *j)
		mu.Unlock()
		return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{LeadID: 5}}
	})
	e := waitState(t, s, "ws", again.Key, chatter.StateDelivered)
	if e.Attempts != 2 {
		t.Errorf("rescued delivery attempts = %d, want 2", e.Attempts)
	}
	e = waitState(t, s, "ws", lastOne.Key, chatter.StateDead)
	if e.Attempts != 1 || e.ErrorClass != chatter.ClassInternal {
		t.Errorf("interrupted last attempt: entry %+v, want dead after 1 attempt, class internal", e)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := jobs[again.Key]; len(got) != 1 || got[0].Attempt != 2 {
		t.Errorf("rescued runs = %+v, want one with Attempt 2", got)
	}
	if got := jobs[lastOne.Key]; len(got) != 0 {
		t.Errorf("a message out of attempts was delivered again: %+v", got)
	}
}
