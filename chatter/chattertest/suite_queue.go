package chattertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

var queueTests = []storeTest{
	{"Delivered", testQueueDelivered},
	{"ExactlyOnce", testQueueExactlyOnce},
	{"Priority", testQueuePriority},
	{"Retry", testQueueRetry},
	{"RetryRecordedThenReplay", testQueueRetryRecorded},
	{"RetryExhausted", testQueueRetryExhausted},
	{"Snooze", testQueueSnooze},
	{"Wake", testQueueWake},
	{"DeadReplayDelivered", testQueueDeadReplay},
	{"ReplayErrors", testQueueReplayErrors},
	{"Panic", testQueuePanic},
	{"JobTimeout", testQueueJobTimeout},
	{"StopMidDelivery", testQueueStopMidDelivery},
	{"StopAppliesLateOutcome", testQueueStopLateOutcome},
	{"WorkArguments", testQueueWorkArguments},
	{"NoAttemptCap", testQueueNoAttemptCap},
	{"BudgetStart", testQueueBudgetStart},
	{"ReplayDead", testQueueReplayDead},
	{"ReplayDeadBatches", testQueueReplayDeadBatches},
	{"ReconcileDiscarded", testQueueReconcileDiscarded},
	{"ReconcileCancelledFailed", testQueueReconcileCancelledFailed},
	{"ReconcileRefusesRunningJob", testQueueReconcileRefusesRunning},
}

// QueueFaults is implemented by every Store for TestStore, and only for
// tests: it makes happen on purpose what a queue does to a delivery job
// outside Chatter, so the suite can check that the ledger does not keep a
// message queued or delivering forever when it does.
//
// EndDeliveryJobForTest ends the job of key's current delivery round with
// state "discarded" (River's rescuer gave up on a job whose process kept
// dying) or "cancelled" (an operator cancelled it in River's UI), without
// touching the ledger entry. A job that is running or finished is refused
// with chatter.ErrConflict; an unknown key is chatter.ErrNotFound. Work's
// reconcile sweep, which runs when Work starts (and periodically while it
// runs), must then mark the entry dead with class internal and a reason, and
// Replay must revive it.
type QueueFaults interface {
	EndDeliveryJobForTest(ctx context.Context, workspace string, key chatter.Key, state string) error
}

// queueFaults returns s's QueueFaults, failing the test when s has none.
func queueFaults(t *testing.T, s chatter.Store) QueueFaults {
	t.Helper()
	f, ok := s.(QueueFaults)
	require.Truef(t, ok, "%T does not implement chattertest.QueueFaults; every store must, for the reconcile cases", s)
	return f
}

// reconciled is what a reconciled entry must look like.
func checkReconciled(t *testing.T, e *chatter.LedgerEntry) {
	t.Helper()
	got := struct {
		State     chatter.State
		Class     chatter.ErrorClass
		HasReason bool
		NextAt    time.Time
	}{e.State, e.ErrorClass, e.LastError != "", e.NextAt}
	want := got
	want.State, want.Class, want.HasReason, want.NextAt = chatter.StateDead, chatter.ClassInternal, true, time.Time{}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("reconciled entry (-want +got):\n%s", d)
	}
}

func testQueueDelivered(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := fullMessage(ws, -1001111, 21)
	save(t, s, m, accept(2, 4))
	var log jobLog
	var sawDelivering atomic.Bool
	result := &chatter.DeliveryResult{LeadID: 31337, ContactID: 4242, NoteID: 9, Threaded: true,
		Extra: map[string]string{"pipeline": "Входящие"}}
	w := startWork(t, s, chatter.QueueConfig{Workers: 2}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		if e, err := s.GetEntry(ctx, ws, j.Message.Key); err == nil && e.State == chatter.StateDelivering {
			sawDelivering.Store(true)
		}
		return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: result}
	})
	e := waitEntry(t, s, ws, m.Key, chatter.StateDelivered)
	w.stop(t)
	if !sawDelivering.Load() {
		t.Errorf("the ledger did not show %q during the attempt", chatter.StateDelivering)
	}
	jobs := log.of(ws, m.Key)
	if len(jobs) != 1 {
		t.Fatalf("job ran %d times, want 1", len(jobs))
	}
	j := jobs[0]
	if j.Attempt != 1 || j.MaxAttempts != 4 || j.Priority != 2 || j.LastError != "" || j.LastClass != "" || j.ID == 0 {
		t.Errorf("job = {ID %d Attempt %d MaxAttempts %d Priority %d LastError %q LastClass %q}, want a non-zero ID, 1, 4, 2, no last error",
			j.ID, j.Attempt, j.MaxAttempts, j.Priority, j.LastError, j.LastClass)
	}
	checkMessage(t, "Job.Message", j.Message, m)
	if e.Attempts != 1 || e.DeliveredAt.IsZero() || e.ErrorClass != "" || e.LastError != "" {
		t.Errorf("delivered entry = %+v, want 1 attempt, DeliveredAt set, no error", e)
	}
	if e.Result == nil || e.Result.LeadID != 31337 || e.Result.ContactID != 4242 || e.Result.NoteID != 9 ||
		!e.Result.Threaded || !maps.Equal(e.Result.Extra, result.Extra) {
		t.Errorf("entry result = %+v, want %+v", e.Result, result)
	}
}

