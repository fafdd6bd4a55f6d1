package pgstore_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/pgstore"
)

// TestLeaseNeverHeldTwice has goroutines of two Stores contend for one lease:
// at no moment do two holders believe they hold it, and each new grant's
// fencing token is greater than every earlier one.
func TestLeaseNeverHeldTwice(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	a, _ := storeOn(t, schema)
	b, _ := storeOn(t, schema)
	ctx := t.Context()
	const perWorker = 25
	var (
		mu        sync.Mutex
		holder    string
		lastToken int64
		grants    int
		doubles   int
		decreases int
	)
	var wg sync.WaitGroup
	for i, s := range []*pgstore.Store{a, b, a, b, a, b, a, b} {
		me := string(rune('A'+i%2)) + string(rune('0'+i))
		wg.Go(func() {
			for got := 0; got < perWorker; {
				l, err := s.AcquireLease(ctx, "ws", "session:acc", me, 30*time.Second)
				if errors.Is(err, chatter.ErrLeaseHeld) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				got++
				mu.Lock()
				if holder != "" {
					doubles++
				}
				holder = me
				if l.Token <= lastToken {
					decreases++
				}
				lastToken = l.Token
				grants++
				mu.Unlock()
				// Hold it for a moment, then give it up.
				time.Sleep(100 * time.Microsecond)
				mu.Lock()
				holder = ""
				mu.Unlock()
				if err := s.ReleaseLease(ctx, l); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if doubles != 0 {
		t.Errorf("the lease was held by two holders at once %d times", doubles)
	}
	if decreases != 0 {
		t.Errorf("fencing tokens failed to increase %d times", decreases)
	}
	if grants != 8*perWorker {
		t.Errorf("%d grants, want %d", grants, 8*perWorker)
	}
}

// TestRateBudgetAcrossStores has goroutines of two Stores reserve slots of one
// key: the granted slot times (as returned) are at least one interval apart.
func TestRateBudgetAcrossStores(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	a, _ := storeOn(t, schema)
	b, _ := storeOn(t, schema)
	ctx := t.Context()
	const interval = 143 * time.Millisecond // 7 req/s
	var (
		mu    sync.Mutex
		slots []time.Time
		wg    sync.WaitGroup
	)
	for _, s := range []*pgstore.Store{a, b, a, b, a, b} {
		wg.Go(func() {
			for range 20 {
				at, err := s.Reserve(ctx, "ws", "amocrm:acme", interval)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				slots = append(slots, at)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(slots, time.Time.Compare)
	if len(slots) != 120 {
		t.Fatalf("%d slots, want 120", len(slots))
	}
	for i := 1; i < len(slots); i++ {
		if gap := slots[i].Sub(slots[i-1]); gap < interval {
			t.Errorf("slots %d and %d are %v apart, less than %v", i-1, i, gap, interval)
		}
	}
	// Another workspace's key is independent.
	other, err := a.Reserve(ctx, "ws2", "amocrm:acme", interval)
	if err != nil {
		t.Fatal(err)
	}
	if !other.Before(slots[len(slots)-1]) {
		t.Errorf("another workspace waited behind this one's bookings")
	}
	// Penalize pushes every later slot past until.
	until := slots[len(slots)-1].Add(time.Hour)
	if err := b.Penalize(ctx, "ws", "amocrm:acme", until); err != nil {
		t.Fatal(err)
	}
	if err := b.Penalize(ctx, "ws", "amocrm:acme", until.Add(-time.Minute)); err != nil { // never pulls back
		t.Fatal(err)
	}
	next, err := a.Reserve(ctx, "ws", "amocrm:acme", interval)
	if err != nil {
		t.Fatal(err)
	}
	if next.Before(until) {
		t.Errorf("slot after Penalize(%v) is %v", until, next)
	}
}
