package amocrm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewClientURLs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		opts []Option
		want string
		err  bool
	}{
		{in: "example", want: "https://example.amocrm.ru"},
		{in: "Example", opts: []Option{WithDomain(DomainKommo)}, want: "https://example.kommo.com"},
		{in: "example.amocrm.com", want: "https://example.amocrm.com"},
		{in: "https://example.kommo.com/", want: "https://example.kommo.com"},
		{in: "example.amocrm.ru/api/v4", want: "https://example.amocrm.ru"},
		{in: "www.amocrm.ru", err: true},
		{in: "", err: true},
		{in: "bad_sub!", err: true},
	}
	for _, tt := range tests {
		c, err := NewClient(tt.in, tt.opts...)
		if tt.err {
			if err == nil {
				t.Errorf("NewClient(%q): want error", tt.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewClient(%q): %v", tt.in, err)
			continue
		}
		if got := c.BaseURL(); got != tt.want {
			t.Errorf("NewClient(%q).BaseURL() = %q, want %q", tt.in, got, tt.want)
		}
	}
	if _, err := NewClient("x", WithHTTPClient(nil)); err == nil {
		t.Error("WithHTTPClient(nil): want error")
	}
}

func TestLeadsListPagingLinksAnd204(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/leads", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
			t.Errorf("Authorization = %q", got)
		}
		if r.URL.Query().Get("limit") != "250" {
			t.Errorf("limit = %q, want capped 250", r.URL.Query().Get("limit"))
		}
		if r.URL.Query().Get("with") != "contacts" || r.URL.Query().Get("query") != "+7999" {
			t.Errorf("query = %v", r.URL.RawQuery)
		}
		switch r.URL.Query().Get("page") {
		case "", "1":
			writeJSON(w, 200, string(readTestdata(t, "leads_page1.json")))
		case "2":
			writeJSON(w, 200, string(readTestdata(t, "leads_page2.json")))
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	b := setup(t, mux)
	ctx := t.Context()
	opts := &LeadListOptions{ListOptions: ListOptions{Limit: 1000}, With: []string{LeadWithContacts}, Query: "+7999"}

	leads, resp, err := b.client.Leads.List(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(leads) != 2 || resp.Page != 1 || resp.NextPage != 2 {
		t.Fatalf("page 1: %d leads, page %d next %d", len(leads), resp.Page, resp.NextPage)
	}

	var ids []int
	for l, err := range b.client.Leads.ListIter(ctx, opts) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.ID)
	}
	if fmt.Sprint(ids) != "[19619 14460 3]" {
		t.Errorf("ids = %v", ids)
	}
	if opts.Page != 0 {
		t.Errorf("ListIter modified opts.Page = %d", opts.Page)
	}

	// A page past the end answers 204: empty slice, no error.
	empty, resp, err := b.client.Leads.List(ctx, &LeadListOptions{ListOptions: ListOptions{Page: 9, Limit: 250}, With: []string{"contacts"}, Query: "+7999"})
	if err != nil || empty == nil || len(empty) != 0 || resp.NextPage != 0 {
		t.Fatalf("204: leads=%v err=%v", empty, err)
	}
}

func TestListIterStopsOn204(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/contacts", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, 200, `{"_page":1,"_links":{"next":{"href":"https://x.amocrm.ru/api/v4/contacts?page=2"}},"_embedded":{"contacts":[{"id":1},{"id":2}]}}`)
	})
	b := setup(t, mux)
	n := 0
	for _, err := range b.client.Contacts.ListIter(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("got %d contacts, want 2", n)
	}
}

