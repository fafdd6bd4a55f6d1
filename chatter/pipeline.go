package chatter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"
	"unicode/utf8"
)

// Pipeline defaults, used for zero fields of PipelineConfig.
const (
	// DefaultMaxAge is the retry budget: a delivery that still fails this
	// long after it was received (or replayed), time spent snoozed not
	// counted, goes dead.
	DefaultMaxAge = 24 * time.Hour
	// DefaultMaxAttempts is 0: no cap by count; the budget is MaxAge.
	DefaultMaxAttempts  = 0
	DefaultPriority     = 1
	DefaultWorkers      = 4
	DefaultJobTimeout   = 2 * time.Minute
	DefaultBackoffBase  = 2 * time.Second
	DefaultBackoffMax   = 10 * time.Minute
	MinSnooze           = time.Second // floor of a snooze, so that RetryAfter()==0 cannot spin
	MaxLedgerErrorBytes = 2 << 10     // error text kept on the ledger
	// DefaultAlertQuiet is how long after a problem's notification the same
	// problem, once it ended, may come back without being notified again.
	DefaultAlertQuiet = time.Hour
)

// Snooze delays used for zero fields of SnoozeDelays: how long a delivery
// that hit an operator-fixable problem waits before it looks again.
const (
	DefaultAuthSnooze        = 5 * time.Minute
	DefaultRightsSnooze      = 10 * time.Minute
	DefaultBlockedSnooze     = 15 * time.Minute
	DefaultRateLimitedSnooze = time.Minute
)

// SnoozeDelays are the waits of deliveries that failed with a class that is
// not the message's fault and that retrying soon will not fix: they are
// snoozed (no attempt and no retry budget spent) and their notification is
// raised once per episode (see PipelineConfig.AlertQuiet). An error with its
// own RetryAfter waits that long instead. Zero fields take the defaults.
type SnoozeDelays struct {
	Auth        time.Duration // ClassAuth: the token expired or was revoked. Defaults to 5 minutes.
	Rights      time.Duration // ClassRights: the integration's user lacks a right. Defaults to 10 minutes.
	Blocked     time.Duration // ClassBlocked: the destination blocked the account. Defaults to 15 minutes.
	RateLimited time.Duration // ClassRateLimited without a RetryAfter. Defaults to 1 minute.
}

func (d SnoozeDelays) withDefaults() SnoozeDelays {
	d.Auth = cmp.Or(d.Auth, DefaultAuthSnooze)
	d.Rights = cmp.Or(d.Rights, DefaultRightsSnooze)
	d.Blocked = cmp.Or(d.Blocked, DefaultBlockedSnooze)
	d.RateLimited = cmp.Or(d.RateLimited, DefaultRateLimitedSnooze)
	return d
}

// of returns the snooze of class and whether class snoozes at all.
func (d SnoozeDelays) of(class ErrorClass) (time.Duration, bool) {
	switch class {
	case ClassAuth:
		return d.Auth, true
	case ClassRights:
		return d.Rights, true
	case ClassBlocked:
		return d.Blocked, true
	case ClassRateLimited:
		return d.RateLimited, true
	}
	return 0, false
}

// Priorities accepted by AcceptOptions.Priority: 0 is served first.
const (
	PriorityHighest = 0
	PriorityLowest  = 3
)

// Event categories the pipeline and the other packages log with (the
// "category" attribute; see EventLog).
const (
	CategoryDelivery = "delivery" // accepting, queueing and delivering messages
	CategoryFilter   = "filter"   // messages the filter dropped
	CategorySource   = "source"   // sources: polling, webhooks, parsing accounts
	CategoryAuth     = "auth"     // tokens, sessions, logins
	CategoryNotify   = "notify"   // sending notifications
	CategorySystem   = "system"   // the store and the process itself
)

// Log attribute keys that EventLog lifts into Event fields.
const (
	AttrCategory   = "category"
	AttrErrorClass = "error_class"
	AttrSource     = "source"
	AttrMessageKey = "message_key"
	AttrWorkspace  = "workspace"
)

