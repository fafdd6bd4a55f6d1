package auth_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

func TestCreateAndGet(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		u, err := e.svc.Create(e.ctx, auth.System("cli"), auth.NewUser{
			Login: " Maria ", Email: "Maria@Example.com", Role: auth.RoleManager,
			Workspaces: []string{"sales", "support", "sales", " "}, Password: goodPassword, Language: auth.LangEN,
		})
		require.NoError(t, err)
		want := &auth.User{
			ID: u.ID, Login: "Maria", Email: "Maria@Example.com", DisplayName: "Maria", Role: auth.RoleManager,
			Workspaces: []string{"sales", "support"}, Language: auth.LangEN, PasswordChangedAt: t0, CreatedAt: t0, CreatedBy: "cli",
		}
		require.Empty(t, cmp.Diff(want, u, cmpopts.IgnoreFields(auth.User{}, "Version")))
		require.Len(t, u.ID, 32)

		for name, get := range map[string]func() (*auth.User, error){
			"id":          func() (*auth.User, error) { return e.svc.Get(e.ctx, u.ID) },
			"login":       func() (*auth.User, error) { return e.svc.GetByLogin(e.ctx, "MARIA") },
			"email":       func() (*auth.User, error) { return e.svc.GetByEmail(e.ctx, "maria@example.COM") },
			"find login":  func() (*auth.User, error) { return e.svc.Find(e.ctx, "maria") },
			"find email":  func() (*auth.User, error) { return e.svc.Find(e.ctx, "MARIA@EXAMPLE.COM") },
			"other store": func() (*auth.User, error) { return e.newService(auth.Config{}).GetByLogin(e.ctx, "maria") },
		} {
			got, err := get()
			require.NoError(t, err, name)
			require.Empty(t, cmp.Diff(want, got, cmpopts.IgnoreFields(auth.User{}, "Version")), name)
		}
		for _, miss := range []func() (*auth.User, error){
			func() (*auth.User, error) { return e.svc.Get(e.ctx, strings.Repeat("0", 32)) },
			func() (*auth.User, error) { return e.svc.Get(e.ctx, "../etc/passwd") },
			func() (*auth.User, error) { return e.svc.GetByLogin(e.ctx, "maria@example.com") },
			func() (*auth.User, error) { return e.svc.GetByEmail(e.ctx, "maria") },
			func() (*auth.User, error) { return e.svc.Find(e.ctx, "") },
		} {
			_, err := miss()
			require.ErrorIs(t, err, auth.ErrUserNotFound)
			require.ErrorIs(t, err, chatter.ErrNotFound)
		}

		require.True(t, u.CanAccess("sales"))
		require.False(t, u.CanAccess("billing"))
		admin := e.addUser("boss", "boss@example.com", auth.RoleAdmin, func(nu *auth.NewUser) { nu.Workspaces = []string{"x"} })
		require.True(t, admin.CanAccess("billing"))
		require.Empty(t, admin.Workspaces)
		require.Empty(t, cmp.Diff(auth.LangRU, admin.Language))

		users, err := e.svc.List(e.ctx)
		require.NoError(t, err)
		var logins []string
		for _, u := range users {
			logins = append(logins, u.Login)
		}
		require.Empty(t, cmp.Diff([]string{"boss", "Maria"}, logins))
	})
}

func TestCreateValidation(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		e.addUser("taken", "taken@example.com", auth.RoleManager)
		cases := []struct {
			name string
			nu   auth.NewUser
			want map[string]string // field → part of the English text
		}{
			{"everything wrong", auth.NewUser{Login: "a", Email: "not an address", Role: "owner", Language: "de", Password: "short"},
				map[string]string{"login": "2 to 64", "email": "not valid", "role": "Choose a role", "language": "ru or en", "password": "at least 10"}},
			{"password equals login", auth.NewUser{Login: "Maximilian", Email: "m@example.com", Role: auth.RoleManager, Password: "maximilian"},
				map[string]string{"password": "must not be or contain the login"}},
			{"password contains login", auth.NewUser{Login: "ivan", Email: "i@example.com", Role: auth.RoleManager, Password: "IVAN-1234567"},
				map[string]string{"password": "must not be or contain the login"}},
			{"password contains e-mail", auth.NewUser{Login: "iv", Email: "petrov@example.com", Role: auth.RoleManager, Password: "my petrov secret"},
				map[string]string{"password": "e-mail"}},
			{"login with @", auth.NewUser{Login: "me@home", Email: "me@example.com", Role: auth.RoleManager, Password: goodPassword},
				map[string]string{"login": "only letters"}},
			{"login taken, other case", auth.NewUser{Login: "TAKEN", Email: "new@example.com", Role: auth.RoleManager, Password: goodPassword},
				map[string]string{"login": "taken"}},
			{"email taken, other case", auth.NewUser{Login: "fresh", Email: "Taken@Example.com", Role: auth.RoleManager, Password: goodPassword},
				map[string]string{"email": "in use"}},
			{"reserved workspace", auth.NewUser{Login: "mgr", Email: "mgr@example.com", Role: auth.RoleManager, Workspaces: []string{"_server"}, Password: goodPassword},
				map[string]string{"workspaces": "Invalid workspace"}},
		}
		for _, c := range cases {
			_, err := e.svc.Create(e.ctx, auth.System("test"), c.nu)
			require.ErrorIs(t, err, chatter.ErrInvalid, c.name)
			got := map[string]string{}
			for field, text := range auth.Problems(err) {
				require.NotEmpty(t, text.RU, "%s: %s has no Russian text", c.name, field)
				for _, want := range c.want {
					if strings.Contains(text.EN, want) {
						got[field] = want
					}
				}
			}
			require.Empty(t, cmp.Diff(c.want, got), c.name)
		}
		// Nothing was left behind: "fresh" and "new@example.com" are free.
		e.addUser("fresh", "new@example.com", auth.RoleManager)
		// Short logins may appear in passwords ("an" in "banana...").
		e.addUser("an", "an@example.com", auth.RoleManager, func(nu *auth.NewUser) { nu.Password = "banana bread 12" })
	})
}

