package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// otherWorkspace is a second workspace of the ledger tests (the demo's
// amoCRM account, no sources), which the manager ivan may not see.
const otherWorkspace = "other"

// startLedger runs the server with the UI, the demo workspace and
// otherWorkspace, an administrator "admin" and a manager "ivan" of the
// demo workspace, and waits for the demo's amoCRM delivery to be set up.
func startLedger(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{mail: &mailbox{ch: make(chan mail, 16)}}
	f.h = apptest.Start(t, apptest.Options{NoParser: true,
		Configure: func(cfg *config.Config) {
			other := cfg.Workspaces[0]
			other.ID, other.Name, other.Bots, other.Keywords = otherWorkspace, "Other", nil, config.Keywords{}
			cfg.Workspaces = append(cfg.Workspaces, other)
		},
		Handler: func(a *app.App) http.Handler {
			f.srv = newServer(a, a.Auth(), Config{Mailer: f.mail, Location: time.UTC})
			return f.srv.handler()
		}})
	f.user(t, "admin", auth.RoleAdmin)
	f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	waitFor(t, "the amoCRM delivery set up", func() bool {
		rt, ok := f.h.App.Runtime(apptest.Workspace)
		return ok && rt.Sink != nil
	})
	return f
}

// waitFor polls cond until it holds (or fails the test after a minute).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var msgSeq atomic.Int64

// botMessage is a new message written to the demo bot by a new person.
func botMessage(ws, text string) *chatter.Message {
	n := msgSeq.Add(1)
	chat := 700000 + n
	return &chatter.Message{Workspace: ws, Key: chatter.Key{Source: chatter.SourceBot, Account: "demo-bot", ChatID: chat, MessageID: n},
		Chat: chatter.Chat{ID: chat, Type: chatter.ChatPrivate}, Sender: chatter.Sender{ID: chat, FirstName: "Пётр", LastName: fmt.Sprint("Тестов", n),
			Username: fmt.Sprint("petr", n)}, Text: text, Time: time.Now()}
}

// groupMessage is a new post in a parsed group (the keyword rules apply).
func groupMessage(ws, text string) *chatter.Message {
	n := msgSeq.Add(1)
	return &chatter.Message{Workspace: ws, Key: chatter.Key{Source: chatter.SourceParser, Account: "acc", ChatID: -100500, MessageID: n},
		Chat:   chatter.Chat{ID: -100500, Type: chatter.ChatSupergroup, Title: "Ремонт в Казани"},
		Sender: chatter.Sender{ID: 900000 + n, FirstName: "Анна"}, Text: text, Time: time.Now(), Link: fmt.Sprint("https://t.me/remont_kzn/", n)}
}

// accept hands m to the pipeline as a source does.
func (f *fixture) accept(t *testing.T, m *chatter.Message) *chatter.Message {
	t.Helper()
	_, err := f.h.App.Pipeline().Accept(context.Background(), m)
	require.NoError(t, err)
	return m
}

// entry waits until m's entry is in one of states and returns it.
func (f *fixture) entry(t *testing.T, m *chatter.Message, states ...chatter.State) *chatter.LedgerEntry {
	t.Helper()
	var e *chatter.LedgerEntry
	waitFor(t, fmt.Sprintf("%s to be %v", m.Key, states), func() bool {
		var err error
		e, err = f.h.App.Store().GetEntry(context.Background(), m.Workspace, m.Key)
		require.NoError(t, err)
		for _, st := range states {
			if e.State == st {
				return true
			}
		}
		return false
	})
	return e
}

// delivered is a bot message delivered to the fake amoCRM.
func (f *fixture) delivered(t *testing.T, text string) (*chatter.Message, *chatter.LedgerEntry) {
	t.Helper()
	m := f.accept(t, botMessage(apptest.Workspace, text))
	return m, f.entry(t, m, chatter.StateDelivered)
}

// dead is a bot message amoCRM refused for good (400 to the lead's
// creation: class permanent). The fault is removed when it returns.
func (f *fixture) dead(t *testing.T, text string) (*chatter.Message, *chatter.LedgerEntry) {
	t.Helper()
	remove := f.h.Env.AmoCRM.InjectFault(amocrmtest.Fault{Method: http.MethodPost, PathPrefix: "/api/v4/leads", Status: http.StatusBadRequest})
	defer remove()
	m := f.accept(t, botMessage(apptest.Workspace, text))
	e := f.entry(t, m, chatter.StateDead, chatter.StateDelivered)
	require.Equal(t, chatter.StateDead, e.State)
	require.Equal(t, chatter.ClassPermanent, e.ErrorClass)
	return m, e
}

