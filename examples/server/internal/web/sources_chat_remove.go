package web

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"

	"github.com/chatterhq/sdk/chatter"
)

// sourceChatRemove stops parsing a chat (POST /sources/{ws}/chat/remove
// with ref and the confirmation checkbox). Its stored messages stay on the
// ledger.
func (s *server) sourceChatRemove(w http.ResponseWriter, r *http.Request) {
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
	if f.Values.Get("remove_confirm") != "yes" {
		f.failKey(s.i18n, "remove_confirm", "sources.confirm_needed")
		s.renderSourceChat(w, r, http.StatusUnprocessableEntity, ws, ref, f, nil)
		return
	}
	wc := ws.Config
	wc.Parser.Chats = slices.Delete(wc.Parser.Chats, i, i+1)
	other, err := s.sourceSave(r, ws, wc, f, "", srcFields{})
	if errors.Is(err, errSrcProblems) {
		s.renderSourceChat(w, r, http.StatusUnprocessableEntity, ws, ref, f, other)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sourceEvent(r, ws.ID, chatter.CategorySource, "parser chat removed", slog.String("chat", ref))
	s.flashKey(r, "info", "sources.chat.removed", ref)
	redirect(w, r, ws.ChatsURL())
}
