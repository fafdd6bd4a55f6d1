package web

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/webhooknotify"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/examples/server/internal/demo"
)

const notifPage = "/notifications"

// notifs is the demo workspace's stored notification settings.
func notifs(t *testing.T, f *fixture) config.Notifications {
	t.Helper()
	wc, ok := f.h.App.WorkspaceConfig(apptest.Workspace)
	require.True(t, ok)
	return wc.Notifications
}

// noSecretInEvents checks that no event of the server's log or the
// workspace's holds one of secrets.
func noSecretInEvents(t *testing.T, f *fixture, secrets ...string) {
	t.Helper()
	for _, ws := range []string{auth.ServerWorkspace, apptest.Workspace} {
		evs, err := f.h.App.Store().ListEvents(context.Background(), chatter.EventQuery{Workspace: ws, Limit: 1000})
		require.NoError(t, err)
		for _, e := range evs {
			line := e.Text + " " + fmt.Sprint(e.Attrs)
			for _, s := range secrets {
				require.NotContains(t, line, s, "event %q", e.Text)
			}
		}
	}
}

// flashText is the page's first message (the flash of the action).
func flashText(p *page) string {
	return squash(p.doc.Find("main > .alert").First().Text())
}

// formWithText is p.form with the form's textareas too.
func formWithText(p *page, sel string) url.Values {
	p.t.Helper()
	vals, _ := p.form(sel)
	p.doc.Find(sel + " textarea").Each(func(_ int, ta *goquery.Selection) {
		vals.Set(ta.AttrOr("name", ""), ta.Text())
	})
	return vals
}

// wsEvents returns the demo workspace's events with text (waiting for at
// least one).
func wsEvents(t *testing.T, f *fixture, text string) []chatter.Event {
	t.Helper()
	var out []chatter.Event
	require.Eventually(t, func() bool {
		evs, err := f.h.App.Store().ListEvents(context.Background(), chatter.EventQuery{Workspace: apptest.Workspace, Limit: 1000})
		require.NoError(t, err)
		out = out[:0]
		for _, e := range evs {
			if e.Text == text {
				out = append(out, e)
			}
		}
		return len(out) > 0
	}, 10*time.Second, 50*time.Millisecond, "no event %q", text)
	return out
}

func adminBrowser(t *testing.T, f *fixture) *browser {
	t.Helper()
	f.user(t, "admin", auth.RoleAdmin)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	return b
}

