package webhooknotify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

var secret = []byte("0123456789abcdef-secret")

type receiver struct {
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	statuses []int // answered in order; 200 after the list runs out
	extra    func(w http.ResponseWriter)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, body)
	rc.headers = append(rc.headers, r.Header.Clone())
	status := http.StatusOK
	if n := len(rc.bodies); n <= len(rc.statuses) {
		status = rc.statuses[n-1]
	}
	extra := rc.extra
	rc.mu.Unlock()
	if extra != nil {
		extra(w)
	}
	w.WriteHeader(status)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.bodies)
}

func newNotifier(t *testing.T, urls []string, waits *[]time.Duration) *Notifier {
	t.Helper()
	n, err := New(Config{
		URLs: urls, Secret: secret, BackoffBase: time.Second, BackoffMax: 8 * time.Second,
		AllowPrivate: true, // the receivers are httptest servers on loopback
		Now:          func() time.Time { return time.Unix(1_790_000_000, 0) },
		wait: func(ctx context.Context, d time.Duration) error {
			if waits != nil {
				*waits = append(*waits, d)
			}
			return ctx.Err()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func sample() *chatter.Notification {
	return &chatter.Notification{
		Type: chatter.NotifyNewLead, Workspace: "acme", Time: time.Unix(1_790_000_000, 0).UTC(),
		Severity: chatter.SeverityInfo,
		Title:    chatter.T("Новая сделка", "New lead"),
		Body:     chatter.T("Иван Петров написал в @shop_chat", "Ivan Petrov wrote in @shop_chat"),
		Key:      "tgbot:42:-100123:7", Fields: map[string]string{"lead_id": "9001"},
	}
}

func TestNotifySignsAndReceiverVerifies(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	n := newNotifier(t, []string{srv.URL + "/hook"}, nil)
	if err := n.Notify(t.Context(), sample()); err != nil {
		t.Fatal(err)
	}
	if rc.count() != 1 {
		t.Fatalf("requests = %d, want 1", rc.count())
	}
	h, body := rc.headers[0], rc.bodies[0]
	if err := Verify(secret, h, body, time.Unix(1_790_000_030, 0), 0); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got := h.Get(HeaderEvent); got != "new_lead" {
		t.Errorf("event header = %q", got)
	}
	var p struct {
		ID    string       `json:"id"`
		Type  string       `json:"type"`
		Title chatter.Text `json:"title"`
		Key   string       `json:"message_key"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.ID != h.Get(HeaderDelivery) || p.Type != "new_lead" || p.Title.RU != "Новая сделка" || p.Key != "tgbot:42:-100123:7" {
		t.Errorf("payload = %+v", p)
	}
	// Tampering, a wrong secret, a stale or future timestamp are all refused.
	if err := Verify(secret, h, append([]byte{' '}, body...), time.Unix(1_790_000_000, 0), 0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered body: %v", err)
	}
	if err := Verify([]byte("another-secret-of-16"), h, body, time.Unix(1_790_000_000, 0), 0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong secret: %v", err)
	}
	if err := Verify(secret, h, body, time.Unix(1_790_000_000+301, 0), 0); !errors.Is(err, ErrStale) {
		t.Errorf("replayed after 301s: %v", err)
	}
	if err := Verify(secret, h, body, time.Unix(1_790_000_000-301, 0), 0); !errors.Is(err, ErrStale) {
		t.Errorf("from the future: %v", err)
	}
	if err := Verify(secret, http.Header{}, body, time.Unix(1_790_000_000, 0), 0); !errors.Is(err, ErrNoSignature) {
		t.Errorf("no headers: %v", err)
	}
}

func TestVerifyAcceptsRotatedSecretList(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"x"}`)
	ts := int64(1_790_000_000)
	h := http.Header{}
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, "v1="+Sign([]byte("old-secret-000000"), ts, body)+", v1="+Sign(secret, ts, body))
	if err := Verify(secret, h, body, time.Unix(ts, 0), 0); err != nil {
		t.Fatal(err)
	}
}

func TestRetriesTransientThenSucceeds(t *testing.T) {
	t.Parallel()
	rc := &receiver{statuses: []int{500, 503, 200}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	var waits []time.Duration
	n := newNotifier(t, []string{srv.URL}, &waits)
	if err := n.Notify(t.Context(), sample()); err != nil {
		t.Fatal(err)
	}
	if rc.count() != 3 || len(waits) != 2 {
		t.Fatalf("requests = %d, waits = %v", rc.count(), waits)
	}
	// One delivery id across retries so receivers can dedupe.
	if rc.headers[0].Get(HeaderDelivery) != rc.headers[2].Get(HeaderDelivery) {
		t.Error("delivery id changed between retries")
	}
	for i, w := range waits {
		lo, hi := time.Second<<i/2, time.Second<<i
		if w < lo || w > hi {
			t.Errorf("wait %d = %v, want in [%v, %v]", i, w, lo, hi)
		}
	}
}

func TestHonoursRetryAfterCapped(t *testing.T) {
	t.Parallel()
	rc := &receiver{statuses: []int{429}, extra: func(w http.ResponseWriter) { w.Header().Set("Retry-After", "5") }}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	var waits []time.Duration
	n := newNotifier(t, []string{srv.URL}, &waits)
	if err := n.Notify(t.Context(), sample()); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] != 5*time.Second {
		t.Fatalf("waits = %v, want [5s]", waits)
	}
}

func TestPermanentStatusIsNotRetried(t *testing.T) {
	t.Parallel()
	rc := &receiver{statuses: []int{400, 400}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	n := newNotifier(t, []string{srv.URL}, nil)
	err := n.Notify(t.Context(), sample())
	var de *DeliveryError
	if !errors.As(err, &de) || de.StatusCode != 400 || de.Attempts != 1 {
		t.Fatalf("err = %v", err)
	}
	if chatter.ClassOf(err) != chatter.ClassPermanent {
		t.Errorf("class = %q", chatter.ClassOf(err))
	}
	if msg := de.Message(); !strings.Contains(msg.RU, "HTTP 400") || !strings.Contains(msg.EN, "HTTP 400") {
		t.Errorf("message = %+v", msg)
	}
	if rc.count() != 1 {
		t.Errorf("requests = %d, want 1", rc.count())
	}
}

func TestGivesUpAfterMaxAttemptsAndReportsEachURL(t *testing.T) {
	t.Parallel()
	bad := &receiver{statuses: []int{502, 502, 502, 502, 502}}
	good := &receiver{}
	badSrv, goodSrv := httptest.NewServer(bad), httptest.NewServer(good)
	defer badSrv.Close()
	defer goodSrv.Close()
	n := newNotifier(t, []string{badSrv.URL + "/x?token=s3cr3t", goodSrv.URL}, nil)
	err := n.Notify(t.Context(), sample())
	var de *DeliveryError
	if !errors.As(err, &de) || de.Attempts != DefaultMaxAttempts || de.StatusCode != 502 {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error leaks the query: %v", err)
	}
	if chatter.ClassOf(err) != chatter.ClassTransient {
		t.Errorf("class = %q", chatter.ClassOf(err))
	}
	if bad.count() != DefaultMaxAttempts || good.count() != 1 {
		t.Errorf("bad=%d good=%d", bad.count(), good.count())
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	target := &receiver{}
	targetSrv := httptest.NewServer(target)
	defer targetSrv.Close()
	redir := httptest.NewServer(http.RedirectHandler(targetSrv.URL, http.StatusTemporaryRedirect))
	defer redir.Close()
	n := newNotifier(t, []string{redir.URL}, nil)
	if err := n.Notify(t.Context(), sample()); err == nil {
		t.Fatal("redirect was accepted")
	}
	if target.count() != 0 {
		t.Fatal("notification followed a redirect to an unconfigured URL")
	}
}

func TestNetworkErrorAndCancel(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	ctx, cancel := context.WithCancel(t.Context())
	n, err := New(Config{URLs: []string{url}, Secret: secret, AllowPrivate: true, wait: func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	err = n.Notify(ctx, sample())
	var de *DeliveryError
	if !errors.As(err, &de) || de.StatusCode != 0 || !errors.Is(err, context.Canceled) || de.Attempts != 1 {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, field, en, ru string
		cfg                 Config
	}{
		{"no urls", "Config.URLs", "no URL is given", "не задан ни один адрес", Config{Secret: secret}},
		{"short secret", "Config.Secret", "shorter than 16 bytes", "короче 16 байт", Config{URLs: []string{"https://x"}, Secret: []byte("short")}},
		{"ftp", "Config.URLs", `"ftp://example.com/x" is not an absolute http(s) URL`, "не полный адрес http(s)", Config{URLs: []string{"ftp://example.com/x"}, Secret: secret}},
		{"relative", "Config.URLs", "is not an absolute http(s) URL", "не полный адрес", Config{URLs: []string{"/hook"}, Secret: secret}},
		{"garbage", "Config.URLs", "is not a URL", "не адрес URL", Config{URLs: []string{"http://[::1"}, Secret: secret}},
		{"negative", "Config", "must not be negative", "не могут быть отрицательными", Config{URLs: []string{"https://x"}, Secret: secret, MaxAttempts: -1}},
		{"bad allow", "Config.Allow", `"10.0.0.0/33" is neither`, "не сеть CIDR", Config{URLs: []string{"https://x"}, Secret: secret, Allow: []string{"10.0.0.0/33"}}},
		{"odd transport", "HTTPClient.Transport", "is not an *http.Transport", "не *http.Transport",
			Config{URLs: []string{"https://x"}, Secret: secret, HTTPClient: &http.Client{Transport: roundTripFunc(nil)}}},
		{"own dialer", "HTTPClient.Transport", "own Dial hooks", "свой Dial",
			Config{URLs: []string{"https://x"}, Secret: secret, HTTPClient: &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{}).DialContext}}}},
	} {
		_, err := New(tc.cfg)
		require.Error(t, err, tc.name)
		require.ErrorIs(t, err, chatter.ErrInvalid, tc.name)
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, tc.name)
		if diff := cmp.Diff(tc.field, ce.Field); diff != "" {
			t.Errorf("%s: field (-want +got):\n%s", tc.name, diff)
		}
		if !strings.HasPrefix(err.Error(), "webhooknotify: "+tc.field+": ") || !strings.Contains(err.Error(), tc.en) {
			t.Errorf("%s: Error() = %q; want the field and %q", tc.name, err, tc.en)
		}
		if m := ce.Message(); !strings.Contains(m.RU, tc.ru) || !strings.Contains(m.EN, tc.en) || !strings.Contains(m.RU, tc.field) {
			t.Errorf("%s: Message() = %+v; want %q / %q", tc.name, m, tc.ru, tc.en)
		}
		if strings.Count(err.Error(), "webhooknotify:") != 1 {
			t.Errorf("%s: %q repeats the prefix", tc.name, err)
		}
	}
	// The parse error stays reachable.
	_, err := New(Config{URLs: []string{"http://[::1"}, Secret: secret})
	var ue *url.Error
	require.ErrorAs(t, err, &ue)
	if _, err := New(Config{URLs: []string{"https://user:pw@x"}, Secret: secret}); err != nil {
		t.Errorf("user info URL refused: %v", err)
	}
	// The URL's credentials are not in the error.
	_, err = New(Config{URLs: []string{"ftp://user:pw@example.com/x?token=tok-123"}, Secret: secret})
	require.Error(t, err)
	if strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "tok-123") {
		t.Errorf("error leaks the URL's credentials: %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCheck(t *testing.T) {
	t.Parallel()
	ok := httptest.NewServer(&receiver{})
	defer ok.Close()
	if r := newNotifier(t, []string{ok.URL}, nil).Check().Run(t.Context()); r.Status != chatter.StatusOK {
		t.Errorf("ok receiver: %+v", r)
	}
	bad := httptest.NewServer(&receiver{statuses: []int{403}})
	defer bad.Close()
	r := newNotifier(t, []string{bad.URL}, nil).Check().Run(t.Context())
	if r.Status != chatter.StatusFail || r.Cause.RU == "" || r.Cause.EN == "" || r.Remedy.RU == "" || r.Name != "webhook_notifier" {
		t.Errorf("failing receiver: %+v", r)
	}
}

func FuzzVerify(f *testing.F) {
	body := []byte(`{"id":"1"}`)
	f.Add("1790000000", "v1="+Sign(secret, 1_790_000_000, body), body)
	f.Add("1790000000", "v1=deadbeef,v1=", body)
	f.Add("", "", []byte(nil))
	f.Add("-5", "v0=abc", []byte("x"))
	f.Add("99999999999999999999999", "v1=", []byte("{}"))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		err := Verify(secret, h, body, time.Unix(1_790_000_000, 0), 0)
		if err == nil {
			// Only a correct signature over this exact body may pass.
			n, _ := strconv.ParseInt(ts, 10, 64)
			if !strings.Contains(sig, Sign(secret, n, body)) {
				t.Fatalf("accepted a wrong signature: ts=%q sig=%q", ts, sig)
			}
		}
	})
}
