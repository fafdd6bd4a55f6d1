package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// everyPage visits every page and form state of the UI in both languages
// and hands each to check.
func everyPage(t *testing.T, check func(t *testing.T, name string, p *page)) {
	// The first-run page needs a store without administrators.
	f0 := start(t, fixtureOpts{})
	b0 := f0.browser(t)
	check(t, "setup", b0.get("/setup"))
	check(t, "setup with errors", b0.post("/setup", url.Values{"login": {"x"}, "password": {"a"}, "password_confirm": {"b"}}))

	f := start(t, fixtureOpts{})
	admin := f.user(t, "admin", auth.RoleAdmin)
	other := f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	f.user(t, "forced", auth.RoleManager, apptest.Workspace)
	target := f.user(t, "target", auth.RoleManager, apptest.Workspace)
	ctx := t.Context()
	require.NoError(t, f.auth().ForcePasswordChange(ctx, auth.System("test"), f.getByLogin(t, "forced").ID, true))
	require.NoError(t, f.auth().SetAccessExpiry(ctx, admin.Actor(""), other.ID, time.Now().AddDate(0, 1, 0)))
	ledger := ledgerPages(t, f)

	for _, lang := range []string{"ru", "en"} {
		t.Run(lang, func(t *testing.T) {
			anon := f.browser(t)
			anon.post("/lang", url.Values{"lang": {lang}, "next": {"/login"}})
			check(t, "login", anon.get("/login"))
			check(t, "login refused", anon.login("ivan", "wrong-password-1"))
			check(t, "login with errors", anon.login("", ""))
			check(t, "forgot", anon.get("/forgot"))
			// One link per account per 5 minutes: each language asks for another.
			check(t, "forgot sent", anon.post("/forgot", url.Values{"email": {map[string]string{"ru": "ivan", "en": "admin"}[lang] + "@example.com"}}))
			link := f.mail.next(t).link(t)
			check(t, "reset", anon.get(link))
			check(t, "reset with errors", anon.submit(anon.get(link), `form[action="/reset"]`, map[string]string{"password": "a", "password_confirm": "b"}))
			check(t, "reset spent", anon.get("/reset?token=nonsense"))
			check(t, "not found", anon.get("/no/such/page"))
			cp := anon.login("forced", goodPassword)
			check(t, "password change", cp)
			check(t, "password change with errors", anon.submit(cp, `form[action="/password/change"]`, map[string]string{"password": "a", "password_confirm": "b"}))

			mb := f.browser(t)
			mb.signedIn("ivan", goodPassword)
			mb.post("/lang", url.Values{"lang": {lang}, "next": {"/"}})
			check(t, "forbidden", mb.get("/users"))

			b := f.browser(t)
			b.signedIn("admin", goodPassword)
			b.post("/lang", url.Values{"lang": {lang}, "next": {"/"}})
			for _, path := range []string{"/", "/sources", "/amocrm", "/mapping", "/notifications", "/deliveries", "/admin/logs",
				"/diagnostics", "/users", "/users/new", "/users/" + other.ID, "/users/" + admin.ID, "/profile", "/no/such/page"} {
				check(t, path, b.get(path))
			}
			check(t, "users/new with errors", b.post("/users", url.Values{"login": {"-"}, "role": {"manager"}, "access_until": {"x"}}))
			check(t, "user created", b.post("/users", url.Values{"login": {"new-" + lang}, "email": {"new-" + lang + "@example.com"}, "role": {"admin"}}))
			check(t, "user with errors", b.post("/users/"+other.ID+"/block", nil))
			check(t, "user password reset", b.post("/users/"+target.ID+"/password", url.Values{"reset_confirm": {"yes"}}))
			check(t, "profile with errors", b.post("/profile/password", url.Values{"password": {"a"}}))
			notifDiagPages(t, check, b, mb)
			sourcesPages(t, check, lang)
			ledger(t, check, b, mb)
			amoMappingPages(t, check, b, mb)
		})
	}
}

// getPages are the paths of the GET pages.
var getPages = regexp.MustCompile(`^/(|login|forgot|setup|reset|profile|users|users/new|users/[0-9a-f]{32}|sources|sources/[a-z0-9_-]+/(bots|accounts)/[a-z0-9_-]+|sources/[a-z0-9_-]+/(chats|chat|keywords)|amocrm|mapping|notifications|deliveries|deliveries/[a-z0-9_-]+/[^/]+|admin/logs|diagnostics|no/such/page)$`)

func (f *fixture) getByLogin(t *testing.T, login string) *auth.User {
	t.Helper()
	u, err := f.auth().GetByLogin(t.Context(), login)
	require.NoError(t, err)
	return u
}

