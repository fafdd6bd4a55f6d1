package web

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/fieldmap"
)

// amoAdmin starts the server and signs an administrator in.
func amoAdmin(t *testing.T, o fixtureOpts) (*fixture, *browser) {
	t.Helper()
	f := start(t, o)
	f.user(t, "admin", auth.RoleAdmin)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	return f, b
}

// amoEvents returns the demo workspace's event log lines with message
// text (every line when text is ""); lines are written in the background,
// so it waits for one.
func amoEvents(t *testing.T, f *fixture, text string) []chatter.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := f.h.App.Store().ListEvents(t.Context(), chatter.EventQuery{Workspace: apptest.Workspace, Limit: 1000})
		require.NoError(t, err)
		var out []chatter.Event
		for _, e := range evs {
			if text == "" || e.Text == text {
				out = append(out, e)
			}
		}
		if len(out) > 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// amoPostRaw posts a form and returns the answer unparsed (a redirect
// elsewhere when the client does not follow it).
func amoPostRaw(t *testing.T, b *browser, path string, vals url.Values) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.abs(path), strings.NewReader(vals.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.origin)
	resp, err := b.hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

// workspace is the demo workspace's settings as the app runs them.
func (f *fixture) amoWorkspace(t *testing.T) config.Workspace {
	t.Helper()
	wc, ok := f.h.App.WorkspaceConfig(apptest.Workspace)
	require.True(t, ok)
	return wc
}

// checkStates are the statuses of the page's checks by name.
func (p *page) amoCheckStates() map[string]string {
	out := map[string]string{}
	p.doc.Find("li.amo-check").Each(func(_ int, s *goquery.Selection) {
		out[s.AttrOr("data-check", "")] = strings.TrimSpace(s.Find(".badge").First().Text())
	})
	return out
}

func TestAmoCRMPageShowsTheAccountTokenChecksAndWebhooks(t *testing.T) {
	f, b := amoAdmin(t, fixtureOpts{})
	p := b.get("/amocrm")
	require.Equal(t, http.StatusOK, p.status, p.main())
	acc := f.h.Env.AmoCRM.Account()
	require.Equal(t, acc.Name, strings.TrimSpace(p.doc.Find("#amo-account-name").Text()))
	require.Contains(t, p.main(), acc.Subdomain)
	require.Contains(t, p.main(), "Доставка в amoCRM настроена")

	// The long-lived token: masked, with the expiry read from the JWT.
	tok := f.h.Env.AmoCRMToken
	require.NotContains(t, p.body, tok)
	require.NotContains(t, p.body, tok[:len(tok)-4])
	token := p.doc.Find("#amo-token").Text()
	require.Contains(t, token, "••••"+tok[len(tok)-4:])
	require.Contains(t, token, f.h.Env.AmoCRMTokenExpiry.UTC().Format("02.01.2006 15:04"))
	require.Contains(t, token, "действует")

	// The sink's checks, by name, each with its verdict.
	states := p.amoCheckStates()
	for _, name := range []string{"amocrm.token", "amocrm.token_saved", "amocrm.rights", "amocrm.fields", "amocrm.rate_limit", "amocrm.blocked"} {
		require.Equal(t, "в порядке", states[name], "%s: %s", name, p.main())
	}
	require.Equal(t, "не применяется", states["amocrm.webhooks"])

	// No public URL: webhooks are explained, not offered.
	require.Contains(t, p.doc.Find("#amo-hooks-state").Text(), "нет публичного адреса")
	require.Equal(t, 0, p.doc.Find(`form[action="/amocrm/webhooks"]`).Length())

	// In English too.
	b.post("/lang", url.Values{"lang": {"en"}, "next": {"/amocrm"}})
	p = b.get("/amocrm")
	require.Contains(t, p.main(), "Delivery to amoCRM is set up")
	require.Equal(t, "ok", p.amoCheckStates()["amocrm.token"])
}

func TestAmoCRMTestRequest(t *testing.T) {
	f, b := amoAdmin(t, fixtureOpts{})
	p := b.submit(b.get("/amocrm"), `form[action="/amocrm/check"]`, nil)
	require.Equal(t, http.StatusOK, p.status)
	res := strings.Join(strings.Fields(p.doc.Find("#amo-probe-result").Text()), " ")
	require.Regexp(t, `^amoCRM ответил 200 за \d+ мс\. Аккаунт «Chatter Demo» \(ID 29000001, chatterdemo\)\.`, res)
	ev := amoEvents(t, f, "amoCRM test request")
	require.Len(t, ev, 1)
	require.Equal(t, "admin", ev[0].Attrs["by"])

	// A revoked token: the error is explained, with amoCRM's status.
	f.h.Env.AmoCRM.RevokeToken(f.h.Env.AmoCRMToken)
	p = b.submit(b.get("/amocrm"), `form[action="/amocrm/check"]`, nil)
	res = strings.Join(strings.Fields(p.doc.Find("#amo-probe-result").Text()), " ")
	require.Contains(t, res, "Запрос не прошёл: HTTP 401")
	require.Contains(t, res, "amoCRM отклонил авторизацию (HTTP 401)")
	require.Contains(t, p.doc.Find("#amo-account-error").Text(), "amoCRM")
	require.Equal(t, "ошибка", p.amoCheckStates()["amocrm.token"])
}

