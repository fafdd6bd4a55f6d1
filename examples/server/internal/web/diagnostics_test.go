package web

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/doctor"
)

// waitSink waits until the demo workspace's amoCRM delivery is set up
// (its checks exist only then).
func waitSink(t *testing.T, f *fixture) {
	t.Helper()
	require.Eventually(t, func() bool {
		rt, ok := f.h.App.Runtime(apptest.Workspace)
		return ok && rt.Sink != nil
	}, 30*time.Second, 20*time.Millisecond, "the amoCRM set-up did not finish")
}

// diagGroupOf is the section of a group on the diagnostics page.
func diagGroupOf(p *page, id string) *goquery.Selection {
	p.t.Helper()
	g := p.doc.Find(`section.diag-group[data-group="` + id + `"]`)
	require.Equal(p.t, 1, g.Length(), "group %s on %s", id, p.url)
	return g
}

// diagCheckOf is a check's item on the diagnostics page.
func diagCheckOf(p *page, name string) *goquery.Selection {
	p.t.Helper()
	c := p.doc.Find(`li.diag-check[data-check="` + name + `"]`)
	require.GreaterOrEqual(p.t, c.Length(), 1, "check %s on %s:\n%s", name, p.url, p.main())
	return c.First()
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestDiagnosticsGroupsTheGuidesProblemsAndSaysNoProblems(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	waitSink(t, f)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)

	p := b.get("/diagnostics")
	require.Equal(t, http.StatusOK, p.status)
	var groups []string
	p.doc.Find("section.diag-group").Each(func(_ int, s *goquery.Selection) { groups = append(groups, s.AttrOr("data-group", "")) })
	var want []string
	for _, pr := range doctor.Problems() {
		want = append(want, pr.ID)
	}
	if d := cmp.Diff(want, groups); d != "" {
		t.Fatalf("groups: the server's, then the guide's ten problems in order (-want +got):\n%s", d)
	}
	require.Len(t, want, 11)
	// The demo works: a clear "no problems" state.
	require.Equal(t, "Проблем не найдено. Все проверки прошли успешно.", squash(p.doc.Find("#diag-none").Text()), p.main())
	require.Equal(t, 0, p.doc.Find("#diag-problems").Length())
	require.Contains(t, p.doc.Find("#diag-status").Text(), "ОК")
	// Every check says how long it took; its details are there.
	tok := diagCheckOf(p, amocrmsink.CheckToken)
	require.Equal(t, "ok", tok.AttrOr("data-status", ""))
	require.Regexp(t, `^заняло (< 1|\d+) мс$|^заняло \d+,\d с$`, strings.TrimSpace(tok.Find(".took").Text()))
	require.Equal(t, 1, diagGroupOf(p, chatter.GuideAmoCRMAuth).Find(`li[data-check="`+amocrmsink.CheckToken+`"]`).Length())
	require.Contains(t, tok.Find("details").Text(), "account_id")
	// An empty group says so, without a button.
	login := diagGroupOf(p, chatter.GuideLogin)
	require.Equal(t, "skip", login.AttrOr("data-status", ""))
	require.Equal(t, "В этой конфигурации проверок нет.", strings.TrimSpace(login.Find("p.muted").Last().Text()))
	require.Equal(t, 0, login.Find("form").Length())

	// The report is kept in the store: another administrator, another
	// visit, the same report (nothing runs again on a page view).
	at := p.doc.Find("#diag-at").Text()
	f.user(t, "olga", auth.RoleAdmin)
	b2 := f.browser(t)
	b2.signedIn("olga", goodPassword)
	require.Equal(t, at, b2.get("/diagnostics").doc.Find("#diag-at").Text())

	// English.
	b.post("/lang", url.Values{"lang": {"en"}, "next": {"/diagnostics"}})
	p = b.get("/diagnostics")
	require.Equal(t, "No problems found. Every check passed.", squash(p.doc.Find("#diag-none").Text()))
	require.Equal(t, "The Chatter server", strings.TrimSpace(diagGroupOf(p, doctor.GuideSystem).Find("h2").Contents().First().Text()))
}

