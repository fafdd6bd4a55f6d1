package web

import (
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// userUnlock lifts a lockout after failed logins.
func (s *server) userUnlock(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, func(by auth.Actor, u *auth.User, f *form) (string, error) {
		return "users.unlocked", s.auth.Unlock(r.Context(), by, u.ID)
	})
}
