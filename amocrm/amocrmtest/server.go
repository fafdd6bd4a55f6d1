package amocrmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// maxBody is the largest request body the server reads; larger bodies get 413.
const maxBody = 4 << 20

// Server is a fake amoCRM account served over HTTP. It holds one account with its
// users, pipelines, custom fields, leads, contacts, companies, notes, tasks, tags,
// unsorted items and webhooks in memory, and answers the API v4 and OAuth endpoints
// in amoCRM's wire format.
//
// A Server is safe for concurrent use. Accessor methods return copies.
type Server struct {
	// URL is the base URL of the server ("http://127.0.0.1:port"), without a
	// trailing slash. It is set by NewServer and Start.
	URL string

	now       func() time.Time
	log       *slog.Logger
	hookHTTP  *http.Client
	mux       *router
	ts        *httptest.Server
	hs        *http.Server
	hooksWG   sync.WaitGroup
	closeOnce sync.Once

	mu          sync.Mutex
	st          *state
	integration Integration
	limit       RateLimit
	rl          rateState
	faults      []*faultEntry
	faultSeq    int
	rng         *rand.Rand
	reqs        []Request
	reqSeq      int64
	oauth       oauthState
	dupControl  bool
	searchLag   time.Duration
	deliveries  []WebhookDelivery
	hookQueues  map[string][]url.Values // pending posts per destination; present while a worker runs

	pendingSeeds []func(*Server)
}

// Option configures a Server created by New or NewServer.
type Option func(*Server)

// WithClock makes the server read the time from now instead of time.Now. Token
// expiry, the rate limiter, the block period, entity timestamps and the request log
// all use it, so tests can move time with a ManualClock instead of sleeping.
func WithClock(now func() time.Time) Option {
	return func(s *Server) {
		if now != nil {
			s.now = now
		}
	}
}

// WithAccount sets the account the server hosts. Zero fields keep their defaults
// (see DefaultAccount).
func WithAccount(a Account) Option {
	return func(s *Server) {
		d := DefaultAccount()
		if a.ID == 0 {
			a.ID = d.ID
		}
		if a.Name == "" {
			a.Name = d.Name
		}
		if a.Subdomain == "" {
			a.Subdomain = d.Subdomain
		}
		if a.AmojoID == "" {
			a.AmojoID = d.AmojoID
		}
		if a.UUID == "" {
			a.UUID = d.UUID
		}
		if a.UsersGroups == nil {
			a.UsersGroups = d.UsersGroups
		}
		s.st.account = a
	}
}

// WithIntegration registers the OAuth integration (client id, secret and redirect
// URI) the token endpoint accepts. Zero fields keep their defaults (see
// DefaultIntegration).
func WithIntegration(in Integration) Option {
	return func(s *Server) {
		d := DefaultIntegration()
		if in.ClientID == "" {
			in.ClientID = d.ClientID
		}
		if in.ClientSecret == "" {
			in.ClientSecret = d.ClientSecret
		}
		if in.RedirectURI == "" {
			in.RedirectURI = d.RedirectURI
		}
		s.integration = in
	}
}

// WithRateLimit sets the rate limit and the block policy. Zero fields keep their
// defaults; negative PerSecond or BlockAfter disable that part.
func WithRateLimit(rl RateLimit) Option {
	return func(s *Server) { s.limit = rl.withDefaults() }
}

// WithLogger makes the server log each request at debug level and webhook delivery
// failures at warn level. Tokens are never logged. A nil logger is silent (the
// default).
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) {
		if l != nil {
			s.log = l
		}
	}
}

