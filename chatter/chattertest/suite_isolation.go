package chattertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

var isolationTests = []storeTest{
	{"Workspaces", testIsolation},
	{"QueueServesAllWorkspaces", testIsolationQueue},
}

// testIsolation writes the same keys and names in two workspaces and checks
// that no method reads or changes the other workspace's rows.
func testIsolation(t *testing.T, s chatter.Store) {
	ctx := t.Context()
	const a, b = "ws-a", "ws-b"

	// Messages and the ledger: the same key in both, different contents.
	ma, mb := NewMessage(a, -100, 1, "Заявка в пространстве A"), NewMessage(b, -100, 1, "Заявка в пространстве B")
	if r := save(t, s, ma, accept(0, 3)); r.Duplicate {
		t.Errorf("SaveMessage(a) reported a duplicate")
	}
	if r := save(t, s, mb, chatter.AcceptOptions{Verdict: chatter.Verdict{Reason: "filtered in b"}}); r.Duplicate || r.State != chatter.StateFiltered {
		t.Errorf("SaveMessage(b, same key) = %+v, want a fresh filtered entry", r)
	}
	onlyA := NewMessage(a, -100, 2, "")
	save(t, s, onlyA, accept(0, 3))
	for _, c := range []struct {
		ws    string
		m     *chatter.Message
		state chatter.State
	}{{a, ma, chatter.StateQueued}, {b, mb, chatter.StateFiltered}} {
		e, err := s.GetEntry(ctx, c.ws, c.m.Key)
		noErr(t, "GetEntry", err)
		if e.Workspace != c.ws || e.State != c.state {
			t.Errorf("GetEntry(%s) = workspace %q state %s, want %q %s", c.ws, e.Workspace, e.State, c.ws, c.state)
		}
		checkMessage(t, "GetEntry("+c.ws+")", e.Message, c.m)
	}
	_, err := s.GetEntry(ctx, b, onlyA.Key)
	wantErr(t, "GetEntry(b, key only in a)", err, chatter.ErrNotFound)
	if ids := listIDs(t, s, chatter.LedgerQuery{Workspace: b}); !sameIDs(ids, []int64{1}) {
		t.Errorf("ListEntries(b) = %v, want only b's message 1", ids)
	}
	if counts, err := s.CountEntries(ctx, chatter.LedgerQuery{Workspace: b}); err != nil || total(counts) != 1 || counts[chatter.StateFiltered] != 1 {
		t.Errorf("CountEntries(b) = %v, %v; want 1 filtered", counts, err)
	}
	wantErr(t, "Replay(b, key only in a)", s.Replay(ctx, b, onlyA.Key), chatter.ErrNotFound)
	wantErr(t, "Replay(b, filtered in b, queued in a)", s.Replay(ctx, b, mb.Key), chatter.ErrConflict)

	// Contacts: the same telegram id in both is no conflict.
	noErr(t, "SaveContact(a)", s.SaveContact(ctx, &chatter.ContactLink{Workspace: a, TelegramID: 42, Username: "irina", Phone: "+79160000000", ContactID: 1}))
	noErr(t, "SaveContact(b)", s.SaveContact(ctx, &chatter.ContactLink{Workspace: b, TelegramID: 42, Username: "irina", Phone: "+79160000000", ContactID: 2}))
	for ws, want := range map[string]int64{a: 1, b: 2} {
		for _, q := range []chatter.ContactQuery{{TelegramID: 42}, {Username: "irina"}, {Phone: "+79160000000"}} {
			l, err := s.FindContact(ctx, ws, q)
			if err != nil || l.ContactID != want || l.Workspace != ws {
				t.Errorf("FindContact(%s, %+v) = %+v, %v; want contact %d", ws, q, l, err, want)
			}
		}
	}
	_, err = s.FindContact(ctx, "ws-c", chatter.ContactQuery{TelegramID: 42})
	wantErr(t, "FindContact(other workspace)", err, chatter.ErrNotFound)

	// Tokens: both start at version 0; deleting one leaves the other.
	for _, ws := range []string{a, b} {
		if tok, err := s.SwapToken(ctx, newToken(ws, "remontmsk", ws), 0); err != nil || tok.Version != 1 {
			t.Errorf("SwapToken(%s, 0) = %+v, %v; want version 1", ws, tok, err)
		}
	}
	noErr(t, "DeleteToken(a)", s.DeleteToken(ctx, a, "remontmsk"))
	if tok, err := s.GetToken(ctx, b, "remontmsk"); err != nil || tok.AccessToken != "access-"+b {
		t.Errorf("GetToken(b) after deleting a's = %+v, %v; want b's token", tok, err)
	}

	// Leases: the same name is free in each workspace; tokens are fenced per
	// workspace, so a lease of a never authorises a write in b.
	la, err := s.AcquireLease(ctx, a, chatter.SessionLeaseName("acc"), "instance-a", time.Minute)
	noErr(t, "AcquireLease(a)", err)
	lb, err := s.AcquireLease(ctx, b, chatter.SessionLeaseName("acc"), "instance-b", time.Minute)
	noErr(t, "AcquireLease(b, same name)", err)
	_, err = s.RenewLease(ctx, &chatter.Lease{Workspace: b, Name: la.Name, Holder: la.Holder, Token: la.Token, ExpiresAt: la.ExpiresAt}, time.Minute)
	wantErr(t, "RenewLease(a's lease presented in b)", err, chatter.ErrLeaseLost)

	// Sessions.
	noErr(t, "StoreSession(a)", s.StoreSession(ctx, a, "acc", []byte("session-a"), la))
	noErr(t, "StoreSession(b)", s.StoreSession(ctx, b, "acc", []byte("session-b"), lb))
	wantErr(t, "StoreSession(b with a's lease)", s.StoreSession(ctx, b, "acc", []byte("stolen"), la), chatter.ErrLeaseLost)
	noErr(t, "ReleaseLease(a)", s.ReleaseLease(ctx, la))
	if _, err := s.RenewLease(ctx, lb, time.Minute); err != nil {
		t.Errorf("releasing a's lease affected b's: %v", err)
	}
	for ws, want := range map[string]string{a: "session-a", b: "session-b"} {
		if got, err := s.LoadSession(ctx, ws, "acc"); err != nil || !bytes.Equal(got, []byte(want)) {
			t.Errorf("LoadSession(%s) = %q, %v; want %q", ws, got, err, want)
		}
	}

	// Checkpoints.
	cp := func(ws string, id int64) *chatter.Checkpoint {
		return &chatter.Checkpoint{Workspace: ws, Source: chatter.SourceParser, Account: "acc", ChatID: -100, MessageID: id, At: BaseTime}
	}
	noErr(t, "AdvanceCheckpoint(a)", s.AdvanceCheckpoint(ctx, cp(a, 100)))
	noErr(t, "AdvanceCheckpoint(b)", s.AdvanceCheckpoint(ctx, cp(b, 5)))
	for ws, want := range map[string]int64{a: 100, b: 5} {
		c, err := s.GetCheckpoint(ctx, ws, chatter.SourceParser, "acc", -100)
		if err != nil || c.MessageID != want {
			t.Errorf("GetCheckpoint(%s) = %+v, %v; want message %d", ws, c, err, want)
		}
		list, err := s.ListCheckpoints(ctx, ws, "")
		if err != nil || len(list) != 1 || list[0].Workspace != ws {
			t.Errorf("ListCheckpoints(%s) = %+v, %v; want its one checkpoint", ws, list, err)
		}
	}

	// Events.
	noErr(t, "AppendEvents", s.AppendEvents(ctx, []chatter.Event{
		{Workspace: a, Time: BaseTime, Level: slog.LevelError, ErrorClass: chatter.ClassAuth, Text: "a1"},
		{Workspace: a, Time: BaseTime, Level: slog.LevelError, ErrorClass: chatter.ClassAuth, Text: "a2"},
		{Workspace: b, Time: BaseTime, Level: slog.LevelInfo, Text: "b1"},
	}))
	if evs, err := s.ListEvents(ctx, chatter.EventQuery{Workspace: b}); err != nil || len(evs) != 1 || evs[0].Text != "b1" {
		t.Errorf("ListEvents(b) = %+v, %v; want only b1", evs, err)
	}
	if counts, err := s.CountEvents(ctx, chatter.EventQuery{Workspace: a}); err != nil || counts[chatter.ClassAuth] != 2 || total(counts) != 2 {
		t.Errorf("CountEvents(a) = %v, %v; want 2 auth", counts, err)
	}

	// Settings.
	for _, ws := range []string{a, b} {
		st, err := s.PutSetting(ctx, ws, "filter.keywords", json.RawMessage(`{"ws": "`+ws+`"}`), 0)
		if err != nil || st.Version != 1 {
			t.Errorf("PutSetting(%s, 0) = %+v, %v; want version 1", ws, st, err)
		}
	}
	if _, err := s.PutSetting(ctx, a, "filter.keywords", json.RawMessage(`{"ws": "a2"}`), 1); err != nil {
		t.Errorf("PutSetting(a, 1): %v", err)
	}
	if st, err := s.GetSetting(ctx, b, "filter.keywords"); err != nil || st.Version != 1 || !jsonEqual(st.Value, []byte(`{"ws": "ws-b"}`)) {
		t.Errorf("GetSetting(b) = %+v, %v; want b's version 1", st, err)
	}
	if list, err := s.ListSettings(ctx, b, ""); err != nil || len(list) != 1 || list[0].Workspace != b {
		t.Errorf("ListSettings(b) = %+v, %v; want b's one setting", list, err)
	}

	// Rate budget.
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	noErr(t, "Penalize(a)", s.Penalize(ctx, a, "amocrm", until))
	if slot, err := s.Reserve(ctx, b, "amocrm", time.Millisecond); err != nil || !slot.Before(until) {
		t.Errorf("Reserve(b) after Penalize(a) = %v, %v; want a slot before %v", slot, err, until)
	}
	if slot, err := s.Reserve(ctx, a, "amocrm", time.Millisecond); err != nil || slot.Before(until) {
		t.Errorf("Reserve(a) after Penalize(a) = %v, %v; want a slot from %v", slot, err, until)
	}

	// Pruning is the one method that spans workspaces (retention).
	if n, err := s.PruneEvents(ctx, BaseTime.Add(time.Second)); err != nil || n != 3 {
		t.Errorf("PruneEvents = %d, %v; want 3 across both workspaces", n, err)
	}
}

