package web

import "net/http"

// sourceChatsShow is the page of the parsed chats (GET
// /sources/{ws}/chats): the parser's poll interval and default depth, each
// chat with its depth and its state, and the form adding a chat.
func (s *server) sourceChatsShow(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	s.renderSourceChats(w, r, http.StatusOK, ws, nil, nil)
}
