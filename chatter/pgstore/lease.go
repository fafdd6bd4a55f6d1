package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatterhq/sdk/chatter"
)

func checkLeaseArgs(workspace, name, holder string, ttl time.Duration) error {
	if err := needWorkspace(workspace); err != nil {
		return err
	}
	if err := checkRequired("name", name); err != nil {
		return err
	}
	if err := checkRequired("holder", holder); err != nil {
		return err
	}
	if ttl < time.Microsecond {
		return invalid("ttl", "срок аренды должен быть положительным", "lease ttl must be positive")
	}
	return nil
}

// acquireSQL grants the lease in one statement: a new row, or a takeover of
// an expired or released one (a new fencing token from the sequence), or a
// renewal by the same holder (same token). Expiry is judged by
// clock_timestamp(), the database's clock. The SET and WHERE of DO UPDATE are
// evaluated on the latest row version under its row lock, so two contenders
// cannot both win, and a takeover draws its token while it holds the row
// lock: tokens increase in grant order. The VALUES token is used only when
// the row is created, once per lease name (release keeps the row).
const acquireSQL = `INSERT INTO {schema}chatter_leases AS l (workspace, name, holder, token, expires_at)
VALUES ($1, $2, $3, nextval('{schema}chatter_lease_token_seq'), clock_timestamp() + $4 * interval '1 microsecond')
ON CONFLICT (workspace, name) DO UPDATE SET
	token = CASE WHEN l.holder = excluded.holder AND l.expires_at > clock_timestamp()
		THEN l.token ELSE nextval('{schema}chatter_lease_token_seq') END,
	holder = excluded.holder,
	expires_at = excluded.expires_at
WHERE l.expires_at <= clock_timestamp() OR l.holder = excluded.holder
RETURNING token, expires_at`

// AcquireLease implements chatter.LeaseStore. Fencing tokens come from a
// database sequence, so they strictly increase across every acquisition of
// every lease of the database (gaps are possible).
func (s *Store) AcquireLease(ctx context.Context, workspace, name, holder string, ttl time.Duration) (*chatter.Lease, error) {
	if err := checkLeaseArgs(workspace, name, holder, ttl); err != nil {
		return nil, fmt.Errorf("pgstore: acquire lease: %w", err)
	}
	l := &chatter.Lease{Workspace: workspace, Name: name, Holder: holder}
	err := s.pool.QueryRow(ctx, s.q(acquireSQL), workspace, name, holder, micros(ttl)).Scan(&l.Token, &l.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: acquire lease %q: %w", name, chatter.ErrLeaseHeld)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: acquire lease %q: %w", name, err)
	}
	l.ExpiresAt = l.ExpiresAt.UTC()
	return l, nil
}

// RenewLease implements chatter.LeaseStore.
func (s *Store) RenewLease(ctx context.Context, l *chatter.Lease, ttl time.Duration) (*chatter.Lease, error) {
	if l == nil {
		return nil, fmt.Errorf("pgstore: renew lease: no lease: %w", chatter.ErrLeaseLost)
	}
	if err := checkLeaseArgs(l.Workspace, l.Name, l.Holder, ttl); err != nil {
		return nil, fmt.Errorf("pgstore: renew lease: %w", err)
	}
	out := *l
	err := s.pool.QueryRow(ctx, s.q(`UPDATE {schema}chatter_leases
		SET expires_at = clock_timestamp() + $5 * interval '1 microsecond'
		WHERE workspace = $1 AND name = $2 AND holder = $3 AND token = $4 AND expires_at > clock_timestamp()
		RETURNING expires_at`), l.Workspace, l.Name, l.Holder, l.Token, micros(ttl)).Scan(&out.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: renew lease %q: %w", l.Name, chatter.ErrLeaseLost)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: renew lease %q: %w", l.Name, err)
	}
	out.ExpiresAt = out.ExpiresAt.UTC()
	return &out, nil
}