func TestLenientLeadDecoding(t *testing.T) {
	t.Parallel()
	var env pageEnvelope[*Lead]
	env.Embedded.key = "leads"
	if err := unmarshalLenient(readTestdata(t, "leads_page1.json"), &env); err != nil {
		t.Fatal(err)
	}
	leads := env.Embedded.items
	if len(leads) != 2 {
		t.Fatalf("got %d leads", len(leads))
	}
	l := leads[1]
	if l.ID != 14460 || l.Price != 655 || l.CreatedAt != 1453279607 || l.ClosedAt != 0 {
		t.Errorf("lenient ints: %+v", l)
	}
	if got := l.UpdatedAt.Time(); !got.Equal(time.Date(2020, 5, 8, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("UpdatedAt = %v", got)
	}
	if leads[0].CustomFieldsValues != nil {
		t.Errorf("custom_fields_values null → %v", leads[0].CustomFieldsValues)
	}
	f, err := l.CustomFieldsValues.ByID(3).First().Float()
	if err != nil || f != 1500.5 {
		t.Errorf("numeric string: %v %v", f, err)
	}
	d, err := l.CustomFieldsValues.ByID(5).First().Time()
	if err != nil || !d.Equal(time.Date(2020, 5, 8, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date string: %v %v", d, err)
	}
	if !l.Embedded.Contacts[0].IsMain || l.Embedded.Tags[0].Name != "telegram" {
		t.Errorf("embedded: %+v", l.Embedded)
	}
}

func TestCustomFieldValuesAllTypes(t *testing.T) {
	t.Parallel()
	var c Contact
	if err := unmarshalLenient(readTestdata(t, "contact_fields.json"), &c); err != nil {
		t.Fatal(err)
	}
	seen := map[FieldType]bool{}
	for _, cv := range c.CustomFieldsValues {
		if cv.FieldType.Known() {
			seen[cv.FieldType] = true
			if cv.Raw != nil {
				t.Errorf("field %d (%s): unexpected Raw", cv.FieldID, cv.FieldType)
			}
		}
	}
	for _, ft := range FieldTypes() {
		if !seen[ft] {
			t.Errorf("type %s not covered by testdata", ft)
		}
	}
	if len(FieldTypes()) != 26 {
		t.Errorf("FieldTypes() has %d types", len(FieldTypes()))
	}
	vs := c.CustomFieldsValues
	check := func(name string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s: wrong value", name)
		}
	}
	check("text", vs.ByID(1).First().Text() == "hello")
	n, _ := vs.ByID(2).First().Int()
	check("numeric", n == 42)
	b, _ := vs.ByID(3).First().Bool()
	check("checkbox", b)
	check("select enum_id string", vs.ByID(4).First().EnumID == 101)
	check("multiselect", len(vs.ByID(5).Values) == 2 && vs.ByID(5).Values[1].EnumID == 202)
	check("phones", fmt.Sprint(c.Phones()) == "[+79990000000 +74950000000]")
	check("phone enum_code", vs.ByCode("phone").Values[0].EnumCode == EnumCodeMobile)
	dt, _ := vs.ByID(7).First().Time()
	check("date int", dt.Unix() == 1590943929)
	bd, _ := vs.ByID(13).First().Time()
	check("birthday string", bd.Equal(time.Date(1990, 1, 15, 0, 0, 0, 0, time.UTC)))
	dtt, _ := vs.ByID(15).First().Time()
	check("date_time string int", dtt.Unix() == 1590943929)
	var le LegalEntityValue
	check("legal_entity", vs.ByID(14).First().Decode(&le) == nil && le.Name == "ООО Ромашка" && le.KPP == "770001001")
	var it ItemValue
	check("items", vs.ByID(16).First().Decode(&it) == nil && it.Quantity == 2 && it.Discount.Value == 5)
	p, _ := vs.ByID(18).First().Float()
	check("price", p == 1999.99)
	var link LinkedEntityValue
	check("linked_entity", vs.ByID(20).First().Decode(&link) == nil && link.EntityID == 77)
	m, _ := vs.ByID(22).First().Float()
	check("monetary", m == 250.5)
	var cl ChainedListValue
	check("chained_list", vs.ByID(23).First().Decode(&cl) == nil && cl.CatalogElementID == 9)
	var fv FileValue
	check("file", vs.ByID(24).First().Decode(&fv) == nil && fv.FileSize == 1024)
	// Unknown types: raw fallback, never an error.
	u1 := vs.ByID(27)
	check("unknown type raw (object values)", u1 != nil && u1.Values == nil && string(u1.Raw) == `{"weird": [1, 2, 3]}`)
	u2 := vs.ByID(28)
	check("unknown type raw (array)", u2 != nil && len(u2.Raw) > 0 && len(u2.Values) == 1 && string(u2.Values[0].Extra["angle"]) == "90")
}

func TestCustomFieldValuesWrite(t *testing.T) {
	t.Parallel()
	l := Lead{Name: "x", CustomFieldsValues: CustomFieldsValues{
		SetField(1, TextValue("hi")),
		SetFieldCode(FieldCodePhone, MultitextValue("+7999", EnumCodeMobile)),
		SetField(3, BoolValue(false)),
		SetField(4, EnumValue(11), EnumValue(12)),
		SetField(5, DateValue(time.Unix(1700000000, 0))),
		SetField(6, NumberValue(12.5)),
		ClearField(7),
		SetField(8, AddressValue("city", "Москва")),
		SetField(9, ObjectValue(LinkedEntityValue{EntityID: 1, EntityType: "contacts"})),
	}}
	got, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"x","custom_fields_values":[` +
		`{"field_id":1,"values":[{"value":"hi"}]},` +
		`{"field_code":"PHONE","values":[{"enum_code":"MOB","value":"+7999"}]},` +
		`{"field_id":3,"values":[{"value":false}]},` +
		`{"field_id":4,"values":[{"enum_id":11},{"enum_id":12}]},` +
		`{"field_id":5,"values":[{"value":1700000000}]},` +
		`{"field_id":6,"values":[{"value":12.5}]},` +
		`{"field_id":7,"values":null},` +
		`{"field_id":8,"values":[{"enum_code":"city","value":"Москва"}]},` +
		`{"field_id":9,"values":[{"value":{"entity_id":1,"entity_type":"contacts"}}]}]}`
	if string(got) != want {
		t.Errorf("marshal:\n got %s\nwant %s", got, want)
	}
	if _, err := json.Marshal(CustomFieldValues{Values: []FieldValue{}}); err == nil {
		t.Error("value without field_id/field_code: want error")
	}
}

func TestCustomFieldsSchema(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/contacts/custom_fields", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("limit") != "50" {
			t.Errorf("limit = %q, want 50", r.URL.Query().Get("limit"))
		}
		writeJSON(w, 200, string(readTestdata(t, "custom_fields.json")))
	})
	b := setup(t, mux)
	fields, _, err := b.client.CustomFields.List(t.Context(), EntityContacts, &CustomFieldListOptions{ListOptions: ListOptions{Limit: 250}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) != 3 {
		t.Fatalf("got %d fields", len(fields))
	}
	phone := fields[0]
	if phone.Code != "PHONE" || phone.Type != FieldTypeMultitext || phone.EnumByValue("mob").ID != 3 || phone.Enums[1].Sort != 6 || phone.GroupID != "" {
		t.Errorf("phone: %+v", phone)
	}
	src := fields[1]
	if !src.IsRequired || !src.RequiredIn(1300, 142) || src.EnumByID(11).Value != "Telegram" || src.GroupID != "leads_1" {
		t.Errorf("select: %+v", src)
	}
	if fields[2].Type.Known() || string(fields[2].Settings) != `{"a": 1}` {
		t.Errorf("unknown type field: %+v", fields[2])
	}
	if _, _, err := b.client.CustomFields.List(t.Context(), "bogus", nil); err == nil {
		t.Error("bogus entity: want error")
	}
}

// oauthServer is an httptest amoCRM with a token endpoint that rotates pairs.
type oauthServer struct {
	t         *testing.T
	mu        sync.Mutex
	refreshes int
	valid     map[string]bool // access tokens accepted
	refreshOK map[string]bool // refresh tokens accepted (single-use)
	gen       int
	onRefresh func() // called inside the token endpoint
}

func newOAuthServer(t *testing.T) *oauthServer {
	return &oauthServer{t: t, valid: map[string]bool{}, refreshOK: map[string]bool{"refresh-0": true}}
}

func (s *oauthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/oauth2/access_token":
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		if s.onRefresh != nil {
			s.onRefresh()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.refreshes++
		if body["grant_type"] != "refresh_token" || body["client_secret"] != "client-secret-xyz" || !s.refreshOK[body["refresh_token"]] {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"hint":"Token has been revoked","title":"Некорректный запрос","type":"https://developers.amocrm.ru/v3/errors/OAuthProblemJson","status":401,"detail":"В запросе отсутствует ряд параметров или параметры невалидны: %s"}`, body["refresh_token"])
			return
		}
		delete(s.refreshOK, body["refresh_token"])
		s.gen++
		access := fmt.Sprintf("access-%d-secretpart", s.gen)
		refresh := fmt.Sprintf("refresh-%d", s.gen)
		s.valid[access] = true
		s.refreshOK[refresh] = true
		fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":86400,"access_token":%q,"refresh_token":%q}`, access, refresh)
	default:
		s.mu.Lock()
		ok := s.valid[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		s.mu.Unlock()
		if !ok {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"title":"Unauthorized","type":"https://httpstatus.es/401","status":401,"detail":"Неверный логин или пароль"}`))
			return
		}
		writeJSON(w, 200, `{"id":1,"name":"acc","subdomain":"example","amojo_id":"uuid-1","_embedded":{"users_groups":[{"id":0,"name":"Отдел продаж"}]}}`)
	}
}

func (s *oauthServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// orderedStore records Save calls and checks that a token is saved before use.
type orderedStore struct {
	MemoryTokenStore
	mu    sync.Mutex
	saved map[string]bool
	saves int
	fail  error
}

func (s *orderedStore) Save(ctx context.Context, t *Token) error {
	s.mu.Lock()
	s.saves++
	fail := s.fail
	if fail == nil {
		if s.saved == nil {
			s.saved = map[string]bool{}
		}
		s.saved[t.AccessToken] = true
	}
	s.mu.Unlock()
	if fail != nil {
		return fail
	}
	return s.MemoryTokenStore.Save(ctx, t)
}

func (s *orderedStore) wasSaved(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saved[tok]
}

var testOAuth = OAuthConfig{ClientID: "cid", ClientSecret: "client-secret-xyz", RedirectURL: "https://app.example/cb"}

func oauthSetup(t *testing.T, srv *oauthServer, store TokenStore) *testBundle {
	t.Helper()
	b := setup(t, srv)
	c, err := NewClient("example", WithBaseURL(b.srv.URL), WithLimiter(Unlimited()), WithSleeper(b.sleeps.sleep),
		WithOAuth(testOAuth, store))
	if err != nil {
		t.Fatal(err)
	}
	b.client = c
	return b
}

func TestRefreshSingleFlight100Goroutines(t *testing.T) {
	t.Parallel()
	srv := newOAuthServer(t)
	store := &orderedStore{}
	_ = store.MemoryTokenStore.Save(t.Context(), &Token{AccessToken: "expired-access", RefreshToken: "refresh-0", ExpiresAt: time.Now().Add(-time.Hour)})
	// Hold the token endpoint until every goroutine is waiting, so the test
	// proves coalescing rather than timing luck.
	var started sync.WaitGroup
	started.Add(100)
	release := make(chan struct{})
	srv.onRefresh = func() { <-release }
	b := oauthSetup(t, srv, store)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() {
			started.Done()
			_, _, err := b.client.Account.Get(t.Context(), nil)
			errs <- err
		})
	}
	started.Wait()
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.count(); n != 1 {
		t.Fatalf("refresh calls = %d, want exactly 1", n)
	}
	tok, _ := store.Load(t.Context())
	if tok.AccessToken != "access-1-secretpart" || tok.RefreshToken != "refresh-1" {
		t.Errorf("stored token = %v", tok)
	}
}

func TestRefreshSavedBeforeUse(t *testing.T) {
	t.Parallel()
	srv := newOAuthServer(t)
	store := &orderedStore{}
	_ = store.MemoryTokenStore.Save(t.Context(), &Token{AccessToken: "expired-access", RefreshToken: "refresh-0", ExpiresAt: time.Now().Add(-time.Hour)})
	mux := http.NewServeMux()
	mux.Handle("/oauth2/access_token", srv)
	mux.HandleFunc("/api/v4/account", func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !store.wasSaved(tok) {
			t.Errorf("token %q used before it was saved", tok)
		}
		srv.ServeHTTP(w, r)
	})
	b := setup(t, mux)
	c, err := NewClient("example", WithBaseURL(b.srv.URL), WithLimiter(Unlimited()), WithOAuth(testOAuth, store))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Account.Get(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	// The next refresh must use the rotated refresh token.
	tok, err := c.RefreshToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "refresh-2" || srv.count() != 2 {
		t.Errorf("second rotation: %v, refreshes %d", tok, srv.count())
	}

	// A failing store: amoCRM has spent refresh-2, so the refreshed pair is
	// used anyway (the call succeeds) and the failure is reported.
	store2 := &orderedStore{fail: errors.New("disk full")}
	_ = store2.MemoryTokenStore.Save(t.Context(), &Token{AccessToken: "old", RefreshToken: "refresh-2", ExpiresAt: time.Now().Add(-time.Hour)})
	b2 := setup(t, srv) // without the saved-before-use check above
	c2, _ := NewClient("example", WithBaseURL(b2.srv.URL), WithLimiter(Unlimited()), WithOAuth(testOAuth, store2))
	if _, _, err := c2.Account.Get(t.Context(), nil); err != nil {
		t.Fatalf("store failure: err = %v, want the call to succeed with the unsaved pair", err)
	}
	var ns *TokenNotSavedError
	if err := c2.TokenSaveErr(); !errors.As(err, &ns) || !strings.Contains(err.Error(), "disk full") || ns.Attempts != 1 {
		t.Fatalf("TokenSaveErr = %v", err)
	}
}

func TestUnauthorizedRefreshOnceThenTyped(t *testing.T) {
	t.Parallel()
	srv := newOAuthServer(t)
	var apiCalls atomic.Int32
	mux := http.NewServeMux()
	mux.Handle("/oauth2/access_token", srv)
	mux.HandleFunc("/api/v4/account", func(w http.ResponseWriter, r *http.Request) {
		apiCalls.Add(1)
		w.Header().Set("X-Request-Id", "req-401")
		writeJSON(w, 401, `{"title":"Unauthorized","type":"https://httpstatus.es/401","status":401,"detail":"Неверный логин или пароль"}`)
	})
	b := setup(t, mux)
	store := NewMemoryTokenStore(&Token{AccessToken: "valid-looking-access", RefreshToken: "refresh-0", ExpiresAt: time.Now().Add(time.Hour)})
	c, _ := NewClient("example", WithBaseURL(b.srv.URL), WithLimiter(Unlimited()), WithOAuth(testOAuth, store))
	_, _, err := c.Account.Get(t.Context(), nil)
	var ue *UnauthorizedError
	if !errors.As(err, &ue) || ue.APIError == nil || ue.RequestID != "req-401" {
		t.Fatalf("err = %v, want *UnauthorizedError with the 401", err)
	}
	if apiCalls.Load() != 2 || srv.count() != 1 {
		t.Errorf("api calls %d (want 2), refreshes %d (want 1)", apiCalls.Load(), srv.count())
	}
	if ue.Message("ru") == "" || ue.Message("en") == "" {
		t.Error("empty operator messages")
	}

	// Revoked refresh token: typed, InvalidGrant, secrets redacted.
	store2 := NewMemoryTokenStore(&Token{AccessToken: "a-expired", RefreshToken: "refresh-revoked-123456", ExpiresAt: time.Now().Add(-time.Hour)})
	c2, _ := NewClient("example", WithBaseURL(b.srv.URL), WithLimiter(Unlimited()), WithOAuth(testOAuth, store2))
	_, _, err = c2.Account.Get(t.Context(), nil)
	var re *RefreshError
	if !errors.As(err, &ue) || !errors.As(err, &re) || !re.InvalidGrant() {
		t.Fatalf("revoked: err = %v", err)
	}
	if strings.Contains(err.Error(), "refresh-revoked-123456") || strings.Contains(err.Error(), "client-secret-xyz") {
		t.Errorf("secret leaked in error: %v", err)
	}
	if !strings.Contains(ue.Message("ru"), "Переподключите") {
		t.Errorf("ru message: %s", ue.Message("ru"))
	}

	// Long-lived token: 401 is final, no refresh attempted.
	b3 := setup(t, mux)
	_, _, err = b3.client.Account.Get(t.Context(), nil)
	if !errors.As(err, &ue) || !strings.Contains(ue.Reason, "long-lived") {
		t.Fatalf("long-lived: %v", err)
	}
}

func TestSubdomainRecoveryViaAPIDomain(t *testing.T) {
	t.Parallel()
	var hosts sync.Map
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		hosts.Store(r.Host, true)
		switch {
		case r.Host == "old.amocrm.ru" && r.URL.Path == "/oauth2/access_token":
			writeJSON(w, 404, `<html>not found</html>`)
		case r.Host == "api-b.amocrm.ru" && r.URL.Path == "/oauth2/account/current/subdomain":
			if r.Header.Get("X-Refresh-Token") != "refresh-0" {
				t.Errorf("X-Refresh-Token = %q", r.Header.Get("X-Refresh-Token"))
			}
			writeJSON(w, 200, `{"id":1,"subdomain":"renamed","domain":"renamed.amocrm.ru"}`)
		case r.Host == "renamed.amocrm.ru" && r.URL.Path == "/oauth2/access_token":
			writeJSON(w, 200, `{"token_type":"Bearer","expires_in":86400,"access_token":"new-access-123","refresh_token":"new-refresh-123"}`)
		case r.Host == "renamed.amocrm.ru" && r.URL.Path == "/api/v4/account":
			writeJSON(w, 200, `{"id":1,"subdomain":"renamed"}`)
		default:
			t.Errorf("unexpected %s %s%s", r.Method, r.Host, r.URL.Path)
			w.WriteHeader(500)
		}
	})
	b := setup(t, mux)
	// Route every host to the test server, keep the Host header.
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r2 := r.Clone(r.Context())
		r2.URL.Scheme = "http"
		r2.URL.Host = strings.TrimPrefix(b.srv.URL, "http://")
		r2.Host = r.URL.Host
		return http.DefaultTransport.RoundTrip(r2)
	})}
	store := NewMemoryTokenStore(&Token{AccessToken: "x-expired", RefreshToken: "refresh-0", APIDomain: "api-b.amocrm.ru", ExpiresAt: time.Now().Add(-time.Hour)})
	c, err := NewClient("old", WithHTTPClient(hc), WithLimiter(Unlimited()), WithOAuth(testOAuth, store))
	if err != nil {
		t.Fatal(err)
	}
	acc, _, err := c.Account.Get(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Subdomain != "renamed" || c.Subdomain() != "renamed" {
		t.Errorf("subdomain = %q / %q", acc.Subdomain, c.Subdomain())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

const html429 = "<html><head><title>429 Too Many Requests</title></head><body><center><h1>429 Too Many Requests</h1></center><hr><center>nginx</center></body></html>"

func TestRateLimit429BackoffThenSuccess(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v4/leads", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !bytes.Contains(body, []byte(`"name":"a"`)) {
			t.Errorf("body on attempt %d: %s", n.Load(), body)
		}
		if n.Add(1) <= 2 {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(429)
			_, _ = w.Write([]byte(html429))
			return
		}
		writeJSON(w, 200, `{"_embedded":{"leads":[{"id":10,"request_id":"0"}]}}`)
	})
	var hooks []RequestInfo
	var hmu sync.Mutex
	b := setup(t, mux, WithRequestHook(func(ri RequestInfo) { hmu.Lock(); hooks = append(hooks, ri); hmu.Unlock() }))
	leads, resp, err := b.client.Leads.Create(t.Context(), []*Lead{{Name: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if leads[0].ID != 10 || resp.Retries != 2 {
		t.Errorf("leads %+v retries %d", leads[0], resp.Retries)
	}
	// Equal jitter at 0.5: base 1s → 0.75s, then 2s → 1.5s.
	if got := fmt.Sprint(b.sleeps.all()); got != "[750ms 1.5s]" {
		t.Errorf("sleeps = %s", got)
	}
	if len(hooks) != 3 || hooks[0].Status != 429 || hooks[2].Status != 200 || hooks[2].Retry != 2 || hooks[0].Path != "/api/v4/leads" {
		t.Errorf("hooks = %+v", hooks)
	}
}

func TestRepeated429OpensCircuit(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(429)
		_, _ = w.Write([]byte(html429))
	})
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	lim := &recordingLimiter{}
	b := setup(t, mux, WithClock(func() time.Time { return *clock.Load() }), WithLimiter(lim),
		WithBlockPolicy(BlockPolicy{Max429: 3, Cooldown429: time.Minute}), WithBackoff(Backoff{Retries: 5}))
	_, _, err := b.client.Leads.List(t.Context(), nil)
	var be *BlockedError
	if !errors.As(err, &be) || be.StatusCode != 429 || be.RetryAfter() != time.Minute {
		t.Fatalf("err = %v, want *BlockedError with 1m", err)
	}
	if n.Load() != 3 {
		t.Errorf("requests = %d, want 3", n.Load())
	}
	// No further requests while the circuit is open.
	for range 5 {
		if _, _, err := b.client.Contacts.List(t.Context(), nil); !errors.As(err, &be) {
			t.Fatalf("while open: %v", err)
		}
	}
	if n.Load() != 3 {
		t.Errorf("requests while open = %d, want 3", n.Load())
	}
	if lim.throttledMax() < time.Minute {
		t.Errorf("limiter not told about the block: %v", lim.throttledMax())
	}
	if !strings.Contains(be.Message("ru"), "429") || !strings.Contains(be.Message("en"), "429") {
		t.Errorf("messages: %q / %q", be.Message("ru"), be.Message("en"))
	}
	// After the cool-down the client probes again.
	later := now.Add(61 * time.Second)
	clock.Store(&later)
	_, _, _ = b.client.Contacts.List(t.Context(), nil)
	if n.Load() <= 3 {
		t.Error("no request after the cool-down")
	}
}

type recordingLimiter struct {
	mu  sync.Mutex
	max time.Duration
}

func (l *recordingLimiter) Wait(ctx context.Context) error { return ctx.Err() }
func (l *recordingLimiter) Throttled(_ context.Context, d time.Duration) error {
	l.mu.Lock()
	l.max = max(l.max, d)
	l.mu.Unlock()
	return nil
}
func (l *recordingLimiter) throttledMax() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.max
}

func TestRateLimitErrorWhenRetriesExhausted(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) })
	b := setup(t, mux, WithBackoff(Backoff{Retries: 1}), WithBlockPolicy(BlockPolicy{Max429: 10}))
	_, _, err := b.client.Leads.List(t.Context(), nil)
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter() <= 0 {
		t.Fatalf("err = %v", err)
	}
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(err, &ra) {
		t.Error("RateLimitError does not satisfy the RetryAfter interface")
	}
}

func TestForbiddenHTMLBlocks(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v4/leads", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(403)
		_, _ = w.Write([]byte("<html><head><title>403 Forbidden</title></head><body>nginx</body></html>"))
	})
	mux.HandleFunc("/api/v4/contacts", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 403, `{"title":"Forbidden","status":403,"detail":"Access denied"}`)
	})
	b := setup(t, mux)
	// JSON 403 (rights) is an ordinary APIError, no circuit.
	_, _, err := b.client.Contacts.List(t.Context(), nil)
	var be *BlockedError
	if errors.As(err, &be) || !IsStatus(err, 403) {
		t.Fatalf("JSON 403: %v", err)
	}
	_, _, err = b.client.Leads.List(t.Context(), nil)
	if !errors.As(err, &be) || be.StatusCode != 403 || be.RetryAfter() <= 0 {
		t.Fatalf("HTML 403: %v", err)
	}
	_, _, err = b.client.Contacts.List(t.Context(), nil)
	if !errors.As(err, &be) || n.Load() != 2 {
		t.Fatalf("after block: err=%v requests=%d", err, n.Load())
	}
	if !strings.Contains(be.Message("ru"), "поддержку") {
		t.Errorf("ru: %s", be.Message("ru"))
	}
}

func TestServerErrorsRetriedOnlyForReads(t *testing.T) {
	t.Parallel()
	var gets, posts atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/leads/1", func(w http.ResponseWriter, r *http.Request) {
		if gets.Add(1) < 3 {
			w.WriteHeader(502)
			return
		}
		writeJSON(w, 200, `{"id":1,"name":"ok"}`)
	})
	mux.HandleFunc("POST /api/v4/leads", func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(504)
	})
	b := setup(t, mux)
	l, _, err := b.client.Leads.Get(t.Context(), 1, nil)
	if err != nil || l.Name != "ok" || gets.Load() != 3 {
		t.Fatalf("GET: %v %v gets=%d", l, err, gets.Load())
	}
	_, _, err = b.client.Leads.Create(t.Context(), []*Lead{{Name: "x"}})
	var ou *OutcomeUnknownError
	if !errors.As(err, &ou) || !IsStatus(err, 504) || posts.Load() != 1 {
		t.Fatalf("POST: err=%v posts=%d", err, posts.Load())
	}
}

func TestTransportErrorOnWriteIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("no hijacker")
			return
		}
		conn, _, _ := hj.Hijack()
		_ = conn.Close() // drop the connection mid-request
	})
	b := setup(t, mux)
	_, _, err := b.client.Leads.CreateComplex(t.Context(), []*ComplexLead{{Lead: &Lead{Name: "x"}}})
	var ou *OutcomeUnknownError
	if !errors.As(err, &ou) || ou.Method != "POST" {
		t.Fatalf("err = %v", err)
	}
	if n.Load() != 1 {
		t.Errorf("write sent %d times, want 1", n.Load())
	}
	if ou.Message("ru") == "" {
		t.Error("no ru message")
	}
	n.Store(0)
	_, _, err = b.client.Leads.Get(t.Context(), 5, nil)
	// 1 + 3 client retries (net/http may add its own replays of an idempotent GET).
	if err == nil || n.Load() < 4 {
		t.Errorf("GET transport error: err=%v attempts=%d", err, n.Load())
	}
}

func TestComplexBatching120(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v4/leads/complex", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		var items []map[string]any
		if err := json.NewDecoder(r.Body).Decode(&items); err != nil {
			t.Error(err)
		}
		if len(items) > 50 {
			t.Errorf("chunk of %d", len(items))
		}
		// Answer in reverse order, merging the first two items of each chunk.
		var out []map[string]any
		for i := len(items) - 1; i >= 2; i-- {
			rid := items[i]["request_id"].(string)
			emb := items[i]["_embedded"].(map[string]any)
			if len(emb["contacts"].([]any)) != 1 {
				t.Errorf("item %s: contacts", rid)
			}
			out = append(out, map[string]any{"id": 1000 + atoi(rid), "contact_id": 2000 + atoi(rid), "company_id": nil, "request_id": []string{rid}, "merged": false})
		}
		out = append(out, map[string]any{"id": 9000 + atoi(items[0]["request_id"].(string)), "request_id": []string{items[0]["request_id"].(string), items[1]["request_id"].(string)}, "merged": true})
		w.Header().Set("Content-Type", "application/hal+json")
		_ = json.NewEncoder(w).Encode(out)
	})
	b := setup(t, mux)
	items := make([]*ComplexLead, 120)
	for i := range items {
		items[i] = &ComplexLead{
			Lead:    &Lead{Name: fmt.Sprintf("lead %d", i)},
			Contact: &Contact{Name: "c", CustomFieldsValues: CustomFieldsValues{SetFieldCode(FieldCodePhone, MultitextValue("+7999", EnumCodeMobile))}},
			Tags:    []Tag{{Name: "telegram"}},
		}
	}
	items[7].RequestID = "msg-7"
	res, err := b.client.Leads.CreateComplexBatch(t.Context(), items)
	if err != nil {
		t.Fatal(err)
	}
	if requests.Load() != 3 {
		t.Errorf("requests = %d, want 3", requests.Load())
	}
	for i, r := range res {
		if r == nil {
			t.Fatalf("result %d missing", i)
		}
	}
	if res[5].ID != 1005 || res[5].ContactID != 2005 {
		t.Errorf("res[5] = %+v", res[5])
	}
	if res[50].ID != 9050 || res[51] != res[50] || !res[51].Merged {
		t.Errorf("merged: %+v %+v", res[50], res[51])
	}
	if items[0].RequestID != "" {
		t.Error("caller's item was modified")
	}
	if res[7].ID == 0 {
		t.Errorf("custom request id not mapped: %+v", res[7])
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c >= '0' && c <= '9' {
			n = n*10 + int(c-'0')
		}
	}
	return n
}

func TestComplexValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, http.NotFoundHandler())
	many := make(CustomFieldsValues, 41)
	for i := range many {
		many[i] = SetField(i+1, TextValue("x"))
	}
	tests := []struct {
		name  string
		items []*ComplexLead
		index int
	}{
		{"nil lead", []*ComplexLead{{}}, 0},
		{"41 lead values", []*ComplexLead{{Lead: &Lead{}}, {Lead: &Lead{CustomFieldsValues: many}}}, 1},
		{"41 contact values", []*ComplexLead{{Lead: &Lead{}, Contact: &Contact{CustomFieldsValues: many}}}, 0},
		{"duplicate request id", []*ComplexLead{{Lead: &Lead{}, RequestID: "a"}, {Lead: &Lead{}, RequestID: "a"}}, 1},
	}
	for _, tt := range tests {
		_, err := b.client.Leads.CreateComplexBatch(t.Context(), tt.items)
		var ie *InvalidRequestError
		if !errors.As(err, &ie) || ie.Index != tt.index {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
	big := make([]*ComplexLead, 51)
	for i := range big {
		big[i] = &ComplexLead{Lead: &Lead{}}
	}
	if _, _, err := b.client.Leads.CreateComplex(t.Context(), big); err == nil {
		t.Error("51 leads in one request: want error")
	}
}

func TestComplexLeadJSON(t *testing.T) {
	t.Parallel()
	cl := ComplexLead{
		Lead:      &Lead{Name: "L", Price: 10, Embedded: &LeadEmbedded{Tags: []Tag{{Name: "ignored"}}}},
		Contact:   &Contact{FirstName: "Иван"},
		Company:   &Company{Name: "ООО"},
		Tags:      []Tag{{ID: 5}},
		Metadata:  &UnsortedMetadata{Category: "forms", FormID: "f1"},
		RequestID: "r1",
	}
	got, err := json.Marshal(cl)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"L","price":10,"request_id":"r1","_embedded":{"contacts":[{"first_name":"Иван"}],"companies":[{"name":"ООО"}],"tags":[{"id":5}],"metadata":{"category":"forms","form_id":"f1"}}}`
	if string(got) != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

func TestValidationErrorDecoding(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v4/leads", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("X-Request-Id", "abc123")
		w.WriteHeader(400)
		_, _ = w.Write(readTestdata(t, "validation_error.json"))
	})
	b := setup(t, mux)
	_, _, err := b.client.Leads.Create(t.Context(), []*Lead{{Name: "a"}})
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v", err)
	}
	if ae.StatusCode != 400 || ae.RequestID != "abc123" || ae.Title != "Bad Request" || ae.Detail != "Request validation failed" || len(ae.ValidationErrors) != 2 {
		t.Fatalf("ae = %+v", ae)
	}
	fe := ae.ValidationErrorsFor("0")
	if len(fe) != 1 || fe[0].Code != "NotSupportedChoice" || fe[0].Path != "custom_fields_values.0.field_id" {
		t.Errorf("fe = %+v", fe)
	}
	if !strings.Contains(err.Error(), "NotSupportedChoice") || !strings.Contains(err.Error(), "abc123") {
		t.Errorf("Error() = %s", err)
	}
	if !strings.Contains(ae.Message("ru"), "сопоставление") {
		t.Errorf("ru = %s", ae.Message("ru"))
	}
}

