package chatter

import (
	"context"
	"time"
)

// Sink delivers one message to its destination (for example, a lead in amoCRM).
//
// Deliver is called at least once per accepted message and may be called again
// after an ambiguous failure (timeout, crash): implementations must be
// idempotent with respect to the message key. A nil error means delivered.
// Errors steer the queue (see Pipeline's decide rules): an error with a
// RetryAfter() method (see RetryAfter) and the classes auth, rights, blocked
// and rate_limited snooze the delivery without spending its retry budget;
// Permanent(err) sends it to the dead state; anything else is retried with
// capped backoff until the budget (PipelineConfig.MaxAge) is spent. The error
// class (see ClassOf) is recorded on the ledger.
// Implementations must be safe for concurrent use.
type Sink interface {
	Deliver(ctx context.Context, d *Delivery) (*DeliveryResult, error)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, d *Delivery) (*DeliveryResult, error)

// Deliver calls f(ctx, d).
func (f SinkFunc) Deliver(ctx context.Context, d *Delivery) (*DeliveryResult, error) {
	return f(ctx, d)
}

// Delivery is one attempt to deliver a message.
type Delivery struct {
	Message     *Message
	Attempt     int        // 1 for the first attempt; snoozes do not count
	MaxAttempts int        // attempts allowed before the delivery goes dead; 0: no cap by count
	LastError   string     // the previous attempt's error, if any
	LastClass   ErrorClass // the previous attempt's error class, if any
	// Deadline is when the retry budget ends: a failure of an attempt
	// started at or after it makes the delivery dead. Zero: no limit by
	// time.
	Deadline time.Time
}

// Ambiguous reports whether a previous attempt may have reached the
// destination without its result being recorded (it failed with a transient
// or unknown outcome, or the process stopped mid-call). A sink must look for
// what that attempt may have created before creating again.
func (d *Delivery) Ambiguous() bool { return d.Attempt > 1 }

// DeliveryResult is what a successful delivery created or touched. It is
// recorded on the ledger.
type DeliveryResult struct {
	LeadID    int64             `json:"lead_id,omitempty"`
	ContactID int64             `json:"contact_id,omitempty"`
	CompanyID int64             `json:"company_id,omitempty"`
	NoteID    int64             `json:"note_id,omitempty"`
	Threaded  bool              `json:"threaded,omitempty"` // added as a note to an open lead
	Adopted   bool              `json:"adopted,omitempty"`  // found a lead created by an earlier ambiguous attempt
	Extra     map[string]string `json:"extra,omitempty"`
}

// NewLead reports whether the delivery created a lead: LeadID is set and the
// message was not threaded as a note onto an open lead. An adopted lead (one
// an earlier ambiguous attempt created) counts. It is false for a nil r. This
// is what LedgerQuery.NewLead selects.
func (r *DeliveryResult) NewLead() bool { return r != nil && r.LeadID != 0 && !r.Threaded }
