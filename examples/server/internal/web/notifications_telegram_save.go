package web

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// notificationsTelegramSave stores the workspace's Telegram routes: for
// each row a bot of the workspace, a chat id, a language and the event
// types; a row ticked for deletion is removed, the last (empty) row adds
// a route when its chat id is filled in.
func (s *server) notificationsTelegramSave(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	ws, ok := s.notifWorkspace(w, r, r.PathValue("ws"))
	if !ok {
		return
	}
	f := newForm(r.PostForm)
	old := ws.Config.Notifications.Telegram
	var routes []config.TelegramRoute
	var rows []int // the form row of each route
	removed := 0
	for i := range notifRows(f, notifSecTelegram) {
		field := func(name string) string { return notifField(notifSecTelegram, i, name) }
		if f.Values.Get(field("delete")) == "1" {
			if i < len(old) {
				removed++
			}
			continue
		}
		chat := strings.TrimSpace(f.Values.Get(field("chat")))
		if i >= len(old) && chat == "" {
			continue // the empty row
		}
		rt := config.TelegramRoute{Bot: f.Values.Get(field("bot")), Lang: f.Values.Get(field("lang"))}
		if chat == "" {
			f.failKey(s.i18n, field("chat"), "notifications.tg.need_chat")
		} else if id, err := strconv.ParseInt(chat, 10, 64); err != nil || id == 0 {
			f.failKey(s.i18n, field("chat"), "notifications.tg.bad_chat")
		} else {
			rt.ChatID = id
		}
		rt.Events = s.notifPickEvents(f, field("events"))
		routes = append(routes, rt)
		rows = append(rows, i)
	}
	if !f.ok() {
		s.notifRender(w, r, http.StatusUnprocessableEntity, ws, f, notifSecTelegram, nil)
		return
	}
	ws.Config.Notifications.Telegram = routes
	other, saved, err := s.notifSave(r, ws, f, func(rest string) string {
		i, name, ok := notifIndexed(rest, "telegram")
		if !ok || i >= len(rows) {
			return ""
		}
		switch {
		case name == "bot", name == "lang":
			return notifField(notifSecTelegram, rows[i], name)
		case name == "chat_id", name == "":
			return notifField(notifSecTelegram, rows[i], "chat")
		case strings.HasPrefix(name, "events"):
			return notifField(notifSecTelegram, rows[i], "events")
		}
		return ""
	})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !saved {
		s.notifRender(w, r, http.StatusUnprocessableEntity, ws, f, notifSecTelegram, other)
		return
	}
	s.notifEvent(r, slog.LevelInfo, ws.ID, "notification settings changed", slog.String("section", "telegram"),
		slog.Int("routes", len(routes)), slog.Int("removed", removed))
	s.flashKey(r, "info", "notifications.saved")
	redirect(w, r, ws.page("telegram"))
}
