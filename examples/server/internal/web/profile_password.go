package web

import (
	"errors"
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// profilePassword changes one's own password (the current one is asked
// for). Every session of the user ends; this browser gets a new one.
func (s *server) profilePassword(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	u := currentUser(r)
	f := newForm(r.PostForm)
	old, password, confirm := f.Values.Get("old_password"), f.Values.Get("password"), f.Values.Get("password_confirm")
	f.dropSecrets("old_password", "password", "password_confirm")
	if old == "" {
		f.failKey(s.i18n, "old_password", "password.need_old")
	}
	checkNewPassword(s.i18n, f, password, confirm)
	if !f.ok() {
		s.renderProfile(w, r, http.StatusUnprocessableEntity, f, nil)
		return
	}
	nu, err := s.auth.ChangePassword(r.Context(), u.ID, old, password, s.clientAddr(r))
	var locked *auth.LockedError
	switch {
	case f.addProblems(err, nil):
		s.renderProfile(w, r, http.StatusUnprocessableEntity, f, nil)
		return
	case errors.As(err, &locked):
		v := s.newView(r)
		s.renderProfile(w, r, http.StatusUnprocessableEntity, f, &alert{Kind: "error", Text: auth.Message(err, s.loc).In(v.Lang)})
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	if err := s.startSession(w, r, nu); err != nil {
		s.loginRefused(w, r, err)
		return
	}
	s.flashKey(r, "info", "password.changed_profile")
	redirect(w, r, "/profile")
}
