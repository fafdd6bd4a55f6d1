package tgbot_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

func runCheck(t *testing.T, c chatter.Check) chatter.CheckResult {
	t.Helper()
	r := c.Run(t.Context())
	if r.Name != c.Name() || r.Title.RU == "" || r.Title.EN == "" || r.Guide == "" {
		t.Fatalf("result lacks name/title/guide: %+v", r)
	}
	if r.Status != chatter.StatusOK && (r.Cause.RU == "" || r.Cause.EN == "" || r.Remedy.RU == "" || r.Remedy.EN == "") {
		t.Fatalf("a failing check must say cause and remedy in ru and en: %+v", r)
	}
	return r
}

func TestTokenCheck(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	c := newClient(t, srv, token)
	if r := runCheck(t, tgbot.TokenCheck(c, nil)); r.Status != chatter.StatusOK || r.Details["username"] != "shop_bot" {
		t.Fatalf("%+v", r)
	}
	bot.RevokeToken()
	r := runCheck(t, tgbot.TokenCheck(c, nil))
	if r.Status != chatter.StatusFail || !strings.Contains(r.Cause.RU, "401") || !strings.Contains(r.Remedy.RU, "@BotFather") {
		t.Fatalf("%+v", r)
	}
	for _, v := range r.Details {
		if strings.Contains(v, token) {
			t.Fatal("token in details")
		}
	}
}

func TestDeliveryCheckPollingAndWebhook(t *testing.T) {
	srv := tgbottest.NewServer(t, tgbottest.WithWebhookRetry(time.Millisecond, 5*time.Millisecond, 1000))
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	c := newClient(t, srv, token)
	src, _ := tgbot.NewSource(pollingConfig(c))

	// Polling configured but not running.
	r := runCheck(t, tgbot.DeliveryCheck(tgbot.CheckConfig{Client: c, Source: src}))
	if r.Status != chatter.StatusFail || !strings.Contains(r.Cause.EN, "not running") {
		t.Fatalf("not running: %+v", r)
	}
	run(t, src, &recorder{})
	waitFor(t, "a poll", func() bool { return !src.Status().LastPollAt.IsZero() })
	if r := runCheck(t, tgbot.DeliveryCheck(tgbot.CheckConfig{Client: c, Source: src})); r.Status != chatter.StatusOK {
		t.Fatalf("polling: %+v", r)
	}

	// A webhook that answers 401 (wrong secret) while we expect polling.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}))
	defer hook.Close()
	if err := c.SetWebhook(t.Context(), &tgbot.SetWebhookParams{URL: hook.URL + "/bot" + token}); err != nil {
		t.Fatal(err)
	}
	r = runCheck(t, tgbot.DeliveryCheck(tgbot.CheckConfig{Client: c}))
	if r.Status != chatter.StatusFail || !strings.Contains(r.Remedy.RU, "переключитесь на режим вебхука") || strings.Contains(r.Details["webhook_url"], token) {
		t.Fatalf("webhook while polling: %+v", r)
	}

	cfg := tgbot.CheckConfig{Client: c, Mode: tgbot.ModeWebhook, WebhookURL: hook.URL + "/bot" + token}
	if r := runCheck(t, tgbot.DeliveryCheck(cfg)); r.Status != chatter.StatusOK {
		t.Fatalf("healthy webhook: %+v", r)
	}
	srv.UserWrites(srv.PrivateChat(alice, bot), alice, "hello")
	waitFor(t, "a delivery error", func() bool {
		info, err := c.GetWebhookInfo(t.Context())
		return err == nil && info.LastErrorMessage != ""
	})
	r = runCheck(t, tgbot.DeliveryCheck(cfg))
	if r.Status != chatter.StatusFail || r.Details["last_error_message"] != "Wrong response from the webhook: 401 Unauthorized" ||
		!strings.Contains(r.Remedy.RU, "secret_token") {
		t.Fatalf("failing webhook: %+v", r)
	}
	cfg.WebhookURL = "https://crm.example.com/tg"
	if r := runCheck(t, tgbot.DeliveryCheck(cfg)); r.Status != chatter.StatusFail || !strings.Contains(r.Cause.EN, "another URL") {
		t.Fatalf("wrong URL: %+v", r)
	}
	_ = c.DeleteWebhook(t.Context(), true)
	if r := runCheck(t, tgbot.DeliveryCheck(cfg)); r.Status != chatter.StatusFail || !strings.Contains(r.Cause.EN, "No webhook") {
		t.Fatalf("no webhook: %+v", r)
	}
}

func TestChatChecks(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	owner := srv.AddUser("owner", "Owner")
	c := newClient(t, srv, token)
	group := srv.AddChat(tgbottest.ChatSupergroup, "Sales", "", owner)
	check := tgbot.ChatCheck(c, group.ID, nil)

	if r := runCheck(t, check); r.Status != chatter.StatusFail || !strings.Contains(r.Remedy.RU, "бота в чат") {
		t.Fatalf("never added: %+v", r)
	}
	srv.AddBotToChat(group, bot, owner)
	r := runCheck(t, check)
	if r.Status != chatter.StatusFail || !strings.Contains(r.Cause.RU, "режим приватности") || !strings.Contains(r.Remedy.RU, "/setprivacy") {
		t.Fatalf("privacy: %+v", r)
	}
	bot.SetPrivacy(false)
	if r := runCheck(t, check); r.Status != chatter.StatusOK || r.Details["privacy_mode"] != "false" {
		t.Fatalf("privacy off: %+v", r)
	}
	bot.SetPrivacy(true)
	srv.PromoteBot(group, bot, owner, tgbottest.AdminRights())
	if r := runCheck(t, check); r.Status != chatter.StatusOK || r.Details["status"] != "administrator" {
		t.Fatalf("admin: %+v", r)
	}
	srv.RemoveBotFromChat(group, bot, owner)
	if r := runCheck(t, check); r.Status != chatter.StatusFail || !strings.Contains(r.Cause.EN, "not in the chat") {
		t.Fatalf("kicked: %+v", r)
	}

	basic := srv.AddChat(tgbottest.ChatGroup, "Old", "", owner)
	srv.AddBotToChat(basic, bot, owner)
	super := srv.MigrateToSupergroup(basic)
	r = runCheck(t, tgbot.ChatCheck(c, basic.ID, nil))
	if r.Status != chatter.StatusFail || !strings.Contains(r.Cause.RU, "супергруппу") ||
		r.Details["migrate_to_chat_id"] != strconv.FormatInt(super.ID, 10) || !strings.Contains(r.Cause.EN, strconv.FormatInt(super.ID, 10)) {
		t.Fatalf("migrated: %+v", r)
	}

	channel := srv.AddChat(tgbottest.ChatChannel, "News", "", owner)
	srv.AddBotToChat(channel, bot, owner)
	if r := runCheck(t, tgbot.ChatCheck(c, channel.ID, nil)); r.Status != chatter.StatusOK {
		t.Fatalf("channel: %+v", r)
	}
	all := tgbot.Checks(tgbot.CheckConfig{Client: c, ChatIDs: []int64{channel.ID, super.ID}})
	if len(all) != 4 || all[0].Name() != tgbot.CheckToken || all[1].Name() != tgbot.CheckDelivery ||
		all[2].Name() != "tgbot.chat:"+strconv.FormatInt(channel.ID, 10) {
		t.Fatalf("checks: %d", len(all))
	}
}
