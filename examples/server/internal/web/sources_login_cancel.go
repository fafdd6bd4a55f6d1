package web

import (
	"log/slog"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
)

// sourceLoginCancel abandons a login in progress (POST
// /sources/{ws}/accounts/{acct}/login/cancel): its stored state is erased.
func (s *server) sourceLoginCancel(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	id := r.PathValue("acct")
	if ws.accountIndex(id) < 0 {
		s.errorPage(w, r, http.StatusNotFound, "sources.error.no_account")
		return
	}
	if err := s.srcLogins(ws.ID).end(r, id); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sourceEvent(r, ws.ID, chatter.CategoryAuth, "parser login cancelled", slog.String("account", id))
	s.flashKey(r, "info", "sources.login.cancelled")
	redirect(w, r, ws.AccountURL(id))
}
