package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

func TestLoginLandsOnTheOverview(t *testing.T) {
	f := start(t, fixtureOpts{})
	u := f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)

	p := b.get("/")
	require.Equal(t, "/login", p.url.Path, "signed out: the overview sends to the login page")
	require.Equal(t, "/", p.url.Query().Get("next"))

	// By e-mail, ignoring case.
	p = b.submit(p, `form[action="/login"]`, map[string]string{"login": "IVAN@example.com", "password": goodPassword})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, "/", p.url.Path)
	require.Equal(t, "Обзор", p.h1())
	require.Contains(t, p.doc.Find("nav").Text(), "Пользователи")

	sessions, err := f.auth().ListSessions(context.Background(), u.ID)
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	require.Equal(t, "127.0.0.1", sessions[0].RemoteAddr)

	// A login by login name in a second browser is a second session.
	b2 := f.browser(t)
	b2.signedIn("ivan", goodPassword)
	sessions, err = f.auth().ListSessions(context.Background(), u.ID)
	require.NoError(t, err)
	require.Len(t, sessions, 2)

	ev := f.events(t, "login succeeded")
	require.NotEmpty(t, ev)
	require.Equal(t, "ivan", ev[0].Attrs["user"])
	require.Equal(t, "127.0.0.1", ev[0].Attrs["addr"])
}

func TestLoginCookieFlags(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)
	b.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := b.get("/login")
	vals, _ := p.form(`form[action="/login"]`)
	vals.Set("login", "ivan")
	vals.Set("password", goodPassword)
	resp := b.post("/login", vals)
	require.Equal(t, http.StatusSeeOther, resp.status)
	var c *http.Cookie
	for _, x := range (&http.Response{Header: resp.header}).Cookies() {
		if x.Name == sessionCookie {
			c = x
		}
	}
	require.NotNil(t, c, "no session cookie in %v", resp.header)
	require.True(t, c.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, c.SameSite)
	require.False(t, c.Secure, "plain http without a https public URL")
	require.Equal(t, "/", c.Path)

	// Behind https (the public URL says so) the cookie is Secure.
	fs := start(t, fixtureOpts{publicURL: "https://chatter.example.com"})
	fs.user(t, "ivan", auth.RoleAdmin)
	bs := fs.browser(t)
	bs.origin = "https://chatter.example.com" // the browser is on the public URL
	bs.hc.CheckRedirect = b.hc.CheckRedirect
	resp = bs.post("/login", url.Values{"login": {"ivan"}, "password": {goodPassword}})
	require.Equal(t, http.StatusSeeOther, resp.status, resp.main())
	require.Contains(t, resp.header.Get("Set-Cookie"), "Secure")
}

func TestLoginReturnsToThePageAsked(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)
	p := b.get("/users?x=1")
	require.Equal(t, "/login", p.url.Path)
	p = b.submit(p, `form[action="/login"]`, map[string]string{"login": "ivan", "password": goodPassword})
	require.Equal(t, "/users", p.url.Path)
	require.Equal(t, "1", p.url.Query().Get("x"))

	// Only local paths: another site is not a place to return to.
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "/login"} {
		b2 := f.browser(t)
		p := b2.get("/login?next=" + url.QueryEscape(next))
		p = b2.submit(p, `form[action="/login"]`, map[string]string{"login": "ivan", "password": goodPassword})
		require.Equal(t, f.h.URL+"/", p.url.String(), "next=%s", next)
	}
}

func TestLoginWrongPasswordSaysNothingAboutTheLogin(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)

	known := b.login("ivan", "not-the-password")
	require.Equal(t, http.StatusUnauthorized, known.status)
	require.Equal(t, ru(auth.ErrBadCredentials), known.alert())
	vals, _ := known.form(`form[action="/login"]`)
	require.Equal(t, "ivan", vals.Get("login"), "the login is kept")
	require.NotContains(t, known.body, "not-the-password", "the password is never sent back")

	unknown := b.login("nobody", "not-the-password")
	require.Equal(t, http.StatusUnauthorized, unknown.status)
	require.Equal(t, known.alert(), unknown.alert())
	if diff := cmp.Diff(strings.ReplaceAll(known.main(), "ivan", "X"), strings.ReplaceAll(unknown.main(), "nobody", "X")); diff != "" {
		t.Errorf("the page tells a known login from an unknown one (-known +unknown):\n%s", diff)
	}
	for _, e := range f.allEvents(t) {
		for k, v := range e.Attrs {
			require.NotContains(t, v, "not-the-password", "event %q attr %s", e.Text, k)
		}
	}
}

