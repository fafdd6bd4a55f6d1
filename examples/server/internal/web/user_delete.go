package web

import (
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// userDelete removes a user for good (after the confirmation checkbox)
// and returns to the list.
func (s *server) userDelete(w http.ResponseWriter, r *http.Request) {
	s.userActionThen(w, r, "/users", func(by auth.Actor, u *auth.User, f *form) (string, error) {
		if !s.confirmed(f, "delete_confirm") {
			return "", nil
		}
		return "users.deleted", s.auth.Delete(r.Context(), by, u.ID)
	})
}
