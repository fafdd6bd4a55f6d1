package amocrmsink_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
)

// FuzzHasNoteMarker: note texts come from amoCRM (anyone can edit them). A
// marker must match only its own key, never a key it is a prefix of.
func FuzzHasNoteMarker(f *testing.F) {
	f.Add("Текст\n\nChatter ID: tgbot:1:-100:15", "tgbot:1:-100:15")
	f.Add("Текст\n\nChatter ID: tgbot:1:-100:150", "tgbot:1:-100:15")
	f.Add("Chatter ID: x", "x")
	f.Add("prefixChatter ID: x", "x")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, text, key string) {
		got := amocrmsink.HasNoteMarker(text, key)
		if got && !strings.Contains(text, amocrmsink.MarkerPrefix+key) {
			t.Fatalf("HasNoteMarker(%q, %q) without the marker in the text", text, key)
		}
		if key != "" && !strings.ContainsAny(key, "\n\r\t ") && got && amocrmsink.HasNoteMarker(text, key+"0") {
			t.Fatalf("both %q and %q match %q", key, key+"0", text)
		}
		built := strings.TrimRight(text, "\n") + "\n\n" + amocrmsink.MarkerPrefix + key
		if key != "" && strings.TrimRight(key, " \t\r\n") == key && !amocrmsink.HasNoteMarker(built, key) {
			t.Fatalf("a note built for %q does not match it: %q", key, built)
		}
	})
}

// FuzzMessageRecord: any message, any path, never a panic; known paths
// agree with the message.
func FuzzMessageRecord(f *testing.F) {
	f.Add("text", "Привет", "ivan", int64(5), "attachments.0.kind")
	f.Add("raw.from.id", "", "", int64(0), "attachments.x")
	f.Add("sender.username", "x", "User", int64(-1), "attachments.-1.name")
	f.Fuzz(func(t *testing.T, path, text, username string, senderID int64, path2 string) {
		m := &chatter.Message{Workspace: "ws", Key: chatter.Key{Source: "tgbot", Account: "1", ChatID: 1, MessageID: 1},
			Text: text, Time: time.Unix(1, 0), Sender: chatter.Sender{ID: senderID, Username: username},
			Attachments: []chatter.Attachment{{Kind: chatter.AttachPhoto, FileID: "f"}}, Raw: []byte(`{"from":{"id":5}}`)}
		r := amocrmsink.NewMessageRecord(m)
		_, _ = r.Lookup(path)
		_, _ = r.Lookup(path2)
		if v, ok := r.Lookup("text"); !ok || v != text {
			t.Fatalf("text = %v", v)
		}
		if v, ok := r.Lookup("sender.id"); !ok || v != senderID {
			t.Fatalf("sender.id = %v", v)
		}
	})
}
