package amocrm_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

// throughputWindow is how long each benchmark sends. The rate limit is
// time-based, so the benchmark runs for a fixed wall-clock window (run with
// -benchtime=1x) instead of a number of operations.
const throughputWindow = 4 * time.Second

// BenchmarkThroughput pushes leads with contacts into amocrmtest with its
// rate limit on (7 requests/s over a sliding one-second window, 429 HTML
// beyond, a block after repeated 429s), through a client with its DEFAULT
// limiter, for throughputWindow. The ceiling is 7 × 50 = 350 leads/s for
// /leads/complex batches of 50 and 7 leads/s for one lead per request.
//
// Metrics: leads/s, %ceiling (of 350 leads/s, the account's best), 429s
// (answers the fake sent; the goal is zero) and requests.
//
//	go test -run '^$' -bench Throughput -benchtime 1x ./amocrm/
func BenchmarkThroughput(b *testing.B) {
	b.Run("complex-50", func(b *testing.B) { benchThroughput(b, 50, complexSender) })
	b.Run("complex-1", func(b *testing.B) { benchThroughput(b, 1, complexSender) })
	b.Run("leads-1", func(b *testing.B) { benchThroughput(b, 1, plainSender) })
}

type sender func(ctx context.Context, c *amocrm.Client, first, n int) (int, error)

// complexSender creates n leads with contacts in one /leads/complex request.
func complexSender(ctx context.Context, c *amocrm.Client, first, n int) (int, error) {
	items := make([]*amocrm.ComplexLead, n)
	for i := range items {
		k := first + i
		items[i] = &amocrm.ComplexLead{
			Lead: &amocrm.Lead{Name: fmt.Sprintf("Заявка из Telegram №%d", k), Price: 1000 + k},
			Contact: &amocrm.Contact{Name: fmt.Sprintf("Клиент %d", k), CustomFieldsValues: amocrm.CustomFieldsValues{
				amocrm.SetFieldCode(amocrm.FieldCodePhone, amocrm.MultitextValue(phone(k), amocrm.EnumCodeMobile)),
			}},
			Tags: []amocrm.Tag{{Name: "telegram"}},
		}
	}
	res, _, err := c.Leads.CreateComplex(ctx, items)
	return len(res), err
}

// plainSender creates n leads (without contacts) with POST /api/v4/leads.
func plainSender(ctx context.Context, c *amocrm.Client, first, n int) (int, error) {
	leads := make([]*amocrm.Lead, n)
	for i := range leads {
		leads[i] = &amocrm.Lead{Name: fmt.Sprintf("Заявка из Telegram №%d", first+i), Price: 1000 + first + i}
	}
	res, _, err := c.Leads.Create(ctx, leads)
	return len(res), err
}

func benchThroughput(b *testing.B, perRequest int, send sender) {
	const workers = 2 // a second request is prepared while one is in flight
	var (
		leads, requests, tooMany atomic.Int64
		span                     time.Duration
	)
	for b.Loop() {
		srv := amocrmtest.NewServer(b, amocrmtest.WithSeed(amocrmtest.DemoAccount),
			amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: amocrmtest.DefaultPerSecond}))
		var mu sync.Mutex
		var firstStart, lastStart time.Time
		hook := func(ri amocrm.RequestInfo) {
			requests.Add(1)
			if ri.Status == http.StatusTooManyRequests {
				tooMany.Add(1)
			}
			started := time.Now().Add(-ri.Duration)
			mu.Lock()
			if firstStart.IsZero() || started.Before(firstStart) {
				firstStart = started
			}
			if started.After(lastStart) {
				lastStart = started
			}
			mu.Unlock()
		}
		c, err := amocrm.NewClient("chatterdemo", amocrm.WithBaseURL(srv.URL),
			amocrm.WithLongLivedToken(srv.LongLivedToken(amocrmtest.AccessTokenTTL)),
			amocrm.WithRequestHook(hook))
		if err != nil {
			b.Fatal(err)
		}
		ctx := b.Context()
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Value
		deadline := time.Now().Add(throughputWindow)
		for range workers {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					first := int(next.Add(int64(perRequest))) - perRequest
					n, err := send(ctx, c, first, perRequest)
					if err != nil {
						var rl *amocrm.RateLimitError
						if !errors.As(err, &rl) {
							failed.Store(err)
							return
						}
					}
					leads.Add(int64(n))
				}
			})
		}
		wg.Wait()
		// The sustained rate: leads after the first request over the time
		// from the first request's start to the last one's. (Dividing all
		// leads by the window would credit the free first slot: 29 requests
		// fit in 4 s at 7/s, which reads as 362 leads/s.)
		span = lastStart.Sub(firstStart)
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
		if got := srv.CountRequests(http.MethodPost, "/api/v4/leads"); int64(got) != requests.Load() {
			b.Fatalf("server saw %d requests, client hook %d", got, requests.Load())
		}
	}
	if span <= 0 || leads.Load() <= int64(perRequest) {
		b.Fatalf("too few requests: %d leads in %v", leads.Load(), span)
	}
	perSec := float64(leads.Load()-int64(perRequest)) / span.Seconds()
	b.ReportMetric(perSec, "leads/s")
	b.ReportMetric(100*perSec/(amocrm.DefaultRate*amocrm.MaxComplexBatch), "%ceiling")
	b.ReportMetric(float64(tooMany.Load()), "429s")
	b.ReportMetric(float64(requests.Load()), "requests")
}
