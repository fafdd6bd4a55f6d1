package amocrmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// call is the context of one authenticated API request. Handlers run with s.mu
// held; webhooks collected in hooks are sent after it is released.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	u     *User
	now   time.Time
	q     *qnode
	hooks []outHook
}

func (c *call) base() string { return baseURL(c.r) }

func (c *call) selfLink(path string) obj { return obj{"self": link(c.base() + path)} }

// api wraps an API handler with authentication and locking.
func (s *Server) api(h func(c *call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		now := s.now()
		u := s.authenticate(w, r, now)
		if u == nil {
			s.mu.Unlock()
			return
		}
		c := &call{s: s, w: w, r: r, u: u, now: now, q: parseQuery(r.URL.RawQuery)}
		h(c)
		hooks := c.hooks
		s.mu.Unlock()
		s.dispatch(hooks)
	}
}

// allowed checks a right (view, add, edit, delete) of the caller on an entity
// type and answers 403 when it is denied.
func (c *call) allowed(entity, action string) bool {
	var er EntityRights
	switch entity {
	case EntityLeads:
		er = c.u.Rights.Leads
	case EntityContacts:
		er = c.u.Rights.Contacts
	case EntityCompanies:
		er = c.u.Rights.Companies
	default:
		return true
	}
	var v string
	switch action {
	case "view":
		v = er.View
	case "add":
		v = er.Add
	case "edit":
		v = er.Edit
	case "delete":
		v = er.Delete
	}
	if v == RightDenied {
		writeProblem(c.w, http.StatusForbidden, "Access denied: no "+action+" rights for "+entity, nil)
		return false
	}
	return true
}

func (c *call) requireAdmin() bool {
	if !c.u.Rights.IsAdmin {
		writeProblem(c.w, http.StatusForbidden, "Access denied: administrator rights required", nil)
		return false
	}
	return true
}

// readArray reads the request body as a JSON array of at most MaxBatch objects.
// On failure it answers and returns false.
func (c *call) readArray(maxItems int) ([]json.RawMessage, bool) {
	body, _ := io.ReadAll(c.r.Body)
	var arr []json.RawMessage
	if err := json.Unmarshal(body, &arr); err != nil {
		var probe any
		if json.Unmarshal(body, &probe) != nil {
			writeProblem(c.w, http.StatusBadRequest, "Request body is not a valid JSON", nil)
			return nil, false
		}
		writeValidation(c.w, []vGroup{{RequestID: "0", Errors: []vError{{Code: CodeInvalidType, Path: "",
			Detail: "This value should be of type array."}}}})
		return nil, false
	}
	if len(arr) == 0 {
		writeValidation(c.w, []vGroup{{RequestID: "0", Errors: []vError{{Code: CodeNotBlank, Path: "",
			Detail: "This collection should contain 1 element or more."}}}})
		return nil, false
	}
	if len(arr) > maxItems {
		writeValidation(c.w, []vGroup{{RequestID: "0", Errors: []vError{{Code: CodeCountMaxLimit, Path: "",
			Detail: fmt.Sprintf("This collection should contain %d elements or less.", maxItems)}}}})
		return nil, false
	}
	return arr, true
}

