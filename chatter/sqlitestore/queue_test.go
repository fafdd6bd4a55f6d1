package sqlitestore_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
)

// crashCfg makes River rescue a job left running by a dead process quickly.
var crashCfg = sqlitestore.Config{Queue: sqlitestore.QueueTuning{RescueAfter: time.Second, FetchPollInterval: 100 * time.Millisecond}}

// snapshot copies the database as it is at this instant (VACUUM INTO is a
// consistent copy): opening the copy is what a restart after a crash (kill
// -9, power loss with WAL synced) at this instant finds on disk.
func snapshot(t *testing.T, s *sqlitestore.Store) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crashed.db")
	_, err := s.DB().ExecContext(t.Context(), `VACUUM INTO ?`, path)
	noErr(t, "VACUUM INTO", err)
	return path
}

// TestDeliveryCrashRecovery interrupts a delivery at each step by taking the
// database file as a crash would leave it, then "restarts" on that file: the
// message is delivered exactly once as far as the sink sees a committed
// success, and a delivery committed before the crash is never repeated.
func TestDeliveryCrashRecovery(t *testing.T) {
	const ws = "ws"
	t.Run("BeforeAnyAttempt", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t, crashCfg)
		m := msg(ws, -1, 1)
		_, err := s.SaveMessage(t.Context(), m, accept(0, 3))
		noErr(t, "SaveMessage", err)
		crashed := snapshot(t, s)
		noErr(t, "Close", s.Close())

		s2 := openAt(t, crashed, crashCfg)
		k := newSink()
		startWork(t, s2, chatter.QueueConfig{Workers: 2}, k.deliver)
		e := waitState(t, s2, ws, m.Key, waitTimeout, chatter.StateDelivered)
		if runs := k.runs(m.Key); len(runs) != 1 || runs[0] != 1 || e.Attempts != 1 {
			t.Errorf("runs %v, entry attempts %d; want one run, attempt 1", runs, e.Attempts)
		}
	})

	t.Run("MidDelivery", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t, crashCfg)
		m := msg(ws, -1, 2)
		_, err := s.SaveMessage(t.Context(), m, accept(0, 3))
		noErr(t, "SaveMessage", err)
		started, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
			once.Do(func() { close(started) })
			select { // the process "dies" while the CRM call is in flight
			case <-release:
			case <-ctx.Done():
			}
			return chatter.Outcome{Kind: chatter.OutcomeDelivered}
		})
		waitOn(t, started, "the first attempt")
		crashed := snapshot(t, s)
		close(release)
		w.stop(t) // what the dying process did after the snapshot never reached the disk we restart from

		s2 := openAt(t, crashed, crashCfg)
		e, err := s2.GetEntry(t.Context(), ws, m.Key)
		noErr(t, "GetEntry after the crash", err)
		if e.State != chatter.StateDelivering || e.Attempts != 1 {
			t.Fatalf("after the crash entry is %s with %d attempts, want delivering with 1", e.State, e.Attempts)
		}
		k := newSink()
		startWork(t, s2, chatter.QueueConfig{Workers: 2, JobTimeout: time.Second}, k.deliver)
		e = waitState(t, s2, ws, m.Key, rescueTimeout, chatter.StateDelivered)
		runs := k.runs(m.Key)
		if len(runs) != 1 || runs[0] != 2 {
			t.Errorf("after restart the sink saw attempts %v, want exactly one, attempt 2 (ambiguous: the crashed one may have reached the CRM)", runs)
		}
		if e.Attempts != 2 || e.Result == nil || e.Result.LeadID != 10002 {
			t.Errorf("entry = %+v, want 2 attempts and the result", e)
		}
		if st, _ := jobState(t, s2.DB(), ws, m.Key); st != "completed" {
			t.Errorf("River job is %s, want completed", st)
		}
	})

	t.Run("AfterDeliveredCommit", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t, crashCfg)
		m := msg(ws, -1, 3)
		_, err := s.SaveMessage(t.Context(), m, accept(0, 3))
		noErr(t, "SaveMessage", err)
		k := newSink()
		w := startWork(t, s, chatter.QueueConfig{Workers: 1}, k.deliver)
		waitState(t, s, ws, m.Key, waitTimeout, chatter.StateDelivered)
		crashed := snapshot(t, s) // the crash comes right after the commit
		w.stop(t)

		s2 := openAt(t, crashed, crashCfg)
		sentinel := msg(ws, -1, 4)
		_, err = s2.SaveMessage(t.Context(), sentinel, accept(3, 3))
		noErr(t, "SaveMessage sentinel", err)
		k2 := newSink()
		startWork(t, s2, chatter.QueueConfig{Workers: 1}, k2.deliver)
		waitState(t, s2, ws, sentinel.Key, waitTimeout, chatter.StateDelivered)
		if runs := k2.runs(m.Key); len(runs) != 0 {
			t.Errorf("a delivery committed before the crash ran again after it: attempts %v", runs)
		}
		if st, _ := jobState(t, s2.DB(), ws, m.Key); st != "completed" {
			t.Errorf("River job is %s, want completed", st)
		}
	})

	t.Run("LastAttemptInterrupted", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t, crashCfg)
		m := msg(ws, -1, 5)
		_, err := s.SaveMessage(t.Context(), m, accept(0, 1))
		noErr(t, "SaveMessage", err)
		started, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
			once.Do(func() { close(started) })
			select {
			case <-release:
			case <-ctx.Done():
			}
			return chatter.Outcome{Kind: chatter.OutcomeDelivered}
		})
		waitOn(t, started, "the only attempt")
		crashed := snapshot(t, s)
		close(release)
		w.stop(t)

		s2 := openAt(t, crashed, crashCfg)
		k := newSink()
		startWork(t, s2, chatter.QueueConfig{Workers: 1, JobTimeout: time.Second}, k.deliver)
		e := waitState(t, s2, ws, m.Key, rescueTimeout, chatter.StateDead)
		if runs := k.runs(m.Key); len(runs) != 0 {
			t.Errorf("the sink ran beyond MaxAttempts 1: attempts %v", runs)
		}
		if e.Attempts != 1 || e.ErrorClass != chatter.ClassInternal || e.LastError == "" {
			t.Errorf("entry = %+v, want dead after 1 attempt, class internal, with a reason", e)
		}
		// Replay gives it a fresh round; the sink sees it as ambiguous.
		noErr(t, "Replay", s2.Replay(t.Context(), ws, m.Key))
		e = waitState(t, s2, ws, m.Key, waitTimeout, chatter.StateDelivered)
		if runs := k.runs(m.Key); len(runs) != 1 || runs[0] != 2 || e.Attempts != 2 {
			t.Errorf("after Replay the sink saw attempts %v (entry attempts %d), want [2] (2)", runs, e.Attempts)
		}
	})
}

