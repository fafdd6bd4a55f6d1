package sqlitestore_test

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
)

// latencies collects per-call latencies and reports throughput and p99.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B, messages int) {
	b.Helper()
	elapsed := b.Elapsed()
	if elapsed > 0 {
		b.ReportMetric(float64(messages)/elapsed.Seconds(), "msgs/s")
	}
	if len(l.d) > 0 {
		slices.Sort(l.d)
		p99 := l.d[(len(l.d)*99)/100]
		if i := (len(l.d) * 99) / 100; i >= len(l.d) {
			p99 = l.d[len(l.d)-1]
		}
		b.ReportMetric(float64(p99)/float64(time.Millisecond), "p99-ms")
	}
}

func benchMessage(id int64) *chatter.Message {
	m := msg("ws-bench", -1001234567890, id)
	return m
}

// BenchmarkSaveMessage saves one message at a time: one transaction each.
func BenchmarkSaveMessage(b *testing.B) {
	s, _ := newStore(b, sqlitestore.Config{})
	opts := accept(1, 5)
	var lat latencies
	d := make([]time.Duration, 0, b.N)
	var id int64
	b.ResetTimer()
	for b.Loop() {
		id++
		m := benchMessage(id)
		start := time.Now()
		if _, err := s.SaveMessage(b.Context(), m, opts); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	lat.add(d)
	lat.report(b, int(id))
}

// BenchmarkSaveMessageParallel saves from many goroutines at once; group
// commit merges them into shared transactions.
func BenchmarkSaveMessageParallel(b *testing.B) {
	for _, c := range []struct {
		name string
		gc   sqlitestore.GroupCommit
	}{
		{"group_commit", sqlitestore.GroupCommit{}},
		{"group_commit_wait_1ms", sqlitestore.GroupCommit{MaxWait: time.Millisecond}},
		{"no_group_commit", sqlitestore.GroupCommit{Disabled: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, _ := newStore(b, sqlitestore.Config{GroupCommit: c.gc})
			opts := accept(1, 5)
			var lat latencies
			var next, total atomic.Int64
			b.SetParallelism(64) // 64 × GOMAXPROCS concurrent callers
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var d []time.Duration
				for pb.Next() {
					m := benchMessage(next.Add(1))
					start := time.Now()
					if _, err := s.SaveMessage(b.Context(), m, opts); err != nil {
						b.Error(err)
						return
					}
					d = append(d, time.Since(start))
				}
				total.Add(int64(len(d)))
				lat.add(d)
			})
			lat.report(b, int(total.Load()))
		})
	}
}

// BenchmarkSaveMessages100 saves batches of 100 with SaveMessages.
func BenchmarkSaveMessages100(b *testing.B) {
	s, _ := newStore(b, sqlitestore.Config{})
	const n = 100
	opts := make([]chatter.AcceptOptions, n)
	for i := range opts {
		opts[i] = accept(i%4, 5)
	}
	var lat latencies
	var d []time.Duration
	var id int64
	b.ResetTimer()
	for b.Loop() {
		ms := make([]*chatter.Message, n)
		for i := range ms {
			id++
			ms[i] = benchMessage(id)
		}
		start := time.Now()
		if _, err := s.SaveMessages(b.Context(), ms, opts); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	lat.add(d)
	lat.report(b, int(id))
}