// Two instances creating the same login (or e-mail) at once: exactly one
// wins, the others get a field error, and no half-created user remains.
func TestCreateRace(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		svcs := []*auth.Service{e.svc, e.newService(auth.Config{})}
		const n = 8
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			wins     int
			problems = map[string]int{}
		)
		for i := range n {
			wg.Go(func() {
				email := "shared@example.com"
				login := "login" + string(rune('a'+i))
				if i%2 == 0 {
					login, email = "shared", "user"+string(rune('a'+i))+"@example.com"
				}
				_, err := svcs[i%2].Create(e.ctx, auth.System("test"), auth.NewUser{Login: login, Email: email, Role: auth.RoleManager, Password: goodPassword})
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					wins++
					return
				}
				for f := range auth.Problems(err) {
					problems[f]++
				}
				if auth.Problems(err) == nil {
					t.Errorf("create %s: %v", login, err)
				}
			})
		}
		wg.Wait()
		users, err := e.svc.List(e.ctx)
		require.NoError(t, err)
		logins, emails := map[string]int{}, map[string]int{}
		for _, u := range users {
			logins[u.Login]++
			emails[u.Email]++
		}
		require.Equal(t, wins, len(users))
		require.LessOrEqual(t, logins["shared"], 1)
		require.LessOrEqual(t, emails["shared@example.com"], 1)
		require.Equal(t, n, wins+problems["login"]+problems["email"])
		require.Equal(t, 2, wins, "one winner for the login, one for the address")
		// Every user can be found by its own login and e-mail.
		for _, u := range users {
			got, err := e.svc.Find(e.ctx, u.Email)
			require.NoError(t, err)
			require.Empty(t, cmp.Diff(u.ID, got.ID))
			got, err = e.svc.Find(e.ctx, u.Login)
			require.NoError(t, err)
			require.Empty(t, cmp.Diff(u.ID, got.ID))
		}
	})
}

