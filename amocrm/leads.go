package amocrm

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// LeadsService handles leads: /api/v4/leads and /api/v4/leads/complex.
type LeadsService service

// Values for LeadListOptions.With / LeadGetOptions.With.
const (
	LeadWithContacts               = "contacts"
	LeadWithCatalogElements        = "catalog_elements"
	LeadWithIsPriceModifiedByRobot = "is_price_modified_by_robot"
	LeadWithLossReason             = "loss_reason"
	LeadWithOnlyDeleted            = "only_deleted"
	LeadWithSourceID               = "source_id"
	LeadWithSource                 = "source"
)

// EntityFilter holds the filters common to leads, contacts and companies.
type EntityFilter struct {
	IDs                []int
	Names              []string
	ResponsibleUserIDs []int
	CreatedBy          []int
	UpdatedBy          []int
	CreatedAt          *TimeRange
	UpdatedAt          *TimeRange
	ClosestTaskAt      *TimeRange
	// Extra is added to the query as is, for filters not modelled here
	// (e.g. "filter[custom_fields_values][123][]").
	Extra url.Values
}

func (f *EntityFilter) encode(q url.Values) {
	if f == nil {
		return
	}
	encodeInts(q, "filter[id]", f.IDs)
	for _, n := range f.Names {
		q.Add("filter[name][]", n)
	}
	encodeInts(q, "filter[responsible_user_id]", f.ResponsibleUserIDs)
	encodeInts(q, "filter[created_by]", f.CreatedBy)
	encodeInts(q, "filter[updated_by]", f.UpdatedBy)
	encodeTimeRange(q, "filter[created_at]", f.CreatedAt)
	encodeTimeRange(q, "filter[updated_at]", f.UpdatedAt)
	encodeTimeRange(q, "filter[closest_task_at]", f.ClosestTaskAt)
	mergeValues(q, f.Extra)
}

// StatusFilter selects leads in one pipeline status.
type StatusFilter struct {
	PipelineID int
	StatusID   int
}

// LeadFilter filters a lead list.
type LeadFilter struct {
	EntityFilter
	Price       *Range
	ClosedAt    *TimeRange
	PipelineIDs []int
	Statuses    []StatusFilter
}

func (f *LeadFilter) encode(q url.Values) {
	if f == nil {
		return
	}
	f.EntityFilter.encode(q)
	encodeRange(q, "filter[price]", f.Price)
	encodeTimeRange(q, "filter[closed_at]", f.ClosedAt)
	encodeInts(q, "filter[pipeline_id]", f.PipelineIDs)
	for i, s := range f.Statuses {
		p := "filter[statuses][" + strconv.Itoa(i) + "]"
		q.Set(p+"[pipeline_id]", strconv.Itoa(s.PipelineID))
		q.Set(p+"[status_id]", strconv.Itoa(s.StatusID))
	}
}

// LeadListOptions are the parameters of LeadsService.List.
type LeadListOptions struct {
	ListOptions
	// With adds embedded data (LeadWithContacts, ...).
	With []string
	// Query is a full-text search over the lead's filled fields.
	Query  string
	Filter *LeadFilter
	Order  *Order
	// IfModifiedSince returns only leads changed after this time.
	IfModifiedSince time.Time
}

func (o *LeadListOptions) values() (url.Values, http.Header) {
	q := url.Values{}
	if o == nil {
		return q, nil
	}
	o.ListOptions.encode(q, MaxLimit)
	encodeWith(q, o.With)
	if o.Query != "" {
		q.Set("query", o.Query)
	}
	o.Filter.encode(q)
	o.Order.encode(q)
	return q, ifModifiedSince(o.IfModifiedSince)
}

func ifModifiedSince(t time.Time) http.Header {
	if t.IsZero() {
		return nil
	}
	return http.Header{"If-Modified-Since": {t.UTC().Format(http.TimeFormat)}}
}

// GetOptions are the parameters of Get methods.
type GetOptions struct {
	// With adds embedded data (for leads: LeadWithContacts, ...).
	With []string
}

func (o *GetOptions) values() url.Values {
	q := url.Values{}
	if o != nil {
		encodeWith(q, o.With)
	}
	return q
}

