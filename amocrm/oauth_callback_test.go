package amocrm

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestParseOAuthCallback(t *testing.T) {
	t.Parallel()
	q := url.Values{"code": {"def50200abc"}, "state": {"n0nce"}, "referer": {"Example.amocrm.ru"}, "client_id": {testOAuth.ClientID}}
	cb, err := testOAuth.ParseCallback(q)
	require.NoError(t, err)
	if diff := cmp.Diff(&OAuthCallback{Code: "def50200abc", State: "n0nce", Referer: "example.amocrm.ru", ClientID: testOAuth.ClientID}, cb); diff != "" {
		t.Errorf("callback (-want +got):\n%s", diff)
	}
	cb, err = testOAuth.ParseCallback(url.Values{"code": {"c0de"}, "state": {"s"}, "referer": {"https://x.kommo.com/"}})
	require.NoError(t, err)
	require.Equal(t, "x.kommo.com", cb.Referer)
	cb, err = testOAuth.ParseCallback(url.Values{"code": {"c0de"}, "state": {"s"}})
	require.NoError(t, err)
	require.Empty(t, cb.Referer)
}

func TestParseOAuthCallbackErrors(t *testing.T) {
	t.Parallel()
	ok := func(kv ...string) url.Values {
		q := url.Values{"code": {"def50200abc"}, "state": {"n0nce"}, "referer": {"example.amocrm.ru"}}
		for i := 0; i+1 < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}
	for _, tc := range []struct {
		name   string
		q      url.Values
		param  string
		denied bool
	}{
		{"denied", ok("error", "access_denied"), "error", true},
		{"denied with junk", ok("error", strings.Repeat("\x00", 300)), "error", true},
		{"no code", ok("code", " "), "code", false},
		{"code with spaces", ok("code", "a b"), "code", false},
		{"code with newline", ok("code", "abc\n"+"def"), "code", false},
		{"huge code", ok("code", strings.Repeat("a", maxCallbackCode+1)), "code", false},
		{"no state", ok("state", ""), "state", false},
		{"state not UTF-8", ok("state", "\xff"), "state", false},
		{"other integration", ok("client_id", "someone-else"), "client_id", false},
		{"foreign referer", ok("referer", "evil.example"), "referer", false},
		{"lookalike referer", ok("referer", "example.amocrm.ru.evil.example"), "referer", false},
		{"referer with path", ok("referer", "example.amocrm.ru/x"), "referer", false},
		{"referer with port", ok("referer", "example.amocrm.ru:8443"), "referer", false},
		{"common site", ok("referer", "www.amocrm.ru"), "referer", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testOAuth.ParseCallback(tc.q)
			var ce *OAuthCallbackError
			require.ErrorAs(t, err, &ce)
			if diff := cmp.Diff([2]any{tc.param, tc.denied}, [2]any{ce.Param, ce.Denied}); diff != "" {
				t.Errorf("param, denied (-want +got):\n%s", diff)
			}
			require.NotEmpty(t, ce.Message("ru"))
			require.NotEqual(t, ce.Message("ru"), ce.Message("en"))
			require.NotContains(t, err.Error(), "\x00")
		})
	}
}

// FuzzOAuthCallback: whatever the query, a callback that parses has a
// sane code and state and a trusted referer, and parses again to itself.
func FuzzOAuthCallback(f *testing.F) {
	for _, s := range []string{
		"code=def50200abc&state=n0nce&referer=example.amocrm.ru&client_id=cid",
		"error=access_denied&state=n0nce",
		"code=x&state=y&referer=https%3A%2F%2Fx.kommo.com%2F",
		"code=x&state=y&referer=evil.example",
		"code=%00&state=%ff&referer=a..amocrm.ru",
		"code=x&code=y&state=&state=z&referer=EXAMPLE.AMOCRM.COM",
		"code=a+b&state=s&client_id=other",
		"state=s&referer=example.amocrm.ru%0d%0aSet-Cookie:x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		cb, err := testOAuth.ParseCallback(q)
		if err != nil {
			if cb != nil {
				t.Fatal("callback with an error")
			}
			if !printable(err.Error()) {
				t.Fatalf("error text not printable: %q", err.Error())
			}
			return
		}
		if cb.Code == "" || cb.State == "" || !printable(cb.Code) || !printable(cb.State) || strings.ContainsAny(cb.Code, " ") {
			t.Fatalf("callback %+v", cb)
		}
		if cb.Referer != "" && !trustedHost(cb.Referer, "") {
			t.Fatalf("untrusted referer %q accepted", cb.Referer)
		}
		again, err := testOAuth.ParseCallback(url.Values{"code": {cb.Code}, "state": {cb.State}, "referer": {cb.Referer}, "client_id": {cb.ClientID}})
		if err != nil {
			t.Fatalf("re-parse of %+v: %v", cb, err)
		}
		if diff := cmp.Diff(cb, again); diff != "" {
			t.Fatalf("re-parse (-first +again):\n%s", diff)
		}
	})
}
