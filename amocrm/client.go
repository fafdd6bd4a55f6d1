package amocrm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"
)

// Base domains of amoCRM accounts.
const (
	DomainRU    = "amocrm.ru"
	DomainCOM   = "amocrm.com"
	DomainKommo = "kommo.com"
)

// Version is the version of this client, sent in the User-Agent.
const Version = "0.1.0"

const (
	defaultTimeout = 30 * time.Second
	// maxBody bounds a success body (a 250-item page is a few MiB at most).
	maxBody = 64 << 20
)

// Client is an amoCRM API v4 client for one account. It is safe for
// concurrent use by multiple goroutines; create one per account and reuse it.
type Client struct {
	common service // reused by the services

	// Services, one per API area.
	Account      *AccountService
	Companies    *CompaniesService
	Contacts     *ContactsService
	CustomFields *CustomFieldsService
	Leads        *LeadsService
	Links        *LinksService
	Notes        *NotesService
	Pipelines    *PipelinesService
	Tags         *TagsService
	Tasks        *TasksService
	Unsorted     *UnsortedService
	Users        *UsersService
	Webhooks     *WebhooksService

	rc      *resty.Client
	base    atomic.Pointer[url.URL]
	fixed   bool // base set by WithBaseURL
	auth    *authManager
	limiter Limiter
	circuit circuit
	policy  BlockPolicy
	backoff Backoff
	sleep   func(ctx context.Context, d time.Duration) error
	now     func() time.Time
	jitter  func() float64
	hook    func(RequestInfo)
	hooks   atomic.Pointer[[]func(RequestInfo)] // added by Observe
	logger  *slog.Logger
	ua      string

	secretsMu sync.RWMutex
	secrets   []string
}

type service struct{ client *Client }

// Option configures a Client in NewClient.
type Option func(*options) error

type options struct {
	domain     string
	baseURL    *url.URL
	httpClient *http.Client
	timeout    time.Duration
	token      *Token
	oauth      *OAuthConfig
	store      TokenStore
	limiter    Limiter
	backoff    Backoff
	policy     BlockPolicy
	sleep      func(context.Context, time.Duration) error
	now        func() time.Time
	jitter     func() float64
	hook       func(RequestInfo)
	logger     *slog.Logger
	userAgent  string
}

// WithDomain sets the base domain used when NewClient is given a bare
// subdomain: DomainRU (the default), DomainCOM or DomainKommo.
func WithDomain(domain string) Option {
	return func(o *options) error {
		domain = strings.Trim(strings.ToLower(strings.TrimSpace(domain)), ".")
		if domain == "" {
			return errors.New("amocrm: WithDomain: empty domain")
		}
		o.domain = domain
		return nil
	}
}

// WithBaseURL sends all requests to rawURL (scheme and host, e.g. an
// httptest server or amocrmtest), ignoring the subdomain and api_domain.
func WithBaseURL(rawURL string) Option {
	return func(o *options) error {
		u, err := url.Parse(strings.TrimRight(rawURL, "/"))
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("amocrm: WithBaseURL: invalid URL %q", rawURL)
		}
		o.baseURL = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
		return nil
	}
}

// WithHTTPClient sets the *http.Client used underneath (its Transport,
// Timeout, ...). It must not be nil.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return errors.New("amocrm: WithHTTPClient: nil client")
		}
		o.httpClient = hc
		return nil
	}
}

// WithTimeout sets the timeout of each HTTP attempt. Defaults to 30s.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return errors.New("amocrm: WithTimeout: timeout must be positive")
		}
		o.timeout = d
		return nil
	}
}

// WithLongLivedToken authenticates with a long-lived token of a private
// integration. It is never refreshed; a 401 returns *UnauthorizedError.
func WithLongLivedToken(token string) Option {
	return func(o *options) error {
		token = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(token), "Bearer "))
		if token == "" {
			return errors.New("amocrm: WithLongLivedToken: empty token")
		}
		o.token = &Token{AccessToken: token, TokenType: "Bearer"}
		return nil
	}
}

