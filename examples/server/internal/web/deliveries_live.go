package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/chatter"
)

// deliveriesLive streams the ledger's changes to the page (Server-Sent
// Events) for the page's filter and workspace:
//
//   - "row": an entry received after the cursor ?after=<the page's newest
//     row>, rendered by the page's row template; oldest first, at most
//     liveBatchMax a poll (then a "gap" event: reload to see them all);
//   - "update": a followed entry (?watch=<updated unix ns>_<key>, the
//     page's entries that change by themselves: queued, delivering,
//     failed) that changed, rendered again; a followed entry is dropped
//     once it is settled (delivered, dead);
//   - "end": the session ended or lost the workspace.
func (s *server) deliveriesLive(w http.ResponseWriter, r *http.Request) {
	vals := r.URL.Query()
	lf, st := s.ledgerFilterOf(r, vals, newForm(nil))
	if st == http.StatusForbidden {
		s.errorPage(w, r, http.StatusForbidden, "deliveries.forbidden")
		return
	}
	cursor, err := liveLedgerCursor(vals.Get("after"))
	watch, werr := liveWatchList(vals["watch"])
	if st != http.StatusOK || lf.Query.Workspace == "" || err != nil || werr != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	ws := lf.Query.Workspace
	v := s.newView(r)
	// The replay buttons of the rows come back to the ledger's page.
	filter := ledgerParams(vals, ledgerFields())
	filter.Set("ws", ws)
	v.Path = ledgerLink("/deliveries", filter)
	links := s.ledgerCRMOf(ws)
	render := func(e *chatter.LedgerEntry) (string, error) {
		var buf bytes.Buffer
		if err := s.pages["deliveries"].ExecuteTemplate(&buf, "ledger-row", v.LedgerRow(ledgerRowOf(e, links))); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	ls, ok := s.openLive(w, r)
	if !ok {
		return
	}
	store := s.app.Store()
	poll := func(ctx context.Context) error {
		q := lf.Query
		q.Limit, q.WithMessage = liveBatchMax+1, true
		if cursor.At.After(q.From) {
			q.From = cursor.At
		}
		es, err := store.ListEntries(ctx, q)
		if err != nil {
			return err
		}
		fresh := newerThan(es, cursor)
		gap := len(fresh) > liveBatchMax
		if gap {
			fresh = fresh[:liveBatchMax]
		}
		if len(fresh) > 0 {
			cursor = ledgerCursorOf(fresh[0])
		}
		for i := len(fresh) - 1; i >= 0; i-- {
			e := fresh[i]
			html, err := render(e)
			if err != nil {
				return err
			}
			if err := ls.send("row", html); err != nil {
				return err
			}
			if ledgerChanging(e.State) && len(watch) < liveWatchMax {
				watch[e.Key] = e.UpdatedAt.UnixNano()
			}
		}
		if gap {
			if err := ls.send("gap", ""); err != nil {
				return err
			}
		}
		for k, updated := range watch {
			e, err := store.GetEntry(ctx, ws, k)
			if errors.Is(err, chatter.ErrNotFound) {
				delete(watch, k)
				continue
			}
			if err != nil {
				return err
			}
			if e.UpdatedAt.UnixNano() == updated {
				continue
			}
			html, err := render(e)
			if err != nil {
				return err
			}
			if err := ls.send("update", html); err != nil {
				return err
			}
			watch[k] = e.UpdatedAt.UnixNano()
			if !ledgerChanging(e.State) {
				delete(watch, k)
			}
		}
		return nil
	}
	s.runLive(r, ls, ws, poll)
}

// newerThan are the entries of es (newest first) that came after the
// cursor: received later, or at the same moment but listed before the
// cursor's own entry (entries saved together share their ReceivedAt; the
// later saved is listed first).
func newerThan(es []*chatter.LedgerEntry, c ledgerCursor) []*chatter.LedgerEntry {
	at := -1
	for i, e := range es {
		if c.Key != (chatter.Key{}) && e.Key == c.Key {
			at = i
			break
		}
	}
	var out []*chatter.LedgerEntry
	for i, e := range es {
		if i == at {
			break
		}
		if e.ReceivedAt.After(c.At) || (at >= 0 && e.ReceivedAt.Equal(c.At)) {
			out = append(out, e)
			continue
		}
		break
	}
	return out
}

// liveLedgerCursor parses ?after= (none: every entry of the filter is new,
// the page showed none).
func liveLedgerCursor(s string) (ledgerCursor, error) {
	if s == "" {
		return ledgerCursor{}, nil
	}
	return parseLedgerCursor(s)
}

// liveWatchList parses the ?watch= entries "<updated unix ns>_<key>".
func liveWatchList(ws []string) (map[chatter.Key]int64, error) {
	out := map[chatter.Key]int64{}
	for _, w := range ws {
		ns, key, ok := strings.Cut(w, "_")
		n, err := strconv.ParseInt(ns, 10, 64)
		if !ok || err != nil {
			return nil, errLedgerCursor
		}
		k, err := chatter.ParseKey(key)
		if err != nil {
			return nil, errLedgerCursor
		}
		if len(out) < liveWatchMax {
			out[k] = n
		}
	}
	return out, nil
}
