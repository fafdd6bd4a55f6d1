package amocrmsink

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/fieldmap"
)

// Defaults for zero fields of Config.
const (
	DefaultThreadWindow    = 7 * 24 * time.Hour
	DefaultLeaseTTL        = time.Minute
	DefaultLeaseWait       = 20 * time.Second
	DefaultBusySnooze      = 2 * time.Second
	DefaultTokenWarnBefore = 72 * time.Hour
	DefaultRateWindow      = 15 * time.Minute
)

// MarkerPrefix starts the line that ends every note the sink writes:
// "Chatter ID: <message key>". It is how a retried delivery finds the note an
// earlier, ambiguous attempt created.
const MarkerPrefix = "Chatter ID: "

// Config configures a Sink. Zero fields take the documented defaults; New
// rejects a Config without its required fields with an error naming them.
type Config struct {
	// Client is the amoCRM client of the account. Required.
	Client *amocrm.Client
	// Mapper is the compiled field mapping applied to every message.
	// Required. When Schema is set, the mapper is recompiled from
	// Mapper.Spec() against every new schema version.
	Mapper *fieldmap.Mapper
	// Schema, when set, keeps the live account schema: after amoCRM rejects
	// a delivery with a field error the sink reports it (SchemaCache.ReportError),
	// and the next delivery recompiles (and so re-validates) the mapping
	// against the refreshed schema. The fields check uses it too.
	Schema *fieldmap.SchemaCache
	// Contacts remembers which amoCRM contact a Telegram person is and the
	// lead open for them. Required.
	Contacts chatter.ContactStore
	// Leases serialises deliveries of one person (two first messages from a
	// new person create one contact). Required.
	Leases chatter.LeaseStore
	// Ledger tells when the store accepted a message (LedgerEntry.ReceivedAt):
	// after an ambiguous failure, the lead the earlier attempt may have
	// created is looked for among the leads created since then. Optional:
	// it defaults to Contacts when that is a chatter.MessageStore (every
	// chatter.Store is); without one the window starts at the message's
	// time.
	Ledger chatter.MessageStore
	// MarkerField is the id of a lead custom field (text) that receives the
	// message key of the message that created the lead. Required: it is
	// how a retried delivery finds the lead an ambiguous attempt created.
	// EnsureMarkerField creates one.
	MarkerField int
	// ContactTelegramIDField is the id of the contact custom field (text)
	// holding the Telegram user id: the strong key contacts are found by.
	// Optional but strongly recommended.
	ContactTelegramIDField int
	// ContactUsernameField is the id of the contact custom field (text)
	// holding the Telegram username (a weak key). Optional.
	ContactUsernameField int
	// ThreadWindow is how long after the last message a person's open lead
	// still takes new messages as notes. Defaults to 7 days.
	ThreadWindow time.Duration
	// LeaseTTL is the lifetime of the per-person lease (renewed while a
	// delivery runs). Defaults to 1 minute.
	LeaseTTL time.Duration
	// LeaseWait is how long a delivery waits for another delivery of the
	// same person before it is snoozed. Defaults to 20 seconds.
	LeaseWait time.Duration
	// Holder names this process in leases. Defaults to a random id.
	Holder string
	// WebhookURL, when set, is the address amoCRM webhooks must point at;
	// the webhooks check verifies the subscription.
	WebhookURL string
	// TokenExpiry, when set, returns when the credential expires (the
	// long-lived token's exp, or the OAuth refresh token's end of life); the
	// token check warns TokenWarnBefore ahead.
	TokenExpiry func(ctx context.Context) (time.Time, error)
	// TokenWarnBefore defaults to 72 hours.
	TokenWarnBefore time.Duration
	// Stats counts amoCRM answers for the rate-limit and block checks; New
	// attaches it to Client (RequestStats.Attach: every HTTP attempt, once
	// even when NewClient attached it too). Defaults to a new RequestStats.
	Stats *RequestStats
	// RateWindow is how far back the rate-limit check counts 429 answers.
	// Defaults to 15 minutes.
	RateWindow time.Duration
	// Lookup is how a person the store does not know is looked up before
	// a lead is created: LookupCRM (the default) searches amoCRM, LookupStore
	// does not. See the package documentation for the trade-off.
	Lookup LookupPolicy
	// BatchSize, when above 1, lets concurrent deliveries that create a lead
	// share one /leads/complex request (at most BatchSize leads, at most
	// amocrm.MaxComplexBatch = 50), and concurrent notes share one
	// POST /leads/notes. 0 or 1 sends every lead and note alone.
	BatchSize int
	// BatchWait is how long the first item of a batch waits for more before
	// the batch is sent (it is sent at once when full, and a batch not full
	// also waits for the previous batch's request to finish). Defaults to
	// DefaultBatchWait when batching is on; it adds up to that much latency
	// to a lone message.
	BatchWait time.Duration
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Logger receives diagnostics (never message text or tokens); nil is
	// silent.
	Logger *slog.Logger
}

