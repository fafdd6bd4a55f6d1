package chatter

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestRejectedCopy(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

	t.Run("unusable key gets a stable synthetic key", func(t *testing.T) {
		m := testMessage(0) // message id 0: no usable key
		m.Raw = []byte(`{"update_id":1,"message":{"message_id":0}}`)
		verr := m.Validate()
		require.Error(t, verr)
		c, r, ok := rejectedCopy(m, verr, now)
		require.True(t, ok)
		require.NoError(t, c.Validate())
		want := &Rejection{Field: "key.message_id", Reason: T("не указан номер сообщения", "message id is not positive"),
			Key: "tgbot:bot1:-100:0", Raw: string(m.Raw)}
		if d := cmp.Diff(want, r); d != "" {
			t.Errorf("rejection (-want +got):\n%s", d)
		}
		if c.Key.Source != SourceRejected || c.Key.Account != "tgbot" || c.Key.ChatID != -100 || c.Key.MessageID <= 0 {
			t.Errorf("synthetic key = %+v", c.Key)
		}
		again, _, _ := rejectedCopy(testMessageWithRaw(0, m.Raw), verr, now.Add(time.Hour))
		require.Equal(t, c.Key, again.Key, "the same refused message must get the same key")
		other := testMessageWithRaw(0, m.Raw)
		other.Text = "другой текст"
		third, _, _ := rejectedCopy(other, verr, now)
		require.NotEqual(t, c.Key, third.Key, "a different message got the same synthetic key")
		require.Nil(t, c.Raw, "Raw stays in the Rejection")
		require.Equal(t, []byte(`{"update_id":1,"message":{"message_id":0}}`), []byte(m.Raw), "the caller's message was changed")
	})

	t.Run("bad fields are made storable and bounded", func(t *testing.T) {
		m := testMessage(5)
		m.Text = strings.Repeat("я", MaxTextBytes) + "\xff"
		m.Chat.Title = "Чат\xfe"
		m.Chat.ID = -999 // contradicts the key
		m.Time = time.Time{}
		m.Attachments = make([]Attachment, MaxAttachments+3)
		for i := range m.Attachments {
			m.Attachments[i] = Attachment{Kind: AttachPhoto, Name: "ф\x00.jpg"}
		}
		m.Raw = []byte(strings.Repeat("x", MaxRejectedRawBytes+10))
		c, r, ok := rejectedCopy(m, m.Validate(), now)
		require.True(t, ok)
		require.NoError(t, c.Validate())
		require.Equal(t, m.Key, c.Key, "a usable key is kept")
		require.True(t, r.Truncated)
		require.Empty(t, r.Key)
		require.LessOrEqual(t, len(c.Text), MaxRejectedTextBytes)
		require.True(t, strings.HasPrefix(m.Text, c.Text))
		require.Equal(t, "Чат\uFFFD", c.Chat.Title)
		require.Zero(t, c.Chat.ID)
		require.True(t, c.Time.Equal(now))
		require.Len(t, c.Attachments, MaxAttachments)
		require.Equal(t, "ф\uFFFD.jpg", c.Attachments[0].Name)
		require.Len(t, r.Raw, MaxRejectedRawBytes)
		require.Len(t, m.Attachments, MaxAttachments+3, "the caller's message was changed")
	})

	t.Run("nothing to record without a workspace", func(t *testing.T) {
		m := testMessage(1)
		m.Workspace = ""
		_, _, ok := rejectedCopy(m, m.Validate(), now)
		require.False(t, ok)
		_, _, ok = rejectedCopy(nil, (*Message)(nil).Validate(), now)
		require.False(t, ok)
	})
}

func testMessageWithRaw(id int64, raw []byte) *Message {
	m := testMessage(id)
	m.Raw = raw
	return m
}

// FuzzRejectedCopy: whatever a source hands in, the copy recorded for a
// refused message is storable (valid) and bounded.
func FuzzRejectedCopy(f *testing.F) {
	f.Add("ws", "tgbot", "bot1", int64(-100), int64(0), "привет", "Продажи", []byte(`{"a":1}`), int64(0))
	f.Add("ws", "", "", int64(0), int64(-5), "\xff\xfe", "\x00", []byte("\xff not json"), int64(1700000000))
	f.Add("ws", "a:b", "c@d", int64(7), int64(3), strings.Repeat("ж", MaxTextBytes), "t", []byte(nil), int64(-1))
	f.Fuzz(func(t *testing.T, ws, source, account string, chat, id int64, text, title string, raw []byte, unix int64) {
		m := &Message{Workspace: ws, Key: Key{Source: SourceKind(source), Account: account, ChatID: chat, MessageID: id},
			Chat: Chat{ID: chat + 1, Title: title}, Text: text, Raw: raw}
		if unix != 0 {
			m.Time = time.Unix(unix, 0)
		}
		verr := m.Validate()
		if verr == nil {
			return
		}
		c, r, ok := rejectedCopy(m, verr, time.Unix(1, 0))
		if !ok {
			if ws != "" && clean(ws) == ws {
				t.Fatalf("a message with workspace %q was not recordable", ws)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("the recorded copy is invalid: %v (%+v)", err, c)
		}
		if !keyStorable(c.Key) || len(c.Text) > MaxRejectedTextBytes || len(r.Raw) > MaxRejectedRawBytes {
			t.Fatalf("copy not storable or not bounded: key %+v, text %d bytes, raw %d bytes", c.Key, len(c.Text), len(r.Raw))
		}
	})
}
