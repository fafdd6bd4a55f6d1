package chattertest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

// A source hands two messages to a handler that filters and stores them; a
// queue worker delivers the accepted one through a sink that fails once.
func Example() {
	ctx := context.Background()
	store := chattertest.NewMemStore()
	sink := chattertest.NewRecordingSink()

	lead := chattertest.NewMessage("demo", -1001234567890, 1, "Нужен ремонт кухни, 12 м²")
	junk := chattertest.NewMessage("demo", -1001234567890, 2, "Продам диван, недорого")
	sink.FailTimes("demo", lead.Key, 1, errors.New("amoCRM 502 Bad Gateway"))

	// The source: acknowledged only once stored.
	src := chattertest.NewFakeSource(lead, junk)
	srcCtx, stopSource := context.WithCancel(ctx)
	defer stopSource()
	go func() {
		_ = src.Run(srcCtx, chatter.HandlerFunc(func(ctx context.Context, m *chatter.Message) error {
			v := chatter.Verdict{Accept: strings.Contains(m.Text, "ремонт"), Rule: "ремонт"}
			_, err := store.SaveMessage(ctx, m, chatter.AcceptOptions{Verdict: v, MaxAttempts: 3})
			return err
		}))
	}()
	if err := src.WaitAcked(ctx, 2); err != nil {
		fmt.Println(err)
		return
	}

	// The worker: sink errors become retries, success is recorded.
	workCtx, stopWork := context.WithCancel(ctx)
	delivered := make(chan struct{})
	go func() {
		<-delivered
		stopWork() // Work applies the running job's outcome before it returns
	}()
	_ = store.Work(workCtx, chatter.QueueConfig{Workers: 1}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		res, err := sink.Deliver(ctx, &chatter.Delivery{Message: j.Message, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
			LastError: j.LastError, LastClass: j.LastClass})
		if err != nil {
			return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassOf(err), Err: err.Error(), Delay: 10 * time.Millisecond}
		}
		close(delivered)
		return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: res}
	})

	for _, m := range []*chatter.Message{lead, junk} {
		e, err := store.GetEntry(ctx, "demo", m.Key)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %s, attempts %d", e.Key, e.State, e.Attempts)
		if e.Result != nil {
			fmt.Printf(", lead %d", e.Result.LeadID)
		}
		fmt.Println()
	}
	fmt.Println("delivered to the CRM:", sink.DeliveredCount("demo", lead.Key), "time(s)")
	// Output:
	// tgbot:7000000001:-1001234567890:1: delivered, attempts 2, lead 1000
	// tgbot:7000000001:-1001234567890:2: filtered, attempts 0
	// delivered to the CRM: 1 time(s)
}

func ExampleNewMessage() {
	m := chattertest.NewMessage("demo", -1001234567890, 42, "")
	fmt.Println(m.Key)
	fmt.Println(m.Chat.Title, "|", m.Sender.Name())
	fmt.Println(m.Time.Format(time.RFC3339), m.Link)
	fmt.Println(m.Validate() == nil)
	// Output:
	// tgbot:7000000001:-1001234567890:42
	// Ремонт квартир — Москва | Ирина Смирнова
	// 2025-03-14T09:30:42Z https://t.me/remont_msk/42
	// true
}

func ExampleRecordingSink() {
	ctx := context.Background()
	sink := chattertest.NewRecordingSink()
	m := chattertest.NewMessage("demo", 777, 1, "")
	sink.RetryAfter("demo", m.Key, 1, 2*time.Second)

	_, err := sink.Deliver(ctx, &chatter.Delivery{Message: m, Attempt: 1, MaxAttempts: 3})
	wait, _ := chatter.RetryAfter(err)
	fmt.Println(chatter.ClassOf(err), wait)

	res, err := sink.Deliver(ctx, &chatter.Delivery{Message: m, Attempt: 1, MaxAttempts: 3})
	fmt.Println(res.LeadID, err, sink.DeliveredCount("demo", m.Key))
	// Output:
	// rate_limited 2s
	// 1000 <nil> 1
}
