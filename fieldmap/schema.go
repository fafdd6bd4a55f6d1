package fieldmap

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/chatterhq/sdk/amocrm"
)

// Schema is what a mapping is checked and resolved against: the account's
// custom fields per entity, its pipelines with statuses, and its users. Build
// it from the amocrm client (CustomFields.List for leads, contacts and
// companies; Pipelines.List; Users.List) or from a fixture. A Schema is read
// only once built; Compile and Validate never change it.
type Schema struct {
	LeadFields    []amocrm.CustomField `json:"lead_fields,omitempty"`
	ContactFields []amocrm.CustomField `json:"contact_fields,omitempty"`
	CompanyFields []amocrm.CustomField `json:"company_fields,omitempty"`
	Pipelines     []amocrm.Pipeline    `json:"pipelines,omitempty"`
	Users         []amocrm.User        `json:"users,omitempty"`
	// FetchedAt is when the schema was read from amoCRM (set by SchemaCache).
	FetchedAt time.Time `json:"fetched_at,omitzero"`
}

// Fields returns the custom fields of entity (EntityLeads, EntityContacts,
// EntityCompanies).
func (s *Schema) Fields(entity amocrm.EntityType) []amocrm.CustomField {
	if s == nil {
		return nil
	}
	switch entity {
	case amocrm.EntityLeads:
		return s.LeadFields
	case amocrm.EntityContacts:
		return s.ContactFields
	case amocrm.EntityCompanies:
		return s.CompanyFields
	}
	return nil
}

// findField finds the field by id, code (case-insensitive) or name (exact,
// then case- and space-insensitive).
func findField(fields []amocrm.CustomField, id int, code, name string) *amocrm.CustomField {
	for i := range fields {
		f := &fields[i]
		switch {
		case id != 0 && f.ID == id:
			return f
		case id == 0 && code != "" && f.Code != "" && strings.EqualFold(f.Code, code):
			return f
		case id == 0 && code == "" && name != "" && f.Name == name:
			return f
		}
	}
	if id == 0 && code == "" && name != "" {
		n := normName(name)
		for i := range fields {
			if normName(fields[i].Name) == n {
				return &fields[i]
			}
		}
	}
	return nil
}

func normName(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

func fieldNames(fields []amocrm.CustomField) []string {
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		out = append(out, f.Name)
		if f.Code != "" {
			out = append(out, f.Code)
		}
	}
	return out
}

func (s *Schema) pipeline(ref Ref) *amocrm.Pipeline {
	for i := range s.Pipelines {
		p := &s.Pipelines[i]
		if ref.ID != 0 && p.ID == ref.ID || ref.ID == 0 && ref.Name != "" && normName(p.Name) == normName(ref.Name) {
			return p
		}
	}
	return nil
}

func (s *Schema) mainPipeline() *amocrm.Pipeline {
	for i := range s.Pipelines {
		if s.Pipelines[i].IsMain {
			return &s.Pipelines[i]
		}
	}
	if len(s.Pipelines) > 0 {
		return &s.Pipelines[0]
	}
	return nil
}

func findStatus(p *amocrm.Pipeline, ref Ref) *amocrm.Status {
	for _, st := range p.Statuses() {
		if st == nil {
			continue
		}
		if ref.ID != 0 && st.ID == ref.ID || ref.ID == 0 && ref.Name != "" && normName(st.Name) == normName(ref.Name) {
			return st
		}
	}
	return nil
}

func (s *Schema) user(ref Ref) *amocrm.User {
	for i := range s.Users {
		u := &s.Users[i]
		switch {
		case ref.ID != 0:
			if u.ID == ref.ID {
				return u
			}
		case ref.Email != "":
			if strings.EqualFold(u.Email, ref.Email) {
				return u
			}
		case ref.Name != "":
			if normName(u.Name) == normName(ref.Name) {
				return u
			}
		}
	}
	return nil
}

// userActive reports whether u may be made responsible (rights unknown
// count as active).
func userActive(u *amocrm.User) bool { return u.Rights == nil || u.Rights.IsActive }

// FetchFunc reads the current schema from amoCRM (fields, pipelines, users).
type FetchFunc func(ctx context.Context) (*Schema, error)

