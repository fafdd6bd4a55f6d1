package tgbottest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

type envelope struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

func call(t *testing.T, ctx context.Context, srv *tgbottest.Server, token, method string, params any) (envelope, int) {
	t.Helper()
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/bot"+token+"/"+method, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env envelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s: decode: %v", method, err)
	}
	return env, resp.StatusCode
}

type update struct {
	UpdateID     int64           `json:"update_id"`
	Message      *message        `json:"message"`
	Edited       *message        `json:"edited_message"`
	ChannelPost  *message        `json:"channel_post"`
	MyChatMember json.RawMessage `json:"my_chat_member"`
}

type message struct {
	MessageID int64  `json:"message_id"`
	Text      string `json:"text"`
	Caption   string `json:"caption"`
	EditDate  int64  `json:"edit_date"`
	Chat      struct {
		ID   int64  `json:"id"`
		Type string `json:"type"`
	} `json:"chat"`
	From *struct {
		ID int64 `json:"id"`
	} `json:"from"`
	MigrateTo int64 `json:"migrate_to_chat_id"`
}

func updates(t *testing.T, srv *tgbottest.Server, token string, params map[string]any) []update {
	t.Helper()
	env, code := call(t, t.Context(), srv, token, "getUpdates", params)
	if code != 200 || !env.OK {
		t.Fatalf("getUpdates: %d %s", code, env.Description)
	}
	var us []update
	if err := json.Unmarshal(env.Result, &us); err != nil {
		t.Fatal(err)
	}
	return us
}

func TestGetMeAndAuth(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	env, code := call(t, t.Context(), srv, token, "getMe", nil)
	if code != 200 || !env.OK || !strings.Contains(string(env.Result), `"username":"shop_bot"`) ||
		!strings.Contains(string(env.Result), `"can_read_all_group_messages":false`) {
		t.Fatalf("getMe: %d %s", code, env.Result)
	}
	bot.SetPrivacy(false)
	env, _ = call(t, t.Context(), srv, token, "getMe", nil)
	if !strings.Contains(string(env.Result), `"can_read_all_group_messages":true`) {
		t.Fatalf("privacy off not reported: %s", env.Result)
	}
	env, code = call(t, t.Context(), srv, "123:wrong", "getMe", nil)
	if code != 401 || env.ErrorCode != 401 || env.Description != "Unauthorized" {
		t.Fatalf("unknown token: %d %+v", code, env)
	}
	env, code = call(t, t.Context(), srv, token, "noSuchMethod", nil)
	if code != 404 || env.Description != "Not Found: method not found" {
		t.Fatalf("unknown method: %d %+v", code, env)
	}
	newToken := bot.RevokeToken()
	if _, code = call(t, t.Context(), srv, token, "getMe", nil); code != 401 {
		t.Fatalf("revoked token: %d", code)
	}
	if _, code = call(t, t.Context(), srv, newToken, "getMe", nil); code != 200 {
		t.Fatalf("new token: %d", code)
	}
}

