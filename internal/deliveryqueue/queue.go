package deliveryqueue

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatterhq/sdk/chatter"
)

// Defaults, as documented on chatter.QueueConfig and the stores' tuning.
const (
	DefaultWorkers           = chatter.DefaultWorkers    // one source: chatter.QueueConfig's documented default
	DefaultJobTimeout        = chatter.DefaultJobTimeout // likewise
	DefaultReconcileInterval = time.Minute
	// LedgerWriteLimit bounds recording an outcome after the job's context
	// ended (the outcome is recorded on a context of its own).
	LedgerWriteLimit = 30 * time.Second
	// MinRescueAfter is the default floor of River's RescueStuckJobsAfter:
	// a job is never rescued while it may still be recording its outcome.
	MinRescueAfter = 30 * time.Second
	// panicRetryDelay is the delay before a job whose WorkFunc panicked
	// runs again.
	panicRetryDelay = time.Second
	// maxInfraBackoff caps River's retry delay after a run that recorded
	// no outcome (a database error).
	maxInfraBackoff = 5 * time.Minute
	// notifyCompleteLimit bounds completing a sent notification's job (if
	// it fails, River completes it when the worker returns).
	notifyCompleteLimit = 5 * time.Second
)

// reconcileReason is the error text of an entry the sweep marks dead.
const reconcileReason = "the delivery job was discarded or cancelled in the queue (River); replay to try again"

// Tuning tunes the River client Work runs. Zero fields take the defaults
// documented on each.
type Tuning struct {
	// RescueAfter is River's RescueStuckJobsAfter. Defaults to
	// 3 × JobTimeout, at least MinRescueAfter; never less than JobTimeout,
	// nor than NotifyTimeout + 5 s when Work sends notifications.
	RescueAfter time.Duration
	// FetchPollInterval and FetchCooldown default to River's (1 s, 100 ms).
	FetchPollInterval time.Duration
	FetchCooldown     time.Duration
	// CompletedJobRetention defaults to River's (24 h).
	CompletedJobRetention time.Duration
	// ReconcileInterval is how often Work runs the reconcile sweep (it also
	// runs once when Work starts). Defaults to DefaultReconcileInterval.
	ReconcileInterval time.Duration
	// InstanceSweep is how often Work looks for running jobs of instances
	// whose process died (chatter.QueueConfig.Instance). Defaults to
	// DefaultInstanceSweep.
	InstanceSweep time.Duration
}

// Validate rejects negative durations.
func (t Tuning) Validate() error {
	if t.RescueAfter < 0 || t.FetchPollInterval < 0 || t.FetchCooldown < 0 || t.CompletedJobRetention < 0 || t.ReconcileInterval < 0 || t.InstanceSweep < 0 {
		return errors.New("queue durations must not be negative")
	}
	return nil
}

// Config configures a Queue.
type Config struct {
	// Name prefixes errors and log messages ("sqlitestore").
	Name string
	// Schema is River's schema (PostgreSQL); empty for the default.
	Schema string
	// Logger receives queue diagnostics; nil is silent.
	Logger *slog.Logger
	// Now is the store's clock. Defaults to time.Now.
	Now func() time.Time
	// Tuning tunes the River client of Work.
	Tuning Tuning
	// Fences are the store's instance fences; nil: the store refuses
	// chatter.QueueConfig.Instance.
	Fences Fences
}

// Queue is a store's delivery queue: River over the store's Ledger.
type Queue[TTx any, D riverdriver.Driver[TTx]] struct {
	driver  D
	ledger  Ledger[TTx]
	inserts *river.Client[TTx] // never started: inserts jobs inside the store's transactions
	name    string
	schema  string
	log     *slog.Logger
	now     func() time.Time
	tuning  Tuning
	fences  Fences
}

