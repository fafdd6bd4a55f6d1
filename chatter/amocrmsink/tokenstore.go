package amocrmsink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
)

// TokenStore keeps one amoCRM account's OAuth pair in a chatter store, so
// the pair survives restarts, is sealed at rest (sqlitestore and pgstore
// seal tokens with their Sealer), and is shared by every instance of a
// deployment. It implements amocrm.TokenStore:
//
//	ts := amocrmsink.NewTokenStore(store, workspace, "mycompany")
//	client, err := amocrm.NewClient("mycompany", amocrm.WithOAuth(oauthCfg, ts))
//
// Saves are compare-and-swap on the stored version: a save based on a pair
// that another instance has replaced since it was loaded fails with an error
// wrapping chatter.ErrConflict and changes nothing. The client keeps using a
// pair it could not save (amoCRM has already spent the previous refresh
// token) and, before retrying, loads what is stored: a pair another instance
// saved since wins; otherwise the retry, based on the version just loaded,
// can succeed. NewClient wires this store. Safe for concurrent use.
type TokenStore struct {
	store     chatter.TokenStore
	workspace string
	account   string

	mu      sync.Mutex
	version int64 // the stored version this instance last loaded or saved; 0 if none
}

var _ amocrm.TokenStore = (*TokenStore)(nil)

// NewTokenStore returns the token store of account (the amoCRM subdomain)
// in workspace.
func NewTokenStore(store chatter.TokenStore, workspace, account string) *TokenStore {
	return &TokenStore{store: store, workspace: workspace, account: account}
}

// Load returns the stored pair, or amocrm.ErrNoToken when there is none.
func (s *TokenStore) Load(ctx context.Context) (*amocrm.Token, error) {
	t, err := s.store.GetToken(ctx, s.workspace, s.account)
	if errors.Is(err, chatter.ErrNotFound) {
		return nil, amocrm.ErrNoToken
	}
	if err != nil {
		return nil, fmt.Errorf("amocrmsink: load token: %w", err)
	}
	s.mu.Lock()
	s.version = t.Version
	s.mu.Unlock()
	return &amocrm.Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType,
		ExpiresAt: t.ExpiresAt, APIDomain: t.APIDomain}, nil
}

// Save stores t in place of the pair this instance last loaded or saved
// (the first save of an account needs no load).
func (s *TokenStore) Save(ctx context.Context, t *amocrm.Token) error {
	if t == nil || t.AccessToken == "" {
		return fmt.Errorf("amocrmsink: save token: %w: empty token", chatter.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, err := s.store.SwapToken(ctx, &chatter.Token{
		Workspace: s.workspace, Account: s.account,
		AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType,
		ExpiresAt: t.ExpiresAt, APIDomain: t.APIDomain,
	}, s.version)
	if err != nil {
		return fmt.Errorf("amocrmsink: save token of %s: %w", s.account, err)
	}
	s.version = stored.Version
	return nil
}

// Expiry returns when the stored access token expires (zero for a token
// without expiry).
func (s *TokenStore) Expiry(ctx context.Context) (time.Time, error) {
	t, err := s.store.GetToken(ctx, s.workspace, s.account)
	if err != nil {
		return time.Time{}, fmt.Errorf("amocrmsink: token expiry: %w", err)
	}
	return t.ExpiresAt, nil
}
