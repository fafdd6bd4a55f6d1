package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/pgstore"
)

const urlEnv = "CHATTER_TEST_POSTGRES_URL"

// testURL returns the test database URL or skips the test.
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(urlEnv)
	if u == "" {
		t.Skipf("%s is not set; skipping PostgreSQL tests", urlEnv)
	}
	return u
}

// newSchema names a fresh schema and drops it when the test ends. Migrate
// creates it.
func newSchema(t testing.TB) string {
	t.Helper()
	url := testURL(t)
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	schema := "chatter_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// openPool opens a pool whose search_path is schema, closed at cleanup.
func openPool(t testing.TB, schema string, maxConns int32) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testURL(t))
	if err != nil {
		t.Fatalf("parse %s: %v", urlEnv, err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func testSealer(t testing.TB) *chatter.Sealer {
	t.Helper()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i * 7)
	}
	sl, err := chatter.NewSealer("k1", map[string][]byte{"k1": key})
	if err != nil {
		t.Fatal(err)
	}
	return sl
}

// storeOn returns a migrated Store on its own pool in schema.
func storeOn(t testing.TB, schema string) (*pgstore.Store, *pgxpool.Pool) {
	t.Helper()
	return storeConfigured(t, schema, pgstore.Config{})
}

// storeConfigured is storeOn with cfg (its Sealer and Schema are set here).
func storeConfigured(t testing.TB, schema string, cfg pgstore.Config) (*pgstore.Store, *pgxpool.Pool) {
	t.Helper()
	pool := openPool(t, schema, 12)
	cfg.Sealer, cfg.Schema = testSealer(t), schema
	s, err := pgstore.New(pool, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	warm(t, pool)
	return s, pool
}

// warm opens all of pool's connections, as a running server's pool would
// have them: on this loaded machine a cold connection takes tens of
// milliseconds, which would otherwise stretch the first concurrent calls.
func warm(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	conns := make([]*pgxpool.Conn, 0, pool.Config().MaxConns)
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range pool.Config().MaxConns {
		wg.Go(func() {
			c, err := pool.Acquire(context.Background())
			if err != nil {
				t.Errorf("warm pool: %v", err)
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		})
	}
	wg.Wait()
}

// newStore returns a migrated Store in a fresh schema, with its pool.
func newStore(t testing.TB) (*pgstore.Store, *pgxpool.Pool) {
	t.Helper()
	return storeOn(t, newSchema(t))
}

func msg(ws string, chatID, id int64) *chatter.Message {
	return &chatter.Message{
		Workspace: ws,
		Key:       chatter.Key{Source: chatter.SourceBot, Account: "bot1", ChatID: chatID, MessageID: id},
		Chat:      chatter.Chat{ID: chatID, Type: chatter.ChatPrivate, Title: "Чат"},
		Sender:    chatter.Sender{ID: 42, Username: "ivan", FirstName: "Иван"},
		Text:      fmt.Sprintf("нужен ремонт #%d", id),
		Time:      time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC).Add(time.Duration(id) * time.Second),
	}
}

func acceptOpts(priority, maxAttempts int) chatter.AcceptOptions {
	return chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: true, Rule: "ремонт"}, Priority: priority, MaxAttempts: maxAttempts}
}

// waitFor polls cond until it is true, failing after a generous deadline.
func waitFor(t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: gave up", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startWork runs s.Work until the test ends and checks it returns nil.
func startWork(t *testing.T, s *pgstore.Store, cfg chatter.QueueConfig, fn chatter.WorkFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Work(ctx, cfg, fn) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Work returned %v, want nil", err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("Work did not return after cancel")
		}
	})
}

func count(t testing.TB, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
