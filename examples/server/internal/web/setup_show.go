package web

import "net/http"

// setupShow is the first-run page: while no administrator exists (and the
// demo did not create one) it creates the first. Afterwards it sends to the
// login page.
func (s *server) setupShow(w http.ResponseWriter, r *http.Request) {
	has, err := s.auth.HasAdmin(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if has {
		s.hasAdmin.Store(true)
		redirect(w, r, "/login")
		return
	}
	s.render(w, r, http.StatusOK, "setup", s.newView(r))
}
