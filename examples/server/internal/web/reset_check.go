package web

import (
	"errors"
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// resetCheck sets the new password of a reset link (once: the link is
// spent) and sends the user to the login page.
func (s *server) resetCheck(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	f := newForm(r.PostForm)
	token, password, confirm := f.Values.Get("token"), f.Values.Get("password"), f.Values.Get("password_confirm")
	f.dropSecrets("token", "password", "password_confirm")
	checkNewPassword(s.i18n, f, password, confirm)
	if !f.ok() {
		s.showReset(w, r, http.StatusUnprocessableEntity, token, f)
		return
	}
	_, err := s.auth.ConsumeReset(r.Context(), token, password, s.clientAddr(r))
	switch {
	case err == nil:
		redirect(w, r, "/login?reset=1")
	case f.addProblems(err, nil):
		s.showReset(w, r, http.StatusUnprocessableEntity, token, f)
	case isBadReset(err) || refusal(err):
		s.showReset(w, r, http.StatusGone, token, f)
	default:
		s.serverError(w, r, err)
	}
}

func isBadReset(err error) bool { return errors.Is(err, auth.ErrBadResetToken) }