// PipelineStore is the part of a Store a Pipeline needs: the ledger and the
// durable queue. Every Store satisfies it.
type PipelineStore interface {
	MessageStore
	Queue
}

// BackoffFunc returns the wait before the next attempt after attempt
// (1-based) failed.
type BackoffFunc func(attempt int) time.Duration

// ExponentialBackoff returns a BackoffFunc that waits base·2^(attempt-1),
// capped at max, with "equal jitter": the wait is uniformly random in
// [d/2, d]. Non-positive base or max take the defaults (2 s, 10 min).
func ExponentialBackoff(base, max time.Duration) BackoffFunc {
	if base <= 0 {
		base = DefaultBackoffBase
	}
	limit := max
	if limit <= 0 {
		limit = DefaultBackoffMax
	}
	limit = maxDuration(limit, base)
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < limit; i++ {
			if d > limit/2 {
				d = limit
				break
			}
			d *= 2
		}
		d = min(d, limit)
		half := d / 2
		return half + rand.N(d-half+1)
	}
}

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// Hooks are optional callbacks for metrics and tracing. They run
// synchronously on the calling goroutine and must be fast and safe for
// concurrent use.
type Hooks struct {
	// OnAccepted runs after every Accept (and for each message of
	// AcceptBatch) with the store's result or the error.
	OnAccepted func(ctx context.Context, m *Message, r AcceptResult, err error)
	// OnDelivered runs after every call of the Sink with its result, the
	// time it took (by PipelineConfig.Now) and its error.
	OnDelivered func(ctx context.Context, m *Message, result *DeliveryResult, dur time.Duration, err error)
	// OnOutcome runs after the pipeline has decided what the queue does
	// with a job.
	OnOutcome func(ctx context.Context, j *Job, o Outcome)
}

// PipelineConfig configures a Pipeline. Zero fields take the documented
// defaults; NewPipeline rejects invalid values with an error naming the field.
type PipelineConfig struct {
	// Store keeps messages and runs the delivery queue. Required.
	Store PipelineStore
	// Sink delivers messages. Required.
	Sink Sink
	// Filter decides which messages are delivered. Optional: nil accepts
	// every message. Rejected messages are still stored (StateFiltered)
	// with the verdict, so the ledger shows why they were dropped.
	Filter Filter
	// Notifier receives NotifyNewLead, NotifyDeliveryFailed and, once per
	// episode, NotifyAuthFailed, NotifyRightsMissing, NotifyAccountBlocked
	// and NotifyRateLimited. Optional. The notifications are recorded with
	// the delivery's outcome, in the same transaction, and sent afterwards
	// by notification workers of their own (QueueConfig.Notifier), with
	// retries; the notifier never runs inside a delivery attempt. Delivery
	// to it is at least once: a crash between its return and the
	// completion's commit repeats a notification, with the same
	// Notification.DedupeKey. Wrap it in a Digest to keep outages from
	// flooding the operators.
	Notifier Notifier
	// NotifyWorkers is how many notifications are sent at once. Defaults
	// to 2.
	NotifyWorkers int
	// NotifyTimeout bounds one Notify call; a call that takes longer is
	// retried later. Defaults to 30 seconds.
	NotifyTimeout time.Duration
	// Logger receives events with the attributes EventLog understands
	// (category, error_class, source, message_key, workspace). nil is
	// silent. Message text is never logged. To keep the events in the
	// store's event log, give it slog.New(el) with el from
	// NewEventLog(store, h, cfg) and run el; the pipeline itself writes no
	// events directly.
	Logger *slog.Logger
	// Priority gives a message's delivery priority, 0 (first) to 3 (last);
	// results outside that range are clamped. Defaults to DefaultPriority
	// for every message.
	Priority func(*Message) int
	// MaxAge is the retry budget in time: a delivery whose attempt fails at
	// or after Job.BudgetStart + MaxAge goes dead (notified as
	// NotifyDeliveryFailed), and retries are scheduled no later than that
	// deadline. BudgetStart is the message's ReceivedAt (or its last
	// Replay) by the store's clock, moved later by every snooze, so an
	// outage of the CRM that answers 5xx spends the budget while an expired
	// token does not. Time waiting in the queue while no worker runs does
	// count. Defaults to 24 hours; PipelineConfig.Now should be the store's
	// clock (both default to time.Now).
	MaxAge time.Duration
	// MaxAttempts caps the attempts of a delivery round as well; 0 (the
	// default) means no cap by count, MaxAge alone decides. Snoozes do not
	// count.
	MaxAttempts int
	// Backoff gives the wait after a failed attempt, before the MaxAge
	// deadline caps it. Defaults to ExponentialBackoff(2s, 10min): the waits
	// double from 2 s and stay at 10 minutes.
	Backoff BackoffFunc
	// Snooze gives the waits of the classes auth, rights, blocked and
	// rate_limited, which snooze instead of spending the budget.
	Snooze SnoozeDelays
	// AlertQuiet: the notification of such a problem (NotifyAuthFailed,
	// NotifyRightsMissing, NotifyAccountBlocked, NotifyRateLimited) is
	// raised once per episode and workspace, not per message. An episode
	// ends with the workspace's next successful delivery; a problem that
	// comes back within AlertQuiet of its last notification (a flapping
	// rate limit) opens a new episode silently. Defaults to 1 hour.
	// Episodes are kept in the store with the outcomes (Outcome.Alerts),
	// so they hold across restarts and instances.
	AlertQuiet time.Duration
	// Workers is the number of deliveries run at once. Defaults to 4.
	Workers int
	// JobTimeout bounds one delivery attempt. Defaults to 2 minutes.
	JobTimeout time.Duration
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Hooks are optional metric callbacks.
	Hooks Hooks
	// Instance is this process's stable identity across restarts
	// (QueueConfig.Instance): with it, a restart after a crash resumes its
	// deliveries at once instead of after River's RescueAfter. Give the
	// Sink's leases holder names made by InstanceHolder(Instance) (for
	// amocrmsink, Config.Holder) so they are freed with it. Optional.
	Instance string
}