// List returns one page of leads. A page past the end (amoCRM answers 204)
// is an empty slice, not an error. Response.NextPage is 0 on the last page.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads-api#leads-list
func (s *LeadsService) List(ctx context.Context, opts *LeadListOptions) ([]*Lead, *Response, error) {
	q, h := opts.values()
	return getList[*Lead](ctx, s.client, "/api/v4/leads", "leads", q, h)
}

// ListIter returns all leads matching opts, following _links.next until the
// last page or a 204. opts is copied, never modified.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads-api#leads-list
func (s *LeadsService) ListIter(ctx context.Context, opts *LeadListOptions) iter.Seq2[*Lead, error] {
	var o LeadListOptions
	if opts != nil {
		o = *opts
	}
	return iterate(ctx, o.Page, func(ctx context.Context, page int) ([]*Lead, *Response, error) {
		o.Page = page
		return s.List(ctx, &o)
	})
}

// Get returns the lead with the given id (*NotFoundError when it does not exist).
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads-api#lead-detail
func (s *LeadsService) Get(ctx context.Context, id int, opts *GetOptions) (*Lead, *Response, error) {
	return getOne[Lead](ctx, s.client, "/api/v4/leads/"+strconv.Itoa(id), opts.values())
}

// Create adds leads, sending them in chunks of at most MaxBatch (50). The
// results carry id and request_id, in input order. If a chunk fails, the
// leads created so far are returned with a *BatchError.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads-api#leads-add
func (s *LeadsService) Create(ctx context.Context, leads []*Lead) ([]*Lead, *Response, error) {
	return writeChunked(ctx, s.client, http.MethodPost, "/api/v4/leads", "leads", leads)
}

// Update changes leads (each must have ID), in chunks of at most MaxBatch.
// Only non-zero fields are sent.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads-api#leads-edit
func (s *LeadsService) Update(ctx context.Context, leads []*Lead) ([]*Lead, *Response, error) {
	for i, l := range leads {
		if l == nil || l.ID == 0 {
			return nil, nil, &InvalidRequestError{Index: i, Reason: "lead without id"}
		}
	}
	return writeChunked(ctx, s.client, http.MethodPatch, "/api/v4/leads", "leads", leads)
}

// UpdateOne changes one lead (PATCH /api/v4/leads/{id}).
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads-api#leads-edit
func (s *LeadsService) UpdateOne(ctx context.Context, lead *Lead) (*Lead, *Response, error) {
	if lead == nil || lead.ID == 0 {
		return nil, nil, &InvalidRequestError{Index: -1, Reason: "lead without id"}
	}
	return patchOne(ctx, s.client, "/api/v4/leads/"+strconv.Itoa(lead.ID), lead)
}

// Limits of POST /api/v4/leads/complex.
const (
	// MaxComplexBatch is the maximum number of leads per complex request.
	MaxComplexBatch = 50
	// MaxComplexFieldValues is the maximum number of custom field values
	// per entity (lead, contact, company) in a complex request.
	MaxComplexFieldValues = 40
)

// ValidateComplex checks items against the /leads/complex limits without
// sending anything: lead present, at most MaxComplexFieldValues values per
// entity, unique request ids. (One contact and one company per lead hold by
// construction of ComplexLead.)
func ValidateComplex(items []*ComplexLead) error {
	seen := make(map[string]int, len(items))
	for i, it := range items {
		if it == nil || it.Lead == nil {
			return &InvalidRequestError{Index: i, Reason: "complex lead without Lead"}
		}
		if n := countValues(it.Lead.CustomFieldsValues); n > MaxComplexFieldValues {
			return &InvalidRequestError{Index: i, Reason: fmt.Sprintf("lead has %d custom field values, the limit is %d", n, MaxComplexFieldValues)}
		}
		if it.Contact != nil {
			if n := countValues(it.Contact.CustomFieldsValues); n > MaxComplexFieldValues {
				return &InvalidRequestError{Index: i, Reason: fmt.Sprintf("contact has %d custom field values, the limit is %d", n, MaxComplexFieldValues)}
			}
		}
		if it.Company != nil {
			if n := countValues(it.Company.CustomFieldsValues); n > MaxComplexFieldValues {
				return &InvalidRequestError{Index: i, Reason: fmt.Sprintf("company has %d custom field values, the limit is %d", n, MaxComplexFieldValues)}
			}
		}
		if it.RequestID != "" {
			if j, dup := seen[it.RequestID]; dup {
				return &InvalidRequestError{Index: i, Reason: fmt.Sprintf("request_id %q repeats item %d", it.RequestID, j)}
			}
			seen[it.RequestID] = i
		}
	}
	return nil
}

