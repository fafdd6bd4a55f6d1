package tgparse

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gotd/td/tg"

	"github.com/chatterhq/sdk/chatter"
)

// fuzzBytes hands out the fuzz input piece by piece; past its end every
// read is zero.
type fuzzBytes struct{ b []byte }

func (f *fuzzBytes) byte() byte {
	if len(f.b) == 0 {
		return 0
	}
	c := f.b[0]
	f.b = f.b[1:]
	return c
}

func (f *fuzzBytes) bool() bool { return f.byte()&1 == 1 }

func (f *fuzzBytes) n(max int) int { return int(f.byte()) % max }

func (f *fuzzBytes) int64() int64 {
	var b [8]byte
	for i := range b {
		b[i] = f.byte()
	}
	return int64(binary.LittleEndian.Uint64(b[:]))
}

// id returns a small id, a large one near the Bot API bounds, or any int64.
func (f *fuzzBytes) id() int64 {
	switch f.n(4) {
	case 0:
		return int64(f.byte())
	case 1:
		return maxChannelID - 2 + int64(f.n(5)) // around the last channel id
	case 2:
		return -int64(f.byte())
	}
	return f.int64()
}

func (f *fuzzBytes) int() int { return int(int32(f.int64())) }

// str returns up to 40 bytes, not necessarily UTF-8.
func (f *fuzzBytes) str() string {
	n := f.n(41)
	var sb strings.Builder
	for range n {
		sb.WriteByte(f.byte())
	}
	return sb.String()
}

func (f *fuzzBytes) peer() tg.PeerClass {
	switch f.n(4) {
	case 1:
		return &tg.PeerUser{UserID: f.id()}
	case 2:
		return &tg.PeerChat{ChatID: f.id()}
	case 3:
		return &tg.PeerChannel{ChannelID: f.id()}
	}
	return nil
}

func (f *fuzzBytes) entities() []tg.MessageEntityClass {
	var out []tg.MessageEntityClass
	for range f.n(6) {
		off, l := f.int(), f.int()
		switch f.n(5) {
		case 0:
			out = append(out, &tg.MessageEntityBold{Offset: off, Length: l})
		case 1:
			out = append(out, &tg.MessageEntityTextURL{Offset: off, Length: l, URL: f.str()})
		case 2:
			out = append(out, &tg.MessageEntityMentionName{Offset: off, Length: l, UserID: f.id()})
		case 3:
			out = append(out, &tg.MessageEntityPhone{Offset: off, Length: l})
		default:
			out = append(out, &tg.MessageEntityUnknown{Offset: off, Length: l})
		}
	}
	return out
}

func (f *fuzzBytes) media() tg.MessageMediaClass {
	switch f.n(12) {
	case 1:
		return &tg.MessageMediaEmpty{}
	case 2:
		if f.bool() {
			return &tg.MessageMediaPhoto{Photo: &tg.PhotoEmpty{ID: f.int64()}}
		}
		return &tg.MessageMediaPhoto{Photo: &tg.Photo{ID: f.int64()}}
	case 3:
		if f.bool() {
			return &tg.MessageMediaDocument{Document: &tg.DocumentEmpty{ID: f.int64()}}
		}
		d := &tg.Document{ID: f.int64(), MimeType: f.str(), Size: f.int64()}
		for range f.n(4) {
			switch f.n(5) {
			case 0:
				d.Attributes = append(d.Attributes, &tg.DocumentAttributeFilename{FileName: f.str()})
			case 1:
				d.Attributes = append(d.Attributes, &tg.DocumentAttributeVideo{Duration: float64(f.int())})
			case 2:
				d.Attributes = append(d.Attributes, &tg.DocumentAttributeAudio{Voice: f.bool(), Title: f.str()})
			case 3:
				d.Attributes = append(d.Attributes, &tg.DocumentAttributeSticker{Alt: f.str()})
			default:
				d.Attributes = append(d.Attributes, &tg.DocumentAttributeAnimated{})
			}
		}
		return &tg.MessageMediaDocument{Document: d}
	case 4:
		return &tg.MessageMediaDocument{} // no document at all
	case 5:
		return &tg.MessageMediaContact{FirstName: f.str(), LastName: f.str(), PhoneNumber: f.str(), UserID: f.id()}
	case 6:
		return &tg.MessageMediaGeo{Geo: &tg.GeoPoint{Lat: float64(f.int()), Long: float64(f.int())}}
	case 7:
		return &tg.MessageMediaVenue{Title: f.str(), Address: f.str()}
	case 8:
		return &tg.MessageMediaGeoLive{Geo: &tg.GeoPointEmpty{}}
	case 9:
		return &tg.MessageMediaWebPage{Webpage: &tg.WebPageEmpty{ID: f.int64()}}
	case 10:
		return &tg.MessageMediaDice{Emoticon: f.str(), Value: f.int()}
	case 11:
		return &tg.MessageMediaPoll{Poll: tg.Poll{ID: f.int64()}}
	}
	return nil
}

