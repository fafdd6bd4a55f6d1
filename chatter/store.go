package chatter

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// Store is everything a Chatter deployment persists. Implementations:
// chattertest.MemStore (tests), sqlitestore (embedded default) and pgstore
// (several instances). All pass chattertest.TestStore.
//
// Every row belongs to a workspace (a tenant); no method reads or changes rows
// of a workspace other than the one it is given. All methods are safe for
// concurrent use.
type Store interface {
	MessageStore
	Queue
	ContactStore
	TokenStore
	SessionStore
	LeaseStore
	CheckpointStore
	EventStore
	SettingsStore
	RateBudget
}

// State is where a message is on its way to the CRM.
type State string

// Ledger states.
const (
	StateReceived   State = "received"   // stored, not yet decided (transient)
	StateRejected   State = "rejected"   // refused at intake as invalid; kept with the reason (Rejection), never delivered
	StateFiltered   State = "filtered"   // dropped by a filter; never delivered
	StateQueued     State = "queued"     // waiting for a worker (also after a snooze)
	StateDelivering State = "delivering" // a worker is delivering it
	StateDelivered  State = "delivered"  // the sink succeeded; Result is set
	StateFailed     State = "failed"     // the last attempt failed; it will be retried
	StateDead       State = "dead"       // no more attempts; Replay re-queues it
)

// AllStates lists the ledger states in their natural order.
var AllStates = []State{StateReceived, StateRejected, StateFiltered, StateQueued, StateDelivering, StateDelivered, StateFailed, StateDead}

// AcceptOptions tells MessageStore.SaveMessage what to do with a new message.
type AcceptOptions struct {
	// Verdict is the filter's decision. When Verdict.Accept is false the
	// message is stored as StateFiltered and no delivery is enqueued.
	Verdict Verdict
	// Priority of the delivery: 0 (highest) to 3 (lowest).
	Priority int
	// MaxAttempts caps the attempts of one round of delivery (Replay starts
	// another); 0 means no cap by count. The Pipeline's budget is time
	// (PipelineConfig.MaxAge, from Job.BudgetStart) and it accepts messages
	// with MaxAttempts 0 unless PipelineConfig.MaxAttempts says otherwise.
	// Negative is invalid.
	MaxAttempts int
}

// AcceptResult is the outcome of SaveMessage.
type AcceptResult struct {
	Duplicate bool  // the key was stored before; nothing changed
	State     State // the message's state after the call
	// Rejection is set by Pipeline.Accept when it recorded the message as
	// StateRejected: why it was refused.
	Rejection *Rejection
}

// MessageStore keeps messages and their delivery ledger.
type MessageStore interface {
	// SaveMessage stores m and, when opts.Verdict.Accept, enqueues its
	// delivery in the same transaction; it returns only after commit. A key
	// already stored in m.Workspace is a no-op with Duplicate set. m must be
	// valid (Message.Validate); stores check it again and return an error
	// wrapping ErrInvalid without storing anything.
	SaveMessage(ctx context.Context, m *Message, opts AcceptOptions) (AcceptResult, error)
	// SaveMessages is SaveMessage for a batch in one transaction (group
	// commit); results are in input order. An invalid message fails the
	// whole batch before anything is written.
	SaveMessages(ctx context.Context, ms []*Message, opts []AcceptOptions) ([]AcceptResult, error)
	// SaveRejected records m, a message refused at intake, as
	// StateRejected with r (required: why, and the bounded raw input); it
	// is never delivered. The entry's ErrorClass is ClassInvalid and its
	// LastError r.Text() in English, so ledger queries by class find it. m must itself be valid (Pipeline.Accept stores a
	// sanitised copy of the refused message, see Rejection); otherwise the
	// error wraps ErrInvalid and nothing is stored. A key already stored is
	// a no-op with Duplicate set, whatever its state.
	SaveRejected(ctx context.Context, m *Message, r *Rejection) (AcceptResult, error)
	// GetEntry returns the ledger entry of a key, with its message, or ErrNotFound.
	GetEntry(ctx context.Context, workspace string, key Key) (*LedgerEntry, error)
	// ListEntries returns at most q.Limit entries matching q, newest first
	// (oldest first with q.Oldest), without Message unless q.WithMessage.
	// A q without Workspace, with a negative Limit, with Text that is not
	// UTF-8 or with an invalid CursorKey is refused with ErrInvalid.
	ListEntries(ctx context.Context, q LedgerQuery) ([]*LedgerEntry, error)
	// CountEntries counts entries matching q by state, ignoring Limit, the
	// order and the cursors (Before, After, CursorKey). States with no
	// entries may be absent from the map.
	CountEntries(ctx context.Context, q LedgerQuery) (map[State]int, error)
}

