package amocrmtest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

func TestAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.must(200, "GET", "/api/v4/account?with=users_groups,amojo_id", nil)
	if ct := r.header.Get("Content-Type"); ct != "application/hal+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	m := r.json(t)
	acc := amocrmtest.DefaultAccount()
	if get(m, "subdomain") != acc.Subdomain || num(get(m, "id")) != acc.ID || get(m, "amojo_id") != acc.AmojoID {
		t.Errorf("account = %v", m)
	}
	if get(m, "_embedded", "users_groups", 0, "name") != "Отдел продаж" {
		t.Errorf("users_groups = %v", get(m, "_embedded"))
	}
	if num(get(m, "current_user_id")) != amocrmtest.DemoAdminUserID {
		t.Errorf("current_user_id = %v", get(m, "current_user_id"))
	}
	// Without with= the optional parts are absent.
	m = b.must(200, "GET", "/api/v4/account", nil).json(t)
	if _, ok := m["amojo_id"]; ok {
		t.Error("amojo_id present without with=amojo_id")
	}
}

func TestUsersRights(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.must(200, "GET", "/api/v4/users", nil).json(t)
	users := get(m, "_embedded", "users").([]any)
	if len(users) != 3 {
		t.Fatalf("%d users", len(users))
	}
	if get(users[0], "rights", "is_admin") != true || get(users[1], "rights", "leads", "delete") != "D" ||
		get(users[2], "rights", "is_active") != false {
		t.Errorf("rights = %v", users)
	}
	u := b.must(200, "GET", fmt.Sprintf("/api/v4/users/%d", amocrmtest.DemoManagerUserID), nil).json(t)
	if get(u, "name") != "Иван Петров" {
		t.Errorf("user = %v", u)
	}
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tok := range []string{"", "garbage"} {
		r := b.doToken(tok, "GET", "/api/v4/leads", nil)
		if r.status != 401 || r.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("token %q: %d %s", tok, r.status, r.body)
		}
		if get(r.json(t), "title") != "Unauthorized" {
			t.Errorf("body = %s", r.body)
		}
	}
}

func TestListPagingAnd204(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 118 { // plus 2 demo leads = 120
		b.srv.AddLead(amocrmtest.Lead{Name: fmt.Sprintf("lead %03d", i)})
	}
	m := b.must(200, "GET", "/api/v4/leads", nil).json(t)
	if n := len(get(m, "_embedded", "leads").([]any)); n != amocrmtest.DefaultLimit {
		t.Fatalf("default page has %d leads", n)
	}
	if num(get(m, "_page")) != 1 || get(m, "_links", "next", "href") == nil || get(m, "_links", "prev") != nil {
		t.Errorf("page 1 links = %v", get(m, "_links"))
	}
	next, _ := url.Parse(get(m, "_links", "next", "href").(string))
	if next.Query().Get("page") != "2" || next.Host == "" {
		t.Errorf("next = %v", next)
	}
	m = b.must(200, "GET", "/api/v4/leads?limit=50&page=3", nil).json(t)
	if n := len(get(m, "_embedded", "leads").([]any)); n != 20 {
		t.Errorf("page 3 has %d leads", n)
	}
	if get(m, "_links", "next") != nil || get(m, "_links", "prev", "href") == nil || get(m, "_links", "first", "href") == nil {
		t.Errorf("page 3 links = %v", get(m, "_links"))
	}
	r := b.do("GET", "/api/v4/leads?limit=50&page=4", nil)
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Errorf("past the end: %d %q", r.status, r.body)
	}
	// limit is clamped to 250.
	m = b.must(200, "GET", "/api/v4/leads?limit=1000", nil).json(t)
	if n := len(get(m, "_embedded", "leads").([]any)); n != 120 {
		t.Errorf("limit=1000 returned %d", n)
	}
	if !strings.Contains(get(m, "_links", "self", "href").(string), "limit=250") {
		t.Errorf("self = %v", get(m, "_links", "self"))
	}
	// Custom fields page at most 50 and carry _total_items.
	m = b.must(200, "GET", "/api/v4/leads/custom_fields?limit=3", nil).json(t)
	if num(get(m, "_total_items")) != 10 || len(get(m, "_embedded", "custom_fields").([]any)) != 3 {
		t.Errorf("custom fields = %v", m)
	}
	// An empty filter result is 204 too, and a missing entity.
	if r := b.do("GET", "/api/v4/leads?query=nothing-like-this", nil); r.status != 204 || len(r.body) != 0 {
		t.Errorf("empty search: %d", r.status)
	}
	if r := b.do("GET", "/api/v4/leads/1", nil); r.status != 204 {
		t.Errorf("missing lead: %d", r.status)
	}
	// A fresh account without data.
	empty := amocrmtest.NewServer(t, amocrmtest.WithSeed(func(s *amocrmtest.Server) {
		s.AddUser(amocrmtest.User{Name: "a", Rights: amocrmtest.UserRights{IsAdmin: true}})
	}))
	eb := &bundle{t: t, srv: empty, token: empty.AccessToken()}
	if r := eb.do("GET", "/api/v4/contacts", nil); r.status != 204 || len(r.body) != 0 {
		t.Errorf("empty contacts: %d %q", r.status, r.body)
	}
}

