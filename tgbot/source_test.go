package tgbot_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

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

// recorder is a Handler that keeps messages and can fail on demand.
type recorder struct {
	mu     sync.Mutex
	msgs   []*chatter.Message
	fail   func(m *chatter.Message) error
	called int
}

func (r *recorder) Handle(_ context.Context, m *chatter.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.called++
	if r.fail != nil {
		if err := r.fail(m); err != nil {
			return err
		}
	}
	r.msgs = append(r.msgs, m)
	return nil
}

func (r *recorder) texts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		out = append(out, m.Text)
	}
	return out
}

func run(t *testing.T, src *tgbot.Source, h chatter.Handler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- src.Run(ctx, h) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-errc })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func pollingConfig(c *tgbot.Client) tgbot.Config {
	return tgbot.Config{Client: c, Workspace: "acme", PollTimeout: time.Second, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func TestPollingAdvancesOffsetOnlyAfterHandle(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	chat := srv.PrivateChat(alice, bot)
	for _, s := range []string{"one", "two", "three"} {
		srv.UserWrites(chat, alice, s)
	}
	var failedOnce atomic.Bool
	var pendingWhileFailing atomic.Int64
	rec := &recorder{fail: func(m *chatter.Message) error {
		if m.Text == "two" && failedOnce.CompareAndSwap(false, true) {
			pendingWhileFailing.Store(int64(bot.Pending()))
			return errors.New("store unavailable")
		}
		return nil
	}}
	src, err := tgbot.NewSource(pollingConfig(newClient(t, srv, token)))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, src, rec)
	waitFor(t, "three messages", func() bool { return len(rec.texts()) == 3 })
	if got := strings.Join(rec.texts(), ","); got != "one,two,three" {
		t.Fatalf("order: %s", got)
	}
	// When "two" failed, the fake still held it and "three" (and even "one",
	// whose confirmation rides on the next getUpdates).
	if n := pendingWhileFailing.Load(); n < 2 {
		t.Fatalf("updates were confirmed before being handled: pending=%d", n)
	}
	waitFor(t, "all confirmed", func() bool { return bot.Pending() == 0 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	st := src.Status()
	if st.Handled != 3 || st.LastError == "" || st.Running {
		t.Fatalf("status: %+v", st)
	}
	m := rec.msgs[0]
	if m.Workspace != "acme" || m.Key.Account != strconv.FormatInt(bot.ID(), 10) || m.Sender.ID != alice.ID || m.Chat.ID != alice.ID {
		t.Fatalf("message: %+v", m)
	}
}

func TestPollingStopsWithTypedErrorWhenWebhookIsSet(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, _ := srv.AddBot("shop_bot")
	c := newClient(t, srv, token)
	hook := httptest.NewServer(http.NotFoundHandler())
	defer hook.Close()
	if err := c.SetWebhook(t.Context(), &tgbot.SetWebhookParams{URL: hook.URL}); err != nil {
		t.Fatal(err)
	}
	src, _ := tgbot.NewSource(pollingConfig(c))
	err := src.Run(t.Context(), &recorder{})
	var pc *tgbot.PollingConflictError
	if !errors.As(err, &pc) || !strings.Contains(pc.Remedy.RU, "переключитесь на режим вебхука") ||
		!strings.Contains(strings.ToLower(pc.Remedy.RU), "удалите вебхук") || pc.Remedy.EN == "" || chatter.IsPermanent(err) {
		t.Fatalf("got %v", err)
	}
	var apiErr *tgbot.Error
	if !errors.As(err, &apiErr) || !apiErr.WebhookActive() {
		t.Fatalf("not an *Error: %v", err)
	}
}

func TestPollingStopsOnWrongToken(t *testing.T) {
	srv := tgbottest.NewServer(t)
	src, _ := tgbot.NewSource(pollingConfig(newClient(t, srv, "1:wrong")))
	err := src.Run(t.Context(), &recorder{})
	var apiErr *tgbot.Error
	if !errors.As(err, &apiErr) || !apiErr.Unauthorized() {
		t.Fatalf("got %v", err)
	}
}

func TestSourceChatEventsRegistryAndNotifications(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	owner := srv.AddUser("owner", "Owner")
	bob := srv.AddUser("bob", "Bob")
	group := srv.AddChat(tgbottest.ChatGroup, "Sales", "", owner)

	var mu sync.Mutex
	var kinds []tgbot.ChatEventKind
	var notes []*chatter.Notification
	cfg := pollingConfig(newClient(t, srv, token))
	cfg.OnChatEvent = func(_ context.Context, ev tgbot.ChatEvent) {
		mu.Lock()
		defer mu.Unlock()
		kinds = append(kinds, ev.Kind)
	}
	cfg.Notifier = chatter.NotifierFunc(func(_ context.Context, n *chatter.Notification) error {
		mu.Lock()
		defer mu.Unlock()
		notes = append(notes, n)
		return nil
	})
	src, _ := tgbot.NewSource(cfg)
	rec := &recorder{}
	run(t, src, rec)

	srv.AddBotToChat(group, bot, owner)
	srv.UserWrites(group, bob, "invisible with privacy on")
	srv.PromoteBot(group, bot, owner, tgbottest.AdminRights())
	srv.UserWrites(group, bob, "visible to an admin")
	waitFor(t, "admin message", func() bool { return len(rec.texts()) == 1 })
	st, ok := src.Registry().Get(group.ID)
	if !ok || st.Member.Status != tgbot.StatusAdministrator || !st.Member.CanManageChat || !st.Present() {
		t.Fatalf("registry: %+v", st)
	}
	super := srv.MigrateToSupergroup(group)
	srv.RemoveBotFromChat(super, bot, owner)
	waitFor(t, "removal", func() bool { mu.Lock(); defer mu.Unlock(); return len(kinds) == 4 })
	mu.Lock()
	defer mu.Unlock()
	want := []tgbot.ChatEventKind{tgbot.ChatAdded, tgbot.ChatPromoted, tgbot.ChatMigrated, tgbot.ChatRemoved}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events: %v", kinds)
		}
	}
	if len(notes) != 4 || notes[3].Type != chatter.NotifySourceDown || !strings.Contains(notes[3].Title.RU, "удалён") ||
		notes[2].Fields["migrated_to"] == "" {
		t.Fatalf("notifications: %+v", notes)
	}
	if old, _ := src.Registry().Get(group.ID); old.MigratedTo != super.ID || old.Present() {
		t.Fatalf("old group: %+v", old)
	}
	if st, _ := src.Registry().Get(super.ID); st.Present() || st.Member.Status != tgbot.StatusKicked {
		t.Fatalf("supergroup after removal: %+v", st)
	}
	if rec.texts()[0] != "visible to an admin" {
		t.Fatalf("messages: %v", rec.texts())
	}
}

func TestAutoReplyOncePerWindow(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	john := srv.AddUser("john", "John")
	john.LanguageCode = "en"
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC).Unix())
	cfg := pollingConfig(newClient(t, srv, token))
	cfg.Clock = func() time.Time { return time.Unix(now.Load(), 0) }
	cfg.AutoReply = &tgbot.AutoReply{Text: chatter.T("{name}, спасибо! Менеджер скоро ответит.", "Thanks, {name}! A manager will reply soon.")}
	src, _ := tgbot.NewSource(cfg)
	rec := &recorder{}
	run(t, src, rec)

	chat := srv.PrivateChat(alice, bot)
	srv.UserWrites(chat, alice, "hi")
	srv.UserWrites(chat, alice, "are you there?")
	srv.UserWrites(srv.PrivateChat(john, bot), john, "hello")
	waitFor(t, "three messages", func() bool { return len(rec.texts()) == 3 })
	waitFor(t, "two replies", func() bool { return len(bot.Sent()) == 2 })
	now.Add(int64((25 * time.Hour).Seconds()))
	srv.UserWrites(chat, alice, "back again")
	waitFor(t, "fourth message", func() bool { return len(rec.texts()) == 4 })
	waitFor(t, "third reply", func() bool { return len(bot.Sent()) == 3 })
	sent := bot.Sent()
	if sent[0].Text != "Alice, спасибо! Менеджер скоро ответит." || sent[1].Text != "Thanks, John! A manager will reply soon." || sent[2].ChatID != alice.ID {
		t.Fatalf("sent: %+v", sent)
	}
}

