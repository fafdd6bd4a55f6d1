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
	maxID    int       // the highest id seen, service messages included
	maxAt    time.Time // the time of that message
	oldestAt time.Time // the oldest message read (how deep the read went)
	cut      bool      // maxMessages stopped the read before its bound
}

// fetchHistory reads messages newer than minID, newest first in pages of up
// to 100, and returns them oldest first. With minID 0 it stops at
// depth.Count messages; it always stops at messages older than depth.Since
// and after maxMessages (then cut is set and the oldest ones are left out).
// Service messages are not returned but count in maxID.
func fetchHistory(ctx context.Context, api API, peer tg.InputPeerClass, minID int, depth Depth, maxMessages int) (*fetched, error) {
	f := &fetched{ents: &Entities{}}
	limitTotal := maxMessages
	if minID == 0 && depth.Count > 0 {
		limitTotal = min(depth.Count, maxMessages)
	}
	offsetID := 0
	for {
		want := min(historyPage, limitTotal-len(f.msgs))
		if want <= 0 {
			f.cut = !(minID == 0 && depth.Count > 0 && depth.Count <= maxMessages)
			return f.done(), nil
		}
		res, err := api.MessagesGetHistory(ctx, &tg.MessagesGetHistoryRequest{
			Peer: peer, OffsetID: offsetID, Limit: want, MinID: minID,
		})
		if err != nil {
			return nil, err
		}
		f.calls++
		mod, ok := res.AsModified()
		if !ok {
			return f.done(), nil
		}
		page := mod.GetMessages()
		f.ents.Add(mod.GetUsers(), mod.GetChats())
		_, whole := res.(*tg.MessagesMessages) // not a slice: everything came at once
		stop := len(page) == 0 || len(page) < want || whole
		for _, mc := range page {
			id := mc.GetID()
			if id <= minID {
				stop = true
				continue
			}
			if offsetID == 0 || id < offsetID {
				offsetID = id
			}
			var date int
			switch m := mc.(type) {
			case *tg.Message:
				date = m.Date
			case *tg.MessageService:
				date = m.Date
			default:
				continue
			}
			at := time.Unix(int64(date), 0).UTC()
			if !depth.Since.IsZero() && at.Before(depth.Since) {
				stop = true
				continue
			}
			if id > f.maxID {
				f.maxID, f.maxAt = id, at
			}
			if m, ok := mc.(*tg.Message); ok {
				if len(f.msgs) >= limitTotal {
					stop = true
					continue
				}
				f.msgs = append(f.msgs, m)
				if f.oldestAt.IsZero() || at.Before(f.oldestAt) {
					f.oldestAt = at
				}
			}
		}
		if stop {
			return f.done(), nil
		}
	}
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
			switch m := mc.(type) {
			case *tg.Message:
				at = time.Unix(int64(m.Date), 0).UTC()
			case *tg.MessageService:
				at = time.Unix(int64(m.Date), 0).UTC()
			}
		}
	}
	return best, at, nil
}