// message builds a message and its entities from the fuzz input.
func (f *fuzzBytes) message(text string) (*tg.Message, *Entities) {
	m := &tg.Message{
		ID: f.int(), PeerID: f.peer(), Date: f.int(), Message: text,
		Out: f.bool(), Post: f.bool(), EditHide: f.bool(),
	}
	if f.bool() {
		m.EditDate = f.int()
	}
	if f.bool() {
		m.FromID = f.peer()
	}
	m.Entities = f.entities()
	m.Media = f.media()
	switch f.n(3) {
	case 1:
		m.ReplyTo = &tg.MessageReplyHeader{ReplyToMsgID: f.int(), ReplyToPeerID: f.peer(), Quote: f.bool(), QuoteText: f.str(),
			QuoteEntities: f.entities(), QuoteOffset: f.int()}
	case 2:
		m.ReplyTo = &tg.MessageReplyStoryHeader{Peer: f.peer(), StoryID: f.int()}
	}
	if f.bool() {
		m.FwdFrom = tg.MessageFwdHeader{FromID: f.peer(), FromName: f.str(), Date: f.int(), ChannelPost: f.int(), PostAuthor: f.str()}
	}
	e := &Entities{}
	if f.bool() {
		return m, nil
	}
	// Entities for the peer and the sender (with the ids they name, or any).
	idOf := func(p tg.PeerClass) int64 {
		switch p := p.(type) {
		case *tg.PeerUser:
			return p.UserID
		case *tg.PeerChat:
			return p.ChatID
		case *tg.PeerChannel:
			return p.ChannelID
		}
		return f.id()
	}
	var users []tg.UserClass
	var chats []tg.ChatClass
	for _, p := range []tg.PeerClass{m.PeerID, m.FromID} {
		id := idOf(p)
		if !f.bool() {
			id = f.id()
		}
		users = append(users, &tg.User{ID: id, Username: f.str(), FirstName: f.str(), LastName: f.str(), Phone: f.str(), LangCode: f.str(), Bot: f.bool()})
		chats = append(chats, &tg.Chat{ID: id, Title: f.str()})
		ch := &tg.Channel{ID: id, Title: f.str(), Username: f.str(), Broadcast: f.bool(), Megagroup: f.bool()}
		for range f.n(3) {
			ch.Usernames = append(ch.Usernames, tg.Username{Username: f.str(), Active: f.bool()})
		}
		chats = append(chats, ch, &tg.ChatForbidden{ID: id, Title: f.str()})
	}
	e.Add(users, chats)
	return m, e
}

// peerOfChatID inverts BotAPIChatID.
func peerOfChatID(id int64) tg.PeerClass {
	switch {
	case id > 0:
		return &tg.PeerUser{UserID: id}
	case id > -botAPIChannelOffset:
		return &tg.PeerChat{ChatID: -id}
	case id < -botAPIChannelOffset:
		return &tg.PeerChannel{ChannelID: -botAPIChannelOffset - id}
	}
	return nil
}

