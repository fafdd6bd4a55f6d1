package chattertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

var notifyTests = []storeTest{
	{"SentAfterOutcome", testNotifySentAfterOutcome},
	{"DedupeKey", testNotifyDedupe},
	{"Retried", testNotifyRetried},
	{"WaitForNotifier", testNotifyWaitForNotifier},
	{"HangingNotifierDoesNotBlockDelivery", testNotifyHanging},
	{"AlertOncePerEpisode", testNotifyAlertEpisodes},
	{"AlertEpisodesPerWorkspace", testNotifyAlertWorkspaces},
	{"NotifyArguments", testNotifyArguments},
}

// noteLog is a Notifier that records what it is given and can be told to
// fail or to observe the ledger at the moment of each call.
type noteLog struct {
	mu      sync.Mutex
	got     []*chatter.Notification
	failFor map[string]int // dedupe key → calls to fail
	calls   map[string]int
	onCall  func(n *chatter.Notification)
}

func newNoteLog() *noteLog { return &noteLog{failFor: map[string]int{}, calls: map[string]int{}} }

func (l *noteLog) Notify(ctx context.Context, n *chatter.Notification) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.onCall != nil {
		l.onCall(n)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[n.DedupeKey]++
	if l.failFor[n.DedupeKey] > 0 {
		l.failFor[n.DedupeKey]--
		return errors.New("smtp: 451 try again later")
	}
	l.got = append(l.got, CopyNotification(n))
	return nil
}

func (l *noteLog) keys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, n := range l.got {
		out = append(out, n.DedupeKey)
	}
	slices.Sort(out)
	return out
}

func (l *noteLog) all() []*chatter.Notification {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}

func note(ws, key string, typ chatter.NotificationType) *chatter.Notification {
	return &chatter.Notification{Type: typ, Workspace: ws, Severity: chatter.SeverityInfo, DedupeKey: key,
		Title: chatter.T("Новая заявка", "New lead"), Body: chatter.T("Сделка создана", "Lead created"),
		Fields: map[string]string{"lead_id": "7"}, Time: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

// waitKeys waits until l has recorded exactly the dedupe keys want (sorted).
func waitKeys(t *testing.T, l *noteLog, want ...string) {
	t.Helper()
	slices.Sort(want)
	waitFor(t, fmt.Sprintf("notifications %v", want), func() (bool, error) { return slices.Equal(l.keys(), want), nil })
}

// testNotifySentAfterOutcome: an outcome's notifications are sent, whole,
// after the outcome is on the ledger (the notifier sees it recorded), and
// the WorkFunc returned before any of them was sent.
func testNotifySentAfterOutcome(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -1031031, 1, "")
	save(t, s, m, accept(0, 3))
	l := newNoteLog()
	var sawState chatter.State
	l.onCall = func(n *chatter.Notification) {
		if e, err := s.GetEntry(context.Background(), ws, m.Key); err == nil && n.DedupeKey == "k1" {
			sawState = e.State
		}
	}
	want := note(ws, "k1", chatter.NotifyNewLead)
	startWork(t, s, chatter.QueueConfig{Workers: 1, Notifier: l}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		o := deliveredOutcome(j)
		o.Notifications = []*chatter.Notification{want, nil, note(ws, "k2", chatter.NotifyDeliveryFailed)}
		return o
	})
	waitKeys(t, l, "k1", "k2")
	require.Equal(t, chatter.StateDelivered, sawState, "the ledger when the notifier was called")
	got := l.all()
	i := slices.IndexFunc(got, func(n *chatter.Notification) bool { return n.DedupeKey == "k1" })
	if d := cmp.Diff(want, got[i], cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("notification as sent (-want +got):\n%s", d)
	}
}

// testNotifyDedupe: a notification whose DedupeKey was already queued or
// sent is dropped, within one outcome and across outcomes.
func testNotifyDedupe(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	for i := range 3 {
		save(t, s, NewMessage(ws, -1032032, int64(i+1), ""), accept(0, 3))
	}
	l := newNoteLog()
	startWork(t, s, chatter.QueueConfig{Workers: 2, Notifier: l}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		o := deliveredOutcome(j)
		own := fmt.Sprintf("lead-%d", j.Message.Key.MessageID)
		o.Notifications = []*chatter.Notification{note(ws, own, chatter.NotifyNewLead), note(ws, own, chatter.NotifyNewLead),
			note(ws, "shared", chatter.NotifySourceDown)}
		return o
	})
	waitKeys(t, l, "lead-1", "lead-2", "lead-3", "shared")
	// Nothing more arrives: a sentinel sent after everything else proves it.
	m := NewMessage(ws, -1032032, 9, "")
	save(t, s, m, accept(3, 3))
	waitKeys(t, l, "lead-1", "lead-2", "lead-3", "lead-9", "shared")
}

