package auth_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

func TestSessionLifecycle(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		u := e.addUser("ivan", "ivan@example.com", auth.RoleManager, func(nu *auth.NewUser) { nu.Language = auth.LangEN })
		cookie, ss, err := e.svc.CreateSession(e.ctx, u, "198.51.100.1", "Firefox")
		require.NoError(t, err)
		require.Regexp(t, `^[0-9a-f]{32}\.0\.[A-Za-z0-9_-]{43}$`, cookie)
		want := &auth.Session{ID: u.ID + ".0", UserID: u.ID, CreatedAt: t0, LastSeenAt: t0, RemoteAddr: "198.51.100.1", UserAgent: "Firefox", Language: auth.LangEN}
		require.Empty(t, cmp.Diff(want, ss, cmpopts.IgnoreFields(auth.Session{}, "Version")))

		// The store has only the SHA-256 of the secret.
		secret := cookie[strings.LastIndexByte(cookie, '.')+1:]
		rows, err := e.store.ListSettings(e.ctx, auth.ServerWorkspace, "")
		require.NoError(t, err)
		for _, r := range rows {
			require.NotContains(t, string(r.Value), secret, r.Key)
		}

		// Another instance serves the next request.
		other := e.newService(auth.Config{})
		got, gu, err := other.LookupSession(e.ctx, cookie)
		require.NoError(t, err)
		require.Empty(t, cmp.Diff(want, got, cmpopts.IgnoreFields(auth.Session{}, "Version")))
		require.Empty(t, cmp.Diff(u.ID, gu.ID))

		// Wrong secrets and garbage are ErrNoSession.
		for _, bad := range []string{"", "x", cookie + "x", tamper(cookie), u.ID + ".1." + secret, u.ID + ".00." + secret,
			strings.Replace(cookie, ".0.", ".-1.", 1), strings.ToUpper(cookie)} {
			_, _, err := e.svc.LookupSession(e.ctx, bad)
			require.ErrorIs(t, err, auth.ErrNoSession, "%q", bad)
		}

		// Last-seen is written at most once a minute.
		e.clock.Add(30 * time.Second)
		got, _, err = e.svc.LookupSession(e.ctx, cookie)
		require.NoError(t, err)
		require.True(t, got.LastSeenAt.Equal(t0))
		e.clock.Add(31 * time.Second)
		got, _, err = e.svc.LookupSession(e.ctx, cookie)
		require.NoError(t, err)
		require.True(t, got.LastSeenAt.Equal(t0.Add(61*time.Second)))

		// Flash messages are read once.
		require.NoError(t, e.svc.SetFlash(e.ctx, ss.ID, &auth.Flash{Kind: "info", Text: chatter.T("Сохранено", "Saved")}))
		f, err := other.TakeFlash(e.ctx, ss.ID)
		require.NoError(t, err)
		require.Empty(t, cmp.Diff(&auth.Flash{Kind: "info", Text: chatter.T("Сохранено", "Saved")}, f))
		f, err = e.svc.TakeFlash(e.ctx, ss.ID)
		require.NoError(t, err)
		require.Nil(t, f)

		// Language changes reach the session.
		require.NoError(t, e.svc.SetLanguage(e.ctx, u.Actor(""), u.ID, auth.LangRU))
		got, _, err = e.svc.LookupSession(e.ctx, cookie)
		require.NoError(t, err)
		require.Empty(t, cmp.Diff(auth.LangRU, got.Language))

		// Rotation: the new cookie works, the old one does not.
		rotated, rs, err := e.svc.RotateSession(e.ctx, cookie)
		require.NoError(t, err)
		require.NotEqual(t, cookie, rotated)
		require.Empty(t, cmp.Diff(ss.ID, rs.ID))
		_, _, err = other.LookupSession(e.ctx, cookie)
		require.ErrorIs(t, err, auth.ErrNoSession)
		_, _, err = other.LookupSession(e.ctx, rotated)
		require.NoError(t, err)
		_, _, err = e.svc.RotateSession(e.ctx, cookie)
		require.ErrorIs(t, err, auth.ErrNoSession)

		// Logout, twice.
		require.NoError(t, other.DeleteSession(e.ctx, rotated, "198.51.100.1"))
		require.NoError(t, other.DeleteSession(e.ctx, rotated, "198.51.100.1"))
		_, _, err = e.svc.LookupSession(e.ctx, rotated)
		require.ErrorIs(t, err, auth.ErrNoSession)
		// A wrong secret does not log anyone out.
		c2, _, err := e.svc.CreateSession(e.ctx, u, "", "")
		require.NoError(t, err)
		require.NoError(t, e.svc.DeleteSession(e.ctx, tamper(c2), ""))
		_, _, err = e.svc.LookupSession(e.ctx, c2)
		require.NoError(t, err)
	})
}

