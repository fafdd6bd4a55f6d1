package chatter

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// EventLog defaults.
const (
	DefaultEventBufferSize    = 4096
	DefaultEventBatchSize     = 256
	DefaultEventFlushInterval = 2 * time.Second
	DefaultEventRetention     = 30 * 24 * time.Hour
	DefaultEventPruneInterval = time.Hour
	DefaultEventMaxAttrs      = 32
	maxEventValueBytes        = 1 << 10
	maxEventTextBytes         = 4 << 10
)

// EventLogConfig configures an EventLog. Zero fields take the defaults;
// negative sizes and intervals are treated as zero.
type EventLogConfig struct {
	// MinLevel is the lowest level recorded in the store. Defaults to
	// slog.LevelInfo. Records below it still reach the next handler.
	MinLevel slog.Leveler
	// Workspace is recorded for records without a "workspace" attribute.
	// When empty such records reach the next handler only (every event
	// belongs to a workspace) and are counted as Skipped.
	Workspace string
	// BufferSize bounds the events waiting to be written; when it is full
	// new events are dropped and counted. Defaults to 4096.
	BufferSize int
	// BatchSize is the most events written by one AppendEvents; a full
	// batch wakes Run early. Defaults to 256.
	BatchSize int
	// FlushInterval is how often Run writes buffered events. Defaults to 2 s.
	FlushInterval time.Duration
	// Retention is how long events are kept; Run prunes older ones.
	// Defaults to 30 days; negative disables pruning.
	Retention time.Duration
	// PruneInterval is how often Run prunes. Defaults to 1 hour.
	PruneInterval time.Duration
	// MaxAttrs caps the attributes kept per event (beyond the ones lifted
	// into Event fields). Defaults to 32.
	MaxAttrs int
	// Now is the clock, for records without a time and for retention.
	// Defaults to time.Now.
	Now func() time.Time
	// NewTicker makes Run's tickers; stop releases one. Defaults to
	// time.NewTicker.
	NewTicker func(d time.Duration) (c <-chan time.Time, stop func())
	// Logger receives the event log's own failures (a store that cannot
	// write). It must not lead back into this EventLog. nil is silent.
	Logger *slog.Logger
}

// EventLogStats counts what an EventLog did.
type EventLogStats struct {
	Buffered int   // events waiting to be written
	Written  int64 // events written to the store
	Dropped  int64 // events lost: buffer full, or a failed write with no room to keep them
	Skipped  int64 // records without a workspace (see EventLogConfig.Workspace)
	Pruned   int64 // events deleted by retention
}

// EventLog is a slog.Handler that passes every record to the next handler
// and also records it, at MinLevel and above, as an Event in an EventStore:
// the operator's log page. The attributes category, error_class, source,
// message_key and workspace (outside any group, from the record or from
// WithAttrs) become Event fields; the others become Event.Attrs with dotted
// group paths ("group.key"), their values as text, cut to 1 KiB. Values of
// keys that look secret (password, secret, token, authorization, cookie,
// session) are stored as "[redacted]".
//
// Handle never waits on the store: events go to a bounded buffer that Run
// (or Flush) writes in batches; when the buffer is full events are dropped
// and counted (Stats). Run also deletes events older than Retention. The
// EventLog and the handlers derived from it with WithAttrs and WithGroup
// share one buffer. It is safe for concurrent use.
type EventLog struct {
	core   *eventCore
	next   slog.Handler
	prefix string      // open groups, "a.b." form
	fields eventFields // lifted attributes from WithAttrs
	attrs  []eventAttr // other attributes from WithAttrs
}

var _ slog.Handler = (*EventLog)(nil)

type eventFields struct {
	category, errorClass, source, messageKey, workspace string
}

type eventAttr struct{ key, value string }

type eventCore struct {
	store EventStore
	cfg   EventLogConfig
	min   slog.Leveler
	kick  chan struct{}

	mu  sync.Mutex
	buf []Event

	flushMu sync.Mutex
	written atomic.Int64
	dropped atomic.Int64
	skipped atomic.Int64
	pruned  atomic.Int64
}

