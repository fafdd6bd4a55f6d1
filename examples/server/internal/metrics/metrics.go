// Package metrics is the reference server's Prometheus instrumentation:
// messages accepted, deliveries by outcome and error class, the queue's depth
// and oldest age, amoCRM requests by endpoint and status with the rate
// budget's waits, 429/403 answers, Telegram flood waits per account,
// notifications sent, the delivery latency and the build. Everything is
// registered on the Metrics' own registry (no global state), served by
// Handler.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
)

const namespace = "chatter"

// Metrics holds the server's collectors.
type Metrics struct {
	reg *prometheus.Registry

	accepted      *prometheus.CounterVec
	deliveries    *prometheus.CounterVec
	latency       prometheus.Histogram
	attemptDur    prometheus.Histogram
	amoRequests   *prometheus.CounterVec
	amoDuration   *prometheus.HistogramVec
	amoBlocked    *prometheus.CounterVec
	budgetWait    prometheus.Histogram
	floodWaits    *prometheus.CounterVec
	notifications *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
}

// Build labels the build info gauge.
type Build struct {
	Version, Commit, GoVersion string
}

// New returns Metrics on a fresh registry with the Go and process collectors
// and chatter_build_info.
func New(b Build) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{reg: reg}
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	bi := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "build_info",
		Help: "Build of the running server.", ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": b.GoVersion}})
	bi.Set(1)
	f(bi)
	m.accepted = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "messages_accepted_total",
		Help: "Messages handed to the pipeline, by source kind and the state they were stored in (duplicate, filtered, queued, rejected, error)."},
		[]string{"source", "state"})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "deliveries_total",
		Help: "Delivery attempts by outcome (delivered, retry, snooze, dead) and error class."}, []string{"outcome", "error_class"})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "delivery_latency_seconds",
		Help:    "Time from a message's arrival to its lead or note in amoCRM.",
		Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600}})
	m.attemptDur = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "delivery_attempt_seconds",
		Help: "Duration of one delivery attempt (the sink's call).", Buckets: prometheus.DefBuckets})
	m.amoRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "amocrm_requests_total",
		Help: "amoCRM API requests by workspace, endpoint and HTTP status (0: no answer)."}, []string{"workspace", "endpoint", "status"})
	m.amoDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "amocrm_request_seconds",
		Help: "amoCRM API request duration by endpoint.", Buckets: prometheus.DefBuckets}, []string{"endpoint"})
	m.amoBlocked = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "amocrm_throttled_total",
		Help: "amoCRM answers 429 (too many requests) and 403 (blocked) by workspace."}, []string{"workspace", "status"})
	m.budgetWait = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "amocrm_rate_budget_wait_seconds",
		Help:    "Time a request waited for its slot of the account's shared 7 requests/s budget.",
		Buckets: []float64{0.001, 0.01, 0.05, 0.15, 0.3, 0.6, 1.2, 2.5, 5, 10, 30}})
	m.floodWaits = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "telegram_flood_waits_total",
		Help: "FLOOD_WAIT answers Telegram gave a parser account."}, []string{"workspace", "account"})
	m.notifications = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "notifications_total",
		Help: "Notifications sent by type and result (sent, failed)."}, []string{"type", "result"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "http_request_seconds",
		Help:    "HTTP requests served, by route and status class; the webhook routes' duration is the acknowledgement latency.",
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5}}, []string{"route", "code"})
	for _, c := range []prometheus.Collector{m.accepted, m.deliveries, m.latency, m.attemptDur, m.amoRequests, m.amoDuration,
		m.amoBlocked, m.budgetWait, m.floodWaits, m.notifications, m.httpDuration} {
		f(c)
	}
	return m
}

// Registry returns the registry (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// PipelineHooks returns the chatter.Hooks that feed the message and
// delivery metrics. received tells when the store accepted a message (the
// ledger's ReceivedAt); nil uses the message's own time.
func (m *Metrics) PipelineHooks() chatter.Hooks {
	return chatter.Hooks{
		OnAccepted: func(_ context.Context, msg *chatter.Message, r chatter.AcceptResult, err error) {
			source := "unknown"
			if msg != nil {
				source = string(msg.Key.Source)
			}
			state := string(r.State)
			switch {
			case err != nil:
				state = "error"
			case r.Duplicate:
				state = "duplicate"
			}
			m.accepted.WithLabelValues(source, state).Inc()
		},
		OnDelivered: func(_ context.Context, msg *chatter.Message, _ *chatter.DeliveryResult, dur time.Duration, err error) {
			m.attemptDur.Observe(dur.Seconds())
			if err == nil && msg != nil && !msg.Time.IsZero() {
				m.latency.Observe(max(time.Since(msg.Time), 0).Seconds())
			}
		},
		OnOutcome: func(_ context.Context, _ *chatter.Job, o chatter.Outcome) {
			m.deliveries.WithLabelValues(outcomeLabel(o.Kind), string(o.Class)).Inc()
		},
	}
}

func outcomeLabel(k chatter.OutcomeKind) string {
	switch k {
	case chatter.OutcomeDelivered:
		return "delivered"
	case chatter.OutcomeRetry:
		return "retry"
	case chatter.OutcomeSnooze:
		return "snooze"
	case chatter.OutcomeDead:
		return "dead"
	}
	return "unknown"
}

