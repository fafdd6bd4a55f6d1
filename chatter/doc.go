// Package chatter is the domain of the Chatter SDK: the normalised Message,
// the contracts between sources, the pipeline, stores, sinks and notifiers,
// the delivery ledger, and diagnostics. It imports only the standard library.
//
// Data path: a Source (tgbot, tgparse, or your own) hands each Message to a
// Handler — normally a Pipeline. Pipeline.Accept validates the message, runs
// the Filter, and stores the message together with its delivery job in one
// transaction (Store.SaveMessage); only then does the source acknowledge it.
// Pipeline.Run drains the durable Queue through a Sink (for example
// amocrmsink), with priorities, retries with capped backoff within a time
// budget (PipelineConfig.MaxAge, 24 hours), snoozes that spend no budget for
// rate limits and for problems an operator must fix (auth, rights, blocks,
// notified once per episode), and a dead state with Replay and ReplayDead.
// Every step is visible on the ledger
// (MessageStore.ListEntries) and in the event log (EventStore).
//
// Quick start (with the in-memory store from chattertest):
//
//	store := chattertest.NewMemStore()
//	p, err := chatter.NewPipeline(chatter.PipelineConfig{Store: store, Sink: sink})
//	if err != nil { ... }
//	go p.Run(ctx)                     // workers
//	err = source.Run(ctx, p)          // the pipeline is a Handler
//
// Around the pipeline:
//
//   - Middleware: Chain(h, mw...) runs mw[0] outermost (see ExampleChain);
//     Recover turns panics into errors, Timeout bounds a Handle.
//   - Notifiers: Multi fans out, Router routes by NotificationType, Digest
//     folds bursts into one NotifyDigest; NewLeadNotification and its
//     siblings build the standard ru/en notifications.
//   - EventLog: an slog.Handler that also writes records, batched and
//     bounded, into an EventStore, with retention.
//   - RunChecks and Summary run diagnostics; HoldLease keeps a lease renewed
//     while a function runs; Sealer encrypts secrets at rest.
//
// Errors: sentinels (ErrNotFound, ErrConflict, ErrInvalid, …) are matched with
// errors.Is; delivery failures are classified with ClassOf, RetryAfter and
// IsPermanent, never by message text.
package chatter
