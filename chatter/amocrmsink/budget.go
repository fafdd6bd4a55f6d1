package amocrmsink

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
)

// BudgetKeyPrefix starts the chatter.RateBudget key of an amoCRM account:
// "amocrm:" + the account (its subdomain, lower case).
const BudgetKeyPrefix = "amocrm:"

const (
	// budgetLateGuard is how late after its slot a request may start
	// without the schedule being moved. amoCRM counts 7 arrivals per
	// sliding second; at amocrm.DefaultInterval seven gaps last 1.035 s,
	// so 35 ms of arrival jitter fits in a window. A later start would let
	// the slots after it "catch up"; instead the schedule moves by the
	// excess (see BudgetLimiter.Wait).
	budgetLateGuard = 10 * time.Millisecond
	// budgetFarSlot: a slot further ahead than this is a pause (some
	// instance called Penalize), not the queue of a few instances.
	budgetFarSlot = time.Second
	// budgetMaxMissed is how many slots in a row Wait leaves unused because
	// it got to them more than an interval late before it sends late and
	// moves the schedule instead.
	budgetMaxMissed = 2
	// budgetPenalizeTimeout bounds the write of a pause to the store.
	budgetPenalizeTimeout = 5 * time.Second
)

// BudgetConfig configures a BudgetLimiter.
type BudgetConfig struct {
	// Budget is the store's rate budget: sqlitestore, pgstore or
	// chattertest.MemStore. Every instance sharing the store shares the
	// budget. Required.
	Budget chatter.RateBudget
	// Workspace owns the budget row. Required.
	Workspace string
	// Account is the amoCRM account (its subdomain, as given to every
	// instance); the budget key is BudgetKeyPrefix + Account in lower case.
	// Required.
	Account string
	// Interval is the gap between the starts of two requests to the
	// account, across every instance. Defaults to amocrm.DefaultInterval
	// (1/7 s plus a 5 ms guard: 6.76 requests per second).
	Interval time.Duration
	// Stats, when set, records the budget's store failures for the
	// rate-limit check.
	Stats *RequestStats
	// Now is the clock; it must agree with the store's clock (pgstore
	// grants slots by the database clock). Defaults to time.Now.
	Now func() time.Time
}

// BudgetLimiter is an amocrm.Limiter that paces one amoCRM account across
// every process sharing a chatter store: each request reserves the next
// slot of the account's chatter.RateBudget row (GCRA, slots at least
// Interval apart whoever asks) and waits for it. Throttled — amoCRM
// answered 429 or blocked the account — writes the pause to the row with
// Penalize, so every instance stops until it ends, not only the one that
// was told.
//
// Details that make the shared schedule hold against a server counting
// arrivals over a sliding second:
//
//   - Each process keeps at most one reservation waiting (its other callers
//     queue locally), so the shared queue stays short: a pause written by
//     Penalize reaches every instance after at most one more request each,
//     and a caller that gives up wastes no slot while it queues locally.
//   - A request that starts more than 10 ms after its slot (a busy
//     scheduler, a slow store) moves the rest of the schedule by the
//     excess, so the slots after it cannot catch up; one that would start
//     more than an interval late leaves its slot unused and takes the next
//     (at most twice in a row), which costs less.
//   - When the next slot comes after the caller's deadline (a pause), Wait
//     returns a *BudgetWaitError at once instead of sleeping into the
//     deadline: its RetryAfter snoozes the delivery without using an
//     attempt.
//   - When the store fails, Wait returns the error and the request is not
//     sent: falling back to per-process pacing would multiply the rate by
//     the number of instances and risk amoCRM's 403 block. The failure is
//     recorded in Stats (the rate-limit check reports it).
//
// The instances' clocks must agree with the store's clock within a few
// milliseconds (NTP): skew between instances eats into the 35 ms of
// arrival jitter a window absorbs. A BudgetLimiter is safe for concurrent
// use; NewBudgetLimiter starts no goroutines and makes no store calls.
type BudgetLimiter struct {
	budget    chatter.RateBudget
	workspace string
	account   string
	key       string
	interval  time.Duration
	stats     *RequestStats
	now       func() time.Time

	turn chan struct{} // held while this process's one reservation waits

	mu          sync.Mutex
	pausedUntil time.Time // a pause this process knows of
}

var _ amocrm.Limiter = (*BudgetLimiter)(nil)

