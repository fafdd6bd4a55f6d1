package chattertest_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

// FuzzMemStoreSaveMessage feeds outside input (text, raw payload, sender
// name) to SaveMessage: either it is refused with ErrInvalid and nothing is
// stored, or it is stored and comes back byte for byte.
func FuzzMemStoreSaveMessage(f *testing.F) {
	f.Add("Нужен ремонт ванной", []byte(`{"update_id": 1}`), "Ирина")
	f.Add("", []byte(nil), "")
	f.Add("битый \xff текст", []byte(`{"a":`), "Ир\xc3\x28ина")
	f.Add("😀 <b>&amp;</b>", []byte(`"строка"`), "@user")
	f.Add("a", []byte(`{"a":1}{"b":2}`), "x")
	f.Fuzz(func(t *testing.T, text string, raw []byte, name string) {
		s := chattertest.NewMemStore()
		m := chattertest.NewMessage("ws", -100, 1, "x")
		m.Text, m.Raw, m.Sender.FirstName = text, raw, name
		wantErr := m.Validate()
		r, err := s.SaveMessage(t.Context(), m, chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: true}, MaxAttempts: 1})
		if wantErr != nil {
			if !errors.Is(err, chatter.ErrInvalid) {
				t.Fatalf("invalid message (%v): SaveMessage = %v, want ErrInvalid", wantErr, err)
			}
			if _, err := s.GetEntry(t.Context(), "ws", m.Key); !errors.Is(err, chatter.ErrNotFound) {
				t.Fatalf("a refused message was stored: %v", err)
			}
			return
		}
		if err != nil || r.State != chatter.StateQueued {
			t.Fatalf("valid message: SaveMessage = %+v, %v", r, err)
		}
		e, err := s.GetEntry(t.Context(), "ws", m.Key)
		if err != nil {
			t.Fatal(err)
		}
		if e.Message.Text != text || !bytes.Equal(e.Message.Raw, raw) || e.Message.Sender.FirstName != name {
			t.Fatalf("stored message differs: %q %q %q", e.Message.Text, e.Message.Raw, e.Message.Sender.FirstName)
		}
	})
}
