package web

import (
	"net/http"

	"github.com/chatterhq/sdk/chatter"
)

// sourceAccountNew is the form adding a parser account (GET
// /sources/{ws}/accounts/new).
func (s *server) sourceAccountNew(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	s.renderSourceAccountNew(w, r, http.StatusOK, ws, nil, nil)
}

func (s *server) renderSourceAccountNew(w http.ResponseWriter, r *http.Request, status int, ws *sourceWS, f *form, other []chatter.Text) {
	v := s.newView(r)
	v.Path = ws.Base() + "/accounts/new"
	if f != nil {
		f.dropSecrets("api_hash", "proxy")
		v.Form = f
	}
	v.Data = &sourceFormPage{WS: ws, Problems: other}
	s.render(w, r, status, "sources_account_new", v)
}
