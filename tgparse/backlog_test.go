package tgparse_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
	"github.com/chatterhq/sdk/tgparse"
	"github.com/chatterhq/sdk/tgparse/tgparsetest"
)

// delivery summarises the message ids a handler got, so that a wrong run
// fails with a short diff instead of 25,000 lines.
type delivery struct {
	N, First, Last int64
	// Missing and Twice are the first few ids absent from First..Last or
	// handed over twice; OutOfOrder counts ids not above the one before.
	Missing, Twice []int64
	OutOfOrder     int
}

func summarize(ids []int64) delivery {
	var d delivery
	d.N = int64(len(ids))
	if len(ids) == 0 {
		return d
	}
	d.First, d.Last = ids[0], ids[len(ids)-1]
	seen := make(map[int64]bool, len(ids))
	for i, id := range ids {
		if seen[id] && len(d.Twice) < 5 {
			d.Twice = append(d.Twice, id)
		}
		seen[id] = true
		if i > 0 && id <= ids[i-1] {
			d.OutOfOrder++
		}
	}
	for id := d.First; id <= d.Last && len(d.Missing) < 5; id++ {
		if !seen[id] {
			d.Missing = append(d.Missing, id)
		}
	}
	return d
}

// waitLong polls cond for up to 5 minutes: a 25,000-message backlog under
// -race on a loaded machine takes a while.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func checkpointOf(t *testing.T, store chatter.CheckpointStore, chatID int64) int64 {
	t.Helper()
	cp, err := store.GetCheckpoint(context.Background(), ws, chatter.SourceParser, "tgparse", chatID)
	if err != nil {
		return -1
	}
	return cp.MessageID
}

func chatIDOf(ch *tgparsetest.Channel) int64 { return -1000000000000 - ch.ID }

func openSQLite(t *testing.T, path string, sealer *chatter.Sealer) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), path, sqlitestore.Config{Sealer: sealer})
	require.NoError(t, err)
	return st
}

func sqliteConn(srv *tgparsetest.Server, store tgparse.Store, sealer *chatter.Sealer, holder string) tgparse.Connection {
	return tgparse.Connection{Workspace: ws, Store: store, Sealer: sealer, Holder: holder,
		Endpoint: srv.Endpoint(), RequestRate: 1000, RequestBurst: 100, ConnectTimeout: 60 * time.Second}
}

// TestSourceBacklogAfterDowntime is the delivery guarantee "the parser never
// drops a backlog": 25,000 messages posted while the source is down are all
// handed over after a restart on the same SQLite file, in id order, none
// twice, over several passes of MaxBackfill (10,000) each.
func TestSourceBacklogAfterDowntime(t *testing.T) {
	const backlog = 25_000
	srv := tgparsetest.NewServer(t)
	srv.AddUser("+79990000001", "parser_acc", "Parser")
	ch := srv.AddChannel("busy_chat", "Busy", false)
	for i := range 3 {
		srv.Post(t.Context(), ch, nil, fmt.Sprintf("before %d", i+1))
	}
	sealer, err := chatter.NewSealer("k1", map[string][]byte{"k1": make([]byte, 32)})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "chatter.db")
	acct := account("acc1", "+79990000001")

	// First run: log in, read the 3 messages, stop; the checkpoint is 3.
	store := openSQLite(t, path, sealer)
	accounts, err := tgparse.NewAccountStore(store, sealer, ws)
	require.NoError(t, err)
	login, err := tgparse.NewLogin(sqliteConn(srv, store, sealer, "login"), accounts)
	require.NoError(t, err)
	st, err := login.SendCode(t.Context(), acct)
	require.NoError(t, err)
	_, err = login.SignIn(t.Context(), st, srv.Code(acct.Phone))
	require.NoError(t, err)
	cfg := tgparse.SourceConfig{Connection: sqliteConn(srv, store, sealer, "inst1"), Accounts: []tgparse.Account{acct},
		Chats: []tgparse.ChatConfig{{Ref: "@busy_chat"}}, Depth: tgparse.Depth{Count: 100},
		NoUpdates: true, PollInterval: time.Hour}
	src, err := tgparse.NewSource(cfg)
	require.NoError(t, err)
	first := &collector{}
	stop := runSource(t, src, first)
	waitFor(t, "the first read", func() bool { return checkpointOf(t, store, chatIDOf(ch)) == 3 })
	require.NoError(t, stop())
	require.Equal(t, []int64{1, 2, 3}, first.ids())
	require.NoError(t, store.Close())

	// Downtime: a busy chat gets 25,000 messages.
	for i := range backlog {
		srv.Post(t.Context(), ch, nil, fmt.Sprintf("while down %d", i+1))
	}
	last := int64(3 + backlog)

	// Restart: a new process on the same database file.
	store = openSQLite(t, path, sealer)
	t.Cleanup(func() { _ = store.Close() })
	calls := srv.Calls("messages.getHistory")
	cfg.Connection = sqliteConn(srv, store, sealer, "inst2")
	src, err = tgparse.NewSource(cfg)
	require.NoError(t, err)
	var catchingUp []bool // the chat's CatchingUp when the 2nd and 3rd pass began
	c := &collector{fail: func(m *chatter.Message) error {
		if m.Key.MessageID == 3+10_001 || m.Key.MessageID == 3+20_001 {
			catchingUp = append(catchingUp, src.Snapshot().Chats[0].CatchingUp)
		}
		return nil
	}}
	stop = runSource(t, src, c)
	waitLong(t, "the checkpoint at the last message, the catch-up over", func() bool {
		return checkpointOf(t, store, chatIDOf(ch)) == last && !src.Snapshot().Chats[0].CatchingUp
	})
	require.NoError(t, stop())

	want := delivery{N: backlog, First: 4, Last: last}
	if diff := cmp.Diff(want, summarize(c.ids())); diff != "" {
		t.Fatalf("backlog delivery (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, true}, catchingUp); diff != "" {
		t.Errorf("CatchingUp at the start of passes 2 and 3 (-want +got):\n%s", diff)
	}
	// 250 full pages forward from the checkpoint, and one that finds the end.
	if got := srv.Calls("messages.getHistory") - calls; got != backlog/100+1 {
		t.Errorf("getHistory calls = %d, want %d", got, backlog/100+1)
	}
	cs := src.Snapshot().Chats[0]
	if diff := cmp.Diff([]any{int64(backlog), int64(backlog), false, last},
		[]any{cs.Fetched, cs.Accepted, cs.CatchingUp, cs.Checkpoint}); diff != "" {
		t.Errorf("chat state fetched, accepted, catching up, checkpoint (-want +got):\n%s", diff)
	}
}

