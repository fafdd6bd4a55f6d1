package web

import "net/http"

// sourceBotShow is a bot's page (GET /sources/{ws}/bots/{bot}): its
// settings, getMe (the token, privacy mode), getWebhookInfo, the delivery
// check, the chats it is in with its rights, and the forms to test the
// token, replace it, switch the mode and disable the bot.
func (s *server) sourceBotShow(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	s.renderSourceBot(w, r, http.StatusOK, ws, r.PathValue("bot"), nil, nil, nil)
}
