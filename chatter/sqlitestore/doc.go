// Package sqlitestore is the embedded chatter.Store: one SQLite file
// (modernc.org/sqlite, no cgo) holding messages with their delivery ledger,
// contacts, sealed OAuth tokens and MTProto sessions, leases, checkpoints,
// the event log, settings and rate budgets, with the durable delivery queue
// on River (riverqueue/river with its riversqlite driver).
//
// Quick start:
//
//	sealer, err := chatter.NewSealer("k1", map[string][]byte{"k1": key32})
//	if err != nil { ... }
//	store, err := sqlitestore.Open(ctx, "chatter.db", sqlitestore.Config{Sealer: sealer})
//	if err != nil { ... }            // Open creates the file and migrates it
//	defer store.Close()
//	go store.Work(ctx, chatter.QueueConfig{Workers: 4}, deliver) // the workers
//	res, err := store.SaveMessage(ctx, msg, chatter.AcceptOptions{
//		Verdict: verdict, Priority: 1, MaxAttempts: 10})        // durable on return
//
// To open the database yourself, use the recommended settings and one
// connection, then New and Migrate:
//
//	db, err := sql.Open("sqlite", sqlitestore.DSN("chatter.db"))
//	// = "file:chatter.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)
//	//    &_pragma=synchronous(NORMAL)&_txlock=immediate"
//	db.SetMaxOpenConns(1)
//	store, err := sqlitestore.New(db, sqlitestore.Config{Sealer: sealer})
//	err = store.Migrate(ctx) // River's migrations, then Chatter's (embedded, versioned, idempotent)
//
// # Durability and delivery
//
// SaveMessage inserts the message (INSERT … ON CONFLICT DO NOTHING RETURNING)
// and, for an accepted message, its River job in the same transaction; a
// duplicate key enqueues nothing. Concurrent SaveMessage calls are merged into
// shared transactions (group commit, see GroupCommit) with one InsertManyTx;
// each caller returns after the commit with its own result, and an invalid
// message fails only its own call. SaveMessages writes a batch directly.
//
// Work runs a River client whose worker (internal/deliveryqueue, shared with
// pgstore) marks the ledger delivering and counts the attempt, calls the
// WorkFunc and applies its Outcome. A delivered outcome and River's
// JobCompleteTx commit in one transaction, so a crash never causes a second
// delivery of a recorded success; a crash mid-call is rescued by River after
// QueueTuning.RescueAfter and retried with a higher attempt, which a sink sees
// as ambiguous. Retries and snoozes wait Outcome.Delay as River snoozes (the
// ledger, not River, counts the attempts), dead deliveries are cancelled jobs,
// and Replay starts a new round with a new job. A reconcile sweep marks dead
// the entries whose job River ended without Chatter.
//
// One connection: while a transaction is open, the code inside it uses only
// that transaction (River's *Tx functions included); any other use of the
// *sql.DB would wait for the connection the transaction holds.
//
// # Search
//
// LedgerQuery.Text matches a copy of each message text folded in Go by
// chatter.FoldText when the message is saved (SQLite's lower() and LIKE fold
// ASCII only), with instr(): case is ignored in every alphabet and % and _
// are literal. No index serves it; the workspace's others bound the scan.
// LedgerQuery.NewLead reads a mark set when the delivery's outcome is
// recorded, indexed by workspace and ReceivedAt. EventQuery.Text matches
// the events' folded copies the same way, and EventQuery.Source reads an
// index by workspace, source and ID. Migrate fills the copies for rows
// saved before the columns existed (see Store.Migrate).
//
// # Order
//
// ListEntries orders by (received_at, id), id being the order rows were
// written in; the messages of one transaction (a SaveMessages batch, or
// the SaveMessage calls one group commit joins) share one ReceivedAt.
// Cursors are row-value bounds on that pair, so a page seeks into
// chatter_messages_received or, for one state, chatter_messages_state. A
// query with several States reads each state's range in order (at most
// Limit rows each) and merges them, so the oldest waiting message costs a
// few index reads however large the ledger (see BENCHMARKS.md).
//
// # Secrets and tenants
//
// Access and refresh tokens and session blobs are sealed with Config.Sealer,
// bound to their kind, workspace and account; they are never written in plain
// text, and the token and session methods return ErrNoSealer without a
// sealer. Every table has a workspace column leading its keys; no query reads
// or changes rows of another workspace (PruneEvents, retention, spans all of
// them by design).
//
// All methods are safe for concurrent use; several processes may share the
// file (River shares the jobs, leases fence the sessions, the GCRA row spaces
// the requests).
package sqlitestore
