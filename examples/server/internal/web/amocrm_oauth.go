package web

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// amoOAuthFields maps the settings keys of the OAuth form to its fields.
var amoOAuthFields = map[string]string{
	"amocrm.oauth.client_id":     "client_id",
	"amocrm.oauth.client_secret": "client_secret",
	"amocrm.oauth.redirect_url":  "redirect_url",
	"amocrm.oauth.auth_url":      "auth_url",
	"amocrm.oauth":               "client_id",
	"amocrm.long_lived_token":    "client_id",
}

// amocrmOAuth saves an external integration's keys (client id, secret,
// redirect URL): the workspace then signs in with the pair obtained by
// "Подключить amoCRM". An empty secret keeps the stored one. Leaving a
// long-lived token for OAuth stops deliveries until the connection is
// made, so it needs a confirmation.
func (s *server) amocrmOAuth(w http.ResponseWriter, r *http.Request) {
	rt, f, ok := s.amoPostWorkspace(w, r)
	if !ok {
		return
	}
	secret := strings.TrimSpace(f.Values.Get("client_secret"))
	f.dropSecrets("client_secret")
	wc := rt.Config
	old := wc.AmoCRM.OAuth
	if secret == "" {
		secret = old.ClientSecret
	}
	wc.AmoCRM.OAuth = config.OAuth{ClientID: strings.TrimSpace(f.Values.Get("client_id")), ClientSecret: secret,
		RedirectURL: strings.TrimSpace(f.Values.Get("redirect_url")), AuthURL: strings.TrimSpace(f.Values.Get("auth_url"))}
	switching := wc.AmoCRM.LongLivedToken != ""
	wc.AmoCRM.LongLivedToken = ""
	if switching && f.Values.Get("switch_confirm") != "yes" {
		f.failKey(s.i18n, "switch_confirm", "amocrm.switch_confirm_needed")
	}
	if wc.AmoCRM.OAuth.ClientSecret == "" {
		f.failKey(s.i18n, "client_secret", "amocrm.secret_required")
	}
	if f.ok() {
		err := s.app.UpdateWorkspace(r.Context(), wc, currentUser(r).Login)
		if !amoConfigProblems(f, err, s.app.Config(), rt.ID, amoOAuthFields, "client_id") && err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	if !f.ok() {
		s.renderAmoCRM(w, r, http.StatusUnprocessableEntity, rt, f, nil, nil)
		return
	}
	s.amoLog(r, rt.ID, chatter.CategoryAuth, "amoCRM OAuth integration saved", slog.String("client_id", wc.AmoCRM.OAuth.ClientID),
		slog.Bool("secret_changed", secret != old.ClientSecret), slog.Bool("from_long_lived_token", switching))
	s.flashKey(r, "info", "amocrm.oauth_saved")
	redirect(w, r, "/amocrm?ws="+url.QueryEscape(rt.ID))
}