func TestErrorKinds(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v4/leads/404", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 404, `{"title":"Not Found","status":404}`) })
	mux.HandleFunc("/api/v4/leads/204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	mux.HandleFunc("/api/v4/leads/402", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 402, `{"title":"Payment Required","status":402}`)
	})
	mux.HandleFunc("/api/v4/leads/big", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(418)
		_, _ = w.Write(bytes.Repeat([]byte("x"), 3<<20))
	})
	b := setup(t, mux)
	ctx := t.Context()
	_, err := b.client.Do(ctx, "GET", "/api/v4/leads/404", nil, nil, nil)
	if !IsNotFound(err) {
		t.Errorf("404: %v", err)
	}
	if _, _, err := b.client.Leads.Get(ctx, 204, nil); !IsNotFound(err) {
		t.Errorf("204 on get: %v", err)
	}
	_, err = b.client.Do(ctx, "GET", "/api/v4/leads/402", nil, nil, nil)
	var pe *PaymentRequiredError
	var ae *APIError
	if !errors.As(err, &pe) || !errors.As(err, &ae) || pe.Message("ru") == "" {
		t.Errorf("402: %v", err)
	}
	_, err = b.client.Do(ctx, "GET", "/api/v4/leads/big", nil, nil, nil)
	if !errors.As(err, &ae) || len(ae.Body) > 1024 {
		t.Errorf("big body: %v", err)
	}
}