// LedgerEntry is the visible state of one message.
type LedgerEntry struct {
	Workspace   string          `json:"workspace"`
	Key         Key             `json:"key"`
	State       State           `json:"state"`
	Verdict     Verdict         `json:"verdict"`
	Priority    int             `json:"priority"`
	Attempts    int             `json:"attempts"` // attempts made (snoozes excluded)
	ErrorClass  ErrorClass      `json:"error_class,omitempty"`
	LastError   string          `json:"last_error,omitempty"`
	Result      *DeliveryResult `json:"result,omitempty"`
	ReceivedAt  time.Time       `json:"received_at"` // when the store accepted it
	UpdatedAt   time.Time       `json:"updated_at"`
	DeliveredAt time.Time       `json:"delivered_at,omitzero"`
	NextAt      time.Time       `json:"next_at,omitzero"`    // next attempt, for queued/failed
	Rejection   *Rejection      `json:"rejection,omitempty"` // for StateRejected: why
	Message     *Message        `json:"message,omitempty"`
}

// LedgerQuery selects ledger entries. Workspace is required; zero fields match
// everything, and the filters combine with AND.
type LedgerQuery struct {
	Workspace  string
	From, To   time.Time // ReceivedAt in [From, To)
	States     []State
	Source     SourceKind
	Account    string
	ChatID     int64
	ErrorClass ErrorClass
	// Text selects entries whose message text (Message.Text: the text or
	// the media caption) contains Text, ignoring case in every alphabet
	// and the other differences FoldText removes ("Ремонт" finds "ремонт",
	// "РЕМОНТ" and "ещё ремонт"; "ещё" finds "еще"). Every other character,
	// % and _ included, matches only itself. Text must be valid UTF-8
	// (otherwise ErrInvalid); one that folds to "" matches every entry.
	// Stores match a folded copy of each text kept since the message was
	// saved, without an index: bound a search of a large ledger by
	// From/To or States where you can.
	Text string
	// NewLead selects delivered entries whose delivery created a lead
	// (DeliveryResult.NewLead: a lead id and not threaded onto an open
	// lead; adopted leads count), so CountEntries over hourly From/To
	// windows charts leads created per hour of ReceivedAt.
	NewLead bool
	// Limit caps ListEntries: 0 means 100; at most 1000.
	Limit int
	// Oldest makes ListEntries return the oldest entries first (ReceivedAt
	// ascending, ties in the order the store saved them) instead of the
	// newest first (ReceivedAt descending, the last saved first): the
	// oldest waiting message is ListEntries with the waiting States,
	// Oldest and Limit 1.
	Oldest bool
	// Before is the cursor of newest-first paging: only entries received
	// strictly before it. Pass the ReceivedAt of the previous page's last
	// entry.
	Before time.Time
	// After is the cursor of oldest-first paging (Oldest): only entries
	// received strictly after it. Pass the ReceivedAt of the previous
	// page's last entry. Before and After both bound the listing in either
	// order.
	After time.Time
	// CursorKey, when set, is the Key of the entry the cursor in the
	// listing's direction (Before, or After with Oldest) was taken from,
	// and makes paging exact where entries share a ReceivedAt (a batch
	// saved together can): entries received at exactly the cursor's time
	// are then kept if they come after CursorKey's entry in the listing's
	// order, instead of all being skipped. Without that cursor it is
	// ignored, and so is a key with no entry in the workspace (the cursor
	// is then strict); a key that is not valid (Key.Validate) is refused
	// with ErrInvalid. Pass the previous page's last entry's Key with its
	// ReceivedAt.
	CursorKey Key
	// WithMessage makes ListEntries fill LedgerEntry.Message.
	WithMessage bool
}

