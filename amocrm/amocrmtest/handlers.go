package amocrmtest

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// route is one endpoint: a method and a path pattern whose "{name}" segments
// are wildcards.
type route struct {
	method string
	segs   []string
	h      http.HandlerFunc
}

// router matches routes in registration order, so literal paths registered
// before wildcard ones win ("/leads/pipelines" before "/leads/{id}").
type router struct{ routes []route }

func (rt *router) handle(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	rt.routes = append(rt.routes, route{method: method, segs: strings.Split(strings.Trim(path, "/"), "/"), h: h})
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	pathMatched := false
	for _, ro := range rt.routes {
		if len(ro.segs) != len(segs) {
			continue
		}
		ok := true
		for i, p := range ro.segs {
			if !strings.HasPrefix(p, "{") && p != segs[i] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		pathMatched = true
		if ro.method != r.Method {
			continue
		}
		for i, p := range ro.segs {
			if strings.HasPrefix(p, "{") {
				r.SetPathValue(strings.Trim(p, "{}"), segs[i])
			}
		}
		ro.h(w, r)
		return
	}
	if pathMatched {
		writeProblem(w, http.StatusMethodNotAllowed, "Method not allowed", nil)
		return
	}
	writeProblem(w, http.StatusNotFound, "Not found", nil)
}

// routes registers every endpoint the fake serves.
func (s *Server) routes() *router {
	m := &router{}
	m.handle("POST /oauth2/access_token", s.handleToken)
	m.handle("GET /api/v4/account", s.api(s.getAccount))
	m.handle("GET /api/v4/users", s.api(s.listUsers))
	m.handle("GET /api/v4/users/{id}", s.api(s.getUser))
	m.handle("POST /api/v4/leads/complex", s.api(s.complexCreate))
	m.handle("GET /api/v4/leads/pipelines", s.api(s.listPipelines))
	m.handle("GET /api/v4/leads/pipelines/{id}", s.api(s.getPipeline))
	m.handle("GET /api/v4/leads/pipelines/{id}/statuses", s.api(s.listStatuses))
	m.handle("GET /api/v4/leads/pipelines/{id}/statuses/{status_id}", s.api(s.getStatus))
	m.handle("GET /api/v4/leads/unsorted", s.api(s.listUnsorted))
	m.handle("POST /api/v4/leads/unsorted/forms", s.api(s.createUnsortedForms))
	m.handle("GET /api/v4/leads/unsorted/{uid}", s.api(s.getUnsorted))
	m.handle("POST /api/v4/leads/unsorted/{uid}/accept", s.api(s.acceptUnsorted))
	m.handle("DELETE /api/v4/leads/unsorted/{uid}/decline", s.api(s.declineUnsorted))
	m.handle("GET /api/v4/tasks", s.api(s.listTasks))
	m.handle("POST /api/v4/tasks", s.api(s.createTasks))
	m.handle("PATCH /api/v4/tasks", s.api(s.updateTasks(false)))
	m.handle("GET /api/v4/tasks/{id}", s.api(s.getTask))
	m.handle("PATCH /api/v4/tasks/{id}", s.api(s.updateTasks(true)))
	m.handle("GET /api/v4/webhooks", s.api(s.listWebhooks))
	m.handle("POST /api/v4/webhooks", s.api(s.subscribeWebhook))
	m.handle("DELETE /api/v4/webhooks", s.api(s.unsubscribeWebhook))
	for _, kind := range []string{EntityLeads, EntityContacts, EntityCompanies} {
		p := "/api/v4/" + kind
		m.handle("GET "+p, s.api(s.listRecords(kind)))
		m.handle("POST "+p, s.api(s.createRecords(kind)))
		m.handle("PATCH "+p, s.api(s.updateRecords(kind, false)))
		m.handle("GET "+p+"/custom_fields", s.api(s.listFields(kind)))
		m.handle("POST "+p+"/custom_fields", s.api(s.createFields(kind)))
		m.handle("GET "+p+"/custom_fields/{id}", s.api(s.getField(kind)))
		m.handle("GET "+p+"/notes", s.api(s.listNotes(kind, false)))
		m.handle("POST "+p+"/notes", s.api(s.createNotes(kind, false)))
		m.handle("GET "+p+"/notes/{note_id}", s.api(s.getNoteByID(kind)))
		m.handle("GET "+p+"/tags", s.api(s.listTags(kind)))
		m.handle("POST "+p+"/tags", s.api(s.createTags(kind)))
		m.handle("POST "+p+"/link", s.api(s.link(kind, false, false)))
		m.handle("POST "+p+"/unlink", s.api(s.link(kind, false, true)))
		m.handle("GET "+p+"/{id}", s.api(s.getRecord(kind)))
		m.handle("PATCH "+p+"/{id}", s.api(s.updateRecords(kind, true)))
		m.handle("GET "+p+"/{id}/notes", s.api(s.listNotes(kind, true)))
		m.handle("POST "+p+"/{id}/notes", s.api(s.createNotes(kind, true)))
		m.handle("GET "+p+"/{id}/notes/{note_id}", s.api(s.getNote(kind)))
		m.handle("GET "+p+"/{id}/links", s.api(s.listLinks(kind)))
		m.handle("POST "+p+"/{id}/link", s.api(s.link(kind, true, false)))
		m.handle("POST "+p+"/{id}/unlink", s.api(s.link(kind, true, true)))
	}
	return m
}

func pathID(r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return id, err == nil
}

// --- account and users -----------------------------------------------------------

func (s *Server) getAccount(c *call) {
	a := s.st.account
	with := withSet(c.q)
	o := obj{
		"id": a.ID, "name": a.Name, "subdomain": a.Subdomain, "created_at": 1577836800, "created_by": 0,
		"updated_at": 1577836800, "updated_by": 0, "current_user_id": c.u.ID, "country": "RU",
		"currency": "RUB", "currency_symbol": "₽", "customers_mode": "disabled", "is_unsorted_on": true,
		"mobile_feature_version": 0, "is_loss_reason_enabled": true, "is_helpbot_enabled": false,
		"is_technical_account": false, "contact_name_display_order": 1,
		"_links": c.selfLink("/api/v4/account"),
	}
	emb := obj{}
	if with["amojo_id"] {
		o["amojo_id"] = a.AmojoID
	}
	if with["uuid"] {
		o["uuid"] = a.UUID
	}
	if with["version"] {
		o["version"] = 8
	}
	// amojo_rights, datetime_settings, users_groups and task_types come in
	// _embedded (the official SDK's AccountModel::fromArray reads them there).
	if with["amojo_rights"] {
		emb["amojo_rights"] = obj{"can_direct": true, "can_create_groups": true}
	}
	if with["datetime_settings"] {
		emb["datetime_settings"] = obj{"date_pattern": "d.m.Y H:i", "short_date_pattern": "d.m.Y",
			"short_time_pattern": "H:i", "date_format": "d.m.Y", "time_format": "H:i:s",
			"timezone": "Europe/Moscow", "timezone_offset": "+03:00"}
	}
	if with["is_api_filter_enabled"] {
		o["is_api_filter_enabled"] = true
	}
	if with["users_groups"] {
		groups := []obj{}
		for _, g := range a.UsersGroups {
			groups = append(groups, obj{"id": g.ID, "name": g.Name, "uuid": nil})
		}
		emb["users_groups"] = groups
	}
	if with["task_types"] {
		emb["task_types"] = []obj{
			{"id": 1, "name": "Связаться", "color": nil, "icon_id": nil, "code": "FOLLOW_UP"},
			{"id": 2, "name": "Встреча", "color": nil, "icon_id": nil, "code": "MEETING"},
		}
	}
	if len(emb) > 0 {
		o["_embedded"] = emb
	}
	writeHAL(c.w, http.StatusOK, o)
}

func right(v string) string {
	if v == "" {
		return RightAll
	}
	return v
}

func (c *call) renderUser(u *User, with map[string]bool) obj {
	er := func(e EntityRights) obj {
		return obj{"view": right(e.View), "edit": right(e.Edit), "add": right(e.Add),
			"delete": right(e.Delete), "export": right(e.Export)}
	}
	o := obj{
		"id": u.ID, "name": u.Name, "email": u.Email, "lang": u.Lang,
		"rights": obj{
			"leads": er(u.Rights.Leads), "contacts": er(u.Rights.Contacts), "companies": er(u.Rights.Companies),
			"tasks":       obj{"edit": "A", "delete": "A"},
			"mail_access": true, "catalog_access": true, "files_access": true,
			"status_rights": []obj{}, "catalog_rights": nil, "custom_fields_rights": nil,
			"oper_day_reports_view_access": false, "oper_day_user_tracking": false,
			"is_admin": u.Rights.IsAdmin, "is_free": false, "is_active": !u.Rights.Inactive,
			"group_id": nullInt(u.Rights.GroupID), "role_id": nil,
		},
		"_links": c.selfLink("/api/v4/users/" + strconv.FormatInt(u.ID, 10)),
	}
	if with["amojo_id"] {
		o["amojo_id"] = "a1b2c3d4-0000-4000-8000-" + strconv.FormatInt(1e11+u.ID, 10)
	}
	if with["uuid"] {
		o["uuid"] = "u" + strconv.FormatInt(u.ID, 10)
	}
	if with["group"] || with["role"] {
		emb := obj{}
		if with["group"] {
			for _, g := range c.s.st.account.UsersGroups {
				if g.ID == u.Rights.GroupID {
					emb["groups"] = []obj{{"id": g.ID, "name": g.Name}}
				}
			}
		}
		if with["role"] {
			emb["roles"] = []obj{}
		}
		o["_embedded"] = emb
	}
	return o
}

func (s *Server) listUsers(c *call) {
	with := withSet(c.q)
	items := make([]any, 0, len(s.st.users))
	for _, u := range s.st.users {
		items = append(items, c.renderUser(u, with))
	}
	writeList(c.w, c.r, "users", items, pagingOf(c.r.URL.Query(), MaxLimit), true)
}

func (s *Server) getUser(c *call) {
	id, _ := pathID(c.r, "id")
	u := s.st.user(id)
	if u == nil {
		writeNoContent(c.w)
		return
	}
	writeHAL(c.w, http.StatusOK, c.renderUser(u, withSet(c.q)))
}

// --- custom fields -------------------------------------------------------------

func (c *call) renderField(f *CustomField) obj {
	var enums any
	if len(f.Enums) > 0 {
		es := []obj{}
		for _, e := range f.Enums {
			es = append(es, obj{"id": e.ID, "value": e.Value, "sort": e.Sort})
		}
		enums = es
	}
	rs := []obj{}
	for _, r := range f.RequiredStatuses {
		rs = append(rs, obj{"pipeline_id": r.PipelineID, "status_id": r.StatusID})
	}
	var code, group any
	if f.Code != "" {
		code = f.Code
	}
	if f.GroupID != "" {
		group = f.GroupID
	}
	return obj{
		"id": f.ID, "name": f.Name, "type": f.Type, "account_id": c.s.st.account.ID, "code": code,
		"sort": f.Sort, "is_api_only": f.IsAPIOnly, "enums": enums, "group_id": group,
		"required_statuses": rs, "is_deletable": !f.IsPredefined, "is_predefined": f.IsPredefined,
		"entity_type": f.EntityType, "remind": nil, "settings": nil, "is_visible": true,
		"is_required": false, "search_in": nil, "tracking_callback": nil, "is_computed": false,
		"_links": c.selfLink("/api/v4/" + f.EntityType + "/custom_fields/" + strconv.FormatInt(f.ID, 10)),
	}
}

func (s *Server) listFields(kind string) func(c *call) {
	return func(c *call) {
		types := c.q.path("filter", "type").all()
		fields := slices.Clone(s.st.fields[kind])
		if o := c.q.path("order", "id").first(); strings.EqualFold(o, "desc") {
			slices.Reverse(fields)
		}
		items := []any{}
		for _, f := range fields {
			if len(types) > 0 && !slices.Contains(types, f.Type) {
				continue
			}
			items = append(items, c.renderField(f))
		}
		writeList(c.w, c.r, "custom_fields", items, pagingOf(c.r.URL.Query(), MaxFieldsLimit), true)
	}
}

func (s *Server) getField(kind string) func(c *call) {
	return func(c *call) {
		id, _ := pathID(c.r, "id")
		f := s.st.field(kind, id)
		if f == nil {
			writeNoContent(c.w)
			return
		}
		writeHAL(c.w, http.StatusOK, c.renderField(f))
	}
}

// --- pipelines ----------------------------------------------------------------------

func (c *call) renderStatus(x Status) obj {
	return obj{"id": x.ID, "name": x.Name, "sort": x.Sort, "is_editable": x.ID != StatusWon && x.ID != StatusLost && x.Type == 0,
		"pipeline_id": x.PipelineID, "color": x.Color, "type": x.Type, "account_id": c.s.st.account.ID,
		"_links": c.selfLink("/api/v4/leads/pipelines/" + strconv.FormatInt(x.PipelineID, 10) +
			"/statuses/" + strconv.FormatInt(x.ID, 10))}
}

func (c *call) renderPipeline(p *Pipeline) obj {
	statuses := []obj{}
	for _, x := range p.Statuses {
		statuses = append(statuses, c.renderStatus(x))
	}
	return obj{"id": p.ID, "name": p.Name, "sort": p.Sort, "is_main": p.IsMain, "is_unsorted_on": p.IsUnsortedOn,
		"is_archive": p.IsArchive, "account_id": c.s.st.account.ID,
		"_links":    c.selfLink("/api/v4/leads/pipelines/" + strconv.FormatInt(p.ID, 10)),
		"_embedded": obj{"statuses": statuses}}
}

func (s *Server) listPipelines(c *call) {
	if len(s.st.pipelines) == 0 {
		writeNoContent(c.w)
		return
	}
	items := []obj{}
	for _, p := range s.st.pipelines {
		items = append(items, c.renderPipeline(p))
	}
	writeHAL(c.w, http.StatusOK, obj{"_total_items": len(items), "_links": c.selfLink("/api/v4/leads/pipelines"),
		"_embedded": obj{"pipelines": items}})
}

func (s *Server) getPipeline(c *call) {
	id, _ := pathID(c.r, "id")
	p := s.st.pipeline(id)
	if p == nil {
		writeNoContent(c.w)
		return
	}
	writeHAL(c.w, http.StatusOK, c.renderPipeline(p))
}

func (s *Server) listStatuses(c *call) {
	id, _ := pathID(c.r, "id")
	p := s.st.pipeline(id)
	if p == nil {
		writeNoContent(c.w)
		return
	}
	items := []obj{}
	for _, x := range p.Statuses {
		items = append(items, c.renderStatus(x))
	}
	writeHAL(c.w, http.StatusOK, obj{"_total_items": len(items),
		"_links":    c.selfLink("/api/v4/leads/pipelines/" + strconv.FormatInt(id, 10) + "/statuses"),
		"_embedded": obj{"statuses": items}})
}

func (s *Server) getStatus(c *call) {
	id, _ := pathID(c.r, "id")
	sid, _ := pathID(c.r, "status_id")
	p := s.st.pipeline(id)
	if p == nil || findStatus(p, sid) == nil {
		writeNoContent(c.w)
		return
	}
	writeHAL(c.w, http.StatusOK, c.renderStatus(*findStatus(p, sid)))
}

// --- notes ----------------------------------------------------------------------

// NoteTypes are the note_type values the API accepts on create.
var NoteTypes = []string{"common", "call_in", "call_out", "service_message", "extended_service_message",
	"sms_in", "sms_out", "attachment", "geolocation", "message_cashier", "invoice_paid", "bill_paid",
	"targeting_in", "targeting_out", "link_followed", "transaction", "ai_result"}

func (c *call) renderNote(n *Note) obj {
	params := n.Params
	if params == nil {
		params = map[string]any{}
	}
	return obj{"id": n.ID, "entity_id": n.EntityID, "created_by": n.CreatedBy, "updated_by": n.CreatedBy,
		"created_at": n.CreatedAt.Unix(), "updated_at": n.UpdatedAt.Unix(), "responsible_user_id": n.ResponsibleUserID,
		"group_id": 0, "note_type": n.NoteType, "params": params, "account_id": c.s.st.account.ID,
		"is_pinned": false,
		"_links": c.selfLink("/api/v4/" + n.EntityType + "/" + strconv.FormatInt(n.EntityID, 10) +
			"/notes/" + strconv.FormatInt(n.ID, 10))}
}

func (s *Server) listNotes(kind string, byEntity bool) func(c *call) {
	return func(c *call) {
		if !c.allowed(kind, "view") {
			return
		}
		var entityID int64
		if byEntity {
			var ok bool
			if entityID, ok = pathID(c.r, "id"); !ok {
				writeProblem(c.w, http.StatusNotFound, "Not found", nil)
				return
			}
		}
		f := c.q.child("filter")
		ids := ints(f.child("entity_id"))
		types := f.child("note_type").all()
		items := []any{}
		for _, n := range s.st.notes {
			if n.EntityType != kind || (byEntity && n.EntityID != entityID) {
				continue
			}
			if len(ids) > 0 && !slices.Contains(ids, n.EntityID) {
				continue
			}
			if len(types) > 0 && !slices.Contains(types, n.NoteType) {
				continue
			}
			items = append(items, c.renderNote(n))
		}
		writeList(c.w, c.r, "notes", items, pagingOf(c.r.URL.Query(), MaxLimit), false)
	}
}

func (s *Server) getNote(kind string) func(c *call) {
	return func(c *call) {
		id, _ := pathID(c.r, "id")
		nid, _ := pathID(c.r, "note_id")
		for _, n := range s.st.notes {
			if n.EntityType == kind && n.EntityID == id && n.ID == nid {
				writeHAL(c.w, http.StatusOK, c.renderNote(n))
				return
			}
		}
		writeNoContent(c.w)
	}
}

// getNoteByID serves GET /api/v4/{kind}/notes/{id} (the official SDK's
// Notes::getOne path).
func (s *Server) getNoteByID(kind string) func(c *call) {
	return func(c *call) {
		if !c.allowed(kind, "view") {
			return
		}
		nid, _ := pathID(c.r, "note_id")
		for _, n := range s.st.notes {
			if n.EntityType == kind && n.ID == nid {
				writeHAL(c.w, http.StatusOK, c.renderNote(n))
				return
			}
		}
		writeNoContent(c.w)
	}
}

func (s *Server) createNotes(kind string, byEntity bool) func(c *call) {
	return func(c *call) {
		if !c.allowed(kind, "edit") {
			return
		}
		pathEntity, ok := s.entityFromPath(c, kind, byEntity)
		if !ok {
			return
		}
		arr, ok := c.readArray(MaxBatch)
		if !ok {
			return
		}
		var groups []vGroup
		var notes []*Note
		var reqIDs []string
		for i, raw := range arr {
			var errs []vError
			it, ok := newItem(raw, "", &errs)
			reqID := strconv.Itoa(i)
			if ok {
				reqID = it.requestID(reqID)
				n := &Note{EntityType: kind, EntityID: pathEntity, CreatedBy: c.u.ID, ResponsibleUserID: c.u.ID,
					CreatedAt: c.now.Truncate(1e9), UpdatedAt: c.now.Truncate(1e9)}
				if !byEntity {
					if id, ok := it.int("entity_id"); !ok {
						if _, bad := it.m["entity_id"]; !bad {
							it.add(CodeNotBlank, "entity_id", "This value should not be blank.")
						}
					} else if s.st.get(kind, id) == nil {
						it.add(CodeNotSupportedChoice, "entity_id", "The value you selected is not a valid choice.")
					} else {
						n.EntityID = id
					}
				}
				if t, ok := it.str("note_type"); !ok {
					if _, bad := it.m["note_type"]; !bad {
						it.add(CodeNotBlank, "note_type", "This value should not be blank.")
					}
				} else if !slices.Contains(NoteTypes, t) {
					it.add(CodeNotSupportedChoice, "note_type", "The value you selected is not a valid choice.")
				} else {
					n.NoteType = t
				}
				if raw, ok := it.raw("params"); ok {
					if err := json.Unmarshal(raw, &n.Params); err != nil {
						it.add(CodeInvalidType, "params", "This value should be of type object.")
					}
				}
				if n.NoteType == "common" || n.NoteType == "service_message" {
					if txt, _ := n.Params["text"].(string); txt == "" {
						it.add(CodeNotBlank, "params.text", "This value should not be blank.")
					}
				}
				if v, ok := it.int("responsible_user_id"); ok {
					if s.st.user(v) == nil {
						it.add(CodeNotSupportedChoice, "responsible_user_id", "The value you selected is not a valid choice.")
					}
					n.ResponsibleUserID = v
				}
				notes = append(notes, n)
				reqIDs = append(reqIDs, reqID)
			}
			if len(errs) > 0 {
				groups = append(groups, vGroup{RequestID: reqID, Errors: errs})
			}
		}
		if len(groups) > 0 {
			writeValidation(c.w, groups)
			return
		}
		out := []obj{}
		for i, n := range notes {
			n.ID = s.st.nextID("note")
			s.st.notes = append(s.st.notes, n)
			if r := s.st.get(kind, n.EntityID); r != nil {
				c.queueNoteHook(r, n)
			}
			out = append(out, obj{"id": n.ID, "entity_id": n.EntityID, "request_id": reqIDs[i],
				"_links": c.selfLink("/api/v4/" + kind + "/" + strconv.FormatInt(n.EntityID, 10) +
					"/notes/" + strconv.FormatInt(n.ID, 10))})
		}
		writeHAL(c.w, http.StatusOK, obj{"_links": c.selfLink(c.r.URL.Path), "_embedded": obj{"notes": out}})
	}
}

// --- tags ----------------------------------------------------------------------

func (s *Server) listTags(kind string) func(c *call) {
	return func(c *call) {
		names := c.q.path("filter", "name").all()
		ids := ints(c.q.path("filter", "id"))
		query := strings.ToLower(c.q.child("query").first())
		items := []any{}
		for _, t := range s.st.tags[kind] {
			if len(names) > 0 && !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, t.Name) }) {
				continue
			}
			if len(ids) > 0 && !slices.Contains(ids, t.ID) {
				continue
			}
			if query != "" && !strings.Contains(strings.ToLower(t.Name), query) {
				continue
			}
			var color any
			if t.Color != "" {
				color = t.Color
			}
			items = append(items, obj{"id": t.ID, "name": t.Name, "color": color})
		}
		writeList(c.w, c.r, "tags", items, pagingOf(c.r.URL.Query(), MaxLimit), false)
	}
}