// TestSourceBacklogFloodWaitAndLive: Telegram rate-limits getHistory
// (tgparsetest's FloodLimit). A FLOOD_WAIT in the middle of a backlog is
// waited out in place when short; when it is longer than MaxFloodWait the
// pass stops, the account rests until the wait ends, and the chat goes on
// from its checkpoint. Messages posted live during the catch-up arrive
// after the backlog, in order: an update never moves the checkpoint past
// unread messages.
func TestSourceBacklogFloodWaitAndLive(t *testing.T) {
	for _, tc := range []struct {
		name         string
		maxFloodWait time.Duration
	}{
		{"waited in place", 0},            // the default, 60 s
		{"pass snoozed", time.Nanosecond}, // every wait stops the pass
	} {
		t.Run(tc.name, func(t *testing.T) {
			const backlog, live = 3_000, 20
			e := newEnv(t)
			u := e.srv.AddUser("+79990000001", "parser_acc", "Parser")
			ch := e.srv.AddChannel("busy_chat", "Busy", false)
			e.srv.AddMember(ch, u) // live updates are pushed to members
			e.srv.Post(t.Context(), ch, nil, "before")
			acct := account("acc1", "+79990000001")
			e.login(t, acct)
			// The checkpoint from an earlier run, then the downtime.
			require.NoError(t, e.store.AdvanceCheckpoint(t.Context(), &chatter.Checkpoint{Workspace: ws,
				Source: chatter.SourceParser, Account: "tgparse", ChatID: chatIDOf(ch), MessageID: 1}))
			for i := range backlog {
				e.srv.Post(t.Context(), ch, nil, fmt.Sprintf("while down %d", i+1))
			}
			e.srv.FloodLimit("messages.getHistory", 10, time.Second)

			conn := e.conn("inst")
			conn.MaxFloodWait = tc.maxFloodWait
			src, err := tgparse.NewSource(tgparse.SourceConfig{Connection: conn, Accounts: []tgparse.Account{acct},
				Chats: []tgparse.ChatConfig{{Ref: "@busy_chat"}}, MaxBackfill: 1000, PollInterval: time.Hour})
			require.NoError(t, err)
			var postLive sync.Once
			posted := make(chan struct{})
			c := &collector{fail: func(m *chatter.Message) error {
				if m.Key.MessageID == 500 {
					postLive.Do(func() {
						go func() {
							defer close(posted)
							for i := range live {
								e.srv.Post(context.Background(), ch, nil, fmt.Sprintf("live %d", i+1))
							}
						}()
					})
				}
				return nil
			}}
			var flooded bool
			stop := runSource(t, src, c)
			last := int64(1 + backlog + live)
			waitLong(t, "the checkpoint at the last live message", func() bool {
				if a := src.Snapshot().Accounts[0]; a.Status == tgparse.StatusFloodWait {
					flooded = true
				}
				return checkpointOf(t, e.store, chatIDOf(ch)) == last
			})
			<-posted
			require.NoError(t, stop())

			want := delivery{N: backlog + live, First: 2, Last: last}
			if diff := cmp.Diff(want, summarize(c.ids())); diff != "" {
				t.Fatalf("delivery (-want +got):\n%s", diff)
			}
			require.Positive(t, e.srv.Floods(), "no FLOOD_WAIT was answered")
			require.Positive(t, e.srv.Pushed(), "no live update was pushed")
			// Waited in place, the account stays active; snoozed, it rests.
			require.Equal(t, tc.maxFloodWait > 0, flooded, "the account was seen in flood_wait")
		})
	}
}

