package auth_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

func TestPasswordReset(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		u := e.addUser("ivan", "Ivan@Example.com", auth.RoleManager)
		// Lock the account and open a session: the reset lifts the first
		// and ends the second.
		cookie, _, err := e.svc.CreateSession(e.ctx, u, "", "")
		require.NoError(t, err)
		for range 5 {
			_, _ = e.svc.Authenticate(e.ctx, "ivan", "wrong wrong wrong", "")
		}

		token, got, err := e.svc.RequestReset(e.ctx, " ivan@example.COM ", "203.0.113.5")
		require.NoError(t, err)
		require.NotEmpty(t, token)
		require.Empty(t, cmp.Diff(u.ID, got.ID))
		require.Regexp(t, `^[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$`, token)

		// Another instance checks and consumes it.
		other := e.newService(auth.Config{})
		back, err := other.CheckReset(e.ctx, token)
		require.NoError(t, err)
		require.Empty(t, cmp.Diff(u.ID, back.ID))

		// A refused password keeps the link usable.
		_, err = other.ConsumeReset(e.ctx, token, "ivan12345678", "203.0.113.5")
		require.ErrorIs(t, err, chatter.ErrInvalid)
		require.Contains(t, auth.Problems(err), auth.FieldPassword)

		done, err := other.ConsumeReset(e.ctx, token, "my new password", "203.0.113.5")
		require.NoError(t, err)
		require.Empty(t, done.RecentFailures)
		require.True(t, done.LockedUntil.IsZero())
		require.Empty(t, cmp.Diff("ok ivan", outcome(e.svc.Authenticate(e.ctx, "ivan", "my new password", ""))))
		_, _, err = e.svc.LookupSession(e.ctx, cookie)
		require.ErrorIs(t, err, auth.ErrNoSession)

		// Single use.
		_, err = e.svc.ConsumeReset(e.ctx, token, "and another one", "")
		require.ErrorIs(t, err, auth.ErrBadResetToken)
		_, err = e.svc.CheckReset(e.ctx, token)
		require.ErrorIs(t, err, auth.ErrBadResetToken)
		require.NotEmpty(t, auth.Message(err, nil).RU)
	})
}

func TestPasswordResetExpiryAndThrottle(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		e.addUser("ivan", "ivan@example.com", auth.RoleManager)
		token, _, err := e.svc.RequestReset(e.ctx, "ivan@example.com", "")
		require.NoError(t, err)
		require.NotEmpty(t, token)

		// A second request within 5 minutes is ignored, silently.
		e.clock.Add(4 * time.Minute)
		again, u, err := e.svc.RequestReset(e.ctx, "ivan@example.com", "")
		require.NoError(t, err)
		require.Empty(t, again)
		require.Nil(t, u)

		// The link dies after one hour.
		e.clock.Add(56 * time.Minute)
		_, err = e.svc.ConsumeReset(e.ctx, token, "my new password", "")
		require.ErrorIs(t, err, auth.ErrBadResetToken)

		// A new link replaces the old one.
		first, _, err := e.svc.RequestReset(e.ctx, "ivan@example.com", "")
		require.NoError(t, err)
		e.clock.Add(5 * time.Minute)
		second, _, err := e.svc.RequestReset(e.ctx, "ivan@example.com", "")
		require.NoError(t, err)
		require.NotEmpty(t, second)
		_, err = e.svc.CheckReset(e.ctx, first)
		require.ErrorIs(t, err, auth.ErrBadResetToken)
		_, err = e.svc.CheckReset(e.ctx, second)
		require.NoError(t, err)

		// A password set another way voids the link.
		u2, err := e.svc.GetByLogin(e.ctx, "ivan")
		require.NoError(t, err)
		_, err = e.svc.ChangePassword(e.ctx, u2.ID, goodPassword, "changed by myself", "")
		require.NoError(t, err)
		_, err = e.svc.CheckReset(e.ctx, second)
		require.ErrorIs(t, err, auth.ErrBadResetToken)

		// Prune clears the used row once its throttle has passed.
		e.clock.Add(2 * time.Hour)
		n, err := e.svc.Prune(e.ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	})
}

// Unknown, blocked and expired addresses get an empty token and no error,
// exactly like a throttled request: the page cannot tell them apart.
func TestPasswordResetRevealsNothing(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		admin := e.addUser("root", "root@example.com", auth.RoleAdmin)
		b := e.addUser("blocked", "blocked@example.com", auth.RoleManager)
		require.NoError(t, e.svc.Block(e.ctx, admin.Actor(""), b.ID))
		x := e.addUser("expired", "expired@example.com", auth.RoleManager)
		require.NoError(t, e.svc.SetAccessExpiry(e.ctx, admin.Actor(""), x.ID, t0.Add(-time.Hour)))

		for _, email := range []string{"nobody@example.com", "blocked@example.com", "expired@example.com"} {
			token, u, err := e.svc.RequestReset(e.ctx, email, "198.51.100.9")
			require.NoError(t, err, email)
			require.Empty(t, token, email)
			require.Nil(t, u, email)
		}
		// A token issued before the block stops working after it.
		m := e.addUser("mgr", "mgr@example.com", auth.RoleManager)
		token, _, err := e.svc.RequestReset(e.ctx, "mgr@example.com", "")
		require.NoError(t, err)
		require.NoError(t, e.svc.Block(e.ctx, admin.Actor(""), m.ID))
		_, err = e.svc.ConsumeReset(e.ctx, token, "my new password", "")
		require.ErrorIs(t, err, auth.ErrBadResetToken)

		// Malformed input is a field error (it tells nothing about accounts).
		_, _, err = e.svc.RequestReset(e.ctx, "not an address", "")
		require.Contains(t, auth.Problems(err), auth.FieldEmail)
		for _, bad := range []string{"", "abc", admin.ID + ".", admin.ID + ".AAAA", "zz" + token[2:]} {
			_, err := e.svc.CheckReset(e.ctx, bad)
			require.ErrorIs(t, err, auth.ErrBadResetToken, "%q", bad)
		}
	})
}

// Two concurrent uses of one link: exactly one sets its password.
func TestPasswordResetSingleUseRace(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		e.addUser("ivan", "ivan@example.com", auth.RoleManager)
		token, _, err := e.svc.RequestReset(e.ctx, "ivan@example.com", "")
		require.NoError(t, err)
		svcs := []*auth.Service{e.svc, e.newService(auth.Config{})}
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = svcs[i%2].ConsumeReset(e.ctx, token, "new password number "+string(rune('a'+i)), "")
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				require.Equal(t, -1, winner, "two uses succeeded")
				winner = i
				continue
			}
			require.ErrorIs(t, err, auth.ErrBadResetToken)
		}
		require.GreaterOrEqual(t, winner, 0)
		require.Empty(t, cmp.Diff("ok ivan", outcome(e.svc.Authenticate(e.ctx, "ivan", "new password number "+string(rune('a'+winner)), ""))))
	})
}
