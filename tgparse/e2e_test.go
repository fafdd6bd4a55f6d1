package tgparse_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/tgparse"
	"github.com/chatterhq/sdk/tgparse/tgparsetest"
)

const (
	testAPIID   = 17349
	testAPIHash = "344583e45741c457fe1862106095a5eb"
	ws          = "ws1"
)

// env is one fake Telegram, one store and one sealer.
type env struct {
	srv      *tgparsetest.Server
	store    *chattertest.MemStore
	sealer   *chatter.Sealer
	accounts *tgparse.AccountStore
}

func newEnv(t *testing.T) *env {
	t.Helper()
	sealer, err := chatter.NewSealer("k1", map[string][]byte{"k1": make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	store := chattertest.NewMemStore()
	accounts, err := tgparse.NewAccountStore(store, sealer, ws)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: tgparsetest.NewServer(t), store: store, sealer: sealer, accounts: accounts}
}

func (e *env) conn(holder string) tgparse.Connection {
	return tgparse.Connection{Workspace: ws, Store: e.store, Sealer: e.sealer, Holder: holder,
		Endpoint: e.srv.Endpoint(), RequestRate: 1000, RequestBurst: 100, ConnectTimeout: 60 * time.Second}
}

func account(id, phone string) tgparse.Account {
	return tgparse.Account{ID: id, Phone: phone, APIID: testAPIID, APIHash: testAPIHash,
		Device: tgparse.Device{Model: "chatter-test", System: "linux", AppVersion: "0.1", LangCode: "ru"}}
}

// login signs acct in with the code the fake sent.
func (e *env) login(t *testing.T, acct tgparse.Account) {
	t.Helper()
	l, err := tgparse.NewLogin(e.conn("login"), e.accounts)
	if err != nil {
		t.Fatal(err)
	}
	st, err := l.SendCode(t.Context(), acct)
	if err != nil {
		t.Fatalf("SendCode: %v", err)
	}
	if _, err := l.SignIn(t.Context(), st, e.srv.Code(acct.Phone)); err != nil {
		t.Fatalf("SignIn: %v", err)
	}
}

// collector is a Handler that records messages.
type collector struct {
	mu   sync.Mutex
	msgs []*chatter.Message
	fail func(m *chatter.Message) error
}

func (c *collector) Handle(_ context.Context, m *chatter.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		if err := c.fail(m); err != nil {
			return err
		}
	}
	c.msgs = append(c.msgs, m)
	return nil
}

func (c *collector) ids() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]int64, len(c.msgs))
	for i, m := range c.msgs {
		out[i] = m.Key.MessageID
	}
	return out
}

