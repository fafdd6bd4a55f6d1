package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/internal/deliveryqueue"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Compile-time check that Store implements the whole chatter.Store.
var _ chatter.Store = (*Store)(nil)

// ErrNoSealer is returned by the token and session methods when Config.Sealer
// is nil: secrets are never stored in plain text.
var ErrNoSealer = errors.New("sqlitestore: Config.Sealer is required for tokens and sessions")

// RecommendedDSNParams are the query parameters Open adds to a file path:
// WAL journal, a 5 s busy timeout, foreign keys, synchronous=NORMAL (a process
// crash loses nothing; an OS crash may lose the last commits) and BEGIN
// IMMEDIATE transactions. Use them with sql.DB.SetMaxOpenConns(1) when you open
// the database yourself and pass it to New.
const RecommendedDSNParams = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(NORMAL)&_txlock=immediate"

// DSN returns the recommended modernc.org/sqlite data source name for the
// database file at path: "file:<path>?" + RecommendedDSNParams.
func DSN(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + RecommendedDSNParams
}

// GroupCommit tunes how concurrent SaveMessage calls share transactions.
type GroupCommit struct {
	// Disabled makes every SaveMessage its own transaction.
	Disabled bool
	// MaxBatch is the most messages one transaction carries. Defaults to 256.
	MaxBatch int
	// MaxWait is how long the first caller of a batch waits for others
	// before committing. A batch also keeps filling while the previous
	// batch commits, so the default, 0, already batches under load without
	// adding latency to a lone caller.
	MaxWait time.Duration
}

// QueueTuning tunes the River client that Work runs. Zero fields take the
// defaults documented on each.
type QueueTuning struct {
	// RescueAfter is how long a job may stay running before River treats
	// it as stuck (its process died) and runs it again. Defaults to
	// 3 × QueueConfig.JobTimeout, at least 30 s (River's own default is an
	// hour); never less than JobTimeout, nor than QueueConfig.NotifyTimeout
	// + 5 s when Work sends notifications.
	RescueAfter time.Duration
	// FetchPollInterval is how often River polls for new jobs when it
	// missed a notification. Defaults to River's (1 s).
	FetchPollInterval time.Duration
	// FetchCooldown is the shortest time between two fetches. Defaults to
	// River's (100 ms).
	FetchCooldown time.Duration
	// CompletedJobRetention is how long River keeps completed jobs.
	// Defaults to River's (24 h). The ledger keeps the outcome anyway.
	CompletedJobRetention time.Duration
	// ReconcileInterval is how often Work looks for ledger entries whose
	// River job ended outside Chatter (discarded by the rescuer, cancelled
	// by an operator) and marks them dead. Defaults to 1 minute.
	ReconcileInterval time.Duration
	// InstanceSweep is how often Work looks for running jobs of instances
	// whose process died (chatter.QueueConfig.Instance) and runs them
	// again. Defaults to 2 s.
	InstanceSweep time.Duration
}

// Config configures a Store. The zero value works for messages, the queue and
// everything but tokens and sessions, which need Sealer.
type Config struct {
	// Sealer seals OAuth tokens and session blobs at rest. Without it the
	// token and session methods return ErrNoSealer.
	Sealer *chatter.Sealer
	// Now is the store's clock: lease expiry, rate budgets and every
	// timestamp the store sets. Defaults to time.Now.
	Now func() time.Time
	// Logger receives diagnostics (no secrets); nil is silent.
	Logger *slog.Logger
	// GroupCommit tunes SaveMessage batching.
	GroupCommit GroupCommit
	// Queue tunes the River client Work runs.
	Queue QueueTuning
}

const (
	defaultMaxBatch     = 256
	groupCommitDeadline = time.Minute // bounds a batch commit whose callers all left
)

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.GroupCommit.MaxBatch = cmp.Or(c.GroupCommit.MaxBatch, defaultMaxBatch)
	return c
}

func (c Config) validate() error {
	switch {
	case c.GroupCommit.MaxBatch < 1:
		return fmt.Errorf("sqlitestore: GroupCommit.MaxBatch %d must be ≥ 1: %w", c.GroupCommit.MaxBatch, chatter.ErrInvalid)
	case c.GroupCommit.MaxWait < 0:
		return fmt.Errorf("sqlitestore: GroupCommit.MaxWait must not be negative: %w", chatter.ErrInvalid)
	case c.Queue.RescueAfter < 0, c.Queue.FetchPollInterval < 0, c.Queue.FetchCooldown < 0,
		c.Queue.CompletedJobRetention < 0, c.Queue.ReconcileInterval < 0:
		return fmt.Errorf("sqlitestore: Queue durations must not be negative: %w", chatter.ErrInvalid)
	}
	return nil
}

// Store is a chatter.Store on one SQLite database, with the delivery queue on
// River (riversqlite). It is safe for concurrent use.
type Store struct {
	db     *sql.DB
	ownsDB bool
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	sealer *chatter.Sealer
	driver *riversqlite.Driver
	queue  *deliveryqueue.Queue[*sql.Tx, *riversqlite.Driver]
	gc     *groupCommitter

	mu     sync.Mutex
	closed bool
	busy   sync.WaitGroup // batch commits in flight, waited for by Close
}

