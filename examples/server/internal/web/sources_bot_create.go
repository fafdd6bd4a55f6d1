package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// sourceBotCreate adds a bot to the workspace (POST /sources/{ws}/bots):
// its token is tested with getMe first, then the settings are saved and
// the bot starts.
func (s *server) sourceBotCreate(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	f := newForm(r.PostForm)
	b := config.Bot{ID: strings.TrimSpace(f.Values.Get("id")), Token: strings.TrimSpace(f.Values.Get("token")),
		Mode: f.Values.Get("mode"), APIURL: strings.TrimSpace(f.Values.Get("api_url"))}
	if b.ID == "" {
		f.failKey(s.i18n, "id", "sources.need_id")
	} else if ws.botIndex(b.ID) >= 0 {
		f.failKey(s.i18n, "id", "sources.bot.id_taken")
	}
	if b.Mode != config.ModePolling && b.Mode != config.ModeWebhook {
		f.failKey(s.i18n, "mode", "sources.bot.bad_mode")
	}
	var me string
	if f.ok() {
		if u := s.srcCheckToken(r, f, "token", b.Token, b.APIURL); u != nil {
			me = "@" + u.Username
		}
	}
	if !f.ok() {
		s.renderSourceBotNew(w, r, http.StatusUnprocessableEntity, ws, f, nil)
		return
	}
	wc := ws.Config
	wc.Bots = append(wc.Bots, b)
	other, err := s.sourceSave(r, ws, wc, f, srcScopeBot(len(wc.Bots)-1),
		srcFields{"id": "id", "token": "token", "mode": "mode", "api_url": "api_url"})
	if errors.Is(err, errSrcProblems) {
		s.renderSourceBotNew(w, r, http.StatusUnprocessableEntity, ws, f, other)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sourceEvent(r, ws.ID, chatter.CategorySource, "bot added", slog.String("bot", b.ID), slog.String("mode", b.Mode),
		slog.Int64("bot_id", srcTokenBotID(b.Token)))
	s.flashKey(r, "info", "sources.bot.added", b.ID, me)
	redirect(w, r, ws.BotURL(b.ID))
}
