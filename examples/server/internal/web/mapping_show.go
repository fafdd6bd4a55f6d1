package web

import "net/http"

// mappingShow is the mapping editor of a workspace (?ws=, default the
// first) with the running spec.
func (s *server) mappingShow(w http.ResponseWriter, r *http.Request) {
	rt, ok := s.amoWorkspace(w, r)
	if !ok {
		return
	}
	s.renderMapping(w, r, http.StatusOK, rt, nil, nil, nil)
}