func TestRedaction(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// A misbehaving server echoing the credentials back.
		writeJSON(w, 400, fmt.Sprintf(`{"title":"Bad","detail":"got header %s and token %s","status":400}`,
			r.Header.Get("Authorization"), testToken))
	})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b := setup(t, mux, WithLogger(logger))
	_, _, err := b.client.Leads.List(t.Context(), nil)
	if err == nil {
		t.Fatal("want error")
	}
	var ae *APIError
	errors.As(err, &ae)
	for name, s := range map[string]string{"Error()": err.Error(), "Body": ae.Body, "logs": logs.String()} {
		if strings.Contains(s, testToken) {
			t.Errorf("%s leaks the token: %s", name, s)
		}
	}
	tok := Token{AccessToken: "aaa-secret-access", RefreshToken: "rrr-secret-refresh"}
	logs.Reset()
	logger.Info("tok", "token", tok)
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%#v", tok), fmt.Sprintf("%+v", tok), logs.String()} {
		if strings.Contains(s, "secret") {
			t.Errorf("token leaked: %s", s)
		}
	}
	if got := redactBearer("Authorization: Bearer eyJhbGciOi.payload.sig"); strings.Contains(got, "eyJ") {
		t.Errorf("redactBearer: %s", got)
	}
}

func TestAuthorizationURL(t *testing.T) {
	t.Parallel()
	got := testOAuth.AuthorizationURL("st&ate", "")
	want := "https://www.amocrm.ru/oauth?client_id=cid&mode=post_message&state=st%26ate"
	if got != want {
		t.Errorf("got %s", got)
	}
	k := OAuthConfig{ClientID: "c", AuthURL: AuthURLKommo}.AuthorizationURL("s", AuthModePopup)
	if !strings.HasPrefix(k, "https://www.kommo.com/oauth?") || !strings.Contains(k, "mode=popup") {
		t.Errorf("kommo: %s", k)
	}
}

