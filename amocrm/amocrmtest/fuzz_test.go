package amocrmtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSplitKey(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"limit":                            {"limit"},
		"filter[id][]":                     {"filter", "id", ""},
		"filter[statuses][0][pipeline_id]": {"filter", "statuses", "0", "pipeline_id"},
		"filter[id":                        {"filter[id"},
		"filter[id]x":                      {"filter[id]x"},
		"[id]":                             {"[id]"},
		"a[b[c]]":                          {"a[b[c]]"},
	}
	for in, want := range tests {
		if got := splitKey(in); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("splitKey(%q) = %q, want %q", in, got, want)
		}
	}
	q := parseQuery("filter[id][]=1&filter[id][]=2&filter[id][5]=3&with=contacts,leads&filter[price][from]=10")
	if got := ints(q.path("filter", "id")); len(got) != 3 {
		t.Errorf("ids = %v", got)
	}
	if from, to, ok := intRange(q.path("filter", "price")); !ok || from != 10 || to != 1<<63-1 {
		t.Errorf("price range = %d %d %v", from, to, ok)
	}
	if w := withSet(q); !w["contacts"] || !w["leads"] {
		t.Errorf("with = %v", w)
	}
}

// FuzzParseQuery checks that any query string parses, that well-formed bracket
// keys round-trip, and that the list filter never panics on it.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"filter[statuses][0][pipeline_id]=1&filter[statuses][0][status_id]=2",
		"filter[id][]=1&filter[id][]=2&order[id]=desc&limit=250&page=2",
		"query=%2B7%20912&with=contacts",
		"filter[price][from]=10&filter[price][to]=x",
		"filter[custom_fields_values][700001][]=a",
		"a[b[c]]=1&[x]=2&filter[=3&%zz=4",
	} {
		f.Add(s)
	}
	srv := New(WithSeed(DemoAccount))
	f.Fuzz(func(t *testing.T, raw string) {
		q := parseQuery(raw)
		_ = q.all()
		for k := range q.kids {
			if parts := splitKey(k); len(parts) > 1 && joinKey(parts) != k {
				t.Fatalf("round trip %q -> %q", k, joinKey(parts))
			}
		}
		srv.mu.Lock()
		defer srv.mu.Unlock()
		for _, kind := range []string{EntityLeads, EntityContacts, EntityCompanies} {
			_ = srv.filterRecords(kind, q, false)
		}
	})
}

// FuzzComplexBody posts arbitrary bodies to /api/v4/leads/complex: the server
// must answer 200 with a JSON array or 400 with problem+json, never panic or
// answer 5xx.
func FuzzComplexBody(f *testing.F) {
	for _, s := range []string{
		`[{"name":"a","_embedded":{"contacts":[{"first_name":"b","custom_fields_values":[{"field_code":"PHONE","values":[{"value":"+79161234567"}]}]}],"companies":[{"name":"c"}]}}]`,
		`[{"price":"1","custom_fields_values":[{"field_id":700003,"values":[{"enum_id":1}]}]}]`,
		`[{"custom_fields_values":[{"field_id":700004,"values":[{"value":{}}]}],"_embedded":{"tags":[{"name":""},{"id":"x"}]}}]`,
		`[{"_embedded":{"metadata":{"category":"forms"},"contacts":[{"id":30000001}]}}]`,
		`{}`, `[]`, `[1,"x",null]`, `[{"status_id":90000004}]`, `[{`,
		`[{"custom_fields_values":[{"field_id":700006,"values":[{"value":"2026-01-02"}]},{"field_id":700007,"values":null}]}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		srv := New(WithSeed(DemoAccount), WithClock(func() time.Time { return time.Unix(1772445600, 0) }),
			WithRateLimit(RateLimit{PerSecond: -1}))
		tok := srv.AccessToken()
		for _, path := range []string{"/api/v4/leads/complex", "/api/v4/leads", "/api/v4/contacts"} {
			req := httptest.NewRequest("POST", path, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusOK:
				if !json.Valid(rec.Body.Bytes()) {
					t.Fatalf("%s: invalid JSON answer %q", path, rec.Body)
				}
			case http.StatusBadRequest:
				if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("%s: 400 with Content-Type %q", path, ct)
				}
			default:
				t.Fatalf("%s: status %d for %q: %s", path, rec.Code, body, rec.Body)
			}
		}
	})
}
