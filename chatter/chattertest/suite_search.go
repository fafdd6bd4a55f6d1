package chattertest

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

// searchTexts are the message texts of the text-search cases, by message id.
// The pairs 2/7 and 3/8 tell a literal % and _ from LIKE's wildcards.
var searchTexts = map[int64]string{
	1:  "Нужен РЕМОНТ ванной",
	2:  "ремонт кухни, скидка 100%",
	3:  "Ремонт_квартиры под ключ",
	4:  "Покраска стен",
	5:  "ЕЩЁ вопрос: ремонт?",
	6:  "Plain ASCII Repair",
	7:  "скидка 100 процентов",
	8:  "ремонтXквартиры",
	9:  "Ελληνικά ΣΟΦΙΑ",
	10: "",
	11: "ремонт\nванной  комнаты",
	12: "x\x00y ре\u00adзина",
}

// searchFixture saves searchTexts in ws: odd ids accepted (queued, no
// worker runs), even ids filtered, 8 recorded as rejected; and a few
// look-alikes in ws-other that must never be found from ws.
func searchFixture(t *testing.T, s chatter.Store, ws string) {
	t.Helper()
	for _, id := range slices.Sorted(maps.Keys(searchTexts)) {
		m := NewMessage(ws, -800, id, "x")
		m.Text = searchTexts[id]
		switch {
		case id == 8:
			_, err := s.SaveRejected(t.Context(), m, &chatter.Rejection{Field: "sender", Reason: chatter.T("плохо", "bad")})
			require.NoError(t, err, "SaveRejected")
		case id%2 == 1:
			save(t, s, m, accept(0, 3))
		default:
			save(t, s, m, chatter.AcceptOptions{Verdict: chatter.Verdict{Reason: "no keyword"}})
		}
	}
	for id, text := range map[int64]string{101: "РЕМОНТ", 102: "100%", 103: "ремонт_квартиры"} {
		save(t, s, NewMessage("ws-other", -800, id, text), accept(0, 3))
	}
}

// textMatches is the predicate of LedgerQuery.Text and EventQuery.Text.
func textMatches(text, pattern string) bool {
	return strings.Contains(chatter.FoldText(text), chatter.FoldText(pattern))
}