func (s *Server) createTags(kind string) func(c *call) {
	return func(c *call) {
		arr, ok := c.readArray(MaxBatch)
		if !ok {
			return
		}
		var groups []vGroup
		type in struct{ name, color, reqID string }
		var ins []in
		for i, raw := range arr {
			var errs []vError
			it, ok := newItem(raw, "", &errs)
			reqID := strconv.Itoa(i)
			if ok {
				reqID = it.requestID(reqID)
				name, _ := it.str("name")
				if strings.TrimSpace(name) == "" {
					it.add(CodeNotBlank, "name", "This value should not be blank.")
				}
				color, _ := it.str("color")
				ins = append(ins, in{name, color, reqID})
			}
			if len(errs) > 0 {
				groups = append(groups, vGroup{RequestID: reqID, Errors: errs})
			}
		}
		if len(groups) > 0 {
			writeValidation(c.w, groups)
			return
		}
		out := []obj{}
		for _, x := range ins {
			t := s.st.tagByName(kind, x.name, true)
			if x.color != "" {
				t.Color = x.color
			}
			out = append(out, obj{"id": t.ID, "name": t.Name, "request_id": x.reqID})
		}
		writeHAL(c.w, http.StatusOK, obj{"_links": c.selfLink("/api/v4/" + kind + "/tags"), "_embedded": obj{"tags": out}})
	}
}

