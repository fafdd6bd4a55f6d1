package main

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

// runDemo runs the demo without pacing and returns its output.
func runDemo(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	err := run(t.Context(), append([]string{"-fast", "-timeout", "2m"}, args...), func(k string) string { return env[k] }, &out)
	require.NoError(t, err, out.String())
	t.Log("\n" + out.String())
	return out.String()
}

// blocks splits the output into its paragraphs, by their first line.
func blocks(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for b := range strings.SplitSeq(strings.TrimRight(s, "\n"), "\n\n") {
		title, _, _ := strings.Cut(b, "\n")
		out[title] = b
	}
	return out
}

// block is the paragraph of s titled title.
func block(t *testing.T, s, title string) string {
	t.Helper()
	b, ok := blocks(t, s)[title]
	require.True(t, ok, "no block %q in\n%s", title, s)
	return b + "\n"
}

// columnStarts returns the display columns (runes: the output has no wide
// or combining characters) where the cells of a table line start: the first
// character after the indent and every one after a run of two or more
// spaces, which is how writeTable separates cells.
func columnStarts(line string) []int {
	var starts []int
	spaces := 2 // the indent counts as a separator
	for col, r := range []rune(line) {
		if r == ' ' {
			spaces++
			continue
		}
		if spaces >= 2 {
			starts = append(starts, col)
		}
		spaces = 0
	}
	return starts
}

// requireAligned checks that every line of a table (the block without its
// title) has the same number of cells and that each cell starts at the same
// display column in every line, so every line has the same width up to its
// last column.
func requireAligned(t *testing.T, table string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")[1:]
	require.GreaterOrEqual(t, len(lines), 2, "a table has a header and rows:\n%s", table)
	want := columnStarts(lines[0])
	require.GreaterOrEqual(t, len(want), 2, "header %q", lines[0])
	for _, l := range lines[1:] {
		if diff := cmp.Diff(want, columnStarts(l)); diff != "" {
			t.Errorf("columns of %q differ from the header %q (-header +line):\n%s", l, lines[0], diff)
		}
	}
}

// tables are the titles of the output's tables in each language.
var tables = map[string][]string{
	langRU: {"Переписка в Telegram (время UTC+3):", "Что стало с каждым сообщением:", "Сделки в amoCRM:", "Контакты в amoCRM:", "Диагностика (doctor):"},
	langEN: {"The Telegram conversation (times UTC+3):", "What happened to each message:", "Leads in amoCRM:", "Contacts in amoCRM:", "Diagnostics (doctor):"},
}

// englishStates matches the English names of ledger states and check
// statuses as whole words: the internal values that must not leak into the
// Russian output.
var englishStates = func() *regexp.Regexp {
	var words []string
	for _, s := range chatter.AllStates {
		words = append(words, string(s))
	}
	for _, s := range []chatter.Status{chatter.StatusOK, chatter.StatusWarn, chatter.StatusFail, chatter.StatusSkip} {
		words = append(words, string(s))
	}
	return regexp.MustCompile(`(?i)\b(` + strings.Join(words, "|") + `|skipped)\b`)
}()