// wsEvents waits for the event log lines of ws with text (they are
// written in the background) and returns them.
func (f *fixture) wsEvents(t *testing.T, ws, text string) []chatter.Event {
	t.Helper()
	var out []chatter.Event
	waitFor(t, "the event "+text, func() bool {
		evs, err := f.h.App.Store().ListEvents(context.Background(), chatter.EventQuery{Workspace: ws, Limit: 1000})
		require.NoError(t, err)
		out = out[:0]
		for _, e := range evs {
			if e.Text == text {
				out = append(out, e)
			}
		}
		return len(out) > 0
	})
	return out
}

// ledgerRows are the keys of the table's rows, in order.
func ledgerRows(p *page) []string {
	var out []string
	p.doc.Find("#ledger tbody tr[id]").Each(func(_ int, tr *goquery.Selection) {
		out = append(out, strings.TrimPrefix(tr.AttrOr("id", ""), "entry-"))
	})
	return out
}

func keys(ms ...*chatter.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Key.String())
	}
	return out
}

func ledgerURL(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return "/deliveries?" + q.Encode()
}

// TestLedgerShowsEveryState: the ledger lists the workspace's messages
// newest first with their state, source, chat, sender, text, links into
// amoCRM, attempts, error class and text; a rejected message shows why.
func TestLedgerShowsEveryState(t *testing.T) {
	f := startLedger(t)
	mDelivered, eDelivered := f.delivered(t, "Здравствуйте, нужен ремонт ванной")
	mDead, _ := f.dead(t, "Сколько стоит окно?")
	mFiltered := f.accept(t, groupMessage(apptest.Workspace, "Продам гараж недорого"))
	bad := botMessage(apptest.Workspace, "битый \xff текст")
	f.accept(t, bad)
	mOther := f.accept(t, botMessage(otherWorkspace, "другое пространство"))

	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	p := b.get("/deliveries")
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, "Журнал доставки", p.h1())
	if d := cmp.Diff(keys(bad, mFiltered, mDead, mDelivered), ledgerRows(p)); d != "" {
		t.Fatalf("rows (-want +got):\n%s", d)
	}
	require.Equal(t, "Всего 4 сообщения: отклонено при приёме: 1 отфильтровано: 1 доставлено: 1 не доставлено: 1",
		strings.Join(strings.Fields(p.doc.Find("#ledger-summary").Text()), " "))
	// An administrator picks among every workspace.
	var wss []string
	p.doc.Find("select#ws option").Each(func(_ int, o *goquery.Selection) { wss = append(wss, o.AttrOr("value", "")) })
	require.Equal(t, []string{apptest.Workspace, otherWorkspace}, wss)

	row := func(m *chatter.Message) *goquery.Selection {
		return p.doc.Find("#ledger tr[id=\"entry-" + m.Key.String() + "\"]")
	}
	base := f.h.Env.AmoCRMURL
	d := row(mDelivered)
	require.Equal(t, "доставлено", d.Find(".badge").Text())
	require.Equal(t, fmt.Sprintf("%s/leads/detail/%d", base, eDelivered.Result.LeadID), d.Find("a.lead").AttrOr("href", ""))
	require.Equal(t, fmt.Sprintf("%s/contacts/detail/%d", base, eDelivered.Result.ContactID), d.Find("a.contact").AttrOr("href", ""))
	require.Contains(t, d.Text(), "Здравствуйте, нужен ремонт ванной")
	require.Contains(t, d.Text(), "Пётр Тестов")
	require.Contains(t, d.Text(), "Бот Telegram")
	require.Equal(t, 0, d.Find(`form[action$="/replay"]`).Length(), "a delivered message is not replayed")

	dd := row(mDead)
	require.Equal(t, "не доставлено", dd.Find(".badge").Text())
	require.Contains(t, dd.Text(), "1 попытка")
	require.Contains(t, dd.Text(), "CRM отклонила сообщение (permanent)")
	require.Contains(t, dd.Text(), "400 Bad Request")
	require.Equal(t, 1, dd.Find(`form[action="`+ledgerEntryURL(apptest.Workspace, mDead.Key)+`/replay"]`).Length())

	fr := row(mFiltered)
	require.Equal(t, "отфильтровано", fr.Find(".badge").Text())
	require.Contains(t, fr.Text(), "Ремонт в Казани")
	require.Contains(t, fr.Text(), "Аккаунт Telegram (парсинг)")

	rj := row(bad)
	require.Equal(t, "отклонено при приёме", rj.Find(".badge").Text())
	require.Contains(t, rj.Text(), "text: текст не в кодировке UTF-8")

	// The other workspace: its own rows.
	p = b.get(ledgerURL("ws", otherWorkspace))
	require.Equal(t, keys(mOther), ledgerRows(p))
}

