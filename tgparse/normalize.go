package tgparse

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gotd/td/tg"

	"github.com/chatterhq/sdk/chatter"
)

// botAPIChannelOffset turns a channel id into its Bot API chat id:
// -1000000000000 - id, the "-100…" form.
const botAPIChannelOffset = 1_000_000_000_000

// BotAPIChatID returns the chat id of a peer as the Bot API writes it: a user
// id as is, a basic group as -id, a channel or supergroup as -100<id>. Keys
// of tgparse and tgbot therefore agree on the same chat. It returns 0 for a
// nil or unknown peer, and for ids outside the ranges that keep the three
// forms apart (users above 0; basic groups and channels 1..999999999999), so
// that no id stands for two chats.
func BotAPIChatID(p tg.PeerClass) int64 {
	switch p := p.(type) {
	case *tg.PeerUser:
		if p.UserID > 0 {
			return p.UserID
		}
	case *tg.PeerChat:
		if p.ChatID > 0 && p.ChatID <= maxChannelID {
			return -p.ChatID
		}
	case *tg.PeerChannel:
		if p.ChannelID > 0 && p.ChannelID <= maxChannelID {
			return ChannelChatID(p.ChannelID)
		}
	}
	return 0
}

// ChannelChatID returns the Bot API chat id (-100<id>) of a channel id
// (1..999999999999; BotAPIChatID checks the range).
func ChannelChatID(channelID int64) int64 { return -botAPIChannelOffset - channelID }

// Entities are the users and chats that came with a batch of messages,
// indexed by id. The zero value is empty and usable.
type Entities struct {
	Users    map[int64]*tg.User
	Chats    map[int64]*tg.Chat
	Channels map[int64]*tg.Channel
}

// NewEntities indexes users and chats of a Telegram response.
func NewEntities(users []tg.UserClass, chats []tg.ChatClass) *Entities {
	e := &Entities{}
	e.Add(users, chats)
	return e
}

// Add indexes more users and chats; later values replace earlier ones.
func (e *Entities) Add(users []tg.UserClass, chats []tg.ChatClass) {
	if e.Users == nil {
		e.Users = make(map[int64]*tg.User, len(users))
	}
	if e.Chats == nil {
		e.Chats = make(map[int64]*tg.Chat)
	}
	if e.Channels == nil {
		e.Channels = make(map[int64]*tg.Channel)
	}
	for _, u := range users {
		if u, ok := u.(*tg.User); ok {
			e.Users[u.ID] = u
		}
	}
	for _, c := range chats {
		switch c := c.(type) {
		case *tg.Chat:
			e.Chats[c.ID] = c
		case *tg.Channel:
			e.Channels[c.ID] = c
		}
	}
}

// Normalize turns a Telegram message into a chatter.Message keyed by
// account (see Config.Name): Key{SourceParser, account, Bot API chat id,
// message id}, the chat and sender from e (which may lack them: the ids stay,
// the names are empty), the text or caption, the send time, the edit flag,
// the reply, attachments by reference, and the t.me link
// (https://t.me/<username>/<id> for public chats, https://t.me/c/<id>/<msg>
// for private channels and supergroups, none for basic groups and private
// chats). It does no I/O. The result passes chatter.Message.Validate; when
// it does not, Normalize returns the message together with the validation
// error (nil only for a nil m), so that the Source can hand it on and the
// pipeline can record the refusal on the ledger (chatter.StateRejected)
// instead of losing it.
func Normalize(workspace, account string, m *tg.Message, e *Entities) (*chatter.Message, error) {
	if m == nil {
		return nil, fmt.Errorf("tgparse: normalize: %w", chatter.ErrInvalid)
	}
	if e == nil {
		e = &Entities{}
	}
	chatID := BotAPIChatID(m.PeerID)
	out := &chatter.Message{
		Workspace: workspace,
		Key:       chatter.Key{Source: chatter.SourceParser, Account: account, ChatID: chatID, MessageID: int64(m.ID)},
		Text:      clampText(m.Message),
		Time:      time.Unix(int64(m.Date), 0).UTC(),
		Edited:    m.EditDate != 0 && !m.EditHide,
		Chat:      chatOf(m.PeerID, e),
	}
	if h, ok := m.ReplyTo.(*tg.MessageReplyHeader); ok && h.ReplyToMsgID > 0 {
		out.ReplyTo = int64(h.ReplyToMsgID)
	}
	out.Sender = senderOf(m, e)
	out.Link = messageLink(m.PeerID, e, m.ID)
	if a, ok := attachmentOf(m.Media); ok {
		out.Attachments = []chatter.Attachment{a}
	}
	if err := out.Validate(); err != nil {
		return out, fmt.Errorf("tgparse: normalize message %d: %w", m.ID, err)
	}
	return out, nil
}