func testQueueExactlyOnce(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	const n = 40
	ms := make([]*chatter.Message, n)
	opts := make([]chatter.AcceptOptions, n)
	for i := range ms {
		ms[i] = NewMessage(ws, -1002222, int64(i+1), "")
		opts[i] = accept(i%4, 3)
	}
	_, err := s.SaveMessages(t.Context(), ms, opts)
	noErr(t, "SaveMessages", err)
	var log jobLog
	w := startWork(t, s, chatter.QueueConfig{Workers: 4}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return deliveredOutcome(j)
	})
	// More arrive while workers run.
	late := NewMessage(ws, -1002222, 1000, "")
	save(t, s, late, accept(0, 3))
	waitFor(t, "every message delivered", func() (bool, error) {
		c, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws})
		return c[chatter.StateDelivered] == n+1, err
	})
	w.stop(t)
	for _, m := range append(ms, late) {
		if c := log.count(ws, m.Key); c != 1 {
			t.Errorf("%s ran %d times, want exactly 1", m.Key, c)
		}
	}
}

func testQueuePriority(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	prios := []int{3, 2, 1, 0, 3, 0, 2, 1, 0, 3}
	for i, p := range prios {
		save(t, s, NewMessage(ws, -1003333, int64(i+1), ""), accept(p, 3))
	}
	var log jobLog
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return deliveredOutcome(j)
	})
	waitFor(t, "every message delivered", func() (bool, error) {
		c, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws})
		return c[chatter.StateDelivered] == len(prios), err
	})
	w.stop(t)
	jobs := log.all()
	for i := 1; i < len(jobs); i++ {
		if jobs[i].Priority < jobs[i-1].Priority {
			t.Errorf("one worker ran priority %d (message %d) after priority %d (message %d)",
				jobs[i].Priority, jobs[i].Message.Key.MessageID, jobs[i-1].Priority, jobs[i-1].Message.Key.MessageID)
		}
		if jobs[i].Priority != prios[jobs[i].Message.Key.MessageID-1] {
			t.Errorf("job priority %d, message saved with %d", jobs[i].Priority, prios[jobs[i].Message.Key.MessageID-1])
		}
	}
}

func testQueueRetry(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -1004444, 1, "")
	save(t, s, m, accept(0, 5))
	var log jobLog
	w := startWork(t, s, chatter.QueueConfig{Workers: 2}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		if n := log.add(j); n < 3 {
			return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassTransient, Err: fmt.Sprintf("amoCRM 503 #%d", n), Delay: 10 * time.Millisecond}
		}
		return deliveredOutcome(j)
	})
	e := waitEntry(t, s, ws, m.Key, chatter.StateDelivered)
	w.stop(t)
	jobs := log.of(ws, m.Key)
	if len(jobs) != 3 {
		t.Fatalf("job ran %d times, want 3", len(jobs))
	}
	for i, j := range jobs {
		if j.Attempt != i+1 || j.MaxAttempts != 5 {
			t.Errorf("run %d: Attempt %d MaxAttempts %d, want %d of 5", i+1, j.Attempt, j.MaxAttempts, i+1)
		}
	}
	if jobs[1].LastError != "amoCRM 503 #1" || jobs[2].LastError != "amoCRM 503 #2" || jobs[2].LastClass != chatter.ClassTransient {
		t.Errorf("LastError/LastClass = %q, %q/%q; want the previous attempt's error and class", jobs[1].LastError, jobs[2].LastError, jobs[2].LastClass)
	}
	if e.Attempts != 3 || e.ErrorClass != "" || e.LastError != "" || e.Result == nil || e.Result.LeadID != 10001 {
		t.Errorf("entry = %+v, want 3 attempts, no error, lead 10001", e)
	}
}

