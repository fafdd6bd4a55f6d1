package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatterhq/sdk/chatter"
)

// tokenSecrets is what gets sealed: both tokens of the pair.
type tokenSecrets struct {
	Access  string `json:"a"`
	Refresh string `json:"r"`
}

// tokenAD binds sealed tokens to their workspace and account.
func tokenAD(workspace, account string) []byte {
	return []byte("chatter/token\x00" + workspace + "\x00" + account)
}

func checkTokenKey(workspace, account string) error {
	if err := needWorkspace(workspace); err != nil {
		return err
	}
	return checkRequired("account", account)
}

// GetToken implements chatter.TokenStore. Tokens that do not open (tampered,
// moved to another row, unknown key) give an error wrapping chatter.ErrUnseal.
func (s *Store) GetToken(ctx context.Context, workspace, account string) (*chatter.Token, error) {
	if s.sealer == nil {
		return nil, ErrNoSealer
	}
	if err := checkTokenKey(workspace, account); err != nil {
		return nil, fmt.Errorf("pgstore: get token: %w", err)
	}
	var (
		sealed  []byte
		expires *time.Time
	)
	t := &chatter.Token{Workspace: workspace, Account: account}
	err := s.pool.QueryRow(ctx, s.q(`SELECT sealed, token_type, expires_at, api_domain, version, updated_at
		FROM {schema}chatter_tokens WHERE workspace = $1 AND account = $2`), workspace, account).
		Scan(&sealed, &t.TokenType, &expires, &t.APIDomain, &t.Version, &t.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: get token %q: %w", account, chatter.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get token %q: %w", account, err)
	}
	if err := s.openToken(t, sealed); err != nil {
		return nil, err
	}
	t.ExpiresAt, t.UpdatedAt = utc(expires), t.UpdatedAt.UTC()
	return t, nil
}

func (s *Store) openToken(t *chatter.Token, sealed []byte) error {
	plain, err := s.sealer.Open(sealed, tokenAD(t.Workspace, t.Account))
	if err != nil {
		return fmt.Errorf("pgstore: get token %q: %w", t.Account, err)
	}
	var sec tokenSecrets
	if err := json.Unmarshal(plain, &sec); err != nil {
		return fmt.Errorf("pgstore: get token %q: decode: %w", t.Account, err)
	}
	t.AccessToken, t.RefreshToken = sec.Access, sec.Refresh
	return nil
}

// SwapToken implements chatter.TokenStore: an INSERT … ON CONFLICT DO NOTHING
// for oldVersion 0, otherwise an UPDATE guarded by version = oldVersion; a
// lost race is chatter.ErrConflict and changes nothing.
func (s *Store) SwapToken(ctx context.Context, t *chatter.Token, oldVersion int64) (*chatter.Token, error) {
	if s.sealer == nil {
		return nil, ErrNoSealer
	}
	if t == nil {
		return nil, fmt.Errorf("pgstore: swap token: %w", invalid("token", "токен не указан", "token is nil"))
	}
	if err := checkTokenKey(t.Workspace, t.Account); err != nil {
		return nil, fmt.Errorf("pgstore: swap token: %w", err)
	}
	if oldVersion < 0 {
		return nil, fmt.Errorf("pgstore: swap token: %w", invalid("version", "отрицательная версия", "version is negative"))
	}
	for _, f := range []struct{ name, v string }{{"token_type", t.TokenType}, {"api_domain", t.APIDomain}} {
		if err := checkText(f.name, f.v); err != nil {
			return nil, fmt.Errorf("pgstore: swap token: %w", err)
		}
	}
	plain, err := json.Marshal(tokenSecrets{Access: t.AccessToken, Refresh: t.RefreshToken})
	if err != nil {
		return nil, fmt.Errorf("pgstore: swap token: %w", err)
	}
	sealed, err := s.sealer.Seal(plain, tokenAD(t.Workspace, t.Account))
	if err != nil {
		return nil, fmt.Errorf("pgstore: swap token: %w", err)
	}
	out := *t
	out.Version = oldVersion + 1
	out.UpdatedAt = s.stamp()
	out.ExpiresAt = utc(nullTime(t.ExpiresAt))
	args := []any{t.Workspace, t.Account, sealed, t.TokenType, nullTime(t.ExpiresAt), t.APIDomain, out.Version, out.UpdatedAt}
	var q string
	if oldVersion == 0 {
		q = `INSERT INTO {schema}chatter_tokens (workspace, account, sealed, token_type, expires_at, api_domain, version, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (workspace, account) DO NOTHING`
	} else {
		q = `UPDATE {schema}chatter_tokens SET sealed = $3, token_type = $4, expires_at = $5, api_domain = $6,
			version = $7, updated_at = $8 WHERE workspace = $1 AND account = $2 AND version = $7 - 1`
	}
	tag, err := s.pool.Exec(ctx, s.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: swap token %q: %w", t.Account, err)
	}
	if tag.RowsAffected() != 1 {
		return nil, fmt.Errorf("pgstore: swap token %q from version %d: %w", t.Account, oldVersion, chatter.ErrConflict)
	}
	return &out, nil
}

// DeleteToken implements chatter.TokenStore.
func (s *Store) DeleteToken(ctx context.Context, workspace, account string) error {
	if err := checkTokenKey(workspace, account); err != nil {
		return fmt.Errorf("pgstore: delete token: %w", err)
	}
	if _, err := s.pool.Exec(ctx, s.q(`DELETE FROM {schema}chatter_tokens WHERE workspace = $1 AND account = $2`),
		workspace, account); err != nil {
		return fmt.Errorf("pgstore: delete token %q: %w", account, err)
	}
	return nil
}