func TestExchangeCode(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/access_token", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body["grant_type"] != "authorization_code" || body["code"] != "the-code-123" || body["redirect_uri"] != testOAuth.RedirectURL {
			t.Errorf("body = %v", body)
		}
		// A JWT whose payload carries api_domain.
		payload := "eyJhcGlfZG9tYWluIjoiYXBpLWIuYW1vY3JtLnJ1In0" // {"api_domain":"api-b.amocrm.ru"}
		writeJSON(w, 200, `{"token_type":"Bearer","expires_in":86400,"access_token":"h.`+payload+`.s","refresh_token":"r1"}`)
	})
	b := setup(t, mux)
	store := NewMemoryTokenStore(nil)
	c, _ := NewClient("x", WithBaseURL(b.srv.URL), WithLimiter(Unlimited()), WithOAuth(testOAuth, store),
		WithClock(func() time.Time { return time.Unix(1000, 0) }))
	tok, err := c.ExchangeCode(t.Context(), "the-code-123")
	if err != nil {
		t.Fatal(err)
	}
	saved, _ := store.Load(t.Context())
	if saved.RefreshToken != "r1" || saved.APIDomain != "api-b.amocrm.ru" || !saved.ExpiresAt.Equal(time.Unix(1000+86400, 0)) || tok.AccessToken != saved.AccessToken {
		t.Errorf("saved = %#v", *saved)
	}
}

