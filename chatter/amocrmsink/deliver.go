package amocrmsink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/fieldmap"
)

// job is one delivery attempt of one message.
type job struct {
	s      *Sink
	m      *chatter.Message
	mapped *fieldmap.Result
	person person
	marker string // the message key
	past   past   // what earlier attempts may have written (see attemptLog)

	// What this attempt learnt and did, for the attemptLog when it fails.
	leadLooked   bool      // the lookup for an earlier attempt's lead completed
	leadID       int       // the lead of this message this attempt found or created
	notesChecked bool      // the lead's notes were searched for the marker
	wroteLead    time.Time // start of a lead creation that may have been applied
	wroteNote    bool      // a note write may have been applied
}

// pastAfter is what the next attempt may assume, this one having failed.
func (j *job) pastAfter() past {
	p := j.past
	if j.leadLooked {
		p.leadUnknown, p.leadFrom, p.leadID = false, time.Time{}, 0
	}
	if j.leadID != 0 {
		p.leadUnknown, p.leadFrom, p.leadID = false, time.Time{}, j.leadID
	}
	if !j.wroteLead.IsZero() && (p.leadFrom.IsZero() || j.wroteLead.Before(p.leadFrom)) {
		p.leadFrom = j.wroteLead
	}
	if j.notesChecked {
		p.noteUnknown, p.note = false, false
	}
	p.note = p.note || j.wroteNote
	return p
}

// run delivers the message; it runs under the person's lease.
func (j *job) run(ctx context.Context) (*chatter.DeliveryResult, error) {
	if j.past.needLeadLookup() {
		res, found, err := j.adoptLead(ctx)
		if err != nil || found {
			return res, err
		}
	}
	link, conflict, err := j.resolveContact(ctx)
	if err != nil {
		return nil, err
	}
	if link != nil && link.LeadID != 0 && j.withinWindow(link) {
		res, threaded, err := j.thread(ctx, link)
		if err != nil || threaded {
			return res, err
		}
	}
	return j.createLead(ctx, link, conflict)
}

func (j *job) withinWindow(l *chatter.ContactLink) bool {
	return l.LeadAt.IsZero() || j.m.Time.Sub(l.LeadAt) < j.s.cfg.ThreadWindow
}

// adoptLead looks for a lead an earlier attempt created for this message
// (MarkerField = key; see findEarlierLead). When found it makes sure the
// note exists too.
func (j *job) adoptLead(ctx context.Context) (*chatter.DeliveryResult, bool, error) {
	lead, err := j.findEarlierLead(ctx)
	if err != nil {
		return nil, false, err
	}
	if lead == nil {
		// Whatever an ambiguous lead creation of this message did, it made
		// no lead, so no contact either.
		if name := j.person.leaseName(); name != "" {
			j.s.unsettled.forget(name, unsettledKey{marker: j.marker})
		}
		return nil, false, nil
	}
	res := &chatter.DeliveryResult{LeadID: int64(lead.ID), ContactID: mainContact(lead), Adopted: true}
	if lead.Embedded != nil && len(lead.Embedded.Companies) > 0 {
		res.CompanyID = int64(lead.Embedded.Companies[0].ID)
	}
	noteID, err := j.ensureNote(ctx, lead.ID, j.past.needNoteCheck())
	if err != nil {
		return nil, true, err
	}
	res.NoteID = noteID
	if res.ContactID != 0 {
		j.saveLink(ctx, &chatter.ContactLink{ContactID: res.ContactID, LeadID: res.LeadID, LeadAt: j.m.Time})
	}
	j.s.log.LogAttrs(ctx, slog.LevelInfo, "amocrm lead of an earlier attempt adopted",
		slog.String(chatter.AttrMessageKey, j.marker), slog.Int64("lead_id", res.LeadID))
	return res, true, nil
}