// --- links -----------------------------------------------------------------------

func (s *Server) linksOf(r *record) []obj {
	var out []obj
	add := func(kind string, id int64, meta obj) {
		out = append(out, obj{"to_entity_id": id, "to_entity_type": kind, "metadata": meta})
	}
	switch r.kind {
	case EntityLeads:
		for i, id := range r.contactIDs {
			if s.st.get(EntityContacts, id) != nil {
				add(EntityContacts, id, obj{"main_contact": i == 0})
			}
		}
		if r.companyID != 0 && s.st.get(EntityCompanies, r.companyID) != nil {
			add(EntityCompanies, r.companyID, nil)
		}
	case EntityContacts:
		if r.companyID != 0 && s.st.get(EntityCompanies, r.companyID) != nil {
			add(EntityCompanies, r.companyID, nil)
		}
		for _, id := range s.leadsOfContact(r.id) {
			add(EntityLeads, id, nil)
		}
	case EntityCompanies:
		for _, id := range s.contactsOfCompany(r.id) {
			add(EntityContacts, id, nil)
		}
		for _, id := range s.leadsOfCompany(r.id) {
			add(EntityLeads, id, nil)
		}
	}
	for i := range out {
		out[i]["entity_id"] = r.id
		out[i]["entity_type"] = r.kind
	}
	return out
}

