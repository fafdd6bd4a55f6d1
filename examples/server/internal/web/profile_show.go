package web

import (
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// profileData is the profile page: one's sessions (the current one marked).
type profileData struct {
	Sessions []*auth.Session
	Current  string // the current session's id
}

// profileShow is Профиль: language, password, sessions.
func (s *server) profileShow(w http.ResponseWriter, r *http.Request) {
	s.renderProfile(w, r, http.StatusOK, nil, nil)
}

// renderProfile renders the profile with the problems of a form (f) or a
// message (a).
func (s *server) renderProfile(w http.ResponseWriter, r *http.Request, status int, f *form, a *alert) {
	st := state(r)
	sessions, err := s.auth.ListSessions(r.Context(), st.user.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r)
	v.Path = "/profile"
	if f != nil {
		v.Form = f
	}
	if !v.Form.Values.Has("language") {
		v.Form.Values.Set("language", v.Lang)
	}
	v.Alert = a
	v.Data = profileData{Sessions: sessions, Current: st.session.ID}
	s.render(w, r, status, "profile", v)
}
