package amocrm

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ContactsService handles contacts: /api/v4/contacts.
type ContactsService service

// Values for ContactListOptions.With / GetOptions.With on contacts.
const (
	ContactWithLeads           = "leads"
	ContactWithCustomers       = "customers"
	ContactWithCatalogElements = "catalog_elements"
	ContactWithSocialProfiles  = "social_profiles"
	ContactWithOnlyDeleted     = "only_deleted"
)

// ContactListOptions are the parameters of ContactsService.List (also used
// by CompaniesService.List).
type ContactListOptions struct {
	ListOptions
	With []string
	// Query is a full-text search over filled fields, including phones and
	// emails: the practical way to find a contact by phone. Verify the match
	// yourself (it matches any field).
	Query           string
	Filter          *EntityFilter
	Order           *Order
	IfModifiedSince time.Time
}

func (o *ContactListOptions) values() (url.Values, http.Header) {
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

// List returns one page of contacts (204 → empty slice).
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/contacts-api#contacts-list
func (s *ContactsService) List(ctx context.Context, opts *ContactListOptions) ([]*Contact, *Response, error) {
	q, h := opts.values()
	return getList[*Contact](ctx, s.client, "/api/v4/contacts", "contacts", q, h)
}

// ListIter returns all contacts matching opts, page after page.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/contacts-api#contacts-list
func (s *ContactsService) ListIter(ctx context.Context, opts *ContactListOptions) iter.Seq2[*Contact, error] {
	var o ContactListOptions
	if opts != nil {
		o = *opts
	}
	return iterate(ctx, o.Page, func(ctx context.Context, page int) ([]*Contact, *Response, error) {
		o.Page = page
		return s.List(ctx, &o)
	})
}

// Get returns the contact with the given id.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/contacts-api#contact-detail
func (s *ContactsService) Get(ctx context.Context, id int, opts *GetOptions) (*Contact, *Response, error) {
	return getOne[Contact](ctx, s.client, "/api/v4/contacts/"+strconv.Itoa(id), opts.values())
}

// Create adds contacts in chunks of at most MaxBatch.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/contacts-api#contacts-add
func (s *ContactsService) Create(ctx context.Context, contacts []*Contact) ([]*Contact, *Response, error) {
	return writeChunked(ctx, s.client, http.MethodPost, "/api/v4/contacts", "contacts", contacts)
}

// Update changes contacts (each with ID) in chunks of at most MaxBatch.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/contacts-api#contacts-edit
func (s *ContactsService) Update(ctx context.Context, contacts []*Contact) ([]*Contact, *Response, error) {
	for i, c := range contacts {
		if c == nil || c.ID == 0 {
			return nil, nil, &InvalidRequestError{Index: i, Reason: "contact without id"}
		}
	}
	return writeChunked(ctx, s.client, http.MethodPatch, "/api/v4/contacts", "contacts", contacts)
}

// UpdateOne changes one contact.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/contacts-api#contacts-edit
func (s *ContactsService) UpdateOne(ctx context.Context, contact *Contact) (*Contact, *Response, error) {
	if contact == nil || contact.ID == 0 {
		return nil, nil, &InvalidRequestError{Index: -1, Reason: "contact without id"}
	}
	return patchOne(ctx, s.client, "/api/v4/contacts/"+strconv.Itoa(contact.ID), contact)
}

// ChatLink links an amoCRM chat (Chats API) to a contact.
type ChatLink struct {
	ChatID    string `json:"chat_id"`
	ContactID int    `json:"contact_id"`
	ID        int    `json:"id,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// LinkChats links chats to contacts (POST /api/v4/contacts/chats).
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/chats/chat-api-reference
func (s *ContactsService) LinkChats(ctx context.Context, links []*ChatLink) ([]*ChatLink, *Response, error) {
	return writeChunked(ctx, s.client, http.MethodPost, "/api/v4/contacts/chats", "chats", links)
}

func patchOne[T any](ctx context.Context, c *Client, path string, body *T) (*T, *Response, error) {
	req, err := c.newRequest(http.MethodPatch, path, nil, body)
	if err != nil {
		return nil, nil, err
	}
	out := new(T)
	resp, err := c.do(ctx, req, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}
