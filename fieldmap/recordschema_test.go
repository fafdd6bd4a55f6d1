package fieldmap_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/fieldmap"
)

// messageSchema is the shape of amocrmsink's message records.
var messageSchema = fieldmap.RecordSchemaOf(chatter.Message{}).With("sender.name")

type pathProblem struct {
	Code         fieldmap.Code
	Path         string
	Line, Column int
	EN           string
	Suggestions  []string
}

func pathProblems(err error) []pathProblem {
	var out []pathProblem
	for _, p := range fieldmap.ProblemsOf(err) {
		out = append(out, pathProblem{p.Code, p.Path, p.Line, p.Column, p.Message.EN, p.Suggestions})
	}
	return out
}

func TestRecordSchemaUnknownPaths(t *testing.T) {
	spec, err := fieldmap.ParseSpec([]byte(`lookups: {t: {a: b}}
lead:
  name: '{{ sendr.first_name | default sender.usrname }} {{ text | lookup t }}'
  tags:
    - {from: chat.titel}
    - '{{ attachments.0.knd }}'
    - '{{ attachments.1.kind }} {{ raw.update.message.id }} {{ sender.name }}'
  pipeline:
    - when: 'txt | icontains "опт"'
      id: 1
`), fieldmap.FormatYAML)
	require.NoError(t, err)
	_, err = fieldmap.Compile(spec, fieldmap.WithRecordSchema(messageSchema))
	want := []pathProblem{
		{fieldmap.CodeUnknownPath, "lead.pipeline[0].when", 9, 13, `the record has no path "txt" (col 1)`, []string{"text"}},
		{fieldmap.CodeUnknownPath, "lead.name", 3, 9, `the record has no path "sendr.first_name" (col 4)`, []string{"sender.first_name", "sender.last_name", "sender.username"}},
		{fieldmap.CodeUnknownPath, "lead.name", 3, 9, `the record has no path "sender.usrname" (col 31)`, []string{"sender.username", "sender.name", "sender.last_name"}},
		{fieldmap.CodeUnknownPath, "lead.tags[0].from", 5, 14, `the record has no path "chat.titel"`, []string{"chat.title", "chat.type", "chat"}},
		{fieldmap.CodeUnknownPath, "lead.tags[1]", 6, 7, `the record has no path "attachments.0.knd" (col 4)`, []string{"attachments.0.kind", "attachments.0", "attachments.0.name"}},
	}
	if d := cmp.Diff(want, pathProblems(err)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}

	// without a record schema the same spec compiles: the paths are not known
	_, err = fieldmap.Compile(spec)
	require.NoError(t, err)
}

// The documented example spec uses only paths of a message.
func TestRecordSchemaExampleSpec(t *testing.T) {
	for _, f := range []string{"testdata/spec.yaml", "testdata/spec.json"} {
		spec, err := fieldmap.LoadSpec(f)
		require.NoError(t, err)
		_, err = fieldmap.Compile(spec, fieldmap.WithSchema(loadTestSchema(t)), fieldmap.WithRecordSchema(messageSchema))
		require.NoError(t, err, f)
	}
}

// Validate checks the record paths again.
func TestValidateKeepsRecordSchema(t *testing.T) {
	m3, err := fieldmap.Compile(&fieldmap.Spec{Lead: fieldmap.LeadSpec{Name: &fieldmap.Source{From: "txet"}}},
		fieldmap.WithRecordSchema(fieldmap.NewRecordSchema("*")))
	require.NoError(t, err, "* opens every path")
	ps := fieldmap.Validate(m3, loadTestSchema(t))
	require.False(t, ps.Has(fieldmap.CodeUnknownPath))

	m4, err := fieldmap.Compile(&fieldmap.Spec{Lead: fieldmap.LeadSpec{Name: &fieldmap.Source{From: "text"}}},
		fieldmap.WithRecordSchema(messageSchema))
	require.NoError(t, err)
	m4.Spec().Lead.Name.From = "txet" // changed after compiling: Validate sees it
	ps = fieldmap.Validate(m4, loadTestSchema(t))
	if d := cmp.Diff([]pathProblem{{fieldmap.CodeUnknownPath, "lead.name.from", 0, 0, `the record has no path "txet"`, []string{"text"}}},
		pathProblems(ps.Err())); d != "" {
		t.Errorf("Validate (-want +got):\n%s", d)
	}
}

