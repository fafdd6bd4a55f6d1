package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// AcquireLease grants name to holder for ttl if it is free, expired, or held
// by holder (then renewed with the same token). A new acquisition gets a
// fencing token strictly greater than every earlier one for name (the row is
// kept after release so tokens never repeat). Expiry is judged by the store
// clock (Config.Now). The check and the grant are one statement. Otherwise it
// returns an error wrapping chatter.ErrLeaseHeld.
func (s *Store) AcquireLease(ctx context.Context, workspace, name, holder string, ttl time.Duration) (*chatter.Lease, error) {
	switch {
	case workspace == "" || name == "" || holder == "":
		return nil, invalidf("acquire lease: empty workspace, name or holder")
	case ttl <= 0:
		return nil, invalidf("acquire lease %s: ttl %s is not positive", name, ttl)
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	now := s.now()
	exp := now.Add(ttl)
	var token int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO chatter_leases (workspace, name, holder, token, expires_at)
		VALUES (?1, ?2, ?3, 1, ?4)
		ON CONFLICT (workspace, name) DO UPDATE SET
			token = CASE WHEN holder = excluded.holder AND expires_at > ?5 THEN token ELSE token + 1 END,
			holder = excluded.holder, expires_at = excluded.expires_at
		WHERE holder = excluded.holder OR holder = '' OR expires_at <= ?5
		RETURNING token`, workspace, name, holder, nanos(exp), nanos(now)).Scan(&token)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: acquire lease %s: %w", name, chatter.ErrLeaseHeld)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: acquire lease %s: %w", name, err)
	}
	return &chatter.Lease{Workspace: workspace, Name: name, Holder: holder, Token: token, ExpiresAt: fromNanos(nanos(exp))}, nil
}

// RenewLease extends l to now+ttl (store clock) if l is still the current,
// unexpired lease (same holder and token); otherwise it returns an error
// wrapping chatter.ErrLeaseLost (also for a nil or incomplete l). A ttl ≤ 0
// is chatter.ErrInvalid.
func (s *Store) RenewLease(ctx context.Context, l *chatter.Lease, ttl time.Duration) (*chatter.Lease, error) {
	switch {
	case l == nil || l.Workspace == "" || l.Name == "" || l.Holder == "":
		return nil, fmt.Errorf("sqlitestore: renew lease: not a granted lease: %w", chatter.ErrLeaseLost)
	case ttl <= 0:
		return nil, invalidf("renew lease %s: ttl %s is not positive", l.Name, ttl)
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	now := s.now()
	exp := now.Add(ttl)
	res, err := s.db.ExecContext(ctx, `UPDATE chatter_leases SET expires_at = ?
		WHERE workspace = ? AND name = ? AND holder = ? AND token = ? AND expires_at > ?`,
		nanos(exp), l.Workspace, l.Name, l.Holder, l.Token, nanos(now))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: renew lease %s: %w", l.Name, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, fmt.Errorf("sqlitestore: renew lease %s: %w", l.Name, chatter.ErrLeaseLost)
	}
	out := *l
	out.ExpiresAt = fromNanos(nanos(exp))
	return &out, nil
}

// ReleaseLease gives l up if it is still current; releasing a lost lease is
// not an error, nor is a nil or incomplete l. The next acquisition gets a
// greater token.
func (s *Store) ReleaseLease(ctx context.Context, l *chatter.Lease) error {
	if l == nil || l.Workspace == "" || l.Name == "" || l.Holder == "" {
		return nil // nothing that could be held
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE chatter_leases SET holder = '', expires_at = 0
		WHERE workspace = ? AND name = ? AND holder = ? AND token = ?`, l.Workspace, l.Name, l.Holder, l.Token); err != nil {
		return fmt.Errorf("sqlitestore: release lease %s: %w", l.Name, err)
	}
	return nil
}
