// Package amocrmsink is the delivery step of Chatter: a chatter.Sink that turns
// each accepted Telegram message into exactly one amoCRM lead, or one note on
// the person's open lead.
//
// For every message it:
//
//  1. applies the compiled field mapping (fieldmap) to the message, read
//     through MessageRecord without marshalling;
//  2. serialises deliveries of one person with a lease ("contact:tg:<id>"),
//     so two first messages of a new person create one contact;
//  3. finds the person's contact: the store's ContactLink, then (with
//     LookupCRM, the default) amoCRM, by Telegram id (a contact custom
//     field), then username, then phone (E.164). A contact found by a weak
//     key (username, phone) whose Telegram id differs is never used;
//  4. completes a contact it found with what the message adds: a phone or
//     e-mail the contact has none of (see Completing contacts);
//  5. threads: a message from a person whose lead is open (not won 142, not
//     lost 143) and was last used within ThreadWindow becomes a note on it,
//     and the mapping's lead tags the lead lacks are added to it;
//  6. otherwise creates the lead with the contact (existing by id, or new)
//     in one /leads/complex request, with the message key in MarkerField,
//     then a note with the text, sender, chat and link, ending with a
//     "Chatter ID: <key>" line.
//
// # Batching
//
// With Config.BatchSize > 1, deliveries running at the same time (the
// pipeline's workers) share requests: the leads of new people go out in
// one /leads/complex request of up to BatchSize (≤ 50) leads, and notes
// (threaded messages and the first note of new leads) in one
// POST /leads/notes. The first item of a batch waits up to Config.BatchWait
// (DefaultBatchWait, 150 ms) for others, or less when the batch fills, so a
// lone message pays that much latency; a batch that is not full also keeps
// collecting while the previous batch's request is in flight (group
// commit), so when requests queue behind the rate limit batches grow
// instead of requests piling up. Results are matched to their callers by
// request_id. The reads and writes around them are shared the same way:
// the status reads of threaded leads (one GET /leads?filter[id][]=…), the
// contact reads of contact completion (one GET /contacts?filter[id][]=…),
// tag additions (one PATCH /leads) and the created_at scans of adoption
// (one listing for all the retries of a failed batch). A batch amoCRM
// rejects with validation errors is split:
// the items it names fail with their own error (class mapping) and the
// others are sent again; when it names none, they are sent one by one (this
// relies on amoCRM applying nothing of a request it answers 400). Any other
// failure is every item's: an ambiguous one (504, timeout:
// *amocrm.OutcomeUnknownError) makes every delivery of the batch retry and
// adopt its lead by the marker. The batch's request is cancelled only when
// all its callers have gone; a caller leaving while it is in flight gets an
// *amocrm.OutcomeUnknownError. No goroutine runs between batches (one is
// started per batch). The pipeline needs at least as many workers as the
// batch size for full batches.
//
// # Lookup policy
//
// A new person costs LookupCRM one to three searches (GET /contacts?query=,
// which amoCRM cannot batch) before their lead, so at amoCRM's 7 requests/s
// new-person traffic stays near 3 messages/s whatever the batching.
// LookupStore trusts the store's ContactLink only: a person it does not
// know gets a new contact inside /leads/complex with no request before it,
// and amoCRM's duplicate control merges that contact into an existing one
// with the same phone or e-mail (DeliveryResult.Extra["merged"]). The price:
//
//   - a contact amoCRM already holds (created by hand, by another
//     integration, or before the store was filled) is found only through
//     its phone or e-mail; otherwise the person gets a second contact, and
//     their open lead in amoCRM is not threaded onto;
//   - the merge is amoCRM's decision: the rule "never use a contact found by
//     a weak key whose Telegram id differs" does not apply to it;
//   - after an ambiguous lead creation the person's contact may exist
//     unknown to the store: the person's next delivery through this Sink
//     first looks for it among the leads created since that attempt
//     started (remembered in memory until a link is saved, so not across
//     processes or restarts; the message's own retry finds it anywhere).
//
// Use LookupStore when Chatter creates the contacts of the people who write
// (a fresh account, or a store seeded from amoCRM) and throughput matters;
// keep LookupCRM when amoCRM already holds the people.
//
// # Exactly once
//
// amoCRM has no idempotency key, and its search (query=) is full-text search
// with no promise that a new lead is searchable at once, so a retry does not
// rest on it. When an earlier attempt may have reached amoCRM, the sink first
// looks for the lead whose MarkerField holds the message key and for the
// note ending with its marker line, and adopts what it finds instead of
// creating it again (DeliveryResult.Adopted):
//
//   - the lead is looked for among the leads created since the message
//     reached the store (the ledger's ReceivedAt; see Config.Ledger), a
//     minute of clock slack either side: one GET
//     /leads?filter[created_at][from]=…&filter[created_at][to]=…&order[id]=desc
//     page of 250, newest first, until the marker is found or the window
//     ends. Every attempt, in any process, followed that time, and these
//     filters see a lead at once. With batching, the retries of a failed
//     batch share the listing;
//   - when that window is wider than an hour (a replay, an old backlog),
//     the cheaper ways go first: the leads of the contact the store links
//     the person to (GET /contacts/{id}?with=leads, then those leads by id),
//     then query=;
//   - the note is looked for among the lead's notes (one GET).
//
// The sink remembers, in memory, what each failed attempt may have written:
// a write amoCRM answered with a refusal (validation, rights, 429, block,
// auth) wrote nothing; anything else (5xx, timeout, broken connection) may
// have. Each error Deliver returns starts with the attempt's id
// ("[attempt 3f9c2a1b07d4e6a5] …"); when the next attempt's
// Delivery.LastError carries it and the attempt number follows, no attempt
// ran elsewhere in between, and the sink looks only for what its own
// attempts may have written, in the window since the first of them: a
// retry after a 429 or a failed read costs no lookup, one after an
// ambiguous note only the note check, one after an ambiguous lead creation
// a scan of the leads created since it. A restart, another process's
// attempt or a crash falls back to the lookups above. When a lead creation
// with a new contact ended ambiguously, the person's next delivery (before
// the retry, in this process) looks for that lead the same way and uses its
// contact, so the person keeps one contact.
//
// A write amoCRM applies after the retry has looked (a request stuck longer
// than the retry's backoff) is not found; nothing short of an idempotency
// key could.
//
// # Completing contacts
//
// A phone or e-mail in a later message of a known person (the mapping's
// contact PHONE and EMAIL values, and the sender's shared phone) is written
// to their contact when the contact has no value in that field at all: a
// field holding anything, a manager's entry or an older number, is never
// changed and nothing is appended to it (the message's note keeps the
// number; the log says the contact was left as is). The contact is read
// first (one GET, shared when batching) only when the message carries a
// phone other than the one the store's link records or a value not settled
// on that contact before in this process; the PATCH is sent only when a
// field is missing. It is best effort: a failure is logged and the message
// is delivered.
//
// # Tags on threaded leads
//
// A message threaded onto an open lead adds the mapping's lead tags the
// lead lacks (tags_to_add: a manager's tags stay), so a conditional tag
// ("срочно") applies to a later message too. Nothing is sent when the lead
// has them all. A transient failure fails the delivery (it is retried:
// adding a tag twice changes nothing, and the note is written after the
// tags); a refusal (validation, rights) is logged and the note is still
// written.
//
// # Errors
//
// Errors carry a chatter.ErrorClass (see Classify) that the pipeline records
// on the ledger and acts on: auth, rights and payment failures, mapping
// errors (the SchemaCache is told, the mapping is recompiled against the
// refreshed schema, and a second consecutive mapping failure is dead), 429s
// and blocks (snoozed without using an attempt), transient failures.
//
// # Blocks across instances
//
// Run Sink.Watch in every process next to the pipeline: a block amoCRM
// imposes on the account (403 HTML, repeated 429) is then shared through
// the store. Every instance holds its deliveries (a *HeldError, snoozed),
// one instance at a time probes the account on amocrm.BlockPolicy's
// schedule under the shared budget, and the first answer closes the
// circuit everywhere and wakes the held deliveries (chatter.Queue.Wake).
//
// # Quick start
//
//	stats := amocrmsink.NewRequestStats(nil)
//	client, _ := amocrmsink.NewClient(amocrmsink.ClientConfig{
//		Store: store, Workspace: workspace, Account: "example", // any chatter.Store
//		LongLivedToken: token,                                  // or OAuth: &oauthCfg
//		Stats: stats, Logger: logger,
//	})
//	marker, _ := amocrmsink.EnsureMarkerField(ctx, client, "")
//	cache := fieldmap.NewSchemaCache(fieldmap.FetchSchema(client), fieldmap.SchemaCacheConfig{})
//	schema, _, _ := cache.Get(ctx)
//	mapper, _ := fieldmap.Compile(spec, fieldmap.WithSchema(schema))
//	sink, err := amocrmsink.New(amocrmsink.Config{
//		Client: client, Mapper: mapper, Schema: cache,
//		Contacts: store, Leases: store,              // any chatter.Store (also the Ledger)
//		MarkerField: marker, ContactTelegramIDField: tgIDField, ContactUsernameField: tgUserField,
//		Stats: stats,
//		BatchSize: 50, BatchWait: 150 * time.Millisecond, // optional batching
//	})
//	pipeline, _ := chatter.NewPipeline(chatter.PipelineConfig{Store: store, Sink: sink, Workers: 64})
//	checks := sink.Checks()                        // for the doctor
//
// # The client: one budget, one token, every instance
//
// NewClient builds the account's *amocrm.Client for a deployment:
//
//   - Pacing: a BudgetLimiter on the store's chatter.RateBudget (a GCRA row
//     per account), so every instance sharing the store draws from one
//     budget of amoCRM's 7 requests per second, and a 429 or a block seen
//     by one instance pauses all of them (Limiter.Throttled → Penalize).
//     While the store fails, requests fail (and deliveries are retried)
//     rather than fall back to per-process pacing, which would multiply the
//     rate by the number of instances.
//   - OAuth: the pair lives in the store through TokenStore, sealed at rest
//     and saved compare-and-swap. A pair amoCRM issues is used at once;
//     when the store cannot save it the client keeps it, retries the save
//     with backoff and logs an auth event, and the CheckTokenSaved check
//     fails until the pair is stored. A restart in that window loses the
//     pair (amoCRM has already revoked the previous refresh token) and the
//     integration must be authorised again; other instances keep their
//     previous access token until it expires and then get authorisation
//     errors until the save succeeds, when they load the new pair.
//   - Statistics: every HTTP attempt and the budget's store calls feed
//     Stats, for the rate-limit, budget and block checks.
//
// # Concurrency
//
// A Sink is safe for concurrent use; New starts no goroutines (a batch
// starts one for its own lifetime). Requests are paced by the
// amocrm.Client's limiter: the shared budget with NewClient, or amocrm's
// per-process default (7 per second per client) with amocrm.NewClient.
package amocrmsink
