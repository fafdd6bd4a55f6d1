package amocrmtest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WebhookEvents are the settings codes POST /api/v4/webhooks accepts.
var WebhookEvents = []string{
	"add_lead", "update_lead", "delete_lead", "restore_lead", "status_lead", "responsible_lead", "note_lead",
	"add_contact", "update_contact", "delete_contact", "restore_contact", "responsible_contact", "note_contact",
	"add_company", "update_company", "delete_company", "restore_company", "responsible_company", "note_company",
	"add_customer", "update_customer", "delete_customer", "responsible_customer", "note_customer",
	"add_task", "update_task", "delete_task", "responsible_task",
	"add_talk", "update_talk", "add_message", "add_chat_template_review",
}

// WebhookDelivery records one account webhook POST made by the server.
type WebhookDelivery struct {
	Destination string
	Form        url.Values // the decoded form body
	Body        string     // the raw application/x-www-form-urlencoded body
	Status      int        // the destination's status code, 0 on a transport error
	Err         string
	Time        time.Time
}

// outHook is one entity event for one destination.
type outHook struct {
	dest   string
	kind   string // leads, contacts, companies
	action string // add, update, status, responsible, note
	fields [][2]string
}

func singular(kind string) string {
	switch kind {
	case EntityLeads:
		return "lead"
	case EntityContacts:
		return "contact"
	case EntityCompanies:
		return "company"
	}
	return kind
}

// queueHook queues webhooks for an add or update of r; old is the record before
// an update.
func (c *call) queueHook(r *record, action string, old *record) {
	actions := []string{action}
	if old != nil {
		if r.kind == EntityLeads && (old.statusID != r.statusID || old.pipelineID != r.pipelineID) {
			actions = append(actions, "status")
		}
		if old.responsibleUserID != r.responsibleUserID {
			actions = append(actions, "responsible")
		}
	}
	for _, a := range actions {
		code := a + "_" + singular(r.kind)
		for _, w := range c.s.st.webhooks {
			if w.Disabled || !slices.Contains(w.Settings, code) {
				continue
			}
			c.hooks = append(c.hooks, outHook{dest: w.Destination, kind: r.kind, action: a, fields: c.hookFields(r, old, a)})
		}
	}
}

func (c *call) queueNoteHook(r *record, n *Note) {
	code := "note_" + singular(r.kind)
	for _, w := range c.s.st.webhooks {
		if w.Disabled || !slices.Contains(w.Settings, code) {
			continue
		}
		fields := [][2]string{
			{"note][id", strconv.FormatInt(n.ID, 10)},
			{"note][element_id", strconv.FormatInt(n.EntityID, 10)},
			{"note][note_type", n.NoteType},
			{"note][text", fmt.Sprint(n.Params["text"])},
			{"note][date_create", strconv.FormatInt(n.CreatedAt.Unix(), 10)},
			{"note][created_by", strconv.FormatInt(n.CreatedBy, 10)},
			{"note][account_id", strconv.FormatInt(c.s.st.account.ID, 10)},
		}
		c.hooks = append(c.hooks, outHook{dest: w.Destination, kind: r.kind, action: "note", fields: fields})
	}
}

