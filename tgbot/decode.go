package tgbot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
)

// MaxUpdateBytes bounds one update accepted by DecodeUpdate (and the webhook
// handler's body by default).
const MaxUpdateBytes = 1 << 20

// DecodeUpdate parses one Bot API update. It is pure and safe on any input:
// malformed JSON, a missing update_id or an oversized payload return an
// error. The result's Raw is a copy of data.
func DecodeUpdate(data []byte) (*Update, error) {
	if len(data) > MaxUpdateBytes {
		return nil, fmt.Errorf("tgbot: decode update: %d bytes exceed the %d-byte limit", len(data), MaxUpdateBytes)
	}
	var u Update
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, fmt.Errorf("tgbot: decode update: %w", err)
	}
	if u.UpdateID <= 0 {
		return nil, errors.New("tgbot: decode update: update_id is missing or not positive")
	}
	u.Raw = bytes.Clone(bytes.TrimSpace(data))
	return &u, nil
}

// Kind returns the update's type as allowed_updates names it ("" when unknown).
func (u *Update) Kind() string {
	switch {
	case u.Message != nil:
		return UpdateMessage
	case u.EditedMessage != nil:
		return UpdateEditedMessage
	case u.ChannelPost != nil:
		return UpdateChannelPost
	case u.EditedChannelPost != nil:
		return UpdateEditedChannelPost
	case u.CallbackQuery != nil:
		return UpdateCallbackQuery
	case u.MyChatMember != nil:
		return UpdateMyChatMember
	case u.ChatMember != nil:
		return "chat_member"
	}
	return ""
}

// AnyMessage returns the message an update carries (new or edited, in a chat
// or a channel) and whether it is an edit; nil for other updates.
func (u *Update) AnyMessage() (m *Message, edited bool) {
	switch {
	case u.Message != nil:
		return u.Message, false
	case u.EditedMessage != nil:
		return u.EditedMessage, true
	case u.ChannelPost != nil:
		return u.ChannelPost, false
	case u.EditedChannelPost != nil:
		return u.EditedChannelPost, true
	}
	return nil, false
}

// NormalizeOptions says whose message it is.
type NormalizeOptions struct {
	Workspace string // required
	BotID     int64  // required: the Key's Account
	// OmitRaw leaves Message.Raw empty instead of keeping the update's JSON.
	OmitRaw bool
}

// IsService reports whether m is a service message (members joined or left,
// migration, title change, pin, chat created) rather than something a person
// wrote.
func (m *Message) IsService() bool {
	return len(m.NewChatMembers) > 0 || m.LeftChatMember != nil || m.NewChatTitle != "" ||
		m.GroupChatCreated || m.MigrateToChatID != 0 || m.MigrateFromChatID != 0 || len(m.PinnedMessage) > 0
}

// Normalize turns an update into a chatter.Message. It returns (nil, nil) for
// updates that carry nothing to hand on: non-message updates, service
// messages and messages with neither text nor media. Edits get Key.Revision =
// edit_date. Text is the text or caption with text_link targets written out
// as "label (url)", and a "↪ origin" first line for forwards. The result
// passes chatter.Message.Validate, or Normalize returns an error wrapping
// chatter.ErrInvalid; for an update that is a message but fails validation
// it returns the message as built together with that error, so that the
// source can hand it to a Handler that records refusals (chatter.Pipeline
// keeps it on the ledger as rejected) instead of dropping it.
func Normalize(u *Update, opts NormalizeOptions) (*chatter.Message, error) {
	if opts.Workspace == "" || opts.BotID <= 0 {
		return nil, fmt.Errorf("tgbot: normalize: workspace and bot id are required: %w", chatter.ErrInvalid)
	}
	msg, edited := u.AnyMessage()
	if msg == nil || msg.IsService() {
		return nil, nil
	}
	m := &chatter.Message{
		Workspace: opts.Workspace,
		Key: chatter.Key{Source: chatter.SourceBot, Account: strconv.FormatInt(opts.BotID, 10),
			ChatID: msg.Chat.ID, MessageID: msg.MessageID},
		Chat:   chatter.Chat{ID: msg.Chat.ID, Type: chatter.ChatType(msg.Chat.Type), Title: msg.Chat.Title, Username: msg.Chat.Username},
		Sender: senderOf(msg),
		Time:   time.Unix(msg.Date, 0).UTC(),
		Link:   MessageLink(msg.Chat, msg.MessageID),
		Edited: edited,
	}
	if m.Chat.Title == "" && msg.Chat.Type == "private" {
		m.Chat.Title = strings.TrimSpace(msg.Chat.FirstName + " " + msg.Chat.LastName)
	}
	if edited {
		m.Key.Revision = msg.EditDate
		if msg.EditDate <= 0 {
			m.Key.Revision = max(msg.Date, 1)
		} else {
			m.Time = time.Unix(msg.EditDate, 0).UTC()
		}
	}
	if msg.ReplyToMessage != nil {
		m.ReplyTo = msg.ReplyToMessage.MessageID
	}
	text, ents := msg.Text, msg.Entities
	if text == "" {
		text, ents = msg.Caption, msg.CaptionEntities
	}
	text = expandLinks(text, ents)
	if origin := forwardOrigin(msg); origin != "" {
		text = "↪ " + origin + "\n" + text
	}
	m.Text = truncateUTF8(strings.TrimRight(text, "\n"), chatter.MaxTextBytes)
	m.Attachments = attachments(msg)
	if c := msg.Contact; c != nil && msg.From != nil && c.UserID != 0 && c.UserID == msg.From.ID {
		m.Sender.Phone = NormalizePhone(c.PhoneNumber)
	}
	if strings.TrimSpace(m.Text) == "" && len(m.Attachments) == 0 {
		return nil, nil
	}
	if !opts.OmitRaw {
		raw := u.Raw
		if len(raw) == 0 {
			raw, _ = json.Marshal(u)
		}
		if len(raw) <= chatter.MaxRawBytes && json.Valid(raw) {
			m.Raw = raw
		}
	}
	if err := m.Validate(); err != nil {
		if m.Raw == nil && !opts.OmitRaw {
			// The raw update is kept (bounded) for diagnosis even when it
			// is too large or broken.
			m.Raw = u.Raw
		}
		return m, fmt.Errorf("tgbot: normalize update %d: %w", u.UpdateID, err)
	}
	return m, nil
}

