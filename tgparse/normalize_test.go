package tgparse

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gotd/td/tg"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

func TestNormalize(t *testing.T) {
	anna := &tg.User{ID: 42, Username: "anna", FirstName: "Анна", LastName: "К", Phone: "79991234567", LangCode: "ru"}
	pub := &tg.Channel{ID: 777, Title: "Ремонт", Username: "remont_chat", Megagroup: true}
	news := &tg.Channel{ID: 778, Title: "News", Broadcast: true}
	grp := &tg.Chat{ID: 55, Title: "Old group"}
	ents := NewEntities([]tg.UserClass{anna}, []tg.ChatClass{pub, news, grp})
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	date := int(at.Unix())
	tests := []struct {
		name string
		in   *tg.Message
		want chatter.Message
	}{{
		name: "public supergroup",
		in: &tg.Message{ID: 12, PeerID: &tg.PeerChannel{ChannelID: 777}, FromID: &tg.PeerUser{UserID: 42}, Date: date,
			Message: "нужен ремонт", ReplyTo: &tg.MessageReplyHeader{ReplyToMsgID: 10}},
		want: chatter.Message{Workspace: "ws", Key: chatter.Key{Source: chatter.SourceParser, Account: "pool", ChatID: -1000000000777, MessageID: 12},
			Chat:   chatter.Chat{ID: -1000000000777, Type: chatter.ChatSupergroup, Title: "Ремонт", Username: "remont_chat"},
			Sender: chatter.Sender{ID: 42, Username: "anna", FirstName: "Анна", LastName: "К", Phone: "+79991234567", Language: "ru"},
			Text:   "нужен ремонт", Time: at, Link: "https://t.me/remont_chat/12", ReplyTo: 10},
	}, {
		name: "private channel post, edited, with a photo",
		in: &tg.Message{ID: 3, PeerID: &tg.PeerChannel{ChannelID: 778}, Date: date, EditDate: date + 60, Post: true,
			Message: "caption", Media: &tg.MessageMediaPhoto{Photo: &tg.Photo{ID: 99}}},
		want: chatter.Message{Workspace: "ws", Key: chatter.Key{Source: chatter.SourceParser, Account: "pool", ChatID: -1000000000778, MessageID: 3},
			Chat: chatter.Chat{ID: -1000000000778, Type: chatter.ChatChannel, Title: "News"},
			Text: "caption", Time: at, Link: "https://t.me/c/778/3", Edited: true,
			Attachments: []chatter.Attachment{{Kind: chatter.AttachPhoto, FileID: "photo:99"}}},
	}, {
		name: "basic group, voice message, unknown sender",
		in: &tg.Message{ID: 7, PeerID: &tg.PeerChat{ChatID: 55}, FromID: &tg.PeerUser{UserID: 5}, Date: date,
			Media: &tg.MessageMediaDocument{Document: &tg.Document{ID: 8, MimeType: "audio/ogg", Size: 1000,
				Attributes: []tg.DocumentAttributeClass{&tg.DocumentAttributeAudio{Voice: true}}}}},
		want: chatter.Message{Workspace: "ws", Key: chatter.Key{Source: chatter.SourceParser, Account: "pool", ChatID: -55, MessageID: 7},
			Chat: chatter.Chat{ID: -55, Type: chatter.ChatGroup, Title: "Old group"}, Sender: chatter.Sender{ID: 5}, Time: at,
			Attachments: []chatter.Attachment{{Kind: chatter.AttachVoice, FileID: "document:8", MIMEType: "audio/ogg", Size: 1000}}},
	}, {
		name: "private chat, incoming without from_id; unknown channel; invalid UTF-8",
		in:   &tg.Message{ID: 1, PeerID: &tg.PeerUser{UserID: 42}, Date: date, Message: "a\xffb"},
		want: chatter.Message{Workspace: "ws", Key: chatter.Key{Source: chatter.SourceParser, Account: "pool", ChatID: 42, MessageID: 1},
			Chat:   chatter.Chat{ID: 42, Type: chatter.ChatPrivate, Title: "Анна К", Username: "anna"},
			Sender: chatter.Sender{ID: 42, Username: "anna", FirstName: "Анна", LastName: "К", Phone: "+79991234567", Language: "ru"},
			Text:   "a\uFFFDb", Time: at},
	}, {
		name: "channel unknown to the entities",
		in:   &tg.Message{ID: 5, PeerID: &tg.PeerChannel{ChannelID: 9}, Date: date, Message: "x"},
		want: chatter.Message{Workspace: "ws", Key: chatter.Key{Source: chatter.SourceParser, Account: "pool", ChatID: -1000000000009, MessageID: 5},
			Chat: chatter.Chat{ID: -1000000000009, Type: chatter.ChatSupergroup}, Text: "x", Time: at, Link: "https://t.me/c/9/5"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize("ws", "pool", tt.in, ents)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	date := int(time.Now().Unix())
	for name, tc := range map[string]struct {
		ws, acct string
		m        *tg.Message
	}{
		"nil":          {"ws", "a", nil},
		"no peer":      {"ws", "a", &tg.Message{ID: 1, Date: date}},
		"no workspace": {"", "a", &tg.Message{ID: 1, PeerID: &tg.PeerUser{UserID: 1}, Date: date}},
		"bad account":  {"ws", "a:b", &tg.Message{ID: 1, PeerID: &tg.PeerUser{UserID: 1}, Date: date}},
		"no id":        {"ws", "a", &tg.Message{PeerID: &tg.PeerUser{UserID: 1}, Date: date}},
	} {
		got, err := Normalize(tc.ws, tc.acct, tc.m, nil)
		if !errors.Is(err, chatter.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
		if (got == nil) != (tc.m == nil) {
			t.Errorf("%s: the refused message is %v: want it returned for the rejection record (nil only for a nil input)", name, got)
		}
	}
	long := strings.Repeat("я", chatter.MaxTextBytes) // 2 bytes a rune: twice the limit
	m, err := Normalize("ws", "a", &tg.Message{ID: 1, PeerID: &tg.PeerUser{UserID: 1}, Date: date, Message: long}, nil)
	if err != nil || len(m.Text) != chatter.MaxTextBytes {
		t.Fatalf("long text: %d bytes, %v", len(m.Text), err)
	}
}

func TestBotAPIChatID(t *testing.T) {
	for p, want := range map[tg.PeerClass]int64{
		&tg.PeerUser{UserID: 5}: 5, &tg.PeerChat{ChatID: 5}: -5, &tg.PeerChannel{ChannelID: 1234567890}: -1001234567890,
	} {
		if got := BotAPIChatID(p); got != want {
			t.Errorf("BotAPIChatID(%v) = %d, want %d", p, got, want)
		}
	}
	if BotAPIChatID(nil) != 0 {
		t.Error("nil peer")
	}
	// The link parser accepts what BotAPIChatID produces.
	l, err := ParseLink("-1001234567890")
	if err != nil || ChannelChatID(l.ChannelID) != -1001234567890 {
		t.Errorf("round trip: %+v, %v", l, err)
	}
}

func BenchmarkNormalize(b *testing.B) {
	ents := NewEntities([]tg.UserClass{&tg.User{ID: 42, Username: "anna", FirstName: "Анна"}},
		[]tg.ChatClass{&tg.Channel{ID: 777, Title: "Ремонт", Username: "remont_chat", Megagroup: true}})
	m := &tg.Message{ID: 12, PeerID: &tg.PeerChannel{ChannelID: 777}, FromID: &tg.PeerUser{UserID: 42},
		Date: int(time.Now().Unix()), Message: "Нужен ремонт квартиры под ключ, бюджет 500 тыс, звоните +79991234567"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize("ws", "pool", m, ents); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseLink(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseLink("https://t.me/c/1234567890/45"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNormalizeLinks: a username that would not read back as the chat
// (reserved, malformed) gives the t.me/c/ link instead.
func TestNormalizeLinks(t *testing.T) {
	date := int(time.Now().Unix())
	for username, want := range map[string]string{
		"remont_chat": "https://t.me/remont_chat/12",
		"proxy":       "https://t.me/c/777/12",
		"JoinChat":    "https://t.me/c/777/12",
		"000\x00":     "https://t.me/c/777/12",
		"a/b/c":       "https://t.me/c/777/12",
		"":            "https://t.me/c/777/12",
	} {
		ents := NewEntities(nil, []tg.ChatClass{&tg.Channel{ID: 777, Title: "x", Username: username}})
		got, err := Normalize("ws", "pool", &tg.Message{ID: 12, PeerID: &tg.PeerChannel{ChannelID: 777}, Date: date}, ents)
		require.NoError(t, err, username)
		if diff := cmp.Diff(want, got.Link); diff != "" {
			t.Errorf("username %q: link (-want +got):\n%s", username, diff)
		}
		_, err = ParseLink(got.Link)
		require.NoError(t, err, got.Link)
	}
}

// TestBotAPIChatIDRange: ids that would make one chat id stand for two
// chats (or overflow) give 0, and Normalize refuses them.
func TestBotAPIChatIDRange(t *testing.T) {
	for _, p := range []tg.PeerClass{
		&tg.PeerUser{UserID: 0}, &tg.PeerUser{UserID: -5},
		&tg.PeerChat{ChatID: -5}, &tg.PeerChat{ChatID: 1_000_000_000_000},
		&tg.PeerChannel{ChannelID: 0}, &tg.PeerChannel{ChannelID: 1_000_000_000_000}, &tg.PeerChannel{ChannelID: math.MaxInt64},
	} {
		require.Zero(t, BotAPIChatID(p), "%v", p)
		m, err := Normalize("ws", "pool", &tg.Message{ID: 1, PeerID: p, FromID: p, Date: 1}, nil)
		require.ErrorIs(t, err, chatter.ErrInvalid, "%v", p)
		if diff := cmp.Diff(chatter.Chat{}, m.Chat); diff != "" {
			t.Errorf("%v: chat (-want +got):\n%s", p, diff)
		}
		require.Zero(t, m.Sender.ID, "%v", p)
		require.Empty(t, m.Link, "%v", p)
	}
	require.Equal(t, int64(-1_999_999_999_999), BotAPIChatID(&tg.PeerChannel{ChannelID: maxChannelID}))
	require.Equal(t, int64(-maxChannelID), BotAPIChatID(&tg.PeerChat{ChatID: maxChannelID}))
}

// TestNormalizeSanitizes: every string from Telegram comes out valid UTF-8,
// and sizes are not negative.
func TestNormalizeSanitizes(t *testing.T) {
	bad := "a\xffb"
	u := &tg.User{ID: 42, Username: bad, FirstName: bad, LastName: bad, Phone: "7\xff9", LangCode: bad}
	ents := NewEntities([]tg.UserClass{u}, []tg.ChatClass{&tg.Channel{ID: 7, Title: bad, Username: bad}})
	m, err := Normalize("ws", "pool", &tg.Message{ID: 1, PeerID: &tg.PeerChannel{ChannelID: 7}, FromID: &tg.PeerUser{UserID: 42}, Date: 1,
		Media: &tg.MessageMediaDocument{Document: &tg.Document{ID: 3, MimeType: bad, Size: -10,
			Attributes: []tg.DocumentAttributeClass{&tg.DocumentAttributeFilename{FileName: bad}}}}}, ents)
	require.NoError(t, err)
	fixed := "a\uFFFDb"
	want := chatter.Sender{ID: 42, Username: fixed, FirstName: fixed, LastName: fixed, Phone: "+7\uFFFD9", Language: fixed}
	if diff := cmp.Diff(want, m.Sender); diff != "" {
		t.Errorf("sender (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(chatter.Chat{ID: -1000000000007, Type: chatter.ChatSupergroup, Title: fixed, Username: fixed}, m.Chat); diff != "" {
		t.Errorf("chat (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]chatter.Attachment{{Kind: chatter.AttachDocument, FileID: "document:3", Name: fixed, MIMEType: fixed}}, m.Attachments); diff != "" {
		t.Errorf("attachments (-want +got):\n%s", diff)
	}
}
