package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// sourceBotMode switches a bot between long polling and the webhook (POST
// /sources/{ws}/bots/{bot}/mode). The webhook needs http.public_url: the
// configuration's problem says so next to the field. Switching to polling
// deletes the webhook at Telegram (getUpdates is refused while one is set);
// the updates waiting there are kept.
func (s *server) sourceBotMode(w http.ResponseWriter, r *http.Request) {
	ws, id, i, f, ok := s.sourceItemForm(w, r, "bot")
	if !ok {
		return
	}
	mode := f.Values.Get("mode")
	if mode != config.ModePolling && mode != config.ModeWebhook {
		f.failKey(s.i18n, "mode", "sources.bot.bad_mode")
		s.renderSourceBot(w, r, http.StatusUnprocessableEntity, ws, id, f, nil, nil)
		return
	}
	wc := ws.Config
	prev := wc.Bots[i].Mode
	wc.Bots[i].Mode = mode
	other, err := s.sourceSave(r, ws, wc, f, srcScopeBot(i), srcFields{"mode": "mode"})
	if errors.Is(err, errSrcProblems) {
		s.renderSourceBot(w, r, http.StatusUnprocessableEntity, ws, id, f, other, nil)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sourceEvent(r, ws.ID, chatter.CategorySource, "bot mode changed", slog.String("bot", id),
		slog.String("from", prev), slog.String("to", mode))
	if mode == config.ModePolling && prev == config.ModeWebhook && !wc.Bots[i].Disabled {
		if client, err := srcBotClient(wc.Bots[i].Token, wc.Bots[i].APIURL); err == nil {
			ctx, cancel := srcRemote(r)
			err = client.DeleteWebhook(ctx, false)
			cancel()
			if err != nil {
				p := srcBotProblem(err)
				t := s.srcText("sources.bot.webhook_not_deleted")
				s.flash(r, "warn", chatter.T(t.RU+" "+p.Cause.RU, t.EN+" "+p.Cause.EN))
				redirect(w, r, ws.BotURL(id))
				return
			}
		}
	}
	s.flashKey(r, "info", "sources.bot.mode_set."+mode)
	redirect(w, r, ws.BotURL(id))
}
