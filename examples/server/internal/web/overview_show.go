package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/doctor"
	"github.com/chatterhq/sdk/tgparse"
)

// overviewErrors is how many of the latest warnings and errors the
// overview lists per workspace.
const overviewErrors = 10

// overviewData is Обзор: the server's state and, for each workspace the
// user may see, its parts' states, the last 24 hours, the queue, the
// amoCRM request budget and the latest errors.
type overviewData struct {
	Admin      bool
	Server     []overviewStatus
	ServerErrs []overviewEvent // administrators only: the server's own log
	Diag       *overviewDiag
	Workspaces []overviewWS
}

// overviewStatus is the state of one part, as a badge and a line.
type overviewStatus struct {
	Name   string
	Kind   string // ok, info, warn, error
	State  string
	Detail string
	Link   string // where to fix it ("" when none)
}

// overviewDiag sums up the last diagnostics run.
type overviewDiag struct {
	At       time.Time
	Kind     string
	Status   chatter.Status
	Problems int
	// Notify is the status of the notification checks (SMTP reachable,
	// login, SPF, DKIM, webhooks).
	Notify chatter.Status
}

type overviewWS struct {
	ID, Name string
	Statuses []overviewStatus
	Hours    []overviewHour
	Chart    overviewChart
	// Received, Leads and Errors are the sums over the 24 hours.
	Received, Leads, Errors int
	Queue                   overviewQueue
	Rate                    overviewRate
	Events                  []overviewEvent
	LogsLink                string
	DeliveriesLink          string
}

type overviewQueue struct {
	Depth     int
	Oldest    *chatter.LedgerEntry
	OldestAge string
	Link      string // the oldest message's ledger entry
}

// overviewRate is the amoCRM account's use of its request budget.
type overviewRate struct {
	Limit          int // amoCRM's: requests per second per account
	Requests       int64
	TooMany        int64 // 429 answers since the start
	Recent429      int   // within amocrmsink.DefaultRateWindow
	BudgetCalls    int64
	BudgetFailures int64
	BudgetErr      string
	BudgetErrAt    time.Time
	BlockedUntil   time.Time
	Kind           string // ok, warn, error
}

type overviewEvent struct {
	chatter.Event
	Kind      string
	EntryLink string // the ledger entry of its message ("" without one)
}

// overviewShow is Обзор.
func (s *server) overviewShow(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	u := currentUser(r)
	ctx := r.Context()
	d := overviewData{Admin: u.IsAdmin()}
	rd := s.app.Readiness(ctx)
	d.Server = append(d.Server, s.overviewStore(v, rd))
	for _, c := range s.app.Components() {
		if c.Name == "pipeline" {
			st := s.overviewComponent(v, v.T("overview.part.workers"), &c)
			if rd.Workers != "ok" && c.State == app.StateRunning {
				st.Kind, st.Detail = "warn", rd.Workers
			}
			d.Server = append(d.Server, st)
		}
	}
	if rep, err := s.diagLoad(ctx); err != nil {
		s.serverError(w, r, err)
		return
	} else if rep != nil {
		od := &overviewDiag{At: rep.At, Status: rep.Status, Kind: diagKind(rep.Status), Problems: len(rep.Problems()), Notify: chatter.StatusSkip}
		for _, g := range rep.Groups {
			if g.Problem.ID == chatter.GuideNotifications {
				od.Notify = g.Status
			}
		}
		d.Diag = od
	}
	if d.Admin {
		evs, err := s.overviewEvents(ctx, auth.ServerWorkspace)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		d.ServerErrs = evs
	}
	for _, ws := range s.visibleWorkspaces(r) {
		ow, err := s.overviewWorkspace(ctx, v, ws, d.Admin, d.Diag)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		d.Workspaces = append(d.Workspaces, ow)
	}
	v.Data = d
	s.render(w, r, http.StatusOK, "overview", v)
}

func (s *server) overviewStore(v *view, rd app.Readiness) overviewStatus {
	st := overviewStatus{Name: v.T("overview.part.store"), Kind: "ok", State: v.T("overview.state.ok")}
	if rd.Store != "ok" {
		st.Kind, st.State, st.Detail = "error", v.T("overview.state.failed"), rd.Store
	}
	return st
}

