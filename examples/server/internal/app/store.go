package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/pgstore"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// Store is the chatter store the server runs on, with what the server
// needs besides the chatter roles.
type Store interface {
	chatter.Store
	chatter.ContactLister
	// Kind is "sqlite" or "postgres".
	Kind() string
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

type sqliteStore struct{ *sqlitestore.Store }

func (sqliteStore) Kind() string                     { return "sqlite" }
func (s sqliteStore) Ping(ctx context.Context) error { return s.DB().PingContext(ctx) }

type pgStore struct {
	*pgstore.Store
	pool *pgxpool.Pool
}

func (pgStore) Kind() string                     { return "postgres" }
func (s pgStore) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }
func (s pgStore) Close() error                   { s.pool.Close(); return nil }

// OpenStore opens the configured store and applies its migrations: the
// SQLite file under the data directory (created), or PostgreSQL. The
// sealer seals tokens and sessions at rest.
func OpenStore(ctx context.Context, cfg *config.Config, sealer *chatter.Sealer, log *slog.Logger) (Store, error) {
	return openStore(ctx, cfg, sealer, log, time.Now)
}

func openStore(ctx context.Context, cfg *config.Config, sealer *chatter.Sealer, log *slog.Logger, now func() time.Time) (Store, error) {
	if cfg.UsePostgres() {
		pc, err := pgxpool.ParseConfig(cfg.Store.Postgres.URL)
		if err != nil {
			return nil, fmt.Errorf("app: store.postgres.url: %w", err)
		}
		// The workers, River's own connections and the producers (see
		// pgstore.New on pool sizing).
		pc.MaxConns = max(pc.MaxConns, int32(cmpInt(cfg.Delivery.Workers, 4)+12))
		pool, err := pgxpool.NewWithConfig(ctx, pc)
		if err != nil {
			return nil, fmt.Errorf("app: connect to PostgreSQL: %w", err)
		}
		st, err := pgstore.New(pool, pgstore.Config{Sealer: sealer, Schema: cfg.Store.Postgres.Schema, Logger: log, Now: now})
		if err != nil {
			pool.Close()
			return nil, err
		}
		if err := st.Migrate(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("app: migrate PostgreSQL: %w", err)
		}
		return pgStore{Store: st, pool: pool}, nil
	}
	path := cfg.SQLitePath()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("app: data directory: %w", err)
	}
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Config{Sealer: sealer, Logger: log, Now: now})
	if err != nil {
		return nil, fmt.Errorf("app: open %s: %w", path, err)
	}
	return sqliteStore{st}, nil
}

func cmpInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}
