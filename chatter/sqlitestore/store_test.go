package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
	"github.com/chatterhq/sdk/internal/deliveryqueue"
)

var _ chatter.Store = (*sqlitestore.Store)(nil)

func TestOpenMigrateIdempotent(t *testing.T) {
	s, path := newStore(t, sqlitestore.Config{})
	noErr(t, "Migrate again", s.Migrate(t.Context()))
	noErr(t, "Migrate a third time", s.Migrate(t.Context()))
	db := s.DB()
	migrations := countRows(t, db, `SELECT max(version) FROM chatter_migrations`)
	if n := countRows(t, db, `SELECT count(*) FROM chatter_migrations`); n < 2 || n != migrations {
		t.Errorf("chatter_migrations has %d rows up to version %d, want each version once", n, migrations)
	}
	if n := countRows(t, db, `SELECT count(*) FROM river_migration`); n == 0 {
		t.Errorf("River's migrations were not applied")
	}
	var mode string
	noErr(t, "journal_mode", db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	noErr(t, "Close", s.Close())
	noErr(t, "Close twice", s.Close())
	_, err := s.GetEntry(t.Context(), "ws", msg("ws", -1, 1).Key)
	wantErr(t, "GetEntry after Close", err, chatter.ErrClosed)
	_, err = s.SaveMessage(t.Context(), msg("ws", -1, 1), accept(0, 3))
	wantErr(t, "SaveMessage after Close", err, chatter.ErrClosed)

	// Reopening the same file keeps the data and applies nothing new.
	s2 := openAt(t, path, sqlitestore.Config{})
	if n := countRows(t, s2.DB(), `SELECT count(*) FROM chatter_migrations`); n != migrations {
		t.Errorf("after reopen chatter_migrations has %d rows, want %d", n, migrations)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := sqlitestore.New(nil, sqlitestore.Config{})
	wantErr(t, "New(nil db)", err, chatter.ErrInvalid)
	db, err := sql.Open("sqlite", sqlitestore.DSN(filepath.Join(t.TempDir(), "x.db")))
	noErr(t, "sql.Open", err)
	defer db.Close()
	for _, cfg := range []sqlitestore.Config{
		{GroupCommit: sqlitestore.GroupCommit{MaxBatch: -1}},
		{GroupCommit: sqlitestore.GroupCommit{MaxWait: -1}},
		{Queue: sqlitestore.QueueTuning{RescueAfter: -1}},
	} {
		_, err := sqlitestore.New(db, cfg)
		wantErr(t, fmt.Sprintf("New(%+v)", cfg), err, chatter.ErrInvalid)
	}
	_, err = sqlitestore.Open(t.Context(), "", sqlitestore.Config{})
	wantErr(t, "Open(empty path)", err, chatter.ErrInvalid)
}

func TestSaveMessageEnqueuesInSameTransaction(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{})
	db := s.DB()
	const ws = "ws"
	m := msg(ws, -100, 1)
	r, err := s.SaveMessage(t.Context(), m, accept(2, 3))
	noErr(t, "SaveMessage", err)
	if r.Duplicate || r.State != chatter.StateQueued {
		t.Errorf("SaveMessage = %+v, want fresh queued", r)
	}
	var prio, maxAttempts int
	var queue string
	noErr(t, "river job", db.QueryRow(`SELECT priority, max_attempts, queue FROM river_job`).Scan(&prio, &maxAttempts, &queue))
	// River's attempts count only runs that recorded no outcome; the
	// ledger counts the delivery attempts.
	if prio != 3 || maxAttempts != deliveryqueue.RiverMaxAttempts || queue != "chatter_delivery" {
		t.Errorf("river job priority %d max_attempts %d queue %q; want 3 (Chatter 2 + 1), %d, chatter_delivery",
			prio, maxAttempts, queue, deliveryqueue.RiverMaxAttempts)
	}
	r, err = s.SaveMessage(t.Context(), msg(ws, -100, 1), accept(0, 3))
	noErr(t, "SaveMessage again", err)
	if !r.Duplicate || r.State != chatter.StateQueued {
		t.Errorf("duplicate SaveMessage = %+v, want duplicate queued", r)
	}
	r, err = s.SaveMessage(t.Context(), msg(ws, -100, 2), chatter.AcceptOptions{Verdict: chatter.Verdict{Reason: "no keyword"}})
	noErr(t, "SaveMessage filtered", err)
	if r.State != chatter.StateFiltered {
		t.Errorf("filtered SaveMessage = %+v", r)
	}
	if n := countRows(t, db, `SELECT count(*) FROM river_job`); n != 1 {
		t.Errorf("%d river jobs, want 1 (duplicates and filtered messages enqueue nothing)", n)
	}
	// The same key in another workspace is another message.
	r, err = s.SaveMessage(t.Context(), msg("ws-other", -100, 1), accept(0, 3))
	noErr(t, "SaveMessage other workspace", err)
	if r.Duplicate {
		t.Errorf("a key of another workspace was reported as a duplicate")
	}
	e, err := s.GetEntry(t.Context(), ws, m.Key)
	noErr(t, "GetEntry", err)
	if e.Message == nil || string(e.Message.Raw) != string(m.Raw) || e.Message.Text != m.Text || !e.Message.Time.Equal(m.Time) {
		t.Errorf("stored message %+v differs from %+v", e.Message, m)
	}
	if e.Priority != 2 || e.Attempts != 0 || e.NextAt.IsZero() || e.ReceivedAt.IsZero() {
		t.Errorf("entry = %+v", e)
	}
}

// badMessages are inputs every save must reject with ErrInvalid.
func badMessages(ws string) map[string]*chatter.Message {
	mk := func(id int64, f func(m *chatter.Message)) *chatter.Message {
		m := msg(ws, -500, id)
		f(m)
		return m
	}
	return map[string]*chatter.Message{
		"nil":                nil,
		"no workspace":       mk(1, func(m *chatter.Message) { m.Workspace = "" }),
		"no source":          mk(2, func(m *chatter.Message) { m.Key.Source = "" }),
		"no account":         mk(3, func(m *chatter.Message) { m.Key.Account = "" }),
		"no chat":            mk(4, func(m *chatter.Message) { m.Key.ChatID, m.Chat.ID = 0, 0 }),
		"no message id":      mk(5, func(m *chatter.Message) { m.Key.MessageID = 0 }),
		"no time":            mk(6, func(m *chatter.Message) { m.Time = time.Time{} }),
		"oversized text":     mk(7, func(m *chatter.Message) { m.Text = strings.Repeat("ж", chatter.MaxTextBytes/2+1) }),
		"invalid UTF-8":      mk(8, func(m *chatter.Message) { m.Text = "ремонт \xff\xfe" }),
		"raw is not JSON":    mk(9, func(m *chatter.Message) { m.Raw = []byte(`{"a":`) }),
		"invalid UTF-8 name": mk(10, func(m *chatter.Message) { m.Sender.FirstName = "Ир\xc3\x28ина" }),
		"invalid UTF-8 key":  mk(11, func(m *chatter.Message) { m.Key.Account = "acc\xf7" }),
	}
}

func TestSaveMessageRejectsBadInput(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{})
	const ws = "ws"
	for name, m := range badMessages(ws) {
		_, err := s.SaveMessage(t.Context(), m, accept(0, 3))
		wantErr(t, "SaveMessage("+name+")", err, chatter.ErrInvalid)
		var ve *chatter.ValidationError
		if m != nil && !errors.As(err, &ve) {
			t.Errorf("SaveMessage(%s): %v is not a *chatter.ValidationError naming the field", name, err)
		}
	}
	for name, opts := range map[string]chatter.AcceptOptions{
		"priority -1":           accept(-1, 3),
		"priority 4":            accept(4, 3),
		"negative attempts":     {MaxAttempts: -1},
		"accepted, -1 attempts": accept(0, -1),
	} {
		_, err := s.SaveMessage(t.Context(), msg(ws, -500, 99), opts)
		wantErr(t, "SaveMessage("+name+")", err, chatter.ErrInvalid)
	}
	if n := countRows(t, s.DB(), `SELECT count(*) FROM chatter_messages`); n != 0 {
		t.Errorf("%d messages stored after bad input, want 0", n)
	}
	if n := countRows(t, s.DB(), `SELECT count(*) FROM river_job`); n != 0 {
		t.Errorf("%d jobs enqueued after bad input, want 0", n)
	}
}