// New returns a Queue. It starts nothing and does not touch the database.
func New[TTx any, D riverdriver.Driver[TTx]](driver D, ledger Ledger[TTx], cfg Config) (*Queue[TTx, D], error) {
	if err := cfg.Tuning.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", cfg.Name, err, chatter.ErrInvalid)
	}
	q := &Queue[TTx, D]{
		driver: driver, ledger: ledger, name: cfg.Name, schema: cfg.Schema,
		log: cfg.Logger, now: cfg.Now, tuning: cfg.Tuning, fences: cfg.Fences,
	}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	if q.now == nil {
		q.now = time.Now
	}
	q.tuning.ReconcileInterval = cmp.Or(q.tuning.ReconcileInterval, DefaultReconcileInterval)
	q.tuning.InstanceSweep = cmp.Or(q.tuning.InstanceSweep, DefaultInstanceSweep)
	client, err := river.NewClient(driver, &river.Config{Schema: cfg.Schema, Logger: q.log})
	if err != nil {
		return nil, fmt.Errorf("%s: river client: %w", cfg.Name, err)
	}
	q.inserts = client
	return q, nil
}

// NewDelivery is a delivery job to enqueue for a freshly inserted row.
type NewDelivery struct {
	MessageID int64
	Workspace string
	Priority  int // Chatter's 0..3
}

// InsertOpts are the River insert options of a delivery of priority (0..3):
// River priorities are 1..4.
func InsertOpts(priority int) *river.InsertOpts {
	return &river.InsertOpts{Queue: DeliveryQueue, Priority: priority + 1, MaxAttempts: RiverMaxAttempts}
}

// Enqueue inserts the first-round delivery jobs of ds inside tx.
func (q *Queue[TTx, D]) Enqueue(ctx context.Context, tx TTx, ds []NewDelivery) error {
	switch len(ds) {
	case 0:
		return nil
	case 1:
		d := ds[0]
		_, err := q.inserts.InsertTx(ctx, tx, DeliveryArgs{MessageID: d.MessageID, Round: 1, Workspace: d.Workspace}, InsertOpts(d.Priority))
		return err
	}
	ps := make([]river.InsertManyParams, len(ds))
	for i, d := range ds {
		ps[i] = river.InsertManyParams{
			Args:       DeliveryArgs{MessageID: d.MessageID, Round: 1, Workspace: d.Workspace},
			InsertOpts: InsertOpts(d.Priority),
		}
	}
	_, err := q.inserts.InsertManyTx(ctx, tx, ps)
	return err
}

func (q *Queue[TTx, D]) invalid(field, ru, en string) error {
	return fmt.Errorf("%s: %w", q.name, &chatter.ValidationError{Field: field, Problem: chatter.T(ru, en)})
}

