package deliveryqueue

import (
	"context"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// River names of the delivery jobs.
const (
	// DeliveryQueue is the River queue of delivery jobs.
	DeliveryQueue = "chatter_delivery"
	// DeliveryKind is the River job kind of a delivery.
	DeliveryKind = "chatter_delivery"
	// legacyDeliveryKind is the kind pgstore used before the stores shared
	// this package; jobs of that kind still queued are worked as deliveries.
	legacyDeliveryKind = "chatter_deliver"
)

// DeliveryKinds lists every River job kind that is a delivery (the current
// one first), for the reconcile sweep's statements.
var DeliveryKinds = []string{DeliveryKind, legacyDeliveryKind}

// RiverMaxAttempts is River's MaxAttempts for a delivery job. Retries and
// snoozes do not use River attempts (they are River snoozes), so this bounds
// only the runs that ended without recording an outcome: crashes and database
// errors. A job that reaches it is discarded by River and the reconcile sweep
// marks its entry dead.
const RiverMaxAttempts = 25

// DeliveryArgs are the River arguments of a delivery job. Round fences a job
// that outlived a Replay: only the job of the message's current round does
// anything.
type DeliveryArgs struct {
	MessageID int64  `json:"message_id"`
	Round     int64  `json:"round"`
	Workspace string `json:"workspace"` // for River's UI and logs only
}

// Kind implements river.JobArgs.
func (DeliveryArgs) Kind() string { return DeliveryKind }

// KindAliases implements river.JobArgsWithKindAliases: pgstore's jobs of the
// earlier kind "chatter_deliver" (same arguments) are still worked.
func (DeliveryArgs) KindAliases() []string { return []string{legacyDeliveryKind} }

// Row is what the worker needs of a ledger row.
type Row struct {
	ID          int64
	Workspace   string
	State       chatter.State
	Round       int64
	Priority    int
	Attempts    int // attempts made, every round included
	AttemptBase int // attempts made before the current round (before the last Replay)
	MaxAttempts int // attempts allowed in one round
	ErrorClass  chatter.ErrorClass
	LastError   string
	BudgetStart time.Time // see chatter.Job.BudgetStart
	Body        []byte    // the message as JSON, without Raw
	Raw         []byte    // Message.Raw, byte for byte
}

// Update is a write of a ledger row's delivery columns, made by the worker
// after a claim or an attempt.
type Update struct {
	State      chatter.State
	Attempts   int
	ErrorClass chatter.ErrorClass
	LastError  string
	NextAt     time.Time               // zero: NULL
	Result     *chatter.DeliveryResult // for StateDelivered, with DeliveredAt
	Delivered  time.Time
	Now        time.Time // updated_at
	// PauseBudget moves the row's budget start later by this much (a
	// snooze: time spent waiting for it does not spend the retry budget).
	PauseBudget time.Duration
}

// Ledger is the part of a store the queue works through. Its methods run one
// or two statements each; the store renders them for its database. All
// methods with a transaction must use only that transaction.
type Ledger[TTx any] interface {
	AlertLedger[TTx]
	// InTx runs fn in a transaction and commits it when fn returns nil.
	InTx(ctx context.Context, fn func(tx TTx) error) error
	// Load returns the row with id, locked for the rest of tx where the
	// database needs it (PostgreSQL: FOR UPDATE), or nil when there is no
	// such row.
	Load(ctx context.Context, tx TTx, id int64) (*Row, error)
	// LoadKey is Load by workspace and key.
	LoadKey(ctx context.Context, tx TTx, workspace string, key chatter.Key) (*Row, error)
	// Update writes u to row id if its round is still round, and reports
	// whether it did.
	Update(ctx context.Context, tx TTx, id, round int64, u Update) (bool, error)
	// StartRound makes row id queued in round with NextAt and budget start
	// now, and its attempt base its current attempt count (a fresh round of
	// attempts and of retry budget).
	StartRound(ctx context.Context, tx TTx, id, round int64, now time.Time) error
	// DeadBatch returns at most limit rows of q.Workspace in state dead
	// that match q's filters (From, To, Source, Account, ChatID,
	// ErrorClass, Text, NewLead; not Limit, Before or States) with an id
	// above afterID, in id order, locked for the rest of tx where the
	// database needs it. It validates q as ListEntries does.
	DeadBatch(ctx context.Context, tx TTx, q chatter.LedgerQuery, afterID int64, limit int) ([]*Row, error)
	// Reconcile marks dead, with class internal and reason, the rows that
	// are queued, delivering or failed while the River job of their current
	// round is discarded or cancelled (River's job arguments carry
	// message_id and round; the job kinds are DeliveryKinds). It returns how
	// many rows it changed.
	Reconcile(ctx context.Context, now time.Time, reason string) (int64, error)
	// Wake makes the rows of workspace that are queued with one of classes
	// and a NextAt after now due now (NextAt = now), and the River jobs of
	// their current rounds that are scheduled (snoozed) available now. It
	// returns how many jobs it made available.
	Wake(ctx context.Context, workspace string, classes []chatter.ErrorClass, now time.Time) (int64, error)
}
