package web

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// Mailer sends the e-mails of the UI (password reset links). In the server
// it is the workspace's SMTP notifier; nil switches reset by e-mail off
// (the forgot-password page then says to contact an administrator).
type Mailer interface {
	// Send delivers a plain-text message to one address.
	Send(ctx context.Context, to, subject, text string) error
}

// MailerFunc adapts a function to Mailer.
type MailerFunc func(ctx context.Context, to, subject, text string) error

// Send calls f.
func (f MailerFunc) Send(ctx context.Context, to, subject, text string) error {
	return f(ctx, to, subject, text)
}

// Config configures New. The zero value works: links and the trusted
// origin come from the app's http.public_url.
type Config struct {
	// PublicURL is the base of the links in e-mails and the origin forms are
	// posted from (https://chatter.example.com). Defaults to the app's
	// http.public_url. When both are empty, reset links use the request's
	// Host, but only a loopback or the listen address (a forged Host header
	// must not make the server mail a link to someone else's site).
	PublicURL string
	// SecureCookies marks the cookies Secure on every request. Without it
	// they are Secure when the public URL is https, the request came over
	// TLS, or a trusted proxy says X-Forwarded-Proto: https.
	SecureCookies bool
	// Mailer sends the password reset links; nil: no reset by e-mail.
	Mailer Mailer
	// Now is the clock of what the pages show (lockouts, access ends).
	// Defaults to the clock of the app's auth service, which decides them.
	Now func() time.Time
	// Location is the time zone of the times and dates shown and of the
	// access end dates entered. Defaults to time.Local.
	Location *time.Location
	// MailTimeout bounds the sending of one e-mail. Default 30 s.
	MailTimeout time.Duration
	// ResetsPerAddress bounds the reset requests one client address may
	// make per hour on this instance. Default 10.
	ResetsPerAddress int
}

// server is the admin UI: one per New.
type server struct {
	app   *app.App
	auth  *auth.Service
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	loc   *time.Location
	pages map[string]*template.Template
	i18n  *catalogs
	nav   []navItem
	csrf  *http.CrossOriginProtection
	base  string // the public URL without a trailing slash, or ""

	static      http.Handler
	staticHash  map[string]string // file → short content hash, for cache busting
	hasAdmin    atomic.Bool       // once true, stays true: the first-run page is off
	resetLimits *limiter
	mailWG      sync.WaitGroup // the background mails, for tests
}

// New returns the admin UI of a: every page under the app's machine
// endpoints (pass it as app.Options.Handler). It reads the configuration
// of a (public URL, trusted proxies) and uses a.Auth() for users and
// sessions and a.Logger() for the event log. It starts no goroutines; each
// reset e-mail is sent in a goroutine of its own so that the answer's timing
// tells nothing.
func New(a *app.App, cfg Config) http.Handler {
	return newServer(a, a.Auth(), cfg).handler()
}

// newServer builds the UI on an auth service (a.Auth() in New; tests pass
// one with their own clock on the app's store).
func newServer(a *app.App, svc *auth.Service, cfg Config) *server {
	s := &server{app: a, auth: svc, cfg: cfg, log: a.Logger(), now: cfg.Now, loc: cfg.Location}
	if s.now == nil {
		s.now = svc.Config().Now
	}
	if s.loc == nil {
		s.loc = a.Location()
	}
	if s.cfg.MailTimeout <= 0 {
		s.cfg.MailTimeout = 30 * time.Second
	}
	if s.cfg.ResetsPerAddress <= 0 {
		s.cfg.ResetsPerAddress = 10
	}
	s.resetLimits = newLimiter(s.cfg.ResetsPerAddress, time.Hour, 10000)
	s.base = strings.TrimSuffix(cmpOr(cfg.PublicURL, a.Config().HTTP.PublicURL), "/")
	s.csrf = http.NewCrossOriginProtection()
	if s.base != "" {
		if err := s.csrf.AddTrustedOrigin(origin(s.base)); err != nil {
			s.log.Warn("web: public URL as trusted origin", "err", err.Error())
		}
	}
	s.i18n = mustLoadCatalogs()
	s.nav = navigation()
	s.static, s.staticHash = staticFiles()
	s.pages = mustParsePages()
	return s
}

// origin is scheme://host[:port] of a URL.
func origin(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
