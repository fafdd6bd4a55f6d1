package web

import (
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

// adminSession signs an administrator in and returns the browser.
func adminSession(t *testing.T, f *fixture) (*browser, *auth.User) {
	t.Helper()
	u := f.user(t, "admin", auth.RoleAdmin)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	return b, u
}

func TestUsersCreateWithAOneTimePassword(t *testing.T) {
	f := start(t, fixtureOpts{})
	b, _ := adminSession(t, f)

	p := b.get("/users")
	require.Equal(t, "Пользователи", p.h1())
	require.Contains(t, p.main(), "1 пользователь")
	p = b.get("/users/new")
	require.Equal(t, "manager", p.doc.Find("#role option[selected]").AttrOr("value", ""))
	p = b.submit(p, `form[action="/users"]`, map[string]string{"login": "ivan", "email": "ivan@example.com", "display_name": "Иван Петров",
		"workspaces": apptest.Workspace, "access_until": "2099-12-31"})
	require.Equal(t, http.StatusCreated, p.status, p.main())
	require.Equal(t, "Пользователь создан", p.h1())
	otp := p.doc.Find("#one-time-password").Text()
	require.Len(t, otp, 19, "16 characters in groups of four")

	u, err := f.auth().GetByLogin(t.Context(), "ivan")
	require.NoError(t, err)
	require.Equal(t, auth.RoleManager, u.Role)
	require.Equal(t, []string{apptest.Workspace}, u.Workspaces)
	require.True(t, u.MustChangePassword)
	require.Equal(t, time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC), u.AccessExpiresAt.UTC())

	// Shown once: the user's page does not have it.
	up := b.get("/users/" + u.ID)
	require.NotContains(t, up.body, otp)
	require.Contains(t, up.doc.Find(".states").Text(), "Должен сменить пароль")
	require.Contains(t, up.doc.Find(".states").Text(), "Доступ до 31.12.2099")
	list := b.get("/users")
	require.Contains(t, list.main(), "2 пользователя")
	require.Contains(t, list.doc.Find(`tr[data-login="ivan"]`).Text(), "Иван Петров")

	// The one-time password leads to the change form.
	ub := f.browser(t)
	cp := ub.login("ivan", otp)
	require.Equal(t, "Смена пароля", cp.h1())
	cp = ub.submit(cp, `form[action="/password/change"]`, map[string]string{"password": "Own-Secret-Pass-1", "password_confirm": "Own-Secret-Pass-1"})
	require.Equal(t, "/", cp.url.Path, cp.main())
	require.NotEmpty(t, f.events(t, "user created"))
}

func TestUsersCreateWithAPassword(t *testing.T) {
	f := start(t, fixtureOpts{})
	b, _ := adminSession(t, f)
	p := b.submit(b.get("/users/new"), `form[action="/users"]`, map[string]string{"login": "olga", "email": "olga@example.com",
		"role": "admin", "password": "Her-Secret-123", "must_change": "", "language": "en"})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.True(t, strings.HasPrefix(p.url.Path, "/users/"))
	require.Equal(t, "Пользователь olga создан.", p.alert())
	u, err := f.auth().GetByLogin(t.Context(), "olga")
	require.NoError(t, err)
	require.False(t, u.MustChangePassword)
	require.Equal(t, auth.LangEN, u.Language)
	require.Equal(t, "Overview", f.browser(t).signedIn("olga", "Her-Secret-123").h1())
}

func TestUsersCreateFieldErrors(t *testing.T) {
	f := start(t, fixtureOpts{})
	b, _ := adminSession(t, f)
	sel := `form[action="/users"]`
	p := b.submit(b.get("/users/new"), sel, map[string]string{"login": "-x", "email": "not-an-address", "role": "manager",
		"access_until": "31.12.2099", "password": "short"})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	if diff := cmp.Diff(map[string]string{
		"workspaces":   "Выберите хотя бы одно пространство для менеджера.",
		"access_until": "Дата указана неверно: нужен вид ГГГГ-ММ-ДД.",
	}, p.errors()); diff != "" {
		t.Errorf("the UI's own checks (-want +got):\n%s", diff)
	}
	vals, _ := p.form(sel)
	require.Equal(t, "-x", vals.Get("login"), "the values are kept")
	require.Empty(t, p.doc.Find(`input[name="password"]`).AttrOr("value", ""), "never the password")

	p = b.submit(p, sel, map[string]string{"workspaces": apptest.Workspace, "access_until": "", "password": "short"})
	if diff := cmp.Diff(map[string]string{
		"login":    "Логин может содержать только буквы, цифры и знаки . _ - и должен начинаться с буквы или цифры.",
		"email":    "Адрес электронной почты указан неверно: нужен вид name@example.com.",
		"password": "Пароль слишком короткий: минимальная длина — 10 знаков.",
	}, p.errors()); diff != "" {
		t.Errorf("the service's checks (-want +got):\n%s", diff)
	}

	// A workspace that is not configured, a taken login.
	p = b.post("/users", url.Values{"login": {"admin"}, "email": {"x@example.com"}, "role": {"manager"}, "workspaces": {"elsewhere"}})
	require.Equal(t, map[string]string{"workspaces": "Нет такого пространства: elsewhere."}, p.errors())
	p = b.post("/users", url.Values{"login": {"ADMIN"}, "email": {"x@example.com"}, "role": {"admin"}})
	require.Equal(t, map[string]string{"login": "Этот логин уже занят."}, p.errors())
	p = b.post("/users", url.Values{"login": {"x1"}, "email": {"x@example.com"}, "role": {"root"}})
	require.Equal(t, map[string]string{"role": "Выберите роль: администратор или менеджер."}, p.errors())
	users, err := f.auth().List(t.Context())
	require.NoError(t, err)
	require.Len(t, users, 1, "nothing was created")
}

