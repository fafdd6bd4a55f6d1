// Package groupcommit merges concurrent single-item writes into shared
// batches ("group commit") without a background goroutine.
//
// The first caller of Submit that finds no open batch leads one: it waits up
// to MaxWait (or until the batch holds MaxBatch items), then for the previous
// batch's commit, and only then seals its batch, so a batch keeps filling for
// as long as the storage is busy. The leader commits on behalf of every
// member and wakes them; each member gets its own result or error.
//
// When a batch commit fails as a whole and the batch holds more than one
// item, each item is committed again alone, so one bad item cannot fail the
// others.
//
// Quick start:
//
//	c := groupcommit.New(func(ctx context.Context, rows []Row) ([]ID, []error, error) {
//		ids, err := db.InsertInOneTransaction(ctx, rows)
//		return ids, nil, err
//	}, groupcommit.Config{MaxBatch: 256})
//	id, err := c.Submit(ctx, row) // safe from any number of goroutines
package groupcommit
