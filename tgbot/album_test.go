package tgbot_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

// handed is what an album test compares of a handed-on message.
type handed struct {
	ChatID, MessageID int64
	Text              string
	Files             []string
}

func (r *recorder) handed() []handed {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []handed
	for _, m := range r.msgs {
		h := handed{ChatID: m.Key.ChatID, MessageID: m.Key.MessageID, Text: m.Text}
		for _, a := range m.Attachments {
			h.Files = append(h.Files, a.FileID)
		}
		out = append(out, h)
	}
	return out
}

func photoIDs(parts []*tgbottest.Message) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p.Photo[len(p.Photo)-1].FileID) // the largest size
	}
	return out
}

func albumOf3() []tgbottest.MessageOption {
	return []tgbottest.MessageOption{tgbottest.WithPhoto(1280, 960, 1000), tgbottest.WithPhoto(800, 600, 900), tgbottest.WithPhoto(640, 480, 800)}
}

func TestAlbumBecomesOneMessage(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	bob := srv.AddUser("bob", "Bob")
	chat := srv.PrivateChat(alice, bot)
	cfg := pollingConfig(newClient(t, srv, token))
	cfg.AlbumWindow = 100 * time.Millisecond
	src, err := tgbot.NewSource(cfg)
	require.NoError(t, err)
	rec := &recorder{}
	run(t, src, rec)

	parts := srv.UserSendsAlbum(chat, alice, "Вот фото поломки", albumOf3()...)
	waitFor(t, "the album", func() bool { return len(rec.handed()) == 1 })
	// An album ended by the next message of its chat goes before it,
	// whatever the window; another chat's message does not end it.
	second := srv.UserSendsAlbum(chat, alice, "", tgbottest.WithPhoto(100, 100, 10), tgbottest.WithDocument("счёт.pdf", "application/pdf", 2048))
	bobMsg := srv.UserWrites(srv.PrivateChat(bob, bot), bob, "Привет")
	after := srv.UserWrites(chat, alice, "Это всё")
	waitFor(t, "four messages", func() bool { return len(rec.handed()) == 4 })
	waitFor(t, "all confirmed", func() bool { return bot.Pending() == 0 })

	want := []handed{
		{ChatID: chat.ID, MessageID: parts[0].MessageID, Text: "Вот фото поломки", Files: photoIDs(parts)},
		{ChatID: bob.ID, MessageID: bobMsg.MessageID, Text: "Привет"},
		{ChatID: chat.ID, MessageID: second[0].MessageID, Files: []string{second[0].Photo[1].FileID, second[1].Document.FileID}},
		{ChatID: chat.ID, MessageID: after.MessageID, Text: "Это всё"},
	}
	if d := cmp.Diff(want, rec.handed()); d != "" {
		t.Fatalf("handed on (-want +got):\n%s", d)
	}
	if d := cmp.Diff(int64(4), src.Status().Handled); d != "" {
		t.Fatalf("handled (-want +got):\n%s", d)
	}
}

func TestAlbumWindowNegativeHandsPartsOnAlone(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	cfg := pollingConfig(newClient(t, srv, token))
	cfg.AlbumWindow = -1
	src, err := tgbot.NewSource(cfg)
	require.NoError(t, err)
	rec := &recorder{}
	run(t, src, rec)
	parts := srv.UserSendsAlbum(srv.PrivateChat(alice, bot), alice, "три фото", albumOf3()...)
	waitFor(t, "three messages", func() bool { return len(rec.handed()) == 3 })
	var ids []int64
	for _, h := range rec.handed() {
		ids = append(ids, h.MessageID)
	}
	if d := cmp.Diff([]int64{parts[0].MessageID, parts[1].MessageID, parts[2].MessageID}, ids); d != "" {
		t.Fatalf("parts (-want +got):\n%s", d)
	}
}

