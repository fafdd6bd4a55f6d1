package web

import (
	"errors"
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// setupCreate creates the first administrator (at most one across every
// instance: auth.CreateFirstAdmin) and signs them in.
func (s *server) setupCreate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	f := newForm(r.PostForm)
	password, confirm := f.Values.Get("password"), f.Values.Get("password_confirm")
	f.dropSecrets("password", "password_confirm")
	checkNewPassword(s.i18n, f, password, confirm)
	v := s.newView(r)
	v.Form = f
	if !f.ok() {
		s.render(w, r, http.StatusUnprocessableEntity, "setup", v)
		return
	}
	u, err := s.auth.CreateFirstAdmin(r.Context(), auth.NewUser{
		Login: f.Values.Get("login"), Email: f.Values.Get("email"), DisplayName: f.Values.Get("display_name"),
		Language: requestLang(r), Password: password,
	}, s.clientAddr(r))
	switch {
	case errors.Is(err, auth.ErrSetupDone):
		s.hasAdmin.Store(true)
		v.Path = "/login"
		v.Form = newForm(nil)
		v.Form.Values.Set("next", "/")
		v.Data = loginData{}
		v.Alert = &alert{Kind: "error", Text: auth.Message(err, s.loc).In(v.Lang)}
		s.render(w, r, http.StatusConflict, "login", v)
		return
	case f.addProblems(err, nil):
		s.render(w, r, http.StatusUnprocessableEntity, "setup", v)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.hasAdmin.Store(true)
	if err := s.startSession(w, r, u); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.flashKey(r, "info", "setup.done", u.Login)
	redirect(w, r, "/")
}