func TestGetUpdatesOffsetSemantics(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	chat := srv.PrivateChat(alice, bot)
	for _, s := range []string{"one", "two", "three"} {
		srv.UserWrites(chat, alice, s)
	}
	us := updates(t, srv, token, map[string]any{})
	if len(us) != 3 || us[0].Message.Text != "one" || us[1].UpdateID != us[0].UpdateID+1 {
		t.Fatalf("got %+v", us)
	}
	// Not confirmed yet: the same updates come again.
	if again := updates(t, srv, token, map[string]any{"limit": 2}); len(again) != 2 || again[0].UpdateID != us[0].UpdateID {
		t.Fatalf("redelivery: %+v", again)
	}
	// Confirm the first: it is gone for good.
	rest := updates(t, srv, token, map[string]any{"offset": us[0].UpdateID + 1})
	if len(rest) != 2 || rest[0].Message.Text != "two" || bot.Pending() != 2 {
		t.Fatalf("after confirm: %+v pending=%d", rest, bot.Pending())
	}
	if back := updates(t, srv, token, map[string]any{"offset": us[0].UpdateID}); len(back) != 2 {
		t.Fatalf("an older offset must not resurrect confirmed updates: %+v", back)
	}
	// A negative offset keeps only the last one.
	last := updates(t, srv, token, map[string]any{"offset": -1})
	if len(last) != 1 || last[0].Message.Text != "three" {
		t.Fatalf("negative offset: %+v", last)
	}
	// Form and query-string encodings work too.
	resp, err := http.PostForm(srv.URL+"/bot"+token+"/getUpdates", url.Values{"offset": {"100"}, "allowed_updates": {`["message"]`}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if bot.Pending() != 0 {
		t.Fatalf("form offset did not confirm: pending=%d", bot.Pending())
	}
	resp, err = http.Get(srv.URL + "/bot" + token + "/getUpdates?offset=0&timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"ok":true,"result":[]}` {
		t.Fatalf("GET: %s", body)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLongPollWakesOnUpdateAndHonoursContext(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	got := make(chan []update, 1)
	go func() { got <- updates(t, srv, token, map[string]any{"timeout": 50}) }()
	waitFor(t, "the poll to start", func() bool { return bot.Calls("getUpdates") == 1 })
	srv.UserWrites(srv.PrivateChat(alice, bot), alice, "wake up")
	select {
	case us := <-got:
		if len(us) != 1 || us[0].Message.Text != "wake up" {
			t.Fatalf("got %+v", us)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("long poll did not wake up")
	}

	// A cancelled request ends the poll.
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/bot"+token+"/getUpdates?timeout=50&offset=1000", nil)
		_, err := http.DefaultClient.Do(req)
		errc <- err
	}()
	waitFor(t, "the second poll", func() bool { return bot.Calls("getUpdates") == 2 })
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("cancelled poll returned no error")
	}
}

func TestSecondPollerGetsConflict(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	first := make(chan envelope, 1)
	go func() {
		env, _ := call(t, t.Context(), srv, token, "getUpdates", map[string]any{"timeout": 50})
		first <- env
	}()
	waitFor(t, "first poll", func() bool { return bot.Calls("getUpdates") == 1 })
	if us := updates(t, srv, token, map[string]any{}); len(us) != 0 {
		t.Fatalf("second poll: %+v", us)
	}
	env := <-first
	if env.ErrorCode != 409 || !strings.Contains(env.Description, "terminated by other getUpdates request") {
		t.Fatalf("first poll: %+v", env)
	}
}

func TestPrivacyMode(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	owner := srv.AddUser("owner", "Owner")
	bob := srv.AddUser("bob", "Bob")
	group := srv.AddChat(tgbottest.ChatGroup, "Sales", "", owner)
	srv.AddBotToChat(group, bot, owner)
	us := updates(t, srv, token, map[string]any{})
	if len(us) != 2 || us[0].MyChatMember == nil || us[1].Message == nil {
		t.Fatalf("joining: %+v", us)
	}
	offset := us[1].UpdateID + 1

	srv.UserWrites(group, bob, "just chatting")
	srv.UserWrites(group, bob, "/price@shop_bot")
	srv.UserWrites(group, bob, "hey @shop_bot how much?")
	srv.UserWrites(group, bob, "/start@other_bot")
	us = updates(t, srv, token, map[string]any{"offset": offset})
	var texts []string
	for _, u := range us {
		texts = append(texts, u.Message.Text)
		offset = u.UpdateID + 1
	}
	if strings.Join(texts, "|") != "/price@shop_bot|hey @shop_bot how much?" {
		t.Fatalf("privacy on: %q", texts)
	}
	bot.SetPrivacy(false)
	srv.UserWrites(group, bob, "now visible")
	us = updates(t, srv, token, map[string]any{"offset": offset})
	if len(us) != 1 || us[0].Message.Text != "now visible" {
		t.Fatalf("privacy off: %+v", us)
	}
}

func TestWebhookDeliveryRetriesAndInfo(t *testing.T) {
	srv := tgbottest.NewServer(t, tgbottest.WithWebhookRetry(5*time.Millisecond, 20*time.Millisecond, 50))
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	var fails atomic.Int32
	fails.Store(2)
	var mu sync.Mutex
	var got []string
	var secrets []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u update
		_ = json.NewDecoder(r.Body).Decode(&u)
		mu.Lock()
		secrets = append(secrets, r.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
		mu.Unlock()
		if fails.Add(-1) >= 0 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		mu.Lock()
		got = append(got, u.Message.Text)
		mu.Unlock()
	}))
	defer hook.Close()

	env, code := call(t, t.Context(), srv, token, "setWebhook", map[string]any{"url": hook.URL, "secret_token": "s3cr3t_-X"})
	if code != 200 || env.Description != "Webhook was set" {
		t.Fatalf("setWebhook: %d %+v", code, env)
	}
	env, code = call(t, t.Context(), srv, token, "getUpdates", nil)
	if code != 409 || !strings.Contains(env.Description, "webhook is active") {
		t.Fatalf("getUpdates with webhook: %d %+v", code, env)
	}
	chat := srv.PrivateChat(alice, bot)
	srv.UserWrites(chat, alice, "first")
	srv.UserWrites(chat, alice, "second")
	waitFor(t, "both deliveries", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 })
	mu.Lock()
	if got[0] != "first" || got[1] != "second" {
		t.Fatalf("order: %q", got)
	}
	for _, s := range secrets {
		if s != "s3cr3t_-X" {
			t.Fatalf("secret header %q", s)
		}
	}
	mu.Unlock()
	var info struct {
		URL     string `json:"url"`
		Pending int    `json:"pending_update_count"`
		LastMsg string `json:"last_error_message"`
		LastAt  int64  `json:"last_error_date"`
	}
	// The hook saw the second update before its 200 reached the fake,
	// which then drops the update from the pending ones.
	waitFor(t, "no pending update", func() bool {
		env, _ = call(t, t.Context(), srv, token, "getWebhookInfo", nil)
		_ = json.Unmarshal(env.Result, &info)
		return info.Pending == 0
	})
	if info.URL != hook.URL || info.Pending != 0 || info.LastMsg != "Wrong response from the webhook: 502 Bad Gateway" || info.LastAt == 0 {
		t.Fatalf("webhook info: %+v", info)
	}

	if _, code = call(t, t.Context(), srv, token, "setWebhook", map[string]any{"url": "http://example.com/hook"}); code != 400 {
		t.Fatalf("plain HTTP to a public host must be refused, got %d", code)
	}
	if env, _ = call(t, t.Context(), srv, token, "setWebhook", map[string]any{"url": hook.URL, "secret_token": "bad secret!"}); env.OK {
		t.Fatal("bad secret accepted")
	}
	env, _ = call(t, t.Context(), srv, token, "deleteWebhook", map[string]any{"drop_pending_updates": true})
	if env.Description != "Webhook was deleted" || bot.WebhookURL() != "" {
		t.Fatalf("deleteWebhook: %+v", env)
	}
}

