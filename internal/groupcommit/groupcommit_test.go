package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a CommitFunc that doubles every item, fails items < 0 alone
// (per-item error), fails a whole batch holding 13, and can be held at a gate.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	gate    chan struct{} // when not nil, each commit waits until it is closed
	entered chan struct{} // when not nil, receives one value per commit call
}

var errThirteen = errors.New("13 rejected")

func (r *recorder) commit(ctx context.Context, items []int) ([]int, []error, error) {
	if r.entered != nil {
		r.entered <- struct{}{}
	}
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(items))
	r.mu.Unlock()
	if slices.Contains(items, 13) {
		return nil, nil, errThirteen
	}
	rs := make([]int, len(items))
	var errs []error
	for i, v := range items {
		if v < 0 {
			if errs == nil {
				errs = make([]error, len(items))
			}
			errs[i] = fmt.Errorf("negative item %d", v)
			continue
		}
		rs[i] = 2 * v
	}
	return rs, errs, nil
}

func (r *recorder) seen() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

func newCommitter(t *testing.T, r *recorder, cfg Config) *Committer[int, int] {
	t.Helper()
	c, err := New(r.commit, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// queued is the number of items in the open batch.
func (c *Committer[T, R]) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open == nil {
		return 0
	}
	return len(c.open.items)
}

func TestNewRejectsBadConfig(t *testing.T) {
	r := &recorder{}
	for _, cfg := range []Config{{MaxBatch: -1}, {MaxWait: -1}, {CommitTimeout: -1}} {
		if _, err := New(r.commit, cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	if _, err := New[int, int](nil, Config{}); err == nil {
		t.Error("New(nil commit) succeeded")
	}
}

func TestSubmitAlone(t *testing.T) {
	r := &recorder{}
	c := newCommitter(t, r, Config{})
	got, err := c.Submit(t.Context(), 21)
	if err != nil || got != 42 {
		t.Fatalf("Submit(21) = %d, %v; want 42", got, err)
	}
	if b := r.seen(); len(b) != 1 || !slices.Equal(b[0], []int{21}) {
		t.Errorf("batches %v, want [[21]]", b)
	}
}

func TestSubmitAloneWithMaxWait(t *testing.T) {
	r := &recorder{}
	c := newCommitter(t, r, Config{MaxWait: time.Millisecond})
	if got, err := c.Submit(t.Context(), 5); err != nil || got != 10 {
		t.Fatalf("Submit(5) = %d, %v; want 10", got, err)
	}
}

// holdFirst starts a lone Submit(first) whose commit is held at r.gate, and
// returns once that commit has started, with a channel of its outcome.
func holdFirst(t *testing.T, c *Committer[int, int], r *recorder, first int) <-chan error {
	t.Helper()
	out := make(chan error, 1)
	go func() {
		got, err := c.Submit(context.WithoutCancel(t.Context()), first)
		if err == nil && got != 2*first {
			err = fmt.Errorf("Submit(%d) = %d", first, got)
		}
		out <- err
	}()
	<-r.entered
	return out
}

// TestBatchesFillWhileCommitting holds the first commit and checks that the
// callers arriving meanwhile share batches of at most MaxBatch, each getting
// its own result.
func TestBatchesFillWhileCommitting(t *testing.T) {
	r := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	c := newCommitter(t, r, Config{MaxBatch: 4, MaxWait: time.Hour})
	// MaxWait is an hour: batches below are committed only because they
	// fill up, so the first is a full batch of 4.
	const n = 12
	var wg sync.WaitGroup
	results := make([]int, n)
	errs := make([]error, n)
	for i := range 4 {
		wg.Go(func() { results[i], errs[i] = c.Submit(t.Context(), i+1) })
	}
	<-r.entered // the first batch (items 1..4) is committing and held
	for i := 4; i < n; i++ {
		wg.Go(func() { results[i], errs[i] = c.Submit(t.Context(), i+1) })
	}
	close(r.gate) // MaxWait is an hour: each later batch commits once it holds 4

	wg.Wait()
	for i := range n {
		if errs[i] != nil || results[i] != 2*(i+1) {
			t.Errorf("item %d: %d, %v; want %d", i+1, results[i], errs[i], 2*(i+1))
		}
	}
	batches := r.seen()
	if len(batches) != 3 {
		t.Fatalf("batches %v, want 3 of 4", batches)
	}
	var all []int
	for _, b := range batches {
		if len(b) != 4 {
			t.Errorf("batch %v, want 4 items", b)
		}
		all = append(all, b...)
	}
	slices.Sort(all)
	for i, v := range all {
		if v != i+1 {
			t.Fatalf("items committed %v, want 1..%d once each", all, n)
		}
	}
}

// TestLeaderWaitsForPreviousCommit: with MaxWait 0, items arriving during a
// commit join one batch, committed right after.
func TestLeaderWaitsForPreviousCommit(t *testing.T) {
	r := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	c := newCommitter(t, r, Config{})
	first := holdFirst(t, c, r, 100)
	var wg sync.WaitGroup
	const n = 10
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			got, err := c.Submit(t.Context(), i)
			if err == nil && got != 2*i {
				err = fmt.Errorf("got %d", got)
			}
			errs[i] = err
		})
	}
	waitFor(t, "all items queued", func() bool { return c.queued() == n })
	close(r.gate)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("item %d: %v", i, err)
		}
	}
	if b := r.seen(); len(b) != 2 || len(b[1]) != n {
		t.Errorf("batches %v, want [100] then one batch of %d", b, n)
	}
}