func TestSaveMessagesAllOrNothing(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{})
	const ws = "ws"
	good1, good2 := msg(ws, -600, 1), msg(ws, -600, 3)
	bad := msg(ws, -600, 2)
	bad.Text = "битый \xff текст"
	_, err := s.SaveMessages(t.Context(), []*chatter.Message{good1, bad, good2}, []chatter.AcceptOptions{accept(0, 3), accept(0, 3), accept(0, 3)})
	wantErr(t, "SaveMessages with a bad message", err, chatter.ErrInvalid)
	_, err = s.SaveMessages(t.Context(), []*chatter.Message{good1}, nil)
	wantErr(t, "SaveMessages with missing options", err, chatter.ErrInvalid)
	if n := countRows(t, s.DB(), `SELECT count(*) FROM chatter_messages`); n != 0 {
		t.Errorf("%d messages stored after a failed batch, want 0", n)
	}
	res, err := s.SaveMessages(t.Context(), []*chatter.Message{good1, good2, msg(ws, -600, 1)},
		[]chatter.AcceptOptions{accept(0, 3), {}, accept(0, 3)})
	noErr(t, "SaveMessages", err)
	want := []chatter.AcceptResult{{State: chatter.StateQueued}, {State: chatter.StateFiltered}, {Duplicate: true, State: chatter.StateQueued}}
	if fmt.Sprint(res) != fmt.Sprint(want) {
		t.Errorf("SaveMessages = %+v, want %+v", res, want)
	}
	if n := countRows(t, s.DB(), `SELECT count(*) FROM river_job`); n != 1 {
		t.Errorf("%d jobs, want 1", n)
	}
}

