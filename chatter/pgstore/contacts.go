package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatterhq/sdk/chatter"
)

// normUsername is the stored form of a username: lower case, without '@'.
func normUsername(u string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(u), "@"))
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullInt(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

const contactColumns = `workspace, contact_id, telegram_id, username, phone, lead_id, lead_at, updated_at`

func scanContact(r pgx.Row) (*chatter.ContactLink, error) {
	var (
		l               chatter.ContactLink
		tg              *int64
		username, phone *string
		leadAt          *time.Time
	)
	if err := r.Scan(&l.Workspace, &l.ContactID, &tg, &username, &phone, &l.LeadID, &leadAt, &l.UpdatedAt); err != nil {
		return nil, err
	}
	if tg != nil {
		l.TelegramID = *tg
	}
	if username != nil {
		l.Username = *username
	}
	if phone != nil {
		l.Phone = *phone
	}
	l.LeadAt, l.UpdatedAt = utc(leadAt), l.UpdatedAt.UTC()
	return &l, nil
}

// FindContact implements chatter.ContactStore. When a weak key (username,
// phone) matches several contacts, the most recently updated one wins.
func (s *Store) FindContact(ctx context.Context, workspace string, q chatter.ContactQuery) (*chatter.ContactLink, error) {
	if err := needWorkspace(workspace); err != nil {
		return nil, fmt.Errorf("pgstore: find contact: %w", err)
	}
	username := normUsername(q.Username)
	phone := strings.TrimSpace(q.Phone)
	for _, f := range []struct{ name, v string }{{"username", username}, {"phone", phone}} {
		if err := checkText(f.name, f.v); err != nil {
			return nil, fmt.Errorf("pgstore: find contact: %w", err)
		}
	}
	type probe struct {
		col string
		v   any
	}
	var probes []probe
	if q.TelegramID != 0 {
		probes = append(probes, probe{"telegram_id", q.TelegramID})
	}
	if username != "" {
		probes = append(probes, probe{"username", username})
	}
	if phone != "" {
		probes = append(probes, probe{"phone", phone})
	}
	for _, p := range probes {
		l, err := scanContact(s.pool.QueryRow(ctx, s.q(`SELECT `+contactColumns+` FROM {schema}chatter_contacts
			WHERE workspace = $1 AND `+p.col+` = $2 ORDER BY updated_at DESC, contact_id DESC LIMIT 1`), workspace, p.v))
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("pgstore: find contact: %w", err)
		}
		return l, nil
	}
	return nil, fmt.Errorf("pgstore: find contact: %w", chatter.ErrNotFound)
}

// SaveContact implements chatter.ContactStore: the row of l.ContactID is
// inserted or replaced (zero fields are stored as absent). A TelegramID held
// by another contact is chatter.ErrConflict (a unique index decides).
func (s *Store) SaveContact(ctx context.Context, l *chatter.ContactLink) error {
	if l == nil {
		return fmt.Errorf("pgstore: save contact: %w", invalid("contact", "контакт не указан", "contact is nil"))
	}
	if err := needWorkspace(l.Workspace); err != nil {
		return fmt.Errorf("pgstore: save contact: %w", err)
	}
	if l.ContactID <= 0 {
		return fmt.Errorf("pgstore: save contact: %w", invalid("contact_id", "не указан контакт CRM", "contact id is not positive"))
	}
	username, phone := normUsername(l.Username), strings.TrimSpace(l.Phone)
	for _, f := range []struct{ name, v string }{{"username", username}, {"phone", phone}} {
		if err := checkText(f.name, f.v); err != nil {
			return fmt.Errorf("pgstore: save contact: %w", err)
		}
	}
	_, err := s.pool.Exec(ctx, s.q(`INSERT INTO {schema}chatter_contacts AS c
		(workspace, contact_id, telegram_id, username, phone, lead_id, lead_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (workspace, contact_id) DO UPDATE SET telegram_id = excluded.telegram_id,
			username = excluded.username, phone = excluded.phone, lead_id = excluded.lead_id,
			lead_at = excluded.lead_at, updated_at = excluded.updated_at`),
		l.Workspace, l.ContactID, nullInt(l.TelegramID), nullString(username), nullString(phone),
		l.LeadID, nullTime(l.LeadAt), s.stamp())
	if isUniqueViolation(err) {
		return fmt.Errorf("pgstore: save contact %d: telegram id %d belongs to another contact: %w",
			l.ContactID, l.TelegramID, chatter.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("pgstore: save contact %d: %w", l.ContactID, err)
	}
	return nil
}