// input applies one create or update item to r. commit is false on the
// validation pass (no tags are created) and true on the applying pass.
func (c *call) input(it *item, r *record, create, commit bool) {
	st := c.s.st
	kind := r.kind
	if v, ok := it.str("name"); ok {
		r.name = v
	}
	if v, ok := it.int("responsible_user_id"); ok {
		if st.user(v) == nil {
			it.add(CodeNotSupportedChoice, "responsible_user_id", "The value you selected is not a valid choice.")
		} else {
			r.responsibleUserID = v
		}
	}
	if v, ok := it.int("group_id"); ok {
		r.groupID = v
	}
	if v, ok := it.int("created_by"); ok {
		if v != 0 && st.user(v) == nil {
			it.add(CodeNotSupportedChoice, "created_by", "The value you selected is not a valid choice.")
		} else if create {
			r.createdBy = v
		}
	}
	if v, ok := it.int("updated_by"); ok {
		r.updatedBy = v
	}
	if v, ok := it.int("created_at"); ok {
		r.createdAt = v
	}
	if v, ok := it.int("updated_at"); ok {
		r.updatedAt = v
	}
	switch kind {
	case EntityLeads:
		if v, ok := it.int("price"); ok {
			r.price = v
		}
		if v, ok := it.int("loss_reason_id"); ok {
			r.lossReasonID = v
		}
		c.leadStatus(it, r, create)
		if v, ok := it.int("closed_at"); ok {
			r.closedAt = v
		}
	case EntityContacts:
		if v, ok := it.str("first_name"); ok {
			r.firstName = v
		}
		if v, ok := it.str("last_name"); ok {
			r.lastName = v
		}
		if _, named := it.raw("name"); !named && (r.firstName != "" || r.lastName != "") && create {
			r.name = strings.TrimSpace(r.firstName + " " + r.lastName)
		}
	}
	if raw, ok := it.m["custom_fields_values"]; ok && !isNull(raw) {
		r.cf = c.s.applyCF(kind, r.cf, raw, it, "custom_fields_values")
	}
	if emb, ok := it.sub("_embedded"); ok {
		if tags, ok := emb.array("tags"); ok {
			r.tags = c.tagIDs(kind, tags, emb, "tags", commit)
		}
		if create && kind == EntityLeads {
			if arr, ok := emb.array("contacts"); ok {
				for i, raw := range arr {
					ci, ok := newItem(raw, emb.prefix+"contacts."+strconv.Itoa(i)+".", it.errs)
					if !ok {
						continue
					}
					id, ok := ci.int("id")
					if !ok || st.get(EntityContacts, id) == nil {
						ci.add(CodeNotSupportedChoice, "id", "The value you selected is not a valid choice.")
						continue
					}
					if main, _ := ci.bool("is_main"); main {
						r.contactIDs = append([]int64{id}, r.contactIDs...)
					} else {
						r.contactIDs = append(r.contactIDs, id)
					}
				}
			}
		}
		if create && kind != EntityCompanies {
			if arr, ok := emb.array("companies"); ok && len(arr) > 0 {
				ci, ok := newItem(arr[0], emb.prefix+"companies.0.", it.errs)
				if ok {
					id, ok := ci.int("id")
					if !ok || st.get(EntityCompanies, id) == nil {
						ci.add(CodeNotSupportedChoice, "id", "The value you selected is not a valid choice.")
					} else {
						r.companyID = id
					}
				}
			}
		}
	}
	if arr, ok := it.array("tags_to_add"); ok {
		for _, id := range c.tagIDs(kind, arr, it, "tags_to_add", commit) {
			if !slices.Contains(r.tags, id) {
				r.tags = append(r.tags, id)
			}
		}
	}
	if arr, ok := it.array("tags_to_delete"); ok {
		del := c.tagIDs(kind, arr, it, "tags_to_delete", false)
		r.tags = slices.DeleteFunc(r.tags, func(id int64) bool { return slices.Contains(del, id) })
	}
}

// leadStatus resolves pipeline_id and status_id of a lead.
func (c *call) leadStatus(it *item, r *record, create bool) {
	st := c.s.st
	pid, hasP := it.int("pipeline_id")
	sid, hasS := it.int("status_id")
	if _, bad := it.m["pipeline_id"]; bad && !hasP && !isNull(it.m["pipeline_id"]) {
		return
	}
	if !hasP {
		pid = r.pipelineID
		if create || pid == 0 {
			if p := st.mainPipeline(); p != nil && pid == 0 {
				pid = p.ID
			}
		}
	}
	p := st.pipeline(pid)
	if p == nil {
		if hasP {
			it.add(CodeNotSupportedChoice, "pipeline_id", "The value you selected is not a valid choice.")
		}
		return
	}
	if !hasS {
		if create || hasP && pid != r.pipelineID {
			sid = firstStatus(p)
		} else {
			sid = r.statusID
		}
	}
	if s := findStatus(p, sid); (s == nil || s.Type == StatusTypeUnsorted) && sid != StatusWon && sid != StatusLost {
		it.add(CodeNotSupportedChoice, "status_id", "The value you selected is not a valid choice.")
		return
	}
	r.pipelineID, r.statusID = pid, sid
}

