package deliveryqueue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"github.com/chatterhq/sdk/chatter"
)

// River names of the notification jobs.
const (
	// NotifyQueue is the River queue of notification jobs.
	NotifyQueue = "chatter_notify"
	// NotifyKind is the River job kind of a notification.
	NotifyKind = "chatter_notify"
)

// NotifyArgs are the River arguments of a notification job: the whole
// notification (it carries no secrets) and its dedupe key, which makes the
// job unique while River keeps it.
type NotifyArgs struct {
	Notification *chatter.Notification `json:"notification"`
	DedupeKey    string                `json:"dedupe_key" river:"unique"`
}

// Kind implements river.JobArgs.
func (NotifyArgs) Kind() string { return NotifyKind }

// notifyInsertOpts are the River insert options of a notification.
func notifyInsertOpts() *river.InsertOpts {
	return &river.InsertOpts{
		Queue:       NotifyQueue,
		MaxAttempts: chatter.NotifyMaxAttempts,
		UniqueOpts:  river.UniqueOpts{ByArgs: true},
	}
}

// AlertLedger is the part of a store's Ledger that keeps alert episodes
// (chatter.Alert), in the outcome's transaction.
type AlertLedger[TTx any] interface {
	// RaiseAlert records that the problem key of workspace happened at
	// now and reports whether its notification is due: when no episode
	// was open and the key's last notification (if any) is at least quiet
	// old; then the episode's notified time becomes now. Otherwise it
	// opens (or keeps) the episode silently.
	RaiseAlert(ctx context.Context, tx TTx, workspace, key string, now time.Time, quiet time.Duration) (bool, error)
	// ResolveAlerts ends the open episodes of workspace at now.
	ResolveAlerts(ctx context.Context, tx TTx, workspace string, now time.Time) error
}

// notifications turns an outcome's notifications and alerts into notify
// jobs, inside the outcome's transaction tx: alerts open or keep their
// episodes, and only a newly notified one adds its notification.
func (q *Queue[TTx, D]) notifications(ctx context.Context, tx TTx, workspace string, o chatter.Outcome, now time.Time) ([]river.InsertManyParams, error) {
	if o.ResolveAlerts {
		if err := q.ledger.ResolveAlerts(ctx, tx, workspace, now); err != nil {
			return nil, fmt.Errorf("resolve alerts: %w", err)
		}
	}
	var ps []river.InsertManyParams
	seen := map[string]bool{}
	add := func(n *chatter.Notification) {
		if n == nil || seen[n.DedupeKey] {
			return
		}
		seen[n.DedupeKey] = true
		ps = append(ps, river.InsertManyParams{Args: NotifyArgs{Notification: n, DedupeKey: n.DedupeKey}, InsertOpts: notifyInsertOpts()})
	}
	for _, a := range o.Alerts {
		if a.Key == "" || a.Notification == nil {
			continue
		}
		due, err := q.ledger.RaiseAlert(ctx, tx, workspace, a.Key, now, max(a.Quiet, 0))
		if err != nil {
			return nil, fmt.Errorf("raise alert %s: %w", a.Key, err)
		}
		if due {
			n := *a.Notification
			n.DedupeKey = AlertDedupeKey(workspace, a.Key, now)
			add(&n)
		}
	}
	for _, n := range o.Notifications {
		if n != nil && n.DedupeKey == "" {
			// Every job needs a key; without one the notification is its
			// own event.
			c := *n
			c.DedupeKey = "outcome:" + workspace + ":" + string(n.Type) + ":" + n.Key + ":" + strconv.FormatInt(now.UnixNano(), 10)
			n = &c
		}
		add(n)
	}
	return ps, nil
}

// AlertDedupeKey is the DedupeKey of the notification of an alert episode of
// workspace and key opened (notified) at at.
func AlertDedupeKey(workspace, key string, at time.Time) string {
	return "alert:" + workspace + ":" + key + ":" + strconv.FormatInt(at.UnixNano(), 10)
}

// notifyWorker is the River worker of notification jobs.
type notifyWorker[TTx any, D riverdriver.Driver[TTx]] struct {
	river.WorkerDefaults[NotifyArgs]
	q        *Queue[TTx, D]
	notifier chatter.Notifier
	timeout  time.Duration
	log      *slog.Logger
}

// NextRetry implements river.Worker: chatter.NotifyRetryDelay.
func (w *notifyWorker[TTx, D]) NextRetry(job *river.Job[NotifyArgs]) time.Time {
	return time.Now().Add(chatter.NotifyRetryDelay(job.Attempt))
}

// Timeout implements river.Worker: the notifier's bound plus time to
// record the completion.
func (w *notifyWorker[TTx, D]) Timeout(*river.Job[NotifyArgs]) time.Duration {
	return w.timeout + notifyCompleteLimit
}

var errNoNotification = errors.New("notification job without a notification")

// Work sends one notification and completes its job in the store right
// after, so that a crash can repeat a send only in the moment between the
// notifier's return and that commit.
func (w *notifyWorker[TTx, D]) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	n := job.Args.Notification
	if n == nil {
		return river.JobCancel(errNoNotification)
	}
	attrs := []any{slog.String(chatter.AttrCategory, chatter.CategoryNotify), slog.String(chatter.AttrWorkspace, n.Workspace),
		slog.String("type", string(n.Type)), slog.String("dedupe_key", job.Args.DedupeKey), slog.Int("attempt", job.Attempt)}
	if n.Key != "" {
		attrs = append(attrs, slog.String(chatter.AttrMessageKey, n.Key))
	}
	nctx, cancel := context.WithTimeout(ctx, w.timeout)
	err := w.send(nctx, n)
	cancel()
	if err != nil {
		if job.Attempt >= job.MaxAttempts {
			w.log.ErrorContext(ctx, w.q.name+": notification dropped after its last attempt", append(attrs, slog.String("error", err.Error()))...)
		} else {
			w.log.WarnContext(ctx, w.q.name+": notification not sent; will retry",
				append(attrs, slog.String("error", err.Error()), slog.Duration("delay", chatter.NotifyRetryDelay(job.Attempt)))...)
		}
		return err
	}
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), notifyCompleteLimit)
	defer ccancel()
	if err := w.q.ledger.InTx(cctx, func(tx TTx) error {
		_, err := river.JobCompleteTx[D](cctx, tx, job)
		return err
	}); err != nil {
		// River completes it anyway when Work returns nil; only a crash
		// before that repeats the send.
		w.log.WarnContext(ctx, w.q.name+": record notification sent", append(attrs, slog.String("error", err.Error()))...)
	}
	w.log.DebugContext(ctx, w.q.name+": notification sent", attrs...)
	return nil
}

// send calls the notifier, turning a panic into an error.
func (w *notifyWorker[TTx, D]) send(ctx context.Context, n *chatter.Notification) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("notifier panicked: %v", r)
		}
	}()
	return w.notifier.Notify(ctx, n)
}

// notifyQueueConfig returns the River queue of notifications for cfg, or
// false when cfg has no Notifier.
func notifyQueueConfig(cfg chatter.QueueConfig) (river.QueueConfig, time.Duration, bool) {
	if cfg.Notifier == nil {
		return river.QueueConfig{}, 0, false
	}
	return river.QueueConfig{MaxWorkers: cmp.Or(cfg.NotifyWorkers, chatter.DefaultNotifyWorkers)},
		cmp.Or(cfg.NotifyTimeout, chatter.DefaultNotifyTimeout), true
}