func TestRunRussian(t *testing.T) {
	s := runDemo(t, nil)

	t.Run("summary", func(t *testing.T) {
		require.Contains(t, s, "Сообщений из Telegram: 9 (уникальных: 8). Новых сделок: 3, примечаний к сделкам: 5, пропущено: 1.\n")
		require.Contains(t, s, "Запросов к amoCRM: ")
		require.Contains(t, s, ", ответов 429 (превышен лимит): 0\n")
	})

	t.Run("conversation first", func(t *testing.T) {
		want := `Переписка в Telegram (время UTC+3):
  №   время        чат                               автор                           текст
  №1  14.03 12:30  личный чат с ботом                Мария Ковалёва (@maria_k)       Здравствуйте! Хочу заказать кухню на заказ, примерно 3 метра.
  №2  14.03 12:31  группа «Ремонт квартир — Москва»  Алексей Волков (@alex_stroy)    Ищу бригаду на ремонт ванной под ключ, бюджет до 300 000 ₽.
  №3  14.03 12:32  личный чат с ботом                Мария Ковалёва (@maria_k)       Мой телефон +7 903 111-22-33, звоните после 18:00.
  №4  14.03 12:33  личный чат с ботом                Анна Смирнова (@anna_smirnova)  Добрый день! Когда будет отгрузка по нашему заказу?
  №5  14.03 12:34  группа «Ремонт квартир — Москва»  Алексей Волков (@alex_stroy)    Желательно начать в апреле, квартира в Химках.
  №6  14.03 12:34  группа «Ремонт квартир — Москва»  Алексей Волков (@alex_stroy)    Желательно начать в апреле, квартира в Химках.
  №7  14.03 12:35  группа «Ремонт квартир — Москва»  Дмитрий Орлов                   Здравствуйте, мне нужен замер окон. Рабочий номер +7 926 555-44-33
  №8  14.03 12:36  личный чат с ботом                Мария Ковалёва (@maria_k)       И ещё вопрос: сколько стоит доставка?
  №9  14.03 12:37  личный чат с ботом                Мария Ковалёва (@maria_k)       (изменено) И ещё вопрос: сколько стоит доставка и сборка?
`
		if diff := cmp.Diff(want, block(t, s, tables[langRU][0])); diff != "" {
			t.Errorf("conversation (-want +got):\n%s", diff)
		}
		require.Less(t, strings.Index(s, tables[langRU][0]), strings.Index(s, tables[langRU][1]), "the conversation comes before what happened to it")
	})

	t.Run("what happened to each message", func(t *testing.T) {
		// Anna is the account's existing customer: her message is a note on
		// her open lead #20000001. №6 is №5 handed twice.
		want := `Что стало с каждым сообщением:
  №   состояние   попыток  итог
  №1  доставлено  1        создана сделка #20000003 и контакт #30000003
  №2  доставлено  1        создана сделка #20000004 и контакт #30000004
  №3  доставлено  1        добавлено примечание к сделке #20000003
  №4  доставлено  1        добавлено примечание к сделке #20000001 — открытая сделка этого клиента, уже бывшая в amoCRM
  №5  доставлено  1        добавлено примечание к сделке #20000004
  №6  пропущено   —        повтор сообщения №5: Telegram прислал его ещё раз, в amoCRM ничего не отправлено
  №7  доставлено  1        создана сделка #20000005 и контакт #30000005
  №8  доставлено  1        добавлено примечание к сделке #20000003
  №9  доставлено  1        добавлено примечание к сделке #20000003 — правка сообщения №8
`
		if diff := cmp.Diff(want, block(t, s, tables[langRU][1])); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
	})

	t.Run("leads", func(t *testing.T) {
		want := `Сделки в amoCRM:
  сделка     откуда           этап               контакты        сообщения       название                                           теги
  #20000001  была в amoCRM    Переговоры         Анна Смирнова   №4              Заявка из Telegram: оптовая поставка               «telegram»
  #20000002  была в amoCRM    Первичный контакт  Олег Кузнецов   —               Вопрос о доставке                                  «telegram», «парсинг»
  #20000003  из сообщения №1  Первичный контакт  Мария Ковалёва  №1, №3, №8, №9  Мария: Здравствуйте! Хочу заказать кухню на за…    «telegram»
  #20000004  из сообщения №2  Первичный контакт  Алексей Волков  №2, №5          Алексей: Ищу бригаду на ремонт ванной под ключ,…   «telegram», «Ремонт квартир — Москва»
  #20000005  из сообщения №7  Первичный контакт  Дмитрий Орлов   №7              Дмитрий: Здравствуйте, мне нужен замер окон. Раб…  «telegram», «Ремонт квартир — Москва»
`
		if diff := cmp.Diff(want, block(t, s, tables[langRU][2])); diff != "" {
			t.Errorf("leads (-want +got):\n%s", diff)
		}
	})

	t.Run("contacts", func(t *testing.T) {
		// Dmitry wrote Oleg's phone number but is someone else: Oleg keeps
		// his Telegram id and Dmitry gets his own contact.
		want := `Контакты в amoCRM:
  контакт    откуда           имя             Telegram ID  username        телефон
  #30000001  был в amoCRM     Анна Смирнова   5013         @anna_smirnova  +79161234567
  #30000002  был в amoCRM     Олег Кузнецов   123456789    —               +7 (926) 555-44-33
  #30000003  из сообщения №1  Мария Ковалёва  5011         @maria_k        +79031112233
  #30000004  из сообщения №2  Алексей Волков  5012         @alex_stroy     —
  #30000005  из сообщения №7  Дмитрий Орлов   5014         —               +79265554433
`
		if diff := cmp.Diff(want, block(t, s, tables[langRU][3])); diff != "" {
			t.Errorf("contacts (-want +got):\n%s", diff)
		}
	})

	t.Run("diagnostics", func(t *testing.T) {
		b := block(t, s, tables[langRU][4])
		require.Regexp(t, `(?m)^  Поля сопоставления есть в amoCRM и подходят по типу +ОК +—$`, b)
		require.Regexp(t, `(?m)^  Вебхуки amoCRM указывают на Чаттер +не проверялось +адрес вебхука не настроен$`, b)
		require.NotContains(t, b, "amocrm.", "check names are internal keys")
	})

	t.Run("no slice formatting", func(t *testing.T) {
		require.NotContains(t, s, "[")
		require.NotContains(t, s, "]")
	})

	t.Run("no English state words", func(t *testing.T) {
		require.Empty(t, englishStates.FindAllString(s, -1))
	})

	t.Run("no internal keys", func(t *testing.T) {
		for _, m := range conversation() {
			require.NotContains(t, s, m.Key.String())
		}
		require.NotContains(t, s, "tgbot:")
	})

	t.Run("tables aligned", func(t *testing.T) {
		for _, title := range tables[langRU] {
			t.Run(title, func(t *testing.T) { requireAligned(t, block(t, s, title)) })
		}
	})
}

