package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// fixture is the whole server (apptest: the demo's fakes, the store, the
// app's routes) with this UI mounted.
type fixture struct {
	h    *apptest.Harness
	srv  *server
	mail *mailbox
	clk  *clock // nil: the real clock and the app's own auth service
}

type fixtureOpts struct {
	// fakeClock runs the UI on an auth service of its own (on the app's
	// store) with a settable clock, no response padding and a cheap hash.
	fakeClock      bool
	passwordMaxAge time.Duration
	noMailer       bool
	mailErr        error
	publicURL      string
	resetsPerAddr  int
	// allowPrivateWebhooks sets notify.webhook.allow_private, for webhook
	// receivers on loopback.
	allowPrivateWebhooks bool
}

var t0 = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

// start runs the server with the UI. Times are shown in UTC.
func start(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	f := &fixture{mail: &mailbox{err: o.mailErr, ch: make(chan mail, 16)}}
	if o.fakeClock {
		f.clk = &clock{t: t0}
	}
	f.h = apptest.Start(t, apptest.Options{NoParser: true,
		Configure: func(cfg *config.Config) {
			cfg.HTTP.PublicURL = o.publicURL
			cfg.Notify.Webhook.AllowPrivate = o.allowPrivateWebhooks
		},
		Handler: func(a *app.App) http.Handler {
			svc := a.Auth()
			cfg := Config{Mailer: f.mail, Location: time.UTC, ResetsPerAddress: o.resetsPerAddr}
			if o.noMailer {
				cfg.Mailer = nil
			}
			if f.clk != nil {
				var err error
				svc, err = auth.New(a.Store(), auth.Config{Logger: a.Logger(), Now: f.clk.Now, MinResponse: -1,
					Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, PasswordMaxAge: o.passwordMaxAge})
				require.NoError(t, err)
			}
			f.srv = newServer(a, svc, cfg)
			return f.srv.handler()
		}})
	require.NotNil(t, f.srv)
	return f
}

func (f *fixture) auth() *auth.Service { return f.srv.auth }

const goodPassword = "Correct-Horse-42"

// user creates an account with goodPassword.
func (f *fixture) user(t *testing.T, login string, role auth.Role, ws ...string) *auth.User {
	t.Helper()
	u, err := f.auth().Create(context.Background(), auth.System("test"), auth.NewUser{
		Login: login, Email: login + "@example.com", DisplayName: strings.ToUpper(login[:1]) + login[1:],
		Role: role, Workspaces: ws, Password: goodPassword})
	require.NoError(t, err)
	return u
}

func (f *fixture) get(t *testing.T, id string) *auth.User {
	t.Helper()
	u, err := f.auth().Get(context.Background(), id)
	require.NoError(t, err)
	return u
}

// events returns the server's event log lines with message text (they
// are written in the background: it waits for at least one).
func (f *fixture) events(t *testing.T, text string) []chatter.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := f.h.App.Store().ListEvents(context.Background(), chatter.EventQuery{Workspace: auth.ServerWorkspace, Limit: 1000})
		require.NoError(t, err)
		var out []chatter.Event
		for _, e := range evs {
			if e.Text == text {
				out = append(out, e)
			}
		}
		if len(out) > 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// allEvents returns every event of the server's log (after the flush of
// those already written).
func (f *fixture) allEvents(t *testing.T) []chatter.Event {
	t.Helper()
	evs, err := f.h.App.Store().ListEvents(context.Background(), chatter.EventQuery{Workspace: auth.ServerWorkspace, Limit: 1000})
	require.NoError(t, err)
	return evs
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mailbox is the Mailer of the tests: it keeps what was sent.
type mailbox struct {
	err error
	ch  chan mail
}

type mail struct{ To, Subject, Text string }

func (m *mailbox) Send(ctx context.Context, to, subject, text string) error {
	if m.err != nil {
		return m.err
	}
	m.ch <- mail{to, subject, text}
	return nil
}

// next waits for the next mail.
func (m *mailbox) next(t *testing.T) mail {
	t.Helper()
	select {
	case ml := <-m.ch:
		return ml
	case <-time.After(10 * time.Second):
		t.Fatal("no mail was sent")
		return mail{}
	}
}

// none checks that no mail was sent (after every send started finished).
func (f *fixture) noMail(t *testing.T) {
	t.Helper()
	f.srv.mailWG.Wait()
	select {
	case ml := <-f.mail.ch:
		t.Fatalf("unexpected mail to %s", ml.To)
	default:
	}
}

var linkRE = regexp.MustCompile(`https?://\S+/reset\?token=\S+`)

// link is the reset link of a mail.
func (ml mail) link(t *testing.T) string {
	t.Helper()
	l := linkRE.FindString(ml.Text)
	require.NotEmpty(t, l, "no reset link in %q", ml.Text)
	return l
}

// browser is a user agent with a cookie jar that sends the Origin header
// of its forms like a real browser.
type browser struct {
	t    *testing.T
	base string
	hc   *http.Client
	// origin is sent with POSTs ("" sends none).
	origin string
}

func (f *fixture) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, base: f.h.URL, origin: f.h.URL, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// page is an answer, parsed.
type page struct {
	t      *testing.T
	status int
	url    *url.URL
	header http.Header
	body   string
	doc    *goquery.Document
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	require.NoError(b.t, err)
	return &page{t: b.t, status: resp.StatusCode, url: resp.Request.URL, header: resp.Header, body: string(body), doc: doc}
}

func (b *browser) abs(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return b.base + path
}

func (b *browser) get(path string) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.abs(path), nil)
	require.NoError(b.t, err)
	return b.do(req)
}

