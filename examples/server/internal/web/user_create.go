package web

import (
	"net/http"
	"strings"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// userCreatedData is the page after creating a user with a generated
// password: the password is shown this once and stored nowhere in clear.
type userCreatedData struct {
	User     *auth.User
	Password string
}

// userCreate creates a user: login, e-mail, name, role and a manager's
// workspaces, language, an access end date, and a password, generated
// (one-time, shown once) when left empty.
func (s *server) userCreate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	f := newForm(r.PostForm)
	password := f.Values.Get("password")
	f.dropSecrets("password")
	role := auth.Role(f.Values.Get("role"))
	ws := s.checkWorkspaces(f, role)
	until, _ := s.parseAccessDate(f, "access_until")
	mustChange := f.Values.Get("must_change") == "1"
	generated := strings.TrimSpace(password) == ""
	if generated {
		pw, err := s.auth.GenerateOneTimePassword()
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		password, mustChange = pw, true
	}
	if !f.ok() {
		s.renderUserNew(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	admin := currentUser(r)
	u, err := s.auth.Create(r.Context(), admin.Actor(s.clientAddr(r)), auth.NewUser{
		Login: f.Values.Get("login"), Email: f.Values.Get("email"), DisplayName: f.Values.Get("display_name"),
		Role: role, Workspaces: ws, Language: f.Values.Get("language"), Password: password,
		MustChangePassword: mustChange, AccessExpiresAt: until,
	})
	if f.addProblems(err, nil) {
		s.renderUserNew(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if generated {
		v := s.newView(r)
		v.Path = "/users"
		v.Data = userCreatedData{User: u, Password: password}
		s.render(w, r, http.StatusCreated, "user_created", v)
		return
	}
	s.flashKey(r, "info", "users.created", u.Login)
	redirect(w, r, "/users/"+u.ID)
}
