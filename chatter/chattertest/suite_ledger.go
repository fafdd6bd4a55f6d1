package chattertest

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

var ledgerTests = []storeTest{
	{"Filters", testLedgerFilters},
	{"TimeRangeAndCursor", testLedgerTimeRange},
	{"Limits", testLedgerLimits},
	{"QueryErrors", testLedgerQueryErrors},
	{"Text", testLedgerText},
	{"NewLead", testLedgerNewLead},
	{"OldestFirst", testLedgerOldest},
	{"CursorKey", testLedgerCursorKey},
}

// ledgerFixture stores messages in every state:
//
//	bot  chat -100 #1 delivered   bot  chat -100 #2 failed (transient)
//	bot  chat -200 #3 dead (auth) bot  chat -200 #4 queued, snoozed (rate_limited)
//	bot  chat -100 #5 filtered    parser acc1 chat -300 #6 delivered
//	parser acc1 chat -300 #7 dead (mapping)
//
// and returns their keys by message id.
func ledgerFixture(t *testing.T, s chatter.Store, ws string) map[int64]chatter.Key {
	t.Helper()
	msg := func(source chatter.SourceKind, account string, chat, id int64) *chatter.Message {
		m := NewMessage(ws, chat, id, "")
		m.Key.Source, m.Key.Account = source, account
		return m
	}
	ms := []*chatter.Message{
		msg(chatter.SourceBot, TestBotAccount, -100, 1),
		msg(chatter.SourceBot, TestBotAccount, -100, 2),
		msg(chatter.SourceBot, TestBotAccount, -200, 3),
		msg(chatter.SourceBot, TestBotAccount, -200, 4),
		msg(chatter.SourceBot, TestBotAccount, -100, 5),
		msg(chatter.SourceParser, "acc1", -300, 6),
		msg(chatter.SourceParser, "acc1", -300, 7),
	}
	keys := make(map[int64]chatter.Key)
	for _, m := range ms {
		opts := accept(0, 3)
		if m.Key.MessageID == 5 {
			opts = chatter.AcceptOptions{Verdict: chatter.Verdict{Reason: "no keyword"}}
		}
		save(t, s, m, opts)
		keys[m.Key.MessageID] = m.Key
	}
	w := startWork(t, s, chatter.QueueConfig{Workers: 2}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		switch j.Message.Key.MessageID {
		case 2:
			return chatter.Outcome{Kind: chatter.OutcomeRetry, Class: chatter.ClassTransient, Err: "amoCRM 502", Delay: time.Hour}
		case 3:
			return chatter.Outcome{Kind: chatter.OutcomeDead, Class: chatter.ClassAuth, Err: "token revoked"}
		case 4:
			return chatter.Outcome{Kind: chatter.OutcomeSnooze, Class: chatter.ClassRateLimited, Err: "429", Delay: time.Hour}
		case 7:
			return chatter.Outcome{Kind: chatter.OutcomeDead, Class: chatter.ClassMapping, Err: "required field"}
		}
		return deliveredOutcome(j)
	})
	waitEntry(t, s, ws, keys[1], chatter.StateDelivered)
	waitEntry(t, s, ws, keys[2], chatter.StateFailed)
	waitEntry(t, s, ws, keys[3], chatter.StateDead)
	waitFor(t, "the snoozed message", func() (bool, error) {
		e, err := s.GetEntry(t.Context(), ws, keys[4])
		return err == nil && e.State == chatter.StateQueued && e.ErrorClass == chatter.ClassRateLimited, err
	})
	waitEntry(t, s, ws, keys[6], chatter.StateDelivered)
	waitEntry(t, s, ws, keys[7], chatter.StateDead)
	w.stop(t)
	return keys
}

// listKeys lists entries for q and returns their message ids.
func listIDs(t *testing.T, s chatter.Store, q chatter.LedgerQuery) []int64 {
	t.Helper()
	list, err := s.ListEntries(t.Context(), q)
	noErr(t, "ListEntries", err)
	ids := make([]int64, len(list))
	for i, e := range list {
		ids[i] = e.Key.MessageID
		if e.Workspace != q.Workspace {
			t.Errorf("ListEntries(%q) returned an entry of workspace %q", q.Workspace, e.Workspace)
		}
		if q.WithMessage != (e.Message != nil) {
			t.Errorf("ListEntries(WithMessage=%v) returned Message %v", q.WithMessage, e.Message != nil)
		}
		if i > 0 && list[i-1].ReceivedAt.Before(e.ReceivedAt) {
			t.Errorf("ListEntries is not newest first: %v before %v", list[i-1].ReceivedAt, e.ReceivedAt)
		}
	}
	return ids
}

func sameIDs(got, want []int64) bool {
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}

