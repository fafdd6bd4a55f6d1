package sqlitestore

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// fencePoll is how often Claim tries a fence another process holds.
const fencePoll = 200 * time.Millisecond

// fences are the instance fences of a SQLite store: an exclusive file lock
// (flock) on <database file>.instance-<id>.lock beside the database, which
// the kernel releases when the process dies, however it dies. A database
// without a file (in memory) is one process's anyway: its fences are
// in-process locks.
type fences struct{ s *Store }

// memFences are the fences of in-memory databases, by database and id.
var memFences sync.Map // memFenceKey → *sync.Mutex

type memFenceKey struct {
	s  *Store
	id string
}

// lockPath is the fence file of id, or "" for a database without a file.
func (f fences) lockPath(ctx context.Context, id string) (string, error) {
	var file string
	if err := f.s.db.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		return "", fmt.Errorf("sqlitestore: database file: %w", err)
	}
	if file == "" {
		return "", nil
	}
	return file + ".instance-" + id + ".lock", nil
}

// tryFence takes the fence of id if it is free: the function that gives it
// back, or ok false when another holder has it.
func (f fences) tryFence(ctx context.Context, id string) (release func(), ok bool, err error) {
	path, err := f.lockPath(ctx, id)
	if err != nil {
		return nil, false, err
	}
	if path == "" {
		mu, _ := memFences.LoadOrStore(memFenceKey{f.s, id}, &sync.Mutex{})
		m := mu.(*sync.Mutex)
		if !m.TryLock() {
			return nil, false, nil
		}
		return m.Unlock, true, nil
	}
	file, ok, err := tryLockFile(path)
	if err != nil || !ok {
		return nil, false, err
	}
	return func() { unlockFile(file) }, true, nil
}

// Claim implements deliveryqueue.Fences. A file lock is never lost while
// held, so the lost channel is nil.
func (f fences) Claim(ctx context.Context, id string, waiting func()) (<-chan struct{}, func(), error) {
	for warned := false; ; warned = true {
		release, ok, err := f.tryFence(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			return nil, release, nil
		}
		if !warned {
			waiting()
		}
		if err := sleepCtx(ctx, fencePoll); err != nil {
			return nil, nil, err
		}
	}
}

// Probe implements deliveryqueue.Fences.
func (f fences) Probe(ctx context.Context, id string, fn func(ctx context.Context) error) (bool, error) {
	release, ok, err := f.tryFence(ctx, id)
	if err != nil || !ok {
		return false, err
	}
	defer release()
	return true, fn(ctx)
}

// FreeLeases implements deliveryqueue.Fences.
func (f fences) FreeLeases(ctx context.Context, id string) (int64, error) {
	if err := f.s.checkOpen(); err != nil {
		return 0, err
	}
	prefix := id + chatter.InstanceSeparator
	res, err := f.s.db.ExecContext(ctx, `UPDATE chatter_leases SET holder = '', expires_at = 0
		WHERE substr(holder, 1, ?) = ? AND expires_at > 0`, len(prefix), prefix)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: free the leases of instance %q: %w", id, err)
	}
	return res.RowsAffected()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// openLockFile opens (creating) a fence file.
func openLockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: instance fence: %w", err)
	}
	return f, nil
}
