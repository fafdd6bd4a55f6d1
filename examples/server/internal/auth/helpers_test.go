package auth_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/chatter/pgstore"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// cheapHash keeps tests fast; the production parameters are DefaultHash.
var cheapHash = auth.HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var t0 = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logBuffer collects JSON log lines from any number of goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// events returns the log lines as maps.
func (b *logBuffer) events(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader([]byte(b.String())))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "log line %s", sc.Text())
		out = append(out, m)
	}
	return out
}

// messages returns the "msg" of each event, in order.
func (b *logBuffer) messages(t *testing.T) []string {
	var out []string
	for _, e := range b.events(t) {
		out = append(out, e["msg"].(string))
	}
	return out
}

// env is a Service on one store with a test clock and a captured log.
type env struct {
	t     *testing.T
	ctx   context.Context
	store chatter.SettingsStore
	clock *clock
	logs  *logBuffer
	svc   *auth.Service
}

// newService returns another Service on e's store and clock (a second
// instance), configured by cfg on top of the test defaults.
func (e *env) newService(cfg auth.Config) *auth.Service {
	e.t.Helper()
	if cfg.Hash == (auth.HashParams{}) {
		cfg.Hash = cheapHash
	}
	if cfg.MinResponse == 0 {
		cfg.MinResponse = -1
	}
	if cfg.Now == nil {
		cfg.Now = e.clock.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	svc, err := auth.New(e.store, cfg)
	require.NoError(e.t, err)
	return svc
}

// storeKinds are the stores every test runs on: the in-memory one, SQLite
// on a temporary file, and PostgreSQL when CHATTER_TEST_POSTGRES_URL is set.
var storeKinds = []struct {
	name string
	open func(t *testing.T) chatter.SettingsStore
}{
	{"mem", func(*testing.T) chatter.SettingsStore { return chattertest.NewMemStore() }},
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

func openSQLite(t *testing.T) chatter.SettingsStore {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "chatter.db"), sqlitestore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func openPostgres(t *testing.T) chatter.SettingsStore {
	t.Helper()
	url := os.Getenv("CHATTER_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("CHATTER_TEST_POSTGRES_URL is not set; skipping PostgreSQL")
	}
	ctx := context.Background()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "auth_test_" + hex.EncodeToString(b)
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
		pool.Close()
	})
	st, err := pgstore.New(pool, pgstore.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, st.Migrate(ctx))
	return st
}

// forEachStore runs fn as a subtest on every store kind.
func forEachStore(t *testing.T, cfg auth.Config, fn func(t *testing.T, e *env)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			e := &env{t: t, ctx: context.Background(), store: k.open(t), clock: &clock{t: t0}, logs: &logBuffer{}}
			e.svc = e.newService(cfg)
			fn(t, e)
		})
	}
}

const goodPassword = "correct horse battery"

// addUser creates a user with goodPassword.
func (e *env) addUser(login, email string, role auth.Role, mod ...func(*auth.NewUser)) *auth.User {
	e.t.Helper()
	nu := auth.NewUser{Login: login, Email: email, Role: role, Password: goodPassword}
	for _, m := range mod {
		m(&nu)
	}
	u, err := e.svc.Create(e.ctx, auth.System("test"), nu)
	require.NoError(e.t, err)
	return u
}
