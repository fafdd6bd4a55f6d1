package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
)

// sourceChatUpdate changes a chat's depth and join setting (POST
// /sources/{ws}/chat/update with ref). The depth applies to the chat's
// first read: a chat already read continues from its checkpoint.
func (s *server) sourceChatUpdate(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	f := newForm(r.PostForm)
	ref := f.Values.Get("ref")
	i := ws.chatIndex(ref)
	if i < 0 {
		s.errorPage(w, r, http.StatusNotFound, "sources.error.no_chat")
		return
	}
	wc := ws.Config
	wc.Parser.Chats[i].Depth = s.srcReadDepth(f, "count", "since")
	wc.Parser.Chats[i].Join = f.Values.Get("join") == "1"
	if !f.ok() {
		s.renderSourceChat(w, r, http.StatusUnprocessableEntity, ws, ref, f, nil)
		return
	}
	other, err := s.sourceSave(r, ws, wc, f, srcScopeChat(i), srcFields{"depth.count": "count", "depth.since": "since", "join": "join"})
	if errors.Is(err, errSrcProblems) {
		s.renderSourceChat(w, r, http.StatusUnprocessableEntity, ws, ref, f, other)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	c := wc.Parser.Chats[i]
	s.sourceEvent(r, ws.ID, chatter.CategorySource, "parser chat changed", slog.String("chat", ref),
		slog.Int("depth_count", c.Depth.Count), slog.String("depth_since", c.Depth.Since), slog.Bool("join", c.Join))
	s.flashKey(r, "info", "sources.chat.saved", ref)
	redirect(w, r, ws.ChatURL(ref))
}
