package tgbot_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgbot"
)

// Realistic updates, in the shape the Bot API sends them.
var sampleUpdates = map[string]string{
	"private_text":            `{"update_id":10000,"message":{"message_id":17,"from":{"id":111,"is_bot":false,"first_name":"Анна","last_name":"Петрова","username":"anna_p","language_code":"ru"},"chat":{"id":111,"first_name":"Анна","last_name":"Петрова","username":"anna_p","type":"private"},"date":1732435200,"text":"Здравствуйте! Сколько стоит доставка?"}}`,
	"group_text_link":         `{"update_id":10001,"message":{"message_id":5,"from":{"id":222,"is_bot":false,"first_name":"Bob"},"chat":{"id":-4012345678,"title":"Sales","type":"group","all_members_are_administrators":true},"date":1732435300,"text":"see 🙂 price list please","entities":[{"type":"text_link","offset":7,"length":10,"url":"https://example.com/p"}]}}`,
	"public_channel_post":     `{"update_id":10002,"channel_post":{"message_id":301,"sender_chat":{"id":-1001234567890,"title":"Shop News","username":"shop_news","type":"channel"},"chat":{"id":-1001234567890,"title":"Shop News","username":"shop_news","type":"channel"},"date":1732435400,"author_signature":"Editor","text":"Новая коллекция"}}`,
	"private_supergroup_edit": `{"update_id":10003,"edited_message":{"message_id":88,"from":{"id":333,"is_bot":false,"first_name":"Carl","username":"carl"},"chat":{"id":-1009876543210,"title":"Leads","type":"supergroup"},"date":1732435500,"edit_date":1732435560,"text":"нужен счёт на 10 шт"}}`,
	"own_contact":             `{"update_id":10004,"message":{"message_id":18,"from":{"id":111,"is_bot":false,"first_name":"Анна"},"chat":{"id":111,"first_name":"Анна","type":"private"},"date":1732435600,"contact":{"phone_number":"79991234567","first_name":"Анна","user_id":111}}}`,
	"other_contact":           `{"update_id":10005,"message":{"message_id":19,"from":{"id":111,"is_bot":false,"first_name":"Анна"},"chat":{"id":111,"first_name":"Анна","type":"private"},"date":1732435601,"contact":{"phone_number":"+7 (912) 000-11-22","first_name":"Иван","last_name":"Сидоров"}}}`,
	"photo_caption_reply":     `{"update_id":10006,"message":{"message_id":20,"from":{"id":111,"is_bot":false,"first_name":"Анна"},"chat":{"id":111,"first_name":"Анна","type":"private"},"date":1732435700,"reply_to_message":{"message_id":19,"from":{"id":111,"is_bot":false,"first_name":"Анна"},"chat":{"id":111,"type":"private"},"date":1732435601,"text":"x"},"photo":[{"file_id":"AgAD-small","file_unique_id":"u1","width":90,"height":67,"file_size":1200},{"file_id":"AgAD-big","file_unique_id":"u2","width":1280,"height":960,"file_size":184320}],"caption":"вот такой нужен"}}`,
	"forward_hidden":          `{"update_id":10007,"message":{"message_id":21,"from":{"id":444,"is_bot":false,"first_name":"Manager"},"chat":{"id":444,"first_name":"Manager","type":"private"},"date":1732435800,"forward_origin":{"type":"hidden_user","sender_user_name":"Client X","date":1732430000},"text":"хочу купить"}}`,
	"document":                `{"update_id":10008,"message":{"message_id":22,"from":{"id":111,"is_bot":false,"first_name":"Анна"},"chat":{"id":111,"type":"private"},"date":1732435900,"document":{"file_id":"BQAC-doc","file_unique_id":"d1","file_name":"ТЗ.pdf","mime_type":"application/pdf","file_size":52000}}}`,
	"anonymous_admin":         `{"update_id":10009,"message":{"message_id":90,"from":{"id":1087968824,"is_bot":true,"first_name":"Group","username":"GroupAnonymousBot"},"sender_chat":{"id":-1009876543210,"title":"Leads","type":"supergroup"},"chat":{"id":-1009876543210,"title":"Leads","type":"supergroup"},"date":1732436000,"text":"/lead@shop_bot"}}`,
	"my_chat_member":          `{"update_id":10010,"my_chat_member":{"chat":{"id":-1009876543210,"title":"Leads","type":"supergroup"},"from":{"id":222,"is_bot":false,"first_name":"Bob"},"date":1732436100,"old_chat_member":{"user":{"id":7000000001,"is_bot":true,"first_name":"shop_bot","username":"shop_bot"},"status":"left"},"new_chat_member":{"user":{"id":7000000001,"is_bot":true,"first_name":"shop_bot","username":"shop_bot"},"status":"administrator","can_be_edited":false,"can_manage_chat":true,"can_delete_messages":true,"can_invite_users":true,"is_anonymous":false}}}`,
	"service_new_members":     `{"update_id":10011,"message":{"message_id":6,"from":{"id":222,"is_bot":false,"first_name":"Bob"},"chat":{"id":-4012345678,"title":"Sales","type":"group"},"date":1732436200,"new_chat_members":[{"id":7000000001,"is_bot":true,"first_name":"shop_bot"}]}}`,
	"venue":                   `{"update_id":10012,"message":{"message_id":23,"from":{"id":111,"is_bot":false,"first_name":"Анна"},"chat":{"id":111,"type":"private"},"date":1732436300,"location":{"latitude":55.751244,"longitude":37.618423},"venue":{"location":{"latitude":55.751244,"longitude":37.618423},"title":"Офис","address":"Москва, Красная пл., 1"}}}`,
	"callback_query":          `{"update_id":10013,"callback_query":{"id":"4382bfdwdsb323b2d9","from":{"id":111,"is_bot":false,"first_name":"Анна"},"chat_instance":"-1234","data":"buy:42"}}`,
}

