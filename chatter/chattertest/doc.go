// Package chattertest provides test doubles and conformance suites for the
// contracts of package chatter: an in-memory Store (MemStore), a recording
// Notifier and Sink, a scripted Source (FakeSource), a realistic message
// builder (NewMessage), and the suites every Store and Notifier
// implementation must pass (TestStore, TestNotifier).
//
// # Quick start: using the doubles
//
//	store := chattertest.NewMemStore()                     // a complete chatter.Store
//	sink := chattertest.NewRecordingSink()                 // a chatter.Sink that records
//	src := chattertest.NewFakeSource(
//		chattertest.NewMessage("ws", -1001234567890, 1, ""), // Russian text by default
//	)
//	sink.FailTimes("ws", key, 2, errors.New("amoCRM 502")) // program failures per key
//	...
//	sink.DeliveredCount("ws", key)                         // 1 proves exactly-once
//
// MemStore behaves like the SQL stores (it passes TestStore): a durable-looking
// queue with priorities, retries, snoozes, dead letters and Replay; leases
// with fencing tokens; compare-and-swap tokens and settings; a GCRA rate
// budget. WithClock injects time (lease expiry, retry delays, rate slots);
// WithSealer keeps tokens and sessions sealed as the SQL stores do at rest.
//
// # Quick start: running the store suite
//
// A store implementation runs the suite from its own tests, giving a
// constructor that returns a fresh, empty store on every call:
//
//	func TestStore(t *testing.T) {
//		chattertest.TestStore(t, func(t *testing.T) chatter.Store {
//			db := openFreshDatabase(t) // new file / schema, closed with t.Cleanup
//			s, err := sqlitestore.New(db, sqlitestore.Config{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			if err := s.Migrate(t.Context()); err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Then: go test -race ./chatter/sqlitestore/ (add -run 'TestStore/Queue/' to
// focus on one group). Subtests run in parallel, each with its own store, and
// use the real clock with short delays; no subtest asserts on elapsed time.
// StoreSubtests lists every subtest name.
//
// # What the suite pins down where chatter/store.go is silent
//
//   - Validation: SaveMessage/SaveMessages reject, wrapping chatter.ErrInvalid
//     and storing nothing, an invalid message (Message.Validate), a Priority
//     outside 0..3, a negative MaxAttempts (0 means no cap by count), and len(ms) !=
//     len(opts). Every write and every query requires a workspace
//     (ErrInvalid). A negative Limit is ErrInvalid; 0 means 100; more than
//     1000 is capped at 1000.
//   - Duplicates: a repeated key (also inside one batch, also concurrently)
//     is Duplicate with the stored entry's current State; exactly one of N
//     concurrent saves of a key is not a duplicate.
//   - Rejected: SaveRejected stores a valid message as StateRejected with
//     its Rejection (round-tripped exactly), ErrorClass invalid and LastError
//     the reason in English; it is listed and counted like any entry, never
//     handed to the WorkFunc, cannot be replayed, and keeps its key (a later
//     SaveMessage of it is Duplicate with state rejected; SaveRejected of a
//     stored key is Duplicate with that key's state). An invalid message or
//     a nil Rejection is ErrInvalid and stores nothing.
//   - Raw round-trips byte for byte (it is an audit copy: do not store it as
//     PostgreSQL jsonb); times compare with time.Time.Equal. Settings values
//     are compared as JSON (jsonb is fine there).
//   - Ledger: newest first by ReceivedAt, ties the last saved first (the
//     default is unchanged by the cursors); CountEntries ignores Limit, the
//     order and the cursors. A snoozed entry is queued with the snooze's class and reason and
//     no attempt used; a delivered entry has no ErrorClass or LastError.
//   - Text search (Ledger/Text): matching is chatter.FoldText containment
//     for every alphabet (Cyrillic, Greek and ASCII case; ё as е; a phrase
//     across a line break), % and _ and \ are literal, NUL and soft hyphens
//     are dropped, a pattern that folds to "" matches everything, entries
//     saved by SaveRejected are searchable, Text combines with every other
//     filter and Limit, never crosses workspaces, and Text that is not UTF-8
//     is ErrInvalid. ReplayDead honours Text.
//   - NewLead (Ledger/NewLead): delivered entries with a lead id that were
//     not threaded, adopted ones included; notes on an open lead and
//     deliveries without a lead are not counted, nor dead entries; hourly
//     From/To windows add up to the total.
//   - Order and paging (Ledger/OldestFirst, Ledger/CursorKey): Oldest lists
//     by ReceivedAt ascending, ties in save order (the messages of one
//     SaveMessages batch, which share one ReceivedAt, in input order), in
//     every combination with the filters (several States merge into one
//     order); Before and After are strict and bound either order; paging
//     with the last entry's ReceivedAt and Key as the cursor visits every
//     entry exactly once in both directions, pages ending inside a batch
//     included; CursorKey refines only the cursor of the listing's
//     direction, keeps the entries at the cursor's time that come after the
//     key's entry in the listing (all of them when that entry lies before
//     the cursor's time), is looked up in the query's workspace only (a key
//     of another workspace leaves the cursor strict), and is ErrInvalid
//     when Key.Validate refuses it.
//   - Queue: OutcomeRetry on the last allowed attempt makes the entry dead. An
//     Outcome returned after Work's context ended is still applied (a delivery
//     that succeeded during shutdown is never repeated). The job context has a
//     deadline of JobTimeout. Work(nil func) is ErrInvalid. Replay does not
//     reset Job.Attempt: the next attempt is numbered after the previous ones
//     (so Delivery.Ambiguous holds) and MaxAttempts grows by a fresh round;
//     LastError/LastClass carry the failure that made it dead.
//   - Budget: Job.BudgetStart is the entry's ReceivedAt, moves later by the
//     Delay of every snooze (not of retries) and restarts at Replay.
//     ReplayDead replays every dead entry matching the query (in batches;
//     Limit is ignored), in no other workspace or state, and refuses States
//     other than [dead].
//   - Notifications: with QueueConfig.Notifier, Work sends an outcome's
//     Notifications after the outcome is on the ledger, from workers of their
//     own (a notifier that never returns does not hold up deliveries), drops
//     a repeated DedupeKey, retries a failed call, and keeps them for a later
//     Work when it has no Notifier. Alerts notify once per episode and
//     workspace; ResolveAlerts ends the episode; one back within Quiet of its
//     last notification opens silently.
//   - Reconcile: every store implements QueueFaults (a test hook that ends a
//     delivery job the way River's rescuer or an operator would). An entry
//     whose job ended that way is dead with ClassInternal and a reason once
//     Work starts, the WorkFunc never sees it, entries with live jobs are
//     untouched, and Replay revives it with the attempts still counted.
//   - Contacts: usernames are stored and matched lower case without '@'; a
//     query with no keys is ErrNotFound; SaveContact replaces the link of
//     l.ContactID (ErrInvalid when ContactID ≤ 0).
//   - Tokens: version 0 after DeleteToken again (SwapToken(t, 0) succeeds).
//   - Leases: re-acquisition by the holder keeps the token; tokens keep
//     increasing after release and expiry; RenewLease(nil) is ErrLeaseLost;
//     ReleaseLease(nil) is nil; ttl ≤ 0 is ErrInvalid. StoreSession with a nil
//     lease, a lease of another account or workspace, another holder or a
//     forged token is ErrLeaseLost.
//   - Checkpoints are listed by source, account, chat id.
//   - Events: listed newest (highest ID) first; a zero Time is stamped with
//     the store's clock; AppendEvents is all-or-nothing; CountEvents ignores
//     Limit and BeforeID; PruneEvents spans workspaces. Source is equality
//     (case kept, no prefix match); Text (Events/SourceAndText) matches as
//     LedgerQuery.Text does (FoldText containment, % and _ literal), both
//     combine with every filter, the cursor and CountEvents and never cross
//     workspaces; Text that is not UTF-8 is ErrInvalid in ListEvents and
//     CountEvents, and so is a negative Limit in ListEvents.
//   - Settings are listed by key; the prefix is literal (no LIKE wildcards).
//   - Rate budget: keys are independent; Penalize never moves a key back.
//
// # Notifiers
//
// A notifier runs TestNotifier with a function returning what reached the
// other end (decoded by its test server):
//
//	srv := newTestSMTPServer(t)
//	chattertest.TestNotifier(t, smtpnotify.New(srv.Config()), srv.Notifications)
//
// RecordingNotifier passes it and records notifications for tests of code that
// sends them.
//
// # Concurrency
//
// Every type in this package is safe for concurrent use. Constructors start no
// goroutines; MemStore.Work and FakeSource.Run block until their context ends.
package chattertest