func TestDiagnosticsRevokedTokenFailsWithItsRemedy(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	waitSink(t, f)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	before := b.get("/diagnostics")
	require.Equal(t, 1, before.doc.Find("#diag-none").Length(), before.main())
	botAt := diagCheckOf(before, "tgbot.token:demo/demo-bot").Find(".took").AttrOr("title", "")

	f.h.Env.AmoCRM.RevokeToken(f.h.Env.AmoCRMToken)
	// "Проверить снова" of the amoCRM group.
	p := b.submit(before, `section[data-group="`+chatter.GuideAmoCRMAuth+`"] form`, nil)
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, "/diagnostics", p.url.Path)
	require.Contains(t, p.alert(), "Проверки группы «Ошибка авторизации через amoCRM» выполнены заново.")
	g := diagGroupOf(p, chatter.GuideAmoCRMAuth)
	require.Equal(t, "fail", g.AttrOr("data-status", ""))
	tok := diagCheckOf(p, amocrmsink.CheckToken)
	require.Equal(t, "fail", tok.AttrOr("data-status", ""))
	require.Contains(t, tok.Find(".diag-cause").Text(), "amoCRM отклонил токен")
	require.Contains(t, tok.Find(".diag-remedy").Text(), "выпустите новый долгосрочный токен и обновите его в настройках Чаттера")
	require.Equal(t, 0, p.doc.Find("#diag-none").Length())
	require.Contains(t, p.doc.Find("#diag-problems").Text(), "Токен amoCRM действителен")
	require.Equal(t, "#g-"+chatter.GuideAmoCRMAuth, p.doc.Find("#diag-problems a").First().AttrOr("href", ""))
	require.Contains(t, p.doc.Find("#diag-status").Text(), "Ошибка")
	// The other groups kept their results: only the group ran.
	require.Equal(t, botAt, diagCheckOf(p, "tgbot.token:demo/demo-bot").Find(".took").AttrOr("title", ""))

	// After a restart of the workspace its amoCRM set-up fails on the
	// revoked token: the guide's remedy, new keys.
	wc, _ := f.h.App.WorkspaceConfig(apptest.Workspace)
	require.NoError(t, f.h.App.UpdateWorkspace(context.Background(), wc, "test"))
	p = b.submit(p, `form[action="/diagnostics/run"]:not(:has(input[name="group"]))`, nil)
	require.Contains(t, p.alert(), "Все проверки выполнены заново.")
	setup := diagCheckOf(p, "amocrm.setup."+apptest.Workspace)
	require.Equal(t, "fail", setup.AttrOr("data-status", ""))
	require.Contains(t, setup.Find(".diag-remedy").Text(), "Сгенерируйте новые ключи в amoCRM")
	require.Equal(t, 1, diagGroupOf(p, chatter.GuideAmoCRMAuth).Find(`li[data-check="amocrm.setup.demo"]`).Length())

	// Each run is on the event log: who, from where, what.
	var evs []chatter.Event
	require.Eventually(t, func() bool { evs = f.events(t, "diagnostics run"); return len(evs) == 2 }, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, map[string]string{"group": "all", "status": "fail", "problems": evs[0].Attrs["problems"], "by": "admin", "addr": "127.0.0.1"}, evs[0].Attrs)
	require.Equal(t, chatter.GuideAmoCRMAuth, evs[1].Attrs["group"])
}

func TestDiagnosticsRefusals(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	p := b.post("/diagnostics/run", url.Values{"group": {"no-such-problem"}})
	require.Equal(t, http.StatusBadRequest, p.status)

	m := f.browser(t)
	m.signedIn("ivan", goodPassword)
	for _, path := range []string{"/diagnostics", "/diagnostics/bundle"} {
		require.Equal(t, http.StatusForbidden, m.get(path).status, path)
	}
	require.Equal(t, http.StatusForbidden, m.post("/diagnostics/run", nil).status)
	anon := f.browser(t)
	p = anon.get("/diagnostics/bundle")
	require.Equal(t, "/login", p.url.Path)
}

func TestDiagnosticsBundleDownload(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	page := b.get("/diagnostics")
	href := page.doc.Find("#diag-bundle").AttrOr("href", "")
	require.Equal(t, "/diagnostics/bundle", href)

	p := b.get(href)
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, "application/zip", p.header.Get("Content-Type"))
	require.Regexp(t, `^attachment; filename="chatter-bundle-\d{8}-\d{6}\.zip"$`, p.header.Get("Content-Disposition"))
	require.Equal(t, "no-store", p.header.Get("Cache-Control"))
	zr, err := zip.NewReader(bytes.NewReader([]byte(p.body)), int64(len(p.body)))
	require.NoError(t, err)
	names := map[string]bool{}
	for _, zf := range zr.File {
		names[zf.Name] = true
		rc, err := zf.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
		for _, secret := range []string{f.h.Env.AmoCRMToken, f.h.Env.BotToken} {
			require.NotContains(t, string(data), secret, "%s leaks a secret", zf.Name)
		}
	}
	require.True(t, names["checks.json"] && names["config.json"] && names["ledger.json"], "%v", names)
	evs := f.events(t, "support bundle downloaded")
	require.Len(t, evs, 1)
	require.Equal(t, "admin", evs[0].Attrs["by"])
	require.Equal(t, "127.0.0.1", evs[0].Attrs["addr"])
}

func TestDiagTook(t *testing.T) {
	for _, c := range []struct {
		d      time.Duration
		ru, en string
	}{
		{300 * time.Microsecond, "< 1 мс", "< 1 ms"},
		{42 * time.Millisecond, "42 мс", "42 ms"},
		{1350 * time.Millisecond, "1,4 с", "1.4 s"},
		{10 * time.Second, "10,0 с", "10.0 s"},
	} {
		require.Equal(t, c.ru, diagTook("ru", c.d))
		require.Equal(t, c.en, diagTook("en", c.d))
	}
}
