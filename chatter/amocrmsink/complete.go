package amocrmsink

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/fieldmap"
)

// contactValues are the phones and e-mails a message gives for its sender:
// the mapping's contact PHONE and EMAIL values (as the mapping writes them),
// and the sender's shared phone.
type contactValues struct {
	phones, emails []amocrm.FieldValue
}

func (j *job) contactValues() contactValues {
	var out contactValues
	if c := j.mapped.Lead.Contact; c != nil {
		if cv := c.CustomFieldsValues.ByCode(amocrm.FieldCodePhone); cv != nil {
			for _, v := range cv.Values {
				if ph, ok := fieldmap.NormalizePhone(v.Text()); ok && !slices.ContainsFunc(out.phones, sameText(ph)) {
					v.Value = ph
					out.phones = append(out.phones, v)
				}
			}
		}
		if cv := c.CustomFieldsValues.ByCode(amocrm.FieldCodeEmail); cv != nil {
			for _, v := range cv.Values {
				if e := normalizeEmail(v.Text()); e != "" && !slices.ContainsFunc(out.emails, sameText(e)) {
					v.Value = e
					out.emails = append(out.emails, v)
				}
			}
		}
	}
	if ph := j.person.phone; ph != "" && !slices.ContainsFunc(out.phones, sameText(ph)) {
		out.phones = append(out.phones, amocrm.MultitextValue(ph, amocrm.EnumCodeMobile))
	}
	return out
}

func sameText(s string) func(amocrm.FieldValue) bool {
	return func(v amocrm.FieldValue) bool { return v.Text() == s }
}

func normalizeEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if !strings.Contains(s, "@") {
		return ""
	}
	return s
}

// completeLinked writes the message's phone and e-mail into the person's
// existing contact when the contact has none (see completeContact). It reads
// the contact only when the message carries a value not known to be settled
// for it: a phone other than the link's, or a value this Sink has not
// checked on the contact before. Best effort: a failure is logged.
func (j *job) completeLinked(ctx context.Context, link *chatter.ContactLink) {
	vals := j.contactValues()
	if link == nil || link.ContactID == 0 {
		return
	}
	pending := false
	for _, v := range vals.phones {
		if v.Text() != link.Phone && !j.s.checked.has(link.ContactID, amocrm.FieldCodePhone, v.Text()) {
			pending = true
		}
	}
	for _, v := range vals.emails {
		if !j.s.checked.has(link.ContactID, amocrm.FieldCodeEmail, v.Text()) {
			pending = true
		}
	}
	if !pending {
		return
	}
	c, err := j.readContact(ctx, int(link.ContactID))
	if err != nil {
		j.s.log.LogAttrs(ctx, slog.LevelWarn, "contact not read to complete it with the message's phone or e-mail",
			slog.String(chatter.AttrMessageKey, j.marker), slog.Int64("contact_id", link.ContactID), slog.Any("err", err))
		return
	}
	if c == nil || c.ID == 0 {
		return
	}
	j.completeContact(ctx, c)
}

// readContact reads a contact: alone (GET /contacts/{id}), or, with
// batching on, in one GET /contacts?filter[id][]=… with the concurrent
// deliveries' contacts. A contact amoCRM does not return is nil.
func (j *job) readContact(ctx context.Context, id int) (*amocrm.Contact, error) {
	if j.s.cfg.BatchSize <= 1 {
		c, _, err := j.s.cfg.Client.Contacts.Get(ctx, id, nil)
		if amocrm.IsNotFound(err) {
			return nil, nil
		}
		return c, err
	}
	return j.s.contactReads.do(ctx, id)
}

// readContacts reads contacts by id in one GET /contacts?filter[id][]=…
// request; a failure is every item's.
func (s *Sink) readContacts(ctx context.Context, ids []int) ([]*amocrm.Contact, []error) {
	rs := make([]*amocrm.Contact, len(ids))
	errs := make([]error, len(ids))
	uniq := slices.Compact(slices.Sorted(slices.Values(ids)))
	opts := &amocrm.ContactListOptions{Filter: &amocrm.EntityFilter{IDs: uniq}}
	opts.Limit = amocrm.MaxLimit
	byID := make(map[int]*amocrm.Contact, len(uniq))
	for c, err := range s.cfg.Client.Contacts.ListIter(ctx, opts) {
		if err != nil {
			for i := range errs {
				errs[i] = err
			}
			return rs, errs
		}
		byID[c.ID] = c
	}
	for i, id := range ids {
		rs[i] = byID[id]
	}
	return rs, errs
}