func (c PipelineConfig) withDefaults() PipelineConfig {
	c.MaxAge = cmp.Or(c.MaxAge, DefaultMaxAge)
	c.AlertQuiet = cmp.Or(c.AlertQuiet, DefaultAlertQuiet)
	c.Snooze = c.Snooze.withDefaults()
	c.Workers = cmp.Or(c.Workers, DefaultWorkers)
	c.JobTimeout = cmp.Or(c.JobTimeout, DefaultJobTimeout)
	if c.Backoff == nil {
		c.Backoff = ExponentialBackoff(DefaultBackoffBase, DefaultBackoffMax)
	}
	if c.Priority == nil {
		c.Priority = func(*Message) int { return DefaultPriority }
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c PipelineConfig) validate() error {
	switch {
	case c.Store == nil:
		return invalid("PipelineConfig.Store", "не задано хранилище", "Store is required")
	case c.Sink == nil:
		return invalid("PipelineConfig.Sink", "не задан получатель (Sink)", "Sink is required")
	case c.MaxAttempts < 0:
		return invalid("PipelineConfig.MaxAttempts", "число попыток отрицательное", "MaxAttempts is negative")
	case c.MaxAge < 0:
		return invalid("PipelineConfig.MaxAge", "срок повторных попыток отрицательный", "MaxAge is negative")
	case c.AlertQuiet < 0:
		return invalid("PipelineConfig.AlertQuiet", "интервал тишины уведомлений отрицательный", "AlertQuiet is negative")
	case c.NotifyWorkers < 0:
		return invalid("PipelineConfig.NotifyWorkers", "число отправителей уведомлений отрицательное", "NotifyWorkers is negative")
	case c.NotifyTimeout < 0:
		return invalid("PipelineConfig.NotifyTimeout", "тайм-аут уведомления отрицательный", "NotifyTimeout is negative")
	case c.Snooze.Auth < 0 || c.Snooze.Rights < 0 || c.Snooze.Blocked < 0 || c.Snooze.RateLimited < 0:
		return invalid("PipelineConfig.Snooze", "задержка отрицательная", "a snooze delay is negative")
	case c.Workers < 0:
		return invalid("PipelineConfig.Workers", "число обработчиков отрицательное", "Workers is negative")
	case c.JobTimeout < 0:
		return invalid("PipelineConfig.JobTimeout", "тайм-аут отрицательный", "JobTimeout is negative")
	}
	if c.Instance != "" {
		if err := ValidateInstance(c.Instance); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				ve.Field = "PipelineConfig.Instance"
			}
			return err
		}
	}
	return nil
}

