package web

import (
	"errors"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// passwordChangeData is the change form of a forced or expired password:
// the ticket the login handed out (a secret: in the form only, never in a
// URL or log) and whose password it is.
type passwordChangeData struct {
	Ticket string
	Login  string
}

// showPasswordChange renders the change form for ticket with msg (why the
// password must change) and the problems of f.
func (s *server) showPasswordChange(w http.ResponseWriter, r *http.Request, status int, ticket string, msg chatter.Text, f *form) {
	u, err := s.auth.CheckTicket(r.Context(), ticket)
	if err != nil {
		s.loginRefused(w, r, err)
		return
	}
	v := s.newView(r)
	// The ticket's page is in the account's language; the switch goes to
	// the login page (the ticket never goes into a URL).
	v.Lang, v.Path = lang(u.Language), "/login"
	if f != nil {
		v.Form = f
	}
	if !msg.IsZero() {
		v.Alert = &alert{Kind: "warn", Text: msg.In(v.Lang)}
	}
	v.Data = passwordChangeData{Ticket: ticket, Login: u.Login}
	s.render(w, r, status, "password_change", v)
}

// passwordChange sets the new password with the ticket and completes the
// login.
func (s *server) passwordChange(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	f := newForm(r.PostForm)
	ticket, password, confirm := f.Values.Get("ticket"), f.Values.Get("password"), f.Values.Get("password_confirm")
	f.dropSecrets("ticket", "password", "password_confirm")
	checkNewPassword(s.i18n, f, password, confirm)
	if !f.ok() {
		s.showPasswordChange(w, r, http.StatusUnprocessableEntity, ticket, chatter.Text{}, f)
		return
	}
	u, err := s.auth.ChangePasswordWithTicket(r.Context(), ticket, password, s.clientAddr(r))
	if f.addProblems(err, nil) {
		s.showPasswordChange(w, r, http.StatusUnprocessableEntity, ticket, chatter.Text{}, f)
		return
	}
	if err == nil {
		err = s.startSession(w, r, u)
	}
	if err != nil {
		s.loginRefused(w, r, err)
		return
	}
	s.flashKey(r, "info", "password.changed")
	redirect(w, r, "/")
}

// checkNewPassword checks the two new-password fields of a form.
func checkNewPassword(c *catalogs, f *form, password, confirm string) {
	switch {
	case password == "":
		f.failKey(c, "password", "password.need")
	case password != confirm:
		f.failKey(c, "password_confirm", "password.mismatch")
	}
}

// loginRefused shows the login page with the message of a refusal (an
// expired ticket, a block that came meanwhile), or the 500 page.
func (s *server) loginRefused(w http.ResponseWriter, r *http.Request, err error) {
	if !refusal(err) {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r)
	v.Path = "/login"
	v.Form.Values.Set("next", "/")
	v.Data = loginData{}
	v.Alert = &alert{Kind: "error", Text: auth.Message(err, s.loc).In(v.Lang)}
	status := http.StatusUnauthorized
	if errors.Is(err, auth.ErrBadTicket) {
		status = http.StatusGone
	}
	s.render(w, r, status, "login", v)
}
