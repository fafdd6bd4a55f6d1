package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

func TestRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, func(string) string { return "" }, pw)
		_ = pw.Close()
	}()

	values := map[string]string{}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for line := range lines {
		if k, v, ok := strings.Cut(line, ": "); ok {
			values[k] = v
		}
		if strings.HasPrefix(line, "try:") {
			break
		}
	}
	go func() {
		for range lines { // keep draining
		}
	}()
	for _, k := range []string{"base_url", "client_id", "client_secret", "access_token", "oauth_access_token", "refresh_token", "long_lived_token", "auth_code"} {
		if values[k] == "" {
			t.Fatalf("%s not printed; got %v", k, values)
		}
	}
	if d := cmp.Diff("none", values["faults"]); d != "" {
		t.Errorf("faults (-want +got):\n%s", d)
	}
	for _, tok := range []string{values["access_token"], values["oauth_access_token"], values["long_lived_token"]} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", values["base_url"]+"/api/v4/account", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET /api/v4/account: %d", resp.StatusCode)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRunBadFlag(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if err := run(t.Context(), []string{"-nope"}, func(string) string { return "" }, &out); err == nil {
		t.Error("run accepted an unknown flag")
	}
}

func TestRunHelp(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	require.NoError(t, run(t.Context(), []string{"-h"}, func(string) string { return "" }, &out))
	require.Contains(t, out.String(), "AMOCRM_FAKE_APPLIED_THEN_FAIL_RATE")
}

// fake is a started fake with the values it printed.
type fake struct {
	srv    *amocrmtest.Server
	values map[string]string
}

// startFake starts the fake on a free port with the rate limit off, args and the
// environment env, and closes it when the test ends.
func startFake(t *testing.T, env map[string]string, args ...string) *fake {
	t.Helper()
	var out strings.Builder
	srv, err := start(append([]string{"-addr", "127.0.0.1:0", "-rate", "-1"}, args...),
		func(k string) string { return env[k] }, &out)
	require.NoError(t, err)
	require.NotNil(t, srv)
	t.Cleanup(func() { _ = srv.Close() })
	values := map[string]string{}
	for line := range strings.Lines(out.String()) {
		if k, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), ": "); ok {
			values[k] = v
		}
	}
	require.NotEmpty(t, values["base_url"], "output:\n%s", out.String())
	return &fake{srv: srv, values: values}
}

// do sends a request with a JSON body (if not nil) and the bearer token (if not
// empty) and returns the status and the response body.
func (f *fake) do(t *testing.T, c *http.Client, method, path, token string, body any) (int, []byte, error) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, f.values["base_url"]+path, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// must is do that fails the test on a transport error.
func (f *fake) must(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	status, b, err := f.do(t, http.DefaultClient, method, path, token, body)
	require.NoError(t, err)
	return status, b
}

// leadNames returns the names of the leads the API lists for query.
func (f *fake) leadNames(t *testing.T, token, query string) []string {
	t.Helper()
	status, b := f.must(t, "GET", "/api/v4/leads?query="+url.QueryEscape(query), token, nil)
	if status == http.StatusNoContent {
		return nil
	}
	require.Equal(t, http.StatusOK, status, "%s", b)
	var list struct {
		Embedded struct {
			Leads []struct {
				Name string `json:"name"`
			} `json:"leads"`
		} `json:"_embedded"`
	}
	require.NoError(t, json.Unmarshal(b, &list))
	var names []string
	for _, l := range list.Embedded.Leads {
		names = append(names, l.Name)
	}
	return names
}

func storedLeadNames(srv *amocrmtest.Server) []string {
	var names []string
	for _, l := range srv.Leads() {
		names = append(names, l.Name)
	}
	return names
}

