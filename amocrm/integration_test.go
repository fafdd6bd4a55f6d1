package amocrm_test

// Integration tests: the real client against the independent fake
// (amocrmtest), which answers in amoCRM's wire formats. Each test starts its
// own fake, so they run in parallel. Time-dependent behaviour (token expiry,
// the rate limit window, blocks) uses a ManualClock; nothing sleeps.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// newFake starts a fake seeded with the demo account. The rate limit is off
// unless opts turn it on (tests that check it do).
func newFake(t *testing.T, opts ...amocrmtest.Option) *amocrmtest.Server {
	t.Helper()
	base := []amocrmtest.Option{
		amocrmtest.WithSeed(amocrmtest.DemoAccount),
		amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: -1}),
	}
	return amocrmtest.NewServer(t, append(base, opts...)...)
}

// sleeper records the client's retry waits and, when clock is set, moves
// the fake's clock by them instead of waiting.
type sleeper struct {
	clock *amocrmtest.ManualClock
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	if s.clock != nil {
		s.clock.Advance(d)
	}
	return ctx.Err()
}

func (s *sleeper) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waits)
}

// newClient returns a client for srv authenticated by auth (a long-lived
// token of the demo admin when auth is nil), with no pacing and no real
// waits unless extra says otherwise.
func newClient(t *testing.T, srv *amocrmtest.Server, auth amocrm.Option, extra ...amocrm.Option) *amocrm.Client {
	t.Helper()
	if auth == nil {
		auth = amocrm.WithLongLivedToken(srv.AccessToken())
	}
	opts := []amocrm.Option{
		amocrm.WithBaseURL(srv.URL),
		amocrm.WithLimiter(amocrm.Unlimited()),
		amocrm.WithSleeper((&sleeper{}).sleep),
		auth,
	}
	c, err := amocrm.NewClient("chatterdemo", append(opts, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func oauthConfig(srv *amocrmtest.Server) amocrm.OAuthConfig {
	in := srv.Integration()
	return amocrm.OAuthConfig{ClientID: in.ClientID, ClientSecret: in.ClientSecret, RedirectURL: in.RedirectURI}
}

// statuses returns the statuses of logged requests to method path (exact).
func statuses(srv *amocrmtest.Server, method, path string) []int {
	var out []int
	for _, r := range srv.Requests() {
		if r.Method == method && r.Path == path {
			out = append(out, r.Status)
		}
	}
	return out
}

func TestIntegrationAccount(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv, nil)
	acc, resp, err := c.Account.Get(t.Context(), &amocrm.GetOptions{With: []string{
		amocrm.AccountWithAmojoID, amocrm.AccountWithUsersGroups, amocrm.AccountWithAmojoRights,
		amocrm.AccountWithDatetimeSettings, amocrm.AccountWithTaskTypes,
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := srv.Account()
	if acc.ID != int(want.ID) || acc.Subdomain != want.Subdomain || acc.Name != want.Name {
		t.Errorf("account = %d %q %q, want %d %q %q", acc.ID, acc.Subdomain, acc.Name, want.ID, want.Subdomain, want.Name)
	}
	if acc.AmojoID != want.AmojoID {
		t.Errorf("amojo_id = %q, want %q", acc.AmojoID, want.AmojoID)
	}
	if resp.RequestID == "" {
		t.Error("Response.RequestID is empty; the fake sends X-Request-Id")
	}
	if acc.CurrentUserID != int(amocrmtest.DemoAdminUserID) {
		t.Errorf("current_user_id = %d", acc.CurrentUserID)
	}
	e := acc.Embedded
	if e == nil {
		t.Fatal("no _embedded")
	}
	if len(e.UsersGroups) != len(want.UsersGroups) || e.UsersGroups[0].Name != want.UsersGroups[0].Name {
		t.Errorf("users_groups = %+v, want %+v", e.UsersGroups, want.UsersGroups)
	}
	if e.AmojoRights == nil || !e.AmojoRights.CanDirect {
		t.Errorf("amojo_rights = %+v", e.AmojoRights)
	}
	if e.DatetimeSettings == nil || e.DatetimeSettings.Timezone != "Europe/Moscow" {
		t.Errorf("datetime_settings = %+v", e.DatetimeSettings)
	}
	if len(e.TaskTypes) != 2 || e.TaskTypes[0].ID != 1 {
		t.Errorf("task_types = %+v", e.TaskTypes)
	}

	// Without with= the optional parts are absent.
	acc, _, err = c.Account.Get(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if acc.AmojoID != "" || acc.Embedded != nil {
		t.Errorf("plain account has amojo_id %q, _embedded %+v", acc.AmojoID, acc.Embedded)
	}
}

func TestIntegrationUsers(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv, nil)
	byID := map[int]*amocrm.User{}
	for u, err := range c.Users.ListIter(t.Context(), &amocrm.UserListOptions{ListOptions: amocrm.ListOptions{Limit: 2},
		With: []string{amocrm.UserWithGroup, amocrm.UserWithRole}}) {
		if err != nil {
			t.Fatal(err)
		}
		byID[u.ID] = u
	}
	if len(byID) != len(srv.Users()) {
		t.Fatalf("listed %d users over pages of 2, fake has %d", len(byID), len(srv.Users()))
	}
	admin := byID[int(amocrmtest.DemoAdminUserID)]
	if admin == nil || admin.Rights == nil || !admin.Rights.IsAdmin || !admin.Rights.IsActive || admin.Rights.Leads.Delete != "A" {
		t.Errorf("admin = %+v rights %+v", admin, admin.Rights)
	}
	mgr := byID[int(amocrmtest.DemoManagerUserID)]
	if mgr == nil || mgr.Rights.IsAdmin || mgr.Rights.Leads.Delete != "D" || mgr.Rights.Leads.Edit != "A" || mgr.Name != "Иван Петров" {
		t.Errorf("manager = %+v rights %+v", mgr, mgr.Rights)
	}
	if gone := byID[int(amocrmtest.DemoInactiveUser)]; gone == nil || gone.Rights.IsActive {
		t.Errorf("inactive user = %+v", gone)
	}
	u, _, err := c.Users.Get(t.Context(), int(amocrmtest.DemoManagerUserID), nil)
	if err != nil || u.Email != "manager@example.com" {
		t.Fatalf("Get manager = %+v, %v", u, err)
	}
	if _, _, err := c.Users.Get(t.Context(), 1, nil); !amocrm.IsNotFound(err) {
		t.Errorf("Get missing user: err = %v, want not found", err)
	}
}

func TestIntegrationLeadsPaging(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	for i := range 118 {
		srv.AddLead(amocrmtest.Lead{Name: fmt.Sprintf("Лид %03d", i), Price: int64(i)})
	}
	total := len(srv.Leads()) // 118 + the demo leads
	c := newClient(t, srv, nil)
	srv.ResetRequests()
	seen := map[int]bool{}
	for l, err := range c.Leads.ListIter(t.Context(), &amocrm.LeadListOptions{ListOptions: amocrm.ListOptions{Limit: 50},
		Order: &amocrm.Order{Field: "id"}}) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[l.ID] {
			t.Fatalf("lead %d listed twice", l.ID)
		}
		seen[l.ID] = true
	}
	if len(seen) != total {
		t.Errorf("iterated %d leads, fake has %d", len(seen), total)
	}
	if got, want := srv.CountRequests(http.MethodGet, "/api/v4/leads"), (total+49)/50; got != want {
		t.Errorf("GET /api/v4/leads requests = %d, want %d pages", got, want)
	}

	// Page by page: NextPage follows _links.next, the last page has none.
	leads, resp, err := c.Leads.List(t.Context(), &amocrm.LeadListOptions{ListOptions: amocrm.ListOptions{Page: 2, Limit: 50}})
	if err != nil || len(leads) != 50 || resp.Page != 2 || resp.NextPage != 3 {
		t.Fatalf("page 2: %d leads, page %d next %d, err %v", len(leads), resp.Page, resp.NextPage, err)
	}
	leads, resp, err = c.Leads.List(t.Context(), &amocrm.LeadListOptions{ListOptions: amocrm.ListOptions{Page: 3, Limit: 50}})
	if err != nil || len(leads) != total-100 || resp.NextPage != 0 {
		t.Fatalf("page 3: %d leads, next %d, err %v", len(leads), resp.NextPage, err)
	}
	// Past the end amoCRM answers 204: an empty page, not an error.
	leads, resp, err = c.Leads.List(t.Context(), &amocrm.LeadListOptions{ListOptions: amocrm.ListOptions{Page: 4, Limit: 50}})
	if err != nil || leads == nil || len(leads) != 0 || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("page 4: %v leads, status %d, err %v", leads, resp.StatusCode, err)
	}
	// A search without matches is a 204 too; the iterator yields nothing.
	n := 0
	for _, err := range c.Leads.ListIter(t.Context(), &amocrm.LeadListOptions{Query: "нет такого"}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 0 {
		t.Errorf("empty search yielded %d leads", n)
	}
	// limit above 250 is capped by the client.
	leads, _, err = c.Leads.List(t.Context(), &amocrm.LeadListOptions{ListOptions: amocrm.ListOptions{Limit: 1000}})
	if err != nil || len(leads) != total {
		t.Fatalf("limit 1000: %d leads, err %v", len(leads), err)
	}
	last := srv.Requests()[len(srv.Requests())-1]
	if !strings.Contains(last.Query, "limit=250") {
		t.Errorf("query %q, want limit=250", last.Query)
	}
}

func TestIntegrationLeadsCreateGetUpdate(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv, nil)
	ctx := t.Context()
	created, _, err := c.Leads.Create(ctx, []*amocrm.Lead{
		{Name: "Заявка с сайта", Price: 5000, PipelineID: int(amocrmtest.DemoPipelineID),
			StatusID: int(amocrmtest.DemoStatusNegotiation), RequestID: "site-1",
			CustomFieldsValues: amocrm.CustomFieldsValues{
				amocrm.SetField(int(amocrmtest.DemoLeadSource), amocrm.EnumValue(int(amocrmtest.DemoSourceSite))),
			},
			Embedded: &amocrm.LeadEmbedded{Tags: []amocrm.Tag{{Name: "сайт"}}}},
		{Name: "Звонок", RequestID: "call-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 2 || created[0].ID == 0 || created[0].RequestID != "site-1" || created[1].RequestID != "call-1" {
		t.Fatalf("created = %+v %+v", created[0], created[1])
	}
	id := created[0].ID
	l, _, err := c.Leads.Get(ctx, id, &amocrm.GetOptions{With: []string{amocrm.LeadWithContacts}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "Заявка с сайта" || l.Price != 5000 || l.StatusID != int(amocrmtest.DemoStatusNegotiation) ||
		l.PipelineID != int(amocrmtest.DemoPipelineID) || l.CreatedAt == 0 || l.AccountID != int(srv.Account().ID) {
		t.Errorf("lead = %+v", l)
	}
	if l.Embedded == nil || len(l.Embedded.Tags) != 1 || l.Embedded.Tags[0].Name != "сайт" {
		t.Errorf("tags = %+v", l.Embedded)
	}
	if v := l.CustomFieldsValues.ByID(int(amocrmtest.DemoLeadSource)); v == nil || v.First().EnumID != int(amocrmtest.DemoSourceSite) || v.First().Text() != "Сайт" {
		t.Errorf("source field = %+v", v)
	}
	// The second lead went to the first stage of the main pipeline.
	l2, _, err := c.Leads.Get(ctx, created[1].ID, nil)
	if err != nil || l2.StatusID != int(amocrmtest.DemoStatusFirstContact) {
		t.Errorf("default status = %d, err %v", l2.StatusID, err)
	}

	// UpdateOne sends only what is set.
	up, _, err := c.Leads.UpdateOne(ctx, &amocrm.Lead{ID: id, Price: 7000, TagsToAdd: []amocrm.Tag{{Name: "vip"}}})
	if err != nil || up.ID != id || up.UpdatedAt == 0 {
		t.Fatalf("UpdateOne = %+v, %v", up, err)
	}
	fl, _ := srv.Lead(int64(id))
	if fl.Price != 7000 || fl.Name != "Заявка с сайта" || !slices.Contains(fl.Tags, "vip") || !slices.Contains(fl.Tags, "сайт") {
		t.Errorf("fake lead after UpdateOne = %+v", fl)
	}
	// Batch update moves both to "won" and sets closed_at.
	updated, _, err := c.Leads.Update(ctx, []*amocrm.Lead{{ID: id, StatusID: amocrm.StatusWon}, {ID: created[1].ID, Name: "Звонок (перезвонить)"}})
	if err != nil || len(updated) != 2 {
		t.Fatalf("Update = %v, %v", updated, err)
	}
	l, _, err = c.Leads.Get(ctx, id, nil)
	if err != nil || l.StatusID != amocrm.StatusWon || l.ClosedAt == 0 {
		t.Errorf("after Update: status %d closed_at %d err %v", l.StatusID, l.ClosedAt, err)
	}
	if fl, _ := srv.Lead(int64(created[1].ID)); fl.Name != "Звонок (перезвонить)" {
		t.Errorf("renamed lead = %q", fl.Name)
	}

	// A missing lead is a 204 in amoCRM: NotFoundError.
	if _, _, err := c.Leads.Get(ctx, 999999999, nil); !amocrm.IsNotFound(err) {
		t.Errorf("Get missing: %v", err)
	}
	// Bad input is rejected before sending.
	if _, _, err := c.Leads.UpdateOne(ctx, &amocrm.Lead{Name: "no id"}); !isInvalid(err) {
		t.Errorf("UpdateOne without id: %v", err)
	}
}

func isInvalid(err error) bool {
	var ie *amocrm.InvalidRequestError
	return errors.As(err, &ie)
}

func TestIntegrationValidationErrors(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv, nil)
	ctx := t.Context()
	before := len(srv.Leads())
	_, _, err := c.Leads.Create(ctx, []*amocrm.Lead{
		{Name: "ok"},
		{Name: "bad field", CustomFieldsValues: amocrm.CustomFieldsValues{amocrm.SetField(123, amocrm.TextValue("x"))}},
		{Name: "bad enum", RequestID: "r3", CustomFieldsValues: amocrm.CustomFieldsValues{
			amocrm.SetField(int(amocrmtest.DemoLeadSource), amocrm.EnumValue(1))}},
	})
	var ae *amocrm.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	if ae.StatusCode != http.StatusBadRequest || ae.RequestID == "" || len(ae.ValidationErrors) != 2 {
		t.Fatalf("APIError = %+v", ae)
	}
	if fe := ae.ValidationErrorsFor("1"); len(fe) != 1 || fe[0].Code != "NotSupportedChoice" || fe[0].Path != "custom_fields_values.0.field_id" {
		t.Errorf("errors for item 1 = %+v", fe)
	}
	if fe := ae.ValidationErrorsFor("r3"); len(fe) != 1 || fe[0].Path != "custom_fields_values.0.values.0.enum_id" {
		t.Errorf("errors for r3 = %+v", fe)
	}
	if !strings.Contains(ae.Message("ru"), "custom_fields_values.0.field_id") {
		t.Errorf("ru message = %q", ae.Message("ru"))
	}
	if len(srv.Leads()) != before {
		t.Errorf("a rejected batch created leads: %d → %d", before, len(srv.Leads()))
	}

	// A required field of the target status.
	_, _, err = c.Leads.Create(ctx, []*amocrm.Lead{{Name: "без бюджета", StatusID: int(amocrmtest.DemoStatusDecision)}})
	if !errors.As(err, &ae) || len(ae.ValidationErrorsFor("0")) != 1 || ae.ValidationErrorsFor("0")[0].Code != "FieldRequired" {
		t.Errorf("required field: %v", err)
	}
	// Errors inside a complex lead's embedded contact carry its path.
	_, _, err = c.Leads.CreateComplex(ctx, []*amocrm.ComplexLead{{
		Lead:    &amocrm.Lead{Name: "x"},
		Contact: &amocrm.Contact{Name: "y", CustomFieldsValues: amocrm.CustomFieldsValues{amocrm.SetFieldCode("NOPE", amocrm.TextValue("1"))}},
	}})
	if !errors.As(err, &ae) || len(ae.ValidationErrors) != 1 ||
		ae.ValidationErrors[0].Errors[0].Path != "_embedded.contacts.0.custom_fields_values.0.field_code" {
		t.Errorf("complex contact error: %v", err)
	}
	if len(srv.Leads()) != before || len(srv.Contacts()) != 2 {
		t.Errorf("rejected requests changed state: %d leads, %d contacts", len(srv.Leads()), len(srv.Contacts()))
	}
}

// phone returns a distinct realistic Russian mobile number.
func phone(i int) string {
	return fmt.Sprintf("+7 (903) %03d-%02d-%02d", 100+i/10000, (i/100)%100, i%100)
}

func TestIntegrationComplex(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv, nil)
	ctx := t.Context()

	res, _, err := c.Leads.CreateComplex(ctx, []*amocrm.ComplexLead{{
		Lead: &amocrm.Lead{Name: "Заявка из Telegram: окна", Price: 42000, CustomFieldsValues: amocrm.CustomFieldsValues{
			amocrm.SetField(int(amocrmtest.DemoLeadTelegramUsername), amocrm.TextValue("petrov_s")),
		}},
		Contact: &amocrm.Contact{FirstName: "Сергей", LastName: "Петров", CustomFieldsValues: amocrm.CustomFieldsValues{
			amocrm.SetFieldCode(amocrm.FieldCodePhone, amocrm.MultitextValue("+7 912 000-11-22", amocrm.EnumCodeMobile)),
			amocrm.SetFieldCode(amocrm.FieldCodeEmail, amocrm.MultitextValue("petrov@example.ru", amocrm.EnumCodeWork)),
		}},
		Company:   &amocrm.Company{Name: "ИП Петров"},
		Tags:      []amocrm.Tag{{Name: "telegram"}},
		RequestID: "tg-1",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].ID == 0 || res[0].ContactID == 0 || res[0].CompanyID == 0 || res[0].Merged ||
		!slices.Equal(res[0].RequestID, amocrm.RequestIDs{"tg-1"}) {
		t.Fatalf("result = %+v", res[0])
	}
	fl, _ := srv.Lead(int64(res[0].ID))
	if !slices.Equal(fl.ContactIDs, []int64{int64(res[0].ContactID)}) || fl.CompanyID != int64(res[0].CompanyID) || !slices.Contains(fl.Tags, "telegram") {
		t.Errorf("fake lead = %+v", fl)
	}
	ct, _, err := c.Contacts.Get(ctx, res[0].ContactID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ct.Name != "Сергей Петров" || !slices.Equal(ct.Phones(), []string{"+7 912 000-11-22"}) || !slices.Equal(ct.Emails(), []string{"petrov@example.ru"}) {
		t.Errorf("contact = %q phones %v emails %v", ct.Name, ct.Phones(), ct.Emails())
	}
	if p := ct.CustomFieldsValues.ByCode(amocrm.FieldCodePhone); p == nil || p.First().EnumCode != amocrm.EnumCodeMobile {
		t.Errorf("phone enum = %+v", p)
	}

	// Duplicate control: Анна's phone in another format merges into her contact.
	anna := srv.Contacts()[0]
	res, _, err = c.Leads.CreateComplex(ctx, []*amocrm.ComplexLead{{
		Lead: &amocrm.Lead{Name: "Повторное обращение"},
		Contact: &amocrm.Contact{Name: "Анна", CustomFieldsValues: amocrm.CustomFieldsValues{
			amocrm.SetFieldCode(amocrm.FieldCodePhone, amocrm.MultitextValue("8 916 123-45-67", amocrm.EnumCodeMobile)),
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Merged || res[0].ContactID != int(anna.ID) {
		t.Errorf("duplicate: result %+v, want merged into contact %d", res[0], anna.ID)
	}
}

func TestIntegrationComplexBatch120(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv, nil)
	anna := srv.Contacts()[0]
	items := make([]*amocrm.ComplexLead, 120)
	for i := range items {
		p := phone(i)
		if i == 77 { // a duplicate of Анна in the second chunk
			p = "+7 916 123 45 67"
		}
		items[i] = &amocrm.ComplexLead{
			Lead: &amocrm.Lead{Name: fmt.Sprintf("Заявка №%d", i+1)},
			Contact: &amocrm.Contact{Name: fmt.Sprintf("Клиент %d", i+1), CustomFieldsValues: amocrm.CustomFieldsValues{
				amocrm.SetFieldCode(amocrm.FieldCodePhone, amocrm.MultitextValue(p, amocrm.EnumCodeMobile)),
			}},
		}
	}
	items[5].RequestID = "custom-5"
	srv.ResetRequests()
	res, err := c.Leads.CreateComplexBatch(t.Context(), items)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost && r.Path == "/api/v4/leads/complex" {
			var arr []json.RawMessage
			if err := json.Unmarshal(r.Body, &arr); err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(arr))
		}
	}
	if !slices.Equal(sizes, []int{50, 50, 20}) {
		t.Errorf("complex requests carried %v leads, want [50 50 20]", sizes)
	}
	if len(res) != 120 {
		t.Fatalf("%d results", len(res))
	}
	ids := map[int]bool{}
	for i, r := range res {
		if r == nil {
			t.Fatalf("no result for item %d", i)
		}
		fl, ok := srv.Lead(int64(r.ID))
		if !ok || fl.Name != items[i].Lead.Name {
			t.Errorf("result %d → lead %d %q, want %q", i, r.ID, fl.Name, items[i].Lead.Name)
		}
		ids[r.ID] = true
		wantRID := strconv.Itoa(i)
		if i == 5 {
			wantRID = "custom-5"
		}
		if !slices.Contains(r.RequestID, wantRID) {
			t.Errorf("result %d request_id %v, want %q", i, r.RequestID, wantRID)
		}
		if (i == 77) != r.Merged {
			t.Errorf("result %d merged = %v", i, r.Merged)
		}
	}
	if len(ids) != 120 {
		t.Errorf("%d distinct leads for 120 items", len(ids))
	}
	if res[77].ContactID != int(anna.ID) {
		t.Errorf("duplicate linked to contact %d, want %d", res[77].ContactID, anna.ID)
	}
	if items[0].RequestID != "" {
		t.Error("CreateComplexBatch modified the caller's items")
	}
	// Limits are checked before anything is sent.
	srv.ResetRequests()
	tooMany := make(amocrm.CustomFieldsValues, 41)
	for i := range tooMany {
		tooMany[i] = amocrm.SetField(int(amocrmtest.DemoLeadComment), amocrm.TextValue("x"))
	}
	_, err = c.Leads.CreateComplexBatch(t.Context(), []*amocrm.ComplexLead{items[0], {Lead: &amocrm.Lead{CustomFieldsValues: tooMany}}})
	var ie *amocrm.InvalidRequestError
	if !errors.As(err, &ie) || ie.Index != 1 || len(srv.Requests()) != 0 {
		t.Errorf("41 values: err %v, %d requests sent", err, len(srv.Requests()))
	}
}

func TestIntegrationContactsCompanies(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv, nil)
	ctx := t.Context()
	// Search by phone digits (the practical dedupe lookup), by name, by e-mail.
	for _, q := range []string{"9161234567", "89161234567", "Смирнова", "anna@romashka"} {
		found, _, err := c.Contacts.List(ctx, &amocrm.ContactListOptions{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != 1 || found[0].Name != "Анна Смирнова" {
			t.Errorf("query %q found %d contacts", q, len(found))
		}
	}
	found, resp, err := c.Contacts.List(ctx, &amocrm.ContactListOptions{Query: "+7 000 000-00-00"})
	if err != nil || len(found) != 0 || resp.StatusCode != http.StatusNoContent {
		t.Errorf("no match: %d, %v", len(found), err)
	}

	created, _, err := c.Contacts.Create(ctx, []*amocrm.Contact{{FirstName: "Мария", LastName: "Иванова",
		CustomFieldsValues: amocrm.CustomFieldsValues{
			amocrm.SetFieldCode(amocrm.FieldCodePhone, amocrm.MultitextValue("+79035550011", amocrm.EnumCodeMobile),
				amocrm.MultitextValue("+74951112233", amocrm.EnumCodeWork)),
			amocrm.SetFieldCode(amocrm.FieldCodePosition, amocrm.TextValue("Директор")),
		}}})
	if err != nil {
		t.Fatal(err)
	}
	id := created[0].ID
	if _, _, err := c.Contacts.UpdateOne(ctx, &amocrm.Contact{ID: id, CustomFieldsValues: amocrm.CustomFieldsValues{
		amocrm.SetFieldCode(amocrm.FieldCodeEmail, amocrm.MultitextValue("maria@example.ru", amocrm.EnumCodePriv)),
	}}); err != nil {
		t.Fatal(err)
	}
	ct, _, err := c.Contacts.Get(ctx, id, &amocrm.GetOptions{With: []string{amocrm.ContactWithLeads}})
	if err != nil {
		t.Fatal(err)
	}
	if ct.Name != "Мария Иванова" || len(ct.Phones()) != 2 || !slices.Equal(ct.Emails(), []string{"maria@example.ru"}) ||
		ct.CustomFieldsValues.ByCode(amocrm.FieldCodePosition).First().Text() != "Директор" {
		t.Errorf("contact = %q phones %v emails %v", ct.Name, ct.Phones(), ct.Emails())
	}

	cos, _, err := c.Companies.List(ctx, &amocrm.ContactListOptions{Query: "Ромашка", With: []string{"contacts"}})
	if err != nil || len(cos) != 1 || cos[0].Name != "ООО «Ромашка»" {
		t.Fatalf("companies = %v, %v", cos, err)
	}
	if cos[0].Embedded == nil || len(cos[0].Embedded.Contacts) != 1 {
		t.Errorf("company contacts = %+v", cos[0].Embedded)
	}
	nc, _, err := c.Companies.Create(ctx, []*amocrm.Company{{Name: "АО «Василёк»", CustomFieldsValues: amocrm.CustomFieldsValues{
		amocrm.SetFieldCode(amocrm.FieldCodeWeb, amocrm.TextValue("https://vasilek.example")),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Companies.UpdateOne(ctx, &amocrm.Company{ID: nc[0].ID, Name: "АО «Василёк» (ВЭД)"}); err != nil {
		t.Fatal(err)
	}
	co, _, err := c.Companies.Get(ctx, nc[0].ID, nil)
	if err != nil || co.Name != "АО «Василёк» (ВЭД)" || co.CustomFieldsValues.ByCode(amocrm.FieldCodeWeb).First().Text() != "https://vasilek.example" {
		t.Errorf("company = %+v, %v", co, err)
	}
	n := 0
	for _, err := range c.Companies.ListIter(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(srv.Companies()) {
		t.Errorf("ListIter companies = %d, want %d", n, len(srv.Companies()))
	}
}

// fieldCase is a custom field of one type, the value written and a check
// of the value read back.
type fieldCase struct {
	typ   amocrm.FieldType
	enums []string
	write func(f amocrmtest.CustomField) []amocrm.FieldValue
	check func(t *testing.T, v *amocrm.CustomFieldValues, f amocrmtest.CustomField)
}

func enumID(f amocrmtest.CustomField, value string) int {
	for _, e := range f.Enums {
		if e.Value == value {
			return int(e.ID)
		}
	}
	return -1
}

func wantText(s string) func(*testing.T, *amocrm.CustomFieldValues, amocrmtest.CustomField) {
	return func(t *testing.T, v *amocrm.CustomFieldValues, _ amocrmtest.CustomField) {
		t.Helper()
		if got := v.First().Text(); got != s {
			t.Errorf("text = %q, want %q", got, s)
		}
	}
}

func wantFloat(x float64) func(*testing.T, *amocrm.CustomFieldValues, amocrmtest.CustomField) {
	return func(t *testing.T, v *amocrm.CustomFieldValues, _ amocrmtest.CustomField) {
		t.Helper()
		if got, err := v.First().Float(); err != nil || got != x {
			t.Errorf("number = %v (%v), want %v", got, err, x)
		}
	}
}

func wantTime(x time.Time) func(*testing.T, *amocrm.CustomFieldValues, amocrmtest.CustomField) {
	return func(t *testing.T, v *amocrm.CustomFieldValues, _ amocrmtest.CustomField) {
		t.Helper()
		if got, err := v.First().Time(); err != nil || !got.Equal(x) {
			t.Errorf("time = %v (%v), want %v", got, err, x)
		}
	}
}

func wantEnums(values ...string) func(*testing.T, *amocrm.CustomFieldValues, amocrmtest.CustomField) {
	return func(t *testing.T, v *amocrm.CustomFieldValues, f amocrmtest.CustomField) {
		t.Helper()
		if len(v.Values) != len(values) {
			t.Fatalf("%d values, want %d", len(v.Values), len(values))
		}
		for i, want := range values {
			if v.Values[i].EnumID != enumID(f, want) || v.Values[i].Text() != want {
				t.Errorf("value %d = %+v, want enum %q (%d)", i, v.Values[i], want, enumID(f, want))
			}
		}
	}
}

func wantDecoded[T comparable](want T) func(*testing.T, *amocrm.CustomFieldValues, amocrmtest.CustomField) {
	return func(t *testing.T, v *amocrm.CustomFieldValues, _ amocrmtest.CustomField) {
		t.Helper()
		var got T
		if err := v.First().Decode(&got); err != nil || got != want {
			t.Errorf("decoded = %+v (%v), want %+v", got, err, want)
		}
	}
}

func TestIntegrationCustomFieldsAllTypes(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv, nil)
	ctx := t.Context()
	day := time.Date(2024, 5, 17, 0, 0, 0, 0, time.UTC)
	at := time.Date(2024, 5, 17, 14, 30, 0, 0, time.UTC)
	legal := amocrm.LegalEntityValue{Name: "ООО «Ромашка»", VATID: "7701234567", KPP: "770101001", Address: "Москва, ул. Ленина, 1"}
	one := func(v amocrm.FieldValue) func(amocrmtest.CustomField) []amocrm.FieldValue {
		return func(amocrmtest.CustomField) []amocrm.FieldValue { return []amocrm.FieldValue{v} }
	}
	byEnum := func(values ...string) func(amocrmtest.CustomField) []amocrm.FieldValue {
		return func(f amocrmtest.CustomField) []amocrm.FieldValue {
			var out []amocrm.FieldValue
			for _, v := range values {
				out = append(out, amocrm.EnumValue(enumID(f, v)))
			}
			return out
		}
	}
	cases := []fieldCase{
		{typ: amocrm.FieldTypeText, write: one(amocrm.TextValue("Привет, мир")), check: wantText("Привет, мир")},
		{typ: amocrm.FieldTypeNumeric, write: one(amocrm.NumberValue(1500.5)), check: wantFloat(1500.5)},
		{typ: amocrm.FieldTypeCheckbox, write: one(amocrm.BoolValue(true)), check: func(t *testing.T, v *amocrm.CustomFieldValues, _ amocrmtest.CustomField) {
			if b, err := v.First().Bool(); err != nil || !b {
				t.Errorf("checkbox = %v (%v)", b, err)
			}
		}},
		{typ: amocrm.FieldTypeSelect, enums: []string{"Да", "Нет"}, write: byEnum("Нет"), check: wantEnums("Нет")},
		{typ: amocrm.FieldTypeMultiselect, enums: []string{"Доставка", "Опт", "Розница"}, write: byEnum("Доставка", "Розница"), check: wantEnums("Доставка", "Розница")},
		{typ: amocrm.FieldTypeMultitext, enums: []string{"WORK", "MOB"}, write: func(amocrmtest.CustomField) []amocrm.FieldValue {
			return []amocrm.FieldValue{amocrm.MultitextValue("+79001234567", amocrm.EnumCodeMobile), amocrm.MultitextValue("+74950000000", amocrm.EnumCodeWork)}
		}, check: func(t *testing.T, v *amocrm.CustomFieldValues, _ amocrmtest.CustomField) {
			if len(v.Values) != 2 || v.Values[0].Text() != "+79001234567" || v.Values[0].EnumCode != "MOB" || v.Values[1].EnumCode != "WORK" {
				t.Errorf("multitext = %+v", v.Values)
			}
		}},
		{typ: amocrm.FieldTypeDate, write: one(amocrm.DateValue(day)), check: wantTime(day)},
		{typ: amocrm.FieldTypeURL, write: one(amocrm.TextValue("https://t.me/chatter/42")), check: wantText("https://t.me/chatter/42")},
		{typ: amocrm.FieldTypeTextarea, write: one(amocrm.TextValue("строка 1\nстрока 2")), check: wantText("строка 1\nстрока 2")},
		{typ: amocrm.FieldTypeRadiobutton, enums: []string{"Физлицо", "Юрлицо"}, write: byEnum("Юрлицо"), check: wantEnums("Юрлицо")},
		{typ: amocrm.FieldTypeStreetAddress, write: one(amocrm.TextValue("Москва, Тверская, 7")), check: wantText("Москва, Тверская, 7")},
		{typ: amocrm.FieldTypeSmartAddress, write: func(amocrmtest.CustomField) []amocrm.FieldValue {
			return []amocrm.FieldValue{amocrm.AddressValue("address_line_1", "Тверская, 7"), amocrm.AddressValue("city", "Москва")}
		}, check: func(t *testing.T, v *amocrm.CustomFieldValues, _ amocrmtest.CustomField) {
			if len(v.Values) != 2 || v.Values[1].EnumCode != "city" || v.Values[1].Text() != "Москва" {
				t.Errorf("smart_address = %+v", v.Values)
			}
		}},
		{typ: amocrm.FieldTypeBirthday, write: one(amocrm.DateValue(day)), check: wantTime(day)},
		{typ: amocrm.FieldTypeLegalEntity, write: one(amocrm.ObjectValue(legal)), check: wantDecoded(legal)},
		{typ: amocrm.FieldTypeDateTime, write: one(amocrm.DateValue(at)), check: wantTime(at)},
		{typ: amocrm.FieldTypeItems, write: one(amocrm.ObjectValue(amocrm.ItemValue{SKU: "A-1", Description: "Окно ПВХ", UnitPrice: 12000, Quantity: 2, UnitType: "шт"})),
			check: func(t *testing.T, v *amocrm.CustomFieldValues, _ amocrmtest.CustomField) {
				var it amocrm.ItemValue
				if err := v.First().Decode(&it); err != nil || it.SKU != "A-1" || it.Quantity != 2 || it.UnitPrice != 12000 {
					t.Errorf("items = %+v (%v)", it, err)
				}
			}},
		{typ: amocrm.FieldTypeCategory, enums: []string{"Окна", "Двери"}, write: byEnum("Двери"), check: wantEnums("Двери")},
		{typ: amocrm.FieldTypePrice, write: one(amocrm.NumberValue(99.9)), check: wantFloat(99.9)},
		{typ: amocrm.FieldTypeTrackingData, write: one(amocrm.TextValue("utm_source=telegram")), check: wantText("utm_source=telegram")},
		{typ: amocrm.FieldTypeLinkedEntity, write: one(amocrm.ObjectValue(amocrm.LinkedEntityValue{Name: "Анна", EntityID: 5, EntityType: "contacts"})),
			check: wantDecoded(amocrm.LinkedEntityValue{Name: "Анна", EntityID: 5, EntityType: "contacts"})},
		{typ: amocrm.FieldTypeOrgLegalName, write: one(amocrm.TextValue("ООО «Ромашка»")), check: wantText("ООО «Ромашка»")},
		{typ: amocrm.FieldTypeMonetary, write: one(amocrm.NumberValue(250000)), check: wantFloat(250000)},
		{typ: amocrm.FieldTypeChainedList, write: one(amocrm.ObjectValue(amocrm.ChainedListValue{CatalogID: 3, CatalogElementID: 7})),
			check: wantDecoded(amocrm.ChainedListValue{CatalogID: 3, CatalogElementID: 7})},
		{typ: amocrm.FieldTypeFile, write: one(amocrm.ObjectValue(amocrm.FileValue{FileUUID: "f-1", FileName: "договор.pdf", FileSize: 1024})),
			check: wantDecoded(amocrm.FileValue{FileUUID: "f-1", FileName: "договор.pdf", FileSize: 1024})},
		{typ: amocrm.FieldTypePayer, write: one(amocrm.ObjectValue(legal)), check: wantDecoded(legal)},
		{typ: amocrm.FieldTypeSupplier, write: one(amocrm.ObjectValue(legal)), check: wantDecoded(legal)},
	}
	if len(cases) != len(amocrm.FieldTypes()) {
		t.Fatalf("%d cases for %d field types", len(cases), len(amocrm.FieldTypes()))
	}
	fields := make([]amocrmtest.CustomField, len(cases))
	for i, fc := range cases {
		f := amocrmtest.CustomField{ID: int64(710001 + i), Name: "Поле " + string(fc.typ), Type: string(fc.typ),
			Code: "F_" + strings.ToUpper(string(fc.typ))}
		for _, e := range fc.enums {
			f.Enums = append(f.Enums, amocrmtest.Enum{Value: e})
		}
		fields[i] = srv.AddCustomField(amocrmtest.EntityLeads, f)
	}
	// A type this client does not know keeps its raw JSON.
	srv.AddCustomField(amocrmtest.EntityLeads, amocrmtest.CustomField{ID: 719999, Name: "AI", Type: "ai_summary"})

	// The schema lists every field, over pages of 10.
	schema := map[int]*amocrm.CustomField{}
	for f, err := range c.CustomFields.ListIter(ctx, amocrm.EntityLeads, &amocrm.CustomFieldListOptions{ListOptions: amocrm.ListOptions{Limit: 10}}) {
		if err != nil {
			t.Fatal(err)
		}
		schema[f.ID] = f
	}
	if want := len(srv.CustomFields(amocrmtest.EntityLeads)); len(schema) != want {
		t.Fatalf("schema has %d fields, fake %d", len(schema), want)
	}
	for _, f := range fields {
		sf := schema[int(f.ID)]
		if sf == nil || string(sf.Type) != f.Type || sf.Code != f.Code || len(sf.Enums) != len(f.Enums) {
			t.Errorf("schema of %s = %+v", f.Type, sf)
			continue
		}
		for _, e := range f.Enums {
			if sf.EnumByValue(e.Value) == nil || sf.EnumByValue(e.Value).ID != int(e.ID) {
				t.Errorf("%s: enum %q missing", f.Type, e.Value)
			}
		}
	}
	if sf := schema[719999]; sf == nil || sf.Type.Known() {
		t.Errorf("unknown type field = %+v", sf)
	}
	if f, _, err := c.CustomFields.Get(ctx, amocrm.EntityLeads, int(amocrmtest.DemoLeadBudget)); err != nil ||
		!f.RequiredIn(int(amocrmtest.DemoPipelineID), int(amocrmtest.DemoStatusDecision)) {
		t.Errorf("Budget field = %+v, %v", f, err)
	}

	// Write every type by field_id.
	var cfv amocrm.CustomFieldsValues
	for i, fc := range cases {
		cfv = append(cfv, amocrm.SetField(int(fields[i].ID), fc.write(fields[i])...))
	}
	cfv = append(cfv, amocrm.SetField(719999, amocrm.ObjectValue(map[string]any{"summary": "клиент хочет окна"})))
	created, _, err := c.Leads.Create(ctx, []*amocrm.Lead{{Name: "Все типы полей", CustomFieldsValues: cfv}})
	if err != nil {
		t.Fatal(err)
	}
	id := created[0].ID
	check := func(t *testing.T, l *amocrm.Lead) {
		t.Helper()
		for i, fc := range cases {
			t.Run(string(fc.typ), func(t *testing.T) {
				v := l.CustomFieldsValues.ByID(int(fields[i].ID))
				if v == nil {
					t.Fatal("value not read back")
				}
				if v.FieldType != fc.typ || v.FieldName != fields[i].Name || v.FieldCode != fields[i].Code || v.Raw != nil {
					t.Errorf("meta = %q %q %q raw %s", v.FieldType, v.FieldName, v.FieldCode, v.Raw)
				}
				fc.check(t, v, fields[i])
			})
		}
	}
	l, _, err := c.Leads.Get(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	check(t, l)
	if v := l.CustomFieldsValues.ByID(719999); v == nil || !strings.Contains(string(v.Raw), "клиент хочет окна") {
		t.Errorf("unknown type value = %+v", v)
	}

	// Write by field_code: a new text value and a different enum.
	_, _, err = c.Leads.UpdateOne(ctx, &amocrm.Lead{ID: id, CustomFieldsValues: amocrm.CustomFieldsValues{
		amocrm.SetFieldCode(fields[0].Code, amocrm.TextValue("по коду")),
		amocrm.SetFieldCode(fields[3].Code, amocrm.EnumValue(enumID(fields[3], "Да"))),
	}})
	if err != nil {
		t.Fatal(err)
	}
	l, _, err = c.Leads.Get(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.CustomFieldsValues.ByCode(fields[0].Code).First().Text(); got != "по коду" {
		t.Errorf("text by code = %q", got)
	}
	if got := l.CustomFieldsValues.ByID(int(fields[3].ID)).First().EnumID; got != enumID(fields[3], "Да") {
		t.Errorf("select by code = %d", got)
	}
	// Untouched fields keep their values.
	wantFloat(1500.5)(t, l.CustomFieldsValues.ByID(int(fields[1].ID)), fields[1])

	// Clear with values: null.
	var clear amocrm.CustomFieldsValues
	for _, f := range fields {
		clear = append(clear, amocrm.ClearField(int(f.ID)))
	}
	if _, _, err := c.Leads.UpdateOne(ctx, &amocrm.Lead{ID: id, CustomFieldsValues: clear}); err != nil {
		t.Fatal(err)
	}
	l, _, err = c.Leads.Get(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.CustomFieldsValues) != 1 || l.CustomFieldsValues[0].FieldID != 719999 {
		t.Errorf("after clearing: %+v", l.CustomFieldsValues)
	}
	fl, _ := srv.Lead(int64(id))
	if len(fl.CustomFieldsValues) != 1 {
		t.Errorf("fake still holds %d fields", len(fl.CustomFieldsValues))
	}
}

func TestIntegrationPipelines(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv, nil)
	ctx := t.Context()
	ps, _, err := c.Pipelines.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].ID != int(amocrmtest.DemoPipelineID) || !ps[0].IsMain || ps[0].Name != "Воронка" {
		t.Fatalf("pipelines = %+v", ps)
	}
	var names []string
	hasWon, hasUnsorted := false, false
	for _, s := range ps[0].Statuses() {
		names = append(names, s.Name)
		hasWon = hasWon || s.ID == amocrm.StatusWon
		hasUnsorted = hasUnsorted || (s.ID == int(amocrmtest.DemoStatusUnsorted) && s.Type == 1)
		if s.PipelineID != ps[0].ID {
			t.Errorf("status %d pipeline_id %d", s.ID, s.PipelineID)
		}
	}
	if !hasWon || !hasUnsorted || !slices.Contains(names, "Переговоры") {
		t.Errorf("statuses = %v", names)
	}
	p, _, err := c.Pipelines.Get(ctx, int(amocrmtest.DemoPartnersPipelineID))
	if err != nil || p.Name != "Партнёры" {
		t.Fatalf("Get = %+v, %v", p, err)
	}
	sts, _, err := c.Pipelines.ListStatuses(ctx, p.ID)
	if err != nil || len(sts) != len(p.Statuses()) {
		t.Fatalf("ListStatuses = %d, %v", len(sts), err)
	}
	st, _, err := c.Pipelines.GetStatus(ctx, p.ID, int(amocrmtest.DemoPartnersStatusWork))
	if err != nil || st.Name != "В работе" {
		t.Errorf("GetStatus = %+v, %v", st, err)
	}
	if _, _, err := c.Pipelines.Get(ctx, 12345); !amocrm.IsNotFound(err) {
		t.Errorf("missing pipeline: %v", err)
	}
}

func TestIntegrationNotesTasksTagsLinks(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv, nil)
	ctx := t.Context()
	lead := srv.Leads()[0]
	leadID := int(lead.ID)

	// Notes.
	notes, _, err := c.Notes.Create(ctx, amocrm.EntityLeads, []*amocrm.Note{
		{EntityID: leadID, NoteType: amocrm.NoteCommon, Params: amocrm.NoteParams{Text: "Клиент просит перезвонить после 18:00"}},
		{EntityID: leadID, NoteType: amocrm.NoteServiceMessage, Params: amocrm.NoteParams{Service: "Chatter", Text: "Сообщение из Telegram"}},
	})
	if err != nil || len(notes) != 2 || notes[0].ID == 0 {
		t.Fatalf("notes = %v, %v", notes, err)
	}
	if got := srv.Notes(amocrmtest.EntityLeads, lead.ID); len(got) != 2 || got[0].Params["text"] != "Клиент просит перезвонить после 18:00" {
		t.Errorf("fake notes = %+v", got)
	}
	listed, _, err := c.Notes.List(ctx, amocrm.EntityLeads, &amocrm.NoteListOptions{EntityIDs: []int{leadID}, Types: []amocrm.NoteType{amocrm.NoteCommon}})
	if err != nil || len(listed) != 1 || listed[0].Params.Text != "Клиент просит перезвонить после 18:00" || listed[0].EntityID != leadID {
		t.Errorf("listed notes = %+v, %v", listed, err)
	}
	n, _, err := c.Notes.Get(ctx, amocrm.EntityLeads, notes[1].ID)
	if err != nil || n.NoteType != amocrm.NoteServiceMessage || n.Params.Service != "Chatter" {
		t.Errorf("note = %+v, %v", n, err)
	}
	if _, _, err := c.Notes.Create(ctx, amocrm.EntityLeads, []*amocrm.Note{{EntityID: leadID, NoteType: amocrm.NoteCommon}}); !amocrm.IsStatus(err, http.StatusBadRequest) {
		t.Errorf("note without text: %v", err)
	}

	// Tasks.
	due := time.Date(2030, 1, 15, 10, 0, 0, 0, time.UTC)
	tasks, _, err := c.Tasks.Create(ctx, []*amocrm.Task{{Text: "Перезвонить клиенту", CompleteTill: amocrm.TimestampOf(due),
		EntityID: leadID, EntityType: amocrm.EntityLeads, TaskTypeID: 1}})
	if err != nil || len(tasks) != 1 || tasks[0].ID == 0 {
		t.Fatalf("tasks = %v, %v", tasks, err)
	}
	if _, _, err := c.Tasks.Update(ctx, []*amocrm.Task{{ID: tasks[0].ID, IsCompleted: true, Result: &amocrm.TaskResult{Text: "Дозвонились"}}}); err != nil {
		t.Fatal(err)
	}
	task, _, err := c.Tasks.Get(ctx, tasks[0].ID)
	if err != nil || !task.IsCompleted || task.Result == nil || task.Result.Text != "Дозвонились" || task.CompleteTill.Time() != due || task.EntityID != leadID {
		t.Errorf("task = %+v, %v", task, err)
	}
	open := false
	tl, _, err := c.Tasks.List(ctx, &amocrm.TaskListOptions{EntityType: amocrm.EntityLeads, EntityIDs: []int{leadID}, IsCompleted: &open})
	if err != nil || len(tl) != 0 {
		t.Errorf("open tasks = %v, %v", tl, err)
	}

	// Tags.
	tags, _, err := c.Tags.Create(ctx, amocrm.EntityLeads, []*amocrm.Tag{{Name: "горячий"}, {Name: "vip", Color: "DDEBB5"}})
	if err != nil || len(tags) != 2 || tags[0].ID == 0 {
		t.Fatalf("tags = %v, %v", tags, err)
	}
	found, _, err := c.Tags.List(ctx, amocrm.EntityLeads, &amocrm.TagListOptions{Query: "горяч"})
	if err != nil || len(found) != 1 || found[0].ID != tags[0].ID {
		t.Errorf("tag search = %v, %v", found, err)
	}
	if _, _, err := c.Leads.UpdateOne(ctx, &amocrm.Lead{ID: leadID, TagsToAdd: []amocrm.Tag{{ID: tags[1].ID}}, TagsToDelete: []amocrm.Tag{{Name: "telegram"}}}); err != nil {
		t.Fatal(err)
	}
	if fl, _ := srv.Lead(lead.ID); !slices.Equal(fl.Tags, []string{"vip"}) {
		t.Errorf("lead tags = %v, want [vip]", fl.Tags)
	}

	// Links.
	newContact, _, err := c.Contacts.Create(ctx, []*amocrm.Contact{{Name: "Бухгалтер"}})
	if err != nil {
		t.Fatal(err)
	}
	cid := newContact[0].ID
	links, _, err := c.Links.Link(ctx, amocrm.EntityLeads, []*amocrm.EntityLink{{EntityID: leadID, ToEntityID: cid, ToEntityType: amocrm.EntityContacts}})
	if err != nil || len(links) != 1 || links[0].ToEntityID != cid {
		t.Fatalf("Link = %v, %v", links, err)
	}
	hasContact := func() bool {
		ls, _, err := c.Links.List(ctx, amocrm.EntityLeads, leadID)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if l.ToEntityType == amocrm.EntityContacts && l.ToEntityID == cid {
				return true
			}
		}
		return false
	}
	if !hasContact() {
		t.Error("linked contact not listed")
	}
	if _, err := c.Links.Unlink(ctx, amocrm.EntityLeads, []*amocrm.EntityLink{{EntityID: leadID, ToEntityID: cid, ToEntityType: amocrm.EntityContacts}}); err != nil {
		t.Fatal(err)
	}
	if hasContact() {
		t.Error("unlinked contact still listed")
	}
	if _, _, err := c.Links.Link(ctx, amocrm.EntityLeads, []*amocrm.EntityLink{{EntityID: leadID, ToEntityID: 42, ToEntityType: amocrm.EntityContacts}}); !amocrm.IsStatus(err, http.StatusBadRequest) {
		t.Errorf("link to a missing contact: %v", err)
	}
}

func TestIntegrationUnsorted(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv, nil)
	ctx := t.Context()
	form := func(uid string) *amocrm.Unsorted {
		return &amocrm.Unsorted{SourceUID: uid, SourceName: "Сайт", Metadata: &amocrm.UnsortedMetadata{
			FormID: "callback", FormName: "Обратный звонок", FormPage: "https://example.ru/contacts", FormSentAt: amocrm.Timestamp(1715950000),
			IP: "203.0.113.7"},
			Embedded: &amocrm.UnsortedEmbedded{
				Leads:    []*amocrm.Lead{{Name: "Заявка с формы " + uid}},
				Contacts: []*amocrm.Contact{{Name: "Гость " + uid}},
			}}
	}
	out, _, err := c.Unsorted.CreateForms(ctx, []*amocrm.Unsorted{form("a"), form("b")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].UID == "" || out[0].Embedded == nil || len(out[0].Embedded.Leads) != 1 {
		t.Fatalf("created = %+v", out)
	}
	leadA := out[0].Embedded.Leads[0].ID
	if fl, _ := srv.Lead(int64(leadA)); fl.StatusID != amocrmtest.DemoStatusUnsorted {
		t.Errorf("unsorted lead status = %d", fl.StatusID)
	}
	list, _, err := c.Unsorted.List(ctx, &amocrm.UnsortedListOptions{Categories: []amocrm.UnsortedCategory{amocrm.UnsortedForms}})
	if err != nil || len(list) != 2 {
		t.Fatalf("list = %v, %v", list, err)
	}
	u, _, err := c.Unsorted.Get(ctx, out[0].UID)
	if err != nil || u.SourceName != "Сайт" || u.Metadata == nil || u.Metadata.FormName != "Обратный звонок" || u.Category != amocrm.UnsortedForms {
		t.Errorf("Get = %+v, %v", u, err)
	}

	acc, _, err := c.Unsorted.Accept(ctx, out[0].UID, &amocrm.UnsortedActionOptions{StatusID: int(amocrmtest.DemoStatusNegotiation)})
	if err != nil || acc.UID != out[0].UID {
		t.Fatalf("Accept = %+v, %v", acc, err)
	}
	if fl, _ := srv.Lead(int64(leadA)); fl.StatusID != amocrmtest.DemoStatusNegotiation {
		t.Errorf("accepted lead status = %d", fl.StatusID)
	}
	if _, _, err := c.Unsorted.Accept(ctx, out[0].UID, nil); !amocrm.IsStatus(err, http.StatusBadRequest) {
		t.Errorf("second accept: %v", err)
	}
	dec, _, err := c.Unsorted.Decline(ctx, out[1].UID, nil)
	if err != nil || dec.UID != out[1].UID {
		t.Fatalf("Decline = %+v, %v", dec, err)
	}
	if fl, _ := srv.Lead(int64(out[1].Embedded.Leads[0].ID)); !fl.IsDeleted {
		t.Error("declined lead not deleted")
	}
	list, _, err = c.Unsorted.List(ctx, nil)
	if err != nil || len(list) != 0 {
		t.Errorf("pending after accept+decline = %v, %v", list, err)
	}
	if _, _, err := c.Unsorted.CreateForms(ctx, []*amocrm.Unsorted{{SourceUID: "x"}}); !isInvalid(err) {
		t.Errorf("form without a lead: %v", err)
	}
}

func TestIntegrationWebhooks(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []amocrm.WebhookEvent
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := amocrm.ParseWebhook(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		events = append(events, p.Events...)
		mu.Unlock()
	}))
	t.Cleanup(recv.Close)
	srv := newFake(t)
	c := newClient(t, srv, nil)
	ctx := t.Context()
	dest := recv.URL + "/amocrm/hook"

	wh, _, err := c.Webhooks.Subscribe(ctx, dest, []string{"add_lead", "status_lead"})
	if err != nil || wh.ID == 0 || wh.Destination != dest || !slices.Equal(wh.Settings, []string{"add_lead", "status_lead"}) {
		t.Fatalf("Subscribe = %+v, %v", wh, err)
	}
	list, _, err := c.Webhooks.List(ctx, &amocrm.WebhookListOptions{Destination: dest})
	if err != nil || len(list) != 1 || list[0].ID != wh.ID {
		t.Fatalf("List = %v, %v", list, err)
	}
	created, _, err := c.Leads.Create(ctx, []*amocrm.Lead{{Name: "Лид для вебхука"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Leads.UpdateOne(ctx, &amocrm.Lead{ID: created[0].ID, StatusID: int(amocrmtest.DemoStatusContract)}); err != nil {
		t.Fatal(err)
	}
	srv.FlushWebhooks()
	mu.Lock()
	got := slices.Clone(events)
	mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("events = %+v", got)
	}
	if got[0].Entity != "leads" || got[0].Action != "add" || got[0].ID != created[0].ID || got[0].Name != "Лид для вебхука" {
		t.Errorf("add event = %+v", got[0])
	}
	if got[1].Action != "status" || got[1].StatusID != int(amocrmtest.DemoStatusContract) || got[1].OldStatusID != int(amocrmtest.DemoStatusFirstContact) {
		t.Errorf("status event = %+v", got[1])
	}

	if _, err := c.Webhooks.Unsubscribe(ctx, dest); err != nil {
		t.Fatal(err)
	}
	list, _, err = c.Webhooks.List(ctx, nil)
	if err != nil || len(list) != 0 {
		t.Errorf("after unsubscribe: %v, %v", list, err)
	}
	if _, err := c.Webhooks.Unsubscribe(ctx, dest); !amocrm.IsNotFound(err) {
		t.Errorf("second unsubscribe: %v", err)
	}
	if _, _, err := c.Webhooks.Subscribe(ctx, dest, []string{"no_such_event"}); !amocrm.IsStatus(err, http.StatusBadRequest) {
		t.Errorf("bad event: %v", err)
	}
}

func TestIntegrationWebhookSort(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv, nil)
	ctx := t.Context()
	dest := "https://hooks.example/amocrm"

	wh, _, err := c.Webhooks.Subscribe(ctx, dest, []string{"add_lead"}, amocrm.WebhookSort(7))
	require.NoError(t, err)
	require.Equal(t, 7, wh.Sort, "the sort sent is the sort amoCRM answers")
	list, _, err := c.Webhooks.List(ctx, &amocrm.WebhookListOptions{Destination: dest})
	require.NoError(t, err)
	require.Len(t, list, 1)
	if diff := cmp.Diff([]string{"add_lead"}, list[0].Settings); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	require.Equal(t, 7, list[0].Sort, "the sort is stored")

	// Subscribing again moves it; without WebhookSort the sort is kept.
	wh, _, err = c.Webhooks.Subscribe(ctx, dest, []string{"add_lead", "status_lead"}, amocrm.WebhookSort(3))
	require.NoError(t, err)
	require.Equal(t, 3, wh.Sort)
	wh, _, err = c.Webhooks.Subscribe(ctx, dest, []string{"add_lead"})
	require.NoError(t, err)
	require.Equal(t, 3, wh.Sort, "no sort sent, the stored one stays")

	for _, bad := range []int{0, -1} {
		_, _, err = c.Webhooks.Subscribe(ctx, "https://hooks.example/other", []string{"add_lead"}, amocrm.WebhookSort(bad))
		var ire *amocrm.InvalidRequestError
		require.ErrorAs(t, err, &ire, "sort %d", bad)
	}
	list, _, err = c.Webhooks.List(ctx, nil)
	require.NoError(t, err)
	require.Len(t, list, 1, "an invalid sort sends nothing")
}

// --- OAuth ---------------------------------------------------------------------------

func TestIntegrationOAuthCodeExchange(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	store := amocrm.NewMemoryTokenStore(nil)
	c := newClient(t, srv, amocrm.WithOAuth(oauthConfig(srv), store))
	ctx := t.Context()
	if _, _, err := c.Account.Get(ctx, nil); !isUnauthorized(err) {
		t.Fatalf("before exchange: %v", err)
	}
	code := srv.IssueAuthCode()
	tok, err := c.ExchangeCode(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.ExpiresAt.IsZero() || tok.APIDomain == "" {
		t.Errorf("token = %v", tok)
	}
	if saved, err := store.Load(ctx); err != nil || saved.AccessToken != tok.AccessToken {
		t.Errorf("store = %v, %v", saved, err)
	}
	if _, _, err := c.Account.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// A code is single use; the error is typed and carries no secret.
	_, err = c.ExchangeCode(ctx, code)
	var re *amocrm.RefreshError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest || !re.InvalidGrant() {
		t.Fatalf("reused code: %v", err)
	}
	if strings.Contains(err.Error(), code) || strings.Contains(err.Error(), oauthConfig(srv).ClientSecret) {
		t.Errorf("error leaks a secret: %v", err)
	}
	// redirect_uri must match exactly.
	cfg := oauthConfig(srv)
	cfg.RedirectURL += "/"
	c2 := newClient(t, srv, amocrm.WithOAuth(cfg, amocrm.NewMemoryTokenStore(nil)))
	if _, err := c2.ExchangeCode(ctx, srv.IssueAuthCode()); !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		t.Errorf("wrong redirect_uri: %v", err)
	}
}

func isUnauthorized(err error) bool {
	var ue *amocrm.UnauthorizedError
	return errors.As(err, &ue)
}

func TestIntegrationRefreshRotation(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	store := amocrm.NewMemoryTokenStore(nil)
	c := newClient(t, srv, amocrm.WithOAuth(oauthConfig(srv), store))
	ctx := t.Context()
	first, err := c.ExchangeCode(ctx, srv.IssueAuthCode())
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.RefreshToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh did not rotate the pair")
	}
	if saved, _ := store.Load(ctx); saved.RefreshToken != second.RefreshToken {
		t.Error("rotated pair not saved")
	}
	if _, _, err := c.Leads.List(ctx, nil); err != nil {
		t.Fatal(err)
	}

	// Another process still holding the first (rotated) pair: amoCRM answers
	// 401 "Token has been revoked" on refresh; the client maps it to its
	// typed refresh error inside *UnauthorizedError.
	stale := *first
	stale.ExpiresAt = time.Now().Add(-time.Hour)
	c2 := newClient(t, srv, amocrm.WithOAuth(oauthConfig(srv), amocrm.NewMemoryTokenStore(&stale)))
	srv.ResetRequests()
	_, _, err = c2.Leads.List(ctx, nil)
	var ue *amocrm.UnauthorizedError
	var re *amocrm.RefreshError
	if !errors.As(err, &ue) || !errors.As(err, &re) {
		t.Fatalf("old refresh token: %v (%T)", err, err)
	}
	if re.StatusCode != http.StatusUnauthorized || !re.InvalidGrant() || re.Hint != "Token has been revoked" {
		t.Errorf("RefreshError = %+v", re.APIError)
	}
	if !strings.Contains(ue.Message("ru"), "Переподключите интеграцию") {
		t.Errorf("ru message = %q", ue.Message("ru"))
	}
	if got := statuses(srv, http.MethodPost, "/oauth2/access_token"); !slices.Equal(got, []int{401}) {
		t.Errorf("token requests = %v, want one 401", got)
	}
	if n := srv.CountRequests("", "/api/"); n != 0 {
		t.Errorf("%d API requests sent with an expired token", n)
	}
	// RefreshToken reports the same typed error.
	if _, err := c2.RefreshToken(ctx); !errors.As(err, &re) || re.StatusCode != http.StatusUnauthorized {
		t.Errorf("RefreshToken with the old pair: %v", err)
	}
	// The first client is unaffected.
	if _, _, err := c.Account.Get(ctx, nil); err != nil {
		t.Error(err)
	}
}

func TestIntegrationTokenExpiry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// sharedClock: the client reads the fake's clock and refreshes
		// before sending; otherwise it learns from the 401.
		sharedClock bool
	}{{"proactive", true}, {"on 401", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := amocrmtest.NewManualClock(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
			srv := newFake(t, amocrmtest.WithClock(clock.Now))
			store := amocrm.NewMemoryTokenStore(nil)
			extra := []amocrm.Option{}
			if tc.sharedClock {
				extra = append(extra, amocrm.WithClock(clock.Now))
			}
			c := newClient(t, srv, amocrm.WithOAuth(oauthConfig(srv), store), extra...)
			ctx := t.Context()
			first, err := c.ExchangeCode(ctx, srv.IssueAuthCode())
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(amocrmtest.AccessTokenTTL + time.Hour)
			srv.ResetRequests()

			const n = 100
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for range n {
				wg.Go(func() {
					if _, _, err := c.Account.Get(ctx, nil); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if got := srv.CountRequests(http.MethodPost, "/oauth2/access_token"); got != 1 {
				t.Errorf("%d refresh requests for %d goroutines, want exactly 1", got, n)
			}
			if got := srv.CountRequests(http.MethodGet, "/api/v4/account"); tc.sharedClock && got != n {
				t.Errorf("%d account requests, want %d (no 401 round trips)", got, n)
			}
			saved, _ := store.Load(ctx)
			if saved.RefreshToken == first.RefreshToken {
				t.Error("the rotated pair was not saved")
			}
			// The client continues with the new token; the old one is dead.
			if _, _, err := c.Leads.List(ctx, nil); err != nil {
				t.Fatal(err)
			}
			old := newClient(t, srv, amocrm.WithLongLivedToken(first.AccessToken))
			if _, _, err := old.Account.Get(ctx, nil); !isUnauthorized(err) {
				t.Errorf("expired access token: %v", err)
			}
		})
	}
}

func TestIntegrationLongLivedToken(t *testing.T) {
	t.Parallel()
	clock := amocrmtest.NewManualClock(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	srv := newFake(t, amocrmtest.WithClock(clock.Now))
	c := newClient(t, srv, amocrm.WithLongLivedToken(srv.LongLivedToken(30*24*time.Hour)))
	ctx := t.Context()
	if _, _, err := c.Leads.List(ctx, nil); err != nil {
		t.Fatal(err)
	}
	clock.Advance(31 * 24 * time.Hour)
	_, _, err := c.Leads.List(ctx, nil)
	var ue *amocrm.UnauthorizedError
	if !errors.As(err, &ue) || ue.StatusCode != http.StatusUnauthorized || !strings.Contains(ue.Reason, "long-lived") {
		t.Fatalf("expired long-lived token: %v", err)
	}
	if n := srv.CountRequests(http.MethodPost, "/oauth2/"); n != 0 {
		t.Errorf("%d token requests for a long-lived token", n)
	}
	if got := statuses(srv, http.MethodGet, "/api/v4/leads"); !slices.Equal(got, []int{200, 401}) {
		t.Errorf("requests = %v, want [200 401] (no retry)", got)
	}
}

// --- limits and failures -------------------------------------------------------------

func TestIntegrationRateLimit429Backoff(t *testing.T) {
	t.Parallel()
	clock := amocrmtest.NewManualClock(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	srv := newFake(t, amocrmtest.WithClock(clock.Now), amocrmtest.WithRateLimit(amocrmtest.RateLimit{}))
	sl := &sleeper{clock: clock}
	c := newClient(t, srv, nil, amocrm.WithSleeper(sl.sleep))
	ctx := t.Context()
	// Seven requests in the same instant use the second's budget.
	for range amocrmtest.DefaultPerSecond {
		if _, _, err := c.Account.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	// The eighth gets a 429 HTML page, backs off (moving the fake's clock)
	// and succeeds.
	_, resp, err := c.Leads.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := statuses(srv, http.MethodGet, "/api/v4/leads")
	if len(got) < 2 || got[0] != http.StatusTooManyRequests || got[len(got)-1] != http.StatusOK {
		t.Fatalf("leads requests = %v, want 429… then 200", got)
	}
	if resp.Retries != len(got)-1 || sl.count() != len(got)-1 {
		t.Errorf("retries %d, waits %d, requests %v", resp.Retries, sl.count(), got)
	}
	if blocked, _ := srv.Blocked(); blocked {
		t.Error("the account got blocked")
	}
}

func TestIntegrationRepeated429Blocked(t *testing.T) {
	t.Parallel()
	clock := amocrmtest.NewManualClock(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	srv := newFake(t, amocrmtest.WithClock(clock.Now),
		amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: 1, BlockAfter: 3, BlockFor: time.Hour}))
	// The client waits (without moving the clock), so the window never
	// frees: 429, 429, 429 (the third blocks the account), then 403.
	c := newClient(t, srv, nil, amocrm.WithClock(clock.Now))
	ctx := t.Context()
	if _, _, err := c.Account.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Leads.List(ctx, nil)
	var be *amocrm.BlockedError
	if !errors.As(err, &be) || be.StatusCode != http.StatusForbidden || be.RetryAfter() <= 0 {
		t.Fatalf("err = %v, want *BlockedError for the 403", err)
	}
	if blocked, _ := srv.Blocked(); !blocked {
		t.Fatal("fake not blocked")
	}
	if got := statuses(srv, http.MethodGet, "/api/v4/leads"); !slices.Equal(got, []int{429, 429, 429, 403}) {
		t.Errorf("requests = %v", got)
	}
	if !strings.Contains(be.Message("ru"), "поддержку") {
		t.Errorf("ru message = %q", be.Message("ru"))
	}
	// The circuit is open: nothing reaches the server, reads or writes.
	n := len(srv.Requests())
	if _, _, err := c.Leads.List(ctx, nil); !errors.As(err, &be) {
		t.Errorf("read while blocked: %v", err)
	}
	if _, err := c.Leads.CreateComplexBatch(ctx, []*amocrm.ComplexLead{{Lead: &amocrm.Lead{Name: "x"}}}); !errors.As(err, &be) {
		t.Errorf("write while blocked: %v", err)
	}
	if got := len(srv.Requests()); got != n {
		t.Errorf("%d requests reached the server while the circuit was open", got-n)
	}
	// After the cool-down (the client's clock is the fake's) it probes again.
	clock.Advance(2 * time.Hour)
	if _, _, err := c.Account.Get(ctx, nil); err != nil {
		t.Errorf("after the block: %v", err)
	}
}

func TestIntegration5xxReadRetried(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	sl := &sleeper{}
	c := newClient(t, srv, nil, amocrm.WithSleeper(sl.sleep))
	srv.InjectFault(amocrmtest.Fault{Method: http.MethodGet, PathPrefix: "/api/v4/leads", Status: http.StatusBadGateway, Count: 1})
	srv.InjectFault(amocrmtest.Fault{Method: http.MethodGet, PathPrefix: "/api/v4/leads", Status: http.StatusServiceUnavailable, Count: 1})
	leads, resp, err := c.Leads.List(t.Context(), nil)
	if err != nil || len(leads) != len(srv.Leads()) {
		t.Fatalf("List = %d, %v", len(leads), err)
	}
	if got := statuses(srv, http.MethodGet, "/api/v4/leads"); !slices.Equal(got, []int{502, 503, 200}) || resp.Retries != 2 || sl.count() != 2 {
		t.Errorf("requests %v, retries %d, waits %d", got, resp.Retries, sl.count())
	}
	// Retries are bounded: a persistent failure comes back as *APIError.
	srv.InjectFault(amocrmtest.Fault{Method: http.MethodGet, PathPrefix: "/api/v4/account", Status: http.StatusInternalServerError})
	_, _, err = c.Account.Get(t.Context(), nil)
	if !amocrm.IsStatus(err, http.StatusInternalServerError) {
		t.Errorf("persistent 500: %v", err)
	}
	if got := srv.CountRequests(http.MethodGet, "/api/v4/account"); got != 4 {
		t.Errorf("%d attempts, want 1 + 3 retries", got)
	}
}

func TestIntegrationWriteOutcomeUnknownNotResent(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv, nil)
	ctx := t.Context()

	// Applied, then answered 504: the lead exists, the client must not retry.
	srv.InjectFault(amocrmtest.Fault{Method: http.MethodPost, PathPrefix: "/api/v4/leads/complex", ApplyThenFail: true, Count: 1})
	_, _, err := c.Leads.CreateComplex(ctx, []*amocrm.ComplexLead{{
		Lead:    &amocrm.Lead{Name: "Заявка: таймаут шлюза"},
		Contact: &amocrm.Contact{Name: "Ольга"},
	}})
	var ou *amocrm.OutcomeUnknownError
	if !errors.As(err, &ou) || !amocrm.IsStatus(err, http.StatusGatewayTimeout) {
		t.Fatalf("err = %v, want *OutcomeUnknownError with the 504", err)
	}
	if got := statuses(srv, http.MethodPost, "/api/v4/leads/complex"); !slices.Equal(got, []int{504}) {
		t.Errorf("complex requests = %v, want exactly one", got)
	}
	found := 0
	for _, l := range srv.Leads() {
		if l.Name == "Заявка: таймаут шлюза" {
			found++
		}
	}
	if found != 1 {
		t.Errorf("%d leads in the fake, want 1 (applied once)", found)
	}

	// Not applied, answered 502: still unknown to the client, still not re-sent.
	srv.InjectFault(amocrmtest.Fault{Method: http.MethodPost, PathPrefix: "/api/v4/leads", Status: http.StatusBadGateway, Count: 1})
	before := len(srv.Leads())
	_, _, err = c.Leads.Create(ctx, []*amocrm.Lead{{Name: "Не дошло"}})
	if !errors.As(err, &ou) || ou.Method != http.MethodPost || !strings.Contains(ou.Message("ru"), "неизвестно") {
		t.Fatalf("err = %v", err)
	}
	if got := statuses(srv, http.MethodPost, "/api/v4/leads"); !slices.Equal(got, []int{502}) || len(srv.Leads()) != before {
		t.Errorf("requests %v, leads %d → %d", got, before, len(srv.Leads()))
	}

	// A batch whose second chunk fails ambiguously stops there: the first
	// chunk's results come back with a *BatchError, nothing is re-sent.
	var once sync.Once
	hook := func(ri amocrm.RequestInfo) {
		if ri.Method == http.MethodPost && ri.Path == "/api/v4/leads/complex" && ri.Status == http.StatusOK {
			once.Do(func() {
				srv.InjectFault(amocrmtest.Fault{Method: http.MethodPost, PathPrefix: "/api/v4/leads/complex", Status: http.StatusGatewayTimeout, Count: 1})
			})
		}
	}
	c = newClient(t, srv, nil, amocrm.WithRequestHook(hook))
	items := make([]*amocrm.ComplexLead, 70)
	for i := range items {
		items[i] = &amocrm.ComplexLead{Lead: &amocrm.Lead{Name: fmt.Sprintf("Пакет %d", i)}}
	}
	srv.ResetRequests()
	res, err := c.Leads.CreateComplexBatch(ctx, items)
	var be *amocrm.BatchError
	if !errors.As(err, &be) || be.Done != 50 || !errors.As(err, &ou) {
		t.Fatalf("batch: %v", err)
	}
	for i, r := range res {
		if (i < 50) != (r != nil) {
			t.Fatalf("result %d = %+v", i, r)
		}
	}
	if got := statuses(srv, http.MethodPost, "/api/v4/leads/complex"); !slices.Equal(got, []int{200, 504}) {
		t.Errorf("batch requests = %v, want [200 504]", got)
	}
}
