package web

import (
	"errors"
	"net/http"
	"strings"
	"unicode"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// loginCheck signs in with a login or e-mail address and a password. The
// page says which of these happened, from auth.Message: wrong credentials
// (the same for a login that does not exist), locked until HH:MM, blocked
// by an administrator, access ended on a date; a password to be changed
// (forced or expired) leads to the change form.
func (s *server) loginCheck(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	f := newForm(r.PostForm)
	login, password := strings.TrimSpace(f.Values.Get("login")), f.Values.Get("password")
	f.dropSecrets("password")
	f.Values.Set("next", afterLogin(f.Values.Get("next")))
	if login == "" {
		f.failKey(s.i18n, "login", "login.need_login")
	}
	if password == "" {
		f.failKey(s.i18n, "password", "login.need_password")
	}
	v := s.newView(r)
	v.Form, v.Data = f, loginData{}
	if !f.ok() {
		s.render(w, r, http.StatusUnprocessableEntity, "login", v)
		return
	}
	u, err := s.auth.Authenticate(r.Context(), login, password, s.clientAddr(r))
	if err == nil {
		err = s.startSession(w, r, u)
	}
	if err == nil {
		redirect(w, r, f.Values.Get("next"))
		return
	}
	if ticket, ok := auth.ChangeTicket(err); ok {
		s.showPasswordChange(w, r, http.StatusOK, ticket, auth.Message(err, s.loc), nil)
		return
	}
	if !refusal(err) {
		s.serverError(w, r, err)
		return
	}
	v.Alert = &alert{Kind: "error", Text: auth.Message(err, s.loc).In(v.Lang)}
	v.Data = loginData{CyrillicHint: errors.Is(err, auth.ErrBadCredentials) && hasCyrillic(password)}
	s.render(w, r, http.StatusUnauthorized, "login", v)
}

// refusal reports whether err is the service refusing a sign-in (which
// the page explains) rather than a failure (which is a 500).
func refusal(err error) bool {
	var (
		locked  *auth.LockedError
		blocked *auth.BlockedError
		access  *auth.AccessExpiredError
		expired *auth.PasswordExpiredError
	)
	return errors.Is(err, auth.ErrBadCredentials) || errors.Is(err, auth.ErrMustChangePassword) ||
		errors.Is(err, auth.ErrBadTicket) || errors.Is(err, auth.ErrNoSession) ||
		errors.As(err, &locked) || errors.As(err, &blocked) || errors.As(err, &access) || errors.As(err, &expired)
}

func hasCyrillic(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Cyrillic, r) }) >= 0
}
