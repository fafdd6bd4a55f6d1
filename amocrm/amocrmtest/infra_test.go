package amocrmtest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

// tokenRequest posts to the token endpoint, as JSON or as a form.
func (b *bundle) tokenRequest(asForm bool, params map[string]string) resp {
	b.t.Helper()
	if !asForm {
		return b.doToken("", "POST", "/oauth2/access_token", params)
	}
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	req, _ := http.NewRequestWithContext(b.t.Context(), "POST", b.srv.URL+"/oauth2/access_token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.srv.HTTPClient().Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: data}
}

func TestOAuth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := b.srv.Integration()
	params := func(grant, key, value string) map[string]string {
		return map[string]string{"client_id": in.ClientID, "client_secret": in.ClientSecret,
			"grant_type": grant, key: value, "redirect_uri": in.RedirectURI}
	}
	code := b.srv.IssueAuthCode()
	r := b.tokenRequest(false, params("authorization_code", "code", code))
	if r.status != 200 {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}
	tok := r.json(t)
	if tok["token_type"] != "Bearer" || num(tok["expires_in"]) != 86400 || num(tok["server_time"]) != epoch.Unix() {
		t.Errorf("token = %v", tok)
	}
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
	// The access token is a JWT carrying api_domain.
	parts := strings.Split(access, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a JWT: %q", access)
	}
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	_ = json.Unmarshal(claims, &c)
	if c["api_domain"] != strings.TrimPrefix(b.srv.URL, "http://") || num(c["exp"]) != epoch.Add(24*time.Hour).Unix() {
		t.Errorf("claims = %v", c)
	}
	if r := b.doToken(access, "GET", "/api/v4/account", nil); r.status != 200 {
		t.Fatalf("api with new token: %d", r.status)
	}

	// Codes are single use.
	if r := b.tokenRequest(false, params("authorization_code", "code", code)); r.status != 400 {
		t.Errorf("code reuse: %d %s", r.status, r.body)
	}

	// Refresh (form-encoded) rotates; the old refresh token is then revoked.
	b.clock.Advance(time.Hour)
	r = b.tokenRequest(true, params("refresh_token", "refresh_token", refresh))
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	tok2 := r.json(t)
	access2, refresh2 := tok2["access_token"].(string), tok2["refresh_token"].(string)
	if refresh2 == refresh || access2 == access {
		t.Fatal("refresh did not rotate the tokens")
	}
	r = b.tokenRequest(false, params("refresh_token", "refresh_token", refresh))
	if r.status != 401 || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("reused refresh token: %d %s", r.status, r.body)
	}
	if m := r.json(t); m["hint"] != "Token has been revoked" || m["type"] != "https://developers.amocrm.ru/v3/errors/OAuthProblemJson" {
		t.Errorf("reuse body = %v", m)
	}

	// Access tokens expire after 24h by the server clock.
	b.clock.Advance(22*time.Hour + 59*time.Minute) // epoch+23h59m
	if r := b.doToken(access, "GET", "/api/v4/account", nil); r.status != 200 {
		t.Errorf("first token just before expiry: %d", r.status)
	}
	b.clock.Advance(time.Minute)
	if r := b.doToken(access, "GET", "/api/v4/account", nil); r.status != 401 {
		t.Errorf("expired token: %d", r.status)
	}
	if r := b.doToken(access2, "GET", "/api/v4/account", nil); r.status != 200 {
		t.Errorf("refreshed token: %d", r.status)
	}
	// The rotated refresh token still works once.
	if r := b.tokenRequest(false, params("refresh_token", "refresh_token", refresh2)); r.status != 200 {
		t.Errorf("second refresh: %d %s", r.status, r.body)
	}

	t.Run("bad requests", func(t *testing.T) {
		p := params("authorization_code", "code", b.srv.IssueAuthCode())
		p["client_secret"] = "wrong"
		if r := b.tokenRequest(false, p); r.status != 401 {
			t.Errorf("wrong secret: %d", r.status)
		}
		p = params("authorization_code", "code", b.srv.IssueAuthCode())
		p["redirect_uri"] += "/"
		if r := b.tokenRequest(false, p); r.status != 400 {
			t.Errorf("redirect_uri with trailing slash: %d", r.status)
		}
		code := b.srv.IssueAuthCode()
		b.clock.Advance(amocrmtest.AuthCodeTTL)
		if r := b.tokenRequest(false, params("authorization_code", "code", code)); r.status != 400 {
			t.Errorf("expired code: %d", r.status)
		}
		if r := b.tokenRequest(false, params("password", "code", "x")); r.status != 400 {
			t.Errorf("unsupported grant: %d", r.status)
		}
	})

	t.Run("long-lived and revoked tokens", func(t *testing.T) {
		ll := b.srv.LongLivedToken(30 * 24 * time.Hour)
		b.clock.Advance(29 * 24 * time.Hour)
		if r := b.doToken(ll, "GET", "/api/v4/account", nil); r.status != 200 {
			t.Errorf("long-lived after 29 days: %d", r.status)
		}
		b.clock.Advance(24 * time.Hour)
		if r := b.doToken(ll, "GET", "/api/v4/account", nil); r.status != 401 {
			t.Errorf("long-lived after 30 days: %d", r.status)
		}
		tok := b.srv.AccessToken()
		b.srv.RevokeToken(tok)
		if r := b.doToken(tok, "GET", "/api/v4/account", nil); r.status != 401 {
			t.Errorf("revoked: %d", r.status)
		}
	})
}

