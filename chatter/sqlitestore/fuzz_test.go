package sqlitestore_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
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

// FuzzLedgerText searches with outside input (LedgerQuery.Text from an
// operator's search box) over messages with outside text, on MemStore and on
// SQLite: neither panics nor errs on valid input, both refuse text that is
// not UTF-8 with ErrInvalid, and both return exactly the entries whose text
// contains the pattern after chatter.FoldText.
func FuzzLedgerText(f *testing.F) {
	for _, seed := range [][2]string{
		{"Нужен РЕМОНТ ванной", "ремонт"}, {"скидка 100%", "%"}, {"ремонт_квартиры", "_"}, {"ЁЛКА", "елка"},
		{"x\x00y", "xy"}, {"bad \xff", "a"}, {"abc", "\xff"}, {"Σίσυφος", "ΣΊΣΥΦΟΣ"}, {"İstanbul", "i"},
		{"a \n b", "a b"}, {"", ""}, {"%_\\", "\\"}, {"ре\u00adмонт", "ремонт"}, {"K", "\u212a"},
	} {
		f.Add(seed[0], seed[1])
	}
	sq, _ := newStore(f, sqlitestore.Config{GroupCommit: sqlitestore.GroupCommit{Disabled: true}})
	mem := chattertest.NewMemStore()
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, text, pattern string) {
		ws := fmt.Sprintf("ws-fuzz-%d", n.Add(1))
		texts := []string{text, strings.ToUpper(text), strings.ToLower(text), "до " + pattern + " после",
			strings.ToUpper(pattern), "ремонт"}
		var want []int64
		for i, tx := range texts {
			m := msg(ws, -100, int64(i+1))
			m.Text = tx
			if m.Validate() != nil {
				continue
			}
			for _, s := range []chatter.Store{sq, mem} {
				if _, err := s.SaveMessage(t.Context(), m, chatter.AcceptOptions{Verdict: chatter.Verdict{Reason: "fuzz"}}); err != nil {
					t.Fatalf("SaveMessage(%q): %v", tx, err)
				}
			}
			if strings.Contains(chatter.FoldText(tx), chatter.FoldText(pattern)) {
				want = append(want, int64(i+1))
			}
		}
		q := chatter.LedgerQuery{Workspace: ws, Text: pattern}
		for _, s := range []chatter.Store{sq, mem} {
			list, err := s.ListEntries(t.Context(), q)
			counts, cerr := s.CountEntries(t.Context(), q)
			if !utf8.ValidString(pattern) {
				if !errors.Is(err, chatter.ErrInvalid) || !errors.Is(cerr, chatter.ErrInvalid) {
					t.Fatalf("%T: pattern %q not UTF-8: errors %v, %v; want ErrInvalid", s, pattern, err, cerr)
				}
				continue
			}
			if err != nil || cerr != nil {
				t.Fatalf("%T: search %q: %v, %v", s, pattern, err, cerr)
			}
			var got []int64
			for _, e := range list {
				got = append(got, e.Key.MessageID)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("%T: search %q in %q = ids %v, want %v", s, pattern, texts, got, want)
			}
			if counts[chatter.StateFiltered] != len(want) {
				t.Fatalf("%T: count %q = %v, want %d", s, pattern, counts, len(want))
			}
		}
	})
}

// FuzzEventText filters the event log with outside input (EventQuery.Text
// and Source from an operator's filter form) over events with outside text,
// on MemStore and on SQLite: both refuse a pattern that is not UTF-8 with
// ErrInvalid and otherwise return and count exactly the events whose text
// contains the pattern after chatter.FoldText and whose source equals the
// filter.
func FuzzEventText(f *testing.F) {
	for _, seed := range [][3]string{
		{"Токен amoCRM ОТОЗВАН", "токен", "amocrm"}, {"скидка 100%", "%", ""}, {"ремонт_квартиры", "_", "tgbot"},
		{"ЁЛКА", "елка", ""}, {"x\x00y", "xy", "x\x00"}, {"bad \xff", "\ufffd", ""}, {"abc", "\xff", ""},
		{"Σίσυφος", "ΣΊΣΥΦΟΣ", "Σ"}, {"a \n b", "a b", " "}, {"", "", ""}, {"%_\\", "\\", "%"}, {"K", "\u212a", "k"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	sq, _ := newStore(f, sqlitestore.Config{GroupCommit: sqlitestore.GroupCommit{Disabled: true}})
	mem := chattertest.NewMemStore()
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, text, pattern, source string) {
		ws := fmt.Sprintf("ws-fuzz-%d", n.Add(1))
		texts := []string{text, strings.ToUpper(text), strings.ToLower(text), "до " + pattern + " после", strings.ToUpper(pattern), "бот"}
		var evs []chatter.Event
		var want []string
		for i, tx := range texts {
			src := source
			if i%2 == 1 {
				src = "other"
			}
			evs = append(evs, chatter.Event{Workspace: ws, Level: slog.LevelInfo, Source: src, Text: tx})
			if strings.Contains(chatter.FoldText(tx), chatter.FoldText(pattern)) && (source == "" || src == source) {
				want = append(want, tx)
			}
		}
		slices.Sort(want)
		q := chatter.EventQuery{Workspace: ws, Text: pattern, Source: source}
		for _, s := range []chatter.Store{sq, mem} {
			if err := s.AppendEvents(t.Context(), slices.Clone(evs)); err != nil {
				t.Fatalf("%T: AppendEvents: %v", s, err)
			}
			list, err := s.ListEvents(t.Context(), q)
			counts, cerr := s.CountEvents(t.Context(), q)
			if !utf8.ValidString(pattern) {
				if !errors.Is(err, chatter.ErrInvalid) || !errors.Is(cerr, chatter.ErrInvalid) {
					t.Fatalf("%T: pattern %q not UTF-8: errors %v, %v; want ErrInvalid", s, pattern, err, cerr)
				}
				continue
			}
			if err != nil || cerr != nil {
				t.Fatalf("%T: filter %q, source %q: %v, %v", s, pattern, source, err, cerr)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.Text)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("%T: filter %q, source %q in %q = %q, want %q", s, pattern, source, texts, got, want)
			}
			if counts[""] != len(want) {
				t.Fatalf("%T: count %q = %v, want %d", s, pattern, counts, len(want))
			}
		}
	})
}
