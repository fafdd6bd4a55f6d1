package web

import (
	"net/http"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// setCookie sets a cookie of the UI: HttpOnly, SameSite=Lax, Secure when
// the browser reached us over HTTPS; a browser-session cookie (the server
// ends sessions by itself) unless maxAge is set.
func (s *server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: state(r).secure})
}

func (s *server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	s.setCookie(w, r, name, "", -1)
}

// startSession signs u in: the browser's previous session ends and a new
// one (a new secret: rotation on login) gets the cookie.
func (s *server) startSession(w http.ResponseWriter, r *http.Request, u *auth.User) error {
	st := state(r)
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.auth.DeleteSession(r.Context(), c.Value, s.clientAddr(r)); err != nil {
			return err
		}
	}
	token, ss, err := s.auth.CreateSession(r.Context(), u, s.clientAddr(r), r.UserAgent())
	if err != nil {
		return err
	}
	s.setCookie(w, r, sessionCookie, token, 0)
	st.token, st.session, st.user, st.ended = token, ss, u, false
	return nil
}

// flash leaves a message for the next page of the signed-in user. A
// failure to store it is logged: the action it reports has happened.
func (s *server) flash(r *http.Request, kind string, text chatter.Text) {
	st := state(r)
	if st.session == nil {
		return
	}
	if err := s.auth.SetFlash(r.Context(), st.session.ID, &auth.Flash{Kind: kind, Text: text}); err != nil {
		s.log.Warn("web: flash message not stored", "err", err.Error())
	}
}

// flashKey is flash with a catalog message in both languages.
func (s *server) flashKey(r *http.Request, kind, key string, args ...any) {
	s.flash(r, kind, chatter.T(s.i18n.T(auth.LangRU, key, args...), s.i18n.T(auth.LangEN, key, args...)))
}

// redirect answers a form post with 303 See Other.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
