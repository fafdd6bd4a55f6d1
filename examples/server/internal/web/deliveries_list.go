package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/chatterhq/sdk/chatter"
)

// ledgerData is the ledger page.
type ledgerData struct {
	Workspace  string
	Workspaces []string // to pick from (shown when there are several)
	States     []chatter.State
	Classes    []chatter.ErrorClass
	Sources    []chatter.SourceKind
	Rows       []*ledgerRow
	Counts     []ledgerCount // by state, for the filter
	Total      int
	Dead       int           // dead entries of the filter
	ReplayAll  bool          // the filter allows replaying its dead entries
	Filter     []ledgerField // the filter's fields, for the bulk replay form
	Self       string        // this page (the refresh link)
	First      string        // the newest page, when this is an older one
	Older      string        // the next page, when there are more entries
	Live       string        // the live updates' address (the first page only)
	IdleMS     int64         // the session's idle timeout: live updates pause after it
	Invalid    bool          // the filter has problems: nothing listed
}

// ledgerCount is the number of entries of a state.
type ledgerCount struct {
	State chatter.State
	Kind  string
	N     int
	Link  string // the filter narrowed to this state
}

// ledgerField is a hidden form field.
type ledgerField struct{ Name, Value string }

// deliveriesList is Журнал доставки: the ledger of the workspace picked,
// filtered by period, state, error class, source and text, newest first,
// a page at a time by the store's cursor.
func (s *server) deliveriesList(w http.ResponseWriter, r *http.Request) {
	s.renderLedger(w, r, http.StatusOK, r.URL.Query(), nil)
}

// renderLedger renders the ledger for the filter in vals (the query of the
// page, or the fields of a bulk replay form with its problems in f).
func (s *server) renderLedger(w http.ResponseWriter, r *http.Request, status int, vals url.Values, f *form) {
	v := s.newView(r)
	filter := ledgerParams(vals, ledgerFields())
	if f == nil {
		f = newForm(url.Values{})
	}
	for k, vs := range filter {
		f.Values[k] = vs
	}
	v.Form = f
	lf, st := s.ledgerFilterOf(r, vals, f)
	if st == http.StatusForbidden {
		s.errorPage(w, r, http.StatusForbidden, "deliveries.forbidden")
		return
	}
	if filter.Get("ws") == "" && lf.Query.Workspace != "" {
		filter.Set("ws", lf.Query.Workspace)
		f.Values.Set("ws", lf.Query.Workspace)
	}
	before := vals.Get("before")
	var cursor ledgerCursor
	if before != "" {
		var err error
		if cursor, err = parseLedgerCursor(before); err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
			return
		}
	}
	v.Path = ledgerLink("/deliveries", filter, "before", before)
	d := &ledgerData{Workspace: lf.Query.Workspace, Workspaces: lf.Workspaces, States: chatter.AllStates,
		Classes: ledgerClasses(), Sources: ledgerSources(), Self: v.Path, IdleMS: s.auth.Config().SessionIdle.Milliseconds()}
	v.Data = d
	if st != http.StatusOK || d.Workspace == "" {
		d.Invalid = st != http.StatusOK
		s.render(w, r, max(status, st), "deliveries", v)
		return
	}
	entries, err := s.ledgerPage(r, lf.Query, cursor)
	if errors.Is(err, chatter.ErrInvalid) {
		f.failKey(s.i18n, "q", "deliveries.bad_text")
		d.Invalid = true
		s.render(w, r, http.StatusUnprocessableEntity, "deliveries", v)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	counts, err := s.app.Store().CountEntries(r.Context(), lf.Query)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if len(entries) > ledgerPageSize {
		entries = entries[:ledgerPageSize]
		d.Older = ledgerLink("/deliveries", filter, "before", ledgerCursorOf(entries[len(entries)-1]).String())
	}
	links := s.ledgerCRMOf(d.Workspace)
	for _, e := range entries {
		d.Rows = append(d.Rows, ledgerRowOf(e, links))
	}
	for _, st := range chatter.AllStates {
		n := counts[st]
		d.Total += n
		if n > 0 {
			d.Counts = append(d.Counts, ledgerCount{State: st, Kind: ledgerStateKind(st), N: n,
				Link: ledgerLink("/deliveries", filter, "state", string(st))})
		}
	}
	d.Dead = counts[chatter.StateDead]
	d.ReplayAll = d.Dead > 0 && (len(lf.Query.States) == 0 || slices.Equal(lf.Query.States, []chatter.State{chatter.StateDead}))
	for _, k := range ledgerFields() {
		for _, val := range filter[k] {
			d.Filter = append(d.Filter, ledgerField{Name: k, Value: val})
		}
	}
	if before != "" {
		d.First = ledgerLink("/deliveries", filter)
	} else {
		d.Live = ledgerLink("/deliveries/live", filter)
	}
	s.render(w, r, status, "deliveries", v)
}

// ledgerPage lists up to ledgerPageSize+1 entries of q after the cursor
// (newest first), by the store's cursor: Before, and CursorKey for the
// entries that share the cursor's ReceivedAt.
func (s *server) ledgerPage(r *http.Request, q chatter.LedgerQuery, c ledgerCursor) ([]*chatter.LedgerEntry, error) {
	q.Limit, q.WithMessage = ledgerPageSize+1, true
	q.Before, q.CursorKey = c.At, c.Key
	return s.app.Store().ListEntries(r.Context(), q)
}
