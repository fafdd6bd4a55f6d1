package web

import (
	"log/slog"
	"net/http"
	"slices"

	"github.com/chatterhq/sdk/chatter"
)

// deliveriesReplayDead replays every dead message of the ledger's filter
// (Pipeline.ReplayDead), after the confirmation checkbox, and goes back to
// the ledger with that filter. A filter of other states is refused: only
// dead messages are replayed in bulk. The event log says who did it and
// with which filter.
func (s *server) deliveriesReplayDead(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	vals := r.PostForm
	f := newForm(nil)
	lf, st := s.ledgerFilterOf(r, vals, f)
	switch {
	case st == http.StatusForbidden:
		s.errorPage(w, r, http.StatusForbidden, "deliveries.forbidden")
		return
	case st != http.StatusOK:
		s.renderLedger(w, r, http.StatusUnprocessableEntity, vals, f)
		return
	case lf.Query.Workspace == "":
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	q := lf.Query
	if len(q.States) > 0 && !slices.Equal(q.States, []chatter.State{chatter.StateDead}) {
		f.failKey(s.i18n, "state", "deliveries.replay_only_dead")
		s.renderLedger(w, r, http.StatusUnprocessableEntity, vals, f)
		return
	}
	if vals.Get("replay_confirm") != "yes" {
		f.failKey(s.i18n, "replay_confirm", "deliveries.confirm_needed")
		s.renderLedger(w, r, http.StatusUnprocessableEntity, vals, f)
		return
	}
	n, err := s.app.Pipeline().ReplayDead(r.Context(), q)
	attrs := []slog.Attr{slog.String(chatter.AttrCategory, chatter.CategorySystem), slog.String(chatter.AttrWorkspace, q.Workspace),
		slog.Int("count", n)}
	attrs = append(attrs, ledgerQueryAttrs(q)...)
	attrs = append(attrs, s.ledgerActor(r)...)
	if err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "bulk replay from the admin UI failed", append(attrs, slog.String("err", err.Error()))...)
		if n == 0 {
			s.serverError(w, r, err)
			return
		}
		s.flashKey(r, "error", "deliveries.replayed_some", n)
	} else {
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "dead messages replayed from the admin UI", attrs...)
		s.flashKey(r, "info", "deliveries.replayed_all", n)
	}
	redirect(w, r, ledgerLink("/deliveries", ledgerParams(vals, ledgerFields())))
}

// ledgerQueryAttrs describe a ledger filter for the event log.
func ledgerQueryAttrs(q chatter.LedgerQuery) []slog.Attr {
	var out []slog.Attr
	if !q.From.IsZero() {
		out = append(out, slog.Time("from", q.From))
	}
	if !q.To.IsZero() {
		out = append(out, slog.Time("to", q.To))
	}
	if q.ErrorClass != "" {
		out = append(out, slog.String("filter_class", string(q.ErrorClass)))
	}
	if q.Source != "" {
		out = append(out, slog.String("filter_source", string(q.Source)))
	}
	if q.Text != "" {
		out = append(out, slog.String("filter_text", q.Text))
	}
	return out
}
