package amocrmtest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

// ids returns the ids listed under _embedded.<kind> of a list answer (nil
// for a 204).
func (b *bundle) ids(kind, pathAndQuery string) []int64 {
	b.t.Helper()
	r := b.do("GET", pathAndQuery, nil)
	if r.status == http.StatusNoContent {
		return nil
	}
	require.Equal(b.t, http.StatusOK, r.status, "GET %s: %s", pathAndQuery, r.body)
	var out []int64
	items, _ := get(r.json(b.t), "_embedded", kind).([]any)
	for _, it := range items {
		out = append(out, num(get(it, "id")))
	}
	return out
}

func TestSearchLag(t *testing.T) {
	t.Parallel()
	b := setup(t, amocrmtest.WithSearchLag(30*time.Second))
	require.Equal(t, 30*time.Second, b.srv.SearchLag())
	b.clock.Advance(time.Hour) // after the demo's seeded entities
	body := []any{map[string]any{
		"name":                 "Заявка из Telegram",
		"custom_fields_values": []any{map[string]any{"field_id": amocrmtest.DemoLeadTelegramID, "values": []any{map[string]any{"value": "lagkey-1"}}}},
		"_embedded":            map[string]any{"contacts": []any{map[string]any{"first_name": "Зоя", "last_name": "Лагова"}}},
	}}
	res := b.must(200, "POST", "/api/v4/leads/complex", body).array(t)
	leadID, contactID := num(get(res, 0, "id")), num(get(res, 0, "contact_id"))
	require.NotZero(t, leadID)
	require.NotZero(t, contactID)
	created := epoch.Add(time.Hour).Unix()

	byQuery := func() (leads, contacts []int64) {
		return b.ids("leads", "/api/v4/leads?query=lagkey-1"), b.ids("contacts", "/api/v4/contacts?query="+url.QueryEscape("Лагова"))
	}
	// Not searchable yet; every other read sees the write at once.
	leads, contacts := byQuery()
	require.Empty(t, leads, "query found the lead before the lag passed")
	require.Empty(t, contacts, "query found the contact before the lag passed")
	want := []int64{leadID}
	for _, q := range []string{
		fmt.Sprintf("filter[id][]=%d", leadID),
		fmt.Sprintf("filter[created_at][from]=%d&filter[created_at][to]=%d", created, created),
		fmt.Sprintf("filter[created_at]=%d", created),
		fmt.Sprintf("filter[created_at][from]=%d", created),
		fmt.Sprintf("filter[custom_fields_values][%d][]=lagkey-1", amocrmtest.DemoLeadTelegramID),
	} {
		if diff := cmp.Diff(want, b.ids("leads", "/api/v4/leads?"+q)); diff != "" {
			t.Errorf("GET /leads?%s (-want +got):\n%s", q, diff)
		}
	}
	// created_at bounds are inclusive, in seconds.
	require.Empty(t, b.ids("leads", fmt.Sprintf("/api/v4/leads?filter[created_at][from]=%d", created+1)))
	require.Empty(t, b.ids("leads", fmt.Sprintf("/api/v4/leads?filter[created_at][from]=%d&filter[created_at][to]=%d", created-60, created-1)))
	m := b.must(200, "GET", fmt.Sprintf("/api/v4/contacts/%d?with=leads", contactID), nil).json(t)
	if diff := cmp.Diff(float64(leadID), get(m, "_embedded", "leads", 0, "id")); diff != "" {
		t.Errorf("contact with=leads (-want +got):\n%s", diff)
	}
	m = b.must(200, "GET", fmt.Sprintf("/api/v4/contacts?filter[created_at][from]=%d&with=leads", created), nil).json(t)
	if got := get(m, "_embedded", "contacts", 0, "_embedded", "leads", 0, "id"); got != float64(leadID) || len(get(m, "_embedded", "contacts").([]any)) != 1 {
		t.Errorf("contacts created since with=leads = %v", m)
	}
	m = b.must(200, "GET", fmt.Sprintf("/api/v4/leads?filter[id][]=%d&with=contacts", leadID), nil).json(t)
	if got := get(m, "_embedded", "leads", 0, "_embedded", "contacts", 0, "id"); got != float64(contactID) {
		t.Errorf("lead with=contacts = %v", m)
	}

	b.clock.Advance(30*time.Second - time.Nanosecond)
	leads, contacts = byQuery()
	require.Empty(t, leads, "query found the lead before the lag passed")
	require.Empty(t, contacts)
	b.clock.Advance(time.Nanosecond)
	leads, contacts = byQuery()
	if diff := cmp.Diff([]int64{leadID}, leads); diff != "" {
		t.Errorf("query after the lag (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{contactID}, contacts); diff != "" {
		t.Errorf("contact query after the lag (-want +got):\n%s", diff)
	}

	// An update is searchable by its new values only after the lag; until
	// then the index still holds the old ones.
	b.must(200, "PATCH", fmt.Sprintf("/api/v4/contacts/%d", contactID), map[string]any{"last_name": "Новикова", "name": "Зоя Новикова"})
	require.Empty(t, b.ids("contacts", "/api/v4/contacts?query="+url.QueryEscape("Новикова")))
	require.Equal(t, []int64{contactID}, b.ids("contacts", "/api/v4/contacts?query="+url.QueryEscape("Лагова")))
	b.clock.Advance(10 * time.Second)
	b.must(200, "PATCH", fmt.Sprintf("/api/v4/contacts/%d", contactID), map[string]any{"last_name": "Третья", "name": "Зоя Третья"})
	b.clock.Advance(20 * time.Second) // the first update is indexed, the second is not
	require.Equal(t, []int64{contactID}, b.ids("contacts", "/api/v4/contacts?query="+url.QueryEscape("Новикова")))
	require.Empty(t, b.ids("contacts", "/api/v4/contacts?query="+url.QueryEscape("Лагова")))
	require.Empty(t, b.ids("contacts", "/api/v4/contacts?query="+url.QueryEscape("Третья")))
	b.clock.Advance(10 * time.Second)
	require.Equal(t, []int64{contactID}, b.ids("contacts", "/api/v4/contacts?query="+url.QueryEscape("Третья")))
	require.Empty(t, b.ids("contacts", "/api/v4/contacts?query="+url.QueryEscape("Новикова")))

	// Seeded entities are searchable at once; without a lag, writes are too.
	seeded := b.srv.AddContact(amocrmtest.Contact{FirstName: "Сидор", LastName: "Засеянный"})
	require.Equal(t, []int64{seeded.ID}, b.ids("contacts", "/api/v4/contacts?query="+url.QueryEscape("Засеянный")))
	b.srv.SetSearchLag(0)
	b.must(200, "POST", "/api/v4/contacts", []any{map[string]any{"name": "Мгновенный"}})
	require.Len(t, b.ids("contacts", "/api/v4/contacts?query="+url.QueryEscape("Мгновенный")), 1)
}

// TestSearchLagAppliedThenFailed is the situation the lag exists for: a write
// amoCRM applied behind a 504 is not findable by query= for a while, but is
// by the contact's leads and by created_at.
func TestSearchLagAppliedThenFailed(t *testing.T) {
	t.Parallel()
	b := setup(t, amocrmtest.WithSearchLag(time.Minute))
	b.clock.Advance(time.Hour) // after the demo's seeded entities
	b.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/leads/complex", ApplyThenFail: true, Count: 1})
	body := []any{map[string]any{
		"name":                 "Ответ потерян",
		"custom_fields_values": []any{map[string]any{"field_id": amocrmtest.DemoLeadTelegramID, "values": []any{map[string]any{"value": "lost-answer"}}}},
		"_embedded":            map[string]any{"contacts": []any{map[string]any{"name": "Пётр Потерянный"}}},
	}}
	r := b.do("POST", "/api/v4/leads/complex", body)
	require.Equal(t, http.StatusGatewayTimeout, r.status)
	// The Date header is the server clock, the one created_at comes from.
	date, err := http.ParseTime(r.header.Get("Date"))
	require.NoError(t, err)
	require.Equal(t, epoch.Add(time.Hour), date)
	i := slices.IndexFunc(b.srv.Leads(), func(l amocrmtest.Lead) bool {
		return amocrmtest.FieldString(l.CustomFieldsValues, amocrmtest.DemoLeadTelegramID) == "lost-answer"
	})
	require.GreaterOrEqual(t, i, 0, "the write was not applied")
	lead := b.srv.Leads()[i]
	require.Empty(t, b.ids("leads", "/api/v4/leads?query=lost-answer"))
	require.Equal(t, []int64{lead.ID}, b.ids("leads", fmt.Sprintf("/api/v4/leads?filter[created_at][from]=%d&order[id]=desc", epoch.Add(time.Hour).Unix()-60)))
	c, ok := b.srv.Contact(lead.ContactIDs[0])
	require.True(t, ok)
	require.Equal(t, []int64{lead.ID}, c.LeadIDs)
	b.clock.Advance(time.Minute)
	require.Equal(t, []int64{lead.ID}, b.ids("leads", "/api/v4/leads?query=lost-answer"))
}
