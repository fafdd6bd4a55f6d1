package tgbottest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

// sentReply is the part of a sent message a reply test looks at.
type sentReply struct {
	MessageID      int64      `json:"message_id"`
	Text           string     `json:"text"`
	From           *fromWire  `json:"from"`
	ReplyToMessage *sentReply `json:"reply_to_message"`
}

type fromWire struct {
	ID    int64 `json:"id"`
	IsBot bool  `json:"is_bot"`
}

func postForm(t *testing.T, srv *tgbottest.Server, token, method string, v url.Values) (envelope, int) {
	t.Helper()
	resp, err := http.PostForm(srv.URL+"/bot"+token+"/"+method, v)
	require.NoError(t, err)
	defer resp.Body.Close()
	var env envelope
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&env))
	return env, resp.StatusCode
}

func decodeSent(t *testing.T, env envelope) sentReply {
	t.Helper()
	require.True(t, env.OK, "send failed: %d %s", env.ErrorCode, env.Description)
	var m sentReply
	require.NoError(t, json.Unmarshal(env.Result, &m))
	return m
}

func TestSendMessageCarriesReplyToMessage(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	chat := srv.PrivateChat(alice, bot)
	in := srv.UserWrites(chat, alice, "Сколько стоит доставка?")

	// A reply to the incoming message, with reply_parameters in a JSON body.
	env, code := call(t, t.Context(), srv, token, "sendMessage", map[string]any{"chat_id": alice.ID, "text": "300 ₽",
		"reply_parameters": map[string]any{"message_id": in.MessageID}})
	require.Equal(t, http.StatusOK, code)
	first := decodeSent(t, env)
	want := sentReply{MessageID: in.MessageID + 1, Text: "300 ₽", From: &fromWire{ID: bot.ID(), IsBot: true},
		ReplyToMessage: &sentReply{MessageID: in.MessageID, Text: "Сколько стоит доставка?", From: &fromWire{ID: alice.ID}}}
	if d := cmp.Diff(want, first); d != "" {
		t.Fatalf("reply to an incoming message (-want +got):\n%s", d)
	}

	// A reply to the bot's own message, with the legacy parameter in a form
	// body: reply_to_message is that message, without its own reply.
	env, code = postForm(t, srv, token, "sendMessage", url.Values{"chat_id": {itoa(alice.ID)},
		"text": {"Уточнение"}, "reply_to_message_id": {itoa(first.MessageID)}})
	require.Equal(t, http.StatusOK, code)
	second := decodeSent(t, env)
	want = sentReply{MessageID: first.MessageID + 1, Text: "Уточнение", From: &fromWire{ID: bot.ID(), IsBot: true},
		ReplyToMessage: &sentReply{MessageID: first.MessageID, Text: "300 ₽", From: &fromWire{ID: bot.ID(), IsBot: true}}}
	if d := cmp.Diff(want, second); d != "" {
		t.Fatalf("reply to a sent message (-want +got):\n%s", d)
	}

	// reply_parameters as a JSON string in a form body.
	env, _ = postForm(t, srv, token, "sendMessage", url.Values{"chat_id": {itoa(alice.ID)}, "text": {"ok"},
		"reply_parameters": {`{"message_id":` + itoa(in.MessageID) + `}`}})
	if d := cmp.Diff(in.MessageID, decodeSent(t, env).ReplyToMessage.MessageID); d != "" {
		t.Fatalf("form reply_parameters (-want +got):\n%s", d)
	}

	var replies []int64
	for _, s := range bot.Sent() {
		replies = append(replies, s.ReplyToMessageID)
	}
	if d := cmp.Diff([]int64{in.MessageID, first.MessageID, in.MessageID}, replies); d != "" {
		t.Fatalf("SentMessage.ReplyToMessageID (-want +got):\n%s", d)
	}
	stored := chat.Message(first.MessageID)
	require.NotNil(t, stored, "a sent message is kept in the chat")
	if d := cmp.Diff("300 ₽", stored.Text); d != "" {
		t.Fatalf("stored message (-want +got):\n%s", d)
	}
}