// WithOAuth authenticates with OAuth 2.0 tokens kept in store. The access
// token is refreshed when it expires or on a 401, once per account at a time
// (single-flight). Every pair amoCRM issues is used at once and saved to
// store; a failed save keeps the pair in use and is retried (see
// Client.TokenSaveErr). A token in store without a refresh token is treated
// as long-lived.
func WithOAuth(cfg OAuthConfig, store TokenStore) Option {
	return func(o *options) error {
		if store == nil {
			return errors.New("amocrm: WithOAuth: nil TokenStore")
		}
		if cfg.ClientID == "" || cfg.ClientSecret == "" {
			return errors.New("amocrm: WithOAuth: ClientID and ClientSecret are required")
		}
		o.oauth = &cfg
		o.store = store
		return nil
	}
}

// WithLimiter sets the request pacing. Share one Limiter between the
// clients of one account in a process; between processes use a limiter
// backed by a shared store (amocrmsink.BudgetLimiter, which
// amocrmsink.NewClient wires). Defaults to NewIntervalLimiter(DefaultInterval)
// per client (see DefaultInterval for why not a 7/s token bucket): several
// processes with the default together exceed the account's limit.
func WithLimiter(l Limiter) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("amocrm: WithLimiter: nil limiter (use Unlimited())")
		}
		o.limiter = l
		return nil
	}
}

// WithRateLimit sets the default limiter's rate; see NewLimiter.
func WithRateLimit(rps float64, burst int) Option {
	return func(o *options) error {
		if rps <= 0 {
			return errors.New("amocrm: WithRateLimit: rps must be positive")
		}
		o.limiter = NewLimiter(rps, burst)
		return nil
	}
}

// WithBackoff sets the retry schedule for 429 and retryable read failures.
func WithBackoff(b Backoff) Option {
	return func(o *options) error { o.backoff = b; return nil }
}

// WithBlockPolicy sets when the client stops calling a throttled or
// blocked account (the circuit), and how it probes for the block's end.
func WithBlockPolicy(p BlockPolicy) Option {
	return func(o *options) error { o.policy = p; return nil }
}

// WithSleeper replaces how the client waits between retries. sleep must
// return early with ctx's error when ctx ends. Tests use it to avoid real
// waits.
func WithSleeper(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) error {
		if sleep == nil {
			return errors.New("amocrm: WithSleeper: nil func")
		}
		o.sleep = sleep
		return nil
	}
}

// WithClock replaces time.Now (token expiry, the circuit's probe schedule).
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("amocrm: WithClock: nil func")
		}
		o.now = now
		return nil
	}
}

// WithJitter replaces the random source of backoff jitter; f returns a value
// in [0,1). Tests use it for exact delays.
func WithJitter(f func() float64) Option {
	return func(o *options) error {
		if f == nil {
			return errors.New("amocrm: WithJitter: nil func")
		}
		o.jitter = f
		return nil
	}
}

// WithRequestHook calls hook after every HTTP attempt (for metrics and
// tracing). It must be fast and safe for concurrent use.
func WithRequestHook(hook func(RequestInfo)) Option {
	return func(o *options) error { o.hook = hook; return nil }
}

// WithLogger sets a structured logger (nil, the default, is silent).
// Requests are logged at Debug, throttling and blocks at Warn; tokens and
// bodies are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { o.logger = l; return nil }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(o *options) error { o.userAgent = ua; return nil }
}

// RequestInfo describes one HTTP attempt, for WithRequestHook.
type RequestInfo struct {
	Method string
	// Path is the URL path, without the query (which may carry search terms).
	Path string
	// Status is the HTTP status, 0 when no response arrived.
	Status   int
	Duration time.Duration
	// Retry is 0 for the first attempt of a call, 1 for the first retry, ...
	Retry int
	Err   error
}

var subdomainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// NewClient returns a client for the account at subdomain ("example" →
// https://example.amocrm.ru; see WithDomain). subdomain may also be a full
// host ("example.kommo.com") or URL ("https://example.amocrm.com"). It starts
// no goroutines and makes no requests.
func NewClient(subdomain string, opts ...Option) (*Client, error) {
	o := options{domain: DomainRU, timeout: defaultTimeout}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	c := &Client{
		limiter: o.limiter,
		policy:  o.policy.withDefaults(),
		backoff: o.backoff.withDefaults(),
		sleep:   o.sleep,
		now:     o.now,
		jitter:  o.jitter,
		hook:    o.hook,
		logger:  o.logger,
		ua:      o.userAgent,
	}
	if o.baseURL != nil {
		c.base.Store(o.baseURL)
		c.fixed = true
	} else {
		u, err := accountURL(subdomain, o.domain)
		if err != nil {
			return nil, err
		}
		c.base.Store(u)
	}
	if c.limiter == nil {
		c.limiter = NewIntervalLimiter(DefaultInterval)
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.jitter == nil {
		c.jitter = defaultJitter
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.ua == "" {
		c.ua = "chatter-amocrm-go/" + Version
	}
	if o.httpClient != nil {
		c.rc = resty.NewWithClient(o.httpClient)
	} else {
		c.rc = resty.New().SetTimeout(o.timeout)
	}
	c.rc.SetLogger(discardRestyLogger{}).SetRetryCount(0).SetDebug(false)
	if o.token != nil || o.store != nil {
		c.auth = newAuthManager(c, o.oauth, o.store, o.token)
	}
	c.common.client = c
	c.Account = (*AccountService)(&c.common)
	c.Companies = (*CompaniesService)(&c.common)
	c.Contacts = (*ContactsService)(&c.common)
	c.CustomFields = (*CustomFieldsService)(&c.common)
	c.Leads = (*LeadsService)(&c.common)
	c.Links = (*LinksService)(&c.common)
	c.Notes = (*NotesService)(&c.common)
	c.Pipelines = (*PipelinesService)(&c.common)
	c.Tags = (*TagsService)(&c.common)
	c.Tasks = (*TasksService)(&c.common)
	c.Unsorted = (*UnsortedService)(&c.common)
	c.Users = (*UsersService)(&c.common)
	c.Webhooks = (*WebhooksService)(&c.common)
	return c, nil
}

// accountURL builds https://host for a subdomain, host or URL.
func accountURL(sub, domain string) (*url.URL, error) {
	s := strings.ToLower(strings.TrimSpace(sub))
	if s == "" {
		return nil, errors.New("amocrm: empty subdomain")
	}
	host := s
	scheme := "https"
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("amocrm: invalid account URL %q", sub)
		}
		scheme, host = u.Scheme, u.Host
	} else {
		host = strings.TrimRight(strings.SplitN(s, "/", 2)[0], ".")
		if !strings.Contains(host, ".") {
			if !subdomainRE.MatchString(host) {
				return nil, fmt.Errorf("amocrm: invalid subdomain %q", sub)
			}
			host = host + "." + domain
		}
	}
	if strings.HasPrefix(host, "www.") {
		return nil, fmt.Errorf("amocrm: %q is the common site, not an account: use the account subdomain (example.amocrm.ru)", host)
	}
	return &url.URL{Scheme: scheme, Host: host}, nil
}

// BaseURL returns the account's base URL (scheme and host).
func (c *Client) BaseURL() string { return c.base.Load().String() }

// Subdomain returns the account subdomain (the first label of the host).
func (c *Client) Subdomain() string {
	h := c.base.Load().Hostname()
	if i := strings.IndexByte(h, '.'); i > 0 {
		return h[:i]
	}
	return h
}

type discardRestyLogger struct{}

func (discardRestyLogger) Errorf(string, ...any) {}
func (discardRestyLogger) Warnf(string, ...any)  {}
func (discardRestyLogger) Debugf(string, ...any) {}

// Response is an amoCRM response. The body has already been read and
// closed. For lists, Page and NextPage come from _page and _links.next
// (NextPage is 0 on the last page).
type Response struct {
	*http.Response
	// RequestID is the X-Request-Id header; quote it to amoCRM support.
	RequestID string
	// Page is the page returned (lists only).
	Page int
	// NextPage is the next page number, 0 when this is the last page.
	NextPage int
	// Retries is how many times the call was re-sent (429, read failures,
	// a 401 refresh).
	Retries int
}

// request is one logical API call; body is encoded once so retries resend
// the same bytes.
type request struct {
	method string
	path   string
	query  url.Values
	body   []byte
	header http.Header
	// token overrides authentication (OAuth endpoints), "-" for none.
	noAuth bool
	abs    string // absolute URL (OAuth subdomain discovery)
	probe  bool   // Client.Probe: sent whatever the circuit's schedule, never retried
}

func (r *request) isRead() bool { return r.method == http.MethodGet || r.method == http.MethodHead }

