package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/internal/deliveryqueue"
	"github.com/chatterhq/sdk/internal/groupcommit"
)

var _ chatter.Store = (*Store)(nil)

// QueueName is the River queue that carries delivery jobs.
const QueueName = deliveryqueue.DeliveryQueue

// ErrNoSealer is returned by the token and session methods of a Store built
// without Config.Sealer: secrets are never stored in plain text.
var ErrNoSealer = errors.New("pgstore: Config.Sealer is required for tokens and sessions")

// Config configures a Store. The zero value is usable except for tokens and
// sessions, which need a Sealer.
type Config struct {
	// Sealer seals OAuth tokens and MTProto sessions at rest. Required for
	// TokenStore and SessionStore methods (they return ErrNoSealer without it).
	Sealer *chatter.Sealer
	// Schema is the PostgreSQL schema holding pgstore's and River's tables.
	// Empty means the connection's search_path. It must match
	// ^[A-Za-z_][A-Za-z0-9_]*$ (River's rule); Migrate creates it when missing.
	Schema string
	// Logger receives diagnostics (never secrets); nil is silent.
	Logger *slog.Logger
	// Now is the clock for ledger, event, token and setting timestamps.
	// Lease expiry and the rate budget are judged by the database clock
	// (clock_timestamp()) and do not use it. Defaults to time.Now.
	Now func() time.Time
	// GroupCommit tunes how concurrent SaveMessage calls share
	// transactions. On by default.
	GroupCommit GroupCommit
	// Queue tunes the River client Work runs.
	Queue QueueTuning
}

// GroupCommit tunes how concurrent SaveMessage calls share transactions: the
// first caller of a batch leads it, waits for the previous batch's commit and
// then writes every member's message in one transaction (SaveMessages'
// path), so producers pay one commit (one WAL flush) per batch instead of one
// per message. Each caller still gets its own result, and a message the
// batch's transaction cannot take fails only its own call.
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

const groupCommitDeadline = time.Minute // bounds a batch commit whose callers all left

var schemaRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (c *Config) validate() error {
	if c.Schema != "" && (!schemaRE.MatchString(c.Schema) || len(c.Schema) > 46) {
		return fmt.Errorf("pgstore: schema %q: want letters, digits and '_' (at most 46 bytes), not starting with a digit: %w", c.Schema, chatter.ErrInvalid)
	}
	if c.GroupCommit.MaxBatch < 0 {
		return fmt.Errorf("pgstore: GroupCommit.MaxBatch %d must not be negative: %w", c.GroupCommit.MaxBatch, chatter.ErrInvalid)
	}
	if c.GroupCommit.MaxWait < 0 {
		return fmt.Errorf("pgstore: GroupCommit.MaxWait must not be negative: %w", chatter.ErrInvalid)
	}
	return nil
}

// Store is a chatter.Store on PostgreSQL: messages and their delivery ledger,
// a durable delivery queue (River), leases with fencing tokens, sealed
// sessions and tokens, contacts, checkpoints, events, settings and a GCRA
// rate budget shared by every instance using the same database.
//
// All methods are safe for concurrent use. Several Stores (processes) may
// share one database and schema.
type Store struct {
	pool   *pgxpool.Pool
	sealer *chatter.Sealer
	schema string
	log    *slog.Logger
	now    func() time.Time
	repl   *strings.Replacer
	queue  *deliveryqueue.Queue[pgx.Tx, *riverpgxv5.Driver]
	gc     *groupcommit.Committer[row, chatter.AcceptResult] // nil when GroupCommit.Disabled
}

// New returns a Store on pool. The caller opens and closes the pool; New
// starts no goroutines and does not touch the database (call Migrate).
//
// Pool sizing: pgxpool's default MaxConns is max(4, NumCPU). Every Work call
// runs a River client that keeps one connection for LISTEN, one for its
// fetches and maintenance, and one per running delivery (the worker's
// transaction), so set MaxConns to at least QueueConfig.Workers + 4 for each
// Work running on the pool, plus the number of concurrent producers
// (SaveMessage callers). Too small a pool serialises work instead of failing.
func New(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("pgstore: nil pool: %w", chatter.ErrInvalid)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Store{
		pool:   pool,
		sealer: cfg.Sealer,
		schema: cfg.Schema,
		log:    cfg.Logger,
		now:    cfg.Now,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	prefix := ""
	if s.schema != "" {
		prefix = pgx.Identifier{s.schema}.Sanitize() + "."
	}
	s.repl = strings.NewReplacer("{schema}", prefix)
	q, err := deliveryqueue.New(riverpgxv5.New(pool), ledger{s}, deliveryqueue.Config{
		Name: "pgstore", Schema: s.schema, Logger: s.log, Now: s.now,
		Tuning: deliveryqueue.Tuning(cfg.Queue), Fences: fences{s},
	})
	if err != nil {
		return nil, err
	}
	s.queue = q
	if !cfg.GroupCommit.Disabled {
		s.gc, err = groupcommit.New(s.commitRows, groupcommit.Config{
			MaxBatch:      cfg.GroupCommit.MaxBatch,
			MaxWait:       cfg.GroupCommit.MaxWait,
			CommitTimeout: groupCommitDeadline,
			Logger:        s.log,
		})
		if err != nil {
			return nil, fmt.Errorf("pgstore: group commit: %w: %w", err, chatter.ErrInvalid)
		}
	}
	return s, nil
}

// q qualifies the table names of a query with the store's schema.
func (s *Store) q(query string) string { return s.repl.Replace(query) }

// stamp is the store's clock, at the database's precision.
func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// inTx runs fn in a transaction and commits it when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	return nil
}

// isUniqueViolation reports a unique_violation (23505) from PostgreSQL.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// invalid returns a *chatter.ValidationError (it wraps chatter.ErrInvalid).
func invalid(field, ru, en string) error {
	return &chatter.ValidationError{Field: field, Problem: chatter.T(ru, en)}
}

// checkText rejects strings PostgreSQL text columns cannot hold.
func checkText(field, v string) error {
	if !utf8.ValidString(v) {
		return invalid(field, "поле не в кодировке UTF-8", "field is not valid UTF-8")
	}
	if strings.IndexByte(v, 0) >= 0 {
		return invalid(field, "поле содержит нулевой байт", "field contains a NUL byte")
	}
	return nil
}

// checkRequired is checkText for a field that must not be empty.
func checkRequired(field, v string) error {
	if v == "" {
		return invalid(field, "поле не заполнено", "field is empty")
	}
	return checkText(field, v)
}

// micros renders d for "$n * interval '1 microsecond'".
func micros(d time.Duration) int64 { return d.Microseconds() }

// utc returns t in UTC, or the zero time for a NULL.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}
