package web

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// logRows are the texts of the log table's rows, in order.
func logRows(p *page) []string {
	var out []string
	p.doc.Find("#logs tbody tr[id]").Each(func(_ int, tr *goquery.Selection) {
		out = append(out, strings.TrimSpace(tr.Find("td.body").Contents().First().Text()))
	})
	return out
}

// seededURL is the log of otherWorkspace up to the end of the seeded day
// (unless kv names its own end), with the filters kv.
func seededURL(kv ...string) string {
	kv = append([]string{"ws", otherWorkspace}, kv...)
	if !slices.Contains(kv, "to") {
		kv = append(kv, "to", seededEnd)
	}
	return logsURL(kv...)
}

// seededEnd is the end of the day seedEvents writes into.
var seededEnd = t0.Add(24 * time.Hour).Format("2006-01-02T15:04")

func logsURL(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return "/admin/logs?" + q.Encode()
}

// seedEvents appends lines to the other workspace's log: n lines "line i",
// every third an error of class mapping from source tgbot at t0+i minutes,
// the others information lines of category source. The workspace's own
// amoCRM delivery writes lines of its own there (set up, rate limited) at
// moments no test controls, all of them later than the seeded day, so the
// tests read that day only (seededURL).
func seedEvents(t *testing.T, f *fixture, n int) []chatter.Event {
	t.Helper()
	var evs []chatter.Event
	for i := range n {
		ev := chatter.Event{Workspace: otherWorkspace, Time: t0.Add(time.Duration(i) * time.Minute), Level: slog.LevelInfo,
			Category: chatter.CategorySource, Text: fmt.Sprint("line ", i)}
		if i%3 == 0 {
			ev.Level, ev.Category, ev.ErrorClass, ev.Source = slog.LevelError, chatter.CategoryDelivery, chatter.ClassMapping, "tgbot"
			ev.Attrs = map[string]string{"field": "phone"}
		}
		evs = append(evs, ev)
	}
	require.NoError(t, f.h.App.Store().AppendEvents(context.Background(), evs))
	return evs
}

func lines(evs []chatter.Event, keep func(chatter.Event) bool) []string {
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		if keep(evs[i]) {
			out = append(out, evs[i].Text)
		}
	}
	return out
}

// TestLogsFilters: the event log of a workspace by period, level,
// category and error class, newest first.
func TestLogsFilters(t *testing.T) {
	f := startLedger(t)
	evs := seedEvents(t, f, 30)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	all := func(chatter.Event) bool { return true }
	at := func(i int) string { return t0.Add(time.Duration(i) * time.Minute).Format("2006-01-02T15:04") }
	for _, tc := range []struct {
		name string
		url  string
		keep func(chatter.Event) bool
	}{
		{"everything", seededURL(), all},
		{"errors", seededURL("level", "ERROR"), func(e chatter.Event) bool { return e.Level == slog.LevelError }},
		{"warnings and up", seededURL("level", "WARN"), func(e chatter.Event) bool { return e.Level >= slog.LevelWarn }},
		{"debug and up", seededURL("level", "DEBUG"), all},
		{"category", seededURL("category", "source"), func(e chatter.Event) bool { return e.Category == "source" }},
		{"class", seededURL("class", "mapping"), func(e chatter.Event) bool { return e.ErrorClass == chatter.ClassMapping }},
		{"another class", seededURL("class", "auth"), func(chatter.Event) bool { return false }},
		{"period", seededURL("from", at(10), "to", at(20)), func(e chatter.Event) bool {
			return !e.Time.Before(t0.Add(10*time.Minute)) && e.Time.Before(t0.Add(20*time.Minute))
		}},
		{"source", seededURL("source", "tgbot"), func(e chatter.Event) bool { return e.Source == "tgbot" }},
		{"text in any case", seededURL("q", "LINE 2"), func(e chatter.Event) bool { return strings.Contains(e.Text, "line 2") }},
		{"text and class", seededURL("q", "line 2", "class", "mapping"), func(e chatter.Event) bool {
			return strings.Contains(e.Text, "line 2") && e.ErrorClass == chatter.ClassMapping
		}},
		{"period and errors", seededURL("from", at(10), "level", "ERROR"), func(e chatter.Event) bool {
			return !e.Time.Before(t0.Add(10*time.Minute)) && e.Level == slog.LevelError
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.get(tc.url)
			require.Equal(t, http.StatusOK, p.status, p.main())
			want := lines(evs, tc.keep)
			if d := cmp.Diff(want, logRows(p)); d != "" {
				t.Fatalf("lines (-want +got):\n%s", d)
			}
			require.Contains(t, p.doc.Find("#logs-summary").Text(), fmt.Sprintf("Всего %d ", len(want)))
		})
	}
	p := b.get(seededURL("class", "mapping"))
	row := p.doc.Find("#logs tbody tr").First()
	require.Equal(t, "ERROR", row.Find(".badge").Text())
	require.Contains(t, row.Text(), "ошибка в настройках полей (mapping)")
	require.Contains(t, row.Text(), "field=phone")
	require.Contains(t, row.Text(), "tgbot")
	require.Equal(t, "10.03.2026 09:27:00", strings.TrimSpace(row.Find("td").First().Text()))

	// An administrator reads the server's own log too: the sign-in.
	var wss []string
	p.doc.Find("select#ws option").Each(func(_ int, o *goquery.Selection) { wss = append(wss, o.AttrOr("value", "")) })
	require.Equal(t, []string{apptest.Workspace, otherWorkspace, auth.ServerWorkspace}, wss)
	f.events(t, "login succeeded")
	p = b.get(logsURL("ws", auth.ServerWorkspace, "category", "auth"))
	require.Contains(t, logRows(p), "login succeeded")

	// Errors next to the fields.
	for _, tc := range []struct {
		query url.Values
		field string
		want  string
	}{
		{url.Values{"level": {"LOUD"}}, "level", "Нет такого уровня."},
		{url.Values{"level": {"INFO+1"}}, "level", "Нет такого уровня."},
		{url.Values{"category": {"gossip"}}, "category", "Нет такой категории."},
		{url.Values{"class": {"cosmic"}}, "class", "Нет такого класса ошибки."},
		{url.Values{"ws": {"nowhere"}}, "ws", "Нет такого рабочего пространства."},
		{url.Values{"source": {strings.Repeat("s", 201)}}, "source", "Не длиннее 200 байт, в UTF-8."},
		{url.Values{"q": {"\xff"}}, "q", "Текст поиска не удалось прочитать (не UTF-8)."},
		{url.Values{"to": {"31.02.2026"}}, "to", "Укажите дату и время: ДД.ММ.ГГГГ ЧЧ:ММ или ГГГГ-ММ-ДД ЧЧ:ММ."},
	} {
		p := b.get("/admin/logs?" + tc.query.Encode())
		require.Equal(t, http.StatusUnprocessableEntity, p.status, "%v", tc.query)
		require.Equal(t, tc.want, p.fieldError(tc.field), "%v", tc.query)
		require.Equal(t, 0, p.doc.Find("#logs").Length())
	}
	require.Equal(t, http.StatusBadRequest, b.get(logsURL("before", "x")).status)
}

