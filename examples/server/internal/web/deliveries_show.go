package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// The event log lines a message's page looks through for its key.
const (
	entryEventsScan = 5000  // lines read at most, from the message's arrival on
	entryEventsMax  = 200   // lines shown at most
	entryRawCut     = 16000 // characters of the raw payload shown
)

// entryData is the page of one message: "почему не в CRM?".
type entryData struct {
	Row        *ledgerRow
	Entry      *chatter.LedgerEntry
	Text       string // the full text
	Raw        string // the source's payload (a rejected message's, else the message's)
	Steps      []entryStep
	Events     []eventRow
	EventsMore bool   // more lines than were looked through or shown
	Back       string // the ledger of the workspace
}

// entryStep is a step of a message's path with what it means.
type entryStep struct {
	Kind  string // ok, info, warn, error
	Title string
	Lines []string
}

// deliveriesShow explains one message: accepted or filtered (the rule and
// the verdict's reason), rejected (why), waiting, delivered (lead created
// or a note on an open lead, adopted), failed or dead (after which error,
// its cause and remedy, the retry budget), and the event log lines with
// its key: the message's path.
func (s *server) deliveriesShow(w http.ResponseWriter, r *http.Request) {
	ws, key, ok := s.ledgerEntryRef(w, r)
	if !ok {
		return
	}
	e, err := s.app.Store().GetEntry(r.Context(), ws, key)
	if errors.Is(err, chatter.ErrNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "deliveries.not_found")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	events, more, err := s.entryEvents(r, e)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r)
	d := &entryData{Row: ledgerRowOf(e, s.ledgerCRMOf(ws)), Entry: e, Events: events, EventsMore: more,
		Back: ledgerLink("/deliveries", nil, "ws", ws)}
	if m := e.Message; m != nil {
		d.Text = m.Text
		d.Raw = string(m.Raw)
	}
	if e.Rejection != nil && e.Rejection.Raw != "" {
		d.Raw = e.Rejection.Raw
	}
	d.Raw, _ = ledgerCut(d.Raw, entryRawCut)
	d.Steps = s.entrySteps(v, e)
	v.Data = d
	s.render(w, r, http.StatusOK, "delivery", v)
}

// entryEvents are the event log lines of e's workspace carrying its key,
// oldest first: those among the last entryEventsScan lines between its
// arrival and its last change (a minute either side, for clocks apart).
// The store has no query by key, so the lines are read and picked here.
func (s *server) entryEvents(r *http.Request, e *chatter.LedgerEntry) ([]eventRow, bool, error) {
	key := e.Key.String()
	last := e.UpdatedAt
	if e.DeliveredAt.After(last) {
		last = e.DeliveredAt
	}
	q := chatter.EventQuery{Workspace: e.Workspace, From: e.ReceivedAt.Add(-time.Minute), To: last.Add(time.Minute), Limit: 1000}
	var found []chatter.Event
	scanned, more := 0, false
	for scanned < entryEventsScan {
		evs, err := s.app.Store().ListEvents(r.Context(), q)
		if err != nil {
			return nil, false, err
		}
		for _, ev := range evs {
			if ev.MessageKey == key {
				found = append(found, ev)
			}
		}
		scanned += len(evs)
		if len(evs) < q.Limit {
			break
		}
		q.BeforeID = evs[len(evs)-1].ID
		if scanned >= entryEventsScan {
			more = true
		}
	}
	if len(found) > entryEventsMax {
		found, more = found[:entryEventsMax], true
	}
	slices.Reverse(found)
	out := make([]eventRow, len(found))
	for i, ev := range found {
		out[i] = eventRowOf(ev, false)
	}
	return out, more, nil
}

