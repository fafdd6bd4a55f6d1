package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/keyword"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/fieldmap"
	"github.com/chatterhq/sdk/tgbot"
)

// setupRetry is how long a delivery waits while the workspace's amoCRM
// connection could not be set up (the setup itself retries with backoff);
// setupPending while the first setup is still running.
const (
	setupRetry   = 30 * time.Second
	setupPending = 2 * time.Second
)

// workspace is the running form of one configured workspace: its amoCRM
// client and sink, its keyword filter, its bots and parser, its notifiers
// and its checks.
type workspace struct {
	id  string
	cfg config.Workspace
	app *App
	log *slog.Logger

	stats  *amocrmsink.RequestStats
	amo    *amocrm.Client
	schema *fieldmap.SchemaCache
	spec   *fieldmap.Spec

	filter    *keyword.Live // nil: no rules
	filterAll bool          // the rules apply to bot messages too

	sink     atomic.Pointer[amocrmsink.Sink]
	setupErr atomic.Pointer[error]

	bots      []*bot
	parser    *parser
	notifiers *notifiers

	webhookSecret string // the path secret of amoCRM's webhooks

	stop    context.CancelFunc // stops the components startWorkspace ran
	running sync.WaitGroup     // those components

	mu     sync.Mutex
	checks []chatter.Check
}

