package amocrmtest_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

func TestCreateCustomFields(t *testing.T) {
	b := setup(t)
	before := len(b.srv.CustomFields(amocrmtest.EntityLeads))
	m := b.must(200, "POST", "/api/v4/leads/custom_fields", []any{
		map[string]any{"name": "Chatter ID", "type": "text", "is_api_only": true, "request_id": "marker"},
		map[string]any{"name": "Канал", "type": "select", "enums": []any{map[string]any{"value": "Telegram", "sort": 1}, map[string]any{"value": "WhatsApp", "sort": 2}}},
	}).json(t)
	fields := get(m, "_embedded", "custom_fields").([]any)
	require.Len(t, fields, 2)
	marker := fields[0].(map[string]any)
	require.Equal(t, "marker", marker["request_id"])
	require.Equal(t, true, marker["is_api_only"])
	id := num(marker["id"])
	require.NotZero(t, id)

	var got []string
	for _, f := range b.srv.CustomFields(amocrmtest.EntityLeads)[before:] {
		got = append(got, f.Name+"/"+f.Type)
	}
	if d := cmp.Diff([]string{"Chatter ID/text", "Канал/select"}, got); d != "" {
		t.Fatalf("stored fields (-want +got):\n%s", d)
	}
	sel := b.srv.CustomFields(amocrmtest.EntityLeads)[before+1]
	require.Len(t, sel.Enums, 2)
	require.NotZero(t, sel.Enums[0].ID)
	// The new field is listed and can be read and written like the others.
	g := b.must(200, "GET", "/api/v4/leads/custom_fields/"+strconv.FormatInt(id, 10), nil).json(t)
	require.Equal(t, "Chatter ID", g["name"])
	b.must(200, "POST", "/api/v4/leads", []any{map[string]any{"name": "x",
		"custom_fields_values": []any{map[string]any{"field_id": id, "values": []any{map[string]any{"value": "tgbot:1:2:3"}}}}}})

	// Validation: no name, an unknown type, a select without enums.
	r := b.do("POST", "/api/v4/contacts/custom_fields", []any{
		map[string]any{"type": "text"},
		map[string]any{"name": "a", "type": "hologram"},
		map[string]any{"name": "b", "type": "select"},
	})
	require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	require.Equal(t, before, len(b.srv.CustomFields(amocrmtest.EntityLeads))-2, "nothing stored by a refused request")

	// Only administrators manage fields.
	u := b.srv.AddUser(amocrmtest.User{Name: "manager"})
	access, _ := b.srv.IssueTokenPair(u.ID)
	r = b.doToken(access, "POST", "/api/v4/leads/custom_fields", []any{map[string]any{"name": "c", "type": "text"}})
	require.Equal(t, http.StatusForbidden, r.status)
}
