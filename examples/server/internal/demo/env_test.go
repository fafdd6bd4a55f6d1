package demo

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/tgbot"
)

func TestStartRequiresDir(t *testing.T) {
	_, err := Start(context.Background(), Config{})
	require.ErrorContains(t, err, "Config.Dir")
}

// The three fakes start on loopback and answer the SDK's own clients with
// what Env says: the amoCRM token, the bot token, the parser account.
func TestFakesStartAndAreReachable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chatter-data")
	env := startEnv(t, dir)
	require.False(t, env.Restored)
	for _, u := range []string{env.AmoCRMURL, env.BotAPIURL} {
		pu, err := url.Parse(u)
		require.NoError(t, err)
		require.Equal(t, "127.0.0.1", pu.Hostname(), u)
	}
	ctx := context.Background()

	amo, err := amocrm.NewClient(env.AmoCRMSubdomain, amocrm.WithBaseURL(env.AmoCRMURL), amocrm.WithLongLivedToken(env.AmoCRMToken))
	require.NoError(t, err)
	acct, _, err := amo.Account.Get(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, env.AmoCRMSubdomain, acct.Subdomain)
	require.Len(t, env.AmoCRM.Leads(), 2, "the demo account's leads")
	require.True(t, env.AmoCRMTokenExpiry.After(time.Now().Add(300*24*time.Hour)))
	require.Equal(t, int(amocrmtest.DemoContactTelegramID), env.ContactTelegramIDField)
	require.Equal(t, int(amocrmtest.DemoContactTelegramUsername), env.ContactUsernameField)

	bot, err := tgbot.NewClient(env.BotToken, tgbot.WithBaseURL(env.BotAPIURL))
	require.NoError(t, err)
	me, err := bot.GetMe(ctx)
	require.NoError(t, err)
	require.Equal(t, env.BotID, me.ID)
	require.Equal(t, DefaultBotUsername, me.Username)

	pw := newParserWorld(t)
	self := pw.signIn(t, env)
	require.Equal(t, parserUsername, self.Username)
	require.Len(t, env.Groups, 2) // read by a tgparse source in TestPlanMatchesWhatTheFakesEmit

	for _, name := range []string{StateFile, AmoCRMFile, HistoryFile} {
		_, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
	}
}

