package tgbot_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/chatter/pgstore"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

// settingsKind opens a settings store; reopen gives a new handle on the same
// data, as a restarted process gets.
type settingsKind struct {
	name string
	open func(t *testing.T) (first chatter.SettingsStore, reopen func() chatter.SettingsStore)
}

var settingsKinds = []settingsKind{
	{"sqlite", func(t *testing.T) (chatter.SettingsStore, func() chatter.SettingsStore) {
		path := filepath.Join(t.TempDir(), "chatter.db")
		open := func() chatter.SettingsStore {
			st, err := sqlitestore.Open(context.Background(), path, sqlitestore.Config{})
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			return st
		}
		first := open()
		return first, func() chatter.SettingsStore {
			require.NoError(t, first.(*sqlitestore.Store).Close())
			return open()
		}
	}},
	{"postgres", func(t *testing.T) (chatter.SettingsStore, func() chatter.SettingsStore) {
		url := os.Getenv("CHATTER_TEST_POSTGRES_URL")
		if url == "" {
			t.Skip("CHATTER_TEST_POSTGRES_URL is not set; skipping PostgreSQL")
		}
		ctx := context.Background()
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		schema := "tgbot_test_" + hex.EncodeToString(b)
		open := func() chatter.SettingsStore {
			pool, err := pgxpool.New(ctx, url)
			require.NoError(t, err)
			t.Cleanup(pool.Close)
			st, err := pgstore.New(pool, pgstore.Config{Schema: schema})
			require.NoError(t, err)
			require.NoError(t, st.Migrate(ctx))
			return st
		}
		t.Cleanup(func() {
			pool, err := pgxpool.New(ctx, url)
			if err == nil {
				_, _ = pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
				pool.Close()
			}
		})
		return open(), open
	}},
	{"mem", func(*testing.T) (chatter.SettingsStore, func() chatter.SettingsStore) {
		st := chattertest.NewMemStore()
		return st, func() chatter.SettingsStore { return st }
	}},
}

func TestChatRegistrySurvivesRestart(t *testing.T) {
	for _, kind := range settingsKinds {
		t.Run(kind.name, func(t *testing.T) {
			store, reopen := kind.open(t)
			srv := tgbottest.NewServer(t)
			token, bot := srv.AddBot("shop_bot")
			owner := srv.AddUser("owner", "Owner")
			alice := srv.AddUser("alice", "Alice")
			group := srv.AddChat(tgbottest.ChatGroup, "Sales", "", owner)
			channel := srv.AddChat(tgbottest.ChatChannel, "News", "shop_news", owner)
			leads := srv.AddChat(tgbottest.ChatSupergroup, "Leads", "", owner)

			var events atomic.Int32
			cfg := pollingConfig(newClient(t, srv, token))
			cfg.Store = store
			cfg.OnChatEvent = func(context.Context, tgbot.ChatEvent) { events.Add(1) }
			first, err := tgbot.NewSource(cfg)
			require.NoError(t, err)
			require.True(t, first.Registry().Stored())
			stop := run(t, first, &recorder{})
			srv.AddBotToChat(group, bot, owner)
			srv.PromoteBot(group, bot, owner, tgbottest.AdminRights())
			srv.AddBotToChat(channel, bot, owner)
			srv.AddBotToChat(leads, bot, owner)
			srv.RestrictBot(leads, bot, owner, false)
			srv.BlockBot(alice, bot)
			super := srv.MigrateToSupergroup(group)
			waitFor(t, "seven events", func() bool { return events.Load() == 7 })
			waitFor(t, "all confirmed", func() bool { return bot.Pending() == 0 })
			require.NoError(t, stop())
			before := first.Registry().List()
			require.Len(t, before, 5) // group, supergroup, channel, leads, alice's private chat

			// A new process: a new Source over the same store, and nothing
			// new from Telegram.
			cfg.Store = reopen()
			second, err := tgbot.NewSource(cfg)
			require.NoError(t, err)
			require.False(t, second.Registry().Loaded())
			run(t, second, &recorder{})
			waitFor(t, "registry loaded", second.Registry().Loaded)
			if d := cmp.Diff(before, second.Registry().List()); d != "" {
				t.Fatalf("registry after restart (-before +after):\n%s", d)
			}
			st, ok := second.Registry().Get(group.ID)
			require.True(t, ok)
			if d := cmp.Diff([]any{super.ID, false, tgbot.StatusAdministrator, true},
				[]any{st.MigratedTo, st.Present(), st.Member.Status, st.Member.CanManageChat}); d != "" {
				t.Fatalf("the migrated group (-want +got):\n%s", d)
			}
			if st, _ := second.Registry().Get(leads.ID); st.Member.Status != tgbot.StatusRestricted || st.Member.CanSendMessages {
				t.Fatalf("restricted chat: %+v", st)
			}
		})
	}
}

