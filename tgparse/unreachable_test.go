package tgparse_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/tgparse"
)

// closedAddr returns a 127.0.0.1 address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// hangUpAddr returns the address of a listener that accepts connections and
// closes them at once: TCP connects, MTProto never answers.
func hangUpAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	return ln.Addr().String()
}

// TestLoginUnreachable runs every Login step against a Telegram that does
// not answer: each must fail with a typed error within its bound, never
// return (nil, nil).
func TestLoginUnreachable(t *testing.T) {
	t.Parallel()
	addrs := map[string]func(*testing.T) string{"closed port": closedAddr, "accept and close": hangUpAddr}
	// How the wait ends: the connect timeout, the caller's deadline, the
	// caller canceling.
	modes := []string{"connect timeout", "deadline", "cancel"}
	steps := map[string]func(ctx context.Context, l *tgparse.Login, acct tgparse.Account) (any, error){
		"SendCode": func(ctx context.Context, l *tgparse.Login, acct tgparse.Account) (any, error) {
			st, err := l.SendCode(ctx, acct)
			return st, err
		},
		"SignIn": func(ctx context.Context, l *tgparse.Login, acct tgparse.Account) (any, error) {
			self, err := l.SignIn(ctx, &tgparse.CodeState{Account: acct.ID, Phone: acct.Phone, PhoneCodeHash: "abc"}, "12345")
			return self, err
		},
		"Password": func(ctx context.Context, l *tgparse.Login, acct tgparse.Account) (any, error) {
			self, err := l.Password(ctx, &tgparse.CodeState{Account: acct.ID, Phone: acct.Phone, PhoneCodeHash: "abc"}, "pw")
			return self, err
		},
		"Status": func(ctx context.Context, l *tgparse.Login, acct tgparse.Account) (any, error) {
			self, err := l.Status(ctx, acct.ID)
			return self, err
		},
	}
	for addrName, addrOf := range addrs {
		for _, mode := range modes {
			for stepName, step := range steps {
				t.Run(addrName+"/"+mode+"/"+stepName, func(t *testing.T) {
					t.Parallel()
					ep, err := tgparse.NewEndpoint(2, addrOf(t), nil)
					require.NoError(t, err)
					sealer, err := chatter.NewSealer("k1", map[string][]byte{"k1": make([]byte, 32)})
					require.NoError(t, err)
					store := chattertest.NewMemStore()
					accounts, err := tgparse.NewAccountStore(store, sealer, ws)
					require.NoError(t, err)
					acct := account("acc1", "+79990000001")
					require.NoError(t, accounts.Save(t.Context(), acct))

					conn := tgparse.Connection{Workspace: ws, Store: store, Sealer: sealer, Endpoint: ep, ConnectTimeout: time.Minute}
					ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // the bound of the test
					defer cancel()
					var wantCtxErr error
					switch mode {
					case "connect timeout":
						conn.ConnectTimeout = 700 * time.Millisecond
					case "deadline":
						ctx, cancel = context.WithTimeout(ctx, 700*time.Millisecond)
						defer cancel()
						wantCtxErr = context.DeadlineExceeded
					case "cancel":
						stop := time.AfterFunc(700*time.Millisecond, cancel)
						defer stop.Stop()
						wantCtxErr = context.Canceled
					}
					l, err := tgparse.NewLogin(conn, accounts)
					require.NoError(t, err)

					start := time.Now()
					got, err := step(ctx, l, acct)
					require.Less(t, time.Since(start), 15*time.Second, "the step did not stop in time")
					require.Error(t, err, "result %#v", got)
					require.Nil(t, got)
					require.ErrorIs(t, err, tgparse.ErrUnreachable)
					if wantCtxErr != nil {
						require.ErrorIs(t, err, wantCtxErr)
					}
					var e *tgparse.Error
					require.ErrorAs(t, err, &e)
					if diff := cmp.Diff(chatter.T("Telegram недоступен: проверьте сеть или прокси", "Telegram is unreachable: check the network or the proxy"), e.Message()); diff != "" {
						t.Errorf("message (-want +got):\n%s", diff)
					}
					if diff := cmp.Diff("acc1", e.Account); diff != "" {
						t.Errorf("account (-want +got):\n%s", diff)
					}
					require.Equal(t, chatter.ClassTransient, chatter.ClassOf(err))
				})
			}
		}
	}
}

// TestLoginUnreachableProxy: with a proxy set, the same failure names the
// proxy (KindProxy).
func TestLoginUnreachableProxy(t *testing.T) {
	t.Parallel()
	ep, err := tgparse.NewEndpoint(2, closedAddr(t), nil)
	require.NoError(t, err)
	sealer, err := chatter.NewSealer("k1", map[string][]byte{"k1": make([]byte, 32)})
	require.NoError(t, err)
	store := chattertest.NewMemStore()
	accounts, err := tgparse.NewAccountStore(store, sealer, ws)
	require.NoError(t, err)
	acct := account("acc1", "+79990000001")
	acct.Proxy = "socks5://user:pw@" + closedAddr(t)
	l, err := tgparse.NewLogin(tgparse.Connection{Workspace: ws, Store: store, Sealer: sealer, Endpoint: ep, ConnectTimeout: time.Minute}, accounts)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	stop := time.AfterFunc(700*time.Millisecond, cancel)
	defer stop.Stop()
	st, err := l.SendCode(ctx, acct)
	require.Error(t, err)
	require.Nil(t, st)
	require.ErrorIs(t, err, tgparse.ErrProxy)
	require.False(t, errors.Is(err, tgparse.ErrUnreachable), "err = %v", err)
	require.NotContains(t, err.Error(), "pw@")
}
