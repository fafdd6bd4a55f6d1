package chattertest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

// listOrdered lists entries for q, checks that they come in q's order
// (ReceivedAt descending, or ascending with q.Oldest) and stay in q's
// workspace, and returns them.
func listOrdered(t *testing.T, s chatter.Store, q chatter.LedgerQuery) []*chatter.LedgerEntry {
	t.Helper()
	list, err := s.ListEntries(t.Context(), q)
	require.NoError(t, err, "ListEntries(%+v)", q)
	for i, e := range list {
		require.Equal(t, q.Workspace, e.Workspace, "ListEntries crossed workspaces")
		if i == 0 {
			continue
		}
		prev := list[i-1].ReceivedAt
		if q.Oldest {
			require.False(t, e.ReceivedAt.Before(prev), "oldest first: %v after %v", e.ReceivedAt, prev)
		} else {
			require.False(t, e.ReceivedAt.After(prev), "newest first: %v after %v", e.ReceivedAt, prev)
		}
	}
	return list
}

func idsOf(list []*chatter.LedgerEntry) []int64 {
	ids := make([]int64, len(list))
	for i, e := range list {
		ids[i] = e.Key.MessageID
	}
	return ids
}

// pageAll pages through q with Limit per page, each next page from the
// previous page's last entry: its ReceivedAt as Before (After with
// q.Oldest) and, withKey, its Key as CursorKey. It returns the ids in the
// order received and the number of non-empty pages.
func pageAll(t *testing.T, s chatter.Store, q chatter.LedgerQuery, withKey bool) (ids []int64, pages int) {
	t.Helper()
	for range 100 {
		page := listOrdered(t, s, q)
		require.LessOrEqual(t, len(page), q.Limit, "a page longer than Limit")
		if len(page) == 0 {
			return ids, pages
		}
		pages++
		ids = append(ids, idsOf(page)...)
		last := page[len(page)-1]
		if q.Oldest {
			q.After = last.ReceivedAt
		} else {
			q.Before = last.ReceivedAt
		}
		if withKey {
			q.CursorKey = last.Key
		}
	}
	t.Fatalf("paging %+v did not end after 100 pages", q)
	return nil, 0
}

func reversed(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Reverse(out)
	return out
}

