// Package webhooknotify is a chatter.Notifier that POSTs each notification as
// JSON to configured http(s) URLs, signed with HMAC-SHA256 so the receiver can
// check who sent it and when.
//
// Quick start:
//
//	n, err := webhooknotify.New(webhooknotify.Config{
//		URLs:   []string{"https://hooks.example.com/chatter"},
//		Secret: []byte(os.Getenv("CHATTER_WEBHOOK_SECRET")),
//	})
//	if err != nil { ... }
//	err = n.Notify(ctx, notification)
//
// Each request carries:
//
//	Content-Type: application/json
//	X-Chatter-Event: <notification type>
//	X-Chatter-Delivery: <random id, the same across retries of one notification>
//	X-Chatter-Timestamp: <unix seconds>
//	X-Chatter-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// Receivers verify with Verify, which also rejects timestamps outside a
// replay window (5 minutes by default), so a captured request cannot be
// replayed later.
//
// Delivery: a notification is retried with bounded exponential backoff and
// jitter on network errors, 408, 425, 429 (honouring Retry-After) and 5xx;
// any other 4xx is final. Redirects are never followed: a notification goes
// only to the URLs configured. A Notifier is safe for concurrent use.
//
// Address guard: webhook URLs are often typed by the admins of a workspace,
// who must not be able to make the server call its own internal services
// (SSRF). By default a Notifier connects only to public addresses: loopback,
// private networks (RFC 1918, fc00::/7), link-local (169.254.0.0/16, where
// cloud metadata services answer, and fe80::/10), unspecified, multicast,
// CGNAT (100.64.0.0/10) and other reserved addresses are refused with an
// *AddressError, permanent and not retried (see Public). The check runs in
// the dialer on each address actually dialled, after name resolution, so a
// host name that resolves, or is rebound, to an inner address is refused
// too; and as redirects are not followed, a public receiver cannot bounce a
// notification inward either. The guarded transport never uses a proxy (a
// proxy would resolve the host out of the guard's sight). Config.Allow lets
// chosen networks, addresses or host names through; Config.AllowPrivate
// turns the guard off, for trusted configurations only.
//
// Config validation errors are *ConfigError values (they wrap
// chatter.ErrInvalid) with a Russian and English message. Config and
// Notifier print and log (fmt, slog) without the secret, and a URL as its
// scheme and host only.
package webhooknotify