// flakySettings wraps a settings store: it fails while down is set and
// counts writes.
type flakySettings struct {
	chatter.SettingsStore
	down atomic.Bool
	puts atomic.Int32
}

var errStoreDown = errors.New("database is locked")

func (f *flakySettings) PutSetting(ctx context.Context, ws, key string, v json.RawMessage, version int64) (*chatter.Setting, error) {
	if f.down.Load() {
		return nil, errStoreDown
	}
	f.puts.Add(1)
	return f.SettingsStore.PutSetting(ctx, ws, key, v, version)
}

func (f *flakySettings) ListSettings(ctx context.Context, ws, prefix string) ([]*chatter.Setting, error) {
	if f.down.Load() {
		return nil, errStoreDown
	}
	return f.SettingsStore.ListSettings(ctx, ws, prefix)
}

func TestStoredRegistryAcknowledgesOnlyWhatIsStored(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	owner := srv.AddUser("owner", "Owner")
	bob := srv.AddUser("bob", "Bob")
	group := srv.AddChat(tgbottest.ChatSupergroup, "Sales", "", owner)
	mem := chattertest.NewMemStore()
	store := &flakySettings{SettingsStore: mem}
	store.down.Store(true) // at start: Run waits for the store

	var mu sync.Mutex
	var kinds []tgbot.ChatEventKind
	cfg := pollingConfig(newClient(t, srv, token))
	cfg.Store = store
	cfg.OnChatEvent = func(_ context.Context, ev tgbot.ChatEvent) { mu.Lock(); kinds = append(kinds, ev.Kind); mu.Unlock() }
	src, err := tgbot.NewSource(cfg)
	require.NoError(t, err)
	rec := &recorder{}
	run(t, src, rec)
	srv.AddBotToChat(group, bot, owner)
	waitFor(t, "a failed load", func() bool { return src.Status().LastError != "" })
	require.Zero(t, bot.Calls("getUpdates"), "updates were received before the registry was loaded")

	store.down.Store(false)
	waitFor(t, "loaded", src.Registry().Loaded)
	waitFor(t, "the addition stored", func() bool { return bot.Pending() == 0 })
	require.Equal(t, int32(1), store.puts.Load())

	// A promotion while the store is down stays at Telegram, and its event
	// waits for the store.
	store.down.Store(true)
	srv.PromoteBot(group, bot, owner, tgbottest.AdminRights())
	polls := bot.Calls("getUpdates")
	waitFor(t, "retries", func() bool { return bot.Calls("getUpdates") >= polls+2 })
	require.Equal(t, 1, bot.Pending(), "a membership change was acknowledged before it was stored")
	mu.Lock()
	if d := cmp.Diff([]tgbot.ChatEventKind{tgbot.ChatAdded}, kinds); d != "" {
		t.Fatalf("events while the store is down (-want +got):\n%s", d)
	}
	mu.Unlock()
	store.down.Store(false)
	waitFor(t, "the promotion stored", func() bool { return bot.Pending() == 0 })

	// Messages that reveal nothing new cost no writes.
	for _, text := range []string{"one", "two", "three"} {
		srv.UserWrites(group, bob, text)
	}
	waitFor(t, "messages", func() bool { return len(rec.texts()) == 3 })
	require.Equal(t, int32(2), store.puts.Load())
	mu.Lock()
	if d := cmp.Diff([]tgbot.ChatEventKind{tgbot.ChatAdded, tgbot.ChatPromoted}, kinds); d != "" {
		t.Fatalf("events (-want +got):\n%s", d)
	}
	mu.Unlock()

	// One setting per chat, under the bot's prefix.
	sets, err := mem.ListSettings(t.Context(), "acme", tgbot.ChatRegistryKeyPrefix(bot.ID()))
	require.NoError(t, err)
	require.Len(t, sets, 1)
	var stored tgbot.ChatState
	require.NoError(t, json.Unmarshal(sets[0].Value, &stored))
	if d := cmp.Diff([]any{group.ID, "Sales", tgbot.StatusAdministrator}, []any{stored.Chat.ID, stored.Chat.Title, stored.Member.Status}); d != "" {
		t.Fatalf("stored chat (-want +got):\n%s", d)
	}
}

