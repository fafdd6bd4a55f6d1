package amocrmsink

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
)

// resolveContact finds the person's contact: first the store's link (by
// Telegram id, then username, then phone); then, for a person whose earlier
// lead or contact creation ended ambiguously in this process, what that
// write created (settle); then, with LookupCRM, amoCRM (the same order,
// verifying each hit field by field). A contact found by a weak key
// (username, phone) whose Telegram id differs from the sender's is never
// used: conflict reports that one exists, so the new contact is created
// without amoCRM's duplicate control. A nil link means "create a contact".
// A contact found is completed with what the message adds (see
// completeContact).
func (j *job) resolveContact(ctx context.Context) (link *chatter.ContactLink, conflict bool, err error) {
	p := j.person
	if !p.known() {
		return nil, false, nil
	}
	l, err := j.s.cfg.Contacts.FindContact(ctx, j.m.Workspace, chatter.ContactQuery{TelegramID: p.tgID, Username: p.username, Phone: p.phone})
	switch {
	case errors.Is(err, chatter.ErrNotFound):
	case err != nil:
		return nil, false, chatter.WithClass(fmt.Errorf("amocrmsink: find contact link: %w", err), chatter.ClassInternal)
	case l.TelegramID != 0 && p.tgID != 0 && l.TelegramID != p.tgID:
		// Same username or phone, another Telegram account: not this person.
		conflict = true
	default:
		if l.TelegramID == 0 && p.tgID != 0 {
			// Found by a weak key; the sender's Telegram id now joins it.
			j.saveLink(ctx, &chatter.ContactLink{ContactID: l.ContactID, LeadID: l.LeadID, LeadAt: l.LeadAt})
		}
		j.completeLinked(ctx, l)
		return l, false, nil
	}
	if settled, err := j.settle(ctx); err != nil {
		return nil, false, err
	} else if settled != nil {
		j.saveLink(ctx, settled)
		j.completeLinked(ctx, settled)
		return settled, conflict, nil
	}
	if j.s.cfg.Lookup == LookupStore {
		// Trust the store: a new contact goes into /leads/complex, where
		// amoCRM's duplicate control merges it by phone or e-mail.
		return nil, conflict, nil
	}
	c, weakConflict, err := j.searchCRM(ctx)
	if err != nil {
		return nil, false, err
	}
	conflict = conflict || weakConflict
	if c == nil {
		return nil, conflict, nil
	}
	link = &chatter.ContactLink{ContactID: int64(c.ID)}
	if lead, err := j.openLeadOf(ctx, c); err != nil {
		return nil, false, err
	} else if lead != nil {
		link.LeadID, link.LeadAt = int64(lead.ID), lead.UpdatedAt.Time()
	}
	j.completeContact(ctx, c)
	j.saveLink(ctx, link)
	return link, conflict, nil
}

// searchCRM looks the person up in amoCRM: by the Telegram id field, then the
// username field, then the phone. Each query= hit is verified (query matches
// any field, as a substring).
func (j *job) searchCRM(ctx context.Context) (*amocrm.Contact, bool, error) {
	p, cfg := j.person, j.s.cfg
	tgText := strconv.FormatInt(p.tgID, 10)
	conflict := false
	// tgOK reports whether c's Telegram id field is empty or the sender's.
	tgOK := func(c *amocrm.Contact) bool {
		if cfg.ContactTelegramIDField <= 0 || p.tgID == 0 {
			return true
		}
		got := fieldText(c, cfg.ContactTelegramIDField)
		return got == "" || got == tgText
	}
	type step struct {
		query string
		match func(*amocrm.Contact) bool
	}
	var steps []step
	if cfg.ContactTelegramIDField > 0 && p.tgID != 0 {
		steps = append(steps, step{tgText, func(c *amocrm.Contact) bool {
			return fieldText(c, cfg.ContactTelegramIDField) == tgText
		}})
	}
	if cfg.ContactUsernameField > 0 && p.username != "" {
		steps = append(steps, step{p.username, func(c *amocrm.Contact) bool {
			return normalizeUsername(fieldText(c, cfg.ContactUsernameField)) == p.username
		}})
	}
	if p.phone != "" {
		steps = append(steps, step{strings.TrimPrefix(p.phone, "+"), func(c *amocrm.Contact) bool { return hasPhone(c, p.phone) }})
	}
	for i, st := range steps {
		opts := &amocrm.ContactListOptions{Query: st.query, With: []string{amocrm.ContactWithLeads}}
		opts.Limit = amocrm.MaxLimit
		cs, _, err := cfg.Client.Contacts.List(ctx, opts)
		if err != nil {
			return nil, false, fmt.Errorf("amocrmsink: search contact: %w", err)
		}
		for _, c := range cs {
			if c.IsDeleted || !st.match(c) {
				continue
			}
			if i > 0 && !tgOK(c) { // a weak key of someone else
				conflict = true
				continue
			}
			return c, conflict, nil
		}
	}
	return nil, conflict, nil
}

// openLeadOf returns the contact's most recently updated open lead (not won,
// not lost), or nil.
func (j *job) openLeadOf(ctx context.Context, c *amocrm.Contact) (*amocrm.Lead, error) {
	if c.Embedded == nil || len(c.Embedded.Leads) == 0 {
		return nil, nil
	}
	ids := make([]int, 0, len(c.Embedded.Leads))
	for _, l := range c.Embedded.Leads {
		ids = append(ids, l.ID)
	}
	opts := &amocrm.LeadListOptions{Filter: &amocrm.LeadFilter{EntityFilter: amocrm.EntityFilter{IDs: ids}}}
	opts.Limit = amocrm.MaxLimit
	var best *amocrm.Lead
	for l, err := range j.s.cfg.Client.Leads.ListIter(ctx, opts) {
		if err != nil {
			return nil, fmt.Errorf("amocrmsink: read the contact's leads: %w", err)
		}
		if !leadOpen(l) || j.m.Time.Sub(l.UpdatedAt.Time()) >= j.s.cfg.ThreadWindow {
			continue
		}
		if best == nil || l.UpdatedAt > best.UpdatedAt {
			best = l
		}
	}
	return best, nil
}

func fieldText(c *amocrm.Contact, id int) string {
	if cv := c.CustomFieldsValues.ByID(id); cv != nil {
		return strings.TrimSpace(cv.First().Text())
	}
	return ""
}
