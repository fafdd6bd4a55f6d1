package webhooknotify

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

// guarded is a Notifier with the guard on (AllowPrivate false) and a
// given allow-list.
func guarded(t *testing.T, urls []string, allow ...string) *Notifier {
	t.Helper()
	n, err := New(Config{URLs: urls, Secret: secret, Allow: allow, RequestTimeout: 5 * time.Second})
	require.NoError(t, err)
	return n
}

// refused asserts err is the guard's refusal of want, made before any
// request and not retried.
func refused(t *testing.T, err error, want string) {
	t.Helper()
	require.Error(t, err)
	var ae *AddressError
	require.ErrorAs(t, err, &ae, "err = %v", err)
	if diff := cmp.Diff(want, ae.Addr.String()); diff != "" {
		t.Errorf("refused address (-want +got):\n%s", diff)
	}
	var de *DeliveryError
	require.ErrorAs(t, err, &de)
	if de.Attempts != 1 {
		t.Errorf("attempts = %d; a refusal is final", de.Attempts)
	}
	if c := chatter.ClassOf(err); c != chatter.ClassPermanent {
		t.Errorf("class = %q; want permanent", c)
	}
	m := de.Message()
	if !strings.Contains(m.RU, "внутренний") || !strings.Contains(m.RU, want) || !strings.Contains(m.EN, "is internal") || !strings.Contains(m.EN, want) {
		t.Errorf("message = %+v", m)
	}
}

func TestGuardRefusesLoopbackByDefault(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	refused(t, guarded(t, []string{srv.URL}).Notify(t.Context(), sample()), "127.0.0.1")
	require.Zero(t, rc.count(), "the receiver got a request")
	// The check's result is also the Check's cause.
	r := guarded(t, []string{srv.URL}).Check().Run(t.Context())
	if r.Status != chatter.StatusFail || !strings.Contains(r.Cause.EN, "127.0.0.1 is internal") {
		t.Errorf("check = %+v", r)
	}
}

func TestGuardRefusesANameResolvingToLoopback(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	u := "http://localhost:" + mustPort(t, srv.URL) + "/hook"
	err := guarded(t, []string{u}).Notify(t.Context(), sample())
	require.Error(t, err)
	var ae *AddressError
	require.ErrorAs(t, err, &ae, "err = %v", err)
	require.True(t, ae.Addr.IsLoopback(), "refused %s", ae.Addr)
	require.Zero(t, rc.count())
}

func TestGuardAllowsByConfig(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	local := "http://localhost:" + mustPort(t, srv.URL) + "/hook"
	for _, tc := range []struct {
		name  string
		url   string
		allow []string
		all   bool
	}{
		{"AllowPrivate", srv.URL, nil, true},
		{"address", srv.URL, []string{"127.0.0.1"}, false},
		{"network", srv.URL, []string{"10.0.0.0/8", "127.0.0.0/8"}, false},
		{"host name", local, []string{"LOCALHOST."}, false},
	} {
		before := rc.count()
		n, err := New(Config{URLs: []string{tc.url}, Secret: secret, Allow: tc.allow, AllowPrivate: tc.all})
		require.NoError(t, err, tc.name)
		require.NoError(t, n.Notify(t.Context(), sample()), tc.name)
		require.Equal(t, before+1, rc.count(), tc.name)
	}
	// Another address of the allowed name's network is still refused.
	refused(t, guarded(t, []string{srv.URL}, "127.0.0.2").Notify(t.Context(), sample()), "127.0.0.1")
}

func TestGuardRedirectToLoopbackIsNotFollowed(t *testing.T) {
	t.Parallel()
	inner := &receiver{}
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	innerSrv := httptest.NewUnstartedServer(inner)
	innerSrv.Listener = ln
	innerSrv.Start()
	defer innerSrv.Close()
	// The configured receiver (allowed by address) redirects to another
	// loopback address, which the guard does not allow.
	redir := httptest.NewServer(http.RedirectHandler(innerSrv.URL+"/admin", http.StatusTemporaryRedirect))
	defer redir.Close()
	err = guarded(t, []string{redir.URL}, "127.0.0.1").Notify(t.Context(), sample())
	var de *DeliveryError
	require.ErrorAs(t, err, &de, "err = %v", err)
	require.Equal(t, http.StatusTemporaryRedirect, de.StatusCode)
	require.Zero(t, inner.count(), "the redirect was followed to an address the guard refuses")
	if m := de.Message(); !strings.Contains(m.RU, "перенаправлением") || !strings.Contains(m.EN, "does not follow redirects") {
		t.Errorf("message = %+v", m)
	}
	require.Equal(t, chatter.ClassPermanent, chatter.ClassOf(err))
}

