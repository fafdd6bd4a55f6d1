package demo

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/keyword"
	"github.com/chatterhq/sdk/fieldmap"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgparse"
)

// Plan is honest: the real pipeline (keyword filter, amocrmsink with the
// demo mapping, the tgbot polling source through the repeating proxy, the
// tgparse source) makes of the generated conversations exactly what Plan
// says, in amoCRM and on the ledger; and after a restart on the same data
// directory (and the same store) the next conversations add exactly the
// next plan's difference: nothing is delivered twice, nothing is lost.
func TestPipelineMakesWhatPlanSays(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole pipeline twice")
	}
	dir := t.TempDir()
	pw := newParserWorld(t) // the server's store: it outlives the restart
	const seed, n = 7, 13
	// Precondition: after the restart, people of the first run write
	// again on both sides, so reused message ids or Telegram ids would
	// show as lost or merged messages.
	first, second := ScriptLen(seed, n), ScriptLen(seed, 2*n)
	before := map[personKey]bool{}
	for _, ev := range Script(seed, first) {
		before[personKey{ev.Person.Side, ev.Person.Index}] = true
	}
	again := map[Side]int{}
	for _, ev := range Script(seed, second)[first:] {
		if before[personKey{ev.Person.Side, ev.Person.Index}] {
			again[ev.Person.Side]++
		}
	}
	require.Positive(t, again[SideBot])
	require.Positive(t, again[SideGroups])
	for round := range 2 {
		env := startEnv(t, dir)
		runPipeline(t, env, pw, GeneratorConfig{Seed: seed, Conversations: n, Wait: noWait}, func(g *Generator) {
			plan, err := Plan(seed, g.Position())
			require.NoError(t, err)
			require.GreaterOrEqual(t, plan.Conversations, n*(round+1))
			checkAmoCRM(t, env, plan)
			counts, err := pw.store.CountEntries(context.Background(), chatter.LedgerQuery{Workspace: testWorkspace})
			require.NoError(t, err)
			want := map[chatter.State]int{chatter.StateDelivered: plan.Delivered, chatter.StateFiltered: plan.Filtered}
			for st, c := range counts {
				if c == 0 {
					delete(counts, st)
				}
			}
			if diff := cmp.Diff(want, counts); diff != "" {
				t.Fatalf("round %d: ledger (-plan +store):\n%s", round, diff)
			}
		})
		require.NoError(t, env.Close())
	}
}

// runPipeline wires the SDK's components against env as the server does,
// plays the generator, waits until the ledger holds every message in a
// final state, calls check, and stops everything.
func runPipeline(t *testing.T, env *Env, pw *parserWorld, gcfg GeneratorConfig, check func(*Generator)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, err := amocrm.NewClient(env.AmoCRMSubdomain, amocrm.WithBaseURL(env.AmoCRMURL),
		amocrm.WithLongLivedToken(env.AmoCRMToken), amocrm.WithRateLimit(1000, 100))
	require.NoError(t, err)
	marker, err := amocrmsink.EnsureMarkerField(ctx, client, "")
	require.NoError(t, err)
	cache := fieldmap.NewSchemaCache(fieldmap.FetchSchema(client), fieldmap.SchemaCacheConfig{})
	schema, _, err := cache.Get(ctx)
	require.NoError(t, err)
	spec, err := Mapping()
	require.NoError(t, err)
	mapper, err := fieldmap.Compile(spec, fieldmap.WithSchema(schema))
	require.NoError(t, err)
	sink, err := amocrmsink.New(amocrmsink.Config{Client: client, Mapper: mapper, Schema: cache,
		Contacts: pw.store, Leases: pw.store, MarkerField: marker,
		ContactTelegramIDField: env.ContactTelegramIDField, ContactUsernameField: env.ContactUsernameField,
		BatchSize: 10, BatchWait: 20 * time.Millisecond})
	require.NoError(t, err)
	set, err := keyword.Compile(Keywords())
	require.NoError(t, err)
	pipe, err := chatter.NewPipeline(chatter.PipelineConfig{Store: pw.store, Sink: sink, Workers: 10, Filter: keyword.NewLive(set)})
	require.NoError(t, err)
	bot, err := tgbot.NewClient(env.BotToken, tgbot.WithBaseURL(env.BotAPIURL))
	require.NoError(t, err)
	botSrc, err := tgbot.NewSource(tgbot.Config{Client: bot, Workspace: testWorkspace, PollTimeout: time.Second})
	require.NoError(t, err)
	pw.signIn(t, env)
	var chats []tgparse.ChatConfig
	for _, g := range env.Groups {
		chats = append(chats, tgparse.ChatConfig{Ref: g.Ref})
	}
	parser, err := tgparse.NewSource(tgparse.SourceConfig{Connection: pw.conn(env), Accounts: []tgparse.Account{env.ParserAccount},
		Chats: chats, Depth: tgparse.Depth{Count: 1000}, PollInterval: 200 * time.Millisecond})
	require.NoError(t, err)

	gen, err := NewGenerator(env, gcfg)
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for _, run := range []func(context.Context) error{pipe.Run,
		func(ctx context.Context) error { return botSrc.Run(ctx, pipe) },
		func(ctx context.Context) error { return parser.Run(ctx, pipe) }} {
		wg.Go(func() {
			if err := run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
				errs <- err
			}
		})
	}
	require.NoError(t, gen.Run(ctx))
	plan, err := Plan(gcfg.Seed, gen.Position())
	require.NoError(t, err)
	settleErr := waitLedger(ctx, pw.store, plan.Ledger())
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, settleErr)
	check(gen)
}

