package web

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// notificationsWebhooksSave stores the workspace's webhook targets: for
// each row the URL and the signing secret (both secrets: a stored row
// keeps them when the fields are left empty) and the event types; a row
// ticked for deletion is removed, the last (empty) row adds a target when
// its URL is filled in.
func (s *server) notificationsWebhooksSave(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	ws, ok := s.notifWorkspace(w, r, r.PathValue("ws"))
	if !ok {
		return
	}
	f := newForm(r.PostForm)
	old := ws.Config.Notifications.Webhooks
	var hooks []config.WebhookNotifications
	var rows []int
	removed, changed := 0, 0
	count := notifRows(f, notifSecWebhooks)
	for i := range count {
		field := func(name string) string { return notifField(notifSecWebhooks, i, name) }
		u, secret := strings.TrimSpace(f.Values.Get(field("url"))), strings.TrimSpace(f.Values.Get(field("secret")))
		if f.Values.Get(field("delete")) == "1" {
			if i < len(old) {
				removed++
			}
			continue
		}
		h := config.WebhookNotifications{URL: u, Secret: secret}
		if i < len(old) {
			if u == "" {
				h.URL = old[i].URL
			}
			if secret == "" {
				h.Secret = old[i].Secret
			}
			if u != "" || secret != "" {
				changed++
			}
		} else if u == "" && secret == "" {
			continue // the empty row
		}
		if h.URL == "" {
			f.failKey(s.i18n, field("url"), "notifications.wh.need_url")
		}
		h.Events = s.notifPickEvents(f, field("events"))
		hooks = append(hooks, h)
		rows = append(rows, i)
	}
	for i := range count {
		f.dropSecrets(notifField(notifSecWebhooks, i, "url"), notifField(notifSecWebhooks, i, "secret"))
	}
	if !f.ok() {
		s.notifRender(w, r, http.StatusUnprocessableEntity, ws, f, notifSecWebhooks, nil)
		return
	}
	ws.Config.Notifications.Webhooks = hooks
	other, saved, err := s.notifSave(r, ws, f, func(rest string) string {
		i, name, ok := notifIndexed(rest, "webhooks")
		if !ok || i >= len(rows) {
			return ""
		}
		switch {
		case name == "url", name == "secret":
			return notifField(notifSecWebhooks, rows[i], name)
		case name == "":
			return notifField(notifSecWebhooks, rows[i], "url")
		case strings.HasPrefix(name, "events"):
			return notifField(notifSecWebhooks, rows[i], "events")
		}
		return ""
	})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !saved {
		s.notifRender(w, r, http.StatusUnprocessableEntity, ws, f, notifSecWebhooks, other)
		return
	}
	s.notifEvent(r, slog.LevelInfo, ws.ID, "notification settings changed", slog.String("section", "webhooks"),
		slog.Int("targets", len(hooks)), slog.Int("removed", removed), slog.Int("changed", changed))
	s.flashKey(r, "info", "notifications.saved")
	redirect(w, r, ws.page("webhooks"))
}
