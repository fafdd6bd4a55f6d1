package pgstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/chatterhq/sdk/chatter"
)

// Queue defaults, as documented on chatter.QueueConfig.
const (
	defaultWorkers    = 4
	defaultJobTimeout = 2 * time.Minute
	// rescueFactor × JobTimeout is River's RescueStuckJobsAfter: a job left
	// running by a crashed process runs again after that long.
	rescueFactor = 3
	// panicRetryDelay is the delay before a job whose WorkFunc panicked runs again.
	panicRetryDelay = time.Second
	// applyTimeout bounds the ledger writes after an attempt; they run even
	// when the attempt's context has ended, so a success is never redone.
	applyTimeout = 30 * time.Second
)

// errStaleJob cancels a job of an earlier delivery round, or of a message
// that is no longer waiting for delivery.
var errStaleJob = errors.New("pgstore: stale delivery job")

// Work implements chatter.Queue with a River client (riverpgxv5) on the
// store's pool, serving QueueName with cfg.Workers workers. Several Stores
// (processes) may run Work on one database: River locks each job for one
// worker (FOR UPDATE SKIP LOCKED), so a message is never delivered by two
// workers at once. Priorities 0..3 map to River priorities 1..4.
//
// Before each attempt the ledger shows StateDelivering. The Outcome is applied
// as follows: Delivered — the ledger update and river.JobCompleteTx commit in
// one transaction; Retry — the failure is recorded and River retries after
// Outcome.Delay (its attempt counter is the one reported in Job.Attempt), or
// the delivery goes dead when the attempts are used up; Snooze — the reason is
// recorded and River snoozes the job (no attempt used); Dead — the ledger
// says dead and the job is cancelled. A job left running by a crashed process
// is rescued by River after rescueFactor × JobTimeout and runs again with a
// higher Attempt.
//
// When ctx ends, Work stops fetching, cancels the running attempts' contexts,
// applies the Outcomes they return, and then returns nil.
func (s *Store) Work(ctx context.Context, cfg chatter.QueueConfig, fn chatter.WorkFunc) error {
	if fn == nil {
		return fmt.Errorf("pgstore: work: %w", invalid("fn", "не задан обработчик заданий", "work func is nil"))
	}
	if cfg.Workers < 0 {
		return fmt.Errorf("pgstore: work: %w", invalid("workers", "отрицательное число обработчиков", "workers is negative"))
	}
	if cfg.JobTimeout < 0 {
		return fmt.Errorf("pgstore: work: %w", invalid("job_timeout", "отрицательный тайм-аут задания", "job timeout is negative"))
	}
	workers := cmp.Or(cfg.Workers, defaultWorkers)
	timeout := cmp.Or(cfg.JobTimeout, defaultJobTimeout)
	log := cfg.Logger
	if log == nil {
		log = s.log
	}
	w := &deliverWorker{s: s, fn: fn, log: log}
	ws := river.NewWorkers()
	if err := river.AddWorkerSafely(ws, w); err != nil {
		return fmt.Errorf("pgstore: work: %w", err)
	}
	client, err := river.NewClient(riverpgxv5.New(s.pool), &river.Config{
		Schema:               s.schema,
		Logger:               log,
		Workers:              ws,
		Queues:               map[string]river.QueueConfig{QueueName: {MaxWorkers: workers}},
		JobTimeout:           timeout,
		RescueStuckJobsAfter: rescueFactor * timeout,
	})
	if err != nil {
		return fmt.Errorf("pgstore: work: river client: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// River runs until Stop; ctx only tells us when to stop, gracefully.
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("pgstore: work: start: %w", err)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "pgstore: queue started", slog.Int("workers", workers), slog.Duration("job_timeout", timeout))
	<-ctx.Done()
	// As with chatter.Queue: the end of ctx ends the running attempts' contexts;
	// their Outcomes are still applied (apply does not use the job's context),
	// so a delivery that succeeded during shutdown is recorded, not redone.
	if err := client.StopAndCancel(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("pgstore: work: stop: %w", err)
	}
	log.LogAttrs(context.WithoutCancel(ctx), slog.LevelInfo, "pgstore: queue stopped")
	return nil
}

// deliverWorker is the River worker of delivery jobs.
type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	s   *Store
	fn  chatter.WorkFunc
	log *slog.Logger
	// delays holds Outcome.Delay of a retried job until River asks NextRetry
	// (same process, same client: River calls it right after Work returns).
	delays sync.Map // job id → time.Duration
}

// NextRetry implements river.Worker: the delay the WorkFunc asked for, or
// River's default policy when there is none (a store error, a timeout).
func (w *deliverWorker) NextRetry(job *river.Job[deliverArgs]) time.Time {
	if d, ok := w.delays.LoadAndDelete(job.ID); ok {
		return time.Now().Add(d.(time.Duration))
	}
	return time.Time{}
}

