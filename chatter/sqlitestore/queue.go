package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/chatterhq/sdk/chatter"
)

const (
	defaultWorkers    = 4
	defaultJobTimeout = 2 * time.Minute
	ledgerWriteLimit  = 30 * time.Second // bounds recording an outcome after the job's context ended
	minRescueAfter    = 30 * time.Second // a job is never rescued while it may still be recording its outcome
)

// Work runs delivery jobs through fn until ctx ends, then cancels the
// contexts of running attempts, waits for them to return and record their
// outcomes (an outcome returned after the cancellation is still applied), and
// returns nil. It returns an error only for bad arguments or when the River
// client cannot be built or started.
//
// Each job is a River job in the queue "chatter_delivery" with priority
// Priority+1. The worker marks the ledger StateDelivering (attempt counted),
// calls fn, and applies the Outcome:
//   - OutcomeDelivered: ledger delivered and River's JobCompleteTx in ONE
//     transaction, so a crash can never leave a delivered message queued;
//   - OutcomeRetry: ledger failed (attempts, class, error, next_at) and an
//     error for River, which retries after Outcome.Delay; on the last attempt
//     the message goes dead instead;
//   - OutcomeSnooze: ledger queued, river.JobSnooze(Delay): no attempt used;
//   - OutcomeDead: ledger dead, river.JobCancel.
//
// Job.Attempt counts real attempts across Replay rounds (River's own attempt
// plus the attempts of earlier rounds), and Job.MaxAttempts grows by
// AcceptOptions.MaxAttempts with each Replay, so a replayed delivery is seen
// as ambiguous (Attempt > 1). A job interrupted by a crash is rescued by River
// after Config.Queue.RescueAfter and run again with a higher Job.Attempt.
// Several Work calls (also in other processes on the same file) share the
// jobs.
func (s *Store) Work(ctx context.Context, cfg chatter.QueueConfig, fn chatter.WorkFunc) error {
	if fn == nil {
		return invalidf("work: nil WorkFunc")
	}
	if cfg.Workers < 0 || cfg.JobTimeout < 0 {
		return invalidf("work: negative Workers or JobTimeout")
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil // nothing to run
	}
	workers := cmp.Or(cfg.Workers, defaultWorkers)
	timeout := cmp.Or(cfg.JobTimeout, defaultJobTimeout)
	log := s.log
	if cfg.Logger != nil {
		log = cfg.Logger
	}
	w := &deliveryWorker{s: s, fn: fn, log: log}
	ws := river.NewWorkers()
	if err := river.AddWorkerSafely(ws, w); err != nil {
		return fmt.Errorf("sqlitestore: work: %w", err)
	}
	q := s.cfg.Queue
	rescue := q.RescueAfter
	if rescue == 0 {
		rescue = max(3*timeout, minRescueAfter)
	}
	rescue = max(rescue, timeout) // River's rule: never rescue a job that may still be within its timeout
	client, err := river.NewClient(s.driver, &river.Config{
		Queues:                      map[string]river.QueueConfig{queueName: {MaxWorkers: workers}},
		Workers:                     ws,
		JobTimeout:                  timeout,
		RescueStuckJobsAfter:        rescue,
		FetchPollInterval:           q.FetchPollInterval,
		FetchCooldown:               q.FetchCooldown,
		CompletedJobRetentionPeriod: q.CompletedJobRetention,
		Logger:                      log,
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: work: river client: %w", err)
	}
	// River is stopped below, not by ctx, so that stopping waits for the
	// running jobs to record their outcomes.
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("sqlitestore: work: start river: %w", err)
	}
	log.InfoContext(ctx, "sqlitestore: queue started", slog.Int("workers", workers), slog.Duration("job_timeout", timeout))

	s.reconcile(ctx, log)
	tick := time.NewTicker(s.cfg.Queue.ReconcileInterval)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			s.reconcile(ctx, log)
		}
	}

	// The end of ctx ends the running attempts too (their contexts are
	// cancelled); Work then waits for them to record their outcomes, which
	// they do on a context of their own (see deliveryWorker.Work).
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout+ledgerWriteLimit)
	defer cancel()
	if err := client.StopAndCancel(stopCtx); err != nil {
		log.ErrorContext(stopCtx, "sqlitestore: queue did not stop in time", slog.String("error", err.Error()))
	}
	log.InfoContext(stopCtx, "sqlitestore: queue stopped")
	return nil
}

