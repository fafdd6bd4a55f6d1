package web

import (
	"log/slog"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
)

// sourceBotWebhookDelete deletes a webhook left at Telegram while the bot
// polls (POST /sources/{ws}/bots/{bot}/webhook/delete): getUpdates answers
// 409 while one is set. The updates waiting at Telegram are kept.
func (s *server) sourceBotWebhookDelete(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	id := r.PathValue("bot")
	i := ws.botIndex(id)
	if i < 0 {
		s.errorPage(w, r, http.StatusNotFound, "sources.error.no_bot")
		return
	}
	page := &srcBotPage{}
	client, err := ws.botClient(ws.Config.Bots[i])
	if err == nil {
		ctx, cancel := srcRemote(r)
		err = client.DeleteWebhook(ctx, false)
		cancel()
		if err != nil {
			p := srcBotProblem(err)
			page.Result = &p
			s.renderSourceBot(w, r, http.StatusBadGateway, ws, id, nil, nil, page)
			return
		}
		s.sourceEvent(r, ws.ID, chatter.CategorySource, "bot webhook deleted", slog.String("bot", id))
		s.flashKey(r, "info", "sources.bot.webhook_deleted")
		redirect(w, r, ws.BotURL(id))
		return
	}
	page.Result = &srcCheck{Kind: "error", Cause: s.srcText("sources.bot.token_malformed")}
	s.renderSourceBot(w, r, http.StatusUnprocessableEntity, ws, id, nil, nil, page)
}
