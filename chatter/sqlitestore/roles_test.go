package sqlitestore_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
)

// TestSecretsNotInPlainText writes a token and a session, closes the store
// and searches every byte of the database files for the secrets.
func TestSecretsNotInPlainText(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secrets.db")
	s := openAt(t, path, sqlitestore.Config{})
	const (
		access  = "def50200a1b2c3-ACCESS-TOKEN-must-not-leak"
		refresh = "def50200d4e5f6-REFRESH-TOKEN-must-not-leak"
		session = "MTPROTO-AUTH-KEY-must-not-leak"
	)
	tok, err := s.SwapToken(t.Context(), &chatter.Token{Workspace: "ws", Account: "acme", AccessToken: access,
		RefreshToken: refresh, TokenType: "Bearer", ExpiresAt: time.Now().Add(time.Hour)}, 0)
	noErr(t, "SwapToken", err)
	lease, err := s.AcquireLease(t.Context(), "ws", chatter.SessionLeaseName("+79160000000"), "node-1", time.Minute)
	noErr(t, "AcquireLease", err)
	noErr(t, "StoreSession", s.StoreSession(t.Context(), "ws", "+79160000000", []byte(session), lease))
	got, err := s.GetToken(t.Context(), "ws", "acme")
	noErr(t, "GetToken", err)
	if got.AccessToken != access || got.RefreshToken != refresh || got.Version != tok.Version {
		t.Errorf("GetToken = %+v, want the stored token", got)
	}
	blob, err := s.LoadSession(t.Context(), "ws", "+79160000000")
	noErr(t, "LoadSession", err)
	if string(blob) != session {
		t.Errorf("LoadSession = %q", blob)
	}
	noErr(t, "Close", s.Close())
	files, err := filepath.Glob(filepath.Join(dir, "secrets.db*"))
	noErr(t, "glob", err)
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		noErr(t, "read "+f, err)
		for _, secret := range []string{access, refresh, session, "ACCESS-TOKEN", "AUTH-KEY"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s contains the secret %q in plain text", filepath.Base(f), secret)
			}
		}
	}
}

// TestSealedBlobBoundToRow: a sealed token copied to another account's row
// does not open there.
func TestSealedBlobBoundToRow(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{})
	for _, acc := range []string{"a", "b"} {
		_, err := s.SwapToken(t.Context(), &chatter.Token{Workspace: "ws", Account: acc, AccessToken: "tok-" + acc, RefreshToken: "r"}, 0)
		noErr(t, "SwapToken", err)
	}
	_, err := s.DB().Exec(`UPDATE chatter_tokens SET access_token = (SELECT access_token FROM chatter_tokens WHERE account = 'a') WHERE account = 'b'`)
	noErr(t, "move blob", err)
	_, err = s.GetToken(t.Context(), "ws", "b")
	wantErr(t, "GetToken with a moved blob", err, chatter.ErrUnseal)
}

func TestTokenCompareAndSwap(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{})
	_, err := s.GetToken(t.Context(), "ws", "acme")
	wantErr(t, "GetToken(missing)", err, chatter.ErrNotFound)
	t1, err := s.SwapToken(t.Context(), &chatter.Token{Workspace: "ws", Account: "acme", AccessToken: "a1", RefreshToken: "r1"}, 0)
	noErr(t, "SwapToken(0)", err)
	if t1.Version != 1 || t1.AccessToken != "a1" {
		t.Errorf("first swap = %+v", t1)
	}
	_, err = s.SwapToken(t.Context(), &chatter.Token{Workspace: "ws", Account: "acme", AccessToken: "x"}, 0)
	wantErr(t, "SwapToken(0) over a stored token", err, chatter.ErrConflict)
	t2, err := s.SwapToken(t.Context(), &chatter.Token{Workspace: "ws", Account: "acme", AccessToken: "a2", RefreshToken: "r2"}, 1)
	noErr(t, "SwapToken(1)", err)
	_, err = s.SwapToken(t.Context(), &chatter.Token{Workspace: "ws", Account: "acme", AccessToken: "a3"}, 1)
	wantErr(t, "SwapToken(stale)", err, chatter.ErrConflict)
	got, err := s.GetToken(t.Context(), "ws", "acme")
	noErr(t, "GetToken", err)
	if got.Version != 2 || got.AccessToken != "a2" || t2.Version != 2 {
		t.Errorf("GetToken = %+v, want version 2 with a2", got)
	}
	_, err = s.GetToken(t.Context(), "ws-2", "acme")
	wantErr(t, "GetToken(other workspace)", err, chatter.ErrNotFound)
	noErr(t, "DeleteToken", s.DeleteToken(t.Context(), "ws", "acme"))
	noErr(t, "DeleteToken(missing)", s.DeleteToken(t.Context(), "ws", "acme"))
	_, err = s.GetToken(t.Context(), "ws", "acme")
	wantErr(t, "GetToken(deleted)", err, chatter.ErrNotFound)
}