func TestNotificationsSMTPSettings(t *testing.T) {
	f := start(t, fixtureOpts{})
	b := adminBrowser(t, f)
	p := b.get(notifPage)
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, "Уведомления", p.h1())
	require.Contains(t, p.main(), "Настройте SMTP, чтобы проверить SPF и DKIM")

	const password = "mail-Pass-0042xyz"
	p = b.submit(p, "#smtp-form", map[string]string{"smtp_host": "smtp.example.com", "smtp_tls": "starttls",
		"smtp_username": "chatter@example.invalid", "smtp_password": password, "smtp_from": "Chatter <chatter@example.invalid>"})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, "Настройки уведомлений сохранены.", flashText(p))
	got := notifs(t, f).SMTP
	require.Equal(t, config.SMTP{Host: "smtp.example.com", Port: 587, TLS: "starttls", Username: "chatter@example.invalid",
		Password: password, From: "Chatter <chatter@example.invalid>"}, got)
	// The password never comes back into the page: a mask, and the field is empty.
	require.NotContains(t, p.body, password)
	require.Equal(t, "", p.doc.Find("#smtp_password").AttrOr("value", ""))
	require.Contains(t, p.doc.Find("#smtp_password-hint").Text(), "•••• 2xyz")
	require.Equal(t, "587", p.doc.Find("#smtp_port").AttrOr("value", ""))
	// SMTP without recipients: the page warns.
	require.Contains(t, p.doc.Find("#notif-warnings").Text(), "SMTP настроен, но получателей нет")

	// Saved again with the password field empty: the password is kept.
	p = b.submit(p, "#smtp-form", map[string]string{"smtp_port": "2525", "smtp_english": "1"})
	require.Equal(t, "Настройки уведомлений сохранены.", flashText(p), p.main())
	got = notifs(t, f).SMTP
	require.Equal(t, password, got.Password)
	require.Equal(t, 2525, got.Port)
	require.True(t, got.English)

	// Bad input: each problem next to its field, nothing stored.
	p = b.submit(p, "#smtp-form", map[string]string{"smtp_port": "ssh", "smtp_host": "smtp.example.com:25"})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, map[string]string{"smtp_port": "Порт — число от 1 до 65535."}, p.errors())
	p = b.submit(b.get(notifPage), "#smtp-form", map[string]string{"smtp_host": "smtp.example.com:25", "smtp_from": "not an address",
		"smtp_port": "70000"})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	errs := p.errors()
	require.Equal(t, "только имя хоста; порт — в smtp.port", errs["smtp_host"])
	require.Equal(t, "порт от 1 до 65535", errs["smtp_port"])
	require.Contains(t, errs["smtp_from"], "не адрес почты")
	require.Equal(t, "smtp.example.com:25", p.doc.Find("#smtp_host").AttrOr("value", ""), "the form keeps what was typed")
	require.NotContains(t, p.body, password)
	require.Equal(t, "/notifications", mustURL(t, p.doc.Find(`form.lang input[name="next"]`).AttrOr("value", "")).Path)
	require.Equal(t, 2525, notifs(t, f).SMTP.Port, "nothing was stored")
	p = b.submit(b.get(notifPage), "#smtp-form", map[string]string{"smtp_username": ""})
	require.Equal(t, map[string]string{"smtp_username": "пароль задан, а имя пользователя нет"}, p.errors())

	// Deleting the password, then every field: SMTP is off.
	p = b.submit(b.get(notifPage), "#smtp-form", map[string]string{"smtp_password_clear": "1"})
	require.Equal(t, "Настройки уведомлений сохранены.", flashText(p), p.main())
	require.Equal(t, "", notifs(t, f).SMTP.Password)
	p = b.submit(b.get(notifPage), "#smtp-form", map[string]string{"smtp_host": "", "smtp_port": "", "smtp_username": "", "smtp_from": ""})
	require.Equal(t, "Настройки SMTP удалены.", flashText(p), p.main())
	require.True(t, notifs(t, f).SMTP.IsZero())

	evs := wsEvents(t, f, "notification settings changed")
	require.NotEmpty(t, evs)
	require.Equal(t, "admin", evs[0].Attrs["by"])
	require.Equal(t, "127.0.0.1", evs[0].Attrs["addr"])
	require.Equal(t, "smtp", evs[0].Attrs["section"])
	noSecretInEvents(t, f, password)
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