func TestSessionExpiry(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		u := e.addUser("ivan", "ivan@example.com", auth.RoleManager)

		// Idle: 12 hours without a request.
		idle, _, err := e.svc.CreateSession(e.ctx, u, "", "")
		require.NoError(t, err)
		e.clock.Add(12*time.Hour - time.Second)
		_, _, err = e.svc.LookupSession(e.ctx, idle)
		require.NoError(t, err, "used just in time: the idle timer restarts")
		e.clock.Add(12*time.Hour - time.Second)
		_, _, err = e.svc.LookupSession(e.ctx, idle)
		require.NoError(t, err)
		e.clock.Add(12 * time.Hour)
		_, _, err = e.svc.LookupSession(e.ctx, idle)
		require.ErrorIs(t, err, auth.ErrNoSession)

		// Absolute: 30 days, however busy.
		busy, _, err := e.svc.CreateSession(e.ctx, u, "", "")
		require.NoError(t, err)
		for range 60 {
			e.clock.Add(12*time.Hour - time.Minute)
			_, _, err = e.svc.LookupSession(e.ctx, busy)
			require.NoError(t, err)
		}
		e.clock.Add(time.Hour)
		_, _, err = e.svc.LookupSession(e.ctx, busy)
		require.ErrorIs(t, err, auth.ErrNoSession)
		sessions, err := e.svc.ListSessions(e.ctx, u.ID)
		require.NoError(t, err)
		require.Empty(t, sessions)
	})
}

func TestSessionsEndWithTheUser(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		admin := e.addUser("root", "root@example.com", auth.RoleAdmin)
		by := admin.Actor("10.0.0.1")
		login := func(u *auth.User) string {
			c, _, err := e.svc.CreateSession(e.ctx, u, "", "")
			require.NoError(t, err)
			return c
		}
		alive := func(c string) bool {
			_, _, err := e.svc.LookupSession(e.ctx, c)
			if err != nil {
				require.ErrorIs(t, err, auth.ErrNoSession)
			}
			return err == nil
		}

		u := e.addUser("ivan", "ivan@example.com", auth.RoleManager)
		c := login(u)
		require.NoError(t, e.svc.Block(e.ctx, by, u.ID))
		require.False(t, alive(c), "blocked")
		_, _, err := e.svc.CreateSession(e.ctx, u, "", "")
		var be *auth.BlockedError
		require.ErrorAs(t, err, &be)
		require.NoError(t, e.svc.Unblock(e.ctx, by, u.ID))
		require.False(t, alive(c), "a session ended by a block stays ended")

		c1, c2 := login(u), login(u)
		_, err = e.svc.ChangePassword(e.ctx, u.ID, goodPassword, "another long password", "10.0.0.2")
		require.NoError(t, err)
		require.False(t, alive(c1), "password change ends every session")
		require.False(t, alive(c2))

		c = login(u)
		require.NoError(t, e.svc.SetPassword(e.ctx, by, u.ID, "admin chose this one", false))
		require.False(t, alive(c), "admin password set")

		c = login(u)
		require.NoError(t, e.svc.SetAccessExpiry(e.ctx, by, u.ID, t0.Add(time.Hour)))
		require.True(t, alive(c), "the end is still ahead")
		e.clock.Add(time.Hour)
		require.False(t, alive(c), "access ended")
		require.NoError(t, e.svc.SetAccessExpiry(e.ctx, by, u.ID, time.Time{}))

		c = login(u)
		require.NoError(t, e.svc.ForcePasswordChange(e.ctx, by, u.ID, true))
		require.False(t, alive(c), "forced change")
		require.NoError(t, e.svc.ForcePasswordChange(e.ctx, by, u.ID, false))

		c = login(u)
		// Deleted by another instance.
		require.NoError(t, e.newService(auth.Config{}).Delete(e.ctx, by, u.ID))
		require.False(t, alive(c), "deleted")

		// Revoke by id, from a list.
		v := e.addUser("vera", "vera@example.com", auth.RoleManager)
		cv1 := login(v)
		e.clock.Add(2 * time.Minute)
		cv2 := login(v)
		list, err := e.svc.ListSessions(e.ctx, v.ID)
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.Empty(t, cmp.Diff(v.ID+".1", list[0].ID), "most recent first")
		require.NoError(t, e.svc.RevokeSession(e.ctx, by, list[1].ID))
		require.ErrorIs(t, e.svc.RevokeSession(e.ctx, by, list[1].ID), auth.ErrNoSession)
		require.False(t, alive(cv1))
		require.True(t, alive(cv2))
		n, err := e.svc.DeleteUserSessions(e.ctx, v.ID)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.False(t, alive(cv2))
	})
}

