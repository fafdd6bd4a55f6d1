package tgbot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

// pressLog is an OnCallbackQuery hook that records presses and fails as told.
type pressLog struct {
	mu    sync.Mutex
	seen  []string // data of every call, failed ones included
	fails map[string][]error
}

func (p *pressLog) hook(_ context.Context, q tgbot.CallbackQuery) (tgbot.CallbackAnswer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, q.Data)
	if errs := p.fails[q.Data]; len(errs) > 0 {
		p.fails[q.Data] = errs[1:]
		return tgbot.CallbackAnswer{}, errs[0]
	}
	text := ""
	if q.Message != nil {
		text = q.Message.Text
	}
	return tgbot.CallbackAnswer{Text: fmt.Sprintf("%s: %s (%d)", text, q.Data, q.From.ID), ShowAlert: q.Data == "alert"}, nil
}

func (p *pressLog) calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

const acceptMarkup = `{"inline_keyboard":[[{"text":"Принять заявку","callback_data":"accept"}]]}`

func TestCallbackQueriesAreHandledAndAnswered(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	manager := srv.AddUser("manager", "Manager")
	chat := srv.PrivateChat(manager, bot)
	c := newClient(t, srv, token)
	lead, err := c.SendMessage(t.Context(), &tgbot.SendMessageParams{ChatID: chat.ID, Text: "Новая заявка", ReplyMarkup: json.RawMessage(acceptMarkup)})
	require.NoError(t, err)

	presses := &pressLog{fails: map[string][]error{
		"retry":   {errors.New("database is locked")},
		"invalid": {fmt.Errorf("unknown lead: %w", chatter.ErrInvalid)},
	}}
	cfg := pollingConfig(c)
	cfg.OnCallbackQuery = presses.hook
	src, err := tgbot.NewSource(cfg)
	require.NoError(t, err)
	rec := &recorder{}
	stop := run(t, src, rec)

	var ids []string
	for _, data := range []string{"accept", "retry", "invalid", "alert"} {
		ids = append(ids, srv.UserPressesButton(bot, chat, lead.MessageID, manager, data))
	}
	waitFor(t, "four answers", func() bool { return len(bot.CallbackAnswers()) == 4 })
	waitFor(t, "all confirmed", func() bool { return bot.Pending() == 0 })
	require.NoError(t, stop())

	text := func(data string) string { return fmt.Sprintf("Новая заявка: %s (%d)", data, manager.ID) }
	want := []tgbottest.CallbackAnswer{
		{QueryID: ids[0], Text: text("accept")},
		{QueryID: ids[1], Text: text("retry")}, // answered once, after the retry succeeded
		{QueryID: ids[2]},                      // refused for good: only the spinner stops
		{QueryID: ids[3], Text: text("alert"), ShowAlert: true},
	}
	if d := cmp.Diff(want, bot.CallbackAnswers()); d != "" {
		t.Fatalf("answers (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"accept", "retry", "retry", "invalid", "alert"}, presses.calls()); d != "" {
		t.Fatalf("hook calls (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"message", "edited_message", "channel_post", "edited_channel_post", "my_chat_member", "callback_query"}, bot.AllowedUpdates()); d != "" {
		t.Fatalf("allowed_updates (-want +got):\n%s", d)
	}
	require.Empty(t, rec.texts(), "presses are not messages for the pipeline")
}

func TestCallbackQueriesNotRequestedWithoutHook(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	chat := srv.PrivateChat(alice, bot)
	c := newClient(t, srv, token)

	cfg := pollingConfig(c)
	cfg.AllowedUpdates = []string{tgbot.UpdateMessage, tgbot.UpdateCallbackQuery} // asked for, but nobody answers
	src, err := tgbot.NewSource(cfg)
	require.NoError(t, err)
	rec := &recorder{}
	run(t, src, rec)
	waitFor(t, "first poll", func() bool { return bot.Calls("getUpdates") > 0 })
	if d := cmp.Diff([]string{"message"}, bot.AllowedUpdates()); d != "" {
		t.Fatalf("allowed_updates (-want +got):\n%s", d)
	}
	srv.UserPressesButton(bot, chat, 1, alice, "accept")
	srv.UserWrites(chat, alice, "after the press")
	waitFor(t, "message", func() bool { return len(rec.texts()) == 1 })
	require.Empty(t, bot.CallbackAnswers())

	_, err = tgbot.NewSource(tgbot.Config{Client: c, Workspace: "acme", AllowedUpdates: []string{tgbot.UpdateCallbackQuery}})
	require.Error(t, err, "a source asking only for presses without a hook")
	require.NotContains(t, tgbot.DefaultAllowedUpdates(), tgbot.UpdateCallbackQuery)
}

func TestCallbackQueryOverWebhook(t *testing.T) {
	srv := tgbottest.NewServer(t, tgbottest.WithWebhookRetry(5*time.Millisecond, 20*time.Millisecond, 100))
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	chat := srv.PrivateChat(alice, bot)
	presses := &pressLog{fails: map[string][]error{"accept": {errors.New("database is locked")}}}
	var hookSrc *tgbot.Source
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hookSrc.WebhookHandler().ServeHTTP(w, r) }))
	defer hook.Close()
	src, err := tgbot.NewSource(tgbot.Config{Client: newClient(t, srv, token), Workspace: "acme", Mode: tgbot.ModeWebhook,
		SecretToken: "hook-secret_1", WebhookURL: hook.URL, OnCallbackQuery: presses.hook})
	require.NoError(t, err)
	hookSrc = src
	run(t, src, &recorder{})
	waitFor(t, "webhook registration", func() bool { return bot.WebhookURL() == hook.URL })
	id := srv.UserPressesButton(bot, chat, 1, alice, "accept")
	waitFor(t, "answer", func() bool { return len(bot.CallbackAnswers()) == 1 })
	if d := cmp.Diff([]tgbottest.CallbackAnswer{{QueryID: id, Text: fmt.Sprintf(": accept (%d)", alice.ID)}}, bot.CallbackAnswers()); d != "" {
		t.Fatalf("answers (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"accept", "accept"}, presses.calls()); d != "" {
		t.Fatalf("hook calls: a failure is redelivered (-want +got):\n%s", d)
	}
	require.Contains(t, bot.AllowedUpdates(), tgbot.UpdateCallbackQuery, "setWebhook allowed_updates")
}