// TestLedgerFilters: each filter narrows the list, and the counts follow.
func TestLedgerFilters(t *testing.T) {
	f := startLedger(t)
	mDelivered, _ := f.delivered(t, "Нужен РЕМОНТ кухни")
	mDead, _ := f.dead(t, "Ещё один ремонт")
	mFiltered := f.accept(t, groupMessage(apptest.Workspace, "Продам гараж"))
	bad := f.accept(t, botMessage(apptest.Workspace, "битый \xff"))
	b := f.browser(t)
	b.signedIn("ivan", goodPassword)
	future := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04")
	past := time.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04")
	for _, tc := range []struct {
		name string
		url  string
		want []*chatter.Message
	}{
		{"everything", "/deliveries", []*chatter.Message{bad, mFiltered, mDead, mDelivered}},
		{"state dead", ledgerURL("state", "dead"), []*chatter.Message{mDead}},
		{"two states", ledgerURL("state", "dead", "state", "delivered"), []*chatter.Message{mDead, mDelivered}},
		{"state queued", ledgerURL("state", "queued"), nil},
		{"class permanent", ledgerURL("class", "permanent"), []*chatter.Message{mDead}},
		{"class invalid", ledgerURL("class", "invalid"), []*chatter.Message{bad}},
		{"source parser", ledgerURL("source", "tgparse"), []*chatter.Message{mFiltered}},
		{"source bot", ledgerURL("source", "tgbot"), []*chatter.Message{bad, mDead, mDelivered}},
		{"text in any case", ledgerURL("q", "ремонт"), []*chatter.Message{mDead, mDelivered}},
		{"text with ё", ledgerURL("q", "еще"), []*chatter.Message{mDead}},
		{"from the future", ledgerURL("from", future), nil},
		{"until an hour ago", ledgerURL("to", past), nil},
		{"the last hour", ledgerURL("from", past, "to", future), []*chatter.Message{bad, mFiltered, mDead, mDelivered}},
		{"a day as a date", ledgerURL("from", time.Now().UTC().Format(time.DateOnly), "to", time.Now().UTC().Format(time.DateOnly)),
			[]*chatter.Message{bad, mFiltered, mDead, mDelivered}},
		{"combined", ledgerURL("source", "tgbot", "q", "ремонт", "state", "delivered"), []*chatter.Message{mDelivered}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.get(tc.url)
			require.Equal(t, http.StatusOK, p.status, p.main())
			require.Empty(t, p.errors())
			require.Equal(t, keys(tc.want...), ledgerRows(p))
			if len(tc.want) == 0 {
				require.Equal(t, "Сообщений по этому фильтру нет.", strings.TrimSpace(p.doc.Find("#ledger tr.empty").Text()))
			}
			require.Contains(t, p.doc.Find("#ledger-summary").Text(), fmt.Sprintf("Всего %d", len(tc.want)))
		})
	}
	// The filter's fields keep what was asked for.
	p := b.get(ledgerURL("class", "permanent", "q", "ремонт", "state", "dead"))
	require.Equal(t, "permanent", p.doc.Find("select#class option[selected]").AttrOr("value", ""))
	require.Equal(t, "dead", p.doc.Find("select#state option[selected]").AttrOr("value", ""))
	require.Equal(t, "ремонт", p.doc.Find("input#q").AttrOr("value", ""))
	// A manager of one workspace has no workspace to pick.
	require.Equal(t, 0, p.doc.Find("select#ws").Length())
}

// TestLedgerFilterErrors: bad filter values are shown next to their field
// with 422, and nothing is listed; a forged cursor is a bad request.
func TestLedgerFilterErrors(t *testing.T) {
	f := startLedger(t)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	for _, tc := range []struct {
		query url.Values
		field string
		want  string
	}{
		{url.Values{"state": {"lost"}}, "state", "Нет такого состояния."},
		{url.Values{"class": {"cosmic"}}, "class", "Нет такого класса ошибки."},
		{url.Values{"source": {"email"}}, "source", "Нет такого источника."},
		{url.Values{"ws": {"nowhere"}}, "ws", "Нет такого рабочего пространства."},
		{url.Values{"from": {"вчера"}}, "from", "Укажите дату и время: ДД.ММ.ГГГГ ЧЧ:ММ или ГГГГ-ММ-ДД ЧЧ:ММ."},
		{url.Values{"from": {"2026-03-10T10:00"}, "to": {"2026-03-10T09:00"}}, "to", "Конец периода должен быть позже начала."},
		{url.Values{"q": {"\xff\xfe"}}, "q", "Текст поиска не удалось прочитать (не UTF-8)."},
		{url.Values{"q": {strings.Repeat("я", 201)}}, "q", "Не длиннее 200 знаков."},
	} {
		p := b.get("/deliveries?" + tc.query.Encode())
		require.Equal(t, http.StatusUnprocessableEntity, p.status, "%v", tc.query)
		require.Equal(t, tc.want, p.fieldError(tc.field), "%v", tc.query)
		require.Equal(t, 0, p.doc.Find("#ledger").Length(), "%v: nothing listed", tc.query)
	}
	for _, before := range []string{"x", "12_nokey", "-5_tgbot:a:1:2", "1_tgbot:a:1"} {
		p := b.get(ledgerURL("before", before))
		require.Equal(t, http.StatusBadRequest, p.status, before)
	}
}