func TestNotificationsEmailRecipientsPerType(t *testing.T) {
	ms := startTestSMTP(t)
	f := startConfigured(t, withSMTP(ms), false)
	b := adminBrowser(t, f)
	p := b.get(notifPage)
	require.Equal(t, 11, p.doc.Find("#email-routes tbody tr").Length(), "one row per notification type")
	require.Equal(t, 0, p.doc.Find(`#email-form input[name="email_on"][checked]`).Length())

	p = b.submit(p, "#email-form", map[string]string{"email_on": "new_lead", "email_to_new_lead": "sales@example.com, head@example.com"})
	require.Equal(t, "Настройки уведомлений сохранены.", flashText(p), p.main())
	vals := formWithText(p, "#email-form")
	vals.Add("email_on", "delivery_failed")
	vals.Set("email_to_delivery_failed", "admin@example.com\nhead@example.com")
	vals.Add("email_on", "auth_failed")
	vals.Set("email_to_auth_failed", "admin@example.com head@example.com")
	vals.Set("email_to_digest", "ignored@example.com") // off: not kept
	p = b.post("/notifications/demo/email", vals)
	require.Equal(t, "Настройки уведомлений сохранены.", flashText(p), p.main())
	want := []config.EmailRoute{
		{To: []string{"sales@example.com", "head@example.com"}, Events: []string{"new_lead"}},
		{To: []string{"admin@example.com", "head@example.com"}, Events: []string{"delivery_failed", "auth_failed"}},
	}
	if d := cmp.Diff(want, notifs(t, f).Email); d != "" {
		t.Fatalf("routes (-want +got):\n%s", d)
	}
	require.Equal(t, "admin@example.com, head@example.com", p.doc.Find("#email_to_auth_failed").Text())
	require.Equal(t, "", p.doc.Find("#email_to_digest").Text())
	rt, ok := f.h.App.Runtime(apptest.Workspace)
	require.True(t, ok)
	require.NotNil(t, rt.SMTP, "the workspace mails now")
	require.Equal(t, []string{"admin@example.com", "head@example.com"}, rt.SMTP.RecipientsFor(chatter.NotifyAuthFailed))
	require.Empty(t, rt.SMTP.RecipientsFor(chatter.NotifyDigest))

	// Every type on with the same recipients: one route for every event.
	vals = url.Values{}
	for _, typ := range config.NotificationTypes() {
		vals.Add("email_on", string(typ))
		vals.Set("email_to_"+string(typ), "all@example.com")
	}
	p = b.post("/notifications/demo/email", vals)
	require.Equal(t, "Настройки уведомлений сохранены.", flashText(p), p.main())
	require.Equal(t, []config.EmailRoute{{To: []string{"all@example.com"}}}, notifs(t, f).Email)

	// A type on without addresses; a bad address (the configuration's
	// problem, at every type of its route).
	p = b.post("/notifications/demo/email", url.Values{"email_on": {"new_lead", "source_down", "source_up"},
		"email_to_source_down": {"ops@"}, "email_to_source_up": {"ops@"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "Укажите хотя бы один адрес или выключите этот тип.", p.fieldError("email_to_new_lead"))
	require.Equal(t, "", p.fieldError("email_to_source_down"), "checked only after the form's own problems")
	p = b.post("/notifications/demo/email", url.Values{"email_on": {"source_down", "source_up"},
		"email_to_source_down": {"ops@"}, "email_to_source_up": {"ops@"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, `"ops@" — не адрес почты`, p.fieldError("email_to_source_down"))
	require.Equal(t, `"ops@" — не адрес почты`, p.fieldError("email_to_source_up"))
	require.Equal(t, "", p.fieldError("email_to_new_lead"))
	require.Equal(t, "ops@", p.doc.Find("#email_to_source_down").Text(), "what was typed stays")
	require.Equal(t, []config.EmailRoute{{To: []string{"all@example.com"}}}, notifs(t, f).Email, "nothing was stored")
}

func TestNotificationsEmailNeedsSMTP(t *testing.T) {
	f := start(t, fixtureOpts{})
	b := adminBrowser(t, f)
	p := b.get(notifPage)
	require.Contains(t, p.doc.Find("#email").Text(), "Письма не уйдут, пока не настроен почтовый сервер")
	p = b.submit(p, "#email-form", map[string]string{"email_on": "new_lead", "email_to_new_lead": "sales@example.com"})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.doc.Find("#email .alert.error").Text(), "письма некуда отправить: настройте notifications.smtp")
	require.Empty(t, notifs(t, f).Email)
}

func TestNotificationsSMTPTestSend(t *testing.T) {
	ms := startTestSMTP(t)
	f := startConfigured(t, withSMTP(ms, "head@example.com", "sales@example.com"), false)
	b := adminBrowser(t, f)
	p := b.get(notifPage)
	p = b.submit(p, "#smtp-send", nil)
	require.Equal(t, "/notifications", p.url.Path)
	require.Equal(t, "Тестовое уведомление отправлено: head@example.com, sales@example.com. Проверьте, что оно пришло.", flashText(p))
	m := ms.waitFor(t, "[Chatter] Проверка уведомлений Chatter")
	require.ElementsMatch(t, []string{"head@example.com", "sales@example.com"}, m.To)

	p = b.submit(p, "#smtp-send", map[string]string{"smtp_test_to": "boss@example.com"})
	require.Contains(t, flashText(p), "отправлено: boss@example.com")
	require.Equal(t, []string{"boss@example.com"}, ms.waitFor(t, "Проверка уведомлений").To)

	p = b.submit(p, "#smtp-send", map[string]string{"smtp_test_to": "boss@"})
	require.Equal(t, "Адрес для тестового письма указан неверно: нужен адрес вида name@example.com.", flashText(p))

	// A server that does not answer: the error in plain words.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	p = b.submit(b.get(notifPage), "#smtp-form", map[string]string{"smtp_port": strconv.Itoa(port)})
	require.Equal(t, "Настройки уведомлений сохранены.", flashText(p), p.main())
	p = b.submit(p, "#smtp-send", nil)
	require.Contains(t, flashText(p), "Тестовое уведомление (head@example.com, sales@example.com) не отправлено.")
	require.Contains(t, flashText(p), "Почтовый сервер 127.0.0.1:"+strconv.Itoa(port)+" недоступен")
	evs := wsEvents(t, f, "test notification failed")
	require.Equal(t, "email", evs[0].Attrs["channel"])
	require.Equal(t, "admin", evs[0].Attrs["by"])
}

func TestNotificationsSMTPTestWithoutSMTP(t *testing.T) {
	f := start(t, fixtureOpts{})
	b := adminBrowser(t, f)
	require.Equal(t, 0, b.get(notifPage).doc.Find("#smtp-send").Length(), "no test without SMTP settings")
	p := b.post("/notifications/demo/smtp/send", nil)
	require.Equal(t, "SMTP не настроен: сначала сохраните настройки почтового сервера.", flashText(p))
}

func TestNotificationsSenderDomainChecks(t *testing.T) {
	ms := startTestSMTP(t)
	f := startConfigured(t, withSMTP(ms, "head@example.com"), false)
	b := adminBrowser(t, f)
	p := b.get(notifPage)
	var names []string
	p.doc.Find("#dns li.diag-check").Each(func(_ int, s *goquery.Selection) { names = append(names, s.AttrOr("data-check", "")) })
	require.Equal(t, []string{"smtp_sender_spf", "smtp_sender_dkim"}, names)
	// example.invalid has no records (or no DNS answers here): not ok, with
	// the remedy.
	spf := p.doc.Find(`#dns li[data-check="smtp_sender_spf"]`)
	require.Equal(t, "warn", spf.AttrOr("data-status", ""))
	require.Contains(t, spf.Text(), "example.invalid")
	require.NotEmpty(t, strings.TrimSpace(spf.Find(".diag-remedy").Text()))
}

// playBot plays demo conversations and waits for them to be delivered;
// it returns the chat id of a person who wrote to the bot.
func playBot(t *testing.T, f *fixture, conversations int) int64 {
	t.Helper()
	gen, err := demo.NewGenerator(f.h.Env, demo.GeneratorConfig{Seed: 7, Rate: 1000, Conversations: conversations,
		Wait: func(ctx context.Context, d time.Duration) error { return ctx.Err() }})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, gen.Run(ctx))
	var chat int64
	bot := 0
	for _, pl := range gen.Played() {
		if pl.Chat == demo.ChatBot {
			chat = pl.ChatID
			bot++
		}
	}
	require.NotZero(t, chat, "no conversation with the bot was played")
	settleLedger(t, f, bot)
	return chat
}

// settleLedger waits until the demo ledger holds at least want entries and
// none waits for delivery.
func settleLedger(t *testing.T, f *fixture, want int) map[chatter.State]int {
	t.Helper()
	var counts map[chatter.State]int
	require.Eventually(t, func() bool {
		var err error
		counts, err = f.h.App.Store().CountEntries(context.Background(), chatter.LedgerQuery{Workspace: apptest.Workspace})
		require.NoError(t, err)
		total := 0
		for _, n := range counts {
			total += n
		}
		return total >= want && counts[chatter.StateReceived]+counts[chatter.StateQueued]+counts[chatter.StateDelivering]+counts[chatter.StateFailed] == 0
	}, 2*time.Minute, 50*time.Millisecond, "the ledger did not settle")
	return counts
}

func TestNotificationsTelegramRoutes(t *testing.T) {
	f := start(t, fixtureOpts{})
	b := adminBrowser(t, f)
	chat := playBot(t, f, 1)
	p := b.get(notifPage)
	require.Equal(t, 1, p.doc.Find("#tg-form fieldset.route").Length(), "the empty row")
	require.Equal(t, "demo-bot", p.doc.Find(`#tg_0_bot option[selected]`).AttrOr("value", ""))

	p = b.submit(p, "#tg-form", map[string]string{"tg_0_chat": strconv.FormatInt(chat, 10), "tg_0_lang": "both"})
	require.Equal(t, "Настройки уведомлений сохранены.", flashText(p), p.main())
	require.Equal(t, []config.TelegramRoute{{Bot: "demo-bot", ChatID: chat, Lang: "both"}}, notifs(t, f).Telegram, "every event: no list")

	// A second route with two events, then the test of the first.
	vals, _ := p.form("#tg-form")
	vals.Set("tg_1_chat", "-1001234567890")
	vals["tg_1_events"] = []string{"new_lead", "delivery_failed"}
	p = b.post("/notifications/demo/telegram", vals)
	require.Equal(t, "Настройки уведомлений сохранены.", flashText(p), p.main())
	require.Equal(t, []config.TelegramRoute{{Bot: "demo-bot", ChatID: chat, Lang: "both"},
		{Bot: "demo-bot", ChatID: -1001234567890, Lang: "ru", Events: []string{"new_lead", "delivery_failed"}}}, notifs(t, f).Telegram)
	require.Equal(t, 2, p.doc.Find(`#tg_1_events_new_lead[checked], #tg_1_events_delivery_failed[checked]`).Length())
	require.Equal(t, 0, p.doc.Find(`#tg_1_events_digest[checked]`).Length())

	before := len(f.h.Env.Bot.Sent())
	p = b.submit(p, "form#tg-send-0", nil)
	require.Equal(t, "Тестовое уведомление отправлено: demo-bot → "+strconv.FormatInt(chat, 10)+". Проверьте, что оно пришло.", flashText(p))
	sent := f.h.Env.Bot.Sent()[before:]
	require.Len(t, sent, 1)
	require.Equal(t, chat, sent[0].ChatID)
	require.Contains(t, sent[0].Text, "Проверка уведомлений Чаттера")
	require.Contains(t, sent[0].Text, "Chatter notification test", "lang both")
	// A chat the bot never was in: Telegram's error, in plain words.
	p = b.submit(p, "form#tg-send-1", nil)
	require.Contains(t, flashText(p), "Тестовое уведомление (demo-bot → -1001234567890) не отправлено. Чат не найден")
	require.Equal(t, http.StatusNotFound, b.post("/notifications/demo/telegram/send", url.Values{"index": {"7"}}).status)

	// Bad input next to the fields.
	vals, _ = p.form("#tg-form")
	vals.Set("tg_0_chat", "@sales")
	vals.Del("tg_1_events")
	vals.Set("tg_1_bot", "ghost-bot")
	p = b.post("/notifications/demo/telegram", vals)
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, map[string]string{"tg_0_chat": "Нужен числовой id чата (у групп и каналов он начинается с -100).",
		"tg_1_events": "Выберите хотя бы одно событие (или удалите маршрут)."}, p.errors())
	vals, _ = b.get(notifPage).form("#tg-form")
	vals.Set("tg_1_bot", "ghost-bot")
	p = b.post("/notifications/demo/telegram", vals)
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.errors()["tg_1_bot"], `бота "ghost-bot" нет в этом рабочем пространстве`)
	require.Len(t, notifs(t, f).Telegram, 2, "nothing was stored")

	// Delete the second route.
	p = b.submit(b.get(notifPage), "#tg-form", map[string]string{"tg_1_delete": "1"})
	require.Equal(t, "Настройки уведомлений сохранены.", flashText(p), p.main())
	require.Len(t, notifs(t, f).Telegram, 1)
}