func TestRateLimitThenBlock(t *testing.T) {
	t.Parallel()
	b := setup(t, amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: 7, BlockAfter: 3, BlockWindow: time.Minute, BlockFor: 10 * time.Minute}))
	for i := range 7 {
		if r := b.do("GET", "/api/v4/account", nil); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	r := b.do("GET", "/api/v4/account", nil)
	if r.status != 429 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || r.header.Get("Retry-After") != "" ||
		!strings.Contains(string(r.body), "<html>") {
		t.Fatalf("8th request: %d %v %s", r.status, r.header, r.body)
	}
	// The window slides with the server clock.
	b.clock.Advance(999 * time.Millisecond)
	if r := b.do("GET", "/api/v4/account", nil); r.status != 429 {
		t.Errorf("within the second: %d", r.status)
	}
	b.clock.Advance(time.Millisecond)
	if r := b.do("GET", "/api/v4/account", nil); r.status != 200 {
		t.Errorf("next second: %d", r.status)
	}
	// OAuth is not rate limited.
	for range 6 {
		b.must(200, "GET", "/api/v4/account", nil)
	}
	if r := b.do("POST", "/oauth2/access_token", map[string]string{}); r.status != 400 {
		t.Errorf("token endpoint while limited: %d", r.status)
	}
	// A third 429 within the window blocks everything, the token endpoint too.
	if r := b.do("GET", "/api/v4/account", nil); r.status != 429 {
		t.Fatalf("third violation: %d", r.status)
	}
	if blocked, until := b.srv.Blocked(); !blocked || !until.Equal(b.clock.Now().Add(10*time.Minute)) {
		t.Fatalf("Blocked() = %v %v", blocked, until)
	}
	for _, path := range []string{"/api/v4/account", "/api/v4/leads", "/oauth2/access_token"} {
		r := b.do("GET", path, nil)
		if path == "/oauth2/access_token" {
			r = b.do("POST", path, map[string]string{})
		}
		if r.status != 403 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s while blocked: %d %s", path, r.status, r.body)
		}
	}
	b.clock.Advance(10*time.Minute - time.Second)
	if r := b.do("GET", "/api/v4/account", nil); r.status != 403 {
		t.Errorf("before the block ends: %d", r.status)
	}
	b.clock.Advance(time.Second)
	if r := b.do("GET", "/api/v4/account", nil); r.status != 200 {
		t.Errorf("after the block: %d", r.status)
	}
	if b.srv.CountRequests("GET", "/api/v4/account") < 20 {
		t.Errorf("request log too short")
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	t.Run("applied then 504", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/leads", ApplyThenFail: true, Count: 1})
		before := len(b.srv.Leads())
		r := b.do("POST", "/api/v4/leads", []any{map[string]any{"name": "ambiguous"}})
		if r.status != 504 || !strings.Contains(string(r.body), "504 Gateway Time-out") {
			t.Fatalf("status %d %s", r.status, r.body)
		}
		leads := b.srv.Leads()
		if len(leads) != before+1 || leads[len(leads)-1].Name != "ambiguous" {
			t.Fatalf("the write was not applied: %d leads", len(leads))
		}
		// The fault was used up: the next POST answers normally.
		b.must(200, "POST", "/api/v4/leads", []any{map[string]any{"name": "ok"}})
	})
	t.Run("next N", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.srv.InjectFault(amocrmtest.Fault{PathPrefix: "/api/v4/leads", Status: 503, Count: 2})
		before := len(b.srv.Leads())
		for i, want := range []int{503, 503, 200} {
			if r := b.do("POST", "/api/v4/leads", []any{map[string]any{"name": "x"}}); r.status != want {
				t.Errorf("request %d: %d, want %d", i, r.status, want)
			}
		}
		if n := len(b.srv.Leads()); n != before+1 {
			t.Errorf("plain 5xx applied writes: %d new leads", n-before)
		}
		if r := b.do("GET", "/api/v4/account", nil); r.status != 200 {
			t.Errorf("other path: %d", r.status)
		}
	})
	t.Run("seeded fraction is reproducible", func(t *testing.T) {
		t.Parallel()
		run := func() string {
			b := setup(t, amocrmtest.WithFaultSeed(7))
			remove := b.srv.InjectFault(amocrmtest.Fault{Method: "GET", Status: 500, Fraction: 0.5})
			var sb strings.Builder
			for range 30 {
				fmt.Fprint(&sb, b.do("GET", "/api/v4/account", nil).status/100)
			}
			remove()
			if r := b.do("GET", "/api/v4/account", nil); r.status != 200 {
				t.Errorf("after remove: %d", r.status)
			}
			return sb.String()
		}
		a, c := run(), run()
		if a != c || !strings.Contains(a, "5") || !strings.Contains(a, "2") {
			t.Errorf("runs %s and %s", a, c)
		}
	})
	t.Run("latency", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.srv.InjectFault(amocrmtest.Fault{PathPrefix: "/api/v4/account", Latency: time.Hour})
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", b.srv.URL+"/api/v4/account", nil)
		req.Header.Set("Authorization", "Bearer "+b.token)
		_, err := b.srv.HTTPClient().Do(req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want deadline exceeded", err)
		}
		b.srv.ClearFaults()
		b.must(200, "GET", "/api/v4/account", nil)
	})
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.srv.ResetRequests()
	b.do("GET", "/api/v4/leads?limit=1", nil)
	b.do("POST", "/api/v4/leads", []any{map[string]any{"name": "x"}})
	b.do("GET", "/api/v4/contacts", nil)
	reqs := b.srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[1]
	if r.Method != "POST" || r.Path != "/api/v4/leads" || r.Status != 200 || r.BodySize != len(`[{"name":"x"}]`) ||
		!r.Time.Equal(epoch) || r.ResponseSize == 0 || r.Header.Get("Authorization") != "[redacted]" {
		t.Errorf("entry = %+v", r)
	}
	if reqs[0].Query != "limit=1" {
		t.Errorf("query = %q", reqs[0].Query)
	}
	if n := b.srv.CountRequests("GET", "/api/v4/"); n != 2 {
		t.Errorf("CountRequests GET = %d", n)
	}
	if n := b.srv.CountRequests("", "/api/v4/leads"); n != 2 {
		t.Errorf("CountRequests leads = %d", n)
	}
}

