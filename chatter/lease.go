package chatter

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// leaseReleaseTimeout bounds the release at the end of HoldLease.
const leaseReleaseTimeout = 10 * time.Second

// HoldLease acquires the lease name in workspace ws for holder, runs fn while
// holding it, and releases it when fn returns.
//
// When the lease is held by another holder HoldLease returns an error
// wrapping ErrLeaseHeld at once, without calling fn. While fn runs the lease
// is renewed every ttl/3 in the background; a renewal the store refuses
// (ErrLeaseLost), or failing renewals until the lease would have expired by
// the local clock, cancel fn's context with cause ErrLeaseLost: fn must stop
// using the resource (its writes are fenced by l.Token anyway). Then
// HoldLease returns an error wrapping ErrLeaseLost (and fn's error).
// Otherwise it returns fn's error joined with a failure to release.
//
// fn gets the lease as acquired: its Token stays valid across renewals,
// its ExpiresAt is not updated.
func HoldLease(ctx context.Context, ls LeaseStore, ws, name, holder string, ttl time.Duration, fn func(ctx context.Context, l *Lease) error) error {
	return holdLease(ctx, realClock{}, ls, ws, name, holder, ttl, fn)
}

// leaseClock is the time HoldLease renews by; tests inject a fake one.
type leaseClock interface {
	Now() time.Time
	// After returns a channel that receives after d, and a func that
	// stops it.
	After(d time.Duration) (<-chan time.Time, func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) After(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

func holdLease(ctx context.Context, clk leaseClock, ls LeaseStore, ws, name, holder string, ttl time.Duration, fn func(ctx context.Context, l *Lease) error) error {
	switch {
	case ls == nil:
		return errorf("chatter: hold lease: %w", invalid("ls", "не задано хранилище аренд", "lease store is nil"))
	case ws == "" || name == "" || holder == "":
		return errorf("chatter: hold lease: %w", invalid("lease", "не указано пространство, имя или держатель аренды", "workspace, name or holder is empty"))
	case ttl <= 0:
		return errorf("chatter: hold lease %q: %w", name, invalid("ttl", "срок аренды должен быть положительным", "ttl must be positive"))
	}
	start := clk.Now()
	l, err := ls.AcquireLease(ctx, ws, name, holder, ttl)
	if err != nil {
		return errorf("chatter: hold lease %q: %w", name, err)
	}
	fnCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		keepLease(fnCtx, clk, ls, l, ttl, start.Add(ttl), cancel)
	}()

	fnErr := fn(fnCtx, l)

	lost := errors.Is(context.Cause(fnCtx), ErrLeaseLost)
	cancel(context.Canceled)
	<-renewed
	if lost {
		if fnErr != nil {
			return errorf("chatter: hold lease %q: %w: %w", name, ErrLeaseLost, fnErr)
		}
		return errorf("chatter: hold lease %q: %w", name, ErrLeaseLost)
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), leaseReleaseTimeout)
	defer rcancel()
	if err := ls.ReleaseLease(rctx, l); err != nil {
		return errors.Join(fnErr, errorf("chatter: release lease %q: %w", name, err))
	}
	return fnErr
}

// keepLease renews l every ttl/3 until ctx ends. deadline is when the lease
// expires at the latest by the local clock (measured from before the call
// that granted it). A refused renewal or reaching the deadline cancels ctx
// with ErrLeaseLost.
func keepLease(ctx context.Context, clk leaseClock, ls LeaseStore, l *Lease, ttl time.Duration, deadline time.Time, lose context.CancelCauseFunc) {
	every := max(ttl/3, time.Millisecond)
	wait := every
	cur := l
	for {
		untilExpiry := deadline.Sub(clk.Now())
		if untilExpiry <= 0 {
			lose(fmt.Errorf("%w: not renewed before expiry", ErrLeaseLost))
			return
		}
		c, stop := clk.After(min(wait, untilExpiry))
		select {
		case <-ctx.Done():
			stop()
			return
		case <-c:
		}
		if !clk.Now().Before(deadline) {
			lose(fmt.Errorf("%w: not renewed before expiry", ErrLeaseLost))
			return
		}
		callStart := clk.Now()
		next, err := ls.RenewLease(ctx, cur, ttl)
		switch {
		case err == nil:
			cur, deadline, wait = next, callStart.Add(ttl), every
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrLeaseLost):
			lose(errorf("%w: %w", ErrLeaseLost, err))
			return
		default:
			// A store hiccup: try again sooner, while the lease still holds.
			wait = max(every/4, time.Millisecond)
		}
	}
}