// Pipeline takes messages from sources, stores them durably with their
// delivery jobs, and delivers them through a Sink with retries, snoozes,
// a dead state and notifications.
//
// *Pipeline is a Handler: hand it to a Source. It is safe for concurrent use.
type Pipeline struct {
	cfg PipelineConfig
	log *slog.Logger
}

var _ Handler = (*Pipeline)(nil)

// NewPipeline checks cfg, fills its defaults and returns a Pipeline. It
// starts nothing: call Run for the delivery workers. A bad cfg gives an error
// wrapping ErrInvalid that names the field.
func NewPipeline(cfg PipelineConfig) (*Pipeline, error) {
	if err := cfg.validate(); err != nil {
		return nil, errorf("chatter: new pipeline: %w", err)
	}
	cfg = cfg.withDefaults()
	return &Pipeline{cfg: cfg, log: cfg.Logger}, nil
}

// Handle accepts m (see Accept). A nil error means m is durable, stored as
// new, duplicate or filtered.
func (p *Pipeline) Handle(ctx context.Context, m *Message) error {
	_, err := p.Accept(ctx, m)
	return err
}

// Accept validates m, runs the Filter, and stores m with its delivery job in
// one transaction (MessageStore.SaveMessage); it returns after commit.
//
// Nothing refused disappears: a message that fails validation (Validate, or
// the store's own checks) is recorded on the ledger as StateRejected
// (MessageStore.SaveRejected) with the reason and the bounded raw input, and
// Accept returns a nil error with AcceptResult.State StateRejected and
// AcceptResult.Rejection set, so the source can acknowledge it like any
// stored message. Only a message that cannot be recorded at all (nil, or
// without a workspace) gives an error wrapping ErrInvalid (a
// *ValidationError names the field). A key already stored is a no-op with
// AcceptResult.Duplicate set. A message the filter drops is stored as
// StateFiltered with the verdict and rule, and is not delivered. Store
// errors are returned wrapped; the caller still owns m and should retry.
// Accept is idempotent with respect to m.Key.
func (p *Pipeline) Accept(ctx context.Context, m *Message) (AcceptResult, error) {
	if err := m.Validate(); err != nil {
		return p.reject(ctx, m, err, "accept")
	}
	opts := p.options(m)
	r, err := p.cfg.Store.SaveMessage(ctx, m, opts)
	if errors.Is(err, ErrInvalid) {
		// The store's own checks refused it (for example a string field
		// that is not valid UTF-8): it is refused at intake all the same.
		return p.reject(ctx, m, err, "accept")
	}
	if err != nil {
		err = errorf("chatter: accept %s: %w", m.Key, err)
	}
	p.accepted(ctx, m, r, err)
	return r, err
}

// reject records m, refused with verr, as StateRejected. what names the
// call in the error ("accept").
func (p *Pipeline) reject(ctx context.Context, m *Message, verr error, what string) (AcceptResult, error) {
	c, rej, ok := rejectedCopy(m, verr, p.cfg.Now())
	if !ok {
		err := errorf("chatter: %s: %w", what, verr)
		p.accepted(ctx, m, AcceptResult{}, err)
		return AcceptResult{}, err
	}
	r, err := p.cfg.Store.SaveRejected(ctx, c, rej)
	if err != nil {
		err = errorf("chatter: %s: record rejected %s: %w", what, c.Key, err)
		p.accepted(ctx, c, AcceptResult{}, err)
		return AcceptResult{}, err
	}
	if !r.Duplicate {
		r.Rejection = rej
	}
	p.accepted(ctx, c, r, nil)
	return r, nil
}

