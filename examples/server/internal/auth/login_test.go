package auth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// outcome is an Authenticate result reduced to what the login page shows.
func outcome(u *auth.User, err error) string {
	var (
		locked  *auth.LockedError
		blocked *auth.BlockedError
		access  *auth.AccessExpiredError
		expired *auth.PasswordExpiredError
		must    *auth.MustChangePasswordError
	)
	switch {
	case err == nil:
		return "ok " + u.Login
	case errors.As(err, &locked):
		return "locked until " + locked.Until.Format(time.TimeOnly)
	case errors.As(err, &blocked):
		return "blocked"
	case errors.As(err, &access):
		return "access expired " + access.On.Format(time.DateOnly)
	case errors.As(err, &expired):
		return "password expired"
	case errors.As(err, &must):
		return "must change"
	case errors.Is(err, auth.ErrBadCredentials):
		return "bad credentials"
	default:
		return "error: " + err.Error()
	}
}

func TestLoginByLoginOrEmail(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		u := e.addUser("Ivan.Petrov", "Ivan@Example.COM", auth.RoleManager)
		var got []string
		for _, in := range []string{"Ivan.Petrov", "ivan.petrov", "  IVAN.PETROV ", "ivan@example.com", "IVAN@EXAMPLE.COM"} {
			got = append(got, outcome(e.svc.Authenticate(e.ctx, in, goodPassword, "198.51.100.7:5000")))
		}
		want := []string{"ok Ivan.Petrov", "ok Ivan.Petrov", "ok Ivan.Petrov", "ok Ivan.Petrov", "ok Ivan.Petrov"}
		require.Empty(t, cmp.Diff(want, got))

		back, err := e.svc.Get(e.ctx, u.ID)
		require.NoError(t, err)
		require.Empty(t, cmp.Diff("198.51.100.7:5000", back.LastLoginAddr))
		require.True(t, back.LastLoginAt.Equal(t0))

		got = nil
		for _, try := range [][2]string{
			{"ivan.petrov", "Correct Horse Battery"}, // case matters in passwords
			{"ivan.petrov", ""},
			{"ivan", goodPassword},
			{"ivan@example.org", goodPassword},
			{"", ""},
		} {
			got = append(got, outcome(e.svc.Authenticate(e.ctx, try[0], try[1], "198.51.100.7:5000")))
		}
		require.Empty(t, cmp.Diff([]string{"bad credentials", "bad credentials", "bad credentials", "bad credentials", "bad credentials"}, got))
	})
}

func TestLockout(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		e.addUser("olga", "olga@example.com", auth.RoleManager)
		var got []string
		for range 5 {
			got = append(got, outcome(e.svc.Authenticate(e.ctx, "olga", "wrong password!", "203.0.113.9")))
			e.clock.Add(time.Minute)
		}
		// The fifth failure (at 09:04) locks until 09:19.
		want := []string{"bad credentials", "bad credentials", "bad credentials", "bad credentials", "locked until 09:19:00"}
		require.Empty(t, cmp.Diff(want, got))

		// Locked: the right password is refused too, and the lock does not grow.
		require.Empty(t, cmp.Diff("locked until 09:19:00", outcome(e.svc.Authenticate(e.ctx, "olga", goodPassword, "203.0.113.9"))))
		require.Empty(t, cmp.Diff("locked until 09:19:00", outcome(e.svc.Authenticate(e.ctx, "OLGA@example.com", "wrong password!", "203.0.113.9"))))
		u, err := e.svc.GetByLogin(e.ctx, "olga")
		require.NoError(t, err)
		require.Len(t, u.RecentFailures, 5)
		require.True(t, u.LockedAt(e.clock.Now()))

		// The message says until when.
		msg := auth.Message(fmt.Errorf("wrapped: %w", &auth.LockedError{Until: u.LockedUntil}), time.FixedZone("MSK", 3*3600))
		require.Contains(t, msg.RU, "до 12:19")
		require.Contains(t, msg.EN, "until 12:19")

		// At 09:19 the lock is over; the right password works and clears the counter.
		e.clock.Add(19*time.Minute - 5*time.Minute)
		require.Empty(t, cmp.Diff("ok olga", outcome(e.svc.Authenticate(e.ctx, "olga", goodPassword, "203.0.113.9"))))
		u, err = e.svc.GetByLogin(e.ctx, "olga")
		require.NoError(t, err)
		require.Empty(t, u.RecentFailures)
		require.True(t, u.LockedUntil.IsZero())
	})
}

