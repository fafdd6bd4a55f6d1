package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// userPassword resets a user's password on the administrator's authority:
// the one typed, or a generated one-time password shown once on the page
// that answers. The user's sessions end; a lockout is lifted.
func (s *server) userPassword(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	u, ok := s.target(w, r)
	if !ok {
		return
	}
	f := newForm(r.PostForm)
	password := f.Values.Get("password")
	f.dropSecrets("password")
	if !s.confirmed(f, "reset_confirm") {
		s.renderUser(w, r, http.StatusUnprocessableEntity, u.ID, f, nil, "")
		return
	}
	mustChange := f.Values.Get("must_change") == "1"
	generated := strings.TrimSpace(password) == ""
	if generated {
		pw, err := s.auth.GenerateOneTimePassword()
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		password, mustChange = pw, true
	}
	err := s.auth.SetPassword(r.Context(), currentUser(r).Actor(s.clientAddr(r)), u.ID, password, mustChange)
	switch {
	case f.addProblems(err, nil):
		s.renderUser(w, r, http.StatusUnprocessableEntity, u.ID, f, nil, "")
	case errors.Is(err, auth.ErrUserNotFound):
		s.errorPage(w, r, http.StatusNotFound, "error.no_user")
	case err != nil:
		s.serverError(w, r, err)
	case generated:
		v := s.newView(r)
		s.renderUser(w, r, http.StatusOK, u.ID, nil, &alert{Kind: "info", Text: v.T("users.password_set", u.Login)}, password)
	default:
		s.flashKey(r, "info", "users.password_set", u.Login)
		redirect(w, r, "/users/"+u.ID)
	}
}