func (c Config) validate() error {
	var missing []string
	if c.Client == nil {
		missing = append(missing, "Client")
	}
	if c.Mapper == nil {
		missing = append(missing, "Mapper")
	}
	if c.Contacts == nil {
		missing = append(missing, "Contacts")
	}
	if c.Leases == nil {
		missing = append(missing, "Leases")
	}
	if c.MarkerField <= 0 {
		missing = append(missing, "MarkerField")
	}
	if len(missing) > 0 {
		return fmt.Errorf("amocrmsink: config: missing %s: %w", strings.Join(missing, ", "), chatter.ErrInvalid)
	}
	if c.ThreadWindow < 0 || c.LeaseTTL < 0 || c.LeaseWait < 0 || c.RateWindow < 0 || c.TokenWarnBefore < 0 || c.BatchWait < 0 {
		return fmt.Errorf("amocrmsink: config: negative duration: %w", chatter.ErrInvalid)
	}
	if c.ContactTelegramIDField < 0 || c.ContactUsernameField < 0 {
		return fmt.Errorf("amocrmsink: config: negative field id: %w", chatter.ErrInvalid)
	}
	if c.BatchSize < 0 || c.BatchSize > amocrm.MaxComplexBatch {
		return fmt.Errorf("amocrmsink: config: BatchSize %d is outside 0..%d: %w", c.BatchSize, amocrm.MaxComplexBatch, chatter.ErrInvalid)
	}
	if c.Lookup != LookupCRM && c.Lookup != LookupStore {
		return fmt.Errorf("amocrmsink: config: unknown Lookup %d: %w", c.Lookup, chatter.ErrInvalid)
	}
	return nil
}

// LookupPolicy says how a person the store has no ContactLink for is looked
// up before a lead is created for them.
type LookupPolicy int

const (
	// LookupCRM (the default) searches amoCRM for the person's contact: by
	// the Telegram id field, then the username field, then the phone (one
	// GET each, until found), and reads the open leads of a contact found.
	// A new person costs these searches before the lead is created.
	LookupCRM LookupPolicy = iota
	// LookupStore trusts the store's ContactLink only: a person it does not
	// know gets a new contact inside /leads/complex, with no GET before it,
	// and amoCRM's duplicate control merges that contact into an existing
	// one with the same phone or e-mail (the result is then marked
	// merged). A contact amoCRM holds under the person's Telegram id or
	// username but not phone is not found, and the weak-key rule (never use
	// a contact whose Telegram id differs) is amoCRM's duplicate control's
	// call, not the sink's.
	LookupStore
)