// tagIDs resolves [{id}|{name}] tag references.
func (c *call) tagIDs(kind string, arr []json.RawMessage, parent *item, key string, commit bool) []int64 {
	var out []int64
	for i, raw := range arr {
		ti, ok := newItem(raw, parent.prefix+key+"."+strconv.Itoa(i)+".", parent.errs)
		if !ok {
			continue
		}
		if id, ok := ti.int("id"); ok {
			if c.s.st.tagByID(kind, id) == nil {
				ti.add(CodeNotSupportedChoice, "id", "The value you selected is not a valid choice.")
				continue
			}
			out = append(out, id)
		} else if name, ok := ti.str("name"); ok && strings.TrimSpace(name) != "" {
			if t := c.s.st.tagByName(kind, name, commit); t != nil {
				out = append(out, t.ID)
			} else {
				out = append(out, -int64(i)-1) // created on commit
			}
		} else if _, bad := ti.m["id"]; !bad {
			ti.add(CodeNotBlank, "name", "This value should not be blank.")
		}
	}
	return out
}

// checkRequired reports fields required by the lead's status that are empty.
func (c *call) checkRequired(it *item, r *record) {
	for _, f := range c.s.st.fields[EntityLeads] {
		for _, rs := range f.RequiredStatuses {
			if rs.StatusID != r.statusID || (rs.PipelineID != 0 && rs.PipelineID != r.pipelineID) {
				continue
			}
			filled := false
			for _, fv := range r.cf {
				if fv.FieldID == f.ID && len(fv.Values) > 0 {
					filled = true
				}
			}
			if !filled {
				it.add(CodeFieldRequired, "custom_fields_values", fmt.Sprintf(
					"Field %q (id %d) is required for status %d of pipeline %d.", f.Name, f.ID, r.statusID, r.pipelineID))
			}
		}
	}
}

func (c *call) touchClosed(r *record, oldStatus int64) {
	closed := r.statusID == StatusWon || r.statusID == StatusLost
	wasClosed := oldStatus == StatusWon || oldStatus == StatusLost
	switch {
	case closed && (!wasClosed || r.closedAt == 0):
		r.closedAt = c.now.Unix()
	case !closed:
		r.closedAt = 0
	}
}

