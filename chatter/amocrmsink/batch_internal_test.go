package amocrmsink

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
)

// echoBatcher returns a batcher whose send records every batch and answers
// each item with itself times ten, after release (if set) is closed.
func echoBatcher(size int, release chan struct{}) (*batcher[int, int], func() [][]int, chan context.Context) {
	var mu sync.Mutex
	var sent [][]int
	started := make(chan context.Context, 16)
	b := &batcher[int, int]{size: size, wait: time.Minute, method: "POST", path: "/test", send: func(ctx context.Context, items []int) ([]int, []error) {
		mu.Lock()
		sent = append(sent, slices.Clone(items))
		mu.Unlock()
		started <- ctx
		if release != nil {
			<-release
		}
		rs := make([]int, len(items))
		for i, it := range items {
			rs[i] = it * 10
		}
		return rs, make([]error, len(items))
	}}
	return b, func() [][]int { mu.Lock(); defer mu.Unlock(); return slices.Clone(sent) }, started
}

func TestBatcherFullBatchGoesOutAsOne(t *testing.T) {
	b, sent, _ := echoBatcher(5, nil)
	var wg sync.WaitGroup
	got := make([]int, 10)
	for i := range 10 {
		wg.Go(func() {
			r, err := b.do(t.Context(), i+1)
			if err != nil {
				t.Errorf("item %d: %v", i+1, err)
			}
			got[i] = r
		})
	}
	wg.Wait()
	for i, r := range got {
		if r != (i+1)*10 {
			t.Errorf("item %d got %d, want %d", i+1, r, (i+1)*10)
		}
	}
	if s := sent(); len(s) != 2 || len(s[0]) != 5 || len(s[1]) != 5 {
		t.Fatalf("batches = %v, want two of five", s)
	}
}

func TestBatcherCallerLeavingBeforeSendIsDropped(t *testing.T) {
	b, sent, _ := echoBatcher(2, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := b.do(ctx, 1); done <- err }()
	// Wait until the item is queued, then leave.
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.mu.Lock()
		queued := b.open != nil && len(b.open.calls) == 1
		b.mu.Unlock()
		if queued {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("item never queued")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("left caller: %v, want context.Canceled", err)
	}
	var wg sync.WaitGroup
	for _, it := range []int{2, 3} {
		wg.Go(func() {
			if r, err := b.do(t.Context(), it); err != nil || r != it*10 {
				t.Errorf("item %d: %d, %v", it, r, err)
			}
		})
	}
	wg.Wait()
	s := sent()
	if len(s) != 1 || slices.Contains(s[0], 1) {
		t.Fatalf("batches = %v, want one batch without the item whose caller left", s)
	}
}

func TestBatcherCallerLeavingInFlightGetsAmbiguous(t *testing.T) {
	release := make(chan struct{})
	b, _, started := echoBatcher(2, release)
	ctx, cancel := context.WithCancel(t.Context())
	errA := make(chan error, 1)
	resB := make(chan int, 1)
	go func() { _, err := b.do(ctx, 1); errA <- err }()
	go func() {
		r, err := b.do(t.Context(), 2)
		if err != nil {
			t.Error(err)
		}
		resB <- r
	}()
	sendCtx := <-started
	cancel()
	var ou *amocrm.OutcomeUnknownError
	if err := <-errA; !errors.As(err, &ou) || !errors.Is(err, context.Canceled) {
		t.Fatalf("caller leaving in flight: %v, want an OutcomeUnknownError", err)
	}
	if sendCtx.Err() != nil {
		t.Fatal("the request was cancelled although another caller still waits")
	}
	close(release)
	if r := <-resB; r != 20 {
		t.Fatalf("remaining caller got %d, want 20", r)
	}
}

// TestBatcherReadLeftInFlightIsNoWrite: a caller that gives up on a read
// batch in flight gets its context's error naming the read, not an
// ambiguous write.
func TestBatcherReadLeftInFlightIsNoWrite(t *testing.T) {
	release := make(chan struct{})
	b, _, started := echoBatcher(2, release)
	b.method, b.path = "GET", "/api/v4/leads"
	ctx, cancel := context.WithCancel(t.Context())
	errA := make(chan error, 1)
	resB := make(chan int, 1)
	go func() { _, err := b.do(ctx, 1); errA <- err }()
	go func() { r, _ := b.do(t.Context(), 2); resB <- r }()
	<-started
	cancel()
	err := <-errA
	close(release)
	require.Equal(t, 20, <-resB, "the caller that stayed gets its answer")
	var ou *amocrm.OutcomeUnknownError
	require.False(t, errors.As(err, &ou), "a read reported as an ambiguous write: %v", err)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, "amocrmsink: GET /api/v4/leads: gave up waiting for the answer: context canceled", err.Error())
}

func TestBatcherOffSendsAlone(t *testing.T) {
	b, sent, _ := echoBatcher(1, nil)
	for i := range 3 {
		if r, err := b.do(t.Context(), i); err != nil || r != i*10 {
			t.Fatalf("item %d: %d, %v", i, r, err)
		}
	}
	if s := sent(); len(s) != 3 {
		t.Fatalf("batches = %v, want three single sends", s)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.do(ctx, 9); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
}

func TestBatcherCollectsWhileRequestInFlight(t *testing.T) {
	release := make(chan struct{})
	b, sent, started := echoBatcher(10, release)
	b.wait = time.Millisecond
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := b.do(t.Context(), 1); err != nil {
			t.Error(err)
		}
	})
	<-started // the first batch is in flight, blocked
	for _, it := range []int{2, 3, 4} {
		wg.Go(func() {
			if r, err := b.do(t.Context(), it); err != nil || r != it*10 {
				t.Errorf("item %d: %d, %v", it, r, err)
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.mu.Lock()
		queued := b.open != nil && len(b.open.calls) == 3
		b.mu.Unlock()
		if queued {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("items never queued")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if s := sent(); len(s) != 2 || len(s[1]) != 3 {
		t.Fatalf("batches = %v, want [1] then the three that waited for it", s)
	}
}
