package amocrmsink_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/pgstore"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
)

const pgURLEnv = "CHATTER_TEST_POSTGRES_URL"

// instances is how many server instances the shared-budget tests simulate.
const instances = 3

// pgStores returns n pgstore.Stores, each on its own pool (as n processes
// would have), in one fresh schema dropped when the test ends. It skips
// without CHATTER_TEST_POSTGRES_URL.
func pgStores(tb testing.TB, n int) []amocrmsink.ClientStore {
	tb.Helper()
	url := os.Getenv(pgURLEnv)
	if url == "" {
		tb.Skipf("%s is not set; skipping PostgreSQL tests", pgURLEnv)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "amocrmsink_test_" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	var out []amocrmsink.ClientStore
	for i := range n {
		cfg, err := pgxpool.ParseConfig(url)
		require.NoError(tb, err)
		cfg.MaxConns = 2
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		require.NoError(tb, err)
		tb.Cleanup(pool.Close)
		s, err := pgstore.New(pool, pgstore.Config{Schema: schema})
		require.NoError(tb, err)
		if i == 0 {
			require.NoError(tb, s.Migrate(context.Background()))
		}
		// Open the pool's connections now, as a running server has them.
		conns := make([]*pgxpool.Conn, 0, cfg.MaxConns)
		for range cfg.MaxConns {
			c, err := pool.Acquire(context.Background())
			require.NoError(tb, err)
			conns = append(conns, c)
		}
		for _, c := range conns {
			c.Release()
		}
		out = append(out, s)
	}
	return out
}

// sqliteStores returns n sqlitestore.Stores, each with its own *sql.DB, on
// one database file (as n processes on one host would share it).
func sqliteStores(tb testing.TB, n int) []amocrmsink.ClientStore {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "chatter.db")
	var out []amocrmsink.ClientStore
	for range n {
		s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Config{})
		require.NoError(tb, err)
		tb.Cleanup(func() { _ = s.Close() })
		out = append(out, s)
	}
	return out
}

// hammerResult is what amocrmtest saw while several clients sent as fast as
// their limiters let them.
type hammerResult struct {
	OK, TooMany, Blocked int
	// Rate is the sustained rate of admitted requests: those after the
	// first ÷ (last arrival − first arrival), by the server clock.
	Rate   float64
	Window time.Duration
}

// hammer runs `workers` goroutines per client, each reading the account in
// a loop for window, and then reads amocrmtest's request log.
func hammer(tb testing.TB, srv *amocrmtest.Server, clients []*amocrm.Client, workers int, window time.Duration) hammerResult {
	tb.Helper()
	srv.ResetRequests()
	deadline := time.Now().Add(window)
	// Requests queued at the deadline finish within a few slots; a client
	// paused by amoCRM's block (the per-process variant) would wait 15
	// minutes: give up on it.
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(5*time.Second))
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var unexpected []error
	for _, c := range clients {
		for range workers {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					_, _, err := c.Account.Get(ctx, nil)
					var rl *amocrm.RateLimitError
					var be *amocrm.BlockedError
					switch {
					case err == nil, errors.As(err, &rl):
					case errors.As(err, &be), errors.Is(err, context.DeadlineExceeded):
						// The per-process variant ends in amoCRM's block; stop.
						return
					default:
						mu.Lock()
						unexpected = append(unexpected, err)
						mu.Unlock()
						return
					}
				}
			})
		}
	}
	wg.Wait()
	require.Empty(tb, unexpected, "unexpected request errors")
	var res hammerResult
	var admitted []time.Time
	for _, r := range srv.Requests() {
		if !strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		switch r.Status {
		case http.StatusOK:
			res.OK++
			admitted = append(admitted, r.Time)
		case http.StatusTooManyRequests:
			res.TooMany++
		case http.StatusForbidden:
			res.Blocked++
		}
	}
	sort.Slice(admitted, func(i, j int) bool { return admitted[i].Before(admitted[j]) })
	if len(admitted) > 1 {
		res.Window = admitted[len(admitted)-1].Sub(admitted[0])
		res.Rate = float64(len(admitted)-1) / res.Window.Seconds()
	}
	return res
}

// limitedFake is amocrmtest enforcing amoCRM's limit: 7 requests per sliding
// second, 429 beyond, a 403 block after 20 of them in a minute.
func limitedFake(tb testing.TB) *amocrmtest.Server {
	tb.Helper()
	return amocrmtest.NewServer(tb, amocrmtest.WithSeed(amocrmtest.DemoAccount),
		amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: amocrmtest.DefaultPerSecond}))
}