// TestSourceFirstReadDeeperThanPass: a Depth larger than MaxBackfill is read
// whole, oldest first, over several passes.
func TestSourceFirstReadDeeperThanPass(t *testing.T) {
	for _, tc := range []struct {
		name  string
		depth func(base time.Time) tgparse.Depth
	}{
		{"count", func(time.Time) tgparse.Depth { return tgparse.Depth{Count: 250} }},
		{"since", func(base time.Time) tgparse.Depth { return tgparse.Depth{Since: base.Add(150 * time.Minute)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.AddUser("+79990000001", "parser_acc", "Parser")
			ch := e.srv.AddChannel("busy_chat", "Busy", false)
			base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
			for i := range 400 { // message i+1 at base + i minutes
				e.srv.PostAt(t.Context(), ch, nil, fmt.Sprintf("m%d", i+1), base.Add(time.Duration(i)*time.Minute))
			}
			acct := account("acc1", "+79990000001")
			e.login(t, acct)
			src, err := tgparse.NewSource(tgparse.SourceConfig{Connection: e.conn("inst"), Accounts: []tgparse.Account{acct},
				Chats: []tgparse.ChatConfig{{Ref: "@busy_chat"}}, Depth: tc.depth(base), MaxBackfill: 100,
				NoUpdates: true, PollInterval: time.Hour})
			require.NoError(t, err)
			c := &collector{}
			stop := runSource(t, src, c)
			waitFor(t, "the checkpoint at 400", func() bool { return checkpointOf(t, e.store, chatIDOf(ch)) == 400 })
			require.NoError(t, stop())
			if diff := cmp.Diff(delivery{N: 250, First: 151, Last: 400}, summarize(c.ids())); diff != "" {
				t.Fatalf("delivery (-want +got):\n%s", diff)
			}
			cs := src.Snapshot().Chats[0]
			if diff := cmp.Diff(base.Add(150*time.Minute), cs.OldestAt); diff != "" {
				t.Errorf("OldestAt (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSourceStopMidBacklog: a Source stopped in the middle of a backlog, as
// its handler finishes a message, keeps that message's checkpoint; the
// next run goes on right after it. Together the runs hand over every
// message exactly once, in order.
func TestSourceStopMidBacklog(t *testing.T) {
	const backlog, stopAt = 3_000, 1_234
	e := newEnv(t)
	e.srv.AddUser("+79990000001", "parser_acc", "Parser")
	ch := e.srv.AddChannel("busy_chat", "Busy", false)
	for i := range backlog {
		e.srv.Post(t.Context(), ch, nil, fmt.Sprintf("m%d", i+1))
	}
	acct := account("acc1", "+79990000001")
	e.login(t, acct)
	require.NoError(t, e.store.AdvanceCheckpoint(t.Context(), &chatter.Checkpoint{Workspace: ws,
		Source: chatter.SourceParser, Account: "tgparse", ChatID: chatIDOf(ch), MessageID: 0}))
	cfg := tgparse.SourceConfig{Connection: e.conn("inst1"), Accounts: []tgparse.Account{acct},
		Chats: []tgparse.ChatConfig{{Ref: "@busy_chat"}}, MaxBackfill: 1000, NoUpdates: true, PollInterval: time.Hour}
	src, err := tgparse.NewSource(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // the handler cancels it at stopAt
	defer cancel()
	var got []int64 // ids handled, over both runs
	handler := chatter.HandlerFunc(func(hctx context.Context, m *chatter.Message) error {
		got = append(got, m.Key.MessageID)
		if m.Key.MessageID == stopAt {
			// Shutdown comes while this message is being made durable;
			// the handler still completes it.
			cancel()
			<-hctx.Done()
		}
		return nil
	})
	require.NoError(t, src.Run(ctx, handler))
	require.Equal(t, int64(stopAt), checkpointOf(t, e.store, chatIDOf(ch)), "the checkpoint of the last handled message")

	cfg.Connection.Holder = "inst2"
	src, err = tgparse.NewSource(cfg)
	require.NoError(t, err)
	stop := runSource(t, src, handler)
	waitLong(t, "the checkpoint at the last message", func() bool { return checkpointOf(t, e.store, chatIDOf(ch)) == backlog })
	require.NoError(t, stop())
	if diff := cmp.Diff(delivery{N: backlog, First: 1, Last: backlog}, summarize(got)); diff != "" {
		t.Fatalf("delivery over two runs (-want +got):\n%s", diff)
	}
}
