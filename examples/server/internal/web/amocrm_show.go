package web

import "net/http"

// amocrmShow is the amoCRM page of a workspace (?ws=, default the first).
func (s *server) amocrmShow(w http.ResponseWriter, r *http.Request) {
	rt, ok := s.amoWorkspace(w, r)
	if !ok {
		return
	}
	s.renderAmoCRM(w, r, http.StatusOK, rt, nil, nil, nil)
}