// NewBudgetLimiter returns the shared limiter of cfg.Account in
// cfg.Workspace. The error wraps chatter.ErrInvalid for a bad config.
func NewBudgetLimiter(cfg BudgetConfig) (*BudgetLimiter, error) {
	var missing []string
	if cfg.Budget == nil {
		missing = append(missing, "Budget")
	}
	if cfg.Workspace == "" {
		missing = append(missing, "Workspace")
	}
	account := normAccount(cfg.Account)
	if account == "" {
		missing = append(missing, "Account")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("amocrmsink: budget: missing %s: %w", strings.Join(missing, ", "), chatter.ErrInvalid)
	}
	if cfg.Interval < 0 {
		return nil, fmt.Errorf("amocrmsink: budget: negative interval: %w", chatter.ErrInvalid)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &BudgetLimiter{
		budget:    cfg.Budget,
		workspace: cfg.Workspace,
		account:   account,
		key:       BudgetKeyPrefix + account,
		interval:  cmp.Or(cfg.Interval, amocrm.DefaultInterval),
		stats:     cfg.Stats,
		now:       now,
		turn:      make(chan struct{}, 1),
	}, nil
}

func normAccount(a string) string { return strings.ToLower(strings.TrimSpace(a)) }

// Key returns the budget key, BudgetKeyPrefix + the account.
func (l *BudgetLimiter) Key() string { return l.key }

// Wait implements amocrm.Limiter: it reserves the account's next slot and
// sleeps until it. It returns ctx's error when ctx ends, a
// *BudgetWaitError when the slot (or a known pause) ends after ctx's
// deadline, and the store's error (the request must not be sent) when the
// reservation fails.
func (l *BudgetLimiter) Wait(ctx context.Context) error {
	if err := l.waitPause(ctx); err != nil {
		return err
	}
	held := false
	defer func() {
		if held {
			<-l.turn
		}
	}()
	for missed := 0; ; missed++ {
		if !held {
			select {
			case l.turn <- struct{}{}:
				held = true
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		asked := l.now()
		slot, err := l.budget.Reserve(ctx, l.workspace, l.key, l.interval)
		rtt := l.now().Sub(asked)
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		l.stats.observeBudget(l.now(), err)
		if err != nil {
			return fmt.Errorf("amocrmsink: reserve an amoCRM request slot for %s: %w", l.account, err)
		}
		far := slot.Sub(l.now()) > budgetFarSlot
		if dl, ok := ctx.Deadline(); ok && dl.Before(slot) {
			if far {
				l.notePause(slot)
			}
			return &BudgetWaitError{Account: l.account, Until: slot, now: l.now}
		}
		if far {
			// A pause: let this process's other callers see it and decide
			// (sleep or give up) instead of queueing behind this one.
			l.notePause(slot)
			held = false
			<-l.turn
		}
		if err := sleepUntil(ctx, l.now, slot); err != nil {
			return err
		}
		late := l.now().Sub(slot) - budgetLateGuard
		if late <= 0 {
			return nil
		}
		if late < l.interval || missed == budgetMaxMissed {
			// Started late: book a gap of the excess right after the slots
			// already granted, so those that follow keep their distance
			// from this request's real start instead of catching up. The
			// booking itself delays the request by about one store round
			// trip, so the gap includes one.
			if _, err := l.budget.Reserve(ctx, l.workspace, l.key, late+rtt); ctx.Err() == nil {
				l.stats.observeBudget(l.now(), err)
			}
			return nil
		}
		// Missed the slot by more than an interval (a slow store, a stalled
		// process): leaving it unused costs one interval, less than moving
		// the schedule by the delay. Take the next one.
	}
}

// waitPause sleeps through a pause this process knows of, or returns a
// *BudgetWaitError when it lasts beyond ctx's deadline.
func (l *BudgetLimiter) waitPause(ctx context.Context) error {
	l.mu.Lock()
	until := l.pausedUntil
	l.mu.Unlock()
	if !l.now().Before(until) {
		return ctx.Err()
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(until) {
		return &BudgetWaitError{Account: l.account, Until: until, now: l.now}
	}
	return sleepUntil(ctx, l.now, until)
}

func (l *BudgetLimiter) notePause(until time.Time) {
	l.mu.Lock()
	if until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
	l.mu.Unlock()
}

// Resume implements amocrm.Resumer: this process forgets the pause it knew
// of (the account answers again, amocrm.Client.Unblock). The shared row is
// left alone: its pause has passed when a probe got through it.
func (l *BudgetLimiter) Resume(context.Context) error {
	l.mu.Lock()
	l.pausedUntil = time.Time{}
	l.mu.Unlock()
	return nil
}

// Throttled implements amocrm.Limiter: no instance sends a request to the
// account for d. The pause holds in this process even when writing it to
// the store fails; the error says the other instances were not told.
func (l *BudgetLimiter) Throttled(ctx context.Context, d time.Duration) error {
	until := l.now().Add(d)
	l.notePause(until)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budgetPenalizeTimeout)
	defer cancel()
	err := l.budget.Penalize(pctx, l.workspace, l.key, until)
	l.stats.observeBudget(l.now(), err)
	if err != nil {
		return fmt.Errorf("amocrmsink: share the amoCRM pause of %s with other instances: %w", l.account, err)
	}
	return nil
}

// sleepUntil waits until t by now's clock, or until ctx ends.
func sleepUntil(ctx context.Context, now func() time.Time, t time.Time) error {
	d := t.Sub(now())
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// BudgetWaitError is returned by BudgetLimiter.Wait when the account's next
// request slot comes after the caller's deadline: amoCRM pushed back and
// every instance pauses, or the queue is longer than the caller can wait.
// It carries the rate_limited class, and RetryAfter says when to try again,
// so the pipeline snoozes the delivery without using an attempt.
type BudgetWaitError struct {
	// Account is the amoCRM account.
	Account string
	// Until is when the account's next request may start.
	Until time.Time

	now func() time.Time
}

// Error implements error.
func (e *BudgetWaitError) Error() string {
	return fmt.Sprintf("amocrmsink: amoCRM requests of %s are paused until %s (shared request budget)",
		e.Account, e.Until.UTC().Format(time.RFC3339Nano))
}

// RetryAfter returns how long until the pause ends.
func (e *BudgetWaitError) RetryAfter() time.Duration {
	now := time.Now
	if e.now != nil {
		now = e.now
	}
	return max(e.Until.Sub(now()), 0)
}

// ErrorClass returns chatter.ClassRateLimited.
func (e *BudgetWaitError) ErrorClass() chatter.ErrorClass { return chatter.ClassRateLimited }

// Message returns an operator-facing description in lang ("ru" or "en").
func (e *BudgetWaitError) Message(lang string) string {
	if lang == "ru" {
		return "Запросы к amoCRM (" + e.Account + ") приостановлены до " + e.Until.UTC().Format("02.01.2006 15:04:05 UTC") + ": общий лимит запросов аккаунта."
	}
	return "amoCRM requests (" + e.Account + ") are paused until " + e.Until.UTC().Format(time.RFC3339) + ": the account's shared request budget."
}
