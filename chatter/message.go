package chatter

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SourceKind names the kind of source a message came from.
type SourceKind string

// Source kinds shipped with Chatter. Other sources may use their own kinds; a
// kind must be non-empty and must not contain ':'.
const (
	SourceBot    SourceKind = "tgbot"   // a Telegram bot (Bot API)
	SourceParser SourceKind = "tgparse" // a Telegram user account (MTProto)
)

// Key identifies a message stably across restarts and redeliveries.
//
// Two messages with equal keys in one workspace are the same message: the
// pipeline stores the first and ignores the rest. An edit of a message is a
// different key: the same MessageID with a non-zero Revision (for Telegram, the
// edit date as Unix seconds).
type Key struct {
	Source    SourceKind `json:"source"`
	Account   string     `json:"account"`    // bot id, or the user account's id/phone key
	ChatID    int64      `json:"chat_id"`    // Telegram chat id (negative for groups and channels)
	MessageID int64      `json:"message_id"` // message id within the chat
	Revision  int64      `json:"revision,omitempty"`
}

// String renders the key as "source:account:chat:message[@revision]", the form
// used in logs, markers and the ledger. ParseKey reverses it.
func (k Key) String() string {
	var b strings.Builder
	b.Grow(len(k.Source) + len(k.Account) + 48)
	b.WriteString(string(k.Source))
	b.WriteByte(':')
	b.WriteString(k.Account)
	b.WriteByte(':')
	b.WriteString(strconv.FormatInt(k.ChatID, 10))
	b.WriteByte(':')
	b.WriteString(strconv.FormatInt(k.MessageID, 10))
	if k.Revision != 0 {
		b.WriteByte('@')
		b.WriteString(strconv.FormatInt(k.Revision, 10))
	}
	return b.String()
}

// ParseKey parses the form produced by Key.String.
func ParseKey(s string) (Key, error) {
	var k Key
	parts := strings.Split(s, ":")
	if len(parts) != 4 {
		return k, fmt.Errorf("chatter: parse key %q: want source:account:chat:message", s)
	}
	k.Source, k.Account = SourceKind(parts[0]), parts[1]
	var err error
	if k.ChatID, err = strconv.ParseInt(parts[2], 10, 64); err != nil {
		return k, errorf("chatter: parse key %q: chat id: %w", s, err)
	}
	msg, rev, hasRev := strings.Cut(parts[3], "@")
	if k.MessageID, err = strconv.ParseInt(msg, 10, 64); err != nil {
		return k, errorf("chatter: parse key %q: message id: %w", s, err)
	}
	if hasRev {
		if k.Revision, err = strconv.ParseInt(rev, 10, 64); err != nil {
			return k, errorf("chatter: parse key %q: revision: %w", s, err)
		}
	}
	return k, k.Validate()
}

// Validate reports a *ValidationError when a key field is missing or malformed.
func (k Key) Validate() error {
	switch {
	case k.Source == "":
		return invalid("key.source", "не указан источник", "source is empty")
	case strings.ContainsAny(string(k.Source), ":@"):
		return invalid("key.source", "источник содержит ':' или '@'", "source contains ':' or '@'")
	case k.Account == "":
		return invalid("key.account", "не указан аккаунт источника", "account is empty")
	case strings.ContainsAny(k.Account, ":@"):
		return invalid("key.account", "аккаунт содержит ':' или '@'", "account contains ':' or '@'")
	case k.ChatID == 0:
		return invalid("key.chat_id", "не указан чат", "chat id is zero")
	case k.MessageID <= 0:
		return invalid("key.message_id", "не указан номер сообщения", "message id is not positive")
	case k.Revision < 0:
		return invalid("key.revision", "отрицательная ревизия", "revision is negative")
	}
	return nil
}

// ChatType is the kind of a Telegram chat.
type ChatType string

// Chat types, as Telegram names them.
const (
	ChatPrivate    ChatType = "private"
	ChatGroup      ChatType = "group"
	ChatSupergroup ChatType = "supergroup"
	ChatChannel    ChatType = "channel"
)

// Chat is the conversation a message was posted in.
type Chat struct {
	ID       int64    `json:"id"`
	Type     ChatType `json:"type,omitempty"`
	Title    string   `json:"title,omitempty"`
	Username string   `json:"username,omitempty"` // public @username without '@'
}

// Sender is the person (or channel) that wrote a message.
type Sender struct {
	ID        int64  `json:"id,omitempty"`       // Telegram user id; 0 when hidden (anonymous admin, channel post)
	Username  string `json:"username,omitempty"` // without '@'
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Phone     string `json:"phone,omitempty"` // only when the person shared it (E.164 where known)
	IsBot     bool   `json:"is_bot,omitempty"`
	Language  string `json:"language,omitempty"` // IETF tag from the client, when known
}