// waitLedger waits until n messages are on the ledger in a final state and
// none is in flight.
func waitLedger(ctx context.Context, store chatter.MessageStore, n int) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := store.CountEntries(ctx, chatter.LedgerQuery{Workspace: testWorkspace})
		if err != nil {
			return err
		}
		final := c[chatter.StateDelivered] + c[chatter.StateFiltered] + c[chatter.StateDead]
		if final >= n && final == c[chatter.StateReceived]+c[chatter.StateQueued]+c[chatter.StateDelivering]+c[chatter.StateFailed]+final {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("ledger did not settle: " + strconv.Itoa(int(final)) + " of " + strconv.Itoa(n))
		case <-tick.C:
		}
	}
}

// checkAmoCRM compares the fake amoCRM with the plan: the new leads,
// contacts and notes, person by person.
func checkAmoCRM(t *testing.T, env *Env, plan *Expectation) {
	t.Helper()
	crm := env.AmoCRM
	seeded := map[int64]bool{}
	for _, id := range []int64{20000001, 20000002, 30000001, 30000002} { // DemoAccount's leads and contacts
		seeded[id] = true
	}
	var newLeads, newContacts []int64
	for _, l := range crm.Leads() {
		if !seeded[l.ID] {
			newLeads = append(newLeads, l.ID)
		}
	}
	for _, c := range crm.Contacts() {
		if !seeded[c.ID] {
			newContacts = append(newContacts, c.ID)
		}
	}
	require.Len(t, newLeads, plan.Leads, "new leads")
	require.Len(t, newContacts, plan.Contacts, "new contacts")
	require.Len(t, crm.Notes(amocrmtest.EntityLeads, 0), plan.Notes, "notes on leads")

	byTelegramID := map[string]amocrmtest.Contact{}
	for _, c := range crm.Contacts() {
		if id := amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactTelegramID); id != "" {
			_, dup := byTelegramID[id]
			require.False(t, dup, "two contacts with Telegram id %s", id)
			byTelegramID[id] = c
		}
	}
	for _, pe := range plan.People {
		tgID, ok := env.TelegramID(pe.Person)
		require.True(t, ok)
		c, ok := byTelegramID[strconv.FormatInt(tgID, 10)]
		require.True(t, ok, "no contact for %s (%d)", pe.Person.Name(), tgID)
		require.Len(t, c.LeadIDs, 1, "%s has one lead", pe.Person.Name())
		lead := c.LeadIDs[0]
		require.Equal(t, pe.Lead, !seeded[lead], "%s: new lead", pe.Person.Name())
		require.Len(t, crm.Notes(amocrmtest.EntityLeads, lead), pe.Notes, "notes of %s", pe.Person.Name())
		var phones []string
		for _, fv := range c.CustomFieldsValues {
			if fv.FieldCode == "PHONE" {
				for _, v := range fv.Values {
					s, _ := v.Value.(string)
					phones = append(phones, s)
				}
			}
		}
		if pe.Person.Customer {
			require.Equal(t, pe.Notes, plan.CustomerNotes)
			continue
		}
		// Several messages of one person are delivered concurrently here:
		// the first delivered made the contact, with its phone or none.
		require.LessOrEqual(t, len(phones), 1, "%s: phones %v", pe.Person.Name(), phones)
		for _, ph := range phones {
			require.True(t, slices.Contains(pe.Phones, ph), "%s: phone %s not among %v", pe.Person.Name(), ph, pe.Phones)
		}
	}
}
