package chattertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// ContactListerStore is what TestContactLister exercises.
type ContactListerStore interface {
	chatter.ContactStore
	chatter.ContactLister
}

// TestContactLister is the conformance suite of chatter.ContactLister:
// every store runs it. newStore returns an empty store.
func TestContactLister(t *testing.T, newStore func(t *testing.T) ContactListerStore) {
	ctx := context.Background()
	save := func(t *testing.T, s ContactListerStore, l chatter.ContactLink) {
		t.Helper()
		if err := s.SaveContact(ctx, &l); err != nil {
			t.Fatalf("SaveContact(%d): %v", l.ContactID, err)
		}
		time.Sleep(2 * time.Millisecond) // distinct UpdatedAt, for the order
	}
	ids := func(ls []*chatter.ContactLink) []int64 {
		out := make([]int64, len(ls))
		for i, l := range ls {
			out[i] = l.ContactID
		}
		return out
	}
	equal := func(a, b []int64) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}

	t.Run("ByLeadAndContact", func(t *testing.T) {
		s := newStore(t)
		at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		save(t, s, chatter.ContactLink{Workspace: "a", ContactID: 1, TelegramID: 11, LeadID: 100, LeadAt: at})
		save(t, s, chatter.ContactLink{Workspace: "a", ContactID: 2, TelegramID: 12, LeadID: 200, LeadAt: at})
		save(t, s, chatter.ContactLink{Workspace: "a", ContactID: 3, Username: "Olga", LeadID: 100, LeadAt: at})
		save(t, s, chatter.ContactLink{Workspace: "b", ContactID: 4, LeadID: 100})

		got, err := s.ListContacts(ctx, "a", chatter.ContactListQuery{LeadID: 100})
		if err != nil {
			t.Fatal(err)
		}
		if !equal(ids(got), []int64{3, 1}) {
			t.Fatalf("by lead 100: contacts %v, want [3 1] (newest first, workspace a only)", ids(got))
		}
		if got[0].Username != "olga" || !got[1].LeadAt.Equal(at) || got[1].TelegramID != 11 {
			t.Fatalf("links not returned whole: %+v %+v", got[0], got[1])
		}
		got, err = s.ListContacts(ctx, "a", chatter.ContactListQuery{ContactID: 2})
		if err != nil || !equal(ids(got), []int64{2}) || got[0].LeadID != 200 {
			t.Fatalf("by contact 2: %v %v", ids(got), err)
		}
		got, err = s.ListContacts(ctx, "a", chatter.ContactListQuery{ContactID: 4})
		if err != nil || len(got) != 0 {
			t.Fatalf("contact of workspace b seen from a: %v %v", ids(got), err)
		}
		got, err = s.ListContacts(ctx, "a", chatter.ContactListQuery{LeadID: 100, Limit: 1})
		if err != nil || !equal(ids(got), []int64{3}) {
			t.Fatalf("limit 1: %v %v", ids(got), err)
		}
		got, err = s.ListContacts(ctx, "a", chatter.ContactListQuery{LeadID: 999})
		if err != nil || len(got) != 0 {
			t.Fatalf("unknown lead: %v %v", ids(got), err)
		}
	})

	t.Run("InvalidQuery", func(t *testing.T) {
		s := newStore(t)
		for _, q := range []chatter.ContactListQuery{{}, {ContactID: 1, LeadID: 2}, {LeadID: -1}, {LeadID: 1, Limit: -1}} {
			if _, err := s.ListContacts(ctx, "a", q); !errors.Is(err, chatter.ErrInvalid) {
				t.Errorf("ListContacts(%+v) = %v, want ErrInvalid", q, err)
			}
		}
		if _, err := s.ListContacts(ctx, "", chatter.ContactListQuery{LeadID: 1}); !errors.Is(err, chatter.ErrInvalid) {
			t.Errorf("empty workspace: %v, want ErrInvalid", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		save(t, s, chatter.ContactLink{Workspace: "a", ContactID: 1, TelegramID: 11, LeadID: 100})
		save(t, s, chatter.ContactLink{Workspace: "b", ContactID: 1, TelegramID: 11, LeadID: 100})
		if err := s.DeleteContact(ctx, "a", 1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindContact(ctx, "a", chatter.ContactQuery{TelegramID: 11}); !errors.Is(err, chatter.ErrNotFound) {
			t.Fatalf("deleted link still found: %v", err)
		}
		if _, err := s.FindContact(ctx, "b", chatter.ContactQuery{TelegramID: 11}); err != nil {
			t.Fatalf("the other workspace's link is gone: %v", err)
		}
		if err := s.DeleteContact(ctx, "a", 1); err != nil {
			t.Fatalf("deleting a missing link: %v", err)
		}
		// The Telegram id is free for another contact now.
		save(t, s, chatter.ContactLink{Workspace: "a", ContactID: 2, TelegramID: 11})
	})
}
