package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/chatterhq/sdk/chatter"
)

func normUsername(u string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(u), "@"))
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// FindContact returns the link matching q by TelegramID, else Username (case
// and a leading '@' ignored), else Phone: the first key that finds a row
// wins; among several rows with the same username or phone the most recently
// updated one. It returns an error wrapping chatter.ErrNotFound when none
// matches or q is empty.
func (s *Store) FindContact(ctx context.Context, workspace string, q chatter.ContactQuery) (*chatter.ContactLink, error) {
	if workspace == "" {
		return nil, invalidf("find contact: empty workspace")
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	const cols = `SELECT workspace, contact_id, telegram_id, username, phone, lead_id, lead_at, updated_at FROM chatter_contacts WHERE workspace = ? AND `
	tries := []struct {
		ok    bool
		where string
		arg   any
	}{
		{q.TelegramID != 0, "telegram_id = ?", q.TelegramID},
		{normUsername(q.Username) != "", "username = ? ORDER BY updated_at DESC, contact_id DESC LIMIT 1", normUsername(q.Username)},
		{q.Phone != "", "phone = ? ORDER BY updated_at DESC, contact_id DESC LIMIT 1", q.Phone},
	}
	for _, t := range tries {
		if !t.ok {
			continue
		}
		l, err := scanContact(s.db.QueryRowContext(ctx, cols+t.where, workspace, t.arg))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: find contact: %w", err)
		}
		return l, nil
	}
	return nil, fmt.Errorf("sqlitestore: find contact: %w", chatter.ErrNotFound)
}

func scanContact(row scanner) (*chatter.ContactLink, error) {
	var (
		l               chatter.ContactLink
		tgID            sql.NullInt64
		username, phone sql.NullString
		leadAt          sql.NullString
		updated         int64
	)
	if err := row.Scan(&l.Workspace, &l.ContactID, &tgID, &username, &phone, &l.LeadID, &leadAt, &updated); err != nil {
		return nil, err
	}
	l.TelegramID, l.Username, l.Phone = tgID.Int64, username.String, phone.String
	var err error
	if l.LeadAt, err = fromTextTime(leadAt); err != nil {
		return nil, err
	}
	l.UpdatedAt = fromNanos(updated)
	return &l, nil
}

// SaveContact inserts or replaces the link for l.ContactID (all fields are
// written; Username is stored lower case without '@'; UpdatedAt is set by the
// store, and l itself is not modified).
// It returns an error wrapping chatter.ErrConflict, changing nothing, when
// another contact of the workspace already holds l.TelegramID.
func (s *Store) SaveContact(ctx context.Context, l *chatter.ContactLink) error {
	switch {
	case l == nil:
		return invalidf("save contact: nil link")
	case l.Workspace == "":
		return invalidf("save contact: empty workspace")
	case l.ContactID <= 0:
		return invalidf("save contact: contact id %d is not positive", l.ContactID)
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if l.TelegramID != 0 {
			var other int64
			err := tx.QueryRowContext(ctx, `SELECT contact_id FROM chatter_contacts WHERE workspace = ? AND telegram_id = ?`,
				l.Workspace, l.TelegramID).Scan(&other)
			switch {
			case err == nil && other != l.ContactID:
				return fmt.Errorf("%w: telegram id %d belongs to contact %d", chatter.ErrConflict, l.TelegramID, other)
			case err != nil && !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO chatter_contacts
			(workspace, contact_id, telegram_id, username, phone, lead_id, lead_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace, contact_id) DO UPDATE SET telegram_id = excluded.telegram_id,
			username = excluded.username, phone = excluded.phone, lead_id = excluded.lead_id,
			lead_at = excluded.lead_at, updated_at = excluded.updated_at`,
			l.Workspace, l.ContactID, nullInt(l.TelegramID), nullStr(normUsername(l.Username)), nullStr(l.Phone),
			l.LeadID, textTime(l.LeadAt), nanos(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: save contact %d: %w", l.ContactID, err)
	}
	return nil
}
