package web

import (
	"net/http"

	"github.com/chatterhq/sdk/chatter"
)

// srcChatPage is the page of one parsed chat.
type srcChatPage struct {
	sourceFormPage
	Chat srcChatRow
}

// sourceChatShow is a parsed chat's page (GET /sources/{ws}/chat?ref=…):
// its state in full (resolved id and title, the account reading it, the
// last checkpoint, catching up, the rules' counts, the diagnostics) and
// the forms to change its depth or remove it.
func (s *server) sourceChatShow(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	s.renderSourceChat(w, r, http.StatusOK, ws, r.URL.Query().Get("ref"), nil, nil)
}

func (s *server) renderSourceChat(w http.ResponseWriter, r *http.Request, status int, ws *sourceWS, ref string, f *form, other []chatter.Text) {
	if fresh, ok := s.app.WorkspaceConfig(ws.ID); ok {
		ws.Config = srcCloneWorkspace(fresh)
		ws.RT, _ = s.app.Runtime(ws.ID)
	}
	i := ws.chatIndex(ref)
	if i < 0 {
		s.errorPage(w, r, http.StatusNotFound, "sources.error.no_chat")
		return
	}
	v := s.newView(r)
	v.Path = ws.ChatURL(ref)
	if f != nil {
		v.Form = f
	} else {
		c := ws.Config.Parser.Chats[i]
		v.Form.Values.Set("count", srcCountText(c.Depth.Count))
		v.Form.Values.Set("since", c.Depth.Since)
		if c.Join {
			v.Form.Values.Set("join", "1")
		}
	}
	rows := s.srcChatRows(r.Context(), v, ws, true)
	v.Data = &srcChatPage{sourceFormPage: sourceFormPage{WS: ws, Problems: other}, Chat: rows[i]}
	s.render(w, r, status, "sources_chat", v)
}