func TestLockoutWindowAndExpiry(t *testing.T) {
	forEachStore(t, auth.Config{MaxFailures: 3, LockFor: 10 * time.Minute}, func(t *testing.T, e *env) {
		e.addUser("petr", "petr@example.com", auth.RoleManager)
		try := func() string { return outcome(e.svc.Authenticate(e.ctx, "petr", "not the password", "")) }
		// Failures more than FailureWindow (= LockFor) apart never add up.
		for range 5 {
			require.Empty(t, cmp.Diff("bad credentials", try()))
			e.clock.Add(11 * time.Minute)
		}
		// Three within ten minutes lock (at 09:55, until 10:05).
		require.Empty(t, cmp.Diff("bad credentials", try()))
		require.Empty(t, cmp.Diff("bad credentials", try()))
		require.Empty(t, cmp.Diff("locked until 10:05:00", try()))
		// After the lock, counting starts over.
		e.clock.Add(10 * time.Minute)
		require.Empty(t, cmp.Diff("bad credentials", try()))
		require.Empty(t, cmp.Diff("bad credentials", try()))
		require.Empty(t, cmp.Diff("locked until 10:15:00", try()))

		// With a window longer than the lock, the failures that caused a
		// lock are forgotten when it ends, though still within the window.
		long := e.newService(auth.Config{MaxFailures: 3, LockFor: 10 * time.Minute, FailureWindow: time.Hour})
		e.addUser("vera", "vera@example.com", auth.RoleManager)
		tryLong := func() string { return outcome(long.Authenticate(e.ctx, "vera", "not the password", "")) }
		require.Empty(t, cmp.Diff([]string{"bad credentials", "bad credentials", "locked until 10:15:00"}, []string{tryLong(), tryLong(), tryLong()}))
		e.clock.Add(10 * time.Minute)
		require.Empty(t, cmp.Diff("bad credentials", tryLong()))
	})
}

// A stranger cannot tell an unknown login from a real one by the answers:
// the sequence of outcomes is the same, lockout included.
func TestUnknownLoginLooksLikeARealOne(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		e.addUser("anna", "anna@example.com", auth.RoleAdmin)
		run := func(login string) []string {
			var got []string
			for range 7 {
				got = append(got, outcome(e.svc.Authenticate(e.ctx, login, "guess guess guess", "192.0.2.1")))
			}
			return got
		}
		real := run("anna")
		e.clock.Add(time.Hour)
		ghost := run("boris")
		e.clock.Add(time.Hour)
		ghostEmail := run("nobody@example.com")
		require.Empty(t, cmp.Diff([]string{"bad credentials", "bad credentials", "bad credentials", "bad credentials",
			"locked until 09:15:00", "locked until 09:15:00", "locked until 09:15:00"}, real))
		shift := func(in []string, hours int) []string {
			out := make([]string, len(in))
			for i, s := range in {
				out[i] = s
				var h, m, sec int
				if _, err := fmt.Sscanf(s, "locked until %d:%d:%d", &h, &m, &sec); err == nil {
					out[i] = fmt.Sprintf("locked until %02d:%02d:%02d", h-hours, m, sec)
				}
			}
			return out
		}
		require.Empty(t, cmp.Diff(real, shift(ghost, 1)), "unknown login answered differently")
		require.Empty(t, cmp.Diff(real, shift(ghostEmail, 2)), "unknown e-mail answered differently")

		// And the ghost's lock ends like a real one: later it is plain
		// bad credentials again, never "ok".
		e.clock.Add(20 * time.Minute)
		require.Empty(t, cmp.Diff("bad credentials", outcome(e.svc.Authenticate(e.ctx, "boris", "guess guess guess", ""))))

		// A second Service (another instance) shares the ghost counters.
		other := e.newService(auth.Config{})
		e.clock.Add(time.Hour)
		for range 4 {
			_, err := e.svc.Authenticate(e.ctx, "ghost", "x", "")
			require.ErrorIs(t, err, auth.ErrBadCredentials)
		}
		var le *auth.LockedError
		_, err := other.Authenticate(e.ctx, "ghost", "x", "")
		require.ErrorAs(t, err, &le)
	})
}