// Sink delivers messages to amoCRM: it maps each message with the field
// mapping, finds or creates the person's contact (the store's link, then,
// with LookupCRM, amoCRM by Telegram id, then username, then phone; never
// merging on a weak key when the Telegram id disagrees), threads messages
// onto the person's open lead as notes, and otherwise creates a lead with
// the contact through /leads/complex plus a note with the message. With
// Config.BatchSize > 1 concurrent deliveries share those requests (see the
// package documentation, Batching).
//
// Deliver is idempotent with respect to the message key: a delivery whose
// earlier attempt may have reached amoCRM first looks for the lead (by
// MarkerField, among the leads created since the message reached the store,
// not by full-text search) and the note (by its "Chatter ID:" line) that
// attempt created, and adopts them (see the package documentation, Exactly
// once). Its errors start with the attempt's id ("[attempt …] "), by which
// the next attempt recognises that it follows this one.
//
// A Sink is safe for concurrent use.
type Sink struct {
	watch  atomic.Pointer[watchView] // set while Watch runs
	cfg    Config
	log    *slog.Logger
	stats  *RequestStats
	holder string

	// ledger, when known, tells when the store accepted a message: the
	// start of the window an earlier attempt's lead is looked for in.
	ledger chatter.MessageStore

	// unsettled holds, per person, the writes that ended ambiguously and
	// may have created a contact the store does not know: the person's next
	// delivery looks for them before creating a contact (see settle).
	unsettled unsettledPeople
	// checked remembers the phones and e-mails already settled on contacts.
	checked checkedValues
	// attempts remembers what failed attempts may have written.
	attempts attemptLog
	// skew is amoCRM's clock against ours, for created_at windows.
	skew clockSkew

	leads        *batcher[*amocrm.ComplexLead, *amocrm.ComplexLeadResult]
	reads        *batcher[int, *amocrm.Lead]
	notes        *batcher[*amocrm.Note, *amocrm.Note]
	scans        *batcher[scanItem, *amocrm.Lead]
	contactReads *batcher[int, *amocrm.Contact]
	tagPatches   *batcher[*amocrm.Lead, *amocrm.Lead]

	mu      sync.Mutex
	mapper  *fieldmap.Mapper
	schemaV uint64
	mapErr  error // the recompile error for schemaV, if any
}

var _ chatter.Sink = (*Sink)(nil)

// New checks cfg, fills its defaults and returns a Sink. It starts nothing and
// makes no requests. A bad cfg gives an error wrapping chatter.ErrInvalid.
func New(cfg Config) (*Sink, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.ThreadWindow = cmp.Or(cfg.ThreadWindow, DefaultThreadWindow)
	cfg.LeaseTTL = cmp.Or(cfg.LeaseTTL, DefaultLeaseTTL)
	cfg.LeaseWait = cmp.Or(cfg.LeaseWait, DefaultLeaseWait)
	cfg.TokenWarnBefore = cmp.Or(cfg.TokenWarnBefore, DefaultTokenWarnBefore)
	cfg.RateWindow = cmp.Or(cfg.RateWindow, DefaultRateWindow)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Holder == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		cfg.Holder = "amocrmsink-" + hex.EncodeToString(b[:])
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stats := cfg.Stats
	if stats == nil {
		stats = NewRequestStats(cfg.Now)
	}
	if cfg.BatchSize > 1 {
		cfg.BatchWait = cmp.Or(cfg.BatchWait, DefaultBatchWait)
	}
	stats.Attach(cfg.Client)
	s := &Sink{cfg: cfg, log: log, stats: stats, holder: cfg.Holder, mapper: cfg.Mapper}
	s.leads = &batcher[*amocrm.ComplexLead, *amocrm.ComplexLeadResult]{
		size: cfg.BatchSize, wait: cfg.BatchWait, method: http.MethodPost, path: "/api/v4/leads/complex", send: s.sendLeads}
	s.reads = &batcher[int, *amocrm.Lead]{
		size: cfg.BatchSize, wait: cfg.BatchWait, method: http.MethodGet, path: "/api/v4/leads", send: s.readLeads}
	s.notes = &batcher[*amocrm.Note, *amocrm.Note]{
		size: cfg.BatchSize, wait: cfg.BatchWait, method: http.MethodPost, path: "/api/v4/leads/notes", send: s.sendNotes}
	s.scans = &batcher[scanItem, *amocrm.Lead]{
		size: cfg.BatchSize, wait: cfg.BatchWait, method: http.MethodGet, path: "/api/v4/leads", send: s.scanLeads}
	s.contactReads = &batcher[int, *amocrm.Contact]{
		size: cfg.BatchSize, wait: cfg.BatchWait, method: http.MethodGet, path: "/api/v4/contacts", send: s.readContacts}
	s.tagPatches = &batcher[*amocrm.Lead, *amocrm.Lead]{
		size: cfg.BatchSize, wait: cfg.BatchWait, method: http.MethodPatch, path: "/api/v4/leads", send: s.patchLeads}
	s.ledger = cfg.Ledger
	if s.ledger == nil {
		s.ledger, _ = cfg.Contacts.(chatter.MessageStore)
	}
	return s, nil
}

