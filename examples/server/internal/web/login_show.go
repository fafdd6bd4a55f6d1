package web

import (
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// loginData is what the login page shows besides the form.
type loginData struct {
	// CyrillicHint: the password typed had Cyrillic letters and did not
	// match (the hint of the support guide for browsers without the
	// script's layout indicator).
	CyrillicHint bool
}

// loginShow is the login form. The query may carry a message: ended (the
// session expired or was ended), out (logged out), reset (the password was
// reset).
func (s *server) loginShow(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if currentUser(r) != nil {
		redirect(w, r, afterLogin(q.Get("next")))
		return
	}
	v := s.newView(r)
	v.Form.Values.Set("next", afterLogin(q.Get("next")))
	switch {
	case q.Has("ended"):
		v.Alert = &alert{Kind: "warn", Text: auth.Message(auth.ErrNoSession, s.loc).In(v.Lang)}
	case q.Has("out"):
		v.Alert = &alert{Kind: "info", Text: v.T("login.logged_out")}
	case q.Has("reset"):
		v.Alert = &alert{Kind: "info", Text: v.T("login.reset_done")}
	}
	v.Data = loginData{}
	s.render(w, r, http.StatusOK, "login", v)
}
