// Package app wires the reference server from the SDK's packages: the
// store (SQLite or PostgreSQL), the pipeline and its workers, one runtime per
// workspace (amoCRM client and sink, keyword filter, bots, parser,
// notifiers), the event log, the metrics, the HTTP endpoints and the checks
// the doctor runs. There is one path for data: Telegram (webhook endpoint,
// poller or parser) → Pipeline.Accept → store + River → workers →
// amocrmsink → amoCRM.
package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/examples/server/internal/doctor"
	"github.com/chatterhq/sdk/examples/server/internal/metrics"
	"github.com/chatterhq/sdk/tgparse"
)

// ServerWorkspace owns the server's own rows in the store: its event log
// lines, its settings (users, sessions: see package auth).
const ServerWorkspace = "_server"

// Options configures New.
type Options struct {
	// Config is the validated configuration. Required.
	Config *config.Config
	// Version is the build's version.
	Version string
	// Logger is the process log (stderr); the app adds the event log on
	// top. nil is silent.
	Logger *slog.Logger
	// ParserEndpoint points the parser accounts at a test Telegram (the
	// demo's MTProto server); nil uses the configuration.
	ParserEndpoint *tgparse.Endpoint
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Offline builds the app for a command that does not serve (doctor,
	// bundle, user): checks of sources that would be running look at the
	// services only.
	Offline bool
	// Passive serves HTTP (webhooks, UI) but runs no delivery workers and
	// no sources (listmonk's --passive).
	Passive bool
	// Notifier, when set, receives every workspace's notifications besides
	// the configured notifiers (the demo logs them).
	Notifier chatter.Notifier
	// Handler, when set, serves every path the app itself does not (the
	// admin UI).
	Handler func(a *App) http.Handler
}

// App is the running server.
type App struct {
	opts    Options
	cfg     *config.Config
	now     func() time.Time
	log     *slog.Logger
	store   Store
	sealer  *chatter.Sealer
	events  *chatter.EventLog
	auth    *auth.Service
	metrics *metrics.Metrics
	build   doctor.Build

	pipeline *chatter.Pipeline
	wss      atomic.Pointer[wsSet] // copy on write: UpdateWorkspace swaps it
	wsMu     sync.Mutex            // serialises UpdateWorkspace
	workCtx  context.Context       // the running server's, for workspaces started later (nil before Serve)

	holder   string // this process in leases: chatter.InstanceHolder(instance)
	instance string // this instance's stable id (resolveInstance), answered by /healthz
	sup      *supervisor
	started  time.Time

	proxies  proxies // trusted reverse proxies
	location *time.Location

	srv      *http.Server
	listener net.Listener
	ready    atomic.Bool

	closeOnce sync.Once
}

// New opens the store (migrating it), the sealer and every workspace, and
// returns the App ready to Run. It starts nothing.
func New(ctx context.Context, opts Options) (*App, error) {
	if opts.Config == nil {
		return nil, errors.New("app: no configuration")
	}
	a := &App{opts: opts, cfg: opts.Config, now: opts.Now, started: time.Now()}
	a.wss.Store(&wsSet{byID: map[string]*workspace{}})
	if a.now == nil {
		a.now = time.Now
	}
	base := opts.Logger
	if base == nil {
		base = slog.New(slog.DiscardHandler)
	}
	var err error
	if a.instance, err = resolveInstance(a.cfg); err != nil {
		return nil, err
	}
	a.holder = chatter.InstanceHolder(a.instance)
	a.build = doctor.CurrentBuild(opts.Version)
	a.build.StartedAt = a.started
	a.build.Instance = a.instance

	if a.proxies, err = parseProxies(a.cfg.HTTP.TrustedProxies); err != nil {
		return nil, fmt.Errorf("app: http.trusted_proxies: %w", err)
	}
	a.location = time.Local
	if tz := a.cfg.Auth.Timezone; tz != "" {
		if a.location, err = time.LoadLocation(tz); err != nil {
			return nil, fmt.Errorf("app: auth.timezone: %w", err)
		}
	}
	key, created, err := config.EnsureSealingKey(a.cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("app: sealing key: %w", err)
	}
	sum := sha256.Sum256(key)
	keyID := hex.EncodeToString(sum[:4])
	if a.sealer, err = chatter.NewSealer(keyID, map[string][]byte{keyID: key}); err != nil {
		return nil, fmt.Errorf("app: sealer: %w", err)
	}
	if created {
		base.Warn("a new sealing key was generated: back it up, without it the stored tokens and sessions cannot be opened",
			"file", a.cfg.SealingKeyPath())
	}
	if a.store, err = openStore(ctx, a.cfg, a.sealer, base, a.now); err != nil {
		return nil, err
	}
	if a.events, err = chatter.NewEventLog(a.store, base.Handler(), chatter.EventLogConfig{Workspace: ServerWorkspace, Now: a.now}); err != nil {
		a.store.Close()
		return nil, fmt.Errorf("app: event log: %w", err)
	}
	a.log = slog.New(&perMessage{events: a.events, next: base.Handler()})
	ac := a.cfg.Auth
	if a.auth, err = auth.New(a.store, auth.Config{Logger: a.log, Now: a.now,
		MaxFailures: ac.MaxFailures, LockFor: ac.LockFor.D(), MinPasswordLength: ac.MinPasswordLength,
		PasswordMaxAge: ac.PasswordMaxAge.D(), SessionIdle: ac.SessionIdle.D(), SessionMaxAge: ac.SessionMaxAge.D(),
		ResetTTL: ac.ResetTTL.D()}); err != nil {
		a.store.Close()
		return nil, fmt.Errorf("app: users: %w", err)
	}
	a.metrics = metrics.New(metrics.Build{Version: a.build.Version, Commit: a.build.Commit, GoVersion: a.build.GoVersion})
	a.sup = newSupervisor(a.log)

	wss, err := a.effectiveWorkspaces(ctx)
	if err != nil {
		a.store.Close()
		return nil, err
	}
	d := a.cfg.Delivery
	a.pipeline, err = chatter.NewPipeline(chatter.PipelineConfig{
		Store: a.store, Sink: chatter.SinkFunc(a.deliver), Filter: chatter.FilterFunc(a.filter),
		Notifier: a.metrics.Notifier(chatter.NotifierFunc(a.notify)), Logger: a.log,
		MaxAge: d.MaxAge.D(), MaxAttempts: d.MaxAttempts, Backoff: chatter.ExponentialBackoff(d.BackoffBase.D(), d.BackoffMax.D()),
		Workers: d.Workers, JobTimeout: d.JobTimeout.D(), Now: a.now, Hooks: a.metrics.PipelineHooks(),
		Instance: a.instance,
	})
	if err != nil {
		a.store.Close()
		return nil, fmt.Errorf("app: pipeline: %w", err)
	}
	set := &wsSet{byID: map[string]*workspace{}}
	for _, wc := range wss {
		w, err := a.newWorkspace(ctx, wc)
		if err != nil {
			a.store.Close()
			return nil, err
		}
		set.list = append(set.list, w)
		set.byID[w.id] = w
	}
	a.wss.Store(set)
	a.metrics.RegisterLedger(a.store, a.workspaceIDs, a.oldestWaiting, a.log)
	return a, nil
}

// Store returns the app's store.
func (a *App) Store() Store { return a.store }

// ClientIP is the address of the client of r: the peer, or, behind a
// trusted proxy (http.trusted_proxies), the address it forwarded.
func (a *App) ClientIP(r *http.Request) netip.Addr { return a.proxies.clientIP(r) }

// HTTPS reports whether the client reached the server over https: TLS to
// this process, or a trusted proxy's X-Forwarded-Proto: https.
func (a *App) HTTPS(r *http.Request) bool { return a.proxies.https(r) }

// Location is the time zone of the times shown to people (auth.timezone).
func (a *App) Location() *time.Location { return a.location }

// MailFunc returns how the server mails people (password-reset links):
// through the SMTP server of the first workspace that has one (in
// configuration order), or nil when none has.
func (a *App) MailFunc() func(ctx context.Context, to, subject, text string) error {
	for _, w := range a.allWorkspaces() {
		if w.notifiers != nil && w.notifiers.smtp != nil {
			return w.notifiers.smtp.Send
		}
	}
	return nil
}

// pruneAuth deletes expired sessions, reset links and tickets every hour.
func (a *App) pruneAuth(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := a.auth.Prune(ctx); err != nil && ctx.Err() == nil {
			a.log.LogAttrs(ctx, slog.LevelWarn, "pruning expired sessions failed",
				slog.String(chatter.AttrCategory, chatter.CategoryAuth), slog.String("err", err.Error()))
		} else if n > 0 {
			a.log.LogAttrs(ctx, slog.LevelDebug, "expired sessions pruned", slog.Int("count", n))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Auth returns the users, sessions and password resets.
func (a *App) Auth() *auth.Service { return a.auth }

// ParserLogin returns the login steps of workspace ws's parser accounts.
func (a *App) ParserLogin(ws string) (*tgparse.Login, error) {
	w := a.ws(ws)
	if w == nil {
		return nil, fmt.Errorf("no workspace %q: %w", ws, chatter.ErrNotFound)
	}
	if w.parser == nil {
		return nil, fmt.Errorf("workspace %s has no parser accounts or chats: %w", ws, chatter.ErrNotFound)
	}
	return w.parser.login()
}

// Sealer returns the app's sealer.
func (a *App) Sealer() *chatter.Sealer { return a.sealer }

// Pipeline returns the app's pipeline (for replays).
func (a *App) Pipeline() *chatter.Pipeline { return a.pipeline }

// Logger returns the app's logger (the event log on top of the process log).
func (a *App) Logger() *slog.Logger { return a.log }

// Config returns the effective configuration: the process keys and the
// running workspaces' settings. It is a copy; change workspaces with
// UpdateWorkspace.
func (a *App) Config() *config.Config {
	c := *a.cfg
	c.Workspaces = nil
	for _, w := range a.allWorkspaces() {
		c.Workspaces = append(c.Workspaces, w.cfg)
	}
	return &c
}

// Build describes the running program.
func (a *App) Build() doctor.Build { return a.build }

// Components returns the state of every running part.
func (a *App) Components() []ComponentStatus { return a.sup.Snapshot() }

// wsSet is the running workspaces, in order and by id.
type wsSet struct {
	list []*workspace
	byID map[string]*workspace
}

// ws returns the running workspace id, or nil.
func (a *App) ws(id string) *workspace { return a.wss.Load().byID[id] }

// allWorkspaces returns the running workspaces in order.
func (a *App) allWorkspaces() []*workspace { return a.wss.Load().list }

// startWorkspace runs w's components (amoCRM set-up, bots, parser) under a
// context of w's own, so that UpdateWorkspace can stop them. Call with
// wsMu held, while the server runs.
func (a *App) startWorkspace(w *workspace) {
	ctx, cancel := context.WithCancel(a.workCtx)
	w.stop = cancel
	a.sup.Go(ctx, &w.running, "amocrm:"+w.id, w.runSink)
	for _, b := range w.bots {
		a.sup.Go(ctx, &w.running, b.name(), b.run)
	}
	if w.parser != nil {
		a.sup.Go(ctx, &w.running, w.parser.name(), w.parser.run)
	}
}

// halt stops w's components and waits for them.
func (w *workspace) halt() {
	if w.stop != nil {
		w.stop()
	}
	w.running.Wait()
}

func (a *App) workspaceIDs() []string {
	list := a.allWorkspaces()
	ids := make([]string, len(list))
	for i, w := range list {
		ids[i] = w.id
	}
	return ids
}

// WorkspaceIDs lists the workspaces in configuration order.
func (a *App) WorkspaceIDs() []string { return a.workspaceIDs() }

func (a *App) publicURL() string { return strings.TrimSuffix(a.cfg.HTTP.PublicURL, "/") }

// oauthRedirect is the OAuth redirect URL when the configuration gives none.
func (a *App) oauthRedirect() string {
	if base := a.publicURL(); base != "" {
		return base + "/amocrm/oauth/callback"
	}
	return ""
}

// deliver is the pipeline's sink: the message's workspace's sink.
func (a *App) deliver(ctx context.Context, d *chatter.Delivery) (*chatter.DeliveryResult, error) {
	w := a.ws(d.Message.Workspace)
	if w == nil {
		return nil, chatter.Permanent(chatter.WithClass(
			fmt.Errorf("workspace %q is not configured: %w", d.Message.Workspace, chatter.ErrInvalid), chatter.ClassPermanent))
	}
	return w.Deliver(ctx, d)
}

// filter is the pipeline's filter: the message's workspace's keyword rules.
func (a *App) filter(m *chatter.Message) chatter.Verdict {
	if w := a.ws(m.Workspace); w != nil {
		return w.Filter(m)
	}
	return chatter.Verdict{Rule: "workspace", Reason: "the workspace " + m.Workspace + " is not configured"}
}

// notify sends a notification through its workspace's notifiers.
func (a *App) notify(ctx context.Context, n *chatter.Notification) error {
	var errs []error
	if a.opts.Notifier != nil {
		errs = append(errs, a.opts.Notifier.Notify(ctx, n))
	}
	if w := a.ws(n.Workspace); w != nil && w.notifiers != nil && w.notifiers.notifier != nil {
		errs = append(errs, w.notifiers.notifier.Notify(ctx, n))
	}
	return errors.Join(errs...)
}

// notifierOf is the notifier sources of a workspace report through (bot
// membership changes): the app's, which routes by workspace.
func (a *App) notifierOf(string) chatter.Notifier { return chatter.NotifierFunc(a.notify) }

// Run starts the HTTP server, the event log, the workers and every source,
// and runs until ctx ends; then it stops taking requests, lets in-flight
// deliveries finish or return to the queue, flushes the event log and
// returns. A component that fails is restarted with backoff and reported
// by /readyz and the checks; Run itself fails only when the HTTP server
// cannot listen.
func (a *App) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("app: listen on %s: %w", a.cfg.HTTP.Addr, err)
	}
	return a.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened (to know its address
// first, or on port 0 in tests). It closes ln.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	a.listener = ln
	handler, err := a.routes()
	if err != nil {
		ln.Close()
		return err
	}
	a.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}

	evCtx, stopEvents := context.WithCancel(context.WithoutCancel(ctx))
	evDone := make(chan struct{})
	go func() { defer close(evDone); _ = a.events.Run(evCtx) }()

	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	if !a.opts.Passive {
		a.sup.Go(workCtx, nil, "pipeline", a.pipeline.Run)
		a.sup.Go(workCtx, nil, "auth-prune", a.pruneAuth)
		a.wsMu.Lock()
		a.workCtx = workCtx
		for _, w := range a.allWorkspaces() {
			a.startWorkspace(w)
		}
		a.wsMu.Unlock()
	}
	srvErr := make(chan error, 1)
	go func() { srvErr <- a.srv.Serve(ln) }()
	a.ready.Store(true)
	a.log.LogAttrs(ctx, slog.LevelInfo, "server started",
		slog.String(chatter.AttrCategory, chatter.CategorySystem), slog.String("addr", ln.Addr().String()),
		slog.String("version", a.build.Version), slog.String("instance", a.instance), slog.Bool("passive", a.opts.Passive))

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-srvErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("app: http server: %w", err)
		}
	}
	a.ready.Store(false)
	// Stop taking requests first (webhooks answer only after the message
	// is durable, so what was acknowledged is stored), then the sources and
	// the workers: running deliveries finish or return to the queue.
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	_ = a.srv.Shutdown(shutCtx)
	cancel()
	stopWork()
	a.wsMu.Lock()
	a.workCtx = nil
	a.wsMu.Unlock()
	a.sup.Wait()
	a.log.LogAttrs(context.WithoutCancel(ctx), slog.LevelInfo, "server stopped", slog.String(chatter.AttrCategory, chatter.CategorySystem))
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	_ = a.events.Flush(flushCtx)
	cancel()
	stopEvents()
	<-evDone
	return runErr
}