func (s *Server) listLinks(kind string) func(c *call) {
	return func(c *call) {
		id, _ := pathID(c.r, "id")
		r := s.st.get(kind, id)
		if r == nil {
			writeNoContent(c.w)
			return
		}
		links := s.linksOf(r)
		if len(links) == 0 {
			writeNoContent(c.w)
			return
		}
		writeHAL(c.w, http.StatusOK, obj{"_total_items": len(links), "_links": c.selfLink(c.r.URL.Path),
			"_embedded": obj{"links": links}})
	}
}

// link serves POST /{kind}/{id}/link, /{kind}/link and the unlink variants.
func (s *Server) link(kind string, byEntity, unlink bool) func(c *call) {
	return func(c *call) {
		if !c.allowed(kind, "edit") {
			return
		}
		pathEntity, ok := s.entityFromPath(c, kind, byEntity)
		if !ok {
			return
		}
		arr, ok := c.readArray(MaxBatch)
		if !ok {
			return
		}
		type op struct {
			from, to *record
			main     bool
		}
		var ops []op
		var groups []vGroup
		for i, raw := range arr {
			var errs []vError
			it, ok := newItem(raw, "", &errs)
			if ok {
				from := s.st.get(kind, pathEntity)
				if !byEntity {
					id, _ := it.int("entity_id")
					if from = s.st.get(kind, id); from == nil {
						it.add(CodeNotSupportedChoice, "entity_id", "The value you selected is not a valid choice.")
					}
				}
				toType, _ := it.str("to_entity_type")
				toID, _ := it.int("to_entity_id")
				var to *record
				if !validEntity(toType) || toType == kind {
					it.add(CodeNotSupportedChoice, "to_entity_type", "The value you selected is not a valid choice.")
				} else if to = s.st.get(toType, toID); to == nil {
					it.add(CodeNotSupportedChoice, "to_entity_id", "The value you selected is not a valid choice.")
				}
				main := false
				if md, ok := it.sub("metadata"); ok {
					main, _ = md.bool("main_contact")
				}
				if from != nil && to != nil {
					ops = append(ops, op{from, to, main})
				}
			}
			if len(errs) > 0 {
				groups = append(groups, vGroup{RequestID: strconv.Itoa(i), Errors: errs})
			}
		}
		if len(groups) > 0 {
			writeValidation(c.w, groups)
			return
		}
		out := []obj{}
		for _, o := range ops {
			a, b := o.from, o.to
			if a.kind == EntityContacts && b.kind == EntityLeads || a.kind == EntityCompanies && b.kind != EntityCompanies {
				a, b = b, a // normalise: lead→contact/company, contact→company
			}
			switch {
			case a.kind == EntityLeads && b.kind == EntityContacts:
				a.contactIDs = slices.DeleteFunc(a.contactIDs, func(id int64) bool { return id == b.id })
				if !unlink {
					if o.main {
						a.contactIDs = append([]int64{b.id}, a.contactIDs...)
					} else {
						a.contactIDs = append(a.contactIDs, b.id)
					}
				}
			case b.kind == EntityCompanies:
				if unlink {
					if a.companyID == b.id {
						a.companyID = 0
					}
				} else {
					a.companyID = b.id
				}
			}
			a.updatedAt = c.now.Unix()
			item := obj{"entity_id": o.from.id, "entity_type": kind, "to_entity_id": o.to.id, "to_entity_type": o.to.kind}
			if o.to.kind == EntityContacts && kind == EntityLeads {
				item["metadata"] = obj{"main_contact": o.main}
			}
			out = append(out, item)
		}
		if unlink {
			writeNoContent(c.w)
			return
		}
		writeHAL(c.w, http.StatusOK, obj{"_total_items": len(out), "_links": c.selfLink(c.r.URL.Path),
			"_embedded": obj{"links": out}})
	}
}

