// Package demo is the demo mode of the reference server: the outside world
// in-process, and people who talk to it.
//
// Start runs three fakes on 127.0.0.1 with random ports: a fake amoCRM
// (amocrmtest with its DemoAccount and the lead field
// amocrmsink.EnsureMarkerField looks for), a fake Bot API (tgbottest) with
// one bot that people write to privately, and an in-process Telegram
// (tgparsetest) with a parser account that is a member of two public
// groups, "Ремонт квартир — Москва" and "Мебель на заказ | Москва и МО".
// The Env it returns holds what the server wires its real components with:
// the amoCRM base URL, subdomain and a long-lived token, the Bot API base
// URL and the bot token, the MTProto endpoint, the parser account and the
// groups. A Generator plays a deterministic script of Russian
// conversations into the fakes at a steady pace; Plan says in advance what
// the pipeline must make of it.
//
// # Quick start
//
//	env, err := demo.Start(ctx, demo.Config{Dir: "chatter-data"})
//	if err != nil { ... }
//	defer env.Close()                  // after the server's sources stopped
//	amo, _ := amocrm.NewClient(env.AmoCRMSubdomain, amocrm.WithBaseURL(env.AmoCRMURL),
//		amocrm.WithLongLivedToken(env.AmoCRMToken))
//	bot, _ := tgbot.NewClient(env.BotToken, tgbot.WithBaseURL(env.BotAPIURL))
//	conn := tgparse.Connection{Workspace: ws, Store: store, Sealer: sealer, Endpoint: env.TelegramEndpoint}
//	_, err = env.SignInParser(ctx, login) // every start: the fake is new
//	// tgparse.SourceConfig{Accounts: []tgparse.Account{env.ParserAccount},
//	//	Chats: [{Ref: env.Groups[0].Ref}, {Ref: env.Groups[1].Ref}], Depth: ...}
//	// amocrmsink.Config{ContactTelegramIDField: env.ContactTelegramIDField,
//	//	ContactUsernameField: env.ContactUsernameField, ...}
//	// pipeline filter: keyword.NewLive(keyword.MustCompile(demo.Keywords()))
//	// mapping: demo.Mapping()
//	gen, err := demo.NewGenerator(env, demo.GeneratorConfig{Seed: 1, Rate: 0.5})
//	err = gen.Run(ctx)                 // until ctx ends
//
// # The script
//
// Script(seed, n) is an endless sequence of events, the same for a seed
// on every run; two conversations at a time interleave. Every round of
// conversations plays each kind once, in a seeded order: to the bot,
// renovation (with the phone in the last message), a kitchen order (the
// first message is edited), windows (ending with a shared contact), a price
// question (its update delivered twice), a delivery question from an
// existing customer (Анна Смирнова of the demo account, or someone who
// wrote before) and furniture assembly (the phone in the first message);
// in the groups, a bathroom renovation (a follow-up the keyword rules
// filter out, then a phone), a cosmetic renovation (re-posted), windows, a
// kitchen and a wardrobe to order, and chit-chat, vacancies, ads and sales
// in both groups that the rules filter out. People are a fixed sequence
// per side (the same names, usernames and phones for every seed): new
// people appear in order, and now and then someone writes again, which
// threads onto their lead as notes.
//
// # Repeats, re-posts and edits
//
// A repeat is the same update delivered twice, as Telegram does when a
// confirmation is lost: Env.BotAPIURL is a proxy in front of the Bot API
// fake that puts a marked update twice into a getUpdates answer (same
// update_id), and in webhook mode (the webhook is relayed through the
// proxy, getWebhookInfo still shows the server's URL) POSTs it again after
// the first delivery was answered 2xx. Both copies have the same
// chatter.Key: the second must change nothing. In the groups nothing
// delivers a message twice on purpose (the tgparse source re-reads history
// only after a restart, which its checkpoints absorb); the groups' kind of
// repetition is the re-post, a new message with its own id, delivered as a
// note. Edits (bot only: the MTProto fake has none) are new keys
// (Key.Revision = edit date), delivered as notes.
//
// # Expectations
//
// Plan(seed, events) counts what the pipeline must make of the first
// events: bot updates, repeats, edits, contacts; group posts, re-posts,
// filtered posts; delivered messages, new leads, contacts and notes, and
// person by person. It assumes the wiring of the quick start, amocrmsink's
// default LookupCRM and ThreadWindow (every message of a person within it
// of the previous one), and nobody closing leads meanwhile (see
// Expectation). Generator.Position is the number of events played on the
// data directory over all runs: after a restart, Plan(seed, Position())
// is the cumulative expectation.
//
// # Restarts
//
// A second Start on the same Config.Dir continues where the first stopped.
// The fakes keep their state in memory, so the package keeps beside them
// what they need (StateFile, AmoCRMFile, HistoryFile):
//
//   - amoCRM: users, pipelines, fields, companies, contacts, leads and
//     notes with their ids are written after every request that may change
//     them, before it is answered, and seeded back into a new fake. The
//     write is the whole account, so it grows with it (about 6 ms at 100
//     leads and 70 ms at 1 000, BenchmarkAmoCRMSnapshot): the demo is made
//     for hours, not weeks.
//   - Bot API: people are created in the same order, so they keep their
//     Telegram ids; each private chat's message ids continue (a repeated
//     id would be taken for a message the store already has); updates the
//     server had not fetched when Env.Close ran come again. Update ids do
//     start again at 1, which tgbot's source accepts: its offset is not
//     kept across runs, Telegram keeps the unconfirmed updates.
//   - MTProto: the groups' history is posted again with its ids and dates,
//     so message ids and pts continue and the tgparse checkpoints stay
//     right.
//
// Credentials do not survive: each start has a new amoCRM token, bot token
// and MTProto server keys (the parser signs in again: SignInParser). A
// crash (rather than Close) loses the bot updates still pending in the
// fake; an edit in flight at the crash may be played again with another
// edit date.
//
// # Concurrency
//
// Env is safe for concurrent use. A Generator's Run must not run twice at
// once, nor after Env.Close.
package demo