// TestGroupCommitIsolatesBadMessages saves valid and invalid messages
// concurrently into shared batches: every valid one is stored with its job,
// every invalid one fails alone with ErrInvalid and leaves nothing.
func TestGroupCommitIsolatesBadMessages(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{GroupCommit: sqlitestore.GroupCommit{MaxBatch: 16, MaxWait: 20 * time.Millisecond}})
	const ws = "ws"
	const n = 64
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			m := msg(ws, -700, int64(i+1))
			if i%5 == 0 {
				m.Text = strings.Repeat("ы", chatter.MaxTextBytes) // oversized
			}
			if i%7 == 0 {
				m.Key.Account = ""
			}
			_, errs[i] = s.SaveMessage(t.Context(), m, accept(i%4, 3))
		})
	}
	wg.Wait()
	good := 0
	for i, err := range errs {
		bad := i%5 == 0 || i%7 == 0
		switch {
		case bad && !errors.Is(err, chatter.ErrInvalid):
			t.Errorf("bad message %d: error %v, want ErrInvalid", i, err)
		case !bad && err != nil:
			t.Errorf("good message %d: %v", i, err)
		case !bad:
			good++
		}
	}
	db := s.DB()
	if got := countRows(t, db, `SELECT count(*) FROM chatter_messages`); got != good {
		t.Errorf("%d messages stored, want %d", got, good)
	}
	if got := countRows(t, db, `SELECT count(*) FROM river_job`); got != good {
		t.Errorf("%d jobs, want %d", got, good)
	}
}

