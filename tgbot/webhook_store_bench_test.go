package tgbot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

// BenchmarkWebhookIntoSQLite measures updates per second through the whole
// ingest path of a webhook deployment: the webhook handler (secret check,
// decode, dedupe, normalisation) hands each update to chatter.Pipeline, which
// stores the message and its delivery job in SQLite before the handler
// answers 200. Concurrent requests, as Telegram sends them, share
// transactions through the store's group commit.
func BenchmarkWebhookIntoSQLite(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "chatter.db"), sqlitestore.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	p, err := chatter.NewPipeline(chatter.PipelineConfig{
		Store: store,
		Sink: chatter.SinkFunc(func(context.Context, *chatter.Delivery) (*chatter.DeliveryResult, error) {
			return &chatter.DeliveryResult{}, nil // not run: no workers in this benchmark
		}),
	})
	if err != nil {
		b.Fatal(err)
	}

	srv := tgbottest.NewServer(b)
	token, _ := srv.AddBot("shop_bot")
	c, err := tgbot.NewClient(token, tgbot.WithBaseURL(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	src, err := tgbot.NewSource(tgbot.Config{Client: c, Workspace: "acme", Mode: tgbot.ModeWebhook,
		SecretToken: "bench-secret", DedupeSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = src.Run(ctx, p) }()
	defer func() { cancel(); <-done }()
	for !src.Status().Running {
		runtime.Gosched()
	}
	handler := src.WebhookHandler()
	// Every update gets its own update_id and message_id, so none is a
	// duplicate: each one is a new message row and a new River job.
	tmpl := strings.Replace(sampleUpdates["private_text"], `"message_id":17`, `"message_id":MSGID`, 1)
	prefix, rest, _ := strings.Cut(tmpl, "10000")
	mid, suffix, _ := strings.Cut(rest, "MSGID")
	var seq atomic.Int64
	serve := func() int {
		id := strconv.FormatInt(seq.Add(1), 10)
		req := httptest.NewRequest(http.MethodPost, "/tg", strings.NewReader(prefix+id+mid+id+suffix))
		req.Header.Set(tgbot.SecretHeader, "bench-secret")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		return w.Code
	}
	for serve() != http.StatusOK {
		runtime.Gosched()
	}
	var failed atomic.Int64
	b.SetParallelism(64) // Telegram keeps up to 40 connections per webhook by default; 2 cores × 64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if serve() != http.StatusOK {
				failed.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d updates were not accepted", n)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "updates/s")
	counts, err := store.CountEntries(context.Background(), chatter.LedgerQuery{Workspace: "acme"})
	if err != nil {
		b.Fatal(err)
	}
	if got := counts[chatter.StateQueued]; got < b.N {
		b.Fatalf("stored %d queued messages, want at least %d", got, b.N)
	}
}
