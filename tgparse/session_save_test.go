package tgparse_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/tgparse"
)

// slowSessions is a store whose session writes take a while, as a SQL
// store's do on a loaded machine.
type slowSessions struct {
	*chattertest.MemStore
	delay time.Duration
}

func (s slowSessions) StoreSession(ctx context.Context, workspace, account string, blob []byte, lease *chatter.Lease) error {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.MemStore.StoreSession(ctx, workspace, account, blob, lease)
}

// TestLoginSessionSavedBeforeStepEnds: gotd saves a new session only after
// the client is ready, concurrently with the caller's first request; a
// login step (one short connection) must not end before that save, or the
// signed-in auth key is lost and the Source finds the account not logged
// in.
func TestLoginSessionSavedBeforeStepEnds(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("+79990000001", "parser_acc", "Parser")
	store := slowSessions{MemStore: e.store, delay: 300 * time.Millisecond}
	conn := e.conn("login")
	conn.Store = store
	l, err := tgparse.NewLogin(conn, e.accounts)
	require.NoError(t, err)
	acct := account("acc1", "+79990000001")
	st, err := l.SendCode(t.Context(), acct)
	require.NoError(t, err)
	_, err = l.SignIn(t.Context(), st, e.srv.Code(acct.Phone))
	require.NoError(t, err)

	self, err := l.Status(t.Context(), "acc1")
	require.NoError(t, err, "the signed-in session was not stored")
	require.Equal(t, "parser_acc", self.Username)
}