// TestEveryPageIsAccessible: every input, select and textarea has a
// label (label[for], a wrapping label, or aria-label/labelledby), ids are
// unique and every aria-describedby points at something; the page says
// its language, fits a phone (viewport) and has a title; no catalog key is
// missing.
func TestEveryPageIsAccessible(t *testing.T) {
	pages := 0
	everyPage(t, func(t *testing.T, name string, p *page) {
		pages++
		require.NotEqual(t, http.StatusInternalServerError, p.status, "%s: %s", name, p.main())
		require.NotContains(t, p.body, "[[", "%s: a catalog key is missing", name)
		require.Contains(t, []string{"ru", "en"}, p.doc.Find("html").AttrOr("lang", ""), name)
		require.Contains(t, p.doc.Find(`meta[name="viewport"]`).AttrOr("content", ""), "width=device-width", name)
		require.NotEmpty(t, strings.TrimSpace(p.doc.Find("title").Text()), name)
		require.Equal(t, 1, p.doc.Find("h1").Length(), "%s: one heading", name)

		ids := map[string]bool{}
		p.doc.Find("[id]").Each(func(_ int, s *goquery.Selection) {
			id := s.AttrOr("id", "")
			require.False(t, ids[id], "%s: id %q twice", name, id)
			ids[id] = true
		})
		p.doc.Find("[aria-describedby]").Each(func(_ int, s *goquery.Selection) {
			for _, id := range strings.Fields(s.AttrOr("aria-describedby", "")) {
				require.True(t, ids[id], "%s: aria-describedby %q names nothing", name, id)
			}
		})
		p.doc.Find("input, select, textarea").Each(func(_ int, in *goquery.Selection) {
			switch in.AttrOr("type", "") {
			case "hidden", "submit", "button", "reset", "image":
				return
			}
			label := strings.TrimSpace(in.AttrOr("aria-label", ""))
			if id := in.AttrOr("id", ""); id != "" && label == "" {
				label = strings.TrimSpace(p.doc.Find(`label[for="` + id + `"]`).Text())
			}
			if label == "" {
				label = strings.TrimSpace(in.Closest("label").Text())
			}
			if by := in.AttrOr("aria-labelledby", ""); by != "" && label == "" {
				label = strings.TrimSpace(p.doc.Find("#" + by).Text())
			}
			html, _ := goquery.OuterHtml(in)
			require.NotEmpty(t, label, "%s: no label for %s", name, html)
		})
		p.doc.Find("button").Each(func(_ int, btn *goquery.Selection) {
			require.NotEmpty(t, strings.TrimSpace(btn.Text()+btn.AttrOr("aria-label", "")), "%s: a button without a name", name)
		})
		// Nothing the CSP would block: no inline script or style.
		p.doc.Find("script").Each(func(_ int, s *goquery.Selection) {
			require.NotEmpty(t, s.AttrOr("src", ""), "%s: inline script", name)
		})
		require.Equal(t, 0, p.doc.Find("style, [style]").Length(), "%s: inline style", name)
		p.doc.Find("*").Each(func(_ int, s *goquery.Selection) {
			for _, a := range s.Nodes[0].Attr {
				require.False(t, strings.HasPrefix(a.Key, "on"), "%s: inline handler %s", name, a.Key)
			}
		})
		// The language switch returns to a page that exists (not to the
		// POST route a form went to).
		next, err := url.Parse(p.doc.Find(`form.lang input[name="next"]`).AttrOr("value", ""))
		require.NoError(t, err)
		require.Regexp(t, getPages, next.Path, "%s: the language switch returns to %s", name, next)
		// Every form posts (no state changes on GET) to this server; a
		// search form (role=search: the filters of the ledger and the logs)
		// may get.
		p.doc.Find("form").Each(func(_ int, fm *goquery.Selection) {
			if fm.AttrOr("role", "") == "search" {
				require.Equal(t, "get", fm.AttrOr("method", ""), name)
			} else {
				require.Equal(t, "post", fm.AttrOr("method", ""), name)
			}
			require.True(t, strings.HasPrefix(fm.AttrOr("action", ""), "/"), name)
		})
	})
	require.Greater(t, pages, 40)
}

func TestSecurityHeaders(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	b := f.browser(t)
	for _, path := range []string{"/login", "/no/such/page"} {
		p := b.get(path)
		require.Equal(t, csp, p.header.Get("Content-Security-Policy"), path)
		require.Contains(t, p.header.Get("Content-Security-Policy"), "script-src 'self';")
		require.NotContains(t, p.header.Get("Content-Security-Policy"), "unsafe-inline")
		require.Equal(t, "DENY", p.header.Get("X-Frame-Options"))
		require.Equal(t, "no-referrer", p.header.Get("Referrer-Policy"))
		require.Equal(t, "nosniff", p.header.Get("X-Content-Type-Options"))
		require.Equal(t, "no-store", p.header.Get("Cache-Control"))
	}
	p := b.get("/login")
	css := b.get(p.doc.Find(`link[rel="stylesheet"]`).AttrOr("href", ""))
	require.Equal(t, http.StatusOK, css.status)
	require.Contains(t, css.header.Get("Content-Type"), "text/css")
	require.Equal(t, "public, max-age=86400", css.header.Get("Cache-Control"))
	require.Contains(t, css.body, "@media (max-width: 40rem)", "the phone layout")
	require.Equal(t, http.StatusNotFound, b.get("/static/nothing.css").status)

	// The app's machine endpoints are still the app's.
	require.Equal(t, "ok\n", b.get("/healthz").body)
}