// ReleaseLease implements chatter.LeaseStore: it frees the lease only if l
// is still its current grant (same token); the next AcquireLease gets a new
// token. A nil or lost lease is not an error. The row stays (holder cleared,
// expired) so the next grant's token is drawn under the row lock.
func (s *Store) ReleaseLease(ctx context.Context, l *chatter.Lease) error {
	if l == nil {
		return nil
	}
	if err := needWorkspace(l.Workspace); err != nil {
		return fmt.Errorf("pgstore: release lease: %w", err)
	}
	if _, err := s.pool.Exec(ctx, s.q(`UPDATE {schema}chatter_leases SET holder = '', expires_at = '-infinity'
		WHERE workspace = $1 AND name = $2 AND token = $3`), l.Workspace, l.Name, l.Token); err != nil {
		return fmt.Errorf("pgstore: release lease %q: %w", l.Name, err)
	}
	return nil
}

// sessionAD binds a sealed session to its workspace and account. NUL cannot
// occur in either (checkText), so the encoding is unambiguous.
func sessionAD(workspace, account string) []byte {
	return []byte("chatter/session\x00" + workspace + "\x00" + account)
}

// LoadSession implements chatter.SessionStore. The blob is opened with the
// Sealer; a blob that does not open (tampered, moved to another row, unknown
// key) is an error wrapping chatter.ErrUnseal.
func (s *Store) LoadSession(ctx context.Context, workspace, account string) ([]byte, error) {
	if s.sealer == nil {
		return nil, ErrNoSealer
	}
	if err := needWorkspace(workspace); err != nil {
		return nil, fmt.Errorf("pgstore: load session: %w", err)
	}
	if err := checkRequired("account", account); err != nil {
		return nil, fmt.Errorf("pgstore: load session: %w", err)
	}
	var sealed []byte
	err := s.pool.QueryRow(ctx, s.q(`SELECT sealed FROM {schema}chatter_sessions WHERE workspace = $1 AND account = $2`),
		workspace, account).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: load session %q: %w", account, chatter.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: load session %q: %w", account, err)
	}
	data, err := s.sealer.Open(sealed, sessionAD(workspace, account))
	if err != nil {
		return nil, fmt.Errorf("pgstore: load session %q: %w", account, err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// storeSessionSQL writes the session only while the lease row matches and is
// unexpired by the database clock. FOR SHARE holds the lease row until
// commit, so no takeover (which updates that row) can slip between the check
// and the write: a new holder's writes always come after ours.
const storeSessionSQL = `WITH lease AS (
	SELECT 1 FROM {schema}chatter_leases
	WHERE workspace = $1 AND name = $4 AND holder = $5 AND token = $6 AND expires_at > clock_timestamp()
	FOR SHARE
)
INSERT INTO {schema}chatter_sessions (workspace, account, sealed, updated_at)
SELECT $1, $2, $3, $7 FROM lease
ON CONFLICT (workspace, account) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at
RETURNING 1`

// StoreSession implements chatter.SessionStore: data is sealed (bound to the
// workspace and account) and written in one statement that checks the lease.
func (s *Store) StoreSession(ctx context.Context, workspace, account string, data []byte, lease *chatter.Lease) error {
	if s.sealer == nil {
		return ErrNoSealer
	}
	if err := needWorkspace(workspace); err != nil {
		return fmt.Errorf("pgstore: store session: %w", err)
	}
	if err := checkRequired("account", account); err != nil {
		return fmt.Errorf("pgstore: store session: %w", err)
	}
	if lease == nil {
		return fmt.Errorf("pgstore: store session %q: no lease: %w", account, chatter.ErrLeaseLost)
	}
	if lease.Workspace != workspace || lease.Name != chatter.SessionLeaseName(account) {
		return fmt.Errorf("pgstore: store session %q: lease %q of workspace %q does not guard it: %w",
			account, lease.Name, lease.Workspace, chatter.ErrLeaseLost)
	}
	sealed, err := s.sealer.Seal(data, sessionAD(workspace, account))
	if err != nil {
		return fmt.Errorf("pgstore: store session %q: %w", account, err)
	}
	var one int
	err = s.pool.QueryRow(ctx, s.q(storeSessionSQL), workspace, account, sealed,
		lease.Name, lease.Holder, lease.Token, s.stamp()).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstore: store session %q: %w", account, chatter.ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("pgstore: store session %q: %w", account, err)
	}
	return nil
}