// reconcile marks dead the ledger entries whose current job River finished
// without Chatter (the rescuer discarded it after a crash on its spare
// attempt, or an operator cancelled it in River), so no entry stays queued or
// delivering forever. Replay revives them.
func (s *Store) reconcile(ctx context.Context, log *slog.Logger) {
	now := nanos(s.now())
	res, err := s.db.ExecContext(ctx, `UPDATE chatter_messages
		SET state = 'dead', error_class = ?, last_error = ?, next_at = NULL, updated_at = ?
		FROM (SELECT json_extract(args, '$.message_id') AS mid, json_extract(args, '$.round') AS rnd
		      FROM river_job WHERE kind = ? AND state IN ('discarded', 'cancelled')) AS j
		WHERE chatter_messages.id = j.mid AND chatter_messages.round = j.rnd
		  AND chatter_messages.state IN ('queued', 'delivering', 'failed')`,
		string(chatter.ClassInternal), "the delivery job was discarded or cancelled in the queue", now, deliveryJobKind)
	if err != nil {
		if ctx.Err() == nil {
			log.ErrorContext(ctx, "sqlitestore: reconcile ledger", slog.String("error", err.Error()))
		}
		return
	}
	if n, _ := res.RowsAffected(); n > 0 {
		log.WarnContext(ctx, "sqlitestore: ledger entries without a live job marked dead", slog.Int64("count", n))
	}
}

