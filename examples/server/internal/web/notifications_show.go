package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// notifData is the page of one workspace's notifications.
type notifData struct {
	WS         *notifWS
	Workspaces []notifWSLink
	Types      []notifTypeRow
	Bots       []string
	// TGRows and WHRows are the rows of the lists' forms; the last one of
	// each is the empty row that adds a route.
	TGRows   []notifRow
	WHRows   []notifRow
	TGCount  int
	WHCount  int
	SMTP     notifSMTPView
	Problems map[string][]string // by section: those no field shows
	TLSModes []string
	Langs    []string
	Warnings []chatter.Text
	DNS      []diagResult // the sender domain's SPF and DKIM checks
}

type notifWSLink struct {
	ID, Name string
	Current  bool
}

type notifTypeRow struct {
	ID    string
	Label chatter.Text
}

// notifRow is a row of a list form: index I; New for the row that adds a
// route; a stored webhook's URL and secret, masked.
type notifRow struct {
	I          int
	New        bool
	URLMask    string
	SecretMask string
}

type notifSMTPView struct {
	Set          bool   // SMTP settings exist
	Running      bool   // the workspace mails notifications (SMTP and recipients)
	PasswordMask string // the stored password, masked ("" when none)
	PasswordHint string
	Recipients   []string
}

// notificationsShow is Уведомления for one workspace (?ws=, the first
// one by default).
func (s *server) notificationsShow(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.notifWorkspace(w, r, r.URL.Query().Get("ws"))
	if !ok {
		return
	}
	s.notifRender(w, r, http.StatusOK, ws, nil, "", nil)
}

// notifRender renders ws's page. After a refused form of section, f holds
// what was posted (its fields shown as posted, with their problems) and
// other the problems no field shows.
func (s *server) notifRender(w http.ResponseWriter, r *http.Request, status int, ws *notifWS, f *form, section string, other []chatter.Text) {
	v := s.newView(r)
	v.Path = ws.page("")
	n := ws.Config.Notifications
	if f != nil {
		// The stored settings (the form's own section as it was posted).
		stored, _ := s.app.WorkspaceConfig(ws.ID)
		n = stored.Notifications
	}
	var bots []string
	for _, b := range ws.Config.Bots {
		bots = append(bots, b.ID)
	}
	vals := notifValues(n, bots)
	if f != nil {
		for k := range vals {
			if strings.HasPrefix(k, section+"_") {
				vals.Del(k)
			}
		}
		for k, vs := range f.Values {
			if strings.HasPrefix(k, section+"_") {
				vals[k] = vs
			}
		}
		v.Form = &form{Values: vals, Problems: f.Problems}
	} else {
		v.Form = newForm(vals)
	}
	d := notifData{WS: ws, Bots: bots, Problems: map[string][]string{},
		TLSModes: []string{config.TLSStartTLS, config.TLSImplicit, config.TLSNone}, Langs: []string{"ru", "en", "both"}}
	for _, t := range other {
		d.Problems[section] = append(d.Problems[section], t.In(v.Lang))
	}
	for _, id := range s.app.WorkspaceIDs() {
		if canAccess(r, id) {
			wc, _ := s.app.WorkspaceConfig(id)
			d.Workspaces = append(d.Workspaces, notifWSLink{ID: id, Name: cmpOr(wc.Name, id), Current: id == ws.ID})
		}
	}
	for _, t := range notifTypes() {
		d.Types = append(d.Types, notifTypeRow{ID: t, Label: notifLabel(t)})
	}
	d.TGCount = len(n.Telegram) + 1
	if section == notifSecTelegram && f != nil {
		d.TGCount = max(notifRows(f, notifSecTelegram), 1)
	}
	for i := range d.TGCount {
		d.TGRows = append(d.TGRows, notifRow{I: i, New: i >= len(n.Telegram)})
	}
	d.WHCount = len(n.Webhooks) + 1
	if section == notifSecWebhooks && f != nil {
		d.WHCount = max(notifRows(f, notifSecWebhooks), 1)
	}
	for i := range d.WHCount {
		row := notifRow{I: i, New: i >= len(n.Webhooks)}
		if !row.New {
			row.URLMask, row.SecretMask = notifMaskURL(n.Webhooks[i].URL), notifMask(n.Webhooks[i].Secret)
		}
		d.WHRows = append(d.WHRows, row)
	}
	d.SMTP = notifSMTPView{Set: !n.SMTP.IsZero(), Running: ws.RT != nil && ws.RT.SMTP != nil,
		PasswordMask: notifMask(n.SMTP.Password), Recipients: notifRecipients(n)}
	d.SMTP.PasswordHint = v.T("notifications.smtp.password_none")
	if d.SMTP.PasswordMask != "" {
		d.SMTP.PasswordHint = v.T("notifications.secret_kept", d.SMTP.PasswordMask)
	}
	for _, p := range s.app.Config().Validate().Warnings() {
		if sm := notifPathRE.FindStringSubmatch(p.Path); sm != nil && sm[1] == strconv.Itoa(ws.Index) {
			d.Warnings = append(d.Warnings, chatter.T(sm[2]+": "+p.Message.RU, sm[2]+": "+p.Message.EN))
		}
	}
	d.DNS = s.notifDNS(r, v, n)
	v.Data = d
	s.render(w, r, status, "notifications", v)
}

