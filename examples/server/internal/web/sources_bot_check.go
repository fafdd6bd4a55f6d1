package web

import (
	"log/slog"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgbot"
)

// sourceBotCheck tests the bot's token with getMe (POST
// /sources/{ws}/bots/{bot}/check) and shows the verdict on the bot's page.
func (s *server) sourceBotCheck(w http.ResponseWriter, r *http.Request) {
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
	b := ws.Config.Bots[i]
	page := &srcBotPage{}
	client, err := ws.botClient(b)
	if err != nil {
		page.Result = &srcCheck{Kind: "error", Cause: s.srcText("sources.bot.token_malformed")}
	} else {
		ctx, cancel := srcRemote(r)
		res := tgbot.TokenCheck(client, s.now).Run(ctx)
		cancel()
		cv := srcCheckOf(res)
		if res.Status == chatter.StatusOK {
			cv.Cause = s.srcText("sources.bot.token_ok", res.Details["username"], res.Details["bot_id"])
		}
		page.Result = &cv
		s.sourceEvent(r, ws.ID, chatter.CategorySource, "bot token tested", slog.String("bot", id), slog.String("status", string(res.Status)))
	}
	s.renderSourceBot(w, r, http.StatusOK, ws, id, nil, nil, page)
}