func TestErrorRate(t *testing.T) {
	t.Parallel()
	f := startFake(t, nil, "-error-rate", "1")
	if d := cmp.Diff("error-rate=1 (status 503), fault-seed=1", f.values["faults"]); d != "" {
		t.Errorf("faults (-want +got):\n%s", d)
	}
	tok := f.values["access_token"]
	for range 3 {
		status, b := f.must(t, "GET", "/api/v4/leads", tok, nil)
		require.Equal(t, http.StatusServiceUnavailable, status, "%s", b)
	}
	before := storedLeadNames(f.srv)
	status, _ := f.must(t, "POST", "/api/v4/leads", tok, []any{map[string]any{"name": "error-rate lead"}})
	require.Equal(t, http.StatusServiceUnavailable, status)
	if d := cmp.Diff(before, storedLeadNames(f.srv)); d != "" {
		t.Errorf("a refused POST changed the leads (-before +after):\n%s", d)
	}
	// OAuth is not under /api/ and so never faulted.
	status, b := f.must(t, "POST", "/oauth2/access_token", "", map[string]any{
		"client_id": f.values["client_id"], "client_secret": f.values["client_secret"],
		"grant_type": "authorization_code", "code": f.values["auth_code"], "redirect_uri": f.values["redirect_uri"],
	})
	require.Equal(t, http.StatusOK, status, "%s", b)
}

func TestErrorStatus(t *testing.T) {
	t.Parallel()
	f := startFake(t, map[string]string{"AMOCRM_FAKE_ERROR_RATE": "1", "AMOCRM_FAKE_ERROR_STATUS": "502"})
	status, _ := f.must(t, "GET", "/api/v4/account", f.values["access_token"], nil)
	require.Equal(t, http.StatusBadGateway, status)
}

func TestAppliedThenFail(t *testing.T) {
	t.Parallel()
	f := startFake(t, nil, "-applied-then-fail-rate", "1")
	tok := f.values["oauth_access_token"]
	status, b := f.must(t, "POST", "/api/v4/leads", tok, []any{map[string]any{"name": "applied then failed"}})
	require.Equal(t, http.StatusGatewayTimeout, status, "%s", b)
	// Reads are not faulted, and the write happened.
	if d := cmp.Diff([]string{"applied then failed"}, f.leadNames(t, tok, "applied then failed")); d != "" {
		t.Errorf("leads after an applied-then-failed POST (-want +got):\n%s", d)
	}
}

func TestRefreshToken(t *testing.T) {
	t.Parallel()
	f := startFake(t, nil)
	refresh := func(tok string) (int, []byte) {
		return f.must(t, "POST", "/oauth2/access_token", "", map[string]any{
			"client_id": f.values["client_id"], "client_secret": f.values["client_secret"],
			"grant_type": "refresh_token", "refresh_token": tok, "redirect_uri": f.values["redirect_uri"],
		})
	}
	status, b := refresh(f.values["refresh_token"])
	require.Equal(t, http.StatusOK, status, "%s", b)
	var pair struct {
		TokenType    string `json:"token_type"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	require.NoError(t, json.Unmarshal(b, &pair))
	require.NotEmpty(t, pair.AccessToken)
	require.NotEmpty(t, pair.RefreshToken)
	require.NotEqual(t, f.values["refresh_token"], pair.RefreshToken, "refresh token not rotated")
	if d := cmp.Diff("Bearer", pair.TokenType); d != "" {
		t.Errorf("token_type (-want +got):\n%s", d)
	}
	status, _ = f.must(t, "GET", "/api/v4/account", pair.AccessToken, nil)
	require.Equal(t, http.StatusOK, status, "the new access token")

	// Refresh tokens are single use.
	status, b = refresh(f.values["refresh_token"])
	require.Equal(t, http.StatusUnauthorized, status, "%s", b)
	status, b = refresh(pair.RefreshToken)
	require.Equal(t, http.StatusOK, status, "%s", b)
}

func TestLatency(t *testing.T) {
	t.Parallel()
	const latency = 200 * time.Millisecond
	f := startFake(t, map[string]string{"AMOCRM_FAKE_LATENCY": latency.String()})
	if d := cmp.Diff("latency=200ms", f.values["faults"]); d != "" {
		t.Errorf("faults (-want +got):\n%s", d)
	}
	begin := time.Now()
	status, _ := f.must(t, "GET", "/api/v4/account", f.values["access_token"], nil)
	took := time.Since(begin)
	require.Equal(t, http.StatusOK, status)
	require.GreaterOrEqual(t, took, latency)
	require.Less(t, took, latency+10*time.Second, "wildly late")
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	f := startFake(t, nil, "-timeout-rate", "1", "-timeout-after", "1m")
	before := storedLeadNames(f.srv)
	client := &http.Client{Timeout: 200 * time.Millisecond}
	_, _, err := f.do(t, client, "POST", "/api/v4/leads", f.values["access_token"], []any{map[string]any{"name": "timed out"}})
	require.Error(t, err, "the request did not hang")
	// The server notices the client gone, abandons the request and logs it.
	require.Eventually(t, func() bool { return f.srv.CountRequests("POST", "/api/v4/leads") == 1 },
		5*time.Second, 10*time.Millisecond)
	if d := cmp.Diff(before, storedLeadNames(f.srv)); d != "" {
		t.Errorf("an abandoned POST changed the leads (-before +after):\n%s", d)
	}
}

func TestCreateCustomField(t *testing.T) {
	t.Parallel()
	f := startFake(t, nil)
	require.Less(t, len(f.srv.CustomFields(amocrmtest.EntityLeads)), amocrmtest.MaxFieldsLimit-1, "fields fit on one page")
	tok := f.values["access_token"]
	status, b := f.must(t, "POST", "/api/v4/leads/custom_fields", tok, []any{map[string]any{"name": "Fake field", "type": "text"}})
	require.Equal(t, http.StatusOK, status, "%s", b)

	status, b = f.must(t, "GET", "/api/v4/leads/custom_fields", tok, nil)
	require.Equal(t, http.StatusOK, status, "%s", b)
	var list struct {
		Embedded struct {
			Fields []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"custom_fields"`
		} `json:"_embedded"`
	}
	require.NoError(t, json.Unmarshal(b, &list))
	var got []string
	for _, fl := range list.Embedded.Fields {
		if fl.Name == "Fake field" {
			got = append(got, fl.Name+"/"+fl.Type)
		}
	}
	if d := cmp.Diff([]string{"Fake field/text"}, got); d != "" {
		t.Errorf("listed new field (-want +got):\n%s", d)
	}
}

func TestBadValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string // in the error
	}{
		{"env not a number", map[string]string{"AMOCRM_FAKE_ERROR_RATE": "abc"}, nil, `AMOCRM_FAKE_ERROR_RATE="abc": not a number`},
		{"env rate above 1", map[string]string{"AMOCRM_FAKE_ERROR_RATE": "1.5"}, nil, `AMOCRM_FAKE_ERROR_RATE="1.5": must be between 0 and 1`},
		{"env NaN", map[string]string{"AMOCRM_FAKE_TIMEOUT_RATE": "NaN"}, nil, `AMOCRM_FAKE_TIMEOUT_RATE="NaN": must be between 0 and 1`},
		{"env negative rate", map[string]string{"AMOCRM_FAKE_APPLIED_THEN_FAIL_RATE": "-0.1"}, nil, "AMOCRM_FAKE_APPLIED_THEN_FAIL_RATE"},
		{"env bad int", map[string]string{"AMOCRM_FAKE_RATE": "fast"}, nil, `AMOCRM_FAKE_RATE="fast": not an integer`},
		{"env bad block-after", map[string]string{"AMOCRM_FAKE_BLOCK_AFTER": "1.5"}, nil, "AMOCRM_FAKE_BLOCK_AFTER"},
		{"env bad duration", map[string]string{"AMOCRM_FAKE_BLOCK_FOR": "15"}, nil, `AMOCRM_FAKE_BLOCK_FOR="15": not a duration`},
		{"env negative latency", map[string]string{"AMOCRM_FAKE_LATENCY": "-1s"}, nil, `AMOCRM_FAKE_LATENCY="-1s": must not be negative`},
		{"env bad timeout-after", map[string]string{"AMOCRM_FAKE_TIMEOUT_AFTER": "soon"}, nil, "AMOCRM_FAKE_TIMEOUT_AFTER"},
		{"env bad seed", map[string]string{"AMOCRM_FAKE_FAULT_SEED": "-1"}, nil, `AMOCRM_FAKE_FAULT_SEED="-1": not an unsigned integer`},
		{"env bad status", map[string]string{"AMOCRM_FAKE_ERROR_STATUS": "404"}, nil, `AMOCRM_FAKE_ERROR_STATUS="404": must be a 5xx status`},
		{"bad env beside a flag", map[string]string{"AMOCRM_FAKE_ERROR_RATE": "abc"}, []string{"-error-rate", "0.5"}, "AMOCRM_FAKE_ERROR_RATE"},
		{"flag rate above 1", nil, []string{"-error-rate", "2"}, "-error-rate=2: must be between 0 and 1"},
		{"flag overrides a good env", map[string]string{"AMOCRM_FAKE_LATENCY": "1s"}, []string{"-latency", "-1ms"}, "-latency=-1ms: must not be negative"},
		{"rates add up to more than 1", map[string]string{"AMOCRM_FAKE_ERROR_RATE": "0.6"}, []string{"-timeout-rate", "0.5"},
			`-timeout-rate=0.5, environment variable AMOCRM_FAKE_ERROR_RATE="0.6": the fault rates are exclusive and add up to 1.1`},
		{"timeout without time", nil, []string{"-timeout-rate", "0.1", "-timeout-after", "0s"}, "-timeout-after=0s: must be positive"},
		{"stray argument", nil, []string{"now"}, `unexpected argument "now"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			err := run(t.Context(), append([]string{"-addr", "127.0.0.1:0"}, tc.args...), func(k string) string { return tc.env[k] }, &out)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	c := config{errorRate: 0.2, errorStatus: 502, timeoutRate: 0.3, timeoutAfter: time.Second,
		appliedThenFailRate: 0.25, latency: 100 * time.Millisecond}
	want := []amocrmtest.Fault{
		{PathPrefix: "/api/", Status: 502, Latency: 100 * time.Millisecond, Fraction: 0.2},
		{PathPrefix: "/api/", Latency: 1100 * time.Millisecond, Fraction: 0.3 / 0.8},
		{Method: "POST", PathPrefix: "/api/", ApplyThenFail: true, Status: 504, Latency: 100 * time.Millisecond, Fraction: 0.25 / 0.5},
		{Method: "PATCH", PathPrefix: "/api/", ApplyThenFail: true, Status: 504, Latency: 100 * time.Millisecond, Fraction: 0.25 / 0.5},
		{PathPrefix: "/api/", Latency: 100 * time.Millisecond},
	}
	if d := cmp.Diff(want, c.faults(), cmpopts.EquateApprox(0, 1e-12)); d != "" {
		t.Errorf("faults (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]amocrmtest.Fault(nil), config{timeoutAfter: time.Second, errorStatus: 503}.faults()); d != "" {
		t.Errorf("faults of the defaults (-want +got):\n%s", d)
	}
	want = []amocrmtest.Fault{{PathPrefix: "/api/", Status: 503, Fraction: 1}}
	if d := cmp.Diff(want, config{errorRate: 1, errorStatus: 503}.faults()); d != "" {
		t.Errorf("faults of -error-rate 1 (-want +got):\n%s", d)
	}
}

// TestFaultRates checks that each rate is the fraction of all matching
// requests, not of those an earlier fault left over.
func TestFaultRates(t *testing.T) {
	t.Parallel()
	c := config{errorRate: 0.3, errorStatus: 503, appliedThenFailRate: 0.2}
	srv := amocrmtest.New(amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: -1}), amocrmtest.WithSeed(amocrmtest.DemoAccount))
	for _, fl := range c.faults() {
		srv.InjectFault(fl)
	}
	tok := srv.AccessToken()
	const n = 1000
	got := map[int]int{}
	for i := range n {
		req := httptest.NewRequest("POST", "/api/v4/leads", strings.NewReader(fmt.Sprintf(`[{"name":"lead %d"}]`, i)))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		got[rec.Code]++
	}
	// With the seeded draws the counts are fixed; the tolerance (about four
	// standard deviations) only keeps the check meaningful if the seed changes.
	approx := cmpopts.EquateApprox(0, 45)
	want := map[int]int{http.StatusOK: 500, http.StatusServiceUnavailable: 300, http.StatusGatewayTimeout: 200}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b int) bool { return cmp.Equal(float64(a), float64(b), approx) })); d != "" {
		t.Errorf("statuses of %d POSTs (-want +got):\n%s", n, d)
	}
}
