package chatter

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"
)

// PanicError is a panic turned into an error by Recover, the Pipeline's
// workers and RunChecks. Its class is ClassInternal.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the panicking goroutine's stack
}

func newPanicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: debug.Stack()}
}

func (e *PanicError) Error() string { return fmt.Sprintf("chatter: panic: %v", e.Value) }

// ErrorClass returns ClassInternal: a panic is a bug on our side.
func (e *PanicError) ErrorClass() ErrorClass { return ClassInternal }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// Recover returns a Middleware that turns a panic in the handlers below it
// into a *PanicError, so a faulty filter or handler cannot crash a source.
// The source keeps the message (Handle returned an error) and retries it.
func Recover() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = newPanicError(r)
				}
			}()
			return next.Handle(ctx, m)
		})
	}
}

// Timeout returns a Middleware that gives the handlers below it at most d
// to make a message durable; past that their context is cancelled and the
// source keeps the message. d ≤ 0 means no limit.
func Timeout(d time.Duration) Middleware {
	return func(next Handler) Handler {
		if d <= 0 {
			return next
		}
		return HandlerFunc(func(ctx context.Context, m *Message) error {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next.Handle(ctx, m)
		})
	}
}