// --- tasks -----------------------------------------------------------------------

func (c *call) renderTask(t *Task) obj {
	var result any = []any{}
	if t.Result != "" {
		result = obj{"text": t.Result}
	}
	return obj{"id": t.ID, "created_by": t.CreatedBy, "updated_by": t.CreatedBy, "created_at": t.CreatedAt.Unix(),
		"updated_at": t.UpdatedAt.Unix(), "responsible_user_id": t.ResponsibleUserID, "group_id": 0,
		"entity_id": nullInt(t.EntityID), "entity_type": t.EntityType, "duration": 0, "is_completed": t.IsCompleted,
		"task_type_id": t.TaskTypeID, "text": t.Text, "result": result, "complete_till": t.CompleteTill.Unix(),
		"account_id": c.s.st.account.ID, "_links": c.selfLink("/api/v4/tasks/" + strconv.FormatInt(t.ID, 10))}
}

func (s *Server) listTasks(c *call) {
	f := c.q.child("filter")
	ids := ints(f.child("entity_id"))
	types := f.child("entity_type").all()
	done := f.child("is_completed").first()
	items := []any{}
	for _, t := range s.st.tasks {
		if len(ids) > 0 && !slices.Contains(ids, t.EntityID) {
			continue
		}
		if len(types) > 0 && !slices.Contains(types, t.EntityType) {
			continue
		}
		if done != "" && (done == "1" || done == "true") != t.IsCompleted {
			continue
		}
		items = append(items, c.renderTask(t))
	}
	writeList(c.w, c.r, "tasks", items, pagingOf(c.r.URL.Query(), MaxLimit), false)
}

