package web

import (
	"net/http"
	netmail "net/mail"
	"strings"

	"github.com/chatterhq/sdk/chatter"
)

// notificationsSMTPSend sends a test e-mail (smtpnotify's TestSend) through
// the saved SMTP settings: to the address typed in (smtp_test_to), else to
// every recipient of the e-mail routes. The next page says whether it
// went, or the server's error in plain words.
func (s *server) notificationsSMTPSend(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	ws, ok := s.notifWorkspace(w, r, r.PathValue("ws"))
	if !ok {
		return
	}
	n := ws.Config.Notifications
	sn, err := notifSMTPNotifier(n, s.log)
	switch {
	case err != nil:
		s.flash(r, "error", chatter.T("SMTP: "+err.Error(), "SMTP: "+err.Error()))
		redirect(w, r, ws.page("smtp"))
		return
	case sn == nil:
		s.flashKey(r, "error", "notifications.smtp.not_set")
		redirect(w, r, ws.page("smtp"))
		return
	}
	to := notifRecipients(n)
	if typed := strings.TrimSpace(r.PostForm.Get("smtp_test_to")); typed != "" {
		if a, err := netmail.ParseAddress(typed); err != nil || a.Name != "" {
			s.flashKey(r, "error", "notifications.smtp.bad_test_to")
			redirect(w, r, ws.page("smtp"))
			return
		}
		to = []string{typed}
	}
	if len(to) == 0 {
		s.flashKey(r, "error", "notifications.smtp.no_recipients")
		redirect(w, r, ws.page("smtp"))
		return
	}
	ctx, cancel := notifSendContext(r)
	defer cancel()
	err = sn.TestSend(ctx, to...)
	s.notifSendResult(r, ws, "email", strings.Join(to, ", "), err)
	redirect(w, r, ws.page("smtp"))
}
