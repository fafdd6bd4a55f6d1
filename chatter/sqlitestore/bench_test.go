package sqlitestore_test

import (
	"context"
	"fmt"
	"path/filepath"
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

// benchNotifier is a Notifier that returns at once, or (hang) blocks every
// call until its context ends, like a webhook whose endpoint accepts the
// connection and never answers.
type benchNotifier struct {
	hang  bool
	calls atomic.Int64
}

func (n *benchNotifier) Notify(ctx context.Context, _ *chatter.Notification) error {
	n.calls.Add(1)
	if n.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// BenchmarkPipelineDeliveryNotifier measures deliveries per second through a
// Pipeline on SQLite (4 workers, a sink that succeeds at once, every message
// a new lead, so every outcome carries a NotifyNewLead) with a notifier that
// answers at once and with one that never answers: notifications are jobs of
// their own, so the two should deliver at the same rate.
func BenchmarkPipelineDeliveryNotifier(b *testing.B) {
	for _, hang := range []bool{false, true} {
		name := "fast"
		if hang {
			name = "hanging"
		}
		b.Run(name, func(b *testing.B) {
			s, _ := newStore(b, sqlitestore.Config{Queue: sqlitestore.QueueTuning{FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond}})
			notifier := &benchNotifier{hang: hang}
			var delivered atomic.Int64
			sink := chatter.SinkFunc(func(_ context.Context, d *chatter.Delivery) (*chatter.DeliveryResult, error) {
				delivered.Add(1)
				return &chatter.DeliveryResult{LeadID: d.Message.Key.MessageID}, nil
			})
			p, err := chatter.NewPipeline(chatter.PipelineConfig{Store: s, Sink: sink, Notifier: notifier,
				Workers: 4, NotifyWorkers: 2, NotifyTimeout: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			ms := make([]*chatter.Message, b.N)
			for i := range ms {
				ms[i] = benchMessage(int64(i + 1))
			}
			for i := 0; i < len(ms); i += 500 {
				if _, err := p.AcceptBatch(b.Context(), ms[i:min(i+500, len(ms))]); err != nil {
					b.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(b.Context())
			done := make(chan error, 1)
			b.ResetTimer()
			go func() { done <- p.Run(ctx) }()
			for delivered.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkMigrateBackfill measures the first Open after the upgrade to
// migration 0007 of a database written before 0005: 20,000 ledger rows
// (a quarter of them delivered) and 20,000 events, all filled by the
// backfill (text_fold, new_lead), 500 per transaction.
func BenchmarkMigrateBackfill(b *testing.B) {
	const rows, events = 20000, 20000
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "chatter.db")
		db := oldSchema(b, path, 4)
		tx, err := db.BeginTx(b.Context(), nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := range int64(rows) {
			r := oldRow{ws: "ws", id: i + 1, text: fmt.Sprintf("Нужен РЕМОНТ ванной, заявка №%d", i+1), state: chatter.StateFiltered}
			if i%4 == 0 {
				r.state, r.result = chatter.StateDelivered, &chatter.DeliveryResult{LeadID: 10000 + i}
			}
			insertOld(b, tx, r)
		}
		for i := range events {
			if _, err := tx.Exec(`INSERT INTO chatter_events (workspace, time, level, category, source, text) VALUES ('ws', ?, 0, 'delivery', 'amocrm', ?)`,
				baseTime.Add(time.Duration(i)*time.Millisecond).UnixNano(), fmt.Sprintf("Сделка №%d СОЗДАНА в amoCRM", i)); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		s, err := sqlitestore.Open(b.Context(), path, sqlitestore.Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(rows+events)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
