package web

import "net/http"

// userShow is a user's page: state and every action on the account.
func (s *server) userShow(w http.ResponseWriter, r *http.Request) {
	s.renderUser(w, r, http.StatusOK, r.PathValue("id"), nil, nil, "")
}