// notifValues are the form values of the stored settings n.
func notifValues(n config.Notifications, bots []string) url.Values {
	vals := url.Values{}
	sc := n.SMTP
	vals.Set("smtp_host", sc.Host)
	if sc.Port != 0 {
		vals.Set("smtp_port", strconv.Itoa(sc.Port))
	}
	vals.Set("smtp_tls", cmpOr(sc.TLS, config.TLSStartTLS))
	vals.Set("smtp_username", sc.Username)
	vals.Set("smtp_from", sc.From)
	if sc.English {
		vals.Set("smtp_english", "1")
	}
	for _, t := range notifTypes() {
		var to []string
		for _, r := range n.Email {
			if slices.Contains(notifEvents(r.Events), t) {
				for _, a := range r.To {
					if !slices.Contains(to, a) {
						to = append(to, a)
					}
				}
			}
		}
		if len(to) > 0 {
			vals.Add("email_on", t)
		}
		vals.Set("email_to_"+t, strings.Join(to, ", "))
	}
	vals.Set("tg_count", strconv.Itoa(len(n.Telegram)+1))
	for i, r := range n.Telegram {
		vals.Set(notifField(notifSecTelegram, i, "bot"), r.Bot)
		vals.Set(notifField(notifSecTelegram, i, "chat"), strconv.FormatInt(r.ChatID, 10))
		vals.Set(notifField(notifSecTelegram, i, "lang"), cmpOr(r.Lang, "ru"))
		vals[notifField(notifSecTelegram, i, "events")] = notifEvents(r.Events)
	}
	if len(bots) > 0 {
		vals.Set(notifField(notifSecTelegram, len(n.Telegram), "bot"), bots[0])
	}
	vals.Set(notifField(notifSecTelegram, len(n.Telegram), "lang"), "ru")
	vals[notifField(notifSecTelegram, len(n.Telegram), "events")] = notifTypes()
	vals.Set("wh_count", strconv.Itoa(len(n.Webhooks)+1))
	for i, h := range n.Webhooks {
		vals[notifField(notifSecWebhooks, i, "events")] = notifEvents(h.Events)
	}
	vals[notifField(notifSecWebhooks, len(n.Webhooks), "events")] = notifTypes()
	return vals
}

// notifDNS runs the sender domain's SPF and DKIM checks (DNS lookups,
// bounded by notifDNSTimeout) when SMTP is set up.
func (s *server) notifDNS(r *http.Request, v *view, n config.Notifications) []diagResult {
	sn, err := notifSMTPNotifier(n, nil)
	if sn == nil || err != nil {
		return nil
	}
	var checks []chatter.Check
	for _, c := range sn.Checks() {
		if c.Name() == "smtp_sender_spf" || c.Name() == "smtp_sender_dkim" {
			checks = append(checks, c)
		}
	}
	var out []diagResult
	for _, res := range chatter.RunChecks(r.Context(), checks, chatter.CheckOptions{Timeout: notifDNSTimeout}) {
		out = append(out, diagResultView(v.Lang, res))
	}
	return out
}

// notifEventsView is a group of event checkboxes (one row's events).
type notifEventsView struct {
	Name, Legend, Error string
	Items               []notifEventItem
}

type notifEventItem struct {
	ID, Value, Label string
	Checked          bool
}

// NotifEvents describes the event checkboxes named name for the
// "notif-events" template of the notifications page.
func (v *view) NotifEvents(name string) notifEventsView {
	ev := notifEventsView{Name: name, Legend: v.T("notifications.events"), Error: v.Err(name)}
	for _, t := range notifTypes() {
		ev.Items = append(ev.Items, notifEventItem{ID: name + "_" + t, Value: t, Label: notifLabel(t).In(v.Lang), Checked: v.Has(name, t)})
	}
	return ev
}
