package pgstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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

// oldSchemaAt creates in schema what the pgstore of migration upTo left:
// River's schema and pgstore's migrations 1..upTo, recorded as its Migrate
// recorded them.
func oldSchemaAt(t testing.TB, pool *pgxpool.Pool, schema string, upTo int) string {
	t.Helper()
	ctx := t.Context()
	prefix := pgx.Identifier{schema}.Sanitize() + "."
	_, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema})
	require.NoError(t, err)
	_, err = migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `CREATE TABLE `+prefix+`chatter_schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`)
	require.NoError(t, err)
	files, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), upTo)
	for i, f := range files[:upTo] {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, strings.ReplaceAll(string(b), "{schema}", prefix))
		require.NoError(t, err, f)
		_, err = pool.Exec(ctx, `INSERT INTO `+prefix+`chatter_schema_migrations (version, name) VALUES ($1, $2)`,
			i+1, strings.TrimSuffix(filepath.Base(f)[5:], ".sql"))
		require.NoError(t, err)
	}
	return prefix
}

// backfillLog collects the "rows" attribute of the ledger backfill's log
// lines and the "events" attribute of the event backfill's.
type backfillLog struct {
	mu     sync.Mutex
	rows   int64
	events int64
}

func (l *backfillLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *backfillLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *backfillLog) WithGroup(string) slog.Handler            { return l }
func (l *backfillLog) Handle(_ context.Context, r slog.Record) error {
	var into *int64
	var key string
	switch r.Message {
	case "pgstore: backfilled searchable text":
		into, key = &l.rows, "rows"
	case "pgstore: backfilled searchable event text":
		into, key = &l.events, "events"
	default:
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			l.mu.Lock()
			*into += a.Value.Int64()
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

func (l *backfillLog) eventTotal() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.events
}

func (l *backfillLog) total() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rows
}

