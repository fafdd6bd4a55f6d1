package amocrmsink_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
)

// pacedRate is the client's pace: just under amoCRM's 7 requests/s, because a
// token bucket at exactly 7/s against amoCRM's sliding one-second window
// still draws occasional 429s (measured: ~1 per 15 requests), and 20 of them
// in a minute get the account blocked for 15 minutes.
const pacedRate = 6.5

// paced is an env where amoCRM's limit is real: the fake answers 429 above 7
// requests per second (and blocks after repeated 429s), and the client paces
// itself at pacedRate.
func paced(b *testing.B) *env {
	e := newEnv(b, envOptions{noCache: true,
		server: []amocrmtest.Option{amocrmtest.WithRateLimit(amocrmtest.RateLimit{})},
		client: []amocrm.Option{amocrm.WithLimiter(amocrm.NewLimiter(pacedRate, 1)), amocrm.WithBackoff(amocrm.Backoff{})},
	})
	// Let the fake's one-second window forget the set-up requests.
	time.Sleep(1100 * time.Millisecond)
	return e
}

// BenchmarkEndToEnd measures messages per second from Pipeline.Accept to the
// lead (or note) in amoCRM, with amoCRM's 7 requests/s enforced. new_people:
// every message from a new person (contact search, /leads/complex, note);
// same_person: follow-ups threaded as notes (read the lead, add the note).
func BenchmarkEndToEnd(b *testing.B) {
	for _, mode := range []string{"new_people", "same_person"} {
		b.Run(mode, func(b *testing.B) {
			e := paced(b)
			p := e.runPipeline(b, chatter.PipelineConfig{Workers: 4})
			if mode == "same_person" {
				e.mustDeliver(b, msg(chatID, 1_000_000, maria, "Первое сообщение"))
			}
			msgs := make([]*chatter.Message, b.N)
			for i := range msgs {
				who := maria
				if mode == "new_people" {
					who = person{id: 800000000 + int64(i), username: "lead_" + strconv.Itoa(i), first: "Клиент"}
				}
				msgs[i] = msg(chatID, int64(i+1), who, "Заявка "+strconv.Itoa(i))
			}
			e.srv.ResetRequests()
			b.ResetTimer()
			start := time.Now()
			if _, err := p.AcceptBatch(context.Background(), msgs); err != nil {
				b.Fatal(err)
			}
			e.waitSettled(b, b.N, 30*time.Minute)
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
			b.ReportMetric(float64(e.srv.CountRequests("", "/api/v4/"))/float64(b.N), "req/msg")
			b.ReportMetric(float64(e.stats.Count429(time.Hour)), "429s")
		})
	}
}

// BenchmarkLatency offers 100 messages per second for one second (from 20
// people, so most are threaded) and reports the delivery latency from Accept to delivered.
// paced_7rps has amoCRM's limit: the queue grows and latency with it.
// unpaced has no limit: the sink's own cost plus the fake's.
func BenchmarkLatency(b *testing.B) {
	for _, mode := range []string{"unpaced", "paced_7rps"} {
		b.Run(mode, func(b *testing.B) {
			const offered, dur = 100, time.Second
			var lat []time.Duration
			for range b.N {
				var e *env
				if mode == "unpaced" {
					e = newEnv(b, envOptions{noCache: true})
				} else {
					e = paced(b)
				}
				var mu sync.Mutex
				accepted := map[chatter.Key]time.Time{}
				p := e.runPipeline(b, chatter.PipelineConfig{Workers: 8, Hooks: chatter.Hooks{
					OnOutcome: func(_ context.Context, j *chatter.Job, o chatter.Outcome) {
						if o.Kind != chatter.OutcomeDelivered {
							return
						}
						mu.Lock()
						lat = append(lat, time.Since(accepted[j.Message.Key]))
						mu.Unlock()
					}}})
				n := int(offered * dur / time.Second)
				tick := time.NewTicker(time.Second / offered)
				for i := range n {
					<-tick.C
					who := person{id: 810000000 + int64(i%20), username: "u" + strconv.Itoa(i%20), first: "Клиент"}
					m := msg(chatID, int64(i+1), who, "Сообщение "+strconv.Itoa(i))
					mu.Lock()
					accepted[m.Key] = time.Now()
					mu.Unlock()
					if _, err := p.Accept(context.Background(), m); err != nil {
						b.Fatal(err)
					}
				}
				tick.Stop()
				e.waitSettled(b, n, 30*time.Minute)
			}
			slices.Sort(lat)
			q := func(f float64) float64 { return lat[int(f*float64(len(lat)-1))].Seconds() * 1000 }
			b.ReportMetric(q(0.50), "p50_ms")
			b.ReportMetric(q(0.99), "p99_ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkApplyMapping measures the field mapping of one message read
// through MessageRecord (no marshalling).
func BenchmarkApplyMapping(b *testing.B) {
	e := newEnv(b, envOptions{noCache: true})
	m := msg(chatID, 1, maria, "Здравствуйте! Нужен ремонт ванной под ключ, бюджет 300 000 ₽, телефон +7 916 123-45-67")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.cfg.Mapper.Apply(amocrmsinkRecord(m)); err != nil {
			b.Fatal(err)
		}
	}
}