// overviewComponent describes a supervised component's state.
func (s *server) overviewComponent(v *view, name string, c *app.ComponentStatus) overviewStatus {
	st := overviewStatus{Name: name}
	if c == nil {
		st.Kind, st.State = "info", v.T("overview.state.unknown")
		return st
	}
	switch c.State {
	case app.StateRunning:
		st.Kind = "ok"
	case app.StateFailed:
		st.Kind, st.Detail = "error", c.LastError
	case app.StateStopped:
		st.Kind = "warn"
	default: // starting; passive: another instance holds it
		st.Kind = "info"
	}
	st.State = v.T("overview.state." + string(c.State))
	if c.Restarts > 0 && c.State != app.StatePassive {
		st.State += " · " + v.N("overview.restarts", c.Restarts)
	}
	return st
}

func (s *server) overviewComponentNamed(v *view, label, name string) overviewStatus {
	for _, c := range s.app.Components() {
		if c.Name == name {
			return s.overviewComponent(v, label, &c)
		}
	}
	return s.overviewComponent(v, label, nil)
}

func (s *server) overviewWorkspace(ctx context.Context, v *view, ws string, admin bool, diag *overviewDiag) (overviewWS, error) {
	wc, _ := s.app.WorkspaceConfig(ws)
	ow := overviewWS{ID: ws, Name: cmpOr(wc.Name, ws), LogsLink: overviewLogsLink(ws), DeliveriesLink: overviewDeliveriesLink(ws)}
	now := time.Now()
	rt, running := s.app.Runtime(ws)
	if running {
		ow.Statuses = s.overviewParts(v, rt, admin, now, diag)
	}
	store := s.app.Store()
	hours, err := overviewBuckets(ctx, store, ws, now, s.loc)
	if err != nil {
		return ow, fmt.Errorf("web: overview of %s: %w", ws, err)
	}
	ow.Hours = hours
	for _, h := range hours {
		ow.Received += h.Received
		ow.Leads += h.Leads
		ow.Errors += h.Errors
	}
	series := map[string]string{"received": v.T("overview.series.received"), "leads": v.T("overview.series.leads"), "errors": v.T("overview.series.errors")}
	ow.Chart = newOverviewChart(hours, func(class string, h overviewHour, n int) string {
		return fmt.Sprintf("%s–%s: %s — %d", v.Time(h.Start), v.Time(h.End), series[class], n)
	}, v.Time)

	counts, err := store.CountEntries(ctx, chatter.LedgerQuery{Workspace: ws, States: doctor.WaitingStates})
	if err != nil {
		return ow, fmt.Errorf("web: overview of %s: %w", ws, err)
	}
	for _, n := range counts {
		ow.Queue.Depth += n
	}
	if ow.Queue.Depth > 0 {
		oldest, err := overviewOldest(ctx, store, ws)
		if err != nil {
			return ow, fmt.Errorf("web: overview of %s: %w", ws, err)
		}
		if oldest != nil {
			ow.Queue.Oldest = oldest
			ow.Queue.OldestAge = overviewAge(v, now.Sub(oldest.ReceivedAt))
			ow.Queue.Link = overviewEntryLink(ws, oldest.Key)
		}
	}
	if running && rt.Stats != nil {
		ow.Rate = overviewRateOf(rt.Stats, now)
	}
	if ow.Events, err = s.overviewEvents(ctx, ws); err != nil {
		return ow, err
	}
	return ow, nil
}

