package amocrm

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// netClient returns a client for baseURL with recorded sleeps and the
// given extra options.
func netClient(t *testing.T, baseURL string, opts ...Option) (*Client, *sleepRecorder) {
	t.Helper()
	sr := &sleepRecorder{}
	base := []Option{
		WithBaseURL(baseURL),
		WithLimiter(Unlimited()),
		WithSleeper(sr.sleep),
		WithJitter(func() float64 { return 0.5 }),
		WithLongLivedToken(testToken),
		WithTimeout(10 * time.Second),
	}
	c, err := NewClient("example", append(base, opts...)...)
	require.NoError(t, err)
	return c, sr
}

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func requireNotSent(t *testing.T, err error) *NetworkError {
	t.Helper()
	var ne *NetworkError
	require.ErrorAs(t, err, &ne)
	var ou *OutcomeUnknownError
	require.False(t, errors.As(err, &ou), "a request that was not sent has a known outcome: %v", err)
	require.True(t, ne.Retryable())
	return ne
}

func TestWriteToClosedPortIsNetworkErrorAndRetried(t *testing.T) {
	t.Parallel()
	c, sr := netClient(t, "http://"+closedPort(t))
	_, _, err := c.Leads.Create(t.Context(), []*Lead{{Name: "x"}})
	ne := requireNotSent(t, err)
	require.Equal(t, "POST", ne.Method)
	require.Equal(t, "/api/v4/leads", ne.Path)
	var op *net.OpError
	require.ErrorAs(t, err, &op)
	require.Equal(t, "dial", op.Op)
	// Not sent, so safe to retry: the default 3 retries with backoff.
	if diff := cmp.Diff([]time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second}, sr.all()); diff != "" {
		t.Errorf("retry waits (-want +got):\n%s", diff)
	}
	require.Contains(t, ne.Message("ru"), "не был отправлен")
	require.Contains(t, ne.Message("en"), "was not sent")
}

func TestReadFromClosedPortIsNetworkError(t *testing.T) {
	t.Parallel()
	c, sr := netClient(t, "http://"+closedPort(t))
	_, _, err := c.Leads.Get(t.Context(), 1, nil)
	requireNotSent(t, err)
	require.Len(t, sr.all(), 3)
}

// A write that fails before the send and then goes through is applied once.
func TestWriteRetriedAfterDialFailureSucceeds(t *testing.T) {
	t.Parallel()
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		writeJSON(w, 200, `{"_embedded":{"leads":[{"id":7,"request_id":"0"}]}}`)
	}))
	t.Cleanup(srv.Close)
	var dials atomic.Int32
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c, sr := netClient(t, srv.URL, WithHTTPClient(&http.Client{Transport: tr}))
	leads, _, err := c.Leads.Create(t.Context(), []*Lead{{Name: "x"}})
	require.NoError(t, err)
	require.Len(t, leads, 1)
	require.Equal(t, 7, leads[0].ID)
	require.Equal(t, int32(1), posts.Load())
	require.Len(t, sr.all(), 1)
}

func TestWriteWithDNSFailureIsNetworkError(t *testing.T) {
	t.Parallel()
	resolver := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS server in this test")
	}}
	tr := &http.Transport{DialContext: (&net.Dialer{Resolver: resolver}).DialContext}
	c, _ := netClient(t, "https://example.amocrm.ru", WithHTTPClient(&http.Client{Transport: tr}))
	_, _, err := c.Leads.Create(t.Context(), []*Lead{{Name: "x"}})
	requireNotSent(t, err)
	var dnsErr *net.DNSError
	require.ErrorAs(t, err, &dnsErr)
}

func TestWriteWithTLSHandshakeFailureIsNetworkError(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	// The default transport does not trust the test server's certificate.
	c, _ := netClient(t, srv.URL)
	_, _, err := c.Leads.Create(t.Context(), []*Lead{{Name: "x"}})
	requireNotSent(t, err)
	var unknownCA x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknownCA)
	require.Zero(t, calls.Load(), "nothing reached the server")
}

// A server that reads the whole request and then drops the connection may
// have applied it: the outcome stays unknown and the write is not re-sent.
func TestWriteReadThenClosedStaysOutcomeUnknown(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_ = conn.Close()
	}))
	t.Cleanup(srv.Close)
	c, sr := netClient(t, srv.URL)
	_, _, err := c.Leads.Create(t.Context(), []*Lead{{Name: "x"}})
	var ou *OutcomeUnknownError
	require.ErrorAs(t, err, &ou)
	var ne *NetworkError
	require.False(t, errors.As(err, &ne), "a request that reached the server is not a NetworkError")
	require.Equal(t, int32(1), n.Load())
	require.Empty(t, sr.all(), "not retried")
}

// A RoundTripper that reports no httptrace events: the error decides, and
// anything but a lookup, dial or certificate failure stays ambiguous.
func TestNetworkErrorWithoutTraceEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		err     error
		notSent bool
	}{
		{"dial", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{"dns", &net.DNSError{Err: "no such host", Name: "example.amocrm.ru", IsNotFound: true}, true},
		{"certificate", x509.UnknownAuthorityError{}, true},
		{"read", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, false},
		{"eof", io.ErrUnexpectedEOF, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hc := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, tc.err })}
			c, _ := netClient(t, "https://example.amocrm.ru", WithHTTPClient(hc), WithBackoff(Backoff{Retries: -1}))
			_, _, err := c.Leads.Create(t.Context(), []*Lead{{Name: "x"}})
			var ne *NetworkError
			var ou *OutcomeUnknownError
			require.Equal(t, tc.notSent, errors.As(err, &ne), "NetworkError: %v", err)
			require.Equal(t, !tc.notSent, errors.As(err, &ou), "OutcomeUnknownError: %v", err)
		})
	}
}

// A RoundTripper that writes the request itself reports WroteRequest but
// no GetConn: the write counts as sent.
func TestWroteRequestCountsAsSent(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		if err := r.Write(conn); err != nil {
			return nil, err
		}
		// A dial error after the write: only the trace knows it was sent.
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("second connection refused")}
	})}
	c, _ := netClient(t, srv.URL, WithHTTPClient(hc))
	_, _, err := c.Leads.Create(t.Context(), []*Lead{{Name: "x"}})
	var ou *OutcomeUnknownError
	require.ErrorAs(t, err, &ou)
}

// A write cancelled before it was sent returns the context's error, as a
// request not sent does.
func TestWriteCancelledDuringDialIsContextError(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	tr := &http.Transport{DialContext: func(dctx context.Context, _, _ string) (net.Conn, error) {
		cancel()
		<-dctx.Done()
		return nil, dctx.Err()
	}}
	c, _ := netClient(t, "http://example.invalid", WithHTTPClient(&http.Client{Transport: tr}))
	_, _, err := c.Leads.Create(ctx, []*Lead{{Name: "x"}})
	require.ErrorIs(t, err, context.Canceled)
	var ou *OutcomeUnknownError
	require.False(t, errors.As(err, &ou), "%v", err)
}
