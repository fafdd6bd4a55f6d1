package chattertest

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/chatterhq/sdk/chatter"
)

var _ chatter.ContactLister = (*MemStore)(nil)

// ListContacts implements chatter.ContactLister.
func (s *MemStore) ListContacts(ctx context.Context, workspace string, q chatter.ContactListQuery) ([]*chatter.ContactLink, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := needWorkspace(workspace); err != nil {
		return nil, fmt.Errorf("chattertest: list contacts: %w", err)
	}
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("chattertest: list contacts: %w", err)
	}
	s.mu.Lock()
	var out []*chatter.ContactLink
	for k, l := range s.contacts {
		if k.ws != workspace || (q.ContactID != 0 && l.ContactID != q.ContactID) || (q.LeadID != 0 && l.LeadID != q.LeadID) {
			continue
		}
		c := *l
		out = append(out, &c)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *chatter.ContactLink) int {
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), cmp.Compare(b.ContactID, a.ContactID))
	})
	if n := q.EffectiveLimit(); len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// DeleteContact implements chatter.ContactLister.
func (s *MemStore) DeleteContact(ctx context.Context, workspace string, contactID int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := needWorkspace(workspace); err != nil {
		return fmt.Errorf("chattertest: delete contact: %w", err)
	}
	s.mu.Lock()
	delete(s.contacts, contactKey{workspace, contactID})
	s.mu.Unlock()
	return nil
}