// Work implements chatter.Queue.Work: it runs a River client serving
// DeliveryQueue with cfg.Workers workers until ctx ends, then cancels the
// running attempts' contexts, waits (at most JobTimeout + LedgerWriteLimit)
// for them to return and record their outcomes, and returns nil. It returns
// an error only for bad arguments, when River cannot be started, or
// (ErrFenceLost) when cfg.Instance's fence was lost while it ran.
//
// The reconcile sweep runs when Work starts and every ReconcileInterval.
func (q *Queue[TTx, D]) Work(ctx context.Context, cfg chatter.QueueConfig, fn chatter.WorkFunc) error {
	switch {
	case fn == nil:
		return q.invalid("fn", "не задан обработчик заданий", "work func is nil")
	case cfg.Workers < 0:
		return q.invalid("workers", "отрицательное число обработчиков", "workers is negative")
	case cfg.JobTimeout < 0:
		return q.invalid("job_timeout", "отрицательный тайм-аут задания", "job timeout is negative")
	case cfg.NotifyWorkers < 0:
		return q.invalid("notify_workers", "отрицательное число отправителей уведомлений", "notify workers is negative")
	case cfg.NotifyTimeout < 0:
		return q.invalid("notify_timeout", "отрицательный тайм-аут уведомления", "notify timeout is negative")
	}
	if ctx.Err() != nil {
		return nil // nothing to run
	}
	workers := cmp.Or(cfg.Workers, DefaultWorkers)
	timeout := cmp.Or(cfg.JobTimeout, DefaultJobTimeout)
	log := cmp.Or(cfg.Logger, q.log)
	var clientID string
	var fenceLost <-chan struct{}
	if cfg.Instance != "" {
		lost, release, err := q.claimInstance(ctx, cfg.Instance, log)
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped while waiting for the fence
			}
			return err
		}
		// Released after River stopped (deferred before it is started).
		defer release()
		fenceLost, clientID = lost, chatter.InstanceHolder(cfg.Instance)
	}
	w := &deliveryWorker[TTx, D]{q: q, fn: fn, log: log, notifying: cfg.Notifier != nil}
	ws := river.NewWorkers()
	if err := river.AddWorkerSafely(ws, w); err != nil {
		return fmt.Errorf("%s: work: %w", q.name, err)
	}
	queues := map[string]river.QueueConfig{DeliveryQueue: {MaxWorkers: workers}}
	var notifyRun time.Duration // longest run of a notification job
	if nq, ntimeout, ok := notifyQueueConfig(cfg); ok {
		queues[NotifyQueue] = nq
		notifyRun = ntimeout + notifyCompleteLimit
		if err := river.AddWorkerSafely(ws, &notifyWorker[TTx, D]{q: q, notifier: cfg.Notifier, timeout: ntimeout, log: log}); err != nil {
			return fmt.Errorf("%s: work: %w", q.name, err)
		}
	}
	rescue := q.tuning.RescueAfter
	if rescue == 0 {
		rescue = max(3*timeout, MinRescueAfter)
	}
	// River's rule: never rescue a job that may still be within its
	// timeout; a notification's timeout is its own (notifyWorker.Timeout).
	rescue = max(rescue, timeout, notifyRun)
	client, err := river.NewClient(q.driver, &river.Config{
		ID:                          clientID,
		Schema:                      q.schema,
		Queues:                      queues,
		Workers:                     ws,
		JobTimeout:                  timeout,
		RescueStuckJobsAfter:        rescue,
		FetchPollInterval:           q.tuning.FetchPollInterval,
		FetchCooldown:               q.tuning.FetchCooldown,
		CompletedJobRetentionPeriod: q.tuning.CompletedJobRetention,
		Logger:                      log,
	})
	if err != nil {
		return fmt.Errorf("%s: work: river client: %w", q.name, err)
	}
	// River is stopped below, not by ctx, so that stopping waits for the
	// running jobs to record their outcomes.
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("%s: work: start river: %w", q.name, err)
	}
	log.InfoContext(ctx, q.name+": queue started", slog.Int("workers", workers), slog.Duration("job_timeout", timeout),
		slog.Bool("notifications", cfg.Notifier != nil))

	q.reconcile(ctx, log)
	tick := time.NewTicker(q.tuning.ReconcileInterval)
	defer tick.Stop()
	sweep := time.NewTicker(q.tuning.InstanceSweep)
	defer sweep.Stop()
	var result error
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-fenceLost:
			log.ErrorContext(ctx, q.name+": "+ErrFenceLost.Error(), slog.String("instance", cfg.Instance),
				slog.String(chatter.AttrCategory, chatter.CategorySystem))
			result, done = fmt.Errorf("%s: work: %w", q.name, ErrFenceLost), true
		case <-tick.C:
			q.reconcile(ctx, log)
		case <-sweep.C:
			q.sweepInstances(ctx, cfg.Instance, log)
		}
	}

	// StopAndCancel cancels the running attempts' contexts; they record
	// their outcomes on a context of their own (see deliveryWorker.Work),
	// bounded by LedgerWriteLimit. A WorkFunc that ignores its context is
	// not waited for beyond JobTimeout + LedgerWriteLimit.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout+LedgerWriteLimit)
	defer cancel()
	if err := client.StopAndCancel(stopCtx); err != nil {
		log.ErrorContext(stopCtx, q.name+": queue did not stop in time", slog.String("error", err.Error()))
	}
	log.InfoContext(stopCtx, q.name+": queue stopped")
	return result
}

// reconcile runs the sweep once and logs what it did.
func (q *Queue[TTx, D]) reconcile(ctx context.Context, log *slog.Logger) {
	n, err := q.ledger.Reconcile(ctx, q.now(), reconcileReason)
	if err != nil {
		if ctx.Err() == nil {
			log.ErrorContext(ctx, q.name+": reconcile ledger", slog.String("error", err.Error()))
		}
		return
	}
	if n > 0 {
		log.WarnContext(ctx, q.name+": ledger entries without a live job marked dead",
			slog.Int64("count", n), slog.String(chatter.AttrCategory, chatter.CategoryDelivery),
			slog.String(chatter.AttrErrorClass, string(chatter.ClassInternal)))
	}
}