// A second start on the same directory continues: amoCRM keeps its
// entities and ids (including what the API changed), Telegram ids and
// message ids continue in both fakes, the bot updates nobody fetched come
// again, and the parser account signs in again with a code from the fake.
func TestRestartContinues(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	env := startEnv(t, dir)
	pw := newParserWorld(t)
	pw.signIn(t, env)

	amo, err := amocrm.NewClient(env.AmoCRMSubdomain, amocrm.WithBaseURL(env.AmoCRMURL), amocrm.WithLongLivedToken(env.AmoCRMToken))
	require.NoError(t, err)
	created, _, err := amo.Leads.Create(ctx, []*amocrm.Lead{{Name: "Ремонт офиса", Price: 90000,
		CustomFieldsValues: amocrm.CustomFieldsValues{
			amocrm.SetField(int(amocrmtest.DemoLeadFirstMessageAt), amocrm.DateValue(time.Unix(1_750_000_000, 0))),
			amocrm.SetField(int(amocrmtest.DemoLeadConsent), amocrm.BoolValue(true)),
			amocrm.SetField(int(amocrmtest.DemoLeadSource), amocrm.EnumValue(int(amocrmtest.DemoSourceParsing))),
		}}})
	require.NoError(t, err)
	_, _, err = amo.Notes.Create(ctx, amocrm.EntityLeads, []*amocrm.Note{{EntityID: created[0].ID, NoteType: amocrm.NoteCommon,
		Params: amocrm.NoteParams{Text: "Первая заметка"}}})
	require.NoError(t, err)
	marker, err := amocrmsink.EnsureMarkerField(ctx, amo, "")
	require.NoError(t, err)
	require.Equal(t, env.MarkerField, marker)

	gen, err := NewGenerator(env, GeneratorConfig{Seed: 5, Wait: noWait})
	require.NoError(t, err)
	first := ScriptLen(5, 6)
	runUntil(t, gen, first)
	played1 := gen.Played()
	require.Len(t, played1, first)

	// The app fetched and confirmed part of the bot's updates before
	// stopping; the rest is still in the fake.
	all := botGet(t, env, 0)
	require.NotEmpty(t, all)
	off := all[len(all)/2].UpdateID
	botGet(t, env, off)
	require.Positive(t, env.bot.bot.Pending())
	var unconfirmed []dupKey
	before := map[dupKey]bool{}
	for _, u := range all {
		k := keyOf(u)
		if u.UpdateID >= off && !slices.Contains(unconfirmed, k) {
			unconfirmed = append(unconfirmed, k)
		}
		before[k] = true
	}
	posts1 := pw.readGroups(t, env, groupPosts(played1))

	// The server's bot answered someone: its message takes an id in
	// that chat too.
	botClient, err := tgbot.NewClient(env.BotToken, tgbot.WithBaseURL(env.BotAPIURL))
	require.NoError(t, err)
	annaID, _ := env.TelegramID(personAt(SideBot, 0))
	reply, err := botClient.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: annaID, Text: "Спасибо, менеджер скоро ответит."})
	require.NoError(t, err)

	leads, contacts, notes := env.AmoCRM.Leads(), env.AmoCRM.Contacts(), env.AmoCRM.Notes(amocrmtest.EntityLeads, 0)
	fields := env.AmoCRM.CustomFields(amocrmtest.EntityLeads)
	ids := map[Person]int64{}
	for _, p := range []Person{personAt(SideBot, 0), personAt(SideBot, 1), personAt(SideGroups, 0)} {
		id, ok := env.TelegramID(p)
		require.True(t, ok)
		ids[p] = id
	}
	require.NoError(t, env.Close())
	require.NoError(t, env.Close(), "Close twice")

	env2 := startEnv(t, dir)
	require.True(t, env2.Restored)
	require.Equal(t, env.BotID, env2.BotID)
	require.NotEqual(t, env.BotToken, env2.BotToken, "credentials are new every start")
	if diff := cmp.Diff(leads, env2.AmoCRM.Leads()); diff != "" {
		t.Fatalf("leads after restart (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(contacts, env2.AmoCRM.Contacts()); diff != "" {
		t.Fatalf("contacts after restart (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(notes, env2.AmoCRM.Notes(amocrmtest.EntityLeads, 0)); diff != "" {
		t.Fatalf("notes after restart (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(fields, env2.AmoCRM.CustomFields(amocrmtest.EntityLeads)); diff != "" {
		t.Fatalf("lead fields after restart (-before +after):\n%s", diff)
	}
	require.Equal(t, env.MarkerField, env2.MarkerField)
	for p, want := range ids {
		got, ok := env2.TelegramID(p)
		require.True(t, ok)
		require.Equal(t, want, got, "Telegram id of %s person %d", p.Side, p.Index)
	}

	// New entities get new ids after the restored ones.
	amo2, err := amocrm.NewClient(env2.AmoCRMSubdomain, amocrm.WithBaseURL(env2.AmoCRMURL), amocrm.WithLongLivedToken(env2.AmoCRMToken))
	require.NoError(t, err)
	created2, _, err := amo2.Leads.Create(ctx, []*amocrm.Lead{{Name: "Ещё заявка"}})
	require.NoError(t, err)
	require.Greater(t, created2[0].ID, created[0].ID)
	n2, _, err := amo2.Notes.Create(ctx, amocrm.EntityLeads, []*amocrm.Note{{EntityID: created2[0].ID, NoteType: amocrm.NoteCommon,
		Params: amocrm.NoteParams{Text: "Вторая"}}})
	require.NoError(t, err)
	require.Greater(t, int64(n2[0].ID), notes[len(notes)-1].ID)
	old, err := amocrm.NewClient(env.AmoCRMSubdomain, amocrm.WithBaseURL(env2.AmoCRMURL), amocrm.WithLongLivedToken(env.AmoCRMToken))
	require.NoError(t, err)
	_, _, err = old.Account.Get(ctx, nil)
	require.Error(t, err, "the token of the first start is unknown to the second")

	// The updates the app had not fetched come again, with the same
	// message ids; then the generator continues with new ids.
	gen2, err := NewGenerator(env2, GeneratorConfig{Seed: 5, Wait: noWait})
	require.NoError(t, err)
	require.Equal(t, first, gen2.Position())
	runUntil(t, gen2, ScriptLen(5, 12))
	var again []dupKey
	for _, u := range drainBot(t, env2) {
		if k := keyOf(u); !slices.Contains(again, k) {
			again = append(again, k)
		}
	}
	require.Greater(t, len(again), len(unconfirmed))
	if diff := cmp.Diff(unconfirmed, again[:len(unconfirmed)], cmp.AllowUnexported(dupKey{})); diff != "" {
		t.Fatalf("pending updates after restart (-before +after):\n%s", diff)
	}
	for _, k := range again[len(unconfirmed):] {
		require.False(t, before[k], "message %+v of the second run has the key of one of the first", k)
	}

	// After the bot's reply, the next message in that chat has the next id.
	next := env2.bot.write(0, "Жду звонка", false)
	require.Greater(t, next.MessageID, reply.MessageID)

	// The parser signs in again (the new fake does not know the old
	// session) and reads only the new posts.
	pw.signIn(t, env2)
	posts2 := pw.readGroups(t, env2, groupPosts(gen2.Played()))
	require.Len(t, posts2, groupPosts(gen2.Played()))
	keys := map[string]bool{}
	for _, m := range append(posts1, posts2...) {
		require.False(t, keys[m.Key.String()], "post %s read twice", m.Key)
		keys[m.Key.String()] = true
	}
}

func runUntil(t *testing.T, g *Generator, position int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	g.cfg.Wait = func(ctx context.Context, _ time.Duration) error {
		if g.Position() >= position {
			cancel()
			return ctx.Err()
		}
		return nil
	}
	go func() { done <- g.Run(ctx) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("generator did not stop")
	}
	require.Equal(t, position, g.Position())
}

func groupPosts(ps []Played) int {
	n := 0
	for _, p := range ps {
		if p.Chat != ChatBot {
			n++
		}
	}
	return n
}

func keyOf(u rawUpdate) dupKey {
	m := u.Message
	if m == nil {
		m = u.EditedMessage
	}
	if m == nil {
		return dupKey{}
	}
	return dupKey{chat: m.Chat.ID, message: m.MessageID, edit: m.EditDate}
}
