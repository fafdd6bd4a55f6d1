package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
)

// sourceBotEnable disables a bot (after the confirmation checkbox: it stops
// receiving messages) or enables it again (POST
// /sources/{ws}/bots/{bot}/enabled with enabled=0 or 1). The bot stays in
// the settings with its history.
func (s *server) sourceBotEnable(w http.ResponseWriter, r *http.Request) {
	ws, id, i, f, ok := s.sourceItemForm(w, r, "bot")
	if !ok {
		return
	}
	enable := f.Values.Get("enabled") == "1"
	if !enable && f.Values.Get("disable_confirm") != "yes" {
		f.failKey(s.i18n, "disable_confirm", "sources.confirm_needed")
		s.renderSourceBot(w, r, http.StatusUnprocessableEntity, ws, id, f, nil, nil)
		return
	}
	wc := ws.Config
	wc.Bots[i].Disabled = !enable
	other, err := s.sourceSave(r, ws, wc, f, srcScopeBot(i), srcFields{})
	if errors.Is(err, errSrcProblems) {
		s.renderSourceBot(w, r, http.StatusUnprocessableEntity, ws, id, f, other, nil)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	msg, key := "bot disabled", "sources.bot.disabled_done"
	if enable {
		msg, key = "bot enabled", "sources.bot.enabled_done"
	}
	s.sourceEvent(r, ws.ID, chatter.CategorySource, msg, slog.String("bot", id))
	s.flashKey(r, "info", key, id)
	redirect(w, r, ws.BotURL(id))
}