// Stats returns the request statistics the checks read.
func (s *Sink) Stats() *RequestStats { return s.stats }

// Deliver implements chatter.Sink. See Sink for what it does; Classify lists
// the error classes it returns.
func (s *Sink) Deliver(ctx context.Context, d *chatter.Delivery) (*chatter.DeliveryResult, error) {
	if d == nil || d.Message == nil {
		return nil, chatter.Permanent(chatter.WithClass(fmt.Errorf("amocrmsink: deliver: no message: %w", chatter.ErrInvalid), chatter.ClassInternal))
	}
	m := d.Message
	if err := s.held(); err != nil {
		// The account is blocked (Watch): nothing is sent until a probe
		// gets an answer, and then the delivery is woken.
		return nil, err
	}
	mapper, err := s.currentMapper(ctx)
	if err != nil {
		return nil, s.failAttempt(ctx, d, s.attempts.begin(m.Key.String(), d), err)
	}
	mapped, err := mapper.Apply(NewMessageRecord(m))
	if err != nil {
		return nil, s.failAttempt(ctx, d, s.attempts.begin(m.Key.String(), d), fmt.Errorf("amocrmsink: map %s: %w", m.Key, err))
	}
	job := &job{s: s, m: m, mapped: mapped, person: personOf(m, mapped), marker: m.Key.String(),
		past: s.attempts.begin(m.Key.String(), d)}
	var res *chatter.DeliveryResult
	run := func(ctx context.Context) error {
		var err error
		res, err = job.run(ctx)
		return err
	}
	if name := job.person.leaseName(); name != "" {
		err = s.withLease(ctx, m.Workspace, name, s.holder+":"+job.marker, run)
	} else {
		err = run(ctx)
	}
	if err != nil {
		return nil, s.failAttempt(ctx, d, job.pastAfter(), s.holdRetry(err))
	}
	s.attempts.forget(job.marker)
	s.log.LogAttrs(ctx, slog.LevelDebug, "amocrm delivery done",
		slog.String(chatter.AttrMessageKey, job.marker), slog.Int64("lead_id", res.LeadID),
		slog.Int64("contact_id", res.ContactID), slog.Bool("threaded", res.Threaded), slog.Bool("adopted", res.Adopted))
	return res, nil
}

// failAttempt fails the attempt d with err: classified (see fail), its text
// prefixed with a new attempt id, and remembered with what the next attempt
// may assume (p; see attemptLog).
func (s *Sink) failAttempt(ctx context.Context, d *chatter.Delivery, p past, err error) error {
	id := newAttemptID()
	err = s.fail(ctx, d.Message, id, err)
	s.attempts.end(d.Message.Key.String(), id, d, err, ctx.Err() != nil, p, s.cfg.Now())
	return &attemptError{id: id, err: err}
}

// fail classifies err, feeds the schema cache and the statistics, and logs.
func (s *Sink) fail(ctx context.Context, m *chatter.Message, attemptID string, err error) error {
	err = classify(err)
	class := chatter.ClassOf(err)
	if class == chatter.ClassMapping && s.cfg.Schema != nil {
		if s.cfg.Schema.ReportError(err) {
			s.log.LogAttrs(ctx, slog.LevelInfo, "amocrm schema invalidated after a field error",
				slog.String(chatter.AttrMessageKey, m.Key.String()))
		}
	}
	s.stats.observeErr(err)
	s.log.LogAttrs(ctx, slog.LevelWarn, "amocrm delivery failed",
		slog.String(chatter.AttrMessageKey, m.Key.String()), slog.String(chatter.AttrErrorClass, string(class)),
		slog.String("attempt_id", attemptID), slog.Any("err", err))
	return err
}

