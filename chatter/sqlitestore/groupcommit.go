package sqlitestore

import (
	"context"
	"fmt"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/internal/groupcommit"
)

// groupCommitter merges concurrent SaveMessage calls into shared
// transactions through groupcommit.Committer (no background goroutine: the
// first caller of a batch leads and commits it on behalf of every member).
// A batch whose transaction fails is written again message by message, so
// one bad row cannot fail the others.
type groupCommitter struct {
	s *Store
	c *groupcommit.Committer[*prepared, chatter.AcceptResult]
}

func newGroupCommitter(s *Store, cfg GroupCommit) (*groupCommitter, error) {
	c, err := groupcommit.New(func(ctx context.Context, ps []*prepared) ([]chatter.AcceptResult, []error, error) {
		rs, err := s.saveTx(ctx, ps)
		return rs, nil, err
	}, groupcommit.Config{
		MaxBatch:      cfg.MaxBatch,
		MaxWait:       cfg.MaxWait,
		CommitTimeout: groupCommitDeadline,
		Logger:        s.log,
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: group commit: %w: %w", err, chatter.ErrInvalid)
	}
	return &groupCommitter{s: s, c: c}, nil
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
	res, err := g.c.Submit(ctx, p)
	// Submit returns ctx.Err() itself (not wrapped) when ctx ended first.
	if err != nil && err == ctx.Err() {
		return chatter.AcceptResult{}, fmt.Errorf("sqlitestore: save message: %w", err)
	}
	return res, err
}