// WithFaultSeed seeds the random source used by fraction-based faults, so a run is
// reproducible. The default seed is 1.
func WithFaultSeed(seed uint64) Option {
	return func(s *Server) { s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
}

// WithWebhookClient sets the HTTP client used to deliver account webhooks. The
// default has a 5 second timeout.
func WithWebhookClient(c *http.Client) Option {
	return func(s *Server) {
		if c != nil {
			s.hookHTTP = c
		}
	}
}

// WithDuplicateControl turns duplicate control of POST /api/v4/leads/complex on or
// off. When on (the default), a new contact whose phone or e-mail matches an
// existing contact is not created: the lead is linked to the existing contact and
// the result carries merged: true.
func WithDuplicateControl(on bool) Option {
	return func(s *Server) { s.dupControl = on }
}

// WithSearchLag makes query= (the full-text search of leads, contacts and
// companies) see a write only lag after it was made, by the server clock, as
// amoCRM's search index does: it promises no time within which a new or
// changed entity becomes searchable. Until then query= matches the entity as
// it was before the write (a new entity not at all). Every other way of
// reading (GET by id, filter[id], filter[created_at], with=leads,
// with=contacts, ...) sees the write at once. Entities seeded with AddLead,
// AddContact, AddCompany or WithSeed are searchable at once. The default is
// no lag; see also SetSearchLag.
func WithSearchLag(lag time.Duration) Option {
	return func(s *Server) { s.searchLag = max(lag, 0) }
}

// WithSeed runs seed functions (such as DemoAccount) on the new server.
func WithSeed(seeds ...func(*Server)) Option {
	return func(s *Server) { s.pendingSeeds = append(s.pendingSeeds, seeds...) }
}

// New returns a server that is not listening yet: use it as an http.Handler, or
// call Start. It starts no goroutines. Seeds given with WithSeed run after all
// other options.
func New(opts ...Option) *Server {
	s := &Server{
		now:         time.Now,
		log:         slog.New(slog.DiscardHandler),
		hookHTTP:    &http.Client{Timeout: 5 * time.Second},
		st:          newState(),
		integration: DefaultIntegration(),
		limit:       RateLimit{}.withDefaults(),
		rng:         rand.New(rand.NewPCG(1, 1^0x9e3779b97f4a7c15)),
		dupControl:  true,
		oauth:       newOAuthState(),
	}
	for _, o := range opts {
		o(s)
	}
	s.mux = s.routes()
	// Seeds run last so they see the final clock and account.
	pending := s.pendingSeeds
	s.pendingSeeds = nil
	for _, f := range pending {
		f(s)
	}
	return s
}

// NewServer starts a server on a loopback port for the test and closes it when the
// test ends, like httptest.NewServer.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := New(opts...)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Start listens on addr (such as "127.0.0.1:8787" or "127.0.0.1:0") and serves in
// a background goroutine until Close. It sets URL.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("amocrmtest: listen: %w", err)
	}
	s.URL = "http://" + ln.Addr().String()
	s.hs = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("amocrmtest: serve", slog.String("error", err.Error()))
		}
	}()
	return nil
}

// Close stops the listener started by NewServer or Start and waits for webhook
// deliveries in flight. It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.ts != nil {
			s.ts.Close()
		}
		if s.hs != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = s.hs.Shutdown(ctx)
		}
		s.hooksWG.Wait()
	})
	return err
}

// HTTPClient returns an HTTP client for talking to the server.
func (s *Server) HTTPClient() *http.Client {
	if s.ts != nil {
		return s.ts.Client()
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// ServeHTTP serves the amoCRM API: it records the request, applies the block, the
// rate limit and injected faults, then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	s.mu.Lock()
	s.reqSeq++
	reqID := fmt.Sprintf("%016x", uint64(s.reqSeq)*0x9e3779b97f4a7c15)
	now := s.now()
	s.mu.Unlock()
	rec.Header().Set("X-Request-Id", reqID)
	// amoCRM's Date header is its own clock, the one created_at is read from.
	rec.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	defer func() { s.record(r, body, rec, now) }()

	if err != nil || len(body) > maxBody {
		writeProblem(rec, http.StatusRequestEntityTooLarge, "Request body too large", nil)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	isAPI := strings.HasPrefix(r.URL.Path, "/api/")
	s.mu.Lock()
	verdict := s.admit(now, isAPI)
	s.mu.Unlock()
	switch verdict {
	case http.StatusForbidden:
		writeHTML(rec, http.StatusForbidden)
		return
	case http.StatusTooManyRequests:
		writeHTML(rec, http.StatusTooManyRequests)
		return
	}

	f := s.takeFault(r.Method, r.URL.Path)
	if f != nil && f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			writeHTML(rec, http.StatusGatewayTimeout)
			return
		}
	}
	if f != nil && f.Status != 0 {
		if f.ApplyThenFail {
			s.mux.ServeHTTP(httptest.NewRecorder(), r)
		}
		writeHTML(rec, f.Status)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// recorder captures the status and size of a response for the request log.
type recorder struct {
	http.ResponseWriter
	status int
	size   int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status = code
		r.wrote = true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.size += n
	return n, err
}

// baseURL returns the scheme and host the request was addressed to.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// hostOf returns the host of a URL, or "" if it cannot be parsed.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// ManualClock is a clock for tests that only moves when told to. Pass its Now
// method to WithClock. It is safe for concurrent use.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock stopped at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
