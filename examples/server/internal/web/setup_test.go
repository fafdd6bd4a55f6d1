package web

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

func TestFirstRunCreatesTheAdministrator(t *testing.T) {
	f := start(t, fixtureOpts{})
	b := f.browser(t)
	for _, path := range []string{"/", "/login", "/users", "/forgot"} {
		p := b.get(path)
		require.Equal(t, "/setup", p.url.Path, path)
	}
	p := b.get("/setup")
	require.Equal(t, "Первый запуск: администратор", p.h1())

	// Every problem next to its field.
	bad := b.submit(p, `form[action="/setup"]`, map[string]string{"login": "a", "email": "nope", "password": "New-Password-77", "password_confirm": "New-Password-78"})
	require.Equal(t, http.StatusUnprocessableEntity, bad.status)
	require.Equal(t, map[string]string{"password_confirm": "Пароли не совпадают."}, bad.errors())
	bad = b.submit(bad, `form[action="/setup"]`, map[string]string{"login": "a", "email": "nope", "password": "short", "password_confirm": "short"})
	if diff := cmp.Diff(map[string]string{
		"login":    "Логин должен быть длиной от 2 до 64 знаков.",
		"email":    "Адрес электронной почты указан неверно: нужен вид name@example.com.",
		"password": "Пароль слишком короткий: минимальная длина — 10 знаков.",
	}, bad.errors()); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
	vals, _ := bad.form(`form[action="/setup"]`)
	require.Equal(t, "nope", vals.Get("email"), "values are kept")

	p = b.submit(bad, `form[action="/setup"]`, map[string]string{"login": "boss", "email": "boss@example.com", "display_name": "Начальник",
		"password": "New-Password-77", "password_confirm": "New-Password-77"})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, "/", p.url.Path)
	require.Equal(t, "Администратор boss создан, вы вошли в систему.", p.alert())
	u, err := f.auth().GetByLogin(t.Context(), "boss")
	require.NoError(t, err)
	require.True(t, u.IsAdmin())

	// Done: the page is gone, a second submission creates nobody.
	require.Equal(t, "/login", f.browser(t).get("/setup").url.Path)
	p = f.browser(t).post("/setup", url.Values{"login": {"eve"}, "email": {"eve@example.com"}, "password": {"Eve-Password-99"}, "password_confirm": {"Eve-Password-99"}})
	require.Equal(t, http.StatusConflict, p.status)
	require.Equal(t, ru(auth.ErrSetupDone), p.alert())
	n, err := f.auth().CountAdmins(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NotEmpty(t, f.events(t, "user created"))
}

func TestFirstRunOffOnceAnAdministratorExists(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	b := f.browser(t)
	require.Equal(t, "/login", b.get("/").url.Path)
	require.Equal(t, "/login", b.get("/setup").url.Path)
}