func TestLoginFieldErrors(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)
	p := b.login("", "")
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	if diff := cmp.Diff(map[string]string{
		"login":    "Введите логин или адрес электронной почты.",
		"password": "Введите пароль.",
	}, p.errors()); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
	in := p.doc.Find("#login")
	require.Equal(t, "true", in.AttrOr("aria-invalid", ""))
}

func TestLoginLockoutSaysUntilWhen(t *testing.T) {
	f := start(t, fixtureOpts{fakeClock: true})
	f.user(t, "admin", auth.RoleAdmin)
	u := f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	b := f.browser(t)
	for i := 1; i < auth.DefaultMaxFailures; i++ {
		p := b.login("ivan", "wrong-password-1")
		require.Equal(t, ru(auth.ErrBadCredentials), p.alert(), "attempt %d", i)
	}
	p := b.login("ivan", "wrong-password-1")
	until := t0.Add(auth.DefaultLockFor)
	require.Equal(t, ru(&auth.LockedError{Until: until}), p.alert())
	require.Contains(t, p.alert(), "заблокирован до "+until.Format("15:04"))

	// Even the right password waits.
	p = b.login("ivan", goodPassword)
	require.Equal(t, http.StatusUnauthorized, p.status)
	require.Contains(t, p.alert(), "заблокирован до "+until.Format("15:04"))

	// The administrators see the lockout and can lift it.
	ab := f.browser(t)
	ab.signedIn("admin", goodPassword)
	list := ab.get("/users")
	row := list.doc.Find(`tr[data-login="ivan"]`)
	require.Contains(t, row.Text(), "Вход заблокирован до "+until.Format("15:04"))
	up := ab.get("/users/" + u.ID)
	up = ab.submit(up, `form[action="/users/`+u.ID+`/unlock"]`, nil)
	require.Contains(t, up.alert(), "Блокировка входа для ivan снята.")
	b.signedIn("ivan", goodPassword)

	// Each step on the event log, with who and from where, never the
	// password.
	for _, text := range []string{"login failed", "account locked", "login refused", "user unlocked", "login succeeded"} {
		ev := f.events(t, text)
		require.NotEmpty(t, ev, text)
		require.Equal(t, "127.0.0.1", ev[0].Attrs["addr"], text)
	}
	require.Equal(t, "locked", f.events(t, "login refused")[0].Attrs["reason"])
	require.Equal(t, "admin", f.events(t, "user unlocked")[0].Attrs["by"])
	for _, e := range f.allEvents(t) {
		for k, v := range e.Attrs {
			require.NotContains(t, v, "wrong-password-1", "event %q attr %s", e.Text, k)
			require.NotContains(t, v, goodPassword, "event %q attr %s", e.Text, k)
		}
	}
}

func TestLoginLockoutEndsByItself(t *testing.T) {
	f := start(t, fixtureOpts{fakeClock: true})
	f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)
	for range auth.DefaultMaxFailures {
		b.login("ivan", "wrong-password-1")
	}
	require.Contains(t, b.login("ivan", goodPassword).alert(), "заблокирован")
	f.clk.Add(auth.DefaultLockFor)
	b.signedIn("ivan", goodPassword)
}

func TestLoginBlockedAndExpired(t *testing.T) {
	f := start(t, fixtureOpts{})
	admin := f.user(t, "admin", auth.RoleAdmin)
	blocked := f.user(t, "olga", auth.RoleManager, apptest.Workspace)
	ended := f.user(t, "petr", auth.RoleManager, apptest.Workspace)
	ctx := context.Background()
	require.NoError(t, f.auth().Block(ctx, admin.Actor(""), blocked.ID))
	on := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
	require.NoError(t, f.auth().SetAccessExpiry(ctx, admin.Actor(""), ended.ID, on))

	b := f.browser(t)
	p := b.login("olga", goodPassword)
	require.Equal(t, http.StatusUnauthorized, p.status)
	require.Equal(t, ru(&auth.BlockedError{}), p.alert())
	// Without the password, a blocked account looks like any other.
	require.Equal(t, ru(auth.ErrBadCredentials), b.login("olga", "wrong-password-1").alert())

	p = b.login("petr", goodPassword)
	require.Equal(t, ru(&auth.AccessExpiredError{On: on}), p.alert())
	require.Contains(t, p.alert(), "Срок доступа истёк "+on.Format("02.01.2006"))
	require.Contains(t, p.alert(), "Обратитесь к администратору")
}