// AcceptBatch is Accept for several messages: the valid ones are stored in
// one transaction (MessageStore.SaveMessages, group commit), the invalid
// ones recorded as StateRejected (as Accept does) before them. Results are
// in input order. A message that cannot be recorded at all (nil, no
// workspace) fails the whole batch (the error names its index) before
// anything is stored.
func (p *Pipeline) AcceptBatch(ctx context.Context, ms []*Message) ([]AcceptResult, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	invalid := make([]error, len(ms))
	for i, m := range ms {
		if err := m.Validate(); err != nil {
			if _, _, ok := rejectedCopy(m, err, p.cfg.Now()); !ok {
				err = errorf("chatter: accept batch: message %d: %w", i, err)
				p.accepted(ctx, m, AcceptResult{}, err)
				return nil, err
			}
			invalid[i] = err
		}
	}
	out := make([]AcceptResult, len(ms))
	var valid []*Message
	var at []int
	for i, m := range ms {
		if invalid[i] != nil {
			r, err := p.reject(ctx, m, invalid[i], fmt.Sprintf("accept batch: message %d", i))
			if err != nil {
				return nil, err
			}
			out[i] = r
			continue
		}
		valid = append(valid, m)
		at = append(at, i)
	}
	if len(valid) == 0 {
		return out, nil
	}
	opts := make([]AcceptOptions, len(valid))
	for i, m := range valid {
		opts[i] = p.options(m)
	}
	rs, err := p.cfg.Store.SaveMessages(ctx, valid, opts)
	if err == nil && len(rs) != len(valid) {
		err = fmt.Errorf("store returned %d results for %d messages", len(rs), len(valid))
	}
	if errors.Is(err, ErrInvalid) {
		// The store refused one of them on its own checks: accept them one
		// by one, so that only the refused one is rejected.
		for j, m := range valid {
			r, err := p.Accept(ctx, m)
			if err != nil {
				return nil, errorf("chatter: accept batch: message %d: %w", at[j], err)
			}
			out[at[j]] = r
		}
		return out, nil
	}
	if err != nil {
		err = errorf("chatter: accept batch of %d: %w", len(valid), err)
		for _, m := range valid {
			p.accepted(ctx, m, AcceptResult{}, err)
		}
		return nil, err
	}
	for j, m := range valid {
		out[at[j]] = rs[j]
		p.accepted(ctx, m, rs[j], nil)
	}
	return out, nil
}

func (p *Pipeline) options(m *Message) AcceptOptions {
	v := Verdict{Accept: true, Reason: "no filter"}
	if p.cfg.Filter != nil {
		v = p.cfg.Filter.Filter(m)
	}
	return AcceptOptions{
		Verdict:     v,
		Priority:    min(max(p.cfg.Priority(m), PriorityHighest), PriorityLowest),
		MaxAttempts: p.cfg.MaxAttempts,
	}
}

func (p *Pipeline) accepted(ctx context.Context, m *Message, r AcceptResult, err error) {
	if h := p.cfg.Hooks.OnAccepted; h != nil {
		h(ctx, m, r, err)
	}
	if m == nil {
		p.log.LogAttrs(ctx, slog.LevelWarn, "message rejected", slog.String(AttrCategory, CategoryDelivery), slog.Any("err", err))
		return
	}
	attrs := []slog.Attr{
		slog.String(AttrWorkspace, m.Workspace),
		slog.String(AttrSource, string(m.Key.Source)),
		slog.String(AttrMessageKey, m.Key.String()),
	}
	switch {
	case errors.Is(err, ErrInvalid):
		p.log.LogAttrs(ctx, slog.LevelWarn, "message rejected as invalid",
			append(attrs, slog.String(AttrCategory, CategoryDelivery), slog.Any("err", err))...)
	case err == nil && r.Rejection != nil:
		p.log.LogAttrs(ctx, slog.LevelWarn, "message rejected as invalid; recorded on the ledger",
			append(attrs, slog.String(AttrCategory, CategoryDelivery), slog.String(AttrErrorClass, string(ClassInvalid)),
				slog.String("field", r.Rejection.Field), slog.String("reason", r.Rejection.Reason.EN))...)
	case err != nil:
		p.log.LogAttrs(ctx, slog.LevelError, "message not stored",
			append(attrs, slog.String(AttrCategory, CategorySystem), slog.String(AttrErrorClass, string(ClassInternal)), slog.Any("err", err))...)
	case r.Duplicate:
		p.log.LogAttrs(ctx, slog.LevelDebug, "duplicate message ignored",
			append(attrs, slog.String(AttrCategory, CategoryDelivery))...)
	case r.State == StateFiltered:
		p.log.LogAttrs(ctx, slog.LevelInfo, "message filtered out",
			append(attrs, slog.String(AttrCategory, CategoryFilter))...)
	default:
		p.log.LogAttrs(ctx, slog.LevelInfo, "message accepted",
			append(attrs, slog.String(AttrCategory, CategoryDelivery), slog.String("state", string(r.State)))...)
	}
}

