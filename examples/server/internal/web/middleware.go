package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// sessionCookie holds the session token ("<user id>.<slot>.<secret>"; the
// store keeps only the secret's SHA-256).
const sessionCookie = "chatter_session"

// reqState is what the middleware learnt about a request.
type reqState struct {
	token   string        // the session cookie of a live session
	session *auth.Session // nil when signed out
	user    *auth.User    // nil when signed out; current on every request
	ended   bool          // a session cookie came but names no live session
	secure  bool          // the browser reached us over HTTPS
}

type ctxKey struct{}

// state returns the request's state (nil outside the middleware).
func state(r *http.Request) *reqState {
	st, _ := r.Context().Value(ctxKey{}).(*reqState)
	return st
}

func withState(ctx context.Context, st *reqState) context.Context {
	return context.WithValue(ctx, ctxKey{}, st)
}

// currentUser is the signed-in user, or nil.
func currentUser(r *http.Request) *auth.User {
	if st := state(r); st != nil {
		return st.user
	}
	return nil
}

// canAccess reports whether the signed-in user may see workspace:
// administrators every workspace, managers their own. Pages of a
// workspace's data (ledger, logs, replays) check it and answer 403.
func canAccess(r *http.Request, workspace string) bool {
	u := currentUser(r)
	return u != nil && u.CanAccess(workspace)
}

// visibleWorkspaces are the configured workspaces the signed-in user may
// see, in configuration order.
func (s *server) visibleWorkspaces(r *http.Request) []string {
	var out []string
	for _, ws := range s.app.WorkspaceIDs() {
		if canAccess(r, ws) {
			out = append(out, ws)
		}
	}
	return out
}

// handler stacks the middleware: security headers, the session, the
// cross-origin check of state-changing requests, the first-run gate, then
// the routes.
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	return s.headers(s.sessions(s.crossOrigin(s.setupGate(mux))))
}

// csp allows scripts, styles and images from this server only (no inline
// script or style), and fetches to it (live updates).
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// headers sets the security headers of every answer; pages are never
// cached (they may show a one-time password), static files are.
func (s *server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// sessions looks the session cookie up on every request: a live session
// puts its user in the request state; a dead one (expired, ended, its
// user blocked) is cleared from the browser.
func (s *server) sessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{secure: s.cfg.SecureCookies || strings.HasPrefix(s.base, "https://") || s.app.HTTPS(r)}
		r = r.WithContext(withState(r.Context(), st))
		if strings.HasPrefix(r.URL.Path, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			ss, u, err := s.auth.LookupSession(r.Context(), c.Value)
			switch {
			case err == nil:
				st.token, st.session, st.user = c.Value, ss, u
			case errors.Is(err, auth.ErrNoSession):
				st.ended = true
				s.clearCookie(w, r, sessionCookie)
			default:
				s.serverError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin refuses state-changing requests a browser sent from another
// site (http.CrossOriginProtection: Sec-Fetch-Site, else Origin against
// Host; the public URL's origin is trusted for setups behind a proxy that
// rewrites Host). Safe methods pass.
func (s *server) crossOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.csrf.Check(r); err != nil {
			s.log.LogAttrs(r.Context(), slog.LevelWarn, "cross-origin request refused",
				slog.String(chatter.AttrCategory, chatter.CategoryAuth), slog.String(chatter.AttrWorkspace, auth.ServerWorkspace),
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("origin", clipText(r.Header.Get("Origin"), 200)),
				slog.String("fetch_site", clipText(r.Header.Get("Sec-Fetch-Site"), 40)),
				slog.String("addr", s.clientAddr(r)))
			s.errorPage(w, r, http.StatusForbidden, "error.csrf")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// setupGate sends every page to the first-run page while no administrator
// exists. Once one does, the answer is remembered: an administrator cannot
// be removed through the UI or the service when it is the last active one.
func (s *server) setupGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.hasAdmin.Load() || r.URL.Path == "/setup" || r.URL.Path == "/lang" || strings.HasPrefix(r.URL.Path, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		has, err := s.auth.HasAdmin(r.Context())
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if has {
			s.hasAdmin.Store(true)
			next.ServeHTTP(w, r)
			return
		}
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
	})
}

// signedIn serves h to signed-in users and sends everyone else to the
// login page, which brings them back here after.
func (s *server) signedIn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st := state(r)
		if st.user != nil {
			h(w, r)
			return
		}
		q := url.Values{}
		if r.Method == http.MethodGet {
			q.Set("next", r.URL.RequestURI())
		}
		if st.ended {
			q.Set("ended", "1")
		}
		target := "/login"
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	}
}

// adminOnly serves h to administrators; managers get the 403 page.
func (s *server) adminOnly(h http.HandlerFunc) http.HandlerFunc {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request) {
		if !state(r).user.IsAdmin() {
			s.errorPage(w, r, http.StatusForbidden, "error.forbidden")
			return
		}
		h(w, r)
	})
}

// safePath returns next when it is a path on this server (not a
// scheme-relative or absolute URL), else "/".
func safePath(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// afterLogin is where a login goes: next when it is a local page other
// than the sign-in pages, else the overview.
func afterLogin(next string) string {
	next = safePath(next)
	u, _ := url.Parse(next)
	switch u.Path {
	case "/login", "/logout", "/setup", "/lang", "/reset", "/forgot", "/password/change":
		return "/"
	}
	return next
}

// clipText cuts s to at most n bytes on a rune boundary (for the log).
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