// Replay implements chatter.Queue.Replay: in one transaction the entry
// becomes queued in a new round (a fresh round of MaxAttempts attempts; the
// attempt count keeps growing, so the sink sees an ambiguous delivery) and
// the round's River job is inserted. A job of the earlier round that runs
// later cancels itself.
func (q *Queue[TTx, D]) Replay(ctx context.Context, workspace string, key chatter.Key) error {
	if workspace == "" {
		return q.invalid("workspace", "не указано рабочее пространство", "workspace is empty")
	}
	if err := key.Validate(); err != nil {
		return fmt.Errorf("%s: replay: %w", q.name, err)
	}
	err := q.ledger.InTx(ctx, func(tx TTx) error {
		r, err := q.ledger.LoadKey(ctx, tx, workspace, key)
		if err != nil {
			return err
		}
		if r == nil {
			return chatter.ErrNotFound
		}
		if r.State != chatter.StateDead && r.State != chatter.StateFailed {
			return fmt.Errorf("%w: message is %s, not dead or failed", chatter.ErrConflict, r.State)
		}
		return q.startRound(ctx, tx, r)
	})
	if err != nil {
		return fmt.Errorf("%s: replay %s: %w", q.name, key, err)
	}
	return nil
}

// ReplayBatch is how many dead messages ReplayDead replays per transaction.
const ReplayBatch = 200