// ensureNote adds the message's note to lead unless check finds it there
// already (written by an earlier attempt). It returns the note id.
func (j *job) ensureNote(ctx context.Context, leadID int, check bool) (int64, error) {
	if check {
		opts := &amocrm.NoteListOptions{EntityIDs: []int{leadID}}
		opts.Limit = amocrm.MaxLimit
		for n, err := range j.s.cfg.Client.Notes.ListIter(ctx, amocrm.EntityLeads, opts) {
			if err != nil {
				return 0, fmt.Errorf("amocrmsink: look for the note of an earlier attempt: %w", err)
			}
			if n.EntityID == leadID && HasNoteMarker(n.Params.Text, j.marker) {
				return int64(n.ID), nil
			}
		}
		j.notesChecked = true
	}
	out, err := j.s.notes.do(ctx, j.note(leadID))
	if err != nil {
		j.wroteNote = j.wroteNote || mayHaveApplied(err)
		return 0, fmt.Errorf("amocrmsink: add note to lead %d: %w", leadID, err)
	}
	if out == nil {
		return 0, nil
	}
	return int64(out.ID), nil
}

// note builds the note of the message: the mapping's note, or the message
// text with its sender, chat and link; always ending with the marker line.
func (j *job) note(leadID int) *amocrm.Note {
	n := &amocrm.Note{EntityID: leadID, NoteType: amocrm.NoteCommon}
	var text string
	if mn := j.mapped.Note; mn != nil {
		n.NoteType = cmpNoteType(mn.NoteType)
		n.Params = mn.Params
		text = mn.Params.Text
	}
	if strings.TrimSpace(text) == "" {
		text = DefaultNoteText(j.m)
	}
	n.Params.Text = strings.TrimRight(text, "\n") + "\n\n" + noteMarker(j.marker)
	n.EntityID = leadID
	return n
}

func cmpNoteType(t amocrm.NoteType) amocrm.NoteType {
	if t == "" {
		return amocrm.NoteCommon
	}
	return t
}

// DefaultNoteText is the note written when the mapping has none: the
// message text, then who wrote it, in which chat, and the link.
func DefaultNoteText(m *chatter.Message) string {
	var b strings.Builder
	b.WriteString(m.Text)
	if len(m.Attachments) > 0 {
		fmt.Fprintf(&b, "\n[вложений: %d]", len(m.Attachments))
	}
	b.WriteString("\n\nОт: ")
	name := m.Sender.Name()
	if name == "" {
		name = "неизвестный отправитель"
	}
	b.WriteString(name)
	var ids []string
	if m.Sender.Username != "" && !strings.HasPrefix(name, "@") {
		ids = append(ids, "@"+m.Sender.Username)
	}
	if m.Sender.ID != 0 {
		ids = append(ids, "id "+strconv.FormatInt(m.Sender.ID, 10))
	}
	if m.Sender.Phone != "" {
		ids = append(ids, m.Sender.Phone)
	}
	if len(ids) > 0 {
		b.WriteString(" (" + strings.Join(ids, ", ") + ")")
	}
	chat := m.Chat.Title
	if chat == "" && m.Chat.Username != "" {
		chat = "@" + m.Chat.Username
	}
	if chat == "" {
		chat = strconv.FormatInt(m.Key.ChatID, 10)
	}
	b.WriteString("\nЧат: " + chat)
	if m.Link != "" {
		b.WriteString("\nСсылка: " + m.Link)
	}
	b.WriteString("\nВремя: " + m.Time.UTC().Format("02.01.2006 15:04 UTC"))
	return b.String()
}

// thread adds the message as a note to the person's open lead. It reports
// threaded=false when the lead is closed (won or lost), deleted or gone.
func (j *job) thread(ctx context.Context, link *chatter.ContactLink) (*chatter.DeliveryResult, bool, error) {
	lead, err := j.readLead(ctx, int(link.LeadID))
	if err != nil {
		if amocrm.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("amocrmsink: read open lead %d: %w", link.LeadID, err)
	}
	if lead == nil || lead.ID == 0 || !leadOpen(lead) {
		return nil, false, nil
	}
	if err := j.addTags(ctx, lead); err != nil {
		return nil, false, err
	}
	noteID, err := j.ensureNote(ctx, lead.ID, j.past.needNoteCheck())
	if err != nil {
		return nil, false, err
	}
	l := *link
	if j.m.Time.After(l.LeadAt) {
		l.LeadAt = j.m.Time
	}
	j.saveLink(ctx, &l)
	return &chatter.DeliveryResult{LeadID: int64(lead.ID), ContactID: link.ContactID, NoteID: noteID, Threaded: true}, true, nil
}

