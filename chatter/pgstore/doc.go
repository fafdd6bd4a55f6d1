// Package pgstore is a chatter.Store on PostgreSQL (pgx v5), for deployments
// with several instances sharing one database.
//
// It keeps messages and their delivery ledger, and a durable delivery queue
// built on River (riverqueue/river with riverpgxv5): SaveMessage writes the
// message row (INSERT … ON CONFLICT DO NOTHING RETURNING) and River's job in
// the same transaction, so a duplicate key enqueues nothing and an accepted
// message is never without its job. Work runs a River client whose worker
// (internal/deliveryqueue, shared with sqlitestore) marks the ledger
// delivering and counts the attempt, calls the WorkFunc and applies its
// Outcome; a successful delivery and River's job completion commit in one
// transaction, and a reconcile sweep marks dead the entries whose job River
// ended without Chatter. Priorities 0..3 map to River priorities 1..4.
//
// Concurrent SaveMessage calls share transactions (group commit, see
// GroupCommit; on by default): the first caller of a batch commits every
// waiting caller's message through SaveMessages' path, one transaction and
// one WAL flush per batch, without a background goroutine. Each caller gets
// its own result; an invalid message, or one the database rejects, fails only
// its own call.
//
// Across instances: leases carry fencing tokens drawn from a sequence and
// expire by the database clock; MTProto sessions are written only under the
// current lease (checked in the writing statement); the rate budget is one
// GCRA row per key, booked by one atomic UPDATE, so slots granted to all
// instances together are at least one interval apart. OAuth tokens and
// sessions are sealed with a chatter.Sealer, bound to their workspace and
// account. Every row carries its workspace and no query crosses workspaces
// (except PruneEvents, which is retention for all).
//
// Quick start:
//
//	cfg, err := pgxpool.ParseConfig("postgres://chatter@db/chatter")
//	if err != nil { ... }
//	cfg.MaxConns = 20                        // ≥ Workers + 4 per Work, plus producers (see New)
//	pool, err := pgxpool.NewWithConfig(ctx, cfg)
//	if err != nil { ... }
//	defer pool.Close()
//
//	sealer, err := chatter.NewSealer("k1", map[string][]byte{"k1": key32})
//	if err != nil { ... }
//	store, err := pgstore.New(pool, pgstore.Config{Sealer: sealer, Schema: "chatter", Logger: logger})
//	if err != nil { ... }
//	if err := store.Migrate(ctx); err != nil { ... } // pgstore's and River's migrations; safe to run from every instance
//
//	res, err := store.SaveMessage(ctx, msg, chatter.AcceptOptions{
//		Verdict: chatter.Verdict{Accept: true}, Priority: 1, MaxAttempts: 8,
//	})
//
//	go store.Work(ctx, chatter.QueueConfig{Workers: 8}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
//		res, err := sink.Deliver(ctx, &chatter.Delivery{Message: j.Message, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts})
//		if err != nil {
//			return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassOf(err), Err: err.Error(), Delay: time.Second}
//		}
//		return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: res}
//	})
//
// Normally the pipeline (chatter.Pipeline) makes these calls; the Store is
// handed to it.
//
// Search: LedgerQuery.Text matches a copy of each message text folded in Go
// by chatter.FoldText when the message is saved (so every store folds alike,
// whatever the database's locale), with strpos(): case is ignored in every
// alphabet and % and _ are literal. No index serves it (a trigram index
// would need the pg_trgm extension and slow every insert); the workspace's
// others bound the scan. LedgerQuery.NewLead reads a mark set when the
// delivery's outcome is recorded, indexed by workspace and ReceivedAt.
// EventQuery.Text matches the events' folded copies the same way, and
// EventQuery.Source reads an index by workspace, source and ID. Migrate
// fills the copies for rows saved before the columns existed, in batches
// shared by the instances migrating at once.
//
// Schema: Config.Schema names the PostgreSQL schema of pgstore's tables
// (chatter_*) and River's (river_*); Migrate creates it. Empty means the
// connection's search_path.
package pgstore
