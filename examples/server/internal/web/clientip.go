package web

import "net/http"

// clientAddr is the client's address as text for the event log and the
// auth service ("" when unknown).
func (s *server) clientAddr(r *http.Request) string {
	a := s.app.ClientIP(r)
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