// Job is a delivery handed to a worker by a Queue.
type Job struct {
	ID          int64
	Message     *Message
	Attempt     int // 1-based, snoozes excluded; keeps counting across Replay rounds
	MaxAttempts int // attempts allowed in total, this round included; 0: no cap by count
	Priority    int
	LastError   string
	LastClass   ErrorClass
	// BudgetStart is when the retry budget of the current round started,
	// by the store's clock: the message's ReceivedAt for the first round,
	// the time of the Replay for later ones, moved later by the delay of
	// every snooze (time spent snoozed does not spend the budget). The
	// Pipeline gives up after a failed attempt at or after BudgetStart +
	// PipelineConfig.MaxAge.
	BudgetStart time.Time
}

// OutcomeKind is what the queue must do after a delivery attempt.
type OutcomeKind int

// Outcome kinds.
const (
	OutcomeDelivered OutcomeKind = iota + 1 // mark delivered with Result and complete the job, in one transaction
	OutcomeRetry                            // record the failure; try again after Delay (uses an attempt)
	OutcomeSnooze                           // record the reason; try again after Delay without using an attempt or the time budget (Job.BudgetStart moves by Delay)
	OutcomeDead                             // record the failure; no more attempts until Replay
)

// Outcome is a worker's decision about one Job; the Queue applies it.
type Outcome struct {
	Kind   OutcomeKind
	Result *DeliveryResult // for OutcomeDelivered
	Class  ErrorClass      // for failures and snoozes
	Err    string          // error text for the ledger (no secrets)
	Delay  time.Duration   // for OutcomeRetry and OutcomeSnooze
	// Notifications are recorded with the outcome, in the same
	// transaction, as durable notification jobs, and sent after it by
	// Work's notification workers (QueueConfig.Notifier) with retries of
	// their own: a notifier never runs inside a delivery attempt, and an
	// outcome that is recorded never loses its notifications. One with
	// the DedupeKey of a notification already queued or sent (while the
	// queue keeps it, at least a day) is dropped. A nil entry is ignored.
	Notifications []*Notification
	// Alerts are ongoing problems this outcome ran into (see Alert): their
	// notification is queued only when an episode opens.
	Alerts []Alert
	// ResolveAlerts ends the open alert episodes of the message's
	// workspace: the destination works again (a successful delivery).
	ResolveAlerts bool
}

// Alert is an ongoing problem reported by an Outcome, such as an expired CRM
// token that holds up every delivery of a workspace. The queue keeps one
// episode per workspace and Key, recorded with the outcome: the first Alert
// of a Key opens the episode and queues its Notification; further ones while
// it is open are silent; an Outcome with ResolveAlerts ends the workspace's
// episodes. An episode that opens again within Quiet of its Key's last
// notification opens silently, so a flapping problem is notified at most
// once per Quiet.
type Alert struct {
	Key          string // the problem, e.g. "auth_failed"; unique within the workspace
	Quiet        time.Duration
	Notification *Notification // queued when the episode opens (its DedupeKey is set by the queue)
}

// WorkFunc runs one job and decides its outcome. It must not panic; a Queue
// treats a panic as OutcomeRetry with ClassInternal.
type WorkFunc func(ctx context.Context, j *Job) Outcome

// QueueConfig tunes Queue.Work.
type QueueConfig struct {
	// Workers is the number of deliveries run concurrently. Defaults to
	// DefaultWorkers (4), as PipelineConfig.Workers, which the pipeline
	// passes here.
	Workers int
	// JobTimeout bounds one attempt. Defaults to DefaultJobTimeout (2
	// minutes), as PipelineConfig.JobTimeout.
	JobTimeout time.Duration
	// Logger receives queue diagnostics; nil is silent.
	Logger *slog.Logger
	// Notifier, when set, makes Work also send the notifications that
	// outcomes recorded (Outcome.Notifications, opened Alerts), with
	// NotifyWorkers workers of their own, each call bounded by
	// NotifyTimeout. A failed call is retried with backoff (from 5 s,
	// doubling, capped at 10 minutes) up to NotifyMaxAttempts times, about
	// an hour, then dropped with an error log. Without a Notifier the
	// notifications wait for a Work that has one (in this or another
	// process). A notification is completed in the store right after the
	// notifier returns; a crash between the two sends it again (see
	// Notification.DedupeKey).
	Notifier Notifier
	// NotifyWorkers is the number of notifications sent at once. Defaults
	// to 2.
	NotifyWorkers int
	// NotifyTimeout bounds one Notify call. Defaults to 30 seconds.
	NotifyTimeout time.Duration
	// Instance is this process's stable identity (see ValidateInstance and
	// the comment on instances in instance.go). When set, Work first takes
	// the instance's fence (waiting while another live process holds it),
	// runs again at once the jobs its dead previous incarnation left
	// running and frees that incarnation's leases (InstanceHolder names),
	// and while it runs does the same for any other instance whose process
	// died. Empty: River's rescuer (RescueAfter) and lease expiry recover
	// a dead process's work.
	Instance string
}

