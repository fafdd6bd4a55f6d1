package web

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// logsExportMax bounds an export: the newest lines of the filter.
const logsExportMax = 100_000

// logsExportCSV is the event log of the filter as CSV (UTF-8 with a byte
// order mark, for spreadsheets; cells that a spreadsheet would take for a
// formula are prefixed with an apostrophe).
func (s *server) logsExportCSV(w http.ResponseWriter, r *http.Request) { s.logsExport(w, r, "csv") }

// logsExportJSONL is the event log of the filter as JSON lines, one
// chatter.Event a line.
func (s *server) logsExportJSONL(w http.ResponseWriter, r *http.Request) { s.logsExport(w, r, "jsonl") }

// logsExport streams the newest logsExportMax lines of the filter, newest
// first, read from the store a page at a time. The export is on the event
// log with who asked for it.
func (s *server) logsExport(w http.ResponseWriter, r *http.Request, format string) {
	f := newForm(url.Values{})
	lf, st := s.logsFilterOf(r, r.URL.Query(), f)
	switch {
	case st == http.StatusForbidden:
		s.errorPage(w, r, http.StatusForbidden, "deliveries.forbidden")
		return
	case st != http.StatusOK || lf.Query.Workspace == "":
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	q := lf.Query
	q.Limit = 1000
	// The first page before the answer starts: an error can still be a page.
	first, err := s.app.Store().ListEvents(r.Context(), q)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	name := "chatter-log-" + strings.TrimPrefix(q.Workspace, "_") + "-" + s.now().In(s.loc).Format("20060102-150405")
	h := w.Header()
	if format == "csv" {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		name += ".csv"
	} else {
		h.Set("Content-Type", "application/x-ndjson; charset=utf-8")
		name += ".jsonl"
	}
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	bw := bufio.NewWriterSize(w, 64<<10)
	var cw *csv.Writer
	if format == "csv" {
		_, _ = bw.WriteString("\ufeff")
		cw = csv.NewWriter(bw)
		_ = cw.Write([]string{"id", "time", "level", "workspace", "category", "error_class", "source", "message_key", "text", "attrs"})
	}
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n, truncated := 0, false
	evs := first
	for err == nil {
		for _, ev := range evs {
			if n == logsExportMax {
				truncated = true
				break
			}
			n++
			if cw != nil {
				err = cw.Write(logsCSVRecord(ev, s.loc))
			} else {
				err = enc.Encode(ev)
			}
			if err != nil {
				break
			}
		}
		if err != nil || truncated || len(evs) < q.Limit {
			break
		}
		if err = r.Context().Err(); err != nil {
			break
		}
		q.BeforeID = evs[len(evs)-1].ID
		// Once the answer has started an error only cuts it short; the log
		// says why.
		evs, err = s.app.Store().ListEvents(r.Context(), q)
	}
	if cw != nil {
		cw.Flush()
		err = logsFirstErr(err, cw.Error())
	}
	err = logsFirstErr(err, bw.Flush())
	attrs := []slog.Attr{slog.String(chatter.AttrCategory, chatter.CategorySystem), slog.String(chatter.AttrWorkspace, q.Workspace),
		slog.String("format", format), slog.Int("lines", n), slog.Bool("truncated", truncated)}
	attrs = append(attrs, s.ledgerActor(r)...)
	if err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "event log export cut short", append(attrs, slog.String("err", err.Error()))...)
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "event log exported from the admin UI", attrs...)
}

// logsCSVRecord is ev as a CSV row; attributes are a JSON object.
func logsCSVRecord(ev chatter.Event, loc *time.Location) []string {
	attrs := ""
	if len(ev.Attrs) > 0 {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(ev.Attrs) // keys sorted
		attrs = strings.TrimSuffix(b.String(), "\n")
	}
	rec := []string{strconv.FormatInt(ev.ID, 10), ev.Time.In(loc).Format(time.RFC3339Nano), ev.Level.String(), ev.Workspace,
		ev.Category, string(ev.ErrorClass), ev.Source, ev.MessageKey, ev.Text, attrs}
	for i, c := range rec {
		rec[i] = csvSafe(c)
	}
	return rec
}

// csvSafe keeps a spreadsheet from taking a cell for a formula: a cell
// that starts with = + - @ (or a tab or carriage return, which some
// spreadsheets skip before one) gets a leading apostrophe.
func csvSafe(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return "'" + c
	}
	return c
}

// logsFirstErr is the first non-nil error.
func logsFirstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
