package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/internal/deliveryqueue"
)

// QueueTuning tunes the River client that Work runs. Zero fields take the
// defaults documented on each.
type QueueTuning struct {
	// RescueAfter is how long a job may stay running before River treats
	// it as stuck (its process died) and runs it again. Defaults to
	// 3 × QueueConfig.JobTimeout, at least 30 s (River's own default is an
	// hour); never less than JobTimeout, nor than QueueConfig.NotifyTimeout
	// + 5 s when Work sends notifications.
	RescueAfter time.Duration
	// FetchPollInterval is how often River polls for new jobs when it
	// missed a notification. Defaults to River's (1 s).
	FetchPollInterval time.Duration
	// FetchCooldown is the shortest time between two fetches. Defaults to
	// River's (100 ms).
	FetchCooldown time.Duration
	// CompletedJobRetention is how long River keeps completed jobs.
	// Defaults to River's (24 h). The ledger keeps the outcome anyway.
	CompletedJobRetention time.Duration
	// ReconcileInterval is how often Work looks for ledger entries whose
	// River job ended outside Chatter (discarded by the rescuer, cancelled
	// by an operator) and marks them dead. Defaults to 1 minute.
	ReconcileInterval time.Duration
	// InstanceSweep is how often Work looks for running jobs of instances
	// whose process died (chatter.QueueConfig.Instance) and runs them
	// again. Defaults to 2 s.
	InstanceSweep time.Duration
}

// Work implements chatter.Queue with a River client (riverpgxv5) on the
// store's pool, serving QueueName with cfg.Workers workers. Several Stores
// (processes) may run Work on one database: River locks each job for one
// worker (FOR UPDATE SKIP LOCKED), so a message is never delivered by two
// workers at once. Priorities 0..3 map to River priorities 1..4.
//
// Before each attempt the ledger shows StateDelivering with the attempt
// counted (committed before fn runs, so an attempt cut short by a crash still
// counts). The Outcome is applied as follows: Delivered — the ledger update
// and river.JobCompleteTx commit in one transaction; Retry — the failure is
// recorded and the job snoozed for Outcome.Delay, or the delivery goes dead
// when the round's attempts are used up; Snooze — the reason is recorded, the
// attempt given back and the job snoozed; Dead — the ledger says dead and the
// job is cancelled. A job left running by a crashed process is rescued by
// River after QueueTuning.RescueAfter and runs again with a higher Attempt
// (or goes dead when the interrupted attempt was the round's last). With
// cfg.Instance the wait is gone: the instance's fence is a session-level
// advisory lock on a connection of its own, which PostgreSQL drops when the
// process dies, so a restart of the instance, or any other instance's Work
// within QueueTuning.InstanceSweep, runs the dead process's jobs again at
// once (and frees its leases). If that session breaks while the process
// lives, Work stops its jobs and returns an error (another process may now
// take them): run it again.
//
// An outcome's notifications (Outcome.Notifications, opened Alerts) are
// River jobs in the queue "chatter_notify" committed in the outcome's
// transaction; with cfg.Notifier, Work also runs their workers
// (cfg.NotifyWorkers, each call bounded by cfg.NotifyTimeout, retried with
// backoff), so a slow notifier never holds up a delivery.
//
// Work also runs the reconcile sweep (at start and every
// QueueTuning.ReconcileInterval): an entry whose current job River finished
// without Chatter (discarded by the rescuer, cancelled by an operator) is
// marked dead with class internal, so nothing stays queued or delivering
// forever; Replay revives it.
//
// When ctx ends, Work stops fetching, cancels the running attempts' contexts,
// applies the Outcomes they return (waiting at most JobTimeout + 30 s), and
// then returns nil.
func (s *Store) Work(ctx context.Context, cfg chatter.QueueConfig, fn chatter.WorkFunc) error {
	return s.queue.Work(ctx, cfg, fn)
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
	return s.queue.Replay(ctx, workspace, key)
}

// ReplayDead implements chatter.Queue: every dead message matching q is
// replayed (as Replay), 200 per transaction; it returns how many. q.States
// must be empty or [chatter.StateDead]; Limit, Before and WithMessage are
// ignored.
func (s *Store) ReplayDead(ctx context.Context, q chatter.LedgerQuery) (int, error) {
	return s.queue.ReplayDead(ctx, q)
}

// Wake implements chatter.Queue: the workspace's deliveries snoozed with one
// of classes (queued, next attempt ahead) run now; their River jobs become
// available in the same transaction as the ledger's NextAt.
func (s *Store) Wake(ctx context.Context, workspace string, classes ...chatter.ErrorClass) (int, error) {
	if err := needWorkspace(workspace); err != nil {
		return 0, fmt.Errorf("pgstore: wake: %w", err)
	}
	return s.queue.Wake(ctx, workspace, classes...)
}

