package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// The ledger pages' bounds.
const (
	ledgerPageSize    = 50  // entries per page
	ledgerTextCut     = 300 // runes of a message's text in the table
	ledgerErrorCut    = 300 // runes of the last error in the table
	ledgerSearchLimit = 200 // runes of a text search
)

// ledgerFields are the query parameters of the ledger's filter.
func ledgerFields() []string { return []string{"ws", "from", "to", "state", "class", "source", "q"} }

// ledgerClasses are the error classes a filter offers, in the order of
// chatter's list.
func ledgerClasses() []chatter.ErrorClass {
	return []chatter.ErrorClass{chatter.ClassAuth, chatter.ClassRights, chatter.ClassMapping, chatter.ClassRateLimited,
		chatter.ClassBlocked, chatter.ClassPayment, chatter.ClassTransient, chatter.ClassPermanent, chatter.ClassInternal,
		chatter.ClassInvalid}
}

// ledgerSources are the source kinds a filter offers.
func ledgerSources() []chatter.SourceKind {
	return []chatter.SourceKind{chatter.SourceBot, chatter.SourceParser, chatter.SourceRejected}
}

// ledgerFilter is the ledger's filter as a request gives it (the query of
// GET /deliveries, the hidden fields of the bulk replay).
type ledgerFilter struct {
	Query      chatter.LedgerQuery // no cursor, no limit
	Workspaces []string            // those the user may pick
}

// ledgerFilterOf reads the filter from vals; problems go to f by field.
// The status is 200, 403 (a workspace the user may not see) or 422 (f has
// problems).
func (s *server) ledgerFilterOf(r *http.Request, vals url.Values, f *form) (ledgerFilter, int) {
	var lf ledgerFilter
	lf.Workspaces = s.visibleWorkspaces(r)
	ws, status := s.ledgerWorkspace(r, vals.Get("ws"), lf.Workspaces, f)
	if status != http.StatusOK {
		return lf, status
	}
	q := chatter.LedgerQuery{Workspace: ws}
	q.From, q.To = s.ledgerPeriod(vals, f)
	for _, st := range vals["state"] {
		if st == "" {
			continue
		}
		if !slices.Contains(chatter.AllStates, chatter.State(st)) {
			f.failKey(s.i18n, "state", "deliveries.bad_state")
			continue
		}
		if !slices.Contains(q.States, chatter.State(st)) {
			q.States = append(q.States, chatter.State(st))
		}
	}
	q.ErrorClass = s.ledgerClass(vals, f)
	if src := vals.Get("source"); src != "" {
		if !slices.Contains(ledgerSources(), chatter.SourceKind(src)) {
			f.failKey(s.i18n, "source", "deliveries.bad_source")
		}
		q.Source = chatter.SourceKind(src)
	}
	q.Text = s.ledgerText(vals, f)
	lf.Query = q
	return lf, ledgerFilterStatus(f, ledgerFields())
}

// ledgerFilterStatus is 422 when one of a filter's fields has a problem (other
// fields of the form, a confirmation, do not count), else 200.
func ledgerFilterStatus(f *form, fields []string) int {
	for _, k := range fields {
		if _, bad := f.Problems[k]; bad {
			return http.StatusUnprocessableEntity
		}
	}
	return http.StatusOK
}

// ledgerWorkspace is the workspace a page shows: the one asked for, else the
// first the user may see ("" when there is none). One the user may not see
// is 403; one not configured is a problem of the field ws.
func (s *server) ledgerWorkspace(r *http.Request, ws string, choices []string, f *form) (string, int) {
	switch {
	case ws == "" && len(choices) > 0:
		return choices[0], http.StatusOK
	case ws == "":
		return "", http.StatusOK
	case slices.Contains(choices, ws):
		return ws, http.StatusOK
	case !canAccess(r, ws) || (ws == auth.ServerWorkspace && !currentUser(r).IsAdmin()):
		return "", http.StatusForbidden
	}
	f.failKey(s.i18n, "ws", "deliveries.bad_workspace")
	return ws, http.StatusUnprocessableEntity
}

// ledgerPeriod reads from and to: <input type="datetime-local"> values
// (2006-01-02T15:04, seconds optional), what a browser without that input
// lets one type (2006-01-02 15:04, 02.01.2006 15:04) or dates, in the UI's
// time zone. To is exclusive; a date alone as to means up to the end of
// that day.
func (s *server) ledgerPeriod(vals url.Values, f *form) (from, to time.Time) {
	from, _ = s.ledgerMoment(vals.Get("from"), false, f, "from")
	to, toOK := s.ledgerMoment(vals.Get("to"), true, f, "to")
	if toOK && !from.IsZero() && !to.IsZero() && !to.After(from) {
		f.failKey(s.i18n, "to", "deliveries.bad_period")
	}
	return from, to
}

