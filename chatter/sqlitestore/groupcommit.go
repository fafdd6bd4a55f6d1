package sqlitestore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// groupCommitter merges concurrent SaveMessage calls into shared
// transactions without a background goroutine: the first caller to find no
// open batch leads it. The leader waits up to MaxWait (or until the batch is
// full), then for the previous batch's commit, and only then seals its batch,
// so a batch fills for as long as the database is busy. It commits on behalf
// of every member and wakes them; each member gets its own result.
type groupCommitter struct {
	s        *Store
	maxBatch int
	maxWait  time.Duration

	mu   sync.Mutex
	open *gcBatch // the batch still accepting members, or nil

	commitMu sync.Mutex // held by the leader whose batch is committing
}

type gcBatch struct {
	items []*gcItem
	full  chan struct{} // closed when the batch reached maxBatch
	done  chan struct{} // closed when every item has its result
}

type gcItem struct {
	ctx context.Context
	p   *prepared
	res chatter.AcceptResult
	err error
}

func newGroupCommitter(s *Store, cfg GroupCommit) *groupCommitter {
	return &groupCommitter{s: s, maxBatch: cfg.MaxBatch, maxWait: cfg.MaxWait}
}

// submit adds p to the open batch (leading a new one if there is none) and
// waits for its result. When ctx ends first it returns ctx's error; the
// message may still be committed by its batch (a retry then reports a
// duplicate), as with any write whose caller stops waiting.
func (g *groupCommitter) submit(ctx context.Context, p *prepared) (chatter.AcceptResult, error) {
	if err := ctx.Err(); err != nil {
		return chatter.AcceptResult{}, fmt.Errorf("sqlitestore: save message: %w", err)
	}
	if err := g.s.enter(); err != nil {
		return chatter.AcceptResult{}, err
	}
	defer g.s.leave()
	it := &gcItem{ctx: ctx, p: p}
	g.mu.Lock()
	b := g.open
	leader := b == nil
	if leader {
		b = &gcBatch{full: make(chan struct{}), done: make(chan struct{})}
		g.open = b
	}
	b.items = append(b.items, it)
	if len(b.items) >= g.maxBatch {
		g.open = nil
		close(b.full)
	}
	g.mu.Unlock()
	if leader {
		g.lead(b)
	}
	select {
	case <-b.done:
		return it.res, it.err
	case <-ctx.Done():
		return chatter.AcceptResult{}, fmt.Errorf("sqlitestore: save message: %w", ctx.Err())
	}
}

func (g *groupCommitter) lead(b *gcBatch) {
	defer close(b.done)
	if g.maxWait > 0 {
		t := time.NewTimer(g.maxWait)
		select {
		case <-b.full:
		case <-t.C:
		}
		t.Stop()
	}
	g.commitMu.Lock()
	defer g.commitMu.Unlock()
	g.mu.Lock()
	if g.open == b {
		g.open = nil
	}
	items := b.items
	g.mu.Unlock()
	g.commit(items)
}

// commit writes the items whose callers still wait in one transaction. When
// that fails, it writes them one by one so that one bad row cannot fail the
// others.
func (g *groupCommitter) commit(items []*gcItem) {
	live := make([]*gcItem, 0, len(items))
	for _, it := range items {
		if err := it.ctx.Err(); err != nil {
			it.err = fmt.Errorf("sqlitestore: save message: %w", err)
			continue
		}
		live = append(live, it)
	}
	if len(live) == 0 {
		return
	}
	// The batch outlives any one caller's context: members that leave early
	// were dropped above, the rest wait for this commit.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(live[0].ctx), groupCommitDeadline)
	defer cancel()
	ps := make([]*prepared, len(live))
	for i, it := range live {
		ps[i] = it.p
	}
	rs, err := g.s.saveTx(ctx, ps)
	if err == nil {
		for i, it := range live {
			it.res = rs[i]
		}
		return
	}
	if len(live) == 1 {
		live[0].err = err
		return
	}
	g.s.log.WarnContext(ctx, "sqlitestore: group commit failed; writing its messages one by one",
		"batch_size", len(live), "error", err.Error())
	for _, it := range live {
		rs, err := g.s.saveTx(ctx, []*prepared{it.p})
		if err != nil {
			it.err = err
			continue
		}
		it.res = rs[0]
	}
}
