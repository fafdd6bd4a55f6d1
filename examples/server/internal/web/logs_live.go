package web

import (
	"bytes"
	"context"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
)

// logsLive streams the event log's new lines to the page (Server-Sent
// Events) for the page's filter and workspace: "row" events with lines of
// ids above ?after=<the page's newest line>, rendered by the page's row
// template, oldest first, at most liveBatchMax a poll (then a "gap"
// event); "end" when the session ended or lost the workspace. Lines reach
// the store in batches (chatter.EventLog flushes every 2 s).
func (s *server) logsLive(w http.ResponseWriter, r *http.Request) {
	vals := r.URL.Query()
	lf, st := s.logsFilterOf(r, vals, newForm(nil))
	if st == http.StatusForbidden {
		s.errorPage(w, r, http.StatusForbidden, "deliveries.forbidden")
		return
	}
	after, ok := logsCursor(vals.Get("after"))
	if st != http.StatusOK || lf.Query.Workspace == "" || !ok {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	v := s.newView(r)
	ls, ok := s.openLive(w, r)
	if !ok {
		return
	}
	store := s.app.Store()
	poll := func(ctx context.Context) error {
		q := lf.Query
		q.Limit = liveBatchMax + 1
		evs, err := store.ListEvents(ctx, q)
		if err != nil {
			return err
		}
		var fresh []chatter.Event
		for _, ev := range evs {
			if ev.ID <= after {
				break
			}
			fresh = append(fresh, ev)
		}
		gap := len(fresh) > liveBatchMax
		if gap {
			fresh = fresh[:liveBatchMax]
		}
		if len(fresh) > 0 {
			after = fresh[0].ID
		}
		for i := len(fresh) - 1; i >= 0; i-- {
			var buf bytes.Buffer
			if err := s.pages["logs"].ExecuteTemplate(&buf, "logs-row", v.LogsRow(eventRowOf(fresh[i], true))); err != nil {
				return err
			}
			if err := ls.send("row", buf.String()); err != nil {
				return err
			}
		}
		if gap {
			return ls.send("gap", "")
		}
		return nil
	}
	s.runLive(r, ls, lf.Query.Workspace, poll)
}