func (s *server) ledgerMoment(val string, end bool, f *form, field string) (time.Time, bool) {
	if val == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "02.01.2006 15:04",
		time.DateOnly, "02.01.2006"} {
		t, err := time.ParseInLocation(layout, val, s.loc)
		if err != nil {
			continue
		}
		if end && (layout == time.DateOnly || layout == "02.01.2006") {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	f.failKey(s.i18n, field, "deliveries.bad_time")
	return time.Time{}, false
}

// ledgerClass reads the error class filter.
func (s *server) ledgerClass(vals url.Values, f *form) chatter.ErrorClass {
	c := chatter.ErrorClass(vals.Get("class"))
	if c != "" && !slices.Contains(ledgerClasses(), c) {
		f.failKey(s.i18n, "class", "deliveries.bad_class")
	}
	return c
}

// ledgerText reads the text search q: valid UTF-8, at most ledgerSearchLimit
// runes.
func (s *server) ledgerText(vals url.Values, f *form) string {
	q := strings.TrimSpace(vals.Get("q"))
	switch {
	case !utf8.ValidString(q):
		f.failKey(s.i18n, "q", "deliveries.bad_text")
		return ""
	case utf8.RuneCountInString(q) > ledgerSearchLimit:
		f.failKey(s.i18n, "q", "deliveries.long_text", ledgerSearchLimit)
	}
	return q
}

// ledgerParams keeps the non-empty filter fields of vals (for links and
// hidden fields).
func ledgerParams(vals url.Values, fields []string) url.Values {
	out := url.Values{}
	for _, k := range fields {
		for _, v := range vals[k] {
			if v != "" {
				out.Add(k, v)
			}
		}
	}
	return out
}

// ledgerLink is path with the query vals plus the extra key/value pairs
// (those with an empty value are left out).
func ledgerLink(path string, vals url.Values, kv ...string) string {
	q := url.Values{}
	for k, vs := range vals {
		q[k] = slices.Clone(vs)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// ledgerCursor is a position in the ledger: an entry's ReceivedAt and key,
// written "<unix nanoseconds>_<key>".
type ledgerCursor struct {
	At  time.Time
	Key chatter.Key
}

func (c ledgerCursor) String() string {
	return strconv.FormatInt(c.At.UnixNano(), 10) + "_" + c.Key.String()
}

func ledgerCursorOf(e *chatter.LedgerEntry) ledgerCursor {
	return ledgerCursor{At: e.ReceivedAt, Key: e.Key}
}

var errLedgerCursor = errors.New("web: bad ledger cursor")

func parseLedgerCursor(s string) (ledgerCursor, error) {
	ns, key, ok := strings.Cut(s, "_")
	if !ok {
		return ledgerCursor{}, errLedgerCursor
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil || n <= 0 {
		return ledgerCursor{}, errLedgerCursor
	}
	k, err := chatter.ParseKey(key)
	if err != nil {
		return ledgerCursor{}, errLedgerCursor
	}
	return ledgerCursor{At: time.Unix(0, n), Key: k}, nil
}

// ledgerRow is one entry as the table shows it.
type ledgerRow struct {
	Workspace  string
	Key        string
	URL        string // the entry's page ("почему не в CRM?")
	Cursor     string // ledgerCursor
	State      chatter.State
	StateKind  string // badge: ok, info, warn, error
	Received   time.Time
	Updated    int64 // UpdatedAt in unix nanoseconds (live updates compare it)
	Source     chatter.SourceKind
	Account    string
	Chat       string
	ChatLink   string // the message on t.me, when known
	Sender     string
	Body       string // the text, cut
	Cut        bool
	Media      int // attachments
	LeadID     int64
	LeadURL    string
	ContactID  int64
	ContactURL string
	Threaded   bool
	Attempts   int
	Class      chatter.ErrorClass
	Cause      chatter.Text // the class's cause
	LastError  string       // cut
	Rejection  chatter.Text // why a rejected message was refused
	Replay     bool         // dead or failed: may be replayed
	Watch      bool         // may still change by itself: the live updates follow it
}

// ledgerStateKind is the badge of a state.
func ledgerStateKind(st chatter.State) string {
	switch st {
	case chatter.StateDelivered:
		return "ok"
	case chatter.StateDead, chatter.StateRejected:
		return "error"
	case chatter.StateFailed, chatter.StateFiltered:
		return "warn"
	}
	return "info"
}

// ledgerChanging reports whether an entry in st changes without anyone acting
// (the pipeline moves it on).
func ledgerChanging(st chatter.State) bool {
	switch st {
	case chatter.StateReceived, chatter.StateQueued, chatter.StateDelivering, chatter.StateFailed:
		return true
	}
	return false
}

// ledgerCRM builds the amoCRM addresses of a workspace's leads and contacts.
type ledgerCRM struct{ base string }

// ledgerCRMOf is the account's base URL (the amoCRM client's: the account's
// own https://<subdomain>.amocrm.ru, or the configured base_url); none when
// the workspace is not running.
func (s *server) ledgerCRMOf(ws string) ledgerCRM {
	if rt, ok := s.app.Runtime(ws); ok && rt.AmoCRM != nil {
		return ledgerCRM{base: strings.TrimSuffix(rt.AmoCRM.BaseURL(), "/")}
	}
	return ledgerCRM{}
}

func (c ledgerCRM) lead(id int64) string {
	if c.base == "" || id == 0 {
		return ""
	}
	return c.base + "/leads/detail/" + strconv.FormatInt(id, 10)
}

func (c ledgerCRM) contact(id int64) string {
	if c.base == "" || id == 0 {
		return ""
	}
	return c.base + "/contacts/detail/" + strconv.FormatInt(id, 10)
}

// ledgerEntryURL is the page of an entry.
func ledgerEntryURL(ws string, k chatter.Key) string {
	return "/deliveries/" + url.PathEscape(ws) + "/" + url.PathEscape(k.String())
}

// ledgerRowOf describes e for the table.
func ledgerRowOf(e *chatter.LedgerEntry, links ledgerCRM) *ledgerRow {
	row := &ledgerRow{
		Workspace: e.Workspace, Key: e.Key.String(), URL: ledgerEntryURL(e.Workspace, e.Key), Cursor: ledgerCursorOf(e).String(),
		State: e.State, StateKind: ledgerStateKind(e.State), Received: e.ReceivedAt, Updated: e.UpdatedAt.UnixNano(),
		Source: e.Key.Source, Account: e.Key.Account, Attempts: e.Attempts, Class: e.ErrorClass,
		Replay: e.State == chatter.StateDead || e.State == chatter.StateFailed, Watch: ledgerChanging(e.State),
	}
	if e.ErrorClass != "" {
		row.Cause = e.ErrorClass.Cause()
	}
	row.LastError, _ = ledgerCut(e.LastError, ledgerErrorCut)
	if m := e.Message; m != nil {
		row.Chat = ledgerChat(m.Chat)
		row.ChatLink = m.Link
		row.Sender = ledgerSender(m.Sender)
		row.Body, row.Cut = ledgerCut(m.Text, ledgerTextCut)
		row.Media = len(m.Attachments)
	}
	if row.Chat == "" && e.Key.ChatID != 0 {
		row.Chat = strconv.FormatInt(e.Key.ChatID, 10)
	}
	if res := e.Result; res != nil {
		row.LeadID, row.LeadURL = res.LeadID, links.lead(res.LeadID)
		row.ContactID, row.ContactURL = res.ContactID, links.contact(res.ContactID)
		row.Threaded = res.Threaded
	}
	if e.Rejection != nil {
		row.Rejection = e.Rejection.Text()
	}
	return row
}

// ledgerChat is a chat's title, else its @username, else its id.
func ledgerChat(c chatter.Chat) string {
	switch {
	case c.Title != "":
		return c.Title
	case c.Username != "":
		return "@" + c.Username
	case c.ID != 0:
		return strconv.FormatInt(c.ID, 10)
	}
	return ""
}

// ledgerSender is "First Last (@username)", or what of it is known.
func ledgerSender(p chatter.Sender) string {
	name := strings.TrimSpace(p.FirstName + " " + p.LastName)
	switch {
	case name != "" && p.Username != "":
		return name + " (@" + p.Username + ")"
	case name != "":
		return name
	case p.Username != "":
		return "@" + p.Username
	case p.ID != 0:
		return "id " + strconv.FormatInt(p.ID, 10)
	}
	return ""
}

// ledgerCut cuts s to at most n runes, with "…" when it was longer.
func ledgerCut(s string, n int) (string, bool) {
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	i := 0
	for j := range s {
		if i == n {
			return strings.TrimSpace(s[:j]) + "…", true
		}
		i++
	}
	return s, false
}

// ledgerRowView is what the row template gets: the page's view and a row.
type ledgerRowView struct {
	V *view
	R *ledgerRow
}

// LedgerRow pairs a ledger row with the view, for the "ledger-row"
// template.
func (v *view) LedgerRow(r *ledgerRow) ledgerRowView { return ledgerRowView{V: v, R: r} }

// LedgerClass is a class as the filters and tables name it: its cause, and
// the class's code.
func (v *view) LedgerClass(c chatter.ErrorClass) string {
	return c.Cause().In(v.Lang) + " (" + string(c) + ")"
}

// ledgerActor are the event log attributes of who acted on r: their
// login, id and address.
func (s *server) ledgerActor(r *http.Request) []slog.Attr {
	u := currentUser(r)
	attrs := []slog.Attr{slog.String("by", u.Login), slog.String("by_id", u.ID)}
	if addr := s.clientAddr(r); addr != "" {
		attrs = append(attrs, slog.String("addr", addr))
	}
	return attrs
}