// A declared schema for records that are not messages, with a dynamic part.
func TestNewRecordSchema(t *testing.T) {
	rs := fieldmap.NewRecordSchema("form.name", "form.phone", "items.#.sku", "extra.*")
	for path, want := range map[string]bool{
		"form": true, "form.name": true, "form.phone": true, "form.nam": false, "items": true, "items.3": true,
		"items.3.sku": true, "items.x.sku": false, "extra": true, "extra.utm.source": true, "extras": false, "name": false,
	} {
		if got := rs.Has(path); got != want {
			t.Errorf("Has(%q) = %v, want %v", path, got, want)
		}
	}
	if d := cmp.Diff([]string{"extra.*", "form.name", "form.phone", "items.#.sku"}, rs.Paths()); d != "" {
		t.Errorf("Paths (-want +got):\n%s", d)
	}
	_, err := fieldmap.Compile(&fieldmap.Spec{Lead: fieldmap.LeadSpec{Name: &fieldmap.Source{Template: "{{ form.nam }} {{ extra.anything }}"}}},
		fieldmap.WithRecordSchema(rs))
	if d := cmp.Diff([]pathProblem{{fieldmap.CodeUnknownPath, "lead.name", 0, 0, `the record has no path "form.nam" (col 4)`, []string{"form.name", "form"}}},
		pathProblems(err)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}

// The schema of a message lists its JSON names, lists as # and the raw
// payload open; every path it lists exists in a full message's records,
// both MessageRecord and StructRecord: it is derived from the same JSON
// names and cannot drift from them.
func TestRecordSchemaOfMessage(t *testing.T) {
	want := []string{
		"attachments.#.file_id", "attachments.#.kind", "attachments.#.mime_type", "attachments.#.name", "attachments.#.size",
		"chat.id", "chat.title", "chat.type", "chat.username", "edited",
		"key.account", "key.chat_id", "key.message_id", "key.revision", "key.source", "link", "raw.*", "reply_to",
		"sender.first_name", "sender.id", "sender.is_bot", "sender.language", "sender.last_name", "sender.phone", "sender.username",
		"text", "time", "workspace",
	}
	if d := cmp.Diff(want, fieldmap.RecordSchemaOf(chatter.Message{}).Paths()); d != "" {
		t.Errorf("paths (-want +got):\n%s", d)
	}
	m := &chatter.Message{Workspace: "w", Key: chatter.Key{Source: chatter.SourceBot, Account: "1", ChatID: 2, MessageID: 3, Revision: 4},
		Chat: chatter.Chat{ID: 2, Type: "group", Title: "t", Username: "u"}, Text: "x", Time: time.Unix(1, 0).UTC(), Link: "https://t.me/x",
		Sender:      chatter.Sender{ID: 5, Username: "s", FirstName: "f", LastName: "l", Phone: "+1", IsBot: true, Language: "ru"},
		Attachments: []chatter.Attachment{{Kind: "photo", FileID: "f", Name: "n", MIMEType: "image/png", Size: 1}},
		Edited:      true, ReplyTo: 1, Raw: json.RawMessage(`{"a":1}`)}
	sr, err := fieldmap.StructRecord(m)
	require.NoError(t, err)
	for _, recs := range []struct {
		name string
		rec  fieldmap.Record
	}{{"MessageRecord", amocrmsink.NewMessageRecord(m)}, {"StructRecord", sr}} {
		for _, p := range want {
			p = strings.ReplaceAll(strings.TrimSuffix(p, ".*"), "#", "0")
			if _, ok := recs.rec.Lookup(p); !ok {
				t.Errorf("%s has no %s", recs.name, p)
			}
		}
	}
	if _, ok := amocrmsink.NewMessageRecord(m).Lookup("sender.name"); !ok {
		t.Error("MessageRecord has no sender.name (added by With)")
	}
}

func TestRecordSchemaOfShapes(t *testing.T) {
	type inner struct {
		A int `json:"a"`
	}
	type Embedded struct {
		E string `json:"e"`
	}
	type rec struct {
		Embedded
		Skip    string `json:"-"`
		NoTag   string
		P       *inner            `json:"p,omitempty"`
		List    []inner           `json:"list"`
		Bytes   []byte            `json:"bytes"`
		Map     map[string]string `json:"map"`
		Any     any               `json:"any"`
		When    time.Time         `json:"when"`
		private int
	}
	_ = rec{}.private
	if d := cmp.Diff([]string{"NoTag", "any.*", "bytes", "e", "list.#.a", "map.*", "p.a", "when"},
		fieldmap.RecordSchemaOf(&rec{}).Paths()); d != "" {
		t.Errorf("paths (-want +got):\n%s", d)
	}
}

func loadTestSchema(t *testing.T) *fieldmap.Schema {
	t.Helper()
	b, err := os.ReadFile("testdata/schema.json")
	require.NoError(t, err)
	var s fieldmap.Schema
	require.NoError(t, json.Unmarshal(b, &s))
	return &s
}