// overviewParts are the workspace's parts: amoCRM, each bot, the parser
// and its accounts, e-mail (with the notification checks of the last
// diagnostics, diag, when there is one).
func (s *server) overviewParts(v *view, rt *app.Runtime, admin bool, now time.Time, diag *overviewDiag) []overviewStatus {
	var out []overviewStatus
	fix := func(link string) string {
		if admin {
			return link
		}
		return ""
	}
	amo := s.overviewComponentNamed(v, v.T("overview.part.amocrm"), "amocrm:"+rt.ID)
	switch {
	case rt.Sink != nil:
		amo.Kind, amo.State = "ok", v.T("overview.amocrm.ready")
	case rt.SetupError != nil:
		amo.Kind, amo.State, amo.Detail = "error", v.T("overview.amocrm.not_set_up"), rt.SetupError.Error()
		amo.Link = fix("/diagnostics#g-" + chatter.GuideAmoCRMAuth)
	default:
		amo.Kind, amo.State = "info", v.T("overview.amocrm.connecting")
	}
	if rt.Stats != nil {
		if until, status := rt.Stats.BlockedUntil(); until.After(now) {
			amo.Kind, amo.State = "error", v.T("overview.amocrm.blocked", v.DateTime(until), status)
			amo.Link = fix("/diagnostics#g-" + chatter.GuideRateLimit)
		}
	}
	out = append(out, amo)
	for _, b := range rt.Bots {
		st := s.overviewComponentNamed(v, v.T("overview.part.bot", b.Config.ID, v.T("overview.mode."+string(b.Config.Mode))), b.Component)
		if b.Config.Disabled {
			st.Kind, st.State = "info", v.T("overview.state.disabled")
		}
		if b.Source != nil {
			ss := b.Source.Status()
			var facts []string
			if !ss.LastPollAt.IsZero() {
				facts = append(facts, v.T("overview.bot.last_poll", v.DateTime(ss.LastPollAt)))
			}
			if !ss.LastEventAt.IsZero() {
				facts = append(facts, v.T("overview.bot.last_event", v.DateTime(ss.LastEventAt)))
			}
			facts = append(facts, v.N("overview.bot.handled", int(ss.Handled)))
			if ss.LastError != "" && (st.Detail == "" || st.Detail == ss.LastError) {
				facts = append(facts, v.T("overview.bot.last_error", v.DateTime(ss.LastErrorAt), ss.LastError))
				if st.Kind == "ok" && now.Sub(ss.LastErrorAt) < 15*time.Minute {
					st.Kind = "warn"
				}
			}
			st.Detail = strings.Join(append(facts, st.Detail), " · ")
			st.Detail = strings.TrimSuffix(st.Detail, " · ")
		}
		if st.Kind == "error" || st.Kind == "warn" {
			st.Link = fix("/diagnostics#g-" + chatter.GuideBotSilent)
		}
		out = append(out, st)
	}
	if p := rt.Parser; p != nil {
		out = append(out, s.overviewComponentNamed(v, v.T("overview.part.parser"), p.Component))
		if p.Source != nil {
			snap := p.Source.Snapshot()
			for _, a := range snap.Accounts {
				out = append(out, overviewAccount(v, a, fix("/diagnostics#g-"+chatter.GuideAccountBlocked)))
			}
		}
	}
	mail := overviewStatus{Name: v.T("overview.part.smtp")}
	sc := rt.Config.Notifications.SMTP
	switch {
	case rt.SMTP != nil:
		mail.Kind, mail.State = "ok", v.T("overview.smtp.on")
		mail.Detail = v.T("overview.smtp.server", sc.Host+":"+strconv.Itoa(sc.Port), len(notifRecipients(rt.Config.Notifications)))
	case !sc.IsZero():
		mail.Kind, mail.State = "warn", v.T("overview.smtp.no_recipients")
	default:
		mail.Kind, mail.State = "info", v.T("overview.smtp.off")
	}
	if !sc.IsZero() || rt.SMTP == nil {
		mail.Link = fix("/notifications?" + url.Values{"ws": {rt.ID}}.Encode())
	}
	if diag != nil && !sc.IsZero() && diag.Notify != chatter.StatusSkip {
		checks := v.T("overview.smtp.checks", v.T("diagnostics.status."+string(diag.Notify)), v.DateTime(diag.At))
		mail.Detail = strings.TrimPrefix(mail.Detail+" · "+checks, " · ")
		switch diag.Notify {
		case chatter.StatusFail:
			mail.Kind = "error"
			mail.Link = fix("/diagnostics#g-" + chatter.GuideNotifications)
		case chatter.StatusWarn:
			if mail.Kind == "ok" {
				mail.Kind = "warn"
			}
			mail.Link = fix("/diagnostics#g-" + chatter.GuideNotifications)
		}
	}
	out = append(out, mail)
	return out
}

