package web

import "net/http"

// mappingCheck parses the editor's text and compiles it against the live
// schema (fetched again), showing every problem at its line with the
// closest existing names.
func (s *server) mappingCheck(w http.ResponseWriter, r *http.Request) {
	rt, f, ok := s.amoPostWorkspace(w, r)
	if !ok {
		return
	}
	b := s.mappingBuildText(r.Context(), rt, f.Values.Get("spec"), true)
	status := http.StatusOK
	p := &mappingPage{Action: "check"}
	switch {
	case len(b.Problems) == 0 && !b.SchemaErr.IsZero():
		status = http.StatusBadGateway
	case !b.ok():
		status = http.StatusUnprocessableEntity
	}
	s.renderMapping(w, r, status, rt, f, b, p)
}
