package sqlitestore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
)

// oldSchema creates at path the database an earlier sqlitestore left:
// River's schema and Chatter's migrations up to and including version upTo,
// recorded as that Migrate recorded them.
func oldSchema(t testing.TB, path string, upTo int) *sql.DB {
	t.Helper()
	ctx := t.Context()
	db, err := sql.Open("sqlite", sqlitestore.DSN(path))
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	m, err := rivermigrate.New(riversqlite.New(db), nil)
	require.NoError(t, err)
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `CREATE TABLE chatter_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
		applied_at INTEGER NOT NULL) STRICT`)
	require.NoError(t, err)
	files, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), upTo)
	for i, f := range files[:upTo] {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, string(b))
		require.NoError(t, err, f)
		name := filepath.Base(f)
		_, err = db.ExecContext(ctx, `INSERT INTO chatter_migrations (version, name, applied_at) VALUES (?, ?, 0)`,
			i+1, name[:len(name)-len(".sql")])
		require.NoError(t, err)
	}
	return db
}

// oldRow is a ledger row as the sqlitestore of migration 0004 wrote it.
type oldRow struct {
	ws     string
	id     int64
	text   string
	state  chatter.State
	result *chatter.DeliveryResult
	body   string // overrides the encoded message (a corrupt row)
}

func insertOld(t testing.TB, tx *sql.Tx, r oldRow) {
	t.Helper()
	m := msg(r.ws, -100, r.id)
	m.Text, m.Raw = r.text, nil
	body, err := json.Marshal(m)
	require.NoError(t, err)
	if r.body != "" {
		body = []byte(r.body)
	}
	var result, delivered any
	if r.result != nil {
		b, err := json.Marshal(r.result)
		require.NoError(t, err)
		result, delivered = string(b), baseTime.UnixNano()
	}
	at := baseTime.Add(time.Duration(r.id) * time.Millisecond).UnixNano()
	_, err = tx.Exec(`INSERT INTO chatter_messages
		(workspace, source, account, chat_id, message_id, revision, state, verdict, priority, max_attempts,
		 attempts, result, received_at, updated_at, delivered_at, body, budget_start)
		VALUES (?, 'tgbot', '7000000001', -100, ?, 0, ?, '{"accept":true}', 1, 5, 1, ?, ?, ?, ?, ?, ?)`,
		r.ws, r.id, string(r.state), result, at, at, delivered, string(body), at)
	require.NoError(t, err)
}

// records collects the "rows" attribute of the ledger backfill's log lines
// and the "events" attribute of the event backfill's.
type records struct {
	mu     sync.Mutex
	rows   []int64
	events []int64
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	var into *[]int64
	var key string
	switch rec.Message {
	case "sqlitestore: backfilled searchable text":
		into, key = &r.rows, "rows"
	case "sqlitestore: backfilled searchable event text":
		into, key = &r.events, "events"
	default:
		return nil
	}
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			r.mu.Lock()
			*into = append(*into, a.Value.Int64())
			r.mu.Unlock()
		}
		return true
	})
	return nil
}

func (r *records) eventTotal() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, v := range r.events {
		n += v
	}
	return n
}

func (r *records) total() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, v := range r.rows {
		n += v
	}
	return n
}

