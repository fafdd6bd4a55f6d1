package web

import (
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// userForceChange demands (force=1) or stops demanding (force=0) a new
// password at the user's next login; demanding ends their sessions.
func (s *server) userForceChange(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, func(by auth.Actor, u *auth.User, f *form) (string, error) {
		force := f.Values.Get("force") == "1"
		key := "users.force_off"
		if force {
			key = "users.force_on"
		}
		return key, s.auth.ForcePasswordChange(r.Context(), by, u.ID, force)
	})
}
