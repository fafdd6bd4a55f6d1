package web

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgbot"
)

// sourceBotChatCheck checks that the bot is in a chat and sees its
// messages (POST /sources/{ws}/bots/{bot}/chats/check with chat_id):
// tgbot.ChatCheck (getChat, getChatMember, and getMe's privacy mode).
func (s *server) sourceBotChatCheck(w http.ResponseWriter, r *http.Request) {
	ws, id, i, f, ok := s.sourceItemForm(w, r, "bot")
	if !ok {
		return
	}
	chatID, err := strconv.ParseInt(strings.TrimSpace(f.Values.Get("chat_id")), 10, 64)
	if err != nil || chatID == 0 {
		f.failKey(s.i18n, "chat_id", "sources.bot.bad_chat_id")
		s.renderSourceBot(w, r, http.StatusUnprocessableEntity, ws, id, f, nil, nil)
		return
	}
	page := &srcBotPage{}
	client, err := ws.botClient(ws.Config.Bots[i])
	if err != nil {
		page.Result = &srcCheck{Kind: "error", Cause: s.srcText("sources.bot.token_malformed")}
	} else {
		ctx, cancel := srcRemote(r)
		res := tgbot.ChatCheck(client, chatID, s.now).Run(ctx)
		cancel()
		cv := srcCheckOf(res)
		if res.Status == chatter.StatusOK && cv.Cause.IsZero() {
			cv.Cause = s.srcText("sources.bot.chat_ok", chatID)
		}
		page.Result = &cv
		s.sourceEvent(r, ws.ID, chatter.CategorySource, "bot chat checked", slog.String("bot", id),
			slog.Int64("chat_id", chatID), slog.String("status", string(res.Status)))
	}
	s.renderSourceBot(w, r, http.StatusOK, ws, id, f, nil, page)
}
