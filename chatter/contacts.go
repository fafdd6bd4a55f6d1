package chatter

import "context"

// ContactListQuery selects contact links by the CRM's ids. Exactly one of
// ContactID and LeadID is set.
type ContactListQuery struct {
	// ContactID selects the link of that contact (at most one).
	ContactID int64
	// LeadID selects the links whose open lead it is.
	LeadID int64
	// Limit caps the links returned: 0 means 100; at most 1000.
	Limit int
}

// ContactLister finds contact links by what the CRM tells about them: its
// webhooks name a contact that changed or a lead that was closed. Every
// Store implements it (chattertest.TestContactLister).
type ContactLister interface {
	// ListContacts returns the workspace's links matching q, most recently
	// updated first; none is not an error. A query with neither or both
	// ids gives an error wrapping ErrInvalid.
	ListContacts(ctx context.Context, workspace string, q ContactListQuery) ([]*ContactLink, error)
	// DeleteContact removes the link of contactID (the contact was deleted
	// in the CRM); a missing link is not an error.
	DeleteContact(ctx context.Context, workspace string, contactID int64) error
}

// Validate reports a *ValidationError for a query with neither or both ids,
// or a negative id or limit.
func (q ContactListQuery) Validate() error {
	switch {
	case (q.ContactID == 0) == (q.LeadID == 0):
		return invalid("contact_list_query", "укажите либо контакт, либо сделку", "set exactly one of ContactID and LeadID")
	case q.ContactID < 0 || q.LeadID < 0:
		return invalid("contact_list_query", "отрицательный идентификатор", "negative id")
	case q.Limit < 0:
		return invalid("contact_list_query.limit", "отрицательный лимит", "negative limit")
	}
	return nil
}

// EffectiveLimit is the query's Limit with its default and cap applied.
func (q ContactListQuery) EffectiveLimit() int {
	switch {
	case q.Limit == 0:
		return 100
	case q.Limit > 1000:
		return 1000
	}
	return q.Limit
}