// Notification queue defaults (see QueueConfig).
const (
	DefaultNotifyWorkers = 2
	DefaultNotifyTimeout = 30 * time.Second
	NotifyMaxAttempts    = 12
)

// NotifyRetryDelay is the wait after failed notification attempt (1-based):
// 5 seconds, doubling, at most 10 minutes.
func NotifyRetryDelay(attempt int) time.Duration {
	const base, limit = 5 * time.Second, 10 * time.Minute
	if attempt < 1 {
		attempt = 1
	}
	if attempt > 8 {
		return limit
	}
	return min(base<<(attempt-1), limit)
}

// Queue is the durable delivery queue fed by MessageStore.SaveMessage.
type Queue interface {
	// Work runs jobs through fn until ctx ends, then waits for running jobs
	// and returns nil (or ctx's error for a failure to start). Before each
	// attempt the ledger shows StateDelivering; the Outcome is applied
	// atomically with the ledger update. A job interrupted by a crash is
	// run again (its Job.Attempt increases). Jobs of all workspaces are
	// served; higher priority (lower number) first. A delivery whose job the
	// queue's machinery ended without Chatter (discarded after repeated
	// crashes, cancelled by an operator) is marked dead with ClassInternal
	// by a reconcile sweep, when Work starts and periodically while it runs,
	// so no entry stays queued or delivering forever.
	Work(ctx context.Context, cfg QueueConfig, fn WorkFunc) error
	// Replay re-queues a dead (or failed) message for a fresh round of
	// attempts. It returns ErrNotFound for an unknown key and ErrConflict
	// when the message is not dead or failed.
	Replay(ctx context.Context, workspace string, key Key) error
	// ReplayDead replays (as Replay) every dead message matching q, in
	// batches of bounded size, each batch in one transaction, and returns
	// how many it replayed. q.States must be empty or exactly
	// [StateDead]; the other filters (Text included) apply, and q.Limit,
	// the order, the cursors and q.WithMessage are ignored. A message that
	// stops being dead meanwhile is skipped. On an error the count says
	// how many were replayed before it.
	ReplayDead(ctx context.Context, q LedgerQuery) (int, error)
	// Wake makes the deliveries of workspace that are snoozed (StateQueued
	// with NextAt still ahead) with one of classes runnable now, and
	// returns how many it woke. A sink calls it through its owner when the
	// destination that made it snooze them (a block, a pause) answers
	// again, so they do not sleep out a guessed cool-down. Retries after a
	// failure (StateFailed) and running deliveries are not touched; no
	// attempt is used. A snooze the ledger shows but the queue has not
	// applied yet (the attempt is finishing) is not woken: call Wake again
	// shortly after (amocrmsink.Sink.Watch does). With no classes it wakes
	// nothing.
	Wake(ctx context.Context, workspace string, classes ...ErrorClass) (int, error)
}

// ContactLink remembers which CRM contact a Telegram person is, and the lead
// currently open for them.
type ContactLink struct {
	Workspace  string    `json:"workspace"`
	TelegramID int64     `json:"telegram_id,omitempty"`
	Username   string    `json:"username,omitempty"` // lower case, without '@'
	Phone      string    `json:"phone,omitempty"`    // E.164
	ContactID  int64     `json:"contact_id"`
	LeadID     int64     `json:"lead_id,omitempty"`   // the open lead, if any
	LeadAt     time.Time `json:"lead_at,omitzero"`    // when LeadID was last used
	UpdatedAt  time.Time `json:"updated_at,omitzero"` // set by the store
}

// ContactQuery looks a person up by the strongest key known: TelegramID, then
// Username, then Phone. Zero fields are not used.
type ContactQuery struct {
	TelegramID int64
	Username   string
	Phone      string
}