func TestLoginForcedChangeThenNewPasswordWorks(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	u := f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	require.NoError(t, f.auth().ForcePasswordChange(context.Background(), auth.System("test"), u.ID, true))

	b := f.browser(t)
	p := b.login("ivan", goodPassword)
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, "Смена пароля", p.h1())
	require.Equal(t, ru(auth.ErrMustChangePassword), p.alert())
	ticket := p.doc.Find(`input[name="ticket"]`).AttrOr("value", "")
	require.NotEmpty(t, ticket)
	require.NotContains(t, p.url.String(), ticket, "the ticket is never in a URL")

	// Mismatch, then the policy: each message next to its field; the
	// ticket still works.
	p2 := b.submit(p, `form[action="/password/change"]`, map[string]string{"password": "New-Password-77", "password_confirm": "New-Password-78"})
	require.Equal(t, http.StatusUnprocessableEntity, p2.status)
	require.Equal(t, map[string]string{"password_confirm": "Пароли не совпадают."}, p2.errors())
	p2 = b.submit(p2, `form[action="/password/change"]`, map[string]string{"password": "short", "password_confirm": "short"})
	require.Equal(t, http.StatusUnprocessableEntity, p2.status)
	require.Contains(t, p2.fieldError("password"), "Пароль слишком короткий")
	p2 = b.submit(p2, `form[action="/password/change"]`, map[string]string{"password": "ivan-Password-1", "password_confirm": "ivan-Password-1"})
	require.Contains(t, p2.fieldError("password"), "логин")
	p2 = b.submit(p2, `form[action="/password/change"]`, map[string]string{"password": goodPassword, "password_confirm": goodPassword})
	require.Contains(t, p2.fieldError("password"), "отличаться")

	p2 = b.submit(p2, `form[action="/password/change"]`, map[string]string{"password": "New-Password-77", "password_confirm": "New-Password-77"})
	require.Equal(t, http.StatusOK, p2.status, p2.main())
	require.Equal(t, "/", p2.url.Path)
	require.Contains(t, p2.alert(), "Пароль изменён.")

	// The ticket is spent.
	p3 := f.browser(t).post("/password/change", url.Values{"ticket": {ticket}, "password": {"Other-Password-88"}, "password_confirm": {"Other-Password-88"}})
	require.Equal(t, http.StatusGone, p3.status)
	require.Equal(t, ru(auth.ErrBadTicket), p3.alert())

	b2 := f.browser(t)
	require.Equal(t, ru(auth.ErrBadCredentials), b2.login("ivan", goodPassword).alert())
	b2.signedIn("ivan", "New-Password-77")
}

func TestLoginExpiredPasswordLeadsToTheChangeForm(t *testing.T) {
	f := start(t, fixtureOpts{fakeClock: true, passwordMaxAge: 90 * 24 * time.Hour})
	f.user(t, "ivan", auth.RoleAdmin)
	f.clk.Add(91 * 24 * time.Hour)
	b := f.browser(t)
	p := b.login("ivan", goodPassword)
	require.Equal(t, "Смена пароля", p.h1())
	require.Equal(t, "Срок действия пароля истёк. Задайте новый пароль.", p.alert())
	p = b.submit(p, `form[action="/password/change"]`, map[string]string{"password": "New-Password-77", "password_confirm": "New-Password-77"})
	require.Equal(t, "/", p.url.Path, p.main())

	// A ticket that timed out sends back to the login page.
	f.clk.Add(91 * 24 * time.Hour)
	p = b.login("ivan", "New-Password-77")
	require.Equal(t, "Смена пароля", p.h1())
	f.clk.Add(auth.DefaultTicketTTL)
	p = b.submit(p, `form[action="/password/change"]`, map[string]string{"password": "Newer-Password-88", "password_confirm": "Newer-Password-88"})
	require.Equal(t, http.StatusGone, p.status)
	require.Equal(t, ru(auth.ErrBadTicket), p.alert())
	require.Equal(t, 1, p.doc.Find(`form[action="/login"]`).Length())
}