func testLedgerFilters(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	keys := ledgerFixture(t, s, ws)
	e1, err := s.GetEntry(t.Context(), ws, keys[1])
	noErr(t, "GetEntry", err)
	if e1.Result == nil || e1.Result.LeadID != 10001 || e1.DeliveredAt.IsZero() || e1.Attempts != 1 {
		t.Errorf("delivered entry = %+v, want result lead 10001, DeliveredAt set, 1 attempt", e1)
	}
	e2, err := s.GetEntry(t.Context(), ws, keys[2])
	noErr(t, "GetEntry", err)
	if e2.Attempts != 1 || e2.ErrorClass != chatter.ClassTransient || e2.LastError != "amoCRM 502" || !e2.NextAt.After(e2.UpdatedAt.Add(30*time.Minute)) {
		t.Errorf("failed entry = %+v, want 1 attempt, transient, 'amoCRM 502', NextAt about an hour on", e2)
	}
	e4, err := s.GetEntry(t.Context(), ws, keys[4])
	noErr(t, "GetEntry", err)
	if e4.Attempts != 0 || e4.LastError != "429" || !e4.NextAt.After(e4.UpdatedAt.Add(30*time.Minute)) {
		t.Errorf("snoozed entry = %+v, want 0 attempts, '429', NextAt about an hour on", e4)
	}

	cases := []struct {
		name string
		q    chatter.LedgerQuery
		want []int64
	}{
		{"all", chatter.LedgerQuery{}, []int64{1, 2, 3, 4, 5, 6, 7}},
		{"delivered", chatter.LedgerQuery{States: []chatter.State{chatter.StateDelivered}}, []int64{1, 6}},
		{"failed or dead", chatter.LedgerQuery{States: []chatter.State{chatter.StateFailed, chatter.StateDead}}, []int64{2, 3, 7}},
		{"filtered", chatter.LedgerQuery{States: []chatter.State{chatter.StateFiltered}}, []int64{5}},
		{"queued", chatter.LedgerQuery{States: []chatter.State{chatter.StateQueued}}, []int64{4}},
		{"source parser", chatter.LedgerQuery{Source: chatter.SourceParser}, []int64{6, 7}},
		{"account", chatter.LedgerQuery{Account: TestBotAccount}, []int64{1, 2, 3, 4, 5}},
		{"chat", chatter.LedgerQuery{ChatID: -200}, []int64{3, 4}},
		{"class auth", chatter.LedgerQuery{ErrorClass: chatter.ClassAuth}, []int64{3}},
		{"class rate_limited", chatter.LedgerQuery{ErrorClass: chatter.ClassRateLimited}, []int64{4}},
		{"dead in chat -300", chatter.LedgerQuery{ChatID: -300, States: []chatter.State{chatter.StateDead}}, []int64{7}},
		{"bot source, parser account", chatter.LedgerQuery{Source: chatter.SourceBot, Account: "acc1"}, nil},
		{"unknown chat", chatter.LedgerQuery{ChatID: -999}, nil},
	}
	for _, tc := range cases {
		for _, withMessage := range []bool{false, true} {
			q := tc.q
			q.Workspace, q.WithMessage = ws, withMessage
			if got := listIDs(t, s, q); !sameIDs(got, tc.want) {
				t.Errorf("ListEntries(%s) = ids %v, want %v", tc.name, got, tc.want)
			}
		}
		q := tc.q
		q.Workspace = ws
		counts, err := s.CountEntries(t.Context(), q)
		noErr(t, "CountEntries", err)
		if total(counts) != len(tc.want) {
			t.Errorf("CountEntries(%s) = %v, want %d in all", tc.name, counts, len(tc.want))
		}
	}
	counts, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, Limit: 1, Before: time.Now().Add(-24 * time.Hour)})
	noErr(t, "CountEntries", err)
	want := map[chatter.State]int{chatter.StateDelivered: 2, chatter.StateFailed: 1, chatter.StateDead: 2, chatter.StateQueued: 1, chatter.StateFiltered: 1}
	for st, n := range counts {
		if n == 0 {
			delete(counts, st)
		}
	}
	if !maps.Equal(counts, want) {
		t.Errorf("CountEntries (ignoring Limit and Before) = %v, want %v", counts, want)
	}
}

