package chatter

import (
	"context"
	"time"
)

// NotificationType is what a notification is about; routing and digests key on it.
type NotificationType string

// Notification types.
const (
	NotifyNewLead        NotificationType = "new_lead"
	NotifyDeliveryFailed NotificationType = "delivery_failed" // a delivery went dead
	NotifySourceDown     NotificationType = "source_down"
	NotifySourceUp       NotificationType = "source_up"
	NotifyTokenExpiring  NotificationType = "token_expiring"
	NotifyTokenExpired   NotificationType = "token_expired"
	NotifyRateLimited    NotificationType = "rate_limited"
	NotifyAccountBlocked NotificationType = "account_blocked"
	NotifyAuthFailed     NotificationType = "auth_failed"    // the destination rejects our credentials; deliveries wait
	NotifyRightsMissing  NotificationType = "rights_missing" // the destination refuses an action for lack of rights; deliveries wait
	NotifyDigest         NotificationType = "digest"         // a summary of a burst, see Digest
)

// Severity ranks notifications.
type Severity string

// Severities.
const (
	SeverityInfo    Severity = "info"
	SeverityWarning Severity = "warning"
	SeverityError   Severity = "error"
)

// Notification is a message to the people who run Chatter.
type Notification struct {
	Type      NotificationType  `json:"type"`
	Workspace string            `json:"workspace"`
	Time      time.Time         `json:"time"`
	Severity  Severity          `json:"severity"`
	Title     Text              `json:"title"`
	Body      Text              `json:"body"`
	Link      string            `json:"link,omitempty"`        // where to look (CRM lead, admin page)
	Key       string            `json:"message_key,omitempty"` // the message concerned, if any
	Fields    map[string]string `json:"fields,omitempty"`      // e.g. lead_id, error_class; no secrets
	// Count and Items are set on NotifyDigest: how many notifications the
	// digest stands for, and a sample of them.
	Count int             `json:"count,omitempty"`
	Items []*Notification `json:"items,omitempty"`
	// DedupeKey identifies the event the notification is about (the
	// Pipeline sets "new_lead:<workspace>:<message key>" and the like).
	// Notifications reach a Notifier at least once: a send cut short by a
	// crash after the notifier accepted it is repeated, so a receiver that
	// sees a key again may drop it.
	DedupeKey string `json:"dedupe_key,omitempty"`
}

// Notifier sends notifications. Notify returns once the notification was
// handed over (or failed); it must be safe for concurrent use. Implementations
// do not retry forever: they return the error and let the caller decide.
type Notifier interface {
	Notify(ctx context.Context, n *Notification) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, n *Notification) error

// Notify calls f(ctx, n).
func (f NotifierFunc) Notify(ctx context.Context, n *Notification) error { return f(ctx, n) }
