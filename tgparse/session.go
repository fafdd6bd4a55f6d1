package tgparse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gotd/td/session"

	"github.com/chatterhq/sdk/chatter"
)

// SessionStorage adapts a chatter.SessionStore to gotd's session.Storage
// for one account. Writes are fenced by the account's session lease, so an
// instance that lost the lease cannot overwrite the session. When a Sealer
// is given the blob is sealed here too (bound to workspace and account), so
// it is never stored in plain text even by a store that does not seal.
type SessionStorage struct {
	store     chatter.SessionStore
	sealer    *chatter.Sealer
	workspace string
	account   string
	lease     *chatter.Lease
}

var _ session.Storage = (*SessionStorage)(nil)

// NewSessionStorage returns the session storage of account, writing under
// lease (the current lease named chatter.SessionLeaseName(account)).
func NewSessionStorage(store chatter.SessionStore, sealer *chatter.Sealer, workspace, account string, lease *chatter.Lease) *SessionStorage {
	return &SessionStorage{store: store, sealer: sealer, workspace: workspace, account: account, lease: lease}
}

// String names the storage; it holds no secret, and shows none of its
// store, sealer or lease.
func (s *SessionStorage) String() string {
	if s == nil {
		return "tgparse.SessionStorage(nil)"
	}
	return "tgparse.SessionStorage(" + s.workspace + "/" + s.account + ")"
}

// GoString is String, for %#v.
func (s *SessionStorage) GoString() string { return s.String() }

// Format makes every fmt verb show String.
func (s *SessionStorage) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, s.String(), s.GoString())
}

// LogValue logs the workspace and account.
func (s *SessionStorage) LogValue() slog.Value {
	if s == nil {
		return slog.StringValue("nil")
	}
	return slog.GroupValue(slog.String("workspace", s.workspace), slog.String("account", s.account))
}

func (s *SessionStorage) ad() []byte {
	return []byte("tgparse.session:" + s.workspace + ":" + s.account)
}

// LoadSession implements session.Storage: session.ErrNotFound when no
// session is stored.
func (s *SessionStorage) LoadSession(ctx context.Context) ([]byte, error) {
	data, err := s.store.LoadSession(ctx, s.workspace, s.account)
	if errors.Is(err, chatter.ErrNotFound) {
		return nil, session.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("tgparse: load session %s: %w", s.account, err)
	}
	if s.sealer != nil {
		if data, err = s.sealer.Open(data, s.ad()); err != nil {
			return nil, fmt.Errorf("tgparse: load session %s: %w", s.account, err)
		}
	}
	return data, nil
}

// StoreSession implements session.Storage. It returns an error wrapping
// chatter.ErrLeaseLost when the lease is no longer current.
func (s *SessionStorage) StoreSession(ctx context.Context, data []byte) error {
	if s.sealer != nil {
		sealed, err := s.sealer.Seal(data, s.ad())
		if err != nil {
			return fmt.Errorf("tgparse: store session %s: %w", s.account, err)
		}
		data = sealed
	}
	if err := s.store.StoreSession(ctx, s.workspace, s.account, data, s.lease); err != nil {
		return fmt.Errorf("tgparse: store session %s: %w", s.account, err)
	}
	return nil
}