func testQueueRetryRecorded(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -1005555, 1, "")
	save(t, s, m, accept(1, 3))
	var log jobLog
	work := func(_ context.Context, j *chatter.Job) chatter.Outcome {
		if log.add(j) == 1 {
			return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassRateLimited, Err: "429 Too Many Requests", Delay: time.Hour}
		}
		return deliveredOutcome(j)
	}
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, work)
	e := waitEntry(t, s, ws, m.Key, chatter.StateFailed)
	if e.Attempts != 1 || e.ErrorClass != chatter.ClassRateLimited || e.LastError != "429 Too Many Requests" ||
		!e.NextAt.After(e.UpdatedAt.Add(30*time.Minute)) {
		t.Errorf("failed entry = %+v, want 1 attempt, rate_limited, its error, NextAt about an hour on", e)
	}
	// Replay of a failed message runs it now instead of in an hour.
	noErr(t, "Replay(failed)", s.Replay(t.Context(), ws, m.Key))
	e = waitEntry(t, s, ws, m.Key, chatter.StateDelivered)
	w.stop(t)
	jobs := log.of(ws, m.Key)
	if len(jobs) != 2 || jobs[1].Attempt != 2 || jobs[1].Attempt > jobs[1].MaxAttempts || jobs[1].LastClass != chatter.ClassRateLimited {
		t.Errorf("jobs = %+v, want a second run with Attempt 2 ≤ MaxAttempts and LastClass rate_limited", jobs)
	}
	if e.Attempts != 2 {
		t.Errorf("entry attempts = %d, want 2", e.Attempts)
	}
}

func testQueueRetryExhausted(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -1006666, 1, "")
	save(t, s, m, accept(0, 2))
	var log jobLog
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassTransient, Err: "connection reset", Delay: 10 * time.Millisecond}
	})
	e := waitEntry(t, s, ws, m.Key, chatter.StateDead)
	// A sentinel proves no further attempt is pending.
	sentinel := NewMessage(ws, -1006666, 2, "")
	save(t, s, sentinel, accept(3, 1))
	waitFor(t, "the sentinel", func() (bool, error) { return log.count(ws, sentinel.Key) == 1, nil })
	w.stop(t)
	if n := log.count(ws, m.Key); n != 2 {
		t.Errorf("job ran %d times with MaxAttempts 2, want 2", n)
	}
	if e.Attempts != 2 || e.ErrorClass != chatter.ClassTransient || e.LastError != "connection reset" {
		t.Errorf("dead entry = %+v, want 2 attempts, transient, 'connection reset'", e)
	}
}

func testQueueSnooze(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -1007777, 1, "")
	save(t, s, m, accept(0, 1))
	var log jobLog
	w := startWork(t, s, chatter.QueueConfig{Workers: 2}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		if log.add(j) <= 3 {
			return chatter.Outcome{Kind: chatter.OutcomeSnooze, Class: chatter.ClassRateLimited, Err: "retry after 10ms", Delay: 10 * time.Millisecond}
		}
		return deliveredOutcome(j)
	})
	e := waitEntry(t, s, ws, m.Key, chatter.StateDelivered)
	jobs := log.of(ws, m.Key)
	if len(jobs) != 4 {
		t.Fatalf("job ran %d times, want 4 (3 snoozes, then delivered)", len(jobs))
	}
	for i, j := range jobs {
		if j.Attempt != 1 || j.MaxAttempts != 1 {
			t.Errorf("run %d: Attempt %d of %d, want 1 of 1 (snoozes use no attempt)", i+1, j.Attempt, j.MaxAttempts)
		}
	}
	if e.Attempts != 1 {
		t.Errorf("entry attempts = %d, want 1", e.Attempts)
	}

	// A long snooze leaves the message queued with the reason and no attempt used.
	m2 := NewMessage(ws, -1007777, 2, "")
	save(t, s, m2, accept(0, 3))
	var e2 *chatter.LedgerEntry
	waitFor(t, "the long snooze", func() (bool, error) {
		var err error
		e2, err = s.GetEntry(t.Context(), ws, m2.Key)
		return err == nil && e2.State == chatter.StateQueued && e2.LastError != "", err
	})
	w.stop(t)
	if e2.Attempts != 0 || e2.ErrorClass != chatter.ClassRateLimited || e2.LastError != "retry after 10ms" {
		t.Errorf("snoozed entry = %+v, want queued, 0 attempts, rate_limited with its reason", e2)
	}
}

