package amocrmtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

func (c *call) renderUnsorted(u *Unsorted) obj {
	leads, contacts, companies := []obj{}, []obj{}, []obj{}
	if u.LeadID != 0 {
		leads = append(leads, c.entityRef(EntityLeads, u.LeadID))
	}
	for _, id := range u.ContactIDs {
		contacts = append(contacts, c.entityRef(EntityContacts, id))
	}
	for _, id := range u.CompanyIDs {
		companies = append(companies, c.entityRef(EntityCompanies, id))
	}
	md := u.Metadata
	if md == nil {
		md = map[string]any{}
	}
	return obj{"uid": u.UID, "source_uid": u.SourceUID, "source_name": u.SourceName, "category": u.Category,
		"pipeline_id": u.PipelineID, "created_at": u.CreatedAt.Unix(), "metadata": md,
		"account_id": c.s.st.account.ID,
		"_links":     c.selfLink("/api/v4/leads/unsorted/" + u.UID),
		"_embedded":  obj{"leads": leads, "contacts": contacts, "companies": companies}}
}

func (s *Server) findUnsorted(uid string) *Unsorted {
	for _, u := range s.st.unsorted {
		if u.UID == uid {
			return u
		}
	}
	return nil
}

func (s *Server) listUnsorted(c *call) {
	f := c.q.child("filter")
	cats := f.child("category").all()
	pids := ints(f.child("pipeline_id"))
	items := []any{}
	for _, u := range s.st.unsorted {
		if u.State != "pending" {
			continue
		}
		if len(cats) > 0 && !contains(cats, u.Category) {
			continue
		}
		if len(pids) > 0 && !contains(pids, u.PipelineID) {
			continue
		}
		items = append(items, c.renderUnsorted(u))
	}
	writeList(c.w, c.r, "unsorted", items, pagingOf(c.r.URL.Query(), MaxLimit), false)
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Server) getUnsorted(c *call) {
	u := s.findUnsorted(c.r.PathValue("uid"))
	if u == nil || u.State != "pending" {
		writeNoContent(c.w)
		return
	}
	writeHAL(c.w, http.StatusOK, c.renderUnsorted(u))
}

// createUnsortedForms serves POST /api/v4/leads/unsorted/forms.
func (s *Server) createUnsortedForms(c *call) {
	if !c.allowed(EntityLeads, "add") {
		return
	}
	arr, ok := c.readArray(MaxBatch)
	if !ok {
		return
	}
	type plan struct {
		u        *Unsorted
		lead     *record
		contacts []*record
		reqID    string
	}
	var groups []vGroup
	for pass := 0; pass < 2; pass++ {
		commit := pass == 1
		var out []obj
		for i, raw := range arr {
			var errs []vError
			p := plan{reqID: strconv.Itoa(i)}
			it, ok := newItem(raw, "", &errs)
			if ok {
				p.reqID = it.requestID(p.reqID)
				p.u = &Unsorted{Category: "forms", CreatedAt: c.now.Truncate(1e9), State: "pending"}
				if v, ok := it.str("source_uid"); ok && v != "" {
					p.u.SourceUID = v
				} else {
					it.add(CodeNotBlank, "source_uid", "This value should not be blank.")
				}
				if v, ok := it.str("source_name"); ok && v != "" {
					p.u.SourceName = v
				} else {
					it.add(CodeNotBlank, "source_name", "This value should not be blank.")
				}
				if v, ok := it.int("created_at"); ok {
					p.u.CreatedAt = timeOf(v)
				}
				pl := s.st.mainPipeline()
				if v, ok := it.int("pipeline_id"); ok {
					if pl = s.st.pipeline(v); pl == nil {
						it.add(CodeNotSupportedChoice, "pipeline_id", "The value you selected is not a valid choice.")
					}
				}
				if md, ok := it.sub("metadata"); ok {
					for _, k := range []string{"form_id", "form_name", "form_page", "form_sent_at"} {
						if _, ok := md.raw(k); !ok {
							md.add(CodeNotBlank, k, "This value should not be blank.")
						}
					}
					_ = json.Unmarshal(it.m["metadata"], &p.u.Metadata)
				} else {
					it.add(CodeNotBlank, "metadata", "This value should not be blank.")
				}
				if emb, ok := it.sub("_embedded"); ok {
					if leads, ok := emb.array("leads"); ok && len(leads) > 0 {
						if len(leads) > 1 {
							emb.add(CodeCountMaxLimit, "leads", "This collection should contain 1 element or less.")
						}
						if li, ok := newItem(leads[0], emb.prefix+"leads.0.", it.errs); ok {
							p.lead = c.newRecord(EntityLeads)
							delete(li.m, "status_id")
							if pl != nil {
								li.m["pipeline_id"] = json.RawMessage(strconv.FormatInt(pl.ID, 10))
							}
							c.input(li, p.lead, true, commit)
							if pl != nil {
								p.lead.statusID = unsortedStatus(pl)
							}
						}
					}
					if contacts, ok := emb.array("contacts"); ok {
						for j, craw := range contacts {
							if ci, ok := newItem(craw, emb.prefix+"contacts."+strconv.Itoa(j)+".", it.errs); ok {
								r := c.newRecord(EntityContacts)
								r.isUnsorted = true
								c.input(ci, r, true, commit)
								p.contacts = append(p.contacts, r)
							}
						}
					}
				}
				if p.lead == nil {
					p.lead = c.newRecord(EntityLeads)
					if pl != nil {
						p.lead.pipelineID, p.lead.statusID = pl.ID, unsortedStatus(pl)
					}
				}
				if pl != nil {
					p.u.PipelineID = pl.ID
				}
			}
			if len(errs) > 0 {
				groups = append(groups, vGroup{RequestID: p.reqID, Errors: errs})
				continue
			}
			if !commit {
				continue
			}
			for _, r := range p.contacts {
				r.id = s.st.nextID(EntityContacts)
				s.st.insert(r)
				c.indexed(r, nil)
				p.u.ContactIDs = append(p.u.ContactIDs, r.id)
				p.lead.contactIDs = append(p.lead.contactIDs, r.id)
			}
			c.commitNew(p.lead)
			p.u.LeadID = p.lead.id
			p.u.UID = s.newUID()
			s.st.unsorted = append(s.st.unsorted, p.u)
			ro := c.renderUnsorted(p.u)
			out = append(out, obj{"uid": p.u.UID, "account_id": s.st.account.ID, "request_id": p.reqID,
				"_embedded": ro["_embedded"]})
		}
		if len(groups) > 0 {
			writeValidation(c.w, groups)
			return
		}
		if commit {
			writeHAL(c.w, http.StatusOK, obj{"_total_items": len(out), "_embedded": obj{"unsorted": out}})
		}
	}
}

