package chatter

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeLeases is a LeaseStore whose answers the test sets.
type fakeLeases struct {
	mu         sync.Mutex
	held       bool // AcquireLease answers ErrLeaseHeld
	renewErr   error
	renews     int
	released   []*Lease
	releaseErr error
}

func (f *fakeLeases) AcquireLease(_ context.Context, ws, name, holder string, ttl time.Duration) (*Lease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held {
		return nil, ErrLeaseHeld
	}
	return &Lease{Workspace: ws, Name: name, Holder: holder, Token: 7}, nil
}

func (f *fakeLeases) RenewLease(_ context.Context, l *Lease, ttl time.Duration) (*Lease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.renews++
	if f.renewErr != nil {
		return nil, f.renewErr
	}
	cp := *l
	return &cp, nil
}

func (f *fakeLeases) ReleaseLease(_ context.Context, l *Lease) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released = append(f.released, l)
	return f.releaseErr
}

func (f *fakeLeases) state() (renews, released int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.renews, len(f.released)
}

func (f *fakeLeases) setRenewErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.renewErr = err
}

// holdInBackground runs holdLease with fn blocking until stop is closed or
// its ctx ends; it reports fn's ctx and HoldLease's error.
func holdInBackground(t *testing.T, clk *fakeClock, ls *fakeLeases, ttl time.Duration) (fnCtx chan context.Context, stop chan struct{}, done chan error) {
	fnCtx, stop, done = make(chan context.Context, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- holdLease(t.Context(), clk, ls, "ws1", "session:acc", "inst-1", ttl, func(ctx context.Context, l *Lease) error {
			if l.Token != 7 {
				t.Errorf("lease = %+v", l)
			}
			fnCtx <- ctx
			select {
			case <-stop:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return fnCtx, stop, done
}

func TestHoldLeaseRenewsAndReleases(t *testing.T) {
	t.Parallel()
	clk, ls := newFakeClock(), &fakeLeases{}
	ctxc, stop, done := holdInBackground(t, clk, ls, 30*time.Second)
	ctx := <-ctxc
	for i := 1; i <= 3; i++ {
		waitFor(t, "renew timer", func() bool { return clk.Waiters() == 1 })
		clk.Advance(10 * time.Second) // ttl/3
		waitFor(t, "renewal", func() bool { r, _ := ls.state(); return r == i })
	}
	if ctx.Err() != nil {
		t.Fatal("fn's context ended while the lease was renewed")
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("HoldLease = %v", err)
	}
	if _, rel := ls.state(); rel != 1 {
		t.Errorf("released %d times", rel)
	}
}

func TestHoldLeaseLostOnRefusedRenewal(t *testing.T) {
	t.Parallel()
	clk, ls := newFakeClock(), &fakeLeases{renewErr: ErrLeaseLost}
	ctxc, _, done := holdInBackground(t, clk, ls, 30*time.Second)
	ctx := <-ctxc
	waitFor(t, "renew timer", func() bool { return clk.Waiters() == 1 })
	clk.Advance(10 * time.Second)
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), ErrLeaseLost) {
		t.Errorf("cause = %v", context.Cause(ctx))
	}
	err := <-done
	if !errors.Is(err, ErrLeaseLost) || !errors.Is(err, context.Canceled) {
		t.Errorf("HoldLease = %v; want ErrLeaseLost and fn's error", err)
	}
	if _, rel := ls.state(); rel != 0 {
		t.Error("a lost lease was released")
	}
}

func TestHoldLeaseLostWhenRenewalsFailUntilExpiry(t *testing.T) {
	t.Parallel()
	clk, ls := newFakeClock(), &fakeLeases{renewErr: errors.New("database is down")}
	ctxc, _, done := holdInBackground(t, clk, ls, 30*time.Second)
	ctx := <-ctxc
	for i := 0; ctx.Err() == nil; i++ {
		if i > 100 {
			t.Fatal("the lease was never given up")
		}
		waitFor(t, "timer or loss", func() bool { return clk.Waiters() == 1 || ctx.Err() != nil })
		if ctx.Err() == nil {
			clk.Advance(time.Second)
		}
	}
	if r, _ := ls.state(); r < 3 {
		t.Errorf("only %d renewal attempts before giving up", r)
	}
	if err := <-done; !errors.Is(err, ErrLeaseLost) {
		t.Errorf("HoldLease = %v", err)
	}
	if got := clk.Now().Sub(newTestClock().Now()); got != 30*time.Second {
		t.Errorf("gave up after %s; want at the 30 s expiry", got)
	}
}

func TestHoldLeaseRecoversFromTransientRenewError(t *testing.T) {
	t.Parallel()
	clk, ls := newFakeClock(), &fakeLeases{renewErr: errors.New("timeout")}
	ctxc, stop, done := holdInBackground(t, clk, ls, 30*time.Second)
	ctx := <-ctxc
	waitFor(t, "renew timer", func() bool { return clk.Waiters() == 1 })
	clk.Advance(10 * time.Second)
	waitFor(t, "failed renewal", func() bool { r, _ := ls.state(); return r == 1 })
	ls.setRenewErr(nil)
	waitFor(t, "retry timer", func() bool { return clk.Waiters() == 1 })
	clk.Advance(10 * time.Second)
	waitFor(t, "renewal", func() bool { r, _ := ls.state(); return r == 2 })
	// Renewed at 20 s: the lease now holds until 50 s, past the first expiry.
	waitFor(t, "renew timer", func() bool { return clk.Waiters() == 1 })
	clk.Advance(5 * time.Second)
	if ctx.Err() != nil {
		t.Fatal("lease given up although renewed")
	}
	close(stop)
	if err := <-done; err != nil {
		t.Errorf("HoldLease = %v", err)
	}
}

func TestHoldLeaseHeldAndInvalid(t *testing.T) {
	t.Parallel()
	ls := &fakeLeases{held: true}
	called := false
	fn := func(context.Context, *Lease) error { called = true; return nil }
	if err := HoldLease(t.Context(), ls, "ws1", "n", "h", time.Minute, fn); !errors.Is(err, ErrLeaseHeld) || called {
		t.Errorf("HoldLease on a held lease = %v (fn called %v)", err, called)
	}
	for _, tc := range []struct {
		ls             LeaseStore
		ws, name, hold string
		ttl            time.Duration
	}{
		{nil, "ws", "n", "h", time.Minute},
		{&fakeLeases{}, "", "n", "h", time.Minute},
		{&fakeLeases{}, "ws", "", "h", time.Minute},
		{&fakeLeases{}, "ws", "n", "", time.Minute},
		{&fakeLeases{}, "ws", "n", "h", 0},
	} {
		if err := HoldLease(t.Context(), tc.ls, tc.ws, tc.name, tc.hold, tc.ttl, fn); !errors.Is(err, ErrInvalid) || called {
			t.Errorf("HoldLease(%q,%q,%q,%s) = %v; want ErrInvalid", tc.ws, tc.name, tc.hold, tc.ttl, err)
		}
	}
}

func TestHoldLeaseReturnsFnAndReleaseErrors(t *testing.T) {
	t.Parallel()
	ls := &fakeLeases{releaseErr: errors.New("release failed")}
	err := HoldLease(t.Context(), ls, "ws1", "n", "h", time.Minute, func(ctx context.Context, l *Lease) error { return errBoom })
	if !errors.Is(err, errBoom) || !errors.Is(err, ls.releaseErr) {
		t.Errorf("HoldLease = %v; want both errors", err)
	}
	ls.releaseErr = nil
	if err := HoldLease(t.Context(), ls, "ws1", "n", "h", time.Minute, func(ctx context.Context, l *Lease) error { return nil }); err != nil {
		t.Errorf("HoldLease = %v", err)
	}
	if _, rel := ls.state(); rel != 2 {
		t.Errorf("released %d times; want 2", rel)
	}
}
