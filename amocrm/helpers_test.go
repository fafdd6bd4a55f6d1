package amocrm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"
)

const testToken = "lltoken-secret-0123456789"

// sleepRecorder replaces real waits in tests.
type sleepRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

type testBundle struct {
	client *Client
	srv    *httptest.Server
	sleeps *sleepRecorder
}

// setup starts an httptest server with h and a client pointed at it:
// no pacing, recorded sleeps, fixed jitter, a long-lived token.
func setup(t *testing.T, h http.Handler, opts ...Option) *testBundle {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	sr := &sleepRecorder{}
	base := []Option{
		WithBaseURL(srv.URL),
		WithLimiter(Unlimited()),
		WithSleeper(sr.sleep),
		WithJitter(func() float64 { return 0.5 }),
		WithLongLivedToken(testToken),
	}
	c, err := NewClient("example", append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &testBundle{client: c, srv: srv, sleeps: sr}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/hal+json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