func (a *App) newWorkspace(ctx context.Context, wc config.Workspace) (*workspace, error) {
	w := &workspace{id: wc.ID, cfg: wc, app: a, log: a.log.With(slog.String(chatter.AttrWorkspace, wc.ID))}
	w.stats = amocrmsink.NewRequestStats(a.now)
	ac := wc.AmoCRM
	cc := amocrmsink.ClientConfig{
		Store: a.store, Workspace: wc.ID, Account: cmpOr(ac.Subdomain, accountOfURL(ac.BaseURL)), BaseURL: ac.BaseURL,
		LongLivedToken: ac.LongLivedToken, Stats: w.stats, Logger: a.log,
		Options: []amocrm.Option{amocrm.WithRequestHook(w.observe)},
	}
	if ac.LongLivedToken == "" {
		cc.OAuth = &amocrm.OAuthConfig{ClientID: ac.OAuth.ClientID, ClientSecret: ac.OAuth.ClientSecret,
			RedirectURL: cmpOr(ac.OAuth.RedirectURL, a.oauthRedirect()), AuthURL: ac.OAuth.AuthURL}
	}
	client, err := amocrmsink.NewClient(cc)
	if err != nil {
		return nil, fmt.Errorf("workspace %s: amoCRM client: %w", wc.ID, err)
	}
	w.amo = client
	w.schema = fieldmap.NewSchemaCache(fieldmap.FetchSchema(client), fieldmap.SchemaCacheConfig{})
	if wc.Mapping.Inline == nil {
		return nil, fmt.Errorf("workspace %s: no field mapping", wc.ID)
	}
	w.spec = wc.Mapping.Inline
	if rules := wc.Keywords.Rules; len(rules) > 0 {
		kc := keyword.Config{Normalize: keyword.NormalizeOptions{FoldLookalikes: wc.Keywords.FoldLookalikes}}
		for _, r := range rules {
			kc.Rules = append(kc.Rules, keyword.Rule{Expr: r})
		}
		set, err := keyword.Compile(kc)
		if err != nil {
			return nil, fmt.Errorf("workspace %s: keyword rules: %w", wc.ID, err)
		}
		w.filter = keyword.NewLive(set)
		w.filterAll = wc.Keywords.ApplyTo == config.ApplyToAll
	}
	w.webhookSecret, err = a.secretSetting(ctx, wc.ID, "amocrm/webhook-secret")
	if err != nil {
		return nil, fmt.Errorf("workspace %s: %w", wc.ID, err)
	}
	if err := w.buildBots(ctx); err != nil {
		return nil, err
	}
	clients := map[string]*tgbot.Client{}
	for _, b := range w.bots {
		clients[b.cfg.ID] = b.client
	}
	if w.notifiers, err = buildNotifiers(&wc, w.app.cfg.Notify, clients, w.log); err != nil {
		return nil, fmt.Errorf("workspace %s: %w", wc.ID, err)
	}
	if err := w.buildParser(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

// observe feeds the metrics with every amoCRM request (the sink's request
// statistics are attached to the client by amocrmsink.NewClient).
func (w *workspace) observe(ri amocrm.RequestInfo) {
	if m := w.app.metrics; m != nil {
		m.AmoCRMHook(w.id)(ri)
	}
}

// accountOfURL names the account of a base URL (the fake's host) for the
// token and budget rows.
func accountOfURL(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	if i := strings.IndexAny(u, "/?#"); i >= 0 {
		u = u[:i]
	}
	return strings.ReplaceAll(u, ":", "-")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// setupSink prepares the delivery into amoCRM: the marker field (created
// when missing), the contact fields named in the configuration, the live
// schema and the mapping compiled against it. It runs as a component:
// until it succeeds, deliveries of the workspace wait (setupError), and the
// supervisor retries it with backoff, so a revoked token or an unreachable
// amoCRM at start does not stop the server.
func (w *workspace) setupSink(ctx context.Context) error {
	err := w.trySetup(ctx)
	if err != nil {
		w.setupErr.Store(&err)
		return err
	}
	w.setupErr.Store(nil)
	return nil
}

// runSink is the workspace's amoCRM component: the set-up (retried by the
// supervisor until it succeeds), then the account's circuit shared with
// every instance (amocrmsink.Sink.Watch) until the workspace stops: a block
// holds every instance's deliveries, one instance probes, and the first
// answer wakes them.
func (w *workspace) runSink(ctx context.Context) error {
	if err := w.setupSink(ctx); err != nil {
		return err
	}
	return w.sink.Load().Watch(ctx, amocrmsink.WatchConfig{Workspace: w.id, Settings: w.app.store, Queue: w.app.store})
}

func (w *workspace) trySetup(ctx context.Context) error {
	ac := w.cfg.AmoCRM
	marker, ok := ac.MarkerField.ID()
	if !ok {
		// Instances starting together on a new account create one field.
		id, err := amocrmsink.EnsureMarkerFieldShared(ctx, w.amo, w.app.store, w.id, w.app.holder, ac.MarkerField.Name())
		if err != nil {
			return err
		}
		marker = id
	}
	tgID, err := w.contactField(ctx, ac.ContactTelegramIDField)
	if err != nil {
		return err
	}
	username, err := w.contactField(ctx, ac.ContactUsernameField)
	if err != nil {
		return err
	}
	schema, _, err := w.schema.Get(ctx)
	if err != nil {
		return fmt.Errorf("read the amoCRM schema: %w", err)
	}
	mapper, err := fieldmap.Compile(w.spec, fieldmap.WithSchema(schema), fieldmap.WithRecordSchema(amocrmsink.MessageRecordSchema()))
	if err != nil {
		return fmt.Errorf("compile the field mapping against the amoCRM schema: %w", err)
	}
	lookup := amocrmsink.LookupCRM
	if ac.Lookup == config.LookupStore {
		lookup = amocrmsink.LookupStore
	}
	d := w.app.cfg.Delivery
	sink, err := amocrmsink.New(amocrmsink.Config{
		Client: w.amo, Mapper: mapper, Schema: w.schema, Contacts: w.app.store, Leases: w.app.store,
		MarkerField: marker, ContactTelegramIDField: tgID, ContactUsernameField: username,
		ThreadWindow: ac.ThreadWindow.D(), Holder: w.app.holder, Stats: w.stats, Lookup: lookup,
		BatchSize: d.BatchSize, BatchWait: d.BatchWait.D(), WebhookURL: w.amoWebhookURL(),
		Logger: w.log, Now: w.app.now,
	})
	if err != nil {
		return err
	}
	w.sink.Store(sink)
	w.mu.Lock()
	w.checks = sink.Checks()
	w.mu.Unlock()
	w.log.LogAttrs(ctx, slog.LevelInfo, "amoCRM delivery ready",
		slog.String(chatter.AttrCategory, chatter.CategorySystem), slog.Int("marker_field", marker))
	return nil
}

// contactField resolves a contact field given by name or id (0: not set).
func (w *workspace) contactField(ctx context.Context, ref config.FieldRef) (int, error) {
	if ref == "" {
		return 0, nil
	}
	if id, ok := ref.ID(); ok {
		return id, nil
	}
	name := ref.Name()
	for f, err := range w.amo.CustomFields.ListIter(ctx, amocrm.EntityContacts, nil) {
		if err != nil {
			return 0, fmt.Errorf("list contact fields: %w", err)
		}
		if strings.EqualFold(strings.TrimSpace(f.Name), name) {
			return f.ID, nil
		}
	}
	return 0, fmt.Errorf("contact field %q does not exist in amoCRM", name)
}

// notReadyError is returned for a delivery while the workspace's amoCRM
// connection is not set up: the delivery is snoozed, not failed.
type notReadyError struct {
	ws    string
	cause error
}

func (e *notReadyError) Error() string {
	if e.cause == nil {
		return "amoCRM delivery of workspace " + e.ws + " is not set up yet"
	}
	return "amoCRM delivery of workspace " + e.ws + " is not set up: " + e.cause.Error()
}
func (e *notReadyError) Unwrap() error { return e.cause }
func (e *notReadyError) RetryAfter() time.Duration {
	if e.cause == nil {
		return setupPending
	}
	return setupRetry
}
func (e *notReadyError) ErrorClass() chatter.ErrorClass {
	if e.cause == nil {
		return chatter.ClassTransient
	}
	if c := chatter.ClassOf(amocrmsink.Classify(e.cause)); c != chatter.ClassNone {
		return c
	}
	return chatter.ClassTransient
}

// Deliver implements chatter.Sink for the workspace.
func (w *workspace) Deliver(ctx context.Context, d *chatter.Delivery) (*chatter.DeliveryResult, error) {
	if s := w.sink.Load(); s != nil {
		return s.Deliver(ctx, d)
	}
	var cause error
	if p := w.setupErr.Load(); p != nil {
		cause = *p
	}
	return nil, &notReadyError{ws: w.id, cause: cause}
}

// Filter implements chatter.Filter: the keyword rules for parsed messages
// (and for bot messages too when keywords.apply_to is all).
func (w *workspace) Filter(m *chatter.Message) chatter.Verdict {
	if w.filter == nil {
		return chatter.Verdict{Accept: true, Reason: "no keyword rules"}
	}
	if m.Key.Source == chatter.SourceBot && !w.filterAll {
		return chatter.Verdict{Accept: true, Reason: "a message written to the bot"}
	}
	return w.filter.Filter(m)
}

// Checks returns the workspace's checks: the sink's (once set up, else a
// check that says why it is not), the bots', the parser's and the
// notifiers'.
func (w *workspace) Checks() []chatter.Check {
	w.mu.Lock()
	out := append([]chatter.Check(nil), w.checks...)
	w.mu.Unlock()
	if w.sink.Load() == nil {
		out = append(out, chatter.CheckFunc("amocrm.setup."+w.id, w.setupCheck))
	}
	for _, b := range w.bots {
		out = append(out, b.checks()...)
	}
	if w.parser != nil {
		out = append(out, w.parser.checks()...)
	}
	if w.notifiers != nil {
		out = append(out, w.notifiers.checks...)
	}
	return out
}

func (w *workspace) setupCheck(ctx context.Context) chatter.CheckResult {
	r := chatter.CheckResult{Title: chatter.T("Подключение к amoCRM ("+w.id+")", "amoCRM connection ("+w.id+")"),
		Status: chatter.StatusOK, Guide: chatter.GuideAmoCRMAuth}
	if w.sink.Load() != nil {
		return r
	}
	// Try now: the doctor wants today's answer, not the last retry's.
	if err := w.setupSink(ctx); err == nil {
		return r
	}
	var cause error
	if p := w.setupErr.Load(); p != nil {
		cause = *p
	}
	r.Status = chatter.StatusFail
	r.Cause, r.Remedy = setupTexts(cause)
	if c := chatter.ClassOf(amocrmsink.Classify(cause)); c == chatter.ClassMapping {
		r.Guide = chatter.GuideFields
	} else if c == chatter.ClassRateLimited || c == chatter.ClassBlocked {
		r.Guide = chatter.GuideRateLimit
	}
	return r
}

// setupTexts explains why the amoCRM connection could not be set up.
func setupTexts(err error) (cause, remedy chatter.Text) {
	if err == nil {
		return chatter.T("подключение ещё не установлено", "the connection is not set up yet"),
			chatter.T("Подождите минуту и повторите проверку.", "Wait a minute and run the check again.")
	}
	msg := err.Error()
	var unauth *amocrm.UnauthorizedError
	var blocked *amocrm.BlockedError
	var fe *fieldmap.Error
	switch {
	case errors.As(err, &unauth):
		return chatter.T("amoCRM отклонил ключ доступа: "+msg, "amoCRM rejected the access key: "+msg),
			chatter.T("Сгенерируйте новые ключи в amoCRM (Настройки → Интеграции) и обновите ключи в настройках Чаттера (раздел amoCRM).",
				"Generate new keys in amoCRM (Settings → Integrations) and update them in Chatter's settings (the amoCRM page).")
	case errors.As(err, &blocked):
		return chatter.T("amoCRM заблокировал доступ: "+msg, "amoCRM blocked access: "+msg),
			chatter.T("Снизьте частоту запросов и обратитесь в поддержку amoCRM, если блокировка не снимается.",
				"Lower the request rate and contact amoCRM support if the block stays.")
	case errors.As(err, &fe):
		return chatter.T("сопоставление полей не подходит к amoCRM: "+msg, "the field mapping does not fit amoCRM: "+msg),
			chatter.T("Откройте «Сопоставление полей», исправьте поля, которых нет в amoCRM, и создайте тестовую сделку.",
				"Open «Field mapping», fix the fields amoCRM does not have, and create a test lead.")
	}
	return chatter.T("amoCRM недоступен: "+msg, "amoCRM is unreachable: "+msg),
		chatter.T("Проверьте адрес amoCRM в настройках и сетевое подключение сервера.", "Check the amoCRM address in the settings and the server's network connection.")
}

// amoWebhookURL is where amoCRM's webhooks for this workspace go ("" when
// the server has no public URL or webhooks are off).
func (w *workspace) amoWebhookURL() string {
	base := w.app.publicURL()
	if base == "" || !w.cfg.AmoCRM.Webhooks {
		return ""
	}
	return base + w.app.AmoCRMWebhookPath(w.id)
}
