package amocrmsink

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chatterhq/sdk/amocrm"
)

// TestMayHaveApplied: only an error after the request may have reached
// amoCRM makes the next attempt look for what it wrote.
func TestMayHaveApplied(t *testing.T) {
	cases := map[string]error{
		"outcome unknown":  &amocrm.OutcomeUnknownError{Method: "POST", Path: "/api/v4/leads/complex", Err: errors.New("EOF")},
		"never sent":       &amocrm.NetworkError{Method: "POST", Path: "/api/v4/leads/complex", Err: errors.New("dial tcp: connection refused")},
		"paused":           &amocrm.PauseError{Until: time.Now().Add(time.Minute)},
		"held":             &HeldError{Status: 403},
		"budget wait":      &BudgetWaitError{Account: "a", Until: time.Now().Add(time.Minute)},
		"blocked":          &amocrm.BlockedError{StatusCode: 403},
		"cancelled read":   fmt.Errorf("amocrmsink: GET /api/v4/leads: gave up waiting for the answer: %w", context.Canceled),
		"unknown error":    errors.New("something else"),
		"wrapped not sent": fmt.Errorf("attempt: %w", &amocrm.NetworkError{Method: "GET", Path: "/x", Err: errors.New("lookup: no such host")}),
	}
	got := map[string]bool{}
	for name, err := range cases {
		got[name] = mayHaveApplied(err)
	}
	want := map[string]bool{"outcome unknown": true, "never sent": false, "paused": false, "held": false, "budget wait": false,
		"blocked": false, "cancelled read": false, "unknown error": true, "wrapped not sent": false}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("mayHaveApplied (-want +got):\n%s", d)
	}
}
