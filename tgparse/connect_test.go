package tgparse

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gotd/td/telegram/dcs"
	"github.com/gotd/td/tg"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

// TestConnectTimeoutCanceledDial is the case of issue 13: when the last
// dial before the connect timeout failed with an error that wraps
// context.Canceled (a dial to one address of a DC canceled because another
// answered first, then hung up), the timeout must still come back as an
// error, not as a step that succeeded.
func TestConnectTimeoutCanceledDial(t *testing.T) {
	t.Parallel()
	var dials atomic.Int32
	canceledDial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("connect to %s: %w", addr, context.Canceled)}
	}
	for _, proxy := range []string{"", "socks5://user:s3cret@127.0.0.1:1080"} {
		t.Run("proxy="+proxy, func(t *testing.T) {
			sealer, err := chatter.NewSealer("k1", map[string][]byte{"k1": make([]byte, 32)})
			require.NoError(t, err)
			store := chattertest.NewMemStore()
			accounts, err := NewAccountStore(store, sealer, "ws")
			require.NoError(t, err)
			conn := Connection{Workspace: "ws", Store: store, Sealer: sealer, ConnectTimeout: 500 * time.Millisecond,
				Endpoint: &Endpoint{DC: 2, DCList: dcs.List{Options: []tg.DCOption{{ID: 2, IPAddress: "127.0.0.1", Port: 1}}}},
				dial:     canceledDial}
			l, err := NewLogin(conn, accounts)
			require.NoError(t, err)
			acct := Account{ID: "acc1", Phone: "+79990000001", APIID: 1, APIHash: strings.Repeat("ab", 16), Proxy: proxy}

			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			before := dials.Load()
			st, err := l.SendCode(ctx, acct)
			require.Error(t, err, "state %+v", st)
			require.Nil(t, st)
			require.Greater(t, dials.Load(), before, "the test dial was not used")
			want := ErrUnreachable
			if proxy != "" {
				want = ErrProxy
			}
			require.ErrorIs(t, err, want)
			require.ErrorIs(t, err, context.Canceled) // the dial error stays reachable
			require.NoError(t, ctx.Err(), "the step waited for the test's bound, not the connect timeout")
			require.NotContains(t, err.Error(), "s3cret")
		})
	}
}

// TestDialWatchKeepsTheTellingError: a canceled dial does not hide the
// error of an earlier one.
func TestDialWatchKeepsTheTellingError(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("connection refused")}
	canceled := &net.OpError{Op: "dial", Net: "tcp", Err: context.Canceled}
	results := []error{refused, canceled}
	w := &dialWatch{}
	dial := w.wrap(func(ctx context.Context, network, addr string) (net.Conn, error) {
		err := results[0]
		results = results[1:]
		return nil, err
	})
	require.EqualError(t, w.lastErr(), "no answer from Telegram")
	_, _ = dial(t.Context(), "tcp", "x")
	_, _ = dial(t.Context(), "tcp", "x")
	require.Equal(t, error(refused), w.lastErr())
	results = []error{canceled}
	w = &dialWatch{}
	_, _ = w.wrap(func(ctx context.Context, network, addr string) (net.Conn, error) { return nil, results[0] })(t.Context(), "tcp", "x")
	require.Equal(t, error(canceled), w.lastErr())
}

// TestSelfOfAuthorization: an authorization without a user is an error,
// never a nil user without one.
func TestSelfOfAuthorization(t *testing.T) {
	self, err := selfOfAuthorization("acc1", &tg.AuthAuthorization{User: &tg.User{ID: 7, Username: "anna", FirstName: "Анна"}})
	require.NoError(t, err)
	if diff := cmp.Diff(&Self{ID: 7, Username: "anna", FirstName: "Анна"}, self); diff != "" {
		t.Errorf("self (-want +got):\n%s", diff)
	}
	for name, a := range map[string]tg.AuthAuthorizationClass{
		"empty user":        &tg.AuthAuthorization{User: &tg.UserEmpty{ID: 7}},
		"no user":           &tg.AuthAuthorization{},
		"nil authorization": (*tg.AuthAuthorization)(nil),
		"nil class":         nil,
		"sign up required":  &tg.AuthAuthorizationSignUpRequired{},
		"nil typed user":    &tg.AuthAuthorization{User: (*tg.User)(nil)},
	} {
		self, err := selfOfAuthorization("acc1", a)
		require.Error(t, err, name)
		require.Nil(t, self, name)
		require.Contains(t, err.Error(), "acc1", name)
	}
	_, err = selfOfAuthorization("acc1", &tg.AuthAuthorizationSignUpRequired{})
	require.ErrorIs(t, err, ErrSignUpRequired)
}

// TestUnreachableKind: a Telegram that does not answer stops the account
// like a failing proxy, as a transient error.
func TestUnreachableKind(t *testing.T) {
	err := notConnected(Account{ID: "acc1"}, context.DeadlineExceeded)
	require.ErrorIs(t, err, ErrUnreachable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.True(t, isAccountFatal(err))
	require.False(t, isChatError(err))
	require.Equal(t, StatusProxyFailing, statusOf(err))
	require.Equal(t, chatter.ClassTransient, chatter.ClassOf(err))
	if diff := cmp.Diff("tgparse: account acc1: Telegram is unreachable: check the network or the proxy: context deadline exceeded", err.Error()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
	st := AccountState{Account: "acc1", Status: StatusProxyFailing, Err: err}
	if diff := cmp.Diff(chatter.T("Telegram недоступен: проверьте сеть или прокси", "Telegram is unreachable: check the network or the proxy"), st.Cause()); diff != "" {
		t.Errorf("cause (-want +got):\n%s", diff)
	}
	require.False(t, st.Remedy().IsZero())
	proxied := notConnected(Account{ID: "acc1", Proxy: "socks5://127.0.0.1:1080"}, context.DeadlineExceeded)
	require.ErrorIs(t, proxied, ErrProxy)
}
