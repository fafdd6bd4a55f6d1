package amocrmsink

import (
	"strconv"
	"strings"
	"sync"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/fieldmap"
)

// MessageRecordSchema is the shape of a MessageRecord: the JSON paths of
// chatter.Message (raw.* open) and the computed sender.name. Compile a
// mapping with fieldmap.WithRecordSchema(MessageRecordSchema()) and a typo
// in a path ("sendr.first_name") is a compile error with a suggestion, not
// an empty value at delivery. The sink recompiles with it.
func MessageRecordSchema() *fieldmap.RecordSchema { return messageSchema }

var messageSchema = fieldmap.RecordSchemaOf(chatter.Message{}).With("sender.name")

// MessageRecord adapts a chatter.Message to fieldmap.Record without
// marshalling it: the common paths ("text", "link", "time", "chat.title",
// "sender.id", "sender.username", "key.message_id", "attachments.0.kind", ...)
// are read straight from the struct, with the JSON names of chatter.Message,
// so a spec written against fieldmap.StructRecord(msg) works unchanged. Paths
// it does not know ("raw.…" and the like) fall back to a MapRecord built once,
// on first use, through encoding/json.
//
// A MessageRecord is safe for concurrent use; it never changes the message.
type MessageRecord struct {
	m        *chatter.Message
	once     sync.Once
	fallback fieldmap.MapRecord
}

var _ fieldmap.Record = (*MessageRecord)(nil)

// NewMessageRecord returns the record of m (nil gives a record where nothing
// exists).
func NewMessageRecord(m *chatter.Message) *MessageRecord { return &MessageRecord{m: m} }

// Lookup implements fieldmap.Record.
func (r *MessageRecord) Lookup(path string) (any, bool) {
	m := r.m
	if m == nil {
		return nil, false
	}
	switch path {
	case "text":
		return m.Text, true
	case "link":
		return m.Link, true
	case "time":
		return m.Time, true
	case "workspace":
		return m.Workspace, true
	case "edited":
		return m.Edited, true
	case "reply_to":
		return m.ReplyTo, true
	case "key":
		return m.Key.String(), true
	case "key.source":
		return string(m.Key.Source), true
	case "key.account":
		return m.Key.Account, true
	case "key.chat_id":
		return m.Key.ChatID, true
	case "key.message_id":
		return m.Key.MessageID, true
	case "key.revision":
		return m.Key.Revision, true
	case "chat.id":
		return m.Chat.ID, true
	case "chat.type":
		return string(m.Chat.Type), true
	case "chat.title":
		return m.Chat.Title, true
	case "chat.username":
		return m.Chat.Username, true
	case "sender.id":
		return m.Sender.ID, true
	case "sender.username":
		return m.Sender.Username, true
	case "sender.first_name":
		return m.Sender.FirstName, true
	case "sender.last_name":
		return m.Sender.LastName, true
	case "sender.name":
		return m.Sender.Name(), true
	case "sender.phone":
		return m.Sender.Phone, true
	case "sender.is_bot":
		return m.Sender.IsBot, true
	case "sender.language":
		return m.Sender.Language, true
	case "attachments":
		out := make([]any, len(m.Attachments))
		for i, a := range m.Attachments {
			out[i] = attachmentMap(a)
		}
		return out, true
	}
	if rest, ok := strings.CutPrefix(path, "attachments."); ok {
		idx, field, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || i >= len(m.Attachments) {
			return nil, false
		}
		am := attachmentMap(m.Attachments[i])
		if field == "" {
			return am, true
		}
		v, ok := am[field]
		return v, ok
	}
	r.once.Do(func() {
		// Rare paths (the raw payload): convert once. An error leaves the
		// fallback nil, so such paths do not exist.
		r.fallback, _ = fieldmap.StructRecord(m)
	})
	return r.fallback.Lookup(path)
}

func attachmentMap(a chatter.Attachment) map[string]any {
	return map[string]any{
		"kind": string(a.Kind), "file_id": a.FileID, "name": a.Name,
		"mime_type": a.MIMEType, "size": a.Size,
	}
}