func TestAdminOperations(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		admin := e.addUser("root", "root@example.com", auth.RoleAdmin)
		by := admin.Actor("10.0.0.1")
		m := e.addUser("manager", "manager@example.com", auth.RoleManager)

		// Block and unblock.
		require.NoError(t, e.svc.Block(e.ctx, by, m.ID))
		got, err := e.svc.Get(e.ctx, m.ID)
		require.NoError(t, err)
		require.True(t, got.Blocked())
		require.Empty(t, cmp.Diff("root", got.BlockedBy))
		require.NoError(t, e.svc.Unblock(e.ctx, by, m.ID))
		require.Empty(t, cmp.Diff("ok manager", outcome(e.svc.Authenticate(e.ctx, "manager", goodPassword, ""))))

		// Role and workspaces.
		require.NoError(t, e.svc.SetRole(e.ctx, by, m.ID, auth.RoleManager, []string{"b", "a"}))
		got, _ = e.svc.Get(e.ctx, m.ID)
		require.Empty(t, cmp.Diff([]string{"a", "b"}, got.Workspaces))
		require.ErrorIs(t, e.svc.SetRole(e.ctx, by, m.ID, "owner", nil), chatter.ErrInvalid)

		// Language and profile.
		require.NoError(t, e.svc.SetLanguage(e.ctx, by, m.ID, auth.LangEN))
		require.ErrorIs(t, e.svc.SetLanguage(e.ctx, by, m.ID, "fr"), chatter.ErrInvalid)
		require.NoError(t, e.svc.SetProfile(e.ctx, by, m.ID, "Manager M.", "m.new@example.com"))
		got, _ = e.svc.Get(e.ctx, m.ID)
		require.Empty(t, cmp.Diff([]string{auth.LangEN, "Manager M.", "m.new@example.com"}, []string{got.Language, got.DisplayName, got.Email}))
		_, err = e.svc.GetByEmail(e.ctx, "manager@example.com")
		require.ErrorIs(t, err, auth.ErrUserNotFound, "the old address is freed")
		err = e.svc.SetProfile(e.ctx, by, m.ID, "", "ROOT@example.com")
		require.Contains(t, auth.Problems(err), auth.FieldEmail)
		e.addUser("other", "manager@example.com", auth.RoleManager)

		// Unlock.
		for range 5 {
			_, _ = e.svc.Authenticate(e.ctx, "manager", "wrong wrong wrong", "")
		}
		var le *auth.LockedError
		_, err = e.svc.Authenticate(e.ctx, "manager", goodPassword, "")
		require.ErrorAs(t, err, &le)
		require.NoError(t, e.svc.Unlock(e.ctx, by, m.ID))
		require.Empty(t, cmp.Diff("ok manager", outcome(e.svc.Authenticate(e.ctx, "manager", goodPassword, ""))))

		// Admin sets a password, optionally one-time.
		require.ErrorIs(t, e.svc.SetPassword(e.ctx, by, m.ID, "short", false), chatter.ErrInvalid)
		require.NoError(t, e.svc.SetPassword(e.ctx, by, m.ID, "set by the admin", true))
		require.Empty(t, cmp.Diff("must change", outcome(e.svc.Authenticate(e.ctx, "manager", "set by the admin", ""))))
		require.NoError(t, e.svc.ForcePasswordChange(e.ctx, by, m.ID, false))
		require.Empty(t, cmp.Diff("ok manager", outcome(e.svc.Authenticate(e.ctx, "manager", "set by the admin", ""))))

		// Access expiry: set, effective, cleared.
		require.NoError(t, e.svc.SetAccessExpiry(e.ctx, by, m.ID, t0.Add(time.Hour)))
		e.clock.Add(time.Hour)
		require.Empty(t, cmp.Diff("access expired 2025-03-10", outcome(e.svc.Authenticate(e.ctx, "manager", "set by the admin", ""))))
		require.NoError(t, e.svc.SetAccessExpiry(e.ctx, by, m.ID, time.Time{}))
		require.Empty(t, cmp.Diff("ok manager", outcome(e.svc.Authenticate(e.ctx, "manager", "set by the admin", ""))))

		// Delete frees the login and the address.
		require.NoError(t, e.svc.Delete(e.ctx, by, m.ID))
		_, err = e.svc.Get(e.ctx, m.ID)
		require.ErrorIs(t, err, auth.ErrUserNotFound)
		require.Empty(t, cmp.Diff("bad credentials", outcome(e.svc.Authenticate(e.ctx, "manager", "set by the admin", ""))))
		again := e.addUser("MANAGER", "m.new@example.com", auth.RoleManager)
		require.NotEqual(t, m.ID, again.ID)
		require.ErrorIs(t, e.svc.Delete(e.ctx, by, m.ID), auth.ErrUserNotFound)
	})
}

func TestLastAdminAndSelf(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		has, err := e.svc.HasAdmin(e.ctx)
		require.NoError(t, err)
		require.False(t, has)
		a := e.addUser("alpha", "a@example.com", auth.RoleAdmin)
		byA := a.Actor("")
		cli := auth.System("cli")

		for name, err := range map[string]error{
			"block self":  e.svc.Block(e.ctx, byA, a.ID),
			"delete self": e.svc.Delete(e.ctx, byA, a.ID),
			"demote self": e.svc.SetRole(e.ctx, byA, a.ID, auth.RoleManager, nil),
			"expire self": e.svc.SetAccessExpiry(e.ctx, byA, a.ID, t0),
		} {
			require.ErrorIs(t, err, auth.ErrSelf, name)
		}
		for name, err := range map[string]error{
			"block last":  e.svc.Block(e.ctx, cli, a.ID),
			"delete last": e.svc.Delete(e.ctx, cli, a.ID),
			"demote last": e.svc.SetRole(e.ctx, cli, a.ID, auth.RoleManager, nil),
			"expire last": e.svc.SetAccessExpiry(e.ctx, cli, a.ID, t0.Add(-time.Minute)),
		} {
			require.ErrorIs(t, err, auth.ErrLastAdmin, name)
			require.NotEmpty(t, auth.Message(err, nil).RU)
		}
		// A future end date is fine: there is time to appoint another.
		require.NoError(t, e.svc.SetAccessExpiry(e.ctx, cli, a.ID, t0.Add(24*time.Hour)))

		b := e.addUser("beta", "b@example.com", auth.RoleAdmin)
		require.NoError(t, e.svc.Block(e.ctx, byA, b.ID))
		// Blocked b does not count as active: a is still the last one.
		require.ErrorIs(t, e.svc.Delete(e.ctx, cli, a.ID), auth.ErrLastAdmin)
		n, err := e.svc.CountAdmins(e.ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		require.NoError(t, e.svc.Unblock(e.ctx, byA, b.ID))
		require.NoError(t, e.svc.SetRole(e.ctx, b.Actor(""), a.ID, auth.RoleManager, []string{"main"}))
		has, err = e.svc.HasAdmin(e.ctx)
		require.NoError(t, err)
		require.True(t, has)
	})
}