// ReplayDead implements chatter.Queue.ReplayDead: batches of ReplayBatch
// dead rows matching q, each batch replayed (as Replay) in one transaction.
func (q *Queue[TTx, D]) ReplayDead(ctx context.Context, lq chatter.LedgerQuery) (int, error) {
	if lq.Workspace == "" {
		return 0, q.invalid("workspace", "не указано рабочее пространство", "workspace is empty")
	}
	if len(lq.States) > 1 || (len(lq.States) == 1 && lq.States[0] != chatter.StateDead) {
		return 0, q.invalid("states", "повторить можно только недоставленные (dead) сообщения",
			"only dead messages can be replayed: States must be empty or [dead]")
	}
	lq.States = []chatter.State{chatter.StateDead}
	total := 0
	var after int64
	for {
		n := 0
		err := q.ledger.InTx(ctx, func(tx TTx) error {
			n = 0
			rows, err := q.ledger.DeadBatch(ctx, tx, lq, after, ReplayBatch)
			if err != nil {
				return err
			}
			if err := q.startRounds(ctx, tx, rows); err != nil {
				return err
			}
			n = len(rows)
			if n > 0 {
				after = rows[n-1].ID
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("%s: replay dead: %w", q.name, err)
		}
		total += n
		if n < ReplayBatch {
			return total, nil
		}
	}
}

// insertNotifications inserts notification jobs inside tx. It uses the
// insert-only client: a running client refuses kinds it has no worker for,
// and a Work without a Notifier has none.
// Wake implements chatter.Queue's Wake for the store.
func (q *Queue[TTx, D]) Wake(ctx context.Context, workspace string, classes ...chatter.ErrorClass) (int, error) {
	if workspace == "" {
		return 0, q.invalid("workspace", "не указано рабочее пространство", "workspace is empty")
	}
	if len(classes) == 0 {
		return 0, nil
	}
	n, err := q.ledger.Wake(ctx, workspace, classes, q.now())
	if err != nil {
		return 0, fmt.Errorf("%s: wake: %w", q.name, err)
	}
	if n > 0 {
		q.log.InfoContext(ctx, q.name+": snoozed deliveries woken", slog.String(chatter.AttrWorkspace, workspace),
			slog.Int64("count", n), slog.Any("classes", classes))
	}
	return int(n), nil
}

func (q *Queue[TTx, D]) insertNotifications(ctx context.Context, tx TTx, ps []river.InsertManyParams) error {
	if len(ps) == 0 {
		return nil
	}
	if _, err := q.inserts.InsertManyTx(ctx, tx, ps); err != nil {
		return fmt.Errorf("enqueue notifications: %w", err)
	}
	return nil
}

// DeliveryFailedDedupeKey is the DedupeKey of the notification that m went
// dead after attempts attempts (a message replayed and dead again is a new
// event).
func DeliveryFailedDedupeKey(m *chatter.Message, attempts int) string {
	return "delivery_failed:" + m.Workspace + ":" + m.Key.String() + ":" + strconv.Itoa(attempts)
}

// startRound starts a new delivery round for r inside tx.
func (q *Queue[TTx, D]) startRound(ctx context.Context, tx TTx, r *Row) error {
	return q.startRounds(ctx, tx, []*Row{r})
}

// startRounds starts a new delivery round for each of rs inside tx.
func (q *Queue[TTx, D]) startRounds(ctx context.Context, tx TTx, rs []*Row) error {
	if len(rs) == 0 {
		return nil
	}
	now := q.now()
	ps := make([]river.InsertManyParams, len(rs))
	for i, r := range rs {
		if err := q.ledger.StartRound(ctx, tx, r.ID, r.Round+1, now); err != nil {
			return err
		}
		ps[i] = river.InsertManyParams{
			Args:       DeliveryArgs{MessageID: r.ID, Round: r.Round + 1, Workspace: r.Workspace},
			InsertOpts: InsertOpts(r.Priority),
		}
	}
	if len(ps) == 1 {
		_, err := q.inserts.InsertTx(ctx, tx, ps[0].Args, ps[0].InsertOpts)
		return err
	}
	_, err := q.inserts.InsertManyTx(ctx, tx, ps)
	return err
}

// deliveryWorker is the River worker of delivery jobs.
type deliveryWorker[TTx any, D riverdriver.Driver[TTx]] struct {
	river.WorkerDefaults[DeliveryArgs]
	q         *Queue[TTx, D]
	fn        chatter.WorkFunc
	log       *slog.Logger
	notifying bool     // this Work sends notifications: the queue's own dead entries get theirs
	failed    sync.Map // job id → struct{}: Work returned an error River retries (see NextRetry)
}

// NextRetry is when River runs a job again after a run that recorded no
// outcome. After this process's Work returned an error (a database error)
// it backs off: exponential from one second, capped at maxInfraBackoff. A
// job River's rescuer takes back from a process that died runs again at
// once: its attempt never reached the destination, or adoption finds what
// it wrote. Outcomes never come here; they are River snoozes.
func (w *deliveryWorker[TTx, D]) NextRetry(job *river.Job[DeliveryArgs]) time.Time {
	if _, failed := w.failed.LoadAndDelete(job.ID); !failed {
		return time.Now()
	}
	d := maxInfraBackoff
	if n := job.Attempt - 1; n < 10 {
		d = min(time.Second<<max(n, 0), maxInfraBackoff)
	}
	return time.Now().Add(d)
}

// noteFailure remembers that Work returned err for job, when River will ask
// NextRetry about it (not for snoozes and cancels).
func (w *deliveryWorker[TTx, D]) noteFailure(id int64, err error) {
	var (
		snooze *rivertype.JobSnoozeError
		cancel *rivertype.JobCancelError
	)
	if err == nil || errors.As(err, &snooze) || errors.As(err, &cancel) {
		return
	}
	w.failed.Store(id, struct{}{})
}

// outcomeError is what Work returns to River for a dead delivery (wrapped in
// JobCancel); River records its text in the job's errors.
type outcomeError struct {
	class chatter.ErrorClass
	msg   string
}

func (e *outcomeError) Error() string { return string(e.class) + ": " + e.msg }

var errStaleJob = errors.New("delivery job superseded (message replayed, or no longer waiting for delivery)")

// claimed is a job the worker claimed, or the reason it did not.
type claimed struct {
	job  *chatter.Job
	max  int  // attempts allowed in total (0: no limit by count)
	dead bool // the claim itself recorded the entry dead
}

// Work runs one attempt.
func (w *deliveryWorker[TTx, D]) Work(ctx context.Context, job *river.Job[DeliveryArgs]) (err error) {
	defer func() { w.noteFailure(job.ID, err) }()
	c, err := w.claim(ctx, job)
	if err != nil {
		// Returned as is: when the client is stopping, a context error
		// lets River put the job back.
		return err
	}
	switch {
	case c == nil:
		w.log.DebugContext(ctx, w.q.name+": stale delivery job cancelled", slog.Int64("job_id", job.ID),
			slog.Int64("message_row", job.Args.MessageID), slog.Int64("round", job.Args.Round))
		return river.JobCancel(errStaleJob)
	case c.dead:
		return river.JobCancel(&outcomeError{class: c.job.LastClass, msg: c.job.LastError})
	}
	o := w.run(ctx, c.job)
	// Record the outcome even when the job's context has ended: fn already
	// ran, and its result must not be lost.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), LedgerWriteLimit)
	defer cancel()
	return w.apply(actx, job, c, o)
}

// claim checks that the job is current and, in one transaction, marks the
// ledger delivering and counts the attempt. It returns nil for a stale job.
func (w *deliveryWorker[TTx, D]) claim(ctx context.Context, job *river.Job[DeliveryArgs]) (*claimed, error) {
	q := w.q
	var c *claimed
	err := q.ledger.InTx(ctx, func(tx TTx) error {
		c = nil
		r, err := q.ledger.Load(ctx, tx, job.Args.MessageID)
		if err != nil || r == nil {
			return err
		}
		switch r.State {
		case chatter.StateQueued, chatter.StateFailed, chatter.StateDelivering:
		default:
			return nil
		}
		if r.Round != job.Args.Round {
			return nil
		}
		now := q.now()
		limit := 0
		if r.MaxAttempts > 0 {
			limit = r.AttemptBase + r.MaxAttempts
		}
		j := &chatter.Job{
			ID: job.ID, Attempt: r.Attempts + 1, MaxAttempts: limit, Priority: r.Priority,
			LastError: r.LastError, LastClass: r.ErrorClass, BudgetStart: r.BudgetStart,
		}
		m, err := decodeMessage(r.Body, r.Raw)
		if err == nil {
			m.Workspace = r.Workspace
		}
		dead := ""
		switch {
		case err != nil:
			dead = fmt.Sprintf("the stored message cannot be decoded: %v", err)
		case limit > 0 && r.Attempts >= limit:
			// The last attempt of the round was interrupted (a crash) and
			// River ran the job again: no attempt is left.
			dead = fmt.Sprintf("the last attempt (%d of %d) was interrupted; replay to try again", r.Attempts, limit)
		}
		if dead != "" {
			j.LastClass, j.LastError = chatter.ClassInternal, dead
			c = &claimed{job: j, max: limit, dead: true}
			if _, err := q.ledger.Update(ctx, tx, r.ID, r.Round, Update{State: chatter.StateDead, Attempts: r.Attempts,
				ErrorClass: j.LastClass, LastError: j.LastError, Now: now}); err != nil {
				return err
			}
			if !w.notifying || m == nil {
				return nil
			}
			n := chatter.DeliveryFailedNotification(m, r.Attempts, j.LastClass, j.LastError)
			n.Time, n.DedupeKey = now, DeliveryFailedDedupeKey(m, r.Attempts)
			return q.insertNotifications(ctx, tx, []river.InsertManyParams{{Args: NotifyArgs{Notification: n, DedupeKey: n.DedupeKey}, InsertOpts: notifyInsertOpts()}})
		}
		j.Message = m
		ok, err := q.ledger.Update(ctx, tx, r.ID, r.Round, Update{State: chatter.StateDelivering, Attempts: j.Attempt,
			ErrorClass: r.ErrorClass, LastError: r.LastError, Now: now})
		if err != nil || !ok {
			return err
		}
		c = &claimed{job: j, max: limit}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c != nil && c.dead {
		w.log.WarnContext(ctx, w.q.name+": delivery dead at claim", slog.Int64("job_id", job.ID),
			slog.String("workspace", job.Args.Workspace), slog.String("error", c.job.LastError))
	}
	return c, nil
}

func decodeMessage(body, raw []byte) (*chatter.Message, error) {
	m := new(chatter.Message)
	if err := json.Unmarshal(body, m); err != nil {
		return nil, err
	}
	if len(raw) > 0 {
		m.Raw = json.RawMessage(append([]byte(nil), raw...))
	}
	return m, nil
}

// run calls fn, turning a panic into a retry with ClassInternal.
func (w *deliveryWorker[TTx, D]) run(ctx context.Context, j *chatter.Job) (o chatter.Outcome) {
	defer func() {
		if r := recover(); r != nil {
			w.log.ErrorContext(ctx, w.q.name+": delivery panicked", slog.Int64("job_id", j.ID),
				slog.String("message_key", j.Message.Key.String()), slog.Int("attempt", j.Attempt), slog.Any("panic", r))
			o = chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassInternal,
				Err: fmt.Sprintf("delivery panicked: %v", r), Delay: panicRetryDelay}
		}
	}()
	return w.fn(ctx, j)
}

// apply records o on the ledger and tells River what to do with the job.
func (w *deliveryWorker[TTx, D]) apply(ctx context.Context, job *river.Job[DeliveryArgs], c *claimed, o chatter.Outcome) error {
	q := w.q
	j := c.job
	id, round := job.Args.MessageID, job.Args.Round
	now := q.now()
	delay := max(o.Delay, 0)
	attrs := []any{slog.Int64("job_id", job.ID), slog.String("workspace", j.Message.Workspace),
		slog.String("message_key", j.Message.Key.String()), slog.Int("attempt", j.Attempt)}

	u := Update{Attempts: j.Attempt, ErrorClass: o.Class, LastError: o.Err, Now: now}
	var riverErr error
	switch o.Kind {
	case chatter.OutcomeDelivered:
		u = Update{State: chatter.StateDelivered, Attempts: j.Attempt, Result: o.Result, Delivered: now, Now: now}
	case chatter.OutcomeSnooze:
		// River's snooze uses no attempt, and neither does the ledger; the
		// wait does not spend the retry budget either.
		u.State, u.Attempts, u.NextAt, u.PauseBudget = chatter.StateQueued, j.Attempt-1, now.Add(delay), delay
		riverErr = river.JobSnooze(delay)
	case chatter.OutcomeDead:
		u.State, u.ErrorClass = chatter.StateDead, cmp.Or(o.Class, chatter.ClassPermanent)
		riverErr = river.JobCancel(&outcomeError{class: u.ErrorClass, msg: o.Err})
	default: // OutcomeRetry, and any unknown kind
		u.ErrorClass = cmp.Or(o.Class, chatter.ClassTransient)
		if o.Kind != chatter.OutcomeRetry {
			u.ErrorClass, u.LastError = chatter.ClassInternal, fmt.Sprintf("unknown outcome kind %d: %s", o.Kind, o.Err)
			w.log.ErrorContext(ctx, q.name+": invalid outcome", append(attrs, slog.Int("kind", int(o.Kind)))...)
		}
		if c.max > 0 && j.Attempt >= c.max {
			u.State = chatter.StateDead
			riverErr = river.JobCancel(&outcomeError{class: u.ErrorClass, msg: u.LastError})
		} else {
			// A River snooze too: River's attempts are kept for runs that
			// record no outcome (see RiverMaxAttempts).
			u.State, u.NextAt = chatter.StateFailed, now.Add(delay)
			riverErr = river.JobSnooze(delay)
		}
	}
	err := q.ledger.InTx(ctx, func(tx TTx) error {
		if _, err := q.ledger.Update(ctx, tx, id, round, u); err != nil {
			return err
		}
		if u.State == chatter.StateDelivered {
			if _, err := river.JobCompleteTx[D](ctx, tx, job); err != nil {
				return err
			}
		}
		// The outcome's notifications are jobs of their own, committed
		// with it: sent after it, never lost by a crash after it.
		ps, err := q.notifications(ctx, tx, j.Message.Workspace, o, now)
		if err != nil {
			return err
		}
		return q.insertNotifications(ctx, tx, ps)
	})
	if err != nil {
		// Nothing was recorded: River runs the job again (its attempt
		// counter grows), the ledger still says delivering, and the next
		// attempt is seen as ambiguous.
		w.log.ErrorContext(ctx, q.name+": record outcome", append(attrs, slog.String("error", err.Error()))...)
		return fmt.Errorf("%s: record outcome: %w", q.name, err)
	}
	switch u.State {
	case chatter.StateDelivered:
		w.log.DebugContext(ctx, q.name+": delivered", attrs...)
	case chatter.StateDead:
		w.log.WarnContext(ctx, q.name+": delivery dead", append(attrs, slog.String("error_class", string(u.ErrorClass)))...)
	default:
		w.log.DebugContext(ctx, q.name+": delivery rescheduled",
			append(attrs, slog.String("state", string(u.State)), slog.Duration("delay", delay))...)
	}
	return riverErr
}
