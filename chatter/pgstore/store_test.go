package pgstore_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/pgstore"
)

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := pgstore.New(nil, pgstore.Config{}); !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("New(nil pool): %v, want ErrInvalid", err)
	}
	pool := openPool(t, newSchema(t), 2)
	for _, schema := range []string{"1abc", "a-b", `x"; DROP TABLE y; --`, strings.Repeat("a", 64)} {
		if _, err := pgstore.New(pool, pgstore.Config{Schema: schema}); !errors.Is(err, chatter.ErrInvalid) {
			t.Errorf("New(schema %q): %v, want ErrInvalid", schema, err)
		}
	}
}

func TestMigrateConcurrentAndIdempotent(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	var stores []*pgstore.Store
	for range 3 {
		pool := openPool(t, schema, 4)
		s, err := pgstore.New(pool, pgstore.Config{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(stores))
	for _, s := range stores {
		for range 2 {
			wg.Go(func() { errs <- s.Migrate(t.Context()) })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
	}
	if err := stores[0].Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	pool := openPool(t, schema, 2)
	if n, last := count(t, pool, `SELECT count(*) FROM chatter_schema_migrations`),
		count(t, pool, `SELECT max(version) FROM chatter_schema_migrations`); n < 2 || n != last {
		t.Errorf("recorded migrations = %d up to version %d, want each of 1..%d once", n, last, last)
	}
	if n := count(t, pool, `SELECT count(*) FROM river_migration`); n < 6 {
		t.Errorf("river migrations = %d, want ≥ 6", n)
	}
	// The store works after all that.
	if _, err := stores[1].SaveMessage(t.Context(), msg("ws", 1, 1), acceptOpts(0, 3)); err != nil {
		t.Fatal(err)
	}
}

func TestSaveMessageEnqueuesInSameTransaction(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ctx := t.Context()
	r, err := s.SaveMessage(ctx, msg("ws", 1, 1), acceptOpts(2, 3))
	if err != nil || r.Duplicate || r.State != chatter.StateQueued {
		t.Fatalf("SaveMessage = %+v, %v; want queued", r, err)
	}
	r, err = s.SaveMessage(ctx, msg("ws", 1, 1), acceptOpts(2, 3))
	if err != nil || !r.Duplicate || r.State != chatter.StateQueued {
		t.Fatalf("duplicate SaveMessage = %+v, %v; want duplicate queued", r, err)
	}
	// The same key in another workspace is a different message.
	if r, err = s.SaveMessage(ctx, msg("other", 1, 1), acceptOpts(0, 3)); err != nil || r.Duplicate {
		t.Fatalf("other workspace = %+v, %v", r, err)
	}
	filtered := chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: false, Reason: "no keyword"}}
	if r, err = s.SaveMessage(ctx, msg("ws", 1, 2), filtered); err != nil || r.State != chatter.StateFiltered {
		t.Fatalf("filtered = %+v, %v", r, err)
	}
	if n := count(t, pool, `SELECT count(*) FROM river_job`); n != 2 {
		t.Errorf("river jobs = %d, want 2 (duplicate and filtered enqueue nothing)", n)
	}
	var prio, maxAtt int
	if err := pool.QueryRow(ctx, `SELECT priority, max_attempts FROM river_job WHERE args->>'workspace' = 'ws'`).Scan(&prio, &maxAtt); err != nil {
		t.Fatal(err)
	}
	if prio != 3 {
		t.Errorf("river priority = %d, want 3 for chatter priority 2", prio)
	}

	// A batch: new, duplicate of a stored key, the same new key twice, filtered.
	ms := []*chatter.Message{msg("ws", 2, 1), msg("ws", 1, 1), msg("ws", 2, 2), msg("ws", 2, 2), msg("ws", 2, 3)}
	opts := []chatter.AcceptOptions{acceptOpts(0, 2), acceptOpts(0, 2), acceptOpts(1, 2), acceptOpts(1, 2), filtered}
	res, err := s.SaveMessages(ctx, ms, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []chatter.AcceptResult{
		{State: chatter.StateQueued}, {Duplicate: true, State: chatter.StateQueued},
		{State: chatter.StateQueued}, {Duplicate: true, State: chatter.StateQueued}, {State: chatter.StateFiltered},
	}
	for i := range want {
		if res[i] != want[i] {
			t.Errorf("batch result %d = %+v, want %+v", i, res[i], want[i])
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM river_job`); n != 4 {
		t.Errorf("river jobs = %d, want 4", n)
	}
	e, err := s.GetEntry(ctx, "ws", ms[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	if e.State != chatter.StateQueued || e.Message == nil || e.Message.Text != ms[0].Text || !e.Message.Time.Equal(ms[0].Time) {
		t.Errorf("entry = %+v", e)
	}
	if _, err := s.GetEntry(ctx, "nobody", ms[0].Key); !errors.Is(err, chatter.ErrNotFound) {
		t.Errorf("GetEntry in another workspace: %v, want ErrNotFound", err)
	}
}

func TestBadInputStoresNothing(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ctx := t.Context()
	bad := msg("ws", 1, 3)
	bad.Text = string([]byte{0xff, 0xfe})
	nul := msg("ws", 1, 4)
	nul.Key.Account = "bot\x00"
	cases := map[string]struct {
		ms   []*chatter.Message
		opts []chatter.AcceptOptions
	}{
		"invalid in the middle": {[]*chatter.Message{msg("ws", 1, 1), bad, msg("ws", 1, 2)}, []chatter.AcceptOptions{acceptOpts(0, 1), acceptOpts(0, 1), acceptOpts(0, 1)}},
		"nil message":           {[]*chatter.Message{msg("ws", 1, 1), nil}, []chatter.AcceptOptions{acceptOpts(0, 1), acceptOpts(0, 1)}},
		"NUL in account":        {[]*chatter.Message{msg("ws", 1, 1), nul}, []chatter.AcceptOptions{acceptOpts(0, 1), acceptOpts(0, 1)}},
		"bad priority":          {[]*chatter.Message{msg("ws", 1, 1), msg("ws", 1, 2)}, []chatter.AcceptOptions{acceptOpts(0, 1), acceptOpts(4, 1)}},
		"negative attempts":     {[]*chatter.Message{msg("ws", 1, 1)}, []chatter.AcceptOptions{acceptOpts(0, -1)}},
		"length mismatch":       {[]*chatter.Message{msg("ws", 1, 1)}, nil},
	}
	for name, c := range cases {
		_, err := s.SaveMessages(ctx, c.ms, c.opts)
		var ve *chatter.ValidationError
		if !errors.Is(err, chatter.ErrInvalid) || !errors.As(err, &ve) || ve.Problem.RU == "" {
			t.Errorf("%s: error %v, want a *ValidationError wrapping ErrInvalid", name, err)
		}
	}
	if _, err := s.SaveMessage(ctx, bad, acceptOpts(0, 1)); !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("SaveMessage(bad): %v", err)
	}
	if n := count(t, pool, `SELECT count(*) FROM chatter_messages`); n != 0 {
		t.Errorf("messages stored after bad input: %d", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM river_job`); n != 0 {
		t.Errorf("jobs stored after bad input: %d", n)
	}
	if _, err := s.PutSetting(ctx, "ws", "k", json.RawMessage(`{"a":`), 0); !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("PutSetting(bad JSON): %v", err)
	}
	err := s.AppendEvents(ctx, []chatter.Event{{Workspace: "ws", Text: "ok"}, {Workspace: "", Text: "no workspace"}})
	if !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("AppendEvents(bad): %v", err)
	}
	if _, err := s.SwapToken(ctx, &chatter.Token{Workspace: "ws"}, 0); !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("SwapToken(no account): %v", err)
	}
	if _, err := s.Reserve(ctx, "ws", "k", 0); !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("Reserve(0): %v", err)
	}
	if _, err := s.AcquireLease(ctx, "ws", "l", "h", 0); !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("AcquireLease(ttl 0): %v", err)
	}
	if _, err := s.ListEntries(ctx, chatter.LedgerQuery{}); !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("ListEntries(no workspace): %v", err)
	}
	for _, table := range []string{"chatter_settings", "chatter_events", "chatter_tokens", "chatter_rate_budget", "chatter_leases"} {
		if n := count(t, pool, `SELECT count(*) FROM `+table); n != 0 {
			t.Errorf("%s has %d rows after bad input", table, n)
		}
	}
}

