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
//  4. threads: a message from a person whose lead is open (not won 142, not
//     lost 143) and was last used within ThreadWindow becomes a note on it;
//  5. otherwise creates the lead with the contact (existing by id, or new)
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
// request_id. A batch amoCRM rejects with validation errors is split:
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
//     unknown to the store: this Sink then searches amoCRM for that person's
//     next delivery (remembered in memory until a link is saved, so not
//     across processes or restarts).
//
// Use LookupStore when Chatter creates the contacts of the people who write
// (a fresh account, or a store seeded from amoCRM) and throughput matters;
// keep LookupCRM when amoCRM already holds the people.
//
// # Exactly once
//
// amoCRM has no idempotency key. When an earlier attempt may have reached
// amoCRM (Delivery.Ambiguous, or any recorded failure: a 504 "applied but
// failed", a timeout, a crash), the sink first looks for the lead whose
// MarkerField holds the message key, and for the note ending with its marker
// line, and adopts what it finds instead of creating it again
// (DeliveryResult.Adopted).
//
// # Errors
//
// Errors carry a chatter.ErrorClass (see Classify) that the pipeline records
// on the ledger and acts on: auth, rights and payment failures, mapping
// errors (the SchemaCache is told, the mapping is recompiled against the
// refreshed schema, and a second consecutive mapping failure is dead), 429s
// and blocks (snoozed until amoCRM's cool-down), transient failures.
//
// # Quick start
//
//	stats := amocrmsink.NewRequestStats(nil)
//	client, _ := amocrm.NewClient("example", amocrm.WithLongLivedToken(token),
//		amocrm.WithRequestHook(stats.Observe))
//	marker, _ := amocrmsink.EnsureMarkerField(ctx, client, "")
//	cache := fieldmap.NewSchemaCache(fieldmap.FetchSchema(client), fieldmap.SchemaCacheConfig{})
//	schema, _, _ := cache.Get(ctx)
//	mapper, _ := fieldmap.Compile(spec, fieldmap.WithSchema(schema))
//	sink, err := amocrmsink.New(amocrmsink.Config{
//		Client: client, Mapper: mapper, Schema: cache,
//		Contacts: store, Leases: store,              // any chatter.Store
//		MarkerField: marker, ContactTelegramIDField: tgIDField, ContactUsernameField: tgUserField,
//		Stats: stats,
//		BatchSize: 50, BatchWait: 150 * time.Millisecond, // optional batching
//	})
//	pipeline, _ := chatter.NewPipeline(chatter.PipelineConfig{Store: store, Sink: sink, Workers: 64})
//	checks := sink.Checks()                        // for the doctor
//
// # OAuth tokens
//
// With OAuth instead of a long-lived token, keep the pair in the store so
// it survives restarts, is sealed at rest and is shared by all instances
// (saves are compare-and-swap):
//
//	ts := amocrmsink.NewTokenStore(store, workspace, "example")
//	client, _ := amocrm.NewClient("example", amocrm.WithOAuth(oauthCfg, ts))
//	// Config.TokenExpiry: ts.Expiry, for the token check
//
// # Concurrency
//
// A Sink is safe for concurrent use; New starts no goroutines (a batch
// starts one for its own lifetime). Requests are paced by the
// amocrm.Client's limiter (7 per second per account by default).
package amocrmsink