func TestCreateGetUpdateLead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	contact := b.srv.Contacts()[0]
	body := []map[string]any{{
		"name": "Новая заявка", "price": 5000, "request_id": "req-1",
		"custom_fields_values": []any{
			map[string]any{"field_id": amocrmtest.DemoLeadSource, "values": []any{map[string]any{"enum_id": amocrmtest.DemoSourceSite}}},
			map[string]any{"field_id": amocrmtest.DemoLeadBudget, "values": []any{map[string]any{"value": 5000}}},
			map[string]any{"field_id": amocrmtest.DemoLeadConsent, "values": []any{map[string]any{"value": true}}},
			map[string]any{"field_id": amocrmtest.DemoLeadFirstMessageAt, "values": []any{map[string]any{"value": "2026-03-01T12:00:00+03:00"}}},
			map[string]any{"field_id": amocrmtest.DemoLeadInterests, "values": []any{map[string]any{"value": "Опт"}, map[string]any{"value": "Доставка"}}},
		},
		"_embedded": map[string]any{
			"tags":     []any{map[string]any{"name": "telegram"}, map[string]any{"name": "новый тег"}},
			"contacts": []any{map[string]any{"id": contact.ID}},
		},
	}}
	m := b.must(200, "POST", "/api/v4/leads", body).json(t)
	created := get(m, "_embedded", "leads", 0)
	id := num(get(created, "id"))
	if get(created, "request_id") != "req-1" || id == 0 {
		t.Fatalf("created = %v", created)
	}
	lead, ok := b.srv.Lead(id)
	if !ok || lead.StatusID != amocrmtest.DemoStatusFirstContact || lead.PipelineID != amocrmtest.DemoPipelineID || lead.Price != 5000 {
		t.Fatalf("lead = %+v", lead)
	}
	if amocrmtest.FieldString(lead.CustomFieldsValues, amocrmtest.DemoLeadSource) != "Сайт" || amocrmtest.FieldString(lead.CustomFieldsValues, amocrmtest.DemoLeadBudget) != "5000" {
		t.Errorf("cf = %+v", lead.CustomFieldsValues)
	}
	if len(lead.Tags) != 2 || len(lead.ContactIDs) != 1 || lead.CreatedBy != amocrmtest.DemoAdminUserID {
		t.Errorf("lead = %+v", lead)
	}

	g := b.must(200, "GET", fmt.Sprintf("/api/v4/leads/%d?with=contacts", id), nil).json(t)
	if get(g, "_embedded", "contacts", 0, "is_main") != true || num(get(g, "_embedded", "contacts", 0, "id")) != contact.ID {
		t.Errorf("contacts = %v", get(g, "_embedded"))
	}
	if get(g, "closed_at") != nil || get(g, "loss_reason_id") != nil {
		t.Errorf("nullable fields = %v %v", get(g, "closed_at"), get(g, "loss_reason_id"))
	}
	var src map[string]any
	for _, f := range get(g, "custom_fields_values").([]any) {
		if num(get(f, "field_id")) == amocrmtest.DemoLeadSource {
			src = f.(map[string]any)
		}
	}
	if get(src, "field_name") != "Источник" || get(src, "field_type") != "select" ||
		num(get(src, "values", 0, "enum_id")) != amocrmtest.DemoSourceSite || get(src, "values", 0, "value") != "Сайт" {
		t.Errorf("select value = %v", src)
	}
	if g2 := b.must(200, "GET", fmt.Sprintf("/api/v4/leads/%d", id), nil).json(t); get(g2, "_embedded", "contacts") != nil {
		t.Error("contacts embedded without with=contacts")
	}

	// Single PATCH to won sets closed_at; a field is cleared with values: null.
	b.clock.Advance(60e9)
	u := b.must(200, "PATCH", fmt.Sprintf("/api/v4/leads/%d", id), map[string]any{
		"status_id": amocrmtest.StatusWon, "tags_to_delete": []any{map[string]any{"name": "telegram"}},
		"custom_fields_values": []any{map[string]any{"field_id": amocrmtest.DemoLeadConsent, "values": nil}},
	}).json(t)
	if num(get(u, "id")) != id || num(get(u, "updated_at")) != epoch.Unix()+60 {
		t.Errorf("patch answer = %v", u)
	}
	lead, _ = b.srv.Lead(id)
	if lead.StatusID != amocrmtest.StatusWon || lead.ClosedAt.Unix() != epoch.Unix()+60 || len(lead.Tags) != 1 ||
		amocrmtest.FieldString(lead.CustomFieldsValues, amocrmtest.DemoLeadConsent) != "" {
		t.Errorf("after patch = %+v", lead)
	}

	// Batch PATCH echoes request_id.
	m = b.must(200, "PATCH", "/api/v4/leads", []any{map[string]any{"id": id, "name": "renamed", "request_id": "x"}}).json(t)
	if get(m, "_embedded", "leads", 0, "request_id") != "x" {
		t.Errorf("batch patch = %v", m)
	}
	if l, _ := b.srv.Lead(id); l.Name != "renamed" {
		t.Errorf("name = %q", l.Name)
	}
}

