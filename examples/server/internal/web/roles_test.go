package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

func TestManagerSeesTheirSectionsOnly(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	other := f.user(t, "olga", auth.RoleManager, apptest.Workspace)
	f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	b := f.browser(t)
	p := b.signedIn("ivan", goodPassword)

	var nav []string
	p.doc.Find("nav a").Each(func(_ int, a *goquery.Selection) { nav = append(nav, a.Text()) })
	if diff := cmp.Diff([]string{"Обзор", "Журнал доставки", "Логи", "Профиль"}, nav); diff != "" {
		t.Errorf("a manager's navigation (-want +got):\n%s", diff)
	}
	for _, path := range []string{"/deliveries", "/admin/logs", "/profile"} {
		require.Equal(t, http.StatusOK, b.get(path).status, path)
	}
	for _, path := range []string{"/users", "/users/new", "/users/" + other.ID, "/sources", "/amocrm", "/mapping", "/notifications", "/diagnostics"} {
		p := b.get(path)
		require.Equal(t, http.StatusForbidden, p.status, path)
		require.Equal(t, "Доступ запрещён", p.h1(), path)
		require.Equal(t, "Этот раздел доступен только администраторам.", p.doc.Find("#error-text").Text())
	}
	// Actions too, and nothing changes.
	p = b.post("/users/"+other.ID+"/block", url.Values{"block_confirm": {"yes"}})
	require.Equal(t, http.StatusForbidden, p.status)
	require.False(t, f.get(t, other.ID).Blocked())
	p = b.post("/users", url.Values{"login": {"eve"}, "email": {"eve@example.com"}, "role": {"admin"}})
	require.Equal(t, http.StatusForbidden, p.status)
}

func TestCanAccess(t *testing.T) {
	f := start(t, fixtureOpts{})
	admin := f.user(t, "admin", auth.RoleAdmin)
	mgr := f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	with := func(u *auth.User) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		return r.WithContext(withState(r.Context(), &reqState{user: u}))
	}
	require.True(t, canAccess(with(admin), apptest.Workspace))
	require.True(t, canAccess(with(admin), "elsewhere"))
	require.True(t, canAccess(with(mgr), apptest.Workspace))
	require.False(t, canAccess(with(mgr), "elsewhere"))
	require.False(t, canAccess(with(nil), apptest.Workspace))
	require.False(t, canAccess(httptest.NewRequest(http.MethodGet, "/", nil), apptest.Workspace))
	require.Equal(t, []string{apptest.Workspace}, f.srv.visibleWorkspaces(with(mgr)))
	require.Empty(t, f.srv.visibleWorkspaces(with(&auth.User{Role: auth.RoleManager, Workspaces: []string{"elsewhere"}})))
}