func TestNoTokenStored(t *testing.T) {
	t.Parallel()
	b := setup(t, http.NotFoundHandler())
	c, _ := NewClient("x", WithBaseURL(b.srv.URL), WithOAuth(testOAuth, NewMemoryTokenStore(nil)))
	_, _, err := c.Account.Get(t.Context(), nil)
	var ue *UnauthorizedError
	if !errors.As(err, &ue) || !errors.Is(err, ErrNoToken) {
		t.Errorf("err = %v", err)
	}
}

func TestContextCancelledDuringBackoff(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) })
	b := setup(t, mux)
	ctx, cancel := context.WithCancel(t.Context())
	c, _ := NewClient("x", WithBaseURL(b.srv.URL), WithLimiter(Unlimited()), WithSleeper(func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}))
	_, _, err := c.Leads.List(ctx, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestFiltersEncoding(t *testing.T) {
	t.Parallel()
	o := &LeadListOptions{
		Filter: &LeadFilter{
			EntityFilter: EntityFilter{IDs: []int{1, 2}, CreatedAt: &TimeRange{From: time.Unix(100, 0)}},
			Statuses:     []StatusFilter{{PipelineID: 10, StatusID: 142}},
			Price:        &Range{To: 500},
		},
		Order:           &Order{Field: "created_at", Desc: true},
		IfModifiedSince: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	q, h := o.values()
	want := "filter%5Bcreated_at%5D%5Bfrom%5D=100&filter%5Bid%5D%5B%5D=1&filter%5Bid%5D%5B%5D=2&filter%5Bprice%5D%5Bto%5D=500&filter%5Bstatuses%5D%5B0%5D%5Bpipeline_id%5D=10&filter%5Bstatuses%5D%5B0%5D%5Bstatus_id%5D=142&order%5Bcreated_at%5D=desc"
	if q.Encode() != want {
		t.Errorf("query:\n got %s\nwant %s", q.Encode(), want)
	}
	if h.Get("If-Modified-Since") != "Fri, 02 Jan 2026 03:04:05 GMT" {
		t.Errorf("header = %v", h)
	}
}

func TestDefaultLimiterThrottled(t *testing.T) {
	t.Parallel()
	l := NewLimiter(1000, 1).(*rateLimiter)
	now := time.Unix(0, 0)
	l.now = func() time.Time { return now }
	_ = l.Throttled(t.Context(), time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait during pause = %v, want context.Canceled", err)
	}
	now = now.Add(2 * time.Hour)
	if err := l.Wait(t.Context()); err != nil {
		t.Errorf("Wait after pause: %v", err)
	}
}

func TestOtherServices(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/account", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("with") != "amojo_id,users_groups" {
			t.Errorf("with = %q", r.URL.Query().Get("with"))
		}
		writeJSON(w, 200, `{"id":1,"name":"A","subdomain":"example","amojo_id":"f3c6","_embedded":{"users_groups":[{"id":0,"name":"Отдел продаж","uuid":null}],"task_types":[{"id":1,"name":"Связаться"}]}}`)
	})
	mux.HandleFunc("GET /api/v4/users", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"_page":1,"_embedded":{"users":[{"id":5,"name":"U","email":"u@x","rights":{"leads":{"view":"A","edit":"G","add":"A","delete":"D","export":"M"},"status_rights":[{"entity_type":"leads","pipeline_id":1,"status_id":2,"rights":{"view":"A"}}],"is_admin":true,"is_free":false,"is_active":true,"group_id":null}}]}}`)
	})
	mux.HandleFunc("GET /api/v4/leads/pipelines", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"_total_items":1,"_embedded":{"pipelines":[{"id":1300,"name":"Воронка","is_main":true,"_embedded":{"statuses":[{"id":142,"name":"Успешно","type":0,"pipeline_id":1300}]}}]}}`)
	})
	mux.HandleFunc("POST /api/v4/leads/notes", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !bytes.Contains(body, []byte(`"params":{"text":"hi"}`)) {
			t.Errorf("note body %s", body)
		}
		writeJSON(w, 200, `{"_embedded":{"notes":[{"id":9,"entity_id":1,"request_id":"0"}]}}`)
	})
	mux.HandleFunc("POST /api/v4/leads/unsorted/forms", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"_total_items":1,"_embedded":{"unsorted":[{"uid":"u-1","request_id":"0","_embedded":{"leads":[{"id":77}],"contacts":[{"id":78}]}}]}}`)
	})
	mux.HandleFunc("POST /api/v4/leads/unsorted/u-1/accept", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"uid":"u-1","accepted_at":1600000000,"_embedded":{"leads":[{"id":77}]}}`)
	})
	mux.HandleFunc("DELETE /api/v4/leads/unsorted/u-2/decline", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"uid":"u-2","declined_at":1600000000}`)
	})
	mux.HandleFunc("POST /api/v4/webhooks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":3,"destination":"https://x/hook","settings":["add_lead"],"disabled":false}`)
	})
	mux.HandleFunc("GET /api/v4/webhooks", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("filter[destination]") != "https://x/hook" {
			t.Errorf("filter = %q", r.URL.RawQuery)
		}
		writeJSON(w, 200, `{"_total_items":1,"_embedded":{"webhooks":[{"id":3,"destination":"https://x/hook","settings":["add_lead"]}]}}`)
	})
	mux.HandleFunc("DELETE /api/v4/webhooks", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) != `{"destination":"https://x/hook"}` {
			t.Errorf("unsubscribe body %s", body)
		}
		w.WriteHeader(204)
	})
	mux.HandleFunc("POST /api/v4/leads/link", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"_embedded":{"links":[{"entity_id":1,"entity_type":"leads","to_entity_id":2,"to_entity_type":"contacts","metadata":{"main_contact":true}}]}}`)
	})
	mux.HandleFunc("GET /api/v4/contacts/tags", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"_embedded":{"tags":[{"id":1,"name":"vip","color":null}]}}`)
	})
	mux.HandleFunc("POST /api/v4/tasks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"_embedded":{"tasks":[{"id":4,"request_id":"0"}]}}`)
	})
	b := setup(t, mux)
	ctx := t.Context()
	acc, _, err := b.client.Account.Get(ctx, &GetOptions{With: []string{AccountWithAmojoID, AccountWithUsersGroups}})
	if err != nil || acc.AmojoID != "f3c6" || acc.Embedded.UsersGroups[0].Name != "Отдел продаж" {
		t.Fatalf("account: %+v %v", acc, err)
	}
	users, _, err := b.client.Users.List(ctx, nil)
	if err != nil || !users[0].Rights.IsAdmin || users[0].Rights.Leads.Delete != "D" || users[0].Rights.StatusRights[0].StatusID != 2 {
		t.Fatalf("users: %v", err)
	}
	ps, _, err := b.client.Pipelines.List(ctx)
	if err != nil || ps[0].Statuses()[0].ID != StatusWon {
		t.Fatalf("pipelines: %v", err)
	}
	notes, _, err := b.client.Notes.Create(ctx, EntityLeads, []*Note{{EntityID: 1, NoteType: NoteCommon, Params: NoteParams{Text: "hi"}}})
	if err != nil || notes[0].ID != 9 {
		t.Fatalf("notes: %v", err)
	}
	un, _, err := b.client.Unsorted.CreateForms(ctx, []*Unsorted{{SourceUID: "s", SourceName: "site",
		Metadata: &UnsortedMetadata{FormID: "f"}, Embedded: &UnsortedEmbedded{Leads: []*Lead{{Name: "x"}}}}})
	if err != nil || un[0].UID != "u-1" || un[0].Embedded.Leads[0].ID != 77 {
		t.Fatalf("unsorted: %v", err)
	}
	ar, _, err := b.client.Unsorted.Accept(ctx, "u-1", &UnsortedActionOptions{StatusID: 5})
	if err != nil || ar.AcceptedAt == 0 {
		t.Fatalf("accept: %v", err)
	}
	if _, _, err := b.client.Unsorted.Decline(ctx, "u-2", nil); err != nil {
		t.Fatalf("decline: %v", err)
	}
	wh, _, err := b.client.Webhooks.Subscribe(ctx, "https://x/hook", []string{"add_lead"})
	if err != nil || wh.ID != 3 {
		t.Fatalf("subscribe: %v", err)
	}
	whs, _, err := b.client.Webhooks.List(ctx, &WebhookListOptions{Destination: "https://x/hook"})
	if err != nil || len(whs) != 1 {
		t.Fatalf("webhooks: %v", err)
	}
	if _, err := b.client.Webhooks.Unsubscribe(ctx, "https://x/hook"); err != nil {
		t.Fatalf("unsubscribe: %v", err)
	}
	links, _, err := b.client.Links.Link(ctx, EntityLeads, []*EntityLink{{EntityID: 1, ToEntityID: 2, ToEntityType: EntityContacts}})
	if err != nil || !links[0].Metadata.MainContact {
		t.Fatalf("links: %v", err)
	}
	tags, _, err := b.client.Tags.List(ctx, EntityContacts, nil)
	if err != nil || tags[0].Name != "vip" {
		t.Fatalf("tags: %v", err)
	}
	if _, _, err := b.client.Tasks.Create(ctx, []*Task{{Text: "call", CompleteTill: 1}}); err != nil {
		t.Fatalf("tasks: %v", err)
	}
}

