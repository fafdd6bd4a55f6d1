package chatter_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

// The pipeline against chattertest.MemStore's real queue: retries, a
// snooze, a dead delivery, its notification, and Replay.
func TestPipelineWithMemStore(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	store := chattertest.NewMemStore()
	sink := chattertest.NewRecordingSink()
	notes := chattertest.NewRecordingNotifier()
	p, err := chatter.NewPipeline(chatter.PipelineConfig{
		Store: store, Sink: sink, Notifier: notes,
		MaxAttempts: 3,
		Backoff:     func(int) time.Duration { return time.Millisecond },
	})
	if err != nil {
		t.Fatal(err)
	}
	flaky := chattertest.NewMessage("ws", -100, 1, "")
	slow := chattertest.NewMessage("ws", -100, 2, "")
	broken := chattertest.NewMessage("ws", -100, 3, "")
	sink.FailTimes("ws", flaky.Key, 2, errors.New("amocrm: 502"))
	sink.RetryAfter("ws", slow.Key, 1, time.Millisecond)
	sink.FailPermanently("ws", broken.Key, errors.New("amocrm: pipeline 17 deleted"))
	if _, err := p.AcceptBatch(ctx, []*chatter.Message{flaky, slow, broken}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	entry := func(k chatter.Key) *chatter.LedgerEntry {
		e, err := store.GetEntry(ctx, "ws", k)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	wait("all settled", func() bool {
		return entry(flaky.Key).State == chatter.StateDelivered && entry(slow.Key).State == chatter.StateDelivered &&
			entry(broken.Key).State == chatter.StateDead
	})
	if e := entry(flaky.Key); e.Attempts != 3 || sink.DeliveredCount("ws", flaky.Key) != 1 {
		t.Errorf("flaky: %d attempts, delivered %d times", e.Attempts, sink.DeliveredCount("ws", flaky.Key))
	}
	if e := entry(slow.Key); e.Attempts != 1 || sink.Attempts("ws", slow.Key) != 2 {
		t.Errorf("slow: %d attempts recorded, %d calls; a snooze must not use an attempt", e.Attempts, sink.Attempts("ws", slow.Key))
	}
	if e := entry(broken.Key); e.Attempts != 1 || e.ErrorClass != chatter.ClassPermanent || e.LastError == "" {
		t.Errorf("broken: %+v", e)
	}
	// The notifications are sent after the outcomes commit, by workers of
	// their own: wait for them as well.
	var failed, leads int
	count := func() bool {
		failed, leads = 0, 0
		for _, n := range notes.Notifications() {
			switch n.Type {
			case chatter.NotifyDeliveryFailed:
				failed++
			case chatter.NotifyNewLead:
				leads++
			}
		}
		return failed >= 1 && leads >= 2
	}
	wait("the notifications", count)
	if count(); failed != 1 || leads != 2 {
		t.Errorf("notifications: %d failed, %d new leads", failed, leads)
	}

	sink.Clear("ws", broken.Key)
	if err := p.Replay(ctx, "ws", broken.Key); err != nil {
		t.Fatal(err)
	}
	wait("replayed delivery", func() bool { return entry(broken.Key).State == chatter.StateDelivered })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
