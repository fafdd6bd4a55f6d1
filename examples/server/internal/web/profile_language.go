package web

import (
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// profileLanguage stores the user's language.
func (s *server) profileLanguage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	u := currentUser(r)
	f := newForm(r.PostForm)
	l := f.Values.Get("language")
	err := s.auth.SetLanguage(r.Context(), u.Actor(s.clientAddr(r)), u.ID, l)
	if f.addProblems(err, map[string]string{auth.FieldLanguage: "language"}) {
		s.renderProfile(w, r, http.StatusUnprocessableEntity, f, nil)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.setCookie(w, r, langCookie, l, 365*24*3600)
	s.flashKey(r, "info", "profile.language_saved")
	redirect(w, r, "/profile")
}
