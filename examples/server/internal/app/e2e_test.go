package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/demo"
)

// crmCounts is what the fake amoCRM holds beyond the demo account's seed.
type crmCounts struct {
	Leads, Contacts, Notes int
}

func countCRM(t *testing.T, crm *amocrmtest.Server, base crmCounts) (crmCounts, map[string]int) {
	t.Helper()
	var c crmCounts
	markers := map[string]int{} // message key → notes carrying it
	for _, l := range crm.Leads() {
		c.Leads++
		for _, n := range crm.Notes(amocrmtest.EntityLeads, l.ID) {
			c.Notes++
			text, _ := n.Params["text"].(string)
			if i := strings.LastIndex(text, amocrmsink.MarkerPrefix); i >= 0 {
				markers[strings.TrimSpace(text[i+len(amocrmsink.MarkerPrefix):])]++
			}
		}
	}
	c.Contacts = len(crm.Contacts())
	return crmCounts{Leads: c.Leads - base.Leads, Contacts: c.Contacts - base.Contacts, Notes: c.Notes - base.Notes}, markers
}

// settle waits until the workspace's ledger holds want messages, none of
// them still waiting for delivery.
func settle(t *testing.T, h *apptest.Harness, want int) map[chatter.State]int {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		counts, err := h.App.Store().CountEntries(ctx, chatter.LedgerQuery{Workspace: apptest.Workspace})
		require.NoError(t, err)
		total, waiting := 0, 0
		for st, n := range counts {
			total += n
			switch st {
			case chatter.StateReceived, chatter.StateQueued, chatter.StateDelivering, chatter.StateFailed:
				waiting += n
			}
		}
		if total >= want && waiting == 0 {
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("ledger did not settle: want %d messages, have %v", want, counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func play(t *testing.T, h *apptest.Harness, conversations int) *demo.Generator {
	t.Helper()
	gen, err := demo.NewGenerator(h.Env, demo.GeneratorConfig{Seed: 7, Rate: 1000, Conversations: conversations,
		Wait: func(ctx context.Context, d time.Duration) error { return ctx.Err() }})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, gen.Run(ctx))
	return gen
}

// TestDemoEndToEnd runs the demo wiring: generated conversations into the
// bot and the two parsed groups (repeats, edits, phones) through the real
// sources, pipeline, store and sink into the fake amoCRM; then a restart on
// the same directory and more conversations. Every message ends in a final
// state, amoCRM holds exactly the planned leads, contacts and notes, and no
// message is delivered twice.
func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	h := apptest.Start(t, apptest.Options{Dir: dir})
	crm := h.Env.AmoCRM
	seedLeads, seedContacts, seedNotes := 0, len(crm.Contacts()), 0
	for _, l := range crm.Leads() {
		seedLeads++
		seedNotes += len(crm.Notes(amocrmtest.EntityLeads, l.ID))
	}
	base := crmCounts{Leads: seedLeads, Contacts: seedContacts, Notes: seedNotes}

	gen := play(t, h, 8)
	plan, err := demo.Plan(7, gen.Position())
	require.NoError(t, err)
	counts := settle(t, h, plan.Ledger())
	want := map[chatter.State]int{chatter.StateDelivered: plan.Delivered, chatter.StateFiltered: plan.Filtered}
	if d := cmp.Diff(want, counts); d != "" {
		t.Fatalf("ledger after the first run (-plan +got):\n%s", d)
	}
	got, markers := countCRM(t, crm, base)
	if d := cmp.Diff(crmCounts{Leads: plan.Leads, Contacts: plan.Contacts, Notes: plan.Notes}, got); d != "" {
		t.Fatalf("amoCRM after the first run (-plan +got):\n%s", d)
	}
	for k, n := range markers {
		require.Equal(t, 1, n, "message %s has %d notes", k, n)
	}

	// Restart on the same directory: the fakes and the store continue.
	h.Stop(t)
	h = apptest.Start(t, apptest.Options{Dir: dir})
	crm = h.Env.AmoCRM
	gen = play(t, h, 6)
	plan, err = demo.Plan(7, gen.Position())
	require.NoError(t, err)
	counts = settle(t, h, plan.Ledger())
	want = map[chatter.State]int{chatter.StateDelivered: plan.Delivered, chatter.StateFiltered: plan.Filtered}
	if d := cmp.Diff(want, counts); d != "" {
		t.Fatalf("ledger after the restart (-plan +got):\n%s", d)
	}
	got, markers = countCRM(t, crm, base)
	if d := cmp.Diff(crmCounts{Leads: plan.Leads, Contacts: plan.Contacts, Notes: plan.Notes}, got); d != "" {
		t.Fatalf("amoCRM after the restart (-plan +got):\n%s", d)
	}
	for k, n := range markers {
		require.Equal(t, 1, n, "message %s delivered %d times", k, n)
	}
	require.Len(t, markers, plan.Delivered, "every delivered message has its note")
}
