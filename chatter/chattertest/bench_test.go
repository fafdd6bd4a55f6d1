package chattertest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

func BenchmarkMemStoreSaveMessage(b *testing.B) {
	s := chattertest.NewMemStore()
	opts := chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: true}, MaxAttempts: 3}
	msgs := make([]*chatter.Message, b.N)
	for i := range msgs {
		msgs[i] = chattertest.NewMessage("ws", -100, int64(i+1), "")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.SaveMessage(b.Context(), msgs[i], opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemStoreQueue measures save-to-delivered throughput with 4 workers.
func BenchmarkMemStoreQueue(b *testing.B) {
	s := chattertest.NewMemStore()
	opts := chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: true}, MaxAttempts: 3}
	var done atomic.Int64
	all := make(chan struct{})
	n := int64(b.N)
	ctx, cancel := context.WithCancel(b.Context())
	workDone := make(chan error, 1)
	go func() {
		workDone <- s.Work(ctx, chatter.QueueConfig{Workers: 4}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
			if done.Add(1) == n {
				close(all)
			}
			return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{LeadID: j.ID}}
		})
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		m := chattertest.NewMessage("ws", -100, int64(i+1), "")
		if _, err := s.SaveMessage(b.Context(), m, chatter.AcceptOptions{Verdict: opts.Verdict, MaxAttempts: 3, Priority: i % 4}); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-time.After(time.Minute):
		b.Fatal("jobs not delivered")
	}
	b.StopTimer()
	cancel()
	<-workDone
}

func BenchmarkMemStoreReserve(b *testing.B) {
	s := chattertest.NewMemStore()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Reserve(b.Context(), "ws", "amocrm", time.Microsecond); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
