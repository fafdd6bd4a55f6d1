package chatter

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors, matched with errors.Is.
var (
	ErrNotFound   = errors.New("chatter: not found")
	ErrConflict   = errors.New("chatter: conflict") // a compare-and-swap lost, or a unique key exists
	ErrInvalid    = errors.New("chatter: invalid input")
	ErrClosed     = errors.New("chatter: closed")
	ErrLeaseHeld  = errors.New("chatter: lease held by another holder")
	ErrLeaseLost  = errors.New("chatter: lease lost") // expired, released, or taken over (stale fencing token)
	ErrNotStarted = errors.New("chatter: not started")
)

// ErrorClass is the kind of a delivery failure, recorded on the ledger and used
// for retry decisions, notifications and diagnostics.
type ErrorClass string

// Error classes.
const (
	ClassNone        ErrorClass = ""
	ClassAuth        ErrorClass = "auth"         // token expired, revoked or wrong
	ClassRights      ErrorClass = "rights"       // the integration's user lacks a permission
	ClassMapping     ErrorClass = "mapping"      // field mapping or CRM validation (missing field, wrong type, required field)
	ClassRateLimited ErrorClass = "rate_limited" // slowed down by the destination (429, FLOOD_WAIT)
	ClassBlocked     ErrorClass = "blocked"      // the destination blocked the account for a while
	ClassPayment     ErrorClass = "payment"      // the destination account is not paid
	ClassTransient   ErrorClass = "transient"    // network, timeout, 5xx: retry
	ClassPermanent   ErrorClass = "permanent"    // will not succeed by retrying
	ClassInternal    ErrorClass = "internal"     // a bug or a store failure on our side
	ClassInvalid     ErrorClass = "invalid"      // the message itself was invalid and refused at intake (StateRejected)
)

// ClassOf returns the class of err: the ErrorClass() of the first error in the
// chain that has one, ClassPermanent for Permanent errors, ClassRateLimited for
// errors with RetryAfter, ClassNone for nil, and ClassTransient otherwise.
func ClassOf(err error) ErrorClass {
	if err == nil {
		return ClassNone
	}
	var c interface{ ErrorClass() ErrorClass }
	if errors.As(err, &c) {
		if cl := c.ErrorClass(); cl != ClassNone {
			return cl
		}
	}
	if IsPermanent(err) {
		return ClassPermanent
	}
	if _, ok := RetryAfter(err); ok {
		return ClassRateLimited
	}
	return ClassTransient
}

// WithClass returns err annotated with class; ClassOf(WithClass(err, c)) == c.
// It returns nil for a nil err.
func WithClass(err error, class ErrorClass) error {
	if err == nil {
		return nil
	}
	return &classError{err: err, class: class}
}

type classError struct {
	err   error
	class ErrorClass
}

func (e *classError) Error() string          { return e.err.Error() }
func (e *classError) Unwrap() error          { return e.err }
func (e *classError) ErrorClass() ErrorClass { return e.class }

// Permanent marks err as not worth retrying: the queue moves the delivery to
// the dead state at once. It returns nil for a nil err.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err or an error it wraps was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryAfter returns the wait demanded by the first error in err's chain that
// has a RetryAfter() time.Duration method (amocrm.RateLimitError, tgbot.Error
// with retry_after, tgparse flood waits satisfy it without importing chatter).
// The queue snoozes such deliveries without using an attempt.
func RetryAfter(err error) (time.Duration, bool) {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter(), true
	}
	return 0, false
}

// errPrefix starts every error message of this package.
const errPrefix = "chatter: "

// errorf is fmt.Errorf for this package's errors, which wrap each other,
// the sentinels and *ValidationError, all of them starting with "chatter: ":
// the message keeps the first "chatter: " (the format's own, or else the
// first error argument's) and prints the error arguments after it without
// theirs, so that it reads "chatter: accept: invalid text: …" rather than
// "chatter: accept: chatter: invalid text: …". errors.Is and errors.As see
// the wrapped errors unchanged.
func errorf(format string, args ...any) error {
	kept := strings.HasPrefix(format, errPrefix)
	for i, a := range args {
		e, ok := a.(error)
		if !ok || e == nil || !strings.HasPrefix(e.Error(), errPrefix) {
			continue
		}
		if !kept {
			kept = true
			continue
		}
		args[i] = &unprefixed{err: e}
	}
	return fmt.Errorf(format, args...)
}

// unprefixed prints err without the package's prefix.
type unprefixed struct{ err error }

func (u *unprefixed) Error() string { return strings.TrimPrefix(u.err.Error(), errPrefix) }
func (u *unprefixed) Unwrap() error { return u.err }