func TestCreateContactByFieldCode(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.must(200, "POST", "/api/v4/contacts", []any{map[string]any{
		"first_name": "Пётр", "last_name": "Иванов",
		"custom_fields_values": []any{
			map[string]any{"field_code": "PHONE", "values": []any{map[string]any{"value": "+79001112233", "enum_code": "MOB"}}},
			map[string]any{"field_code": "EMAIL", "values": []any{map[string]any{"value": "petr@example.com"}}},
		},
	}}).json(t)
	id := num(get(m, "_embedded", "contacts", 0, "id"))
	c, _ := b.srv.Contact(id)
	if c.Name != "Пётр Иванов" || amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactPhone) != "+79001112233" {
		t.Fatalf("contact = %+v", c)
	}
	g := b.must(200, "GET", fmt.Sprintf("/api/v4/contacts/%d", id), nil).json(t)
	for _, f := range get(g, "custom_fields_values").([]any) {
		if get(f, "field_code") == "EMAIL" && get(f, "values", 0, "enum_code") != "WORK" {
			t.Errorf("default enum_code = %v", f)
		}
		if get(f, "field_code") == "PHONE" && get(f, "values", 0, "enum_code") != "MOB" {
			t.Errorf("enum_code = %v", f)
		}
	}
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cf := func(id any, key string, v any) []any {
		return []any{map[string]any{"field_id": id, "values": []any{map[string]any{key: v}}}}
	}
	tests := []struct {
		name       string
		lead       map[string]any
		code, path string
	}{
		{"unknown field id", map[string]any{"custom_fields_values": cf(123, "value", "x")}, "NotSupportedChoice", "custom_fields_values.0.field_id"},
		{"unknown field code", map[string]any{"custom_fields_values": []any{map[string]any{"field_code": "NOPE", "values": []any{}}}}, "NotSupportedChoice", "custom_fields_values.0.field_code"},
		{"numeric gets text", map[string]any{"custom_fields_values": cf(amocrmtest.DemoLeadBudget, "value", "много")}, "InvalidType", "custom_fields_values.0.values.0.value"},
		{"checkbox gets string", map[string]any{"custom_fields_values": cf(amocrmtest.DemoLeadConsent, "value", "yes")}, "InvalidType", "custom_fields_values.0.values.0.value"},
		{"text gets object", map[string]any{"custom_fields_values": cf(amocrmtest.DemoLeadTelegramID, "value", map[string]any{})}, "InvalidType", "custom_fields_values.0.values.0.value"},
		{"date gets junk", map[string]any{"custom_fields_values": cf(amocrmtest.DemoLeadFirstMessageAt, "value", "вчера")}, "InvalidType", "custom_fields_values.0.values.0.value"},
		{"enum id not in field", map[string]any{"custom_fields_values": cf(amocrmtest.DemoLeadSource, "enum_id", 999)}, "NotSupportedChoice", "custom_fields_values.0.values.0.enum_id"},
		{"enum value not in field", map[string]any{"custom_fields_values": cf(amocrmtest.DemoLeadSource, "value", "Радио")}, "NotSupportedChoice", "custom_fields_values.0.values.0.value"},
		{"price as string", map[string]any{"price": "100"}, "InvalidType", "price"},
		{"unknown pipeline", map[string]any{"pipeline_id": 1}, "NotSupportedChoice", "pipeline_id"},
		{"status of another pipeline", map[string]any{"status_id": amocrmtest.DemoPartnersStatusNew}, "NotSupportedChoice", "status_id"},
		{"unsorted status", map[string]any{"status_id": amocrmtest.DemoStatusUnsorted}, "NotSupportedChoice", "status_id"},
		{"unknown user", map[string]any{"responsible_user_id": 42}, "NotSupportedChoice", "responsible_user_id"},
		{"unknown tag id", map[string]any{"_embedded": map[string]any{"tags": []any{map[string]any{"id": 1}}}}, "NotSupportedChoice", "_embedded.tags.0.id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(b.srv.Leads())
			ok := map[string]any{"name": "valid"}
			r := b.do("POST", "/api/v4/leads", []any{ok, tt.lead})
			errs := validationErrors(t, r)
			if !hasErr(errs, "1", tt.code, tt.path) || len(errs) != 1 {
				t.Errorf("errors = %+v, want request 1 %s at %s", errs, tt.code, tt.path)
			}
			if n := len(b.srv.Leads()); n != before {
				t.Errorf("a rejected batch created %d leads", n-before)
			}
		})
	}
	t.Run("request_id is echoed", func(t *testing.T) {
		r := b.do("POST", "/api/v4/contacts", []any{map[string]any{"request_id": "mine", "responsible_user_id": 1}})
		if errs := validationErrors(t, r); !hasErr(errs, "mine", "NotSupportedChoice", "responsible_user_id") {
			t.Errorf("errors = %+v", errs)
		}
	})
	t.Run("batch over 50", func(t *testing.T) {
		items := make([]any, 51)
		for i := range items {
			items[i] = map[string]any{"name": "x"}
		}
		errs := validationErrors(t, b.do("POST", "/api/v4/leads", items))
		if len(errs) != 1 || errs[0].Code != "CountMaxLimit" {
			t.Errorf("errors = %+v", errs)
		}
	})
	t.Run("object instead of array", func(t *testing.T) {
		errs := validationErrors(t, b.do("POST", "/api/v4/leads", map[string]any{"name": "x"}))
		if errs[0].Code != "InvalidType" {
			t.Errorf("errors = %+v", errs)
		}
	})
	t.Run("invalid JSON", func(t *testing.T) {
		r := b.do("POST", "/api/v4/leads", "[{")
		if r.status != 400 || r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
}

func TestRequiredStatuses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	budget := []any{map[string]any{"field_id": amocrmtest.DemoLeadBudget, "values": []any{map[string]any{"value": "1000"}}}}
	errs := validationErrors(t, b.do("POST", "/api/v4/leads", []any{map[string]any{"name": "x", "status_id": amocrmtest.DemoStatusDecision}}))
	if !hasErr(errs, "0", amocrmtest.CodeFieldRequired, "custom_fields_values") || !strings.Contains(errs[0].Detail, "Бюджет") {
		t.Errorf("errors = %+v", errs)
	}
	b.must(200, "POST", "/api/v4/leads", []any{map[string]any{"name": "x", "status_id": amocrmtest.DemoStatusDecision, "custom_fields_values": budget}})

	// Moving into the status needs the field; other moves do not.
	id := num(get(b.must(200, "POST", "/api/v4/leads", []any{map[string]any{"name": "y"}}).json(t), "_embedded", "leads", 0, "id"))
	path := fmt.Sprintf("/api/v4/leads/%d", id)
	b.must(200, "PATCH", path, map[string]any{"status_id": amocrmtest.DemoStatusNegotiation})
	errs = validationErrors(t, b.do("PATCH", path, map[string]any{"status_id": amocrmtest.DemoStatusDecision}))
	if !hasErr(errs, "0", amocrmtest.CodeFieldRequired, "custom_fields_values") {
		t.Errorf("errors = %+v", errs)
	}
	b.must(200, "PATCH", path, map[string]any{"status_id": amocrmtest.DemoStatusDecision, "custom_fields_values": budget})
	// The rule is per pipeline: the same status id in no other pipeline.
	if l, _ := b.srv.Lead(id); l.StatusID != amocrmtest.DemoStatusDecision {
		t.Errorf("status = %d", l.StatusID)
	}
}

