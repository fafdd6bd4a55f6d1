package web

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// sseEvent is one event of a stream.
type sseEvent struct{ Name, Data string }

// sseStream is an open event stream read in the background.
type sseStream struct {
	t      *testing.T
	resp   *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

// stream opens path as an EventSource would (with the browser's cookies)
// and reads its events until the test ends.
func (b *browser) stream(path string) *sseStream {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.abs(path), nil)
	require.NoError(b.t, err)
	req.Header.Set("Accept", "text/event-stream")
	hc := &http.Client{Jar: b.hc.Jar} // no timeout: a stream lasts
	resp, err := hc.Do(req)
	require.NoError(b.t, err)
	s := &sseStream{t: b.t, resp: resp, events: make(chan sseEvent, 1000), cancel: cancel}
	go func() {
		defer close(s.events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" || data != nil {
					ev.Data = strings.Join(data, "\n")
					select {
					case s.events <- ev:
					case <-ctx.Done():
						return
					}
				}
				ev, data = sseEvent{}, nil
			case strings.HasPrefix(line, "event: "):
				ev.Name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return s
}

// until reads events until one satisfies ok (failing the test after a
// minute or when the stream ends) and returns it with those before it.
func (s *sseStream) until(what string, ok func(sseEvent) bool) (sseEvent, []sseEvent) {
	s.t.Helper()
	var before []sseEvent
	deadline := time.After(time.Minute)
	for {
		select {
		case ev, open := <-s.events:
			if !open {
				s.t.Fatalf("the stream ended before %s", what)
			}
			if ok(ev) {
				return ev, before
			}
			before = append(before, ev)
		case <-deadline:
			s.t.Fatalf("no %s in the stream after a minute (got %v)", what, before)
		}
	}
}

// rowOf matches a "row" or "update" event of m's entry.
func rowOf(m *chatter.Message, name string) func(sseEvent) bool {
	return func(ev sseEvent) bool {
		return ev.Name == name && strings.Contains(ev.Data, `id="entry-`+m.Key.String()+`"`)
	}
}

// TestLedgerLive: the ledger's stream sends new entries of the page's
// filter as rows of the page's template, and the changes of the entries
// it follows; it refuses a workspace the user may not see and bad input,
// stops when the session ends, and ends when the client goes away.
func TestLedgerLive(t *testing.T) {
	f := startLedger(t)
	m0, _ := f.delivered(t, "первое")
	b := f.browser(t)
	b.signedIn("ivan", goodPassword)
	p := b.get("/deliveries")
	live := p.doc.Find("#ledger").AttrOr("data-live", "")
	require.Equal(t, "/deliveries/live?ws="+apptest.Workspace, live)
	cursor := p.doc.Find("#ledger tbody tr").First().AttrOr("data-cursor", "")
	require.NotEmpty(t, cursor)

	s := b.stream(live + "&after=" + url.QueryEscape(cursor))
	require.Equal(t, http.StatusOK, s.resp.StatusCode)
	require.Equal(t, "text/event-stream; charset=utf-8", s.resp.Header.Get("Content-Type"))
	require.Equal(t, "no", s.resp.Header.Get("X-Accel-Buffering"))
	require.Equal(t, "no-store", s.resp.Header.Get("Cache-Control"))

	// A new message: its row, then (unless it was delivered already when
	// first seen) its update to delivered.
	m1 := f.accept(t, botMessage(apptest.Workspace, "новое сообщение"))
	ev, before := s.until("the new row", rowOf(m1, "row"))
	for _, e := range before {
		require.NotContains(t, e.Data, m0.Key.String(), "the page's own rows are not sent again")
	}
	require.Contains(t, ev.Data, "новое сообщение")
	if !strings.Contains(ev.Data, ">доставлено<") {
		ev, _ = s.until("the row delivered", rowOf(m1, "update"))
		require.Contains(t, ev.Data, ">доставлено<")
	}

	// The filter holds: a delivered message is not a filtered one.
	sf := b.stream("/deliveries/live?ws=" + apptest.Workspace + "&state=filtered")
	m2 := f.accept(t, botMessage(apptest.Workspace, "не для этого фильтра"))
	f.entry(t, m2, chatter.StateDelivered)
	m3 := f.accept(t, groupMessage(apptest.Workspace, "продам диван"))
	_, before = sf.until("the filtered row", rowOf(m3, "row"))
	for _, e := range before {
		require.NotContains(t, e.Data, m2.Key.String())
	}

	// A followed entry: failing now, delivered once amoCRM answers again.
	remove := f.h.Env.AmoCRM.InjectFault(amocrmtest.Fault{Method: http.MethodPost, PathPrefix: "/api/v4/leads", Status: http.StatusServiceUnavailable})
	m4 := f.accept(t, botMessage(apptest.Workspace, "временная ошибка"))
	e4 := f.entry(t, m4, chatter.StateFailed)
	p = b.get(ledgerURL("state", "failed"))
	require.Equal(t, keys(m4), ledgerRows(p))
	watch := p.doc.Find("#ledger tbody tr").First().AttrOr("data-watch", "")
	require.Equal(t, strconv.FormatInt(e4.UpdatedAt.UnixNano(), 10)+"_"+m4.Key.String(), watch)
	sw := b.stream("/deliveries/live?ws=" + apptest.Workspace + "&state=failed&watch=" + url.QueryEscape(watch) +
		"&after=" + url.QueryEscape(p.doc.Find("#ledger tbody tr").First().AttrOr("data-cursor", "")))
	remove()
	ev, _ = sw.until("the followed row delivered", func(ev sseEvent) bool {
		return rowOf(m4, "update")(ev) && strings.Contains(ev.Data, ">доставлено<")
	})
	require.Contains(t, ev.Data, "/leads/detail/")

	// Refused: another workspace, a bad filter, bad cursors.
	require.Equal(t, http.StatusForbidden, b.get("/deliveries/live?ws="+otherWorkspace).status)
	for _, q := range []string{"state=lost", "after=garbage", "watch=1_nokey", "watch=x_tgbot:a:1:2"} {
		require.Equal(t, http.StatusBadRequest, b.get("/deliveries/live?ws="+apptest.Workspace+"&"+q).status, q)
	}

	// The session ends (the user is blocked): the stream says so and ends.
	admin := f.getByLogin(t, "admin")
	require.NoError(t, f.auth().Block(context.Background(), admin.Actor(""), f.getByLogin(t, "ivan").ID))
	s.until("the end event", func(ev sseEvent) bool { return ev.Name == "end" })
}

// TestLiveStopsWhenTheClientGoes: a stream's handler returns once its
// client went away.
func TestLiveStopsWhenTheClientGoes(t *testing.T) {
	f := startLedger(t)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	base, err := url.Parse(f.h.URL)
	require.NoError(t, err)
	for _, path := range []string{"/deliveries/live?ws=" + apptest.Workspace, "/admin/logs/live?ws=" + auth.ServerWorkspace} {
		ctx, cancel := context.WithCancel(context.Background())
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
		for _, c := range b.hc.Jar.Cookies(base) {
			req.AddCookie(c)
		}
		w := newFlushWriter()
		done := make(chan struct{})
		go func() {
			defer close(done)
			f.srv.handler().ServeHTTP(w, req)
		}()
		select {
		case <-w.flushed:
		case <-done:
			t.Fatalf("%s: the handler returned at once: %d %s", path, w.status(), w.body())
		case <-time.After(time.Minute):
			t.Fatalf("%s: the stream did not start", path)
		}
		require.Equal(t, http.StatusOK, w.status())
		cancel() // the client goes away
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatalf("%s: the handler still runs after its client went away", path)
		}
	}
}

