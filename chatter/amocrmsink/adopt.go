package amocrmsink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
)

// adoptClockSlack widens every created_at window the sink searches by, on
// both sides, when it cannot tell amoCRM's clock from its own: it covers a
// difference of up to this much between this host's clock (and the
// store's) and amoCRM's, and created_at's one-second resolution.
const adoptClockSlack = time.Minute

// measuredSlack replaces adoptClockSlack for a window in this host's clock
// when amoCRM's clock was measured within skewMaxAge (see clockSkew): it
// covers the one-second resolution of the Date header and of created_at
// (the measurement is within half a second of the true skew below it, and
// latency only ever makes amoCRM's clock look later).
const measuredSlack = 2 * time.Second

const skewMaxAge = time.Hour

// clockSkew is how far amoCRM's clock is ahead of this host's, measured from
// the Date header of successful answers.
type clockSkew struct {
	mu sync.Mutex
	d  time.Duration
	at time.Time // local time of the measurement; zero: none
}

// observe measures the skew from resp, received at local time now.
func (c *clockSkew) observe(resp *amocrm.Response, now time.Time) {
	if resp == nil || resp.Response == nil {
		return
	}
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Date is truncated to the second: amoCRM's time was in [date, date+1s).
	c.d, c.at = date.Add(500*time.Millisecond).Sub(now), now
}

// window converts [from, to] in this host's clock to amoCRM's, widened by
// the slack the measurement allows.
func (c *clockSkew) window(from, to, now time.Time) (time.Time, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || now.Sub(c.at) > skewMaxAge {
		return from.Add(-adoptClockSlack), to.Add(adoptClockSlack)
	}
	return from.Add(c.d - measuredSlack), to.Add(c.d + measuredSlack)
}

// adoptWideAfter is the age beyond which the created_at window of an
// adoption is considered wide: when the message reached the store (or, with
// no ledger entry, was sent) longer ago than this, the cheaper lookups run
// first (the linked contact's leads, then query=) and the created_at scan
// only when they find nothing.
const adoptWideAfter = time.Hour

// findEarlierLead returns the lead an earlier attempt created for this
// message (MarkerField = key), or nil when there is none. amoCRM's search
// (query=) is full-text search with no promise that a new lead is
// searchable at once, so the answer does not rest on it: the lead is looked
// for among the leads created since the message reached the store
// (filter[created_at], newest first), which every attempt, in any process,
// followed. When that window is wide, the linked contact's leads
// (with=leads) and query= are tried first, as they cost one or two requests
// whatever the window.
//
// When every earlier attempt is accounted for (see attemptLog), the window
// starts when the first of them that may have created the lead started.
func (j *job) findEarlierLead(ctx context.Context) (*amocrm.Lead, error) {
	if id := j.past.leadID; id != 0 && !j.past.leadUnknown && j.past.leadFrom.IsZero() {
		// An earlier attempt created or found it: read it by id.
		lead, err := j.readLead(ctx, id)
		if err != nil && !amocrm.IsNotFound(err) {
			return nil, fmt.Errorf("amocrmsink: read the lead of an earlier attempt: %w", err)
		}
		j.leadLooked = true
		if lead == nil || lead.ID == 0 || lead.IsDeleted || j.s.markerOf(lead) != j.marker {
			return nil, nil // deleted meanwhile
		}
		j.leadID = lead.ID
		return lead, nil
	}
	now := j.s.cfg.Now()
	from := j.past.leadFrom
	if j.past.leadUnknown {
		from = j.windowStart(ctx)
	}
	if j.past.leadUnknown && (now.Sub(from) > adoptWideAfter || from.After(now)) {
		lead, err := j.leadOfLinkedContact(ctx)
		if lead == nil && err == nil {
			lead, err = j.findLeadByQuery(ctx)
		}
		if err != nil {
			return nil, err
		}
		if lead != nil {
			j.leadID = lead.ID // should this attempt fail, the next reads it by id
			return lead, nil
		}
		// A message dated in the future: its attempts were made before now.
		from = minTime(from, now)
	}
	item := scanItem{marker: j.marker, exact: !j.past.leadUnknown}
	if item.exact {
		// From the start of an attempt of this process, by this host's clock.
		item.from, item.to = j.s.skew.window(from, now, now)
	} else {
		// From the store's ReceivedAt (the database's clock, for SQL
		// stores) or the message's time: the full slack.
		item.from, item.to = from.Add(-adoptClockSlack), now.Add(adoptClockSlack)
	}
	lead, err := j.s.scans.do(ctx, item)
	if err != nil {
		return nil, fmt.Errorf("amocrmsink: look for the lead of an earlier attempt: %w", err)
	}
	j.leadLooked = true
	if lead != nil {
		j.leadID = lead.ID
	}
	return lead, nil
}