// testLedgerOldest: Oldest lists oldest first (ties in save order), After
// pages through it, Before and After bound either order, and the default
// stays newest first.
func testLedgerOldest(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	const n = 7
	// Saved one by one: odd ids queued, even ids filtered; ws-other has the
	// same keys, saved in between.
	received := map[int64]time.Time{}
	for id := int64(1); id <= n; id++ {
		opts := chatter.AcceptOptions{Verdict: chatter.Verdict{Reason: "no keyword"}}
		if id%2 == 1 {
			opts = accept(0, 3)
		}
		m := NewMessage(ws, -600, id, "")
		save(t, s, m, opts)
		save(t, s, NewMessage("ws-other", -600, id, ""), accept(0, 3))
		e, err := s.GetEntry(t.Context(), ws, m.Key)
		require.NoError(t, err)
		received[id] = e.ReceivedAt
	}
	// Save order is id order; the clock may give neighbours one time.
	saved := []int64{1, 2, 3, 4, 5, 6, 7}
	require.True(t, slices.IsSortedFunc(saved, func(a, b int64) int { return received[a].Compare(received[b]) }),
		"the store clock went back between saves: %v", received)

	if d := cmp.Diff(reversed(saved), idsOf(listOrdered(t, s, chatter.LedgerQuery{Workspace: ws}))); d != "" {
		t.Errorf("ListEntries (newest first, the default) (-want +got):\n%s", d)
	}
	if d := cmp.Diff(saved, idsOf(listOrdered(t, s, chatter.LedgerQuery{Workspace: ws, Oldest: true}))); d != "" {
		t.Errorf("ListEntries(Oldest) (-want +got):\n%s", d)
	}
	with := func(keep func(r time.Time) bool, ids []int64) []int64 {
		var out []int64
		for _, id := range ids {
			if keep(received[id]) {
				out = append(out, id)
			}
		}
		return out
	}

	// Paging oldest first through three pages: with the key, exact whatever
	// the clock; with After alone, whenever the times differ.
	for _, withKey := range []bool{true, false} {
		got, pages := pageAll(t, s, chatter.LedgerQuery{Workspace: ws, Oldest: true, Limit: 3}, withKey)
		distinct := !slices.ContainsFunc(saved[1:], func(id int64) bool { return received[id].Equal(received[id-1]) })
		if withKey || distinct {
			if d := cmp.Diff(saved, got); d != "" {
				t.Errorf("paging oldest first (CursorKey %v), 3 per page (-want +got):\n%s", withKey, d)
			}
			require.Equal(t, 3, pages, "pages of 3 for %d entries", n)
		}
		require.Len(t, got, len(slices.Compact(slices.Sorted(slices.Values(got)))), "paging returned an entry twice: %v", got)
	}

	// After alone is strict, in both orders; Before and After bound either
	// order together.
	for _, pivot := range saved {
		at := received[pivot]
		after := with(func(r time.Time) bool { return r.After(at) }, saved)
		if d := cmp.Diff(after, idsOf(listOrdered(t, s, chatter.LedgerQuery{Workspace: ws, Oldest: true, After: at})), cmpNilEmpty); d != "" {
			t.Errorf("ListEntries(Oldest, After %d's time) (-want +got):\n%s", pivot, d)
		}
		if d := cmp.Diff(reversed(after), idsOf(listOrdered(t, s, chatter.LedgerQuery{Workspace: ws, After: at})), cmpNilEmpty); d != "" {
			t.Errorf("ListEntries(After %d's time), newest first (-want +got):\n%s", pivot, d)
		}
		before := with(func(r time.Time) bool { return r.Before(at) }, saved)
		if d := cmp.Diff(before, idsOf(listOrdered(t, s, chatter.LedgerQuery{Workspace: ws, Oldest: true, Before: at})), cmpNilEmpty); d != "" {
			t.Errorf("ListEntries(Oldest, Before %d's time) (-want +got):\n%s", pivot, d)
		}
	}
	lo, hi := received[2], received[6]
	between := with(func(r time.Time) bool { return r.After(lo) && r.Before(hi) }, saved)
	if d := cmp.Diff(between, idsOf(listOrdered(t, s, chatter.LedgerQuery{Workspace: ws, Oldest: true, After: lo, Before: hi})), cmpNilEmpty); d != "" {
		t.Errorf("ListEntries(Oldest, After 2, Before 6) (-want +got):\n%s", d)
	}
	if d := cmp.Diff(reversed(between), idsOf(listOrdered(t, s, chatter.LedgerQuery{Workspace: ws, After: lo, Before: hi})), cmpNilEmpty); d != "" {
		t.Errorf("ListEntries(After 2, Before 6) (-want +got):\n%s", d)
	}

	// The oldest waiting message: the waiting states, Oldest, Limit 1; and
	// Oldest combines with the other filters.
	if d := cmp.Diff([]int64{1}, idsOf(listOrdered(t, s, chatter.LedgerQuery{Workspace: ws,
		States: []chatter.State{chatter.StateReceived, chatter.StateQueued, chatter.StateDelivering, chatter.StateFailed},
		Oldest: true, Limit: 1}))); d != "" {
		t.Errorf("the oldest waiting entry (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int64{2, 4, 6}, idsOf(listOrdered(t, s, chatter.LedgerQuery{Workspace: ws,
		States: []chatter.State{chatter.StateFiltered}, Oldest: true}))); d != "" {
		t.Errorf("ListEntries(Oldest, filtered) (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int64{3, 5}, idsOf(listOrdered(t, s, chatter.LedgerQuery{Workspace: ws,
		States: []chatter.State{chatter.StateQueued}, Oldest: true, Limit: 2, After: received[1], CursorKey: NewMessage(ws, -600, 1, "").Key}))); d != "" {
		t.Errorf("ListEntries(Oldest, queued, after 1) (-want +got):\n%s", d)
	}
	// Several states (repeated too) merge into one order, in both
	// directions, and page exactly.
	two := []chatter.State{chatter.StateQueued, chatter.StateFiltered, chatter.StateQueued}
	if d := cmp.Diff([]int64{1, 2, 3}, idsOf(listOrdered(t, s, chatter.LedgerQuery{Workspace: ws, States: two, Oldest: true, Limit: 3}))); d != "" {
		t.Errorf("ListEntries(Oldest, queued or filtered, Limit 3) (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int64{7, 6, 5}, idsOf(listOrdered(t, s, chatter.LedgerQuery{Workspace: ws, States: two, Limit: 3}))); d != "" {
		t.Errorf("ListEntries(queued or filtered, Limit 3) (-want +got):\n%s", d)
	}
	if got, _ := pageAll(t, s, chatter.LedgerQuery{Workspace: ws, States: two, Oldest: true, Limit: 2}, true); !slices.Equal(saved, got) {
		t.Errorf("paging oldest first by two states = %v, want %v", got, saved)
	}
	list := listOrdered(t, s, chatter.LedgerQuery{Workspace: ws, Oldest: true, WithMessage: true, Limit: 2})
	require.Len(t, list, 2)
	require.NotNil(t, list[0].Message, "Oldest with WithMessage")
	require.Equal(t, list[0].Key, list[0].Message.Key)

	// CountEntries ignores the order and the cursors.
	counts, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, Oldest: true, After: lo, Before: lo,
		CursorKey: NewMessage(ws, -600, 4, "").Key, Limit: 1})
	require.NoError(t, err)
	require.Equal(t, map[chatter.State]int{chatter.StateQueued: 4, chatter.StateFiltered: 3}, nonZero(counts))

	// A CursorKey that is not a key is refused, in either order.
	for _, oldest := range []bool{false, true} {
		for _, k := range []chatter.Key{{Source: chatter.SourceBot}, {Source: chatter.SourceBot, Account: TestBotAccount, ChatID: -600}} {
			_, err := s.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, Oldest: oldest, Before: hi, After: lo, CursorKey: k})
			wantErr(t, fmt.Sprintf("ListEntries(Oldest %v, CursorKey %+v)", oldest, k), err, chatter.ErrInvalid)
		}
	}
}