// TestDeliveryCancelledThenRestarted cancels Work while the sink is in the
// middle of a call, closes the store, opens a new one on the same file and
// works again: the message is delivered exactly once.
func TestDeliveryCancelledThenRestarted(t *testing.T) {
	const ws = "ws"
	s, path := newStore(t, sqlitestore.Config{})
	m := msg(ws, -2, 1)
	_, err := s.SaveMessage(t.Context(), m, accept(0, 3))
	noErr(t, "SaveMessage", err)
	started := make(chan struct{})
	var once sync.Once
	var committed atomic.Int32
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		once.Do(func() { close(started) })
		<-ctx.Done() // the CRM call is cut off by the shutdown
		return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassTransient, Err: ctx.Err().Error(), Delay: 10 * time.Millisecond}
	})
	waitOn(t, started, "the first attempt")
	w.stop(t)
	e, err := s.GetEntry(t.Context(), ws, m.Key)
	noErr(t, "GetEntry", err)
	if e.State != chatter.StateFailed || e.Attempts != 1 || e.LastError != context.Canceled.Error() {
		t.Errorf("after the interrupted attempt entry = %+v, want failed, 1 attempt, the cancellation recorded", e)
	}
	noErr(t, "Close", s.Close())

	s2 := openAt(t, path, sqlitestore.Config{})
	k := newSink()
	startWork(t, s2, chatter.QueueConfig{Workers: 2}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		committed.Add(1)
		return k.deliver(ctx, j)
	})
	e = waitState(t, s2, ws, m.Key, waitTimeout, chatter.StateDelivered)
	if runs := k.runs(m.Key); len(runs) != 1 || runs[0] != 2 {
		t.Errorf("after restart the sink saw attempts %v, want [2]", runs)
	}
	if e.Attempts != 2 || e.ErrorClass != "" {
		t.Errorf("entry = %+v, want 2 attempts and no error", e)
	}
}