// testQueueWake: Wake runs at once the workspace's deliveries snoozed with
// the classes named, and nothing else: not another class, not a retry after
// a failure, not another workspace.
func testQueueWake(t *testing.T, s chatter.Store) {
	const ws, other = "ws-main", "ws-other"
	blocked := NewMessage(ws, -1008888, 1, "")
	auth := NewMessage(ws, -1008888, 2, "")
	failed := NewMessage(ws, -1008888, 3, "")
	elsewhere := NewMessage(other, -1008888, 4, "")
	for _, m := range []*chatter.Message{blocked, auth, failed, elsewhere} {
		save(t, s, m, accept(0, 3))
	}
	var log jobLog
	startWork(t, s, chatter.QueueConfig{Workers: 2}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		if log.add(j) > 1 {
			return deliveredOutcome(j)
		}
		switch j.Message.Key {
		case auth.Key:
			return chatter.Outcome{Kind: chatter.OutcomeSnooze, Class: chatter.ClassAuth, Err: "401", Delay: time.Hour}
		case failed.Key:
			return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassBlocked, Err: "403", Delay: time.Hour}
		}
		return chatter.Outcome{Kind: chatter.OutcomeSnooze, Class: chatter.ClassBlocked, Err: "403", Delay: time.Hour}
	})
	waitFor(t, "every message snoozed or failed", func() (bool, error) {
		for _, m := range []*chatter.Message{blocked, auth, failed, elsewhere} {
			e, err := s.GetEntry(t.Context(), m.Workspace, m.Key)
			if err != nil || e.LastError == "" || (e.State != chatter.StateQueued && e.State != chatter.StateFailed) {
				return false, err
			}
		}
		return true, nil
	})
	n, err := s.Wake(t.Context(), ws)
	require.NoError(t, err)
	require.Zero(t, n, "Wake with no classes wakes nothing")
	_, err = s.Wake(t.Context(), "", chatter.ClassBlocked)
	require.ErrorIs(t, err, chatter.ErrInvalid, "Wake without a workspace")

	// The ledger shows a snooze a moment before the queue has applied it
	// (River's job is still running): Wake finds it once it has.
	woken := 0
	waitFor(t, "Wake to wake the blocked delivery", func() (bool, error) {
		n, err := s.Wake(t.Context(), ws, chatter.ClassBlocked, chatter.ClassRateLimited)
		woken += n
		return woken > 0, err
	})
	require.Equal(t, 1, woken, "one delivery of ws snoozed as blocked")
	e := waitEntry(t, s, ws, blocked.Key, chatter.StateDelivered)
	require.Equal(t, 1, e.Attempts, "the snooze used no attempt, the woken run is the first")

	got := map[string]string{}
	for _, m := range []*chatter.Message{auth, failed, elsewhere} {
		e, err := s.GetEntry(t.Context(), m.Workspace, m.Key)
		require.NoError(t, err)
		got[m.Workspace+"/"+m.Key.String()] = fmt.Sprintf("%s %s ahead=%t", e.State, e.ErrorClass, e.NextAt.After(time.Now().Add(30*time.Minute)))
	}
	want := map[string]string{
		ws + "/" + auth.Key.String():         "queued auth ahead=true",
		ws + "/" + failed.Key.String():       "failed blocked ahead=true",
		other + "/" + elsewhere.Key.String(): "queued blocked ahead=true",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("entries Wake must not touch (-want +got):\n%s", d)
	}
	if c := log.count(ws, blocked.Key); c != 2 {
		t.Errorf("the woken delivery ran %d times, want 2", c)
	}
	n, err = s.Wake(t.Context(), ws, chatter.ClassBlocked)
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to wake")
}

func testQueueDeadReplay(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := fullMessage(ws, -1008888, 1)
	save(t, s, m, accept(1, 1))
	var log jobLog
	dead := func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return chatter.Outcome{Kind: chatter.OutcomeDead, Class: chatter.ClassMapping, Err: "поле «Бюджет» обязательно"}
	}
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, dead)
	e := waitEntry(t, s, ws, m.Key, chatter.StateDead)
	w.stop(t)
	if e.Attempts != 1 || e.ErrorClass != chatter.ClassMapping || e.LastError != "поле «Бюджет» обязательно" {
		t.Errorf("dead entry = %+v, want 1 attempt, mapping, its error", e)
	}
	noErr(t, "Replay(dead)", s.Replay(t.Context(), ws, m.Key))
	e, err := s.GetEntry(t.Context(), ws, m.Key)
	noErr(t, "GetEntry", err)
	if e.State != chatter.StateQueued {
		t.Errorf("after Replay state = %s, want queued", e.State)
	}
	wantErr(t, "Replay of a queued message", s.Replay(t.Context(), ws, m.Key), chatter.ErrConflict)
	w = startWork(t, s, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return deliveredOutcome(j)
	})
	e = waitEntry(t, s, ws, m.Key, chatter.StateDelivered)
	w.stop(t)
	jobs := log.of(ws, m.Key)
	if len(jobs) != 2 {
		t.Fatalf("job ran %d times, want 2", len(jobs))
	}
	j := jobs[1]
	// Attempts keep counting across rounds so the sink sees an ambiguous
	// delivery (Attempt > 1) and looks for what earlier attempts created.
	if j.Attempt < 2 || j.Attempt > j.MaxAttempts {
		t.Errorf("replayed job Attempt %d of %d, want ≥ 2 and within MaxAttempts", j.Attempt, j.MaxAttempts)
	}
	if j.LastClass != chatter.ClassMapping || j.LastError != "поле «Бюджет» обязательно" {
		t.Errorf("replayed job LastClass %q LastError %q, want the dead attempt's", j.LastClass, j.LastError)
	}
	checkMessage(t, "replayed Job.Message", j.Message, m)
	if e.Result == nil || e.Result.LeadID != 10001 || e.ErrorClass != "" {
		t.Errorf("entry = %+v, want delivered with lead 10001 and no error class", e)
	}
	wantErr(t, "Replay of a delivered message", s.Replay(t.Context(), ws, m.Key), chatter.ErrConflict)
}