// groupAnonymousBot is the user Telegram shows as the sender of messages by
// anonymous group administrators.
const groupAnonymousBot = 1087968824

func senderOf(msg *Message) chatter.Sender {
	if sc := msg.SenderChat; sc != nil {
		return chatter.Sender{Username: sc.Username, FirstName: sc.Title, LastName: msg.AuthorSignature}
	}
	if f := msg.From; f != nil && f.ID != groupAnonymousBot {
		return chatter.Sender{ID: f.ID, Username: f.Username, FirstName: f.FirstName, LastName: f.LastName,
			IsBot: f.IsBot, Language: f.LanguageCode}
	}
	if msg.Chat.Type == "channel" {
		return chatter.Sender{Username: msg.Chat.Username, FirstName: msg.Chat.Title, LastName: msg.AuthorSignature}
	}
	return chatter.Sender{}
}

// MessageLink returns the t.me link of a message, or "" when there is none:
// https://t.me/<username>/<id> for public chats, https://t.me/c/<id>/<msg>
// for private supergroups and channels; private chats and basic groups have
// no links.
func MessageLink(chat Chat, messageID int64) string {
	if messageID <= 0 {
		return ""
	}
	if chat.Username != "" && chat.Type != "private" && chat.Type != "group" {
		return "https://t.me/" + chat.Username + "/" + strconv.FormatInt(messageID, 10)
	}
	const channelBase = -1_000_000_000_000
	if chat.ID < channelBase && chat.Type != "private" && chat.Type != "group" {
		return "https://t.me/c/" + strconv.FormatInt(channelBase-chat.ID, 10) + "/" + strconv.FormatInt(messageID, 10)
	}
	return ""
}

func userName(u *User) string {
	if u == nil {
		return ""
	}
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if u.Username != "" {
		if name == "" {
			return "@" + u.Username
		}
		return name + " (@" + u.Username + ")"
	}
	return name
}

func chatName(c *Chat) string {
	if c == nil {
		return ""
	}
	if c.Username != "" {
		if c.Title == "" {
			return "@" + c.Username
		}
		return c.Title + " (@" + c.Username + ")"
	}
	return c.Title
}

func forwardOrigin(msg *Message) string {
	if o := msg.ForwardOrigin; o != nil {
		switch o.Type {
		case "user":
			return userName(o.SenderUser)
		case "hidden_user":
			return o.SenderUserName
		case "chat":
			return chatName(o.SenderChat)
		case "channel":
			return chatName(o.Chat)
		}
		return ""
	}
	switch {
	case msg.ForwardFrom != nil:
		return userName(msg.ForwardFrom)
	case msg.ForwardFromChat != nil:
		return chatName(msg.ForwardFromChat)
	}
	return msg.ForwardSender
}

