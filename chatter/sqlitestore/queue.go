package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/internal/deliveryqueue"
)

// Work runs delivery jobs through fn until ctx ends, then cancels the
// contexts of running attempts, waits for them to return and record their
// outcomes (an outcome returned after the cancellation is still applied; the
// wait is bounded by JobTimeout + 30 s), and returns nil. It returns an error
// only for bad arguments, when the River client cannot be built or started.
//
// Each job is a River job in the queue "chatter_delivery" with priority
// Priority+1. The worker marks the ledger StateDelivering and counts the
// attempt (committed before fn runs, so an attempt cut short by a crash still
// counts), calls fn, and applies the Outcome:
//   - OutcomeDelivered: ledger delivered and River's JobCompleteTx in ONE
//     transaction, so a crash can never leave a delivered message queued;
//   - OutcomeRetry: ledger failed (attempts, class, error, next_at) and the
//     job snoozed until then; on the last attempt of the round the message
//     goes dead instead;
//   - OutcomeSnooze: ledger queued, the attempt given back, job snoozed;
//   - OutcomeDead: ledger dead, the job cancelled.
//
// Job.Attempt counts real attempts across Replay rounds, and Job.MaxAttempts
// grows by AcceptOptions.MaxAttempts with each Replay, so a replayed delivery
// is seen as ambiguous (Attempt > 1). A job interrupted by a crash is rescued
// by River after QueueTuning.RescueAfter and run again with a higher
// Job.Attempt; when the interrupted attempt was the round's last, the entry
// goes dead without another call. With cfg.Instance the wait is gone: the
// instance's fence is a file lock beside the database
// (<file>.instance-<id>.lock), so a restart of the instance, or any other
// instance's Work within QueueTuning.InstanceSweep, knows the crashed
// process is dead and runs its jobs again at once (and frees its leases).
// Work then also returns deliveryqueue's fence-lost error; a file lock is
// never lost.
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
// forever; Replay revives it. Several Work calls (also in other processes on
// the same file) share the jobs.
func (s *Store) Work(ctx context.Context, cfg chatter.QueueConfig, fn chatter.WorkFunc) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	return s.queue.Work(ctx, cfg, fn)
}

// Replay re-queues a dead or failed message for a fresh round of
// AcceptOptions.MaxAttempts attempts: in one transaction the ledger entry
// becomes queued in a new round and a new River job is inserted. Attempts
// keep counting (the sink must know earlier attempts may have reached the
// CRM). A job of the old round that runs later does nothing. It returns
// chatter.ErrNotFound for an unknown key and chatter.ErrConflict for a
// message in any other state.
func (s *Store) Replay(ctx context.Context, workspace string, key chatter.Key) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	return s.queue.Replay(ctx, workspace, key)
}

// ReplayDead replays (as Replay) every dead message matching q, 200 per
// transaction, and returns how many it replayed. q.States must be empty or
// [chatter.StateDead]; Limit, Before and WithMessage are ignored.
func (s *Store) ReplayDead(ctx context.Context, q chatter.LedgerQuery) (int, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	return s.queue.ReplayDead(ctx, q)
}

