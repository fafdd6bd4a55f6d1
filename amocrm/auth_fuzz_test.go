package amocrm

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func jwtWith(payload string) string {
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
}

var jwtPayloadSeeds = []string{
	`{"api_domain":"api-b.amocrm.ru","exp":1760000000,"account_id":31257294}`,
	`{"api_domain":"127.0.0.1:8080","exp":"1760000000","account_id":"7"}`,
	`{"exp":1.76e9}`, `{"exp":1e300}`, `{"exp":-5}`, `{"exp":null,"account_id":true}`,
	`{"api_domain":"evil.example/steal?x=","exp":9223372036854775807}`,
	`{"api_domain":"a b","exp":"soon"}`, `{"api_domain":"user@api-b.amocrm.ru"}`, `{"api_domain":12}`,
	`[]`, `null`, `{}`, `not json`,
}

// FuzzJWTClaims feeds arbitrary token payloads to jwtClaims: it never fails
// the caller, gives an expiry in the Unix range time handles (or 0), and an
// api_domain that is a bare host (or "").
// The first argument is a claims payload (JSON, encoded by the target),
// the second a whole token as it may arrive.
func FuzzJWTClaims(f *testing.F) {
	for _, p := range jwtPayloadSeeds {
		f.Add(p, jwtWith(p))
	}
	f.Add("", "a.b")
	f.Add("", "..")
	f.Add("", "x.eyJleHAiOjE3NjAwMDAwMDB9==.y")
	f.Fuzz(func(t *testing.T, payload, tok string) {
		for _, c := range []tokenClaims{jwtClaims(jwtWith(payload)), jwtClaims(tok)} {
			if c.Exp < 0 || c.Exp > maxClaimUnix {
				t.Fatalf("exp %d out of range", c.Exp)
			}
			if c.APIDomain != "" && !validHostPort(c.APIDomain) {
				t.Fatalf("api_domain %q is not a host", c.APIDomain)
			}
			if strings.ContainsAny(c.APIDomain, "/@?# \t\r\n") {
				t.Fatalf("api_domain %q would not be a bare URL host", c.APIDomain)
			}
			if c.AccountID < 0 {
				t.Fatalf("account_id %d", c.AccountID)
			}
		}
	})
}

func TestJWTClaims(t *testing.T) {
	t.Parallel()
	for payload, want := range map[string]tokenClaims{
		`{"api_domain":"api-b.amocrm.ru","exp":1760000000,"account_id":31257294}`: {APIDomain: "api-b.amocrm.ru", Exp: 1760000000, AccountID: 31257294},
		`{"api_domain":"127.0.0.1:8080","exp":"1760000000","account_id":"7"}`:     {APIDomain: "127.0.0.1:8080", Exp: 1760000000, AccountID: 7},
		`{"exp":1.76e9}`: {Exp: 1760000000},
		// Out of range or hostile values are dropped, not wrapped around.
		`{"exp":1e300}`:                         {},
		`{"exp":-5}`:                            {},
		`{"exp":9223372036854775807}`:           {},
		`{"api_domain":"evil.example/steal"}`:   {},
		`{"api_domain":"user@api-b.amocrm.ru"}`: {},
		`{"api_domain":"a b"}`:                  {},
		`{"account_id":-3}`:                     {},
	} {
		if diff := cmp.Diff(want, jwtClaims(jwtWith(payload))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", payload, diff)
		}
	}
}

var retryAfterSeeds = []string{"", "0", "1", "120", " 7 ", "-1", "+5", "1.5", "99999999999", "9223372036854775807",
	"Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2099 07:28:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", "soon"}

// FuzzRetryAfter: any header value gives a wait between 0 and
// maxRetryAfter, and a small number of seconds is taken as is.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range retryAfterSeeds {
		f.Add(s)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("Retry-After %q: %s", v, d)
		}
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 && time.Duration(n) <= maxRetryAfter/time.Second && d != time.Duration(n)*time.Second {
			t.Fatalf("Retry-After %q: %s, want %ds", v, d, n)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"120":                           2 * time.Minute,
		" 7 ":                           7 * time.Second,
		"0":                             0,
		"-1":                            0,
		"1.5":                           0,
		"soon":                          0,
		"99999999999":                   maxRetryAfter, // would overflow time.Duration
		"9223372036854775807":           maxRetryAfter,
		"Fri, 01 May 2026 12:00:30 GMT": 30 * time.Second,
		"Fri, 01 May 2026 11:00:00 GMT": 0, // in the past
		"Wed, 21 Oct 2099 07:28:00 GMT": maxRetryAfter,
	} {
		require.Equal(t, want, parseRetryAfter(v, now), "Retry-After %q", v)
	}
}