func TestNoSealer(t *testing.T) {
	db := newStoreNoSealer(t)
	_, err := db.SwapToken(t.Context(), &chatter.Token{Workspace: "ws", Account: "a", AccessToken: "x"}, 0)
	wantErr(t, "SwapToken without a sealer", err, sqlitestore.ErrNoSealer)
	_, err = db.LoadSession(t.Context(), "ws", "a")
	wantErr(t, "LoadSession without a sealer", err, sqlitestore.ErrNoSealer)
}

func newStoreNoSealer(t *testing.T) *sqlitestore.Store {
	s, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "n.db"), sqlitestore.Config{})
	noErr(t, "Open", err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestLeaseFencingByStoreClock(t *testing.T) {
	clk := newFakeClock(time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC))
	s, _ := newStore(t, clk.config())
	const ws, name = "ws", "session:+7916"
	a, err := s.AcquireLease(t.Context(), ws, name, "node-a", 10*time.Second)
	noErr(t, "AcquireLease a", err)
	_, err = s.AcquireLease(t.Context(), ws, name, "node-b", 10*time.Second)
	wantErr(t, "AcquireLease b while a holds it", err, chatter.ErrLeaseHeld)
	again, err := s.AcquireLease(t.Context(), ws, name, "node-a", 10*time.Second)
	noErr(t, "AcquireLease a again", err)
	if again.Token != a.Token {
		t.Errorf("re-acquire by the holder changed the token %d → %d", a.Token, again.Token)
	}
	clk.Add(11 * time.Second) // only the store clock decides expiry
	_, err = s.RenewLease(t.Context(), a, 10*time.Second)
	wantErr(t, "RenewLease after expiry", err, chatter.ErrLeaseLost)
	b, err := s.AcquireLease(t.Context(), ws, name, "node-b", 10*time.Second)
	noErr(t, "AcquireLease b after expiry", err)
	if b.Token <= a.Token {
		t.Errorf("fencing token %d after %d, want strictly greater", b.Token, a.Token)
	}
	noErr(t, "StoreSession with b", s.StoreSession(t.Context(), ws, "+7916", []byte("b's"), b))
	err = s.StoreSession(t.Context(), ws, "+7916", []byte("a's"), a)
	wantErr(t, "StoreSession with the stale lease", err, chatter.ErrLeaseLost)
	blob, err := s.LoadSession(t.Context(), ws, "+7916")
	noErr(t, "LoadSession", err)
	if string(blob) != "b's" {
		t.Errorf("session = %q, the stale holder overwrote it", blob)
	}
	b2, err := s.RenewLease(t.Context(), b, time.Minute)
	noErr(t, "RenewLease b", err)
	if !b2.ExpiresAt.Equal(clk.Now().Add(time.Minute)) {
		t.Errorf("renewed until %v, want store clock + 1m", b2.ExpiresAt)
	}
	noErr(t, "ReleaseLease b", s.ReleaseLease(t.Context(), b2))
	noErr(t, "ReleaseLease a (lost)", s.ReleaseLease(t.Context(), a))
	err = s.StoreSession(t.Context(), ws, "+7916", []byte("late"), b2)
	wantErr(t, "StoreSession after release", err, chatter.ErrLeaseLost)
	c, err := s.AcquireLease(t.Context(), ws, name, "node-b", time.Second)
	noErr(t, "AcquireLease after release", err)
	if c.Token <= b.Token {
		t.Errorf("token after release %d, want > %d", c.Token, b.Token)
	}
	_, err = s.AcquireLease(t.Context(), ws, name, "node-a", 0)
	wantErr(t, "AcquireLease(ttl 0)", err, chatter.ErrInvalid)
	// Another workspace has its own lease of the same name.
	if _, err := s.AcquireLease(t.Context(), "ws-2", name, "node-a", time.Second); err != nil {
		t.Errorf("lease in another workspace: %v", err)
	}
}