// completeContact fills what the contact c (as read from amoCRM) lacks from
// the message: the Telegram id and username fields when empty, and the
// PHONE and EMAIL fields when the contact has no value in them at all. A
// field that holds anything (a manager's entry, an older number) is never
// changed, nor is a value appended to it: a phone that differs from the
// contact's is left in the message's note and logged. One PATCH, only when
// something is missing; best effort (a failure is logged).
func (j *job) completeContact(ctx context.Context, c *amocrm.Contact) {
	cfg, p := j.s.cfg, j.person
	vals := j.contactValues()
	upd := &amocrm.Contact{ID: c.ID}
	if cfg.ContactTelegramIDField > 0 && p.tgID != 0 && fieldText(c, cfg.ContactTelegramIDField) == "" {
		upd.CustomFieldsValues = append(upd.CustomFieldsValues, amocrm.SetField(cfg.ContactTelegramIDField, amocrm.TextValue(strconv.FormatInt(p.tgID, 10))))
	}
	if cfg.ContactUsernameField > 0 && p.username != "" && fieldText(c, cfg.ContactUsernameField) == "" {
		upd.CustomFieldsValues = append(upd.CustomFieldsValues, amocrm.SetField(cfg.ContactUsernameField, amocrm.TextValue(p.username)))
	}
	var added, kept []string // field codes, for the log
	for _, f := range []struct {
		code string
		vals []amocrm.FieldValue
		has  []string
	}{
		{amocrm.FieldCodePhone, vals.phones, c.Phones()},
		{amocrm.FieldCodeEmail, vals.emails, c.Emails()},
	} {
		if len(f.vals) == 0 {
			continue
		}
		if len(f.has) == 0 {
			upd.CustomFieldsValues = append(upd.CustomFieldsValues, amocrm.SetFieldCode(f.code, f.vals...))
			added = append(added, f.code)
			continue
		}
		for _, v := range f.vals {
			if !containsValue(f.code, f.has, v.Text()) {
				kept = append(kept, f.code)
				break
			}
		}
	}
	if len(kept) > 0 {
		j.s.log.LogAttrs(ctx, slog.LevelInfo, "the message's phone or e-mail differs from the contact's; the contact is left as is",
			slog.String(chatter.AttrMessageKey, j.marker), slog.Int("contact_id", c.ID), slog.Any("fields", kept))
	}
	if len(upd.CustomFieldsValues) > 0 {
		if _, _, err := cfg.Client.Contacts.UpdateOne(ctx, upd); err != nil {
			j.s.log.LogAttrs(ctx, slog.LevelWarn, "contact not completed with the message's data",
				slog.String(chatter.AttrMessageKey, j.marker), slog.Int("contact_id", c.ID), slog.Any("err", err))
			return
		}
		if len(added) > 0 {
			j.s.log.LogAttrs(ctx, slog.LevelInfo, "contact completed with the message's phone or e-mail",
				slog.String(chatter.AttrMessageKey, j.marker), slog.Int("contact_id", c.ID), slog.Any("fields", added))
		}
	}
	for _, v := range vals.phones {
		j.s.checked.add(int64(c.ID), amocrm.FieldCodePhone, v.Text())
	}
	for _, v := range vals.emails {
		j.s.checked.add(int64(c.ID), amocrm.FieldCodeEmail, v.Text())
	}
}

// containsValue reports whether have holds v: phones compared in E.164,
// e-mails case-insensitively.
func containsValue(code string, have []string, v string) bool {
	return slices.ContainsFunc(have, func(h string) bool {
		if code == amocrm.FieldCodePhone {
			n, ok := fieldmap.NormalizePhone(h)
			return ok && n == v
		}
		return normalizeEmail(h) == v
	})
}

func hasPhone(c *amocrm.Contact, phone string) bool {
	return containsValue(amocrm.FieldCodePhone, c.Phones(), phone)
}

