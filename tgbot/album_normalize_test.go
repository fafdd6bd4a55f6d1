package tgbot_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgbot"
)

// albumPart is one part of an album in the Bot API's shape.
func albumPart(updateID, messageID int64, group, media, caption string) string {
	c := ""
	if caption != "" {
		c = fmt.Sprintf(`,"caption":%q`, caption)
	}
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":{"id":111,"is_bot":false,"first_name":"Анна"},"chat":{"id":111,"first_name":"Анна","type":"private"},"date":1732435700,"media_group_id":%q,%s%s}}`,
		updateID, messageID, group, media, c)
}

func photo(id string) string {
	return fmt.Sprintf(`"photo":[{"file_id":"%s-s","file_unique_id":"u%s","width":90,"height":67},{"file_id":"%s","file_unique_id":"U%s","width":1280,"height":960,"file_size":184320}]`, id, id, id, id)
}

func decodeAll(t *testing.T, raws ...string) []*tgbot.Update {
	t.Helper()
	var out []*tgbot.Update
	for _, r := range raws {
		u, err := tgbot.DecodeUpdate([]byte(r))
		require.NoError(t, err, r)
		out = append(out, u)
	}
	return out
}

func TestNormalizeAlbum(t *testing.T) {
	opts := tgbot.NormalizeOptions{Workspace: "acme", BotID: 7000000001}
	type view struct {
		MessageID int64
		Text      string
		Files     []string
		Raw       string
	}
	see := func(m *chatter.Message) view {
		v := view{MessageID: m.Key.MessageID, Text: m.Text, Raw: string(m.Raw)}
		for _, a := range m.Attachments {
			v.Files = append(v.Files, a.FileID)
		}
		return v
	}
	first := albumPart(1, 40, "g1", photo("A"), "")
	second := albumPart(2, 41, "g1", photo("B"), "Вот <b>фото</b>")
	third := albumPart(3, 42, "g1", `"document":{"file_id":"DOC","file_unique_id":"d","file_name":"счёт.pdf","mime_type":"application/pdf"}`, "второй текст")

	// Parts in any order; the caption is on the second part.
	m, err := tgbot.NormalizeAlbum(decodeAll(t, third, first, second), opts)
	require.NoError(t, err)
	if d := cmp.Diff(view{MessageID: 40, Text: "Вот <b>фото</b>", Files: []string{"A", "B", "DOC"}, Raw: first}, see(m)); d != "" {
		t.Fatalf("album (-want +got):\n%s", d)
	}
	// No caption at all.
	m, err = tgbot.NormalizeAlbum(decodeAll(t, first, albumPart(2, 41, "g1", photo("B"), "")), opts)
	require.NoError(t, err)
	if d := cmp.Diff(view{MessageID: 40, Files: []string{"A", "B"}, Raw: first}, see(m)); d != "" {
		t.Fatalf("album without caption (-want +got):\n%s", d)
	}
	// Nothing to hand on.
	m, err = tgbot.NormalizeAlbum(nil, opts)
	require.NoError(t, err)
	require.Nil(t, m)
	// Missing options fail as Normalize does.
	_, err = tgbot.NormalizeAlbum(decodeAll(t, first), tgbot.NormalizeOptions{})
	require.True(t, errors.Is(err, chatter.ErrInvalid), "got %v", err)
}

func TestUpdateAlbumID(t *testing.T) {
	edited := `{"update_id":5,"edited_message":{"message_id":40,"chat":{"id":111,"type":"private"},"date":1,"edit_date":2,"media_group_id":"g1",` + photo("A") + `}}`
	post := `{"update_id":6,"channel_post":{"message_id":7,"chat":{"id":-1001,"type":"channel"},"date":1,"media_group_id":"g2",` + photo("B") + `}}`
	type id struct {
		Chat  int64
		Group string
		OK    bool
	}
	var got []id
	for _, u := range decodeAll(t, albumPart(1, 40, "g1", photo("A"), ""), edited, post, sampleUpdates["private_text"]) {
		c, g, ok := u.AlbumID()
		got = append(got, id{c, g, ok})
	}
	if d := cmp.Diff([]id{{111, "g1", true}, {}, {-1001, "g2", true}, {}}, got); d != "" {
		t.Fatalf("AlbumID (-want +got):\n%s", d)
	}
}

// FuzzNormalizeAlbum feeds arrays of updates to NormalizeAlbum: it must not
// panic, and a message it returns without error is valid and keeps the
// first part's key.
func FuzzNormalizeAlbum(f *testing.F) {
	f.Add(`[` + albumPart(1, 40, "g", photo("A"), "") + `,` + albumPart(2, 41, "g", photo("B"), "cap") + `]`)
	f.Add(`[` + sampleUpdates["private_text"] + `,` + sampleUpdates["callback_query"] + `]`)
	f.Add(`[` + sampleUpdates["service_new_members"] + `]`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, data string) {
		var raws []json.RawMessage
		if json.Unmarshal([]byte(data), &raws) != nil {
			return
		}
		var parts []*tgbot.Update
		for _, r := range raws {
			if u, err := tgbot.DecodeUpdate(r); err == nil {
				parts = append(parts, u)
			}
		}
		m, err := tgbot.NormalizeAlbum(parts, tgbot.NormalizeOptions{Workspace: "acme", BotID: 1})
		if err != nil || m == nil {
			return
		}
		if verr := m.Validate(); verr != nil {
			t.Fatalf("invalid message without error: %v", verr)
		}
	})
}
