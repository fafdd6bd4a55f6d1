// Package amocrm is a typed client for the amoCRM (Kommo) REST API v4.
//
// It is shaped like google/go-github: one Client per account with a service
// per API area (c.Leads, c.Contacts, c.Companies, c.CustomFields,
// c.Pipelines, c.Notes, c.Tasks, c.Tags, c.Links, c.Unsorted, c.Webhooks,
// c.Users, c.Account). Each method takes a context first and returns
// (T, *Response, error); list methods have ListIter variants returning an
// iter.Seq2 that follows _links.next until the last page (a 204 is an empty
// page, never an error).
//
// # Quick start
//
//	c, err := amocrm.NewClient("example", amocrm.WithLongLivedToken(token))
//	if err != nil { ... }
//	for lead, err := range c.Leads.ListIter(ctx, &amocrm.LeadListOptions{Query: "+7999"}) {
//		if err != nil { ... }
//		fmt.Println(lead.ID, lead.Name)
//	}
//
//	res, err := c.Leads.CreateComplexBatch(ctx, []*amocrm.ComplexLead{{
//		Lead:    &amocrm.Lead{Name: "Заявка из Telegram"},
//		Contact: &amocrm.Contact{Name: "Иван", CustomFieldsValues: amocrm.CustomFieldsValues{
//			amocrm.SetFieldCode(amocrm.FieldCodePhone, amocrm.MultitextValue("+79990000000", amocrm.EnumCodeMobile)),
//		}},
//		Tags: []amocrm.Tag{{Name: "telegram"}},
//	}})
//
// # Authentication
//
// Long-lived tokens (private integrations) use WithLongLivedToken. OAuth 2.0
// uses WithOAuth(OAuthConfig, TokenStore): OAuthConfig.AuthorizationURL
// builds the consent URL, OAuthConfig.ParseCallback checks the redirect's
// code, state, referer and error, Client.ExchangeCode trades the code for a
// pair, and
// the client refreshes expired tokens itself, once per account at a time
// (single-flight). A 401 triggers one refresh and one retry; after that, or
// when the refresh token is rejected, the call fails with *UnauthorizedError.
// When a refresh fails because the subdomain was renamed, the client asks the
// token's api_domain where the account lives now and moves there, but only to
// a host under amocrm.ru, amocrm.com or kommo.com (otherwise
// *UntrustedHostError, and the base URL stays).
//
// ExchangeCode, the refresh on expiry or 401 and RefreshToken share one
// routine. amoCRM refresh tokens are single-use, so a pair amoCRM issued is
// never thrown away: it is used at once and saved to the TokenStore; when the
// save fails the pair stays in use (requests keep working), the save is
// retried by later requests with exponential backoff (or at once with
// Client.SaveToken), and Client.TokenSaveErr reports a *TokenNotSavedError
// until it succeeds. Before a retry the store is read back, so a save that
// went through despite an error is recognised and a pair saved by another
// process after this one (a new authorisation) wins. A process that exits
// while its pair is unsaved loses it, and the integration must be
// authorised again. Token events are logged with category=auth; token
// values never are.
//
// # Limits and failures
//
// Requests are paced by a Limiter (default: one request every DefaultInterval,
// 1/7 s plus a 5 ms guard, per client, so a server counting 7 per sliding
// second never answers 429; share one with WithLimiter across clients of an
// account in one process). Several processes calling one account need a
// limiter on a shared store: amocrmsink.NewClient wires one (a GCRA row in
// the chatter store); 429s and blocks reach the limiter through
// Limiter.Throttled so that every process pauses. A 429 is retried with
// exponential backoff and jitter (waiting on the context, never time.Sleep);
// repeated 429s or a 403 HTML block open a circuit: *BlockedError is returned
// without touching the network until the next probe is due; then one request
// goes through (or Client.Probe sends GET /api/v4/account), and any answer
// but 429 or the block page closes the circuit. Probes follow the block's
// age (BlockPolicy.ProbeGap: a 30th of it, 2 s to 5 min), so delivery
// resumes soon after amoCRM lifts a block of any length. Requests waiting
// for their slot when the circuit opens return the *BlockedError at once,
// and a default limiter's pause that outlasts the caller's deadline returns
// *PauseError before anything is sent. 5xx answers and
// transport errors are retried only for GET; a write whose outcome is unknown
// (the connection failed after the request was sent, or a 502/503/504)
// returns *OutcomeUnknownError and is never re-sent. A request that never
// left the machine (DNS, dial or TLS handshake failure, told apart with
// net/http/httptrace) is retried for every method and ends as
// *NetworkError: amoCRM received nothing. Batch writes are
// chunked to 50 items; /leads/complex input is validated (50 leads, one
// contact and one company each, 40 field values) and results are mapped back
// by request_id.
//
// # Errors
//
// Match errors with errors.As: *APIError (status, title, detail, request id,
// validation errors), *NotFoundError (or IsNotFound), *PaymentRequiredError,
// *UnauthorizedError, *RefreshError, *RateLimitError and *BlockedError (both
// with RetryAfter), *OutcomeUnknownError, *NetworkError, *InvalidRequestError, *BatchError,
// *UntrustedHostError.
// Operator-facing errors have Message(lang) returning Russian ("ru") or
// English text. Tokens never appear in error strings or logs; Token,
// OAuthConfig and *Client print (fmt, any verb) and log (slog) with their
// secrets redacted. Only encoding/json keeps a Token's tokens, for
// TokenStores.
//
// # Custom fields
//
// CustomField describes a field's schema (type, enums, required statuses);
// CustomFieldValues/FieldValue carry values on entities. Reading is lenient:
// numbers may be strings, dates ints or strings, "custom_fields_values": null
// is nil, and field types this package does not know keep their raw JSON in
// CustomFieldValues.Raw instead of failing.
//
// # Webhooks
//
// ParseWebhook decodes incoming account webhooks (form-encoded,
// leads[add][0][id] keys, legacy field names) into typed WebhookEvents.
// EntityType always names the entity ("lead", "contact", ...), also when the
// webhook sends the legacy numeric element_type; chat message events keep
// their UUID in MessageID and carry the Direction, Author and Origin.
//
// # Testing
//
// Package amocrmtest is an in-process fake amoCRM (API v4 and OAuth, rate
// limit, blocks, faults, a ManualClock). Point a client at it with
// WithBaseURL(srv.URL); integration_test.go runs every service against it.
//
// # Concurrency
//
// A Client is safe for concurrent use. Constructors start no goroutines.
package amocrm