func chatOf(p tg.PeerClass, e *Entities) chatter.Chat {
	c := chatter.Chat{ID: BotAPIChatID(p)}
	if c.ID == 0 {
		return c // no chat, or an id out of range
	}
	switch p := p.(type) {
	case *tg.PeerUser:
		c.Type = chatter.ChatPrivate
		if u := e.Users[p.UserID]; u != nil {
			c.Title = validUTF8(strings.TrimSpace(u.FirstName + " " + u.LastName))
			c.Username = validUTF8(u.Username)
		}
	case *tg.PeerChat:
		c.Type = chatter.ChatGroup
		if ch := e.Chats[p.ChatID]; ch != nil {
			c.Title = validUTF8(ch.Title)
		}
	case *tg.PeerChannel:
		c.Type = chatter.ChatSupergroup
		if ch := e.Channels[p.ChannelID]; ch != nil {
			if ch.Broadcast {
				c.Type = chatter.ChatChannel
			}
			c.Title = validUTF8(ch.Title)
			c.Username = validUTF8(channelUsername(ch))
		}
	}
	return c
}

// channelUsername returns the channel's public username, also when it has
// only collectible/secondary ones.
func channelUsername(ch *tg.Channel) string {
	if ch.Username != "" {
		return ch.Username
	}
	for _, u := range ch.Usernames {
		if u.Active {
			return u.Username
		}
	}
	return ""
}

func senderOf(m *tg.Message, e *Entities) chatter.Sender {
	from := m.FromID
	if from == nil {
		if pu, ok := m.PeerID.(*tg.PeerUser); ok && !m.Out {
			from = pu // in a private chat the peer is the sender of incoming messages
		}
	}
	pu, ok := from.(*tg.PeerUser)
	if !ok || pu.UserID <= 0 {
		return chatter.Sender{} // channel post, anonymous admin, or a bad id
	}
	s := chatter.Sender{ID: pu.UserID}
	if u := e.Users[pu.UserID]; u != nil {
		s.Username = validUTF8(u.Username)
		s.FirstName = validUTF8(u.FirstName)
		s.LastName = validUTF8(u.LastName)
		s.IsBot = u.Bot
		s.Language = validUTF8(u.LangCode)
		if u.Phone != "" {
			s.Phone = "+" + validUTF8(strings.TrimPrefix(u.Phone, "+"))
		}
	}
	return s
}

func messageLink(p tg.PeerClass, e *Entities, id int) string {
	pc, ok := p.(*tg.PeerChannel)
	if !ok || BotAPIChatID(pc) == 0 {
		return ""
	}
	if ch := e.Channels[pc.ChannelID]; ch != nil {
		if u := channelUsername(ch); linkUsername(u) {
			return "https://t.me/" + u + "/" + strconv.Itoa(id)
		}
	}
	return "https://t.me/c/" + strconv.FormatInt(pc.ChannelID, 10) + "/" + strconv.Itoa(id)
}

// linkUsername reports whether u makes a t.me/<u>/<id> link that
// ParseLink reads back: a valid username that is not a reserved path.
func linkUsername(u string) bool {
	return validUsername(u) && !reservedPaths[strings.ToLower(u)] && !strings.EqualFold(u, "joinchat")
}

func attachmentOf(media tg.MessageMediaClass) (chatter.Attachment, bool) {
	switch md := media.(type) {
	case nil, *tg.MessageMediaEmpty, *tg.MessageMediaWebPage:
		return chatter.Attachment{}, false
	case *tg.MessageMediaPhoto:
		a := chatter.Attachment{Kind: chatter.AttachPhoto}
		if p, ok := md.Photo.(*tg.Photo); ok {
			a.FileID = "photo:" + strconv.FormatInt(p.ID, 10)
		}
		return a, true
	case *tg.MessageMediaDocument:
		a := chatter.Attachment{Kind: chatter.AttachDocument}
		d, ok := md.Document.(*tg.Document)
		if !ok {
			return a, true
		}
		a.FileID = "document:" + strconv.FormatInt(d.ID, 10)
		a.MIMEType = validUTF8(d.MimeType)
		a.Size = max(d.Size, 0)
		for _, attr := range d.Attributes {
			switch at := attr.(type) {
			case *tg.DocumentAttributeFilename:
				a.Name = validUTF8(at.FileName)
			case *tg.DocumentAttributeVideo:
				a.Kind = chatter.AttachVideo
			case *tg.DocumentAttributeAudio:
				if at.Voice {
					a.Kind = chatter.AttachVoice
				} else {
					a.Kind = chatter.AttachAudio
				}
			case *tg.DocumentAttributeSticker:
				a.Kind = chatter.AttachSticker
			}
		}
		return a, true
	case *tg.MessageMediaContact:
		return chatter.Attachment{Kind: chatter.AttachContact, Name: validUTF8(strings.TrimSpace(md.FirstName + " " + md.LastName))}, true
	case *tg.MessageMediaGeo, *tg.MessageMediaVenue, *tg.MessageMediaGeoLive:
		return chatter.Attachment{Kind: chatter.AttachLocation}, true
	}
	return chatter.Attachment{Kind: chatter.AttachOther}, true
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// clampText makes text valid UTF-8 within chatter.MaxTextBytes, cutting at a
// rune boundary.
func clampText(s string) string {
	s = validUTF8(s)
	if len(s) <= chatter.MaxTextBytes {
		return s
	}
	cut := chatter.MaxTextBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
