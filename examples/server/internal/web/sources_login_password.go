package web

import (
	"errors"
	"net/http"

	"github.com/chatterhq/sdk/tgparse"
)

// sourceLoginPassword enters the cloud password of an account with
// two-step verification (POST /sources/{ws}/accounts/{acct}/login/password),
// after the code. The password is used for Telegram's SRP proof only: it
// is never stored, logged or shown again.
func (s *server) sourceLoginPassword(w http.ResponseWriter, r *http.Request) {
	ls, f, ok := s.srcLoginBegin(w, r)
	if !ok {
		return
	}
	store := s.srcLogins(ls.ws.ID)
	rec, err := store.get(r, ls.id)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if rec == nil || rec.Step != srcLoginStepPassword {
		page := &srcAccountPage{Result: &srcCheck{Kind: "error", Cause: s.srcText("sources.login.none"), Remedy: s.srcText("sources.login.send_again")}}
		s.renderSourceAccount(w, r, http.StatusConflict, ls.ws, ls.id, f, nil, page)
		return
	}
	password := f.Values.Get("password")
	if password == "" {
		f.failKey(s.i18n, "password", "sources.login.need_password")
		s.renderSourceAccount(w, r, http.StatusUnprocessableEntity, ls.ws, ls.id, f, nil, nil)
		return
	}
	ctx, cancel := srcLoginContext(r)
	self, err := ls.login.Password(ctx, rec.State, password)
	cancel()
	switch {
	case err == nil:
		if err := store.end(r, ls.id); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.srcLoginDone(w, r, ls, self, "sources.login.signed_in")
	case errors.Is(err, tgparse.ErrPasswordInvalid):
		te, _ := srcAsTgparse(err)
		f.fail("password", srcJoinText(te.Message(), te.Remedy()))
		s.srcLoginRefused(w, r, ls, f, "parser login password refused", err)
	default:
		s.srcLoginFailed(w, r, ls, f, "parser login failed", err)
	}
}
