package web

import (
	"net/http"
	"net/url"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// userFormData is the new-user form's choices.
type userFormData struct {
	Workspaces []string
}

// userNew is the new-user form.
func (s *server) userNew(w http.ResponseWriter, r *http.Request) {
	s.renderUserNew(w, r, http.StatusOK, newForm(url.Values{
		"role": {string(auth.RoleManager)}, "language": {auth.LangRU}, "must_change": {"1"},
	}))
}

func (s *server) renderUserNew(w http.ResponseWriter, r *http.Request, status int, f *form) {
	v := s.newView(r)
	v.Path, v.Form = "/users/new", f
	v.Data = userFormData{Workspaces: s.app.WorkspaceIDs()}
	s.render(w, r, status, "user_new", v)
}
