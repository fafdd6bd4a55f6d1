package pgstore_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

// BenchmarkMigrateBackfill measures Migrate on a schema written by the
// pgstore of migration 0005: 20,000 ledger rows (a quarter delivered) and
// 20,000 events, all filled by the backfill (text_fold, new_lead), 500 per
// transaction, by one instance or by two migrating at once.
func BenchmarkMigrateBackfill(b *testing.B) {
	const rows, events = 20000, 20000
	for _, instances := range []int{1, 2} {
		b.Run(fmt.Sprintf("instances_%d", instances), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				schema := newSchema(b)
				setup := openPool(b, schema, 4)
				oldSchemaAt(b, setup, schema, 5)
				base := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
				msgRows := make([][]any, rows)
				for i := range msgRows {
					m := msg("ws", -100, int64(i+1))
					m.Text = fmt.Sprintf("Нужен РЕМОНТ ванной, заявка №%d", i+1)
					body, _ := json.Marshal(m)
					state, result := "filtered", []byte(nil)
					if i%4 == 0 {
						state, result = "delivered", []byte(fmt.Sprintf(`{"lead_id":%d}`, 10000+i))
					}
					at := base.Add(time.Duration(i) * time.Millisecond)
					msgRows[i] = []any{"ws", "tgbot", "bot1", int64(-100), int64(i + 1), int64(0), string(body), state,
						`{"accept":true}`, 1, 5, string(result), at, at, at}
				}
				cols := []string{"workspace", "source", "account", "chat_id", "message_id", "revision", "body", "state",
					"verdict", "priority", "max_attempts", "result", "received_at", "updated_at", "budget_start"}
				for i, r := range msgRows {
					if r[11] == "" {
						msgRows[i][11] = nil
					}
				}
				if _, err := setup.CopyFrom(b.Context(), pgx.Identifier{schema, "chatter_messages"}, cols, pgx.CopyFromRows(msgRows)); err != nil {
					b.Fatal(err)
				}
				evRows := make([][]any, events)
				for i := range evRows {
					evRows[i] = []any{"ws", base.Add(time.Duration(i) * time.Millisecond), 0, "delivery", "amocrm", fmt.Sprintf("Сделка №%d СОЗДАНА в amoCRM", i)}
				}
				if _, err := setup.CopyFrom(b.Context(), pgx.Identifier{schema, "chatter_events"},
					[]string{"workspace", "at", "level", "category", "source", "text"}, pgx.CopyFromRows(evRows)); err != nil {
					b.Fatal(err)
				}
				stores := make([]*pgstore.Store, instances)
				for i := range stores {
					s, err := pgstore.New(openPool(b, schema, 4), pgstore.Config{Schema: schema})
					if err != nil {
						b.Fatal(err)
					}
					stores[i] = s
				}
				b.StartTimer()
				var wg sync.WaitGroup
				for _, s := range stores {
					wg.Go(func() {
						if err := s.Migrate(b.Context()); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
			}
			b.ReportMetric(float64(rows+events)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