// readLead reads the lead with its contacts: alone (GET /leads/{id}), or,
// with batching on, in one GET /leads?filter[id][]=… with the concurrent
// deliveries' leads (a lead not listed is nil).
func (j *job) readLead(ctx context.Context, id int) (*amocrm.Lead, error) {
	if j.s.cfg.BatchSize <= 1 {
		lead, resp, err := j.s.cfg.Client.Leads.Get(ctx, id, &amocrm.GetOptions{With: []string{amocrm.LeadWithContacts}})
		if err == nil {
			j.s.skew.observe(resp, j.s.cfg.Now())
		}
		return lead, err
	}
	return j.s.reads.do(ctx, id)
}

func leadOpen(l *amocrm.Lead) bool {
	return !l.IsDeleted && l.StatusID != amocrm.StatusWon && l.StatusID != amocrm.StatusLost
}

// createLead creates the lead with the person's contact (an existing one by
// id, or a new one) through /leads/complex, then the note; both share their
// request with concurrent deliveries when Config.BatchSize > 1.
func (j *job) createLead(ctx context.Context, link *chatter.ContactLink, conflict bool) (*chatter.DeliveryResult, error) {
	item := j.mapped.Lead // a copy of the struct; pointers are re-made below
	lead := *item.Lead
	lead.CustomFieldsValues = append(withoutField(lead.CustomFieldsValues, j.s.cfg.MarkerField),
		amocrm.SetField(j.s.cfg.MarkerField, amocrm.TextValue(j.marker)))
	item.Lead = &lead

	var contactID int64
	switch {
	case link != nil:
		contactID = link.ContactID
	case j.person.known() && conflict:
		// A contact with the same username or phone belongs to someone
		// else (its Telegram id differs). /leads/complex would merge by
		// phone under duplicate control, so the contact is created alone.
		started := j.s.cfg.Now()
		c, _, err := j.s.cfg.Client.Contacts.Create(ctx, []*amocrm.Contact{j.newContact()})
		if err != nil {
			if mayHaveApplied(err) {
				j.unsettledFrom(unsettledKey{marker: j.marker, contact: true}, started)
			}
			return nil, fmt.Errorf("amocrmsink: create contact: %w", err)
		}
		if len(c) == 0 || c[0].ID == 0 {
			return nil, fmt.Errorf("amocrmsink: create contact: amoCRM returned no id")
		}
		contactID = int64(c[0].ID)
		j.saveLink(ctx, &chatter.ContactLink{ContactID: contactID})
	}
	switch {
	case contactID != 0:
		item.Contact = &amocrm.Contact{ID: int(contactID)}
	case j.person.known() || item.Contact != nil:
		item.Contact = j.newContact()
	}
	started := j.s.cfg.Now()
	r, err := j.s.leads.do(ctx, &item)
	if err != nil {
		if mayHaveApplied(err) {
			if j.wroteLead.IsZero() {
				j.wroteLead = started
			}
			if item.Contact != nil && item.Contact.ID == 0 {
				// The lead's new contact may exist now, unknown to the store.
				j.unsettledFrom(unsettledKey{marker: j.marker}, started)
			}
		}
		return nil, fmt.Errorf("amocrmsink: create lead: %w", err)
	}
	j.leadID = r.ID // should the note fail, the next attempt adopts it
	res := &chatter.DeliveryResult{LeadID: int64(r.ID), ContactID: int64(r.ContactID), CompanyID: int64(r.CompanyID)}
	if r.Merged {
		res.Extra = map[string]string{"merged": "true"}
	}
	if res.ContactID != 0 {
		j.saveLink(ctx, &chatter.ContactLink{ContactID: res.ContactID, LeadID: res.LeadID, LeadAt: j.m.Time})
	}
	noteID, err := j.ensureNote(ctx, r.ID, false)
	if err != nil {
		return nil, err
	}
	res.NoteID = noteID
	return res, nil
}