func TestStoredRegistryKeepsBotsApartAndTakesOverConflicts(t *testing.T) {
	ctx := t.Context()
	mem := chattertest.NewMemStore()
	a, err := tgbot.NewStoredChatRegistry(mem, "acme", 7)
	require.NoError(t, err)
	other, err := tgbot.NewStoredChatRegistry(mem, "acme", 70)
	require.NoError(t, err)
	require.NoError(t, a.Load(ctx))
	require.NoError(t, other.Load(ctx))
	a.Set(tgbot.ChatState{Chat: tgbot.Chat{ID: -100, Type: "supergroup", Title: "A"}, Member: tgbot.ChatMember{Status: tgbot.StatusMember}})
	other.Set(tgbot.ChatState{Chat: tgbot.Chat{ID: -200, Type: "supergroup", Title: "B"}})
	require.NoError(t, a.Save(ctx))
	require.NoError(t, other.Save(ctx))

	// A second process of bot 7 writes the same chat: both saves win in
	// turn, the last one stays.
	twin, err := tgbot.NewStoredChatRegistry(mem, "acme", 7)
	require.NoError(t, err)
	require.NoError(t, twin.Load(ctx))
	twin.Set(tgbot.ChatState{Chat: tgbot.Chat{ID: -100, Type: "supergroup", Title: "A2"}, Member: tgbot.ChatMember{Status: tgbot.StatusAdministrator}})
	require.NoError(t, twin.Save(ctx))
	a.Set(tgbot.ChatState{Chat: tgbot.Chat{ID: -100, Type: "supergroup", Title: "A3"}, Member: tgbot.ChatMember{Status: tgbot.StatusKicked}})
	require.NoError(t, a.Save(ctx))

	fresh, err := tgbot.NewStoredChatRegistry(mem, "acme", 7)
	require.NoError(t, err)
	require.NoError(t, fresh.Load(ctx))
	var titles []string
	for _, st := range fresh.List() {
		titles = append(titles, st.Chat.Title+"/"+st.Member.Status)
	}
	if d := cmp.Diff([]string{"A3/kicked"}, titles); d != "" {
		t.Fatalf("bot 7's chats (-want +got):\n%s", d)
	}

	_, err = tgbot.NewStoredChatRegistry(nil, "acme", 7)
	require.Error(t, err)
	c, _ := tgbot.NewClient("7:x")
	_, err = tgbot.NewSource(tgbot.Config{Client: c, Workspace: "acme", Store: mem, Registry: tgbot.NewChatRegistry()})
	require.Error(t, err, "Registry and Store together")
}

func TestStoredRegistrySaveFailureKeepsChangesToSave(t *testing.T) {
	ctx := t.Context()
	store := &flakySettings{SettingsStore: chattertest.NewMemStore()}
	r, err := tgbot.NewStoredChatRegistry(store, "acme", 7)
	require.NoError(t, err)
	require.NoError(t, r.Load(ctx))
	r.Set(tgbot.ChatState{Chat: tgbot.Chat{ID: -1, Type: "group", Title: "G"}})
	store.down.Store(true)
	require.ErrorIs(t, r.Save(ctx), errStoreDown)
	store.down.Store(false)
	require.NoError(t, r.Save(ctx))
	fresh, _ := tgbot.NewStoredChatRegistry(store, "acme", 7)
	require.NoError(t, fresh.Load(ctx))
	require.Len(t, fresh.List(), 1)
}