// createRecords serves POST /api/v4/{leads|contacts|companies}.
func (s *Server) createRecords(kind string) func(c *call) {
	return func(c *call) {
		if !c.allowed(kind, "add") {
			return
		}
		arr, ok := c.readArray(MaxBatch)
		if !ok {
			return
		}
		var groups []vGroup
		for pass := 0; pass < 2; pass++ {
			commit := pass == 1
			var created []obj
			for i, raw := range arr {
				var errs []vError
				it, ok := newItem(raw, "", &errs)
				reqID := strconv.Itoa(i)
				if ok {
					reqID = it.requestID(reqID)
					r := c.newRecord(kind)
					c.input(it, r, true, commit)
					if kind == EntityLeads && len(errs) == 0 {
						c.checkRequired(it, r)
					}
					if commit {
						c.commitNew(r)
						created = append(created, obj{"id": r.id, "request_id": reqID,
							"_links": c.selfLink("/api/v4/" + kind + "/" + strconv.FormatInt(r.id, 10))})
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
			if commit {
				writeHAL(c.w, http.StatusOK, obj{
					"_links":    c.selfLink("/api/v4/" + kind),
					"_embedded": obj{kind: created},
				})
			}
		}
	}
}

func (c *call) newRecord(kind string) *record {
	r := &record{kind: kind, responsibleUserID: c.u.ID, createdBy: c.u.ID, updatedBy: c.u.ID,
		createdAt: c.now.Unix(), updatedAt: c.now.Unix(), groupID: c.u.Rights.GroupID}
	return r
}

// commitNew stores a validated new record and queues its webhooks.
func (c *call) commitNew(r *record) {
	r.id = c.s.st.nextID(r.kind)
	if r.kind == EntityLeads {
		c.touchClosed(r, 0)
	}
	c.s.st.insert(r)
	c.indexed(r, nil)
	c.queueHook(r, "add", nil)
}

// updateRecords serves PATCH /api/v4/{kind} (batch) and PATCH /api/v4/{kind}/{id}.
func (s *Server) updateRecords(kind string, single bool) func(c *call) {
	return func(c *call) {
		if !c.allowed(kind, "edit") {
			return
		}
		var arr []json.RawMessage
		var singleID int64
		if single {
			id, err := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
			if err != nil || s.st.get(kind, id) == nil {
				writeProblem(c.w, http.StatusNotFound, "Entity not found", nil)
				return
			}
			singleID = id
			body, _ := io.ReadAll(c.r.Body)
			var probe map[string]json.RawMessage
			if err := json.Unmarshal(body, &probe); err != nil {
				writeProblem(c.w, http.StatusBadRequest, "Request body is not a valid JSON object", nil)
				return
			}
			arr = []json.RawMessage{body}
		} else {
			var ok bool
			if arr, ok = c.readArray(MaxBatch); !ok {
				return
			}
		}
		var groups []vGroup
		for pass := 0; pass < 2; pass++ {
			commit := pass == 1
			var updated []obj
			for i, raw := range arr {
				var errs []vError
				it, ok := newItem(raw, "", &errs)
				reqID := strconv.Itoa(i)
				if ok {
					reqID = it.requestID(reqID)
					id := singleID
					if !single {
						var has bool
						if id, has = it.int("id"); !has {
							if _, bad := it.m["id"]; !bad {
								it.add(CodeNotBlank, "id", "This value should not be blank.")
							}
						}
					}
					cur := s.st.get(kind, id)
					if cur == nil && len(errs) == 0 {
						it.add(CodeNotSupportedChoice, "id", "Entity not found.")
					}
					if cur != nil {
						r := cur.clone()
						c.input(it, r, false, commit)
						statusChanged := r.statusID != cur.statusID || r.pipelineID != cur.pipelineID
						if kind == EntityLeads && statusChanged && len(errs) == 0 {
							c.checkRequired(it, r)
						}
						if commit {
							if _, ok := it.raw("updated_at"); !ok {
								r.updatedAt = c.now.Unix()
							}
							if _, ok := it.raw("updated_by"); !ok {
								r.updatedBy = c.u.ID
							}
							if kind == EntityLeads {
								c.touchClosed(r, cur.statusID)
							}
							old := cur.clone()
							*cur = *r
							c.indexed(cur, old)
							c.queueHook(cur, "update", old)
							updated = append(updated, obj{"id": cur.id, "updated_at": cur.updatedAt, "request_id": reqID,
								"_links": c.selfLink("/api/v4/" + kind + "/" + strconv.FormatInt(cur.id, 10))})
						}
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
			if commit {
				if single {
					u := updated[0]
					delete(u, "request_id")
					writeHAL(c.w, http.StatusOK, u)
					return
				}
				writeHAL(c.w, http.StatusOK, obj{
					"_links":    c.selfLink("/api/v4/" + kind),
					"_embedded": obj{kind: updated},
				})
			}
		}
	}
}

// --- reading ---------------------------------------------------------------------

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func (c *call) renderCF(cf []FieldValues) any {
	if len(cf) == 0 {
		return nil
	}
	out := make([]obj, 0, len(cf))
	for _, fv := range cf {
		vals := make([]obj, 0, len(fv.Values))
		for _, v := range fv.Values {
			o := obj{"value": v.Value}
			if v.EnumID != 0 {
				o["enum_id"] = v.EnumID
			}
			if fv.FieldType == FieldMultitext || v.EnumCode != "" {
				o["enum_code"] = nil
				if v.EnumCode != "" {
					o["enum_code"] = v.EnumCode
				}
			}
			vals = append(vals, o)
		}
		var code any
		if fv.FieldCode != "" {
			code = fv.FieldCode
		}
		out = append(out, obj{"field_id": fv.FieldID, "field_name": fv.FieldName, "field_code": code,
			"field_type": fv.FieldType, "values": vals})
	}
	return out
}

func (c *call) entityRef(kind string, id int64) obj {
	return obj{"id": id, "_links": c.selfLink("/api/v4/" + kind + "/" + strconv.FormatInt(id, 10))}
}

func (c *call) renderRecord(r *record, with map[string]bool) obj {
	st := c.s.st
	tags := []obj{}
	for _, id := range r.tags {
		if t := st.tagByID(r.kind, id); t != nil {
			var color any
			if t.Color != "" {
				color = t.Color
			}
			tags = append(tags, obj{"id": t.ID, "name": t.Name, "color": color})
		}
	}
	emb := obj{"tags": tags}
	o := obj{
		"id":                   r.id,
		"name":                 r.name,
		"responsible_user_id":  r.responsibleUserID,
		"group_id":             r.groupID,
		"created_by":           r.createdBy,
		"updated_by":           r.updatedBy,
		"created_at":           r.createdAt,
		"updated_at":           r.updatedAt,
		"closest_task_at":      c.closestTask(r.kind, r.id),
		"is_deleted":           r.isDeleted,
		"custom_fields_values": c.renderCF(r.cf),
		"account_id":           st.account.ID,
		"_links":               c.selfLink("/api/v4/" + r.kind + "/" + strconv.FormatInt(r.id, 10)),
		"_embedded":            emb,
	}
	companies := []obj{}
	switch r.kind {
	case EntityLeads:
		o["price"] = r.price
		o["status_id"] = r.statusID
		o["pipeline_id"] = r.pipelineID
		o["loss_reason_id"] = nullInt(r.lossReasonID)
		o["closed_at"] = nullInt(r.closedAt)
		o["score"] = nil
		o["labor_cost"] = nil
		if r.companyID != 0 && st.get(EntityCompanies, r.companyID) != nil {
			companies = append(companies, c.entityRef(EntityCompanies, r.companyID))
		}
		emb["companies"] = companies
		if with["contacts"] {
			contacts := []obj{}
			for i, id := range r.contactIDs {
				if st.get(EntityContacts, id) != nil {
					ref := c.entityRef(EntityContacts, id)
					ref["is_main"] = i == 0
					contacts = append(contacts, ref)
				}
			}
			emb["contacts"] = contacts
		}
	case EntityContacts:
		o["first_name"] = r.firstName
		o["last_name"] = r.lastName
		o["is_unsorted"] = r.isUnsorted
		if r.companyID != 0 && st.get(EntityCompanies, r.companyID) != nil {
			companies = append(companies, c.entityRef(EntityCompanies, r.companyID))
		}
		emb["companies"] = companies
		if with["leads"] {
			leads := []obj{}
			for _, id := range c.s.leadsOfContact(r.id) {
				leads = append(leads, c.entityRef(EntityLeads, id))
			}
			emb["leads"] = leads
		}
	case EntityCompanies:
		if with["contacts"] {
			contacts := []obj{}
			for _, id := range c.s.contactsOfCompany(r.id) {
				contacts = append(contacts, c.entityRef(EntityContacts, id))
			}
			emb["contacts"] = contacts
		}
		if with["leads"] {
			leads := []obj{}
			for _, id := range c.s.leadsOfCompany(r.id) {
				leads = append(leads, c.entityRef(EntityLeads, id))
			}
			emb["leads"] = leads
		}
	}
	return o
}

func (c *call) closestTask(kind string, id int64) any {
	var best int64
	for _, t := range c.s.st.tasks {
		if t.EntityType == kind && t.EntityID == id && !t.IsCompleted {
			if ct := t.CompleteTill.Unix(); best == 0 || ct < best {
				best = ct
			}
		}
	}
	return nullInt(best)
}

// getRecord serves GET /api/v4/{kind}/{id}. A missing entity answers 204, as
// amoCRM does.
func (s *Server) getRecord(kind string) func(c *call) {
	return func(c *call) {
		if !c.allowed(kind, "view") {
			return
		}
		id, err := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
		if err != nil {
			writeProblem(c.w, http.StatusNotFound, "Not found", nil)
			return
		}
		r := s.st.get(kind, id)
		if r == nil {
			writeNoContent(c.w)
			return
		}
		writeHAL(c.w, http.StatusOK, c.renderRecord(r, withSet(c.q)))
	}
}

// listRecords serves GET /api/v4/{kind} with paging, query, filter and order.
func (s *Server) listRecords(kind string) func(c *call) {
	return func(c *call) {
		if !c.allowed(kind, "view") {
			return
		}
		with := withSet(c.q)
		recs := s.filterRecords(kind, c.q, with["only_deleted"])
		items := make([]any, len(recs))
		for i, r := range recs {
			items[i] = c.renderRecord(r, with)
		}
		writeList(c.w, c.r, kind, items, pagingOf(c.r.URL.Query(), MaxLimit), false)
	}
}

// filterRecords selects and orders the records of kind a list request asks for.
func (s *Server) filterRecords(kind string, q *qnode, deleted bool) []*record {
	f := q.child("filter")
	query := strings.TrimSpace(q.child("query").first())
	var now time.Time
	if query != "" {
		now = s.now()
	}
	ids := ints(f.child("id"))
	names := f.child("name").all()
	respIDs := ints(f.child("responsible_user_id"))
	pipelineIDs := ints(f.child("pipeline_id"))
	var pairs [][2]int64
	if sn := f.child("statuses"); sn != nil {
		for _, k := range sn.sortedKids() {
			e := sn.kids[k]
			p, _ := strconv.ParseInt(e.child("pipeline_id").first(), 10, 64)
			st, _ := strconv.ParseInt(e.child("status_id").first(), 10, 64)
			pairs = append(pairs, [2]int64{p, st})
		}
	}
	var out []*record
	for _, r := range s.st.records[kind] {
		if r.isDeleted != deleted {
			continue
		}
		if len(ids) > 0 && !slices.Contains(ids, r.id) {
			continue
		}
		if len(names) > 0 && !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, r.name) }) {
			continue
		}
		if len(respIDs) > 0 && !slices.Contains(respIDs, r.responsibleUserID) {
			continue
		}
		if !inRange(f.child("created_at"), r.createdAt) || !inRange(f.child("updated_at"), r.updatedAt) {
			continue
		}
		if kind == EntityLeads {
			if !inRange(f.child("price"), r.price) || !inRange(f.child("closed_at"), r.closedAt) {
				continue
			}
			if len(pipelineIDs) > 0 && !slices.Contains(pipelineIDs, r.pipelineID) {
				continue
			}
			if len(pairs) > 0 && !slices.ContainsFunc(pairs, func(p [2]int64) bool {
				return (p[0] == 0 || p[0] == r.pipelineID) && p[1] == r.statusID
			}) {
				continue
			}
		}
		if !cfFilterMatch(f.child("custom_fields_values"), r) {
			continue
		}
		if query != "" && !matchQuery(r, query, now) {
			continue
		}
		out = append(out, r)
	}
	o := q.child("order")
	for _, key := range []string{"id", "created_at", "updated_at"} {
		dir := o.child(key).first()
		if dir == "" {
			continue
		}
		val := func(r *record) int64 {
			switch key {
			case "created_at":
				return r.createdAt
			case "updated_at":
				return r.updatedAt
			}
			return r.id
		}
		desc := strings.EqualFold(dir, "desc")
		sort.SliceStable(out, func(i, j int) bool {
			if desc {
				return val(out[i]) > val(out[j])
			}
			return val(out[i]) < val(out[j])
		})
		break
	}
	return out
}

func inRange(n *qnode, v int64) bool {
	from, to, ok := intRange(n)
	return !ok || (v >= from && v <= to)
}

// cfFilterMatch applies filter[custom_fields_values][field_id][]=value.
func cfFilterMatch(n *qnode, r *record) bool {
	if n == nil {
		return true
	}
	for _, k := range n.sortedKids() {
		fid, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			continue
		}
		want := n.kids[k].all()
		found := false
		for _, fv := range r.cf {
			if fv.FieldID != fid {
				continue
			}
			for _, v := range fv.Values {
				got := valueString(v.Value)
				if slices.ContainsFunc(want, func(w string) bool {
					return strings.EqualFold(w, got) || w == strconv.FormatInt(v.EnumID, 10)
				}) {
					found = true
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func valueString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		return strconv.FormatBool(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}
