package amocrm

import (
	"context"
	"errors"
	"testing"
	"time"
)

// blocked reports whether Wait would block: it gives Wait a short deadline on
// a frozen clock, so the outcome does not depend on timing.
func blocked(t *testing.T, l Limiter) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
	defer cancel()
	err := l.Wait(ctx)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait: %v", err)
	}
	return err != nil
}

func TestIntervalLimiter(t *testing.T) {
	t.Parallel()
	l := NewIntervalLimiter(time.Second).(*intervalLimiter)
	t0 := time.Unix(1_700_000_000, 0)
	now := t0
	l.now = func() time.Time { return now }

	if blocked(t, l) {
		t.Fatal("first request waited")
	}
	now = t0.Add(999 * time.Millisecond)
	if !blocked(t, l) {
		t.Fatal("second request within the interval did not wait")
	}
	now = t0.Add(time.Second)
	if blocked(t, l) {
		t.Fatal("request after the interval waited")
	}
	// A late start is not caught up: the next gap counts from the actual start.
	now = t0.Add(5 * time.Second)
	if blocked(t, l) {
		t.Fatal("late request waited")
	}
	now = t0.Add(5*time.Second + 500*time.Millisecond)
	if !blocked(t, l) {
		t.Fatal("the limiter let a request catch up after a late one")
	}
	// Throttled pauses beyond the interval.
	now = t0.Add(10 * time.Second)
	_ = l.Throttled(t.Context(), time.Minute)
	now = now.Add(30 * time.Second)
	if !blocked(t, l) {
		t.Fatal("request during the pause did not wait")
	}
	now = now.Add(31 * time.Second)
	if blocked(t, l) {
		t.Fatal("request after the pause waited")
	}
	// A cancelled context returns at once without taking the slot.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	before := l.last
	now = now.Add(time.Hour)
	if err := l.Wait(ctx); !errors.Is(err, context.Canceled) || !l.last.Equal(before) {
		t.Errorf("cancelled Wait = %v, last moved %v → %v", err, before, l.last)
	}
	if d := NewIntervalLimiter(0).(*intervalLimiter).interval; d != DefaultInterval {
		t.Errorf("interval 0 → %v, want DefaultInterval", d)
	}
}

// The default limiter of a client is the interval limiter.
func TestDefaultLimiterIsInterval(t *testing.T) {
	t.Parallel()
	c, err := NewClient("example", WithLongLivedToken(testToken))
	if err != nil {
		t.Fatal(err)
	}
	il, ok := c.limiter.(*intervalLimiter)
	if !ok || il.interval != time.Second/7+5*time.Millisecond {
		t.Fatalf("default limiter = %#v", c.limiter)
	}
	if DefaultRate*MaxComplexBatch != 350 || float64(time.Second)/float64(DefaultInterval) < 0.95*DefaultRate {
		t.Errorf("DefaultInterval %v paces below 95%% of %d/s", DefaultInterval, DefaultRate)
	}
}
