package web

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// amocrmToken switches the workspace to a long-lived token (a private
// integration's): the token is checked for its shape and expiry and then
// with a test request to the account before anything is saved, so a wrong
// token never replaces a working one. It is never shown again, only its
// last 4 characters.
func (s *server) amocrmToken(w http.ResponseWriter, r *http.Request) {
	rt, f, ok := s.amoPostWorkspace(w, r)
	if !ok {
		return
	}
	tok := strings.TrimSpace(f.Values.Get("token"))
	f.dropSecrets("token")
	wc := rt.Config
	wc.AmoCRM.LongLivedToken, wc.AmoCRM.OAuth = tok, config.OAuth{}
	if tok == "" {
		f.failKey(s.i18n, "token", "amocrm.token_required")
	}
	if f.ok() {
		c, err := s.amoValidate(wc)
		amoConfigProblems(f, err, c, rt.ID, map[string]string{"amocrm.long_lived_token": "token"}, "token")
	}
	if f.ok() {
		if exp, has := amoJWTExpiry(tok); has && !exp.After(s.now()) {
			f.failKey(s.i18n, "token", "amocrm.token_expired_at", exp.In(s.loc).Format("2006-01-02 15:04"))
		}
	}
	if f.ok() {
		client, err := s.amoSinkClient(rt, wc.AmoCRM, tok)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if p := s.amoProbeOf(r.Context(), client); !p.OK() {
			f.fail("token", chatter.T(s.i18n.T("ru", "amocrm.token_test_failed")+" "+p.Err.RU, s.i18n.T("en", "amocrm.token_test_failed")+" "+p.Err.EN))
		}
	}
	if !f.ok() {
		s.renderAmoCRM(w, r, http.StatusUnprocessableEntity, rt, f, nil, nil)
		return
	}
	err := s.app.UpdateWorkspace(r.Context(), wc, currentUser(r).Login)
	if amoConfigProblems(f, err, s.app.Config(), rt.ID, map[string]string{"amocrm.long_lived_token": "token"}, "token") {
		s.renderAmoCRM(w, r, http.StatusUnprocessableEntity, rt, f, nil, nil)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	attrs := []slog.Attr{slog.String("token", amoMask(tok))}
	if exp, has := amoJWTExpiry(tok); has {
		attrs = append(attrs, slog.Time("expires_at", exp))
	}
	s.amoLog(r, rt.ID, chatter.CategoryAuth, "amoCRM long-lived token saved", attrs...)
	s.flashKey(r, "info", "amocrm.token_saved")
	redirect(w, r, "/amocrm?ws="+url.QueryEscape(rt.ID))
}