// checkNormalized checks what Normalize promises about any message.
func checkNormalized(t *testing.T, m *tg.Message, e *Entities) {
	t.Helper()
	out, err := Normalize("ws", "pool", m, e)
	if out == nil {
		t.Fatalf("no message for a non-nil input (err %v)", err)
	}
	if verr := out.Validate(); (err == nil) != (verr == nil) {
		t.Fatalf("Normalize err = %v but Validate = %v", err, verr)
	}
	if err != nil && !errors.Is(err, chatter.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	// Strings are valid UTF-8.
	strs := map[string]string{
		"text": out.Text, "chat.title": out.Chat.Title, "chat.username": out.Chat.Username, "link": out.Link,
		"sender.username": out.Sender.Username, "sender.first_name": out.Sender.FirstName, "sender.last_name": out.Sender.LastName,
		"sender.phone": out.Sender.Phone, "sender.language": out.Sender.Language,
	}
	for i, a := range out.Attachments {
		strs["attachment.file_id"+string(rune('0'+i))] = a.FileID
		strs["attachment.name"] = a.Name
		strs["attachment.mime_type"] = a.MIMEType
	}
	for field, s := range strs {
		if !utf8.ValidString(s) {
			t.Errorf("%s is not valid UTF-8: %q", field, s)
		}
	}
	// The text is kept whole when it fits, else cut at a rune boundary.
	want := strings.ToValidUTF8(m.Message, "\uFFFD")
	switch {
	case len(out.Text) > chatter.MaxTextBytes:
		t.Errorf("text is %d bytes", len(out.Text))
	case len(want) <= chatter.MaxTextBytes && out.Text != want:
		t.Errorf("text = %q, want %q", out.Text, want)
	case !strings.HasPrefix(want, out.Text):
		t.Errorf("text is not a prefix of the input")
	}
	// The key and the chat agree and name the peer.
	k := out.Key
	if k.Source != chatter.SourceParser || k.Account != "pool" || k.MessageID != int64(m.ID) || out.Workspace != "ws" {
		t.Errorf("key = %+v", k)
	}
	if out.Chat.ID != k.ChatID || k.ChatID != BotAPIChatID(m.PeerID) {
		t.Errorf("chat id %d, key chat id %d, peer %v", out.Chat.ID, k.ChatID, m.PeerID)
	}
	if k.ChatID != 0 {
		back := peerOfChatID(k.ChatID)
		if back == nil || back.String() != m.PeerID.String() {
			t.Errorf("chat id %d stands for %v, not the peer %v", k.ChatID, back, m.PeerID)
		}
		if (out.Chat.Type == chatter.ChatPrivate) != (k.ChatID > 0) || out.Chat.Type == "" {
			t.Errorf("chat type %q for chat id %d", out.Chat.Type, k.ChatID)
		}
	}
	if !out.Time.Equal(time.Unix(int64(m.Date), 0)) {
		t.Errorf("time = %v for date %d", out.Time, m.Date)
	}
	if out.Edited != (m.EditDate != 0 && !m.EditHide) {
		t.Errorf("edited = %v", out.Edited)
	}
	if h, ok := m.ReplyTo.(*tg.MessageReplyHeader); ok && h.ReplyToMsgID > 0 {
		if out.ReplyTo != int64(h.ReplyToMsgID) {
			t.Errorf("reply to %d, want %d", out.ReplyTo, h.ReplyToMsgID)
		}
	} else if out.ReplyTo != 0 {
		t.Errorf("reply to %d without a reply header", out.ReplyTo)
	}
	if out.Sender.ID < 0 {
		t.Errorf("sender id %d", out.Sender.ID)
	}
	if len(out.Attachments) > 1 {
		t.Errorf("%d attachments", len(out.Attachments))
	}
	for _, a := range out.Attachments {
		if a.Kind == "" || a.Size < 0 {
			t.Errorf("attachment %+v", a)
		}
	}
	// The link points back at the message.
	pc, isChannel := m.PeerID.(*tg.PeerChannel)
	switch {
	case !isChannel && out.Link != "":
		t.Errorf("link %q outside a channel", out.Link)
	case isChannel && err == nil:
		l, lerr := ParseLink(out.Link)
		if lerr != nil {
			t.Fatalf("link %q does not parse: %v", out.Link, lerr)
		}
		if l.MessageID != m.ID || l.ChannelID != pc.ChannelID && (l.Username == "" || !strings.EqualFold(l.Username, out.Chat.Username)) {
			t.Errorf("link %q parses as %+v: not message %d of channel %d (@%s)", out.Link, l, m.ID, pc.ChannelID, out.Chat.Username)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	// Seeds: a text and the bytes that build the rest of the message.
	f.Add("нужен ремонт", []byte{})
	f.Add("нужен ремонт", []byte{12, 0, 0, 0, 0, 0, 0, 0, 3, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add("a\xffb", []byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 42, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 1, 1, 5, 2, 3, 255, 255, 255, 255, 0, 0, 0, 0})
	f.Add("caption", []byte{3, 0, 0, 0, 0, 0, 0, 0, 3, 1, 4, 100, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 3, 1, 9, 9, 9, 9, 9, 9, 9, 9, 4, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0})
	f.Add("", []byte{5, 0, 0, 0, 0, 0, 0, 0, 2, 0, 55, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 5, 3, 'a', 'b', 'c'})
	f.Add(strings.Repeat("я", 40)+"\xd1", []byte{9, 0, 0, 0, 0, 0, 0, 0, 1, 3})
	f.Add("x", []byte{7, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add("big ids", []byte{1, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add("neg ids", []byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 2, 5})
	f.Add("edge channel", []byte{1, 0, 0, 0, 0, 0, 0, 0, 3, 1, 3})
	f.Add("edge chat", []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 3})
	f.Fuzz(func(t *testing.T, text string, data []byte) {
		fb := &fuzzBytes{b: data}
		m, e := fb.message(text)
		checkNormalized(t, m, e)
	})
}