// Run delivers queued messages through the Sink with Workers workers until
// ctx ends, then waits for running deliveries and returns nil (or the
// store's error when the queue cannot start). With a Notifier it also sends
// the notifications the outcomes recorded, with NotifyWorkers workers of
// their own (QueueConfig.Notifier): a slow or dead notifier never holds up a
// delivery.
func (p *Pipeline) Run(ctx context.Context) error {
	p.log.LogAttrs(ctx, slog.LevelInfo, "pipeline workers starting",
		slog.String(AttrCategory, CategorySystem), slog.Int("workers", p.cfg.Workers))
	err := p.cfg.Store.Work(ctx, QueueConfig{
		Workers: p.cfg.Workers, JobTimeout: p.cfg.JobTimeout, Logger: p.cfg.Logger,
		Notifier: p.cfg.Notifier, NotifyWorkers: p.cfg.NotifyWorkers, NotifyTimeout: p.cfg.NotifyTimeout,
		Instance: p.cfg.Instance,
	}, p.work)
	if err != nil {
		p.log.LogAttrs(context.WithoutCancel(ctx), slog.LevelError, "pipeline workers stopped",
			slog.String(AttrCategory, CategorySystem), slog.Any("err", err))
		return errorf("chatter: pipeline run: %w", err)
	}
	return nil
}

// Replay re-queues a dead (or failed) message for a fresh round of attempts.
// It returns an error wrapping ErrNotFound for an unknown key and ErrConflict
// when the message is neither dead nor failed.
func (p *Pipeline) Replay(ctx context.Context, workspace string, key Key) error {
	attrs := []slog.Attr{
		slog.String(AttrCategory, CategoryDelivery), slog.String(AttrWorkspace, workspace),
		slog.String(AttrSource, string(key.Source)), slog.String(AttrMessageKey, key.String()),
	}
	if err := p.cfg.Store.Replay(ctx, workspace, key); err != nil {
		p.log.LogAttrs(ctx, slog.LevelWarn, "replay refused", append(attrs, slog.Any("err", err))...)
		return errorf("chatter: replay %s: %w", key, err)
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "message replayed", attrs...)
	return nil
}

// ReplayDead replays every dead message matching q (Queue.ReplayDead: q.States
// empty or [StateDead]; Limit and Before ignored) and returns how many it
// replayed, for example all deliveries that went dead during an outage:
// LedgerQuery{Workspace: ws, From: start, ErrorClass: ClassTransient}.
func (p *Pipeline) ReplayDead(ctx context.Context, q LedgerQuery) (int, error) {
	n, err := p.cfg.Store.ReplayDead(ctx, q)
	attrs := []slog.Attr{slog.String(AttrCategory, CategoryDelivery), slog.String(AttrWorkspace, q.Workspace), slog.Int("count", n)}
	if err != nil {
		p.log.LogAttrs(ctx, slog.LevelWarn, "bulk replay failed", append(attrs, slog.Any("err", err))...)
		return n, errorf("chatter: replay dead: %w", err)
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "dead messages replayed", attrs...)
	return n, nil
}