// A database the sqlitestore of migration 0004 wrote upgrades in place: two
// processes migrating it at once add the search columns and fill them, in
// batches, each row exactly once; then the old messages are found by text
// in any case and the old deliveries count as new leads.
func TestUpgradeBackfillsSearch(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "chatter.db")
	db := oldSchema(t, path, 4)
	rows := []oldRow{
		{ws: "ws", id: 1, text: "Нужен РЕМОНТ ванной", state: chatter.StateDelivered, result: &chatter.DeliveryResult{LeadID: 11}},
		{ws: "ws", id: 2, text: "ремонт кухни 100%", state: chatter.StateDelivered, result: &chatter.DeliveryResult{LeadID: 12, Adopted: true}},
		{ws: "ws", id: 3, text: "Ремонт: ЕЩЁ вопрос", state: chatter.StateDelivered, result: &chatter.DeliveryResult{LeadID: 11, Threaded: true, NoteID: 5}},
		{ws: "ws", id: 4, text: "покраска", state: chatter.StateDead},
		{ws: "ws", id: 5, text: "РЕМОНТ крыши", state: chatter.StateQueued},
		{ws: "ws-other", id: 1, text: "ремонт", state: chatter.StateDelivered, result: &chatter.DeliveryResult{LeadID: 99}},
		{ws: "ws-corrupt", id: 1, state: chatter.StateFiltered, body: "{not json"},
	}
	// Enough filtered rows for several batches of 500.
	const bulk = 1203
	for i := range int64(bulk) {
		rows = append(rows, oldRow{ws: "ws-bulk", id: i + 1, text: fmt.Sprintf("Заявка №%d", i+1), state: chatter.StateFiltered})
	}
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	for _, r := range rows {
		insertOld(t, tx, r)
	}
	require.NoError(t, tx.Commit())
	require.NoError(t, db.Close())

	// Two processes start on the upgraded binary at once.
	var logs records
	stores := make([]*sqlitestore.Store, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			stores[i], errs[i] = sqlitestore.Open(ctx, path, sqlitestore.Config{Logger: slog.New(&logs)})
		})
	}
	wg.Wait()
	for i, s := range stores {
		require.NoError(t, errs[i], "Open %d", i)
		t.Cleanup(func() { _ = s.Close() })
	}
	require.Equal(t, int64(len(rows)), logs.total(), "rows filled by both processes together: each exactly once")
	s := stores[0]
	require.Zero(t, countRows(t, s.DB(), `SELECT count(*) FROM chatter_messages WHERE text_fold IS NULL OR (state = 'delivered' AND new_lead IS NULL)`))

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
	require.NoError(t, stores[1].Migrate(ctx))
	require.Equal(t, int64(len(rows)), logs.total(), "a second Migrate filled rows again")
	m := msg("ws", -100, 6)
	m.Text = "РЕМОНТ под ключ"
	_, err = s.SaveMessage(ctx, m, accept(0, 3))
	require.NoError(t, err)
	if d := cmp.Diff([]int64{6}, ids(chatter.LedgerQuery{Workspace: "ws", Text: "ремонт под"})); d != "" {
		t.Errorf("a message saved after the upgrade (-want +got):\n%s", d)
	}
}

// An event log the sqlitestore of migration 0006 wrote upgrades in place:
// two processes migrating it at once add text_fold and fill it, in
// batches, each event exactly once; then the old events are found by text
// in any case and by source.
func TestUpgradeBackfillsEventSearch(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "chatter.db")
	db := oldSchema(t, path, 6)
	type oldEvent struct{ ws, source, text string }
	evs := []oldEvent{
		{"ws", "amocrm", "Токен amoCRM ОТОЗВАН"},
		{"ws", "tgbot", "Бот ПОДКЛЮЧЁН"},
		{"ws", "tgbot", "скидка 100%"},
		{"ws-other", "amocrm", "токен отозван"},
	}
	// Enough for several batches of 500.
	const bulk = 1203
	for i := range bulk {
		evs = append(evs, oldEvent{"ws-bulk", "tgparse", fmt.Sprintf("Сообщение №%d", i+1)})
	}
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	for i, e := range evs {
		_, err := tx.Exec(`INSERT INTO chatter_events (workspace, time, level, category, source, text) VALUES (?, ?, 0, 'source', ?, ?)`,
			e.ws, baseTime.Add(time.Duration(i)*time.Millisecond).UnixNano(), e.source, e.text)
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
	require.NoError(t, db.Close())

	var logs records
	stores := make([]*sqlitestore.Store, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			stores[i], errs[i] = sqlitestore.Open(ctx, path, sqlitestore.Config{Logger: slog.New(&logs)})
		})
	}
	wg.Wait()
	for i, s := range stores {
		require.NoError(t, errs[i], "Open %d", i)
		t.Cleanup(func() { _ = s.Close() })
	}
	require.Equal(t, int64(len(evs)), logs.eventTotal(), "events filled by both processes together: each exactly once")
	s := stores[0]
	require.Zero(t, countRows(t, s.DB(), `SELECT count(*) FROM chatter_events WHERE text_fold IS NULL`))

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