// testIsolationQueue checks that one Work serves every workspace and applies
// each outcome to the right workspace's entry.
func testIsolationQueue(t *testing.T, s chatter.Store) {
	const a, b = "ws-a", "ws-b"
	ma, mb := NewMessage(a, -100, 1, "A"), NewMessage(b, -100, 1, "B")
	save(t, s, ma, accept(0, 3))
	save(t, s, mb, accept(0, 3))
	var log jobLog
	w := startWork(t, s, chatter.QueueConfig{Workers: 2}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		if j.Message.Workspace == b {
			return chatter.Outcome{Kind: chatter.OutcomeDead, Class: chatter.ClassPayment, Err: "аккаунт amoCRM не оплачен"}
		}
		return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{LeadID: 111}}
	})
	ea := waitEntry(t, s, a, ma.Key, chatter.StateDelivered)
	eb := waitEntry(t, s, b, mb.Key, chatter.StateDead)
	w.stop(t)
	if ea.Result == nil || ea.Result.LeadID != 111 || ea.ErrorClass != "" {
		t.Errorf("a's entry = %+v, want delivered with lead 111", ea)
	}
	if eb.Result != nil || eb.ErrorClass != chatter.ClassPayment {
		t.Errorf("b's entry = %+v, want dead with class payment and no result", eb)
	}
	for _, c := range []struct {
		ws string
		m  *chatter.Message
	}{{a, ma}, {b, mb}} {
		jobs := log.of(c.ws, c.m.Key)
		if len(jobs) != 1 {
			t.Errorf("%s's job ran %d times, want 1", c.ws, len(jobs))
			continue
		}
		checkMessage(t, "Job.Message of "+c.ws, jobs[0].Message, c.m)
	}
	noErr(t, "Replay(b)", s.Replay(t.Context(), b, mb.Key))
	if e, err := s.GetEntry(t.Context(), a, ma.Key); err != nil || e.State != chatter.StateDelivered {
		t.Errorf("Replay in b changed a's entry: %+v, %v", e, err)
	}
	if err := s.Replay(t.Context(), a, ma.Key); !errors.Is(err, chatter.ErrConflict) {
		t.Errorf("Replay(a, delivered) = %v, want ErrConflict", err)
	}
}
