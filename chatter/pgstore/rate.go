package pgstore

import (
	"context"
	"fmt"
	"time"
)

// reserveSQL books the next slot of a key in one atomic statement (GCRA with
// no burst): the slot starts at greatest(tat, now) by the database clock, and
// tat moves one interval past it. Row locking on the upsert serialises every
// instance, so granted slots are at least one interval apart.
const reserveSQL = `INSERT INTO {schema}chatter_rate_budget AS b (workspace, key, tat)
VALUES ($1, $2, clock_timestamp() + $3 * interval '1 microsecond')
ON CONFLICT (workspace, key) DO UPDATE
	SET tat = greatest(b.tat, clock_timestamp()) + $3 * interval '1 microsecond'
RETURNING tat - $3 * interval '1 microsecond'`

func checkBudgetKey(workspace, key string) error {
	if err := needWorkspace(workspace); err != nil {
		return err
	}
	return checkRequired("key", key)
}

// Reserve implements chatter.RateBudget. The returned slot start is on the
// database clock (the instances' clocks are assumed to agree with it, as NTP
// keeps them); the caller waits until then instead of polling. interval is
// used at microsecond precision and must be at least 1µs.
func (s *Store) Reserve(ctx context.Context, workspace, key string, interval time.Duration) (time.Time, error) {
	if err := checkBudgetKey(workspace, key); err != nil {
		return time.Time{}, fmt.Errorf("pgstore: reserve: %w", err)
	}
	if interval < time.Microsecond {
		return time.Time{}, fmt.Errorf("pgstore: reserve: %w", invalid("interval", "интервал должен быть положительным", "interval must be positive"))
	}
	var slot time.Time
	if err := s.pool.QueryRow(ctx, s.q(reserveSQL), workspace, key, micros(interval)).Scan(&slot); err != nil {
		return time.Time{}, fmt.Errorf("pgstore: reserve %q: %w", key, err)
	}
	return slot.UTC(), nil
}

// Penalize implements chatter.RateBudget: tat becomes at least until, so the
// next slot granted to any instance starts no earlier.
func (s *Store) Penalize(ctx context.Context, workspace, key string, until time.Time) error {
	if err := checkBudgetKey(workspace, key); err != nil {
		return fmt.Errorf("pgstore: penalize: %w", err)
	}
	if until.IsZero() {
		return fmt.Errorf("pgstore: penalize: %w", invalid("until", "не указано время", "until is zero"))
	}
	if _, err := s.pool.Exec(ctx, s.q(`INSERT INTO {schema}chatter_rate_budget AS b (workspace, key, tat)
		VALUES ($1, $2, $3) ON CONFLICT (workspace, key) DO UPDATE SET tat = greatest(b.tat, excluded.tat)`),
		workspace, key, until); err != nil {
		return fmt.Errorf("pgstore: penalize %q: %w", key, err)
	}
	return nil
}
