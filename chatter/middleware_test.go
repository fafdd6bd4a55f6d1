package chatter

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRecover(t *testing.T) {
	t.Parallel()
	h := Chain(HandlerFunc(func(ctx context.Context, m *Message) error {
		var s []int
		_ = s[len(m.Text)] // a real runtime panic: index out of range
		return nil
	}), Recover())
	err := h.Handle(t.Context(), testMessage(1))
	var pe *PanicError
	if !errors.As(err, &pe) || len(pe.Stack) == 0 || ClassOf(err) != ClassInternal {
		t.Fatalf("err = %v; want *PanicError with a stack and class internal", err)
	}
	var rte interface{ RuntimeError() }
	if !errors.As(err, &rte) {
		t.Error("the runtime error is not unwrapped")
	}
	err = Recover()(HandlerFunc(func(context.Context, *Message) error { panic("plain") })).Handle(t.Context(), nil)
	if !errors.As(err, &pe) || pe.Value != "plain" || pe.Unwrap() != nil || err.Error() != "chatter: panic: plain" {
		t.Errorf("err = %v", err)
	}
	if err := Recover()(HandlerFunc(func(context.Context, *Message) error { return errBoom })).Handle(t.Context(), nil); err != errBoom {
		t.Errorf("errors pass through: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	var deadline time.Time
	var has bool
	inner := HandlerFunc(func(ctx context.Context, m *Message) error {
		deadline, has = ctx.Deadline()
		<-ctx.Done() // a store that hangs
		return ctx.Err()
	})
	before := time.Now()
	err := Timeout(time.Millisecond)(inner).Handle(t.Context(), testMessage(1))
	if !errors.Is(err, context.DeadlineExceeded) || !has || deadline.Before(before) {
		t.Errorf("err = %v, deadline %v (%v)", err, deadline, has)
	}
	plain := HandlerFunc(func(ctx context.Context, m *Message) error {
		_, has = ctx.Deadline()
		return nil
	})
	if err := Timeout(0)(plain).Handle(t.Context(), nil); err != nil || has {
		t.Errorf("Timeout(0) set a deadline: %v %v", err, has)
	}
}