func TestRunEnglish(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
	}{
		"flag": {args: []string{"-lang", "en"}},
		"env":  {env: map[string]string{"LEADS_DEMO_LANG": "en"}},
	} {
		t.Run(name, func(t *testing.T) {
			s := runDemo(t, tc.env, tc.args...)
			require.Contains(t, s, "Messages from Telegram: 9 (unique: 8). New leads: 3, notes on leads: 5, skipped: 1.\n")
			want := `What happened to each message:
  #   state      attempts  outcome
  #1  delivered  1         lead #20000003 and contact #30000003 created
  #2  delivered  1         lead #20000004 and contact #30000004 created
  #3  delivered  1         note added to lead #20000003
  #4  delivered  1         note added to lead #20000001 — the customer's open lead, already in amoCRM
  #5  delivered  1         note added to lead #20000004
  #6  skipped    —         a repeat of message #5: Telegram sent it again, nothing was sent to amoCRM
  #7  delivered  1         lead #20000005 and contact #30000005 created
  #8  delivered  1         note added to lead #20000003
  #9  delivered  1         note added to lead #20000003 — an edit of message #8
`
			if diff := cmp.Diff(want, block(t, s, tables[langEN][1])); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			require.Contains(t, block(t, s, tables[langEN][0]), "  #9  Mar 14 12:37  private chat with the bot        Мария Ковалёва (@maria_k)       (edited) И ещё вопрос: сколько стоит доставка и сборка?\n")
			require.Contains(t, block(t, s, tables[langEN][2]), "«telegram», «Ремонт квартир — Москва»")
			require.Contains(t, block(t, s, tables[langEN][4]), "amoCRM webhooks point at Chatter")
			// The conversation and the account's data stay Russian; no
			// Russian label is left.
			for _, ru := range []string{"Переписка", "доставлено", "пропущено", "сделка", "сообщени", "№", "ОК"} {
				require.NotContains(t, s, ru)
			}
			require.NotContains(t, s, "[")
			for _, title := range tables[langEN] {
				t.Run(title, func(t *testing.T) { requireAligned(t, block(t, s, title)) })
			}
		})
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
	}{
		"unknown flag":   {args: []string{"-nope"}},
		"lang flag":      {args: []string{"-lang", "de"}},
		"lang from env":  {env: map[string]string{"LEADS_DEMO_LANG": "RU"}},
		"empty lang":     {args: []string{"-lang", ""}},
		"flag beats env": {args: []string{"-lang", "fr"}, env: map[string]string{"LEADS_DEMO_LANG": "en"}},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), tc.args, func(k string) string { return tc.env[k] }, &out)
			require.Error(t, err)
			require.NotContains(t, out.String(), "Переписка", "nothing ran")
		})
	}
}

func TestBadLangIsExplainedInBothLanguages(t *testing.T) {
	err := run(t.Context(), []string{"-lang", "de"}, func(string) string { return "" }, &bytes.Buffer{})
	ve, ok := errors.AsType[*chatter.ValidationError](err)
	require.True(t, ok, "err = %v", err)
	require.ErrorIs(t, err, chatter.ErrInvalid)
	if diff := cmp.Diff(`-lang: язык вывода — ru или en, а не "de" (the output language is ru or en, not "de")`, errorText(err)); diff != "" {
		t.Errorf("errorText (-want +got):\n%s", diff)
	}
	require.Equal(t, "-lang", ve.Field)
	if diff := cmp.Diff("some failure", errorText(errors.New("some failure"))); diff != "" {
		t.Errorf("errorText of a plain error (-want +got):\n%s", diff)
	}
}

