package web

import (
	"net/http"

	"github.com/chatterhq/sdk/chatter"
)

// amocrmConnect starts amoCRM's OAuth flow ("Подключить amoCRM"): it
// redirects to the consent page; amoCRM comes back to the app's callback
// (GET /amocrm/oauth/callback), which stores the pair.
func (s *server) amocrmConnect(w http.ResponseWriter, r *http.Request) {
	rt, _, ok := s.amoPostWorkspace(w, r)
	if !ok {
		return
	}
	if rt.Config.AmoCRM.LongLivedToken != "" || rt.Config.AmoCRM.OAuth.ClientID == "" {
		s.renderAmoCRM(w, r, http.StatusConflict, rt, nil, &alert{Kind: "error", Text: s.i18n.T(requestLang(r), "amocrm.connect_needs_oauth")}, nil)
		return
	}
	to, err := s.app.StartOAuth(r.Context(), rt.ID, currentUser(r).Login)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.amoLog(r, rt.ID, chatter.CategoryAuth, "amoCRM OAuth consent started")
	redirect(w, r, to)
}