var idSegment = regexp.MustCompile(`/[0-9]+(/|$)`)

// endpoint turns /api/v4/leads/123/notes into /api/v4/leads/{id}/notes.
func endpoint(path string) string {
	for {
		p := idSegment.ReplaceAllString(path, "/{id}$1")
		if p == path {
			return p
		}
		path = p
	}
}

// AmoCRMHook returns an amocrm.WithRequestHook function that counts the
// requests of workspace's account.
func (m *Metrics) AmoCRMHook(workspace string) func(amocrm.RequestInfo) {
	return func(ri amocrm.RequestInfo) {
		ep := endpoint(ri.Path)
		m.amoRequests.WithLabelValues(workspace, ep, strconv.Itoa(ri.Status)).Inc()
		m.amoDuration.WithLabelValues(ep).Observe(ri.Duration.Seconds())
		if ri.Status == http.StatusTooManyRequests || ri.Status == http.StatusForbidden {
			m.amoBlocked.WithLabelValues(workspace, strconv.Itoa(ri.Status)).Inc()
		}
	}
}

// ObserveBudgetWait records how long a request waited for its rate slot.
func (m *Metrics) ObserveBudgetWait(d time.Duration) { m.budgetWait.Observe(d.Seconds()) }

// FloodWait counts a FLOOD_WAIT of a parser account.
func (m *Metrics) FloodWait(workspace, account string) {
	m.floodWaits.WithLabelValues(workspace, account).Inc()
}

// Notifier wraps next so that every notification is counted.
func (m *Metrics) Notifier(next chatter.Notifier) chatter.Notifier {
	return chatter.NotifierFunc(func(ctx context.Context, n *chatter.Notification) error {
		err := next.Notify(ctx, n)
		result := "sent"
		if err != nil {
			result = "failed"
		}
		m.notifications.WithLabelValues(string(n.Type), result).Inc()
		return err
	})
}

// ObserveHTTP records one served request.
func (m *Metrics) ObserveHTTP(route string, code int, d time.Duration) {
	m.httpDuration.WithLabelValues(route, strconv.Itoa(code/100)+"xx").Observe(d.Seconds())
}

// Ledger is what the queue collector reads.
type Ledger interface {
	CountEntries(ctx context.Context, q chatter.LedgerQuery) (map[chatter.State]int, error)
}

// RegisterLedger adds gauges of the ledger's messages by workspace and
// state, read from l at scrape time (at most once per cacheFor, each read
// bounded by a timeout so a slow store cannot hang a scrape). oldest, when
// set, gives the arrival time of a workspace's oldest waiting message for
// chatter_queue_oldest_seconds.
func (m *Metrics) RegisterLedger(l Ledger, workspaces func() []string, oldest func(ctx context.Context, ws string) (time.Time, bool, error), log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m.reg.MustRegister(&ledgerCollector{l: l, workspaces: workspaces, oldest: oldest, log: log, cacheFor: 5 * time.Second,
		messages: prometheus.NewDesc(namespace+"_ledger_messages", "Messages on the delivery ledger by workspace and state.", []string{"workspace", "state"}, nil),
		depth:    prometheus.NewDesc(namespace+"_queue_depth", "Messages waiting for delivery (received, queued, delivering, failed).", []string{"workspace"}, nil),
		age:      prometheus.NewDesc(namespace+"_queue_oldest_seconds", "Age of the oldest message waiting for delivery.", []string{"workspace"}, nil),
	})
}

type ledgerCollector struct {
	l          Ledger
	workspaces func() []string
	oldest     func(ctx context.Context, ws string) (time.Time, bool, error)
	log        *slog.Logger
	cacheFor   time.Duration

	messages, depth, age *prometheus.Desc

	mu     sync.Mutex
	at     time.Time
	cached []prometheus.Metric
}

func (c *ledgerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.messages
	ch <- c.depth
	ch <- c.age
}

func (c *ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > c.cacheFor {
		c.cached = c.read()
		c.at = time.Now()
	}
	for _, mt := range c.cached {
		ch <- mt
	}
}

func (c *ledgerCollector) read() []prometheus.Metric {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []prometheus.Metric
	for _, ws := range c.workspaces() {
		counts, err := c.l.CountEntries(ctx, chatter.LedgerQuery{Workspace: ws})
		if err != nil {
			c.log.Warn("metrics: ledger counts", "workspace", ws, "error", err.Error())
			continue
		}
		depth := 0
		for _, st := range chatter.AllStates {
			out = append(out, prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(counts[st]), ws, string(st)))
			switch st {
			case chatter.StateReceived, chatter.StateQueued, chatter.StateDelivering, chatter.StateFailed:
				depth += counts[st]
			}
		}
		out = append(out, prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(depth), ws))
		if c.oldest == nil {
			continue
		}
		age := 0.0
		if depth > 0 {
			at, ok, err := c.oldest(ctx, ws)
			if err != nil {
				c.log.Warn("metrics: oldest waiting message", "workspace", ws, "error", err.Error())
				continue
			}
			if ok {
				age = max(time.Since(at).Seconds(), 0)
			}
		}
		out = append(out, prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age, ws))
	}
	return out
}