func TestCreateFirstAdmin(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		// A policy error leaves the page usable.
		_, err := e.svc.CreateFirstAdmin(e.ctx, auth.NewUser{Login: "admin", Email: "admin@example.com", Password: "short"}, "10.0.0.5")
		require.ErrorIs(t, err, chatter.ErrInvalid)

		svcs := []*auth.Service{e.svc, e.newService(auth.Config{})}
		const n = 6
		var wg sync.WaitGroup
		results := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, results[i] = svcs[i%2].CreateFirstAdmin(e.ctx, auth.NewUser{
					Login: "admin" + string(rune('a'+i)), Email: "admin" + string(rune('a'+i)) + "@example.com", Password: goodPassword,
				}, "10.0.0.5")
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, auth.ErrSetupDone):
				t.Errorf("unexpected error: %v", err)
			}
		}
		require.Equal(t, 1, ok)
		users, err := e.svc.List(e.ctx)
		require.NoError(t, err)
		require.Len(t, users, 1)
		require.True(t, users[0].IsAdmin())
		_, err = e.svc.CreateFirstAdmin(e.ctx, auth.NewUser{Login: "late", Email: "late@example.com", Password: goodPassword}, "")
		require.ErrorIs(t, err, auth.ErrSetupDone)
	})
}

func TestOneTimePassword(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		seen := map[string]bool{}
		for range 50 {
			p, err := e.svc.GenerateOneTimePassword()
			require.NoError(t, err)
			require.Len(t, p, 19)
			require.Regexp(t, `^[a-km-zA-HJ-NP-Z2-9]{4}(-[a-km-zA-HJ-NP-Z2-9]{4}){3}$`, p)
			require.False(t, seen[p])
			seen[p] = true
		}
		p, err := e.svc.GenerateOneTimePassword()
		require.NoError(t, err)
		u := e.addUser("demo", "demo@example.com", auth.RoleAdmin, func(nu *auth.NewUser) { nu.Password, nu.MustChangePassword = p, true })
		_, err = e.svc.Authenticate(e.ctx, "demo", p, "")
		require.ErrorIs(t, err, auth.ErrMustChangePassword)
		require.True(t, u.MustChangePassword)

		// A failing random source is an error, not a weak password.
		broken := e.newService(auth.Config{Rand: failingReader{}})
		_, err = broken.GenerateOneTimePassword()
		require.Error(t, err)
		_, err = broken.Create(e.ctx, auth.System("test"), auth.NewUser{Login: "x1", Email: "x1@example.com", Role: auth.RoleManager, Password: goodPassword})
		require.Error(t, err)
	})
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestConfigValidation(t *testing.T) {
	_, err := auth.New(nil, auth.Config{})
	require.ErrorIs(t, err, chatter.ErrInvalid)
	for name, cfg := range map[string]auth.Config{
		"tiny memory":   {Hash: auth.HashParams{Memory: 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
		"no time":       {Hash: auth.HashParams{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}},
		"short salt":    {Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32}},
		"negative lock": {LockFor: -time.Minute},
		"negative age":  {PasswordMaxAge: -time.Hour},
	} {
		_, err := auth.New(chattertest.NewMemStore(), cfg)
		require.ErrorIs(t, err, chatter.ErrInvalid, name)
	}
	svc, err := auth.New(chattertest.NewMemStore(), auth.Config{})
	require.NoError(t, err)
	cfg := svc.Config()
	require.Empty(t, cmp.Diff(auth.DefaultHash, cfg.Hash))
	require.Empty(t, cmp.Diff([]any{10, 5, 15 * time.Minute, 15 * time.Minute, 12 * time.Hour, 30 * 24 * time.Hour, time.Hour, 5 * time.Minute},
		[]any{cfg.MinPasswordLength, cfg.MaxFailures, cfg.LockFor, cfg.FailureWindow, cfg.SessionIdle, cfg.SessionMaxAge, cfg.ResetTTL, cfg.ResetInterval}))
}
