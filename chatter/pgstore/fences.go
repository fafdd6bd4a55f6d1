package pgstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatterhq/sdk/chatter"
)

// Fence timing.
const (
	// fencePoll is how often Claim tries a fence another process holds.
	fencePoll = 500 * time.Millisecond
	// fencePing is how often a held fence's session is checked.
	fencePing = 2 * time.Second
	// fenceCloseLimit bounds closing a fence's session.
	fenceCloseLimit = 5 * time.Second
)

// fences are the instance fences of a PostgreSQL store: a session-level
// advisory lock per instance, held on a connection of its own (taken out
// of the pool). PostgreSQL releases it when the session ends: at once when
// the process dies and its socket closes; when the host vanishes, after
// the TCP keepalives the session sets (about 25 s).
type fences struct{ s *Store }

// fenceKey is the advisory lock key of instance id in this store's schema.
func (f fences) fenceKey(id string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("chatter.instance\x00" + f.s.schema + "\x00" + id))
	return int64(h.Sum64())
}

// session opens a connection of its own for a fence.
func (f fences) session(ctx context.Context) (*pgx.Conn, error) {
	c, err := f.s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	conn := c.Hijack()
	// Find a vanished peer in seconds, not in the kernel's two hours.
	for _, set := range []string{"SET tcp_keepalives_idle = 10", "SET tcp_keepalives_interval = 5", "SET tcp_keepalives_count = 3"} {
		if _, err := conn.Exec(ctx, set); err != nil {
			closeSession(conn)
			return nil, err
		}
	}
	return conn, nil
}

func closeSession(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), fenceCloseLimit)
	defer cancel()
	_ = conn.Close(ctx)
}

// tryLock takes the fence of id on conn if it is free.
func (f fences) tryLock(ctx context.Context, conn *pgx.Conn, id string) (bool, error) {
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, f.fenceKey(id)).Scan(&ok); err != nil {
		return false, err
	}
	return ok, nil
}

// Claim implements deliveryqueue.Fences.
func (f fences) Claim(ctx context.Context, id string, waiting func()) (<-chan struct{}, func(), error) {
	conn, err := f.session(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore: instance fence: %w", err)
	}
	for warned := false; ; warned = true {
		ok, err := f.tryLock(ctx, conn, id)
		if err != nil {
			closeSession(conn)
			return nil, nil, fmt.Errorf("pgstore: instance fence: %w", err)
		}
		if ok {
			break
		}
		if !warned {
			waiting()
		}
		t := time.NewTimer(fencePoll)
		select {
		case <-ctx.Done():
			t.Stop()
			closeSession(conn)
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
	lost, stop, stopped := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		// The session is this goroutine's from here on.
		defer close(stopped)
		defer closeSession(conn) // ends the session: the lock goes with it
		tick := time.NewTicker(fencePing)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				pctx, cancel := context.WithTimeout(context.Background(), fencePing)
				err := conn.Ping(pctx)
				cancel()
				if err != nil {
					close(lost)
					<-stop
					return
				}
			}
		}
	}()
	release := func() {
		close(stop)
		<-stopped
	}
	return lost, release, nil
}

// Probe implements deliveryqueue.Fences.
func (f fences) Probe(ctx context.Context, id string, fn func(ctx context.Context) error) (bool, error) {
	conn, err := f.session(ctx)
	if err != nil {
		return false, fmt.Errorf("pgstore: instance fence: %w", err)
	}
	defer closeSession(conn)
	ok, err := f.tryLock(ctx, conn, id)
	if err != nil || !ok {
		return false, err
	}
	return true, fn(ctx)
}

// FreeLeases implements deliveryqueue.Fences.
func (f fences) FreeLeases(ctx context.Context, id string) (int64, error) {
	tag, err := f.s.pool.Exec(ctx, f.s.q(`UPDATE {schema}chatter_leases SET holder = '', expires_at = '-infinity'
		WHERE starts_with(holder, $1) AND expires_at > '-infinity'`), id+chatter.InstanceSeparator)
	if err != nil {
		return 0, fmt.Errorf("pgstore: free the leases of instance %q: %w", id, err)
	}
	return tag.RowsAffected(), nil
}