func TestQuerySearchAndFilters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	oleg := b.srv.Contacts()[1] // phone "+7 (926) 555-44-33"
	for _, q := range []string{"89265554433", "9265554433", "+79265554433", "555-44", "кузнец", "Олег", "123456789"} {
		m := b.must(200, "GET", "/api/v4/contacts?query="+url.QueryEscape(q), nil).json(t)
		got := get(m, "_embedded", "contacts").([]any)
		if len(got) != 1 || num(get(got[0], "id")) != oleg.ID {
			t.Errorf("query %q found %v", q, got)
		}
	}
	m := b.must(200, "GET", "/api/v4/contacts?query=anna%40romashka.example", nil).json(t)
	if get(m, "_embedded", "contacts", 0, "first_name") != "Анна" {
		t.Errorf("email search = %v", m)
	}
	if r := b.do("GET", "/api/v4/contacts?query=79990000000", nil); r.status != 204 {
		t.Errorf("no match: %d", r.status)
	}
	m = b.must(200, "GET", "/api/v4/companies?query=ромашка&with=contacts,leads", nil).json(t)
	if get(m, "_embedded", "companies", 0, "_embedded", "contacts", 0, "id") == nil ||
		get(m, "_embedded", "companies", 0, "_embedded", "leads", 0, "id") == nil {
		t.Errorf("company with= = %v", m)
	}

	q := url.Values{}
	q.Set("filter[statuses][0][pipeline_id]", fmt.Sprint(amocrmtest.DemoPipelineID))
	q.Set("filter[statuses][0][status_id]", fmt.Sprint(amocrmtest.DemoStatusNegotiation))
	m = b.must(200, "GET", "/api/v4/leads?"+q.Encode(), nil).json(t)
	if leads := get(m, "_embedded", "leads").([]any); len(leads) != 1 || num(get(leads[0], "status_id")) != amocrmtest.DemoStatusNegotiation {
		t.Errorf("status filter = %v", leads)
	}
	leads := b.srv.Leads()
	m = b.must(200, "GET", fmt.Sprintf("/api/v4/leads?filter[id][]=%d&filter[id][]=%d&order[id]=desc", leads[0].ID, leads[1].ID), nil).json(t)
	if got := get(m, "_embedded", "leads").([]any); len(got) != 2 || num(get(got[0], "id")) != leads[1].ID {
		t.Errorf("id filter desc = %v", got)
	}
	m = b.must(200, "GET", fmt.Sprintf("/api/v4/leads?filter[responsible_user_id]=%d", amocrmtest.DemoManagerUserID), nil).json(t)
	if got := get(m, "_embedded", "leads").([]any); len(got) != 1 {
		t.Errorf("responsible filter = %v", got)
	}
	m = b.must(200, "GET", "/api/v4/leads?filter[price][from]=100000", nil).json(t)
	if got := get(m, "_embedded", "leads").([]any); len(got) != 1 {
		t.Errorf("price filter = %v", got)
	}
	m = b.must(200, "GET", fmt.Sprintf("/api/v4/leads?filter[custom_fields_values][%d][]=123456789", amocrmtest.DemoLeadTelegramID), nil).json(t)
	if got := get(m, "_embedded", "leads").([]any); len(got) != 1 {
		t.Errorf("cf filter = %v", got)
	}
}