func TestSendMessageErrors(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	owner := srv.AddUser("owner", "Owner")
	chat := srv.PrivateChat(alice, bot)

	env, code := call(t, t.Context(), srv, token, "sendMessage", map[string]any{"chat_id": alice.ID, "text": "<b>Hi</b> &amp; welcome", "parse_mode": "HTML"})
	if code != 200 || !env.OK {
		t.Fatalf("send: %d %+v", code, env)
	}
	if s := bot.Sent(); len(s) != 1 || s[0].Text != "Hi & welcome" || s[0].ChatID != chat.ID {
		t.Fatalf("sent: %+v", s)
	}
	env, _ = call(t, t.Context(), srv, token, "sendMessage", map[string]any{"chat_id": alice.ID, "text": "<x>bad</x>", "parse_mode": "HTML"})
	if env.ErrorCode != 400 || !strings.HasPrefix(env.Description, "Bad Request: can't parse entities") {
		t.Fatalf("bad HTML: %+v", env)
	}
	env, _ = call(t, t.Context(), srv, token, "sendMessage", map[string]any{"chat_id": 42, "text": "x"})
	if env.ErrorCode != 400 || env.Description != "Bad Request: chat not found" {
		t.Fatalf("unknown chat: %+v", env)
	}
	env, _ = call(t, t.Context(), srv, token, "sendMessage", map[string]any{"chat_id": alice.ID, "text": ""})
	if env.Description != "Bad Request: message text is empty" {
		t.Fatalf("empty text: %+v", env)
	}
	srv.BlockBot(alice, bot)
	env, code = call(t, t.Context(), srv, token, "sendMessage", map[string]any{"chat_id": alice.ID, "text": "x"})
	if code != 403 || env.Description != "Forbidden: bot was blocked by the user" {
		t.Fatalf("blocked: %d %+v", code, env)
	}

	bot.InjectError("sendMessage", tgbottest.FloodWait(7))
	srv.UnblockBot(alice, bot)
	env, code = call(t, t.Context(), srv, token, "sendMessage", map[string]any{"chat_id": alice.ID, "text": "x"})
	if code != 429 || env.Parameters.RetryAfter != 7 || env.Description != "Too Many Requests: retry after 7" {
		t.Fatalf("flood: %d %+v", code, env)
	}

	group := srv.AddChat(tgbottest.ChatGroup, "Sales", "", owner)
	srv.AddBotToChat(group, bot, owner)
	super := srv.MigrateToSupergroup(group)
	env, _ = call(t, t.Context(), srv, token, "sendMessage", map[string]any{"chat_id": group.ID, "text": "x"})
	if env.ErrorCode != 400 || env.Parameters.MigrateToChatID != super.ID || env.Description != "Bad Request: group chat was upgraded to a supergroup chat" {
		t.Fatalf("migrated: %+v", env)
	}
	if _, code = call(t, t.Context(), srv, token, "sendMessage", map[string]any{"chat_id": super.ID, "text": "x"}); code != 200 {
		t.Fatalf("send to supergroup: %d", code)
	}
	srv.RemoveBotFromChat(super, bot, owner)
	env, _ = call(t, t.Context(), srv, token, "sendMessage", map[string]any{"chat_id": super.ID, "text": "x"})
	if env.Description != "Forbidden: bot was kicked from the supergroup chat" {
		t.Fatalf("kicked: %+v", env)
	}
	channel := srv.AddChat(tgbottest.ChatChannel, "News", "shop_news", owner)
	env, _ = call(t, t.Context(), srv, token, "sendMessage", map[string]any{"chat_id": "@shop_news", "text": "x"})
	if env.Description != "Forbidden: bot is not a member of the channel chat" {
		t.Fatalf("not member: %+v", env)
	}
	srv.AddBotToChat(channel, bot, owner)
	if _, code = call(t, t.Context(), srv, token, "sendMessage", map[string]any{"chat_id": "@shop_news", "text": "x"}); code != 200 {
		t.Fatalf("channel admin send: %d", code)
	}
}