// hookFields renders an entity in the legacy webhook field names.
func (c *call) hookFields(r *record, old *record, action string) [][2]string {
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	f := [][2]string{
		{"id", i64(r.id)},
		{"name", r.name},
		{"responsible_user_id", i64(r.responsibleUserID)},
		{"date_create", i64(r.createdAt)},
		{"created_at", i64(r.createdAt)},
		{"last_modified", i64(r.updatedAt)},
		{"updated_at", i64(r.updatedAt)},
		{"created_user_id", i64(r.createdBy)},
		{"modified_user_id", i64(r.updatedBy)},
		{"account_id", i64(c.s.st.account.ID)},
	}
	switch r.kind {
	case EntityLeads:
		f = append(f, [2]string{"status_id", i64(r.statusID)}, [2]string{"price", i64(r.price)},
			[2]string{"pipeline_id", i64(r.pipelineID)})
		if action == "status" && old != nil {
			f = append(f, [2]string{"old_status_id", i64(old.statusID)}, [2]string{"old_pipeline_id", i64(old.pipelineID)})
		}
	case EntityContacts:
		f = append(f, [2]string{"type", "contact"})
		if r.companyID != 0 {
			f = append(f, [2]string{"linked_company_id", i64(r.companyID)})
		}
	case EntityCompanies:
		f = append(f, [2]string{"type", "company"})
	}
	if action == "responsible" && old != nil {
		f = append(f, [2]string{"old_responsible_user_id", i64(old.responsibleUserID)})
	}
	for i, fv := range r.cf {
		p := "custom_fields][" + strconv.Itoa(i) + "]["
		f = append(f, [2]string{p + "id", i64(fv.FieldID)}, [2]string{p + "name", fv.FieldName})
		if fv.FieldCode != "" {
			f = append(f, [2]string{p + "code", fv.FieldCode})
		}
		for j, v := range fv.Values {
			vp := p + "values][" + strconv.Itoa(j) + "]["
			f = append(f, [2]string{vp + "value", valueString(v.Value)})
			if v.EnumID != 0 {
				f = append(f, [2]string{vp + "enum", i64(v.EnumID)})
			}
		}
	}
	for i, id := range r.tags {
		if t := c.s.st.tagByID(r.kind, id); t != nil {
			p := "tags][" + strconv.Itoa(i) + "]["
			f = append(f, [2]string{p + "id", i64(t.ID)}, [2]string{p + "name", t.Name})
		}
	}
	return f
}