// expandLinks writes the targets of text_link entities after their labels:
// "price list" → "price list (https://example.com/p)". Entities with bad
// offsets are ignored.
func expandLinks(text string, ents []MessageEntity) string {
	var links []MessageEntity
	for _, e := range ents {
		if e.Type == "text_link" && (strings.HasPrefix(e.URL, "http://") || strings.HasPrefix(e.URL, "https://") || strings.HasPrefix(e.URL, "tg://")) {
			links = append(links, e)
		}
	}
	if len(links) == 0 {
		return text
	}
	units := utf16.Encode([]rune(text))
	sort.SliceStable(links, func(i, j int) bool { return links[i].Offset < links[j].Offset })
	var b strings.Builder
	pos := 0
	for _, e := range links {
		end := e.Offset + e.Length
		if e.Offset < pos || e.Length <= 0 || end > len(units) || end < e.Offset {
			continue
		}
		label := string(utf16.Decode(units[e.Offset:end]))
		if strings.TrimSpace(label) == e.URL {
			continue
		}
		b.WriteString(string(utf16.Decode(units[pos:end])))
		b.WriteString(" (" + strings.ReplaceAll(e.URL, "\n", "") + ")")
		pos = end
	}
	b.WriteString(string(utf16.Decode(units[pos:])))
	return b.String()
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// NormalizePhone returns phone in E.164 ("+79991234567") when it has 7 to 15
// digits and nothing but digits, spaces, dashes, dots, parentheses and a
// leading '+'; otherwise the trimmed input.
func NormalizePhone(phone string) string {
	p := strings.TrimSpace(phone)
	var digits strings.Builder
	for i, r := range p {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == '.':
		default:
			return p
		}
	}
	if n := digits.Len(); n < 7 || n > 15 {
		return p
	}
	return "+" + digits.String()
}

func attachments(msg *Message) []chatter.Attachment {
	var out []chatter.Attachment
	file := func(kind chatter.AttachmentKind, f *File, mime string) {
		a := chatter.Attachment{Kind: kind, FileID: f.FileID, Name: f.FileName, MIMEType: f.MimeType, Size: f.FileSize}
		if a.MIMEType == "" {
			a.MIMEType = mime
		}
		if kind == chatter.AttachSticker {
			a.Name = f.Emoji
		}
		out = append(out, a)
	}
	if n := len(msg.Photo); n > 0 {
		best := msg.Photo[0]
		for _, p := range msg.Photo[1:] {
			if p.Width*p.Height >= best.Width*best.Height {
				best = p
			}
		}
		out = append(out, chatter.Attachment{Kind: chatter.AttachPhoto, FileID: best.FileID, MIMEType: "image/jpeg", Size: best.FileSize})
	}
	switch {
	case msg.Animation != nil:
		file(chatter.AttachVideo, msg.Animation, "video/mp4")
	case msg.Document != nil:
		file(chatter.AttachDocument, msg.Document, "")
	}
	if msg.Video != nil {
		file(chatter.AttachVideo, msg.Video, "video/mp4")
	}
	if msg.VideoNote != nil {
		file(chatter.AttachVideo, msg.VideoNote, "video/mp4")
	}
	if msg.Audio != nil {
		file(chatter.AttachAudio, msg.Audio, "audio/mpeg")
	}
	if msg.Voice != nil {
		file(chatter.AttachVoice, msg.Voice, "audio/ogg")
	}
	if msg.Sticker != nil {
		file(chatter.AttachSticker, msg.Sticker, "")
	}
	if c := msg.Contact; c != nil {
		name := strings.TrimSpace(c.FirstName + " " + c.LastName)
		out = append(out, chatter.Attachment{Kind: chatter.AttachContact, Name: strings.TrimSpace(name + " " + NormalizePhone(c.PhoneNumber))})
	}
	switch {
	case msg.Venue != nil:
		out = append(out, chatter.Attachment{Kind: chatter.AttachLocation,
			Name: fmt.Sprintf("%s, %s (%.6f,%.6f)", msg.Venue.Title, msg.Venue.Address, msg.Venue.Location.Latitude, msg.Venue.Location.Longitude)})
	case msg.Location != nil:
		out = append(out, chatter.Attachment{Kind: chatter.AttachLocation, Name: fmt.Sprintf("%.6f,%.6f", msg.Location.Latitude, msg.Location.Longitude)})
	}
	if len(msg.Poll) > 0 && string(msg.Poll) != "null" {
		out = append(out, chatter.Attachment{Kind: chatter.AttachOther, Name: "poll"})
	}
	if len(out) > chatter.MaxAttachments {
		out = out[:chatter.MaxAttachments]
	}
	return out
}