func (c *Client) newRequest(method, path string, query url.Values, body any) (*request, error) {
	r := &request{method: method, path: path, query: query}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("amocrm: encode %s %s body: %w", method, path, err)
		}
		r.body = b
	}
	return r, nil
}

// Do sends an API request and decodes the JSON response into v (when v is
// not nil and the status is not 204). path is relative to the account, e.g.
// "/api/v4/leads"; body is JSON-encoded. It applies the same auth, pacing,
// retries and error types as the typed methods; use it for endpoints this
// package does not cover.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, v any) (*Response, error) {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := c.newRequest(method, path, query, body)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, req, v)
}

func (c *Client) do(ctx context.Context, req *request, v any) (*Response, error) {
	var (
		refreshed     bool
		retries429    int
		retriesRead   int
		retry         int
		lastBearerTok string
		probe         bool // this request is the open circuit's probe
	)
	defer func() {
		if probe {
			c.circuit.abandon(c.now(), c.policy)
		}
	}()
	admit := func() error {
		if probe {
			return nil
		}
		p, blocked := c.circuit.admit(c.now(), c.policy, req.probe)
		if blocked != nil {
			blocked.now = c.now
			return blocked
		}
		probe = p
		return nil
	}
	for ; ; retry++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := admit(); err != nil {
			return nil, err
		}
		if c.auth != nil && !req.noAuth {
			// A due retry of a failed token save, before the slot rather
			// than between the slot and the send.
			c.auth.retrySave(ctx)
		}
		// The circuit opening while this request waits for its slot ends
		// the wait: the request returns the *BlockedError at once instead
		// of sleeping toward the pause (and its deadline).
		wctx, stopWatch := c.circuit.watch(ctx)
		err := c.limiter.Wait(wctx)
		stopWatch()
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, cerr
			}
			if aerr := admit(); aerr != nil {
				return nil, aerr
			}
			return nil, err
		}
		// A block may have opened while this request waited for its slot.
		if err := admit(); err != nil {
			return nil, err
		}
		var bearer string
		if c.auth != nil && !req.noAuth {
			tok, err := c.auth.accessToken(ctx)
			if err != nil {
				return nil, err
			}
			bearer = tok
			lastBearerTok = tok
		}
		start := c.now()
		hr, body, err := c.send(ctx, req, bearer)
		dur := c.now().Sub(start)
		status := 0
		if hr != nil {
			status = hr.StatusCode
		}
		if err != nil {
			// A request that never left the machine is retried and
			// reported as such for every method; only a write that may
			// have reached amoCRM has an unknown outcome.
			ne, notSent := err.(*NetworkError)
			if notSent {
				ne.Err = c.redactErr(ne.Err)
			} else {
				err = c.redactErr(err)
			}
			c.report(ctx, req, status, dur, retry, err)
			if (req.isRead() || notSent) && !req.probe && ctx.Err() == nil && retriesRead < c.backoff.Retries {
				d := c.backoff.delay(retriesRead, c.jitter)
				retriesRead++
				if serr := c.sleep(ctx, d); serr != nil {
					return nil, serr
				}
				continue
			}
			if cerr := ctx.Err(); cerr != nil && (req.isRead() || notSent) {
				return nil, cerr
			}
			if notSent {
				return nil, ne
			}
			if !req.isRead() {
				return nil, &OutcomeUnknownError{Method: req.method, Path: req.path, Err: err}
			}
			return nil, fmt.Errorf("amocrm: %s %s: %w", req.method, req.path, err)
		}
		resp := &Response{Response: hr, RequestID: hr.Header.Get("X-Request-Id"), Retries: retry}
		if status != http.StatusTooManyRequests && (status != http.StatusForbidden || isJSON(body)) {
			// amoCRM answers: an open circuit (this was its probe, or a
			// request granted before it opened) closes.
			probe = false
			if closed, since := c.circuit.answered(status >= 200 && status < 300); closed {
				c.logger.LogAttrs(ctx, slog.LevelInfo, "amocrm circuit closed: the account answers again",
					slog.String("subdomain", c.Subdomain()), slog.Int("status", status),
					slog.Duration("blocked_for", c.now().Sub(since).Round(time.Millisecond)))
			}
		}
		if status >= 200 && status < 300 {
			c.report(ctx, req, status, dur, retry, nil)
			if v != nil && status != http.StatusNoContent && len(bytes.TrimSpace(body)) > 0 {
				if err := unmarshalLenient(body, v); err != nil {
					return resp, fmt.Errorf("amocrm: %s %s: decode response: %w", req.method, req.path, err)
				}
			}
			return resp, nil
		}
		ae := c.apiError(req, hr, body)
		c.report(ctx, req, status, dur, retry, ae)
		switch {
		case status == http.StatusUnauthorized:
			if c.auth != nil && c.auth.canRefresh() && !refreshed && !req.noAuth {
				refreshed = true
				if err := c.auth.refresh(ctx, lastBearerTok, false); err != nil && !isNotSaved(err) {
					return resp, err
				}
				continue
			}
			reason := "access token rejected"
			switch {
			case c.auth == nil:
				reason = "no credentials configured"
			case refreshed:
				reason = "access token rejected after refresh"
			case !c.auth.canRefresh():
				reason = "long-lived token rejected (revoked or expired)"
			}
			return resp, &UnauthorizedError{APIError: ae, Reason: reason}
		case status == http.StatusTooManyRequests:
			now := c.now()
			if until, opened := c.circuit.record429(now, c.policy); opened {
				probe = false
				c.throttled(ctx, until.Sub(now))
				st := c.circuit.state()
				c.logger.LogAttrs(ctx, slog.LevelWarn, "amocrm circuit open after repeated 429",
					slog.String("subdomain", c.Subdomain()), slog.Time("next_probe", until))
				return resp, &BlockedError{StatusCode: st.StatusCode, Until: until, Since: st.Since, Cause: ae, now: c.now}
			}
			if req.probe {
				return resp, &RateLimitError{APIError: ae, retryAfter: c.policy.ProbeMin}
			}
			d := c.backoff.delay(retries429, c.jitter)
			if ra := retryAfterHeader(hr, now); ra > d {
				d = ra
			}
			c.throttled(ctx, d)
			if retries429 >= c.backoff.Retries {
				return resp, &RateLimitError{APIError: ae, retryAfter: d}
			}
			if dl, ok := ctx.Deadline(); ok && dl.Sub(now) < d {
				return resp, &RateLimitError{APIError: ae, retryAfter: d}
			}
			retries429++
			c.logger.LogAttrs(ctx, slog.LevelWarn, "amocrm rate limited, backing off",
				slog.String("path", req.path), slog.Duration("delay", d), slog.Int("attempt", retries429))
			if err := c.sleep(ctx, d); err != nil {
				return resp, err
			}
			continue
		case status == http.StatusForbidden && !isJSON(body):
			probe = false
			now := c.now()
			until := c.circuit.block(now, c.policy, status)
			c.throttled(ctx, until.Sub(now))
			st := c.circuit.state()
			c.logger.LogAttrs(ctx, slog.LevelWarn, "amocrm API access blocked (403 HTML), circuit open",
				slog.String("subdomain", c.Subdomain()), slog.Time("next_probe", until),
				slog.Duration("blocked_for", now.Sub(st.Since).Round(time.Millisecond)))
			return resp, &BlockedError{StatusCode: status, Until: until, Since: st.Since, Cause: ae, now: c.now}
		case status >= 500:
			if req.isRead() && retriesRead < c.backoff.Retries {
				d := c.backoff.delay(retriesRead, c.jitter)
				retriesRead++
				if err := c.sleep(ctx, d); err != nil {
					return resp, err
				}
				continue
			}
			if !req.isRead() {
				return resp, &OutcomeUnknownError{Method: req.method, Path: req.path, Err: ae}
			}
			return resp, ae
		case status == http.StatusNotFound:
			return resp, &NotFoundError{ae}
		case status == http.StatusPaymentRequired:
			return resp, &PaymentRequiredError{ae}
		}
		return resp, ae
	}
}

