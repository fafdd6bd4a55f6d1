package chatter

import "context"

// Sink delivers one message to its destination (for example, a lead in amoCRM).
//
// Deliver is called at least once per accepted message and may be called again
// after an ambiguous failure (timeout, crash): implementations must be
// idempotent with respect to the message key. A nil error means delivered.
// Errors steer the queue: an error with a RetryAfter() method (see RetryAfter)
// snoozes the delivery without using an attempt; Permanent(err) sends it to the
// dead state; anything else is retried with backoff up to the attempt limit.
// The error class (see ClassOf) is recorded on the ledger.
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
	MaxAttempts int        // attempts allowed before the delivery goes dead
	LastError   string     // the previous attempt's error, if any
	LastClass   ErrorClass // the previous attempt's error class, if any
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