// windowStart is the earliest time an attempt of this message can have
// started: when the store accepted it (the ledger's ReceivedAt), or, for a
// message the ledger does not hold, when it was sent.
func (j *job) windowStart(ctx context.Context) time.Time {
	if lg := j.s.ledger; lg != nil {
		en, err := lg.GetEntry(ctx, j.m.Workspace, j.m.Key)
		switch {
		case err == nil && !en.ReceivedAt.IsZero():
			return en.ReceivedAt
		case err != nil && !errors.Is(err, chatter.ErrNotFound):
			j.s.log.LogAttrs(ctx, slog.LevelWarn, "ledger entry not read; searching since the message time",
				slog.String(chatter.AttrMessageKey, j.marker), slog.Any("err", err))
		}
	}
	return j.m.Time
}

// leadOfLinkedContact looks for the marker among the leads of the contact
// the store links the person to: GET /contacts/{id}?with=leads, then those
// leads, newest first, 250 per request.
func (j *job) leadOfLinkedContact(ctx context.Context) (*amocrm.Lead, error) {
	p := j.person
	if !p.known() {
		return nil, nil
	}
	link, err := j.s.cfg.Contacts.FindContact(ctx, j.m.Workspace, chatter.ContactQuery{TelegramID: p.tgID, Username: p.username, Phone: p.phone})
	if errors.Is(err, chatter.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, chatter.WithClass(fmt.Errorf("amocrmsink: find contact link: %w", err), chatter.ClassInternal)
	}
	c, _, err := j.s.cfg.Client.Contacts.Get(ctx, int(link.ContactID), &amocrm.GetOptions{With: []string{amocrm.ContactWithLeads}})
	if err != nil {
		if amocrm.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("amocrmsink: read the linked contact's leads: %w", err)
	}
	if c == nil || c.Embedded == nil {
		return nil, nil
	}
	ids := make([]int, 0, len(c.Embedded.Leads))
	for _, l := range c.Embedded.Leads {
		ids = append(ids, l.ID)
	}
	slices.SortFunc(ids, func(a, b int) int { return b - a }) // newest first
	for chunk := range slices.Chunk(ids, amocrm.MaxLimit) {
		opts := &amocrm.LeadListOptions{With: []string{amocrm.LeadWithContacts},
			Filter: &amocrm.LeadFilter{EntityFilter: amocrm.EntityFilter{IDs: chunk}}}
		opts.Limit = amocrm.MaxLimit
		for lead, err := range j.s.cfg.Client.Leads.ListIter(ctx, opts) {
			if err != nil {
				return nil, fmt.Errorf("amocrmsink: read the linked contact's leads: %w", err)
			}
			if j.s.markerOf(lead) == j.marker {
				return lead, nil
			}
		}
	}
	return nil, nil
}

// findLeadByQuery asks amoCRM's full-text search for the marker. It finds
// only what the search index holds already.
func (j *job) findLeadByQuery(ctx context.Context) (*amocrm.Lead, error) {
	opts := &amocrm.LeadListOptions{Query: j.marker, With: []string{amocrm.LeadWithContacts}}
	opts.Limit = amocrm.MaxLimit
	for lead, err := range j.s.cfg.Client.Leads.ListIter(ctx, opts) {
		if err != nil {
			return nil, fmt.Errorf("amocrmsink: find lead by marker: %w", err)
		}
		if j.s.markerOf(lead) == j.marker {
			return lead, nil
		}
	}
	return nil, nil
}

// markerOf returns the message key in the lead's MarkerField, or "".
func (s *Sink) markerOf(l *amocrm.Lead) string {
	if cv := l.CustomFieldsValues.ByID(s.cfg.MarkerField); cv != nil {
		return cv.First().Text()
	}
	return ""
}