// TestPerItemErrors: an item the commit function fails alone fails only its
// caller, in the same batch as the others.
func TestPerItemErrors(t *testing.T) {
	r := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	c := newCommitter(t, r, Config{})
	first := holdFirst(t, c, r, 1)
	items := []int{2, -3, 4, -5, 6}
	errs := make([]error, len(items))
	results := make([]int, len(items))
	var wg sync.WaitGroup
	for i, v := range items {
		wg.Go(func() { results[i], errs[i] = c.Submit(t.Context(), v) })
	}
	waitFor(t, "items queued", func() bool { return c.queued() == len(items) })
	close(r.gate)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, v := range items {
		switch {
		case v < 0 && (errs[i] == nil || !strings.Contains(errs[i].Error(), "negative item")):
			t.Errorf("item %d: error %v, want its own failure", v, errs[i])
		case v < 0 && results[i] != 0:
			t.Errorf("failed item %d has result %d", v, results[i])
		case v >= 0 && (errs[i] != nil || results[i] != 2*v):
			t.Errorf("item %d: %d, %v; want %d", v, results[i], errs[i], 2*v)
		}
	}
	if b := r.seen(); len(b) != 2 {
		t.Errorf("batches %v, want 2 (per-item errors do not split a batch)", b)
	}
}

// TestFailedBatchIsSplit: a batch that fails as a whole is committed again
// item by item; only the culprit fails.
func TestFailedBatchIsSplit(t *testing.T) {
	r := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	c := newCommitter(t, r, Config{})
	first := holdFirst(t, c, r, 1)
	items := []int{11, 12, 13, 14}
	errs := make([]error, len(items))
	results := make([]int, len(items))
	var wg sync.WaitGroup
	for i, v := range items {
		wg.Go(func() { results[i], errs[i] = c.Submit(t.Context(), v) })
	}
	waitFor(t, "items queued", func() bool { return c.queued() == len(items) })
	close(r.gate)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, v := range items {
		if v == 13 {
			if !errors.Is(errs[i], errThirteen) {
				t.Errorf("item 13: error %v, want errThirteen", errs[i])
			}
			continue
		}
		if errs[i] != nil || results[i] != 2*v {
			t.Errorf("item %d: %d, %v; want %d", v, results[i], errs[i], 2*v)
		}
	}
	// [1], the failed batch of 4, then 4 single retries.
	if b := r.seen(); len(b) != 6 {
		t.Errorf("batches %v, want 6", b)
	}
}

// TestLoneFailureIsNotRetried: one item's batch error is its error.
func TestLoneFailureIsNotRetried(t *testing.T) {
	r := &recorder{}
	c := newCommitter(t, r, Config{})
	if _, err := c.Submit(t.Context(), 13); !errors.Is(err, errThirteen) {
		t.Fatalf("Submit(13) error %v, want errThirteen", err)
	}
	if b := r.seen(); len(b) != 1 {
		t.Errorf("batches %v, want 1", b)
	}
}