// Probe sends one cheap request (GET /api/v4/account) through the limiter
// now, whatever the circuit's probe schedule, and never retries it. It
// returns nil when amoCRM answers (an open circuit closes), a
// *BlockedError when the account is still blocked (the circuit opens or
// stays open, its next probe scheduled by BlockPolicy), or the error that
// kept the probe from getting an answer. Processes sharing an account use
// it to learn, one probe for all of them, that a block has ended (see
// amocrmsink.Sink.Watch); a single process needs no call: when a probe is
// due, the next request is the probe.
func (c *Client) Probe(ctx context.Context) error {
	req, err := c.newRequest(http.MethodGet, "/api/v4/account", nil, nil)
	if err != nil {
		return err
	}
	req.probe = true
	_, err = c.do(ctx, req, nil)
	var be *BlockedError
	if errors.As(err, &be) {
		return err
	}
	var ae *APIError
	if err != nil && errors.As(err, &ae) && ae.StatusCode != http.StatusTooManyRequests {
		return nil // an answer: the account is not blocked
	}
	return err
}

// Observe calls hook after every HTTP attempt from now on, besides the
// WithRequestHook hook (for statistics a component of its own keeps, such
// as amocrmsink's RequestStats). hook must be fast and safe for concurrent
// use. It is safe to call at any time.
func (c *Client) Observe(hook func(RequestInfo)) {
	if hook == nil {
		return
	}
	for {
		old := c.hooks.Load()
		var next []func(RequestInfo)
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, hook)
		if c.hooks.CompareAndSwap(old, &next) {
			return
		}
	}
}