// Name returns "First Last", or the username, or "" when nothing is known.
func (s Sender) Name() string {
	name := strings.TrimSpace(s.FirstName + " " + s.LastName)
	if name == "" && s.Username != "" {
		return "@" + s.Username
	}
	return name
}

// AttachmentKind is the kind of a message attachment.
type AttachmentKind string

// Attachment kinds.
const (
	AttachPhoto    AttachmentKind = "photo"
	AttachVideo    AttachmentKind = "video"
	AttachDocument AttachmentKind = "document"
	AttachAudio    AttachmentKind = "audio"
	AttachVoice    AttachmentKind = "voice"
	AttachSticker  AttachmentKind = "sticker"
	AttachContact  AttachmentKind = "contact"
	AttachLocation AttachmentKind = "location"
	AttachOther    AttachmentKind = "other"
)

// Attachment references media attached to a message. Chatter stores the
// reference, never the file.
type Attachment struct {
	Kind     AttachmentKind `json:"kind"`
	FileID   string         `json:"file_id,omitempty"`
	Name     string         `json:"name,omitempty"`
	MIMEType string         `json:"mime_type,omitempty"`
	Size     int64          `json:"size,omitempty"`
}

// Limits on message content, enforced by Message.Validate.
const (
	MaxTextBytes   = 64 << 10  // text and caption, after normalisation by the source
	MaxRawBytes    = 256 << 10 // raw source payload
	MaxAttachments = 100
)

// Message is the normalised unit every source produces and every sink consumes.
//
// A Message is a plain value: sources fill it, the pipeline stores it, and no
// component mutates it after Pipeline.Accept returns.
type Message struct {
	Workspace   string          `json:"workspace"` // tenant the message belongs to
	Key         Key             `json:"key"`
	Chat        Chat            `json:"chat"`
	Sender      Sender          `json:"sender"`
	Text        string          `json:"text,omitempty"` // text or media caption
	Time        time.Time       `json:"time"`           // when it was sent (or edited, for revisions)
	Link        string          `json:"link,omitempty"` // https://t.me/... where one exists
	Attachments []Attachment    `json:"attachments,omitempty"`
	Edited      bool            `json:"edited,omitempty"`
	ReplyTo     int64           `json:"reply_to,omitempty"` // message id this one replies to
	Raw         json.RawMessage `json:"raw,omitempty"`      // the source's payload, for audits
}

// Validate checks that m can be stored: a workspace, a complete key, a time,
// valid UTF-8 text within MaxTextBytes, a raw payload within MaxRawBytes that is
// valid JSON when present. It returns a *ValidationError naming the field.
func (m *Message) Validate() error {
	if m == nil {
		return invalid("message", "сообщение отсутствует", "message is nil")
	}
	if m.Workspace == "" {
		return invalid("workspace", "не указано рабочее пространство", "workspace is empty")
	}
	if err := m.Key.Validate(); err != nil {
		return err
	}
	if m.Chat.ID != 0 && m.Chat.ID != m.Key.ChatID {
		return invalid("chat.id", "чат сообщения не совпадает с ключом", "chat id differs from key.chat_id")
	}
	if m.Time.IsZero() {
		return invalid("time", "не указано время сообщения", "time is zero")
	}
	if len(m.Text) > MaxTextBytes {
		return invalid("text", fmt.Sprintf("текст длиннее %d байт", MaxTextBytes), fmt.Sprintf("text is longer than %d bytes", MaxTextBytes))
	}
	if !utf8.ValidString(m.Text) {
		return invalid("text", "текст не в кодировке UTF-8", "text is not valid UTF-8")
	}
	for _, s := range []struct{ field, v string }{
		{"chat.title", m.Chat.Title}, {"sender.username", m.Sender.Username},
		{"sender.first_name", m.Sender.FirstName}, {"sender.last_name", m.Sender.LastName},
	} {
		if !utf8.ValidString(s.v) {
			return invalid(s.field, "поле не в кодировке UTF-8", "field is not valid UTF-8")
		}
	}
	if len(m.Attachments) > MaxAttachments {
		return invalid("attachments", "слишком много вложений", "too many attachments")
	}
	if len(m.Raw) > MaxRawBytes {
		return invalid("raw", fmt.Sprintf("исходные данные длиннее %d байт", MaxRawBytes), fmt.Sprintf("raw payload is longer than %d bytes", MaxRawBytes))
	}
	if len(m.Raw) > 0 && !json.Valid(m.Raw) {
		return invalid("raw", "исходные данные — не JSON", "raw payload is not valid JSON")
	}
	return nil
}

// ValidationError says which field of a message (or other input) is bad and why.
// It wraps ErrInvalid.
type ValidationError struct {
	Field   string
	Problem Text
}

func (e *ValidationError) Error() string {
	return "chatter: invalid " + e.Field + ": " + e.Problem.EN
}

// Unwrap returns ErrInvalid.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(field, ru, en string) error {
	return &ValidationError{Field: field, Problem: T(ru, en)}
}