// entrySteps tells e's path in the page's language.
func (s *server) entrySteps(v *view, e *chatter.LedgerEntry) []entryStep {
	var steps []entryStep
	add := func(kind, title string, lines ...string) {
		var ls []string
		for _, l := range lines {
			if l != "" {
				ls = append(ls, l)
			}
		}
		steps = append(steps, entryStep{Kind: kind, Title: title, Lines: ls})
	}
	src := v.T("deliveries.source."+string(e.Key.Source)) + " " + e.Key.Account
	add("info", v.T("deliveries.why.received", v.DateTime(e.ReceivedAt), src))

	// Intake and the filter.
	switch e.State {
	case chatter.StateRejected:
		lines := []string{v.T("deliveries.why.rejected_never")}
		if r := e.Rejection; r != nil {
			lines = append([]string{v.Text(r.Text())}, lines...)
			if r.Key != "" {
				lines = append(lines, v.T("deliveries.why.rejected_key", r.Key))
			}
			if r.Truncated {
				lines = append(lines, v.T("deliveries.why.rejected_cut"))
			}
		}
		lines = append(lines, v.Text(chatter.ClassInvalid.Remedy()))
		add("error", v.T("deliveries.why.rejected"), lines...)
		return steps
	case chatter.StateReceived:
		add("info", v.T("deliveries.why.undecided"))
		return steps
	case chatter.StateFiltered:
		add("warn", v.T("deliveries.why.filtered"), s.verdictLines(v, e.Verdict)...)
		return steps
	}
	add("ok", v.T("deliveries.why.accepted"), s.verdictLines(v, e.Verdict)...)

	// Delivery.
	d := s.app.Config().Delivery
	budget := v.T("deliveries.why.budget", s.ttlText(v.Lang, d.MaxAge.D()))
	if d.MaxAttempts > 0 {
		budget += " " + v.T("deliveries.why.budget_attempts", d.MaxAttempts)
	}
	lastError := ""
	if e.LastError != "" {
		lastError = v.T("deliveries.why.error_text", e.LastError)
	}
	cause := func() []string {
		if e.ErrorClass == "" {
			return nil
		}
		return []string{v.T("deliveries.why.cause", e.ErrorClass.Cause().In(v.Lang), string(e.ErrorClass)),
			v.Text(e.ErrorClass.Remedy())}
	}
	next := ""
	if !e.NextAt.IsZero() {
		next = v.T("deliveries.why.next", v.DateTime(e.NextAt))
	}
	switch e.State {
	case chatter.StateQueued:
		lines := []string{next}
		if e.Attempts > 0 {
			lines = append(lines, v.N("deliveries.why.attempts_made", e.Attempts))
			lines = append(lines, cause()...)
			lines = append(lines, lastError)
		}
		add("info", v.T("deliveries.why.queued"), lines...)
	case chatter.StateDelivering:
		add("info", v.T("deliveries.why.delivering", e.Attempts))
	case chatter.StateDelivered:
		add("ok", v.T("deliveries.why.delivered", v.DateTime(e.DeliveredAt)), s.resultLines(v, e)...)
	case chatter.StateFailed:
		lines := append([]string{v.N("deliveries.why.attempts_made", e.Attempts)}, cause()...)
		lines = append(lines, lastError, next, budget)
		add("warn", v.T("deliveries.why.failed"), lines...)
	case chatter.StateDead:
		title := v.T("deliveries.why.dead", v.DateTime(e.UpdatedAt))
		if e.ErrorClass != "" {
			title = v.T("deliveries.why.dead_after", e.ErrorClass.Cause().In(v.Lang), v.DateTime(e.UpdatedAt))
		}
		lines := append([]string{v.N("deliveries.why.attempts_made", e.Attempts)}, cause()...)
		lines = append(lines, lastError, budget, v.T("deliveries.why.replay_hint"))
		add("error", title, lines...)
	}
	return steps
}

// verdictLines say what the filter decided and why.
func (s *server) verdictLines(v *view, vd chatter.Verdict) []string {
	var out []string
	if vd.Rule != "" {
		out = append(out, v.T("deliveries.why.rule", vd.Rule))
	}
	if len(vd.Matched) > 0 {
		out = append(out, v.T("deliveries.why.matched", strings.Join(vd.Matched, ", ")))
	}
	if vd.Reason != "" {
		out = append(out, v.T("deliveries.why.reason", verdictReason(v, vd.Reason)))
	}
	return out
}

// verdictReason is the filter's reason in the page's language: the
// reasons of the keyword filter and the server have texts; others are
// shown as they are (they are English).
func verdictReason(v *view, reason string) string {
	keys := map[string]string{
		"keyword rule matched":         "deliveries.reason.matched",
		"no keyword rule matched":      "deliveries.reason.no_match",
		"stop word found":              "deliveries.reason.stop",
		"no keyword rules":             "deliveries.reason.no_rules",
		"a message written to the bot": "deliveries.reason.bot",
	}
	if k, ok := keys[reason]; ok {
		return v.T(k)
	}
	return reason
}

// resultLines describe a delivery's result: the lead (created, a note on
// an open lead, or adopted from an earlier attempt) and the contact.
func (s *server) resultLines(v *view, e *chatter.LedgerEntry) []string {
	res := e.Result
	if res == nil {
		return nil
	}
	var out []string
	switch {
	case res.Threaded:
		out = append(out, v.T("deliveries.why.threaded", res.LeadID))
	case res.Adopted:
		out = append(out, v.T("deliveries.why.adopted", res.LeadID))
	case res.LeadID != 0:
		out = append(out, v.T("deliveries.why.lead", res.LeadID))
	}
	if res.ContactID != 0 {
		out = append(out, v.T("deliveries.why.contact", res.ContactID))
	}
	if res.NoteID != 0 {
		out = append(out, v.T("deliveries.why.note", res.NoteID))
	}
	if e.Attempts > 1 {
		out = append(out, v.N("deliveries.why.attempts_made", e.Attempts))
	}
	return out
}
