package amocrm

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// discoveryEnv routes every host to one test server (keeping the Host
// header) where old.amocrm.ru rejects the refresh and api-b.amocrm.ru
// answers discovery with answer. It records the hosts asked and the
// credentials each one saw.
type discoveryEnv struct {
	mu    sync.Mutex
	hosts []string
	creds map[string][]string // host → Authorization / X-Refresh-Token values
}

func (e *discoveryEnv) saw(host string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.creds[host]
}

func newDiscoveryClient(t *testing.T, apiDomain, answer string) (*Client, *discoveryEnv) {
	t.Helper()
	env := &discoveryEnv{creds: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.mu.Lock()
		env.hosts = append(env.hosts, r.Host)
		for _, h := range []string{"Authorization", "X-Refresh-Token"} {
			if v := r.Header.Get(h); v != "" {
				env.creds[r.Host] = append(env.creds[r.Host], v)
			}
		}
		env.mu.Unlock()
		switch {
		case r.Host == "old.amocrm.ru" && r.URL.Path == "/oauth2/access_token":
			writeJSON(w, 404, `<html>not found</html>`)
		case r.URL.Path == "/oauth2/account/current/subdomain":
			writeJSON(w, 200, answer)
		default:
			writeJSON(w, 200, `{"token_type":"Bearer","expires_in":86400,"access_token":"stolen-access-123","refresh_token":"stolen-refresh-123"}`)
		}
	}))
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r2 := r.Clone(r.Context())
		r2.URL.Scheme = "http"
		r2.URL.Host = strings.TrimPrefix(srv.URL, "http://")
		r2.Host = r.URL.Host
		return http.DefaultTransport.RoundTrip(r2)
	})}
	store := NewMemoryTokenStore(&Token{AccessToken: "x-expired", RefreshToken: "refresh-0", APIDomain: apiDomain, ExpiresAt: time.Now().Add(-time.Hour)})
	c, err := NewClient("old", WithHTTPClient(hc), WithLimiter(Unlimited()), WithOAuth(testOAuth, store))
	require.NoError(t, err)
	return c, env
}

// A discovery answer naming a host outside amoCRM's domains must not move
// the client (and its tokens) there.
func TestSubdomainDiscoveryRefusesHostileHost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, answer, host, source string
	}{
		{"foreign domain", `{"id":1,"subdomain":"renamed","domain":"evil.example"}`, "evil.example", "domain"},
		{"lookalike suffix", `{"domain":"renamed.amocrm.ru.evil.example"}`, "renamed.amocrm.ru.evil.example", "domain"},
		{"bare amoCRM domain", `{"domain":"amocrm.ru"}`, "amocrm.ru", "domain"},
		{"common site", `{"domain":"www.amocrm.ru"}`, "www.amocrm.ru", "domain"},
		{"port", `{"domain":"renamed.amocrm.ru:8443"}`, "renamed.amocrm.ru:8443", "domain"},
		{"userinfo", `{"domain":"renamed.amocrm.ru@evil.example"}`, "renamed.amocrm.ru@evil.example", "domain"},
		{"path in subdomain", `{"subdomain":"evil.example/x"}`, "evil.example/x.amocrm.ru", "subdomain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, env := newDiscoveryClient(t, "api-b.amocrm.ru", tc.answer)
			_, _, err := c.Account.Get(t.Context(), nil)
			var uh *UntrustedHostError
			require.ErrorAs(t, err, &uh)
			if diff := cmp.Diff(UntrustedHostError{Host: tc.host, Source: tc.source}, *uh); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			var ue *UnauthorizedError
			require.ErrorAs(t, err, &ue, "the refresh failed: the caller sees an auth failure")
			require.Contains(t, ue.Message("ru"), "не адрес amoCRM")
			require.Contains(t, ue.Message("en"), "not an amoCRM or Kommo address")
			require.Equal(t, "https://old.amocrm.ru", c.BaseURL(), "the base is kept")
			env.mu.Lock()
			hosts := append([]string(nil), env.hosts...)
			env.mu.Unlock()
			if diff := cmp.Diff([]string{"old.amocrm.ru", "api-b.amocrm.ru"}, hosts); diff != "" {
				t.Errorf("hosts asked (-want +got):\n%s", diff)
			}
		})
	}
}

// The refresh token is sent to api_domain: a claim outside amoCRM's
// domains is refused before anything goes there.
func TestSubdomainDiscoveryRefusesHostileAPIDomain(t *testing.T) {
	t.Parallel()
	c, env := newDiscoveryClient(t, "evil.example", `{"domain":"renamed.amocrm.ru"}`)
	_, _, err := c.Account.Get(t.Context(), nil)
	var uh *UntrustedHostError
	require.ErrorAs(t, err, &uh)
	require.Equal(t, UntrustedHostError{Host: "evil.example", Source: "api_domain"}, *uh)
	require.Empty(t, env.saw("evil.example"), "no credential reaches the untrusted host")
	require.Equal(t, "https://old.amocrm.ru", c.BaseURL())
}

// A trusted new host is still adopted, also across brands.
func TestSubdomainDiscoveryAcceptsAmoCRMHosts(t *testing.T) {
	t.Parallel()
	for answer, want := range map[string]string{
		`{"domain":"Renamed.Kommo.com."}`: "renamed.kommo.com",
		`{"subdomain":"renamed"}`:         "renamed.amocrm.ru",
	} {
		c, env := newDiscoveryClient(t, "api-b.amocrm.ru", answer)
		_, _, err := c.Account.Get(t.Context(), nil)
		require.NoError(t, err, answer)
		require.Equal(t, "https://"+want, c.BaseURL())
		require.Contains(t, env.saw(want), "Bearer stolen-access-123", "the new pair is used at the new host")
	}
}

func TestTrustedHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"example.amocrm.ru":         true,
		"a.b-c.amocrm.com":          true,
		"example.kommo.com":         true,
		"crm.corp.example":          true, // the configured host
		"CRM.corp.example":          true,
		"other.corp.example":        false,
		"":                          false,
		"kommo.com":                 false,
		"www.kommo.com":             false,
		"example.amocrm.ru:443":     false,
		"-x.amocrm.ru":              false,
		"x..amocrm.ru":              false,
		"example.amocrm.ru.":        false,
		"exa mple.amocrm.ru":        false,
		"example.notamocrm.ru":      false,
		"example.amocrm.ru.evil.io": false,
	} {
		if got := trustedHost(host, "crm.corp.example"); got != want {
			t.Errorf("trustedHost(%q) = %v, want %v", host, got, want)
		}
	}
}
