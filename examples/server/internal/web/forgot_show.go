package web

import "net/http"

// forgotData is the "forgot password" page's state.
type forgotData struct {
	Enabled bool // a mailer is configured
	Sent    bool // the request was taken (whether or not the address is known)
	TTL     string
}

func (s *server) forgotData(v *view, sent bool) forgotData {
	return forgotData{Enabled: s.cfg.Mailer != nil, Sent: sent, TTL: s.ttlText(v.Lang, s.auth.Config().ResetTTL)}
}

// forgotShow asks for the account's e-mail address.
func (s *server) forgotShow(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	v.Data = s.forgotData(v, false)
	s.render(w, r, http.StatusOK, "forgot", v)
}