func TestLoginLayoutIndicatorAndCyrillicHint(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)
	p := b.get("/login")
	pw := p.doc.Find(`input[name="password"]`)
	ind := p.doc.Find("#" + pw.AttrOr("data-layout", "none"))
	require.Equal(t, 1, ind.Length(), "the layout indicator sits next to the password field")
	require.Equal(t, "раскладка:", ind.AttrOr("data-label", ""))
	require.Equal(t, "polite", ind.AttrOr("aria-live", ""))
	require.Contains(t, pw.AttrOr("aria-describedby", ""), ind.AttrOr("id", ""))
	require.Contains(t, p.doc.Find("noscript").Text(), "Проверьте раскладку клавиатуры")
	require.Equal(t, 1, p.doc.Find(`script[src^="/static/app.js"]`).Length())
	js := b.get(p.doc.Find(`script[src^="/static/app.js"]`).AttrOr("src", ""))
	require.Equal(t, http.StatusOK, js.status)
	require.Contains(t, js.body, "data-layout")

	// The password was typed in the Russian layout ("Correct" on a
	// Russian keyboard): the page says so.
	p = b.login("ivan", "Сщккусе-Рщкыу-42")
	require.Equal(t, http.StatusUnauthorized, p.status)
	require.Contains(t, p.doc.Find("#cyrillic-hint").Text(), "русская раскладка")
	p = b.login("ivan", "wrong-password-1")
	require.Equal(t, 0, p.doc.Find("#cyrillic-hint").Length())
}

func TestLogout(t *testing.T) {
	f := start(t, fixtureOpts{})
	u := f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)
	b.signedIn("ivan", goodPassword)
	base, _ := url.Parse(f.h.URL)
	old := b.hc.Jar.Cookies(base)

	p := b.submit(b.get("/"), `form[action="/logout"]`, nil)
	require.Equal(t, "/login", p.url.Path)
	require.Equal(t, "Вы вышли из системы.", p.alert())
	sessions, err := f.auth().ListSessions(context.Background(), u.ID)
	require.NoError(t, err)
	require.Empty(t, sessions)

	// The old cookie opens nothing.
	b2 := f.browser(t)
	b2.hc.Jar.SetCookies(base, old)
	p = b2.get("/profile")
	require.Equal(t, "/login", p.url.Path)
	require.Equal(t, ru(auth.ErrNoSession), p.alert())
	require.NotEmpty(t, f.events(t, "logged out"))
}

func TestSessionExpiresAfterIdle(t *testing.T) {
	f := start(t, fixtureOpts{fakeClock: true})
	f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)
	b.signedIn("ivan", goodPassword)
	f.clk.Add(auth.DefaultSessionIdle - time.Minute)
	require.Equal(t, "Профиль", b.get("/profile").h1())
	f.clk.Add(auth.DefaultSessionIdle) // idle since the last request
	p := b.get("/profile")
	require.Equal(t, "/login", p.url.Path)
	require.Equal(t, "/profile", p.url.Query().Get("next"))
	require.Equal(t, ru(auth.ErrNoSession), p.alert())
	// The dead cookie was cleared: the next visit is an ordinary one.
	p = b.get("/profile")
	require.Empty(t, p.alert())
	p = b.submit(p, `form[action="/login"]`, map[string]string{"login": "ivan", "password": goodPassword})
	require.Equal(t, "/profile", p.url.Path)
}

func TestLoginRotatesTheSession(t *testing.T) {
	f := start(t, fixtureOpts{})
	u := f.user(t, "ivan", auth.RoleAdmin)
	f.user(t, "olga", auth.RoleAdmin)
	b := f.browser(t)
	b.signedIn("ivan", goodPassword)
	// A login in the same browser (say, as someone else) ends the
	// browser's previous session.
	p := b.post("/login", url.Values{"login": {"olga"}, "password": {goodPassword}})
	require.Equal(t, "/", p.url.Path)
	sessions, err := f.auth().ListSessions(context.Background(), u.ID)
	require.NoError(t, err)
	require.Empty(t, sessions)
	require.Contains(t, b.get("/profile").main(), "olga")
}