func TestComplex(t *testing.T) {
	t.Parallel()
	b := setup(t)
	anna := b.srv.Contacts()[0]
	contactsBefore := len(b.srv.Contacts())
	body := []any{
		map[string]any{
			"name": "Дубль", "request_id": "a",
			"_embedded": map[string]any{"contacts": []any{map[string]any{
				"first_name": "Анна",
				"custom_fields_values": []any{map[string]any{"field_code": "PHONE",
					"values": []any{map[string]any{"value": "8 (916) 123-45-67"}}}},
			}}},
		},
		map[string]any{
			"name": "Новый", "request_id": "b",
			"custom_fields_values": []any{map[string]any{"field_id": amocrmtest.DemoLeadTelegramID, "values": []any{map[string]any{"value": "42"}}}},
			"_embedded": map[string]any{
				"contacts": []any{map[string]any{"name": "Борис", "custom_fields_values": []any{map[string]any{
					"field_code": "EMAIL", "values": []any{map[string]any{"value": "boris@example.com"}}}}}},
				"companies": []any{map[string]any{"name": "ИП Борис"}},
				"tags":      []any{map[string]any{"name": "telegram"}},
			},
		},
	}
	r := b.must(200, "POST", "/api/v4/leads/complex", body)
	if ct := r.header.Get("Content-Type"); ct != "application/hal+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	res := r.array(t)
	if get(res, 0, "merged") != true || num(get(res, 0, "contact_id")) != anna.ID || get(res, 0, "request_id", 0) != "a" ||
		get(res, 0, "company_id") != nil {
		t.Errorf("merged result = %v", res[0])
	}
	if get(res, 1, "merged") != false || num(get(res, 1, "contact_id")) == 0 || num(get(res, 1, "company_id")) == 0 {
		t.Errorf("new result = %v", res[1])
	}
	if n := len(b.srv.Contacts()); n != contactsBefore+1 {
		t.Errorf("contacts %d -> %d, want one new", contactsBefore, n)
	}
	lead, _ := b.srv.Lead(num(get(res, 1, "id")))
	if lead.CompanyID != num(get(res, 1, "company_id")) || lead.ContactIDs[0] != num(get(res, 1, "contact_id")) || len(lead.Tags) != 1 {
		t.Errorf("lead = %+v", lead)
	}
	c, _ := b.srv.Contact(lead.ContactIDs[0])
	if c.CompanyID != lead.CompanyID {
		t.Errorf("new contact not linked to the new company: %+v", c)
	}
	if l, _ := b.srv.Lead(num(get(res, 0, "id"))); l.ContactIDs[0] != anna.ID {
		t.Errorf("merged lead contacts = %v", l.ContactIDs)
	}

	t.Run("limits", func(t *testing.T) {
		many := make([]any, 51)
		for i := range many {
			many[i] = map[string]any{"name": "x"}
		}
		if errs := validationErrors(t, b.do("POST", "/api/v4/leads/complex", many)); errs[0].Code != amocrmtest.CodeCountMaxLimit {
			t.Errorf("51 leads: %+v", errs)
		}
		two := []any{map[string]any{"_embedded": map[string]any{"contacts": []any{map[string]any{"name": "a"}, map[string]any{"name": "b"}}}}}
		if errs := validationErrors(t, b.do("POST", "/api/v4/leads/complex", two)); !hasErr(errs, "0", amocrmtest.CodeCountMaxLimit, "_embedded.contacts") {
			t.Errorf("two contacts: %+v", errs)
		}
		cfs := make([]any, 41)
		for i := range cfs {
			cfs[i] = map[string]any{"field_id": amocrmtest.DemoLeadTelegramID, "values": []any{map[string]any{"value": "1"}}}
		}
		if errs := validationErrors(t, b.do("POST", "/api/v4/leads/complex", []any{map[string]any{"custom_fields_values": cfs}})); !hasErr(errs, "0", amocrmtest.CodeCountMaxLimit, "custom_fields_values") {
			t.Errorf("41 values: %+v", errs)
		}
		bad := []any{map[string]any{"_embedded": map[string]any{"contacts": []any{map[string]any{
			"custom_fields_values": []any{map[string]any{"field_id": 1, "values": []any{}}}}}}}}
		if errs := validationErrors(t, b.do("POST", "/api/v4/leads/complex", bad)); !hasErr(errs, "0", "NotSupportedChoice", "_embedded.contacts.0.custom_fields_values.0.field_id") {
			t.Errorf("nested path: %+v", errs)
		}
	})

	t.Run("duplicate control off", func(t *testing.T) {
		b := setup(t, amocrmtest.WithDuplicateControl(false))
		res := b.must(200, "POST", "/api/v4/leads/complex", body[:1]).array(t)
		if get(res, 0, "merged") != false || num(get(res, 0, "contact_id")) == b.srv.Contacts()[0].ID {
			t.Errorf("result = %v", res)
		}
	})
}