// unsettledFrom remembers a failed write, started at started, that may have
// created a contact the store does not know, so that the person's next
// delivery looks for it (settle) before creating another.
func (j *job) unsettledFrom(k unsettledKey, started time.Time) {
	if name := j.person.leaseName(); name != "" {
		j.s.unsettled.add(name, k, started)
	}
}

// newContact is the contact to create: the mapping's, or one named after
// the sender, with the Telegram id and username fields filled.
func (j *job) newContact() *amocrm.Contact {
	var c amocrm.Contact
	if mc := j.mapped.Lead.Contact; mc != nil {
		c = *mc
		c.CustomFieldsValues = append(amocrm.CustomFieldsValues(nil), mc.CustomFieldsValues...)
	}
	if c.Name == "" && c.FirstName == "" && c.LastName == "" {
		c.Name = j.person.name
		if c.Name == "" {
			c.Name = "Telegram " + strconv.FormatInt(j.person.tgID, 10)
		}
	}
	if f := j.s.cfg.ContactTelegramIDField; f > 0 && j.person.tgID != 0 && c.CustomFieldsValues.ByID(f) == nil {
		c.CustomFieldsValues = append(c.CustomFieldsValues, amocrm.SetField(f, amocrm.TextValue(strconv.FormatInt(j.person.tgID, 10))))
	}
	if f := j.s.cfg.ContactUsernameField; f > 0 && j.person.username != "" && c.CustomFieldsValues.ByID(f) == nil {
		c.CustomFieldsValues = append(c.CustomFieldsValues, amocrm.SetField(f, amocrm.TextValue(j.person.username)))
	}
	if j.person.phone != "" && c.CustomFieldsValues.ByCode(amocrm.FieldCodePhone) == nil {
		c.CustomFieldsValues = append(c.CustomFieldsValues, amocrm.SetFieldCode(amocrm.FieldCodePhone, amocrm.MultitextValue(j.person.phone, amocrm.EnumCodeMobile)))
	}
	return &c
}

func withoutField(vs amocrm.CustomFieldsValues, id int) amocrm.CustomFieldsValues {
	out := make(amocrm.CustomFieldsValues, 0, len(vs)+1)
	for _, v := range vs {
		if v.FieldID != id {
			out = append(out, v)
		}
	}
	return out
}

// saveLink stores l completed with the person's keys. A failure is logged,
// not returned: the link is a cache of what amoCRM holds, and the marker
// keeps a retried delivery from duplicating.
func (j *job) saveLink(ctx context.Context, l *chatter.ContactLink) {
	l.Workspace = j.m.Workspace
	l.TelegramID, l.Username, l.Phone = j.person.tgID, j.person.username, j.person.phone
	err := j.s.cfg.Contacts.SaveContact(ctx, l)
	if errors.Is(err, chatter.ErrConflict) && l.TelegramID != 0 {
		// Another contact holds this Telegram id (amoCRM merged or an
		// operator re-linked): keep the link by the weak keys only.
		l.TelegramID = 0
		err = j.s.cfg.Contacts.SaveContact(ctx, l)
	}
	if err == nil && l.ContactID != 0 {
		if name := j.person.leaseName(); name != "" {
			j.s.unsettled.clear(name)
		}
	}
	if err != nil {
		j.s.log.LogAttrs(ctx, slog.LevelWarn, "contact link not saved",
			slog.String(chatter.AttrMessageKey, j.marker), slog.Int64("contact_id", l.ContactID), slog.Any("err", err))
	}
}
