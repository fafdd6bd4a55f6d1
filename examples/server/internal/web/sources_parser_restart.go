package web

import (
	"log/slog"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
)

// sourceParserRestart rebuilds and restarts the workspace's parser with
// its settings unchanged (POST /sources/{ws}/parser/restart), so that it
// reads again with accounts signed in since it stopped them: a running
// parser does not go back to an account it found not logged in. It goes
// through UpdateWorkspace, the one way the app restarts a workspace's
// parts: from then on the workspace's settings are the ones kept by the
// server (the page says so).
func (s *server) sourceParserRestart(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	back := ws.ChatsURL()
	if id := r.PostForm.Get("account"); id != "" && ws.accountIndex(id) >= 0 {
		back = ws.AccountURL(id)
	}
	if err := s.app.UpdateWorkspace(r.Context(), ws.Config, currentUser(r).Login); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sourceEvent(r, ws.ID, chatter.CategorySource, "parser restarted", slog.Int("accounts", len(ws.Config.Parser.Accounts)))
	s.flashKey(r, "info", "sources.parser.restarted")
	redirect(w, r, back)
}