func (s *Server) getTask(c *call) {
	id, _ := pathID(c.r, "id")
	for _, t := range s.st.tasks {
		if t.ID == id {
			writeHAL(c.w, http.StatusOK, c.renderTask(t))
			return
		}
	}
	writeNoContent(c.w)
}

// taskInput validates and applies one task item.
func (c *call) taskInput(it *item, t *Task, create bool) {
	st := c.s.st
	if v, ok := it.str("text"); ok {
		t.Text = v
	}
	if create && strings.TrimSpace(t.Text) == "" {
		it.add(CodeNotBlank, "text", "This value should not be blank.")
	}
	if v, ok := it.int("complete_till"); ok {
		t.CompleteTill = timeOf(v)
	} else if create {
		if _, bad := it.m["complete_till"]; !bad {
			it.add(CodeNotBlank, "complete_till", "This value should not be blank.")
		}
	}
	if v, ok := it.int("task_type_id"); ok {
		if v != 1 && v != 2 {
			it.add(CodeNotSupportedChoice, "task_type_id", "The value you selected is not a valid choice.")
		}
		t.TaskTypeID = v
	}
	if v, ok := it.int("responsible_user_id"); ok {
		if st.user(v) == nil {
			it.add(CodeNotSupportedChoice, "responsible_user_id", "The value you selected is not a valid choice.")
		}
		t.ResponsibleUserID = v
	}
	et, hasT := it.str("entity_type")
	eid, hasID := it.int("entity_id")
	if hasT || hasID {
		if !hasT {
			et = t.EntityType
		}
		if !validEntity(et) {
			it.add(CodeNotSupportedChoice, "entity_type", "The value you selected is not a valid choice.")
		} else if hasID && st.get(et, eid) == nil {
			it.add(CodeNotSupportedChoice, "entity_id", "The value you selected is not a valid choice.")
		} else {
			t.EntityType = et
			if hasID {
				t.EntityID = eid
			}
		}
	}
	if v, ok := it.bool("is_completed"); ok {
		t.IsCompleted = v
	}
	if rs, ok := it.sub("result"); ok {
		if txt, ok := rs.str("text"); ok {
			t.Result = txt
		}
	}
}