const claimSQL = `UPDATE {schema}chatter_messages
SET state = 'delivering', updated_at = $4, next_at = NULL
WHERE id = $1 AND workspace = $2 AND round = $3 AND state IN ('queued', 'failed', 'delivering')
RETURNING body, raw, max_attempts, priority, attempts, error_class, last_error`

// Work implements river.Worker.
func (w *deliverWorker) Work(ctx context.Context, rj *river.Job[deliverArgs]) error {
	a := rj.Args
	s := w.s
	var (
		body, raw        []byte
		roundMax, prio   int
		attempts         int
		lastClass, lastE string
	)
	err := s.pool.QueryRow(ctx, s.q(claimSQL), a.MessageID, a.Workspace, a.Round, s.stamp()).
		Scan(&body, &raw, &roundMax, &prio, &attempts, &lastClass, &lastE)
	if errors.Is(err, pgx.ErrNoRows) {
		w.log.LogAttrs(ctx, slog.LevelDebug, "pgstore: stale delivery job cancelled",
			slog.Int64("job_id", rj.ID), slog.Int64("message_row", a.MessageID), slog.Int("round", a.Round))
		return river.JobCancel(errStaleJob)
	}
	if err != nil {
		return fmt.Errorf("pgstore: claim delivery: %w", err)
	}
	m, err := decodeMessage(body, raw)
	if err != nil {
		err = fmt.Errorf("pgstore: decode message row %d: %w", a.MessageID, err)
		actx, cancel := applyCtx(ctx)
		defer cancel()
		return w.apply(actx, rj, a.Base+rj.Attempt, true, chatter.Outcome{Kind: chatter.OutcomeDead, Class: chatter.ClassInternal, Err: err.Error()})
	}
	attempt := a.Base + rj.Attempt
	if rj.Attempt > roundMax {
		// The last attempt of the round was interrupted (a crash or a
		// store failure); River has given us the spare attempt. No more tries.
		actx, cancel := applyCtx(ctx)
		defer cancel()
		return w.apply(actx, rj, attempt-1, true, chatter.Outcome{
			Kind:  chatter.OutcomeDead,
			Class: cmp.Or(chatter.ErrorClass(lastClass), chatter.ClassInternal),
			Err:   cmp.Or(lastE, "the last attempt was interrupted"),
		})
	}
	job := &chatter.Job{
		ID:          rj.ID,
		Message:     m,
		Attempt:     attempt,
		MaxAttempts: a.Base + roundMax,
		Priority:    prio,
		LastError:   lastE,
		LastClass:   chatter.ErrorClass(lastClass),
	}
	out := w.run(ctx, job)
	actx, cancel := applyCtx(ctx)
	defer cancel()
	return w.apply(actx, rj, attempt, rj.Attempt >= roundMax, out)
}

func applyCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), applyTimeout)
}

// run calls the WorkFunc, turning a panic into a retry.
func (w *deliverWorker) run(ctx context.Context, job *chatter.Job) (out chatter.Outcome) {
	defer func() {
		if r := recover(); r != nil {
			w.log.LogAttrs(ctx, slog.LevelError, "pgstore: work func panicked",
				slog.Int64("job_id", job.ID), slog.String("message_key", job.Message.Key.String()),
				slog.Int("attempt", job.Attempt), slog.String("panic", fmt.Sprint(r)))
			out = chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassInternal,
				Err: fmt.Sprintf("panic: %v", r), Delay: panicRetryDelay}
		}
	}()
	return w.fn(ctx, job)
}