// New returns a Store on db, which the caller opened with the "sqlite" driver
// of modernc.org/sqlite, preferably with DSN(path) and db.SetMaxOpenConns(1)
// (one connection: SQLite has one writer anyway, and it rules out
// SQLITE_BUSY). New starts nothing and does not touch the database; call
// Migrate before use. Close does not close a db passed to New.
func New(db *sql.DB, cfg Config) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("sqlitestore: nil *sql.DB: %w", chatter.ErrInvalid)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Store{
		db:     db,
		cfg:    cfg,
		now:    cfg.Now,
		log:    cfg.Logger,
		sealer: cfg.Sealer,
		driver: riversqlite.New(db),
	}
	q, err := deliveryqueue.New(s.driver, ledger{s}, deliveryqueue.Config{
		Name: "sqlitestore", Logger: s.log, Now: s.now,
		Tuning: deliveryqueue.Tuning(cfg.Queue), Fences: fences{s},
	})
	if err != nil {
		return nil, err
	}
	s.queue = q
	if s.gc, err = newGroupCommitter(s, cfg.GroupCommit); err != nil {
		return nil, err
	}
	return s, nil
}

// Open opens (creating if needed) the SQLite database file at path with the
// recommended settings (DSN, one connection), migrates it and returns the
// Store. Close closes the database.
func Open(ctx context.Context, path string, cfg Config) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlitestore: empty database path: %w", chatter.ErrInvalid)
	}
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s, err := New(db, cfg)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.ownsDB = true
	if err := s.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// DB returns the underlying database, for diagnostics and tests.
func (s *Store) DB() *sql.DB { return s.db }

// Close waits for SaveMessage batches in flight, then makes further calls
// fail with chatter.ErrClosed and, for a Store made by Open, closes the
// database. Stop Work (cancel its context) before closing. Close is
// idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.busy.Wait()
	if s.ownsDB {
		return s.db.Close()
	}
	return nil
}

// enter registers an operation that Close must wait for; it fails once closed.
func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return chatter.ErrClosed
	}
	s.busy.Add(1)
	return nil
}

func (s *Store) leave() { s.busy.Done() }

func (s *Store) checkOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return chatter.ErrClosed
	}
	return nil
}

//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlitestore: migration %s: name must be NNNN_name.sql", base)
		}
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(base, ".sql"), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sqlitestore: two migrations numbered %d", ms[i].version)
		}
	}
	return ms, nil
}

// Migrate brings the schema up to date: River's migrations (rivermigrate)
// first, then Chatter's embedded ones, each in its own transaction and
// recorded in chatter_migrations. Then it fills the searchable copies that
// later migrations added (the folded text of LedgerQuery.Text and of
// EventQuery.Text, the new-lead mark of LedgerQuery.NewLead) for rows
// written before them or by an older version, 500 rows per transaction; on
// a large ledger this makes the first start after an upgrade take longer
// (see BENCHMARKS.md). It is idempotent, resumes where an interrupted run
// stopped, and is safe to call on every start and from several processes at
// once.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	m, err := rivermigrate.New(s.driver, &rivermigrate.Config{Logger: s.log})
	if err != nil {
		return fmt.Errorf("sqlitestore: river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("sqlitestore: river migrations: %w", err)
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS chatter_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlitestore: migrations table: %w", err)
	}
	for _, mg := range ms {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM chatter_migrations WHERE version = ?`, mg.version).Scan(&one)
			if err == nil {
				return nil // applied before
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if _, err := tx.ExecContext(ctx, mg.sql); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO chatter_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				mg.version, mg.name, s.now().UnixNano())
			if err == nil {
				s.log.InfoContext(ctx, "sqlitestore: applied migration", slog.Int("version", mg.version), slog.String("name", mg.name))
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlitestore: migration %s: %w", mg.name, err)
		}
	}
	_, err = s.backfill(ctx)
	return err
}

// inTx runs fn in a transaction and commits it when fn returns nil. fn must
// use only tx: with one connection any other use of s.db blocks until the
// transaction ends (a deadlock).
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Time helpers. Times the store sets (and GCRA and lease arithmetic) are Unix
// nanoseconds; free-form times supplied by callers that are never compared in
// SQL are RFC 3339 text, which keeps any year and the full precision.

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNullNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromNanos(n.Int64)
}

func textTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339Nano)
}

func fromTextTime(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s.String)
}

// Range of times that Unix nanoseconds can hold.
var (
	minNanosTime = time.Unix(0, -1<<63).Add(time.Second)
	maxNanosTime = time.Unix(0, 1<<63-1).Add(-time.Second)
)

func checkNanosRange(field string, t time.Time) error {
	if t.Before(minNanosTime) || t.After(maxNanosTime) {
		return fmt.Errorf("sqlitestore: %s %s is outside the years 1678..2262: %w", field, t.Format(time.RFC3339), chatter.ErrInvalid)
	}
	return nil
}

// limitOf applies the query limit rules: 0 means 100, at most 1000,
// negative is invalid.
func limitOf(n int) (int, error) {
	switch {
	case n < 0:
		return 0, invalidf("negative limit %d", n)
	case n == 0:
		return 100, nil
	case n > 1000:
		return 1000, nil
	}
	return n, nil
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("sqlitestore: "+format+": %w", append(args, chatter.ErrInvalid)...)
}
