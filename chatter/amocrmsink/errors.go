package amocrmsink

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/fieldmap"
)

// Classify returns err annotated with the chatter.ErrorClass the pipeline
// uses for its retry decision (nil for nil):
//
//   - *amocrm.UnauthorizedError (token expired, revoked, refresh rejected): auth
//   - *amocrm.PaymentRequiredError (402): payment (the pipeline makes it dead)
//   - *amocrm.BlockedError (403 HTML block, repeated 429), *HeldError (the
//     shared circuit is open, see Sink.Watch): blocked; snoozed by its
//     RetryAfter (the next probe, or the watch's hold, which a probe's
//     answer ends early)
//   - *amocrm.RateLimitError (429), *amocrm.PauseError (a pause past the
//     deadline, nothing sent): rate_limited; snoozed by its RetryAfter
//   - a 403 JSON answer (the integration's user lacks a right): rights (dead)
//   - a 400 with validation errors, *amocrm.InvalidRequestError, a
//     *fieldmap.Error: mapping (retried once after a schema refresh, then dead)
//   - *amocrm.OutcomeUnknownError, 5xx, transport errors, timeouts: transient
//   - other 4xx answers: permanent (dead at once)
//
// Errors that already carry a class are returned unchanged.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var classed interface{ ErrorClass() chatter.ErrorClass }
	if errors.As(err, &classed) && classed.ErrorClass() != chatter.ClassNone {
		return err
	}
	return chatter.WithClass(err, classOf(err))
}

func classOf(err error) chatter.ErrorClass {
	var (
		unauth  *amocrm.UnauthorizedError
		refresh *amocrm.RefreshError
		pay     *amocrm.PaymentRequiredError
		blocked *amocrm.BlockedError
		limited *amocrm.RateLimitError
		paused  *amocrm.PauseError
		unknown *amocrm.OutcomeUnknownError
		invalid *amocrm.InvalidRequestError
		mapErr  *fieldmap.Error
		apiErr  *amocrm.APIError
	)
	switch {
	case errors.As(err, &blocked):
		return chatter.ClassBlocked
	case errors.As(err, &limited), errors.As(err, &paused):
		return chatter.ClassRateLimited
	case errors.As(err, &unauth), errors.As(err, &refresh):
		return chatter.ClassAuth
	case errors.As(err, &pay):
		return chatter.ClassPayment
	case errors.As(err, &unknown):
		return chatter.ClassTransient
	case errors.As(err, &invalid), errors.As(err, &mapErr):
		return chatter.ClassMapping
	case errors.Is(err, chatter.ErrLeaseHeld), errors.Is(err, chatter.ErrLeaseLost):
		return chatter.ClassTransient
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return chatter.ClassTransient
	case errors.As(err, &apiErr):
		switch s := apiErr.StatusCode; {
		case s == http.StatusForbidden:
			return chatter.ClassRights
		case s == http.StatusPaymentRequired:
			return chatter.ClassPayment
		case s == http.StatusUnauthorized:
			return chatter.ClassAuth
		case len(apiErr.ValidationErrors) > 0, s == http.StatusUnprocessableEntity:
			return chatter.ClassMapping
		case s == http.StatusTooManyRequests, s >= 500, s == http.StatusRequestTimeout:
			return chatter.ClassTransient
		case s >= 400:
			return chatter.ClassPermanent
		}
	}
	return chatter.ClassTransient
}

// classify annotates err and, for a permanent class, marks it Permanent so
// the queue sends it to dead at once.
func classify(err error) error {
	err = Classify(err)
	if chatter.ClassOf(err) == chatter.ClassPermanent && !chatter.IsPermanent(err) {
		return chatter.Permanent(err)
	}
	return err
}

// busyError is returned when another delivery of the same person holds the
// person's lease for longer than Config.LeaseWait: the delivery is snoozed
// (RetryAfter) without using an attempt.
type busyError struct {
	name string
	wait time.Duration
}

func (e *busyError) Error() string {
	return "amocrmsink: another delivery for the same person is in progress (lease " + e.name + ")"
}
func (e *busyError) RetryAfter() time.Duration      { return e.wait }
func (e *busyError) ErrorClass() chatter.ErrorClass { return chatter.ClassTransient }
func (e *busyError) Unwrap() error                  { return chatter.ErrLeaseHeld }
