package sqlitestore_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
)

// waitTimeout bounds waits on asynchronous behaviour. Waits that depend on
// River's rescuer (it runs every 30 s, after leadership is re-elected) use
// rescueTimeout.
const (
	waitTimeout   = 30 * time.Second
	rescueTimeout = 120 * time.Second
)

func testSealer(t testing.TB) *chatter.Sealer {
	t.Helper()
	s, err := chatter.NewSealer("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openAt opens (and migrates) a store on the file at path; it is closed when
// the test ends.
func openAt(t testing.TB, path string, cfg sqlitestore.Config) *sqlitestore.Store {
	t.Helper()
	if cfg.Sealer == nil {
		cfg.Sealer = testSealer(t)
	}
	s, err := sqlitestore.Open(context.Background(), path, cfg)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newStore(t testing.TB, cfg sqlitestore.Config) (*sqlitestore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chatter.db")
	return openAt(t, path, cfg), path
}

var baseTime = time.Date(2025, time.March, 14, 9, 30, 0, 0, time.UTC)

// msg is a valid message from a bot source.
func msg(ws string, chatID, id int64) *chatter.Message {
	return &chatter.Message{
		Workspace: ws,
		Key:       chatter.Key{Source: chatter.SourceBot, Account: "7000000001", ChatID: chatID, MessageID: id},
		Chat:      chatter.Chat{ID: chatID, Type: chatter.ChatSupergroup, Title: "Ремонт квартир — Москва"},
		Sender:    chatter.Sender{ID: 500000000 + id, Username: "irina_smirnova", FirstName: "Ирина"},
		Text:      fmt.Sprintf("Нужен ремонт ванной, заявка %d", id),
		Time:      baseTime.Add(time.Duration(id) * time.Second),
		Raw:       json.RawMessage(fmt.Sprintf(`{"message_id": %d,  "text": "\u0440\u0435\u043c\u043e\u043d\u0442"}`, id)),
	}
}

func accept(priority, maxAttempts int) chatter.AcceptOptions {
	return chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: true, Rule: "ремонт", Matched: []string{"ремонт"}},
		Priority: priority, MaxAttempts: maxAttempts}
}

func noErr(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// waitFor polls cond until it holds, failing after limit.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: gave up after %s", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitState(t testing.TB, s chatter.Store, ws string, key chatter.Key, limit time.Duration, st chatter.State) *chatter.LedgerEntry {
	t.Helper()
	var e *chatter.LedgerEntry
	waitFor(t, limit, fmt.Sprintf("%s %s", key, st), func() (bool, error) {
		var err error
		e, err = s.GetEntry(context.Background(), ws, key)
		return err == nil && e.State == st, err
	})
	return e
}

// runner runs Store.Work in the background until stopped.
type runner struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func startWork(t testing.TB, s *sqlitestore.Store, cfg chatter.QueueConfig, fn chatter.WorkFunc) *runner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Work(ctx, cfg, fn) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *runner) stop(t testing.TB) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Work returned %v, want nil", err)
			}
		case <-time.After(2 * waitTimeout):
			t.Errorf("Work did not return after its context ended")
		}
	})
}

// sink counts, per key, the attempts a WorkFunc saw and the successes it
// returned.
type sink struct {
	mu        sync.Mutex
	attempts  map[chatter.Key][]int
	successes map[chatter.Key]int
}

func newSink() *sink {
	return &sink{attempts: map[chatter.Key][]int{}, successes: map[chatter.Key]int{}}
}

func (k *sink) deliver(_ context.Context, j *chatter.Job) chatter.Outcome {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.attempts[j.Message.Key] = append(k.attempts[j.Message.Key], j.Attempt)
	k.successes[j.Message.Key]++
	return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{LeadID: 10000 + j.Message.Key.MessageID}}
}

func (k *sink) runs(key chatter.Key) []int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]int(nil), k.attempts[key]...)
}

// jobState returns the state and attempt of the River job of key's current round.
func jobState(t testing.TB, db *sql.DB, ws string, key chatter.Key) (state string, attempt int) {
	t.Helper()
	err := db.QueryRow(`SELECT j.state, j.attempt FROM river_job j JOIN chatter_messages m
		ON json_extract(j.args, '$.message_id') = m.id AND json_extract(j.args, '$.round') = m.round
		WHERE m.workspace = ? AND m.source = ? AND m.account = ? AND m.chat_id = ? AND m.message_id = ? AND m.revision = ?`,
		ws, string(key.Source), key.Account, key.ChatID, key.MessageID, key.Revision).Scan(&state, &attempt)
	if err != nil {
		t.Fatalf("river job of %s: %v", key, err)
	}
	return state, attempt
}

func countRows(t testing.TB, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// fakeClock is an injectable store clock.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time             { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Add(d time.Duration)        { c.ns.Add(int64(d)) }
func (c *fakeClock) Set(t time.Time)            { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) config() sqlitestore.Config { return sqlitestore.Config{Now: c.Now} }
