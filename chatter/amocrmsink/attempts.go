package amocrmsink

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
)

// past is what a delivery knows about the writes earlier attempts of its
// message may have made in amoCRM.
type past struct {
	// leadUnknown: some earlier attempt is unaccounted for (another
	// process, a crash, a restart): it may have created the lead at any
	// time since the message reached the store.
	leadUnknown bool
	// leadFrom, when set, is the start of the earliest accounted attempt
	// whose lead creation may have been applied.
	leadFrom time.Time
	// leadID is the lead an accounted attempt created or found: it exists.
	leadID int
	// noteUnknown and note: the same for the note.
	noteUnknown, note bool
}

func (p past) needLeadLookup() bool { return p.leadUnknown || !p.leadFrom.IsZero() || p.leadID != 0 }
func (p past) needNoteCheck() bool  { return p.noteUnknown || p.note }

// unknownPast is what a delivery must assume when it cannot account for
// every earlier attempt.
var unknownPast = past{leadUnknown: true, noteUnknown: true}

// attemptLog remembers, for each message whose delivery failed in this
// process, what its attempts may have written, so that the next attempt can
// skip the lookups for writes that were never made.
//
// It must know that no other attempt ran in between (in another process, or
// one a crash cut short). Every error Deliver returns starts with the
// failed attempt's id ("[attempt 3f9c2a1b07d4e6a5] …"), which the queue
// records as the message's last error and hands to the next attempt
// (Delivery.LastError). The next attempt trusts the log only when that last
// error carries the id of the attempt the log describes and the attempt
// number follows it: the same number after a snooze, or the next number
// after a failure the queue retries (not after one it may have snoozed: a
// snoozed attempt followed by an attempt elsewhere that crashed also comes
// back with the next number and our last error). A crash increments the
// attempt number without changing the last error, and an attempt elsewhere
// that returns records its own error, so neither can pass for ours.
// Anything else (a restart, another process's attempt, a dropped entry) makes
// the attempt assume unknownPast and look for everything. Entries go when
// the delivery succeeds, and after a day.
type attemptLog struct {
	mu sync.Mutex
	m  map[string]*attemptEntry
}

type attemptEntry struct {
	id        string // the failed attempt's id, in its error text
	attempt   int    // its Delivery.Attempt
	snoozable bool   // its error may have been snoozed by the queue
	past      past   // as known after it
	at        time.Time
}

const attemptLogMaxAge = 24 * time.Hour

// begin returns what the attempt d may assume.
func (a *attemptLog) begin(key string, d *chatter.Delivery) past {
	if d.Attempt <= 1 && d.LastError == "" && d.LastClass == chatter.ClassNone {
		return past{} // the first attempt: nothing was written before
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.m[key]
	if e == nil || !strings.HasPrefix(d.LastError, attemptPrefix(e.id)) {
		return unknownPast
	}
	if d.Attempt == e.attempt || (d.Attempt == e.attempt+1 && !e.snoozable) {
		return e.past
	}
	return unknownPast
}

// end records a failed attempt: its id, number and error, and what the next
// attempt may assume. stopped says the attempt's context had ended (the
// pipeline may be stopping, and then snoozes whatever the error).
func (a *attemptLog) end(key, id string, d *chatter.Delivery, err error, stopped bool, p past, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[string]*attemptEntry{}
	}
	for k, e := range a.m {
		if now.Sub(e.at) > attemptLogMaxAge {
			delete(a.m, k)
		}
	}
	a.m[key] = &attemptEntry{id: id, attempt: d.Attempt, snoozable: stopped || snoozable(err), past: p, at: now}
}

// learnLead records that the lead of message key exists (found by another
// delivery of the person, see settle): its next attempt reads it by id
// instead of looking for it.
func (a *attemptLog) learnLead(key string, id int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e := a.m[key]; e != nil && !e.past.leadUnknown {
		e.past.leadFrom, e.past.leadID = time.Time{}, id
	}
}

func (a *attemptLog) forget(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, key)
}

// snoozable reports whether the queue may snooze a delivery that failed
// with err (run it again without counting an attempt): errors with a
// RetryAfter, the classes a queue waits out (auth, rights, blocked,
// rate_limited), and a cancelled context (the pipeline stopping).
func snoozable(err error) bool {
	if _, ok := chatter.RetryAfter(err); ok {
		return true
	}
	switch chatter.ClassOf(err) {
	case chatter.ClassAuth, chatter.ClassRights, chatter.ClassBlocked, chatter.ClassRateLimited:
		return true
	}
	return errors.Is(err, context.Canceled)
}

func attemptPrefix(id string) string { return "[attempt " + id + "] " }

// attemptError is the error Deliver returns: the delivery's error, its text
// prefixed with the attempt's id (see attemptLog). Class, RetryAfter and
// Permanent are those of the wrapped error.
type attemptError struct {
	id  string
	err error
}

func (e *attemptError) Error() string { return attemptPrefix(e.id) + e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

func newAttemptID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// mayHaveApplied reports whether a write that failed with err may have been
// applied by amoCRM. Only answers that say the request was refused before
// anything was written (validation, rights, rate limit, block, auth, a
// request the client did not send) mean no; anything else (a 5xx, a
// timeout, a broken connection, an answer that could not be read) may hide
// an applied write.
func mayHaveApplied(err error) bool {
	if err == nil {
		return false
	}
	var (
		unknown *amocrm.OutcomeUnknownError
		invalid *amocrm.InvalidRequestError
		limited *amocrm.RateLimitError
		blocked *amocrm.BlockedError
		unauth  *amocrm.UnauthorizedError
		refresh *amocrm.RefreshError
		pay     *amocrm.PaymentRequiredError
		api     *amocrm.APIError
		notSent *amocrm.NetworkError
		paused  *amocrm.PauseError
		held    *HeldError
		budget  *BudgetWaitError
	)
	switch {
	case errors.As(err, &unknown):
		return true
	case errors.As(err, &invalid), errors.As(err, &limited), errors.As(err, &blocked),
		errors.As(err, &unauth), errors.As(err, &refresh), errors.As(err, &pay):
		return false
	case errors.As(err, &notSent), errors.As(err, &paused), errors.As(err, &held), errors.As(err, &budget):
		// Nothing left the machine.
		return false
	case errors.As(err, &api):
		return api.StatusCode < 400 || api.StatusCode >= 500 || api.StatusCode == http.StatusRequestTimeout
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The batcher and the client return a bare context error only for
		// a request not sent; one in flight is an OutcomeUnknownError.
		return false
	}
	return true
}
