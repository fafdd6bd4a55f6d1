package web

import (
	"net/http"
	"time"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// userExpiry sets the last day of a user's access (the end of that day in
// the UI's time zone), or removes it ("clear").
func (s *server) userExpiry(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, func(by auth.Actor, u *auth.User, f *form) (string, error) {
		var at time.Time
		if f.Values.Get("clear") == "" {
			if f.Values.Get("access_until") == "" {
				f.failKey(s.i18n, "access_until", "users.need_date")
				return "", nil
			}
			var ok bool
			if at, ok = s.parseAccessDate(f, "access_until"); !ok {
				return "", nil
			}
		}
		if err := s.auth.SetAccessExpiry(r.Context(), by, u.ID, at); err != nil {
			return "", err
		}
		if at.IsZero() {
			return "users.expiry_cleared", nil
		}
		return "users.expiry_set", nil
	})
}