// SchemaCacheConfig configures a SchemaCache. Zero fields take the defaults.
type SchemaCacheConfig struct {
	// TTL is how long a fetched schema is used (default 10 minutes).
	TTL time.Duration
	// MinRefresh is the least time between two fetches forced by
	// Invalidate/ReportError, so a burst of failed deliveries costs one
	// fetch (default 10 seconds).
	MinRefresh time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// SchemaCache keeps the account schema for a TTL, fetches it once for
// concurrent callers, and refetches early when a delivery failed with a
// field error (see ReportError). It does no I/O itself: the fetch function
// does. Safe for concurrent use; the constructor starts no goroutines.
type SchemaCache struct {
	fetch FetchFunc
	ttl   time.Duration
	minRf time.Duration
	now   func() time.Time

	mu       sync.Mutex
	cur      *Schema
	expires  time.Time
	lastLoad time.Time
	stale    bool
	inflight chan struct{}
	version  uint64
}

// NewSchemaCache returns a cache over fetch.
func NewSchemaCache(fetch FetchFunc, cfg SchemaCacheConfig) *SchemaCache {
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Minute
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &SchemaCache{fetch: fetch, ttl: cfg.TTL, minRf: cfg.MinRefresh, now: cfg.Now}
}

// Get returns the cached schema, fetching it when there is none, it has
// expired, or it was invalidated (and MinRefresh has passed since the last
// fetch). Concurrent callers share one fetch. A failed fetch returns its
// error and keeps the old schema (see Cached); the next Get tries again.
// version increases with every successful fetch, so callers can recompile a
// Mapper only when it changed.
func (c *SchemaCache) Get(ctx context.Context) (s *Schema, version uint64, err error) {
	for {
		c.mu.Lock()
		now := c.now()
		fresh := c.cur != nil && now.Before(c.expires) && (!c.stale || now.Sub(c.lastLoad) < c.minRf)
		if fresh {
			s, version = c.cur, c.version
			c.mu.Unlock()
			return s, version, nil
		}
		if wait := c.inflight; wait != nil {
			before := c.version
			c.mu.Unlock()
			select {
			case <-wait:
				c.mu.Lock()
				got, v := c.cur, c.version
				c.mu.Unlock()
				if v > before {
					return got, v, nil
				}
				continue // the fetch we waited for failed: try ourselves
			case <-ctx.Done():
				return nil, 0, ctx.Err()
			}
		}
		done := make(chan struct{})
		c.inflight = done
		c.mu.Unlock()

		got, ferr := c.fetch(ctx)
		if ferr == nil && got == nil {
			ferr = errors.New("fieldmap: schema fetch returned no schema")
		}
		c.mu.Lock()
		c.inflight = nil
		close(done)
		if ferr != nil {
			c.mu.Unlock()
			return nil, 0, ferr
		}
		now = c.now()
		if got.FetchedAt.IsZero() {
			got.FetchedAt = now
		}
		c.cur, c.expires, c.lastLoad, c.stale = got, now.Add(c.ttl), now, false
		c.version++
		s, version = c.cur, c.version
		c.mu.Unlock()
		return s, version, nil
	}
}

// Cached returns the last schema fetched, even if expired, or nil.
func (c *SchemaCache) Cached() *Schema {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// Invalidate marks the schema stale: the next Get fetches again, but not
// sooner than MinRefresh after the previous fetch.
func (c *SchemaCache) Invalidate() {
	c.mu.Lock()
	c.stale = true
	c.mu.Unlock()
}

// ReportError tells the cache a delivery failed with err. When err is an
// amoCRM validation error about custom fields, pipelines, statuses or the
// responsible user (the schema changed under the mapping), the cache is
// invalidated and ReportError returns true.
func (c *SchemaCache) ReportError(err error) bool {
	if !IsSchemaError(err) {
		return false
	}
	c.Invalidate()
	return true
}

// IsSchemaError reports whether err is an amoCRM validation error that
// points at custom fields, enums, the pipeline, the status or the
// responsible user: a sign the account schema changed.
func IsSchemaError(err error) bool {
	var ae *amocrm.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, ve := range ae.ValidationErrors {
		for _, fe := range ve.Errors {
			p := fe.Path
			if strings.Contains(p, "custom_fields_values") || strings.Contains(p, "pipeline_id") ||
				strings.Contains(p, "status_id") || strings.Contains(p, "responsible_user_id") ||
				strings.Contains(p, "enum") {
				return true
			}
		}
	}
	return false
}