// Slots are reused and bounded: the store never grows past
// MaxSessionsPerUser rows per user, and the oldest session gives way.
func TestSessionSlots(t *testing.T) {
	forEachStore(t, auth.Config{MaxSessionsPerUser: 3}, func(t *testing.T, e *env) {
		u := e.addUser("ivan", "ivan@example.com", auth.RoleManager)
		var cookies []string
		for range 5 {
			c, _, err := e.svc.CreateSession(e.ctx, u, "", "")
			require.NoError(t, err)
			cookies = append(cookies, c)
			e.clock.Add(time.Minute)
		}
		live := 0
		for i, c := range cookies {
			_, _, err := e.svc.LookupSession(e.ctx, c)
			if err == nil {
				live++
			} else if i >= 2 {
				t.Errorf("session %d ended, want one of the newest three", i)
			}
		}
		require.Equal(t, 3, live)
		rows, err := e.store.ListSettings(e.ctx, auth.ServerWorkspace, "session/")
		require.NoError(t, err)
		require.Len(t, rows, 3)

		// Logout frees a slot, which the next login reuses.
		require.NoError(t, e.svc.DeleteSession(e.ctx, cookies[4], ""))
		c, _, err := e.svc.CreateSession(e.ctx, u, "", "")
		require.NoError(t, err)
		require.Empty(t, cmp.Diff(cookies[4][:strings.LastIndexByte(cookies[4], '.')], c[:strings.LastIndexByte(c, '.')]))
		rows, err = e.store.ListSettings(e.ctx, auth.ServerWorkspace, "session/")
		require.NoError(t, err)
		require.Len(t, rows, 3)

		// Prune clears expired sessions (wiping their addresses).
		e.clock.Add(13 * time.Hour)
		n, err := e.svc.Prune(e.ctx)
		require.NoError(t, err)
		require.Equal(t, 3, n)
		rows, err = e.store.ListSettings(e.ctx, auth.ServerWorkspace, "session/")
		require.NoError(t, err)
		for _, r := range rows {
			require.Empty(t, cmp.Diff("null", string(r.Value)))
		}
		n, err = e.svc.Prune(e.ctx)
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

// Concurrent logins of one user on two instances each get their own slot.
func TestConcurrentSessions(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		u := e.addUser("ivan", "ivan@example.com", auth.RoleManager)
		svcs := []*auth.Service{e.svc, e.newService(auth.Config{})}
		const n = 10
		cookies := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				c, _, err := svcs[i%2].CreateSession(e.ctx, u, "", "")
				if err != nil {
					t.Errorf("session %d: %v", i, err)
				}
				cookies[i] = c
			})
		}
		wg.Wait()
		ids := map[string]bool{}
		for _, c := range cookies {
			s, _, err := svcs[1].LookupSession(e.ctx, c)
			require.NoError(t, err)
			ids[s.ID] = true
		}
		require.Len(t, ids, n)
	})
}

// tamper changes the first character of a token's secret.
func tamper(token string) string {
	i := strings.LastIndexByte(token, '.') + 1
	c := byte('A')
	if token[i] == 'A' {
		c = 'B'
	}
	return token[:i] + string(c) + token[i+1:]
}
