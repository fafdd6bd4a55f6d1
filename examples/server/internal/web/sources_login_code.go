package web

import (
	"errors"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgparse"
)

// sourceLoginCode enters the code Telegram sent (POST
// /sources/{ws}/accounts/{acct}/login/code). A wrong code is shown next to
// the field and may be typed again; an expired one ends the login (send a
// new code); two-step verification leads to the password step.
func (s *server) sourceLoginCode(w http.ResponseWriter, r *http.Request) {
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
	if rec == nil || rec.Step != srcLoginStepCode {
		page := &srcAccountPage{Result: &srcCheck{Kind: "error", Cause: s.srcText("sources.login.none"), Remedy: s.srcText("sources.login.send_again")}}
		s.renderSourceAccount(w, r, http.StatusConflict, ls.ws, ls.id, f, nil, page)
		return
	}
	code := strings.Join(strings.Fields(f.Values.Get("code")), "")
	if code == "" {
		f.failKey(s.i18n, "code", "sources.login.need_code")
		s.renderSourceAccount(w, r, http.StatusUnprocessableEntity, ls.ws, ls.id, f, nil, nil)
		return
	}
	ctx, cancel := srcLoginContext(r)
	self, err := ls.login.SignIn(ctx, rec.State, code)
	cancel()
	switch {
	case err == nil:
		if err := store.end(r, ls.id); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.srcLoginDone(w, r, ls, self, "sources.login.signed_in")
	case errors.Is(err, tgparse.ErrPasswordNeeded):
		rec.Step = srcLoginStepPassword
		if err := store.put(r, ls.id, rec); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.flashKey(r, "info", "sources.login.password_needed")
		redirect(w, r, ls.ws.AccountURL(ls.id)+"#login")
	case errors.Is(err, tgparse.ErrCodeInvalid):
		te, _ := srcAsTgparse(err)
		f.fail("code", srcJoinText(te.Message(), te.Remedy()))
		s.srcLoginRefused(w, r, ls, f, "parser login code refused", err)
	case errors.Is(err, tgparse.ErrCodeExpired):
		if err := store.end(r, ls.id); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.srcLoginFailed(w, r, ls, f, "parser login code expired", err)
	default:
		s.srcLoginFailed(w, r, ls, f, "parser login failed", err)
	}
}

// srcAsTgparse returns err's *tgparse.Error.
func srcAsTgparse(err error) (*tgparse.Error, bool) {
	var te *tgparse.Error
	ok := errors.As(err, &te)
	return te, ok
}

// srcJoinText is the sentence a, capitalised, then b, in each language.
func srcJoinText(a, b chatter.Text) chatter.Text {
	capital := func(s string) string {
		r, n := utf8.DecodeRuneInString(s)
		return string(unicode.ToUpper(r)) + s[n:]
	}
	return chatter.T(capital(a.RU)+". "+b.RU, capital(a.EN)+". "+b.EN)
}