func testLedgerText(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	searchFixture(t, s, ws)
	all := slices.Sorted(maps.Keys(searchTexts))
	cases := []struct {
		name string
		q    chatter.LedgerQuery
		want []int64
	}{
		{"Cyrillic title case", chatter.LedgerQuery{Text: "Ремонт"}, []int64{1, 2, 3, 5, 8, 11}},
		{"Cyrillic upper case", chatter.LedgerQuery{Text: "РЕМОНТ"}, []int64{1, 2, 3, 5, 8, 11}},
		{"Cyrillic lower case", chatter.LedgerQuery{Text: "ремонт"}, []int64{1, 2, 3, 5, 8, 11}},
		{"mixed case phrase", chatter.LedgerQuery{Text: "рЕмОнТ ВаННой"}, []int64{1, 11}},
		{"phrase across a line break and two spaces", chatter.LedgerQuery{Text: "ремонт ванной комнаты"}, []int64{11}},
		{"percent is literal", chatter.LedgerQuery{Text: "100%"}, []int64{2}},
		{"percent alone", chatter.LedgerQuery{Text: "%"}, []int64{2}},
		{"underscore is literal", chatter.LedgerQuery{Text: "ремонт_квартиры"}, []int64{3}},
		{"underscore alone", chatter.LedgerQuery{Text: "_"}, []int64{3}},
		{"backslash", chatter.LedgerQuery{Text: `\`}, nil},
		{"ё in the pattern finds е", chatter.LedgerQuery{Text: "ещё"}, []int64{5}},
		{"е in the pattern finds Ё", chatter.LedgerQuery{Text: "еще вопрос"}, []int64{5}},
		{"ASCII", chatter.LedgerQuery{Text: "ascii REPAIR"}, []int64{6}},
		{"Greek", chatter.LedgerQuery{Text: "ελληνικά σοφια"}, []int64{9}},
		{"NUL and soft hyphen are dropped", chatter.LedgerQuery{Text: "xy резина"}, []int64{12}},
		{"NUL in the pattern", chatter.LedgerQuery{Text: "X\x00Y"}, []int64{12}},
		{"punctuation", chatter.LedgerQuery{Text: "кухни, скидка"}, []int64{2}},
		{"nothing", chatter.LedgerQuery{Text: "нет такого"}, nil},
		{"folds to nothing", chatter.LedgerQuery{Text: "\u200b"}, all},
		{"with a state", chatter.LedgerQuery{Text: "ремонт", States: []chatter.State{chatter.StateQueued}}, []int64{1, 3, 5, 11}},
		{"with states", chatter.LedgerQuery{Text: "ремонт", States: []chatter.State{chatter.StateFiltered, chatter.StateRejected}}, []int64{2, 8}},
		{"with a chat", chatter.LedgerQuery{Text: "ремонт", ChatID: -801}, nil},
		{"with a source", chatter.LedgerQuery{Text: "ремонт", Source: chatter.SourceParser}, nil},
		{"with the error class of rejections", chatter.LedgerQuery{Text: "ремонт", ErrorClass: chatter.ClassInvalid}, []int64{8}},
	}
	for _, tc := range cases {
		for _, withMessage := range []bool{false, true} {
			q := tc.q
			q.Workspace, q.WithMessage, q.Limit = ws, withMessage, 1000
			list, err := s.ListEntries(t.Context(), q)
			require.NoError(t, err, "ListEntries(%s)", tc.name)
			got := make([]int64, 0, len(list))
			for _, e := range list {
				require.Equal(t, ws, e.Workspace, "ListEntries(%s) crossed workspaces", tc.name)
				got = append(got, e.Key.MessageID)
				if withMessage {
					require.NotNil(t, e.Message)
					require.True(t, textMatches(e.Message.Text, q.Text), "ListEntries(%s) returned %q", tc.name, e.Message.Text)
				}
			}
			slices.Sort(got)
			if d := cmp.Diff(tc.want, got, cmpNilEmpty); d != "" {
				t.Errorf("ListEntries(%s, WithMessage %v) ids (-want +got):\n%s", tc.name, withMessage, d)
			}
		}
		q := tc.q
		q.Workspace = ws
		counts, err := s.CountEntries(t.Context(), q)
		require.NoError(t, err, "CountEntries(%s)", tc.name)
		require.Equal(t, len(tc.want), total(counts), "CountEntries(%s) = %v", tc.name, counts)
	}
	// Time bounds combine with Text.
	list, err := s.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, Text: "ремонт", Limit: 2})
	require.NoError(t, err)
	require.Len(t, list, 2, "Limit applies to a text search")
	newest := list[0].ReceivedAt
	got := listIDs(t, s, chatter.LedgerQuery{Workspace: ws, Text: "ремонт", From: newest})
	require.Contains(t, got, list[0].Key.MessageID)
	for _, id := range got {
		require.True(t, textMatches(searchTexts[id], "ремонт"), "From+Text returned %d", id)
	}
	// The other workspace finds only its own messages.
	other := listIDs(t, s, chatter.LedgerQuery{Workspace: "ws-other", Text: "ремонт"})
	if d := cmp.Diff([]int64{101, 103}, sortedIDs(other)); d != "" {
		t.Errorf("ListEntries(ws-other, ремонт) (-want +got):\n%s", d)
	}
	// Text that is not UTF-8 is refused.
	_, err = s.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, Text: "ре\xffмонт"})
	wantErr(t, "ListEntries(Text not UTF-8)", err, chatter.ErrInvalid)
	_, err = s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, Text: "\xff"})
	wantErr(t, "CountEntries(Text not UTF-8)", err, chatter.ErrInvalid)
}

// cmpNilEmpty makes a nil and an empty slice equal.
var cmpNilEmpty = cmp.Comparer(func(a, b []int64) bool { return slices.Equal(a, b) })

func sortedIDs(ids []int64) []int64 {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

// testLedgerNewLead: NewLead counts deliveries that created a lead, adopted
// ones included, and not notes on an open lead or deliveries without a lead;
// ReplayDead honours Text.
func testLedgerNewLead(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	results := map[int64]*chatter.DeliveryResult{
		1: {LeadID: 501, ContactID: 601},
		2: {LeadID: 502, ContactID: 602, Adopted: true},
		3: {LeadID: 501, ContactID: 601, NoteID: 701, Threaded: true},
		4: {ContactID: 604},
	}
	texts := map[int64]string{1: "ремонт", 2: "ремонт", 3: "ремонт", 4: "ремонт", 5: "РЕМОНТ крыши", 6: "покраска"}
	for _, id := range slices.Sorted(maps.Keys(texts)) {
		save(t, s, NewMessage(ws, -900, id, texts[id]), accept(0, 3))
	}
	save(t, s, NewMessage(ws, -900, 7, "ремонт"), chatter.AcceptOptions{Verdict: chatter.Verdict{Reason: "no keyword"}})
	save(t, s, NewMessage("ws-other", -900, 1, "ремонт"), accept(0, 3))
	w := startWork(t, s, chatter.QueueConfig{Workers: 2}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		if r := results[j.Message.Key.MessageID]; r != nil && j.Message.Workspace == ws {
			c := *r
			return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &c}
		}
		if j.Message.Workspace == ws {
			return chatter.Outcome{Kind: chatter.OutcomeDead, Class: chatter.ClassMapping, Err: "required field"}
		}
		return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{LeadID: 900}}
	})
	for id := range results {
		waitEntry(t, s, ws, NewMessage(ws, -900, id, "").Key, chatter.StateDelivered)
	}
	for _, id := range []int64{5, 6} {
		waitEntry(t, s, ws, NewMessage(ws, -900, id, "").Key, chatter.StateDead)
	}
	waitEntry(t, s, "ws-other", NewMessage("ws-other", -900, 1, "").Key, chatter.StateDelivered)
	w.stop(t)

	all, err := s.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: ws})
	require.NoError(t, err)
	require.Len(t, all, 7)
	oldest, newest := all[len(all)-1].ReceivedAt, all[0].ReceivedAt
	cases := []struct {
		name string
		q    chatter.LedgerQuery
		want []int64
	}{
		{"new leads", chatter.LedgerQuery{NewLead: true}, []int64{1, 2}},
		{"with the delivered state", chatter.LedgerQuery{NewLead: true, States: []chatter.State{chatter.StateDelivered}}, []int64{1, 2}},
		{"with the dead state", chatter.LedgerQuery{NewLead: true, States: []chatter.State{chatter.StateDead}}, nil},
		{"in the window of every entry", chatter.LedgerQuery{NewLead: true, From: oldest, To: newest.Add(time.Nanosecond)}, []int64{1, 2}},
		{"in an empty window", chatter.LedgerQuery{NewLead: true, From: newest.Add(time.Nanosecond)}, nil},
		{"with text", chatter.LedgerQuery{NewLead: true, Text: "РЕМОНТ"}, []int64{1, 2}},
		{"with other text", chatter.LedgerQuery{NewLead: true, Text: "крыши"}, nil},
		{"with a chat", chatter.LedgerQuery{NewLead: true, ChatID: -901}, nil},
	}
	for _, tc := range cases {
		q := tc.q
		q.Workspace = ws
		if d := cmp.Diff(tc.want, sortedIDs(listIDs(t, s, q)), cmpNilEmpty); d != "" {
			t.Errorf("ListEntries(%s) ids (-want +got):\n%s", tc.name, d)
		}
		counts, err := s.CountEntries(t.Context(), q)
		require.NoError(t, err)
		want := map[chatter.State]int{}
		if len(tc.want) > 0 {
			want[chatter.StateDelivered] = len(tc.want)
		}
		if d := cmp.Diff(want, nonZero(counts)); d != "" {
			t.Errorf("CountEntries(%s) (-want +got):\n%s", tc.name, d)
		}
	}
	// Hourly windows, as a dashboard charts them, add up to the total.
	sum := 0
	for h := oldest.Truncate(time.Hour); h.Before(newest.Add(time.Nanosecond)); h = h.Add(time.Hour) {
		counts, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, NewLead: true, From: h, To: h.Add(time.Hour)})
		require.NoError(t, err)
		sum += total(counts)
	}
	require.Equal(t, 2, sum, "new leads summed over hourly windows")
	other, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: "ws-other", NewLead: true})
	require.NoError(t, err)
	require.Equal(t, map[chatter.State]int{chatter.StateDelivered: 1}, nonZero(other), "ws-other's new leads")

	// ReplayDead applies Text: only the dead message about a repair.
	n, err := s.ReplayDead(t.Context(), chatter.LedgerQuery{Workspace: ws, Text: "ремонт"})
	require.NoError(t, err)
	require.Equal(t, 1, n, "ReplayDead(Text ремонт)")
	e5, err := s.GetEntry(t.Context(), ws, NewMessage(ws, -900, 5, "").Key)
	require.NoError(t, err)
	require.Equal(t, chatter.StateQueued, e5.State, "the replayed entry")
	e6, err := s.GetEntry(t.Context(), ws, NewMessage(ws, -900, 6, "").Key)
	require.NoError(t, err)
	require.Equal(t, chatter.StateDead, e6.State, "the dead entry that does not match")
}

func nonZero(m map[chatter.State]int) map[chatter.State]int {
	out := map[chatter.State]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// eventSearchFixture is the event log of the source and text filter cases,
// numbered 1..11 in append order, one minute apart from BaseTime.
var eventSearchFixture = []struct {
	source, category string
	level            slog.Level
	class            chatter.ErrorClass
	text             string
}{
	1:  {"tgbot", "source", slog.LevelInfo, "", "Бот ПОДКЛЮЧЁН к чату"},
	2:  {"tgparse", "source", slog.LevelWarn, "", "парсер: сессия истекла, бот не трогаем"},
	3:  {"amocrm", "delivery", slog.LevelError, chatter.ClassAuth, "Токен amoCRM ОТОЗВАН"},
	4:  {"amocrm", "delivery", slog.LevelWarn, chatter.ClassRateLimited, "скидка 100% не применена"},
	5:  {"amocrm", "delivery", slog.LevelInfo, "", "скидка 100 процентов"},
	6:  {"tgbot", "delivery", slog.LevelError, chatter.ClassMapping, "поле ремонт_квартиры не заполнено"},
	7:  {"tgbot", "delivery", slog.LevelInfo, "", "ремонтXквартиры: сделка создана"},
	8:  {"tgbot2", "source", slog.LevelInfo, "", "бот №2 подключён"},
	9:  {"", "auth", slog.LevelInfo, "", "вход администратора"},
	10: {"TGBOT", "source", slog.LevelInfo, "", "Σοφία: ΣΟΦΊΑ"},
	11: {"tgbot", "source", slog.LevelInfo, "", "ещё\nодин   бот"},
}

// testEventsSourceText: EventQuery.Source is equality, EventQuery.Text is
// FoldText containment as LedgerQuery.Text (any alphabet's case, ё as е,
// % and _ literal); both combine with every other filter, the cursor and
// CountEvents, and never cross workspaces.
func testEventsSourceText(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	byText := map[string]int64{}
	var evs []chatter.Event
	for n, f := range eventSearchFixture {
		if n == 0 {
			continue
		}
		evs = append(evs, chatter.Event{Workspace: ws, Time: BaseTime.Add(time.Duration(n) * time.Minute), Level: f.level,
			Category: f.category, ErrorClass: f.class, Source: f.source, Text: f.text})
		byText[f.text] = int64(n)
	}
	require.NoError(t, s.AppendEvents(t.Context(), evs[:5]))
	// Look-alikes in another workspace, appended in between.
	require.NoError(t, s.AppendEvents(t.Context(), []chatter.Event{
		{Workspace: "ws-other", Level: slog.LevelInfo, Source: "tgbot", Text: "Бот подключён"},
		{Workspace: "ws-other", Level: slog.LevelWarn, Source: "amocrm", Text: "100%"},
		{Workspace: "ws-other", Level: slog.LevelError, Source: "tgbot", Text: "ремонт_квартиры"},
	}))
	require.NoError(t, s.AppendEvents(t.Context(), evs[5:]))

	list := func(q chatter.EventQuery) []int64 {
		t.Helper()
		got, err := s.ListEvents(t.Context(), q)
		require.NoError(t, err, "ListEvents(%+v)", q)
		var ids []int64
		for i, e := range got {
			require.Equal(t, q.Workspace, e.Workspace, "ListEvents crossed workspaces")
			if i > 0 {
				require.Less(t, e.ID, got[i-1].ID, "ListEvents is not newest first")
			}
			n, ok := byText[e.Text]
			require.True(t, ok, "ListEvents returned an event not appended to %s: %+v", q.Workspace, e)
			ids = append(ids, n)
		}
		return ids
	}
	all := []int64{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	warn := slog.LevelWarn
	cases := []struct {
		name string
		q    chatter.EventQuery
		want []int64
	}{
		{"source", chatter.EventQuery{Source: "tgbot"}, []int64{11, 7, 6, 1}},
		{"another source", chatter.EventQuery{Source: "amocrm"}, []int64{5, 4, 3}},
		{"source is not a prefix", chatter.EventQuery{Source: "tg"}, nil},
		{"source keeps its case", chatter.EventQuery{Source: "TGBOT"}, []int64{10}},
		{"source nobody has", chatter.EventQuery{Source: "webhook"}, nil},
		{"Cyrillic case and ё", chatter.EventQuery{Text: "подключен"}, []int64{8, 1}},
		{"Cyrillic upper case", chatter.EventQuery{Text: "БОТ"}, []int64{11, 8, 2, 1}},
		{"mixed case, Latin and Cyrillic", chatter.EventQuery{Text: "токен AMOCRM отозван"}, []int64{3}},
		{"percent is literal", chatter.EventQuery{Text: "100%"}, []int64{4}},
		{"percent alone", chatter.EventQuery{Text: "%"}, []int64{4}},
		{"underscore is literal", chatter.EventQuery{Text: "ремонт_квартиры"}, []int64{6}},
		{"underscore alone", chatter.EventQuery{Text: "_"}, []int64{6}},
		{"a phrase across a line break and spaces", chatter.EventQuery{Text: "еще один бот"}, []int64{11}},
		{"Greek", chatter.EventQuery{Text: "σοφία: σοφία"}, []int64{10}},
		{"nothing", chatter.EventQuery{Text: "нет такого"}, nil},
		{"folds to nothing", chatter.EventQuery{Text: "\u200b"}, all},
		{"source and text", chatter.EventQuery{Source: "tgbot", Text: "бот"}, []int64{11, 1}},
		{"source, text and category", chatter.EventQuery{Source: "tgbot", Text: "КВАРТИР", Category: "delivery"}, []int64{7, 6}},
		{"text and category", chatter.EventQuery{Text: "100", Category: "delivery"}, []int64{5, 4}},
		{"text and another category", chatter.EventQuery{Text: "бот", Category: "delivery"}, nil},
		{"text and level", chatter.EventQuery{Text: "бот", MinLevel: &warn}, []int64{2}},
		{"source, text and error class", chatter.EventQuery{Source: "amocrm", Text: "ТОКЕН", ErrorClass: chatter.ClassAuth}, []int64{3}},
		{"source, text and another error class", chatter.EventQuery{Source: "amocrm", Text: "токен", ErrorClass: chatter.ClassMapping}, nil},
		{"source, text and a time window", chatter.EventQuery{Source: "amocrm", Text: "скидка",
			From: BaseTime.Add(4 * time.Minute), To: BaseTime.Add(5 * time.Minute)}, []int64{4}},
		{"source, text and Limit", chatter.EventQuery{Source: "amocrm", Text: "скидка", Limit: 1}, []int64{5}},
	}
	for _, c := range cases {
		q := c.q
		q.Workspace = ws
		if d := cmp.Diff(c.want, list(q), cmpNilEmpty); d != "" {
			t.Errorf("ListEvents(%s) (-want +got):\n%s", c.name, d)
		}
		if q.Limit > 0 {
			continue // CountEvents ignores Limit: checked below
		}
		counts, err := s.CountEvents(t.Context(), q)
		require.NoError(t, err, "CountEvents(%s)", c.name)
		want := map[chatter.ErrorClass]int{}
		for _, n := range c.want {
			want[eventSearchFixture[n].class]++
		}
		if d := cmp.Diff(want, counts, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("CountEvents(%s) (-want +got):\n%s", c.name, d)
		}
	}
	// Paging by BeforeID keeps the filters.
	page, err := s.ListEvents(t.Context(), chatter.EventQuery{Workspace: ws, Source: "amocrm", Text: "скидка", Limit: 1})
	require.NoError(t, err)
	require.Len(t, page, 1)
	if d := cmp.Diff([]int64{4}, list(chatter.EventQuery{Workspace: ws, Source: "amocrm", Text: "скидка", BeforeID: page[0].ID})); d != "" {
		t.Errorf("ListEvents(source, text, the next page) (-want +got):\n%s", d)
	}
	counts, err := s.CountEvents(t.Context(), chatter.EventQuery{Workspace: ws, Source: "amocrm", Text: "скидка", Limit: 1, BeforeID: page[0].ID})
	require.NoError(t, err)
	require.Equal(t, map[chatter.ErrorClass]int{"": 1, chatter.ClassRateLimited: 1}, counts, "CountEvents ignores Limit and BeforeID")

	// The other workspace finds only its own events.
	other, err := s.ListEvents(t.Context(), chatter.EventQuery{Workspace: "ws-other", Source: "tgbot", Text: "ПОДКЛЮЧЕН"})
	require.NoError(t, err)
	require.Len(t, other, 1)
	require.Equal(t, "Бот подключён", other[0].Text)
	counts, err = s.CountEvents(t.Context(), chatter.EventQuery{Workspace: "ws-other", Text: "%"})
	require.NoError(t, err)
	require.Equal(t, map[chatter.ErrorClass]int{"": 1}, counts, "CountEvents(ws-other, %%)")

	// Text that is not UTF-8 and a negative Limit are refused.
	_, err = s.ListEvents(t.Context(), chatter.EventQuery{Workspace: ws, Text: "бот\xff"})
	wantErr(t, "ListEvents(Text not UTF-8)", err, chatter.ErrInvalid)
	_, err = s.CountEvents(t.Context(), chatter.EventQuery{Workspace: ws, Text: "\xff"})
	wantErr(t, "CountEvents(Text not UTF-8)", err, chatter.ErrInvalid)
	_, err = s.ListEvents(t.Context(), chatter.EventQuery{Workspace: ws, Limit: -1})
	wantErr(t, "ListEvents(Limit -1)", err, chatter.ErrInvalid)
	_, err = s.ListEvents(t.Context(), chatter.EventQuery{Workspace: ws, Source: "tgbot", Text: "бот", Limit: -1})
	wantErr(t, "ListEvents(Source, Text, Limit -1)", err, chatter.ErrInvalid)
}
