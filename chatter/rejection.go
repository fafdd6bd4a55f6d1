package chatter

import (
	"errors"
	"hash/fnv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds of what is kept of a message refused at intake.
const (
	MaxRejectedTextBytes = 4 << 10 // Message.Text of a rejected entry, cut on a rune boundary
	MaxRejectedRawBytes  = 8 << 10 // Rejection.Raw
	maxRejectedKeyBytes  = 512     // Rejection.Key
	maxRejectedField     = 256     // other string fields of the stored copy
)

// SourceRejected is the source kind of the synthetic key a rejected message
// is recorded under when its own key is unusable (see Rejection.Key).
const SourceRejected SourceKind = "rejected"

// Rejection says why a message was refused at intake (StateRejected) and
// keeps what is needed to diagnose it. The stored message is a sanitised copy
// of the refused one: invalid UTF-8 replaced with U+FFFD, Text cut to
// MaxRejectedTextBytes, attachments beyond MaxAttachments dropped, a zero
// Time set to the time of refusal, a Chat.ID that contradicts the key
// cleared, and Raw moved here.
type Rejection struct {
	// Field and Reason come from the *ValidationError: the bad field and
	// what is wrong with it, in Russian and English.
	Field  string `json:"field"`
	Reason Text   `json:"reason"`
	// Key is the key as the source gave it (Key.String, sanitised), set
	// when that key was unusable and the entry is recorded under a
	// synthetic key: Source SourceRejected, Account the source kind
	// (sanitised; "unknown" when empty), ChatID the chat id given (1 when
	// there was none) and MessageID a hash of what was received, so that
	// the same refused message handed in again is a duplicate.
	Key string `json:"key,omitempty"`
	// Raw is the source's raw payload as text (invalid UTF-8 replaced),
	// cut to MaxRejectedRawBytes.
	Raw string `json:"raw,omitempty"`
	// Truncated says that Text or Raw were cut, or attachments dropped.
	Truncated bool `json:"truncated,omitempty"`
}

// Text is the operator-facing description: "<field>: <reason>".
func (r *Rejection) Text() Text {
	if r == nil {
		return Text{}
	}
	return T(r.Field+": "+r.Reason.RU, r.Field+": "+r.Reason.EN)
}

// rejectedCopy returns a storable copy of m, which failed Validate with err,
// and its Rejection. ok is false when nothing can be stored: m is nil or has
// no workspace (every stored row belongs to one).
func rejectedCopy(m *Message, err error, now time.Time) (c *Message, r *Rejection, ok bool) {
	if m == nil || m.Workspace == "" || !utf8.ValidString(m.Workspace) || strings.IndexByte(m.Workspace, 0) >= 0 {
		return nil, nil, false
	}
	r = &Rejection{Field: "message", Reason: T(err.Error(), err.Error())}
	var ve *ValidationError
	if errors.As(err, &ve) {
		r.Field, r.Reason = ve.Field, ve.Problem
	}
	cp := *m
	c = &cp
	c.Raw = nil
	if len(m.Raw) > 0 {
		raw := m.Raw
		if len(raw) > MaxRejectedRawBytes {
			raw, r.Truncated = raw[:MaxRejectedRawBytes], true
		}
		r.Raw = strings.ToValidUTF8(string(raw), "\uFFFD")
		if len(r.Raw) > MaxRejectedRawBytes {
			r.Raw, r.Truncated = cutBytes(r.Raw, MaxRejectedRawBytes), true
		}
	}
	if !keyStorable(c.Key) {
		r.Key = cutBytes(clean(m.Key.String()), maxRejectedKeyBytes)
		c.Key = syntheticKey(m)
	}
	if c.Chat.ID != 0 && c.Chat.ID != c.Key.ChatID {
		c.Chat.ID = 0
	}
	if c.Time.IsZero() {
		c.Time = now.UTC()
	}
	text := clean(m.Text)
	if len(text) > MaxRejectedTextBytes {
		text, r.Truncated = cutBytes(text, MaxRejectedTextBytes), true
	}
	c.Text = text
	for _, f := range []*string{&c.Chat.Title, &c.Chat.Username, &c.Sender.Username, &c.Sender.FirstName,
		&c.Sender.LastName, &c.Sender.Phone, &c.Sender.Language, &c.Link} {
		*f = cutBytes(clean(*f), maxRejectedField)
	}
	c.Chat.Type = ChatType(cutBytes(clean(string(c.Chat.Type)), maxRejectedField))
	if len(c.Attachments) > MaxAttachments {
		r.Truncated = true
	}
	c.Attachments = make([]Attachment, 0, min(len(m.Attachments), MaxAttachments))
	for _, a := range m.Attachments[:min(len(m.Attachments), MaxAttachments)] {
		a.Kind = AttachmentKind(cutBytes(clean(string(a.Kind)), maxRejectedField))
		a.FileID, a.Name, a.MIMEType = cutBytes(clean(a.FileID), maxRejectedField), cutBytes(clean(a.Name), maxRejectedField), cutBytes(clean(a.MIMEType), maxRejectedField)
		c.Attachments = append(c.Attachments, a)
	}
	if len(c.Attachments) == 0 {
		c.Attachments = nil
	}
	return c, r, true
}

// keyStorable reports whether k can be stored as it is.
func keyStorable(k Key) bool {
	return k.Validate() == nil && clean(string(k.Source)) == string(k.Source) && clean(k.Account) == k.Account
}

// syntheticKey is the key a message with an unusable key is recorded under.
func syntheticKey(m *Message) Key {
	account := strings.NewReplacer(":", "_", "@", "_").Replace(cutBytes(clean(string(m.Key.Source)), 64))
	if account == "" {
		account = "unknown"
	}
	chat := m.Key.ChatID
	if chat == 0 {
		chat = m.Chat.ID
	}
	if chat == 0 {
		chat = 1
	}
	h := fnv.New64a()
	for _, s := range []string{m.Key.String(), m.Text, string(m.Raw), m.Time.UTC().Format(time.RFC3339Nano)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	id := int64(h.Sum64() >> 1)
	if id == 0 {
		id = 1
	}
	return Key{Source: SourceRejected, Account: account, ChatID: chat, MessageID: id}
}

// clean makes s valid UTF-8 without NUL bytes, which no store column takes.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}
