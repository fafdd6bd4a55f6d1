package web

import (
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// userRow is a line of the users list.
type userRow struct {
	*auth.User
	States []badge
}

// userList is Пользователи: every account with its state.
func (s *server) userList(w http.ResponseWriter, r *http.Request) {
	users, err := s.auth.List(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r)
	rows := make([]userRow, len(users))
	for i, u := range users {
		rows[i] = userRow{User: u, States: s.userStates(v, u)}
	}
	v.Data = rows
	s.render(w, r, http.StatusOK, "users", v)
}