// hookReceiver is a webhook target that checks the signature.
type hookReceiver struct {
	srv    *httptest.Server
	secret string
	status int

	mu    sync.Mutex
	got   []string // event headers of the verified requests
	wrong int      // requests whose signature did not verify
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	hr := &hookReceiver{secret: secret, status: http.StatusNoContent}
	hr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hr.mu.Lock()
		defer hr.mu.Unlock()
		if err := webhooknotify.Verify([]byte(hr.secret), r.Header, body, time.Now(), time.Minute); err != nil {
			hr.wrong++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		hr.got = append(hr.got, r.Header.Get(webhooknotify.HeaderEvent))
		w.WriteHeader(hr.status)
	}))
	t.Cleanup(hr.srv.Close)
	return hr
}

func TestNotificationsWebhooks(t *testing.T) {
	const secret = "hook-Signing-secret-9931"
	hr := newHookReceiver(t, secret)
	hookURL := hr.srv.URL + "/in?token=url-Token-7788"
	f := start(t, fixtureOpts{allowPrivateWebhooks: true}) // the receiver is on loopback
	b := adminBrowser(t, f)
	p := b.get(notifPage)
	p = b.submit(p, "#wh-form", map[string]string{"wh_0_url": hookURL, "wh_0_secret": secret})
	require.Equal(t, "Настройки уведомлений сохранены.", flashText(p), p.main())
	require.Equal(t, []config.WebhookNotifications{{URL: hookURL, Secret: secret}}, notifs(t, f).Webhooks)
	// Neither the URL nor the secret is in the page: masked.
	require.NotContains(t, p.body, "url-Token-7788")
	require.NotContains(t, p.body, secret)
	host := mustURL(t, hookURL).Host
	require.Contains(t, p.doc.Find("#wh_0_url-hint").Text(), "http://"+host+"/…7788")
	require.Contains(t, p.doc.Find("#wh_0_secret-hint").Text(), "•••• 9931")
	require.Equal(t, "", p.doc.Find("#wh_0_url").AttrOr("value", ""))

	// Saved with the fields empty: both kept; the events change.
	vals, _ := p.form("#wh-form")
	vals["wh_0_events"] = []string{"new_lead"}
	p = b.post("/notifications/demo/webhooks", vals)
	require.Equal(t, "Настройки уведомлений сохранены.", flashText(p), p.main())
	require.Equal(t, []config.WebhookNotifications{{URL: hookURL, Secret: secret, Events: []string{"new_lead"}}}, notifs(t, f).Webhooks)

	// Test: a signed request the receiver verifies.
	p = b.submit(p, "form#wh-send-0", nil)
	require.Equal(t, "Тестовое уведомление отправлено: http://"+host+"/…7788. Проверьте, что оно пришло.", flashText(p))
	hr.mu.Lock()
	require.Equal(t, []string{"test"}, hr.got)
	require.Zero(t, hr.wrong)
	hr.status = http.StatusInternalServerError
	hr.mu.Unlock()
	p = b.submit(p, "form#wh-send-0", nil)
	require.Contains(t, flashText(p), "не отправлено. Вебхук http://"+host+"/in ответил HTTP 500")
	require.NotContains(t, p.body, "url-Token-7788")

	// Bad input: a new row without a secret, a URL that is not http(s).
	vals, _ = p.form("#wh-form")
	vals.Set("wh_1_url", "ftp://files.example.com/drop")
	p = b.post("/notifications/demo/webhooks", vals)
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	errs := p.errors()
	require.Equal(t, "нужен полный адрес http:// или https://", errs["wh_1_url"])
	require.Contains(t, errs["wh_1_secret"], "не короче 16 символов")
	require.NotContains(t, p.body, "ftp://files.example.com/drop", "a typed URL is a secret too")
	vals, _ = b.get(notifPage).form("#wh-form")
	vals["wh_0_events"] = nil
	p = b.post("/notifications/demo/webhooks", vals)
	require.Equal(t, map[string]string{"wh_0_events": "Выберите хотя бы одно событие (или удалите маршрут)."}, p.errors())
	require.Len(t, notifs(t, f).Webhooks, 1)

	// Replace the secret, then delete the target.
	p = b.submit(b.get(notifPage), "#wh-form", map[string]string{"wh_0_secret": "another-secret-0000000"})
	require.Equal(t, "another-secret-0000000", notifs(t, f).Webhooks[0].Secret)
	require.Equal(t, hookURL, notifs(t, f).Webhooks[0].URL)
	p = b.submit(p, "#wh-form", map[string]string{"wh_0_delete": "1"})
	require.Equal(t, "Настройки уведомлений сохранены.", flashText(p), p.main())
	require.Empty(t, notifs(t, f).Webhooks)
	noSecretInEvents(t, f, secret, "url-Token-7788", "another-secret-0000000")
}

