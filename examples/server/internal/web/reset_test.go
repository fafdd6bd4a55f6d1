package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

func TestResetByMailEndToEnd(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)

	p := b.get("/login")
	p = b.get(p.doc.Find(`a[href="/forgot"]`).AttrOr("href", ""))
	require.Equal(t, "Восстановление пароля", p.h1())
	require.Contains(t, p.main(), "Ссылка действует 1 час")
	p = b.submit(p, `form[action="/forgot"]`, map[string]string{"email": "ivan@example.com"})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.doc.Find("#forgot-sent").Text(), "Если адрес ivan@example.com зарегистрирован")

	ml := f.mail.next(t)
	require.Equal(t, "ivan@example.com", ml.To)
	require.Equal(t, "Чаттер: смена пароля", ml.Subject)
	require.Contains(t, ml.Text, "Здравствуйте, Ivan!")
	require.Contains(t, ml.Text, "Ссылка действует 1 час")
	link := ml.link(t)
	require.True(t, strings.HasPrefix(link, f.h.URL+"/reset?token="), link)

	p = b.get(link)
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, "Новый пароль", p.h1())
	require.Contains(t, p.main(), "Пользователь: ivan")

	// Problems are shown next to their field and leave the link usable.
	p2 := b.submit(p, `form[action="/reset"]`, map[string]string{"password": "New-Password-77", "password_confirm": "other"})
	require.Equal(t, http.StatusUnprocessableEntity, p2.status)
	require.Equal(t, map[string]string{"password_confirm": "Пароли не совпадают."}, p2.errors())
	p2 = b.submit(p2, `form[action="/reset"]`, map[string]string{"password": "short", "password_confirm": "short"})
	require.Equal(t, http.StatusUnprocessableEntity, p2.status)
	require.Contains(t, p2.fieldError("password"), "минимальная длина — 10")

	p2 = b.submit(p2, `form[action="/reset"]`, map[string]string{"password": "New-Password-77", "password_confirm": "New-Password-77"})
	require.Equal(t, "/login", p2.url.Path)
	require.Equal(t, "Пароль изменён. Войдите с новым паролем.", p2.alert())
	require.Equal(t, ru(auth.ErrBadCredentials), b.login("ivan", goodPassword).alert())
	b.signedIn("ivan", "New-Password-77")

	// The link works once.
	p = f.browser(t).get(link)
	require.Equal(t, http.StatusGone, p.status)
	require.Equal(t, ru(auth.ErrBadResetToken), p.alert())
	require.Equal(t, 0, p.doc.Find(`form[action="/reset"]`).Length())
	vals := url.Values{"token": {strings.TrimPrefix(link, f.h.URL+"/reset?token=")}, "password": {"Other-Password-88"}, "password_confirm": {"Other-Password-88"}}
	tok, err := url.QueryUnescape(vals.Get("token"))
	require.NoError(t, err)
	vals.Set("token", tok)
	p = f.browser(t).post("/reset", vals)
	require.Equal(t, http.StatusGone, p.status)
	require.Equal(t, ru(auth.ErrBadResetToken), p.alert())

	// On the event log: requested, sent, done; never the token.
	for _, text := range []string{"password reset requested", "password reset mail sent", "password reset"} {
		require.NotEmpty(t, f.events(t, text), text)
	}
	for _, e := range f.allEvents(t) {
		for k, v := range e.Attrs {
			require.NotContains(t, v, tok[33:], "event %q attr %s", e.Text, k)
			require.NotContains(t, v, "New-Password-77", "event %q attr %s", e.Text, k)
		}
	}
}

func TestResetUnknownAddressLooksTheSame(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	blocked := f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)

	send := func(email string) *page {
		p := b.get("/forgot")
		start := time.Now()
		p = b.submit(p, `form[action="/forgot"]`, map[string]string{"email": email})
		require.GreaterOrEqual(t, time.Since(start), auth.DefaultMinResponse, "padded like every request")
		return p
	}
	known := send("admin@example.com")
	f.mail.next(t)
	unknown := send("nobody@example.com")
	f.noMail(t)
	require.Equal(t, known.status, unknown.status)
	if diff := cmp.Diff(strings.ReplaceAll(known.main(), "admin@example.com", "X"), strings.ReplaceAll(unknown.main(), "nobody@example.com", "X")); diff != "" {
		t.Errorf("the page tells a known address from an unknown one (-known +unknown):\n%s", diff)
	}

	// A blocked account gets no link either, and the same page.
	require.NoError(t, f.auth().Block(t.Context(), auth.System("test"), blocked.ID))
	p := send("ivan@example.com")
	f.noMail(t)
	require.Equal(t, strings.ReplaceAll(known.main(), "admin@example.com", "X"), strings.ReplaceAll(p.main(), "ivan@example.com", "X"))

	// A malformed address is told, next to the field.
	p = b.submit(b.get("/forgot"), `form[action="/forgot"]`, map[string]string{"email": "not an address"})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.fieldError("email"), "Адрес электронной почты указан неверно")
	p = b.submit(b.get("/forgot"), `form[action="/forgot"]`, map[string]string{"email": ""})
	require.Equal(t, "Укажите адрес электронной почты.", p.fieldError("email"))
}