// currentMapper returns the mapper compiled against the newest schema.
func (s *Sink) currentMapper(ctx context.Context) (*fieldmap.Mapper, error) {
	if s.cfg.Schema == nil {
		return s.cfg.Mapper, nil
	}
	sch, ver, err := s.cfg.Schema.Get(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// The schema could not be read: keep mapping with what we have;
		// amoCRM still validates what is sent.
		s.log.LogAttrs(ctx, slog.LevelWarn, "amocrm schema not refreshed", slog.Any("err", err))
		if s.mapErr != nil {
			return nil, s.mapErr
		}
		return s.mapper, nil
	}
	if ver == s.schemaV {
		if s.mapErr != nil {
			return nil, s.mapErr
		}
		return s.mapper, nil
	}
	nm, cerr := fieldmap.Compile(s.cfg.Mapper.Spec(), fieldmap.WithSchema(sch), fieldmap.WithRecordSchema(messageSchema))
	s.schemaV = ver
	if cerr != nil {
		s.mapErr = fmt.Errorf("amocrmsink: the field mapping does not fit the amoCRM schema (version %d): %w", ver, cerr)
		return nil, s.mapErr
	}
	s.mapper, s.mapErr = nm, nil
	return nm, nil
}

// withLease runs fn holding the lease name, waiting up to LeaseWait while
// another delivery holds it.
func (s *Sink) withLease(ctx context.Context, ws, name, holder string, fn func(ctx context.Context) error) error {
	deadline := time.Now().Add(s.cfg.LeaseWait)
	wait := 5 * time.Millisecond
	for {
		err := chatter.HoldLease(ctx, s.cfg.Leases, ws, name, holder, s.cfg.LeaseTTL, func(ctx context.Context, _ *chatter.Lease) error {
			return fn(ctx)
		})
		if !errors.Is(err, chatter.ErrLeaseHeld) || errors.Is(err, chatter.ErrLeaseLost) {
			return err
		}
		// Only an acquisition refusal gets here: fn did not run.
		if time.Now().After(deadline) {
			return &busyError{name: name, wait: DefaultBusySnooze}
		}
		t := time.NewTimer(jitter(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, 250*time.Millisecond)
	}
}

// jitter returns a duration uniformly in [d/2, d].
func jitter(d time.Duration) time.Duration {
	var b [8]byte
	_, _ = rand.Read(b[:])
	n := uint64(0)
	for _, x := range b {
		n = n<<8 | uint64(x)
	}
	half := d / 2
	return half + time.Duration(n%uint64(half+1))
}

// person is what identifies the sender, strongest key first.
type person struct {
	tgID     int64
	username string // lower case, without '@'
	phone    string // E.164
	name     string
}

func personOf(m *chatter.Message, r *fieldmap.Result) person {
	p := person{tgID: m.Sender.ID, username: normalizeUsername(m.Sender.Username), name: m.Sender.Name()}
	if ph, ok := fieldmap.NormalizePhone(m.Sender.Phone); ok {
		p.phone = ph
	} else if r != nil && r.Lead.Contact != nil {
		if cv := r.Lead.Contact.CustomFieldsValues.ByCode(amocrm.FieldCodePhone); cv != nil {
			if ph, ok := fieldmap.NormalizePhone(cv.First().Text()); ok {
				p.phone = ph
			}
		}
	}
	return p
}

func (p person) leaseName() string {
	switch {
	case p.tgID != 0:
		return "contact:tg:" + strconv.FormatInt(p.tgID, 10)
	case p.username != "":
		return "contact:username:" + p.username
	case p.phone != "":
		return "contact:phone:" + p.phone
	}
	return ""
}

func (p person) known() bool { return p.tgID != 0 || p.username != "" || p.phone != "" }

func normalizeUsername(u string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(u), "@"))
}

// noteMarker is the last line of every note the sink writes.
func noteMarker(key string) string { return MarkerPrefix + key }

// HasNoteMarker reports whether a note's text ends with the marker line of
// the message key (as written by the Sink). "…:15" does not match a note of
// "…:150".
func HasNoteMarker(text, key string) bool {
	text = strings.TrimRight(text, " \t\r\n")
	mk := noteMarker(key)
	if !strings.HasSuffix(text, mk) {
		return false
	}
	rest := text[:len(text)-len(mk)]
	return rest == "" || strings.HasSuffix(rest, "\n")
}
