package web

import (
	"context"
	"log/slog"
	"net/http"
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

// overviewCount reads one of a workspace's counters on the overview.
func overviewCount(t *testing.T, p *page, id string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(p.doc.Find("#" + id).Text()))
	require.NoError(t, err, "counter %s:\n%s", id, p.main())
	return n
}

// overviewTable is the chart's table: per hour, received, delivered and errors.
func overviewTable(t *testing.T, p *page, ws string) [][3]int {
	t.Helper()
	var rows [][3]int
	p.doc.Find("#ws-" + ws + " .chart-table tbody tr").Each(func(_ int, tr *goquery.Selection) {
		var row [3]int
		tr.Find("td").Slice(1, 4).Each(func(i int, td *goquery.Selection) {
			n, err := strconv.Atoi(strings.TrimSpace(td.Text()))
			require.NoError(t, err)
			row[i] = n
		})
		rows = append(rows, row)
	})
	return rows
}

func TestOverviewCountsTheLedgerAndDrawsTheChart(t *testing.T) {
	f := start(t, fixtureOpts{})
	b := adminBrowser(t, f)
	playBot(t, f, 3)
	ctx := context.Background()
	counts, err := f.h.App.Store().CountEntries(ctx, chatter.LedgerQuery{Workspace: apptest.Workspace})
	require.NoError(t, err)
	total := 0
	for _, n := range counts {
		total += n
	}
	require.Positive(t, counts[chatter.StateDelivered])
	newLeads, err := f.h.App.Store().CountEntries(ctx, chatter.LedgerQuery{Workspace: apptest.Workspace, NewLead: true})
	require.NoError(t, err)
	leads := newLeads[chatter.StateDelivered]
	require.Positive(t, leads)
	require.LessOrEqual(t, leads, counts[chatter.StateDelivered])

	p := b.get("/")
	require.Equal(t, http.StatusOK, p.status)
	ws := apptest.Workspace
	require.Equal(t, total, overviewCount(t, p, "ws-"+ws+"-received"))
	require.Equal(t, leads, overviewCount(t, p, "ws-"+ws+"-leads"))
	require.Equal(t, counts[chatter.StateDead]+counts[chatter.StateFailed]+counts[chatter.StateRejected], overviewCount(t, p, "ws-"+ws+"-errors"))
	require.Equal(t, 0, overviewCount(t, p, "ws-"+ws+"-queue"))

	// The chart: 24 hours × 3 series, drawn on the server; the last hour
	// holds what was just played; the table has the same numbers.
	rows := overviewTable(t, p, ws)
	require.Len(t, rows, 24)
	require.Equal(t, [3]int{total, leads, 0}, rows[23])
	for _, r := range rows[:23] {
		require.Equal(t, [3]int{}, r)
	}
	svg := p.doc.Find("#ws-" + ws + "-chart")
	require.Equal(t, 72, svg.Find("rect").Length())
	require.Equal(t, "img", svg.AttrOr("role", ""))
	last := svg.Find("rect.received").Last()
	h, err := strconv.ParseFloat(last.AttrOr("height", ""), 64)
	require.NoError(t, err)
	require.Greater(t, h, 100.0, "the tallest bar fills most of the chart")
	require.Contains(t, last.Find("title").Text(), "Получено — "+strconv.Itoa(total))
	require.Equal(t, "0.0", svg.Find("rect.errors").Last().AttrOr("height", ""))

	// Parts: amoCRM connected, the bot running, e-mail not set up.
	parts := squash(p.doc.Find("#ws-" + ws + " ul.statuses").Text())
	require.Contains(t, parts, "подключено amoCRM")
	require.Contains(t, parts, "работает Бот demo-bot (опрос)")
	require.Contains(t, parts, "не настроена Почта (SMTP)")
	require.Regexp(t, `принято \d+ сообщени`, parts)
	server := squash(p.doc.Find("#server ul.statuses").Text())
	require.Contains(t, server, "работает База данных")
	require.Contains(t, server, "работает Обработчики очереди доставки")

	// amoCRM's budget was used.
	rate := squash(p.doc.Find("#ws-" + ws + " dl.facts").Last().Text())
	require.Contains(t, rate, "7 запросов в секунду")
	require.NotContains(t, rate, "Запросов с запуска 0 ")
}

