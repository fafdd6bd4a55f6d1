package web

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

func TestLanguageSwitchIsStoredForTheUser(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	u := f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	b := f.browser(t)
	b.signedIn("ivan", goodPassword)
	p := b.get("/deliveries")
	require.Equal(t, "ru", p.doc.Find("html").AttrOr("lang", ""))
	require.Equal(t, "true", p.doc.Find(`form.lang button[value="ru"]`).AttrOr("aria-pressed", ""))

	p = b.submit(p, `form.lang`, map[string]string{"lang": "en"})
	require.Equal(t, "/deliveries", p.url.Path, "back on the page it was sent from")
	require.Equal(t, "Delivery log", p.h1())
	require.Equal(t, "en", p.doc.Find("html").AttrOr("lang", ""))
	require.Equal(t, auth.LangEN, f.get(t, u.ID).Language)

	// Another browser: the account's language.
	b2 := f.browser(t)
	p = b2.login("ivan", goodPassword)
	require.Equal(t, "Overview", p.h1())
	require.Contains(t, p.doc.Find("nav").Text(), "Log out")
	require.NotEmpty(t, f.events(t, "language changed"))

	// In the profile too, and a value that is no language is refused next
	// to the field.
	p = b2.get("/profile")
	require.Equal(t, "en", p.doc.Find("#language option[selected]").AttrOr("value", ""))
	p = b2.submit(p, `form[action="/profile/language"]`, map[string]string{"language": "ru"})
	require.Equal(t, "Язык сохранён.", p.alert())
	require.Equal(t, "Профиль", p.h1())
	p = b2.post("/profile/language", url.Values{"language": {"de"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "Язык должен быть ru или en.", p.fieldError("language"))
}

func TestLanguageSwitchOfAnonymousPages(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	b := f.browser(t)
	p := b.get("/forgot")
	p = b.submit(p, `form.lang`, map[string]string{"lang": "en"})
	require.Equal(t, "/forgot", p.url.Path)
	require.Equal(t, "Reset the password", p.h1())
	p = b.get("/login")
	require.Equal(t, "Log in", p.h1())
	require.Equal(t, "Wrong login (or e-mail) or password. Check the keyboard layout and Caps Lock, or use “Forgot password”.",
		b.login("admin", "wrong-password-1").alert())
	p = b.post("/lang", url.Values{"lang": {"xx"}})
	require.Equal(t, http.StatusBadRequest, p.status)
}

func TestProfilePasswordChange(t *testing.T) {
	f := start(t, fixtureOpts{})
	u := f.user(t, "ivan", auth.RoleAdmin)
	b, other := f.browser(t), f.browser(t)
	b.signedIn("ivan", goodPassword)
	other.signedIn("ivan", goodPassword)
	p := b.get("/profile")
	require.Equal(t, "Профиль", p.h1())
	require.Contains(t, p.main(), "ivan@example.com")

	sel := `form[action="/profile/password"]`
	bad := b.submit(p, sel, map[string]string{"old_password": "", "password": "New-Password-77", "password_confirm": "New-Password-78"})
	require.Equal(t, http.StatusUnprocessableEntity, bad.status)
	if diff := cmp.Diff(map[string]string{"old_password": "Введите текущий пароль.", "password_confirm": "Пароли не совпадают."}, bad.errors()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	bad = b.submit(bad, sel, map[string]string{"old_password": "wrong-password-1", "password": "New-Password-77", "password_confirm": "New-Password-77"})
	require.Equal(t, map[string]string{"old_password": "Текущий пароль указан неверно."}, bad.errors())
	bad = b.submit(bad, sel, map[string]string{"old_password": goodPassword, "password": "short", "password_confirm": "short"})
	require.Contains(t, bad.fieldError("password"), "Пароль слишком короткий")

	p = b.submit(bad, sel, map[string]string{"old_password": goodPassword, "password": "New-Password-77", "password_confirm": "New-Password-77"})
	require.Equal(t, "/profile", p.url.Path)
	require.Equal(t, "Пароль изменён. Остальные сеансы завершены.", p.alert())
	require.Equal(t, "Профиль", b.get("/profile").h1(), "this browser stays signed in")
	require.Equal(t, "/login", other.get("/profile").url.Path, "the other session ended")
	sessions, err := f.auth().ListSessions(t.Context(), u.ID)
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	f.browser(t).signedIn("ivan", "New-Password-77")
	require.NotEmpty(t, f.events(t, "password changed"))
}

func TestProfileSessions(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "ivan", auth.RoleAdmin)
	olga := f.user(t, "olga", auth.RoleAdmin)
	b, other := f.browser(t), f.browser(t)
	b.signedIn("ivan", goodPassword)
	other.signedIn("ivan", goodPassword)
	f.browser(t).signedIn("olga", goodPassword)

	p := b.get("/profile")
	rows := p.doc.Find("section table tbody tr")
	require.Equal(t, 2, rows.Length())
	require.Equal(t, 1, p.doc.Find("tr.current").Length())
	require.Contains(t, p.doc.Find("tr.current").Text(), "Этот сеанс")

	// End the other browser's session.
	var otherForm *goquery.Selection
	rows.Each(func(_ int, tr *goquery.Selection) {
		if !tr.HasClass("current") {
			otherForm = tr.Find("form")
		}
	})
	id := otherForm.Find(`input[name="id"]`).AttrOr("value", "")
	p = b.post("/profile/sessions/end", url.Values{"id": {id}})
	require.Equal(t, "Сеанс завершён.", p.alert())
	require.Equal(t, "/login", other.get("/profile").url.Path)

	// Someone else's session is not one's own to end.
	theirs, err := f.auth().ListSessions(t.Context(), olga.ID)
	require.NoError(t, err)
	p = b.post("/profile/sessions/end", url.Values{"id": {theirs[0].ID}})
	require.Equal(t, "Сеанс не найден: он уже завершён.", p.alert())
	still, err := f.auth().ListSessions(t.Context(), olga.ID)
	require.NoError(t, err)
	require.Len(t, still, 1)

	// Ending this browser's own session is a logout.
	p = b.get("/profile")
	p = b.submit(p, `tr.current form`, nil)
	require.Equal(t, "/login", p.url.Path)
	require.Equal(t, "Вы вышли из системы.", p.alert())
}
