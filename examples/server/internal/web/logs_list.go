package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/chatterhq/sdk/chatter"
)

// logsData is the event log page.
type logsData struct {
	Workspace  string
	Workspaces []string
	Levels     []slog.Level
	Categories []string
	Classes    []chatter.ErrorClass
	Rows       []eventRow
	Total      int
	ByClass    []logsClassCount
	Self       string
	First      string
	Older      string
	Live       string
	ExportCSV  string
	ExportJSON string
	ExportMax  int
	IdleMS     int64
	Invalid    bool
}

// logsClassCount is the number of lines of an error class.
type logsClassCount struct {
	Class chatter.ErrorClass
	N     int
	Link  string
}

// logsList is Администрирование → Логи: the event log of the workspace
// picked (the server's own for administrators), filtered by period, level,
// category, error class, source and text, newest first, a page at a time
// by event id; exported as CSV or JSON lines.
func (s *server) logsList(w http.ResponseWriter, r *http.Request) {
	vals := r.URL.Query()
	v := s.newView(r)
	filter := ledgerParams(vals, logsFields())
	f := newForm(url.Values{})
	for k, vs := range filter {
		f.Values[k] = vs
	}
	v.Form = f
	lf, st := s.logsFilterOf(r, vals, f)
	if st == http.StatusForbidden {
		s.errorPage(w, r, http.StatusForbidden, "deliveries.forbidden")
		return
	}
	if filter.Get("ws") == "" && lf.Query.Workspace != "" {
		filter.Set("ws", lf.Query.Workspace)
		f.Values.Set("ws", lf.Query.Workspace)
	}
	before, ok := logsCursor(vals.Get("before"))
	if !ok {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	v.Path = ledgerLink("/admin/logs", filter, "before", vals.Get("before"))
	d := &logsData{Workspace: lf.Query.Workspace, Workspaces: lf.Workspaces, Levels: logsLevels(), Categories: logsCategories(),
		Classes: ledgerClasses(), Self: v.Path, ExportMax: logsExportMax, IdleMS: s.auth.Config().SessionIdle.Milliseconds()}
	v.Data = d
	if st != http.StatusOK || d.Workspace == "" {
		d.Invalid = st != http.StatusOK
		s.render(w, r, st, "logs", v)
		return
	}
	q := lf.Query
	q.Limit, q.BeforeID = logsPageSize+1, before
	events, err := s.app.Store().ListEvents(r.Context(), q)
	if errors.Is(err, chatter.ErrInvalid) {
		f.failKey(s.i18n, "q", "deliveries.bad_text")
		d.Invalid = true
		s.render(w, r, http.StatusUnprocessableEntity, "logs", v)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	counts, err := s.app.Store().CountEvents(r.Context(), lf.Query)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if len(events) > logsPageSize {
		events = events[:logsPageSize]
		d.Older = ledgerLink("/admin/logs", filter, "before", strconv.FormatInt(events[len(events)-1].ID, 10))
	}
	for _, ev := range events {
		d.Rows = append(d.Rows, eventRowOf(ev, true))
	}
	for _, n := range counts {
		d.Total += n
	}
	for _, c := range ledgerClasses() {
		if n := counts[c]; n > 0 {
			d.ByClass = append(d.ByClass, logsClassCount{Class: c, N: n, Link: ledgerLink("/admin/logs", filter, "class", string(c))})
		}
	}
	d.ExportCSV = ledgerLink("/admin/logs/export.csv", filter)
	d.ExportJSON = ledgerLink("/admin/logs/export.jsonl", filter)
	if before != 0 {
		d.First = ledgerLink("/admin/logs", filter)
	} else {
		d.Live = ledgerLink("/admin/logs/live", filter)
	}
	s.render(w, r, http.StatusOK, "logs", v)
}