// By default a workspace admin's webhook cannot reach the server's own
// host or network: the test send is refused before any request, in plain
// words, and the app's notifier refuses the same.
func TestNotificationsWebhookGuard(t *testing.T) {
	const secret = "hook-Signing-secret-9931"
	hr := newHookReceiver(t, secret)
	for _, hookURL := range []string{hr.srv.URL + "/in", "http://localhost:" + mustURL(t, hr.srv.URL).Port() + "/in"} {
		f := start(t, fixtureOpts{})
		b := adminBrowser(t, f)
		p := b.submit(b.get(notifPage), "#wh-form", map[string]string{"wh_0_url": hookURL, "wh_0_secret": secret})
		require.Equal(t, "Настройки уведомлений сохранены.", flashText(p), p.main())
		p = b.submit(p, "form#wh-send-0", nil)
		require.Contains(t, flashText(p), "не отправлено. Вебхук ", hookURL)
		require.Contains(t, flashText(p), "— внутренний", hookURL)
		require.Contains(t, flashText(p), "Chatter не отправляет туда уведомления", hookURL)

		ws, ok := f.h.App.Runtime(apptest.Workspace)
		require.True(t, ok)
		require.Len(t, ws.Webhooks, 1)
		err := ws.Webhooks[0].Notify(t.Context(), notifTest(apptest.Workspace, time.Now()))
		var ae *webhooknotify.AddressError
		require.ErrorAs(t, err, &ae, "the app's notifier: %v", err)
	}
	hr.mu.Lock()
	defer hr.mu.Unlock()
	require.Empty(t, hr.got, "a request reached the loopback receiver")
	require.Zero(t, hr.wrong)
}

