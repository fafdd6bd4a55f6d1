package web

import (
	"net/http"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// srcBotNewPage is the form adding a bot.
type srcBotNewPage struct {
	sourceFormPage
	PublicURL bool
}

// sourceBotNew is the form adding a bot (GET /sources/{ws}/bots/new).
func (s *server) sourceBotNew(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	s.renderSourceBotNew(w, r, http.StatusOK, ws, nil, nil)
}

func (s *server) renderSourceBotNew(w http.ResponseWriter, r *http.Request, status int, ws *sourceWS, f *form, other []chatter.Text) {
	v := s.newView(r)
	v.Path = ws.Base() + "/bots/new"
	if f != nil {
		f.dropSecrets("token")
		v.Form = f
	}
	if !v.Form.Values.Has("mode") {
		v.Form.Values.Set("mode", config.ModePolling)
	}
	v.Data = &srcBotNewPage{sourceFormPage: sourceFormPage{WS: ws, Problems: other}, PublicURL: s.app.Config().HTTP.PublicURL != ""}
	s.render(w, r, status, "sources_bot_new", v)
}