// A proxy would resolve and dial the host out of the guard's sight: the
// guarded transport goes direct.
func TestGuardDoesNotUseAProxy(t *testing.T) {
	t.Parallel()
	proxy := &receiver{}
	proxySrv := httptest.NewServer(proxy)
	defer proxySrv.Close()
	pu, err := url.Parse(proxySrv.URL)
	require.NoError(t, err)
	n, err := New(Config{URLs: []string{"http://hooks.invalid/in"}, Secret: secret, Allow: []string{"127.0.0.1"},
		MaxAttempts: 1, RequestTimeout: 3 * time.Second,
		HTTPClient: &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}})
	require.NoError(t, err)
	require.Error(t, n.Notify(t.Context(), sample()), "hooks.invalid does not resolve")
	require.Zero(t, proxy.count(), "the request went through the proxy")

	// The given transport is guarded, not replaced wholesale: loopback is
	// refused through it too.
	n, err = New(Config{URLs: []string{proxySrv.URL}, Secret: secret,
		HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConns: 3}}})
	require.NoError(t, err)
	refused(t, n.Notify(t.Context(), sample()), "127.0.0.1")
	// Whereas with the guard off the same transport is used as given.
	n, err = New(Config{URLs: []string{proxySrv.URL}, Secret: secret, AllowPrivate: true,
		HTTPClient: &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 204, Body: http.NoBody}, nil
		})}})
	require.NoError(t, err)
	require.NoError(t, n.Notify(t.Context(), sample()))
}

func TestPublic(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"8.8.8.8":                  true,
		"93.184.216.34":            true,
		"2a00:1450:4010:c0e::64":   true,
		"100.63.255.255":           true,
		"100.128.0.1":              true,
		"127.0.0.1":                false,
		"127.8.9.10":               false,
		"::1":                      false,
		"10.1.2.3":                 false,
		"172.16.0.1":               false,
		"172.31.255.255":           false,
		"192.168.0.10":             false,
		"fc00::1":                  false,
		"fd12:3456::1":             false,
		"fd00:ec2::254":            false, // AWS IPv6 metadata
		"169.254.169.254":          false, // cloud metadata
		"169.254.0.1":              false,
		"fe80::1":                  false,
		"0.0.0.0":                  false,
		"::":                       false,
		"0.1.2.3":                  false,
		"100.64.0.1":               false,
		"100.100.100.200":          false, // Alibaba Cloud metadata
		"100.127.255.255":          false,
		"224.0.0.1":                false,
		"ff02::1":                  false,
		"255.255.255.255":          false,
		"::ffff:127.0.0.1":         false, // IPv4-mapped
		"::ffff:169.254.169.254":   false,
		"64:ff9b::a9fe:a9fe":       false, // NAT64 of 169.254.169.254
		"64:ff9b::808:808":         true,  // NAT64 of 8.8.8.8
		"fec0::1":                  false,
		"192.0.0.170":              false,
		"198.18.0.1":               false,
		"::ffff:8.8.8.8":           true,
		"2001:4860:4860::8888":     true,
		"64:ff9b:1::a00:1":         false,
		"[::1]:80 is not an addr?": false,
	} {
		ip, err := netip.ParseAddr(addr)
		if err != nil {
			ip = netip.Addr{} // the zero Addr is not public
		}
		if got := Public(ip); got != want {
			t.Errorf("Public(%s) = %t; want %t", addr, got, want)
		}
	}
}

func TestGuardControl(t *testing.T) {
	t.Parallel()
	g, err := parseAllow([]string{"192.168.5.0/24", "::ffff:10.9.9.9", "hooks.internal"})
	require.NoError(t, err)
	for addr, ok := range map[string]bool{
		"8.8.8.8:443":          true,
		"192.168.5.77:80":      true,
		"192.168.6.1:80":       false,
		"10.9.9.9:80":          true,
		"[::ffff:10.9.9.9]:80": true,
		"[::1]:443":            false,
		"hooks.internal:80":    false, // Control only ever sees addresses
		"not an address":       false,
	} {
		err := g.control("tcp", addr, nil)
		if (err == nil) != ok {
			t.Errorf("control(%q) = %v; want allowed %t", addr, err, ok)
		}
	}
	if diff := cmp.Diff(map[string]bool{"hooks.internal": true}, g.hosts); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "a b", "http://x", "10.0.0.0/40", "x/y"} {
		_, err := parseAllow([]string{bad})
		require.ErrorIs(t, err, chatter.ErrInvalid, "%q", bad)
	}
}

func mustPort(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Port()
}