// Wake implements chatter.Queue: the workspace's deliveries snoozed with one
// of classes (queued, next attempt ahead) run now; their River jobs become
// available in the same transaction as the ledger's NextAt.
func (s *Store) Wake(ctx context.Context, workspace string, classes ...chatter.ErrorClass) (int, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
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
		return invalidf("end delivery job: state %q, want discarded or cancelled", state)
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var id, round int64
		err := tx.QueryRowContext(ctx, `SELECT id, round FROM chatter_messages WHERE `+keyWhere, keyArgs(workspace, key)...).Scan(&id, &round)
		if errors.Is(err, sql.ErrNoRows) {
			return chatter.ErrNotFound
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE river_job SET state = ?, finalized_at = datetime('now', 'subsec')
			WHERE kind IN (?, ?) AND json_extract(args, '$.message_id') = ? AND json_extract(args, '$.round') = ?
			  AND state IN ('available', 'pending', 'retryable', 'scheduled')`,
			state, deliveryqueue.DeliveryKinds[0], deliveryqueue.DeliveryKinds[1], id, round)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("no waiting job for round %d (running or finished): %w", round, chatter.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: end delivery job %s: %w", key, err)
	}
	return nil
}

// ledger is the store's deliveryqueue.Ledger.
type ledger struct{ s *Store }

var _ deliveryqueue.Ledger[*sql.Tx] = ledger{}

func (l ledger) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error { return l.s.inTx(ctx, fn) }

const rowCols = `id, workspace, state, round, priority, attempts, attempt_base, max_attempts, error_class, last_error,
	budget_start, body, raw`

func scanRow(row scanner) (*deliveryqueue.Row, error) {
	var (
		r            deliveryqueue.Row
		state, class string
		budget       int64
		body         string
	)
	err := row.Scan(&r.ID, &r.Workspace, &state, &r.Round, &r.Priority, &r.Attempts, &r.AttemptBase, &r.MaxAttempts,
		&class, &r.LastError, &budget, &body, &r.Raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.State, r.ErrorClass, r.Body = chatter.State(state), chatter.ErrorClass(class), []byte(body)
	r.BudgetStart = fromNanos(budget)
	return &r, nil
}

func (l ledger) Load(ctx context.Context, tx *sql.Tx, id int64) (*deliveryqueue.Row, error) {
	return scanRow(tx.QueryRowContext(ctx, `SELECT `+rowCols+` FROM chatter_messages WHERE id = ?`, id))
}

func (l ledger) LoadKey(ctx context.Context, tx *sql.Tx, workspace string, key chatter.Key) (*deliveryqueue.Row, error) {
	return scanRow(tx.QueryRowContext(ctx, `SELECT `+rowCols+` FROM chatter_messages WHERE `+keyWhere, keyArgs(workspace, key)...))
}

func (l ledger) Update(ctx context.Context, tx *sql.Tx, id, round int64, u deliveryqueue.Update) (bool, error) {
	var result any
	if u.Result != nil {
		b, err := json.Marshal(u.Result)
		if err != nil {
			return false, fmt.Errorf("encode result: %w", err)
		}
		result = string(b)
	}
	res, err := tx.ExecContext(ctx, `UPDATE chatter_messages SET state = ?, attempts = ?, error_class = ?, last_error = ?,
		next_at = ?, result = ?, delivered_at = ?, updated_at = ?, budget_start = budget_start + ?, new_lead = ?
		WHERE id = ? AND round = ?`,
		string(u.State), max(u.Attempts, 0), string(u.ErrorClass), u.LastError, nullNanos(u.NextAt), result,
		nullNanos(u.Delivered), nanos(u.Now), int64(max(u.PauseBudget, 0)), newLead(u.State, u.Result), id, round)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// newLead is the new_lead column for a row in state with result: 1 or 0 once
// delivered (chatter.DeliveryResult.NewLead), NULL before.
func newLead(state chatter.State, r *chatter.DeliveryResult) any {
	switch {
	case state != chatter.StateDelivered:
		return nil
	case r.NewLead():
		return 1
	}
	return 0
}

func (l ledger) StartRound(ctx context.Context, tx *sql.Tx, id, round int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE chatter_messages SET state = 'queued', attempt_base = attempts, round = ?,
		next_at = ?, updated_at = ?, budget_start = ? WHERE id = ?`, round, nanos(now), nanos(now), nanos(now), id)
	return err
}

