package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/pgstore"
)

func waitState(t *testing.T, s *pgstore.Store, ws string, k chatter.Key, st chatter.State) *chatter.LedgerEntry {
	t.Helper()
	var e *chatter.LedgerEntry
	waitFor(t, fmt.Sprintf("%s to be %s", k, st), func() (bool, error) {
		var err error
		e, err = s.GetEntry(t.Context(), ws, k)
		return err == nil && e.State == st, err
	})
	return e
}

// TestQueueOutcomes drives each Outcome through River and checks the ledger
// and the attempts the WorkFunc sees.
func TestQueueOutcomes(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ctx := t.Context()
	retryThenOK := msg("ws", 1, 1) // Retry, Snooze, then Delivered
	dies := msg("ws", 1, 2)        // Dead, then replayed and delivered
	exhausts := msg("ws", 1, 3)    // Retry until the attempts are used up
	panics := msg("ws", 1, 4)      // panics once
	for _, m := range []*chatter.Message{retryThenOK, dies, exhausts, panics} {
		if _, err := s.SaveMessage(ctx, m, acceptOpts(0, 3)); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu       sync.Mutex
		seen     = map[chatter.Key][]chatter.Job{}
		replayed atomic.Bool
	)
	fn := func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		mu.Lock()
		seen[j.Message.Key] = append(seen[j.Message.Key], *j)
		calls := len(seen[j.Message.Key])
		mu.Unlock()
		e, err := s.GetEntry(ctx, "ws", j.Message.Key)
		if err != nil || e.State != chatter.StateDelivering {
			return chatter.Outcome{Kind: chatter.OutcomeDead, Err: fmt.Sprintf("ledger not delivering during attempt: %v %v", e, err)}
		}
		switch j.Message.Key {
		case retryThenOK.Key:
			switch calls {
			case 1:
				return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassTransient, Err: "timeout", Delay: 10 * time.Millisecond}
			case 2:
				return chatter.Outcome{Kind: chatter.OutcomeSnooze, Class: chatter.ClassRateLimited, Err: "429", Delay: 20 * time.Millisecond}
			}
			return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{LeadID: 101}}
		case dies.Key:
			if !replayed.Load() {
				return chatter.Outcome{Kind: chatter.OutcomeDead, Class: chatter.ClassMapping, Err: "field missing"}
			}
			return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{LeadID: 102}}
		case panics.Key:
			if calls == 1 {
				panic("boom")
			}
			return chatter.Outcome{Kind: chatter.OutcomeDelivered}
		}
		return chatter.Outcome{Kind: chatter.OutcomeRetry, Err: "still failing", Delay: 10 * time.Millisecond}
	}
	startWork(t, s, chatter.QueueConfig{Workers: 3, JobTimeout: 20 * time.Second}, fn)

	e := waitState(t, s, "ws", retryThenOK.Key, chatter.StateDelivered)
	if e.Attempts != 2 || e.Result == nil || e.Result.LeadID != 101 || e.ErrorClass != "" || e.DeliveredAt.IsZero() {
		t.Errorf("delivered entry = %+v", e)
	}
	mu.Lock()
	if got := attempts(seen[retryThenOK.Key]); fmt.Sprint(got) != "[1 2 2]" {
		t.Errorf("attempts seen = %v, want [1 2 2] (a snooze uses no attempt)", got)
	}
	if j := seen[retryThenOK.Key][1]; j.LastError != "timeout" || j.LastClass != chatter.ClassTransient || j.MaxAttempts != 3 {
		t.Errorf("second attempt job = %+v", j)
	}
	mu.Unlock()

	e = waitState(t, s, "ws", exhausts.Key, chatter.StateDead)
	if e.Attempts != 3 || e.ErrorClass != chatter.ClassTransient || e.LastError != "still failing" {
		t.Errorf("exhausted entry = %+v", e)
	}
	e = waitState(t, s, "ws", dies.Key, chatter.StateDead)
	if e.Attempts != 1 || e.ErrorClass != chatter.ClassMapping {
		t.Errorf("dead entry = %+v", e)
	}
	waitState(t, s, "ws", panics.Key, chatter.StateDelivered)

	if err := s.Replay(ctx, "ws", retryThenOK.Key); !errors.Is(err, chatter.ErrConflict) {
		t.Errorf("Replay of a delivered message: %v, want ErrConflict", err)
	}
	if err := s.Replay(ctx, "ws", msg("ws", 9, 9).Key); !errors.Is(err, chatter.ErrNotFound) {
		t.Errorf("Replay of an unknown key: %v, want ErrNotFound", err)
	}
	replayed.Store(true)
	if err := s.Replay(ctx, "ws", dies.Key); err != nil {
		t.Fatal(err)
	}
	e = waitState(t, s, "ws", dies.Key, chatter.StateDelivered)
	if e.Attempts != 2 || e.Result.LeadID != 102 {
		t.Errorf("replayed entry = %+v", e)
	}
	mu.Lock()
	if got := seen[dies.Key]; len(got) != 2 || got[1].Attempt != 2 || got[1].MaxAttempts != 4 {
		t.Errorf("replayed jobs = %+v; want attempt 2 of 4", got)
	}
	mu.Unlock()
	counts, err := s.CountEntries(ctx, chatter.LedgerQuery{Workspace: "ws"})
	if err != nil || counts[chatter.StateDelivered] != 3 || counts[chatter.StateDead] != 1 {
		t.Errorf("CountEntries = %v, %v", counts, err)
	}
	waitFor(t, "river jobs to be finalized", func() (bool, error) {
		return count(t, pool, `SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled')`) == 0, nil
	})
}