// scanItem asks for the lead whose MarkerField holds marker among the leads
// created within [from, to]. exact says that the lead, if it exists, was
// created just after from (the window starts with the attempt that may have
// created it), so the listing goes oldest first; otherwise (the attempt is
// not known) newest first, as a retry usually follows its attempt closely.
type scanItem struct {
	marker   string
	from, to time.Time
	exact    bool
}

// scanLeads answers scan items with one listing of the leads created within
// the union of their windows (GET /leads?filter[created_at]…&order[id]=…,
// 250 per page), stopping when every marker is found. It lists oldest first
// when every item's window is exact (see scanItem), else newest first. A
// lead not found is nil; a failure is every item's.
func (s *Sink) scanLeads(ctx context.Context, items []scanItem) ([]*amocrm.Lead, []error) {
	rs := make([]*amocrm.Lead, len(items))
	errs := make([]error, len(items))
	from, to := items[0].from, items[0].to
	exact := true
	want := make(map[string][]int, len(items))
	for i, it := range items {
		from, to = minTime(from, it.from), maxTime(to, it.to)
		exact = exact && it.exact
		want[it.marker] = append(want[it.marker], i)
	}
	opts := &amocrm.LeadListOptions{
		With:   []string{amocrm.LeadWithContacts},
		Filter: &amocrm.LeadFilter{EntityFilter: amocrm.EntityFilter{CreatedAt: &amocrm.TimeRange{From: from, To: to}}},
		Order:  &amocrm.Order{Field: "id", Desc: !exact},
	}
	opts.Limit = amocrm.MaxLimit
	for l, err := range s.cfg.Client.Leads.ListIter(ctx, opts) {
		if err != nil {
			for i := range errs {
				errs[i] = err
			}
			return rs, errs
		}
		k := s.markerOf(l)
		idx, ok := want[k]
		if !ok {
			continue
		}
		for _, i := range idx {
			rs[i] = l
		}
		delete(want, k)
		if len(want) == 0 {
			break
		}
	}
	return rs, errs
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// unsettledPeople remembers, per person (lease name), the writes that may
// have created a contact the store does not know: lead creations with a new
// contact and contact creations that ended ambiguously in this process.
// Until a contact link is saved for the person, their next delivery looks
// for those writes (settle) before it creates a contact. It lives in memory:
// it does not survive a restart and is not shared between instances.
type unsettledPeople struct {
	mu sync.Mutex
	m  map[string]map[unsettledKey]time.Time // lease name → write → when its attempt started
}

type unsettledKey struct {
	marker  string // the message key
	contact bool   // a contact created alone (else a lead with a new contact)
}

// unsettledMaxAge bounds how long an unsettled write is remembered.
const unsettledMaxAge = 24 * time.Hour

func (u *unsettledPeople) add(name string, k unsettledKey, at time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = map[string]map[unsettledKey]time.Time{}
	}
	for n, ws := range u.m { // forget what is too old to matter
		for wk, t := range ws {
			if at.Sub(t) > unsettledMaxAge {
				delete(ws, wk)
			}
		}
		if len(ws) == 0 {
			delete(u.m, n)
		}
	}
	ws := u.m[name]
	if ws == nil {
		ws = map[unsettledKey]time.Time{}
		u.m[name] = ws
	}
	if t, ok := ws[k]; !ok || at.Before(t) {
		ws[k] = at
	}
}

// of returns the person's unsettled writes.
func (u *unsettledPeople) of(name string) map[unsettledKey]time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.m[name]) == 0 {
		return nil
	}
	out := make(map[unsettledKey]time.Time, len(u.m[name]))
	for k, t := range u.m[name] {
		out[k] = t
	}
	return out
}

func (u *unsettledPeople) forget(name string, ks ...unsettledKey) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, k := range ks {
		delete(u.m[name], k)
	}
	if len(u.m[name]) == 0 {
		delete(u.m, name)
	}
}

func (u *unsettledPeople) clear(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.m, name)
}

