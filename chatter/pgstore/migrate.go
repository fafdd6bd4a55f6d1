package pgstore

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded, versioned SQL file: migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("pgstore: migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("pgstore: migration file %q: want NNNN_name.sql", name)
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, fmt.Errorf("pgstore: migration %q: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: rest, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("pgstore: duplicate migration version %d", ms[i].version)
		}
	}
	return ms, nil
}

// Migrate brings the schema up to date: pgstore's embedded migrations
// (recorded in chatter_schema_migrations) and River's (rivermigrate). It is
// idempotent and safe when several instances migrate at once: pgstore's
// migrations run in one transaction, and River's one version per
// transaction (River adds enum values that cannot be used in the transaction
// that adds them), each transaction under pg_advisory_xact_lock keyed by the
// schema. A second instance waits for the lock and finds nothing left to do.
//
// Then it fills the searchable copies that later migrations added (the
// folded text of LedgerQuery.Text and of EventQuery.Text, the new-lead mark
// of LedgerQuery.NewLead) for rows written before them or by an older
// version, 500 rows per transaction; instances migrating at once share the
// work, and an interrupted run resumes. On a large ledger this makes the
// first start after an upgrade take longer (see BENCHMARKS.md).
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if err := s.inTx(ctx, func(tx pgx.Tx) error {
		schema, err := s.migrationLock(ctx, tx)
		if err != nil {
			return err
		}
		return s.applyOwn(ctx, tx, schema, ms)
	}); err != nil {
		return err
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(s.pool), &rivermigrate.Config{Schema: s.schema, Logger: s.log})
	if err != nil {
		return fmt.Errorf("pgstore: river migrator: %w", err)
	}
	for {
		applied := 0
		if err := s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := s.migrationLock(ctx, tx); err != nil {
				return err
			}
			// One version per transaction, as River's Migrate does, plus our
			// lock; River deprecates MigrateTx only for batching versions.
			//lint:ignore SA1019 one step per transaction (MaxSteps 1) is what Migrate does, under our advisory lock
			res, err := migrator.MigrateTx(ctx, tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{MaxSteps: 1})
			if err != nil {
				return fmt.Errorf("pgstore: river migrations: %w", err)
			}
			applied = len(res.Versions)
			return nil
		}); err != nil {
			return err
		}
		if applied == 0 {
			break
		}
	}
	_, err = s.backfill(ctx)
	return err
}

// migrationLock takes the schema's migration lock for the transaction (and
// creates the schema) and returns the schema's name.
func (s *Store) migrationLock(ctx context.Context, tx pgx.Tx) (string, error) {
	schema := s.schema
	if schema == "" {
		if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return "", fmt.Errorf("pgstore: migrate: current schema: %w", err)
		}
	}
	h := fnv.New64a()
	h.Write([]byte("chatter/pgstore/migrate:" + schema))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return "", fmt.Errorf("pgstore: migrate: lock: %w", err)
	}
	if s.schema != "" {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
			return "", fmt.Errorf("pgstore: migrate: create schema: %w", err)
		}
	}
	return schema, nil
}

// applyOwn applies pgstore's migrations missing from the versions table.
func (s *Store) applyOwn(ctx context.Context, tx pgx.Tx, schema string, ms []migration) error {
	if _, err := tx.Exec(ctx, s.q(`CREATE TABLE IF NOT EXISTS {schema}chatter_schema_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`)); err != nil {
		return fmt.Errorf("pgstore: migrate: versions table: %w", err)
	}
	rows, err := tx.Query(ctx, s.q(`SELECT version FROM {schema}chatter_schema_migrations`))
	if err != nil {
		return fmt.Errorf("pgstore: migrate: read versions: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("pgstore: migrate: read versions: %w", err)
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[int(v)] = true
	}
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		// No arguments: pgx uses the simple protocol, which runs every
		// statement of the file.
		if _, err := tx.Exec(ctx, s.q(m.sql)); err != nil {
			return fmt.Errorf("pgstore: migration %04d_%s: %w", m.version, m.name, err)
		}
		if _, err := tx.Exec(ctx, s.q(`INSERT INTO {schema}chatter_schema_migrations (version, name) VALUES ($1, $2)`), m.version, m.name); err != nil {
			return fmt.Errorf("pgstore: record migration %d: %w", m.version, err)
		}
		s.log.InfoContext(ctx, "pgstore: migration applied", "version", m.version, "name", m.name, "schema", schema)
	}
	return nil
}