func testQueueReplayErrors(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -1009999, 1, "")
	save(t, s, m, accept(0, 3))
	unknown := m.Key
	unknown.MessageID = 99
	wantErr(t, "Replay(unknown key)", s.Replay(t.Context(), ws, unknown), chatter.ErrNotFound)
	wantErr(t, "Replay(other workspace)", s.Replay(t.Context(), "ws-other", m.Key), chatter.ErrNotFound)
	wantErr(t, "Replay(queued)", s.Replay(t.Context(), ws, m.Key), chatter.ErrConflict)
	if e, err := s.GetEntry(t.Context(), ws, m.Key); err != nil || e.State != chatter.StateQueued || e.Attempts != 0 {
		t.Errorf("after refused Replay entry = %+v, %v; want unchanged", e, err)
	}
}

func testQueuePanic(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -1010101, 1, "")
	save(t, s, m, accept(0, 3))
	var log jobLog
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		if log.add(j) == 1 {
			panic("fieldmap: nil map in test")
		}
		return deliveredOutcome(j)
	})
	e := waitEntry(t, s, ws, m.Key, chatter.StateDelivered)
	w.stop(t)
	jobs := log.of(ws, m.Key)
	if len(jobs) != 2 {
		t.Fatalf("job ran %d times, want 2 (panic, then delivered)", len(jobs))
	}
	if jobs[1].Attempt != 2 || jobs[1].LastClass != chatter.ClassInternal || jobs[1].LastError == "" {
		t.Errorf("after a panic: Attempt %d LastClass %q LastError %q, want 2, internal, non-empty", jobs[1].Attempt, jobs[1].LastClass, jobs[1].LastError)
	}
	if e.Attempts != 2 {
		t.Errorf("entry attempts = %d, want 2", e.Attempts)
	}
}

func testQueueJobTimeout(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -1011011, 1, "")
	save(t, s, m, accept(0, 3))
	var ctxErr atomic.Value
	var hadDeadline atomic.Bool
	w := startWork(t, s, chatter.QueueConfig{Workers: 1, JobTimeout: 20 * time.Millisecond}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		_, ok := ctx.Deadline()
		hadDeadline.Store(ok)
		select {
		case <-ctx.Done():
			ctxErr.Store(ctx.Err())
		case <-time.After(WaitTimeout):
			ctxErr.Store(errors.New("the job context did not end"))
		}
		return deliveredOutcome(j)
	})
	waitEntry(t, s, ws, m.Key, chatter.StateDelivered)
	w.stop(t)
	if !hadDeadline.Load() {
		t.Errorf("the job context had no deadline with JobTimeout set")
	}
	if err, _ := ctxErr.Load().(error); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("job context ended with %v, want context.DeadlineExceeded", err)
	}
}

func testQueueStopMidDelivery(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -1012012, 1, "")
	save(t, s, m, accept(0, 3))
	var log jobLog
	started := make(chan struct{})
	var once atomic.Bool
	w := startWork(t, s, chatter.QueueConfig{Workers: 2}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		if once.CompareAndSwap(false, true) {
			close(started)
		}
		<-ctx.Done() // the delivery hangs until Work is stopped
		return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassTransient, Err: ctx.Err().Error(), Delay: 10 * time.Millisecond}
	})
	select {
	case <-started:
	case <-time.After(WaitTimeout):
		t.Fatal("the job was not started")
	}
	w.stop(t)
	e, err := s.GetEntry(t.Context(), ws, m.Key)
	noErr(t, "GetEntry", err)
	if e.State == chatter.StateDelivered || e.State == chatter.StateDead {
		t.Errorf("after an interrupted attempt state = %s, want it still to be delivered later", e.State)
	}
	w = startWork(t, s, chatter.QueueConfig{Workers: 2}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return deliveredOutcome(j)
	})
	e = waitEntry(t, s, ws, m.Key, chatter.StateDelivered)
	w.stop(t)
	jobs := log.of(ws, m.Key)
	if len(jobs) != 2 || jobs[1].Attempt < 2 {
		t.Errorf("runs = %d, last Attempt %d; want 2 runs, the second with Attempt ≥ 2", len(jobs), jobs[len(jobs)-1].Attempt)
	}
	if e.Result == nil || e.Result.LeadID != 10001 {
		t.Errorf("entry result = %+v, want lead 10001", e.Result)
	}
}