// settle looks for the contact an ambiguous write of this person may have
// created (see unsettledPeople): the lead of each such lead creation among
// the leads created since its attempt started, and a contact created alone
// among the contacts created since, matched by the Telegram id (or username,
// or phone). It returns the link to save, or nil when those writes created
// nothing.
func (j *job) settle(ctx context.Context) (*chatter.ContactLink, error) {
	name := j.person.leaseName()
	writes := j.s.unsettled.of(name)
	if len(writes) == 0 {
		return nil, nil
	}
	now := j.s.cfg.Now()
	var best *amocrm.Lead
	var contactID int64
	for k, at := range writes {
		if k.contact {
			from, to := j.s.skew.window(at, now, now)
			c, err := j.scanContacts(ctx, from, to)
			if err != nil {
				return nil, err
			}
			if c != nil && contactID == 0 {
				contactID = int64(c.ID)
			}
			continue
		}
		item := scanItem{marker: k.marker, exact: true}
		item.from, item.to = j.s.skew.window(at, now, now)
		lead, err := j.s.scans.do(ctx, item)
		if err != nil {
			return nil, fmt.Errorf("amocrmsink: look for the contact of an earlier ambiguous attempt: %w", err)
		}
		if lead != nil {
			j.s.attempts.learnLead(k.marker, lead.ID)
		}
		if lead != nil && mainContact(lead) != 0 && (best == nil || lead.ID > best.ID) {
			best = lead
		}
	}
	j.s.unsettled.forget(name, slices.Collect(maps.Keys(writes))...)
	if best != nil {
		link := &chatter.ContactLink{ContactID: mainContact(best)}
		if leadOpen(best) {
			link.LeadID, link.LeadAt = int64(best.ID), best.UpdatedAt.Time()
		}
		j.s.log.LogAttrs(ctx, slog.LevelInfo, "amocrm contact of an earlier ambiguous attempt found",
			slog.String(chatter.AttrMessageKey, j.marker), slog.Int64("contact_id", link.ContactID), slog.Int("lead_id", best.ID))
		return link, nil
	}
	if contactID != 0 {
		j.s.log.LogAttrs(ctx, slog.LevelInfo, "amocrm contact of an earlier ambiguous attempt found",
			slog.String(chatter.AttrMessageKey, j.marker), slog.Int64("contact_id", contactID))
		return &chatter.ContactLink{ContactID: contactID}, nil
	}
	return nil, nil
}

// scanContacts looks for the person's contact among the contacts created
// within [from, to], newest first, by the Telegram id field, else the
// username field, else the phone.
func (j *job) scanContacts(ctx context.Context, from, to time.Time) (*amocrm.Contact, error) {
	cfg, p := j.s.cfg, j.person
	var match func(*amocrm.Contact) bool
	switch {
	case cfg.ContactTelegramIDField > 0 && p.tgID != 0:
		tg := strconv.FormatInt(p.tgID, 10)
		match = func(c *amocrm.Contact) bool { return fieldText(c, cfg.ContactTelegramIDField) == tg }
	case cfg.ContactUsernameField > 0 && p.username != "":
		match = func(c *amocrm.Contact) bool {
			return normalizeUsername(fieldText(c, cfg.ContactUsernameField)) == p.username
		}
	case p.phone != "":
		match = func(c *amocrm.Contact) bool { return hasPhone(c, p.phone) }
	default:
		return nil, nil
	}
	opts := &amocrm.ContactListOptions{
		Filter: &amocrm.EntityFilter{CreatedAt: &amocrm.TimeRange{From: from, To: to}},
		Order:  &amocrm.Order{Field: "id", Desc: true},
	}
	opts.Limit = amocrm.MaxLimit
	for c, err := range cfg.Client.Contacts.ListIter(ctx, opts) {
		if err != nil {
			return nil, fmt.Errorf("amocrmsink: look for the contact of an earlier ambiguous attempt: %w", err)
		}
		if !c.IsDeleted && match(c) {
			return c, nil
		}
	}
	return nil, nil
}

// mainContact returns the id of the lead's main contact (the first one
// when none is marked main), or 0.
func mainContact(l *amocrm.Lead) int64 {
	if l.Embedded == nil {
		return 0
	}
	var id int64
	for _, c := range l.Embedded.Contacts {
		if id == 0 || c.IsMain {
			id = int64(c.ID)
		}
	}
	return id
}