// testNotifyRetried: a failing notifier is retried (the notification is sent
// once it works) and the delivery is not repeated for it.
func testNotifyRetried(t *testing.T, s chatter.Store) {
	if testing.Short() {
		t.Skip("waits for a notification retry (5 s)")
	}
	const ws = "ws-main"
	m := NewMessage(ws, -1033033, 1, "")
	save(t, s, m, accept(0, 3))
	l := newNoteLog()
	l.failFor["lead"] = 1
	var log jobLog
	startWork(t, s, chatter.QueueConfig{Workers: 1, Notifier: l, NotifyTimeout: time.Second}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		o := deliveredOutcome(j)
		o.Notifications = []*chatter.Notification{note(ws, "lead", chatter.NotifyNewLead)}
		return o
	})
	waitKeys(t, l, "lead")
	l.mu.Lock()
	calls := l.calls["lead"]
	l.mu.Unlock()
	require.Equal(t, 2, calls, "notifier calls: one failure, one success")
	require.Equal(t, 1, log.count(ws, m.Key), "deliveries")
}

// testNotifyWaitForNotifier: a Work without a Notifier records the
// notifications; a later Work with one sends them.
func testNotifyWaitForNotifier(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -1034034, 1, "")
	save(t, s, m, accept(0, 3))
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		o := deliveredOutcome(j)
		o.Notifications = []*chatter.Notification{note(ws, "later", chatter.NotifyNewLead)}
		return o
	})
	waitEntry(t, s, ws, m.Key, chatter.StateDelivered)
	w.stop(t)
	l := newNoteLog()
	startWork(t, s, chatter.QueueConfig{Workers: 1, Notifier: l}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		return deliveredOutcome(j)
	})
	waitKeys(t, l, "later")
}

// hangingNotifier blocks every call until its context ends.
type hangingNotifier struct {
	mu    sync.Mutex
	calls int
}

func (h *hangingNotifier) Notify(ctx context.Context, _ *chatter.Notification) error {
	h.mu.Lock()
	h.calls++
	h.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

// testNotifyHanging: with one delivery worker and a notifier that never
// returns (its timeout far beyond the test), every message is delivered:
// notifications never run inside, or ahead of, a delivery.
func testNotifyHanging(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	const n = 12
	for i := range n {
		save(t, s, NewMessage(ws, -1035035, int64(i+1), ""), accept(0, 3))
	}
	h := &hangingNotifier{}
	w := startWork(t, s, chatter.QueueConfig{Workers: 1, Notifier: h, NotifyWorkers: 1, NotifyTimeout: time.Hour},
		func(_ context.Context, j *chatter.Job) chatter.Outcome {
			o := deliveredOutcome(j)
			o.Notifications = []*chatter.Notification{note(ws, j.Message.Key.String(), chatter.NotifyNewLead)}
			return o
		})
	waitFor(t, "every message delivered while the notifier hangs", func() (bool, error) {
		c, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws})
		return c[chatter.StateDelivered] == n, err
	})
	waitFor(t, "the notifier to be called", func() (bool, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.calls > 0, nil
	})
	w.stop(t) // the hanging call is cut by the end of Work, not waited for
}

