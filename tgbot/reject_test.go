package tgbot_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

// An update that is a message but cannot become a valid chatter.Message (here
// message_id 0) is handed to the pipeline, which records it on the ledger as
// rejected with the reason and the raw update, and the update is
// acknowledged; it used to be a log line only.
func TestRefusedUpdateIsRecordedAsRejected(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	chat := srv.PrivateChat(alice, bot)
	srv.UserWrites(chat, alice, "нужен ремонт кухни", func(m *tgbottest.Message) { m.MessageID = 0 })
	srv.UserWrites(chat, alice, "и ванной тоже")

	store := chattertest.NewMemStore()
	p, err := chatter.NewPipeline(chatter.PipelineConfig{Store: store, Sink: chattertest.NewRecordingSink()})
	require.NoError(t, err)
	src, err := tgbot.NewSource(pollingConfig(newClient(t, srv, token)))
	require.NoError(t, err)
	stop := run(t, src, p)
	waitFor(t, "both updates on the ledger", func() bool {
		c, err := store.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: "acme"})
		return err == nil && c[chatter.StateRejected] == 1 && c[chatter.StateQueued] == 1
	})
	waitFor(t, "both updates confirmed", func() bool { return bot.Pending() == 0 })
	require.NoError(t, stop())

	es, err := store.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: "acme", States: []chatter.State{chatter.StateRejected}, WithMessage: true})
	require.NoError(t, err)
	require.Len(t, es, 1)
	e := es[0]
	botID := strconv.FormatInt(bot.ID(), 10)
	require.Equal(t, chatter.SourceRejected, e.Key.Source, "the unusable key is replaced by a synthetic one")
	require.NotNil(t, e.Rejection)
	require.Equal(t, "key.message_id", e.Rejection.Field)
	require.NotEmpty(t, e.Rejection.Reason.RU)
	require.NotEmpty(t, e.Rejection.Reason.EN)
	require.Equal(t, "tgbot:"+botID+":"+strconv.FormatInt(alice.ID, 10)+":0", e.Rejection.Key)
	require.True(t, strings.Contains(e.Rejection.Raw, `"message_id":0`) && strings.Contains(e.Rejection.Raw, "update_id"),
		"raw update kept: %q", e.Rejection.Raw)
	require.Equal(t, "нужен ремонт кухни", e.Message.Text)
	require.Equal(t, alice.ID, e.Message.Sender.ID)
}

// A handler that refuses the invalid message (not a Pipeline) leaves the old
// behaviour: the update is skipped and acknowledged, not retried forever. A
// handler failing for another reason (the store is down) gets the update
// again.
func TestRefusedUpdateWithOtherHandlers(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	chat := srv.PrivateChat(alice, bot)
	srv.UserWrites(chat, alice, "битое", func(m *tgbottest.Message) { m.MessageID = 0 })
	srv.UserWrites(chat, alice, "целое")
	var down = true
	rec := &recorder{fail: func(m *chatter.Message) error {
		if err := m.Validate(); err != nil {
			if down {
				down = false
				return errors.New("store unavailable")
			}
			return err // a strict handler: refuses what is invalid
		}
		return nil
	}}
	src, err := tgbot.NewSource(pollingConfig(newClient(t, srv, token)))
	require.NoError(t, err)
	stop := run(t, src, rec)
	waitFor(t, "the valid message", func() bool { return len(rec.texts()) == 1 })
	waitFor(t, "both updates confirmed", func() bool { return bot.Pending() == 0 })
	require.NoError(t, stop())
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Equal(t, 3, rec.called, "the invalid update: once failing, once refused; then the valid one")
	require.Equal(t, []string{"целое"}, []string{rec.msgs[0].Text})
}