// work is the WorkFunc: one delivery attempt and its outcome.
func (p *Pipeline) work(ctx context.Context, j *Job) Outcome {
	if j.Message == nil {
		o := Outcome{Kind: OutcomeDead, Class: ClassInternal, Err: "job has no message"}
		p.log.LogAttrs(ctx, slog.LevelError, "job without message", slog.String(AttrCategory, CategorySystem), slog.Int64("job_id", j.ID))
		if h := p.cfg.Hooks.OnOutcome; h != nil {
			h(ctx, j, o)
		}
		return o
	}
	d := &Delivery{
		Message:     j.Message,
		Attempt:     max(j.Attempt, 1),
		MaxAttempts: max(j.MaxAttempts, 0),
		LastError:   j.LastError,
		LastClass:   j.LastClass,
	}
	if !j.BudgetStart.IsZero() {
		d.Deadline = j.BudgetStart.Add(p.cfg.MaxAge)
	}
	start := p.cfg.Now()
	res, err := p.deliver(ctx, d)
	dur := p.cfg.Now().Sub(start)
	if h := p.cfg.Hooks.OnDelivered; h != nil {
		h(ctx, j.Message, res, dur, err)
	}
	o := p.decide(ctx, d, res, err)
	o = p.report(ctx, d, o, dur, err)
	if h := p.cfg.Hooks.OnOutcome; h != nil {
		h(ctx, j, o)
	}
	return o
}

// deliver calls the sink and turns a panic into an internal error.
func (p *Pipeline) deliver(ctx context.Context, d *Delivery) (res *DeliveryResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, WithClass(newPanicError(r), ClassInternal)
		}
	}()
	return p.cfg.Sink.Deliver(ctx, d)
}

// decide maps a delivery's result to the queue's Outcome:
//
//   - nil error: Delivered.
//   - Permanent(err): Dead.
//   - an error with RetryAfter: Snooze for that long (at least MinSnooze),
//     no attempt and no budget used; class rate_limited or the error's own.
//   - class auth, rights, blocked or rate_limited: Snooze for the class's
//     SnoozeDelays (the operator or the destination must act; retrying
//     sooner does not help, and giving up would lose the message).
//   - class payment: Dead (the account must be paid, then Replay).
//   - class mapping: retried (a sink refreshes its cached CRM schema on a
//     mapping error), Dead when the attempt after that refresh fails with a
//     mapping error again (Delivery.LastClass is mapping).
//   - ctx cancelled (the pipeline is stopping): Snooze, no attempt used.
//   - anything else: Dead when the round's MaxAttempts are used up (if
//     capped) or the attempt failed at or after Delivery.Deadline; else
//     Retry after Backoff(attempt), capped so that the next attempt comes
//     no later than the deadline.
func (p *Pipeline) decide(ctx context.Context, d *Delivery, res *DeliveryResult, err error) Outcome {
	if err == nil {
		if res == nil {
			res = &DeliveryResult{}
		}
		return Outcome{Kind: OutcomeDelivered, Result: res}
	}
	class := ClassOf(err)
	text := ledgerError(err)
	dead := Outcome{Kind: OutcomeDead, Class: class, Err: text}
	if IsPermanent(err) {
		return dead
	}
	if wait, ok := RetryAfter(err); ok {
		return Outcome{Kind: OutcomeSnooze, Class: class, Err: text, Delay: max(wait, MinSnooze)}
	}
	if wait, ok := p.cfg.Snooze.of(class); ok {
		return Outcome{Kind: OutcomeSnooze, Class: class, Err: text, Delay: max(wait, MinSnooze)}
	}
	switch class {
	case ClassPayment:
		return dead
	case ClassMapping:
		if d.LastClass == ClassMapping {
			return dead
		}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// Our own shutdown interrupted the attempt: it says nothing about
		// the destination, so it does not use an attempt.
		return Outcome{Kind: OutcomeSnooze, Class: class, Err: text, Delay: MinSnooze}
	}
	if d.MaxAttempts > 0 && d.Attempt >= d.MaxAttempts {
		return dead
	}
	now := p.cfg.Now()
	if !d.Deadline.IsZero() && !now.Before(d.Deadline) {
		return dead
	}
	delay := max(p.cfg.Backoff(d.Attempt), 0)
	if !d.Deadline.IsZero() {
		delay = min(delay, d.Deadline.Sub(now))
	}
	return Outcome{Kind: OutcomeRetry, Class: class, Err: text, Delay: delay}
}

