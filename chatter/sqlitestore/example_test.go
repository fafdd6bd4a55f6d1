package sqlitestore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "chatter-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	sealer, err := chatter.NewSealer("k1", map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		fmt.Println(err)
		return
	}
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "chatter.db"), sqlitestore.Config{Sealer: sealer})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	m := &chatter.Message{
		Workspace: "remont",
		Key:       chatter.Key{Source: chatter.SourceBot, Account: "7000000001", ChatID: -1001234, MessageID: 42},
		Sender:    chatter.Sender{ID: 500000042, FirstName: "Ирина"},
		Text:      "Нужен ремонт ванной под ключ",
		Time:      time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC),
	}
	opts := chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: true, Rule: "ремонт"}, Priority: 1, MaxAttempts: 5}
	res, err := store.SaveMessage(ctx, m, opts)
	fmt.Println("saved:", res.State, res.Duplicate, err)
	res, err = store.SaveMessage(ctx, m, opts)
	fmt.Println("again:", res.State, res.Duplicate, err)

	// Deliver it: the worker sees the message and records the lead.
	workCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- store.Work(workCtx, chatter.QueueConfig{Workers: 1}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
			return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{LeadID: 777}}
		})
	}()
	var e *chatter.LedgerEntry
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if e, err = store.GetEntry(ctx, "remont", m.Key); err == nil && e.State == chatter.StateDelivered {
			break
		}
	}
	stop()
	fmt.Println("work stopped:", <-done)
	fmt.Println("ledger:", e.State, "lead", e.Result.LeadID, "attempts", e.Attempts)
	// Output:
	// saved: queued false <nil>
	// again: queued true <nil>
	// work stopped: <nil>
	// ledger: delivered lead 777 attempts 1
}