func testLedgerTimeRange(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	for i := range int64(6) {
		save(t, s, NewMessage(ws, -500, i+1, ""), accept(0, 3))
	}
	all, err := s.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: ws})
	noErr(t, "ListEntries", err)
	if len(all) != 6 {
		t.Fatalf("ListEntries = %d entries, want 6", len(all))
	}
	// Expected results are derived from the stored ReceivedAt values, so the
	// test holds whatever the clock's resolution.
	expect := func(keep func(r time.Time) bool) []int64 {
		var ids []int64
		for _, e := range all {
			if keep(e.ReceivedAt) {
				ids = append(ids, e.Key.MessageID)
			}
		}
		return ids
	}
	for _, pivot := range all {
		at := pivot.ReceivedAt
		before := expect(func(r time.Time) bool { return r.Before(at) })
		if got := listIDs(t, s, chatter.LedgerQuery{Workspace: ws, Before: at}); !sameIDs(got, before) {
			t.Errorf("ListEntries(Before %v) = %v, want %v", at, got, before)
		}
		from := expect(func(r time.Time) bool { return !r.Before(at) })
		if got := listIDs(t, s, chatter.LedgerQuery{Workspace: ws, From: at}); !sameIDs(got, from) {
			t.Errorf("ListEntries(From %v) = %v, want %v", at, got, from)
		}
		to := expect(func(r time.Time) bool { return r.Before(at) })
		if got := listIDs(t, s, chatter.LedgerQuery{Workspace: ws, To: at}); !sameIDs(got, to) {
			t.Errorf("ListEntries(To %v) = %v, want %v", at, got, to)
		}
		counts, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, From: at})
		noErr(t, "CountEntries", err)
		if total(counts) != len(from) {
			t.Errorf("CountEntries(From %v) = %v, want %d", at, counts, len(from))
		}
	}
	oldest, newest := all[len(all)-1].ReceivedAt, all[0].ReceivedAt
	if got := listIDs(t, s, chatter.LedgerQuery{Workspace: ws, From: oldest, To: newest.Add(time.Second)}); len(got) != 6 {
		t.Errorf("ListEntries([oldest, newest+1s)) = %v, want all 6", got)
	}
	if got := listIDs(t, s, chatter.LedgerQuery{Workspace: ws, From: newest.Add(time.Second)}); len(got) != 0 {
		t.Errorf("ListEntries(From after newest) = %v, want none", got)
	}
	// Paging with Limit and Before visits every entry once when times differ,
	// and never returns an entry at or after the cursor.
	seen := map[int64]int{}
	q := chatter.LedgerQuery{Workspace: ws, Limit: 2}
	for range 10 {
		page, err := s.ListEntries(t.Context(), q)
		noErr(t, "ListEntries page", err)
		if len(page) > 2 {
			t.Fatalf("page of %d entries with Limit 2", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if !q.Before.IsZero() && !e.ReceivedAt.Before(q.Before) {
				t.Errorf("entry received %v is not before the cursor %v", e.ReceivedAt, q.Before)
			}
			seen[e.Key.MessageID]++
		}
		q.Before = page[len(page)-1].ReceivedAt
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("paging returned message %d %d times", id, n)
		}
	}
}

func testLedgerLimits(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	const n = 1005
	ms := make([]*chatter.Message, n)
	opts := make([]chatter.AcceptOptions, n)
	for i := range ms {
		ms[i] = NewMessage(ws, -600, int64(i+1), "")
		opts[i] = chatter.AcceptOptions{Verdict: chatter.Verdict{Reason: "bulk"}}
	}
	res, err := s.SaveMessages(t.Context(), ms, opts)
	noErr(t, "SaveMessages", err)
	if len(res) != n {
		t.Fatalf("SaveMessages returned %d results, want %d", len(res), n)
	}
	for _, c := range []struct{ limit, want int }{{0, 100}, {1, 1}, {250, 250}, {1000, 1000}, {5000, 1000}} {
		list, err := s.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, Limit: c.limit})
		noErr(t, "ListEntries", err)
		if len(list) != c.want {
			t.Errorf("ListEntries(Limit %d) = %d entries, want %d", c.limit, len(list), c.want)
		}
	}
	counts, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, Limit: 10})
	noErr(t, "CountEntries", err)
	if counts[chatter.StateFiltered] != n {
		t.Errorf("CountEntries = %v, want %d filtered", counts, n)
	}
}

func testLedgerQueryErrors(t *testing.T, s chatter.Store) {
	save(t, s, NewMessage("ws-main", -700, 1, ""), accept(0, 3))
	_, err := s.ListEntries(t.Context(), chatter.LedgerQuery{})
	wantErr(t, "ListEntries without workspace", err, chatter.ErrInvalid)
	_, err = s.CountEntries(t.Context(), chatter.LedgerQuery{})
	wantErr(t, "CountEntries without workspace", err, chatter.ErrInvalid)
	_, err = s.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: "ws-main", Limit: -1})
	wantErr(t, "ListEntries with a negative limit", err, chatter.ErrInvalid)
	list, err := s.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: "ws-empty"})
	if err != nil || len(list) != 0 {
		t.Errorf("ListEntries(empty workspace) = %v, %v; want no entries, no error", list, err)
	}
	if _, err := s.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: "ws-main"}); errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("valid ListEntries: %v", err)
	}
}