func TestCreateChunksTo50(t *testing.T) {
	t.Parallel()
	var sizes []int
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v4/contacts", func(w http.ResponseWriter, r *http.Request) {
		var items []Contact
		_ = json.NewDecoder(r.Body).Decode(&items)
		mu.Lock()
		sizes = append(sizes, len(items))
		fail := len(sizes) == 3
		mu.Unlock()
		if fail {
			writeJSON(w, 400, `{"title":"Bad Request","status":400}`)
			return
		}
		var sb strings.Builder
		for i, it := range items {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"id":%d,"request_id":%q}`, i+1, it.RequestID)
		}
		writeJSON(w, 200, `{"_embedded":{"contacts":[`+sb.String()+`]}}`)
	})
	b := setup(t, mux)
	in := make([]*Contact, 120)
	for i := range in {
		in[i] = &Contact{Name: "c", RequestID: fmt.Sprint(i)}
	}
	out, _, err := b.client.Contacts.Create(t.Context(), in)
	var be *BatchError
	if !errors.As(err, &be) || be.Done != 100 || len(out) != 100 || !IsStatus(err, 400) {
		t.Fatalf("err=%v out=%d", err, len(out))
	}
	if fmt.Sprint(sizes) != "[50 50 20]" {
		t.Errorf("chunk sizes = %v", sizes)
	}
}

// gateLimiter holds every Wait until open is closed, except calls whose
// context carries passKey; entered receives a value when a held Wait starts.
type gateLimiter struct {
	open    chan struct{}
	entered chan struct{}
}

type passKey struct{}

func (l *gateLimiter) Wait(ctx context.Context) error {
	if ctx.Value(passKey{}) != nil {
		return nil
	}
	l.entered <- struct{}{}
	select {
	case <-l.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *gateLimiter) Throttled(context.Context, time.Duration) error { return nil }

// A request that waited for its slot while another one met a 403 block is
// not sent: the circuit is checked again after Wait.
func TestCircuitCheckedAfterWait(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("<html><head><title>403 Forbidden</title></head><body>nginx</body></html>"))
	})
	lim := &gateLimiter{open: make(chan struct{}), entered: make(chan struct{}, 1)}
	b := setup(t, mux, WithLimiter(lim))
	errs := make(chan error, 1)
	go func() {
		_, _, err := b.client.Contacts.List(t.Context(), nil)
		errs <- err
	}()
	<-lim.entered // the second request waits for its slot, the circuit closed
	pass := context.WithValue(t.Context(), passKey{}, true)
	if _, _, err := b.client.Leads.List(pass, nil); !errors.As(err, new(*BlockedError)) {
		t.Fatalf("first request: %v", err)
	}
	close(lim.open)
	if err := <-errs; !errors.As(err, new(*BlockedError)) {
		t.Fatalf("request that waited through the block: %v", err)
	}
	if n.Load() != 1 {
		t.Errorf("server saw %d requests, want 1", n.Load())
	}
}
