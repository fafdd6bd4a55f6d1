package pgstore

import (
	"context"
	"fmt"

	"github.com/chatterhq/sdk/chatter"
)

var _ chatter.ContactLister = (*Store)(nil)

// ListContacts implements chatter.ContactLister.
func (s *Store) ListContacts(ctx context.Context, workspace string, q chatter.ContactListQuery) ([]*chatter.ContactLink, error) {
	if err := needWorkspace(workspace); err != nil {
		return nil, fmt.Errorf("pgstore: list contacts: %w", err)
	}
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("pgstore: list contacts: %w", err)
	}
	where, arg := "contact_id = $2", q.ContactID
	if q.LeadID != 0 {
		where, arg = "lead_id = $2", q.LeadID
	}
	rows, err := s.pool.Query(ctx, s.q(`SELECT `+contactColumns+` FROM {schema}chatter_contacts
		WHERE workspace = $1 AND `+where+` ORDER BY updated_at DESC, contact_id DESC LIMIT $3`), workspace, arg, q.EffectiveLimit())
	if err != nil {
		return nil, fmt.Errorf("pgstore: list contacts: %w", err)
	}
	defer rows.Close()
	var out []*chatter.ContactLink
	for rows.Next() {
		l, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list contacts: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list contacts: %w", err)
	}
	return out, nil
}

// DeleteContact implements chatter.ContactLister.
func (s *Store) DeleteContact(ctx context.Context, workspace string, contactID int64) error {
	if err := needWorkspace(workspace); err != nil {
		return fmt.Errorf("pgstore: delete contact: %w", err)
	}
	if _, err := s.pool.Exec(ctx, s.q(`DELETE FROM {schema}chatter_contacts WHERE workspace = $1 AND contact_id = $2`), workspace, contactID); err != nil {
		return fmt.Errorf("pgstore: delete contact %d: %w", contactID, err)
	}
	return nil
}
