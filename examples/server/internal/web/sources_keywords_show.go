package web

import "net/http"

// sourceKeywordsShow is the page of the workspace's keyword rules (GET
// /sources/{ws}/keywords): the rules, one per line, what they apply to,
// and the dry run over the stored messages.
func (s *server) sourceKeywordsShow(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	s.renderSourceKeywords(w, r, http.StatusOK, ws, nil, nil)
}