func TestNotesTagsLinksTasks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lead := b.srv.Leads()[0]
	path := fmt.Sprintf("/api/v4/leads/%d/notes", lead.ID)
	m := b.must(200, "POST", path, []any{map[string]any{"note_type": "common", "params": map[string]any{"text": "Привет"}}}).json(t)
	if num(get(m, "_embedded", "notes", 0, "entity_id")) != lead.ID {
		t.Errorf("note = %v", m)
	}
	b.must(200, "POST", "/api/v4/leads/notes", []any{map[string]any{"entity_id": lead.ID, "note_type": "service_message",
		"params": map[string]any{"service": "Chatter", "text": "из Telegram"}}})
	if n := b.srv.Notes(amocrmtest.EntityLeads, lead.ID); len(n) != 2 || n[0].Params["text"] != "Привет" {
		t.Errorf("notes = %+v", n)
	}
	m = b.must(200, "GET", path, nil).json(t)
	if len(get(m, "_embedded", "notes").([]any)) != 2 {
		t.Errorf("list = %v", m)
	}
	errs := validationErrors(t, b.do("POST", "/api/v4/leads/notes", []any{map[string]any{"entity_id": 1, "note_type": "mail_message"}}))
	if !hasErr(errs, "0", "NotSupportedChoice", "note_type") || !hasErr(errs, "0", "NotSupportedChoice", "entity_id") {
		t.Errorf("errors = %+v", errs)
	}

	m = b.must(200, "GET", "/api/v4/leads/tags", nil).json(t)
	if n := len(get(m, "_embedded", "tags").([]any)); n != 2 {
		t.Errorf("tags = %v", m)
	}
	b.must(200, "POST", "/api/v4/contacts/tags", []any{map[string]any{"name": "vip", "color": "FF0000"}})
	if tags := b.srv.Tags(amocrmtest.EntityContacts); len(tags) != 1 || tags[0].Name != "vip" {
		t.Errorf("contact tags = %+v", tags)
	}

	oleg := b.srv.Contacts()[1]
	b.must(200, "POST", fmt.Sprintf("/api/v4/leads/%d/link", lead.ID), []any{map[string]any{
		"to_entity_id": oleg.ID, "to_entity_type": "contacts"}})
	if l, _ := b.srv.Lead(lead.ID); len(l.ContactIDs) != 2 || l.ContactIDs[1] != oleg.ID {
		t.Errorf("after link = %v", l.ContactIDs)
	}
	m = b.must(200, "GET", fmt.Sprintf("/api/v4/leads/%d/links", lead.ID), nil).json(t)
	if n := len(get(m, "_embedded", "links").([]any)); n != 3 { // 2 contacts + company
		t.Errorf("links = %v", m)
	}
	b.must(204, "POST", fmt.Sprintf("/api/v4/leads/%d/unlink", lead.ID), []any{map[string]any{
		"to_entity_id": oleg.ID, "to_entity_type": "contacts"}})
	if l, _ := b.srv.Lead(lead.ID); len(l.ContactIDs) != 1 {
		t.Errorf("after unlink = %v", l.ContactIDs)
	}

	till := epoch.Add(24 * 3600e9).Unix()
	m = b.must(200, "POST", "/api/v4/tasks", []any{map[string]any{"text": "Перезвонить", "complete_till": till,
		"entity_id": lead.ID, "entity_type": "leads"}}).json(t)
	taskID := num(get(m, "_embedded", "tasks", 0, "id"))
	if g := b.must(200, "GET", fmt.Sprintf("/api/v4/leads/%d", lead.ID), nil).json(t); num(get(g, "closest_task_at")) != till {
		t.Errorf("closest_task_at = %v", get(g, "closest_task_at"))
	}
	b.must(200, "PATCH", fmt.Sprintf("/api/v4/tasks/%d", taskID), map[string]any{"is_completed": true, "result": map[string]any{"text": "done"}})
	if tasks := b.srv.Tasks(); len(tasks) != 1 || !tasks[0].IsCompleted || tasks[0].Result != "done" {
		t.Errorf("tasks = %+v", tasks)
	}
	if errs := validationErrors(t, b.do("POST", "/api/v4/tasks", []any{map[string]any{"text": "x"}})); !hasErr(errs, "0", "NotBlank", "complete_till") {
		t.Errorf("errors = %+v", errs)
	}
}

