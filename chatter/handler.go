package chatter

import "context"

// Source produces messages and hands each one to a Handler.
//
// Run blocks until ctx ends (then it returns nil or ctx.Err()) or the source
// fails for good. A source must not acknowledge a message to its upstream
// (advance a polling offset, answer a webhook with 200, move a checkpoint)
// before Handle has returned nil for it: Handle returning nil means the message
// is durable. When Handle returns an error the source keeps the message and
// retries or lets its upstream redeliver it.
//
// A source that builds a message which fails Message.Validate (too long,
// not UTF-8, an unusable key) should still hand it to the Handler rather
// than drop it: a Pipeline records it on the ledger as StateRejected with
// the reason and returns nil, so nothing refused disappears. An error
// wrapping ErrInvalid from Handle means the handler refused it for good;
// the source should log it and acknowledge it rather than retry.
type Source interface {
	Run(ctx context.Context, h Handler) error
}

// Handler takes one message. Implementations must be safe for concurrent use.
// A nil error means the message has been made durable (or deliberately
// dropped, or recorded as rejected); an error means the caller still owns
// the message.
type Handler interface {
	Handle(ctx context.Context, m *Message) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m *Message) error

// Handle calls f(ctx, m).
func (f HandlerFunc) Handle(ctx context.Context, m *Message) error { return f(ctx, m) }

// Middleware wraps a Handler with behaviour that runs around it.
type Middleware func(next Handler) Handler

// Chain wraps h with mw so that mw[0] is the outermost: a message passes
// through mw[0], then mw[1], …, then h; results return in reverse order.
func Chain(h Handler, mw ...Middleware) Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}
