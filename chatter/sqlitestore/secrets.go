package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/chatterhq/sdk/chatter"
)

// additionalData binds a sealed blob to its row: kind, workspace and account
// (length-prefixed, so no two rows share it), so a blob copied to another
// row does not open.
func additionalData(kind, workspace, account string) []byte {
	return []byte(kind + ":" + strconv.Itoa(len(workspace)) + ":" + workspace + ":" + account)
}

func (s *Store) seal(plain, kind, workspace, account string) ([]byte, error) {
	return s.sealer.Seal([]byte(plain), additionalData(kind, workspace, account))
}

func (s *Store) unseal(sealed []byte, kind, workspace, account string) (string, error) {
	b, err := s.sealer.Open(sealed, additionalData(kind, workspace, account))
	return string(b), err
}

// GetToken returns the token of account in workspace, unsealed, or an error
// wrapping chatter.ErrNotFound. A token that cannot be unsealed (wrong key,
// tampered row) returns an error wrapping chatter.ErrUnseal.
func (s *Store) GetToken(ctx context.Context, workspace, account string) (*chatter.Token, error) {
	if workspace == "" || account == "" {
		return nil, invalidf("get token: empty workspace or account")
	}
	if s.sealer == nil {
		return nil, ErrNoSealer
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	var (
		t               chatter.Token
		access, refresh []byte
		expires         sql.NullString
		updated         int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT workspace, account, access_token, refresh_token, token_type, expires_at,
		api_domain, version, updated_at FROM chatter_tokens WHERE workspace = ? AND account = ?`, workspace, account).
		Scan(&t.Workspace, &t.Account, &access, &refresh, &t.TokenType, &expires, &t.APIDomain, &t.Version, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: token %s: %w", account, chatter.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: token %s: %w", account, err)
	}
	if t.AccessToken, err = s.unseal(access, "token-access", workspace, account); err != nil {
		return nil, fmt.Errorf("sqlitestore: token %s: access token: %w", account, err)
	}
	if t.RefreshToken, err = s.unseal(refresh, "token-refresh", workspace, account); err != nil {
		return nil, fmt.Errorf("sqlitestore: token %s: refresh token: %w", account, err)
	}
	if t.ExpiresAt, err = fromTextTime(expires); err != nil {
		return nil, fmt.Errorf("sqlitestore: token %s: expires_at: %w", account, err)
	}
	t.UpdatedAt = fromNanos(updated)
	return &t, nil
}

// SwapToken stores t, its access and refresh tokens sealed, if the stored
// version equals oldVersion (0: no token stored yet), in one atomic
// statement, and returns the stored copy with Version = oldVersion+1.
// Otherwise it returns an error wrapping chatter.ErrConflict and changes
// nothing.
func (s *Store) SwapToken(ctx context.Context, t *chatter.Token, oldVersion int64) (*chatter.Token, error) {
	switch {
	case t == nil:
		return nil, invalidf("swap token: nil token")
	case t.Workspace == "" || t.Account == "":
		return nil, invalidf("swap token: empty workspace or account")
	case oldVersion < 0:
		return nil, invalidf("swap token: negative version %d", oldVersion)
	}
	if s.sealer == nil {
		return nil, ErrNoSealer
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	access, err := s.seal(t.AccessToken, "token-access", t.Workspace, t.Account)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: swap token: %w", err)
	}
	refresh, err := s.seal(t.RefreshToken, "token-refresh", t.Workspace, t.Account)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: swap token: %w", err)
	}
	now := s.now()
	args := []any{access, refresh, t.TokenType, textTime(t.ExpiresAt), t.APIDomain, oldVersion + 1, nanos(now), t.Workspace, t.Account}
	var q string
	if oldVersion == 0 {
		q = `INSERT INTO chatter_tokens (access_token, refresh_token, token_type, expires_at, api_domain, version, updated_at,
			workspace, account) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace, account) DO NOTHING`
	} else {
		q = `UPDATE chatter_tokens SET access_token = ?, refresh_token = ?, token_type = ?, expires_at = ?, api_domain = ?,
			version = ?, updated_at = ? WHERE workspace = ? AND account = ? AND version = ?`
		args = append(args, oldVersion)
	}
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: swap token %s: %w", t.Account, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, fmt.Errorf("sqlitestore: swap token %s: version %d is not the stored one: %w", t.Account, oldVersion, chatter.ErrConflict)
	}
	out := *t
	out.Version = oldVersion + 1
	out.UpdatedAt = fromNanos(nanos(now))
	return &out, nil
}

// DeleteToken removes the token; a missing token is not an error.
func (s *Store) DeleteToken(ctx context.Context, workspace, account string) error {
	if workspace == "" || account == "" {
		return invalidf("delete token: empty workspace or account")
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM chatter_tokens WHERE workspace = ? AND account = ?`, workspace, account); err != nil {
		return fmt.Errorf("sqlitestore: delete token %s: %w", account, err)
	}
	return nil
}

// LoadSession returns the session blob of account, unsealed, or an error
// wrapping chatter.ErrNotFound.
func (s *Store) LoadSession(ctx context.Context, workspace, account string) ([]byte, error) {
	if workspace == "" || account == "" {
		return nil, invalidf("load session: empty workspace or account")
	}
	if s.sealer == nil {
		return nil, ErrNoSealer
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT data FROM chatter_sessions WHERE workspace = ? AND account = ?`,
		workspace, account).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: session %s: %w", account, chatter.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: session %s: %w", account, err)
	}
	data, err := s.sealer.Open(sealed, additionalData("session", workspace, account))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: session %s: %w", account, err)
	}
	return data, nil
}

// StoreSession writes data, sealed, if lease is the current, unexpired lease
// named chatter.SessionLeaseName(account) in workspace (by the store clock);
// the check and the write are one statement. Otherwise it returns an error
// wrapping chatter.ErrLeaseLost and changes nothing.
func (s *Store) StoreSession(ctx context.Context, workspace, account string, data []byte, lease *chatter.Lease) error {
	if workspace == "" || account == "" {
		return invalidf("store session: empty workspace or account")
	}
	if s.sealer == nil {
		return ErrNoSealer
	}
	if lease == nil || lease.Workspace != workspace || lease.Name != chatter.SessionLeaseName(account) {
		return fmt.Errorf("sqlitestore: store session %s: not this session's lease: %w", account, chatter.ErrLeaseLost)
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	sealed, err := s.sealer.Seal(data, additionalData("session", workspace, account))
	if err != nil {
		return fmt.Errorf("sqlitestore: store session %s: %w", account, err)
	}
	now := nanos(s.now())
	res, err := s.db.ExecContext(ctx, `INSERT INTO chatter_sessions (workspace, account, data, lease_token, updated_at)
		SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM chatter_leases WHERE workspace = ? AND name = ?
			AND holder = ? AND token = ? AND expires_at > ?)
		ON CONFLICT (workspace, account) DO UPDATE SET data = excluded.data, lease_token = excluded.lease_token,
			updated_at = excluded.updated_at`,
		workspace, account, sealed, lease.Token, now, workspace, lease.Name, lease.Holder, lease.Token, now)
	if err != nil {
		return fmt.Errorf("sqlitestore: store session %s: %w", account, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("sqlitestore: store session %s: lease token %d is not current: %w", account, lease.Token, chatter.ErrLeaseLost)
	}
	return nil
}