func TestPipelinesAndFields(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.must(200, "GET", "/api/v4/leads/pipelines", nil).json(t)
	p := get(m, "_embedded", "pipelines", 0)
	if get(p, "name") != "Воронка" || get(p, "is_main") != true {
		t.Fatalf("pipeline = %v", p)
	}
	statuses := get(p, "_embedded", "statuses").([]any)
	var ids []int64
	for _, s := range statuses {
		ids = append(ids, num(get(s, "id")))
	}
	want := []int64{amocrmtest.DemoStatusUnsorted, amocrmtest.DemoStatusFirstContact, amocrmtest.DemoStatusNegotiation, amocrmtest.DemoStatusDecision, amocrmtest.DemoStatusContract, amocrmtest.StatusWon, amocrmtest.StatusLost}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("statuses = %v, want %v", ids, want)
	}
	if num(get(statuses[0], "type")) != 1 {
		t.Errorf("unsorted type = %v", statuses[0])
	}
	second := get(m, "_embedded", "pipelines", 1, "_embedded", "statuses").([]any)
	if num(get(second, 1, "id")) != amocrmtest.DemoPartnersStatusNew || num(get(second, 2, "id")) != amocrmtest.DemoPartnersStatusWork {
		t.Errorf("partners statuses = %v", second)
	}
	b.must(200, "GET", fmt.Sprintf("/api/v4/leads/pipelines/%d/statuses/%d", amocrmtest.DemoPipelineID, amocrmtest.StatusWon), nil)

	m = b.must(200, "GET", "/api/v4/leads/custom_fields?filter[type][]=select", nil).json(t)
	f := get(m, "_embedded", "custom_fields", 0)
	if num(get(f, "id")) != amocrmtest.DemoLeadSource || len(get(f, "enums").([]any)) != 3 {
		t.Errorf("select field = %v", f)
	}
	m = b.must(200, "GET", fmt.Sprintf("/api/v4/leads/custom_fields/%d", amocrmtest.DemoLeadBudget), nil).json(t)
	if num(get(m, "required_statuses", 0, "status_id")) != amocrmtest.DemoStatusDecision {
		t.Errorf("required_statuses = %v", get(m, "required_statuses"))
	}
	m = b.must(200, "GET", "/api/v4/contacts/custom_fields", nil).json(t)
	if get(m, "_embedded", "custom_fields", 0, "code") != "PHONE" {
		t.Errorf("contact fields = %v", m)
	}
}