// NewEventLog returns an EventLog writing to store and passing records to
// next (nil: records go to the store only). It starts nothing: call Run. A
// nil store gives an error wrapping ErrInvalid.
func NewEventLog(store EventStore, next slog.Handler, cfg EventLogConfig) (*EventLog, error) {
	if store == nil {
		return nil, errorf("chatter: new event log: %w", invalid("store", "не задано хранилище событий", "event store is nil"))
	}
	if next == nil {
		next = slog.DiscardHandler
	}
	cfg.BufferSize = cmp.Or(max(cfg.BufferSize, 0), DefaultEventBufferSize)
	cfg.BatchSize = min(cmp.Or(max(cfg.BatchSize, 0), DefaultEventBatchSize), cfg.BufferSize)
	cfg.FlushInterval = cmp.Or(max(cfg.FlushInterval, 0), DefaultEventFlushInterval)
	cfg.Retention = cmp.Or(cfg.Retention, DefaultEventRetention)
	cfg.PruneInterval = cmp.Or(max(cfg.PruneInterval, 0), DefaultEventPruneInterval)
	cfg.MaxAttrs = cmp.Or(max(cfg.MaxAttrs, 0), DefaultEventMaxAttrs)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewTicker == nil {
		cfg.NewTicker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	minLevel := cfg.MinLevel
	if minLevel == nil {
		minLevel = slog.LevelInfo
	}
	return &EventLog{
		core: &eventCore{store: store, cfg: cfg, min: minLevel, kick: make(chan struct{}, 1)},
		next: next,
	}, nil
}

// Enabled reports whether the next handler or the store wants level.
func (h *EventLog) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.core.min.Level() || h.next.Enabled(ctx, level)
}

// Handle passes r to the next handler (when it is enabled for r's level)
// and buffers r as an Event (at MinLevel and above). It returns the next
// handler's error; it never blocks on the store.
func (h *EventLog) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.next.Enabled(ctx, r.Level) {
		err = h.next.Handle(ctx, r)
	}
	if r.Level >= h.core.min.Level() {
		h.record(r)
	}
	return err
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *EventLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.next = h.next.WithAttrs(attrs)
	h2.attrs = slices.Clip(h.attrs)
	for _, a := range attrs {
		addAttr(&h2.fields, &h2.attrs, h2.prefix, a)
	}
	return &h2
}

// WithGroup returns a handler that puts the attributes that follow in group
// name.
func (h *EventLog) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.next = h.next.WithGroup(name)
	h2.prefix = h.prefix + name + "."
	return &h2
}

func (h *EventLog) record(r slog.Record) {
	c := h.core
	f := h.fields
	attrs := slices.Clip(h.attrs)
	var ev Event
	r.Attrs(func(a slog.Attr) bool {
		addAttr(&f, &attrs, h.prefix, a)
		return true
	})
	ws := cmp.Or(f.workspace, c.cfg.Workspace)
	if ws == "" {
		c.skipped.Add(1)
		return
	}
	ev.Workspace = ws
	ev.Time = r.Time
	if ev.Time.IsZero() {
		ev.Time = c.cfg.Now()
	}
	ev.Level = r.Level
	ev.Category = f.category
	ev.ErrorClass = ErrorClass(f.errorClass)
	ev.Source = f.source
	ev.MessageKey = f.messageKey
	ev.Text = cutBytes(r.Message, maxEventTextBytes)
	if len(attrs) > 0 {
		ev.Attrs = make(map[string]string, min(len(attrs), c.cfg.MaxAttrs))
		for _, a := range attrs {
			if _, ok := ev.Attrs[a.key]; !ok && len(ev.Attrs) >= c.cfg.MaxAttrs {
				continue
			}
			ev.Attrs[a.key] = a.value
		}
	}
	c.push(ev)
}

// addAttr flattens a into f (lifted keys outside groups) or attrs.
func addAttr(f *eventFields, attrs *[]eventAttr, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := a.Value.Group()
		if len(g) == 0 {
			return
		}
		p := prefix
		if a.Key != "" {
			p = prefix + a.Key + "."
		}
		for _, ga := range g {
			addAttr(f, attrs, p, ga)
		}
		return
	}
	v := valueText(a.Value)
	if prefix == "" {
		switch a.Key {
		case AttrCategory:
			f.category = v
			return
		case AttrErrorClass:
			f.errorClass = v
			return
		case AttrSource:
			f.source = v
			return
		case AttrMessageKey:
			f.messageKey = v
			return
		case AttrWorkspace:
			f.workspace = v
			return
		}
	}
	if secretKey(a.Key) {
		v = "[redacted]"
	}
	*attrs = append(*attrs, eventAttr{key: prefix + a.Key, value: v})
}

