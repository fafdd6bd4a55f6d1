package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

// srcAdmin starts the server and signs an administrator in.
func srcAdmin(t *testing.T, o fixtureOpts) (*fixture, *browser) {
	t.Helper()
	f := start(t, o)
	f.user(t, "admin", auth.RoleAdmin)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	return f, b
}

// srcConfig is the demo workspace's settings in force.
func (f *fixture) srcConfig(t *testing.T) config.Workspace {
	t.Helper()
	wc, ok := f.h.App.WorkspaceConfig(apptest.Workspace)
	require.True(t, ok)
	return wc
}

// eventually waits for cond (up to a minute), failing with what.
func srcEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text is a selection's text with its spaces collapsed.
func (p *page) srcText(sel string) string {
	return strings.Join(strings.Fields(p.doc.Find(sel).Text()), " ")
}

// srcEvents are the event log lines of the demo workspace with text msg.
func (f *fixture) srcEvents(t *testing.T, msg string) []chatter.Event {
	t.Helper()
	var out []chatter.Event
	srcEventually(t, "event "+msg, func() bool {
		evs, err := f.h.App.Store().ListEvents(t.Context(), chatter.EventQuery{Workspace: apptest.Workspace, Limit: 1000})
		require.NoError(t, err)
		out = out[:0]
		for _, e := range evs {
			if e.Text == msg {
				out = append(out, e)
			}
		}
		return len(out) > 0
	})
	return out
}

const sourcesWS = "/sources/" + apptest.Workspace

func TestSourcesOverviewAndRoles(t *testing.T) {
	f, b := srcAdmin(t, fixtureOpts{})
	f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	p := b.get("/sources")
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, "Источники", p.h1())
	row := p.doc.Find(`tr[data-bot="demo-bot"]`)
	require.Equal(t, 1, row.Length(), p.main())
	require.Contains(t, row.Text(), "опрос")
	require.Contains(t, p.main(), "Аккаунтов нет.")
	require.Equal(t, sourcesWS+"/bots/demo-bot", row.Find("a").AttrOr("href", ""))

	// Unknown workspace, bot, account and chat: 404.
	for _, path := range []string{"/sources/nowhere/chats", sourcesWS + "/bots/nobot", sourcesWS + "/accounts/noacct", sourcesWS + "/chat?ref=@none"} {
		require.Equal(t, http.StatusNotFound, b.get(path).status, path)
	}

	// A manager sees none of it and changes nothing.
	mb := f.browser(t)
	mb.signedIn("ivan", goodPassword)
	for _, path := range []string{"/sources", sourcesWS + "/bots/demo-bot", sourcesWS + "/bots/new", sourcesWS + "/accounts/new",
		sourcesWS + "/chats", sourcesWS + "/keywords"} {
		require.Equal(t, http.StatusForbidden, mb.get(path).status, path)
	}
	before := f.srcConfig(t)
	for path, vals := range map[string]url.Values{
		sourcesWS + "/bots/demo-bot/enabled":  {"enabled": {"0"}, "disable_confirm": {"yes"}},
		sourcesWS + "/bots/demo-bot/mode":     {"mode": {"webhook"}},
		sourcesWS + "/bots/demo-bot/check":    nil,
		sourcesWS + "/chats":                  {"chat": {"@somewhere"}},
		sourcesWS + "/keywords":               {"rules": {"x"}, "apply_to": {"parser"}},
		sourcesWS + "/keywords/dryrun":        {"rules": {"x"}, "apply_to": {"parser"}, "days": {"7"}},
		sourcesWS + "/accounts":               {"id": {"x"}},
		sourcesWS + "/parser":                 {"poll_interval": {"5m"}},
		sourcesWS + "/bots":                   {"id": {"x"}},
		sourcesWS + "/accounts/a/login/send":  nil,
		sourcesWS + "/accounts/a/proxy/check": nil,
	} {
		require.Equal(t, http.StatusForbidden, mb.post(path, vals).status, path)
	}
	if diff := cmp.Diff(before, f.srcConfig(t)); diff != "" {
		t.Errorf("a manager changed the settings (-before +after):\n%s", diff)
	}
}

