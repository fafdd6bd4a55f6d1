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
package webhooknotify