func TestNoSealer(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	storeOn(t, schema) // migrate
	s, err := pgstore.New(openPool(t, schema, 2), pgstore.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SwapToken(t.Context(), &chatter.Token{Workspace: "ws", Account: "a", AccessToken: "x"}, 0); !errors.Is(err, pgstore.ErrNoSealer) {
		t.Errorf("SwapToken without sealer: %v", err)
	}
	if _, err := s.LoadSession(t.Context(), "ws", "a"); !errors.Is(err, pgstore.ErrNoSealer) {
		t.Errorf("LoadSession without sealer: %v", err)
	}
}

func TestSecretsSealedAtRest(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ctx := t.Context()
	const access, refresh, blob = "ACCESS-secret-4f1d", "REFRESH-secret-9a2c", "MTPROTO-session-blob-77e1"
	if _, err := s.SwapToken(ctx, &chatter.Token{Workspace: "ws", Account: "crm", AccessToken: access, RefreshToken: refresh,
		ExpiresAt: time.Now().Add(time.Hour)}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SwapToken(ctx, &chatter.Token{Workspace: "ws", Account: "crm2", AccessToken: "other", RefreshToken: "other"}, 0); err != nil {
		t.Fatal(err)
	}
	lease, err := s.AcquireLease(ctx, "ws", chatter.SessionLeaseName("acc"), "me", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StoreSession(ctx, "ws", "acc", []byte(blob), lease); err != nil {
		t.Fatal(err)
	}
	var rows []string
	r, err := pool.Query(ctx, `SELECT encode(sealed, 'escape') || coalesce(token_type, '') || api_domain FROM chatter_tokens
		UNION ALL SELECT encode(sealed, 'escape') FROM chatter_sessions`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var v string
		if err := r.Scan(&v); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, v)
	}
	if len(rows) != 3 {
		t.Fatalf("got %d secret rows, want 3", len(rows))
	}
	for _, v := range rows {
		for _, secret := range []string{access, refresh, blob, "secret", "MTPROTO"} {
			if strings.Contains(v, secret) {
				t.Errorf("plain %q found in a stored column", secret)
			}
		}
	}
	// Reading back opens them.
	tok, err := s.GetToken(ctx, "ws", "crm")
	if err != nil || tok.AccessToken != access || tok.RefreshToken != refresh || tok.Version != 1 {
		t.Fatalf("GetToken = %+v, %v", tok, err)
	}
	got, err := s.LoadSession(ctx, "ws", "acc")
	if err != nil || string(got) != blob {
		t.Fatalf("LoadSession = %q, %v", got, err)
	}
	// A sealed blob moved to another row does not open there.
	if _, err := pool.Exec(ctx, `UPDATE chatter_tokens SET sealed = (SELECT sealed FROM chatter_tokens WHERE account = 'crm') WHERE account = 'crm2'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetToken(ctx, "ws", "crm2"); !errors.Is(err, chatter.ErrUnseal) {
		t.Errorf("GetToken of a moved blob: %v, want ErrUnseal", err)
	}
	if _, err := pool.Exec(ctx, `UPDATE chatter_sessions SET workspace = 'ws2'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadSession(ctx, "ws2", "acc"); !errors.Is(err, chatter.ErrUnseal) {
		t.Errorf("LoadSession of a moved blob: %v, want ErrUnseal", err)
	}
}

func TestLeaseExpiryFencesSessionWrites(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	a, _ := storeOn(t, schema)
	b, _ := storeOn(t, schema)
	ctx := t.Context()
	name := chatter.SessionLeaseName("acc")
	la, err := a.AcquireLease(ctx, "ws", name, "A", 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// Same holder re-acquiring while it holds: renewed with the same token.
	if again, err := a.AcquireLease(ctx, "ws", name, "A", 50*time.Millisecond); err != nil || again.Token != la.Token {
		t.Fatalf("re-acquire by holder = %+v, %v; want token %d", again, err, la.Token)
	}
	var lb *chatter.Lease
	waitFor(t, "B to take the expired lease", func() (bool, error) {
		l, err := b.AcquireLease(ctx, "ws", name, "B", time.Minute)
		if errors.Is(err, chatter.ErrLeaseHeld) {
			return false, nil
		}
		lb = l
		return err == nil, err
	})
	if lb.Token <= la.Token {
		t.Errorf("takeover token %d not greater than %d", lb.Token, la.Token)
	}
	if _, err := a.RenewLease(ctx, la, time.Minute); !errors.Is(err, chatter.ErrLeaseLost) {
		t.Errorf("RenewLease of a lost lease: %v, want ErrLeaseLost", err)
	}
	if err := a.StoreSession(ctx, "ws", "acc", []byte("stale"), la); !errors.Is(err, chatter.ErrLeaseLost) {
		t.Errorf("StoreSession under a lost lease: %v, want ErrLeaseLost", err)
	}
	if err := b.StoreSession(ctx, "ws", "acc", []byte("fresh"), lb); err != nil {
		t.Fatal(err)
	}
	if err := b.StoreSession(ctx, "ws", "other", []byte("x"), lb); !errors.Is(err, chatter.ErrLeaseLost) {
		t.Errorf("StoreSession with another account's lease: %v, want ErrLeaseLost", err)
	}
	if _, err := a.AcquireLease(ctx, "ws", name, "A", time.Minute); !errors.Is(err, chatter.ErrLeaseHeld) {
		t.Errorf("AcquireLease while held: %v, want ErrLeaseHeld", err)
	}
	if err := a.ReleaseLease(ctx, la); err != nil { // lost: no error, no effect
		t.Errorf("ReleaseLease of a lost lease: %v", err)
	}
	if got, err := a.LoadSession(ctx, "ws", "acc"); err != nil || string(got) != "fresh" {
		t.Errorf("LoadSession = %q, %v", got, err)
	}
	renewed, err := b.RenewLease(ctx, lb, time.Hour)
	if err != nil || renewed.Token != lb.Token || !renewed.ExpiresAt.After(lb.ExpiresAt) {
		t.Fatalf("RenewLease = %+v, %v", renewed, err)
	}
	if err := b.ReleaseLease(ctx, renewed); err != nil {
		t.Fatal(err)
	}
	if err := b.StoreSession(ctx, "ws", "acc", []byte("after release"), renewed); !errors.Is(err, chatter.ErrLeaseLost) {
		t.Errorf("StoreSession after release: %v, want ErrLeaseLost", err)
	}
	lc, err := a.AcquireLease(ctx, "ws", name, "A", time.Minute)
	if err != nil || lc.Token <= lb.Token {
		t.Fatalf("acquire after release = %+v, %v; want a token above %d", lc, err, lb.Token)
	}
}

func TestCheckpointsSettingsEventsContacts(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	for _, id := range []int64{5, 3, 9, 9, 7} {
		if err := s.AdvanceCheckpoint(ctx, &chatter.Checkpoint{Workspace: "ws", Source: chatter.SourceParser, Account: "a", ChatID: -100, MessageID: id, At: at.Add(time.Duration(id))}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.GetCheckpoint(ctx, "ws", chatter.SourceParser, "a", -100)
	if err != nil || c.MessageID != 9 {
		t.Fatalf("checkpoint = %+v, %v; want 9", c, err)
	}

	st, err := s.PutSetting(ctx, "ws", "map.lead", json.RawMessage(`{ "b": 1,  "a": [1, 2.50] }`), 0)
	if err != nil || st.Version != 1 {
		t.Fatal(st, err)
	}
	if _, err := s.PutSetting(ctx, "ws", "map.lead", json.RawMessage(`1`), 0); !errors.Is(err, chatter.ErrConflict) {
		t.Errorf("PutSetting stale: %v", err)
	}
	got, err := s.GetSetting(ctx, "ws", "map.lead")
	if err != nil || string(got.Value) != `{ "b": 1,  "a": [1, 2.50] }` {
		t.Errorf("GetSetting = %s, %v; want the bytes as put", got.Value, err)
	}

	evs := []chatter.Event{{Workspace: "ws", Text: "a", ErrorClass: chatter.ClassAuth, Time: at},
		{Workspace: "ws", Text: "b", Attrs: map[string]string{"k": "v"}, Time: at.Add(time.Hour)}}
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListEvents(ctx, chatter.EventQuery{Workspace: "ws"})
	if err != nil || len(list) != 2 || list[0].Text != "b" || list[0].Attrs["k"] != "v" {
		t.Fatalf("ListEvents = %+v, %v", list, err)
	}
	n, err := s.PruneEvents(ctx, at.Add(time.Minute))
	if err != nil || n != 1 {
		t.Errorf("PruneEvents = %d, %v; want 1", n, err)
	}

	if err := s.SaveContact(ctx, &chatter.ContactLink{Workspace: "ws", ContactID: 1, TelegramID: 77, Username: "@Ivan"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveContact(ctx, &chatter.ContactLink{Workspace: "ws", ContactID: 2, TelegramID: 77}); !errors.Is(err, chatter.ErrConflict) {
		t.Errorf("SaveContact with a taken telegram id: %v, want ErrConflict", err)
	}
	l, err := s.FindContact(ctx, "ws", chatter.ContactQuery{Username: "IVAN"})
	if err != nil || l.ContactID != 1 || l.Username != "ivan" {
		t.Errorf("FindContact = %+v, %v", l, err)
	}
	if _, err := s.FindContact(ctx, "other", chatter.ContactQuery{TelegramID: 77}); !errors.Is(err, chatter.ErrNotFound) {
		t.Errorf("FindContact across workspaces: %v, want ErrNotFound", err)
	}
}
