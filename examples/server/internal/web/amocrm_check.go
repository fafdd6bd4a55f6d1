package web

import (
	"log/slog"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
)

// amocrmCheck sends a test request (the account) and shows its answer:
// status and latency, or the error explained.
func (s *server) amocrmCheck(w http.ResponseWriter, r *http.Request) {
	rt, _, ok := s.amoPostWorkspace(w, r)
	if !ok {
		return
	}
	p := s.amoProbeOf(r.Context(), rt.AmoCRM)
	s.amoLog(r, rt.ID, chatter.CategorySystem, "amoCRM test request", slog.Int("status", p.Status),
		slog.Duration("latency", p.Latency), slog.Bool("ok", p.OK()))
	s.renderAmoCRM(w, r, http.StatusOK, rt, nil, nil, p)
}
