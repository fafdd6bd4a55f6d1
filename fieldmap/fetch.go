package fieldmap

import (
	"context"
	"fmt"

	"github.com/chatterhq/sdk/amocrm"
)

// FetchSchema returns a FetchFunc that reads the live schema from amoCRM
// through c: the custom fields of leads, contacts and companies (all pages),
// the pipelines with their statuses, and the users with their rights. Use it
// with NewSchemaCache so the schema is fetched once per TTL, and again when
// a delivery fails with a field error.
func FetchSchema(c *amocrm.Client) FetchFunc {
	return func(ctx context.Context) (*Schema, error) {
		s := &Schema{}
		for _, e := range []struct {
			entity amocrm.EntityType
			dst    *[]amocrm.CustomField
		}{
			{amocrm.EntityLeads, &s.LeadFields},
			{amocrm.EntityContacts, &s.ContactFields},
			{amocrm.EntityCompanies, &s.CompanyFields},
		} {
			for f, err := range c.CustomFields.ListIter(ctx, e.entity, nil) {
				if err != nil {
					return nil, fmt.Errorf("fieldmap: fetch %s fields: %w", e.entity, err)
				}
				*e.dst = append(*e.dst, *f)
			}
		}
		pipelines, _, err := c.Pipelines.List(ctx)
		if err != nil {
			return nil, fmt.Errorf("fieldmap: fetch pipelines: %w", err)
		}
		for _, p := range pipelines {
			s.Pipelines = append(s.Pipelines, *p)
		}
		for u, err := range c.Users.ListIter(ctx, &amocrm.UserListOptions{With: []string{"role", "group"}}) {
			if err != nil {
				return nil, fmt.Errorf("fieldmap: fetch users: %w", err)
			}
			s.Users = append(s.Users, *u)
		}
		return s, nil
	}
}
