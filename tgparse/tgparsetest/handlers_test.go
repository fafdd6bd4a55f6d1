package tgparsetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gotd/td/tg"
	"github.com/stretchr/testify/require"
)

func messagesWithIDs(ids ...int) []*tg.Message {
	out := make([]*tg.Message, len(ids))
	for i, id := range ids {
		out[i] = &tg.Message{ID: id}
	}
	return out
}

func idRange(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// desc is to, to-1, ..., from: a page as Telegram sends it.
func desc(from, to int) []int {
	var out []int
	for i := to; i >= from; i-- {
		out = append(out, i)
	}
	return out
}

func pageIDs(page []*tg.Message) []int {
	out := []int{}
	for _, m := range page {
		out = append(out, m.ID)
	}
	return out
}

// TestHistoryPage follows core.telegram.org/api/offsets: slice the
// newest-first history at offsetFromID(offset_id)+add_offset for limit
// messages, then filter by max_id and min_id.
func TestHistoryPage(t *testing.T) {
	ten := messagesWithIDs(idRange(1, 10)...)
	gaps := messagesWithIDs(2, 4, 6, 8) // 1, 3, 5, 7 deleted
	many := messagesWithIDs(idRange(1, 150)...)
	for _, tc := range []struct {
		name string
		msgs []*tg.Message
		req  tg.MessagesGetHistoryRequest
		want []int
	}{
		{"newest", ten, tg.MessagesGetHistoryRequest{Limit: 3}, []int{10, 9, 8}},
		{"older than offset_id", ten, tg.MessagesGetHistoryRequest{OffsetID: 5, Limit: 3}, []int{4, 3, 2}},
		{"offset_id and add_offset -limit: the oldest at or above it", ten,
			tg.MessagesGetHistoryRequest{OffsetID: 5, AddOffset: -3, Limit: 3}, []int{7, 6, 5}},
		{"around offset_id", ten, tg.MessagesGetHistoryRequest{OffsetID: 5, AddOffset: -2, Limit: 4}, []int{6, 5, 4, 3}},
		{"forward, clipped at the newest", ten, tg.MessagesGetHistoryRequest{OffsetID: 9, AddOffset: -3, Limit: 3}, []int{10, 9}},
		{"forward past the newest", ten, tg.MessagesGetHistoryRequest{OffsetID: 11, AddOffset: -3, Limit: 3}, []int{}},
		{"forward from the start", ten, tg.MessagesGetHistoryRequest{OffsetID: 1, AddOffset: -100, Limit: 100}, desc(1, 10)},
		{"min_id filters the slice", ten, tg.MessagesGetHistoryRequest{Limit: 5, MinID: 7}, []int{10, 9, 8}},
		{"max_id filters the slice, it does not move it", ten, tg.MessagesGetHistoryRequest{Limit: 5, MaxID: 8}, []int{7, 6}},
		{"offset past the oldest", ten, tg.MessagesGetHistoryRequest{AddOffset: 20, Limit: 5}, []int{}},
		{"deleted ids: an absent offset_id", gaps, tg.MessagesGetHistoryRequest{OffsetID: 5, AddOffset: -2, Limit: 2}, []int{8, 6}},
		{"deleted ids: back", gaps, tg.MessagesGetHistoryRequest{OffsetID: 5, Limit: 2}, []int{4, 2}},
		{"limit 0 is 20", many, tg.MessagesGetHistoryRequest{}, desc(131, 150)},
		{"limit above 100 is 100", many, tg.MessagesGetHistoryRequest{Limit: 500}, desc(51, 150)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, pageIDs(historyPage(tc.msgs, &tc.req))); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFloodLimit: after n calls within per, a method answers FLOOD_WAIT_X
// with X the seconds until the oldest call leaves the window; refused
// calls do not count, and each account has its own window.
func TestFloodLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &Server{now: func() time.Time { return now }, limits: map[string]floodLimit{}, windows: map[floodKey][]time.Time{}}
	s.FloodLimit("messages.getHistory", 2, 10*time.Second)
	alice, bob := &keyState{userID: 1}, &keyState{userID: 2}
	call := func(k *keyState) string {
		if err := s.floodLocked("messages.getHistory", k, [8]byte{}); err != nil {
			return err.Message
		}
		return "ok"
	}
	var got []string
	got = append(got, call(alice)) // t=0
	now = now.Add(time.Second)
	got = append(got, call(alice), call(alice), call(bob)) // t=1: the third is refused
	now = now.Add(8500 * time.Millisecond)
	got = append(got, call(alice)) // t=9.5: 0.5 s to go, rounded up
	now = now.Add(500 * time.Millisecond)
	got = append(got, call(alice), call(alice)) // t=10: the call at t=0 has left
	require.Equal(t, 3, s.Floods())
	want := []string{"ok", "ok", "FLOOD_WAIT_9", "ok", "FLOOD_WAIT_1", "ok", "FLOOD_WAIT_1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	s.FloodLimit("messages.getHistory", 0, 0)
	require.Equal(t, "ok", call(alice), "a removed limit refuses nothing")
}
