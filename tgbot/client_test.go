package tgbot_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

func newClient(t *testing.T, srv *tgbottest.Server, token string, opts ...tgbot.Option) *tgbot.Client {
	t.Helper()
	opts = append([]tgbot.Option{tgbot.WithBaseURL(srv.URL), tgbot.WithRateLimits(tgbot.NoRateLimits())}, opts...)
	c, err := tgbot.NewClient(token, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewClientRejectsMalformedToken(t *testing.T) {
	for _, tok := range []string{"", "abc", "123", "123:", "x:abc", "-5:abc", "123:ab/c"} {
		if _, err := tgbot.NewClient(tok); err == nil {
			t.Errorf("token %q accepted", tok)
		} else if tok != "" && strings.Contains(err.Error(), tok) {
			t.Errorf("error shows the token: %v", err)
		}
	}
	if _, err := tgbot.NewClient("1:a", tgbot.WithBaseURL("ftp://x")); err == nil {
		t.Error("bad base URL accepted")
	}
}

func TestClientTypedErrors(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	owner := srv.AddUser("owner", "Owner")
	c := newClient(t, srv, token, tgbot.WithRetry(1, time.Second))
	ctx := t.Context()

	me, err := c.GetMe(ctx)
	if err != nil || me.ID != bot.ID() || me.Username != "shop_bot" || me.CanReadAllGroupMessages {
		t.Fatalf("getMe: %+v %v", me, err)
	}

	_, err = c.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: 999, Text: "hi"})
	var apiErr *tgbot.Error
	if !errors.As(err, &apiErr) || !apiErr.ChatNotFound() || apiErr.Code != 400 || chatter.ClassOf(err) != chatter.ClassPermanent {
		t.Fatalf("chat not found: %v", err)
	}
	if _, ok := chatter.RetryAfter(err); ok {
		t.Fatal("a 400 must not look like a rate limit")
	}

	srv.PrivateChat(alice, bot)
	srv.BlockBot(alice, bot)
	_, err = c.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice.ID, Text: "hi"})
	if !errors.As(err, &apiErr) || !apiErr.Blocked() || chatter.ClassOf(err) != chatter.ClassBlocked {
		t.Fatalf("blocked: %v", err)
	}

	group := srv.AddChat(tgbottest.ChatGroup, "Sales", "", owner)
	srv.AddBotToChat(group, bot, owner)
	super := srv.MigrateToSupergroup(group)
	_, err = c.GetChat(ctx, group.ID)
	if !errors.As(err, &apiErr) || !apiErr.Migrated() || apiErr.MigrateToChatID != super.ID {
		t.Fatalf("migrated: %v", err)
	}
	if cause, remedy := apiErr.Problem(); !strings.Contains(cause.RU, "супергруппу") || remedy.EN == "" {
		t.Fatalf("problem text: %v / %v", cause, remedy)
	}

	bot.InjectError("sendMessage", tgbottest.FloodWait(120))
	_, err = c.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: super.ID, Text: "hi"})
	var rl *tgbot.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter() != 120*time.Second || !errors.As(err, &apiErr) || apiErr.Code != 429 {
		t.Fatalf("429: %v", err)
	}
	if d, ok := chatter.RetryAfter(err); !ok || d != 120*time.Second || chatter.ClassOf(err) != chatter.ClassRateLimited {
		t.Fatalf("chatter sees %v %v", d, ok)
	}

	bot.RevokeToken()
	_, err = c.GetMe(ctx)
	if !errors.As(err, &apiErr) || !apiErr.Unauthorized() || chatter.ClassOf(err) != chatter.ClassAuth {
		t.Fatalf("401: %v", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Fatal("error shows the token")
	}
}

func TestClientWaitsOutShortRetryAfter(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	srv.PrivateChat(alice, bot)
	c := newClient(t, srv, token)
	bot.InjectError("sendMessage", tgbottest.FloodWait(1))
	m, err := c.SendMessage(t.Context(), &tgbot.SendMessageParams{ChatID: alice.ID, Text: "after the wait"})
	if err != nil || m.Text != "after the wait" {
		t.Fatalf("send: %+v %v", m, err)
	}
	if n := bot.Calls("sendMessage"); n != 2 || len(bot.Sent()) != 1 {
		t.Fatalf("calls=%d sent=%d", n, len(bot.Sent()))
	}
}

func TestClientRetriesOnlyIdempotentCallsOn5xx(t *testing.T) {
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n%2 == 1 {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>bad gateway</html>"))
			return
		}
		_, _ = w.Write([]byte(`{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"b","username":"b"}}`))
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, err := tgbot.NewClient("1:secret-token-value", tgbot.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetMe(t.Context()); err != nil || calls.Load() != 2 {
		t.Fatalf("getMe should be retried once: %v calls=%d", err, calls.Load())
	}
	calls.Store(0)
	_, err = c.SendMessage(t.Context(), &tgbot.SendMessageParams{ChatID: 5, Text: "x"})
	var apiErr *tgbot.Error
	if !errors.As(err, &apiErr) || apiErr.Code != 502 || calls.Load() != 1 {
		t.Fatalf("sendMessage must not be re-sent after a 5xx: %v calls=%d", err, calls.Load())
	}
}

func TestClientRedactsTokenFromTransportErrorsAndLogs(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // connection refused from now on
	var logs bytes.Buffer
	const token = "4242:VERY-secret_token"
	c, err := tgbot.NewClient(token, tgbot.WithBaseURL(base), tgbot.WithRetry(2, time.Second),
		tgbot.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetMe(t.Context())
	var te *tgbot.TransportError
	if !errors.As(err, &te) || chatter.ClassOf(err) != chatter.ClassTransient {
		t.Fatalf("want a transport error, got %v", err)
	}
	for e := error(err); e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "VERY-secret") {
			t.Fatalf("token in error chain: %v", e)
		}
	}
	if !strings.Contains(err.Error(), "<token>") {
		t.Fatalf("expected a redacted URL: %v", err)
	}
	if strings.Contains(logs.String(), "VERY-secret") || !strings.Contains(logs.String(), "retrying call") {
		t.Fatalf("logs: %s", logs.String())
	}
	if strings.Contains(c.String(), "secret") {
		t.Fatal("String shows the token")
	}
}

func TestClientRateLimitPerChat(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	srv.PrivateChat(alice, bot)
	// One message per chat per hour: the second send must wait, so a short
	// deadline makes it fail without reaching the server.
	c := newClient(t, srv, token, tgbot.WithRateLimits(tgbot.RateLimits{PerChat: 1.0 / 3600, PerGroup: 1}))
	if _, err := c.SendMessage(t.Context(), &tgbot.SendMessageParams{ChatID: alice.ID, Text: "1"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice.ID, Text: "2"}); err == nil {
		t.Fatal("second message in the same second was not limited")
	}
	if n := bot.Calls("sendMessage"); n != 1 {
		t.Fatalf("server saw %d sends", n)
	}
}