// flushWriter is a ResponseWriter that can flush, safe to read while the
// handler writes.
type flushWriter struct {
	mu      sync.Mutex
	h       http.Header
	code    int
	buf     strings.Builder
	flushed chan struct{}
	once    sync.Once
}

func newFlushWriter() *flushWriter {
	return &flushWriter{h: http.Header{}, flushed: make(chan struct{})}
}

func (w *flushWriter) Header() http.Header { return w.h }

func (w *flushWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.code == 0 {
		w.code = code
	}
}

func (w *flushWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(b)
}

func (w *flushWriter) Flush() {
	w.WriteHeader(http.StatusOK)
	w.once.Do(func() { close(w.flushed) })
}

func (w *flushWriter) status() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.code
}

func (w *flushWriter) body() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestLogsLive: the event log's stream sends the new lines of the page's
// filter, rendered by the page's row template.
func TestLogsLive(t *testing.T) {
	f := startLedger(t)
	b := f.browser(t)
	b.signedIn("ivan", goodPassword)
	p := b.get("/admin/logs?level=ERROR")
	require.Equal(t, http.StatusOK, p.status, p.main())
	live := p.doc.Find("#logs").AttrOr("data-live", "")
	require.Equal(t, "/admin/logs/live?level=ERROR&ws="+apptest.Workspace, live)
	after := p.doc.Find("#logs tbody tr").First().AttrOr("data-cursor", "")
	if after != "" {
		live += "&after=" + after
	}
	s := b.stream(live)
	require.Equal(t, "text/event-stream; charset=utf-8", s.resp.Header.Get("Content-Type"))
	ctx := context.Background()
	now := time.Now()
	require.NoError(t, f.h.App.Store().AppendEvents(ctx, []chatter.Event{
		{Workspace: apptest.Workspace, Time: now, Level: slog.LevelInfo, Category: chatter.CategorySource, Text: "an info line"},
		{Workspace: otherWorkspace, Time: now, Level: slog.LevelError, Category: chatter.CategorySource, Text: "another workspace's error"},
	}))
	require.NoError(t, f.h.App.Store().AppendEvents(ctx, []chatter.Event{
		{Workspace: apptest.Workspace, Time: now, Level: slog.LevelError, Category: chatter.CategorySource, Text: "an error line",
			Attrs: map[string]string{"chat": "42"}},
	}))
	ev, before := s.until("the error line", func(ev sseEvent) bool { return ev.Name == "row" && strings.Contains(ev.Data, "an error line") })
	require.Contains(t, ev.Data, "chat=42")
	require.Contains(t, ev.Data, `id="event-`)
	for _, e := range before {
		require.NotContains(t, e.Data, "an info line")
		require.NotContains(t, e.Data, "another workspace")
	}
	// Not for a manager: another workspace, the server's own.
	require.Equal(t, http.StatusForbidden, b.get("/admin/logs/live?ws="+otherWorkspace).status)
	require.Equal(t, http.StatusForbidden, b.get("/admin/logs/live?ws="+auth.ServerWorkspace).status)
	require.Equal(t, http.StatusBadRequest, b.get("/admin/logs/live?ws="+apptest.Workspace+"&after=-1").status)
	require.Equal(t, http.StatusBadRequest, b.get("/admin/logs/live?ws="+apptest.Workspace+"&level=LOUD").status)
}