func TestSourcesBotPage(t *testing.T) {
	f, b := srcAdmin(t, fixtureOpts{})
	token := f.h.Env.BotToken
	p := b.get(sourcesWS + "/bots/demo-bot")
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.NotContains(t, p.body, token, "the token is never rendered")
	require.NotContains(t, p.body, token[strings.IndexByte(token, ':')+1:])
	require.Contains(t, p.srcText("dl.facts"), "•••• "+token[len(token)-4:])
	require.Contains(t, p.srcText("#me"), "@"+f.h.Env.BotUsername)
	require.Contains(t, p.srcText("#privacy"), "включён", "a bot fresh from @BotFather has privacy mode on")
	require.Equal(t, "0", p.srcText("#pending"))
	require.Contains(t, p.srcText("#webhook-info"), "не установлен")
	require.Contains(t, p.doc.Find("#delivery .src-result").AttrOr("class", ""), "ok", p.srcText("#delivery"))

	// The getMe test: its verdict on the page, and an event.
	p = b.post(sourcesWS+"/bots/demo-bot/check", nil)
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.srcText("#result"), "Токен действителен: бот @"+f.h.Env.BotUsername)
	require.Equal(t, "/sources/demo/bots/demo-bot", p.doc.Find(`form.lang input[name="next"]`).AttrOr("value", ""))
	ev := f.srcEvents(t, "bot token tested")[0]
	require.Equal(t, "admin", ev.Attrs["by"])
	require.Equal(t, "ok", ev.Attrs["status"])
}

