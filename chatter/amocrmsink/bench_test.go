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
	"github.com/chatterhq/sdk/chatter/amocrmsink"
)

// pacedRate is the client's pace: just under amoCRM's 7 requests/s, because a
// token bucket at exactly 7/s against amoCRM's sliding one-second window
// still draws occasional 429s (measured: ~1 per 15 requests), and 20 of them
// in a minute get the account blocked for 15 minutes.
const pacedRate = 6.5

// benchMode is one configuration of the end-to-end benchmarks.
type benchMode struct {
	name    string
	batch   bool                    // BatchSize 50, BatchWait DefaultBatchWait
	lookup  amocrmsink.LookupPolicy // LookupCRM or LookupStore
	workers int
}

func (m benchMode) config(c *amocrmsink.Config) {
	if m.batch {
		c.BatchSize = amocrm.MaxComplexBatch
	}
	c.Lookup = m.lookup
}

// paced is an env where amoCRM's limit is real: the fake answers 429 above 7
// requests per second (and blocks after repeated 429s), and the client paces
// itself at pacedRate.
func paced(b *testing.B, config func(*amocrmsink.Config)) *env {
	e := newEnv(b, envOptions{noCache: true, config: config,
		server: []amocrmtest.Option{amocrmtest.WithRateLimit(amocrmtest.RateLimit{})},
		client: []amocrm.Option{amocrm.WithLimiter(amocrm.NewLimiter(pacedRate, 1)), amocrm.WithBackoff(amocrm.Backoff{})},
	})
	// Let the fake's one-second window forget the set-up requests.
	time.Sleep(1100 * time.Millisecond)
	return e
}

// BenchmarkEndToEnd measures messages per second from Pipeline.Accept to the
// lead (or note) in amoCRM, with amoCRM's 7 requests/s enforced.
//
//   - new_people: every message from a new person (contact search,
//     /leads/complex, note), one request each;
//   - same_person: follow-ups of one person threaded as notes (read the
//     lead, add the note); one person's deliveries are serial;
//   - new_people_batched: new people, leads and notes batched by 50,
//     LookupCRM (the searches stay per person);
//   - new_people_batched_store: the same with LookupStore (no searches);
//   - threaded_batched_store: follow-ups of b.N different people whose
//     leads are open (lead reads and notes batched).
func BenchmarkEndToEnd(b *testing.B) {
	for _, mode := range []benchMode{
		{name: "new_people", workers: 4},
		{name: "same_person", workers: 4},
		{name: "new_people_batched", batch: true, workers: 128},
		{name: "new_people_batched_store", batch: true, lookup: amocrmsink.LookupStore, workers: 128},
		{name: "threaded_batched_store", batch: true, lookup: amocrmsink.LookupStore, workers: 128},
	} {
		b.Run(mode.name, func(b *testing.B) {
			e := paced(b, mode.config)
			p := e.runPipeline(b, chatter.PipelineConfig{Workers: mode.workers})
			who := func(i int) person {
				return person{id: 800000000 + int64(i), username: "lead_" + strconv.Itoa(i), first: "Клиент"}
			}
			switch mode.name {
			case "same_person":
				e.mustDeliver(b, msg(chatID, 1_000_000, maria, "Первое сообщение"))
			case "threaded_batched_store":
				first := make([]*chatter.Message, b.N)
				for i := range first {
					first[i] = msg(chatID, int64(2_000_000+i), who(i), "Первая заявка "+strconv.Itoa(i))
				}
				if _, err := p.AcceptBatch(context.Background(), first); err != nil {
					b.Fatal(err)
				}
				e.waitSettled(b, b.N, 30*time.Minute)
				time.Sleep(1100 * time.Millisecond)
			}
			msgs := make([]*chatter.Message, b.N)
			for i := range msgs {
				w := maria
				if mode.name != "same_person" {
					w = who(i)
				}
				msgs[i] = msg(chatID, int64(i+1), w, "Заявка "+strconv.Itoa(i))
			}
			settled := 0
			if mode.name == "threaded_batched_store" {
				settled = b.N
			}
			e.srv.ResetRequests()
			b.ResetTimer()
			start := time.Now()
			if _, err := p.AcceptBatch(context.Background(), msgs); err != nil {
				b.Fatal(err)
			}
			counts := e.waitSettled(b, settled+b.N, 30*time.Minute)
			el := time.Since(start)
			b.StopTimer()
			if counts[chatter.StateDead] != 0 {
				b.Fatalf("dead deliveries: %v", counts)
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
			b.ReportMetric(float64(e.srv.CountRequests("", "/api/v4/"))/float64(b.N), "req/msg")
			if c := e.srv.CountRequests("POST", "/api/v4/leads/complex"); c > 0 {
				b.ReportMetric(float64(newLeads(e, msgs))/float64(c), "leads/complex_req")
			}
			b.ReportMetric(float64(e.stats.Count429(time.Hour)), "429s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// newLeads counts the messages of msgs that created a lead.
func newLeads(e *env, msgs []*chatter.Message) int {
	leads := e.leadsByMarker()
	n := 0
	for _, m := range msgs {
		n += len(leads[m.Key.String()])
	}
	return n
}

// BenchmarkLatency offers 100 messages per second for one second (from 20
// people, so most are threaded) and reports the delivery latency from Accept
// to delivered. paced_7rps has amoCRM's limit: the queue grows and latency
// with it; the _batched modes batch leads, lead reads and notes (BatchSize
// 50, 64 workers). unpaced has no limit: the sink's own cost plus the fake's.
func BenchmarkLatency(b *testing.B) {
	for _, mode := range []benchMode{
		{name: "unpaced", workers: 8},
		{name: "paced_7rps", workers: 8},
		{name: "paced_7rps_batched", batch: true, workers: 64},
		{name: "paced_7rps_batched_store", batch: true, lookup: amocrmsink.LookupStore, workers: 64},
	} {
		b.Run(mode.name, func(b *testing.B) {
			const offered, dur = 100, time.Second
			var lat []time.Duration
			for range b.N {
				var e *env
				if mode.name == "unpaced" {
					e = newEnv(b, envOptions{noCache: true, config: mode.config})
				} else {
					e = paced(b, mode.config)
				}
				var mu sync.Mutex
				accepted := map[chatter.Key]time.Time{}
				p := e.runPipeline(b, chatter.PipelineConfig{Workers: mode.workers, Hooks: chatter.Hooks{
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