// testNotifyAlertEpisodes: alerts of one key notify once per episode, not
// per outcome; ResolveAlerts ends the episode; a new one notifies again
// after Quiet, and opens silently within it.
func testNotifyAlertEpisodes(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	l := newNoteLog()
	var (
		mu       sync.Mutex
		quiet    time.Duration
		fixed    bool // the problem is gone: snoozed messages are delivered
		snoozes  = map[int64]int{}
		sentinel = int64(100)
	)
	set := func(q time.Duration, f bool) {
		mu.Lock()
		defer mu.Unlock()
		quiet, fixed = q, f
	}
	// Odd message ids hit the problem until it is fixed; even ids succeed
	// (a success ends the episode); the sentinel carries a notification.
	startWork(t, s, chatter.QueueConfig{Workers: 1, Notifier: l}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		mu.Lock()
		defer mu.Unlock()
		id := j.Message.Key.MessageID
		if id%2 == 1 && !fixed {
			snoozes[id]++
			return chatter.Outcome{Kind: chatter.OutcomeSnooze, Class: chatter.ClassAuth, Err: "401", Delay: 5 * time.Millisecond,
				Alerts: []chatter.Alert{{Key: "auth_failed", Quiet: quiet, Notification: note(ws, "", chatter.NotifyAuthFailed)}}}
		}
		o := deliveredOutcome(j)
		o.ResolveAlerts = true
		if id == sentinel {
			o.Notifications = []*chatter.Notification{note(ws, "sentinel", chatter.NotifySourceUp)}
		}
		return o
	})
	auth := func() int {
		n := 0
		for _, x := range l.all() {
			if x.Type == chatter.NotifyAuthFailed {
				n++
				require.NotEmpty(t, x.DedupeKey, "an alert's notification has a dedupe key")
			}
		}
		return n
	}
	// episode saves ids, waits until each odd one was snoozed twice (the
	// problem kept happening), fixes it and waits until all are delivered.
	episode := func(ids ...int64) {
		t.Helper()
		for _, id := range ids {
			save(t, s, NewMessage(ws, -1036036, id, ""), accept(0, 3))
		}
		waitFor(t, "the problem to repeat", func() (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				if id%2 == 1 && snoozes[id] < 2 {
					return false, nil
				}
			}
			return true, nil
		})
		set(quiet, true)
		for _, id := range ids {
			waitEntry(t, s, ws, NewMessage(ws, -1036036, id, "").Key, chatter.StateDelivered)
		}
	}
	// Episode 1: three messages hit the problem many times: one notification.
	episode(1, 3, 5)
	waitFor(t, "the first episode's notification", func() (bool, error) { return auth() == 1, nil })
	// The successes ended it; the problem again (Quiet 0): notified again.
	set(0, false)
	episode(7)
	waitFor(t, "the second episode's notification", func() (bool, error) { return auth() == 2, nil })
	// Ended again, and back within Quiet of the last notification: silent.
	set(time.Hour, false)
	episode(9)
	save(t, s, NewMessage(ws, -1036036, sentinel, ""), accept(3, 3))
	waitFor(t, "the sentinel", func() (bool, error) { return slices.Contains(l.keys(), "sentinel"), nil })
	require.Equal(t, 2, auth(), "a problem back within Quiet of its notification was notified again")
}

// testNotifyAlertWorkspaces: episodes are per workspace.
func testNotifyAlertWorkspaces(t *testing.T, s chatter.Store) {
	l := newNoteLog()
	startWork(t, s, chatter.QueueConfig{Workers: 2, Notifier: l}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		if j.LastClass == chatter.ClassBlocked {
			return deliveredOutcome(j)
		}
		return chatter.Outcome{Kind: chatter.OutcomeSnooze, Class: chatter.ClassBlocked, Err: "blocked", Delay: time.Millisecond,
			Alerts: []chatter.Alert{{Key: "account_blocked", Quiet: time.Hour, Notification: note(j.Message.Workspace, "", chatter.NotifyAccountBlocked)}}}
	})
	for _, ws := range []string{"ws-a", "ws-b"} {
		for i := range 2 {
			save(t, s, NewMessage(ws, -1037037, int64(i+1), ""), accept(0, 3))
		}
	}
	waitFor(t, "one notification per workspace", func() (bool, error) {
		per := map[string]int{}
		for _, n := range l.all() {
			per[n.Workspace]++
		}
		return per["ws-a"] == 1 && per["ws-b"] == 1, nil
	})
	for _, ws := range []string{"ws-a", "ws-b"} {
		for i := range 2 {
			waitEntry(t, s, ws, NewMessage(ws, -1037037, int64(i+1), "").Key, chatter.StateDelivered)
		}
	}
	require.Len(t, l.all(), 2)
}

// testNotifyArguments: negative notification settings are ErrInvalid.
func testNotifyArguments(t *testing.T, s chatter.Store) {
	ok := func(_ context.Context, j *chatter.Job) chatter.Outcome { return deliveredOutcome(j) }
	wantErr(t, "Work(NotifyWorkers -1)", s.Work(t.Context(), chatter.QueueConfig{Notifier: newNoteLog(), NotifyWorkers: -1}, ok), chatter.ErrInvalid)
	wantErr(t, "Work(NotifyTimeout -1s)", s.Work(t.Context(), chatter.QueueConfig{Notifier: newNoteLog(), NotifyTimeout: -time.Second}, ok), chatter.ErrInvalid)
}
