package amocrmtest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

var epoch = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// bundle is a running fake with a manual clock and an admin token.
type bundle struct {
	t     *testing.T
	srv   *amocrmtest.Server
	clock *amocrmtest.ManualClock
	token string
}

// setup starts a demo server; the rate limit is off unless opts turn it on.
func setup(t *testing.T, opts ...amocrmtest.Option) *bundle {
	t.Helper()
	clock := amocrmtest.NewManualClock(epoch)
	all := append([]amocrmtest.Option{
		amocrmtest.WithClock(clock.Now),
		amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: -1}),
		amocrmtest.WithSeed(amocrmtest.DemoAccount),
	}, opts...)
	srv := amocrmtest.NewServer(t, all...)
	return &bundle{t: t, srv: srv, clock: clock, token: srv.AccessToken()}
}

// resp is a decoded response.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func (r resp) array(t *testing.T) []any {
	t.Helper()
	var a []any
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("body is not a JSON array: %v\n%s", err, r.body)
	}
	return a
}

// do sends a request with the bundle's token; body is JSON-encoded unless it is
// a string.
func (b *bundle) do(method, path string, body any) resp {
	b.t.Helper()
	return b.doToken(b.token, method, path, body)
}

func (b *bundle) doToken(token, method, path string, body any) resp {
	b.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		buf, err := json.Marshal(v)
		if err != nil {
			b.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(b.t.Context(), method, b.srv.URL+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := b.srv.HTTPClient().Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: data}
}

func (b *bundle) must(status int, method, path string, body any) resp {
	b.t.Helper()
	r := b.do(method, path, body)
	if r.status != status {
		b.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, r.status, status, r.body)
	}
	return r
}

// get walks a decoded JSON value by object keys and array indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

type vErr struct {
	RequestID, Code, Path, Detail string
}

// validationErrors decodes a 400 problem+json body into a flat list.
func validationErrors(t *testing.T, r resp) []vErr {
	t.Helper()
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400\n%s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p struct {
		ValidationErrors []struct {
			RequestID string `json:"request_id"`
			Errors    []struct {
				Code, Path, Detail string
			} `json:"errors"`
		} `json:"validation-errors"`
		Title, Type, Detail string
		Status              int
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Title != "Bad Request" || p.Status != 400 || p.Type != "https://httpstatus.es/400" || p.Detail != "Request validation failed" {
		t.Fatalf("problem header = %+v", p)
	}
	var out []vErr
	for _, g := range p.ValidationErrors {
		for _, e := range g.Errors {
			out = append(out, vErr{g.RequestID, e.Code, e.Path, e.Detail})
		}
	}
	return out
}

func hasErr(errs []vErr, reqID, code, path string) bool {
	for _, e := range errs {
		if e.RequestID == reqID && e.Code == code && e.Path == path {
			return true
		}
	}
	return false
}
