package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/chatter/keyword"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// srcParsed hands a parsed message to the pipeline, as tgparse does: the
// workspace's rules in force decide whether it is filtered.
func srcParsed(t *testing.T, f *fixture, id int64, text string) chatter.Key {
	t.Helper()
	g := f.h.Env.Groups[0]
	m := &chatter.Message{Workspace: apptest.Workspace,
		Key:    chatter.Key{Source: chatter.SourceParser, Account: "tgparse", ChatID: g.ChatID, MessageID: id},
		Chat:   chatter.Chat{ID: g.ChatID, Type: chatter.ChatSupergroup, Title: g.Title, Username: g.Username},
		Sender: chatter.Sender{ID: 5000 + id, FirstName: "Пётр", Username: "petr"}, Text: text, Time: time.Now()}
	_, err := f.h.App.Pipeline().Accept(t.Context(), m)
	require.NoError(t, err)
	return m.Key
}

func TestSourcesKeywordsSave(t *testing.T) {
	f, b := srcAdmin(t, fixtureOpts{})
	kw := sourcesWS + "/keywords"
	p := b.get(kw)
	require.Equal(t, http.StatusOK, p.status, p.main())
	rules := f.srcConfig(t).Keywords.Rules
	require.Equal(t, strings.Join(rules, "\n"), p.doc.Find("#rules").Text())
	require.Contains(t, p.main(), "Действует 7 правил.")

	// Problems by line: the comment and the empty line count.
	bad := "# заявки\nремонт*\n\n\"незакрытая фраза\nокна (замена\n"
	p = b.post(kw, url.Values{"rules": {bad}, "apply_to": {"parser"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status, p.main())
	var lines []string
	p.doc.Find("#rules-error li").Each(func(_ int, s *goquery.Selection) {
		w := strings.Fields(s.Text())
		lines = append(lines, w[0]+" "+w[1])
	})
	require.Equal(t, []string{"строка 4:", "строка 5:"}, lines, p.srcText("#rules-error"))
	require.Contains(t, p.fieldError("rules"), "В правилах 2 ошибки")
	require.Equal(t, bad, p.doc.Find("#rules").Text(), "the text stays as typed")
	require.Equal(t, rules, f.srcConfig(t).Keywords.Rules, "nothing saved")

	p = b.post(kw, url.Values{"rules": {"ремонт*"}, "apply_to": {"everything"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, `"everything": нужно parser или all`, p.fieldError("apply_to"))

	p = b.post(kw, url.Values{"rules": {"# заявки\nремонт* -бесплатно\n\nэлектрик*\n"}, "apply_to": {"all"}, "fold": {"1"}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "Сохранено 2 правила.")
	k := f.srcConfig(t).Keywords
	if diff := cmp.Diff(config.Keywords{Rules: []string{"ремонт* -бесплатно", "электрик*"}, ApplyTo: "all", FoldLookalikes: true}, k); diff != "" {
		t.Errorf("keywords (-want +got):\n%s", diff)
	}
	// The new rules are in force at once.
	key := srcParsed(t, f, 1, "Ищу электрика на завтра")
	e, err := f.h.App.Store().GetEntry(t.Context(), apptest.Workspace, key)
	require.NoError(t, err)
	require.NotEqual(t, chatter.StateFiltered, e.State)
	require.Equal(t, "электрик*", e.Verdict.Rule)
	ev := f.srcEvents(t, "keyword rules changed")[0]
	require.Equal(t, "2", ev.Attrs["rules"])
}

// TestSourcesKeywordsDryRun: new rules against the stored messages, before
// saving: gained, lost and unchanged, with the rule and words behind each
// change and a link to the ledger entry.
func TestSourcesKeywordsDryRun(t *testing.T) {
	f, b := srcAdmin(t, fixtureOpts{})
	// Under the demo rules in force:
	srcParsed(t, f, 1, "Нужен ремонт квартиры под ключ")               // taken (ремонт*), stays
	srcParsed(t, f, 2, "Продам диван, почти новый")                    // filtered (stop rule), stays
	lost := srcParsed(t, f, 3, "Ищу мастера по укладке плитки")        // taken by the craftsmen rule: lost
	gained := srcParsed(t, f, 4, "Кто посоветует хорошего электрика?") // filtered: gained
	rules := "ремонт*\nэлектрик*\n-продам"
	p := b.post(sourcesWS+"/keywords/dryrun", url.Values{"rules": {rules}, "apply_to": {"parser"}, "days": {"7"}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	counts := map[string]string{}
	for _, id := range []string{"dr-scanned", "dr-accepted", "dr-gained", "dr-lost", "dr-unchanged", "dr-stopped"} {
		counts[id] = p.srcText("#" + id)
	}
	if diff := cmp.Diff(map[string]string{"dr-scanned": "4", "dr-accepted": "2", "dr-gained": "+1", "dr-lost": "−1",
		"dr-unchanged": "2", "dr-stopped": "1"}, counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	g := p.doc.Find("#dr-gains li")
	require.Equal(t, 1, g.Length())
	require.Equal(t, gained.String(), g.AttrOr("data-key", ""))
	require.Contains(t, g.Text(), "Кто посоветует хорошего электрика?")
	require.Contains(t, g.Text(), f.h.Env.Groups[0].Title)
	require.Contains(t, g.Text(), "Пётр @petr")
	why := strings.Join(strings.Fields(g.Text()), " ")
	require.Contains(t, why, "Сейчас: отфильтровано")
	require.Contains(t, why, "С новыми правилами: принято правилом электрик* (электрик* → «электрика»)")
	require.Equal(t, "/deliveries/demo/"+url.PathEscape(gained.String()), g.Find("a").AttrOr("href", ""))
	l := p.doc.Find("#dr-losses li")
	require.Equal(t, 1, l.Length())
	require.Equal(t, lost.String(), l.AttrOr("data-key", ""))
	why = strings.Join(strings.Fields(l.Text()), " ")
	require.Contains(t, why, "Сейчас: принято ((мастер* | бригад*) (нужн* | ищу | посоветуйте): «мастера», «ищу»)")
	require.Contains(t, why, "С новыми правилами: отфильтровано: ни одно правило не подошло")
	var perRule []string
	p.doc.Find("#dr-rules tbody tr").Each(func(_ int, s *goquery.Selection) {
		perRule = append(perRule, s.Find("td").First().Text()+" "+s.Find("td").Last().Text())
	})
	require.Equal(t, []string{"ремонт* 1", "электрик* 1"}, perRule)
	require.Contains(t, p.srcText("#dryrun"), "к сообщениям ботов правила не применяются")
	require.Equal(t, rules, p.doc.Find("#rules").Text(), "the tried rules stay in the form")
	require.NotEqual(t, strings.Split(rules, "\n"), f.srcConfig(t).Keywords.Rules, "a dry run saves nothing")

	// Bot messages count where the rules would apply to them.
	fake := f.h.Env.Bot
	olga := fake.AddUser("olga", "Ольга")
	_, bot := srcAddBot(t, f, b, "sales")
	f.srcRunning(t, "bot:demo/sales")
	fake.UserWrites(fake.PrivateChat(olga, bot), olga, "Здравствуйте, сколько стоит доставка?")
	srcEventually(t, "the bot message is stored", func() bool {
		return len(f.srcBotMessages(t, "Здравствуйте, сколько стоит доставка?")) == 1
	})
	p = b.post(sourcesWS+"/keywords/dryrun", url.Values{"rules": {rules}, "apply_to": {"all"}, "days": {"7"}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, "5", p.srcText("#dr-scanned"))
	require.Equal(t, "−2", p.srcText("#dr-lost"))
	require.Contains(t, p.srcText("#dr-losses"), "сколько стоит доставка")
	require.Contains(t, p.srcText("#dryrun"), "Проверены сообщения парсера и ботов.")

	// Errors: the days, a rule's line; nothing is run.
	for days, want := range map[string]string{"0": "Число дней — от 1 до 90.", "91": "Число дней — от 1 до 90.", "неделя": "Число дней — от 1 до 90."} {
		p = b.post(sourcesWS+"/keywords/dryrun", url.Values{"rules": {rules}, "apply_to": {"parser"}, "days": {days}})
		require.Equal(t, http.StatusUnprocessableEntity, p.status, days)
		require.Equal(t, want, p.fieldError("days"), days)
		require.Equal(t, 0, p.doc.Find("#dryrun").Length())
	}
	p = b.post(sourcesWS+"/keywords/dryrun", url.Values{"rules": {"ремонт*\n(окна"}, "apply_to": {"parser"}, "days": {"7"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.srcText("#rules-error"), "строка 2:")
}

// TestDryRunReadsEveryMessage: a batch saved together shares its
// ReceivedAt (one transaction, one time); the dry run still reads every
// message of it once — more of them than a page — skips messages refused
// at intake, and stops at its bound. More messages at one instant than a
// listing returns are reported as not all checked.
func TestDryRunReadsEveryMessage(t *testing.T) {
	at := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	now := at
	ms := chattertest.NewMemStore(chattertest.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	save := func(from, to int) {
		t.Helper()
		var msgs []*chatter.Message
		var opts []chatter.AcceptOptions
		for i := from; i < to; i++ {
			text, accept := "нужен ремонт", true
			if i%3 == 0 {
				text, accept = "ищу электрика", false
			}
			msgs = append(msgs, &chatter.Message{Workspace: "w", Key: chatter.Key{Source: chatter.SourceParser, Account: "tgparse", ChatID: -1001, MessageID: int64(i + 1)},
				Text: text, Time: at})
			opts = append(opts, chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: accept, Rule: "old"}})
		}
		_, err := ms.SaveMessages(ctx, msgs, opts)
		require.NoError(t, err)
	}
	save(0, 1000) // one instant, twice a page
	now = at.Add(time.Millisecond)
	save(1000, 1203)
	_, err := ms.SaveRejected(ctx, &chatter.Message{Workspace: "w", Key: chatter.Key{Source: chatter.SourceParser, Account: "tgparse", ChatID: -1001, MessageID: 9999}, Time: at},
		&chatter.Rejection{Field: "text", Reason: chatter.T("плохо", "bad"), Raw: "{}"})
	require.NoError(t, err)
	set := keyword.MustCompile(keyword.Config{Rules: []keyword.Rule{{Expr: "электрик*"}}})
	o := srcDryRunOptions{Workspace: "w", Set: set, ApplyTo: "parser", Current: "parser", From: at.Add(-time.Hour), To: at.Add(time.Hour)}
	res, err := srcDryRun(ctx, ms, o)
	require.NoError(t, err)
	type sum struct{ Scanned, Accepted, Gained, Lost, Unchanged int }
	if diff := cmp.Diff(sum{Scanned: 1203, Accepted: 401, Gained: 401, Lost: 802, Unchanged: 0},
		sum{res.Scanned, res.Accepted, res.Gained, res.Lost, res.Unchanged}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	require.False(t, res.Truncated)
	require.Len(t, res.Gains, srcDryRunSamples)
	seen := map[chatter.Key]bool{}
	for _, m := range append(res.Gains, res.Losses...) {
		require.False(t, seen[m.Key], "%s twice", m.Key)
		seen[m.Key] = true
	}

	o.Max = 1000
	res, err = srcDryRun(ctx, ms, o)
	require.NoError(t, err)
	require.Equal(t, 1000, res.Scanned)
	require.True(t, res.Truncated)

	// 1001 at one instant: more than a listing holds.
	now = at.Add(2 * time.Millisecond)
	save(2000, 3001)
	o.Max = 0
	o.From = now
	res, err = srcDryRun(ctx, ms, o)
	require.NoError(t, err)
	require.Equal(t, 1000, res.Scanned)
	require.True(t, res.Truncated, "said, not hidden")
}
