package amocrmsink

import (
	"context"
	"fmt"
	"strings"

	"github.com/chatterhq/sdk/amocrm"
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