func (b *browser) post(path string, vals url.Values) *page {
	b.t.Helper()
	return b.postWith(path, vals, nil)
}

func (b *browser) postWith(path string, vals url.Values, hdr http.Header) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.abs(path), strings.NewReader(vals.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	return b.do(req)
}

// submit fills the form matched by sel on p (its hidden fields, checked
// boxes and selected options as the page has them, then fill) and sends
// it to its action, as a browser does.
func (b *browser) submit(p *page, sel string, fill map[string]string) *page {
	b.t.Helper()
	vals, action := p.form(sel)
	for k, v := range fill {
		if v == "" {
			vals.Del(k)
			continue
		}
		vals.Set(k, v)
	}
	return b.post(action, vals)
}

// form returns the values a browser would send for the form sel, and its
// action.
func (p *page) form(sel string) (url.Values, string) {
	p.t.Helper()
	fm := p.doc.Find(sel)
	require.Equal(p.t, 1, fm.Length(), "form %s on %s:\n%s", sel, p.url, p.main())
	action, _ := fm.Attr("action")
	vals := url.Values{}
	fm.Find("input").Each(func(_ int, in *goquery.Selection) {
		name, _ := in.Attr("name")
		if name == "" {
			return
		}
		typ, _ := in.Attr("type")
		val, _ := in.Attr("value")
		switch typ {
		case "submit", "button":
			return
		case "checkbox", "radio":
			if _, on := in.Attr("checked"); on {
				vals.Add(name, val)
			}
		case "password":
		default:
			vals.Add(name, val)
		}
	})
	fm.Find("select").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		opt := s.Find("option[selected]").First()
		if opt.Length() == 0 {
			opt = s.Find("option").First()
		}
		v, _ := opt.Attr("value")
		vals.Set(name, v)
	})
	return vals, action
}

// main is the page's main text, for failure messages.
func (p *page) main() string {
	return strings.Join(strings.Fields(p.doc.Find("main").Text()), " ")
}

func (p *page) h1() string { return strings.TrimSpace(p.doc.Find("h1").First().Text()) }

// alert is the text of the page's alerts (flash and messages).
func (p *page) alert() string {
	var parts []string
	p.doc.Find(".alert").Each(func(_ int, s *goquery.Selection) { parts = append(parts, strings.TrimSpace(s.Text())) })
	return strings.Join(parts, "\n")
}

// fieldError is the error shown next to the input named name: the element
// its aria-describedby names that has class error, in the same field.
func (p *page) fieldError(name string) string {
	p.t.Helper()
	in := p.doc.Find(fmt.Sprintf(`[name=%q]`, name)).First()
	require.Equal(p.t, 1, in.Length(), "no field %s on %s", name, p.url)
	ids, _ := in.Attr("aria-describedby")
	if ids == "" { // a group of checkboxes: the fieldset carries it
		ids, _ = in.Closest("fieldset").Attr("aria-describedby")
	}
	for _, id := range strings.Fields(ids) {
		e := p.doc.Find("#" + id + ".error")
		if e.Length() == 1 {
			return strings.TrimSpace(e.Text())
		}
	}
	return ""
}

// errors lists the field errors of the page by the input they belong to.
func (p *page) errors() map[string]string {
	out := map[string]string{}
	p.doc.Find("input, select").Each(func(_ int, in *goquery.Selection) {
		name, _ := in.Attr("name")
		if name == "" {
			return
		}
		if msg := p.fieldError(name); msg != "" {
			out[name] = msg
		}
	})
	return out
}

// login signs in through the login page and returns the page it lands on.
func (b *browser) login(login, password string) *page {
	b.t.Helper()
	p := b.get("/login")
	return b.submit(p, `form[action="/login"]`, map[string]string{"login": login, "password": password})
}

// signedIn signs in and fails the test unless it worked.
func (b *browser) signedIn(login, password string) *page {
	b.t.Helper()
	p := b.login(login, password)
	require.Equal(b.t, http.StatusOK, p.status, p.main())
	require.Equal(b.t, "/", p.url.Path, p.main())
	return p
}

// ru is the Russian text of a service message.
func ru(err error) string { return auth.Message(err, time.UTC).RU }

var errForeign = errors.New("smtp: 554 relay denied")