func normalize(t *testing.T, name string) *chatter.Message {
	t.Helper()
	u, err := tgbot.DecodeUpdate([]byte(sampleUpdates[name]))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	m, err := tgbot.Normalize(u, tgbot.NormalizeOptions{Workspace: "acme", BotID: 7000000001})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func TestNormalize(t *testing.T) {
	m := normalize(t, "private_text")
	if m.Key.String() != "tgbot:7000000001:111:17" || m.Sender.Name() != "Анна Петрова" || m.Sender.Username != "anna_p" ||
		m.Sender.Language != "ru" || m.Chat.Type != chatter.ChatPrivate || m.Link != "" || m.Time.Unix() != 1732435200 ||
		m.Text != "Здравствуйте! Сколько стоит доставка?" || !json.Valid(m.Raw) || m.Edited {
		t.Errorf("private_text: %+v", m)
	}
	if m := normalize(t, "group_text_link"); m.Text != "see 🙂 price list (https://example.com/p) please" || m.Link != "" {
		t.Errorf("text_link (after a UTF-16 surrogate pair): %q link=%q", m.Text, m.Link)
	}
	m = normalize(t, "public_channel_post")
	if m.Link != "https://t.me/shop_news/301" || m.Sender.ID != 0 || m.Sender.Name() != "Shop News Editor" || m.Chat.Type != chatter.ChatChannel {
		t.Errorf("channel post: %+v", m)
	}
	m = normalize(t, "private_supergroup_edit")
	if m.Link != "https://t.me/c/9876543210/88" || !m.Edited || m.Key.Revision != 1732435560 || m.Time.Unix() != 1732435560 ||
		m.Key.String() != "tgbot:7000000001:-1009876543210:88@1732435560" {
		t.Errorf("edit: %+v", m)
	}
	m = normalize(t, "own_contact")
	if m.Sender.Phone != "+79991234567" || len(m.Attachments) != 1 || m.Attachments[0].Kind != chatter.AttachContact {
		t.Errorf("own contact: %+v", m)
	}
	m = normalize(t, "other_contact")
	if m.Sender.Phone != "" || m.Attachments[0].Name != "Иван Сидоров +79120001122" {
		t.Errorf("someone else's contact must not become the sender's phone: %+v", m)
	}
	m = normalize(t, "photo_caption_reply")
	if m.Text != "вот такой нужен" || m.ReplyTo != 19 || len(m.Attachments) != 1 || m.Attachments[0].FileID != "AgAD-big" ||
		m.Attachments[0].Kind != chatter.AttachPhoto || m.Attachments[0].Size != 184320 {
		t.Errorf("photo: %+v", m)
	}
	if m := normalize(t, "forward_hidden"); m.Text != "↪ Client X\nхочу купить" {
		t.Errorf("forward: %q", m.Text)
	}
	m = normalize(t, "document")
	if a := m.Attachments; len(a) != 1 || a[0].Name != "ТЗ.pdf" || a[0].MIMEType != "application/pdf" || m.Text != "" {
		t.Errorf("document: %+v", m)
	}
	m = normalize(t, "anonymous_admin")
	if m.Sender.ID != 0 || m.Sender.FirstName != "Leads" {
		t.Errorf("anonymous admin must be hidden: %+v", m.Sender)
	}
	if m := normalize(t, "venue"); len(m.Attachments) != 1 || !strings.HasPrefix(m.Attachments[0].Name, "Офис, Москва") {
		t.Errorf("venue: %+v", m.Attachments)
	}
	for _, name := range []string{"my_chat_member", "service_new_members", "callback_query"} {
		if m := normalize(t, name); m != nil {
			t.Errorf("%s must not become a message: %+v", name, m)
		}
	}
}

func TestNormalizeOmitRawAndOptions(t *testing.T) {
	u, _ := tgbot.DecodeUpdate([]byte(sampleUpdates["private_text"]))
	m, err := tgbot.Normalize(u, tgbot.NormalizeOptions{Workspace: "w", BotID: 1, OmitRaw: true})
	if err != nil || m.Raw != nil {
		t.Fatalf("%v %v", m, err)
	}
	if _, err := tgbot.Normalize(u, tgbot.NormalizeOptions{BotID: 1}); !errors.Is(err, chatter.ErrInvalid) {
		t.Fatalf("missing workspace: %v", err)
	}
}

func TestDecodeUpdateErrors(t *testing.T) {
	for _, in := range []string{``, `null`, `[]`, `{"message":{}}`, `{"update_id":-3}`, `{"update_id":"x"}`, `{"update_id":1`,
		`{"update_id":1,"message":{"message_id":"nope"}}`} {
		if _, err := tgbot.DecodeUpdate([]byte(in)); err == nil {
			t.Errorf("%q decoded", in)
		}
	}
	big := `{"update_id":1,"message":{"text":"` + strings.Repeat("a", tgbot.MaxUpdateBytes) + `"}}`
	if _, err := tgbot.DecodeUpdate([]byte(big)); err == nil {
		t.Error("oversized update decoded")
	}
}

func TestNormalizeRejectsIncompleteMessages(t *testing.T) {
	u, err := tgbot.DecodeUpdate([]byte(`{"update_id":5,"message":{"message_id":0,"chat":{"id":1,"type":"private"},"date":1,"text":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tgbot.Normalize(u, tgbot.NormalizeOptions{Workspace: "w", BotID: 1}); !errors.Is(err, chatter.ErrInvalid) {
		t.Fatalf("message_id 0: %v", err)
	}
}

func TestMessageLink(t *testing.T) {
	cases := []struct {
		chat tgbot.Chat
		want string
	}{
		{tgbot.Chat{ID: -1001, Type: "supergroup", Username: "pub"}, "https://t.me/pub/7"},
		{tgbot.Chat{ID: -1001234567890, Type: "supergroup"}, "https://t.me/c/1234567890/7"},
		{tgbot.Chat{ID: -1001234567890, Type: "channel"}, "https://t.me/c/1234567890/7"},
		{tgbot.Chat{ID: -4012345678, Type: "group"}, ""},
		{tgbot.Chat{ID: 5, Type: "private", Username: "anna"}, ""},
	}
	for _, c := range cases {
		if got := tgbot.MessageLink(c.chat, 7); got != c.want {
			t.Errorf("%+v: %q, want %q", c.chat, got, c.want)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{"79991234567": "+79991234567", "+7 (999) 123-45-67": "+79991234567",
		"12": "12", "call me": "call me", " +44 20 7946 0958 ": "+442079460958"} {
		if got := tgbot.NormalizePhone(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func FuzzDecodeUpdate(f *testing.F) {
	for _, s := range sampleUpdates {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"update_id":1,"message":{"message_id":1,"chat":{"id":1,"type":"private"},"date":1,"text":"\ud83d","entities":[{"type":"text_link","offset":-1,"length":99,"url":"https://x"}]}}`))
	f.Add([]byte(`{"update_id":9,"edited_channel_post":{"message_id":3,"chat":{"id":-1001,"type":"channel"},"date":5,"caption":"c","caption_entities":[{"type":"text_link","offset":0,"length":1,"url":"tg://x"},{"type":"text_link","offset":0,"length":1,"url":"https://y"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := tgbot.DecodeUpdate(data)
		if err != nil {
			return
		}
		m, err := tgbot.Normalize(u, tgbot.NormalizeOptions{Workspace: "fuzz", BotID: 42})
		if err != nil {
			if !errors.Is(err, chatter.ErrInvalid) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if m == nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("normalised message is invalid: %v", err)
		}
		if m.Key.Source != chatter.SourceBot || m.Key.Account != "42" {
			t.Fatalf("key: %+v", m.Key)
		}
		if _, err := chatter.ParseKey(m.Key.String()); err != nil {
			t.Fatalf("key does not round-trip: %v", err)
		}
	})
}