// BlockPolicy returns the client's block policy, defaults applied.
func (c *Client) BlockPolicy() BlockPolicy { return c.policy }

// Circuit reports the client's circuit: whether requests to the account are
// refused after a block, since when, and when it probes next.
func (c *Client) Circuit() CircuitState { return c.circuit.state() }

// Unblock closes the circuit and ends the limiter's pause (when the limiter
// is a Resumer): the account answers again, as another process's probe
// found. It reports whether the circuit was open.
func (c *Client) Unblock(ctx context.Context) bool {
	was := c.circuit.reset()
	if r, ok := c.limiter.(Resumer); ok {
		if err := r.Resume(ctx); err != nil {
			c.logger.LogAttrs(ctx, slog.LevelWarn, "amocrm limiter could not end its pause",
				slog.String("subdomain", c.Subdomain()), slog.String("error", c.redact(err.Error())))
		}
	}
	if was {
		c.logger.LogAttrs(ctx, slog.LevelInfo, "amocrm circuit closed: the account answers again (told by another process)",
			slog.String("subdomain", c.Subdomain()))
	}
	return was
}

// throttled tells the limiter amoCRM pushed back. A limiter that could not
// pass the pause on (a shared budget whose store failed) is logged; the
// client's own backoff and circuit still apply.
func (c *Client) throttled(ctx context.Context, d time.Duration) {
	if err := c.limiter.Throttled(ctx, d); err != nil {
		c.logger.LogAttrs(ctx, slog.LevelWarn, "amocrm limiter could not record the pause",
			slog.String("subdomain", c.Subdomain()), slog.Duration("pause", d), slog.String("error", c.redact(err.Error())))
	}
}

func retryAfterHeader(hr *http.Response, now time.Time) time.Duration {
	return parseRetryAfter(hr.Header.Get("Retry-After"), now)
}

// send performs one HTTP attempt and reads the body (bounded). A failure
// before the request was sent is a *NetworkError.
func (c *Client) send(ctx context.Context, req *request, bearer string) (*http.Response, []byte, error) {
	u := req.abs
	if u == "" {
		base := *c.base.Load()
		base.Path = strings.TrimRight(base.Path, "/") + req.path
		if len(req.query) > 0 {
			base.RawQuery = req.query.Encode()
		}
		u = base.String()
	}
	trace := &sendTrace{}
	r := c.rc.R().SetContext(trace.attach(ctx)).SetDoNotParseResponse(true).
		SetHeader("User-Agent", c.ua).
		SetHeader("Accept", "application/hal+json, application/json, application/problem+json")
	if bearer != "" {
		r.SetHeader("Authorization", "Bearer "+bearer)
	}
	for k, vs := range req.header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if req.body != nil {
		r.SetHeader("Content-Type", "application/json").SetBody(req.body)
	}
	res, err := r.Execute(req.method, u)
	if err != nil {
		if res != nil && res.RawBody() != nil {
			res.RawBody().Close()
		}
		if trace.notSent(err) {
			return nil, nil, &NetworkError{Method: req.method, Path: req.path, Err: err}
		}
		return nil, nil, err
	}
	hr := res.RawResponse
	rb := res.RawBody()
	defer rb.Close()
	limit := int64(maxBody)
	if hr.StatusCode >= 300 {
		limit = maxErrorBody
	}
	body, err := io.ReadAll(io.LimitReader(rb, limit))
	if err != nil {
		return hr, nil, err
	}
	// Drain a little so the connection can be reused.
	_, _ = io.CopyN(io.Discard, rb, 4<<10)
	return hr, body, nil
}