// TestLogsPages: pages of 50 by event id, every line once.
func TestLogsPages(t *testing.T) {
	f := startLedger(t)
	evs := seedEvents(t, f, 120)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	var seen []string
	p := b.get(seededURL())
	for pages := 1; ; pages++ {
		require.Equal(t, http.StatusOK, p.status)
		rows := logRows(p)
		require.LessOrEqual(t, len(rows), logsPageSize)
		seen = append(seen, rows...)
		if pages > 1 {
			require.NotEmpty(t, p.doc.Find("#logs-first").AttrOr("href", ""))
		}
		older := p.doc.Find("#logs-older").AttrOr("href", "")
		if older == "" {
			require.Equal(t, 3, pages)
			break
		}
		require.Less(t, pages, 5, "the pages do not end")
		p = b.get(older)
	}
	if d := cmp.Diff(lines(evs, func(chatter.Event) bool { return true }), seen); d != "" {
		t.Fatalf("pages (-want +got):\n%s", d)
	}
}

// TestLogsExport: the current filter as CSV and as JSON lines, with a
// file name; spreadsheet formulas are defused; the export is on the log.
func TestLogsExport(t *testing.T) {
	f := startLedger(t)
	evs := seedEvents(t, f, 10)
	tricky := []chatter.Event{
		{Workspace: otherWorkspace, Time: t0.Add(time.Hour), Level: slog.LevelError, Text: `=HYPERLINK("http://evil.example","click")`,
			Attrs: map[string]string{"note": "+1", "<tag>": "a&b"}},
		{Workspace: otherWorkspace, Time: t0.Add(time.Hour), Level: slog.LevelError, Text: "@SUM(A1)", Source: "-2+3"},
		{Workspace: otherWorkspace, Time: t0.Add(time.Hour), Level: slog.LevelError, Text: "\tTAB", Category: "=cmd"},
	}
	require.NoError(t, f.h.App.Store().AppendEvents(context.Background(), tricky))
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	p := b.get(seededURL("level", "ERROR"))
	csvURL := p.doc.Find("#logs-csv").AttrOr("href", "")
	require.Equal(t, "/admin/logs/export.csv?level=ERROR&to=2026-03-11T09%3A00&ws=other", csvURL, "the filter of the page")

	resp := b.get(csvURL)
	require.Equal(t, http.StatusOK, resp.status)
	require.Equal(t, "text/csv; charset=utf-8", resp.header.Get("Content-Type"))
	require.Regexp(t, `^attachment; filename="chatter-log-other-\d{8}-\d{6}\.csv"$`, resp.header.Get("Content-Disposition"))
	require.True(t, strings.HasPrefix(resp.body, "\ufeff"), "a byte order mark for spreadsheets")
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(resp.body, "\ufeff"))).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"id", "time", "level", "workspace", "category", "error_class", "source", "message_key", "text", "attrs"}, recs[0])
	errs := lines(append(evs, tricky...), func(e chatter.Event) bool { return e.Level == slog.LevelError })
	require.Len(t, recs, 1+len(errs))
	byText := map[string][]string{}
	for _, r := range recs[1:] {
		byText[r[8]] = r
	}
	h := byText[`'=HYPERLINK("http://evil.example","click")`]
	require.NotNil(t, h, "%q", recs)
	require.Equal(t, `{"<tag>":"a&b","note":"+1"}`, h[9])
	require.Equal(t, "ERROR", h[2])
	require.Equal(t, "2026-03-10T10:00:00Z", h[1])
	require.Equal(t, "'-2+3", byText["'@SUM(A1)"][6])
	require.Equal(t, "'=cmd", byText["'\tTAB"][4])
	require.Equal(t, "mapping", byText["line 9"][5])
	require.Equal(t, `{"field":"phone"}`, byText["line 9"][9])

	resp = b.get(p.doc.Find("#logs-jsonl").AttrOr("href", ""))
	require.Equal(t, http.StatusOK, resp.status)
	require.Equal(t, "application/x-ndjson; charset=utf-8", resp.header.Get("Content-Type"))
	require.Regexp(t, `^attachment; filename="chatter-log-other-\d{8}-\d{6}\.jsonl"$`, resp.header.Get("Content-Disposition"))
	var got []string
	sc := bufio.NewScanner(strings.NewReader(resp.body))
	for sc.Scan() {
		var ev chatter.Event
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev), sc.Text())
		require.Equal(t, otherWorkspace, ev.Workspace)
		require.Equal(t, slog.LevelError, ev.Level)
		got = append(got, ev.Text)
	}
	require.Equal(t, errs, got, "as they are: JSON needs no defusing")

	// The text filter is the page's too.
	resp = b.get("/admin/logs/export.jsonl?ws=other&q=LINE+9")
	require.Equal(t, 1, strings.Count(resp.body, "\n"), resp.body)
	require.Contains(t, resp.body, `"text":"line 9"`)

	var ex []chatter.Event
	waitFor(t, "the three exports on the log", func() bool {
		ex = f.wsEvents(t, otherWorkspace, "event log exported from the admin UI")
		return len(ex) >= 3
	})
	var formats []string
	for _, e := range ex {
		require.Equal(t, "admin", e.Attrs["by"])
		formats = append(formats, e.Attrs["format"]+":"+e.Attrs["lines"])
	}
	require.ElementsMatch(t, []string{"csv:" + strconv.Itoa(len(errs)), "jsonl:" + strconv.Itoa(len(errs)), "jsonl:1"}, formats)

	// Bad filters and other workspaces are refused.
	require.Equal(t, http.StatusBadRequest, b.get("/admin/logs/export.csv?ws=other&level=LOUD").status)
	mb := f.browser(t)
	mb.signedIn("ivan", goodPassword)
	require.Equal(t, http.StatusForbidden, mb.get("/admin/logs/export.csv?ws=other").status)
	require.Equal(t, http.StatusForbidden, mb.get("/admin/logs/export.jsonl?ws="+auth.ServerWorkspace).status)
}

// TestLogsForManagers: a manager reads the log of their workspaces only,
// never the server's own.
func TestLogsForManagers(t *testing.T) {
	f := startLedger(t)
	seedEvents(t, f, 3)
	b := f.browser(t)
	b.signedIn("ivan", goodPassword)
	p := b.get("/admin/logs")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, 0, p.doc.Find("select#ws").Length(), "one workspace: nothing to pick")
	require.Equal(t, apptest.Workspace, p.doc.Find(`input[name="ws"]`).AttrOr("value", ""))
	for _, ws := range []string{otherWorkspace, auth.ServerWorkspace} {
		p = b.get(logsURL("ws", ws))
		require.Equal(t, http.StatusForbidden, p.status, ws)
		require.Equal(t, "У вас нет доступа к этому рабочему пространству.", p.doc.Find("#error-text").Text())
	}
	// The ledger too.
	require.Equal(t, http.StatusForbidden, b.get(ledgerURL("ws", otherWorkspace)).status)
	require.Equal(t, http.StatusForbidden, b.get(ledgerURL("ws", auth.ServerWorkspace)).status)
}
