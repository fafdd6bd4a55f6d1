package tgparse

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"sync"
	"time"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/session"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/telegram/dcs"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"
	"golang.org/x/net/proxy"
	"golang.org/x/time/rate"

	"github.com/chatterhq/sdk/chatter"
)

// Store is the part of a chatter.Store that tgparse uses: session blobs,
// the leases that guard them, and per-chat checkpoints. chatter.Store
// implementations (chattertest.MemStore, sqlitestore, pgstore) satisfy it.
type Store interface {
	chatter.SessionStore
	chatter.LeaseStore
	chatter.CheckpointStore
}

// Endpoint points clients at a Telegram other than the production one: the
// in-process test server of package tgparsetest, or Telegram's test DCs. A
// nil *Endpoint means production.
type Endpoint struct {
	DC         int
	DCList     dcs.List
	PublicKeys []telegram.PublicKey
}

// Defaults of Connection.
const (
	DefaultLeaseTTL       = 30 * time.Second
	DefaultConnectTimeout = 30 * time.Second
	DefaultMaxFloodWait   = 60 * time.Second
	DefaultRequestRate    = 5.0 // requests per second per account
	DefaultRequestBurst   = 5
	floodRetries          = 3
)

// Connection is how tgparse reaches Telegram and its store; Login and
// Source share it. Zero fields take the documented defaults.
type Connection struct {
	// Workspace the sessions, leases and checkpoints belong to. Required.
	Workspace string
	// Store keeps sessions, leases and checkpoints. Required.
	Store Store
	// Sealer, when set, seals session blobs before they reach Store (the
	// SQL stores seal at rest as well).
	Sealer *chatter.Sealer
	// Holder names this instance in leases; it must be unique per running
	// Source (two Sources with the same Holder would share sessions). A
	// stable name such as the host name lets a restarted instance take its
	// own lease back at once. Defaults to a random id per Source. Login
	// steps always add a unique suffix.
	Holder string
	// LeaseTTL of the session lease, renewed every LeaseTTL/3. Defaults to
	// 30 s: a crashed instance frees the account after at most that long.
	LeaseTTL time.Duration
	// ConnectTimeout bounds connecting to Telegram (through the proxy);
	// after it the account is reported as KindProxy, or KindUnreachable
	// when it has no proxy. Defaults to 30 s.
	ConnectTimeout time.Duration
	// RequestRate is the steady request rate per account (requests per
	// second) and RequestBurst its burst. Defaults: 5/s, burst 5.
	RequestRate  float64
	RequestBurst int
	// MaxFloodWait is the longest FLOOD_WAIT waited out in place; longer
	// waits come back as an *Error of KindFloodWait (the pool then hands
	// the chat to another account). Defaults to 60 s.
	MaxFloodWait time.Duration
	// Endpoint overrides the Telegram servers (tests). Nil is production.
	Endpoint *Endpoint
	// Logger receives diagnostics; nil is silent. Secrets are never logged.
	Logger *slog.Logger
	// Now is the clock for checkpoints and states. Defaults to time.Now.
	Now func() time.Time

	// dial replaces the TCP dial to Telegram or the proxy (tests); nil is
	// net.Dialer.
	dial dcs.DialFunc
}

func (c *Connection) validate() error {
	switch {
	case c.Workspace == "":
		return configErr("workspace is empty")
	case c.Store == nil:
		return configErr("store is nil")
	case c.LeaseTTL < 0 || c.ConnectTimeout < 0 || c.MaxFloodWait < 0 || c.RequestRate < 0 || c.RequestBurst < 0:
		return configErr("durations and rates must not be negative")
	}
	return nil
}