// TestAlbumIsNotAcknowledgedBeforeItIsHandedOn checks durability: while an
// album waits for its window the offset does not pass its first part, even
// when later updates were handled, so a process that dies (here: whose
// handler refuses the album until the end) leaves the album to the next.
func TestAlbumIsNotAcknowledgedBeforeItIsHandedOn(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	bob := srv.AddUser("bob", "Bob")
	chat := srv.PrivateChat(alice, bot)
	client := newClient(t, srv, token)

	cfg := pollingConfig(client)
	cfg.AlbumWindow = time.Hour // never due while the first source runs
	first, err := tgbot.NewSource(cfg)
	require.NoError(t, err)
	var refused atomic.Int32
	down := &recorder{fail: func(m *chatter.Message) error {
		if len(m.Attachments) > 0 {
			refused.Add(1)
			return errors.New("store unavailable")
		}
		return nil
	}}
	stop := run(t, first, down)
	parts := srv.UserSendsAlbum(chat, alice, "фото", albumOf3()...)
	bobMsg := srv.UserWrites(srv.PrivateChat(bob, bot), bob, "later, in another chat")
	waitFor(t, "bob's message", func() bool { return len(down.handed()) == 1 })
	polls := bot.Calls("getUpdates")
	waitFor(t, "two more polls", func() bool { return bot.Calls("getUpdates") >= polls+2 })
	// Bob's message was handled, yet the album parts and what follows them
	// are still pending at Telegram.
	require.Equal(t, 4, bot.Pending(), "the offset passed a buffered album part")
	require.Zero(t, refused.Load(), "the album was handed on before its window")
	require.NoError(t, stop())
	require.Equal(t, int32(1), refused.Load(), "the album is handed on at shutdown")
	require.Equal(t, 4, bot.Pending(), "a refused album was acknowledged at shutdown")

	cfg.AlbumWindow = 50 * time.Millisecond
	second, err := tgbot.NewSource(cfg)
	require.NoError(t, err)
	rec := &recorder{}
	run(t, second, rec)
	waitFor(t, "album and the repeated message", func() bool { return len(rec.handed()) == 2 })
	waitFor(t, "all confirmed", func() bool { return bot.Pending() == 0 })
	want := []handed{
		{ChatID: bob.ID, MessageID: bobMsg.MessageID, Text: "later, in another chat"}, // again: at least once, deduped by Key downstream
		{ChatID: chat.ID, MessageID: parts[0].MessageID, Text: "фото", Files: photoIDs(parts)},
	}
	if d := cmp.Diff(want, rec.handed()); d != "" {
		t.Fatalf("after restart (-want +got):\n%s", d)
	}
}

func TestAlbumIsHandedOnAtShutdown(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	cfg := pollingConfig(newClient(t, srv, token))
	cfg.AlbumWindow = time.Hour
	src, err := tgbot.NewSource(cfg)
	require.NoError(t, err)
	var cancelled atomic.Bool
	rec := &recorder{}
	h := chatter.HandlerFunc(func(ctx context.Context, m *chatter.Message) error {
		if ctx.Err() != nil {
			cancelled.Store(true)
		}
		return rec.Handle(ctx, m)
	})
	stop := run(t, src, h)
	parts := srv.UserSendsAlbum(srv.PrivateChat(alice, bot), alice, "фото", albumOf3()...)
	polls := bot.Calls("getUpdates")
	waitFor(t, "two more polls", func() bool { return bot.Calls("getUpdates") >= polls+2 })
	require.Empty(t, rec.handed())
	require.NoError(t, stop())
	if d := cmp.Diff([]handed{{ChatID: alice.ID, MessageID: parts[0].MessageID, Text: "фото", Files: photoIDs(parts)}}, rec.handed()); d != "" {
		t.Fatalf("at shutdown (-want +got):\n%s", d)
	}
	require.False(t, cancelled.Load(), "the shutdown flush ran with a cancelled context")
	require.Zero(t, bot.Pending(), "the handed-on album was confirmed")
}
