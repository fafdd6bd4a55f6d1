package demo

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/fieldmap"
)

// The demo mapping compiles against the live schema of the fake account
// (names resolve to the demo account's fields, enums and users) with no
// problem at all, and fieldmap's own validation agrees.
func TestMappingValidatesAgainstTheDemoSchema(t *testing.T) {
	env := startEnv(t, t.TempDir())
	client, err := amocrm.NewClient(env.AmoCRMSubdomain, amocrm.WithBaseURL(env.AmoCRMURL), amocrm.WithLongLivedToken(env.AmoCRMToken))
	require.NoError(t, err)
	schema, err := fieldmap.FetchSchema(client)(context.Background())
	require.NoError(t, err)
	spec, err := Mapping()
	require.NoError(t, err)
	m, err := fieldmap.Compile(spec, fieldmap.WithSchema(schema))
	require.NoError(t, err, "problems: %v", fieldmap.ProblemsOf(err))
	require.Empty(t, m.Warnings())
	require.Empty(t, fieldmap.Validate(m, schema))

	// A renamed field in the account is caught by the same validation.
	bad, err := fieldmap.ParseSpec([]byte(string(MappingYAML)+"\n"), fieldmap.FormatYAML)
	require.NoError(t, err)
	bad.Lead.Fields[0].Name = "Источнег"
	_, err = fieldmap.Compile(bad, fieldmap.WithSchema(schema))
	require.NotEmpty(t, fieldmap.ProblemsOf(err).Errors())
}

// Every message the script produces maps without an error, and the contact
// gets exactly the phone the script wrote (in the text or shared).
func TestMappingOfEveryScriptMessage(t *testing.T) {
	fake := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
	spec, err := Mapping()
	require.NoError(t, err)
	m, err := fieldmap.Compile(spec, fieldmap.WithSchema(schemaOf(t, fake)))
	require.NoError(t, err)
	at := time.Date(2025, 5, 14, 10, 0, 0, 0, time.UTC)
	for seed := range uint64(10) {
		for _, ev := range Script(seed, 200) {
			msg := messageOf(ev, at)
			res, err := m.Apply(amocrmsink.NewMessageRecord(msg))
			require.NoError(t, err, "event %s", ev.Describe())
			var phone string
			if c := res.Lead.Contact; c != nil {
				if ph := c.Phones(); len(ph) > 0 {
					phone = ph[0]
				}
				require.Equal(t, ev.Person.Name(), c.Name)
			}
			require.Equal(t, ev.Phone, phone, "event %s", ev.Describe())
			source := res.Lead.Lead.CustomFieldsValues.ByID(int(amocrmtest.DemoLeadSource))
			require.NotNil(t, source)
			want := amocrmtest.DemoSourceTelegramBot
			if ev.Chat != ChatBot {
				want = amocrmtest.DemoSourceParsing
			}
			require.Equal(t, int(want), source.First().EnumID)
			require.Equal(t, int(amocrmtest.DemoManagerUserID), res.Lead.Lead.ResponsibleUserID)
		}
	}
}

// messageOf is ev as the sources normalise it (ids are arbitrary here).
func messageOf(ev Event, at time.Time) *chatter.Message {
	id := int64(100_000_000 + ev.Person.Index)
	msg := &chatter.Message{Workspace: "demo", Text: ev.Text, Time: at,
		Sender: chatter.Sender{ID: id, Username: ev.Person.Username, FirstName: ev.Person.FirstName, LastName: ev.Person.LastName, Language: "ru"}}
	if ev.Chat == ChatBot {
		msg.Key = chatter.Key{Source: chatter.SourceBot, Account: "7000000001", ChatID: id, MessageID: int64(ev.Seq + 1)}
		msg.Chat = chatter.Chat{ID: id, Type: chatter.ChatPrivate, Title: ev.Person.Name()}
		if ev.Kind == KindContact {
			msg.Sender.Phone = ev.Phone
			msg.Attachments = []chatter.Attachment{{Kind: chatter.AttachContact}}
		}
		if ev.Kind == KindEdit {
			msg.Edited, msg.Key.Revision = true, at.Unix()
		}
		return msg
	}
	g := groupDefs[groupIndex(ev.Chat)]
	msg.Sender.FirstName, msg.Sender.LastName = ev.Person.Name(), ""
	msg.Key = chatter.Key{Source: chatter.SourceParser, Account: "tgparse", ChatID: -1_000_000_001_002, MessageID: int64(ev.Seq + 1)}
	msg.Chat = chatter.Chat{ID: msg.Key.ChatID, Type: chatter.ChatSupergroup, Title: g.title, Username: g.username}
	msg.Link = "https://t.me/" + g.username + "/" + strconv.Itoa(ev.Seq+1)
	return msg
}

// schemaOf reads a fake's schema through the amoCRM client.
func schemaOf(t *testing.T, fake *amocrmtest.Server) *fieldmap.Schema {
	t.Helper()
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	c, err := amocrm.NewClient("demo", amocrm.WithBaseURL(ts.URL), amocrm.WithLongLivedToken(fake.AccessToken()))
	require.NoError(t, err)
	s, err := fieldmap.FetchSchema(c)(context.Background())
	require.NoError(t, err)
	return s
}