// report logs the outcome and returns it with the notifications it calls
// for (when the pipeline has a Notifier): the queue records them with the
// outcome and sends them from jobs of their own, never from here.
func (p *Pipeline) report(ctx context.Context, d *Delivery, o Outcome, dur time.Duration, err error) Outcome {
	m := d.Message
	attrs := []slog.Attr{
		slog.String(AttrCategory, CategoryDelivery),
		slog.String(AttrWorkspace, m.Workspace),
		slog.String(AttrSource, string(m.Key.Source)),
		slog.String(AttrMessageKey, m.Key.String()),
		slog.Int("attempt", d.Attempt),
		slog.Duration("duration", dur),
	}
	if o.Class != ClassNone {
		attrs = append(attrs, slog.String(AttrErrorClass, string(o.Class)))
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", o.Err))
	}
	notify := p.cfg.Notifier != nil
	now := p.cfg.Now()
	stamp := func(n *Notification, key string) *Notification {
		n.Time, n.DedupeKey = now, key
		return n
	}
	switch o.Kind {
	case OutcomeDelivered:
		attrs = append(attrs, slog.Int64("lead_id", o.Result.LeadID), slog.Bool("threaded", o.Result.Threaded))
		p.log.LogAttrs(ctx, slog.LevelInfo, "message delivered", attrs...)
		if notify {
			o.ResolveAlerts = true
			if !o.Result.Threaded {
				o.Notifications = append(o.Notifications, stamp(NewLeadNotification(m, o.Result), NewLeadDedupeKey(m)))
			}
		}
	case OutcomeSnooze:
		p.log.LogAttrs(ctx, slog.LevelWarn, "delivery snoozed", append(attrs, slog.Duration("delay", o.Delay))...)
		if n := problemNotification(m.Workspace, o, err); notify && n != nil {
			o.Alerts = append(o.Alerts, Alert{Key: string(n.Type), Quiet: p.cfg.AlertQuiet, Notification: stamp(n, "")})
		}
	case OutcomeRetry:
		p.log.LogAttrs(ctx, slog.LevelWarn, "delivery failed, will retry", append(attrs, slog.Duration("delay", o.Delay))...)
	case OutcomeDead:
		p.log.LogAttrs(ctx, slog.LevelError, "delivery dead", attrs...)
		if notify {
			o.Notifications = append(o.Notifications, stamp(DeliveryFailedNotification(m, d.Attempt, o.Class, o.Err),
				"delivery_failed:"+m.Workspace+":"+m.Key.String()+":"+strconv.Itoa(d.Attempt)))
		}
	}
	return o
}

// NewLeadDedupeKey is the Notification.DedupeKey of the NotifyNewLead of m:
// "new_lead:<workspace>:<message key>" (a message becomes a lead once).
func NewLeadDedupeKey(m *Message) string {
	return "new_lead:" + m.Workspace + ":" + m.Key.String()
}

// ledgerError is err's text, cut to MaxLedgerErrorBytes on a rune boundary.
func ledgerError(err error) string {
	s := err.Error()
	if len(s) <= MaxLedgerErrorBytes {
		return s
	}
	s = s[:MaxLedgerErrorBytes]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// problemNotification is the notification of an operator-fixable problem a
// snoozed outcome ran into, or nil when o is not one.
func problemNotification(workspace string, o Outcome, err error) *Notification {
	switch o.Class {
	case ClassAuth:
		return AuthFailedNotification(workspace, o.Err)
	case ClassRights:
		return RightsMissingNotification(workspace, o.Err)
	case ClassBlocked:
		return AccountBlockedNotification(workspace, "", o.Err)
	case ClassRateLimited:
		wait, ok := RetryAfter(err)
		if !ok {
			wait = o.Delay
		}
		return RateLimitedNotification(workspace, "CRM", wait)
	}
	return nil
}
