package web

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// notificationsSMTPSave stores the workspace's SMTP server: host, port,
// encryption, user name, password (kept when left empty, removed with
// smtp_password_clear), sender, English text. Every field left empty
// removes the SMTP settings.
func (s *server) notificationsSMTPSave(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	ws, ok := s.notifWorkspace(w, r, r.PathValue("ws"))
	if !ok {
		return
	}
	f := newForm(r.PostForm)
	password := f.Values.Get("smtp_password")
	f.dropSecrets("smtp_password")
	get := func(name string) string { return strings.TrimSpace(f.Values.Get(name)) }
	n := &ws.Config.Notifications
	old := n.SMTP
	sc := config.SMTP{Host: get("smtp_host"), TLS: get("smtp_tls"), Username: get("smtp_username"), From: get("smtp_from"),
		English: f.Values.Get("smtp_english") == "1"}
	if p := get("smtp_port"); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil {
			f.failKey(s.i18n, "smtp_port", "notifications.smtp.bad_port")
		}
		sc.Port = port
	}
	switch {
	case f.Values.Get("smtp_password_clear") == "1":
	case password != "":
		sc.Password = password
	default:
		sc.Password = old.Password
	}
	removed := sc.Host == "" && sc.Port == 0 && sc.Username == "" && sc.From == "" && password == ""
	if removed {
		sc = config.SMTP{}
	}
	n.SMTP = sc
	if !f.ok() {
		s.notifRender(w, r, http.StatusUnprocessableEntity, ws, f, notifSecSMTP, nil)
		return
	}
	other, saved, err := s.notifSave(r, ws, f, func(rest string) string {
		if field, ok := strings.CutPrefix(rest, "smtp."); ok {
			switch field {
			case "host", "port", "tls", "username", "from", "password":
				return "smtp_" + field
			}
		}
		if _, _, ok := notifIndexed(rest, "email"); ok {
			// An e-mail route needs an SMTP server.
			return "smtp_host"
		}
		return ""
	})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !saved {
		s.notifRender(w, r, http.StatusUnprocessableEntity, ws, f, notifSecSMTP, other)
		return
	}
	s.notifEvent(r, slog.LevelInfo, ws.ID, "notification settings changed", slog.String("section", "smtp"),
		slog.String("host", sc.Host), slog.Bool("removed", removed), slog.Bool("password_changed", sc.Password != old.Password))
	if removed {
		s.flashKey(r, "info", "notifications.smtp.removed")
	} else {
		s.flashKey(r, "info", "notifications.saved")
	}
	redirect(w, r, ws.page("smtp"))
}
