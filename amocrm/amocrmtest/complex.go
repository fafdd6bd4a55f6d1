package amocrmtest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// complexCreate serves POST /api/v4/leads/complex: up to MaxBatch leads, each
// with at most one new (or existing, by id) contact and one company in
// _embedded, at most MaxComplexCF custom field values per entity. With duplicate
// control on, a new contact whose phone or e-mail matches a contact that existed
// before the request is not created; the lead is linked to the existing contact
// and the result has merged: true.
func (s *Server) complexCreate(c *call) {
	if !c.allowed(EntityLeads, "add") {
		return
	}
	arr, ok := c.readArray(MaxBatch)
	if !ok {
		return
	}
	// Duplicate keys of contacts that exist before this request.
	existing := map[string]int64{}
	if s.dupControl {
		for _, r := range s.st.records[EntityContacts] {
			if r.isDeleted {
				continue
			}
			for _, k := range contactKeys(r.cf) {
				if _, ok := existing[k]; !ok {
					existing[k] = r.id
				}
			}
		}
	}
	type plan struct {
		lead, contact, company *record
		contactID, companyID   int64 // existing entities to link
		merged                 bool
		reqID                  string
		metadata               map[string]any
	}
	var groups []vGroup
	for pass := 0; pass < 2; pass++ {
		commit := pass == 1
		var result []obj
		for i, raw := range arr {
			var errs []vError
			p := plan{reqID: strconv.Itoa(i)}
			it, ok := newItem(raw, "", &errs)
			if ok {
				p.reqID = it.requestID(p.reqID)
				p.lead = c.newRecord(EntityLeads)
				if cfs, ok := it.array("custom_fields_values"); ok && len(cfs) > MaxComplexCF {
					it.add(CodeCountMaxLimit, "custom_fields_values", "This collection should contain 40 elements or less.")
				}
				// Embedded contacts and companies are handled here, not by input.
				var emb *item
				if e, ok := it.sub("_embedded"); ok {
					emb = e
					stripped := map[string]json.RawMessage{}
					for k, v := range it.m {
						stripped[k] = v
					}
					embM := map[string]json.RawMessage{}
					for k, v := range e.m {
						if k == "tags" {
							embM[k] = v
						}
					}
					b, _ := json.Marshal(embM)
					stripped["_embedded"] = b
					it = &item{m: stripped, prefix: it.prefix, errs: it.errs}
				}
				c.input(it, p.lead, true, commit)
				if emb != nil {
					if md, ok := emb.raw("metadata"); ok {
						_ = json.Unmarshal(md, &p.metadata)
						if pl := s.st.pipeline(p.lead.pipelineID); pl != nil {
							p.lead.statusID = unsortedStatus(pl)
						}
					}
					p.contact, p.contactID = c.complexSub(emb, EntityContacts, commit)
					p.company, p.companyID = c.complexSub(emb, EntityCompanies, commit)
				}
				if len(errs) == 0 && p.metadata == nil {
					c.checkRequired(it, p.lead)
				}
				if p.contact != nil && s.dupControl {
					for _, k := range contactKeys(p.contact.cf) {
						if id, ok := existing[k]; ok {
							p.contactID, p.contact, p.merged = id, nil, true
							break
						}
					}
				}
			}
			if len(errs) > 0 {
				groups = append(groups, vGroup{RequestID: p.reqID, Errors: errs})
				continue
			}
			if !commit {
				continue
			}
			if p.company != nil {
				p.company.id = s.st.nextID(EntityCompanies)
				s.st.insert(p.company)
				c.indexed(p.company, nil)
				c.queueHook(p.company, "add", nil)
				p.companyID = p.company.id
			}
			if p.contact != nil {
				p.contact.id = s.st.nextID(EntityContacts)
				if p.contact.companyID == 0 {
					p.contact.companyID = p.companyID
				}
				s.st.insert(p.contact)
				c.indexed(p.contact, nil)
				c.queueHook(p.contact, "add", nil)
				p.contactID = p.contact.id
			}
			if p.contactID != 0 {
				p.lead.contactIDs = []int64{p.contactID}
			}
			p.lead.companyID = p.companyID
			c.commitNew(p.lead)
			if p.metadata != nil {
				u := &Unsorted{UID: s.newUID(), Category: "forms", PipelineID: p.lead.pipelineID,
					CreatedAt: c.now.Truncate(1e9), Metadata: p.metadata, LeadID: p.lead.id, State: "pending"}
				if cat, ok := p.metadata["category"].(string); ok && cat != "" {
					u.Category = cat
				}
				if p.contactID != 0 {
					u.ContactIDs = []int64{p.contactID}
				}
				if p.companyID != 0 {
					u.CompanyIDs = []int64{p.companyID}
				}
				s.st.unsorted = append(s.st.unsorted, u)
			}
			result = append(result, obj{
				"id":         p.lead.id,
				"contact_id": nullInt(p.contactID),
				"company_id": nullInt(p.companyID),
				"request_id": []string{p.reqID},
				"merged":     p.merged,
			})
		}
		if len(groups) > 0 {
			writeValidation(c.w, groups)
			return
		}
		if commit {
			writeHAL(c.w, http.StatusOK, result)
		}
	}
}

// complexSub validates _embedded.{contacts|companies} of a complex lead: at most
// one element, either {id} of an existing entity or a new entity.
func (c *call) complexSub(emb *item, kind string, commit bool) (*record, int64) {
	arr, ok := emb.array(kind)
	if !ok || len(arr) == 0 {
		return nil, 0
	}
	if len(arr) > 1 {
		emb.add(CodeCountMaxLimit, kind, "This collection should contain 1 element or less.")
		return nil, 0
	}
	if !c.allowed2(kind, "add", emb) {
		return nil, 0
	}
	sub, ok := newItem(arr[0], emb.prefix+kind+".0.", emb.errs)
	if !ok {
		return nil, 0
	}
	if id, ok := sub.int("id"); ok {
		if c.s.st.get(kind, id) == nil {
			sub.add(CodeNotSupportedChoice, "id", "The value you selected is not a valid choice.")
		}
		return nil, id
	}
	if cfs, ok := sub.array("custom_fields_values"); ok && len(cfs) > MaxComplexCF {
		sub.add(CodeCountMaxLimit, "custom_fields_values", "This collection should contain 40 elements or less.")
	}
	r := c.newRecord(kind)
	c.input(sub, r, true, commit)
	return r, 0
}

// allowed2 checks a right without answering; a denial becomes a validation error.
func (c *call) allowed2(kind, action string, it *item) bool {
	var er EntityRights
	switch kind {
	case EntityContacts:
		er = c.u.Rights.Contacts
	case EntityCompanies:
		er = c.u.Rights.Companies
	}
	if action == "add" && er.Add == RightDenied {
		it.add(CodeNotSupportedChoice, kind, "Access denied: no add rights for "+kind+".")
		return false
	}
	return true
}

// newUID returns an unsorted item uid. Called with s.mu held.
func (s *Server) newUID() string {
	h := s.oauth.hex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
