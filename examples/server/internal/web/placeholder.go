package web

import "net/http"

// placeholder is a section still to be built: its heading
// (catalog key "title.<name>") and a line saying so.
func (s *server) placeholder(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := s.newView(r)
		v.Data = placeholderData{TitleKey: "title." + name}
		s.render(w, r, http.StatusOK, "placeholder", v)
	}
}

type placeholderData struct{ TitleKey string }