func TestLoginRefusals(t *testing.T) {
	forEachStore(t, auth.Config{PasswordMaxAge: 90 * 24 * time.Hour}, func(t *testing.T, e *env) {
		admin := e.addUser("root", "root@example.com", auth.RoleAdmin)
		by := admin.Actor("10.0.0.1")
		blocked := e.addUser("blocked", "blocked@example.com", auth.RoleManager)
		require.NoError(t, e.svc.Block(e.ctx, by, blocked.ID))
		gone := e.addUser("gone", "gone@example.com", auth.RoleManager)
		require.NoError(t, e.svc.SetAccessExpiry(e.ctx, by, gone.ID, t0.Add(24*time.Hour)))
		forced := e.addUser("forced", "forced@example.com", auth.RoleManager)
		require.NoError(t, e.svc.ForcePasswordChange(e.ctx, by, forced.ID, true))
		otp := e.addUser("newbie", "newbie@example.com", auth.RoleManager, func(nu *auth.NewUser) { nu.MustChangePassword = true })
		_ = otp

		e.clock.Add(48 * time.Hour)
		try := func(login, pw string) string { return outcome(e.svc.Authenticate(e.ctx, login, pw, "10.0.0.2")) }
		got := map[string]string{
			"blocked right":  try("blocked", goodPassword),
			"blocked wrong":  try("blocked", "wrong wrong wrong"),
			"expired right":  try("gone", goodPassword),
			"expired wrong":  try("gone", "wrong wrong wrong"),
			"forced right":   try("forced", goodPassword),
			"forced wrong":   try("forced", "wrong wrong wrong"),
			"one-time right": try("newbie", goodPassword),
		}
		want := map[string]string{
			// The states are told only to whoever knows the password.
			"blocked right": "blocked", "blocked wrong": "bad credentials",
			"expired right": "access expired 2025-03-11", "expired wrong": "bad credentials",
			"forced right": "must change", "forced wrong": "bad credentials",
			"one-time right": "must change",
		}
		require.Empty(t, cmp.Diff(want, got))

		// 91 days on, every password has expired.
		e.clock.Add(91 * 24 * time.Hour)
		_, err := e.svc.Authenticate(e.ctx, "root", goodPassword, "")
		var pe *auth.PasswordExpiredError
		require.ErrorAs(t, err, &pe)
		require.True(t, pe.ExpiredAt.Equal(t0.Add(90*24*time.Hour)))
		ticket, ok := auth.ChangeTicket(err)
		require.True(t, ok)
		require.NotEmpty(t, ticket)

		// Messages for each, in both languages.
		for _, err := range []error{auth.ErrBadCredentials, &auth.BlockedError{}, &auth.AccessExpiredError{On: t0}, pe, &auth.MustChangePasswordError{}} {
			m := auth.Message(err, nil)
			require.NotEmpty(t, m.RU, "%v", err)
			require.NotEmpty(t, m.EN, "%v", err)
		}
		require.Contains(t, auth.Message(&auth.AccessExpiredError{On: t0}, nil).RU, "10.03.2025")
		require.ErrorIs(t, &auth.MustChangePasswordError{}, auth.ErrMustChangePassword)
	})
}

func TestChangePasswordWithTicket(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		u := e.addUser("newbie", "newbie@example.com", auth.RoleManager, func(nu *auth.NewUser) { nu.MustChangePassword = true })
		_, err := e.svc.Authenticate(e.ctx, "newbie", goodPassword, "10.1.1.1")
		require.ErrorIs(t, err, auth.ErrMustChangePassword)
		ticket, ok := auth.ChangeTicket(err)
		require.True(t, ok)

		// No session while the change is pending.
		_, _, err = e.svc.CreateSession(e.ctx, u, "", "")
		require.ErrorIs(t, err, auth.ErrMustChangePassword)

		back, err := e.svc.CheckTicket(e.ctx, ticket)
		require.NoError(t, err)
		require.Empty(t, cmp.Diff(u.ID, back.ID))

		// Policy errors keep the ticket usable.
		_, err = e.svc.ChangePasswordWithTicket(e.ctx, ticket, goodPassword, "10.1.1.1")
		require.Empty(t, cmp.Diff(map[string]chatter.Text{auth.FieldPassword: auth.Message(err, nil)}, auth.Problems(err)))
		require.Contains(t, auth.Problems(err)[auth.FieldPassword].EN, "differ")
		_, err = e.svc.ChangePasswordWithTicket(e.ctx, ticket, "short", "10.1.1.1")
		require.Contains(t, auth.Problems(err)[auth.FieldPassword].EN, "too short")

		got, err := e.svc.ChangePasswordWithTicket(e.ctx, ticket, "a brand new secret", "10.1.1.1")
		require.NoError(t, err)
		require.False(t, got.MustChangePassword)
		_, _, err = e.svc.CreateSession(e.ctx, got, "10.1.1.1", "test")
		require.NoError(t, err)

		// Once only.
		_, err = e.svc.ChangePasswordWithTicket(e.ctx, ticket, "another new secret", "10.1.1.1")
		require.ErrorIs(t, err, auth.ErrBadTicket)
		require.Empty(t, cmp.Diff("ok newbie", outcome(e.svc.Authenticate(e.ctx, "newbie", "a brand new secret", ""))))
		require.Empty(t, cmp.Diff("bad credentials", outcome(e.svc.Authenticate(e.ctx, "newbie", goodPassword, ""))))

		// Tickets expire.
		require.NoError(t, e.svc.ForcePasswordChange(e.ctx, auth.System("test"), u.ID, true))
		_, err = e.svc.Authenticate(e.ctx, "newbie", "a brand new secret", "")
		ticket, ok = auth.ChangeTicket(err)
		require.True(t, ok)
		e.clock.Add(auth.DefaultTicketTTL)
		_, err = e.svc.ChangePasswordWithTicket(e.ctx, ticket, "yet another secret", "")
		require.ErrorIs(t, err, auth.ErrBadTicket)
		for _, bad := range []string{"", "x", u.ID, u.ID + ".", u.ID + ".AAAA", "../" + ticket} {
			_, err = e.svc.CheckTicket(e.ctx, bad)
			require.ErrorIs(t, err, auth.ErrBadTicket, "%q", bad)
		}
	})
}