// ContactStore keeps ContactLinks.
type ContactStore interface {
	// FindContact returns the link matching q by TelegramID, else Username,
	// else Phone (the first key that finds a row wins), or ErrNotFound.
	FindContact(ctx context.Context, workspace string, q ContactQuery) (*ContactLink, error)
	// SaveContact inserts or updates the link for l.ContactID. It returns
	// ErrConflict when another contact already holds l.TelegramID (a strong
	// key is never silently moved between contacts).
	SaveContact(ctx context.Context, l *ContactLink) error
}

// Token is an OAuth token pair for one CRM account. Stores seal access and
// refresh tokens at rest; JSON, fmt (String, GoString) and slog (LogValue)
// leave them out.
type Token struct {
	Workspace    string    `json:"workspace"`
	Account      string    `json:"account"` // e.g. the amoCRM subdomain
	AccessToken  string    `json:"-"`
	RefreshToken string    `json:"-"`
	TokenType    string    `json:"token_type,omitempty"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
	APIDomain    string    `json:"api_domain,omitempty"`
	Version      int64     `json:"version"` // set by the store; starts at 1
	UpdatedAt    time.Time `json:"updated_at,omitzero"`
}

// TokenStore keeps OAuth tokens with compare-and-swap, so two refreshers
// cannot both win.
type TokenStore interface {
	// GetToken returns the token or ErrNotFound.
	GetToken(ctx context.Context, workspace, account string) (*Token, error)
	// SwapToken stores t if the stored version equals oldVersion (0: no token
	// stored yet) and returns the stored copy with Version = oldVersion+1;
	// otherwise it returns ErrConflict and changes nothing.
	SwapToken(ctx context.Context, t *Token, oldVersion int64) (*Token, error)
	// DeleteToken removes the token; a missing token is not an error.
	DeleteToken(ctx context.Context, workspace, account string) error
}

// SessionStore keeps MTProto session blobs, sealed at rest. Writes are fenced
// by the session's lease (see LeaseStore) so an instance that lost the lease
// cannot overwrite the session of the one that holds it.
type SessionStore interface {
	// LoadSession returns the blob or ErrNotFound.
	LoadSession(ctx context.Context, workspace, account string) ([]byte, error)
	// StoreSession writes the blob if lease is the current, unexpired lease
	// named SessionLeaseName(account) in the workspace; otherwise ErrLeaseLost.
	StoreSession(ctx context.Context, workspace, account string, data []byte, lease *Lease) error
}

// SessionLeaseName is the lease that guards account's MTProto session.
func SessionLeaseName(account string) string { return "session:" + account }

// Lease is a time-bound, exclusive claim on a named resource.
type Lease struct {
	Workspace string    `json:"workspace"`
	Name      string    `json:"name"`
	Holder    string    `json:"holder"`
	Token     int64     `json:"token"` // fencing token: strictly increases with every new acquisition of Name
	ExpiresAt time.Time `json:"expires_at"`
}

// LeaseStore grants leases. Expiry is judged by the store's clock (for SQL
// stores, the database's), never by the caller's.
type LeaseStore interface {
	// AcquireLease grants name to holder for ttl if it is free, expired, or
	// already held by holder (then it is renewed with the same token).
	// Otherwise it returns ErrLeaseHeld.
	AcquireLease(ctx context.Context, workspace, name, holder string, ttl time.Duration) (*Lease, error)
	// RenewLease extends l by ttl if l is still the current lease (same
	// token, unexpired); otherwise ErrLeaseLost.
	RenewLease(ctx context.Context, l *Lease, ttl time.Duration) (*Lease, error)
	// ReleaseLease gives l up; releasing a lost lease is not an error.
	ReleaseLease(ctx context.Context, l *Lease) error
}

// Checkpoint is the last message seen in one chat by one source account.
type Checkpoint struct {
	Workspace string     `json:"workspace"`
	Source    SourceKind `json:"source"`
	Account   string     `json:"account"`
	ChatID    int64      `json:"chat_id"`
	MessageID int64      `json:"message_id"`
	At        time.Time  `json:"at"` // time of that message
	UpdatedAt time.Time  `json:"updated_at,omitzero"`
}

// CheckpointStore keeps per-chat checkpoints.
type CheckpointStore interface {
	// GetCheckpoint returns the checkpoint or ErrNotFound.
	GetCheckpoint(ctx context.Context, workspace string, source SourceKind, account string, chatID int64) (*Checkpoint, error)
	// AdvanceCheckpoint moves the checkpoint forward to c.MessageID; a
	// smaller or equal MessageID leaves it unchanged (no error).
	AdvanceCheckpoint(ctx context.Context, c *Checkpoint) error
	// ListCheckpoints returns the workspace's checkpoints for source (all
	// sources when empty).
	ListCheckpoints(ctx context.Context, workspace string, source SourceKind) ([]*Checkpoint, error)
}

// Event is one line of the operator's event log.
type Event struct {
	ID         int64             `json:"id"` // set by the store
	Workspace  string            `json:"workspace"`
	Time       time.Time         `json:"time"`
	Level      slog.Level        `json:"level"`
	Category   string            `json:"category,omitempty"` // e.g. "delivery", "source", "auth", "system"
	ErrorClass ErrorClass        `json:"error_class,omitempty"`
	Source     string            `json:"source,omitempty"`
	MessageKey string            `json:"message_key,omitempty"`
	Text       string            `json:"text"`
	Attrs      map[string]string `json:"attrs,omitempty"`
}

// EventQuery selects events. Workspace is required; zero fields match
// everything, and the filters combine with AND.
type EventQuery struct {
	Workspace  string
	From, To   time.Time // Time in [From, To)
	MinLevel   *slog.Level
	Category   string
	ErrorClass ErrorClass
	// Source selects events whose Source equals it.
	Source string
	// Text selects events whose Text contains it, matched as
	// LedgerQuery.Text is (FoldText on both sides, no index); it must be
	// valid UTF-8.
	Text     string
	Limit    int   // 0 means 100; at most 1000
	BeforeID int64 // cursor: events with ID < BeforeID
}

// EventStore keeps the event log.
type EventStore interface {
	// AppendEvents stores events in one transaction.
	AppendEvents(ctx context.Context, events []Event) error
	// ListEvents returns at most q.Limit events matching q, newest (highest
	// ID) first. A q without Workspace, with a negative Limit or with Text
	// that is not UTF-8 is refused with ErrInvalid.
	ListEvents(ctx context.Context, q EventQuery) ([]Event, error)
	// CountEvents counts events matching q by error class ("" for none),
	// ignoring Limit and BeforeID. A q without Workspace or with Text that
	// is not UTF-8 is refused with ErrInvalid.
	CountEvents(ctx context.Context, q EventQuery) (map[ErrorClass]int, error)
	// PruneEvents deletes events older than before in every workspace
	// (retention) and returns how many it deleted.
	PruneEvents(ctx context.Context, before time.Time) (int, error)
}

// Setting is a versioned key/value pair.
type Setting struct {
	Workspace string          `json:"workspace"`
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Version   int64           `json:"version"`
	UpdatedAt time.Time       `json:"updated_at,omitzero"`
}

// SettingsStore keeps settings with optimistic concurrency.
type SettingsStore interface {
	// GetSetting returns the setting or ErrNotFound.
	GetSetting(ctx context.Context, workspace, key string) (*Setting, error)
	// PutSetting writes value if the stored version equals version (0: not
	// stored yet) and returns the new Setting (Version = version+1);
	// otherwise ErrConflict. value must be valid JSON.
	PutSetting(ctx context.Context, workspace, key string, value json.RawMessage, version int64) (*Setting, error)
	// ListSettings returns the workspace's settings whose key starts with prefix.
	ListSettings(ctx context.Context, workspace, prefix string) ([]*Setting, error)
}

// RateBudget spaces requests to an outside API evenly across every instance
// sharing the store (GCRA: one "theoretical arrival time" per key).
type RateBudget interface {
	// Reserve books the next slot for key, at most one per interval, and
	// returns when the caller may send (now or later). Slots are never
	// granted closer than interval apart, across all callers.
	Reserve(ctx context.Context, workspace, key string, interval time.Duration) (time.Time, error)
	// Penalize pushes key's clock to at least until, so that no instance
	// sends before then (after a 429 or a block).
	Penalize(ctx context.Context, workspace, key string, until time.Time) error
}