// amoJWT is a JWT-shaped token with an exp claim (not signed: the fake
// does not know it).
func amoJWT(exp time.Time) string {
	enc := base64.RawURLEncoding
	body, _ := json.Marshal(map[string]any{"exp": exp.Unix(), "account_id": 29000001})
	return enc.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`)) + "." + enc.EncodeToString(body) + ".c2lnbmF0dXJl"
}

func TestAmoCRMLongLivedTokenIsTestedBeforeItIsSaved(t *testing.T) {
	f, b := amoAdmin(t, fixtureOpts{})
	before := f.amoWorkspace(t).AmoCRM.LongLivedToken
	post := func(tok string) *page {
		t.Helper()
		return b.submit(b.get("/amocrm"), `form[action="/amocrm/token"]`, map[string]string{"token": tok})
	}
	for _, tc := range []struct{ name, token, want string }{
		{"empty", "", "Вставьте токен."},
		{"bearer", "Bearer " + before, "без слова Bearer"},
		{"not a token", "hello", "это не токен amoCRM"},
		{"expired", amoJWT(time.Now().Add(-time.Hour)), "Срок действия этого токена истёк"},
		{"refused by amoCRM", amoJWT(time.Now().Add(time.Hour)), "проверочный запрос к amoCRM не прошёл"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := post(tc.token)
			require.Equal(t, http.StatusUnprocessableEntity, p.status, p.main())
			require.Contains(t, p.fieldError("token"), tc.want)
			require.Empty(t, p.doc.Find("#token").AttrOr("value", ""), "the token is not put back into the form")
			require.Equal(t, before, f.amoWorkspace(t).AmoCRM.LongLivedToken, "nothing saved")
		})
	}
	// The refusal says why, from amoCRM's answer.
	p := post(amoJWT(time.Now().Add(time.Hour)))
	require.Contains(t, p.fieldError("token"), "401")

	// A new token of the account: tested, saved, masked, logged without it.
	fresh := f.h.Env.AmoCRM.LongLivedToken(10 * 24 * time.Hour)
	p = post(fresh)
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, "/amocrm", p.url.Path)
	require.Contains(t, p.alert(), "Токен проверен и сохранён.")
	require.Equal(t, fresh, f.amoWorkspace(t).AmoCRM.LongLivedToken)
	require.NotContains(t, p.body, fresh)
	require.Contains(t, p.doc.Find("#amo-token").Text(), "••••"+fresh[len(fresh)-4:])
	require.Contains(t, p.doc.Find("#amo-token").Text(), "скоро истекает", "10 days are within the warning")
	ev := amoEvents(t, f, "amoCRM long-lived token saved")
	require.Len(t, ev, 1)
	require.Equal(t, "admin", ev[0].Attrs["by"])
	for _, e := range amoEvents(t, f, "") {
		for _, v := range e.Attrs {
			require.NotContains(t, v, fresh[:20], "no token in the event log")
		}
	}
	// The server works with it.
	p = b.submit(b.get("/amocrm"), `form[action="/amocrm/check"]`, nil)
	require.Contains(t, p.doc.Find("#amo-probe-result").Text(), "amoCRM ответил 200")
}

func TestAmoCRMOAuthConnectFlow(t *testing.T) {
	f, b := amoAdmin(t, fixtureOpts{})
	integ := amocrmtest.DefaultIntegration()
	fill := map[string]string{"client_id": integ.ClientID, "client_secret": integ.ClientSecret, "redirect_url": integ.RedirectURI}

	// Leaving the working token needs a confirmation; a missing secret
	// and a bad URL are shown next to their fields.
	p := b.submit(b.get("/amocrm"), `form[action="/amocrm/oauth"]`, map[string]string{"client_id": integ.ClientID, "redirect_url": "not a url"})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "Подтвердите переход на OAuth.", p.fieldError("switch_confirm"))
	require.Equal(t, "Вставьте секретный ключ интеграции.", p.fieldError("client_secret"))
	require.NotEmpty(t, f.amoWorkspace(t).AmoCRM.LongLivedToken, "nothing saved")
	fill["switch_confirm"] = "yes"
	fill["redirect_url"] = "not a url"
	p = b.submit(b.get("/amocrm"), `form[action="/amocrm/oauth"]`, fill)
	require.Equal(t, http.StatusUnprocessableEntity, p.status, p.main())
	require.Equal(t, "нужен полный адрес http:// или https://", p.fieldError("redirect_url"))
	require.NotContains(t, p.body, integ.ClientSecret, "the secret is not put back")

	fill["redirect_url"] = integ.RedirectURI
	p = b.submit(b.get("/amocrm"), `form[action="/amocrm/oauth"]`, fill)
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "Ключи интеграции сохранены")
	ac := f.amoWorkspace(t).AmoCRM
	require.Empty(t, ac.LongLivedToken)
	require.Equal(t, config.OAuth{ClientID: integ.ClientID, ClientSecret: integ.ClientSecret, RedirectURL: integ.RedirectURI}, ac.OAuth)
	require.NotContains(t, p.body, integ.ClientSecret)
	require.Contains(t, p.doc.Find("#amo-oauth").Text(), "••••"+integ.ClientSecret[len(integ.ClientSecret)-4:])
	require.Contains(t, p.doc.Find("#amo-oauth-state").Text(), "не подключено")
	require.Contains(t, p.doc.Find("#amo-account-error").Text(), "amoCRM ещё не подключён")

	// The secret left empty keeps the stored one.
	p = b.submit(p, `form[action="/amocrm/oauth"]`, map[string]string{"client_secret": ""})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, integ.ClientSecret, f.amoWorkspace(t).AmoCRM.OAuth.ClientSecret)

	// "Подключить amoCRM" goes to the consent page with a state.
	b.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	vals, _ := p.form(`form[action="/amocrm/connect"]`)
	resp := amoPostRaw(t, b, "/amocrm/connect", vals)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	to, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "www.amocrm.ru", to.Host)
	require.Equal(t, integ.ClientID, to.Query().Get("client_id"))
	state := to.Query().Get("state")
	require.NotEmpty(t, state)
	b.hc.CheckRedirect = nil

	// amoCRM sends the admin back to the app's callback with a code.
	cb := b.get("/amocrm/oauth/callback?" + url.Values{"code": {f.h.Env.AmoCRM.IssueAuthCode()}, "state": {state}}.Encode())
	require.Equal(t, http.StatusOK, cb.status, cb.body)

	p = b.get("/amocrm")
	require.Contains(t, p.doc.Find("#amo-oauth-state").Text(), "подключено")
	require.NotContains(t, p.doc.Find("#amo-oauth-state").Text(), "не подключено")
	oauth := strings.Join(strings.Fields(p.doc.Find("#amo-oauth").Text()), " ")
	require.Regexp(t, `Ключ доступа до ?\d\d\.\d\d\.\d{4} \d\d:\d\d`, oauth)
	require.Regexp(t, `Ключ обновления до ?≈ \d\d\.\d\d\.\d{4}`, oauth)
	require.Equal(t, f.h.Env.AmoCRM.Account().Name, strings.TrimSpace(p.doc.Find("#amo-account-name").Text()))
	require.Equal(t, "в порядке", p.amoCheckStates()["amocrm.token_saved"])
	ev := amoEvents(t, f, "amoCRM OAuth consent started")
	require.Len(t, ev, 1)
}

func TestAmoCRMConnectWithoutOAuthIsRefused(t *testing.T) {
	_, b := amoAdmin(t, fixtureOpts{})
	p := b.submit(b.get("/amocrm"), `form[action="/amocrm/check"]`, nil) // any page with the ws field
	vals, _ := p.form(`form[action="/amocrm/check"]`)
	p = b.post("/amocrm/connect", vals)
	require.Equal(t, http.StatusConflict, p.status)
	require.Contains(t, p.alert(), "Сначала сохраните ключи внешней интеграции")
}

func TestAmoCRMWebhookSubscription(t *testing.T) {
	const public = "https://chatter.example.com"
	f, b := amoAdmin(t, fixtureOpts{publicURL: public})
	p := b.get("/amocrm")
	require.Contains(t, p.doc.Find("#amo-hooks-state").Text(), "выключены в настройках")
	require.Contains(t, p.doc.Find(`form[action="/amocrm/webhooks"] button`).Text(), "Включить вебхуки и подписать")

	p = b.submit(p, `form[action="/amocrm/webhooks"]`, nil)
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "Вебхук зарегистрирован в amoCRM.")
	require.True(t, f.amoWorkspace(t).AmoCRM.Webhooks)
	path := f.h.App.AmoCRMWebhookPath(apptest.Workspace)
	secret := path[strings.LastIndexByte(path, '/')+1:]
	hooks := f.h.Env.AmoCRM.Webhooks()
	require.Len(t, hooks, 1)
	require.Equal(t, public+path, hooks[0].Destination)
	if diff := cmp.Diff(amoWebhookEvents, hooks[0].Settings); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	require.Contains(t, p.doc.Find("#amo-hooks-state").Text(), "вебхук зарегистрирован")
	require.Equal(t, public+"/amocrm/demo/••••"+secret[len(secret)-4:], strings.TrimSpace(p.doc.Find("#amo-hook-expected").Text()))
	require.NotContains(t, p.body, secret, "the path secret is masked")
	require.Equal(t, 0, p.doc.Find(`form[action="/amocrm/webhooks"]`).Length(), "nothing left to subscribe")
	require.Equal(t, "в порядке", p.amoCheckStates()["amocrm.webhooks"])
	require.Len(t, amoEvents(t, f, "amoCRM webhook subscribed"), 1)
}

func TestAmoCRMWebhookNeedsAPublicURL(t *testing.T) {
	_, b := amoAdmin(t, fixtureOpts{})
	vals, _ := b.get("/amocrm").form(`form[action="/amocrm/check"]`)
	p := b.post("/amocrm/webhooks", vals)
	require.Equal(t, http.StatusConflict, p.status)
	require.Contains(t, p.alert(), "http.public_url")
}

func TestAmoCRMSetupErrorIsExplained(t *testing.T) {
	f, b := amoAdmin(t, fixtureOpts{})
	// A mapping naming a field amoCRM does not have: the set-up fails.
	wc := f.amoWorkspace(t)
	spec := *wc.Mapping.Inline
	spec.Lead.Fields = append(append([]fieldmap.FieldSpec(nil), spec.Lead.Fields...), fieldmap.FieldSpec{Name: "Бюджт", Value: &fieldmap.Source{Const: "1"}})
	wc.Mapping.Inline = &spec
	require.NoError(t, f.h.App.UpdateWorkspace(t.Context(), wc, "test"))
	p := b.get("/amocrm")
	require.Contains(t, p.doc.Find("#amo-setup").Text(), "не настроена")
	setup := p.amoCheckStates()["amocrm.setup.demo"]
	require.Equal(t, "ошибка", setup, p.main())
	check := p.doc.Find(`li[data-check="amocrm.setup.demo"]`).Text()
	require.Contains(t, check, "Бюджт")
	require.Contains(t, check, "Сопоставление полей")
	require.Equal(t, 1, p.doc.Find(`a[href="/mapping?ws=demo"]`).Length())
}

func TestAmoCRMPagesAreForAdministrators(t *testing.T) {
	f, ab := amoAdmin(t, fixtureOpts{})
	f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	b := f.browser(t)
	b.signedIn("ivan", goodPassword)
	require.Equal(t, http.StatusForbidden, b.get("/amocrm").status)
	for _, path := range []string{"/amocrm/token", "/amocrm/oauth", "/amocrm/connect", "/amocrm/webhooks", "/amocrm/check"} {
		p := b.post(path, url.Values{"ws": {apptest.Workspace}, "token": {"x"}})
		require.Equal(t, http.StatusForbidden, p.status, path)
	}
	require.NotEmpty(t, f.amoWorkspace(t).AmoCRM.LongLivedToken)

	require.Equal(t, http.StatusNotFound, ab.get("/amocrm?ws=nope").status)
	require.Equal(t, http.StatusNotFound, ab.post("/amocrm/check", url.Values{"ws": {"nope"}}).status)
}

func TestAmoJWTExpiryAndMasks(t *testing.T) {
	exp := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	got, ok := amoJWTExpiry(amoJWT(exp))
	require.True(t, ok)
	require.True(t, exp.Equal(got))
	for _, bad := range []string{"", "a.b", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":"soon"}`)) + ".c",
		"a." + base64.RawURLEncoding.EncodeToString([]byte(`{}`)) + ".c"} {
		_, ok := amoJWTExpiry(bad)
		require.False(t, ok, bad)
	}
	require.Equal(t, "••••", amoMask("short"))
	require.Equal(t, "••••wxyz", amoMask("abcdefghijklmnopqrstuvwxyz"))
	require.Equal(t, "", amoMask(""))
	require.Equal(t, "chatterdemo", amoAccountKey(config.AmoCRM{Subdomain: " ChatterDemo ", BaseURL: "http://127.0.0.1:8787"}))
	require.Equal(t, "127.0.0.1-8787", amoAccountKey(config.AmoCRM{BaseURL: "http://127.0.0.1:8787/api"}))
	require.Contains(t, amoCSP("https://www.kommo.com/oauth"), "form-action 'self' https://www.kommo.com;")
	require.Contains(t, amoCSP(""), "form-action 'self' https://www.amocrm.ru;")
	require.Equal(t, csp, amoCSP("javascript:alert(1)"))
	require.Contains(t, amoCSP("https://x.example/'; script-src *"), "form-action 'self' https://x.example;")
	require.Equal(t, csp, amoCSP("https://a.example;script-src/"))
}