// unsortedBody reads the optional {user_id, status_id} body of accept/decline.
func (c *call) unsortedBody() (*item, bool) {
	var errs []vError
	body, _ := io.ReadAll(c.r.Body)
	if len(body) == 0 {
		return &item{m: map[string]json.RawMessage{}, errs: &errs}, true
	}
	return newItem(body, "", &errs)
}

func (s *Server) pendingUnsorted(c *call) *Unsorted {
	u := s.findUnsorted(c.r.PathValue("uid"))
	if u == nil {
		writeProblem(c.w, http.StatusNotFound, "Unsorted not found", nil)
		return nil
	}
	if u.State != "pending" {
		writeProblem(c.w, http.StatusBadRequest, "Unsorted already "+u.State, nil)
		return nil
	}
	return u
}

// acceptUnsorted serves POST /api/v4/leads/unsorted/{uid}/accept: the lead moves
// to status_id (or the first stage of its pipeline).
func (s *Server) acceptUnsorted(c *call) {
	if !c.allowed(EntityLeads, "edit") {
		return
	}
	u := s.pendingUnsorted(c)
	if u == nil {
		return
	}
	it, ok := c.unsortedBody()
	if !ok {
		writeValidation(c.w, []vGroup{{RequestID: "0", Errors: *it.errs}})
		return
	}
	lead := s.st.get(EntityLeads, u.LeadID)
	if lead == nil {
		writeProblem(c.w, http.StatusNotFound, "Lead of the unsorted item not found", nil)
		return
	}
	p := s.st.pipeline(lead.pipelineID)
	status := firstStatus(p)
	if v, ok := it.int("status_id"); ok {
		if x := findStatus(p, v); x == nil || x.Type == StatusTypeUnsorted {
			it.add(CodeNotSupportedChoice, "status_id", "The value you selected is not a valid choice.")
		}
		status = v
	}
	if v, ok := it.int("user_id"); ok && s.st.user(v) == nil {
		it.add(CodeNotSupportedChoice, "user_id", "The value you selected is not a valid choice.")
	}
	if len(*it.errs) > 0 {
		writeValidation(c.w, []vGroup{{RequestID: "0", Errors: *it.errs}})
		return
	}
	old := lead.clone()
	lead.statusID = status
	lead.updatedAt = c.now.Unix()
	lead.updatedBy = c.u.ID
	c.touchClosed(lead, old.statusID)
	for _, id := range u.ContactIDs {
		if r := s.st.get(EntityContacts, id); r != nil {
			r.isUnsorted = false
		}
	}
	u.State = "accepted"
	c.queueHook(lead, "update", old)
	ro := c.renderUnsorted(u)
	emb := ro["_embedded"].(obj)
	if leads, ok := emb["leads"].([]obj); ok && len(leads) > 0 {
		leads[0]["status_id"] = lead.statusID
		leads[0]["pipeline_id"] = lead.pipelineID
	}
	writeHAL(c.w, http.StatusOK, obj{"uid": u.UID, "account_id": s.st.account.ID, "_embedded": emb})
}

// declineUnsorted serves DELETE /api/v4/leads/unsorted/{uid}/decline: the lead
// and the contacts created with it are deleted.
func (s *Server) declineUnsorted(c *call) {
	if !c.allowed(EntityLeads, "delete") {
		return
	}
	u := s.pendingUnsorted(c)
	if u == nil {
		return
	}
	ro := c.renderUnsorted(u)
	if r := s.st.get(EntityLeads, u.LeadID); r != nil {
		r.isDeleted = true
		r.updatedAt = c.now.Unix()
	}
	for _, id := range u.ContactIDs {
		if r := s.st.get(EntityContacts, id); r != nil && r.isUnsorted {
			r.isDeleted = true
		}
	}
	u.State = "declined"
	writeHAL(c.w, http.StatusOK, obj{"uid": u.UID, "account_id": s.st.account.ID, "_embedded": ro["_embedded"]})
}