func TestResetLinkExpiresAfterAnHour(t *testing.T) {
	f := start(t, fixtureOpts{fakeClock: true})
	f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)
	b.submit(b.get("/forgot"), `form[action="/forgot"]`, map[string]string{"email": "ivan@example.com"})
	link := f.mail.next(t).link(t)
	f.clk.Add(auth.DefaultResetTTL - time.Minute)
	p := b.get(link)
	require.Equal(t, http.StatusOK, p.status)
	f.clk.Add(time.Minute)
	p = b.submit(p, `form[action="/reset"]`, map[string]string{"password": "New-Password-77", "password_confirm": "New-Password-77"})
	require.Equal(t, http.StatusGone, p.status)
	require.Equal(t, ru(auth.ErrBadResetToken), p.alert())
	require.Equal(t, http.StatusGone, b.get(link).status)
	b.signedIn("ivan", goodPassword)
}

func TestResetLiftsALockout(t *testing.T) {
	f := start(t, fixtureOpts{fakeClock: true})
	f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)
	for range auth.DefaultMaxFailures {
		b.login("ivan", "wrong-password-1")
	}
	require.Contains(t, b.login("ivan", goodPassword).alert(), "заблокирован")
	b.submit(b.get("/forgot"), `form[action="/forgot"]`, map[string]string{"email": "ivan@example.com"})
	p := b.get(f.mail.next(t).link(t))
	b.submit(p, `form[action="/reset"]`, map[string]string{"password": "New-Password-77", "password_confirm": "New-Password-77"})
	b.signedIn("ivan", "New-Password-77")
}

func TestResetLinkUsesThePublicURLOrALocalHost(t *testing.T) {
	f := start(t, fixtureOpts{publicURL: "https://chatter.example.com/"})
	f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)
	b.origin = "https://chatter.example.com"
	b.post("/forgot", url.Values{"email": {"ivan@example.com"}})
	require.True(t, strings.HasPrefix(f.mail.next(t).link(t), "https://chatter.example.com/reset?token="))

	// Without a public URL, a forged Host header gets no link mailed to
	// the user (it would point at the forger's site).
	f2 := start(t, fixtureOpts{})
	f2.user(t, "ivan", auth.RoleAdmin)
	b2 := f2.browser(t)
	b2.origin = ""
	req, err := http.NewRequest(http.MethodPost, f2.h.URL+"/forgot", strings.NewReader("email=ivan%40example.com"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "evil.example"
	p := b2.do(req)
	require.Equal(t, http.StatusOK, p.status)
	require.NotEmpty(t, p.doc.Find("#forgot-sent").Text(), "the same answer")
	f2.noMail(t)
	ev := f2.events(t, "password reset mail not sent: http.public_url is not set and the request's host is not this server's")
	require.NotEmpty(t, ev)
	require.Equal(t, "evil.example", ev[0].Attrs["host"])
}

func TestResetMailFailureIsLogged(t *testing.T) {
	f := start(t, fixtureOpts{mailErr: errForeign})
	f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)
	p := b.submit(b.get("/forgot"), `form[action="/forgot"]`, map[string]string{"email": "ivan@example.com"})
	require.NotEmpty(t, p.doc.Find("#forgot-sent").Text(), "the page does not tell")
	ev := f.events(t, "password reset mail not sent")
	require.NotEmpty(t, ev)
	require.Equal(t, "ivan", ev[0].Attrs["user"])
	require.Equal(t, errForeign.Error(), ev[0].Attrs["err"])
}

func TestResetRequestsPerAddressAreLimited(t *testing.T) {
	f := start(t, fixtureOpts{resetsPerAddr: 2})
	f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)
	for range 2 {
		p := b.post("/forgot", url.Values{"email": {"someone@example.com"}})
		require.Equal(t, http.StatusOK, p.status)
	}
	p := b.post("/forgot", url.Values{"email": {"ivan@example.com"}})
	require.Equal(t, http.StatusTooManyRequests, p.status)
	require.Contains(t, p.alert(), "Слишком много запросов с вашего адреса")
	f.noMail(t)
}

func TestResetWithoutAMailer(t *testing.T) {
	f := start(t, fixtureOpts{noMailer: true})
	f.user(t, "ivan", auth.RoleAdmin)
	b := f.browser(t)
	p := b.get("/forgot")
	require.Contains(t, p.main(), "Восстановление пароля по почте не настроено")
	require.Equal(t, 0, p.doc.Find(`form[action="/forgot"]`).Length())
	p = b.post("/forgot", url.Values{"email": {"ivan@example.com"}})
	require.Contains(t, p.main(), "Обратитесь к администратору")
}