// addBot adds a bot of the fake Bot API through the page and returns it.
func srcAddBot(t *testing.T, f *fixture, b *browser, id string) (string, *tgbottest.Bot) {
	t.Helper()
	token, bot := f.h.Env.Bot.AddBot(id + "_bot")
	p := b.post(sourcesWS+"/bots", url.Values{"id": {id}, "token": {token}, "mode": {"polling"}, "api_url": {f.h.Env.BotAPIURL}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, sourcesWS+"/bots/"+id, p.url.Path)
	require.Contains(t, p.alert(), "Бот "+id+" (@"+id+"_bot) добавлен.")
	return token, bot
}

func TestSourcesBotAdd(t *testing.T) {
	f, b := srcAdmin(t, fixtureOpts{})
	api := f.h.Env.BotAPIURL
	cases := []struct {
		name   string
		vals   url.Values
		errors map[string]string
	}{
		{"empty", url.Values{"mode": {"polling"}}, map[string]string{"id": "Укажите идентификатор."}},
		{"taken id", url.Values{"id": {"demo-bot"}, "token": {"1:x"}, "mode": {"polling"}}, map[string]string{"id": "Бот с таким идентификатором уже есть."}},
		{"no token", url.Values{"id": {"sales"}, "mode": {"polling"}}, map[string]string{"token": "Вставьте токен из @BotFather."}},
		{"malformed", url.Values{"id": {"sales"}, "token": {"not a token"}, "mode": {"polling"}},
			map[string]string{"token": "Это не токен бота: нужен вид <id бота>:<секрет>, как его выдаёт @BotFather."}},
		{"unknown to Telegram", url.Values{"id": {"sales"}, "token": {"123456:AAwrongwrongwrongwrongwrongwrongwro"}, "mode": {"polling"}, "api_url": {api}},
			map[string]string{"token": "Telegram не принимает токен бота (401 Unauthorized): токен неверен, отозван или бот удалён. Скопируйте токен заново из @BotFather (/mybots → API Token); если бот удалён — создайте нового и обновите токен в настройках."}},
		{"bad id", url.Values{"id": {"Sales Bot"}, "token": {f.h.Env.BotToken + "x"}, "mode": {"polling"}, "api_url": {api}}, nil},
		{"bad mode", url.Values{"id": {"sales"}, "token": {"1:x"}, "mode": {"carrier-pigeon"}}, map[string]string{"mode": "Выберите опрос или вебхук."}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := b.post(sourcesWS+"/bots", c.vals)
			require.Equal(t, http.StatusUnprocessableEntity, p.status, p.main())
			require.Equal(t, "", p.doc.Find(`input[name="token"]`).AttrOr("value", ""), "a token is never sent back")
			if c.errors != nil {
				if diff := cmp.Diff(c.errors, p.errors()); diff != "" {
					t.Errorf("field errors (-want +got):\n%s", diff)
				}
			} else {
				require.NotEmpty(t, p.errors())
			}
		})
	}
	require.Len(t, f.srcConfig(t).Bots, 1, "nothing was added")

	// The webhook needs the public URL: the configuration says so at the field.
	token, _ := f.h.Env.Bot.AddBot("hook_bot")
	p := b.post(sourcesWS+"/bots", url.Values{"id": {"hook"}, "token": {token}, "mode": {"webhook"}, "api_url": {api}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status, p.main())
	require.Contains(t, p.fieldError("mode"), "http.public_url")

	srcAddBot(t, f, b, "sales")
	wc := f.srcConfig(t)
	require.Len(t, wc.Bots, 2)
	require.Equal(t, "sales", wc.Bots[1].ID)
	ev := f.srcEvents(t, "bot added")[0]
	require.Equal(t, "sales", ev.Attrs["bot"])
	for _, v := range ev.Attrs {
		require.NotContains(t, v, wc.Bots[1].Token[strings.IndexByte(wc.Bots[1].Token, ':'):])
	}
	srcEventually(t, "the new bot runs", func() bool {
		c := f.srv.srcComponent("bot:" + apptest.Workspace + "/sales")
		return c != nil && c.State == "running"
	})
}

// srcBotMessages are the stored keys of bot messages with text.
func (f *fixture) srcBotMessages(t *testing.T, text string) []chatter.Key {
	t.Helper()
	entries, err := f.h.App.Store().ListEntries(t.Context(), chatter.LedgerQuery{Workspace: apptest.Workspace,
		Source: chatter.SourceBot, Limit: 1000, WithMessage: true})
	require.NoError(t, err)
	var out []chatter.Key
	for _, e := range entries {
		if e.Message != nil && e.Message.Text == text {
			out = append(out, e.Key)
		}
	}
	return out
}

// srcRunning waits until component name runs.
func (f *fixture) srcRunning(t *testing.T, name string) {
	t.Helper()
	srcEventually(t, name+" runs", func() bool {
		c := f.srv.srcComponent(name)
		return c != nil && c.State == "running"
	})
}

// TestSourcesBotTokenReplace: a new token of the same bot keeps the
// message keys (the history stays, Chatwoot #6617); another bot's token
// is saved only after a confirmation; the token is never sent back.
func TestSourcesBotTokenReplace(t *testing.T) {
	f, b := srcAdmin(t, fixtureOpts{})
	token, bot := srcAddBot(t, f, b, "sales")
	f.srcRunning(t, "bot:demo/sales")
	fake := f.h.Env.Bot
	olga := fake.AddUser("olga", "Ольга")
	chat := fake.PrivateChat(olga, bot)
	fake.UserWrites(chat, olga, "до замены токена")
	srcEventually(t, "the first message is stored", func() bool { return len(f.srcBotMessages(t, "до замены токена")) == 1 })

	// Errors keep the old token.
	url1 := sourcesWS + "/bots/sales/token"
	p := b.post(url1, url.Values{"token": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "Вставьте токен из @BotFather.", p.fieldError("token"))
	p = b.post(url1, url.Values{"token": {"42:AAnotabotnotabotnotabotnotabotnotab"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.fieldError("token"), "401 Unauthorized")
	require.Equal(t, token, f.srcConfig(t).Bots[1].Token)

	// /revoke in @BotFather: the same bot, a new token.
	fresh := bot.RevokeToken()
	p = b.post(url1, url.Values{"token": {fresh}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "это тот же бот @sales_bot")
	require.Contains(t, p.alert(), "история и ключи сообщений сохранены")
	require.NotContains(t, p.body, fresh)
	require.Equal(t, fresh, f.srcConfig(t).Bots[1].Token)
	f.srcRunning(t, "bot:demo/sales")
	fake.UserWrites(chat, olga, "после замены токена")
	srcEventually(t, "the second message is stored", func() bool { return len(f.srcBotMessages(t, "после замены токена")) == 1 })
	before, after := f.srcBotMessages(t, "до замены токена")[0], f.srcBotMessages(t, "после замены токена")[0]
	require.Equal(t, before.Account, after.Account, "the same bot's messages keep their keys")
	require.Equal(t, before.ChatID, after.ChatID)
	ev := f.srcEvents(t, "bot token replaced")[0]
	require.Equal(t, "true", ev.Attrs["same_bot"])

	// Another bot's token: a warning first, saved once confirmed.
	other, otherBot := fake.AddBot("other_bot")
	p = b.post(url1, url.Values{"token": {other}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status, p.main())
	require.Contains(t, p.srcText("#other-bot"), "Этот токен другого бота: @other_bot")
	require.Contains(t, p.srcText("#other-bot"), "получат новые ключи")
	require.Equal(t, "Это другой бот: подтвердите замену.", p.fieldError("confirm_other"))
	require.NotContains(t, p.body, other)
	require.Equal(t, fresh, f.srcConfig(t).Bots[1].Token, "nothing saved before the confirmation")
	p = b.post(url1, url.Values{"token": {other}, "confirm_other": {"yes"}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "теперь подключён бот @other_bot")
	require.Equal(t, other, f.srcConfig(t).Bots[1].Token)
	f.srcRunning(t, "bot:demo/sales")
	fake.UserWrites(fake.PrivateChat(olga, otherBot), olga, "другому боту")
	srcEventually(t, "the other bot's message is stored", func() bool { return len(f.srcBotMessages(t, "другому боту")) == 1 })
	require.NotEqual(t, before.Account, f.srcBotMessages(t, "другому боту")[0].Account, "another bot's messages get keys of their own")
}

// TestSourcesBotChatsAndRights: the chats the bot is in with its rights,
// the privacy mode, and the chat check.
func TestSourcesBotChatsAndRights(t *testing.T) {
	f, b := srcAdmin(t, fixtureOpts{})
	_, bot := srcAddBot(t, f, b, "sales")
	f.srcRunning(t, "bot:demo/sales")
	fake := f.h.Env.Bot
	owner := fake.AddUser("owner", "Владелец")
	group := fake.AddChat(tgbottest.ChatSupergroup, "Ремонт Москва", "remont_msk", owner)
	fake.AddBotToChat(group, bot, owner)
	var p *page
	srcEventually(t, "the group on the bot's page", func() bool {
		p = b.get(sourcesWS + "/bots/sales")
		return p.doc.Find("#bot-chats tr[data-chat]").Length() == 1
	})
	row := p.doc.Find("#bot-chats tr[data-chat]")
	require.Contains(t, row.Text(), "Ремонт Москва")
	require.Contains(t, row.Text(), "участник")

	// A plain member with privacy mode on does not see the messages: the
	// check says so and what to do.
	p = b.submit(p, `#bot-chats form`, nil)
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.doc.Find("#result .src-result").AttrOr("class", ""), "error")
	require.Contains(t, p.srcText("#result"), "режим приватности")
	require.Contains(t, p.srcText("#result"), "/setprivacy")

	// Promoted with rights: the rights are listed and the check passes.
	fake.PromoteBot(group, bot, owner, tgbottest.Rights{CanDeleteMessages: true, CanPinMessages: true})
	srcEventually(t, "the bot is an administrator", func() bool {
		p = b.get(sourcesWS + "/bots/sales")
		return strings.Contains(p.srcText("#bot-chats"), "администратор")
	})
	require.Contains(t, p.srcText("#bot-chats"), "удаление сообщений")
	require.Contains(t, p.srcText("#bot-chats"), "закрепление")
	p = b.submit(p, `#bot-chats form`, nil)
	require.Contains(t, p.doc.Find("#result .src-result").AttrOr("class", ""), "ok", p.srcText("#result"))

	// Privacy mode off shows on the page.
	bot.SetPrivacy(false)
	p = b.get(sourcesWS + "/bots/sales")
	require.Contains(t, p.srcText("#privacy"), "выключен")

	// A chat by id: bad input next to the field, an unknown chat explained.
	p = b.post(sourcesWS+"/bots/sales/chats/check", url.Values{"chat_id": {"abc"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "id чата — целое число, например −1001234567890.", p.srcText("#chat_id-error"))
	require.Equal(t, "true", p.doc.Find("#chat_id").AttrOr("aria-invalid", ""))
	p = b.post(sourcesWS+"/bots/sales/chats/check", url.Values{"chat_id": {"-100999"}})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.srcText("#result"), "Чат не найден")
}

// TestSourcesBotModeAndDisable: switching the mode (the webhook needs the
// public URL; back to polling deletes the webhook) and disabling a bot
// behind a confirmation.
func TestSourcesBotModeAndDisable(t *testing.T) {
	f, b := srcAdmin(t, fixtureOpts{})
	_, bot := srcAddBot(t, f, b, "sales")
	p := b.post(sourcesWS+"/bots/sales/mode", url.Values{"mode": {"webhook"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.fieldError("mode"), "режиму webhook нужен http.public_url")
	require.Equal(t, "polling", f.srcConfig(t).Bots[1].Mode)
	p = b.post(sourcesWS+"/bots/sales/mode", url.Values{"mode": {"fax"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "Выберите опрос или вебхук.", p.fieldError("mode"))

	// Disabling needs the confirmation.
	p = b.post(sourcesWS+"/bots/sales/enabled", url.Values{"enabled": {"0"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "Подтвердите действие: поставьте отметку.", p.fieldError("disable_confirm"))
	require.False(t, f.srcConfig(t).Bots[1].Disabled)
	p = b.post(sourcesWS+"/bots/sales/enabled", url.Values{"enabled": {"0"}, "disable_confirm": {"yes"}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "Бот sales отключён.")
	require.True(t, f.srcConfig(t).Bots[1].Disabled)
	require.Contains(t, p.srcText("h1"), "отключён")
	require.Contains(t, p.srcText("#me"), "@sales_bot", "a disabled bot's token can still be tested")
	p = b.post(sourcesWS+"/bots/sales/enabled", url.Values{"enabled": {"1"}})
	require.Contains(t, p.alert(), "Бот sales включён.")
	f.srcRunning(t, "bot:demo/sales")
	require.Equal(t, 0, bot.Calls("deleteWebhook"))
}

// TestSourcesBotWebhook: with the public URL the bot switches to the
// webhook (the server sets it at Telegram), and back to polling deletes it.
func TestSourcesBotWebhook(t *testing.T) {
	f := start(t, fixtureOpts{publicURL: "http://127.0.0.1:1"})
	f.user(t, "admin", auth.RoleAdmin)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	_, bot := srcAddBot(t, f, b, "sales")
	p := b.post(sourcesWS+"/bots/sales/mode", url.Values{"mode": {"webhook"}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "переключён на вебхук")
	srcEventually(t, "the webhook is set", func() bool { return bot.WebhookURL() != "" })
	// (The demo's Bot API relays webhooks: the fake holds its relay URL.)
	p = b.get(sourcesWS + "/bots/sales")
	require.Contains(t, p.srcText("#webhook-info"), "http://127.0.0.1:1/telegram/demo/sales")

	p = b.post(sourcesWS+"/bots/sales/mode", url.Values{"mode": {"polling"}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "переключён на опрос")
	require.Equal(t, "", bot.WebhookURL(), "the webhook was deleted at Telegram")
	require.Equal(t, 0, p.doc.Find(`form[action$="/webhook/delete"]`).Length())
	f.srcRunning(t, "bot:demo/sales")
}