func testQueueStopLateOutcome(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -1013013, 1, "")
	save(t, s, m, accept(0, 3))
	var log jobLog
	started := make(chan struct{})
	var once atomic.Bool
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		if once.CompareAndSwap(false, true) {
			close(started)
		}
		<-ctx.Done()
		// The delivery completed at the destination despite the shutdown:
		// the queue must record it, or the message would be sent twice.
		return deliveredOutcome(j)
	})
	select {
	case <-started:
	case <-time.After(WaitTimeout):
		t.Fatal("the job was not started")
	}
	w.stop(t)
	e, err := s.GetEntry(t.Context(), ws, m.Key)
	noErr(t, "GetEntry", err)
	if e.State != chatter.StateDelivered || e.Result == nil || e.Result.LeadID != 10001 {
		t.Fatalf("after Work returned, entry = %+v; want the outcome returned during shutdown applied (delivered, lead 10001)", e)
	}
	sentinel := NewMessage(ws, -1013013, 2, "")
	save(t, s, sentinel, accept(3, 3))
	w = startWork(t, s, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return deliveredOutcome(j)
	})
	waitEntry(t, s, ws, sentinel.Key, chatter.StateDelivered)
	w.stop(t)
	if n := log.count(ws, m.Key); n != 1 {
		t.Errorf("delivered message ran %d times, want 1", n)
	}
}

func testQueueWorkArguments(t *testing.T, s chatter.Store) {
	err := s.Work(t.Context(), chatter.QueueConfig{}, nil)
	wantErr(t, "Work(nil func)", err, chatter.ErrInvalid)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	done := make(chan error, 1)
	go func() {
		done <- s.Work(ctx, chatter.QueueConfig{}, func(_ context.Context, j *chatter.Job) chatter.Outcome { return deliveredOutcome(j) })
	}()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Work(canceled ctx) = %v, want nil or context.Canceled", err)
		}
	case <-time.After(WaitTimeout):
		t.Fatal("Work with a canceled context did not return")
	}
}

// testQueueReconcileDiscarded: a queued message whose job the queue
// discarded is marked dead when Work starts (and never handed to the
// WorkFunc); another message with a live job is untouched; Replay revives
// the dead one.
func testQueueReconcileDiscarded(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	f := queueFaults(t, s)
	lost := NewMessage(ws, -1014014, 1, "")
	live := NewMessage(ws, -1014014, 2, "")
	save(t, s, lost, accept(0, 3))
	save(t, s, live, accept(3, 3))
	require.NoError(t, f.EndDeliveryJobForTest(t.Context(), ws, lost.Key, "discarded"))
	var log jobLog
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return deliveredOutcome(j)
	})
	waitEntry(t, s, ws, live.Key, chatter.StateDelivered)
	e := waitEntry(t, s, ws, lost.Key, chatter.StateDead, chatter.StateDelivered)
	checkReconciled(t, e)
	require.Zero(t, log.count(ws, lost.Key), "the WorkFunc ran a message whose job was discarded")

	require.NoError(t, s.Replay(t.Context(), ws, lost.Key), "Replay of a reconciled entry")
	e = waitEntry(t, s, ws, lost.Key, chatter.StateDelivered)
	w.stop(t)
	require.Equal(t, 1, log.count(ws, lost.Key), "runs after Replay")
	if e.Result == nil || e.Result.LeadID != 10001 || e.ErrorClass != "" {
		t.Errorf("replayed entry = %+v, want delivered with lead 10001 and no error", e)
	}
	wantErr(t, "EndDeliveryJobForTest(unknown key)", f.EndDeliveryJobForTest(t.Context(), ws, NewMessage(ws, -1014014, 99, "").Key, "discarded"), chatter.ErrNotFound)
	wantErr(t, "EndDeliveryJobForTest(delivered)", f.EndDeliveryJobForTest(t.Context(), ws, live.Key, "cancelled"), chatter.ErrConflict)
}

// testQueueReconcileCancelledFailed: a failed message waiting for its retry
// whose job an operator cancelled is marked dead when Work starts again,
// keeping its attempt count; Replay delivers it with the next attempt number.
func testQueueReconcileCancelledFailed(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	f := queueFaults(t, s)
	m := NewMessage(ws, -1015015, 1, "")
	save(t, s, m, accept(0, 3))
	var log jobLog
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassTransient, Err: "amoCRM 502", Delay: time.Hour}
	})
	waitEntry(t, s, ws, m.Key, chatter.StateFailed)
	w.stop(t)
	require.NoError(t, f.EndDeliveryJobForTest(t.Context(), ws, m.Key, "cancelled"))
	w = startWork(t, s, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return deliveredOutcome(j)
	})
	e := waitEntry(t, s, ws, m.Key, chatter.StateDead)
	checkReconciled(t, e)
	require.Equal(t, 1, e.Attempts, "attempts of the reconciled entry")
	require.NoError(t, s.Replay(t.Context(), ws, m.Key))
	waitEntry(t, s, ws, m.Key, chatter.StateDelivered)
	w.stop(t)
	jobs := log.of(ws, m.Key)
	require.Len(t, jobs, 2)
	if jobs[1].Attempt != 2 {
		t.Errorf("attempt after Replay = %d, want 2 (attempts keep counting)", jobs[1].Attempt)
	}
}

