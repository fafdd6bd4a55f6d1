package sqlitestore

import (
	"context"
	"fmt"
	"time"
)

// Reserve books the next slot for key (GCRA, one row per key): in one atomic
// UPDATE … RETURNING the theoretical arrival time becomes max(tat, now) +
// interval, and the slot returned is max(tat, now), now by the store clock.
// Slots are therefore never closer than interval apart, across every caller
// and every process sharing the file. The caller waits until the slot.
func (s *Store) Reserve(ctx context.Context, workspace, key string, interval time.Duration) (time.Time, error) {
	switch {
	case workspace == "" || key == "":
		return time.Time{}, invalidf("reserve: empty workspace or key")
	case interval <= 0:
		return time.Time{}, invalidf("reserve %s: interval %s is not positive", key, interval)
	}
	if err := s.checkOpen(); err != nil {
		return time.Time{}, err
	}
	now := nanos(s.now())
	var tat int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO chatter_rate_budget (workspace, key, tat) VALUES (?1, ?2, ?3 + ?4)
		ON CONFLICT (workspace, key) DO UPDATE SET tat = max(tat, ?3) + ?4
		RETURNING tat`, workspace, key, now, int64(interval)).Scan(&tat)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlitestore: reserve %s: %w", key, err)
	}
	return fromNanos(tat - int64(interval)), nil
}

// Penalize pushes key's clock to at least until, so that no slot is granted
// before then (after a 429 or a block). An earlier until changes nothing.
func (s *Store) Penalize(ctx context.Context, workspace, key string, until time.Time) error {
	if workspace == "" || key == "" {
		return invalidf("penalize: empty workspace or key")
	}
	if err := checkNanosRange("penalize until", until); err != nil {
		return err
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO chatter_rate_budget (workspace, key, tat) VALUES (?, ?, ?)
		ON CONFLICT (workspace, key) DO UPDATE SET tat = max(tat, excluded.tat)`, workspace, key, nanos(until)); err != nil {
		return fmt.Errorf("sqlitestore: penalize %s: %w", key, err)
	}
	return nil
}