// dispatch sends queued hooks, one POST per destination, in the background.
func (s *Server) dispatch(hooks []outHook) {
	if len(hooks) == 0 {
		return
	}
	s.mu.Lock()
	acc := s.st.account
	s.mu.Unlock()
	var dests []string
	forms := map[string]url.Values{}
	counts := map[string]int{}
	for _, h := range hooks {
		form := forms[h.dest]
		if form == nil {
			form = url.Values{}
			form.Set("account[subdomain]", acc.Subdomain)
			form.Set("account[id]", strconv.FormatInt(acc.ID, 10))
			form.Set("account[_links][self]", s.URL)
			forms[h.dest] = form
			dests = append(dests, h.dest)
		}
		key := h.dest + "|" + h.kind + "|" + h.action
		idx := counts[key]
		counts[key]++
		prefix := h.kind + "[" + h.action + "][" + strconv.Itoa(idx) + "]["
		for _, kv := range h.fields {
			form.Add(prefix+kv[0]+"]", kv[1])
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hookQueues == nil {
		s.hookQueues = map[string][]url.Values{}
	}
	for _, d := range dests {
		s.hooksWG.Add(1)
		q, running := s.hookQueues[d]
		s.hookQueues[d] = append(q, forms[d])
		if !running {
			go s.deliverQueue(d)
		}
	}
}

// deliverQueue delivers the queued posts of one destination in order, then
// exits. Called with the queue entry present, so dispatch does not start a
// second worker for the destination.
func (s *Server) deliverQueue(dest string) {
	for {
		s.mu.Lock()
		q := s.hookQueues[dest]
		if len(q) == 0 {
			delete(s.hookQueues, dest)
			s.mu.Unlock()
			return
		}
		form := q[0]
		s.hookQueues[dest] = q[1:]
		s.mu.Unlock()
		s.deliver(dest, form)
		s.hooksWG.Done()
	}
}

func (s *Server) deliver(dest string, form url.Values) {
	body := form.Encode()
	d := WebhookDelivery{Destination: dest, Form: form, Body: body}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dest, strings.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", "amoCRM-Webhooks/3.0")
		var resp *http.Response
		if resp, err = s.hookHTTP.Do(req); err == nil {
			d.Status = resp.StatusCode
			_ = resp.Body.Close()
		}
	}
	if err != nil {
		d.Err = err.Error()
		s.log.Warn("amocrmtest: webhook delivery failed", slog.String("destination", dest), slog.String("error", d.Err))
	}
	s.mu.Lock()
	d.Time = s.now()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
}

// FlushWebhooks waits until every account webhook queued so far has been
// delivered (or has failed).
func (s *Server) FlushWebhooks() { s.hooksWG.Wait() }

// WebhookDeliveries returns the account webhook POSTs made so far. Call
// FlushWebhooks first to include deliveries still in flight.
func (s *Server) WebhookDeliveries() []WebhookDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// --- subscription API ---------------------------------------------------------------

func (c *call) renderWebhook(w *Webhook) obj {
	return obj{"id": w.ID, "destination": w.Destination, "created_at": w.CreatedAt.Unix(),
		"updated_at": w.UpdatedAt.Unix(), "account_id": c.s.st.account.ID, "created_by": w.CreatedBy,
		"sort": w.Sort, "disabled": w.Disabled, "settings": w.Settings}
}

func (s *Server) listWebhooks(c *call) {
	if !c.requireAdmin() {
		return
	}
	dest := c.q.path("filter", "destination").first()
	items := []obj{}
	for _, w := range s.st.webhooks {
		if dest != "" && w.Destination != dest {
			continue
		}
		items = append(items, c.renderWebhook(w))
	}
	if len(items) == 0 {
		writeNoContent(c.w)
		return
	}
	writeHAL(c.w, http.StatusOK, obj{"_total_items": len(items), "_links": c.selfLink("/api/v4/webhooks"),
		"_embedded": obj{"webhooks": items}})
}

func (c *call) readObject() (*item, bool) {
	var errs []vError
	body := make([]byte, 0, 512)
	buf := make([]byte, 512)
	for {
		n, err := c.r.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	it, ok := newItem(body, "", &errs)
	if !ok {
		writeProblem(c.w, http.StatusBadRequest, "Request body is not a valid JSON object", nil)
	}
	return it, ok
}

func (s *Server) subscribeWebhook(c *call) {
	if !c.requireAdmin() {
		return
	}
	it, ok := c.readObject()
	if !ok {
		return
	}
	dest, _ := it.str("destination")
	if u, err := url.Parse(dest); dest == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		it.add(CodeNotSupportedChoice, "destination", "This value is not a valid URL.")
	}
	var settings []string
	if arr, ok := it.array("settings"); ok {
		for i, raw := range arr {
			v, ok := parseString(raw)
			if !ok || !slices.Contains(WebhookEvents, v) {
				it.add(CodeNotSupportedChoice, "settings."+strconv.Itoa(i), "The value you selected is not a valid choice.")
				continue
			}
			settings = append(settings, v)
		}
	}
	if len(settings) == 0 && len(*it.errs) == 0 {
		it.add(CodeNotBlank, "settings", "This value should not be blank.")
	}
	sort, _ := it.int("sort")
	if len(*it.errs) > 0 {
		writeValidation(c.w, []vGroup{{RequestID: "0", Errors: *it.errs}})
		return
	}
	now := c.now.Truncate(time.Second)
	for _, w := range s.st.webhooks {
		if w.Destination == dest {
			w.Settings, w.UpdatedAt, w.Disabled = settings, now, false
			if sort != 0 {
				w.Sort = int(sort)
			}
			writeHAL(c.w, http.StatusOK, c.renderWebhook(w))
			return
		}
	}
	w := &Webhook{ID: s.st.nextID("webhook"), Destination: dest, Settings: settings, Sort: int(max(sort, 1)),
		CreatedBy: c.u.ID, CreatedAt: now, UpdatedAt: now}
	s.st.webhooks = append(s.st.webhooks, w)
	writeHAL(c.w, http.StatusOK, c.renderWebhook(w))
}

func (s *Server) unsubscribeWebhook(c *call) {
	if !c.requireAdmin() {
		return
	}
	it, ok := c.readObject()
	if !ok {
		return
	}
	dest, _ := it.str("destination")
	if dest == "" {
		writeValidation(c.w, []vGroup{{RequestID: "0", Errors: []vError{{Code: CodeNotBlank, Path: "destination",
			Detail: "This value should not be blank."}}}})
		return
	}
	n := len(s.st.webhooks)
	s.st.webhooks = slices.DeleteFunc(s.st.webhooks, func(w *Webhook) bool { return w.Destination == dest })
	if len(s.st.webhooks) == n {
		writeProblem(c.w, http.StatusNotFound, "Webhook not found", nil)
		return
	}
	writeNoContent(c.w)
}