// testLedgerCursorKey: paging with CursorKey is exact where a batch shares
// one ReceivedAt, newest first and oldest first, and the key's entry is
// looked up in the query's workspace only.
func testLedgerCursorKey(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	key := func(id int64) chatter.Key { return NewMessage(ws, -700, id, "").Key }
	batch := func(ws string) ([]*chatter.Message, []chatter.AcceptOptions) {
		var ms []*chatter.Message
		var opts []chatter.AcceptOptions
		for id := int64(2); id <= 8; id++ {
			ms = append(ms, NewMessage(ws, -700, id, ""))
			if id%3 == 0 {
				opts = append(opts, chatter.AcceptOptions{Verdict: chatter.Verdict{Reason: "no keyword"}})
			} else {
				opts = append(opts, accept(0, 3))
			}
		}
		return ms, opts
	}
	// 1 alone, then 2..8 in one batch, then 9 alone; ws-other has the same
	// keys, its batch saved after all of them (a lookup that crossed
	// workspaces would find a later time).
	save(t, s, NewMessage(ws, -700, 1, ""), accept(0, 3))
	ms, opts := batch(ws)
	_, err := s.SaveMessages(t.Context(), ms, opts)
	require.NoError(t, err)
	save(t, s, NewMessage(ws, -700, 9, ""), accept(0, 3))
	save(t, s, NewMessage("ws-other", -700, 1, ""), accept(0, 3))
	ms, opts = batch("ws-other")
	_, err = s.SaveMessages(t.Context(), ms, opts)
	require.NoError(t, err)
	save(t, s, NewMessage("ws-other", -700, 50, ""), accept(0, 3))

	newest := listOrdered(t, s, chatter.LedgerQuery{Workspace: ws})
	if d := cmp.Diff([]int64{9, 8, 7, 6, 5, 4, 3, 2, 1}, idsOf(newest)); d != "" {
		t.Fatalf("ListEntries, newest first (a batch in reverse save order) (-want +got):\n%s", d)
	}
	at := map[int64]time.Time{}
	for _, e := range newest {
		at[e.Key.MessageID] = e.ReceivedAt
	}
	T := at[2]
	for id := int64(3); id <= 8; id++ {
		require.True(t, at[id].Equal(T), "a batch saved together shares one ReceivedAt: %d at %v, 2 at %v", id, at[id], T)
	}
	oldest := listOrdered(t, s, chatter.LedgerQuery{Workspace: ws, Oldest: true})
	if d := cmp.Diff([]int64{1, 2, 3, 4, 5, 6, 7, 8, 9}, idsOf(oldest)); d != "" {
		t.Fatalf("ListEntries(Oldest) (a batch in save order) (-want +got):\n%s", d)
	}

	// Paging one or three at a time with CursorKey visits every entry once,
	// in order, though pages end inside the batch.
	for _, limit := range []int{1, 3} {
		got, _ := pageAll(t, s, chatter.LedgerQuery{Workspace: ws, Limit: limit}, true)
		if d := cmp.Diff(idsOf(newest), got); d != "" {
			t.Errorf("paging newest first with CursorKey, %d per page (-want +got):\n%s", limit, d)
		}
		got, _ = pageAll(t, s, chatter.LedgerQuery{Workspace: ws, Oldest: true, Limit: limit}, true)
		if d := cmp.Diff(idsOf(oldest), got); d != "" {
			t.Errorf("paging oldest first with CursorKey, %d per page (-want +got):\n%s", limit, d)
		}
	}

	// Cursors from inside the batch, whatever the clock gave 1 and 9.
	literal := []struct {
		name string
		q    chatter.LedgerQuery
		want []int64
	}{
		{"newest first after 5", chatter.LedgerQuery{Before: T, CursorKey: key(5)}, []int64{4, 3, 2, 1}},
		{"oldest first after 5", chatter.LedgerQuery{Oldest: true, After: T, CursorKey: key(5)}, []int64{6, 7, 8, 9}},
		{"newest first after the batch's last", chatter.LedgerQuery{Before: T, CursorKey: key(2)}, []int64{1}},
		{"oldest first after the batch's last", chatter.LedgerQuery{Oldest: true, After: T, CursorKey: key(8)}, []int64{9}},
		{"newest first, the key listed before the cursor's time", chatter.LedgerQuery{Before: T, CursorKey: key(9)}, []int64{8, 7, 6, 5, 4, 3, 2, 1}},
		{"oldest first, the key listed before the cursor's time", chatter.LedgerQuery{Oldest: true, After: T, CursorKey: key(1)}, []int64{2, 3, 4, 5, 6, 7, 8, 9}},
		{"with a filter", chatter.LedgerQuery{Before: T, CursorKey: key(7), States: []chatter.State{chatter.StateFiltered}}, []int64{6, 3}},
		{"the other bound stays strict", chatter.LedgerQuery{Oldest: true, After: T, CursorKey: key(4), Before: T.Add(time.Hour)}, []int64{5, 6, 7, 8, 9}},
	}
	for _, c := range literal {
		q := c.q
		q.Workspace = ws
		if d := cmp.Diff(c.want, idsOf(listOrdered(t, s, q)), cmpNilEmpty); d != "" {
			t.Errorf("ListEntries(%s) (-want +got):\n%s", c.name, d)
		}
	}
	// CursorKey refines only the cursor of the listing's direction: Before
	// stays strict oldest first (only 1 is before the batch, when the clock
	// moved between them).
	var beforeT []int64
	if at[1].Before(T) {
		beforeT = []int64{1}
	}
	if d := cmp.Diff(beforeT, idsOf(listOrdered(t, s, chatter.LedgerQuery{Workspace: ws, Oldest: true, Before: T, CursorKey: key(5)})), cmpNilEmpty); d != "" {
		t.Errorf("ListEntries(Oldest, Before the batch, CursorKey 5) (-want +got):\n%s", d)
	}

	// Every cursor time and key, against the rule: entries past the time
	// in the listing's direction, and those at exactly the time that come
	// after the key's entry in the listing; a key without an entry in ws
	// (50 is only in ws-other) leaves the cursor strict.
	keys := []int64{1, 2, 5, 8, 9, 50}
	for _, dir := range []struct {
		oldest bool
		order  []*chatter.LedgerEntry
	}{{false, newest}, {true, oldest}} {
		pos := map[int64]int{}
		for i, e := range dir.order {
			pos[e.Key.MessageID] = i
		}
		for _, cursor := range []int64{1, 5, 9} {
			c := at[cursor]
			for _, k := range keys {
				var want []int64
				for i, e := range dir.order {
					past := e.ReceivedAt.Before(c)
					if dir.oldest {
						past = e.ReceivedAt.After(c)
					}
					p, found := pos[k]
					if past || e.ReceivedAt.Equal(c) && found && i > p {
						want = append(want, e.Key.MessageID)
					}
				}
				q := chatter.LedgerQuery{Workspace: ws, Oldest: dir.oldest, CursorKey: key(k)}
				if dir.oldest {
					q.After = c
				} else {
					q.Before = c
				}
				if d := cmp.Diff(want, idsOf(listOrdered(t, s, q)), cmpNilEmpty); d != "" {
					t.Errorf("ListEntries(Oldest %v, cursor at %d's time, CursorKey %d) (-want +got):\n%s", dir.oldest, cursor, k, d)
				}
			}
		}
	}

	// Without CursorKey the cursor is strict: the rest of the batch is
	// skipped.
	page := listOrdered(t, s, chatter.LedgerQuery{Workspace: ws, Limit: 3})
	require.Equal(t, []int64{9, 8, 7}, idsOf(page))
	for _, id := range idsOf(listOrdered(t, s, chatter.LedgerQuery{Workspace: ws, Before: page[2].ReceivedAt})) {
		require.True(t, at[id].Before(T), "Before without CursorKey returned %d, received at the cursor's time", id)
	}
}