// testQueueReconcileRefusesRunning: the hook refuses a running job (River
// cannot discard a job under a live worker), so no reconcile case can race
// with an attempt.
func testQueueReconcileRefusesRunning(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	f := queueFaults(t, s)
	m := NewMessage(ws, -1016016, 1, "")
	save(t, s, m, accept(0, 3))
	started, release := make(chan struct{}), make(chan struct{})
	var once atomic.Bool
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		if once.CompareAndSwap(false, true) {
			close(started)
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return deliveredOutcome(j)
	})
	select {
	case <-started:
	case <-time.After(WaitTimeout):
		t.Fatal("the job was not started")
	}
	wantErr(t, "EndDeliveryJobForTest(running)", f.EndDeliveryJobForTest(t.Context(), ws, m.Key, "discarded"), chatter.ErrConflict)
	wantErr(t, "EndDeliveryJobForTest(bad state)", f.EndDeliveryJobForTest(t.Context(), ws, m.Key, "completed"), chatter.ErrInvalid)
	close(release)
	waitEntry(t, s, ws, m.Key, chatter.StateDelivered)
	w.stop(t)
}

// testQueueNoAttemptCap: MaxAttempts 0 means no cap by count; the job says
// MaxAttempts 0 and a retry on any attempt is retried.
func testQueueNoAttemptCap(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -1017017, 1, "")
	save(t, s, m, accept(0, 0))
	var log jobLog
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		if log.add(j) <= 5 {
			return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassTransient, Err: "amoCRM 503", Delay: time.Millisecond}
		}
		return deliveredOutcome(j)
	})
	e := waitEntry(t, s, ws, m.Key, chatter.StateDelivered, chatter.StateDead)
	w.stop(t)
	require.Equal(t, chatter.StateDelivered, e.State, "a delivery without an attempt cap went dead")
	jobs := log.of(ws, m.Key)
	require.Len(t, jobs, 6)
	for i, j := range jobs {
		if j.Attempt != i+1 || j.MaxAttempts != 0 {
			t.Errorf("run %d: Attempt %d MaxAttempts %d, want %d and 0 (no cap)", i+1, j.Attempt, j.MaxAttempts, i+1)
		}
	}
	require.Equal(t, 6, e.Attempts)
}

// testQueueBudgetStart: Job.BudgetStart is ReceivedAt, moves by each
// snooze's delay (not by retries), and restarts at the time of a Replay.
func testQueueBudgetStart(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	const snooze = 40 * time.Millisecond
	m := NewMessage(ws, -1018018, 1, "")
	save(t, s, m, accept(0, 3))
	e0, err := s.GetEntry(t.Context(), ws, m.Key)
	require.NoError(t, err)
	var log jobLog
	fn := func(_ context.Context, j *chatter.Job) chatter.Outcome {
		switch log.add(j) {
		case 1:
			return chatter.Outcome{Kind: chatter.OutcomeSnooze, Class: chatter.ClassAuth, Err: "401", Delay: snooze}
		case 2:
			return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassTransient, Err: "502", Delay: time.Millisecond}
		case 3:
			return chatter.Outcome{Kind: chatter.OutcomeDead, Class: chatter.ClassMapping, Err: "field"}
		}
		return deliveredOutcome(j)
	}
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, fn)
	waitEntry(t, s, ws, m.Key, chatter.StateDead)
	w.stop(t)
	require.NoError(t, s.Replay(t.Context(), ws, m.Key))
	replayed, err := s.GetEntry(t.Context(), ws, m.Key) // UpdatedAt is the time of the Replay
	require.NoError(t, err)
	w = startWork(t, s, chatter.QueueConfig{Workers: 1}, fn)
	waitEntry(t, s, ws, m.Key, chatter.StateDelivered)
	w.stop(t)
	jobs := log.of(ws, m.Key)
	require.Len(t, jobs, 4)
	got := []time.Duration{jobs[0].BudgetStart.Sub(e0.ReceivedAt), jobs[1].BudgetStart.Sub(e0.ReceivedAt),
		jobs[2].BudgetStart.Sub(e0.ReceivedAt), jobs[3].BudgetStart.Sub(replayed.UpdatedAt)}
	want := []time.Duration{0, snooze, snooze, 0}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("BudgetStart relative to ReceivedAt (runs 1-3) and to the Replay (run 4) (-want +got):\n%s", d)
	}
}

