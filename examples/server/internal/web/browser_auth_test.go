package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// shotDriver drives one Chromium tab of a browser test and saves its
// full-page screenshots into artifactsDir.
type shotDriver struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	n    int
}

func newShotDriver(t *testing.T, base string) *shotDriver {
	t.Helper()
	return &shotDriver{t: t, ctx: browserContext(t), base: base, dir: artifactsDir(t)}
}

// run runs actions, failing the test on an error.
func (d *shotDriver) run(actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	require.NoError(d.t, chromedp.Do(d.ctx, actions...))
}

// eval evaluates a JavaScript expression to an int.
func (d *shotDriver) eval(expr string) int {
	d.t.Helper()
	n, err := chromedp.Run(d.ctx, chromedp.Evaluate[int](expr))
	require.NoError(d.t, err)
	return n
}

// open navigates to path and waits for the page's main part.
func (d *shotDriver) open(path string) {
	d.t.Helper()
	d.run(chromedp.Navigate(d.base+path), chromedp.WaitReady("main"))
}

// text is the trimmed text of the first element sel matches.
func (d *shotDriver) text(sel string) string {
	d.t.Helper()
	s, err := chromedp.Run(d.ctx, chromedp.Text(sel, chromedp.NodeVisible))
	require.NoError(d.t, err)
	return strings.Join(strings.Fields(s), " ")
}

// shoot saves a full-page screenshot, numbered in the test's order.
func (d *shotDriver) shoot(name string) {
	d.t.Helper()
	buf, err := chromedp.Run(d.ctx, chromedp.FullScreenshot(100))
	require.NoError(d.t, err)
	d.n++
	require.NoError(d.t, os.WriteFile(filepath.Join(d.dir, fmt.Sprintf("%02d-%s.png", d.n, name)), buf, 0o644))
}

// fitsPhone checks that the page is no wider than the 375 px viewport.
func (d *shotDriver) fitsPhone() {
	d.t.Helper()
	require.LessOrEqual(d.t, d.eval(`document.documentElement.scrollWidth`), 375, "the page is wider than the phone")
}

// login types a login and a password into the login page and sends it.
func (d *shotDriver) login(login, password string) {
	d.t.Helper()
	d.open("/login")
	d.run(chromedp.WaitVisible("#login"), chromedp.SendKeys("#login", login), chromedp.SendKeys("#password", password),
		chromedp.Click(`form[action="/login"] button[type="submit"]`), chromedp.WaitVisible(`nav, main .alert`))
}

var resetLinkRE = regexp.MustCompile(`https?://\S+/reset\?token=[A-Za-z0-9._~%-]+`)

// TestBrowserSignInFlows: in Chromium, a login lands on Обзор; five wrong
// passwords lock the account and the page says until when; «Забыли
// пароль» mails a link through the workspace's SMTP server (a real SMTP
// server in the test), the link sets a new password that works, and the
// link is spent after that.
func TestBrowserSignInFlows(t *testing.T) {
	ms := startTestSMTP(t)
	f := startConfigured(t, withSMTP(ms, "ops@example.invalid"), true)
	f.user(t, "admin", auth.RoleAdmin)
	anna := f.user(t, "anna", auth.RoleManager, apptest.Workspace)
	d := newShotDriver(t, f.h.URL)

	// Login.
	d.login("anna", goodPassword)
	require.Equal(t, "Обзор", d.text("h1"))
	d.shoot("login-overview")
	d.run(chromedp.Click(`form[action="/logout"] button`), chromedp.WaitVisible("#login"))

	// Five wrong passwords: the fifth answer says the account is locked
	// and until when.
	for i := 1; i <= auth.DefaultMaxFailures; i++ {
		d.login("anna", fmt.Sprintf("Wrong-Password-%02d", i))
		msg := d.text(".alert.error")
		if i < auth.DefaultMaxFailures {
			require.Equal(t, ru(auth.ErrBadCredentials), msg, "attempt %d", i)
			continue
		}
		locked := f.get(t, anna.ID).LockedUntil
		require.False(t, locked.IsZero())
		require.Equal(t, ru(&auth.LockedError{Until: locked}), msg)
		require.Contains(t, msg, "вход заблокирован до "+locked.UTC().Format("15:04"))
	}
	d.shoot("locked")
	d.login("anna", goodPassword)
	require.Contains(t, d.text(".alert.error"), "вход заблокирован до", "even the right password waits")

	// «Забыли пароль»: the link comes by mail through the SMTP server.
	d.run(chromedp.Click(`a[href="/forgot"]`), chromedp.WaitVisible("#email"), chromedp.SendKeys("#email", anna.Email),
		chromedp.Click(`form[action="/forgot"] button[type="submit"]`), chromedp.WaitVisible("#forgot-sent"))
	require.Contains(t, d.text("#forgot-sent"), anna.Email)
	d.shoot("forgot-sent")
	m := ms.waitFor(t, "смена пароля")
	require.Equal(t, []string{anna.Email}, m.To)
	text := m.decoded(t)
	require.Contains(t, text, "Чаттер: смена пароля")
	link := resetLinkRE.FindString(text)
	require.True(t, strings.HasPrefix(link, f.h.URL+"/reset?token="), "link %q in\n%s", link, text)

	// The link: a new password; it works at once (the reset lifts the lockout).
	const newPassword = "Brand-New-Pass-31"
	d.open(strings.TrimPrefix(link, f.h.URL))
	require.Equal(t, "Новый пароль", d.text("h1"))
	d.shoot("reset-form")
	d.run(chromedp.SendKeys("#password", newPassword), chromedp.SendKeys("#password_confirm", newPassword),
		chromedp.Click(`form[action="/reset"] button[type="submit"]`), chromedp.WaitVisible("#login"))
	require.Equal(t, "Пароль изменён. Войдите с новым паролем.", d.text(".alert"))
	d.login("anna", goodPassword)
	require.Equal(t, ru(auth.ErrBadCredentials), d.text(".alert.error"), "the old password no longer works")
	d.login("anna", newPassword)
	require.Equal(t, "Обзор", d.text("h1"))
	d.shoot("new-password-works")
	d.run(chromedp.Click(`form[action="/logout"] button`), chromedp.WaitVisible("#login"))

	// The link is spent.
	d.open(strings.TrimPrefix(link, f.h.URL))
	require.Equal(t, ru(auth.ErrBadResetToken), d.text(".alert.error"))
	require.Zero(t, d.eval(`document.querySelectorAll('form[action="/reset"]').length`))
	d.fitsPhone()
	d.shoot("link-spent")
}
