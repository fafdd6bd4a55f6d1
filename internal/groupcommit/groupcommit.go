package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Defaults of Config's zero fields.
const (
	DefaultMaxBatch      = 256
	DefaultCommitTimeout = time.Minute
)

// ErrNotCommitted is the error of the items of a batch whose commit function
// panicked: their commit is unknown. The panic itself goes on in the leader's
// goroutine.
var ErrNotCommitted = errors.New("groupcommit: batch commit did not complete")

// CommitFunc writes items as one batch (typically one transaction) and
// returns one result per item, in order.
//
// When err is nil the batch is committed: item i gets results[i], or errs[i]
// when errs is non-nil and errs[i] is not nil (a per-item failure that did not
// fail the batch). results (and errs, when non-nil) must have len(items)
// elements; otherwise every item fails with an error saying so.
//
// When err is not nil nothing of the batch is committed. A batch of more than
// one item is then committed again one item at a time (each call gets a
// one-item slice), and each item gets the outcome of its own call; an item
// alone gets err.
//
// ctx is detached from the callers' cancellation (see Submit) and bounded by
// Config.CommitTimeout. The function is never called concurrently by one
// Committer.
type CommitFunc[T, R any] func(ctx context.Context, items []T) (results []R, errs []error, err error)

// Config tunes a Committer. The zero value is valid.
type Config struct {
	// MaxBatch is the most items one batch carries. Zero means
	// DefaultMaxBatch; it must not be negative.
	MaxBatch int
	// MaxWait is how long the leader of a batch waits for more items before
	// committing. A batch also keeps filling while the previous batch
	// commits, so zero already batches under load without adding latency to
	// a lone caller. It must not be negative.
	MaxWait time.Duration
	// CommitTimeout bounds one call of the commit function, whose context
	// outlives the callers'. Zero means DefaultCommitTimeout.
	CommitTimeout time.Duration
	// Logger receives a warning when a batch fails and is split; nil is
	// silent.
	Logger *slog.Logger
}

// Committer batches concurrent Submit calls into calls of a CommitFunc. It is
// safe for concurrent use and starts no goroutines: each batch is committed
// by the goroutine of its first caller.
type Committer[T, R any] struct {
	commit   CommitFunc[T, R]
	maxBatch int
	maxWait  time.Duration
	timeout  time.Duration
	log      *slog.Logger

	mu   sync.Mutex
	open *batch[T, R] // the batch still accepting members, or nil

	commitMu sync.Mutex // held by the leader whose batch is committing
}

type batch[T, R any] struct {
	items []*item[T, R]
	full  chan struct{} // closed when the batch reached maxBatch
	done  chan struct{} // closed when every item has its result
}

type item[T, R any] struct {
	ctx context.Context
	v   T
	res R
	err error
}

// New returns a Committer that commits batches with commit. It returns an
// error for a nil commit or a negative MaxBatch, MaxWait or CommitTimeout.
func New[T, R any](commit CommitFunc[T, R], cfg Config) (*Committer[T, R], error) {
	switch {
	case commit == nil:
		return nil, errors.New("groupcommit: nil commit function")
	case cfg.MaxBatch < 0:
		return nil, fmt.Errorf("groupcommit: MaxBatch %d must not be negative", cfg.MaxBatch)
	case cfg.MaxWait < 0:
		return nil, fmt.Errorf("groupcommit: MaxWait %v must not be negative", cfg.MaxWait)
	case cfg.CommitTimeout < 0:
		return nil, fmt.Errorf("groupcommit: CommitTimeout %v must not be negative", cfg.CommitTimeout)
	}
	c := &Committer[T, R]{
		commit:   commit,
		maxBatch: cfg.MaxBatch,
		maxWait:  cfg.MaxWait,
		timeout:  cfg.CommitTimeout,
		log:      cfg.Logger,
	}
	if c.maxBatch == 0 {
		c.maxBatch = DefaultMaxBatch
	}
	if c.timeout == 0 {
		c.timeout = DefaultCommitTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Submit adds v to the open batch (leading a new one if there is none) and
// waits for its result: the commit function's result or error for v.
//
// When ctx has ended before the call, Submit returns ctx.Err() (unwrapped)
// and v is not committed. When ctx ends while v waits, a member returns
// ctx.Err() at once; v is left out of its batch if the batch was not sealed
// yet, otherwise it may still be committed (a retry may then find it done).
// A leader always stays until its batch is committed, on behalf of the other
// members, and then returns its own outcome (ctx.Err() when its item was left
// out).
func (c *Committer[T, R]) Submit(ctx context.Context, v T) (R, error) {
	var zero R
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	it := &item[T, R]{ctx: ctx, v: v}
	c.mu.Lock()
	b := c.open
	leader := b == nil
	if leader {
		b = &batch[T, R]{full: make(chan struct{}), done: make(chan struct{})}
		c.open = b
	}
	b.items = append(b.items, it)
	if len(b.items) >= c.maxBatch {
		c.open = nil
		close(b.full)
	}
	c.mu.Unlock()
	if leader {
		c.lead(b)
		return it.res, it.err
	}
	select {
	case <-b.done:
		return it.res, it.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// lead waits for the batch to fill and for the previous commit, seals the
// batch and commits it.
func (c *Committer[T, R]) lead(b *batch[T, R]) {
	defer close(b.done)
	if c.maxWait > 0 {
		t := time.NewTimer(c.maxWait)
		select {
		case <-b.full:
		case <-t.C:
		}
		t.Stop()
	}
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.mu.Lock()
	if c.open == b {
		c.open = nil
	}
	items := b.items
	c.mu.Unlock()
	c.commitBatch(items)
}

// commitBatch commits the items whose callers still wait, splitting the batch
// when it fails as a whole.
func (c *Committer[T, R]) commitBatch(items []*item[T, R]) {
	live := make([]*item[T, R], 0, len(items))
	for _, it := range items {
		if err := it.ctx.Err(); err != nil {
			it.err = err
			continue
		}
		it.err = ErrNotCommitted // until the commit says otherwise
		live = append(live, it)
	}
	if len(live) == 0 {
		return
	}
	// The batch outlives any one caller's context: members that left early
	// were dropped above, the rest wait for this commit.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(live[0].ctx), c.timeout)
	defer cancel()
	err := c.run(ctx, live)
	if err == nil {
		return
	}
	if len(live) == 1 {
		live[0].err = err
		return
	}
	c.log.WarnContext(ctx, "groupcommit: batch commit failed; committing its items one by one",
		"batch_size", len(live), "error", err.Error())
	for _, it := range live {
		if err := c.run(ctx, []*item[T, R]{it}); err != nil {
			it.err = err
		}
	}
}

// run calls the commit function for items and hands out the per-item
// outcomes. It returns the batch error, leaving the items untouched.
func (c *Committer[T, R]) run(ctx context.Context, items []*item[T, R]) error {
	vs := make([]T, len(items))
	for i, it := range items {
		vs[i] = it.v
	}
	rs, errs, err := c.commit(ctx, vs)
	if err != nil {
		return err
	}
	if len(rs) != len(items) || (errs != nil && len(errs) != len(items)) {
		bad := fmt.Errorf("groupcommit: commit function returned %d results and %d errors for %d items",
			len(rs), len(errs), len(items))
		for _, it := range items {
			it.err = bad
		}
		return nil
	}
	for i, it := range items {
		it.res, it.err = rs[i], nil
		if errs != nil && errs[i] != nil {
			var zero R
			it.res, it.err = zero, errs[i]
		}
	}
	return nil
}
