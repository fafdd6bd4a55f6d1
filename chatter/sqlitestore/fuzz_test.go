package sqlitestore_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
)

// FuzzSaveMessageRoundTrip feeds outside input (text, names, raw payload,
// key parts) to SaveMessage: either it is rejected with ErrInvalid, or
// GetEntry returns it byte for byte.
func FuzzSaveMessageRoundTrip(f *testing.F) {
	f.Add("Нужен ремонт", "Ирина", `{"update_id": 1, "a": [1, 2.50]}`, "7000000001", int64(-100), int64(1))
	f.Add("bad \xff utf8", "", "", "acc", int64(5), int64(2))
	f.Add("", "Ир\xc3\x28ина", `{"x":`, "a:b", int64(0), int64(3))
	f.Add("emoji 🚀 <b>&amp;</b> \"q\"", "@user", `"str"`, "acc@x", int64(-1), int64(-4))
	s, _ := newStore(f, sqlitestore.Config{GroupCommit: sqlitestore.GroupCommit{Disabled: true}})
	f.Fuzz(func(t *testing.T, text, name, raw, account string, chatID, msgID int64) {
		m := msg("ws-fuzz", chatID, msgID)
		m.Chat.ID = chatID
		m.Key.Account = account
		m.Text, m.Sender.FirstName = text, name
		m.Raw = nil
		if raw != "" {
			m.Raw = json.RawMessage(raw)
		}
		// Validate, plus the store's own rule: every string field is UTF-8
		// (JSON would otherwise change it on the way to the database).
		valid := m.Validate() == nil && utf8.ValidString(account)
		res, err := s.SaveMessage(t.Context(), m, accept(0, 3))
		if !valid {
			if !errors.Is(err, chatter.ErrInvalid) {
				t.Fatalf("invalid message: error %v, want ErrInvalid", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid message: %v", err)
		}
		e, err := s.GetEntry(t.Context(), "ws-fuzz", m.Key)
		if err != nil {
			t.Fatalf("GetEntry: %v", err)
		}
		if res.Duplicate {
			return // an earlier input had the same key
		}
		g := e.Message
		if g.Text != m.Text || g.Sender.FirstName != m.Sender.FirstName || g.Key != m.Key || !bytes.Equal(g.Raw, m.Raw) {
			t.Fatalf("round trip: got %+v, want %+v", g, m)
		}
	})
}