func TestOverviewQueueAndErrors(t *testing.T) {
	f := start(t, fixtureOpts{})
	b := adminBrowser(t, f)
	waitSink(t, f)
	ctx := context.Background()
	// amoCRM refuses the token and the workspace restarts: deliveries
	// wait (snoozed), the set-up's error is on the overview.
	f.h.Env.AmoCRM.RevokeToken(f.h.Env.AmoCRMToken)
	wc, _ := f.h.App.WorkspaceConfig(apptest.Workspace)
	require.NoError(t, f.h.App.UpdateWorkspace(ctx, wc, "test"))
	require.Eventually(t, func() bool {
		rt, _ := f.h.App.Runtime(apptest.Workspace)
		return rt.SetupError != nil
	}, 30*time.Second, 20*time.Millisecond)
	m := &chatter.Message{Workspace: apptest.Workspace, Key: chatter.Key{Source: chatter.SourceBot, Account: "demo-bot", ChatID: 42, MessageID: 7},
		Chat: chatter.Chat{ID: 42, Type: chatter.ChatPrivate}, Sender: chatter.Sender{ID: 42, FirstName: "Анна"},
		Text: "Нужен ремонт кухни", Time: time.Now()}
	_, err := f.h.App.Pipeline().Accept(ctx, m)
	require.NoError(t, err)
	// An error of the workspace's log about that message.
	f.h.App.Logger().LogAttrs(ctx, slog.LevelError, "delivery failed: test",
		slog.String(chatter.AttrCategory, chatter.CategoryDelivery), slog.String(chatter.AttrWorkspace, apptest.Workspace),
		slog.String(chatter.AttrMessageKey, m.Key.String()))

	var p *page
	require.Eventually(t, func() bool {
		p = b.get("/")
		return p.doc.Find("#ws-demo .events li").Length() > 0 && overviewCount(t, p, "ws-demo-queue") == 1
	}, 20*time.Second, 100*time.Millisecond)
	entry := "/deliveries/demo/" + m.Key.String()
	oldest := p.doc.Find("#ws-demo dl.facts").First()
	require.Contains(t, oldest.Text(), "ждёт ")
	require.Equal(t, entry, oldest.Find("a").AttrOr("href", ""))
	ev := p.doc.Find("#ws-demo .events li").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.Contains(s.Text(), "delivery failed: test")
	})
	require.Equal(t, 1, ev.Length(), p.main())
	require.Equal(t, "ошибка", strings.TrimSpace(ev.Find(".badge").Text()))
	require.Equal(t, entry, ev.Find("a").AttrOr("href", ""))
	require.Equal(t, "/admin/logs?level=warn&ws=demo", p.doc.Find(`#ws-demo a[href^="/admin/logs"]`).AttrOr("href", ""))
	amo := p.doc.Find("#ws-demo ul.statuses li").First()
	require.Contains(t, squash(amo.Text()), "не подключено amoCRM")
	require.Contains(t, amo.Text(), "401")
	require.Equal(t, "/diagnostics#g-"+chatter.GuideAmoCRMAuth, amo.Find("a.fix").AttrOr("href", ""))
}

func TestOverviewShowsAManagerTheirWorkspacesOnly(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	f.user(t, "olga", auth.RoleManager)
	ivan := f.browser(t)
	p := ivan.signedIn("ivan", goodPassword)
	require.Equal(t, 1, p.doc.Find("section.workspace").Length())
	require.Equal(t, 0, p.doc.Find("#server-events").Length(), "the server's log is for administrators")
	require.Equal(t, 0, p.doc.Find(`a[href^="/diagnostics"], a[href^="/notifications"]`).Length(), "no links to pages a manager may not open")

	olga := f.browser(t)
	p = olga.signedIn("olga", goodPassword)
	require.Equal(t, 0, p.doc.Find("section.workspace").Length())
	require.Equal(t, "Вам не открыто ни одно рабочее пространство. Обратитесь к администратору.", strings.TrimSpace(p.doc.Find("#overview-none").Text()))

	admin := f.browser(t)
	p = admin.signedIn("admin", goodPassword)
	require.Equal(t, 1, p.doc.Find("#server-events").Length())
	require.Equal(t, "Диагностика ещё не запускалась. Открыть диагностику", squash(p.doc.Find("#overview-diag-never").Text()))
	admin.get("/diagnostics")
	p = admin.get("/")
	require.Contains(t, squash(p.doc.Find("#overview-diag").Text()), "Последняя диагностика:")
}

