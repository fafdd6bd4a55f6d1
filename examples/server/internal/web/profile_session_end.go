package web

import (
	"errors"
	"net/http"
	"slices"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// profileSessionEnd ends one of the user's own sessions (another browser,
// or this one: then it is a logout).
func (s *server) profileSessionEnd(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	id := r.PostFormValue("id")
	sessions, err := s.auth.ListSessions(r.Context(), st.user.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !slices.ContainsFunc(sessions, func(ss *auth.Session) bool { return ss.ID == id }) {
		s.flashKey(r, "error", "profile.session_gone")
		redirect(w, r, "/profile")
		return
	}
	err = s.auth.RevokeSession(r.Context(), st.user.Actor(s.clientAddr(r)), id)
	if err != nil && !errors.Is(err, auth.ErrNoSession) {
		s.serverError(w, r, err)
		return
	}
	if id == st.session.ID {
		s.clearCookie(w, r, sessionCookie)
		redirect(w, r, "/login?out=1")
		return
	}
	s.flashKey(r, "info", "profile.session_ended")
	redirect(w, r, "/profile")
}