func (c *Connection) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Connection) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Connection) holder() string {
	if c.Holder != "" {
		return c.Holder
	}
	return "tgparse-" + randomID()
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// liveSession is one connected client of one account, inside its lease.
type liveSession struct {
	acct   Account
	client *telegram.Client
	api    *tg.Client
	lease  *chatter.Lease
}

// clientHooks lets the Source attach live updates to a client.
type clientHooks struct {
	updates     telegram.UpdateHandler
	middlewares []telegram.Middleware
	onFlood     func(fw *FloodWaitError) // called for every flood wait, waited out or not
}

// withSession holds acct's session lease, connects, and runs fn with the
// connected client. A lease held elsewhere is an *Error of
// KindSessionInUse at once; a connection that does not come up within
// ConnectTimeout, or before ctx ends, is KindProxy (KindUnreachable for an
// account without a proxy). It returns nil only when fn ran and returned
// nil.
func (c *Connection) withSession(ctx context.Context, holder string, acct Account, hooks clientHooks, fn func(ctx context.Context, s *liveSession) error) error {
	if err := acct.Validate(); err != nil {
		return err
	}
	ttl := cmp.Or(c.LeaseTTL, DefaultLeaseTTL)
	err := chatter.HoldLease(ctx, c.Store, c.Workspace, chatter.SessionLeaseName(acct.ID), holder, ttl,
		func(ctx context.Context, l *chatter.Lease) error {
			return c.connect(ctx, acct, l, hooks, fn)
		})
	if errors.Is(err, chatter.ErrLeaseHeld) {
		return &Error{Kind: KindSessionInUse, Account: acct.ID, Err: err}
	}
	return err
}

func (c *Connection) connect(ctx context.Context, acct Account, l *chatter.Lease, hooks clientHooks, fn func(ctx context.Context, s *liveSession) error) error {
	dw := &dialWatch{}
	resolver, err := c.resolver(acct, dw)
	if err != nil {
		return err
	}
	sessions := &firstSave{Storage: NewSessionStorage(c.Store, c.Sealer, c.Workspace, acct.ID, l), done: make(chan struct{})}
	opts := telegram.Options{
		SessionStorage: sessions,
		Resolver:       resolver,
		Device: telegram.DeviceConfig{
			DeviceModel:    acct.Device.Model,
			SystemVersion:  acct.Device.System,
			AppVersion:     acct.Device.AppVersion,
			SystemLangCode: acct.Device.LangCode,
			LangCode:       acct.Device.LangCode,
		},
		UpdateHandler: hooks.updates,
		NoUpdates:     hooks.updates == nil,
		Middlewares: append([]telegram.Middleware{
			floodMiddleware{maxWait: cmp.Or(c.MaxFloodWait, DefaultMaxFloodWait), now: c.now, onFlood: hooks.onFlood},
			rateMiddleware{lim: rate.NewLimiter(rate.Limit(cmp.Or(c.RequestRate, DefaultRequestRate)), cmp.Or(c.RequestBurst, DefaultRequestBurst))},
		}, hooks.middlewares...),
		// Stop reconnecting on a dead session instead of looping.
		OnSelfError: func(ctx context.Context, err error) error {
			if tgerr.Is(err, "AUTH_KEY_DUPLICATED", "USER_DEACTIVATED", "USER_DEACTIVATED_BAN", "SESSION_REVOKED") {
				return err
			}
			return nil
		},
	}
	if e := c.Endpoint; e != nil {
		opts.DC, opts.DCList, opts.PublicKeys = e.DC, e.DCList, e.PublicKeys
	}
	client := telegram.NewClient(acct.APIID, acct.APIHash, opts)

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	started := make(chan struct{})
	timeout := cmp.Or(c.ConnectTimeout, DefaultConnectTimeout)
	go func() {
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-started:
		case <-runCtx.Done():
		case <-t.C:
			select {
			case <-started: // connected just in time
			default:
				cancel(notConnected(acct, fmt.Errorf("not connected after %s: %w", timeout, dw.lastErr())))
			}
		}
	}()
	var cbErr error // what the callback returned
	err = client.Run(runCtx, func(ctx context.Context) error {
		close(started)
		cbErr = c.afterConnect(ctx, acct, l, client, sessions, timeout, fn)
		return cbErr
	})
	ran := isClosed(started)
	// gotd's Run returns nil when its context is canceled, even when the
	// callback did not run or returned a cancellation: never report a step
	// that did not complete as done.
	if err == nil && ran {
		err = cbErr
	}
	if err == nil && ran {
		return nil
	}
	if cause := context.Cause(runCtx); cause != nil && ctx.Err() == nil {
		// Only the watchdog above cancels runCtx while ctx is alive.
		return cause
	}
	if !ran && (err == nil || ctx.Err() != nil) {
		// ctx ended (or Run gave up) before the connection came up.
		why := context.Cause(ctx)
		if why == nil {
			why = errors.New("the client stopped")
		}
		return notConnected(acct, fmt.Errorf("not connected: %w (last dial: %v)", why, dw.lastErr()))
	}
	if ctx.Err() == nil {
		return classify(err, acct.ID, "", c.now())
	}
	return err
}

// afterConnect runs fn once gotd has stored the session of a fresh
// connection.
func (c *Connection) afterConnect(ctx context.Context, acct Account, l *chatter.Lease, client *telegram.Client, sessions *firstSave, timeout time.Duration, fn func(ctx context.Context, s *liveSession) error) error {
	// gotd stores the session (the auth key) right after it lets the Run
	// callback run, concurrently: wait for that write, or a short step
	// such as SendCode or SignIn could end, and cancel the write, before
	// the key the step used is stored.
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-sessions.done:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		c.logger().Warn("session not stored in time; going on", "account", acct.ID, "wait", timeout.String())
	}
	return fn(ctx, &liveSession{acct: acct, client: client, api: client.API(), lease: l})
}