func TestOverviewChartGeometry(t *testing.T) {
	for _, c := range []struct{ n, want int }{{0, 2}, {1, 2}, {3, 5}, {5, 5}, {6, 10}, {11, 20}, {150, 200}, {201, 500}} {
		require.Equal(t, c.want, overviewNiceMax(c.n), c.n)
	}
	hours := make([]overviewHour, 24)
	hours[5] = overviewHour{Received: 10, Leads: 5, Errors: 1}
	ch := newOverviewChart(hours, func(s string, _ overviewHour, n int) string { return s + strconv.Itoa(n) }, func(time.Time) string { return "" })
	require.Len(t, ch.Bars, 72)
	var got []string
	for _, b := range ch.Bars[15:18] {
		got = append(got, b.Class+" "+b.H+" "+b.Title)
	}
	// The plot is 260-12-28 = 220 units high, the scale 0..10.
	if d := cmp.Diff([]string{"received 220.0 received10", "leads 110.0 leads5", "errors 22.0 errors1"}, got); d != "" {
		t.Errorf("bars of hour 5 (-want +got):\n%s", d)
	}
	require.Len(t, ch.Labels, 6)
	require.Equal(t, []string{"0", "5", "10"}, []string{ch.Grid[0].Label, ch.Grid[1].Label, ch.Grid[2].Label})
}

func TestOverviewBucketsAreLocalHours(t *testing.T) {
	loc := time.FixedZone("IST", 5*3600+1800)
	var qs []chatter.LedgerQuery
	l := ledgerCounterFunc(func(_ context.Context, q chatter.LedgerQuery) (map[chatter.State]int, error) {
		qs = append(qs, q)
		if q.NewLead {
			return map[chatter.State]int{chatter.StateDelivered: 2}, nil
		}
		return map[chatter.State]int{chatter.StateDelivered: 3, chatter.StateFiltered: 1, chatter.StateDead: 1}, nil
	})
	now := time.Date(2026, 3, 10, 9, 47, 0, 0, time.UTC) // 15:17 in IST
	hours, err := overviewBuckets(context.Background(), l, "demo", now, loc)
	require.NoError(t, err)
	require.Len(t, hours, 24)
	require.Equal(t, time.Date(2026, 3, 10, 15, 0, 0, 0, loc), hours[23].Start.In(loc))
	require.Equal(t, time.Date(2026, 3, 9, 16, 0, 0, 0, loc), hours[0].Start.In(loc))
	require.Equal(t, overviewHour{Start: hours[23].Start, End: hours[23].Start.Add(time.Hour), Received: 5, Leads: 2, Errors: 1}, hours[23])
	require.Len(t, qs, 48, "per hour: the states, and the new leads")
	require.Equal(t, qs[44].To, qs[46].From, "the hours follow each other")
	require.Equal(t, chatter.LedgerQuery{Workspace: "demo", From: qs[46].From, To: qs[46].To, NewLead: true}, qs[47])
}

type ledgerCounterFunc func(ctx context.Context, q chatter.LedgerQuery) (map[chatter.State]int, error)

func (f ledgerCounterFunc) CountEntries(ctx context.Context, q chatter.LedgerQuery) (map[chatter.State]int, error) {
	return f(ctx, q)
}

func TestOverviewMailStatusWithTheNotificationChecks(t *testing.T) {
	ms := startTestSMTP(t)
	f := startConfigured(t, withSMTP(ms, "ops@example.invalid"), false)
	b := adminBrowser(t, f)
	mail := func(p *page) *goquery.Selection {
		return p.doc.Find("#ws-demo ul.statuses li").FilterFunction(func(_ int, s *goquery.Selection) bool {
			return strings.Contains(s.Text(), "Почта (SMTP)")
		})
	}
	li := mail(b.get("/"))
	require.Equal(t, "status ok", li.AttrOr("class", ""))
	require.Contains(t, squash(li.Text()), "сервер 127.0.0.1:"+strconv.Itoa(ms.Port)+", получателей: 1")

	// The diagnostics ran: the sender domain has no SPF or DKIM record, so
	// the notification checks warn, and the overview says so.
	b.get("/diagnostics")
	li = mail(b.get("/"))
	require.Equal(t, "status warn", li.AttrOr("class", ""))
	require.Regexp(t, `проверки уведомлений: Внимание \(диагностика \d\d\.\d\d\.\d{4} \d\d:\d\d\)`, squash(li.Text()))
	require.Equal(t, "/diagnostics#g-"+chatter.GuideNotifications, li.Find("a.fix").AttrOr("href", ""))
}