func TestNotificationsRefusals(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	m := f.browser(t)
	m.signedIn("ivan", goodPassword)
	require.Equal(t, http.StatusForbidden, m.get(notifPage).status)
	for _, path := range []string{"smtp", "smtp/send", "email", "telegram", "telegram/send", "webhooks", "webhooks/send"} {
		p := m.post("/notifications/demo/"+path, url.Values{"smtp_host": {"evil.example.com"}, "index": {"0"}})
		require.Equal(t, http.StatusForbidden, p.status, path)
	}
	require.True(t, notifs(t, f).SMTP.IsZero(), "nothing changed")

	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	require.Equal(t, http.StatusNotFound, b.get(notifPage+"?ws=nope").status)
	require.Equal(t, http.StatusNotFound, b.post("/notifications/nope/smtp", url.Values{"smtp_host": {"x"}}).status)
	require.Equal(t, http.StatusNotFound, b.post("/notifications/demo/webhooks/send", url.Values{"index": {"0"}}).status)
}

func TestNotifMasks(t *testing.T) {
	require.Equal(t, "", notifMask(""))
	require.Equal(t, "••••", notifMask("short-pass"))
	require.Equal(t, "•••• 5678", notifMask("long-password-5678"))
	require.Equal(t, "https://hooks.example.com/…ab12", notifMaskURL("https://hooks.example.com/services/T0/ab12"))
	require.Equal(t, "https://hooks.example.com/…ab12", notifMaskURL("https://user:pw@hooks.example.com/x?k=ab12"))
	require.Equal(t, "https://hooks.example.com/…", notifMaskURL("https://hooks.example.com/"))
	require.Equal(t, []string{"a@x.ru", "b@y.ru", "c@z.ru"}, notifAddresses(" a@x.ru,b@y.ru;\nc@z.ru a@x.ru "))
}