// countValues counts custom field values as amoCRM's limit does: one per
// field entry.
func countValues(vs CustomFieldsValues) int { return len(vs) }

// CreateComplex adds up to MaxComplexBatch leads, each with at most one new
// contact and one new company, in ONE request. Items are validated first
// (*InvalidRequestError). Results come in amoCRM's order; match them to
// items by RequestID (see CreateComplexBatch, which does that for you).
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads-api#leads-complex-add
func (s *LeadsService) CreateComplex(ctx context.Context, items []*ComplexLead) ([]*ComplexLeadResult, *Response, error) {
	if len(items) == 0 {
		return nil, nil, &InvalidRequestError{Index: -1, Reason: "nothing to send"}
	}
	if len(items) > MaxComplexBatch {
		return nil, nil, &InvalidRequestError{Index: MaxComplexBatch, Reason: fmt.Sprintf("%d complex leads in one request, the limit is %d (use CreateComplexBatch)", len(items), MaxComplexBatch)}
	}
	if err := ValidateComplex(items); err != nil {
		return nil, nil, err
	}
	req, err := s.client.newRequest(http.MethodPost, "/api/v4/leads/complex", nil, items)
	if err != nil {
		return nil, nil, err
	}
	var out []*ComplexLeadResult
	resp, err := s.client.do(ctx, req, &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// CreateComplexBatch adds any number of complex leads in chunks of
// MaxComplexBatch and returns one result per item, aligned with items
// (results[i] answers items[i]; merged leads share a result). Items without
// RequestID are sent with their index as request id (the caller's structs are
// not modified). All items are validated before anything is sent. If a chunk
// fails, the results of earlier chunks are returned with a *BatchError whose
// Done says how many items were sent successfully.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads-api#leads-complex-add
func (s *LeadsService) CreateComplexBatch(ctx context.Context, items []*ComplexLead) ([]*ComplexLeadResult, error) {
	if len(items) == 0 {
		return nil, &InvalidRequestError{Index: -1, Reason: "nothing to send"}
	}
	wire := make([]*ComplexLead, len(items))
	index := make(map[string]int, len(items))
	for i, it := range items {
		if it == nil {
			return nil, &InvalidRequestError{Index: i, Reason: "nil complex lead"}
		}
		cp := *it
		if cp.RequestID == "" {
			cp.RequestID = strconv.Itoa(i)
		}
		if j, dup := index[cp.RequestID]; dup {
			return nil, &InvalidRequestError{Index: i, Reason: fmt.Sprintf("request_id %q repeats item %d", cp.RequestID, j)}
		}
		index[cp.RequestID] = i
		wire[i] = &cp
	}
	if err := ValidateComplex(wire); err != nil {
		return nil, err
	}
	results := make([]*ComplexLeadResult, len(items))
	for start := 0; start < len(wire); start += MaxComplexBatch {
		end := min(start+MaxComplexBatch, len(wire))
		res, _, err := s.CreateComplex(ctx, wire[start:end])
		if err != nil {
			return results, &BatchError{Done: start, Err: err}
		}
		matched := 0
		for _, r := range res {
			for _, rid := range r.RequestID {
				if i, ok := index[rid]; ok && i >= start && i < end {
					results[i] = r
					matched++
				}
			}
		}
		// amoCRM echoes request ids; if it ever did not, fall back to order.
		if matched == 0 && len(res) == end-start {
			for k, r := range res {
				results[start+k] = r
			}
		}
	}
	return results, nil
}