func TestUsersBlockUnblock(t *testing.T) {
	f := start(t, fixtureOpts{})
	b, _ := adminSession(t, f)
	u := f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	ub := f.browser(t)
	ub.signedIn("ivan", goodPassword)

	path := "/users/" + u.ID
	p := b.get(path)
	require.Contains(t, p.main(), "Пользователь ivan не сможет войти")
	p = b.submit(p, `form[action="`+path+`/block"]`, nil)
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, map[string]string{"block_confirm": "Отметьте подтверждение, чтобы выполнить действие."}, p.errors())
	require.False(t, f.get(t, u.ID).Blocked())

	p = b.submit(p, `form[action="`+path+`/block"]`, map[string]string{"block_confirm": "yes"})
	require.Equal(t, path, p.url.Path)
	require.Equal(t, "Пользователь ivan заблокирован.", p.alert())
	require.Contains(t, p.doc.Find(".states").Text(), "Заблокирован")
	require.Contains(t, p.doc.Find(".states").Text(), "(admin)")
	require.Equal(t, "/login", ub.get("/deliveries").url.Path, "their session ended")
	require.Equal(t, ru(&auth.BlockedError{}), ub.login("ivan", goodPassword).alert())

	p = b.submit(p, `form[action="`+path+`/unblock"]`, nil)
	require.Equal(t, "Пользователь ivan разблокирован.", p.alert())
	ub.signedIn("ivan", goodPassword)
	require.NotEmpty(t, f.events(t, "user blocked"))
	require.NotEmpty(t, f.events(t, "user unblocked"))
}

func TestUsersAccessEndDate(t *testing.T) {
	f := start(t, fixtureOpts{})
	b, _ := adminSession(t, f)
	u := f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	path := "/users/" + u.ID
	sel := `form[action="` + path + `/expiry"]`

	p := b.submit(b.get(path), sel, map[string]string{"access_until": "tomorrow"})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, map[string]string{"access_until": "Дата указана неверно: нужен вид ГГГГ-ММ-ДД."}, p.errors())
	p = b.submit(p, sel, map[string]string{"access_until": ""})
	require.Equal(t, map[string]string{"access_until": "Укажите дату."}, p.errors())

	yesterday := time.Now().UTC().AddDate(0, 0, -1)
	p = b.submit(b.get(path), sel, map[string]string{"access_until": yesterday.Format(time.DateOnly)})
	require.Equal(t, "Дата окончания доступа для ivan сохранена.", p.alert())
	require.Contains(t, p.doc.Find(".states").Text(), "Доступ закончился "+yesterday.Format("02.01.2006"))
	msg := f.browser(t).login("ivan", goodPassword).alert()
	require.Contains(t, msg, "Срок доступа истёк "+yesterday.Format("02.01.2006"))

	p = b.submit(p, sel, map[string]string{"clear": "1"})
	require.Equal(t, "Доступ для ivan больше не ограничен датой.", p.alert())
	require.True(t, f.get(t, u.ID).AccessExpiresAt.IsZero())
	f.browser(t).signedIn("ivan", goodPassword)
	require.NotEmpty(t, f.events(t, "access expiry set"))
}

