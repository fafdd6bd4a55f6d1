package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/chatterhq/sdk/chatter"
)

// Keys of the rows in ServerWorkspace. The chatter SettingsStore has no
// delete: a removed row is written as JSON null (a tombstone) and is reused
// by the next write of the same key (CAS at the tombstone's version).
const (
	keyUser    = "user/"          // user/<id>: the user record with its hash
	keyLogin   = "user-login/"    // user-login/<lower login>: uniqueness claim → user id
	keyEmail   = "user-email/"    // user-email/<lower email>: uniqueness claim → user id
	keySession = "session/"       // session/<user id>/<slot>: a session, with the SHA-256 of its secret
	keyReset   = "reset/"         // reset/<user id>: the user's current reset link (hash) and throttle
	keyTicket  = "ticket/"        // ticket/<user id>: the user's current change-password ticket (hash)
	keyUnknown = "unknown-login/" // unknown-login/<bucket>: failure counters of logins that match no user
	keySalt    = "auth-key"       // the key of the unknown-login buckets
	keySetup   = "setup"          // the first-run claim
)

// maxRetries bounds compare-and-swap loops; a loser re-reads and retries, and
// every round has a winner, so this is reached only under pathological
// contention.
const maxRetries = 100

var tombstone = json.RawMessage("null")

// load reads key into v. It returns the row's version (0 when there is no
// row) and whether a value was found (false for a missing row and for a
// tombstone).
func (s *Service) load(ctx context.Context, key string, v any) (version int64, found bool, err error) {
	st, err := s.store.GetSetting(ctx, ServerWorkspace, key)
	if errors.Is(err, chatter.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("auth: read %s: %w", key, err)
	}
	if bytes.Equal(bytes.TrimSpace(st.Value), tombstone) {
		return st.Version, false, nil
	}
	if err := json.Unmarshal(st.Value, v); err != nil {
		return 0, false, fmt.Errorf("auth: decode %s: %w", key, err)
	}
	return st.Version, true, nil
}

// put writes v (nil: a tombstone) at key if the stored version is version,
// returning the new version. A lost race is an error wrapping
// chatter.ErrConflict.
func (s *Service) put(ctx context.Context, key string, v any, version int64) (int64, error) {
	value := tombstone
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return 0, fmt.Errorf("auth: encode %s: %w", key, err)
		}
		value = b
	}
	st, err := s.store.PutSetting(ctx, ServerWorkspace, key, value, version)
	if err != nil {
		return 0, fmt.Errorf("auth: write %s: %w", key, err)
	}
	return st.Version, nil
}

// errUnchanged tells update that fn decided not to write.
var errUnchanged = errors.New("auth: unchanged")

// update applies fn to the current value of key (nil when absent) and writes
// what it returns (nil: a tombstone) with compare-and-swap, re-reading and
// re-applying fn after a lost race. fn returning errUnchanged ends without a
// write (update returns the current value and nil); any other error ends
// update with that error. fn must not keep cur.
func update[T any](ctx context.Context, s *Service, key string, fn func(cur *T) (*T, error)) (*T, int64, error) {
	for range maxRetries {
		var v T
		version, found, err := s.load(ctx, key, &v)
		if err != nil {
			return nil, 0, err
		}
		cur := &v
		if !found {
			cur = nil
		}
		next, err := fn(cur)
		if errors.Is(err, errUnchanged) {
			return cur, version, nil
		}
		if err != nil {
			return nil, 0, err
		}
		var w any
		if next != nil {
			w = next
		}
		nv, err := s.put(ctx, key, w, version)
		if errors.Is(err, chatter.ErrConflict) {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		return next, nv, nil
	}
	return nil, 0, fmt.Errorf("auth: update %s: gave up after %d conflicting writes: %w", key, maxRetries, chatter.ErrConflict)
}

// list returns the values under prefix, skipping tombstones, with their keys
// and versions.
func list[T any](ctx context.Context, s *Service, prefix string) ([]listed[T], error) {
	rows, err := s.store.ListSettings(ctx, ServerWorkspace, prefix)
	if err != nil {
		return nil, fmt.Errorf("auth: list %s: %w", prefix, err)
	}
	out := make([]listed[T], 0, len(rows))
	for _, st := range rows {
		l := listed[T]{key: st.Key, version: st.Version}
		if !bytes.Equal(bytes.TrimSpace(st.Value), tombstone) {
			l.value = new(T)
			if err := json.Unmarshal(st.Value, l.value); err != nil {
				return nil, fmt.Errorf("auth: decode %s: %w", st.Key, err)
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// listed is one row of list; value is nil for a tombstone.
type listed[T any] struct {
	key     string
	version int64
	value   *T
}