func TestRateBudget(t *testing.T) {
	clk := newFakeClock(time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC))
	s, _ := newStore(t, clk.config())
	const interval = 143 * time.Millisecond
	t0 := clk.Now()
	for i := range 5 {
		at, err := s.Reserve(t.Context(), "ws", "amocrm:acme", interval)
		noErr(t, "Reserve", err)
		if want := t0.Add(time.Duration(i) * interval); !at.Equal(want) {
			t.Errorf("slot %d = %v, want %v", i, at, want)
		}
	}
	clk.Add(10 * time.Second) // idle: the next slot is now, not a burst of saved ones
	at, err := s.Reserve(t.Context(), "ws", "amocrm:acme", interval)
	noErr(t, "Reserve after idle", err)
	if !at.Equal(clk.Now()) {
		t.Errorf("slot after idle = %v, want now %v", at, clk.Now())
	}
	until := clk.Now().Add(time.Minute)
	noErr(t, "Penalize", s.Penalize(t.Context(), "ws", "amocrm:acme", until))
	noErr(t, "Penalize earlier (no-op)", s.Penalize(t.Context(), "ws", "amocrm:acme", clk.Now()))
	at, err = s.Reserve(t.Context(), "ws", "amocrm:acme", interval)
	noErr(t, "Reserve after Penalize", err)
	if !at.Equal(until) {
		t.Errorf("slot after Penalize = %v, want %v", at, until)
	}
	at, err = s.Reserve(t.Context(), "ws-2", "amocrm:acme", interval)
	noErr(t, "Reserve other workspace", err)
	if !at.Equal(clk.Now()) {
		t.Errorf("another workspace's budget was penalized: %v", at)
	}
	_, err = s.Reserve(t.Context(), "ws", "k", 0)
	wantErr(t, "Reserve(0)", err, chatter.ErrInvalid)
}

