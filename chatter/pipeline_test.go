package chatter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

type pipelineBundle struct {
	clock    *testClock
	store    *fakeStore
	notifier *recordingNotifier
	events   *EventLog
	p        *Pipeline
	sinkMu   sync.Mutex
	sinkErr  error
	sinkRes  *DeliveryResult
	calls    []*Delivery
}

func setupPipeline(t *testing.T, mod func(*PipelineConfig)) *pipelineBundle {
	t.Helper()
	b := &pipelineBundle{clock: newTestClock(), notifier: &recordingNotifier{}}
	b.store = newFakeStore(b.clock.Now)
	b.sinkRes = &DeliveryResult{LeadID: 7001, ContactID: 9}
	var err error
	b.events, err = NewEventLog(b.store, nil, EventLogConfig{MinLevel: slog.LevelDebug, Now: b.clock.Now})
	require.NoError(t, err)
	cfg := PipelineConfig{
		Store: b.store,
		Sink: SinkFunc(func(ctx context.Context, d *Delivery) (*DeliveryResult, error) {
			b.sinkMu.Lock()
			defer b.sinkMu.Unlock()
			b.calls = append(b.calls, d)
			if b.sinkErr != nil {
				return nil, b.sinkErr
			}
			return b.sinkRes, nil
		}),
		Notifier: b.notifier,
		Logger:   slog.New(b.events),
		Now:      b.clock.Now,
		Backoff:  func(attempt int) time.Duration { return time.Duration(attempt) * time.Minute },
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := NewPipeline(cfg)
	if err != nil {
		t.Fatalf("NewPipeline: %v", err)
	}
	b.p = p
	return b
}

func (b *pipelineBundle) setSink(res *DeliveryResult, err error) {
	b.sinkMu.Lock()
	defer b.sinkMu.Unlock()
	b.sinkRes, b.sinkErr = res, err
}

func (b *pipelineBundle) sinkCalls() int {
	b.sinkMu.Lock()
	defer b.sinkMu.Unlock()
	return len(b.calls)
}

func TestNewPipelineValidate(t *testing.T) {
	t.Parallel()
	store := newFakeStore(time.Now)
	sink := SinkFunc(func(context.Context, *Delivery) (*DeliveryResult, error) { return nil, nil })
	for _, tc := range []struct {
		cfg   PipelineConfig
		field string
	}{
		{PipelineConfig{Sink: sink}, "PipelineConfig.Store"},
		{PipelineConfig{Store: store}, "PipelineConfig.Sink"},
		{PipelineConfig{Store: store, Sink: sink, MaxAttempts: -1}, "PipelineConfig.MaxAttempts"},
		{PipelineConfig{Store: store, Sink: sink, Workers: -2}, "PipelineConfig.Workers"},
		{PipelineConfig{Store: store, Sink: sink, JobTimeout: -time.Second}, "PipelineConfig.JobTimeout"},
		{PipelineConfig{Store: store, Sink: sink, MaxAge: -time.Second}, "PipelineConfig.MaxAge"},
		{PipelineConfig{Store: store, Sink: sink, AlertQuiet: -time.Second}, "PipelineConfig.AlertQuiet"},
		{PipelineConfig{Store: store, Sink: sink, Snooze: SnoozeDelays{Rights: -time.Second}}, "PipelineConfig.Snooze"},
	} {
		_, err := NewPipeline(tc.cfg)
		var ve *ValidationError
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("NewPipeline(%s bad) = %v, want ValidationError for %s", tc.field, err, tc.field)
		}
		if ve != nil && (ve.Problem.RU == "" || ve.Problem.EN == "") {
			t.Errorf("%s: problem text missing a language: %+v", tc.field, ve.Problem)
		}
	}
	p, err := NewPipeline(PipelineConfig{Store: store, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	if p.cfg.MaxAttempts != 0 || p.cfg.MaxAge != DefaultMaxAge || p.cfg.Workers != DefaultWorkers || p.cfg.JobTimeout != DefaultJobTimeout ||
		p.cfg.Snooze.Auth != DefaultAuthSnooze || p.cfg.AlertQuiet != DefaultAlertQuiet {
		t.Errorf("defaults not applied: %+v", p.cfg)
	}
}

func TestPipelineAccept(t *testing.T) {
	t.Parallel()
	var hooked []AcceptResult
	var hookErrs []error
	b := setupPipeline(t, func(c *PipelineConfig) {
		c.Filter = FilterFunc(func(m *Message) Verdict {
			if strings.Contains(m.Text, "цемент") {
				return Verdict{Accept: true, Rule: "цемент", Matched: []string{"цемента"}}
			}
			return Verdict{Accept: false, Rule: "цемент", Reason: "no keyword"}
		})
		c.Priority = func(m *Message) int { return int(m.Key.MessageID) * 10 } // clamped to 3
		c.MaxAttempts = 5
		c.Hooks.OnAccepted = func(_ context.Context, _ *Message, r AcceptResult, err error) {
			hooked = append(hooked, r)
			hookErrs = append(hookErrs, err)
		}
	})
	ctx := t.Context()

	r, err := b.p.Accept(ctx, testMessage(1))
	if err != nil || r.Duplicate || r.State != StateQueued {
		t.Fatalf("Accept new = %+v, %v; want queued", r, err)
	}
	if o := b.store.opts[0]; o.Priority != PriorityLowest || o.MaxAttempts != 5 || o.Verdict.Rule != "цемент" {
		t.Errorf("options = %+v", o)
	}

	r, err = b.p.Accept(ctx, testMessage(1))
	if err != nil || !r.Duplicate {
		t.Fatalf("Accept duplicate = %+v, %v; want Duplicate", r, err)
	}

	off := testMessage(2)
	off.Text = "привет"
	r, err = b.p.Accept(ctx, off)
	if err != nil || r.State != StateFiltered {
		t.Fatalf("Accept filtered = %+v, %v", r, err)
	}
	e, err := b.store.GetEntry(ctx, "ws1", off.Key)
	if err != nil || e.Verdict.Accept || e.Verdict.Rule != "цемент" || e.Verdict.Reason != "no keyword" {
		t.Fatalf("filtered entry = %+v, %v; want the verdict recorded", e, err)
	}

	bad := testMessage(3)
	bad.Workspace = ""
	saves := b.store.saves
	_, err = b.p.Accept(ctx, bad)
	var ve *ValidationError
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &ve) || ve.Field != "workspace" {
		t.Fatalf("Accept invalid = %v; want ValidationError on workspace", err)
	}
	if b.store.saves != saves {
		t.Error("an invalid message reached the store")
	}
	if _, err := b.p.Accept(ctx, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Accept(nil) = %v; want ErrInvalid", err)
	}
	// Invalid but recordable: on the ledger as rejected, nil error.
	long := testMessage(5)
	long.Text = strings.Repeat("ж", MaxTextBytes)
	r, err = b.p.Accept(ctx, long)
	require.NoError(t, err, "Accept(too long)")
	if r.State != StateRejected || r.Duplicate || r.Rejection == nil || r.Rejection.Field != "text" || !r.Rejection.Truncated {
		t.Fatalf("Accept(too long) = %+v", r)
	}
	e, err = b.store.GetEntry(ctx, "ws1", long.Key)
	require.NoError(t, err)
	if e.State != StateRejected || len(e.Message.Text) > MaxRejectedTextBytes || !strings.HasPrefix(long.Text, e.Message.Text) {
		t.Errorf("rejected entry = %s with %d bytes of text; want rejected, text a prefix within %d bytes", e.State, len(e.Message.Text), MaxRejectedTextBytes)
	}
	r, err = b.p.Accept(ctx, long)
	require.NoError(t, err)
	require.Equal(t, AcceptResult{Duplicate: true, State: StateRejected}, r, "the same refused message again")

	b.store.saveErr = errBoom
	if err := b.p.Handle(ctx, testMessage(4)); !errors.Is(err, errBoom) {
		t.Errorf("Handle with failing store = %v; want errBoom wrapped", err)
	}
	b.store.saveErr = nil
	if _, err := b.store.GetEntry(ctx, "ws1", testMessage(4).Key); !errors.Is(err, ErrNotFound) {
		t.Errorf("message of a failed save is stored: %v", err)
	}
	// The source retries and the message gets in.
	if err := b.p.Handle(ctx, testMessage(4)); err != nil {
		t.Errorf("Handle retry: %v", err)
	}

	if len(hooked) != 9 || hookErrs[0] != nil || !hooked[1].Duplicate || hookErrs[3] == nil || hookErrs[4] == nil ||
		hooked[5].State != StateRejected || hookErrs[7] == nil {
		t.Errorf("OnAccepted calls = %+v / %v", hooked, hookErrs)
	}
}

func TestPipelineAcceptBatch(t *testing.T) {
	t.Parallel()
	b := setupPipeline(t, nil)
	ctx := t.Context()
	rs, err := b.p.AcceptBatch(ctx, []*Message{testMessage(1), testMessage(2), testMessage(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || rs[0].State != StateQueued || rs[1].State != StateQueued || !rs[2].Duplicate {
		t.Errorf("AcceptBatch = %+v", rs)
	}
	// An invalid message is recorded as rejected; the others are stored.
	bad := testMessage(4)
	bad.Text = string([]byte{0xff, 0xfe})
	rs, err = b.p.AcceptBatch(ctx, []*Message{testMessage(3), bad})
	require.NoError(t, err)
	require.Len(t, rs, 2)
	if rs[0].State != StateQueued || rs[1].State != StateRejected || rs[1].Rejection == nil || rs[1].Rejection.Field != "text" {
		t.Errorf("AcceptBatch with an invalid message = %+v", rs)
	}
	if e, err := b.store.GetEntry(ctx, "ws1", bad.Key); err != nil || e.State != StateRejected || e.Rejection == nil {
		t.Errorf("rejected entry = %+v, %v", e, err)
	}
	// One that cannot be recorded at all (no workspace) fails the batch
	// before anything is stored.
	noWS := testMessage(6)
	noWS.Workspace = ""
	_, err = b.p.AcceptBatch(ctx, []*Message{testMessage(7), noWS})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "message 1") {
		t.Fatalf("AcceptBatch with no workspace = %v; want ErrInvalid naming message 1", err)
	}
	if _, err := b.store.GetEntry(ctx, "ws1", testMessage(7).Key); !errors.Is(err, ErrNotFound) {
		t.Error("a batch with an unrecordable message stored something")
	}
	b.store.saveErr = errBoom
	if _, err := b.p.AcceptBatch(ctx, []*Message{testMessage(5)}); !errors.Is(err, errBoom) {
		t.Errorf("AcceptBatch store failure = %v", err)
	}
	if rs, err := b.p.AcceptBatch(ctx, nil); rs != nil || err != nil {
		t.Errorf("AcceptBatch(nil) = %v, %v", rs, err)
	}
}

func TestPipelineDecide(t *testing.T) {
	t.Parallel()
	permanentRate := Permanent(&retryAfterErr{time.Minute})
	for _, tc := range []struct {
		name        string
		attempt     int
		maxAttempts int           // 0: 3; -1: no cap
		age         time.Duration // how much of the budget is spent (BudgetStart = now - age)
		last        ErrorClass
		err         error
		panicV      any
		cancel      bool
		kind        OutcomeKind
		class       ErrorClass
		delay       time.Duration
	}{
		{name: "delivered", attempt: 1, kind: OutcomeDelivered},
		{name: "retry-after", attempt: 2, err: fmt.Errorf("amocrm: %w", &retryAfterErr{90 * time.Second}), kind: OutcomeSnooze, class: ClassRateLimited, delay: 90 * time.Second},
		{name: "retry-after-blocked", attempt: 1, err: WithClass(&retryAfterErr{time.Hour}, ClassBlocked), kind: OutcomeSnooze, class: ClassBlocked, delay: time.Hour},
		{name: "retry-after-zero", attempt: 1, err: &retryAfterErr{0}, kind: OutcomeSnooze, class: ClassRateLimited, delay: MinSnooze},
		{name: "retry-after-at-last-attempt", attempt: 3, err: &retryAfterErr{time.Second}, kind: OutcomeSnooze, class: ClassRateLimited, delay: time.Second},
		{name: "permanent", attempt: 1, err: Permanent(errBoom), kind: OutcomeDead, class: ClassPermanent},
		{name: "permanent-wins-over-retry-after", attempt: 1, err: permanentRate, kind: OutcomeDead, class: ClassPermanent},
		{name: "rights-snoozed", attempt: 3, err: WithClass(errBoom, ClassRights), kind: OutcomeSnooze, class: ClassRights, delay: DefaultRightsSnooze},
		{name: "blocked-snoozed", attempt: 3, err: WithClass(errBoom, ClassBlocked), kind: OutcomeSnooze, class: ClassBlocked, delay: DefaultBlockedSnooze},
		{name: "rate-limited-without-wait", attempt: 1, err: WithClass(errBoom, ClassRateLimited), kind: OutcomeSnooze, class: ClassRateLimited, delay: DefaultRateLimitedSnooze},
		{name: "auth-snoozed-past-deadline", attempt: 3, age: 48 * time.Hour, err: WithClass(errBoom, ClassAuth), kind: OutcomeSnooze, class: ClassAuth, delay: DefaultAuthSnooze},
		{name: "payment", attempt: 1, err: WithClass(errBoom, ClassPayment), kind: OutcomeDead, class: ClassPayment},
		{name: "mapping-first", attempt: 1, err: WithClass(errBoom, ClassMapping), kind: OutcomeRetry, class: ClassMapping, delay: time.Minute},
		{name: "mapping-after-transient", attempt: 2, last: ClassTransient, err: WithClass(errBoom, ClassMapping), kind: OutcomeRetry, class: ClassMapping, delay: 2 * time.Minute},
		{name: "mapping-after-refresh", attempt: 2, last: ClassMapping, err: WithClass(errBoom, ClassMapping), kind: OutcomeDead, class: ClassMapping},
		{name: "transient", attempt: 2, err: errBoom, kind: OutcomeRetry, class: ClassTransient, delay: 2 * time.Minute},
		{name: "auth-snoozed", attempt: 1, err: WithClass(errBoom, ClassAuth), kind: OutcomeSnooze, class: ClassAuth, delay: DefaultAuthSnooze},
		{name: "transient-last", attempt: 3, err: errBoom, kind: OutcomeDead, class: ClassTransient},
		{name: "transient-no-cap", attempt: 40, maxAttempts: -1, err: errBoom, kind: OutcomeRetry, class: ClassTransient, delay: 40 * time.Minute},
		{name: "transient-deadline-caps-delay", attempt: 2, maxAttempts: -1, age: DefaultMaxAge - 30*time.Second, err: errBoom, kind: OutcomeRetry, class: ClassTransient, delay: 30 * time.Second},
		{name: "transient-at-deadline", attempt: 2, maxAttempts: -1, age: DefaultMaxAge, err: errBoom, kind: OutcomeDead, class: ClassTransient},
		{name: "rate-limit-past-deadline", attempt: 2, age: 2 * DefaultMaxAge, err: &retryAfterErr{time.Minute}, kind: OutcomeSnooze, class: ClassRateLimited, delay: time.Minute},
		{name: "panic", attempt: 1, panicV: "nil map", kind: OutcomeRetry, class: ClassInternal, delay: time.Minute},
		{name: "shutdown", attempt: 2, err: context.Canceled, cancel: true, kind: OutcomeSnooze, class: ClassTransient, delay: MinSnooze},
		{name: "timeout", attempt: 1, err: context.DeadlineExceeded, kind: OutcomeRetry, class: ClassTransient, delay: time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupPipeline(t, func(c *PipelineConfig) {
				c.Sink = SinkFunc(func(ctx context.Context, d *Delivery) (*DeliveryResult, error) {
					if tc.panicV != nil {
						panic(tc.panicV)
					}
					if tc.err != nil {
						return nil, tc.err
					}
					return nil, nil // a nil result is allowed
				})
			})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.cancel {
				cancel()
			}
			maxAttempts := cmp.Or(tc.maxAttempts, 3)
			o := b.p.work(ctx, &Job{ID: 1, Message: testMessage(1), Attempt: tc.attempt, MaxAttempts: max(maxAttempts, 0),
				LastClass: tc.last, BudgetStart: b.clock.Now().Add(-tc.age)})
			if o.Kind != tc.kind || o.Class != tc.class || o.Delay != tc.delay {
				t.Fatalf("outcome = %+v; want kind %d class %q delay %s", o, tc.kind, tc.class, tc.delay)
			}
			if o.Kind == OutcomeDelivered && o.Result == nil {
				t.Error("delivered without a result")
			}
			if o.Kind != OutcomeDelivered && o.Err == "" {
				t.Error("failure without error text")
			}
		})
	}
}

func TestPipelineDeliveryAndNotifications(t *testing.T) {
	t.Parallel()
	b := setupPipeline(t, nil)
	ctx := t.Context()
	var delivered []time.Duration
	b.p.cfg.Hooks.OnDelivered = func(_ context.Context, m *Message, r *DeliveryResult, dur time.Duration, err error) {
		delivered = append(delivered, dur)
	}
	var outcomes []Outcome
	b.p.cfg.Hooks.OnOutcome = func(_ context.Context, j *Job, o Outcome) { outcomes = append(outcomes, o) }
	job := &Job{ID: 1, Message: testMessage(1), Attempt: 2, MaxAttempts: 3, LastError: "boom", LastClass: ClassTransient}
	run := func(res *DeliveryResult, err error, j *Job) Outcome {
		t.Helper()
		b.setSink(res, err)
		return b.p.work(ctx, j)
	}
	type got struct {
		Kind          OutcomeKind
		Notifications []NotificationType
		Keys          []string
		Alerts        []string
		Resolve       bool
	}
	summary := func(o Outcome) got {
		g := got{Kind: o.Kind, Resolve: o.ResolveAlerts}
		for _, n := range o.Notifications {
			g.Notifications = append(g.Notifications, n.Type)
			g.Keys = append(g.Keys, n.DedupeKey)
			if !n.Time.Equal(b.clock.Now()) {
				t.Errorf("%s: Time %s, want the pipeline's clock", n.Type, n.Time)
			}
		}
		for _, a := range o.Alerts {
			g.Alerts = append(g.Alerts, a.Key)
			if a.Notification == nil || string(a.Notification.Type) != a.Key || a.Quiet != DefaultAlertQuiet {
				t.Errorf("alert %+v: want its notification of type %s and Quiet %s", a, a.Key, DefaultAlertQuiet)
			}
		}
		return g
	}
	key := testMessage(1).Key.String()

	// A new lead is notified; the Delivery carries the job's history.
	o := run(&DeliveryResult{LeadID: 7001, ContactID: 9}, nil, job)
	if d := gocmp.Diff(got{Kind: OutcomeDelivered, Notifications: []NotificationType{NotifyNewLead},
		Keys: []string{"new_lead:ws1:" + key}, Resolve: true}, summary(o)); d != "" {
		t.Errorf("new lead (-want +got):\n%s", d)
	}
	if o.Notifications[0].Fields["lead_id"] != "7001" {
		t.Errorf("new lead notification = %+v", o.Notifications[0])
	}
	d := b.calls[0]
	if d.Attempt != 2 || d.MaxAttempts != 3 || d.LastError != "boom" || d.LastClass != ClassTransient || !d.Ambiguous() {
		t.Errorf("delivery = %+v", d)
	}
	// A note on an open lead is not.
	o = run(&DeliveryResult{LeadID: 7001, NoteID: 5, Threaded: true}, nil, job)
	if d := gocmp.Diff(got{Kind: OutcomeDelivered, Resolve: true}, summary(o)); d != "" {
		t.Errorf("threaded note (-want +got):\n%s", d)
	}
	// A dead delivery is, with its class and attempt in the key.
	o = run(nil, WithClass(errBoom, ClassPayment), job)
	if d := gocmp.Diff(got{Kind: OutcomeDead, Notifications: []NotificationType{NotifyDeliveryFailed},
		Keys: []string{"delivery_failed:ws1:" + key + ":2"}}, summary(o)); d != "" {
		t.Errorf("dead (-want +got):\n%s", d)
	}
	if n := o.Notifications[0]; n.Fields["error_class"] != "payment" || n.Severity != SeverityError {
		t.Errorf("dead notification = %+v", n)
	}
	// Operator-fixable problems are alerts: the store notifies once per
	// episode (see the suite and TestPipelineAuthOutageSnoozesWithoutSpendingBudget).
	for err, alert := range map[error]NotificationType{
		&retryAfterErr{time.Minute}:      NotifyRateLimited,
		WithClass(errBoom, ClassBlocked): NotifyAccountBlocked,
		WithClass(errBoom, ClassRights):  NotifyRightsMissing,
		WithClass(errBoom, ClassAuth):    NotifyAuthFailed,
	} {
		o = run(nil, err, job)
		if d := gocmp.Diff(got{Kind: OutcomeSnooze, Alerts: []string{string(alert)}}, summary(o)); d != "" {
			t.Errorf("%v (-want +got):\n%s", err, d)
		}
	}
	// A transient failure is not notified.
	if o = run(nil, errBoom, &Job{ID: 2, Message: testMessage(2), Attempt: 1}); o.Kind != OutcomeRetry || len(o.Notifications)+len(o.Alerts) != 0 {
		t.Errorf("transient failure = %+v", o)
	}
	// The notifier itself is never called from a delivery attempt.
	if ns := b.notifier.all(); len(ns) != 0 {
		t.Errorf("the notifier was called during a delivery: %+v", ns)
	}
	// Without a Notifier nothing is queued.
	quiet := setupPipeline(t, func(c *PipelineConfig) { c.Notifier = nil })
	quiet.setSink(&DeliveryResult{LeadID: 1}, nil)
	if o := quiet.p.work(ctx, job); len(o.Notifications) != 0 || o.ResolveAlerts {
		t.Errorf("outcome without a notifier = %+v", o)
	}
	if len(delivered) != 8 || len(outcomes) != 8 {
		t.Errorf("hooks: %d OnDelivered, %d OnOutcome; want 8 each", len(delivered), len(outcomes))
	}
	if len(outcomes[0].Notifications) != 1 {
		t.Errorf("OnOutcome did not see the notifications: %+v", outcomes[0])
	}

	// The log says what happened, with the attributes the event log lifts.
	if err := b.events.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var sawDead bool
	for _, ev := range b.store.allEvents() {
		if ev.Text == "delivery dead" && ev.Category == CategoryDelivery && ev.ErrorClass == ClassPayment &&
			ev.Workspace == "ws1" && ev.MessageKey == key && ev.Source == "tgbot" && ev.Level == slog.LevelError {
			sawDead = true
		}
		if strings.Contains(fmt.Sprint(ev.Attrs), "цемент") {
			t.Errorf("message text logged: %+v", ev)
		}
	}
	if !sawDead {
		t.Errorf("dead event missing: %+v", b.store.allEvents())
	}
}

func TestPipelineRunAndReplay(t *testing.T) {
	t.Parallel()
	b := setupPipeline(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	b.setSink(nil, WithClass(errBoom, ClassPayment))
	if err := b.p.Handle(ctx, testMessage(1)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.p.Run(ctx) }()

	k := testMessage(1).Key
	state := func() State {
		e, err := b.store.GetEntry(ctx, "ws1", k)
		if err != nil {
			t.Fatal(err)
		}
		return e.State
	}
	waitFor(t, "dead", func() bool { return state() == StateDead })

	if err := b.p.Replay(ctx, "ws1", Key{Source: SourceBot, Account: "x", ChatID: 1, MessageID: 1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Replay unknown = %v; want ErrNotFound", err)
	}
	b.setSink(&DeliveryResult{LeadID: 5}, nil)
	if err := b.p.Replay(ctx, "ws1", k); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	waitFor(t, "delivered", func() bool { return state() == StateDelivered })
	if err := b.p.Replay(ctx, "ws1", k); !errors.Is(err, ErrConflict) {
		t.Errorf("Replay delivered = %v; want ErrConflict", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

type failingQueue struct{ *fakeStore }

func (failingQueue) Work(context.Context, QueueConfig, WorkFunc) error { return errBoom }

func TestPipelineRunStoreError(t *testing.T) {
	t.Parallel()
	b := setupPipeline(t, nil)
	b.p.cfg.Store = failingQueue{b.store}
	if err := b.p.Run(t.Context()); !errors.Is(err, errBoom) {
		t.Errorf("Run = %v; want errBoom", err)
	}
}

func TestPipelineJobWithoutMessage(t *testing.T) {
	t.Parallel()
	b := setupPipeline(t, nil)
	if o := b.p.work(t.Context(), &Job{ID: 3}); o.Kind != OutcomeDead || o.Class != ClassInternal {
		t.Errorf("outcome = %+v", o)
	}
	if b.sinkCalls() != 0 {
		t.Error("sink called without a message")
	}
}

func TestExponentialBackoff(t *testing.T) {
	t.Parallel()
	bo := ExponentialBackoff(2*time.Second, 10*time.Minute)
	for attempt := 1; attempt <= 40; attempt++ {
		full := min(2*time.Second<<min(attempt-1, 30), 10*time.Minute)
		for range 50 {
			d := bo(attempt)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: %s not in [%s, %s]", attempt, d, full/2, full)
			}
		}
	}
	def := ExponentialBackoff(0, 0)
	if d := def(100); d < DefaultBackoffMax/2 || d > DefaultBackoffMax {
		t.Errorf("default backoff(100) = %s", d)
	}
	if d := ExponentialBackoff(time.Minute, time.Second)(5); d < 30*time.Second || d > time.Minute {
		t.Errorf("max below base: %s", d)
	}
}

func TestLedgerError(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ж", MaxLedgerErrorBytes)
	s := ledgerError(errors.New(long))
	if len(s) > MaxLedgerErrorBytes+len("…") || !strings.HasSuffix(s, "…") || !strings.HasPrefix(s, "жж") {
		t.Errorf("ledgerError: len %d", len(s))
	}
	if s := ledgerError(errBoom); s != "boom" {
		t.Errorf("ledgerError(short) = %q", s)
	}
}