// Replay re-queues a dead or failed message for a fresh round of
// AcceptOptions.MaxAttempts attempts: in one transaction the ledger entry
// becomes queued in a new round and a new River job is inserted. Attempts
// keep counting (the sink must know earlier attempts may have reached the
// CRM). A job of the old round that runs later does nothing. It returns chatter.ErrNotFound for an unknown key
// and chatter.ErrConflict for a message in any other state.
func (s *Store) Replay(ctx context.Context, workspace string, key chatter.Key) error {
	if workspace == "" {
		return invalidf("replay: empty workspace")
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var (
			id, round             int64
			state                 string
			priority, maxAttempts int
		)
		err := tx.QueryRowContext(ctx, `SELECT id, state, round, priority, max_attempts FROM chatter_messages WHERE `+keyWhere,
			keyArgs(workspace, key)...).Scan(&id, &state, &round, &priority, &maxAttempts)
		if errors.Is(err, sql.ErrNoRows) {
			return chatter.ErrNotFound
		}
		if err != nil {
			return err
		}
		if st := chatter.State(state); st != chatter.StateDead && st != chatter.StateFailed {
			return fmt.Errorf("%w: message is %s, not dead or failed", chatter.ErrConflict, st)
		}
		now := nanos(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE chatter_messages SET state = 'queued', attempt_base = attempts, round = ?,
			next_at = ?, updated_at = ? WHERE id = ?`, round+1, now, now, id); err != nil {
			return err
		}
		_, err = s.inserts.InsertTx(ctx, tx, deliveryArgs{MessageID: id, Round: round + 1, Workspace: workspace},
			jobInsertOpts(priority, maxAttempts))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: replay %s: %w", key, err)
	}
	return nil
}

// deliveryWorker is the River worker behind Work.
type deliveryWorker struct {
	river.WorkerDefaults[deliveryArgs]
	s   *Store
	fn  chatter.WorkFunc
	log *slog.Logger

	delays sync.Map // River job id → retry delay, handed from Work to NextRetry
}

// NextRetry schedules a retry after the Outcome.Delay recorded by Work.
func (w *deliveryWorker) NextRetry(job *river.Job[deliveryArgs]) time.Time {
	if d, ok := w.delays.LoadAndDelete(job.ID); ok {
		return time.Now().Add(max(d.(time.Duration), time.Millisecond))
	}
	return time.Time{} // River's default policy
}

// attemptError is what Work returns to River for a failed attempt; River
// records its text in the job's errors.
type attemptError struct {
	class chatter.ErrorClass
	msg   string
}

func (e *attemptError) Error() string { return string(e.class) + ": " + e.msg }

var errStaleJob = errors.New("sqlitestore: job superseded (message replayed or already final)")

// Work runs one attempt.
func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	j, lastAttempt, err := w.begin(ctx, job)
	if err != nil {
		return err
	}
	if j == nil {
		return river.JobCancel(errStaleJob)
	}
	o := w.run(ctx, j)
	// Record the outcome even when the job's context has ended: fn already
	// ran, and its result must not be lost.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ledgerWriteLimit)
	defer cancel()
	return w.apply(wctx, job, j, o, lastAttempt)
}

// begin checks that the job is current and marks the ledger delivering, all
// in one transaction. It returns a nil Job for a stale job.
func (w *deliveryWorker) begin(ctx context.Context, job *river.Job[deliveryArgs]) (*chatter.Job, bool, error) {
	s := w.s
	var j *chatter.Job
	lastAttempt := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var (
			round                       int64
			state, class, lastErr       string
			priority, maxAttempts, base int
			body                        string
			raw                         []byte
		)
		err := tx.QueryRowContext(ctx, `SELECT round, state, priority, max_attempts, attempt_base, error_class, last_error, body, raw
			FROM chatter_messages WHERE id = ?`, job.Args.MessageID).
			Scan(&round, &state, &priority, &maxAttempts, &base, &class, &lastErr, &body, &raw)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		switch chatter.State(state) {
		case chatter.StateQueued, chatter.StateFailed, chatter.StateDelivering:
		default:
			return nil
		}
		if round != job.Args.Round {
			return nil
		}
		now := nanos(s.now())
		if job.Attempt > maxAttempts {
			// The spare River attempt: the last real one was interrupted.
			_, err := tx.ExecContext(ctx, `UPDATE chatter_messages SET state = 'dead', attempts = ?, error_class = ?,
				last_error = ?, next_at = NULL, updated_at = ? WHERE id = ?`,
				base+maxAttempts, string(chatter.ClassInternal),
				fmt.Sprintf("the last attempt (%d of %d) was interrupted; replay to try again", base+maxAttempts, base+maxAttempts),
				now, job.Args.MessageID)
			return err
		}
		m, err := decodeMessage(body, raw)
		if err != nil {
			return fmt.Errorf("decode message %d: %w", job.Args.MessageID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE chatter_messages SET state = 'delivering', attempts = ?,
			next_at = NULL, updated_at = ? WHERE id = ?`, base+job.Attempt, now, job.Args.MessageID); err != nil {
			return err
		}
		j = &chatter.Job{
			ID: job.ID, Message: m, Attempt: base + job.Attempt, MaxAttempts: base + maxAttempts, Priority: priority,
			LastError: lastErr, LastClass: chatter.ErrorClass(class),
		}
		lastAttempt = job.Attempt >= maxAttempts
		return nil
	})
	if err != nil {
		// Returned as is: when the client is stopping, a context error
		// lets River put the job back without using an attempt.
		return nil, false, err
	}
	return j, lastAttempt, nil
}

// run calls fn, turning a panic into a retry with ClassInternal.
func (w *deliveryWorker) run(ctx context.Context, j *chatter.Job) (o chatter.Outcome) {
	defer func() {
		if r := recover(); r != nil {
			w.log.ErrorContext(ctx, "sqlitestore: delivery panicked", slog.Int64("job_id", j.ID),
				slog.String("message_key", j.Message.Key.String()), slog.Any("panic", r))
			backoff := min(time.Duration(j.Attempt*j.Attempt)*100*time.Millisecond, time.Minute)
			o = chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassInternal,
				Err: fmt.Sprintf("delivery panicked: %v", r), Delay: backoff}
		}
	}()
	return w.fn(ctx, j)
}

