package tgbot

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff returns the wait before retry number attempt (1-based): base·2^(attempt-1)
// capped at maxWait, with "equal jitter" (half fixed, half random).
func backoff(attempt int, base, maxWait time.Duration) time.Duration {
	d := base << min(max(attempt-1, 0), 30)
	if d <= 0 || d > maxWait {
		d = maxWait
	}
	half := d / 2
	return half + rand.N(half+1)
}

// sleep waits for d or until ctx ends (then it returns ctx.Err()).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