func TestContactsCheckpointsEventsSettings(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{})
	ctx := t.Context()

	noErr(t, "SaveContact", s.SaveContact(ctx, &chatter.ContactLink{Workspace: "ws", TelegramID: 42, Username: "@Irina", ContactID: 7, LeadID: 9}))
	c, err := s.FindContact(ctx, "ws", chatter.ContactQuery{Username: "irina"})
	noErr(t, "FindContact(username)", err)
	if c.ContactID != 7 || c.TelegramID != 42 || c.Username != "irina" || c.UpdatedAt.IsZero() {
		t.Errorf("FindContact = %+v", c)
	}
	err = s.SaveContact(ctx, &chatter.ContactLink{Workspace: "ws", TelegramID: 42, ContactID: 8})
	wantErr(t, "SaveContact stealing a telegram id", err, chatter.ErrConflict)
	_, err = s.FindContact(ctx, "ws-2", chatter.ContactQuery{TelegramID: 42})
	wantErr(t, "FindContact(other workspace)", err, chatter.ErrNotFound)

	cp := &chatter.Checkpoint{Workspace: "ws", Source: chatter.SourceParser, Account: "+7916", ChatID: -100, MessageID: 50, At: baseTime}
	noErr(t, "AdvanceCheckpoint", s.AdvanceCheckpoint(ctx, cp))
	noErr(t, "AdvanceCheckpoint back", s.AdvanceCheckpoint(ctx, &chatter.Checkpoint{Workspace: "ws", Source: chatter.SourceParser, Account: "+7916", ChatID: -100, MessageID: 40}))
	got, err := s.GetCheckpoint(ctx, "ws", chatter.SourceParser, "+7916", -100)
	noErr(t, "GetCheckpoint", err)
	if got.MessageID != 50 || !got.At.Equal(baseTime) {
		t.Errorf("checkpoint = %+v, want 50 (monotonic)", got)
	}

	lvl := slog.LevelWarn
	evs := []chatter.Event{
		{Workspace: "ws", Time: baseTime, Level: slog.LevelInfo, Text: "old"},
		{Workspace: "ws", Time: baseTime.Add(time.Hour), Level: slog.LevelError, ErrorClass: chatter.ClassAuth, Text: "token expired", Attrs: map[string]string{"account": "acme"}},
		{Workspace: "ws-2", Time: baseTime.Add(time.Hour), Level: slog.LevelError, Text: "other"},
	}
	noErr(t, "AppendEvents", s.AppendEvents(ctx, evs))
	if evs[0].ID == 0 || evs[1].ID <= evs[0].ID {
		t.Errorf("event ids %d, %d", evs[0].ID, evs[1].ID)
	}
	list, err := s.ListEvents(ctx, chatter.EventQuery{Workspace: "ws", MinLevel: &lvl})
	noErr(t, "ListEvents", err)
	if len(list) != 1 || list[0].Attrs["account"] != "acme" || list[0].ErrorClass != chatter.ClassAuth {
		t.Errorf("ListEvents(≥warn) = %+v", list)
	}
	counts, err := s.CountEvents(ctx, chatter.EventQuery{Workspace: "ws"})
	noErr(t, "CountEvents", err)
	if counts[chatter.ClassAuth] != 1 || counts[""] != 1 {
		t.Errorf("CountEvents = %v", counts)
	}
	n, err := s.PruneEvents(ctx, baseTime.Add(time.Minute))
	noErr(t, "PruneEvents", err)
	if n != 1 {
		t.Errorf("PruneEvents deleted %d, want 1", n)
	}
	err = s.AppendEvents(ctx, []chatter.Event{{Workspace: "ws", Text: "ok"}, {Text: "no workspace"}})
	wantErr(t, "AppendEvents with a bad event", err, chatter.ErrInvalid)

	st, err := s.PutSetting(ctx, "ws", "fieldmap.leads", json.RawMessage(`{"name":"{{.Sender}}"}`), 0)
	noErr(t, "PutSetting", err)
	_, err = s.PutSetting(ctx, "ws", "fieldmap.leads", json.RawMessage(`{}`), 0)
	wantErr(t, "PutSetting(stale)", err, chatter.ErrConflict)
	_, err = s.PutSetting(ctx, "ws", "fieldmap.leads", json.RawMessage(`{`), st.Version)
	wantErr(t, "PutSetting(bad JSON)", err, chatter.ErrInvalid)
	_, err = s.PutSetting(ctx, "ws", "fieldmap.leads", json.RawMessage(`{"v":2}`), st.Version)
	noErr(t, "PutSetting(v1)", err)
	_, err = s.PutSetting(ctx, "ws", "Fieldmap.other", json.RawMessage(`1`), 0)
	noErr(t, "PutSetting other", err)
	sets, err := s.ListSettings(ctx, "ws", "fieldmap.")
	noErr(t, "ListSettings", err)
	if len(sets) != 1 || sets[0].Version != 2 || string(sets[0].Value) != `{"v":2}` {
		t.Errorf("ListSettings = %+v", sets)
	}
}

// TestErrorsNameTheProblem: errors carry the field or key, never secrets.
func TestErrorsNameTheProblem(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{})
	m := msg("ws", -1, 1)
	m.Text = "bad \xff"
	_, err := s.SaveMessage(t.Context(), m, accept(0, 3))
	var ve *chatter.ValidationError
	if !errors.As(err, &ve) || ve.Field != "text" || ve.Problem.RU == "" {
		t.Errorf("error %v, want a ValidationError for field text with a Russian text", err)
	}
	_, err = s.SwapToken(t.Context(), &chatter.Token{Workspace: "ws", Account: "a", AccessToken: "SECRET-123"}, 5)
	if err == nil || strings.Contains(err.Error(), "SECRET-123") {
		t.Errorf("SwapToken error %v leaks or is missing", err)
	}
}