func TestCancelledBeforeSubmit(t *testing.T) {
	r := &recorder{}
	c := newCommitter(t, r, Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Submit(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit(cancelled) error %v, want context.Canceled", err)
	}
	if b := r.seen(); len(b) != 0 {
		t.Errorf("a cancelled submit was committed: %v", b)
	}
}

// TestCancelledMemberLeavesAndIsDropped: a member whose ctx ends while its
// batch waits returns at once and is not committed; the others are.
func TestCancelledMemberLeavesAndIsDropped(t *testing.T) {
	r := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	c := newCommitter(t, r, Config{})
	first := holdFirst(t, c, r, 1)
	var wg sync.WaitGroup
	var leadErr error
	wg.Go(func() { _, leadErr = c.Submit(t.Context(), 2) }) // leads the next batch
	waitFor(t, "leader queued", func() bool { return c.queued() == 1 })
	ctx, cancel := context.WithCancel(t.Context())
	gone := make(chan error, 1)
	go func() { _, err := c.Submit(ctx, 3); gone <- err }()
	waitFor(t, "member queued", func() bool { return c.queued() == 2 })
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled member: error %v, want context.Canceled", err)
	}
	close(r.gate) // only now can the batch commit
	wg.Wait()
	if leadErr != nil {
		t.Fatalf("leader: %v", leadErr)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if b := r.seen(); len(b) != 2 || !slices.Equal(b[1], []int{2}) {
		t.Errorf("batches %v, want [[1] [2]]: the cancelled item dropped", b)
	}
}

// TestCancelledLeaderStillCommitsMembers: a leader whose ctx ends stays to
// commit the others' items and reports its own cancellation.
func TestCancelledLeaderStillCommitsMembers(t *testing.T) {
	r := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	c := newCommitter(t, r, Config{})
	first := holdFirst(t, c, r, 1)
	ctx, cancel := context.WithCancel(t.Context())
	lead := make(chan error, 1)
	go func() { _, err := c.Submit(ctx, 2); lead <- err }()
	waitFor(t, "leader queued", func() bool { return c.queued() == 1 })
	member := make(chan error, 1)
	go func() {
		got, err := c.Submit(t.Context(), 3)
		if err == nil && got != 6 {
			err = fmt.Errorf("got %d", got)
		}
		member <- err
	}()
	waitFor(t, "member queued", func() bool { return c.queued() == 2 })
	cancel()
	close(r.gate)
	if err := <-lead; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled leader: error %v, want context.Canceled", err)
	}
	if err := <-member; err != nil {
		t.Errorf("member: %v", err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if b := r.seen(); len(b) != 2 || !slices.Equal(b[1], []int{3}) {
		t.Errorf("batches %v, want [[1] [3]]", b)
	}
}

// TestCommitContextOutlivesCallers: the commit function's ctx is not
// cancelled with the caller's.
func TestCommitContextOutlivesCallers(t *testing.T) {
	var seenErr error
	c, err := New(func(ctx context.Context, items []int) ([]int, []error, error) {
		seenErr = ctx.Err()
		if _, ok := ctx.Deadline(); !ok {
			return nil, nil, errors.New("commit ctx has no deadline")
		}
		return items, nil, nil
	}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if seenErr != nil {
		t.Errorf("commit ctx already done: %v", seenErr)
	}
}

func TestWrongResultCount(t *testing.T) {
	c, err := New(func(context.Context, []int) ([]int, []error, error) { return nil, nil, nil }, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(t.Context(), 1); err == nil || !strings.Contains(err.Error(), "0 results") {
		t.Fatalf("Submit with a short result slice: error %v", err)
	}
}

// TestPanickingCommit: members of a batch whose commit panics get
// ErrNotCommitted instead of hanging; the panic reaches the leader.
func TestPanickingCommit(t *testing.T) {
	r := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	calls := 0
	c, err := New(func(ctx context.Context, items []int) ([]int, []error, error) {
		calls++
		if calls == 2 {
			panic("boom")
		}
		return r.commit(ctx, items)
	}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	first := holdFirst(t, c, r, 1)
	lead := make(chan any, 1)
	go func() {
		defer func() { lead <- recover() }()
		_, _ = c.Submit(t.Context(), 2)
	}()
	waitFor(t, "leader queued", func() bool { return c.queued() == 1 })
	member := make(chan error, 1)
	go func() { _, err := c.Submit(t.Context(), 3); member <- err }()
	waitFor(t, "member queued", func() bool { return c.queued() == 2 })
	close(r.gate)
	if err := <-member; !errors.Is(err, ErrNotCommitted) {
		t.Errorf("member of a panicked batch: error %v, want ErrNotCommitted", err)
	}
	if p := <-lead; p != "boom" {
		t.Errorf("leader recovered %v, want the panic", p)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// The committer still works after the panic.
	if got, err := c.Submit(t.Context(), 4); err != nil || got != 8 {
		t.Errorf("Submit after panic = %d, %v", got, err)
	}
}