func (s *Server) createTasks(c *call) {
	arr, ok := c.readArray(MaxBatch)
	if !ok {
		return
	}
	var groups []vGroup
	var tasks []*Task
	var reqIDs []string
	for i, raw := range arr {
		var errs []vError
		it, ok := newItem(raw, "", &errs)
		reqID := strconv.Itoa(i)
		if ok {
			reqID = it.requestID(reqID)
			t := &Task{TaskTypeID: 1, ResponsibleUserID: c.u.ID, CreatedBy: c.u.ID,
				CreatedAt: c.now.Truncate(1e9), UpdatedAt: c.now.Truncate(1e9)}
			c.taskInput(it, t, true)
			tasks = append(tasks, t)
			reqIDs = append(reqIDs, reqID)
		}
		if len(errs) > 0 {
			groups = append(groups, vGroup{RequestID: reqID, Errors: errs})
		}
	}
	if len(groups) > 0 {
		writeValidation(c.w, groups)
		return
	}
	out := []obj{}
	for i, t := range tasks {
		t.ID = s.st.nextID("task")
		s.st.tasks = append(s.st.tasks, t)
		out = append(out, obj{"id": t.ID, "request_id": reqIDs[i], "_links": c.selfLink("/api/v4/tasks/" + strconv.FormatInt(t.ID, 10))})
	}
	writeHAL(c.w, http.StatusOK, obj{"_links": c.selfLink("/api/v4/tasks"), "_embedded": obj{"tasks": out}})
}

