package chatter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Multi returns a Notifier that hands each notification to every one of ns
// at once and waits for all of them. Its error joins (errors.Join) the errors
// of the notifiers that failed, in argument order; one failing notifier does
// not keep the others from being called. nil notifiers are skipped. It is safe
// for concurrent use when every one of ns is.
func Multi(ns ...Notifier) Notifier {
	ns = slices.DeleteFunc(slices.Clone(ns), func(n Notifier) bool { return n == nil })
	return multi(ns)
}

type multi []Notifier

func (m multi) Notify(ctx context.Context, n *Notification) error {
	switch len(m) {
	case 0:
		return nil
	case 1:
		return m[0].Notify(ctx, n)
	}
	errs := make([]error, len(m))
	var wg sync.WaitGroup
	for i, to := range m {
		wg.Go(func() { errs[i] = to.Notify(ctx, n) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Router sends each notification to the notifiers routed for its type, and
// the others to the default notifiers. A type routed to an empty list is
// muted. A digest (NotifyDigest) goes to the route of NotifyDigest when there
// is one, else to the route of the type it summarises. Router is safe for
// concurrent use when its notifiers are.
type Router struct {
	routes map[NotificationType]Notifier
	def    Notifier
}

var _ Notifier = (*Router)(nil)

// NewRouter returns a Router over routes (copied) with def as the default.
func NewRouter(routes map[NotificationType][]Notifier, def ...Notifier) *Router {
	r := &Router{routes: make(map[NotificationType]Notifier, len(routes)), def: Multi(def...)}
	for t, ns := range routes {
		r.routes[t] = Multi(ns...)
	}
	return r
}

// Notify hands n to the notifiers of its route; see Multi for errors.
func (r *Router) Notify(ctx context.Context, n *Notification) error {
	if to, ok := r.routes[n.Type]; ok {
		return to.Notify(ctx, n)
	}
	if n.Type == NotifyDigest {
		if to, ok := r.routes[NotificationType(n.Fields[digestTypeField])]; ok {
			return to.Notify(ctx, n)
		}
	}
	return r.def.Notify(ctx, n)
}

// Digest defaults.
const (
	DefaultDigestWindow   = 5 * time.Minute
	DefaultDigestMaxItems = 10
)

const digestTypeField = "digest_type"

// DigestConfig configures a Digest. Zero fields take the defaults.
type DigestConfig struct {
	// Window is how long after a notification passes further ones of the
	// same type and workspace are collected. Defaults to 5 minutes.
	Window time.Duration
	// MaxItems caps the sample of notifications a digest carries (Items).
	// Defaults to 10.
	MaxItems int
	// Types lists the types that are grouped; others pass straight
	// through. nil groups every type. Digests themselves always pass.
	Types []NotificationType
	// TickInterval is how often Run closes expired windows. Defaults to
	// Window/10, at least one second.
	TickInterval time.Duration
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// NewTicker makes Run's ticker; stop releases it. Defaults to
	// time.NewTicker. Tests inject a channel they control.
	NewTicker func(d time.Duration) (c <-chan time.Time, stop func())
	// Logger receives the errors of digests sent by Run; nil is silent.
	Logger *slog.Logger
}

// Digest is a Notifier that keeps a burst of notifications (an outage:
// hundreds of failed deliveries) from becoming a burst of emails. The first
// notification of a type in a workspace passes at once and opens a window;
// further ones of that type and workspace within Window are collected and
// sent as one NotifyDigest (Count, a sample in Items, a ru/en title like
// "12 уведомлений «доставка не удалась» за 5 минут") when the window closes.
//
// Windows are closed by Run (on a ticker), by the next notification of the
// group after the window, or by Flush. NewDigest starts nothing. Digest is
// safe for concurrent use.
type Digest struct {
	next  Notifier
	cfg   DigestConfig
	types map[NotificationType]bool
	log   *slog.Logger

	mu     sync.Mutex
	groups map[digestKey]*digestGroup
}

var _ Notifier = (*Digest)(nil)

type digestKey struct {
	workspace string
	typ       NotificationType
}

type digestGroup struct {
	opened   time.Time
	count    int
	items    []*Notification
	severity Severity
}

// NewDigest returns a Digest sending to next.
func NewDigest(next Notifier, cfg DigestConfig) (*Digest, error) {
	switch {
	case next == nil:
		return nil, errorf("chatter: new digest: %w", invalid("next", "не задан получатель уведомлений", "next notifier is nil"))
	case cfg.Window < 0:
		return nil, errorf("chatter: new digest: %w", invalid("DigestConfig.Window", "окно отрицательное", "Window is negative"))
	case cfg.MaxItems < 0:
		return nil, errorf("chatter: new digest: %w", invalid("DigestConfig.MaxItems", "размер выборки отрицательный", "MaxItems is negative"))
	case cfg.TickInterval < 0:
		return nil, errorf("chatter: new digest: %w", invalid("DigestConfig.TickInterval", "интервал отрицательный", "TickInterval is negative"))
	}
	cfg.Window = cmp.Or(cfg.Window, DefaultDigestWindow)
	cfg.MaxItems = cmp.Or(cfg.MaxItems, DefaultDigestMaxItems)
	cfg.TickInterval = cmp.Or(cfg.TickInterval, max(cfg.Window/10, time.Second))
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewTicker == nil {
		cfg.NewTicker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	d := &Digest{next: next, cfg: cfg, log: cfg.Logger, groups: make(map[digestKey]*digestGroup)}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Types != nil {
		d.types = make(map[NotificationType]bool, len(cfg.Types))
		for _, t := range cfg.Types {
			d.types[t] = true
		}
	}
	return d, nil
}

// Notify passes n on when it opens a window (or is not grouped) and
// otherwise collects it and returns nil. When n arrives after its group's
// window has closed, the pending digest is sent first. Errors are the next
// notifier's.
func (d *Digest) Notify(ctx context.Context, n *Notification) error {
	if n.Type == NotifyDigest || (d.types != nil && !d.types[n.Type]) {
		return d.next.Notify(ctx, n)
	}
	now := d.cfg.Now()
	k := digestKey{n.Workspace, n.Type}
	d.mu.Lock()
	g := d.groups[k]
	var pending *Notification
	if g != nil && !now.Before(g.opened.Add(d.cfg.Window)) {
		pending = d.digest(k, g, now)
		g = nil
	}
	if g != nil {
		g.count++
		if len(g.items) < d.cfg.MaxItems {
			g.items = append(g.items, n)
		}
		g.severity = worseSeverity(g.severity, n.Severity)
		d.mu.Unlock()
		return nil
	}
	d.groups[k] = &digestGroup{opened: now}
	d.mu.Unlock()

	var errs []error
	if pending != nil {
		errs = append(errs, d.next.Notify(ctx, pending))
	}
	errs = append(errs, d.next.Notify(ctx, n))
	return errors.Join(errs...)
}

// Flush sends the digests of all groups now, closes every window, and
// returns the joined errors of the next notifier.
func (d *Digest) Flush(ctx context.Context) error {
	return d.flush(ctx, time.Time{})
}

// Pending returns how many notifications are collected and not yet sent.
func (d *Digest) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, g := range d.groups {
		n += g.count
	}
	return n
}

// Run closes expired windows every TickInterval, sending their digests,
// until ctx ends; then it flushes what is left (with ctx's values, not its
// cancellation, for at most 10 seconds) and returns nil.
func (d *Digest) Run(ctx context.Context) error {
	c, stop := d.cfg.NewTicker(d.cfg.TickInterval)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := d.Flush(fctx); err != nil {
				d.log.LogAttrs(fctx, slog.LevelWarn, "digest not sent", slog.String(AttrCategory, CategoryNotify), slog.Any("err", err))
			}
			return nil
		case <-c:
			if err := d.flush(ctx, d.cfg.Now()); err != nil {
				d.log.LogAttrs(ctx, slog.LevelWarn, "digest not sent", slog.String(AttrCategory, CategoryNotify), slog.Any("err", err))
			}
		}
	}
}

// flush sends the digests of groups whose window closed by now (all groups
// for a zero now) and forgets those groups.
func (d *Digest) flush(ctx context.Context, now time.Time) error {
	var out []*Notification
	d.mu.Lock()
	at := now
	if at.IsZero() {
		at = d.cfg.Now()
	}
	keys := slices.SortedFunc(maps.Keys(d.groups), func(a, b digestKey) int {
		return cmp.Or(cmp.Compare(a.workspace, b.workspace), cmp.Compare(a.typ, b.typ))
	})
	for _, k := range keys {
		g := d.groups[k]
		if !now.IsZero() && now.Before(g.opened.Add(d.cfg.Window)) {
			continue
		}
		if n := d.digest(k, g, at); n != nil {
			out = append(out, n)
		}
	}
	d.mu.Unlock()
	var errs []error
	for _, n := range out {
		if err := d.next.Notify(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("digest of %d %s in %s: %w", n.Count, n.Fields[digestTypeField], n.Workspace, err))
		}
	}
	return errors.Join(errs...)
}

// digest removes group k and returns its digest, or nil when it collected
// nothing. d.mu must be held.
func (d *Digest) digest(k digestKey, g *digestGroup, now time.Time) *Notification {
	delete(d.groups, k)
	if g.count == 0 {
		return nil
	}
	label := k.typ.Label()
	win := durationText(d.cfg.Window)
	title := T(
		fmt.Sprintf("%d %s «%s» за %s", g.count, pluralRU(g.count, "уведомление", "уведомления", "уведомлений"), label.RU, win.RU),
		fmt.Sprintf("%d %q %s in %s", g.count, label.EN, pluralEN(g.count, "notification", "notifications"), win.EN))
	var ru, en strings.Builder
	for _, it := range g.items {
		ru.WriteString("• " + lineOf(it, "ru") + "\n")
		en.WriteString("• " + lineOf(it, "en") + "\n")
	}
	if more := g.count - len(g.items); more > 0 {
		fmt.Fprintf(&ru, "…и ещё %d\n", more)
		fmt.Fprintf(&en, "…and %d more\n", more)
	}
	return &Notification{
		Type:      NotifyDigest,
		Workspace: k.workspace,
		Time:      now,
		Severity:  cmp.Or(g.severity, SeverityInfo),
		Title:     title,
		Body:      T(strings.TrimSuffix(ru.String(), "\n"), strings.TrimSuffix(en.String(), "\n")),
		Fields:    map[string]string{digestTypeField: string(k.typ), "count": strconv.Itoa(g.count)},
		Count:     g.count,
		Items:     g.items,
	}
}

func lineOf(n *Notification, lang string) string {
	s := n.Title.In(lang)
	if n.Key != "" {
		s += " (" + n.Key + ")"
	}
	return s
}

func severityRank(s Severity) int {
	switch s {
	case SeverityError:
		return 3
	case SeverityWarning:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}

func worseSeverity(a, b Severity) Severity {
	if severityRank(b) > severityRank(a) {
		return b
	}
	return a
}
