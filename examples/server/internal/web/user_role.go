package web

import (
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// userRole sets a user's role and, for a manager, workspaces.
func (s *server) userRole(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, func(by auth.Actor, u *auth.User, f *form) (string, error) {
		role := auth.Role(f.Values.Get("role"))
		ws := s.checkWorkspaces(f, role)
		if !f.ok() {
			return "", nil
		}
		return "users.role_set", s.auth.SetRole(r.Context(), by, u.ID, role, ws)
	})
}