func valueText(v slog.Value) string {
	var s string
	switch v.Kind() {
	case slog.KindString:
		s = v.String()
	case slog.KindTime:
		s = v.Time().Format(time.RFC3339Nano)
	default:
		s = v.String()
	}
	return cutBytes(s, maxEventValueBytes)
}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"password", "secret", "token", "authorization", "cookie", "session"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// cutBytes cuts s to at most n bytes on a rune boundary.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func (c *eventCore) push(ev Event) {
	c.mu.Lock()
	if len(c.buf) >= c.cfg.BufferSize {
		c.mu.Unlock()
		c.dropped.Add(1)
		return
	}
	c.buf = append(c.buf, ev)
	full := len(c.buf) >= c.cfg.BatchSize
	c.mu.Unlock()
	if full {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// Stats returns the EventLog's counters.
func (h *EventLog) Stats() EventLogStats {
	c := h.core
	c.mu.Lock()
	n := len(c.buf)
	c.mu.Unlock()
	return EventLogStats{Buffered: n, Written: c.written.Load(), Dropped: c.dropped.Load(), Skipped: c.skipped.Load(), Pruned: c.pruned.Load()}
}

// Flush writes the buffered events in batches of BatchSize. On a store
// error the unwritten events go back to the front of the buffer (as many as
// fit; the rest are counted as dropped) and the error is returned.
func (h *EventLog) Flush(ctx context.Context) error {
	c := h.core
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.Lock()
	evs := c.buf
	c.buf = nil
	c.mu.Unlock()
	for len(evs) > 0 {
		n := min(len(evs), c.cfg.BatchSize)
		if err := c.store.AppendEvents(ctx, evs[:n]); err != nil {
			c.requeue(evs)
			return errorf("chatter: event log: append %d events: %w", n, err)
		}
		c.written.Add(int64(n))
		evs = evs[n:]
	}
	return nil
}

// requeue puts evs back before the events buffered since they were taken.
func (c *eventCore) requeue(evs []Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.cfg.BufferSize - len(c.buf)
	if room < len(evs) {
		c.dropped.Add(int64(len(evs) - max(room, 0)))
		evs = evs[:max(room, 0)]
	}
	c.buf = append(slices.Clone(evs), c.buf...)
}

// Prune deletes events older than Retention (by Now) and returns how many
// it deleted; it does nothing when Retention is negative.
func (h *EventLog) Prune(ctx context.Context) (int, error) {
	c := h.core
	if c.cfg.Retention < 0 {
		return 0, nil
	}
	n, err := c.store.PruneEvents(ctx, c.cfg.Now().Add(-c.cfg.Retention))
	if err != nil {
		return 0, errorf("chatter: event log: prune: %w", err)
	}
	c.pruned.Add(int64(n))
	return n, nil
}

// Run writes buffered events every FlushInterval (sooner when a batch is
// full) and prunes old events at start and every PruneInterval, until ctx
// ends; then it writes what is left (with ctx's values, not its
// cancellation, for at most 10 seconds) and returns nil. Store errors are
// logged to EventLogConfig.Logger and retried on the next tick.
func (h *EventLog) Run(ctx context.Context) error {
	c := h.core
	flushC, stopFlush := c.cfg.NewTicker(c.cfg.FlushInterval)
	defer stopFlush()
	var pruneC <-chan time.Time
	if c.cfg.Retention >= 0 {
		var stopPrune func()
		pruneC, stopPrune = c.cfg.NewTicker(c.cfg.PruneInterval)
		defer stopPrune()
		h.prune(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			h.flush(fctx)
			return nil
		case <-flushC:
			h.flush(ctx)
		case <-c.kick:
			h.flush(ctx)
		case <-pruneC:
			h.prune(ctx)
		}
	}
}

func (h *EventLog) flush(ctx context.Context) {
	if err := h.Flush(ctx); err != nil && !errors.Is(err, context.Canceled) {
		h.core.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "event log write failed",
			slog.String(AttrCategory, CategorySystem), slog.Int("buffered", h.Stats().Buffered), slog.Any("err", err))
	}
}

func (h *EventLog) prune(ctx context.Context) {
	if _, err := h.Prune(ctx); err != nil && !errors.Is(err, context.Canceled) {
		h.core.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "event log prune failed",
			slog.String(AttrCategory, CategorySystem), slog.Any("err", err))
	}
}