// checkedValues remembers which phones and e-mails this Sink has already
// settled on which contact (written, found there, or left as is), so a
// person repeating their e-mail does not cost a contact read per message.
// It is bounded: when full it starts over.
type checkedValues struct {
	mu sync.Mutex
	m  map[string]struct{}
}

const maxCheckedValues = 1 << 14

func checkedKey(contactID int64, code, v string) string {
	return strconv.FormatInt(contactID, 10) + "\x00" + code + "\x00" + v
}

func (c *checkedValues) has(contactID int64, code, v string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[checkedKey(contactID, code, v)]
	return ok
}

func (c *checkedValues) add(contactID int64, code, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCheckedValues {
		c.m = map[string]struct{}{}
	}
	c.m[checkedKey(contactID, code, v)] = struct{}{}
}

// addTags adds the mapping's lead tags that lead (as read) lacks, with
// tags_to_add: the tags a manager set stay. Nothing is sent when the lead has
// them all. A transient failure fails the delivery (it is retried; adding a
// tag twice changes nothing); an answer saying the change cannot be made
// (validation, rights) is logged and the message is still delivered.
func (j *job) addTags(ctx context.Context, lead *amocrm.Lead) error {
	var missing []amocrm.Tag
	for _, t := range j.mapped.Lead.Tags {
		name := strings.TrimSpace(t.Name)
		if name == "" && t.ID == 0 {
			continue
		}
		if lead.Embedded != nil && slices.ContainsFunc(lead.Embedded.Tags, func(h amocrm.Tag) bool {
			return (t.ID != 0 && h.ID == t.ID) || (name != "" && strings.EqualFold(strings.TrimSpace(h.Name), name))
		}) {
			continue
		}
		missing = append(missing, t)
	}
	if len(missing) == 0 {
		return nil
	}
	_, err := j.s.tagPatches.do(ctx, &amocrm.Lead{ID: lead.ID, TagsToAdd: missing})
	if err == nil {
		return nil
	}
	switch chatter.ClassOf(Classify(err)) {
	case chatter.ClassMapping, chatter.ClassPermanent, chatter.ClassRights:
		j.s.log.LogAttrs(ctx, slog.LevelWarn, "the mapping's tags not added to the open lead",
			slog.String(chatter.AttrMessageKey, j.marker), slog.Int("lead_id", lead.ID), slog.Any("err", err))
		return nil
	}
	return fmt.Errorf("amocrmsink: add tags to lead %d: %w", lead.ID, err)
}

// patchLeads sends tag changes in one PATCH /leads (at most amocrm.MaxBatch),
// changes of one lead merged, with the failure handling of sendLeads.
func (s *Sink) patchLeads(ctx context.Context, items []*amocrm.Lead) ([]*amocrm.Lead, []error) {
	rs := make([]*amocrm.Lead, len(items))
	errs := make([]error, len(items))
	var wire []*amocrm.Lead
	at := map[int]int{} // lead id → index in wire
	for _, it := range items {
		i, ok := at[it.ID]
		if !ok {
			at[it.ID] = len(wire)
			wire = append(wire, &amocrm.Lead{ID: it.ID})
			i = len(wire) - 1
		}
		for _, t := range it.TagsToAdd {
			if !slices.Contains(wire[i].TagsToAdd, t) {
				wire[i].TagsToAdd = append(wire[i].TagsToAdd, t)
			}
		}
	}
	for i, l := range wire {
		l.RequestID = strconv.Itoa(i)
	}
	_, _, err := s.cfg.Client.Leads.Update(ctx, wire)
	if err == nil {
		copy(rs, items)
		return rs, errs
	}
	if len(wire) != len(items) {
		// Merged changes cannot be told apart by request_id: every item
		// shares the failure.
		for i := range errs {
			errs[i] = err
		}
		return rs, errs
	}
	s.splitRetry(ctx, len(items), err, errs, func(idx []int) {
		sub := make([]*amocrm.Lead, len(idx))
		for k, i := range idx {
			sub[k] = items[i]
		}
		srs, serrs := s.patchLeads(ctx, sub)
		for k, i := range idx {
			rs[i], errs[i] = srs[k], serrs[k]
		}
	})
	return rs, errs
}
