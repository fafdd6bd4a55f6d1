package web

import "net/http"

// sourceAccountShow is a parser account's page (GET
// /sources/{ws}/accounts/{acct}): its state with the remedy beside it, the
// login wizard (phone → code → cloud password), the proxy with its check,
// and enabling or disabling the account.
func (s *server) sourceAccountShow(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	s.renderSourceAccount(w, r, http.StatusOK, ws, r.PathValue("acct"), nil, nil, nil)
}
