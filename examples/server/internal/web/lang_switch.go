package web

import (
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// langSwitch is the "RU | EN" switch of every page: a signed-in user's
// language is stored in their account (and so follows them to every
// browser); a cookie keeps it for the sign-in pages. It returns to the
// page it was sent from.
func (s *server) langSwitch(w http.ResponseWriter, r *http.Request) {
	l := r.PostFormValue("lang")
	if l != auth.LangRU && l != auth.LangEN {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	if u := currentUser(r); u != nil && u.Language != l {
		if err := s.auth.SetLanguage(r.Context(), u.Actor(s.clientAddr(r)), u.ID, l); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	s.setCookie(w, r, langCookie, l, 365*24*3600)
	redirect(w, r, safePath(r.PostFormValue("next")))
}
