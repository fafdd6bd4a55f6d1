package chattertest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// fakeClock is a settable clock for MemStore tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestMemStoreSealsSecrets(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, 32)
	sl, err := chatter.NewSealer("k1", map[string][]byte{"k1": key})
	if err != nil {
		t.Fatal(err)
	}
	s := NewMemStore(WithSealer(sl))
	ctx := t.Context()
	tok := &chatter.Token{Workspace: "ws", Account: "remontmsk", AccessToken: "secret-access-token", RefreshToken: "secret-refresh-token"}
	if _, err := s.SwapToken(ctx, tok, 0); err != nil {
		t.Fatal(err)
	}
	l, err := s.AcquireLease(ctx, "ws", chatter.SessionLeaseName("acc"), "me", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte("mtproto-session-auth-key-0123456789")
	if err := s.StoreSession(ctx, "ws", "acc", blob, l); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	tokAtRest := bytes.Clone(s.tokens[wsName{"ws", "remontmsk"}].secret)
	stored := s.tokens[wsName{"ws", "remontmsk"}].t
	sessAtRest := bytes.Clone(s.sessions[wsName{"ws", "acc"}])
	s.mu.Unlock()
	if bytes.Contains(tokAtRest, []byte("secret-access-token")) || bytes.Contains(tokAtRest, []byte("secret-refresh-token")) ||
		stored.AccessToken != "" || stored.RefreshToken != "" {
		t.Errorf("token secrets are stored in plain text")
	}
	if bytes.Contains(sessAtRest, blob) {
		t.Errorf("session blob is stored in plain text")
	}
	if id, err := sl.KeyID(sessAtRest); err != nil || id != "k1" {
		t.Errorf("session at rest is not sealed with k1: %q, %v", id, err)
	}
	got, err := s.GetToken(ctx, "ws", "remontmsk")
	if err != nil || got.AccessToken != tok.AccessToken || got.RefreshToken != tok.RefreshToken {
		t.Errorf("GetToken = %+v, %v; want the secrets back", got, err)
	}
	sess, err := s.LoadSession(ctx, "ws", "acc")
	if err != nil || !bytes.Equal(sess, blob) {
		t.Errorf("LoadSession = %q, %v; want the blob back", sess, err)
	}
	// A sealed session cannot be moved to another row.
	s.mu.Lock()
	s.sessions[wsName{"ws", "other"}] = sessAtRest
	s.mu.Unlock()
	if _, err := s.LoadSession(ctx, "ws", "other"); !errors.Is(err, chatter.ErrUnseal) {
		t.Errorf("LoadSession(moved blob) = %v, want ErrUnseal", err)
	}
}

