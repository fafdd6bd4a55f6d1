package tgbot

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// DefaultAlbumWindow is how long a Source waits after the last part of an
// album before it hands the album on (Config.AlbumWindow).
const DefaultAlbumWindow = 1500 * time.Millisecond

// albumPollStep bounds the wait between polls while an album is buffered:
// later parts and other chats' messages are still read at this pace.
const albumPollStep = 250 * time.Millisecond

// AlbumID returns the chat and media_group_id of an update that is a part of
// an album (a new message or channel post with media_group_id), and false
// for every other update. Edits of album parts are not album parts: they
// are handed on one by one.
func (u *Update) AlbumID() (chatID int64, group string, ok bool) {
	var m *Message
	switch {
	case u.Message != nil:
		m = u.Message
	case u.ChannelPost != nil:
		m = u.ChannelPost
	}
	if m == nil || m.MediaGroupID == "" || m.IsService() {
		return 0, "", false
	}
	return m.Chat.ID, m.MediaGroupID, true
}

// NormalizeAlbum turns the parts of one album (updates sharing a chat and
// media_group_id, see Update.AlbumID) into one chatter.Message, as Normalize
// does for one update: the Key, sender, time, link and raw update are those
// of the first part (the lowest message id), the text is the caption that
// exists (Telegram apps put it on one part, usually the first; the first
// part with one wins), and the attachments are those of every part in
// message id order. Parts that carry nothing are skipped; (nil, nil) when
// no part carries anything. Like Normalize, it returns the message as built
// together with an error wrapping chatter.ErrInvalid when the result fails
// validation.
func NormalizeAlbum(parts []*Update, opts NormalizeOptions) (*chatter.Message, error) {
	parts = slices.Clone(parts)
	slices.SortFunc(parts, func(a, b *Update) int {
		am, _ := a.AnyMessage()
		bm, _ := b.AnyMessage()
		return cmp.Compare(messageID(am), messageID(bm))
	})
	var (
		out     *chatter.Message
		text    string
		hasText bool
	)
	for _, u := range parts {
		m, err := Normalize(u, opts)
		if m == nil {
			if err != nil {
				return nil, err
			}
			continue
		}
		msg, _ := u.AnyMessage()
		if !hasText && strings.TrimSpace(msg.Caption+msg.Text) != "" {
			text, hasText = m.Text, true
		}
		if out == nil {
			out = m
			out.Attachments = slices.Clone(m.Attachments)
			continue
		}
		out.Attachments = append(out.Attachments, m.Attachments...)
	}
	if out == nil {
		return nil, nil
	}
	if hasText {
		out.Text = text
	}
	if len(out.Attachments) > chatter.MaxAttachments {
		out.Attachments = out.Attachments[:chatter.MaxAttachments]
	}
	if err := out.Validate(); err != nil {
		return out, fmt.Errorf("tgbot: normalize album of %d parts: %w", len(parts), err)
	}
	return out, nil
}

func messageID(m *Message) int64 {
	if m == nil {
		return 0
	}
	return m.MessageID
}

// albumKey names one album being collected.
type albumKey struct {
	chatID int64
	group  string
}

type album struct {
	key   albumKey
	parts []*Update
	last  time.Time // when the last part arrived
}

// albumBuffer collects album parts in the polling loop until an album has
// had no new part for window. It is used by one goroutine.
type albumBuffer struct {
	window time.Duration
	groups map[albumKey]*album
}

func newAlbumBuffer(window time.Duration) *albumBuffer {
	return &albumBuffer{window: window, groups: map[albumKey]*album{}}
}

// add buffers u when it is an album part and reports whether it did.
func (b *albumBuffer) add(u *Update, now time.Time) bool {
	if b.window <= 0 {
		return false
	}
	chatID, group, ok := u.AlbumID()
	if !ok {
		return false
	}
	k := albumKey{chatID, group}
	a := b.groups[k]
	if a == nil {
		a = &album{key: k}
		b.groups[k] = a
	}
	a.parts = append(a.parts, u)
	a.last = now
	return true
}

// endedBy returns the albums u shows complete: those of u's chat, when u is
// a message of that chat that is not a part of the same album.
func (b *albumBuffer) endedBy(u *Update) []*album {
	if len(b.groups) == 0 {
		return nil
	}
	m, _ := u.AnyMessage()
	if m == nil {
		return nil
	}
	_, group, _ := u.AlbumID()
	var out []*album
	for k, a := range b.groups {
		if k.chatID == m.Chat.ID && k.group != group {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y *album) int { return cmp.Compare(x.firstUpdateID(), y.firstUpdateID()) })
	return out
}

func (b *albumBuffer) len() int { return len(b.groups) }

// due returns the albums whose window has passed at now (every album with
// all), oldest first update first.
func (b *albumBuffer) due(now time.Time, all bool) []*album {
	var out []*album
	for _, a := range b.groups {
		if all || !now.Before(a.last.Add(b.window)) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y *album) int { return cmp.Compare(x.firstUpdateID(), y.firstUpdateID()) })
	return out
}

// nextDue returns when the next album is due; zero when none is buffered.
func (b *albumBuffer) nextDue() time.Time {
	var t time.Time
	for _, a := range b.groups {
		if d := a.last.Add(b.window); t.IsZero() || d.Before(t) {
			t = d
		}
	}
	return t
}

func (b *albumBuffer) remove(a *album) { delete(b.groups, a.key) }

// firstUpdateID returns the lowest update id buffered, or 0.
func (b *albumBuffer) firstUpdateID() int64 {
	var first int64
	for _, a := range b.groups {
		if id := a.firstUpdateID(); first == 0 || id < first {
			first = id
		}
	}
	return first
}

func (a *album) firstUpdateID() int64 {
	first := a.parts[0].UpdateID
	for _, u := range a.parts[1:] {
		first = min(first, u.UpdateID)
	}
	return first
}