func webhookSource(t *testing.T, srv *tgbottest.Server, token, hookURL string, h chatter.Handler) (*tgbot.Source, *tgbot.Client) {
	t.Helper()
	c := newClient(t, srv, token)
	src, err := tgbot.NewSource(tgbot.Config{Client: c, Workspace: "acme", Mode: tgbot.ModeWebhook,
		SecretToken: "hook-secret_1", WebhookURL: hookURL, DedupeSize: 16, MaxBodyBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	return src, c
}

func TestWebhookHandlerEndToEnd(t *testing.T) {
	srv := tgbottest.NewServer(t, tgbottest.WithWebhookRetry(5*time.Millisecond, 20*time.Millisecond, 100))
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	var failures atomic.Int32
	failures.Store(2)
	rec := &recorder{fail: func(m *chatter.Message) error {
		if failures.Add(-1) >= 0 {
			return errors.New("database is locked")
		}
		return nil
	}}
	var hookSrc atomic.Pointer[tgbot.Source]
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookSrc.Load().WebhookHandler().ServeHTTP(w, r)
	}))
	defer hook.Close()
	src, c := webhookSource(t, srv, token, hook.URL, rec)
	hookSrc.Store(src)
	run(t, src, rec)
	waitFor(t, "webhook registration", func() bool { return bot.WebhookURL() == hook.URL })

	chat := srv.PrivateChat(alice, bot)
	srv.UserWrites(chat, alice, "first")
	srv.UserWrites(chat, alice, "second")
	waitFor(t, "both messages", func() bool { return len(rec.texts()) == 2 })
	if got := strings.Join(rec.texts(), ","); got != "first,second" {
		t.Fatalf("got %s", got)
	}
	waitFor(t, "queue drained", func() bool { return bot.Pending() == 0 })
	info, err := c.GetWebhookInfo(t.Context())
	if err != nil || info.LastErrorMessage != "Wrong response from the webhook: 500 Internal Server Error" || info.PendingUpdateCount != 0 {
		t.Fatalf("info: %+v %v", info, err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.called != 4 {
		t.Fatalf("handler called %d times, want 4 (2 failures, 2 successes)", rec.called)
	}
}

func TestWebhookHandlerRejectsBadRequests(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, _ := srv.AddBot("shop_bot")
	rec := &recorder{}
	src, _ := webhookSource(t, srv, token, "", rec)
	h := src.WebhookHandler()
	do := func(method, secret, body string) int {
		req := httptest.NewRequest(method, "/tg", strings.NewReader(body))
		if secret != "" {
			req.Header.Set(tgbot.SecretHeader, secret)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	update := sampleUpdates["private_text"]
	if code := do(http.MethodPost, "hook-secret_1", update); code != http.StatusServiceUnavailable {
		t.Fatalf("before Run: %d", code)
	}
	run(t, src, rec)
	waitFor(t, "running", func() bool { return src.Status().Running })
	waitFor(t, "serving", func() bool { return do(http.MethodPost, "hook-secret_1", `{"update_id":1}`) == 200 })
	cases := []struct {
		method, secret, body string
		want                 int
	}{
		{http.MethodPost, "", update, 401},
		{http.MethodPost, "hook-secret_2", update, 401},
		{http.MethodPost, "hook-secret_", update, 401},
		{http.MethodGet, "hook-secret_1", "", 405},
		{http.MethodPost, "hook-secret_1", strings.Repeat("x", 5000), 413},
		{http.MethodPost, "hook-secret_1", `{"nope":true}`, 400},
		{http.MethodPost, "hook-secret_1", update, 200},
		{http.MethodPost, "hook-secret_1", update, 200}, // redelivery
	}
	for i, c := range cases {
		if got := do(c.method, c.secret, c.body); got != c.want {
			t.Errorf("case %d: %d, want %d", i, got, c.want)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.called != 1 {
		t.Fatalf("handler called %d times; the redelivery must be deduped", rec.called)
	}
}

func TestNewSourceValidates(t *testing.T) {
	c, _ := tgbot.NewClient("1:x")
	for name, tc := range map[string]struct {
		cfg           tgbot.Config
		field, ru, en string
	}{
		"no client":      {tgbot.Config{Workspace: "w"}, "Config.Client", "не задан клиент Bot API", "the Bot API client is required"},
		"no workspace":   {tgbot.Config{Client: c}, "Config.Workspace", "не задано рабочее пространство", "the workspace is required"},
		"webhook secret": {tgbot.Config{Client: c, Workspace: "w", Mode: tgbot.ModeWebhook}, "Config.SecretToken", "обязателен в режиме вебхука", "is required in webhook mode"},
		"bad secret": {tgbot.Config{Client: c, Workspace: "w", Mode: tgbot.ModeWebhook, SecretToken: "a b"},
			"Config.SecretToken", "от 1 до 256 символов", "must be 1-256 characters of A-Z a-z 0-9 _ -"},
		"bad mode":    {tgbot.Config{Client: c, Workspace: "w", Mode: "smoke"}, "Config.Mode", `"smoke": нужен "polling" или "webhook"`, `"smoke": want "polling" or "webhook"`},
		"bad limit":   {tgbot.Config{Client: c, Workspace: "w", PollLimit: 101}, "Config.PollLimit", "101: нужно от 1 до 100", "101: want 1-100"},
		"bad timeout": {tgbot.Config{Client: c, Workspace: "w", PollTimeout: time.Hour}, "Config.PollTimeout", "от 0 до 10 минут", "1h0m0s: want 0-10m"},
		"small body":  {tgbot.Config{Client: c, Workspace: "w", MaxBodyBytes: 10}, "Config.MaxBodyBytes", "10: нужно не меньше 1024", "10: want at least 1024"},
		"backoff":     {tgbot.Config{Client: c, Workspace: "w", MinBackoff: time.Hour}, "Config.MinBackoff", "больше MaxBackoff", "exceeds MaxBackoff"},
	} {
		_, err := tgbot.NewSource(tc.cfg)
		require.Error(t, err, name)
		require.ErrorIs(t, err, chatter.ErrInvalid, name)
		var ce *tgbot.ConfigError
		require.ErrorAs(t, err, &ce, name)
		if d := cmp.Diff(tc.field, ce.Field); d != "" {
			t.Errorf("%s: field (-want +got):\n%s", name, d)
		}
		if d := cmp.Diff("tgbot: "+tc.field+": "+tc.en, err.Error()); d != "" {
			t.Errorf("%s: Error() (-want +got):\n%s", name, d)
		}
		m := ce.Message()
		if !strings.Contains(m.RU, tc.field) || !strings.Contains(m.RU, tc.ru) || !strings.Contains(m.EN, tc.en) {
			t.Errorf("%s: Message() = %+v", name, m)
		}
	}
}
