package amocrmsink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
)

// DefaultMarkerFieldName is the name EnsureMarkerField gives the marker field.
const DefaultMarkerFieldName = "Chatter ID"

// EnsureMarkerField returns the id of the lead text field named name
// (DefaultMarkerFieldName when empty), creating it (API-only, so operators do
// not edit it) when the account has none. It is idempotent: a second call
// finds the field. Use the id as Config.MarkerField.
func EnsureMarkerField(ctx context.Context, c *amocrm.Client, name string) (int, error) {
	if name == "" {
		name = DefaultMarkerFieldName
	}
	for f, err := range c.CustomFields.ListIter(ctx, amocrm.EntityLeads, nil) {
		if err != nil {
			return 0, fmt.Errorf("amocrmsink: list lead fields: %w", err)
		}
		if strings.EqualFold(strings.TrimSpace(f.Name), name) {
			if f.Type != amocrm.FieldTypeText && f.Type != amocrm.FieldTypeTextarea {
				return 0, fmt.Errorf("amocrmsink: lead field %q (#%d) has type %s, want text", f.Name, f.ID, f.Type)
			}
			return f.ID, nil
		}
	}
	out, _, err := c.CustomFields.Create(ctx, amocrm.EntityLeads, []*amocrm.CustomField{{
		Name: name, Type: amocrm.FieldTypeText, IsAPIOnly: true,
	}})
	if err != nil {
		return 0, fmt.Errorf("amocrmsink: create lead field %q: %w", name, err)
	}
	if len(out) == 0 || out[0].ID == 0 {
		return 0, fmt.Errorf("amocrmsink: create lead field %q: amoCRM returned no id", name)
	}
	return out[0].ID, nil
}

// MarkerFieldLease is the lease EnsureMarkerFieldShared holds in the
// workspace while it looks for the marker field and creates it.
const MarkerFieldLease = "amocrm-marker-field"

const (
	markerLeaseTTL  = 30 * time.Second
	markerLeaseWait = 2 * time.Minute
)

// EnsureMarkerFieldShared is EnsureMarkerField for instances that share a
// store and may start together: it holds the store lease MarkerFieldLease
// of workspace (waiting up to two minutes for another instance's check) for
// the look-up and the creation, so concurrent first starts create one field
// and the others find it. holder names this process in the lease.
func EnsureMarkerFieldShared(ctx context.Context, c *amocrm.Client, leases chatter.LeaseStore, workspace, holder, name string) (int, error) {
	if leases == nil || workspace == "" || holder == "" {
		return 0, fmt.Errorf("amocrmsink: ensure the marker field: leases, workspace and holder are required: %w", chatter.ErrInvalid)
	}
	deadline := time.Now().Add(markerLeaseWait)
	wait := 50 * time.Millisecond
	for {
		var id int
		err := chatter.HoldLease(ctx, leases, workspace, MarkerFieldLease, holder, markerLeaseTTL, func(ctx context.Context, _ *chatter.Lease) error {
			var err error
			id, err = EnsureMarkerField(ctx, c, name)
			return err
		})
		if !errors.Is(err, chatter.ErrLeaseHeld) || errors.Is(err, chatter.ErrLeaseLost) {
			return id, err
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("amocrmsink: ensure the marker field: another instance holds %q: %w", MarkerFieldLease, err)
		}
		t := time.NewTimer(jitter(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, time.Second)
	}
}
