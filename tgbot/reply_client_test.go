package tgbot_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

// replyView is what a test compares of a sent message and its reply.
type replyView struct {
	ID, ReplyTo int64
	ReplyText   string
	ReplyFrom   int64
}

func viewReply(m *tgbot.Message) replyView {
	v := replyView{ID: m.MessageID}
	if r := m.ReplyToMessage; r != nil {
		v.ReplyTo, v.ReplyText = r.MessageID, r.Text
		if r.From != nil {
			v.ReplyFrom = r.From.ID
		}
	}
	return v
}

func TestClientSendMessageReplies(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	chat := srv.PrivateChat(alice, bot)
	in := srv.UserWrites(chat, alice, "Есть в наличии?")
	c := newClient(t, srv, token)

	first, err := c.SendMessage(t.Context(), &tgbot.SendMessageParams{ChatID: alice.ID, Text: "Да", ReplyToMessageID: in.MessageID})
	require.NoError(t, err)
	if d := cmp.Diff(replyView{ID: in.MessageID + 1, ReplyTo: in.MessageID, ReplyText: "Есть в наличии?", ReplyFrom: alice.ID}, viewReply(first)); d != "" {
		t.Fatalf("reply to the user's message (-want +got):\n%s", d)
	}
	second, err := c.SendMessage(t.Context(), &tgbot.SendMessageParams{ChatID: alice.ID, Text: "Привезём завтра", ReplyToMessageID: first.MessageID})
	require.NoError(t, err)
	if d := cmp.Diff(replyView{ID: first.MessageID + 1, ReplyTo: first.MessageID, ReplyText: "Да", ReplyFrom: bot.ID()}, viewReply(second)); d != "" {
		t.Fatalf("reply to the bot's message (-want +got):\n%s", d)
	}

	// The client allows sending without the reply: a deleted target does
	// not lose the message.
	srv.UserDeletes(in)
	third, err := c.SendMessage(t.Context(), &tgbot.SendMessageParams{ChatID: alice.ID, Text: "Ещё вопрос?", ReplyToMessageID: in.MessageID})
	require.NoError(t, err)
	if d := cmp.Diff(replyView{ID: second.MessageID + 1}, viewReply(third)); d != "" {
		t.Fatalf("reply to a deleted message (-want +got):\n%s", d)
	}

	// Without allow_sending_without_reply Telegram refuses it.
	err = c.Do(t.Context(), "sendMessage", map[string]any{"chat_id": alice.ID, "text": "x",
		"reply_parameters": map[string]any{"message_id": in.MessageID}}, nil)
	var apiErr *tgbot.Error
	require.True(t, errors.As(err, &apiErr), "got %v", err)
	if d := cmp.Diff([]any{400, "Bad Request: message to be replied not found"}, []any{apiErr.Code, apiErr.Description}); d != "" {
		t.Fatalf("error (-want +got):\n%s", d)
	}
}