// Addr returns the address the HTTP server listens on (after Run started).
func (a *App) Addr() string {
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

// Close closes the store. Call it after Run returned.
func (a *App) Close() error {
	var err error
	a.closeOnce.Do(func() { err = a.store.Close() })
	return err
}

// Checks returns every check of the server: its own (configuration, store,
// disk, clock, queue) and each workspace's.
func (a *App) Checks() []chatter.Check {
	out := a.serverChecks()
	for _, w := range a.allWorkspaces() {
		out = append(out, w.Checks()...)
		out = append(out, doctor.Queue(a.store, w.id, a.now), doctor.Dead(a.store, w.id, a.now),
			renameChecks([]chatter.Check{chatter.RejectedCheck(a.store, w.id, 0, a.now)}, w.id, w.id, w.id)[0])
	}
	return out
}

// Doctor runs every check and groups the results by the support guide's
// problems.
func (a *App) Doctor(ctx context.Context) *doctor.Report {
	r := doctor.Run(ctx, a.Checks(), chatter.CheckOptions{Now: a.now, Concurrency: 8})
	r.Version = a.build.Version
	return r
}

// WriteBundle writes the support bundle (see doctor.Bundle).
func (a *App) WriteBundle(ctx context.Context, w io.Writer) error {
	b := doctor.Bundle{Build: a.build, Config: a.Config().Redacted(), Report: a.Doctor(ctx),
		Ledger: map[string]map[chatter.State]int{}, Secrets: a.secrets(ctx),
		Extra: map[string]any{"components.json": a.Components(), "eventlog.json": a.events.Stats()}}
	warn := slog.LevelWarn
	for _, ws := range append([]string{ServerWorkspace}, a.workspaceIDs()...) {
		evs, err := a.store.ListEvents(ctx, chatter.EventQuery{Workspace: ws, MinLevel: &warn, Limit: doctor.MaxBundleEvents})
		if err != nil {
			return fmt.Errorf("app: bundle: events of %s: %w", ws, err)
		}
		b.Events = append(b.Events, evs...)
		if ws == ServerWorkspace {
			continue
		}
		counts, err := a.store.CountEntries(ctx, chatter.LedgerQuery{Workspace: ws})
		if err != nil {
			return fmt.Errorf("app: bundle: ledger of %s: %w", ws, err)
		}
		b.Ledger[ws] = counts
	}
	slices.SortStableFunc(b.Events, func(x, y chatter.Event) int { return y.Time.Compare(x.Time) })
	return b.Write(w)
}

// secrets lists every secret the server knows: the configuration's and
// those generated into the store.
func (a *App) secrets(ctx context.Context) []string {
	out := a.Config().Secrets()
	out = append(out, a.cfg.Store.SealingKey)
	for _, w := range a.allWorkspaces() {
		out = append(out, w.webhookSecret)
		for _, b := range w.bots {
			out = append(out, b.secret)
		}
		if tok, err := a.store.GetToken(ctx, w.id, w.amo.Subdomain()); err == nil {
			out = append(out, tok.AccessToken, tok.RefreshToken)
		}
	}
	return out
}

// oldestWaiting is when the oldest message waiting for delivery in ws
// arrived.
func (a *App) oldestWaiting(ctx context.Context, ws string) (time.Time, bool, error) {
	return doctor.OldestWaiting(ctx, a.store, ws)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
