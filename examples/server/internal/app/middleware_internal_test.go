package app

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClientIPTrustsOnlyTheProxies(t *testing.T) {
	ps, err := parseProxies([]string{"10.0.0.0/8", " 192.168.1.10 ", ""})
	require.NoError(t, err)
	_, err = parseProxies([]string{"not-a-network"})
	require.Error(t, err)
	req := func(remote string, xff ...string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		for _, x := range xff {
			r.Header.Add("X-Forwarded-For", x)
		}
		return r
	}
	for _, c := range []struct {
		r    *http.Request
		want string
	}{
		{req("203.0.113.5:1234"), "203.0.113.5"},
		{req("203.0.113.5:1234", "198.51.100.1"), "203.0.113.5"},                    // not a proxy: its header is ignored
		{req("10.1.2.3:80", "198.51.100.1"), "198.51.100.1"},                        // a proxy
		{req("10.1.2.3:80", "6.6.6.6, 198.51.100.1, 192.168.1.10"), "198.51.100.1"}, // the right-most not a proxy
		{req("10.1.2.3:80", "6.6.6.6", "10.9.9.9"), "6.6.6.6"},
		{req("10.1.2.3:80", "garbage"), "10.1.2.3"},
		{req("[::ffff:10.1.2.3]:80", "198.51.100.1"), "198.51.100.1"},
		{req("[2001:db8::1]:80"), "2001:db8::1"},
	} {
		require.Equal(t, c.want, ps.clientIP(c.r).String(), "%s %v", c.r.RemoteAddr, c.r.Header)
	}
	require.False(t, ps.clientIP(req("nonsense")).IsValid())

	r := req("10.1.2.3:80")
	r.Header.Set("X-Forwarded-Proto", "https")
	require.True(t, ps.https(r))
	r = req("203.0.113.5:80")
	r.Header.Set("X-Forwarded-Proto", "https")
	require.False(t, ps.https(r), "only a trusted proxy says https")
}
