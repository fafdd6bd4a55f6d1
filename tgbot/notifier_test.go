package tgbot_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

func TestNotifierSendsEscapedHTML(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	admin := srv.AddUser("admin", "Admin")
	owner := srv.AddUser("owner", "Owner")
	srv.PrivateChat(admin, bot)
	ops := srv.AddChat(tgbottest.ChatSupergroup, "Ops", "", owner)
	srv.AddBotToChat(ops, bot, owner)
	n, err := tgbot.NewNotifier(tgbot.NotifierConfig{Client: newClient(t, srv, token), ChatIDs: []int64{admin.ID, ops.ID}})
	if err != nil {
		t.Fatal(err)
	}
	note := &chatter.Notification{Type: chatter.NotifyDeliveryFailed, Workspace: "acme", Time: time.Now(),
		Severity: chatter.SeverityError,
		Title:    chatter.T("Сделка не создана <lead & co>", "Lead not created <lead & co>"),
		Body:     chatter.T("Поле «Бюджет» обязательно", "Field Budget is required"),
		Fields:   map[string]string{"error_class": "mapping"}, Key: "tgbot:1:2:3", Link: "https://acme.amocrm.ru/leads/detail/5?a=1&b=2"}
	if err := n.Notify(t.Context(), note); err != nil {
		t.Fatal(err)
	}
	sent := bot.Sent()
	if len(sent) != 2 || sent[0].ChatID != admin.ID || sent[1].ChatID != ops.ID || sent[0].ParseMode != "HTML" {
		t.Fatalf("sent: %+v", sent)
	}
	want := "❗ Сделка не создана <lead & co>\nПоле «Бюджет» обязательно\nerror_class: mapping\ntgbot:1:2:3\nhttps://acme.amocrm.ru/leads/detail/5?a=1&b=2"
	if sent[0].Text != want {
		t.Fatalf("text as users see it:\n%s\nwant:\n%s", sent[0].Text, want)
	}
}

func TestNotifierReportsFailedRecipientsAndKeepsGoing(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	a := srv.AddUser("a", "A")
	b := srv.AddUser("b", "B")
	srv.PrivateChat(a, bot)
	srv.PrivateChat(b, bot)
	srv.BlockBot(a, bot)
	n, _ := tgbot.NewNotifier(tgbot.NotifierConfig{Client: newClient(t, srv, token), ChatIDs: []int64{a.ID, b.ID}, Lang: "both"})
	err := n.Notify(t.Context(), &chatter.Notification{Type: chatter.NotifyNewLead, Severity: chatter.SeverityInfo,
		Title: chatter.T("Новая сделка", "New lead")})
	var apiErr *tgbot.Error
	if !errors.As(err, &apiErr) || !apiErr.Blocked() || !strings.Contains(err.Error(), "chat ") {
		t.Fatalf("got %v", err)
	}
	if s := bot.Sent(); len(s) != 1 || s[0].ChatID != b.ID || s[0].Text != "ℹ️ Новая сделка\n\nℹ️ New lead" {
		t.Fatalf("sent: %+v", s)
	}
}

func TestNotifierConfigAndTruncation(t *testing.T) {
	c, _ := tgbot.NewClient("1:x")
	for _, cfg := range []tgbot.NotifierConfig{{ChatIDs: []int64{1}}, {Client: c}, {Client: c, ChatIDs: []int64{0}}, {Client: c, ChatIDs: []int64{1}, Lang: "de"}} {
		if _, err := tgbot.NewNotifier(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	long := &chatter.Notification{Title: chatter.T("x", "x"), Body: chatter.T(strings.Repeat("я&", 5000), "")}
	out := tgbot.FormatNotification(long, "ru")
	if n := len([]rune(out)); n > 4096*2 || !strings.HasSuffix(out, "…") {
		t.Fatalf("len %d, tail %q", n, out[len(out)-10:])
	}
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("b")
	u := srv.AddUser("u", "U")
	srv.PrivateChat(u, bot)
	n, _ := tgbot.NewNotifier(tgbot.NotifierConfig{Client: newClient(t, srv, token), ChatIDs: []int64{u.ID}})
	if err := n.Notify(t.Context(), long); err != nil {
		t.Fatalf("a long notification must fit Telegram's limit: %v", err)
	}
	if err := n.Notify(t.Context(), nil); !errors.Is(err, chatter.ErrInvalid) {
		t.Fatalf("nil: %v", err)
	}
}