// Concurrent failed logins on one user are all counted (compare-and-swap
// with retries), on every store. Run with -race.
func TestConcurrentFailuresCount(t *testing.T) {
	forEachStore(t, auth.Config{MaxFailures: 1000}, func(t *testing.T, e *env) {
		u := e.addUser("target", "target@example.com", auth.RoleManager)
		other := e.newService(auth.Config{MaxFailures: 1000})
		const n = 24
		var wg sync.WaitGroup
		for i := range n {
			svc := e.svc
			if i%2 == 1 {
				svc = other
			}
			wg.Go(func() {
				_, err := svc.Authenticate(e.ctx, "target", "wrong wrong wrong", "")
				if !errors.Is(err, auth.ErrBadCredentials) {
					t.Errorf("attempt %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		back, err := e.svc.Get(e.ctx, u.ID)
		require.NoError(t, err)
		require.Len(t, back.RecentFailures, n)
	})
}

// With the default limit, concurrent failures lock the account exactly once
// at five: four answers say "bad credentials", the rest "locked".
func TestConcurrentFailuresLock(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		e.addUser("target", "target@example.com", auth.RoleManager)
		const n = 12
		var (
			mu  sync.Mutex
			got = map[string]int{}
			wg  sync.WaitGroup
		)
		for range n {
			wg.Go(func() {
				o := outcome(e.svc.Authenticate(e.ctx, "target", "wrong wrong wrong", ""))
				mu.Lock()
				got[o]++
				mu.Unlock()
			})
		}
		wg.Wait()
		require.Empty(t, cmp.Diff(map[string]int{"bad credentials": 4, "locked until 09:15:00": n - 4}, got))
		locks := 0
		for _, m := range e.logs.messages(t) {
			if m == "account locked" {
				locks++
			}
		}
		require.Equal(t, 1, locks)
	})
}

func TestRehashOnLogin(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		e.addUser("ivan", "ivan@example.com", auth.RoleManager)
		stronger := cheapHash
		stronger.Time = 2
		svc2 := e.newService(auth.Config{Hash: stronger})
		require.Empty(t, cmp.Diff("ok ivan", outcome(svc2.Authenticate(e.ctx, "ivan", goodPassword, ""))))
		// The row now carries the new parameters; both services still verify it.
		var rec struct {
			Hash string `json:"password_hash"`
		}
		rows, err := e.store.ListSettings(e.ctx, auth.ServerWorkspace, "user/")
		require.NoError(t, err)
		require.Len(t, rows, 1)
		require.NoError(t, json.Unmarshal(rows[0].Value, &rec))
		require.Contains(t, rec.Hash, "$argon2id$v=19$m=64,t=2,p=1$")
		require.Empty(t, cmp.Diff("ok ivan", outcome(e.svc.Authenticate(e.ctx, "ivan", goodPassword, ""))))
	})
}

// Authenticate takes at least MinResponse, whichever path it takes. (A
// lower bound only: sleeping never ends early, so this cannot flake.)
func TestMinResponse(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		e.addUser("ivan", "ivan@example.com", auth.RoleManager)
		svc := e.newService(auth.Config{MinResponse: 30 * time.Millisecond})
		for _, login := range []string{"ivan", "nobody"} {
			start := time.Now()
			_, _ = svc.Authenticate(e.ctx, login, "wrong wrong wrong", "")
			require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond, login)
		}
		start := time.Now()
		_, _, _ = svc.RequestReset(e.ctx, "nobody@example.com", "")
		require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
	})
}
