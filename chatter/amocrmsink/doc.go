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
//  3. finds the person's contact: the store's ContactLink, then amoCRM, by
//     Telegram id (a contact custom field), then username, then phone
//     (E.164). A contact found by a weak key (username, phone) whose Telegram
//     id differs is never used;
//  4. threads: a message from a person whose lead is open (not won 142, not
//     lost 143) and was last used within ThreadWindow becomes a note on it;
//  5. otherwise creates the lead with the contact (existing by id, or new)
//     in one /leads/complex request, with the message key in MarkerField,
//     then a note with the text, sender, chat and link, ending with a
//     "Chatter ID: <key>" line.
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
//	})
//	pipeline, _ := chatter.NewPipeline(chatter.PipelineConfig{Store: store, Sink: sink})
//	checks := sink.Checks()                        // for the doctor
//
// # Concurrency
//
// A Sink is safe for concurrent use; New starts no goroutines. Requests are
// paced by the amocrm.Client's limiter (7 per second per account by default).
package amocrmsink