// TestReconcileJobEndedOutsideChatter: a job River discarded (or an operator
// cancelled) leaves the ledger dead, not queued forever; Replay revives it.
func TestReconcileJobEndedOutsideChatter(t *testing.T) {
	const ws = "ws"
	s, _ := newStore(t, sqlitestore.Config{})
	m := msg(ws, -3, 1)
	_, err := s.SaveMessage(t.Context(), m, accept(0, 3))
	noErr(t, "SaveMessage", err)
	_, err = s.DB().Exec(`UPDATE river_job SET state = 'discarded', finalized_at = CURRENT_TIMESTAMP`)
	noErr(t, "discard the job", err)
	k := newSink()
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, k.deliver)
	e := waitState(t, s, ws, m.Key, waitTimeout, chatter.StateDead)
	if e.ErrorClass != chatter.ClassInternal || e.LastError == "" {
		t.Errorf("reconciled entry = %+v, want dead with class internal and a reason", e)
	}
	noErr(t, "Replay", s.Replay(t.Context(), ws, m.Key))
	waitState(t, s, ws, m.Key, waitTimeout, chatter.StateDelivered)
	w.stop(t)
	if runs := k.runs(m.Key); len(runs) != 1 {
		t.Errorf("sink runs %v, want one", runs)
	}
}

// TestQueueOutcomes drives each Outcome kind and checks the ledger and River.
func TestQueueOutcomes(t *testing.T) {
	const ws = "ws"
	s, _ := newStore(t, sqlitestore.Config{})
	retry, snooze, dead := msg(ws, -4, 1), msg(ws, -4, 2), msg(ws, -4, 3)
	for _, m := range []*chatter.Message{retry, snooze, dead} {
		_, err := s.SaveMessage(t.Context(), m, accept(0, 2))
		noErr(t, "SaveMessage", err)
	}
	var mu sync.Mutex
	seen := map[int64][]chatter.Job{}
	w := startWork(t, s, chatter.QueueConfig{Workers: 3}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		mu.Lock()
		seen[j.Message.Key.MessageID] = append(seen[j.Message.Key.MessageID], *j)
		n := len(seen[j.Message.Key.MessageID])
		mu.Unlock()
		switch j.Message.Key.MessageID {
		case 1:
			return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassTransient, Err: "503", Delay: 10 * time.Millisecond}
		case 2:
			if n <= 2 {
				return chatter.Outcome{Kind: chatter.OutcomeSnooze, Class: chatter.ClassRateLimited, Err: "429", Delay: 10 * time.Millisecond}
			}
			return chatter.Outcome{Kind: chatter.OutcomeDelivered}
		default:
			return chatter.Outcome{Kind: chatter.OutcomeDead, Class: chatter.ClassMapping, Err: "поле обязательно"}
		}
	})
	er := waitState(t, s, ws, retry.Key, waitTimeout, chatter.StateDead)
	es := waitState(t, s, ws, snooze.Key, waitTimeout, chatter.StateDelivered)
	ed := waitState(t, s, ws, dead.Key, waitTimeout, chatter.StateDead)
	w.stop(t)
	mu.Lock()
	defer mu.Unlock()
	if js := seen[1]; len(js) != 2 || js[0].Attempt != 1 || js[1].Attempt != 2 || js[1].LastError != "503" || js[1].MaxAttempts != 2 {
		t.Errorf("retry runs = %+v, want attempts 1 and 2 of 2, the second with the first's error", js)
	}
	if er.Attempts != 2 || er.ErrorClass != chatter.ClassTransient {
		t.Errorf("exhausted entry = %+v", er)
	}
	if js := seen[2]; len(js) != 3 || js[2].Attempt != 1 {
		t.Errorf("snoozed runs = %+v, want 3 runs all attempt 1", js)
	}
	if es.Attempts != 1 {
		t.Errorf("snoozed entry attempts = %d, want 1", es.Attempts)
	}
	if len(seen[3]) != 1 || ed.ErrorClass != chatter.ClassMapping || ed.Attempts != 1 {
		t.Errorf("dead runs %d, entry %+v", len(seen[3]), ed)
	}
	for _, m := range []*chatter.Message{retry, dead} {
		if st, _ := jobState(t, s.DB(), ws, m.Key); st != "cancelled" {
			t.Errorf("River job of dead %s is %s, want cancelled", m.Key, st)
		}
	}
	wantErr(t, "Replay(delivered)", s.Replay(t.Context(), ws, snooze.Key), chatter.ErrConflict)
	wantErr(t, "Replay(unknown)", s.Replay(t.Context(), ws, msg(ws, -4, 99).Key), chatter.ErrNotFound)
}

func TestWorkArguments(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{})
	wantErr(t, "Work(nil)", s.Work(t.Context(), chatter.QueueConfig{}, nil), chatter.ErrInvalid)
	wantErr(t, "Work(negative workers)", s.Work(t.Context(), chatter.QueueConfig{Workers: -1}, newSink().deliver), chatter.ErrInvalid)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	noErr(t, "Work(cancelled ctx)", s.Work(ctx, chatter.QueueConfig{}, newSink().deliver))
}

func waitOn(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("%s did not happen", what)
	}
}