func TestSendMessageReplyToMissingMessage(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	chat := srv.PrivateChat(alice, bot)
	in := srv.UserWrites(chat, alice, "удалю через минуту")
	srv.UserDeletes(in)
	require.Nil(t, chat.Message(in.MessageID))

	notFound := envelope{ErrorCode: 400, Description: "Bad Request: message to be replied not found"}
	cases := []struct {
		name   string
		params map[string]any
		form   url.Values
		want   envelope // OK true: sent without a reply
	}{
		{name: "reply_parameters to a deleted message", params: map[string]any{"reply_parameters": map[string]any{"message_id": in.MessageID}}, want: notFound},
		{name: "reply_parameters to an id never used", params: map[string]any{"reply_parameters": map[string]any{"message_id": 999}}, want: notFound},
		{name: "legacy reply_to_message_id", params: map[string]any{"reply_to_message_id": in.MessageID}, want: notFound},
		{name: "legacy, allow false", form: url.Values{"reply_to_message_id": {itoa(in.MessageID)}, "allow_sending_without_reply": {"false"}}, want: notFound},
		{name: "reply_parameters allows", params: map[string]any{"reply_parameters": map[string]any{"message_id": in.MessageID, "allow_sending_without_reply": true}}, want: envelope{OK: true}},
		{name: "legacy allows", form: url.Values{"reply_to_message_id": {itoa(999)}, "allow_sending_without_reply": {"true"}}, want: envelope{OK: true}},
		// reply_parameters wins over the legacy parameters, as in the Bot API server.
		{name: "legacy allow ignored beside reply_parameters", params: map[string]any{"reply_parameters": map[string]any{"message_id": 999}, "allow_sending_without_reply": true}, want: notFound},
		{name: "bad reply_parameters", params: map[string]any{"reply_parameters": "nope"}, want: envelope{ErrorCode: 400, Description: "Bad Request: can't parse reply parameters JSON object"}},
	}
	for _, c := range cases {
		var env envelope
		if c.form != nil {
			c.form.Set("chat_id", itoa(alice.ID))
			c.form.Set("text", "x")
			env, _ = postForm(t, srv, token, "sendMessage", c.form)
		} else {
			c.params["chat_id"], c.params["text"] = alice.ID, "x"
			env, _ = call(t, t.Context(), srv, token, "sendMessage", c.params)
		}
		got := envelope{OK: env.OK, ErrorCode: env.ErrorCode, Description: env.Description}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, d)
			continue
		}
		if env.OK {
			if m := decodeSent(t, env); m.ReplyToMessage != nil {
				t.Errorf("%s: sent as a reply to %d; want no reply", c.name, m.ReplyToMessage.MessageID)
			}
		}
	}
	for _, s := range bot.Sent() {
		if s.ReplyToMessageID != 0 {
			t.Errorf("sent %d recorded as a reply to %d", s.MessageID, s.ReplyToMessageID)
		}
	}
}

func TestCallbackQueryCarriesTheSentMessage(t *testing.T) {
	srv := tgbottest.NewServer(t)
	token, bot := srv.AddBot("shop_bot")
	alice := srv.AddUser("alice", "Alice")
	chat := srv.PrivateChat(alice, bot)
	markup := `{"inline_keyboard":[[{"text":"Принять заявку","callback_data":"accept:7"}]]}`
	env, _ := call(t, t.Context(), srv, token, "sendMessage", map[string]any{"chat_id": alice.ID, "text": "Новая заявка",
		"reply_markup": json.RawMessage(markup)})
	sent := decodeSent(t, env)
	id := srv.UserPressesButton(bot, chat, sent.MessageID, alice, "accept:7")
	env, _ = call(t, t.Context(), srv, token, "getUpdates", nil)
	var us []struct {
		CallbackQuery struct {
			ID      string `json:"id"`
			Data    string `json:"data"`
			Message struct {
				MessageID   int64           `json:"message_id"`
				Text        string          `json:"text"`
				ReplyMarkup json.RawMessage `json:"reply_markup"`
			} `json:"message"`
		} `json:"callback_query"`
	}
	require.NoError(t, json.Unmarshal(env.Result, &us))
	require.Len(t, us, 1)
	q := us[0].CallbackQuery
	if d := cmp.Diff([]string{id, "accept:7", "Новая заявка", markup}, []string{q.ID, q.Data, q.Message.Text, string(q.Message.ReplyMarkup)}); d != "" {
		t.Fatalf("callback query (-want +got):\n%s", d)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