func (c *Client) report(ctx context.Context, req *request, status int, dur time.Duration, retry int, err error) {
	hooks := c.hooks.Load()
	if c.hook != nil || hooks != nil {
		ri := RequestInfo{Method: req.method, Path: req.path, Status: status, Duration: dur, Retry: retry, Err: err}
		if c.hook != nil {
			c.hook(ri)
		}
		if hooks != nil {
			for _, h := range *hooks {
				h(ri)
			}
		}
	}
	if c.logger.Enabled(ctx, slog.LevelDebug) {
		attrs := []slog.Attr{
			slog.String("method", req.method), slog.String("path", req.path),
			slog.Int("status", status), slog.Duration("duration", dur), slog.Int("retry", retry),
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", c.redact(err.Error())))
		}
		c.logger.LogAttrs(ctx, slog.LevelDebug, "amocrm request", attrs...)
	}
}

// apiError builds an *APIError from a failed response.
func (c *Client) apiError(req *request, hr *http.Response, body []byte) *APIError {
	ae := &APIError{StatusCode: hr.StatusCode, Method: req.method, Path: req.path, RequestID: hr.Header.Get("X-Request-Id")}
	if isJSON(body) {
		var p struct {
			Title            string            `json:"title"`
			Type             string            `json:"type"`
			Detail           string            `json:"detail"`
			Hint             string            `json:"hint"`
			ValidationErrors []ValidationError `json:"validation-errors"`
			Error            string            `json:"error"`
			ErrorDescription string            `json:"error_description"`
			Message          string            `json:"message"`
		}
		if unmarshalLenient(body, &p) == nil {
			ae.Title = c.redact(p.Title)
			ae.Type = p.Type
			ae.Detail = c.redact(cmpOr(p.Detail, p.ErrorDescription, p.Message))
			ae.Hint = c.redact(cmpOr(p.Hint, p.Error))
			ae.ValidationErrors = p.ValidationErrors
			for i := range ae.ValidationErrors {
				for j := range ae.ValidationErrors[i].Errors {
					fe := &ae.ValidationErrors[i].Errors[j]
					fe.Detail = c.redact(fe.Detail)
				}
			}
		}
	}
	snippet := body
	if len(snippet) > 1024 {
		snippet = snippet[:1024]
	}
	ae.Body = c.redact(string(snippet))
	return ae
}

func cmpOr(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// addSecret registers a value that must never appear in errors or logs.
func (c *Client) addSecret(s string) {
	if len(s) < 6 {
		return
	}
	c.secretsMu.Lock()
	defer c.secretsMu.Unlock()
	for _, x := range c.secrets {
		if x == s {
			return
		}
	}
	c.secrets = append(c.secrets, s)
	if len(c.secrets) > 16 { // keep the most recent generations only
		c.secrets = c.secrets[len(c.secrets)-16:]
	}
}

// redact replaces known secrets in s.
func (c *Client) redact(s string) string {
	c.secretsMu.RLock()
	defer c.secretsMu.RUnlock()
	for _, x := range c.secrets {
		if strings.Contains(s, x) {
			s = strings.ReplaceAll(s, x, "[REDACTED]")
		}
	}
	return redactBearer(s)
}

var bearerRE = regexp.MustCompile(`(?i)(bearer\s+|access_token=|refresh_token=|client_secret=|code=)[A-Za-z0-9._~+/=-]{6,}`)

// redactBearer removes anything that looks like a bearer token or secret
// query parameter, even when the value is not a registered secret.
func redactBearer(s string) string {
	if !strings.ContainsAny(s, "=Bb") {
		return s
	}
	return bearerRE.ReplaceAllString(s, "${1}[REDACTED]")
}

// redactedError keeps the cause for errors.As/Is while redacting its text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (c *Client) redactErr(err error) error {
	msg := err.Error()
	if r := c.redact(msg); r != msg {
		return &redactedError{msg: r, err: err}
	}
	return err
}
