package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
)

// deliveriesReplay re-queues one dead or failed message (Pipeline.Replay)
// and goes back to the page it was asked from. Managers may replay in
// their workspaces. The event log says who did it.
func (s *server) deliveriesReplay(w http.ResponseWriter, r *http.Request) {
	ws, key, ok := s.ledgerEntryRef(w, r)
	if !ok {
		return
	}
	back := safePath(r.PostFormValue("back"))
	if back == "/" {
		back = ledgerEntryURL(ws, key)
	}
	err := s.app.Pipeline().Replay(r.Context(), ws, key)
	switch {
	case errors.Is(err, chatter.ErrNotFound):
		s.errorPage(w, r, http.StatusNotFound, "deliveries.not_found")
		return
	case errors.Is(err, chatter.ErrConflict):
		st := "?"
		if e, gerr := s.app.Store().GetEntry(r.Context(), ws, key); gerr == nil {
			st = string(e.State)
		}
		s.flashKey(r, "error", "deliveries.replay_conflict", key.String(), st)
		redirect(w, r, back)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	// Category system: an operator's action, kept in the event log (the
	// pipeline's own per-message delivery lines are not).
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "message replayed from the admin UI",
		append([]slog.Attr{slog.String(chatter.AttrCategory, chatter.CategorySystem), slog.String(chatter.AttrWorkspace, ws),
			slog.String(chatter.AttrSource, string(key.Source)), slog.String(chatter.AttrMessageKey, key.String())},
			s.ledgerActor(r)...)...)
	s.flashKey(r, "info", "deliveries.replayed", key.String())
	redirect(w, r, back)
}

// ledgerEntryRef reads the workspace and key of the path
// (/deliveries/{ws}/{key}…): 404 for a key that does not parse, 403 for a
// workspace the user may not see.
func (s *server) ledgerEntryRef(w http.ResponseWriter, r *http.Request) (string, chatter.Key, bool) {
	ws := r.PathValue("ws")
	key, err := chatter.ParseKey(r.PathValue("key"))
	if err != nil || ws == "" {
		s.errorPage(w, r, http.StatusNotFound, "deliveries.not_found")
		return "", chatter.Key{}, false
	}
	if !canAccess(r, ws) {
		s.errorPage(w, r, http.StatusForbidden, "deliveries.forbidden")
		return "", chatter.Key{}, false
	}
	return ws, key, true
}