// sharedClients builds one client per store with amocrmsink.NewClient, as
// each instance of a deployment would.
func sharedClients(tb testing.TB, srv *amocrmtest.Server, stores []amocrmsink.ClientStore) []*amocrm.Client {
	tb.Helper()
	token := srv.LongLivedToken(amocrmtest.AccessTokenTTL)
	var out []*amocrm.Client
	for _, st := range stores {
		c, err := amocrmsink.NewClient(amocrmsink.ClientConfig{
			Store: st, Workspace: ws, Account: srv.Account().Subdomain, BaseURL: srv.URL,
			LongLivedToken: token, Stats: amocrmsink.NewRequestStats(nil),
		})
		require.NoError(tb, err)
		out = append(out, c)
	}
	return out
}

const (
	hammerWorkers = 3 // per instance: more callers than the budget lets through
	hammerWindow  = 5 * time.Second
)

// sharedAttempts bounds the runs of a shared-budget test. A run fails when
// amocrmtest saw a 429 or the combined rate stayed under 95% of 7/s; the
// test fails when every run does. Why more than one: on a CPU-starved
// machine (this 2-core box under the whole repository's -race tests reaches
// a load average of 15) a goroutine can stall for 50-100 ms between the
// budget granting its slot and the request reaching the in-process fake;
// at 95% of the limit a window absorbs only ~35 ms of such jitter, so one
// stall can cost a 429 whatever the pacing (amocrm's per-process default
// included). A pacing bug fails every run; per-process pacing, the
// baseline below, collects 429s in every run.
const sharedAttempts = 3

// Three instances on one PostgreSQL database, each with its own Store and
// pool, share one budget: amocrmtest enforcing 7 requests/s answers no 429,
// and together they use at least 95% of the limit.
func TestSharedBudgetThreeInstancesPostgres(t *testing.T) {
	runShared(t, func() []amocrmsink.ClientStore { return pgStores(t, instances) })
}

// The same on one SQLite file opened by three Stores.
func TestSharedBudgetThreeInstancesSQLite(t *testing.T) {
	runShared(t, func() []amocrmsink.ClientStore { return sqliteStores(t, instances) })
}

func runShared(t *testing.T, stores func() []amocrmsink.ClientStore) {
	t.Helper()
	var last hammerResult
	for attempt := 1; attempt <= sharedAttempts; attempt++ {
		srv := limitedFake(t)
		last = hammer(t, srv, sharedClients(t, srv, stores()), hammerWorkers, hammerWindow)
		t.Logf("run %d, %d instances: %d admitted, %d × 429, %d × 403, %.2f req/s over %v (%.1f%% of %d/s)",
			attempt, instances, last.OK, last.TooMany, last.Blocked, last.Rate, last.Window.Round(time.Millisecond),
			100*last.Rate/amocrm.DefaultRate, amocrm.DefaultRate)
		if last.TooMany == 0 && last.Blocked == 0 && last.Rate >= 0.95*amocrm.DefaultRate {
			return
		}
	}
	require.Zero(t, last.TooMany, "429 answers with a shared budget")
	require.Zero(t, last.Blocked, "403 answers with a shared budget")
	require.GreaterOrEqual(t, last.Rate, 0.95*amocrm.DefaultRate, "combined rate below 95%% of %d/s", amocrm.DefaultRate)
}

// What the shared budget fixes: three instances with amocrm's default
// per-process pacing send ~20 requests/s to an account that allows 7, and
// collect 429s (then amoCRM's block).
func TestPerProcessPacingThreeInstances429(t *testing.T) {
	srv := limitedFake(t)
	token := srv.LongLivedToken(amocrmtest.AccessTokenTTL)
	var clients []*amocrm.Client
	for range instances {
		c, err := amocrm.NewClient(srv.Account().Subdomain, amocrm.WithBaseURL(srv.URL), amocrm.WithLongLivedToken(token))
		require.NoError(t, err)
		clients = append(clients, c)
	}
	res := hammer(t, srv, clients, hammerWorkers, 2*time.Second)
	t.Logf("per-process pacing: %d admitted, %d × 429, %d × 403", res.OK, res.TooMany, res.Blocked)
	require.Positive(t, res.TooMany, "three per-process limiters stayed under the account's limit")
}