func TestWebhooks(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []url.Values
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("webhook Content-Type = %q", ct)
		}
		_ = r.ParseForm()
		mu.Lock()
		got = append(got, r.PostForm)
		mu.Unlock()
	}))
	defer hook.Close()
	b := setup(t)
	dest := hook.URL + "/amo"
	m := b.must(200, "POST", "/api/v4/webhooks", map[string]any{"destination": dest,
		"settings": []string{"add_lead", "status_lead", "add_contact"}}).json(t)
	if m["destination"] != dest || len(m["settings"].([]any)) != 3 {
		t.Errorf("subscribe = %v", m)
	}
	errs := validationErrors(t, b.do("POST", "/api/v4/webhooks", map[string]any{"destination": dest, "settings": []string{"bogus"}}))
	if !hasErr(errs, "0", "NotSupportedChoice", "settings.0") {
		t.Errorf("errors = %+v", errs)
	}
	m = b.must(200, "GET", "/api/v4/webhooks?filter[destination]="+url.QueryEscape(dest), nil).json(t)
	if num(m["_total_items"]) != 1 {
		t.Errorf("list = %v", m)
	}

	res := b.must(200, "POST", "/api/v4/leads", []any{map[string]any{"name": "first"}, map[string]any{"name": "second"}}).json(t)
	id := num(get(res, "_embedded", "leads", 0, "id"))
	b.must(200, "PATCH", fmt.Sprintf("/api/v4/leads/%d", id), map[string]any{"status_id": amocrmtest.DemoStatusNegotiation})
	b.must(200, "PATCH", fmt.Sprintf("/api/v4/leads/%d", id), map[string]any{"name": "no hook for update_lead"})
	b.srv.FlushWebhooks()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("%d webhook posts: %v", len(got), got)
	}
	add := got[0]
	if add.Get("leads[add][0][id]") != fmt.Sprint(id) || add.Get("leads[add][1][name]") != "second" ||
		add.Get("account[subdomain]") != amocrmtest.DefaultAccount().Subdomain {
		t.Errorf("add form = %v", add)
	}
	st := got[1]
	if st.Get("leads[status][0][status_id]") != fmt.Sprint(amocrmtest.DemoStatusNegotiation) ||
		st.Get("leads[status][0][old_status_id]") != fmt.Sprint(amocrmtest.DemoStatusFirstContact) {
		t.Errorf("status form = %v", st)
	}
	if d := b.srv.WebhookDeliveries(); len(d) != 2 || d[0].Status != 200 {
		t.Errorf("deliveries = %+v", d)
	}

	b.must(204, "DELETE", "/api/v4/webhooks", map[string]any{"destination": dest})
	if r := b.do("GET", "/api/v4/webhooks", nil); r.status != 204 {
		t.Errorf("after unsubscribe: %d", r.status)
	}
}

func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	b := setup(t)
	before := len(b.srv.Leads())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				body := fmt.Sprintf(`[{"name":"g%d-%d"}]`, g, i)
				req, _ := http.NewRequestWithContext(t.Context(), "POST", b.srv.URL+"/api/v4/leads", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+b.token)
				res, err := b.srv.HTTPClient().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				if res.StatusCode != 200 {
					t.Errorf("status %d", res.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	if n := len(b.srv.Leads()) - before; n != 40 {
		t.Errorf("%d leads created, want 40", n)
	}
}