// TestLedgerPages: pages of 50 by the store's cursor, newest first, every
// entry once, even when a batch of entries shares one ReceivedAt.
func TestLedgerPages(t *testing.T) {
	f := startLedger(t)
	ctx := context.Background()
	var ms []*chatter.Message
	var opts []chatter.AcceptOptions
	for i := range 120 {
		ms = append(ms, groupMessage(apptest.Workspace, fmt.Sprint("объявление ", i)))
		opts = append(opts, chatter.AcceptOptions{Verdict: chatter.Verdict{Reason: "test"}})
	}
	_, err := f.h.App.Store().SaveMessages(ctx, ms[:60], opts[:60])
	require.NoError(t, err)
	_, err = f.h.App.Store().SaveMessages(ctx, ms[60:], opts[60:])
	require.NoError(t, err)

	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	var seen []string
	p := b.get("/deliveries")
	pages := 0
	for {
		pages++
		require.Equal(t, http.StatusOK, p.status)
		rows := ledgerRows(p)
		require.LessOrEqual(t, len(rows), ledgerPageSize)
		seen = append(seen, rows...)
		if pages > 1 {
			require.Equal(t, "/deliveries", strings.Split(p.doc.Find("#ledger-first").AttrOr("href", ""), "?")[0])
			require.Empty(t, p.doc.Find("#ledger").AttrOr("data-live", ""), "live updates on the first page only")
		}
		older := p.doc.Find("#ledger-older").AttrOr("href", "")
		if older == "" {
			break
		}
		require.Less(t, pages, 5, "the pages do not end")
		p = b.get(older)
	}
	require.Equal(t, 3, pages)
	want := keys(ms...)
	for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
		want[i], want[j] = want[j], want[i]
	}
	// Within a batch the store lists the later saved first: the same order.
	if d := cmp.Diff(want, seen); d != "" {
		t.Fatalf("pages (-want +got):\n%s", d)
	}
}

// ledgerPages prepares f for TestEveryPageIsAccessible (a message in each
// settled state) and returns what visits the ledger's and the logs' pages
// as the administrator b and the manager mb.
func ledgerPages(t *testing.T, f *fixture) func(t *testing.T, check func(*testing.T, string, *page), b, mb *browser) {
	waitFor(t, "the amoCRM delivery set up", func() bool {
		rt, ok := f.h.App.Runtime(apptest.Workspace)
		return ok && rt.Sink != nil
	})
	mDelivered, _ := f.delivered(t, "Нужен ремонт")
	mDead, _ := f.dead(t, "Окна")
	mFiltered := f.accept(t, groupMessage(apptest.Workspace, "Продам гараж"))
	bad := f.accept(t, botMessage(apptest.Workspace, "битый \xff"))
	return func(t *testing.T, check func(*testing.T, string, *page), b, mb *browser) {
		check(t, "ledger filtered", b.get(ledgerURL("state", "dead", "class", "permanent", "q", "окна")))
		check(t, "ledger with errors", b.get(ledgerURL("state", "lost", "from", "x", "ws", "nowhere")))
		check(t, "ledger bulk replay unconfirmed", b.post("/deliveries/replay-dead", url.Values{"ws": {apptest.Workspace}}))
		for _, m := range []*chatter.Message{mDelivered, mDead, mFiltered, bad} {
			check(t, "ledger entry "+m.Key.String(), b.get(ledgerEntryURL(apptest.Workspace, m.Key)))
		}
		check(t, "logs of the server", b.get(logsURL("ws", auth.ServerWorkspace)))
		check(t, "logs with errors", b.get(logsURL("level", "LOUD", "category", "x")))
		check(t, "ledger of a manager", mb.get("/deliveries"))
		check(t, "logs of a manager", mb.get("/admin/logs"))
		check(t, "ledger forbidden", mb.get(ledgerURL("ws", auth.ServerWorkspace)))
	}
}
