package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/pgstore"
)

// storeWith is storeOn with a GroupCommit configuration.
func storeWith(t testing.TB, gc pgstore.GroupCommit) (*pgstore.Store, *pgxpool.Pool) {
	t.Helper()
	schema := newSchema(t)
	pool := openPool(t, schema, 12)
	s, err := pgstore.New(pool, pgstore.Config{Sealer: testSealer(t), Schema: schema, GroupCommit: gc})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s, pool
}

func TestGroupCommitConfig(t *testing.T) {
	pool := openPool(t, "public", 1)
	for _, gc := range []pgstore.GroupCommit{{MaxBatch: -1}, {MaxWait: -time.Millisecond}} {
		if _, err := pgstore.New(pool, pgstore.Config{GroupCommit: gc}); !errors.Is(err, chatter.ErrInvalid) {
			t.Errorf("New(GroupCommit %+v): error %v, want ErrInvalid", gc, err)
		}
	}
}

// TestGroupCommitIsolatesBadMessages saves valid and invalid messages
// concurrently into shared batches: every valid one is stored with its job,
// every invalid one fails alone with ErrInvalid and leaves nothing.
func TestGroupCommitIsolatesBadMessages(t *testing.T) {
	s, pool := storeWith(t, pgstore.GroupCommit{MaxBatch: 16, MaxWait: 20 * time.Millisecond})
	const n = 64
	var wg sync.WaitGroup
	errs := make([]error, n)
	results := make([]chatter.AcceptResult, n)
	for i := range n {
		wg.Go(func() {
			m := msg("ws", 7, int64(i+1))
			if i%5 == 0 {
				m.Text = strings.Repeat("ы", chatter.MaxTextBytes) // oversized
			}
			if i%7 == 0 {
				m.Key.Account = "bad\x00account"
			}
			results[i], errs[i] = s.SaveMessage(t.Context(), m, acceptOpts(i%4, 3))
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
		case !bad && (results[i].Duplicate || results[i].State != chatter.StateQueued):
			t.Errorf("good message %d: result %+v, want new and queued", i, results[i])
		case !bad:
			good++
		}
	}
	if got := count(t, pool, `SELECT count(*) FROM chatter_messages`); got != good {
		t.Errorf("%d messages stored, want %d", got, good)
	}
	if got := count(t, pool, `SELECT count(*) FROM river_job`); got != good {
		t.Errorf("%d jobs, want %d", got, good)
	}
}

// TestGroupCommitRowFailureFailsOnlyItsCaller makes the database reject one
// row of a batch (a trigger standing in for any per-row failure): that caller
// gets the error, the others are committed.
func TestGroupCommitRowFailureFailsOnlyItsCaller(t *testing.T) {
	s, pool := storeWith(t, pgstore.GroupCommit{MaxBatch: 64, MaxWait: 50 * time.Millisecond})
	_, err := pool.Exec(t.Context(), `CREATE FUNCTION reject_13() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.message_id = 13 THEN RAISE EXCEPTION 'message 13 rejected'; END IF;
			RETURN NEW;
		END $$`)
	if err != nil {
		t.Fatalf("create function: %v", err)
	}
	_, err = pool.Exec(t.Context(), `CREATE TRIGGER reject_13 BEFORE INSERT ON chatter_messages
		FOR EACH ROW EXECUTE FUNCTION reject_13()`)
	if err != nil {
		t.Fatalf("create trigger: %v", err)
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.SaveMessage(t.Context(), msg("ws", 8, int64(i+1)), acceptOpts(0, 3)) })
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
	if got := count(t, pool, `SELECT count(*) FROM chatter_messages`); got != n-1 {
		t.Errorf("%d messages stored, want %d", got, n-1)
	}
	if got := count(t, pool, `SELECT count(*) FROM river_job`); got != n-1 {
		t.Errorf("%d jobs, want %d", got, n-1)
	}
}

// TestGroupCommitSameKeyConcurrently: concurrent saves of one key, likely in
// one batch, store it once; exactly one caller sees it new.
func TestGroupCommitSameKeyConcurrently(t *testing.T) {
	s, pool := storeWith(t, pgstore.GroupCommit{MaxWait: 20 * time.Millisecond})
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	results := make([]chatter.AcceptResult, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = s.SaveMessage(t.Context(), msg("ws", 9, 1), acceptOpts(0, 3)) })
	}
	wg.Wait()
	fresh := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
		if results[i].State != chatter.StateQueued {
			t.Errorf("save %d: state %s, want queued", i, results[i].State)
		}
		if !results[i].Duplicate {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d callers saw the message new, want 1", fresh)
	}
	if got := count(t, pool, `SELECT count(*) FROM chatter_messages`); got != 1 {
		t.Errorf("%d messages stored, want 1", got)
	}
	if got := count(t, pool, `SELECT count(*) FROM river_job`); got != 1 {
		t.Errorf("%d jobs, want 1", got)
	}
}

func TestGroupCommitCancelledCaller(t *testing.T) {
	s, pool := storeWith(t, pgstore.GroupCommit{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.SaveMessage(ctx, msg("ws", 10, 1), acceptOpts(0, 3)); !errors.Is(err, context.Canceled) {
		t.Fatalf("SaveMessage(cancelled): error %v, want context.Canceled", err)
	}
	if got := count(t, pool, `SELECT count(*) FROM chatter_messages`); got != 0 {
		t.Errorf("a cancelled save stored %d messages", got)
	}
}

// TestGroupCommitDisabled: each SaveMessage is its own transaction, with the
// same results.
func TestGroupCommitDisabled(t *testing.T) {
	s, pool := storeWith(t, pgstore.GroupCommit{Disabled: true})
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.SaveMessage(t.Context(), msg("ws", 11, int64(i+1)), acceptOpts(0, 3)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("save %d: %v", i, err)
		}
	}
	r, err := s.SaveMessage(t.Context(), msg("ws", 11, 1), acceptOpts(0, 3))
	if err != nil || !r.Duplicate {
		t.Errorf("duplicate save = %+v, %v; want duplicate", r, err)
	}
	if _, err := s.SaveMessage(t.Context(), msg("ws", 11, 0), acceptOpts(0, 3)); !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("invalid save: error %v, want ErrInvalid", err)
	}
	if got := count(t, pool, `SELECT count(*) FROM chatter_messages`); got != n {
		t.Errorf("%d messages stored, want %d", got, n)
	}
}