// A database the pgstore of migration 0005 wrote upgrades in place: two
// instances migrating it at once add the search columns and fill them, in
// batches, each row exactly once; then the old messages are found by text
// in any case and the old deliveries count as new leads.
func TestUpgradeBackfillsSearch(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema := newSchema(t)
	setup := openPool(t, schema, 4)
	prefix := oldSchemaAt(t, setup, schema, 5)
	type old struct {
		ws     string
		id     int64
		text   string
		state  chatter.State
		result *chatter.DeliveryResult
	}
	rows := []old{
		{ws: "ws", id: 1, text: "Нужен РЕМОНТ ванной", state: chatter.StateDelivered, result: &chatter.DeliveryResult{LeadID: 11}},
		{ws: "ws", id: 2, text: "ремонт кухни 100%", state: chatter.StateDelivered, result: &chatter.DeliveryResult{LeadID: 12, Adopted: true}},
		{ws: "ws", id: 3, text: "Ремонт: ЕЩЁ вопрос", state: chatter.StateDelivered, result: &chatter.DeliveryResult{LeadID: 11, Threaded: true, NoteID: 5}},
		{ws: "ws", id: 4, text: "покраска", state: chatter.StateDead},
		{ws: "ws", id: 5, text: "РЕМОНТ крыши", state: chatter.StateQueued},
		{ws: "ws-other", id: 1, text: "ремонт", state: chatter.StateDelivered, result: &chatter.DeliveryResult{LeadID: 99}},
		{ws: "ws-nul", id: 1, text: "a\x00b РЕМОНТ", state: chatter.StateFiltered},
	}
	const bulk = 1203 // several batches of 500
	for i := range int64(bulk) {
		rows = append(rows, old{ws: "ws-bulk", id: i + 1, text: fmt.Sprintf("Заявка №%d", i+1), state: chatter.StateFiltered})
	}
	base := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	b := &pgx.Batch{}
	for _, r := range rows {
		m := msg(r.ws, -100, r.id)
		m.Text = r.text
		body, err := json.Marshal(m)
		require.NoError(t, err)
		var result []byte
		var delivered *time.Time
		if r.result != nil {
			result, err = json.Marshal(r.result)
			require.NoError(t, err)
			delivered = &base
		}
		at := base.Add(time.Duration(r.id) * time.Millisecond)
		b.Queue(`INSERT INTO `+prefix+`chatter_messages
			(workspace, source, account, chat_id, message_id, revision, body, state, verdict, priority, max_attempts,
			 attempts, result, received_at, updated_at, delivered_at, budget_start)
			VALUES ($1, 'tgbot', 'bot1', -100, $2, 0, $3, $4, '{"accept":true}', 1, 5, 1, $5, $6, $6, $7, $6)`,
			r.ws, r.id, string(body), string(r.state), result, at, delivered)
	}
	require.NoError(t, setup.SendBatch(ctx, b).Close())

	// Two instances start on the upgraded binary at once.
	var logs backfillLog
	stores := make([]*pgstore.Store, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range stores {
		s, err := pgstore.New(openPool(t, schema, 4), pgstore.Config{Schema: schema, Logger: slog.New(&logs)})
		require.NoError(t, err)
		stores[i] = s
		wg.Go(func() { errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.Equal(t, int64(len(rows)), logs.total(), "rows filled by both instances together: each exactly once")
	require.Zero(t, count(t, setup, `SELECT count(*) FROM `+prefix+`chatter_messages
		WHERE text_fold IS NULL OR (state = 'delivered' AND new_lead IS NULL)`))

	s := stores[0]
	ids := func(q chatter.LedgerQuery) []int64 {
		t.Helper()
		q.Limit = 1000
		list, err := s.ListEntries(ctx, q)
		require.NoError(t, err)
		out := []int64{}
		for _, e := range list {
			out = append(out, e.Key.MessageID)
		}
		return out
	}
	for _, c := range []struct {
		q    chatter.LedgerQuery
		want []int64
	}{
		{chatter.LedgerQuery{Workspace: "ws", Text: "Ремонт"}, []int64{5, 3, 2, 1}},
		{chatter.LedgerQuery{Workspace: "ws", Text: "еще"}, []int64{3}},
		{chatter.LedgerQuery{Workspace: "ws", Text: "100%"}, []int64{2}},
		{chatter.LedgerQuery{Workspace: "ws", NewLead: true}, []int64{2, 1}},
		{chatter.LedgerQuery{Workspace: "ws-other", Text: "РЕМОНТ", NewLead: true}, []int64{1}},
		{chatter.LedgerQuery{Workspace: "ws-nul", Text: "ab ремонт"}, []int64{1}},
		{chatter.LedgerQuery{Workspace: "ws-bulk", Text: "заявка №1203"}, []int64{1203}},
	} {
		if d := cmp.Diff(c.want, ids(c.q)); d != "" {
			t.Errorf("ListEntries(%+v) (-want +got):\n%s", c.q, d)
		}
	}
	counts, err := s.CountEntries(ctx, chatter.LedgerQuery{Workspace: "ws-bulk", Text: "ЗАЯВКА"})
	require.NoError(t, err)
	require.Equal(t, map[chatter.State]int{chatter.StateFiltered: bulk}, counts)

	// Migrating again fills nothing; a message saved now is searchable at once.
	require.NoError(t, s.Migrate(ctx))
	require.Equal(t, int64(len(rows)), logs.total(), "a second Migrate filled rows again")
	m := msg("ws", -100, 6)
	m.Text = "РЕМОНТ под ключ"
	_, err = s.SaveMessage(ctx, m, acceptOpts(0, 3))
	require.NoError(t, err)
	if d := cmp.Diff([]int64{6}, ids(chatter.LedgerQuery{Workspace: "ws", Text: "ремонт под"})); d != "" {
		t.Errorf("a message saved after the upgrade (-want +got):\n%s", d)
	}
}

// An event log the pgstore of migration 0007 wrote upgrades in place: two
// instances migrating it at once add text_fold and fill it, in batches,
// each event exactly once; then the old events are found by text in any
// case and by source.
func TestUpgradeBackfillsEventSearch(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema := newSchema(t)
	setup := openPool(t, schema, 4)
	prefix := oldSchemaAt(t, setup, schema, 7)
	type oldEvent struct{ ws, source, text string }
	evs := []oldEvent{
		{"ws", "amocrm", "Токен amoCRM ОТОЗВАН"},
		{"ws", "tgbot", "Бот ПОДКЛЮЧЁН"},
		{"ws", "tgbot", "скидка 100%"},
		{"ws-other", "amocrm", "токен отозван"},
	}
	const bulk = 1203 // several batches of 500
	for i := range bulk {
		evs = append(evs, oldEvent{"ws-bulk", "tgparse", fmt.Sprintf("Сообщение №%d", i+1)})
	}
	base := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	b := &pgx.Batch{}
	for i, e := range evs {
		b.Queue(`INSERT INTO `+prefix+`chatter_events (workspace, at, level, category, source, text) VALUES ($1, $2, 0, 'source', $3, $4)`,
			e.ws, base.Add(time.Duration(i)*time.Millisecond), e.source, e.text)
	}
	require.NoError(t, setup.SendBatch(ctx, b).Close())

	var logs backfillLog
	stores := make([]*pgstore.Store, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range stores {
		s, err := pgstore.New(openPool(t, schema, 4), pgstore.Config{Schema: schema, Logger: slog.New(&logs)})
		require.NoError(t, err)
		stores[i] = s
		wg.Go(func() { errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.Equal(t, int64(len(evs)), logs.eventTotal(), "events filled by both instances together: each exactly once")
	require.Zero(t, count(t, setup, `SELECT count(*) FROM `+prefix+`chatter_events WHERE text_fold IS NULL`))

	s := stores[0]
	texts := func(q chatter.EventQuery) []string {
		t.Helper()
		list, err := s.ListEvents(ctx, q)
		require.NoError(t, err)
		out := []string{}
		for _, e := range list {
			out = append(out, e.Text)
		}
		return out
	}
	for _, c := range []struct {
		q    chatter.EventQuery
		want []string
	}{
		{chatter.EventQuery{Workspace: "ws", Text: "ТОКЕН"}, []string{"Токен amoCRM ОТОЗВАН"}},
		{chatter.EventQuery{Workspace: "ws", Text: "подключен"}, []string{"Бот ПОДКЛЮЧЁН"}},
		{chatter.EventQuery{Workspace: "ws", Source: "tgbot"}, []string{"скидка 100%", "Бот ПОДКЛЮЧЁН"}},
		{chatter.EventQuery{Workspace: "ws", Source: "tgbot", Text: "%"}, []string{"скидка 100%"}},
		{chatter.EventQuery{Workspace: "ws-other", Text: "токен"}, []string{"токен отозван"}},
		{chatter.EventQuery{Workspace: "ws-bulk", Text: "сообщение №1203"}, []string{"Сообщение №1203"}},
	} {
		if d := cmp.Diff(c.want, texts(c.q)); d != "" {
			t.Errorf("ListEvents(%+v) (-want +got):\n%s", c.q, d)
		}
	}
	counts, err := s.CountEvents(ctx, chatter.EventQuery{Workspace: "ws-bulk", Source: "tgparse", Text: "СООБЩЕНИЕ"})
	require.NoError(t, err)
	require.Equal(t, map[chatter.ErrorClass]int{"": bulk}, counts)

	// Migrating again fills nothing; an event appended now is found at once.
	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, stores[1].Migrate(ctx))
	require.Equal(t, int64(len(evs)), logs.eventTotal(), "a second Migrate filled events again")
	require.NoError(t, s.AppendEvents(ctx, []chatter.Event{{Workspace: "ws", Source: "amocrm", Text: "ТОКЕН обновлён"}}))
	if d := cmp.Diff([]string{"ТОКЕН обновлён", "Токен amoCRM ОТОЗВАН"}, texts(chatter.EventQuery{Workspace: "ws", Source: "amocrm", Text: "токен"})); d != "" {
		t.Errorf("an event appended after the upgrade (-want +got):\n%s", d)
	}
}