func TestChatMembersAndAdministrators(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	owner := srv.AddUser("owner", "Owner")
	group := srv.AddChat(tgbottest.ChatSupergroup, "Sales", "", owner)
	env, _ := call(t, t.Context(), srv, token, "getChat", map[string]any{"chat_id": group.ID})
	if env.Description != "Bad Request: chat not found" {
		t.Fatalf("getChat before joining: %+v", env)
	}
	srv.AddBotToChat(group, bot, owner)
	srv.PromoteBot(group, bot, owner, tgbottest.AdminRights())
	env, _ = call(t, t.Context(), srv, token, "getChatMember", map[string]any{"chat_id": group.ID, "user_id": bot.ID()})
	var m struct {
		Status        string `json:"status"`
		CanManageChat bool   `json:"can_manage_chat"`
	}
	_ = json.Unmarshal(env.Result, &m)
	if m.Status != "administrator" || !m.CanManageChat {
		t.Fatalf("member: %s", env.Result)
	}
	env, _ = call(t, t.Context(), srv, token, "getChatAdministrators", map[string]any{"chat_id": group.ID})
	var admins []struct{ Status string }
	_ = json.Unmarshal(env.Result, &admins)
	if len(admins) != 2 {
		t.Fatalf("admins: %s", env.Result)
	}
	us := updates(t, srv, token, nil)
	if len(us) != 3 || us[2].MyChatMember == nil || !strings.Contains(string(us[2].MyChatMember), `"administrator"`) {
		t.Fatalf("my_chat_member updates: %+v", us)
	}
}

func TestCallbackQuery(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	chat := srv.PrivateChat(alice, bot)
	id := srv.UserPressesButton(bot, chat, 1, alice, "buy")
	env, _ := call(t, t.Context(), srv, token, "answerCallbackQuery", map[string]any{"callback_query_id": id, "text": "ok"})
	if !env.OK || len(bot.CallbackAnswers()) != 1 {
		t.Fatalf("answer: %+v", env)
	}
	env, _ = call(t, t.Context(), srv, token, "answerCallbackQuery", map[string]any{"callback_query_id": id})
	if env.OK {
		t.Fatal("a query can be answered only once")
	}
}
