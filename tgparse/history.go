package tgparse

import (
	"context"
	"slices"
	"time"

	"github.com/gotd/td/tg"
)

// Depth bounds how far back the first read of a chat goes (when it has no
// checkpoint yet). Both bounds apply when both are set; the zero Depth reads
// no history: the chat is followed from its newest message on.
type Depth struct {
	// Count is the most messages read (0: no bound by count).
	Count int `json:"count,omitempty"`
	// Since skips messages sent before it (zero: no bound by time).
	Since time.Time `json:"since,omitzero"`
}

// IsZero reports whether d reads no history.
func (d Depth) IsZero() bool { return d.Count <= 0 && d.Since.IsZero() }

// historyPage is Telegram's maximum page of messages.getHistory.
const historyPage = 100

// fetched is a batch of messages read from a chat.
type fetched struct {
	msgs     []*tg.Message // oldest first
	ents     *Entities
	calls    int       // getHistory calls made
	read     int       // messages and service messages returned, old ones excluded
	fetched  int       // messages (not service ones) returned
	maxID    int       // the highest id seen, service messages included
	maxAt    time.Time // the time of that message
	oldestAt time.Time // the oldest message read (how deep the read went)
	// end: the read reached the newest message (forward) or the depth
	// (first read).
	end bool
	// start is set by a first read whose depth held more messages than it
	// may hold: msgs is then empty and the chat is to be read forward from
	// the checkpoint start (the id before the oldest message of the depth),
	// with startAt the time of that oldest message.
	start   int
	startAt time.Time
	over    bool
}

// readDepth is the first read of a chat without a checkpoint: it reads
// newest first in pages of up to 100 down to depth (depth.Count messages,
// none sent before depth.Since) and returns the messages oldest first.
// Service messages are not returned but count in maxID. It holds at most
// hold messages: when the depth has more, it reads on to the depth's end
// (ids and dates only) and returns over with start, so that the caller
// sets the checkpoint there and reads the depth forward, oldest first, in
// passes of its budget: nothing within the depth is skipped.
func readDepth(ctx context.Context, api API, peer tg.InputPeerClass, depth Depth, hold int) (*fetched, error) {
	f := &fetched{ents: &Entities{}}
	counted, oldestID := 0, 0
	offsetID := 0
	for {
		want := historyPage
		if depth.Count > 0 {
			want = min(want, depth.Count-counted)
		}
		if want <= 0 {
			return f.depthDone(oldestID), nil
		}
		res, err := api.MessagesGetHistory(ctx, &tg.MessagesGetHistoryRequest{Peer: peer, OffsetID: offsetID, Limit: want})
		if err != nil {
			return nil, err
		}
		f.calls++
		mod, ok := res.AsModified()
		if !ok {
			return f.depthDone(oldestID), nil
		}
		page := mod.GetMessages()
		if !f.over {
			f.ents.Add(mod.GetUsers(), mod.GetChats())
		}
		_, whole := res.(*tg.MessagesMessages) // not a slice: everything came at once
		stop := len(page) == 0 || len(page) < want || whole
		for _, mc := range page {
			id := mc.GetID()
			if offsetID == 0 || id < offsetID {
				offsetID = id
			}
			at, ok := messageTime(mc)
			if !ok {
				continue
			}
			if !depth.Since.IsZero() && at.Before(depth.Since) || depth.Count > 0 && counted >= depth.Count {
				stop = true
				continue
			}
			f.read++
			if id > f.maxID {
				f.maxID, f.maxAt = id, at
			}
			if oldestID == 0 || id < oldestID {
				oldestID = id
			}
			if f.oldestAt.IsZero() || at.Before(f.oldestAt) {
				f.oldestAt = at
			}
			m, ok := mc.(*tg.Message)
			if !ok {
				continue
			}
			counted++
			f.fetched++
			if !f.over && len(f.msgs) >= hold {
				f.over, f.msgs, f.ents = true, nil, &Entities{}
			}
			if !f.over {
				f.msgs = append(f.msgs, m)
			}
		}
		if stop {
			return f.depthDone(oldestID), nil
		}
	}
}

func (f *fetched) depthDone(oldestID int) *fetched {
	f.end = true
	if f.over {
		f.start, f.startAt = oldestID-1, f.oldestAt
	}
	return f.done()
}

// readForward reads up to limit (at most 100) of the oldest messages with
// an id above after, in one getHistory call, and returns them oldest
// first. Telegram pages towards newer messages with offset_id = after+1
// and add_offset = -limit (the slice of the newest-first history that ends
// just before the first message older than offset_id); min_id = after
// guards the slice. end is set when fewer than limit came: the chat has
// nothing newer now. Service messages are not returned but count in maxID.
func readForward(ctx context.Context, api API, peer tg.InputPeerClass, after, limit int) (*fetched, error) {
	f := &fetched{ents: &Entities{}}
	limit = min(limit, historyPage)
	res, err := api.MessagesGetHistory(ctx, &tg.MessagesGetHistoryRequest{
		Peer: peer, OffsetID: after + 1, AddOffset: -limit, Limit: limit, MinID: after,
	})
	if err != nil {
		return nil, err
	}
	f.calls++
	mod, ok := res.AsModified()
	if !ok {
		f.end = true
		return f, nil
	}
	page := mod.GetMessages()
	f.ents.Add(mod.GetUsers(), mod.GetChats())
	_, whole := res.(*tg.MessagesMessages)
	f.end = len(page) < limit || whole
	for _, mc := range page {
		id := mc.GetID()
		at, ok := messageTime(mc)
		if !ok || id <= after {
			continue
		}
		f.read++
		if id > f.maxID {
			f.maxID, f.maxAt = id, at
		}
		if f.oldestAt.IsZero() || at.Before(f.oldestAt) {
			f.oldestAt = at
		}
		if m, ok := mc.(*tg.Message); ok {
			f.msgs = append(f.msgs, m)
			f.fetched++
		}
	}
	if f.maxID == 0 {
		// Nothing above after in a full page: a server that ignores
		// add_offset. Stop rather than loop; the next pass asks again.
		f.end = true
	}
	return f.done(), nil
}

// messageTime returns the date of a message or service message; ok is
// false for an empty message.
func messageTime(mc tg.MessageClass) (time.Time, bool) {
	switch m := mc.(type) {
	case *tg.Message:
		return time.Unix(int64(m.Date), 0).UTC(), true
	case *tg.MessageService:
		return time.Unix(int64(m.Date), 0).UTC(), true
	}
	return time.Time{}, false
}

func (f *fetched) done() *fetched {
	slices.SortFunc(f.msgs, func(a, b *tg.Message) int { return a.ID - b.ID })
	f.msgs = slices.CompactFunc(f.msgs, func(a, b *tg.Message) bool { return a.ID == b.ID })
	return f
}

// newestMessage returns the id and time of the chat's newest message (0
// for an empty chat).
func newestMessage(ctx context.Context, api API, peer tg.InputPeerClass) (int, time.Time, error) {
	res, err := api.MessagesGetHistory(ctx, &tg.MessagesGetHistoryRequest{Peer: peer, Limit: 1})
	if err != nil {
		return 0, time.Time{}, err
	}
	mod, ok := res.AsModified()
	if !ok {
		return 0, time.Time{}, nil
	}
	best, at := 0, time.Time{}
	for _, mc := range mod.GetMessages() {
		if mc.GetID() > best {
			best = mc.GetID()
			at, _ = messageTime(mc)
		}
	}
	return best, at, nil
}
