package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// sourceChatAdd adds a chat to parse (POST /sources/{ws}/chats): @name, a
// t.me link, an invite link or a chat id, with its own depth (or the
// parser's) and whether the account may join it.
func (s *server) sourceChatAdd(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	f := newForm(r.PostForm)
	c := config.ParserChat{Chat: strings.TrimSpace(f.Values.Get("chat")), Depth: s.srcReadDepth(f, "count", "since"), Join: f.Values.Get("join") == "1"}
	switch {
	case c.Chat == "":
		f.failKey(s.i18n, "chat", "sources.chat.need_chat")
	case ws.chatIndex(c.Chat) >= 0:
		f.failKey(s.i18n, "chat", "sources.chat.taken")
	}
	if !f.ok() {
		s.renderSourceChats(w, r, http.StatusUnprocessableEntity, ws, f, nil)
		return
	}
	wc := ws.Config
	wc.Parser.Chats = append(wc.Parser.Chats, c)
	other, err := s.sourceSave(r, ws, wc, f, srcScopeChat(len(wc.Parser.Chats)-1),
		srcFields{"chat": "chat", "depth.count": "count", "depth.since": "since", "join": "join"})
	if errors.Is(err, errSrcProblems) {
		s.renderSourceChats(w, r, http.StatusUnprocessableEntity, ws, f, other)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sourceEvent(r, ws.ID, chatter.CategorySource, "parser chat added", slog.String("chat", c.Chat),
		slog.Int("depth_count", c.Depth.Count), slog.String("depth_since", c.Depth.Since), slog.Bool("join", c.Join))
	s.flashKey(r, "info", "sources.chat.added", c.Chat)
	redirect(w, r, ws.ChatsURL())
}
