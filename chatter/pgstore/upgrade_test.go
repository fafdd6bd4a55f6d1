package pgstore_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/pgstore"
)

// legacyDeliverArgs are the job arguments pgstore wrote before the stores
// shared internal/deliveryqueue (kind "chatter_deliver", with Base).
type legacyDeliverArgs struct {
	MessageID int64  `json:"message_id"`
	Workspace string `json:"workspace"`
	Round     int    `json:"round"`
	Base      int    `json:"base,omitempty"`
}

func (legacyDeliverArgs) Kind() string { return "chatter_deliver" }

// A database written by the pgstore of migration 0001 (a queued message and
// its River job of the old kind) upgrades in place: Migrate adds the later
// columns with their values, and Work delivers the old job.
func TestUpgradeFromFirstSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema := newSchema(t)
	pool := openPool(t, schema, 8)
	// River's schema and pgstore's 0001, as the old Migrate left them.
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema})
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	_, err = migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	require.NoError(t, err)
	first, err := os.ReadFile("migrations/0001_init.sql")
	require.NoError(t, err)
	prefix := pgx.Identifier{schema}.Sanitize() + "."
	_, err = pool.Exec(ctx, strings.ReplaceAll(string(first), "{schema}", prefix))
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `CREATE TABLE `+prefix+`chatter_schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()); INSERT INTO `+prefix+`chatter_schema_migrations (version, name) VALUES (1, 'init')`)
	require.NoError(t, err)

	received := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	m := msg("ws", -100, 1)
	var id int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO `+prefix+`chatter_messages
		(workspace, source, account, chat_id, message_id, revision, body, state, verdict, priority, max_attempts,
		 received_at, updated_at, next_at)
		VALUES ($1, $2, $3, $4, $5, 0, $6, 'queued', '{"accept":true}', 1, 8, $7, $7, $7) RETURNING id`,
		m.Workspace, string(m.Key.Source), m.Key.Account, m.Key.ChatID, m.Key.MessageID,
		`{"workspace":"ws","key":{"source":"tgbot","account":"bot1","chat_id":-100,"message_id":1},"text":"старый","time":"2026-11-20T09:00:00Z"}`,
		received).Scan(&id))
	old, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Schema: schema})
	require.NoError(t, err)
	_, err = old.Insert(ctx, legacyDeliverArgs{MessageID: id, Workspace: "ws", Round: 1},
		&river.InsertOpts{Queue: pgstore.QueueName, Priority: 2, MaxAttempts: 9})
	require.NoError(t, err)

	s, err := pgstore.New(pool, pgstore.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	var seen []chatter.Job
	done := make(chan struct{})
	wctx, cancel := context.WithCancel(ctx)
	go func() {
		defer close(done)
		_ = s.Work(wctx, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
			seen = append(seen, *j)
			return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{LeadID: 77}}
		})
	}()
	e := waitState(t, s, "ws", m.Key, chatter.StateDelivered)
	cancel()
	<-done
	require.Len(t, seen, 1)
	require.Equal(t, 1, seen[0].Attempt)
	require.Equal(t, 8, seen[0].MaxAttempts, "the old row's attempt cap is kept")
	require.True(t, seen[0].BudgetStart.Equal(received), "budget start %s, want the old row's received_at", seen[0].BudgetStart)
	require.Equal(t, "старый", seen[0].Message.Text)
	require.Equal(t, int64(77), e.Result.LeadID)
	// The later migrations' constraints hold on the upgraded table.
	r, err := s.SaveRejected(ctx, msg("ws", -100, 2), &chatter.Rejection{Field: "text", Reason: chatter.T("плохо", "bad")})
	require.NoError(t, err)
	require.Equal(t, chatter.StateRejected, r.State)
}