// apply records o on the ledger and tells River what to do with the job.
func (w *deliveryWorker) apply(ctx context.Context, job *river.Job[deliveryArgs], j *chatter.Job, o chatter.Outcome, lastAttempt bool) error {
	s := w.s
	id, round := job.Args.MessageID, job.Args.Round
	delay := max(o.Delay, 0)
	now := s.now()
	logAttrs := []any{slog.Int64("job_id", job.ID), slog.String("workspace", j.Message.Workspace),
		slog.String("message_key", j.Message.Key.String()), slog.Int("attempt", j.Attempt)}

	switch o.Kind {
	case chatter.OutcomeDelivered:
		var result any
		if o.Result != nil {
			b, err := json.Marshal(o.Result)
			if err != nil {
				return fmt.Errorf("sqlitestore: encode result: %w", err)
			}
			result = string(b)
		}
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE chatter_messages SET state = 'delivered', result = ?,
				delivered_at = ?, updated_at = ?, next_at = NULL, error_class = '', last_error = ''
				WHERE id = ? AND round = ?`, result, nanos(now), nanos(now), id, round); err != nil {
				return err
			}
			_, err := river.JobCompleteTx[*riversqlite.Driver](ctx, tx, job)
			return err
		})
		if err != nil {
			// Nothing was recorded: River retries, and the sink sees an
			// ambiguous attempt and looks for what this one created.
			w.log.ErrorContext(ctx, "sqlitestore: record delivery", append(logAttrs, slog.String("error", err.Error()))...)
			return fmt.Errorf("sqlitestore: record delivery: %w", err)
		}
		w.log.DebugContext(ctx, "sqlitestore: delivered", logAttrs...)
		return nil

	case chatter.OutcomeSnooze:
		// River's snooze gives the attempt back, and so does the ledger.
		if err := w.update(ctx, id, round, chatter.StateQueued, j.Attempt-1, o.Class, o.Err, now.Add(delay)); err != nil {
			return err
		}
		w.log.DebugContext(ctx, "sqlitestore: delivery snoozed", append(logAttrs, slog.Duration("delay", delay))...)
		return river.JobSnooze(delay)

	case chatter.OutcomeDead:
		if err := w.update(ctx, id, round, chatter.StateDead, j.Attempt, o.Class, o.Err, time.Time{}); err != nil {
			return err
		}
		w.log.WarnContext(ctx, "sqlitestore: delivery dead", append(logAttrs, slog.String("error_class", string(o.Class)))...)
		return river.JobCancel(&attemptError{class: o.Class, msg: o.Err})

	default: // OutcomeRetry, and any unknown kind
		class, msg := o.Class, o.Err
		if o.Kind != chatter.OutcomeRetry {
			class, msg = chatter.ClassInternal, fmt.Sprintf("unknown outcome kind %d: %s", o.Kind, o.Err)
		}
		if lastAttempt {
			if err := w.update(ctx, id, round, chatter.StateDead, j.Attempt, class, msg, time.Time{}); err != nil {
				return err
			}
			w.log.WarnContext(ctx, "sqlitestore: delivery dead after its last attempt",
				append(logAttrs, slog.String("error_class", string(class)))...)
			return river.JobCancel(&attemptError{class: class, msg: msg})
		}
		if err := w.update(ctx, id, round, chatter.StateFailed, j.Attempt, class, msg, now.Add(delay)); err != nil {
			return err
		}
		w.delays.Store(job.ID, delay)
		w.log.InfoContext(ctx, "sqlitestore: delivery failed; will retry",
			append(logAttrs, slog.String("error_class", string(class)), slog.Duration("delay", delay))...)
		return &attemptError{class: class, msg: msg}
	}
}

// update writes a ledger state after an attempt.
func (w *deliveryWorker) update(ctx context.Context, id, round int64, st chatter.State, attempts int, class chatter.ErrorClass, msg string, next time.Time) error {
	_, err := w.s.db.ExecContext(ctx, `UPDATE chatter_messages SET state = ?, attempts = ?, error_class = ?, last_error = ?,
		next_at = ?, updated_at = ? WHERE id = ? AND round = ?`,
		string(st), max(attempts, 0), string(class), msg, nullNanos(next), nanos(w.s.now()), id, round)
	if err != nil {
		w.log.ErrorContext(ctx, "sqlitestore: record outcome", slog.Int64("message_id", id), slog.String("error", err.Error()))
		return fmt.Errorf("sqlitestore: record outcome: %w", err)
	}
	return nil
}
