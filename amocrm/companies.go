package amocrm

import (
	"context"
	"iter"
	"net/http"
	"strconv"
)

// CompaniesService handles companies: /api/v4/companies.
type CompaniesService service

// List returns one page of companies (204 → empty slice).
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/companies-api#companies-list
func (s *CompaniesService) List(ctx context.Context, opts *ContactListOptions) ([]*Company, *Response, error) {
	q, h := opts.values()
	return getList[*Company](ctx, s.client, "/api/v4/companies", "companies", q, h)
}

// ListIter returns all companies matching opts, page after page.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/companies-api#companies-list
func (s *CompaniesService) ListIter(ctx context.Context, opts *ContactListOptions) iter.Seq2[*Company, error] {
	var o ContactListOptions
	if opts != nil {
		o = *opts
	}
	return iterate(ctx, o.Page, func(ctx context.Context, page int) ([]*Company, *Response, error) {
		o.Page = page
		return s.List(ctx, &o)
	})
}

// Get returns the company with the given id.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/companies-api#company-detail
func (s *CompaniesService) Get(ctx context.Context, id int, opts *GetOptions) (*Company, *Response, error) {
	return getOne[Company](ctx, s.client, "/api/v4/companies/"+strconv.Itoa(id), opts.values())
}

// Create adds companies in chunks of at most MaxBatch.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/companies-api#companies-add
func (s *CompaniesService) Create(ctx context.Context, companies []*Company) ([]*Company, *Response, error) {
	return writeChunked(ctx, s.client, http.MethodPost, "/api/v4/companies", "companies", companies)
}

// Update changes companies (each with ID) in chunks of at most MaxBatch.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/companies-api#companies-edit
func (s *CompaniesService) Update(ctx context.Context, companies []*Company) ([]*Company, *Response, error) {
	for i, c := range companies {
		if c == nil || c.ID == 0 {
			return nil, nil, &InvalidRequestError{Index: i, Reason: "company without id"}
		}
	}
	return writeChunked(ctx, s.client, http.MethodPatch, "/api/v4/companies", "companies", companies)
}

// UpdateOne changes one company.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/companies-api#companies-edit
func (s *CompaniesService) UpdateOne(ctx context.Context, company *Company) (*Company, *Response, error) {
	if company == nil || company.ID == 0 {
		return nil, nil, &InvalidRequestError{Index: -1, Reason: "company without id"}
	}
	return patchOne(ctx, s.client, "/api/v4/companies/"+strconv.Itoa(company.ID), company)
}
