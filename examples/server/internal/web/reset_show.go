package web

import (
	"net/http"
	"net/url"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// resetData is the page of a reset link: the token (a secret, in the form
// only) and whose password it resets, or Bad when the link is not valid.
type resetData struct {
	Token string
	Login string
	Bad   bool
}

// resetShow opens a reset link: the new-password form, or the message that
// the link was used or has expired.
func (s *server) resetShow(w http.ResponseWriter, r *http.Request) {
	s.showReset(w, r, http.StatusOK, r.URL.Query().Get("token"), nil)
}

func (s *server) showReset(w http.ResponseWriter, r *http.Request, status int, token string, f *form) {
	v := s.newView(r)
	v.Path = "/forgot"
	if f != nil {
		v.Form = f
	}
	u, err := s.auth.CheckReset(r.Context(), token)
	switch {
	case err == nil:
		v.Path = "/reset?token=" + url.QueryEscape(token)
		v.Data = resetData{Token: token, Login: u.Login}
	case refusal(err) || isBadReset(err):
		v.Alert = &alert{Kind: "error", Text: auth.Message(err, s.loc).In(v.Lang)}
		v.Data = resetData{Bad: true}
		status = http.StatusGone
	default:
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, status, "reset", v)
}