// notConnected is the error of a connection to Telegram that did not come
// up: KindProxy when acct goes through a proxy, KindUnreachable otherwise.
func notConnected(acct Account, err error) *Error {
	if acct.Proxy != "" {
		return &Error{Kind: KindProxy, Account: acct.ID, Err: err}
	}
	return &Error{Kind: KindUnreachable, Account: acct.ID, Err: err}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// firstSave is a session.Storage that closes done once its first
// StoreSession has returned.
type firstSave struct {
	session.Storage
	once sync.Once
	done chan struct{}
}

func (s *firstSave) StoreSession(ctx context.Context, data []byte) error {
	defer s.once.Do(func() { close(s.done) })
	return s.Storage.StoreSession(ctx, data)
}

// resolver builds the dcs.Resolver for acct's proxy, recording dial errors
// in dw.
func (c *Connection) resolver(acct Account, dw *dialWatch) (dcs.Resolver, error) {
	var base net.Dialer
	dial := dcs.DialFunc(base.DialContext)
	if c.dial != nil {
		dial = c.dial
	}
	if acct.Proxy == "" {
		return dcs.Plain(dcs.PlainOptions{Dial: dw.wrap(dial)}), nil
	}
	p, err := ParseProxy(acct.Proxy)
	if err != nil {
		return nil, err
	}
	switch p.Kind {
	case ProxySOCKS5:
		var auth *proxy.Auth
		if p.User != "" || p.Password != "" {
			auth = &proxy.Auth{User: p.User, Password: p.Password}
		}
		d, err := proxy.SOCKS5("tcp", p.Addr, auth, contextDialer(dial))
		if err != nil {
			return nil, configErr("proxy: %v", err)
		}
		cd, ok := d.(proxy.ContextDialer)
		if !ok {
			return nil, configErr("proxy: the SOCKS5 dialer cannot take a context")
		}
		return dcs.Plain(dcs.PlainOptions{Dial: dw.wrap(cd.DialContext)}), nil
	case ProxyMTProxy:
		r, err := dcs.MTProxy(p.Addr, p.Secret, dcs.MTProxyOptions{Dial: dw.wrap(dial)})
		if err != nil {
			return nil, configErr("proxy: %v", err)
		}
		return r, nil
	}
	return nil, configErr("proxy: unknown kind %q", p.Kind)
}

// contextDialer makes a dcs.DialFunc a proxy.ContextDialer.
type contextDialer dcs.DialFunc

func (d contextDialer) Dial(network, addr string) (net.Conn, error) {
	return d(context.Background(), network, addr)
}

func (d contextDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d(ctx, network, addr)
}

// dialWatch remembers the last dial error, to explain a connection that
// does not come up.
type dialWatch struct {
	mu  sync.Mutex
	err error
}

func (w *dialWatch) wrap(d dcs.DialFunc) dcs.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d(ctx, network, addr)
		w.mu.Lock()
		// A dial canceled because another address answered first says
		// less than the error it would hide.
		if w.err == nil || err == nil || !errors.Is(err, context.Canceled) {
			w.err = err
		}
		w.mu.Unlock()
		return conn, err
	}
}

func (w *dialWatch) lastErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		return errors.New("no answer from Telegram")
	}
	return w.err
}

// floodMiddleware waits out short FLOOD_WAITs (up to maxWait, at most
// floodRetries times per call) and turns longer ones into *Error of
// KindFloodWait carrying a *FloodWaitError.
type floodMiddleware struct {
	maxWait time.Duration
	now     func() time.Time
	onFlood func(*FloodWaitError)
}

func (m floodMiddleware) Handle(next tg.Invoker) telegram.InvokeFunc {
	return func(ctx context.Context, in bin.Encoder, out bin.Decoder) error {
		for attempt := 0; ; attempt++ {
			err := next.Invoke(ctx, in, out)
			d, ok := tgerr.AsFloodWait(err)
			if !ok {
				return err
			}
			fw := &FloodWaitError{Wait: d, Until: m.now().Add(d), Err: err}
			if m.onFlood != nil {
				m.onFlood(fw)
			}
			if d > m.maxWait || attempt >= floodRetries {
				rpc, _ := tgerr.As(err)
				return &Error{Kind: KindFloodWait, RPC: rpc.Type, Err: fw}
			}
			// Telegram counts whole seconds: wait a little longer, with jitter.
			if err := sleepCtx(ctx, d+jitter(500*time.Millisecond)); err != nil {
				return err
			}
		}
	}
}

// rateMiddleware spaces an account's requests with a token bucket.
type rateMiddleware struct{ lim *rate.Limiter }

func (m rateMiddleware) Handle(next tg.Invoker) telegram.InvokeFunc {
	return func(ctx context.Context, in bin.Encoder, out bin.Decoder) error {
		if err := m.lim.Wait(ctx); err != nil {
			return err
		}
		return next.Invoke(ctx, in, out)
	}
}

// jitter returns a random duration in [0, max).
func jitter(maxD time.Duration) time.Duration {
	if maxD <= 0 {
		return 0
	}
	n, err := rand.Int(rand.Reader, big.NewInt(int64(maxD)))
	if err != nil {
		return 0
	}
	return time.Duration(n.Int64())
}

// backoff returns the wait before retry attempt (0-based): exponential from
// base, capped at maxD, with up to 50% jitter.
func backoff(attempt int, base, maxD time.Duration) time.Duration {
	d := base
	for i := 0; i < attempt && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d/2 + jitter(d/2+1)
}
