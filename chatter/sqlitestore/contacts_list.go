package sqlitestore

import (
	"context"
	"fmt"

	"github.com/chatterhq/sdk/chatter"
)

var _ chatter.ContactLister = (*Store)(nil)

// ListContacts implements chatter.ContactLister.
func (s *Store) ListContacts(ctx context.Context, workspace string, q chatter.ContactListQuery) ([]*chatter.ContactLink, error) {
	if workspace == "" {
		return nil, invalidf("list contacts: empty workspace")
	}
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list contacts: %w", err)
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	where, arg := "contact_id = ?", q.ContactID
	if q.LeadID != 0 {
		where, arg = "lead_id = ?", q.LeadID
	}
	rows, err := s.db.QueryContext(ctx, `SELECT workspace, contact_id, telegram_id, username, phone, lead_id, lead_at, updated_at
		FROM chatter_contacts WHERE workspace = ? AND `+where+` ORDER BY updated_at DESC, contact_id DESC LIMIT ?`,
		workspace, arg, q.EffectiveLimit())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list contacts: %w", err)
	}
	defer rows.Close()
	var out []*chatter.ContactLink
	for rows.Next() {
		l, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list contacts: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list contacts: %w", err)
	}
	return out, nil
}

// DeleteContact implements chatter.ContactLister.
func (s *Store) DeleteContact(ctx context.Context, workspace string, contactID int64) error {
	if workspace == "" {
		return invalidf("delete contact: empty workspace")
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM chatter_contacts WHERE workspace = ? AND contact_id = ?`, workspace, contactID); err != nil {
		return fmt.Errorf("sqlitestore: delete contact %d: %w", contactID, err)
	}
	return nil
}
