// Package amocrmtest provides an in-process fake of the amoCRM API v4 and its
// OAuth 2.0 server, in the style of net/http/httptest, for testing integrations.
//
// The fake is an independent implementation of the wire protocol: it answers in
// amoCRM's formats (application/hal+json with _page, _links and _embedded;
// 204 with an empty body for an empty list or a missing entity;
// application/problem+json errors with amoCRM's validation-errors), enforces
// its limits (limit ≤ 250, batches ≤ 50, /leads/complex ≤ 50 leads with one
// contact and one company and ≤ 40 custom field values each) and validates
// custom field values against the account's fields, enums and required
// statuses. Because it does not share types with any client, it catches client
// bugs in encoding and decoding.
//
// # Quick start
//
//	func TestSync(t *testing.T) {
//		srv := amocrmtest.NewServer(t, amocrmtest.WithSeed(amocrmtest.DemoAccount))
//		req, _ := http.NewRequest("GET", srv.URL+"/api/v4/leads?limit=10", nil)
//		req.Header.Set("Authorization", "Bearer "+srv.AccessToken())
//		resp, err := srv.HTTPClient().Do(req)
//		// ... use your client against srv.URL, then assert on srv.Leads(),
//		// srv.Notes(amocrmtest.EntityLeads, id), srv.CountRequests("POST", "/api/v4/leads")
//	}
//
// For other languages, run the standalone server in examples/amocrm-fake
// (go run ./examples/amocrm-fake), which prints the base URL, the integration's
// client id and secret and ready tokens.
//
// # What it models
//
//   - One account (WithAccount) with users and rights (AddUser), pipelines with
//     the 142/143 statuses and an unsorted stage (AddPipeline), custom fields of
//     every amoCRM type (AddCustomField), leads, contacts, companies, notes,
//     tasks, tags, links, unsorted forms (create, accept, decline) and webhooks.
//   - OAuth: POST /oauth2/access_token with authorization_code and
//     refresh_token grants for the registered Integration. Authorization codes
//     (IssueAuthCode) and refresh tokens are single use; reusing a rotated
//     refresh token answers 401 "Token has been revoked" as amoCRM does. Access
//     tokens expire after AccessTokenTTL by the server clock, then answer 401.
//     LongLivedToken and AccessToken issue tokens without a flow.
//   - Rate limit (RateLimit): by default 7 requests per second per account over
//     a sliding window; excess requests get 429 with an HTML body and no
//     Retry-After, and repeated violations block the account, which then
//     answers 403 with an HTML body to every request for the block period.
//   - Faults (InjectFault): latency, 5xx for the next N requests or a seeded
//     random fraction, and "applied but answered 504".
//   - Search index lag (WithSearchLag, SetSearchLag): query= sees a write
//     only after the lag, by the server clock, as amoCRM promises no time
//     within which a new entity is searchable; filter[id], filter[created_at],
//     with=leads and every other read see it at once.
//   - Account webhooks: subscriptions made with POST /api/v4/webhooks receive
//     form-encoded POSTs (leads[add][0][id]=...) on lead, contact and company
//     add, update, status and responsible changes and on notes; posts to one
//     destination are made in order. FlushWebhooks waits for them and
//     WebhookDeliveries lists them.
//
// # Time
//
// Pass WithClock(clock.Now) with a ManualClock to move time in tests: token
// expiry, the rate limiter, the block and the search lag all read the server
// clock, so tests never sleep. Injected latency is the only thing that uses real time.
//
// # Concurrency
//
// A Server is safe for concurrent use; accessors return copies.
package amocrmtest
