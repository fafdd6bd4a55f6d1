package pgstore_test

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/pgstore"
)

// latencies collects per-operation durations for a p99.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d ...time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d...)
	l.mu.Unlock()
}

// report sets msgs/s and p99-ms on b.
func (l *latencies) report(b *testing.B, msgs int) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	p99 := l.d[min(len(l.d)-1, len(l.d)*99/100)]
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
}

// BenchmarkSaveMessage is Accept's store step: one transaction per message
// (row + River job), one producer.
func BenchmarkSaveMessage(b *testing.B) {
	s, _ := newStore(b)
	ctx := b.Context()
	var lat latencies
	n := 0
	for i := int64(1); b.Loop(); i++ {
		start := time.Now()
		if _, err := s.SaveMessage(ctx, msg("ws", 1, i), acceptOpts(0, 5)); err != nil {
			b.Fatal(err)
		}
		lat.add(time.Since(start))
		n++
	}
	lat.report(b, n)
}

// BenchmarkSaveMessageParallel is SaveMessage from GOMAXPROCS×4 producers,
// with group commit (the default) and without it.
func BenchmarkSaveMessageParallel(b *testing.B) {
	for _, c := range []struct {
		name string
		gc   pgstore.GroupCommit
	}{
		{"group_commit", pgstore.GroupCommit{}},
		{"no_group_commit", pgstore.GroupCommit{Disabled: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, pool := storeWith(b, c.gc)
			warm(b, pool)
			ctx := b.Context()
			var (
				lat  latencies
				next atomic.Int64
			)
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					start := time.Now()
					if _, err := s.SaveMessage(ctx, msg("ws", 1, next.Add(1)), acceptOpts(0, 5)); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(start))
				}
				lat.add(mine...)
			})
			lat.report(b, int(next.Load()))
		})
	}
}

// BenchmarkSaveMessages100 is group commit: 100 messages (rows in one pgx
// batch + one InsertManyTx) per transaction. p99-ms is per batch.
func BenchmarkSaveMessages100(b *testing.B) {
	s, _ := newStore(b)
	ctx := b.Context()
	var lat latencies
	id := int64(0)
	ms := make([]*chatter.Message, 100)
	opts := make([]chatter.AcceptOptions, 100)
	for i := range opts {
		opts[i] = acceptOpts(i%4, 5)
	}
	n := 0
	for b.Loop() {
		for i := range ms {
			id++
			ms[i] = msg("ws", 1, id)
		}
		start := time.Now()
		if _, err := s.SaveMessages(ctx, ms, opts); err != nil {
			b.Fatal(err)
		}
		lat.add(time.Since(start))
		n += len(ms)
	}
	lat.report(b, n)
}
