// Package deliveryqueue is the durable delivery queue of the SQL stores,
// written once: the River worker that claims a message on the ledger, runs the
// chatter.WorkFunc and records its chatter.Outcome, the reconcile sweep that
// keeps the ledger true when River ends a job without Chatter, Replay, and
// the River wiring around them (job arguments, insert options, a bounded
// StopAndCancel).
//
// It is generic over River's transaction type: *sql.Tx for sqlitestore
// (riversqlite) and pgx.Tx for pgstore (riverpgxv5). The few statements that
// differ between the databases are behind the small Ledger interface each
// store implements; everything that decides what happens to a delivery is
// here, so both stores behave the same (chattertest.TestStore checks it, and
// the in-memory MemStore follows the same rules).
//
// # The ledger is the source of truth
//
// The ledger row counts the attempts: a claim marks the row delivering and
// adds one attempt in a committed transaction before the WorkFunc runs, so an
// attempt cut short by a crash is still counted and the next one is seen as
// ambiguous (Job.Attempt > 1). Retries and snoozes are River snoozes
// (river.JobSnooze), which use no River attempt; River's own attempt counter
// therefore only grows when a run ended without recording an outcome (a
// crash, a database error), and RiverMaxAttempts bounds how often that may
// happen to one job before River discards it and the reconcile sweep marks
// the entry dead.
//
// A delivered outcome is written with river.JobCompleteTx in the same
// transaction, so a recorded success is never delivered again.
//
// # Notifications
//
// The notifications an outcome calls for (chatter.Outcome.Notifications,
// and the Alerts whose episode opens, kept in the store's alert table) are
// River jobs in the queue "chatter_notify", inserted in the outcome's
// transaction and unique by their dedupe key. When Work has a Notifier, a
// second River queue with its own workers sends them, each call bounded by
// NotifyTimeout, retried with chatter.NotifyRetryDelay, and its job completed
// in the store right after the notifier returns (at least once: a crash in
// between repeats it with the same dedupe key).
//
// Quick start (inside a store):
//
//	q, err := deliveryqueue.New[*sql.Tx](riversqlite.New(db), ledger, deliveryqueue.Config{Name: "sqlitestore"})
//	// SaveMessage, in the transaction that inserts the rows:
//	err = q.Enqueue(ctx, tx, []deliveryqueue.NewDelivery{{MessageID: id, Workspace: ws, Priority: 1}})
//	// Store.Work and Store.Replay:
//	return q.Work(ctx, cfg, fn)
package deliveryqueue
