package chatter_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

// A source hands messages to a Pipeline; the pipeline stores each one with
// its delivery job before the source acknowledges it, filters out the
// chatter, ignores a redelivered duplicate, and its workers deliver the rest
// to the sink.
func ExamplePipeline() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	store := chattertest.NewMemStore()
	sink := chattertest.NewRecordingSink()
	notes := chattertest.NewRecordingNotifier()
	p, err := chatter.NewPipeline(chatter.PipelineConfig{
		Store:    store,
		Sink:     sink,
		Notifier: notes,
		Filter: chatter.FilterFunc(func(m *chatter.Message) chatter.Verdict {
			if strings.Contains(strings.ToLower(m.Text), "ремонт") {
				return chatter.Verdict{Accept: true, Rule: "ремонт", Matched: []string{"ремонт"}}
			}
			return chatter.Verdict{Rule: "ремонт", Reason: "no keyword"}
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	src := chattertest.NewFakeSource(
		chattertest.NewMessage("acme", -100123, 1, ""), // "…Нужен ремонт ванной комнаты…"
		chattertest.NewMessage("acme", -100123, 2, "Всем привет!"),
		chattertest.NewMessage("acme", -100123, 1, ""), // redelivered by Telegram
	)
	go func() { _ = src.Run(ctx, p) }() // ends with ctx
	if err := src.WaitAcked(ctx, 3); err != nil {
		fmt.Println(err)
		return
	}

	workers := make(chan error, 1)
	go func() { workers <- p.Run(ctx) }()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		n, _ := store.CountEntries(ctx, chatter.LedgerQuery{Workspace: "acme"})
		if n[chatter.StateDelivered] == 1 {
			break
		}
	}
	cancel()
	<-workers

	entries, _ := store.ListEntries(context.Background(), chatter.LedgerQuery{Workspace: "acme"})
	for i := len(entries) - 1; i >= 0; i-- { // oldest first
		e := entries[i]
		line := fmt.Sprintf("%s %s rule=%q", e.Key, e.State, e.Verdict.Rule)
		if e.Result != nil {
			line += fmt.Sprintf(" lead=%d", e.Result.LeadID)
		}
		fmt.Println(line)
	}
	fmt.Println("delivered:", len(sink.Delivered()))
	for _, n := range notes.Notifications() {
		fmt.Println("notification:", n.Type, n.Title.RU)
	}
	// Output:
	// tgbot:7000000001:-100123:1 delivered rule="ремонт" lead=1000
	// tgbot:7000000001:-100123:2 filtered rule="ремонт"
	// delivered: 1
	// notification: new_lead Новая заявка из Telegram #1000
}

// Chain applies middleware so that the first one is the outermost: a
// message passes through them in order, and the results come back in
// reverse order.
func ExampleChain() {
	step := func(name string) chatter.Middleware {
		return func(next chatter.Handler) chatter.Handler {
			return chatter.HandlerFunc(func(ctx context.Context, m *chatter.Message) error {
				fmt.Println(name, "before")
				err := next.Handle(ctx, m)
				fmt.Println(name, "after")
				return err
			})
		}
	}
	h := chatter.Chain(chatter.HandlerFunc(func(ctx context.Context, m *chatter.Message) error {
		fmt.Println("handler", m.Key)
		return nil
	}), step("first"), step("second"), chatter.Timeout(10*time.Second))
	_ = h.Handle(context.Background(), chattertest.NewMessage("acme", -100123, 7, ""))

	// Recover turns a panic below it into an error the source can retry.
	crashy := chatter.Chain(chatter.HandlerFunc(func(context.Context, *chatter.Message) error {
		panic("filter bug")
	}), chatter.Recover())
	fmt.Println(crashy.Handle(context.Background(), nil))
	// Output:
	// first before
	// second before
	// handler tgbot:7000000001:-100123:7
	// second after
	// first after
	// chatter: panic: filter bug
}

// A Digest lets the first notification of a burst through at once and
// sums up the rest in one notification when its window closes.
func ExampleDigest() {
	ctx := context.Background()
	now := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	email := chatter.NotifierFunc(func(ctx context.Context, n *chatter.Notification) error {
		fmt.Printf("[%s] %s\n", n.Type, n.Title.RU)
		if n.Type == chatter.NotifyDigest {
			fmt.Printf("[%s] %s\n", n.Type, n.Title.EN)
		}
		return nil
	})
	d, err := chatter.NewDigest(email, chatter.DigestConfig{
		Window: 5 * time.Minute,
		Now:    func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// amoCRM is down: a dozen deliveries go dead within a minute.
	for i := range 12 {
		m := chattertest.NewMessage("acme", -100123, int64(i+1), "")
		_ = d.Notify(ctx, chatter.DeliveryFailedNotification(m, 8, chatter.ClassTransient, "amocrm: 502 Bad Gateway"))
	}
	fmt.Println("pending:", d.Pending())
	// Run would send the digest when the window closes; Flush sends it now.
	_ = d.Flush(ctx)
	// Output:
	// [delivery_failed] Сообщение не доставлено в CRM
	// pending: 11
	// [digest] 11 уведомлений «доставка не удалась» за 5 минут
	// [digest] 11 "delivery failed" notifications in 5 minutes
}

// An EventLog sits between a logger and its handler: records still reach
// the handler, and from MinLevel up they also land, batched, in the store's
// event log (the operator's "Logs" page), with category, error class,
// message key and workspace lifted from the attributes.
func ExampleEventLog() {
	ctx := context.Background()
	store := chattertest.NewMemStore()
	el, err := chatter.NewEventLog(store, nil, chatter.EventLogConfig{MinLevel: slog.LevelWarn})
	if err != nil {
		panic(err)
	}
	log := slog.New(el).With(chatter.AttrWorkspace, "acme")

	log.Info("message accepted", chatter.AttrCategory, chatter.CategoryDelivery) // below MinLevel
	log.Warn("delivery failed, will retry",
		chatter.AttrCategory, chatter.CategoryDelivery,
		chatter.AttrErrorClass, chatter.ClassRateLimited,
		chatter.AttrMessageKey, "tgbot:7000000001:-100123:1",
		"attempt", 2)
	_ = el.Flush(ctx) // Run does this every FlushInterval

	events, _ := store.ListEvents(ctx, chatter.EventQuery{Workspace: "acme"})
	for _, e := range events {
		fmt.Println(e.Level, e.Category, e.ErrorClass, e.MessageKey, e.Text, e.Attrs)
	}
	// Output:
	// WARN delivery rate_limited tgbot:7000000001:-100123:1 delivery failed, will retry map[attempt:2]
}

// RunChecks runs diagnostics concurrently, each under a timeout, and keeps
// their order; Summary gives the overall status for the UI.
func ExampleRunChecks() {
	checks := []chatter.Check{
		chatter.CheckFunc("store", func(ctx context.Context) chatter.CheckResult {
			return chatter.CheckResult{Status: chatter.StatusOK, Title: chatter.T("База данных", "Database")}
		}),
		chatter.CheckFunc("amocrm_rights", func(ctx context.Context) chatter.CheckResult {
			return chatter.CheckResult{
				Status: chatter.StatusFail,
				Title:  chatter.T("Права в amoCRM", "amoCRM rights"),
				Cause:  chatter.T("у пользователя интеграции нет права создавать сделки", "the integration's user may not create leads"),
				Remedy: chatter.T("Выдайте права на создание сделок", "Grant the right to create leads"),
			}
		}),
	}
	results := chatter.RunChecks(context.Background(), checks, chatter.CheckOptions{Timeout: 5 * time.Second})
	for _, r := range results {
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s: %s %s", r.Name, r.Status, r.Cause.RU)))
	}
	fmt.Println("summary:", chatter.Summary(results))
	// Output:
	// store: ok
	// amocrm_rights: fail у пользователя интеграции нет права создавать сделки
	// summary: fail
}