func (s *Server) updateTasks(single bool) func(c *call) {
	return func(c *call) {
		var arr []json.RawMessage
		if single {
			body, _ := io.ReadAll(c.r.Body)
			arr = []json.RawMessage{body}
		} else {
			var ok bool
			if arr, ok = c.readArray(MaxBatch); !ok {
				return
			}
		}
		var groups []vGroup
		type upd struct {
			cur, next *Task
			reqID     string
		}
		var ups []upd
		for i, raw := range arr {
			var errs []vError
			it, ok := newItem(raw, "", &errs)
			reqID := strconv.Itoa(i)
			if ok {
				reqID = it.requestID(reqID)
				var id int64
				if single {
					id, _ = pathID(c.r, "id")
				} else {
					id, _ = it.int("id")
				}
				var cur *Task
				for _, t := range s.st.tasks {
					if t.ID == id {
						cur = t
					}
				}
				if cur == nil {
					if single {
						writeProblem(c.w, http.StatusNotFound, "Entity not found", nil)
						return
					}
					it.add(CodeNotSupportedChoice, "id", "Entity not found.")
				} else {
					next := *cur
					c.taskInput(it, &next, false)
					next.UpdatedAt = c.now.Truncate(1e9)
					ups = append(ups, upd{cur, &next, reqID})
				}
			}
			if len(errs) > 0 {
				groups = append(groups, vGroup{RequestID: reqID, Errors: errs})
			}
		}
		if len(groups) > 0 {
			writeValidation(c.w, groups)
			return
		}
		out := []obj{}
		for _, u := range ups {
			*u.cur = *u.next
			out = append(out, obj{"id": u.cur.ID, "updated_at": u.cur.UpdatedAt.Unix(), "request_id": u.reqID,
				"_links": c.selfLink("/api/v4/tasks/" + strconv.FormatInt(u.cur.ID, 10))})
		}
		if single {
			delete(out[0], "request_id")
			writeHAL(c.w, http.StatusOK, out[0])
			return
		}
		writeHAL(c.w, http.StatusOK, obj{"_links": c.selfLink("/api/v4/tasks"), "_embedded": obj{"tasks": out}})
	}
}

// entityFromPath returns the entity id of a /{kind}/{id}/… route (0 for the
// batch routes without an id), answering 404 when that entity does not exist.
func (s *Server) entityFromPath(c *call, kind string, byEntity bool) (int64, bool) {
	if !byEntity {
		return 0, true
	}
	id, ok := pathID(c.r, "id")
	if !ok || s.st.get(kind, id) == nil {
		writeProblem(c.w, http.StatusNotFound, "Entity not found", nil)
		return 0, false
	}
	return id, true
}