func (l ledger) DeadBatch(ctx context.Context, tx *sql.Tx, q chatter.LedgerQuery, afterID int64, limit int) ([]*deliveryqueue.Row, error) {
	q.States = []chatter.State{chatter.StateDead}
	where, args, err := ledgerWhere(q)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+rowCols+` FROM chatter_messages WHERE `+where+` AND id > ? ORDER BY id LIMIT ?`,
		append(args, afterID, limit)...)
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
	if err := l.s.checkOpen(); err != nil {
		return 0, err
	}
	res, err := l.s.db.ExecContext(ctx, `UPDATE chatter_messages
		SET state = 'dead', error_class = ?, last_error = ?, next_at = NULL, updated_at = ?
		FROM (SELECT json_extract(args, '$.message_id') AS mid, json_extract(args, '$.round') AS rnd
		      FROM river_job WHERE kind IN (?, ?) AND state IN ('discarded', 'cancelled')) AS j
		WHERE chatter_messages.id = j.mid AND chatter_messages.round = j.rnd
		  AND chatter_messages.state IN ('queued', 'delivering', 'failed')`,
		string(chatter.ClassInternal), reason, nanos(now), deliveryqueue.DeliveryKinds[0], deliveryqueue.DeliveryKinds[1])
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (l ledger) Wake(ctx context.Context, workspace string, classes []chatter.ErrorClass, now time.Time) (int64, error) {
	if err := l.s.checkOpen(); err != nil {
		return 0, err
	}
	in := strings.TrimSuffix(strings.Repeat("?, ", len(classes)), ", ")
	args := []any{workspace}
	for _, c := range classes {
		args = append(args, string(c))
	}
	// The jobs decide, not the rows' NextAt: a snooze the ledger has
	// recorded but River has not applied yet (its job still running) is
	// not woken, and a later Wake finds it.
	cond := `m.workspace = ? AND m.state = 'queued' AND m.error_class IN (` + in + `)`
	var n int64
	err := l.s.inTx(ctx, func(tx *sql.Tx) error {
		// River's own clock and format for scheduled_at (as its JobRetry).
		rows, err := tx.QueryContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = datetime('now', 'subsec')
			WHERE kind IN (?, ?) AND state = 'scheduled' AND EXISTS (SELECT 1 FROM chatter_messages AS m
			  WHERE `+cond+` AND m.id = json_extract(river_job.args, '$.message_id')
			    AND m.round = json_extract(river_job.args, '$.round'))
			RETURNING json_extract(args, '$.message_id')`,
			append([]any{deliveryqueue.DeliveryKinds[0], deliveryqueue.DeliveryKinds[1]}, args...)...)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE chatter_messages SET next_at = ?, updated_at = ? WHERE id = ?`,
				nanos(now), nanos(now), id); err != nil {
				return err
			}
		}
		n = int64(len(ids))
		return nil
	})
	return n, err
}

// RaiseAlert implements deliveryqueue.AlertLedger. The transaction is the
// only writer (BEGIN IMMEDIATE), so reading then writing is safe.
func (l ledger) RaiseAlert(ctx context.Context, tx *sql.Tx, workspace, key string, now time.Time, quiet time.Duration) (bool, error) {
	var notified int64
	var resolved sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT notified_at, resolved_at FROM chatter_alerts WHERE workspace = ? AND key = ?`,
		workspace, key).Scan(&notified, &resolved)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err := tx.ExecContext(ctx, `INSERT INTO chatter_alerts (workspace, key, opened_at, notified_at) VALUES (?, ?, ?, ?)`,
			workspace, key, nanos(now), nanos(now))
		return err == nil, err
	case err != nil:
		return false, err
	case !resolved.Valid:
		return false, nil // the episode is open
	}
	due := now.Sub(fromNanos(notified)) >= quiet
	if due {
		notified = nanos(now)
	}
	_, err = tx.ExecContext(ctx, `UPDATE chatter_alerts SET opened_at = ?, notified_at = ?, resolved_at = NULL
		WHERE workspace = ? AND key = ?`, nanos(now), notified, workspace, key)
	return due && err == nil, err
}

// ResolveAlerts implements deliveryqueue.AlertLedger.
func (l ledger) ResolveAlerts(ctx context.Context, tx *sql.Tx, workspace string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE chatter_alerts SET resolved_at = ? WHERE workspace = ? AND resolved_at IS NULL`,
		nanos(now), workspace)
	return err
}