func TestRights(t *testing.T) {
	t.Parallel()
	b := setup(t)
	code := b.srv.IssueAuthCodeFor(amocrmtest.DemoManagerUserID)
	_ = code
	access, _ := b.srv.IssueTokenPair(amocrmtest.DemoManagerUserID)
	r := b.doToken(access, "POST", "/api/v4/webhooks", map[string]any{"destination": "https://example.com/h", "settings": []string{"add_lead"}})
	if r.status != 403 || r.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("manager subscribing: %d %s", r.status, r.body)
	}
	if r := b.doToken(access, "GET", "/api/v4/leads", nil); r.status != 200 {
		t.Errorf("manager listing leads: %d", r.status)
	}
	inactive, _ := b.srv.IssueTokenPair(amocrmtest.DemoInactiveUser)
	if r := b.doToken(inactive, "GET", "/api/v4/leads", nil); r.status != 401 {
		t.Errorf("inactive user: %d", r.status)
	}
	noAdd := b.srv.AddUser(amocrmtest.User{Name: "readonly", Rights: amocrmtest.UserRights{Leads: amocrmtest.EntityRights{Add: amocrmtest.RightDenied}}})
	ro, _ := b.srv.IssueTokenPair(noAdd.ID)
	if r := b.doToken(ro, "POST", "/api/v4/leads", []any{map[string]any{"name": "x"}}); r.status != 403 {
		t.Errorf("no add rights: %d", r.status)
	}
}

func TestUnsortedForms(t *testing.T) {
	t.Parallel()
	b := setup(t)
	form := func(name string) map[string]any {
		return map[string]any{
			"source_uid": "site-form", "source_name": "Форма на сайте", "pipeline_id": amocrmtest.DemoPipelineID,
			"metadata": map[string]any{"form_id": "1", "form_name": "Заявка", "form_page": "https://example.com",
				"form_sent_at": epoch.Unix(), "ip": "127.0.0.1"},
			"_embedded": map[string]any{
				"leads":    []any{map[string]any{"name": name}},
				"contacts": []any{map[string]any{"name": "Гость " + name}},
			},
		}
	}
	m := b.must(200, "POST", "/api/v4/leads/unsorted/forms", []any{form("A"), form("B")}).json(t)
	items := get(m, "_embedded", "unsorted").([]any)
	if len(items) != 2 {
		t.Fatalf("unsorted = %v", m)
	}
	uidA, uidB := get(items[0], "uid").(string), get(items[1], "uid").(string)
	leadA := num(get(items[0], "_embedded", "leads", 0, "id"))
	if l, _ := b.srv.Lead(leadA); l.StatusID != amocrmtest.DemoStatusUnsorted {
		t.Errorf("unsorted lead status = %d", l.StatusID)
	}
	m = b.must(200, "GET", "/api/v4/leads/unsorted?filter[category][]=forms", nil).json(t)
	if len(get(m, "_embedded", "unsorted").([]any)) != 2 {
		t.Errorf("list = %v", m)
	}

	b.must(200, "POST", "/api/v4/leads/unsorted/"+uidA+"/accept", map[string]any{"user_id": amocrmtest.DemoAdminUserID, "status_id": amocrmtest.DemoStatusNegotiation})
	if l, _ := b.srv.Lead(leadA); l.StatusID != amocrmtest.DemoStatusNegotiation {
		t.Errorf("accepted lead status = %d", l.StatusID)
	}
	if r := b.do("POST", "/api/v4/leads/unsorted/"+uidA+"/accept", nil); r.status != 400 {
		t.Errorf("second accept: %d", r.status)
	}
	b.must(200, "DELETE", "/api/v4/leads/unsorted/"+uidB+"/decline", nil)
	leadB := b.srv.UnsortedItems()[1].LeadID
	if l, _ := b.srv.Lead(leadB); !l.IsDeleted {
		t.Errorf("declined lead not deleted")
	}
	if r := b.do("GET", "/api/v4/leads/unsorted", nil); r.status != 204 {
		t.Errorf("nothing pending: %d", r.status)
	}
	errs := validationErrors(t, b.do("POST", "/api/v4/leads/unsorted/forms", []any{map[string]any{"source_name": "x"}}))
	if !hasErr(errs, "0", "NotBlank", "source_uid") || !hasErr(errs, "0", "NotBlank", "metadata") {
		t.Errorf("errors = %+v", errs)
	}
}

func TestMethodAndPathErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if r := b.do("GET", "/api/v4/nothing", nil); r.status != 404 {
		t.Errorf("unknown path: %d", r.status)
	}
	if r := b.do("DELETE", "/api/v4/leads", nil); r.status != 405 {
		t.Errorf("DELETE leads: %d", r.status)
	}
	if r := b.do("PATCH", "/api/v4/leads/1", map[string]any{}); r.status != 404 {
		t.Errorf("PATCH missing lead: %d", r.status)
	}
}
