package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/chatter"
)

// sourceBotToken replaces a bot's token (POST
// /sources/{ws}/bots/{bot}/token). The new token is tested with getMe
// before anything is saved. Message keys carry the bot's id, not its
// token, so a new token of the same bot (after /revoke in @BotFather) keeps
// the history and the keys; a token of another bot needs a confirmation,
// since that bot's messages get keys of their own.
func (s *server) sourceBotToken(w http.ResponseWriter, r *http.Request) {
	ws, id, i, f, ok := s.sourceItemForm(w, r, "bot")
	if !ok {
		return
	}
	b := ws.Config.Bots[i]
	token := strings.TrimSpace(f.Values.Get("token"))
	me := s.srcCheckToken(r, f, "token", token, b.APIURL)
	page := &srcBotPage{}
	oldID := srcTokenBotID(b.Token)
	if me != nil && me.ID != oldID && f.Values.Get("confirm_other") != "yes" {
		// Ask before the keys change; the token is typed in again.
		page.OtherBot = me
		if old, err := s.srcOldBotUsername(r, ws, i); err == nil {
			page.OldUsername = old
		}
		f.failKey(s.i18n, "confirm_other", "sources.bot.confirm_other_needed")
	}
	if !f.ok() {
		s.renderSourceBot(w, r, http.StatusUnprocessableEntity, ws, id, f, nil, page)
		return
	}
	wc := ws.Config
	wc.Bots[i].Token = token
	other, err := s.sourceSave(r, ws, wc, f, srcScopeBot(i), srcFields{"token": "token"})
	if errors.Is(err, errSrcProblems) {
		s.renderSourceBot(w, r, http.StatusUnprocessableEntity, ws, id, f, other, page)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	same := me.ID == oldID
	s.sourceEvent(r, ws.ID, chatter.CategoryAuth, "bot token replaced", slog.String("bot", id),
		slog.Int64("old_bot_id", oldID), slog.Int64("new_bot_id", me.ID), slog.Bool("same_bot", same))
	if same {
		s.flashKey(r, "info", "sources.bot.token_replaced_same", "@"+me.Username, me.ID)
	} else {
		s.flashKey(r, "warn", "sources.bot.token_replaced_other", "@"+me.Username, me.ID)
	}
	redirect(w, r, ws.BotURL(id))
}

// srcOldBotUsername asks getMe who the bot's current token belongs to.
func (s *server) srcOldBotUsername(r *http.Request, ws *sourceWS, i int) (string, error) {
	client, err := ws.botClient(ws.Config.Bots[i])
	if err != nil {
		return "", err
	}
	ctx, cancel := srcRemote(r)
	defer cancel()
	me, err := client.GetMe(ctx)
	if err != nil {
		return "", err
	}
	return "@" + me.Username, nil
}

// srcScopeBot is the path of bot i in its workspace's problems.
func srcScopeBot(i int) string { return "bots[" + strconv.Itoa(i) + "]" }