func attempts(js []chatter.Job) []int {
	var out []int
	for _, j := range js {
		out = append(out, j.Attempt)
	}
	return out
}

// TestPrioritiesServedFirst checks that a higher priority (lower number) job
// is taken before lower ones that were queued earlier.
func TestPrioritiesServedFirst(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	for i := int64(1); i <= 5; i++ {
		if _, err := s.SaveMessage(ctx, msg("ws", 1, i), acceptOpts(3, 1)); err != nil {
			t.Fatal(err)
		}
	}
	urgent := msg("ws", 2, 1)
	if _, err := s.SaveMessage(ctx, urgent, acceptOpts(0, 1)); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		order []chatter.Key
	)
	startWork(t, s, chatter.QueueConfig{Workers: 1}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		mu.Lock()
		order = append(order, j.Message.Key)
		mu.Unlock()
		return chatter.Outcome{Kind: chatter.OutcomeDelivered}
	})
	waitFor(t, "all delivered", func() (bool, error) {
		c, err := s.CountEntries(ctx, chatter.LedgerQuery{Workspace: "ws", States: []chatter.State{chatter.StateDelivered}})
		return c[chatter.StateDelivered] == 6, err
	})
	mu.Lock()
	defer mu.Unlock()
	if order[0] != urgent.Key {
		t.Errorf("first delivered %s, want the priority-0 message %s", order[0], urgent.Key)
	}
}

// TestTwoPipelinesDeliverOnce runs two Stores (two pools, two River clients)
// on one schema: no message is ever in two deliveries at once, and each is
// delivered exactly once.
func TestTwoPipelinesDeliverOnce(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	a, _ := storeOn(t, schema)
	b, pool := storeOn(t, schema)
	ctx := t.Context()
	const n = 300
	var (
		mu        sync.Mutex
		running   = map[chatter.Key]int{}
		delivered = map[chatter.Key]int{}
		overlaps  int
		bySide    [2]int
	)
	sink := func(side int) chatter.WorkFunc {
		return func(ctx context.Context, j *chatter.Job) chatter.Outcome {
			k := j.Message.Key
			mu.Lock()
			running[k]++
			if running[k] > 1 {
				overlaps++
			}
			mu.Unlock()
			// Widen the window in which a second execution would overlap.
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Millisecond):
			}
			mu.Lock()
			defer mu.Unlock()
			running[k]--
			if k.MessageID%7 == 0 && j.Attempt == 1 { // some fail once and are retried
				return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassTransient, Err: "flaky", Delay: 5 * time.Millisecond}
			}
			delivered[k]++
			bySide[side]++
			return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{LeadID: k.MessageID}}
		}
	}
	startWork(t, a, chatter.QueueConfig{Workers: 5}, sink(0))
	startWork(t, b, chatter.QueueConfig{Workers: 5}, sink(1))
	// Producers on both sides, with every message offered by both.
	var wg sync.WaitGroup
	for _, s := range []*pgstore.Store{a, b} {
		wg.Go(func() {
			for i := int64(1); i <= n; i++ {
				if _, err := s.SaveMessage(ctx, msg("ws", 1, i), acceptOpts(int(i%4), 3)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, "all messages delivered", func() (bool, error) {
		c, err := a.CountEntries(ctx, chatter.LedgerQuery{Workspace: "ws"})
		return c[chatter.StateDelivered] == n, err
	})
	mu.Lock()
	defer mu.Unlock()
	if overlaps != 0 {
		t.Errorf("%d overlapping executions of one message", overlaps)
	}
	if len(delivered) != n {
		t.Errorf("%d distinct messages delivered, want %d", len(delivered), n)
	}
	for k, c := range delivered {
		if c != 1 {
			t.Errorf("%s delivered %d times", k, c)
		}
	}
	if jobs := count(t, pool, `SELECT count(*) FROM river_job`); jobs != n {
		t.Errorf("%d jobs for %d messages offered twice, want %d", jobs, n, n)
	}
	t.Logf("deliveries by pipeline: A %d, B %d", bySide[0], bySide[1])
}

// TestWorkValidatesConfig checks Work's input errors.
func TestWorkValidatesConfig(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ok := func(context.Context, *chatter.Job) chatter.Outcome {
		return chatter.Outcome{Kind: chatter.OutcomeDelivered}
	}
	for name, c := range map[string]struct {
		cfg chatter.QueueConfig
		fn  chatter.WorkFunc
	}{
		"nil fn":           {chatter.QueueConfig{}, nil},
		"negative workers": {chatter.QueueConfig{Workers: -1}, ok},
		"negative timeout": {chatter.QueueConfig{JobTimeout: -time.Second}, ok},
	} {
		if err := s.Work(t.Context(), c.cfg, c.fn); !errors.Is(err, chatter.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Work(ctx, chatter.QueueConfig{}, ok); err != nil {
		t.Errorf("Work with a done context: %v, want nil (nothing to run)", err)
	}
}