// apply records outcome o of attempt (counted across rounds) on the ledger and
// returns what River must do with the job. last says that the round has no
// attempt left after this one, so a retry goes dead instead.
func (w *deliverWorker) apply(ctx context.Context, rj *river.Job[deliverArgs], attempt int, last bool, o chatter.Outcome) error {
	s := w.s
	a := rj.Args
	now := s.stamp()
	delay := max(o.Delay, 0)
	key := []any{a.MessageID, a.Workspace, a.Round}
	switch o.Kind {
	case chatter.OutcomeDelivered:
		var result []byte
		if o.Result != nil {
			var err error
			if result, err = json.Marshal(o.Result); err != nil {
				return fmt.Errorf("pgstore: encode delivery result: %w", err)
			}
		}
		return s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, s.q(`UPDATE {schema}chatter_messages
				SET state = 'delivered', attempts = $4, result = $5, delivered_at = $6, updated_at = $6,
					error_class = '', last_error = '', next_at = NULL
				WHERE id = $1 AND workspace = $2 AND round = $3`), append(key, attempt, result, now)...); err != nil {
				return fmt.Errorf("pgstore: record delivery: %w", err)
			}
			if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, rj); err != nil {
				return fmt.Errorf("pgstore: complete job: %w", err)
			}
			return nil
		})
	case chatter.OutcomeSnooze:
		next := now.Add(delay)
		if _, err := s.pool.Exec(ctx, s.q(`UPDATE {schema}chatter_messages
			SET state = 'queued', error_class = $4, last_error = $5, next_at = $6, updated_at = $7
			WHERE id = $1 AND workspace = $2 AND round = $3`), append(key, string(o.Class), o.Err, next, now)...); err != nil {
			return fmt.Errorf("pgstore: record snooze: %w", err)
		}
		return river.JobSnooze(delay)
	case chatter.OutcomeDead:
		return w.dead(ctx, rj, attempt, cmp.Or(o.Class, chatter.ClassPermanent), o.Err, now)
	}
	class, msg := cmp.Or(o.Class, chatter.ClassTransient), o.Err
	if o.Kind != chatter.OutcomeRetry {
		class, msg = chatter.ClassInternal, fmt.Sprintf("invalid outcome kind %d", o.Kind)
		w.log.LogAttrs(ctx, slog.LevelError, "pgstore: invalid outcome", slog.Int64("job_id", rj.ID), slog.Int("kind", int(o.Kind)))
	}
	if last {
		return w.dead(ctx, rj, attempt, class, msg, now)
	}
	next := now.Add(delay)
	if _, err := s.pool.Exec(ctx, s.q(`UPDATE {schema}chatter_messages
		SET state = 'failed', attempts = $4, error_class = $5, last_error = $6, next_at = $7, updated_at = $8
		WHERE id = $1 AND workspace = $2 AND round = $3`), append(key, attempt, string(class), msg, next, now)...); err != nil {
		return fmt.Errorf("pgstore: record failure: %w", err)
	}
	w.delays.Store(rj.ID, delay)
	return fmt.Errorf("delivery attempt %d failed (%s): %s", attempt, class, msg)
}

func (w *deliverWorker) dead(ctx context.Context, rj *river.Job[deliverArgs], attempt int, class chatter.ErrorClass, msg string, now time.Time) error {
	s := w.s
	a := rj.Args
	if _, err := s.pool.Exec(ctx, s.q(`UPDATE {schema}chatter_messages
		SET state = 'dead', attempts = $4, error_class = $5, last_error = $6, next_at = NULL, updated_at = $7
		WHERE id = $1 AND workspace = $2 AND round = $3`), a.MessageID, a.Workspace, a.Round, attempt, string(class), msg, now); err != nil {
		return fmt.Errorf("pgstore: record dead delivery: %w", err)
	}
	w.log.LogAttrs(ctx, slog.LevelWarn, "pgstore: delivery dead", slog.Int64("job_id", rj.ID),
		slog.String("workspace", a.Workspace), slog.Int("attempt", attempt), slog.String("error_class", string(class)))
	return river.JobCancel(fmt.Errorf("delivery dead (%s): %s", class, msg))
}

// Replay implements chatter.Queue. In one transaction it starts a new
// delivery round on the ledger (state queued) and inserts its River job.
// Job.Attempt keeps counting across rounds (so a sink still sees
// Delivery.Ambiguous after earlier failures) and Job.MaxAttempts grows by the
// MaxAttempts the message was accepted with. A job of the earlier round that
// is still scheduled (a failed message) cancels itself when it runs.
func (s *Store) Replay(ctx context.Context, workspace string, key chatter.Key) error {
	if err := needWorkspace(workspace); err != nil {
		return fmt.Errorf("pgstore: replay: %w", err)
	}
	if err := key.Validate(); err != nil {
		return fmt.Errorf("pgstore: replay: %w", err)
	}
	now := s.stamp()
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var (
			id                           int64
			state                        string
			round, attempts, prio, maxAt int
		)
		err := tx.QueryRow(ctx, s.q(`SELECT id, state, round, attempts, priority, max_attempts FROM {schema}chatter_messages
			WHERE workspace = $1 AND source = $2 AND account = $3 AND chat_id = $4 AND message_id = $5 AND revision = $6
			FOR UPDATE`), workspace, string(key.Source), key.Account, key.ChatID, key.MessageID, key.Revision).
			Scan(&id, &state, &round, &attempts, &prio, &maxAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("pgstore: replay %s: %w", key, chatter.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("pgstore: replay %s: %w", key, err)
		}
		if st := chatter.State(state); st != chatter.StateDead && st != chatter.StateFailed {
			return fmt.Errorf("pgstore: replay %s in state %s: %w", key, st, chatter.ErrConflict)
		}
		if _, err := tx.Exec(ctx, s.q(`UPDATE {schema}chatter_messages
			SET state = 'queued', round = round + 1, next_at = $2, updated_at = $2 WHERE id = $1`), id, now); err != nil {
			return fmt.Errorf("pgstore: replay %s: %w", key, err)
		}
		args := deliverArgs{MessageID: id, Workspace: workspace, Round: round + 1, Base: attempts}
		if _, err := s.river.InsertTx(ctx, tx, args, insertOpts(prio, maxAt)); err != nil {
			return fmt.Errorf("pgstore: replay %s: enqueue: %w", key, err)
		}
		return nil
	})
}