func TestQuoteList(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"telegram"}, "«telegram»"},
		{[]string{"telegram", "Ремонт квартир — Москва", "a, b"}, "«telegram», «Ремонт квартир — Москва», «a, b»"},
	} {
		if diff := cmp.Diff(tc.want, quoteList(tc.in)); diff != "" {
			t.Errorf("quoteList(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

// Every ledger state and check status has a Russian name of its own and an
// English one; a state added to chatter without a name here fails.
func TestStateAndStatusNames(t *testing.T) {
	seen := map[string]chatter.State{}
	for _, s := range chatter.AllStates {
		ru, en := stateText(langRU, s), stateText(langEN, s)
		require.NotEqual(t, string(s), ru, "state %s has no Russian name", s)
		require.NotRegexp(t, `[a-z]`, ru)
		require.NotEmpty(t, en)
		require.NotRegexp(t, `[а-яё]`, en)
		prev, dup := seen[ru]
		require.False(t, dup, "%s and %s are both %q", prev, s, ru)
		seen[ru] = s
	}
	for _, s := range []chatter.Status{chatter.StatusOK, chatter.StatusWarn, chatter.StatusFail, chatter.StatusSkip} {
		ru := checkStatus(langRU, s)
		require.NotEqual(t, string(s), ru)
		require.Empty(t, englishStates.FindAllString(ru, -1))
		require.NotEmpty(t, checkStatus(langEN, s))
	}
}

func TestWriteTableAlignsByRunes(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, writeTable(&b, "Таблица:", []string{"№", "имя", "текст"}, [][]string{
		{"№1", "Ёжик", "многострочный\nтекст\tс табуляцией"},
		{"№10", "", "пусто"},
		{"№2", "Alexander", "x"},
	}))
	want := `Таблица:
  №    имя        текст
  №1   Ёжик       многострочный текст с табуляцией
  №10  —          пусто
  №2   Alexander  x
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	requireAligned(t, b.String())
}

func TestColumnStarts(t *testing.T) {
	if diff := cmp.Diff([]int{2, 7, 18}, columnStarts("  №1   Ёжик и ко  x y")); diff != "" {
		t.Errorf("columnStarts (-want +got):\n%s", diff)
	}
}

// The outcomes the scripted conversation does not reach: filtered,
// rejected, dead, adopted, a new lead for a known contact, a message the
// ledger has not settled and one it does not have.
func TestOutcomesOffTheScript(t *testing.T) {
	key := func(n int64) chatter.Key {
		return chatter.Key{Source: chatter.SourceBot, Account: botAccount, ChatID: 1, MessageID: n}
	}
	var msgs []*chatter.Message
	for n := range int64(7) {
		msgs = append(msgs, &chatter.Message{Workspace: workspace, Key: key(n + 1)})
	}
	r := &report{
		lang:           langRU,
		msgs:           msgs,
		accepted:       make([]chatter.AcceptResult, len(msgs)),
		seededLeads:    map[int64]bool{},
		seededContacts: map[int64]bool{30000001: true},
		entries: map[chatter.Key]*chatter.LedgerEntry{
			key(1): {State: chatter.StateFiltered, Verdict: chatter.Verdict{Rule: "-реклама"}},
			key(2): {State: chatter.StateRejected, Rejection: &chatter.Rejection{Field: "text", Reason: chatter.T("текст не в кодировке UTF-8", "text is not valid UTF-8")}},
			key(3): {State: chatter.StateDead, Attempts: 5, ErrorClass: chatter.ClassAuth},
			key(4): {State: chatter.StateDelivered, Attempts: 2, Result: &chatter.DeliveryResult{LeadID: 20000009, Adopted: true}},
			key(5): {State: chatter.StateDelivered, Attempts: 1, Result: &chatter.DeliveryResult{LeadID: 20000010, ContactID: 30000001}},
			key(6): {State: chatter.StateFailed, Attempts: 1},
		},
	}
	var got []string
	kinds := map[outcomeKind]int{}
	for i := range msgs {
		o := r.outcome(i)
		got = append(got, o.state+" | "+o.text)
		kinds[o.kind]++
	}
	want := []string{
		"отфильтровано | пропущено фильтром: правило «-реклама»",
		"отклонено | отклонено при приёме: text: текст не в кодировке UTF-8",
		"не доставлено | не доставлено: " + chatter.ClassAuth.Cause().RU,
		"доставлено | найдена сделка #20000009, созданная прошлой попыткой",
		"доставлено | создана сделка #20000010 для контакта #30000001 из amoCRM",
		"ошибка, будет повтор | ещё не доставлено",
		"— | не записано в журнал",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[outcomeKind]int{outcomeSkipped: 2, outcomeFailed: 1, outcomeNewLead: 2, outcomePending: 2}, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	require.NotEmpty(t, chatter.ClassAuth.Cause().RU)
}