// overviewAccount describes a parser account's state.
func overviewAccount(v *view, a tgparse.AccountState, link string) overviewStatus {
	st := overviewStatus{Name: v.T("overview.part.account", a.Account), State: v.T("overview.account." + string(a.Status))}
	switch a.Status {
	case tgparse.StatusActive:
		st.Kind = "ok"
		st.Detail = v.N("overview.account.chats", a.Chats)
	case tgparse.StatusFloodWait, tgparse.StatusPeerFlood, tgparse.StatusProxyFailing, tgparse.StatusFailing:
		st.Kind = "warn"
	case tgparse.StatusBanned, tgparse.StatusSessionRevoked, tgparse.StatusSessionDuplicated, tgparse.StatusNotLoggedIn:
		st.Kind = "error"
	default: // stopped, starting, session in use by another instance
		st.Kind = "info"
	}
	if a.Status == tgparse.StatusFloodWait && !a.Until.IsZero() {
		st.State = v.T("overview.account.flood_until", v.DateTime(a.Until))
	}
	if st.Kind == "warn" || st.Kind == "error" {
		if c := a.Cause(); !c.IsZero() {
			st.Detail = v.Text(c)
		}
		st.Link = link
	}
	return st
}

// overviewRateOf reads the amoCRM account's request statistics.
func overviewRateOf(rs *amocrmsink.RequestStats, now time.Time) overviewRate {
	r := overviewRate{Limit: amocrm.DefaultRate, Kind: "ok"}
	r.Requests, r.TooMany = rs.Totals()
	r.Recent429 = rs.Count429(amocrmsink.DefaultRateWindow)
	var err error
	r.BudgetCalls, r.BudgetFailures, r.BudgetErrAt, err = rs.BudgetCalls()
	if err != nil {
		r.BudgetErr = err.Error()
	}
	r.BlockedUntil, _ = rs.BlockedUntil()
	switch {
	case r.BlockedUntil.After(now):
		r.Kind = "error"
	case r.Recent429 > 0 || (err != nil && now.Sub(r.BudgetErrAt) < amocrmsink.DefaultRateWindow):
		r.Kind = "warn"
	}
	return r
}

// overviewEvents are the latest warnings and errors of ws's event log.
func (s *server) overviewEvents(ctx context.Context, ws string) ([]overviewEvent, error) {
	warn := slog.LevelWarn
	evs, err := s.app.Store().ListEvents(ctx, chatter.EventQuery{Workspace: ws, MinLevel: &warn, Limit: overviewErrors})
	if err != nil {
		return nil, fmt.Errorf("web: overview: events of %s: %w", ws, err)
	}
	out := make([]overviewEvent, 0, len(evs))
	for _, e := range evs {
		oe := overviewEvent{Event: e, Kind: "warn"}
		if e.Level >= slog.LevelError {
			oe.Kind = "error"
		}
		if k, err := chatter.ParseKey(e.MessageKey); err == nil && e.MessageKey != "" && ws != auth.ServerWorkspace {
			oe.EntryLink = overviewEntryLink(ws, k)
		}
		out = append(out, oe)
	}
	return out, nil
}

// overviewOldest is the oldest message of ws still waiting for delivery.
func overviewOldest(ctx context.Context, l doctor.Ledger, ws string) (*chatter.LedgerEntry, error) {
	es, err := l.ListEntries(ctx, chatter.LedgerQuery{Workspace: ws, States: doctor.WaitingStates, Oldest: true, Limit: 1})
	if err != nil || len(es) == 0 {
		return nil, err
	}
	return es[0], nil
}

// overviewAge is a duration for people: "5 мин", "2 ч 10 мин".
func overviewAge(v *view, d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return v.T("overview.age.seconds", int(d.Seconds()))
	case d < time.Hour:
		return v.T("overview.age.minutes", int(d.Minutes()))
	}
	return v.T("overview.age.hours", int(d.Hours()), int(d.Minutes())%60)
}

// The pages of the other sections the overview links to: the delivery
// ledger's entry of one message and the logs of a workspace.
func overviewEntryLink(ws string, k chatter.Key) string {
	return "/deliveries/" + url.PathEscape(ws) + "/" + url.PathEscape(k.String())
}

func overviewDeliveriesLink(ws string) string {
	return "/deliveries?" + url.Values{"ws": {ws}}.Encode()
}

func overviewLogsLink(ws string) string {
	return "/admin/logs?" + url.Values{"ws": {ws}, "level": {"warn"}}.Encode()
}

// overviewEventsView is the data of the overview's "events" template.
type overviewEventsView struct {
	V      *view
	Events []overviewEvent
}

// OverviewEvents hands a list of events to the overview's "events"
// template together with the view.
func (v *view) OverviewEvents(evs []overviewEvent) overviewEventsView {
	return overviewEventsView{V: v, Events: evs}
}