// deadFixture makes the messages ms dead by running them once with a dead
// outcome of class, and returns when they all are.
func deadFixture(t *testing.T, s chatter.Store, ms []*chatter.Message, class chatter.ErrorClass) {
	t.Helper()
	opts := make([]chatter.AcceptOptions, len(ms))
	for i := range opts {
		opts[i] = accept(i%4, 3)
	}
	_, err := s.SaveMessages(t.Context(), ms, opts)
	require.NoError(t, err)
	w := startWork(t, s, chatter.QueueConfig{Workers: 32}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		return chatter.Outcome{Kind: chatter.OutcomeDead, Class: class, Err: "outage"}
	})
	for _, m := range ms {
		waitEntry(t, s, m.Workspace, m.Key, chatter.StateDead)
	}
	w.stop(t)
}

// testQueueReplayDead: ReplayDead replays exactly the dead entries matching
// the query (workspace, chat, class), in no other workspace and no other
// state, and they are delivered with the next attempt number.
func testQueueReplayDead(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	chatA := []*chatter.Message{NewMessage(ws, -1019001, 1, ""), NewMessage(ws, -1019001, 2, "")}
	chatB := []*chatter.Message{NewMessage(ws, -1019002, 1, ""), NewMessage(ws, -1019002, 2, ""), NewMessage(ws, -1019002, 3, "")}
	other := NewMessage("ws-other", -1019002, 1, "")
	deadFixture(t, s, append(append([]*chatter.Message{other}, chatA...), chatB...), chatter.ClassTransient)
	waiting := NewMessage(ws, -1019002, 9, "")
	save(t, s, waiting, accept(0, 3))

	wantErr(t, "ReplayDead(no workspace)", errOf(s.ReplayDead(t.Context(), chatter.LedgerQuery{})), chatter.ErrInvalid)
	wantErr(t, "ReplayDead(states failed)", errOf(s.ReplayDead(t.Context(), chatter.LedgerQuery{Workspace: ws, States: []chatter.State{chatter.StateFailed}})), chatter.ErrInvalid)
	n, err := s.ReplayDead(t.Context(), chatter.LedgerQuery{Workspace: ws, ErrorClass: chatter.ClassMapping})
	require.NoError(t, err)
	require.Zero(t, n, "ReplayDead with a class no entry has")

	n, err = s.ReplayDead(t.Context(), chatter.LedgerQuery{Workspace: ws, ChatID: -1019002, States: []chatter.State{chatter.StateDead}, Limit: 1})
	require.NoError(t, err)
	require.Equal(t, 3, n, "ReplayDead of chat B (Limit is ignored)")
	counts, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws})
	require.NoError(t, err)
	if d := cmp.Diff(map[chatter.State]int{chatter.StateDead: 2, chatter.StateQueued: 4}, counts); d != "" {
		t.Errorf("ledger after ReplayDead of chat B (-want +got):\n%s", d)
	}
	n, err = s.ReplayDead(t.Context(), chatter.LedgerQuery{Workspace: ws})
	require.NoError(t, err)
	require.Equal(t, 2, n, "ReplayDead of the rest")
	n, err = s.ReplayDead(t.Context(), chatter.LedgerQuery{Workspace: ws})
	require.NoError(t, err)
	require.Zero(t, n, "ReplayDead when nothing is dead")

	var log jobLog
	w := startWork(t, s, chatter.QueueConfig{Workers: 2}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return deliveredOutcome(j)
	})
	for _, m := range append(append([]*chatter.Message{waiting}, chatA...), chatB...) {
		waitEntry(t, s, ws, m.Key, chatter.StateDelivered)
	}
	w.stop(t)
	for _, m := range append(chatA, chatB...) {
		jobs := log.of(ws, m.Key)
		if len(jobs) != 1 || jobs[0].Attempt != 2 || jobs[0].LastClass != chatter.ClassTransient {
			t.Errorf("%s after ReplayDead: runs %+v, want one with Attempt 2 and LastClass transient", m.Key, jobs)
		}
	}
	e, err := s.GetEntry(t.Context(), "ws-other", other.Key)
	require.NoError(t, err)
	require.Equal(t, chatter.StateDead, e.State, "ReplayDead touched another workspace")
}

// testQueueReplayDeadBatches: more dead entries than one batch (200) are all
// replayed, each once.
func testQueueReplayDeadBatches(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	const n = 410
	ms := make([]*chatter.Message, n)
	for i := range ms {
		ms[i] = NewMessage(ws, -1020020, int64(i+1), "")
	}
	deadFixture(t, s, ms, chatter.ClassTransient)
	got, err := s.ReplayDead(t.Context(), chatter.LedgerQuery{Workspace: ws})
	require.NoError(t, err)
	require.Equal(t, n, got)
	counts, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws})
	require.NoError(t, err)
	if d := cmp.Diff(map[chatter.State]int{chatter.StateQueued: n}, counts); d != "" {
		t.Errorf("ledger after ReplayDead (-want +got):\n%s", d)
	}
}

func errOf(_ int, err error) error { return err }