func TestUsersForceChangeAndReset(t *testing.T) {
	f := start(t, fixtureOpts{})
	b, _ := adminSession(t, f)
	u := f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	path := "/users/" + u.ID

	p := b.submit(b.get(path), `form[action="`+path+`/force-change"]`, nil)
	require.Equal(t, "ivan должен будет сменить пароль при следующем входе.", p.alert())
	require.True(t, f.get(t, u.ID).MustChangePassword)
	require.Equal(t, "Смена пароля", f.browser(t).login("ivan", goodPassword).h1())
	p = b.submit(p, `form[action="`+path+`/force-change"]`, nil)
	require.Equal(t, "ivan больше не должен менять пароль.", p.alert())
	require.False(t, f.get(t, u.ID).MustChangePassword)

	// Reset: confirmation first, then a generated one-time password shown
	// on the answer only.
	sel := `form[action="` + path + `/password"]`
	p = b.submit(p, sel, nil)
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, map[string]string{"reset_confirm": "Отметьте подтверждение, чтобы выполнить действие."}, p.errors())
	p = b.submit(p, sel, map[string]string{"reset_confirm": "yes"})
	require.Equal(t, http.StatusOK, p.status)
	otp := p.doc.Find("#one-time-password").Text()
	require.Len(t, otp, 19)
	require.Equal(t, "Пароль пользователя ivan изменён.", p.alert())
	require.NotContains(t, b.get(path).body, otp)
	require.Equal(t, "Смена пароля", f.browser(t).login("ivan", otp).h1())

	// A typed one, checked by the policy.
	p = b.submit(b.get(path), sel, map[string]string{"reset_confirm": "yes", "password": "short"})
	require.Contains(t, p.fieldError("password"), "Пароль слишком короткий")
	p = b.submit(b.get(path), sel, map[string]string{"reset_confirm": "yes", "password": "Given-Pass-555", "must_change": ""})
	require.Equal(t, "Пароль пользователя ivan изменён.", p.alert())
	f.browser(t).signedIn("ivan", "Given-Pass-555")
	require.NotEmpty(t, f.events(t, "password set by administrator"))
}

func TestUsersRoleAndDelete(t *testing.T) {
	f := start(t, fixtureOpts{})
	b, _ := adminSession(t, f)
	u := f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	path := "/users/" + u.ID

	p := b.get(path)
	require.Equal(t, "manager", p.doc.Find("#role option[selected]").AttrOr("value", ""))
	require.Equal(t, 1, p.doc.Find(`input[name="workspaces"][checked]`).Length())
	p = b.submit(p, `form[action="`+path+`/role"]`, map[string]string{"workspaces": ""})
	require.Equal(t, map[string]string{"workspaces": "Выберите хотя бы одно пространство для менеджера."}, p.errors())
	p = b.submit(p, `form[action="`+path+`/role"]`, map[string]string{"role": "admin", "workspaces": ""})
	require.Equal(t, "Роль пользователя ivan сохранена.", p.alert())
	require.True(t, f.get(t, u.ID).IsAdmin())

	sel := `form[action="` + path + `/delete"]`
	require.Contains(t, p.doc.Find(sel).Text(), "Учётная запись ivan будет удалена безвозвратно")
	p = b.submit(p, sel, nil)
	require.Equal(t, map[string]string{"delete_confirm": "Отметьте подтверждение, чтобы выполнить действие."}, p.errors())
	p = b.submit(p, sel, map[string]string{"delete_confirm": "yes"})
	require.Equal(t, "/users", p.url.Path)
	require.Equal(t, "Пользователь ivan удалён.", p.alert())
	require.Equal(t, 0, p.doc.Find(`tr[data-login="ivan"]`).Length())
	p = b.get(path)
	require.Equal(t, http.StatusNotFound, p.status)
	require.Equal(t, "Пользователь не найден.", p.doc.Find("#error-text").Text())
	require.NotEmpty(t, f.events(t, "user deleted"))
}

func TestUsersRefusalsAboutOneself(t *testing.T) {
	f := start(t, fixtureOpts{})
	b, admin := adminSession(t, f)
	path := "/users/" + admin.ID
	p := b.get(path)
	require.Contains(t, p.main(), "Это ваша учётная запись")
	require.Equal(t, 0, p.doc.Find(`form[action="`+path+`/block"]`).Length(), "no block form for oneself")
	require.Equal(t, 0, p.doc.Find(`form[action="`+path+`/delete"]`).Length(), "no delete form for oneself")

	// Sent anyway: refused with the service's reason.
	p = b.post(path+"/block", url.Values{"block_confirm": {"yes"}})
	require.Equal(t, http.StatusConflict, p.status)
	require.Equal(t, ru(auth.ErrSelf), p.alert())
	p = b.post(path+"/delete", url.Values{"delete_confirm": {"yes"}})
	require.Equal(t, http.StatusConflict, p.status)
	p = b.post(path+"/role", url.Values{"role": {"manager"}, "workspaces": {apptest.Workspace}})
	require.Equal(t, http.StatusConflict, p.status)
	require.Equal(t, ru(auth.ErrSelf), p.alert())
	require.True(t, f.get(t, admin.ID).IsAdmin())
	require.False(t, f.get(t, admin.ID).Blocked())

	p = b.post("/users/0123456789abcdef0123456789abcdef/block", url.Values{"block_confirm": {"yes"}})
	require.Equal(t, http.StatusNotFound, p.status)
	p = b.get("/users/nonsense")
	require.Equal(t, http.StatusNotFound, p.status)
}
