package tgbot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

// BenchmarkWebhookHandler measures updates per second through the webhook
// handler: secret check, body limit, decode, dedupe, normalisation and a
// handler that appends to a slice.
func BenchmarkWebhookHandler(b *testing.B) {
	srv := tgbottest.NewServer(b)
	token, _ := srv.AddBot("shop_bot")
	c, err := tgbot.NewClient(token, tgbot.WithBaseURL(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	src, err := tgbot.NewSource(tgbot.Config{Client: c, Workspace: "acme", Mode: tgbot.ModeWebhook, SecretToken: "bench-secret"})
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var got []*chatter.Message
	h := chatter.HandlerFunc(func(_ context.Context, m *chatter.Message) error {
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = src.Run(ctx, h) }()
	defer func() { cancel(); <-done }()
	for serve := src.Status(); !serve.Running; serve = src.Status() {
		runtime.Gosched() // Run sets the handler right after it starts
	}
	handler := src.WebhookHandler()
	sample := sampleUpdates["private_text"]
	prefix, suffix, _ := strings.Cut(sample, "10000")
	serve := func(id int) int {
		req := httptest.NewRequest(http.MethodPost, "/tg", strings.NewReader(prefix+strconv.Itoa(id)+suffix))
		req.Header.Set(tgbot.SecretHeader, "bench-secret")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		return w.Code
	}
	for serve(1) != http.StatusOK {
		runtime.Gosched()
	}
	b.ReportAllocs()
	id := 1
	for b.Loop() {
		id++
		if code := serve(id); code != http.StatusOK {
			b.Fatalf("status %d", code)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
	mu.Lock()
	if len(got) < b.N {
		b.Fatalf("handled %d of %d", len(got), b.N)
	}
	mu.Unlock()
}

// BenchmarkDecodeNormalize measures DecodeUpdate + Normalize per update.
func BenchmarkDecodeNormalize(b *testing.B) {
	for _, name := range []string{"private_text", "group_text_link", "photo_caption_reply", "private_supergroup_edit"} {
		data := []byte(sampleUpdates[name])
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				u, err := tgbot.DecodeUpdate(data)
				if err != nil {
					b.Fatal(err)
				}
				m, err := tgbot.Normalize(u, tgbot.NormalizeOptions{Workspace: "acme", BotID: 1})
				if err != nil || m == nil {
					b.Fatal(err)
				}
			}
		})
	}
}