func TestMemStoreInjectedClock(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := NewMemStore(WithClock(clock.Now))
	ctx := t.Context()
	start := clock.Now()

	// Ledger stamps.
	m := NewMessage("ws", -1, 1, "")
	if _, err := s.SaveMessage(ctx, m, chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: true}, MaxAttempts: 3}); err != nil {
		t.Fatal(err)
	}
	e, _ := s.GetEntry(ctx, "ws", m.Key)
	if !e.ReceivedAt.Equal(start) || !e.NextAt.Equal(start) {
		t.Errorf("entry stamped %v / next %v, want the injected %v", e.ReceivedAt, e.NextAt, start)
	}

	// GCRA slots follow the injected clock exactly.
	for i, want := range []time.Time{start, start.Add(time.Second), start.Add(2 * time.Second)} {
		got, err := s.Reserve(ctx, "ws", "amocrm", time.Second)
		if err != nil || !got.Equal(want) {
			t.Errorf("Reserve #%d = %v, %v; want %v", i, got, err, want)
		}
	}
	clock.Advance(10 * time.Second)
	if got, _ := s.Reserve(ctx, "ws", "amocrm", time.Second); !got.Equal(clock.Now()) {
		t.Errorf("Reserve after idle = %v, want now %v (no burst credit)", got, clock.Now())
	}
	if err := s.Penalize(ctx, "ws", "amocrm", clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Reserve(ctx, "ws", "amocrm", time.Second); !got.Equal(clock.Now().Add(time.Minute)) {
		t.Errorf("Reserve after Penalize = %v, want %v", got, clock.Now().Add(time.Minute))
	}

	// Lease expiry is judged by the injected clock.
	a, err := s.AcquireLease(ctx, "ws", "l", "a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !a.ExpiresAt.Equal(clock.Now().Add(time.Minute)) {
		t.Errorf("lease expires %v, want now+1m", a.ExpiresAt)
	}
	clock.Advance(59 * time.Second)
	if _, err := s.AcquireLease(ctx, "ws", "l", "b", time.Minute); !errors.Is(err, chatter.ErrLeaseHeld) {
		t.Errorf("AcquireLease before expiry = %v, want ErrLeaseHeld", err)
	}
	clock.Advance(time.Second)
	b, err := s.AcquireLease(ctx, "ws", "l", "b", time.Minute)
	if err != nil || b.Token != a.Token+1 {
		t.Errorf("AcquireLease at expiry = %+v, %v; want token %d", b, err, a.Token+1)
	}
	// The previous holder re-acquiring after expiry gets a new token too.
	clock.Advance(time.Minute)
	a2, err := s.AcquireLease(ctx, "ws", "l", "a", time.Minute)
	if err != nil || a2.Token != b.Token+1 {
		t.Errorf("re-acquire after expiry = %+v, %v; want token %d", a2, err, b.Token+1)
	}

	// Retry delays follow the injected clock: the job waits until it is advanced.
	var mu sync.Mutex
	var attempts []int
	ctxW, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- s.Work(ctxW, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
			mu.Lock()
			attempts = append(attempts, j.Attempt)
			n := len(attempts)
			mu.Unlock()
			if n == 1 {
				return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassTransient, Delay: time.Hour}
			}
			return chatter.Outcome{Kind: chatter.OutcomeDelivered}
		})
	}()
	waitFor(t, "the failed attempt", func() (bool, error) {
		e, err := s.GetEntry(ctx, "ws", m.Key)
		return err == nil && e.State == chatter.StateFailed, err
	})
	e, _ = s.GetEntry(ctx, "ws", m.Key)
	if !e.NextAt.Equal(clock.Now().Add(time.Hour)) {
		t.Errorf("NextAt = %v, want now+1h = %v", e.NextAt, clock.Now().Add(time.Hour))
	}
	clock.Advance(time.Hour)
	waitFor(t, "delivery after the clock moved", func() (bool, error) {
		e, err := s.GetEntry(ctx, "ws", m.Key)
		return err == nil && e.State == chatter.StateDelivered, err
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Work = %v", err)
	}
	e, _ = s.GetEntry(ctx, "ws", m.Key)
	if !e.DeliveredAt.Equal(clock.Now()) || e.Attempts != 2 {
		t.Errorf("delivered entry = %+v, want DeliveredAt = injected now, 2 attempts", e)
	}
}

func TestMemStoreInvalidOutcome(t *testing.T) {
	t.Parallel()
	s := NewMemStore()
	m := NewMessage("ws", -1, 1, "")
	if _, err := s.SaveMessage(t.Context(), m, chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: true}, MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- s.Work(ctx, chatter.QueueConfig{Workers: 1}, func(context.Context, *chatter.Job) chatter.Outcome {
			return chatter.Outcome{} // zero Kind: a bug in the caller
		})
	}()
	waitFor(t, "the dead entry", func() (bool, error) {
		e, err := s.GetEntry(t.Context(), "ws", m.Key)
		return err == nil && e.State == chatter.StateDead, err
	})
	cancel()
	<-done
	e, _ := s.GetEntry(t.Context(), "ws", m.Key)
	if e.ErrorClass != chatter.ClassInternal || e.LastError == "" {
		t.Errorf("entry after an invalid outcome = %+v, want internal with a reason", e)
	}
}

func TestMemStoreCanceledContext(t *testing.T) {
	t.Parallel()
	s := NewMemStore()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.SaveMessage(ctx, NewMessage("ws", -1, 1, ""), chatter.AcceptOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("SaveMessage(canceled) = %v", err)
	}
	if _, err := s.GetEntry(t.Context(), "ws", NewMessage("ws", -1, 1, "").Key); !errors.Is(err, chatter.ErrNotFound) {
		t.Errorf("a save with a canceled context stored the message: %v", err)
	}
}
