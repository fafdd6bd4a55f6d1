package web

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// The logs page's bounds.
const (
	logsPageSize  = 50
	logsSourceMax = 200 // bytes of a source filter
)

// logsFields are the query parameters of the event log's filter.
func logsFields() []string {
	return []string{"ws", "from", "to", "level", "category", "class", "source", "q"}
}

// logsLevels are the levels the filter offers (the lowest level shown).
func logsLevels() []slog.Level {
	return []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}
}

// logsCategories are the event categories the filter offers.
func logsCategories() []string {
	return []string{chatter.CategoryDelivery, chatter.CategoryFilter, chatter.CategorySource, chatter.CategoryAuth,
		chatter.CategoryNotify, chatter.CategorySystem}
}

// logsFilter is the event log's filter as a request gives it.
type logsFilter struct {
	Query      chatter.EventQuery // no cursor, no limit
	Workspaces []string           // those the user may pick: theirs, and the server's own for administrators
}

// logsWorkspaces are the workspaces whose log r's user may read: the
// visible ones and, for administrators, the server's own (sign-ins,
// system events).
func (s *server) logsWorkspaces(r *http.Request) []string {
	out := s.visibleWorkspaces(r)
	if u := currentUser(r); u != nil && u.IsAdmin() {
		out = append(out, auth.ServerWorkspace)
	}
	return out
}

// logsFilterOf reads the filter from vals; problems go to f by field. The
// status is 200, 403 (a workspace the user may not read) or 422.
func (s *server) logsFilterOf(r *http.Request, vals url.Values, f *form) (logsFilter, int) {
	var lf logsFilter
	lf.Workspaces = s.logsWorkspaces(r)
	ws, status := s.ledgerWorkspace(r, vals.Get("ws"), lf.Workspaces, f)
	if status != http.StatusOK {
		return lf, status
	}
	q := chatter.EventQuery{Workspace: ws}
	q.From, q.To = s.ledgerPeriod(vals, f)
	if lv := vals.Get("level"); lv != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(lv)); err != nil || !slices.Contains(logsLevels(), l) {
			f.failKey(s.i18n, "level", "logs.bad_level")
		} else {
			q.MinLevel = &l
		}
	}
	if c := vals.Get("category"); c != "" {
		if !slices.Contains(logsCategories(), c) {
			f.failKey(s.i18n, "category", "logs.bad_category")
		}
		q.Category = c
	}
	q.ErrorClass = s.ledgerClass(vals, f)
	q.Source = strings.TrimSpace(vals.Get("source"))
	if len(q.Source) > logsSourceMax || !utf8.ValidString(q.Source) {
		f.failKey(s.i18n, "source", "logs.bad_source", logsSourceMax)
	}
	q.Text = s.ledgerText(vals, f)
	lf.Query = q
	return lf, ledgerFilterStatus(f, logsFields())
}

// eventRow is one event log line as the tables show it.
type eventRow struct {
	ID        int64
	Workspace string
	Time      time.Time
	Level     string
	LevelKind string // badge: error, warn, info, muted
	Category  string
	Class     chatter.ErrorClass
	Source    string
	Key       string
	KeyURL    string // the message's page
	Text      string
	Attrs     []ledgerField // sorted by name
}

// eventRowOf describes ev; withKeyLink links its message key to the
// message's page.
func eventRowOf(ev chatter.Event, withKeyLink bool) eventRow {
	row := eventRow{ID: ev.ID, Workspace: ev.Workspace, Time: ev.Time, Level: ev.Level.String(), LevelKind: logsLevelKind(ev.Level),
		Category: ev.Category, Class: ev.ErrorClass, Source: ev.Source, Key: ev.MessageKey, Text: ev.Text}
	if withKeyLink && ev.MessageKey != "" && ev.Workspace != auth.ServerWorkspace {
		if k, err := chatter.ParseKey(ev.MessageKey); err == nil {
			row.KeyURL = ledgerEntryURL(ev.Workspace, k)
		}
	}
	for k, val := range ev.Attrs {
		row.Attrs = append(row.Attrs, ledgerField{Name: k, Value: val})
	}
	slices.SortFunc(row.Attrs, func(a, b ledgerField) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return row
}

func logsLevelKind(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warn"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "muted"
}

// LogTime is t with seconds in the UI's time zone.
func (v *view) LogTime(t time.Time) string {
	return v.Date(t) + " " + t.In(v.s.loc).Format("15:04:05")
}

// logsRowView is what the row template gets: the page's view and a row.
type logsRowView struct {
	V *view
	R eventRow
}

// LogsRow pairs an event row with the view, for the "logs-row" template.
func (v *view) LogsRow(r eventRow) logsRowView { return logsRowView{V: v, R: r} }

// logsCursor parses an event id cursor (0 when empty).
func logsCursor(s string) (int64, bool) {
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}
