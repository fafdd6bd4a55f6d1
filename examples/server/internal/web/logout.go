package web

import "net/http"

// logout ends the browser's session.
func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.auth.DeleteSession(r.Context(), c.Value, s.clientAddr(r)); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	s.clearCookie(w, r, sessionCookie)
	redirect(w, r, "/login?out=1")
}