// TestGroupCommitRowFailureFailsOnlyItsCaller makes the database reject one
// row of a batch (a trigger standing in for any per-row failure): that caller
// gets the error, the others are committed.
func TestGroupCommitRowFailureFailsOnlyItsCaller(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{GroupCommit: sqlitestore.GroupCommit{MaxBatch: 64, MaxWait: 50 * time.Millisecond}})
	_, err := s.DB().Exec(`CREATE TRIGGER reject_13 BEFORE INSERT ON chatter_messages
		WHEN NEW.message_id = 13 BEGIN SELECT RAISE(ABORT, 'message 13 rejected'); END`)
	noErr(t, "create trigger", err)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.SaveMessage(t.Context(), msg("ws", -800, int64(i+1)), accept(0, 3)) })
	}
	wg.Wait()
	for i, err := range errs {
		if id := i + 1; id == 13 {
			if err == nil || !strings.Contains(err.Error(), "message 13 rejected") {
				t.Errorf("message 13: error %v, want the database's rejection", err)
			}
		} else if err != nil {
			t.Errorf("message %d failed with its batch: %v", id, err)
		}
	}
	if got := countRows(t, s.DB(), `SELECT count(*) FROM chatter_messages`); got != n-1 {
		t.Errorf("%d messages stored, want %d", got, n-1)
	}
	if got := countRows(t, s.DB(), `SELECT count(*) FROM river_job`); got != n-1 {
		t.Errorf("%d jobs, want %d", got, n-1)
	}
}

func TestGroupCommitCancelledCaller(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.SaveMessage(ctx, msg("ws", -900, 1), accept(0, 3))
	wantErr(t, "SaveMessage(cancelled)", err, context.Canceled)
	if got := countRows(t, s.DB(), `SELECT count(*) FROM chatter_messages`); got != 0 {
		t.Errorf("a cancelled save stored %d messages", got)
	}
}

func TestListAndCountEntries(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{})
	const ws = "ws"
	for i := range 5 {
		opts := accept(0, 3)
		if i%2 == 1 {
			opts = chatter.AcceptOptions{}
		}
		_, err := s.SaveMessage(t.Context(), msg(ws, -1000, int64(i+1)), opts)
		noErr(t, "SaveMessage", err)
	}
	_, err := s.SaveMessage(t.Context(), msg("ws-2", -1000, 1), accept(0, 3))
	noErr(t, "SaveMessage ws-2", err)
	list, err := s.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, States: []chatter.State{chatter.StateQueued}, WithMessage: true})
	noErr(t, "ListEntries", err)
	if len(list) != 3 || list[0].Key.MessageID != 5 || list[0].Message == nil {
		t.Fatalf("ListEntries(queued) = %d entries, first %+v; want 3 newest first with messages", len(list), list[0])
	}
	counts, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws})
	noErr(t, "CountEntries", err)
	if counts[chatter.StateQueued] != 3 || counts[chatter.StateFiltered] != 2 {
		t.Errorf("CountEntries = %v", counts)
	}
	page, err := s.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, Limit: 2, ChatID: -1000})
	noErr(t, "ListEntries limit", err)
	if len(page) != 2 || page[0].Message != nil {
		t.Errorf("ListEntries(limit 2) = %d entries (message %v)", len(page), page[0].Message)
	}
	_, err = s.ListEntries(t.Context(), chatter.LedgerQuery{})
	wantErr(t, "ListEntries(no workspace)", err, chatter.ErrInvalid)
	_, err = s.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, Limit: -1})
	wantErr(t, "ListEntries(negative limit)", err, chatter.ErrInvalid)
	_, err = s.GetEntry(t.Context(), "ws-none", msg(ws, -1000, 1).Key)
	wantErr(t, "GetEntry(other workspace)", err, chatter.ErrNotFound)
}