// waitFor polls cond for up to 60 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runSource runs src in the background; stop cancels it and returns Run's error.
func runSource(t *testing.T, src *tgparse.Source, h chatter.Handler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, h) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				err = errors.New("Run did not return")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestLoginFlow(t *testing.T) {
	e := newEnv(t)
	u := e.srv.AddUser("+79990000001", "parser_acc", "Parser")
	e.srv.SetPassword(u, "hunter2")
	banned := e.srv.AddUser("+79990000002", "banned_acc", "Banned")
	e.srv.Ban(banned)
	l, err := tgparse.NewLogin(e.conn("login"), e.accounts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	acct := account("acc1", "+79990000001")

	st, err := l.SendCode(ctx, acct)
	if err != nil {
		t.Fatalf("SendCode: %v", err)
	}
	if st.PhoneCodeHash == "" || st.Type != "app" || st.Authorized {
		t.Fatalf("state = %+v", st)
	}
	if _, err := l.SignIn(ctx, st, "00000x"); !errors.Is(err, tgparse.ErrCodeInvalid) {
		t.Fatalf("wrong code: err = %v, want ErrCodeInvalid", err)
	}
	var te *tgparse.Error
	if _, err := l.SignIn(ctx, st, "00000x"); !errors.As(err, &te) || te.RPC != "PHONE_CODE_INVALID" || te.Message().RU == "" || te.Remedy().EN == "" {
		t.Fatalf("wrong code: %#v", err)
	}
	_, err = l.SignIn(ctx, st, e.srv.Code(acct.Phone))
	if !errors.Is(err, tgparse.ErrPasswordNeeded) {
		t.Fatalf("2FA: err = %v, want ErrPasswordNeeded", err)
	}
	if _, err := l.Password(ctx, st, "wrong"); !errors.Is(err, tgparse.ErrPasswordInvalid) {
		t.Fatalf("wrong password: err = %v, want ErrPasswordInvalid", err)
	}
	self, err := l.Password(ctx, st, "hunter2")
	if err != nil {
		t.Fatalf("Password: %v", err)
	}
	if self.Username != "parser_acc" || self.ID != u.ID {
		t.Fatalf("self = %+v", self)
	}
	if got, err := l.Status(ctx, "acc1"); err != nil || got.ID != u.ID {
		t.Fatalf("Status = %+v, %v", got, err)
	}
	// A second SendCode on a signed-in session sends nothing.
	sends := e.srv.Calls("auth.sendCode")
	if st2, err := l.SendCode(ctx, acct); err != nil || !st2.Authorized || st2.Self.ID != u.ID {
		t.Fatalf("SendCode when signed in = %+v, %v", st2, err)
	}
	if e.srv.Calls("auth.sendCode") != sends {
		t.Fatal("a code was sent to a signed-in account")
	}

	// Expired code.
	acct3 := account("acc3", "+79990000003")
	e.srv.AddUser(acct3.Phone, "third", "Third")
	st3, err := l.SendCode(ctx, acct3)
	if err != nil {
		t.Fatal(err)
	}
	code := e.srv.Code(acct3.Phone)
	e.srv.ExpireCodes()
	if _, err := l.SignIn(ctx, st3, code); !errors.Is(err, tgparse.ErrCodeExpired) {
		t.Fatalf("expired code: err = %v", err)
	}
	if _, err := l.Status(ctx, "acc3"); !errors.Is(err, tgparse.ErrNotLoggedIn) {
		t.Fatalf("Status before login: err = %v, want ErrNotLoggedIn", err)
	}

	// Banned number.
	if _, err := l.SendCode(ctx, account("acc2", "+79990000002")); !errors.Is(err, tgparse.ErrPhoneBanned) {
		t.Fatalf("banned: err = %v, want ErrPhoneBanned", err)
	}
	// Flood wait at login is reported, not waited for hours.
	e.srv.Fail("auth.sendCode", 420, "FLOOD_WAIT_7200")
	_, err = l.SendCode(ctx, acct3)
	if !errors.Is(err, tgparse.ErrFloodWait) {
		t.Fatalf("flood: err = %v, want ErrFloodWait", err)
	}
	if d, ok := chatter.RetryAfter(err); !ok || d != 2*time.Hour {
		t.Fatalf("RetryAfter = %v, %v", d, ok)
	}
	// Bad input loses nothing and says why.
	if _, err := l.SendCode(ctx, tgparse.Account{ID: "x"}); !errors.Is(err, tgparse.ErrConfig) {
		t.Fatalf("invalid account: err = %v", err)
	}
	if _, err := l.SignIn(ctx, nil, "1"); !errors.Is(err, tgparse.ErrCodeExpired) {
		t.Fatalf("nil state: err = %v", err)
	}
}

func TestSourceDepthCheckpointAndBackfill(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("+79990000001", "parser_acc", "Parser")
	ch := e.srv.AddChannel("leads_channel", "Leads", true)
	base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for i := range 250 {
		e.srv.PostAt(t.Context(), ch, nil, fmt.Sprintf("message %d", i+1), base.Add(time.Duration(i)*time.Minute))
	}
	acct := account("acc1", "+79990000001")
	e.login(t, acct)

	cfg := tgparse.SourceConfig{
		Connection: e.conn("inst1"),
		Accounts:   []tgparse.Account{acct},
		Chats:      []tgparse.ChatConfig{{Ref: "https://t.me/leads_channel"}},
		Depth:      tgparse.Depth{Count: 130},
		NoUpdates:  true, PollInterval: time.Hour,
	}
	src, err := tgparse.NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	stop := runSource(t, src, c)
	waitFor(t, "130 messages", func() bool { return len(c.ids()) >= 130 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got, want := c.ids(), seq(121, 250); !slices.Equal(got, want) {
		t.Fatalf("depth 130: got %d ids %v..., want 121..250", len(got), got[:min(5, len(got))])
	}
	if calls := e.srv.Calls("messages.getHistory"); calls != 2 {
		t.Errorf("getHistory calls = %d, want 2 (100 + 30)", calls)
	}
	m := c.msgs[0]
	wantKey := chatter.Key{Source: chatter.SourceParser, Account: "tgparse", ChatID: -1000000000000 - ch.ID, MessageID: 121}
	if m.Key != wantKey || m.Link != "https://t.me/leads_channel/121" || m.Chat.Type != chatter.ChatChannel ||
		m.Chat.Title != "Leads" || m.Text != "message 121" || !m.Time.Equal(base.Add(120*time.Minute)) {
		t.Fatalf("first message = %+v", m)
	}
	cp, err := e.store.GetCheckpoint(t.Context(), ws, chatter.SourceParser, "tgparse", wantKey.ChatID)
	if err != nil || cp.MessageID != 250 {
		t.Fatalf("checkpoint = %+v, %v", cp, err)
	}

	// Downtime: 7 new messages; a new Source (a restart) backfills exactly them.
	for i := range 7 {
		e.srv.PostAt(t.Context(), ch, nil, fmt.Sprintf("late %d", i), base.Add(time.Duration(300+i)*time.Minute))
	}
	cfg.Connection.Holder = "inst2"
	src2, err := tgparse.NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c2 := &collector{}
	stop2 := runSource(t, src2, c2)
	waitFor(t, "7 backfilled messages", func() bool { return len(c2.ids()) >= 7 })
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if got := c2.ids(); !slices.Equal(got, seq(251, 257)) {
		t.Fatalf("backfill = %v, want 251..257", got)
	}
	snap := src2.Snapshot()
	if cs := snap.Chats[0]; cs.Checkpoint != 257 || cs.Fetched != 7 || cs.Scanned != 7 {
		t.Fatalf("chat state = %+v", cs)
	}
}

func TestSourceHandlerErrorKeepsCheckpoint(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("+79990000001", "parser_acc", "Parser")
	ch := e.srv.AddChannel("leads_channel", "Leads", false)
	for i := range 5 {
		e.srv.Post(t.Context(), ch, nil, fmt.Sprintf("m%d", i+1))
	}
	acct := account("acc1", "+79990000001")
	e.login(t, acct)
	failing := true
	var mu sync.Mutex
	c := &collector{fail: func(m *chatter.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if m.Key.MessageID == 3 && failing {
			failing = false
			return errors.New("store down")
		}
		return nil
	}}
	src, err := tgparse.NewSource(tgparse.SourceConfig{Connection: e.conn("i1"), Accounts: []tgparse.Account{acct},
		Chats: []tgparse.ChatConfig{{Ref: "@leads_channel"}}, Depth: tgparse.Depth{Count: 100},
		NoUpdates: true, PollInterval: time.Hour, RetryInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	stop := runSource(t, src, c)
	waitFor(t, "5 messages after the retry", func() bool { return len(c.ids()) >= 5 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := c.ids(); !slices.Equal(got, seq(1, 5)) {
		t.Fatalf("ids = %v, want 1..5 exactly once", got)
	}
}

func TestSourceFloodWait(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("+79990000001", "acc_one", "One")
	e.srv.AddUser("+79990000002", "acc_two", "Two")
	ch := e.srv.AddChannel("leads_channel", "Leads", true)
	for i := range 30 {
		e.srv.Post(t.Context(), ch, nil, fmt.Sprintf("m%d", i+1))
	}
	a1, a2 := account("acc1", "+79990000001"), account("acc2", "+79990000002")
	e.login(t, a1)

	// A short FLOOD_WAIT is waited out in place.
	e.srv.Fail("messages.getHistory", 420, "FLOOD_WAIT_1")
	src, err := tgparse.NewSource(tgparse.SourceConfig{Connection: e.conn("i1"), Accounts: []tgparse.Account{a1},
		Chats: []tgparse.ChatConfig{{Ref: "leads_channel"}}, Depth: tgparse.Depth{Count: 10}, NoUpdates: true, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	stop := runSource(t, src, c)
	waitFor(t, "10 messages", func() bool { return len(c.ids()) >= 10 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := c.ids(); !slices.Equal(got, seq(21, 30)) {
		t.Fatalf("ids = %v", got)
	}
	if calls := e.srv.Calls("messages.getHistory"); calls != 2 {
		t.Fatalf("getHistory calls = %d, want 2 (one flood-waited)", calls)
	}

	// A long FLOOD_WAIT hands the chat to the other account.
	e.login(t, a2)
	for i := range 3 {
		e.srv.Post(t.Context(), ch, nil, fmt.Sprintf("n%d", i+1))
	}
	e.srv.Fail("messages.getHistory", 420, "FLOOD_WAIT_3600")
	src2, err := tgparse.NewSource(tgparse.SourceConfig{Connection: e.conn("i2"), Accounts: []tgparse.Account{a1, a2},
		Chats: []tgparse.ChatConfig{{Ref: "leads_channel"}}, NoUpdates: true, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c2 := &collector{}
	stop2 := runSource(t, src2, c2)
	waitFor(t, "3 messages via the other account", func() bool { return len(c2.ids()) >= 3 })
	var flooded *tgparse.AccountState
	waitFor(t, "an account in flood_wait", func() bool {
		for _, a := range src2.Snapshot().Accounts {
			if a.Status == tgparse.StatusFloodWait {
				flooded = &a
				return true
			}
		}
		return false
	})
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if got := c2.ids(); !slices.Equal(got, seq(31, 33)) {
		t.Fatalf("ids = %v, want 31..33", got)
	}
	if flooded.Until.Before(time.Now().Add(50*time.Minute)) || flooded.Cause().RU == "" || flooded.Remedy().EN == "" {
		t.Fatalf("flooded account = %+v", flooded)
	}
}

func TestSourceLeasePreventsSecondInstance(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("+79990000001", "parser_acc", "Parser")
	e.srv.AddChannel("leads_channel", "Leads", true)
	acct := account("acc1", "+79990000001")
	e.login(t, acct)
	cfg := tgparse.SourceConfig{Connection: e.conn("instance-a"), Accounts: []tgparse.Account{acct},
		Chats: []tgparse.ChatConfig{{Ref: "@leads_channel"}}, NoUpdates: true}
	src, err := tgparse.NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runSource(t, src, &collector{})
	waitFor(t, "the first instance to be active", func() bool {
		return src.Snapshot().Accounts[0].Status == tgparse.StatusActive
	})

	cfg.Connection.Holder = "instance-b"
	src2, err := tgparse.NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = src2.Run(t.Context(), &collector{})
	if !errors.Is(err, tgparse.ErrSessionInUse) || !errors.Is(err, chatter.ErrLeaseHeld) {
		t.Fatalf("second instance: err = %v, want ErrSessionInUse", err)
	}
	l, _ := tgparse.NewLogin(e.conn("login"), e.accounts)
	if _, err := l.Status(t.Context(), "acc1"); !errors.Is(err, tgparse.ErrSessionInUse) {
		t.Fatalf("login while running: err = %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// After the first instance stops the session is free again.
	if _, err := l.Status(t.Context(), "acc1"); err != nil {
		t.Fatalf("Status after stop: %v", err)
	}
}
