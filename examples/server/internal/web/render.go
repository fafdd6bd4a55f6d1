package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

//go:embed templates
var templateFS embed.FS

// mustParsePages parses every page of templates/ (each on its own copy of
// templates/layout/, the layouts and shared parts), keyed by file name
// without ".html". A page file declares its layout by calling it
// ({{template "app" .}} or {{template "public" .}}) and defines
// "title" and "content".
func mustParsePages() map[string]*template.Template {
	pages, err := parsePages()
	if err != nil {
		panic(err) // embedded files: a broken template fails every test
	}
	return pages
}

func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("").ParseFS(templateFS, "templates/layout/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: layouts: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, fmt.Errorf("web: page %s: %w", f, err)
		}
		pages[strings.TrimSuffix(path.Base(f), ".html")] = t.Lookup(path.Base(f))
	}
	return pages, nil
}

// view is what every template gets: the page's own data in Data, and
// helpers for texts, dates and form fields.
type view struct {
	Lang    string
	User    *auth.User
	Session *auth.Session
	Nav     []navLink
	Flash   *auth.Flash
	Alert   *alert
	// Path is the current page, where the language switch comes back to.
	Path string
	Form *form
	Data any

	s *server
}

// alert is a message at the top of a page: kind info, warn or error.
type alert struct {
	Kind string
	Text string
}

// newView prepares the view of request r.
func (s *server) newView(r *http.Request) *view {
	st := state(r)
	// Path is where the language switch returns: the page itself; after a
	// form post, its path (the GET page of the same path) unless the
	// handler names another.
	v := &view{Lang: requestLang(r), Path: safePath(r.URL.RequestURI()), Form: newForm(nil), s: s}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		v.Path = safePath(r.URL.Path)
	}
	if st != nil && st.user != nil {
		v.User, v.Session = st.user, st.session
		v.Nav = s.navFor(st.user, r.URL.Path)
	}
	return v
}

// render writes page name with status. The flash message of the session,
// if any, is taken and shown.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t := s.pages[name]
	if t == nil {
		s.serverError(w, r, fmt.Errorf("web: no page %q", name))
		return
	}
	if v.Session != nil && v.Session.Flash != nil {
		f, err := s.auth.TakeFlash(r.Context(), v.Session.ID)
		if err != nil && !errors.Is(err, auth.ErrNoSession) {
			s.log.Warn("web: flash message not read", "err", err.Error())
		}
		v.Flash = f
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		s.serverError(w, r, fmt.Errorf("web: render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// errorPage renders the error page: status and a catalog message.
func (s *server) errorPage(w http.ResponseWriter, r *http.Request, status int, key string) {
	v := s.newView(r)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		v.Path = "/"
	}
	v.Data = errorData{Status: status, Key: key}
	s.render(w, r, status, "error", v)
}

type errorData struct {
	Status int
	Key    string
}

// serverError logs err on the event log and answers 500 without details.
func (s *server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelError, "web: request failed",
		slog.String(chatter.AttrCategory, chatter.CategorySystem), slog.String(chatter.AttrWorkspace, auth.ServerWorkspace),
		slog.String("method", r.Method), slog.String("route", r.Pattern), slog.String("err", err.Error()))
	if _, ok := s.pages["error"]; !ok || strings.Contains(err.Error(), "web: render error") {
		http.Error(w, "Внутренняя ошибка (internal error)", http.StatusInternalServerError)
		return
	}
	v := &view{Lang: requestLang(r), Path: "/", Form: newForm(nil), s: s,
		Data: errorData{Status: http.StatusInternalServerError, Key: "error.internal"}}
	var buf bytes.Buffer
	if err := s.pages["error"].Execute(&buf, v); err != nil {
		http.Error(w, "Внутренняя ошибка (internal error)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = buf.WriteTo(w)
}

// T is the catalog text of key in the page's language.
func (v *view) T(key string, args ...any) string { return v.s.i18n.T(v.Lang, key, args...) }

// N is the plural form of key for n.
func (v *view) N(key string, n int) string { return v.s.i18n.N(v.Lang, key, n) }

// Text is a Russian/English text in the page's language.
func (v *view) Text(t chatter.Text) string { return t.In(v.Lang) }

// Time is the time of day of t ("15:04") in the UI's time zone.
func (v *view) Time(t time.Time) string { return t.In(v.s.loc).Format("15:04") }

// Date is the date of t in the UI's time zone (02.01.2006 or 2006-01-02).
func (v *view) Date(t time.Time) string {
	if v.Lang == auth.LangRU {
		return t.In(v.s.loc).Format("02.01.2006")
	}
	return t.In(v.s.loc).Format("2006-01-02")
}

// DateTime is Date and Time.
func (v *view) DateTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return v.Date(t) + " " + v.Time(t)
}

// InputDate is t's date for an <input type="date"> value.
func (v *view) InputDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(v.s.loc).Format(time.DateOnly)
}

// Static is the URL of a static file, with its content hash against stale
// caches.
func (v *view) Static(name string) string {
	return "/static/" + name + "?v=" + url.QueryEscape(v.s.staticHash[name])
}

// Role is the name of a role.
func (v *view) Role(r auth.Role) string { return v.T("role." + string(r)) }

// Now is the UI's clock.
func (v *view) Now() time.Time { return v.s.now() }