// EndDeliveryJobForTest is for tests (chattertest.TestStore's reconcile
// cases): it ends the River job of key's current delivery round as River
// would without Chatter, with state "discarded" (the rescuer gave up on it)
// or "cancelled" (an operator cancelled it), and leaves the ledger as it is.
// A job that is running or finished is refused with chatter.ErrConflict.
func (s *Store) EndDeliveryJobForTest(ctx context.Context, workspace string, key chatter.Key, state string) error {
	if state != "discarded" && state != "cancelled" {
		return fmt.Errorf("pgstore: end delivery job: %w", invalid("state", "состояние должно быть discarded или cancelled",
			"state must be discarded or cancelled, not "+state))
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var id, round int64
		err := tx.QueryRow(ctx, s.q(`SELECT id, round FROM {schema}chatter_messages
			WHERE workspace = $1 AND source = $2 AND account = $3 AND chat_id = $4 AND message_id = $5 AND revision = $6`),
			keyArgs(workspace, key)...).Scan(&id, &round)
		if errors.Is(err, pgx.ErrNoRows) {
			return chatter.ErrNotFound
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, s.q(`UPDATE {schema}river_job SET state = $1, finalized_at = now()
			WHERE kind = ANY($2) AND (args->>'message_id')::bigint = $3 AND (args->>'round')::bigint = $4
			  AND state IN ('available', 'pending', 'retryable', 'scheduled')`), state, deliveryqueue.DeliveryKinds, id, round)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("no waiting job for round %d (running or finished): %w", round, chatter.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: end delivery job %s: %w", key, err)
	}
	return nil
}

func keyArgs(workspace string, k chatter.Key) []any {
	return []any{workspace, string(k.Source), k.Account, k.ChatID, k.MessageID, k.Revision}
}

// ledger is the store's deliveryqueue.Ledger.
type ledger struct{ s *Store }

var _ deliveryqueue.Ledger[pgx.Tx] = ledger{}

func (l ledger) InTx(ctx context.Context, fn func(tx pgx.Tx) error) error { return l.s.inTx(ctx, fn) }

const rowCols = `id, workspace, state, round, priority, attempts, attempt_base, max_attempts, error_class, last_error,
	budget_start, body, raw`

func scanRow(row pgx.Row) (*deliveryqueue.Row, error) {
	var (
		r            deliveryqueue.Row
		state, class string
	)
	err := row.Scan(&r.ID, &r.Workspace, &state, &r.Round, &r.Priority, &r.Attempts, &r.AttemptBase, &r.MaxAttempts,
		&class, &r.LastError, &r.BudgetStart, &r.Body, &r.Raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.State, r.ErrorClass, r.BudgetStart = chatter.State(state), chatter.ErrorClass(class), r.BudgetStart.UTC()
	return &r, nil
}

func (l ledger) Load(ctx context.Context, tx pgx.Tx, id int64) (*deliveryqueue.Row, error) {
	return scanRow(tx.QueryRow(ctx, l.s.q(`SELECT `+rowCols+` FROM {schema}chatter_messages WHERE id = $1 FOR UPDATE`), id))
}

func (l ledger) LoadKey(ctx context.Context, tx pgx.Tx, workspace string, key chatter.Key) (*deliveryqueue.Row, error) {
	return scanRow(tx.QueryRow(ctx, l.s.q(`SELECT `+rowCols+` FROM {schema}chatter_messages
		WHERE workspace = $1 AND source = $2 AND account = $3 AND chat_id = $4 AND message_id = $5 AND revision = $6
		FOR UPDATE`), keyArgs(workspace, key)...))
}

func (l ledger) Update(ctx context.Context, tx pgx.Tx, id, round int64, u deliveryqueue.Update) (bool, error) {
	var result []byte
	if u.Result != nil {
		var err error
		if result, err = json.Marshal(u.Result); err != nil {
			return false, fmt.Errorf("encode result: %w", err)
		}
	}
	tag, err := tx.Exec(ctx, l.s.q(`UPDATE {schema}chatter_messages
		SET state = $3, attempts = $4, error_class = $5, last_error = $6, next_at = $7, result = $8,
			delivered_at = $9, updated_at = $10, budget_start = budget_start + $11 * interval '1 microsecond', new_lead = $12
		WHERE id = $1 AND round = $2`),
		id, round, string(u.State), max(u.Attempts, 0), string(u.ErrorClass), u.LastError, nullTime(u.NextAt), result,
		nullTime(u.Delivered), u.Now.UTC().Truncate(time.Microsecond), micros(max(u.PauseBudget, 0)), newLead(u.State, u.Result))
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}

// newLead is the new_lead column for a row in state with result: true or
// false once delivered (chatter.DeliveryResult.NewLead), NULL before.
func newLead(state chatter.State, r *chatter.DeliveryResult) *bool {
	if state != chatter.StateDelivered {
		return nil
	}
	v := r.NewLead()
	return &v
}

func (l ledger) StartRound(ctx context.Context, tx pgx.Tx, id, round int64, now time.Time) error {
	now = now.UTC().Truncate(time.Microsecond)
	_, err := tx.Exec(ctx, l.s.q(`UPDATE {schema}chatter_messages
		SET state = 'queued', attempt_base = attempts, round = $2, next_at = $3, updated_at = $3, budget_start = $3
		WHERE id = $1`), id, round, now)
	return err
}

func (l ledger) DeadBatch(ctx context.Context, tx pgx.Tx, q chatter.LedgerQuery, afterID int64, limit int) ([]*deliveryqueue.Row, error) {
	q.States = []chatter.State{chatter.StateDead}
	q.Limit = 0
	if _, err := checkLedgerQuery(q); err != nil {
		return nil, err
	}
	cond, args := ledgerWhere(q)
	args = append(args, afterID, limit)
	rows, err := tx.Query(ctx, l.s.q(`SELECT `+rowCols+` FROM {schema}chatter_messages`+cond+
		fmt.Sprintf(` AND id > $%d ORDER BY id LIMIT $%d FOR UPDATE`, len(args)-1, len(args))), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*deliveryqueue.Row
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (l ledger) Reconcile(ctx context.Context, now time.Time, reason string) (int64, error) {
	tag, err := l.s.pool.Exec(ctx, l.s.q(`UPDATE {schema}chatter_messages AS m
		SET state = 'dead', error_class = $1, last_error = $2, next_at = NULL, updated_at = $3
		FROM {schema}river_job AS j
		WHERE j.kind = ANY($4) AND j.state IN ('discarded', 'cancelled')
		  AND m.id = (j.args->>'message_id')::bigint AND m.round = (j.args->>'round')::bigint
		  AND m.state IN ('queued', 'delivering', 'failed')`),
		string(chatter.ClassInternal), reason, now.UTC().Truncate(time.Microsecond), deliveryqueue.DeliveryKinds)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (l ledger) Wake(ctx context.Context, workspace string, classes []chatter.ErrorClass, now time.Time) (int64, error) {
	cs := make([]string, len(classes))
	for i, c := range classes {
		cs[i] = string(c)
	}
	now = now.UTC().Truncate(time.Microsecond)
	// The ledger rows first (locked, as every ledger write does before
	// the job), then their snoozed jobs, then the rows whose job woke. The
	// jobs decide, not the rows' NextAt: a snooze the ledger has recorded
	// but River has not applied yet (its job still running) is not woken,
	// and a later Wake finds it.
	var n int64
	err := l.s.pool.QueryRow(ctx, l.s.q(`WITH m AS (
			SELECT id, round FROM {schema}chatter_messages
			WHERE workspace = $1 AND state = 'queued' AND error_class = ANY($2)
			FOR UPDATE),
		j AS (
			UPDATE {schema}river_job AS j SET state = 'available', scheduled_at = now()
			FROM m WHERE j.kind = ANY($3) AND j.state = 'scheduled'
			  AND (j.args->>'message_id')::bigint = m.id AND (j.args->>'round')::bigint = m.round
			RETURNING m.id),
		w AS (
			UPDATE {schema}chatter_messages SET next_at = $4, updated_at = $4
			WHERE id IN (SELECT id FROM j))
		SELECT count(*) FROM j`), workspace, cs, deliveryqueue.DeliveryKinds, now).Scan(&n)
	return n, err
}

// RaiseAlert implements deliveryqueue.AlertLedger: the row is created, or
// locked, so concurrent outcomes of one workspace agree on one notification.
func (l ledger) RaiseAlert(ctx context.Context, tx pgx.Tx, workspace, key string, now time.Time, quiet time.Duration) (bool, error) {
	now = now.UTC().Truncate(time.Microsecond)
	tag, err := tx.Exec(ctx, l.s.q(`INSERT INTO {schema}chatter_alerts (workspace, key, opened_at, notified_at)
		VALUES ($1, $2, $3, $3) ON CONFLICT (workspace, key) DO NOTHING`), workspace, key, now)
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	var notified time.Time
	var resolved *time.Time
	if err := tx.QueryRow(ctx, l.s.q(`SELECT notified_at, resolved_at FROM {schema}chatter_alerts
		WHERE workspace = $1 AND key = $2 FOR UPDATE`), workspace, key).Scan(&notified, &resolved); err != nil {
		return false, err
	}
	if resolved == nil {
		return false, nil // the episode is open
	}
	due := now.Sub(notified) >= quiet
	if due {
		notified = now
	}
	_, err = tx.Exec(ctx, l.s.q(`UPDATE {schema}chatter_alerts SET opened_at = $3, notified_at = $4, resolved_at = NULL
		WHERE workspace = $1 AND key = $2`), workspace, key, now, notified)
	return due && err == nil, err
}

// ResolveAlerts implements deliveryqueue.AlertLedger.
func (l ledger) ResolveAlerts(ctx context.Context, tx pgx.Tx, workspace string, now time.Time) error {
	_, err := tx.Exec(ctx, l.s.q(`UPDATE {schema}chatter_alerts SET resolved_at = $2 WHERE workspace = $1 AND resolved_at IS NULL`),
		workspace, now.UTC().Truncate(time.Microsecond))
	return err
}
