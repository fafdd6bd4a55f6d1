package web

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

func TestCrossOriginPostsAreRefusedAndChangeNothing(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	victim := f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	ctx := context.Background()

	create := url.Values{"login": {"mallory"}, "email": {"mallory@example.com"}, "role": {"admin"}, "password": {"Strong-Pass-99x"}}
	for name, hdr := range map[string]http.Header{
		"foreign Origin":           {"Origin": {"https://evil.example"}},
		"Sec-Fetch-Site cross":     {"Sec-Fetch-Site": {"cross-site"}},
		"Sec-Fetch-Site same-site": {"Sec-Fetch-Site": {"same-site"}, "Origin": {"https://sub.example"}},
	} {
		t.Run(name, func(t *testing.T) {
			b.origin = ""
			defer func() { b.origin = f.h.URL }()
			p := b.postWith("/users", create, hdr)
			require.Equal(t, http.StatusForbidden, p.status)
			require.Contains(t, p.doc.Find("#error-text").Text(), "форма отправлена с другого сайта")
			_, err := f.auth().GetByLogin(ctx, "mallory")
			require.ErrorIs(t, err, auth.ErrUserNotFound, "nothing was created")

			p = b.postWith("/users/"+victim.ID+"/block", url.Values{"block_confirm": {"yes"}}, hdr)
			require.Equal(t, http.StatusForbidden, p.status)
			require.False(t, f.get(t, victim.ID).Blocked(), "nothing was blocked")

			p = b.postWith("/lang", url.Values{"lang": {"en"}, "next": {"/"}}, hdr)
			require.Equal(t, http.StatusForbidden, p.status)
			p = b.postWith("/logout", nil, hdr)
			require.Equal(t, http.StatusForbidden, p.status)
		})
	}
	// Still signed in, still Russian.
	require.Equal(t, "Обзор", b.get("/").h1())

	// Login CSRF: a foreign site cannot sign the browser in either.
	b2 := f.browser(t)
	b2.origin = "https://evil.example"
	p := b2.post("/login", url.Values{"login": {"ivan"}, "password": {goodPassword}})
	require.Equal(t, http.StatusForbidden, p.status)
	sessions, err := f.auth().ListSessions(ctx, victim.ID)
	require.NoError(t, err)
	require.Empty(t, sessions)

	// The same form from the page itself (Origin = the server, as a
	// browser sends it; or Sec-Fetch-Site: same-origin) passes.
	b.origin = ""
	p = b.postWith("/users", create, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	b.origin = f.h.URL
	require.Equal(t, http.StatusOK, p.status, p.main())
	m, err := f.auth().GetByLogin(ctx, "mallory")
	require.NoError(t, err)
	require.Equal(t, "/users/"+m.ID, p.url.Path)

	ev := f.events(t, "cross-origin request refused")
	require.NotEmpty(t, ev)
	require.Equal(t, "127.0.0.1", ev[0].Attrs["addr"])
}
