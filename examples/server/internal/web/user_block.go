package web

import (
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// userBlock stops a user from logging in and ends their sessions (after
// the confirmation checkbox).
func (s *server) userBlock(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, func(by auth.Actor, u *auth.User, f *form) (string, error) {
		if !s.confirmed(f, "block_confirm") {
			return "", nil
		}
		return "users.blocked", s.auth.Block(r.Context(), by, u.ID)
	})
}

// userUnblock lets a blocked user log in again.
func (s *server) userUnblock(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, func(by auth.Actor, u *auth.User, f *form) (string, error) {
		return "users.unblocked", s.auth.Unblock(r.Context(), by, u.ID)
	})
}
