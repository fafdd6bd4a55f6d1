package amocrmsink_test

import (
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

// budgetBenchWindow is how long each run sends. The limit is time-based, so
// the benchmark runs a fixed wall-clock window (use -benchtime 1x).
const budgetBenchWindow = 10 * time.Second

// BenchmarkSharedBudget is three instances (three clients, each with its
// own Store handle, three callers each) reading one amoCRM account in
// amocrmtest with its limit on (7 requests per sliding second, 429 beyond,
// a 403 block after 20 × 429 in a minute), for budgetBenchWindow:
//
//   - postgres-3: amocrmsink.NewClient on one PostgreSQL schema (skipped
//     without CHATTER_TEST_POSTGRES_URL);
//   - sqlite-3: the same on one SQLite file;
//   - per-process-3: amocrm.NewClient's default per-process pacing, for
//     comparison.
//
// Metrics: req/s (admitted requests after the first ÷ the span from the
// first to the last, by the server clock), %limit (of 7/s), 429s and 403s
// (answers the fake sent) and requests (admitted).
//
//	CHATTER_TEST_POSTGRES_URL=... go test -run '^$' -bench SharedBudget -benchtime 1x -benchmem ./chatter/amocrmsink/
func BenchmarkSharedBudget(b *testing.B) {
	b.Run("postgres-3", func(b *testing.B) {
		benchBudget(b, func(tb testing.TB, srv *amocrmtest.Server) []*amocrm.Client {
			return sharedClients(tb, srv, pgStores(tb, instances))
		})
	})
	b.Run("sqlite-3", func(b *testing.B) {
		benchBudget(b, func(tb testing.TB, srv *amocrmtest.Server) []*amocrm.Client {
			return sharedClients(tb, srv, sqliteStores(tb, instances))
		})
	})
	b.Run("per-process-3", func(b *testing.B) {
		benchBudget(b, func(tb testing.TB, srv *amocrmtest.Server) []*amocrm.Client {
			token := srv.LongLivedToken(amocrmtest.AccessTokenTTL)
			var out []*amocrm.Client
			for range instances {
				c, err := amocrm.NewClient(srv.Account().Subdomain, amocrm.WithBaseURL(srv.URL), amocrm.WithLongLivedToken(token))
				if err != nil {
					tb.Fatal(err)
				}
				out = append(out, c)
			}
			return out
		})
	})
}

func benchBudget(b *testing.B, clients func(testing.TB, *amocrmtest.Server) []*amocrm.Client) {
	var res hammerResult
	for b.Loop() {
		srv := limitedFake(b)
		cs := clients(b, srv)
		res = hammer(b, srv, cs, hammerWorkers, budgetBenchWindow)
	}
	b.ReportMetric(res.Rate, "req/s")
	b.ReportMetric(100*res.Rate/amocrm.DefaultRate, "%limit")
	b.ReportMetric(float64(res.TooMany), "429s")
	b.ReportMetric(float64(res.Blocked), "403s")
	b.ReportMetric(float64(res.OK), "requests")
}
