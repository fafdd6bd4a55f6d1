package fieldmap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/amocrm"
)

// LeadCreator is the part of the amoCRM client SendTestLead needs.
// NewLeadCreator adapts an *amocrm.Client; tests use a fake.
//
// Errors are the client's (*amocrm.APIError and friends). CreateComplex is
// not idempotent (each call creates a lead); the getters are. Implementations
// must be safe for concurrent use.
type LeadCreator interface {
	// CreateComplex creates the leads (with their contact and company) in one
	// /leads/complex request.
	CreateComplex(ctx context.Context, items []*amocrm.ComplexLead) ([]*amocrm.ComplexLeadResult, error)
	// AddLeadNote adds a note to a lead (note.EntityID is the lead id).
	AddLeadNote(ctx context.Context, note *amocrm.Note) error
	// GetLead reads a lead back with its tags and custom fields.
	GetLead(ctx context.Context, id int) (*amocrm.Lead, error)
	// GetContact and GetCompany read the created contact and company back.
	GetContact(ctx context.Context, id int) (*amocrm.Contact, error)
	GetCompany(ctx context.Context, id int) (*amocrm.Company, error)
}

// NewLeadCreator adapts an amoCRM client to LeadCreator.
func NewLeadCreator(c *amocrm.Client) LeadCreator { return clientCreator{c} }

type clientCreator struct{ c *amocrm.Client }

func (cc clientCreator) CreateComplex(ctx context.Context, items []*amocrm.ComplexLead) ([]*amocrm.ComplexLeadResult, error) {
	res, _, err := cc.c.Leads.CreateComplex(ctx, items)
	return res, err
}

func (cc clientCreator) AddLeadNote(ctx context.Context, note *amocrm.Note) error {
	_, _, err := cc.c.Notes.Create(ctx, amocrm.EntityLeads, []*amocrm.Note{note})
	return err
}

func (cc clientCreator) GetLead(ctx context.Context, id int) (*amocrm.Lead, error) {
	l, _, err := cc.c.Leads.Get(ctx, id, &amocrm.GetOptions{With: []string{amocrm.LeadWithContacts}})
	return l, err
}

func (cc clientCreator) GetContact(ctx context.Context, id int) (*amocrm.Contact, error) {
	c, _, err := cc.c.Contacts.Get(ctx, id, nil)
	return c, err
}

func (cc clientCreator) GetCompany(ctx context.Context, id int) (*amocrm.Company, error) {
	c, _, err := cc.c.Companies.Get(ctx, id, nil)
	return c, err
}

// TestLeadOptions configure SendTestLead.
type TestLeadOptions struct {
	// Tag marks the lead (and its contact) as a test; default "chatter-test".
	Tag string
	// NamePrefix is put before the lead name; default "[ТЕСТ] ".
	// Set it to "-" for none.
	NamePrefix string
}

// FieldCheck compares one sent value with what amoCRM stored.
type FieldCheck struct {
	Entity amocrm.EntityType `json:"entity"`
	// Field is the attribute ("name", "price", "pipeline_id", "tags") or the
	// custom field ("#123 Бюджет", "PHONE").
	Field  string `json:"field"`
	Sent   string `json:"sent"`
	Stored string `json:"stored"`
	OK     bool   `json:"ok"`
}

// TestReport is the outcome of SendTestLead.
type TestReport struct {
	LeadID    int          `json:"lead_id"`
	ContactID int          `json:"contact_id,omitempty"`
	CompanyID int          `json:"company_id,omitempty"`
	Checks    []FieldCheck `json:"checks"`
	// Sent is the mapping result that was sent (with the test marks).
	Sent *Result `json:"-"`
}

// OK reports whether amoCRM stored every value as sent.
func (r *TestReport) OK() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Mismatches returns the failed checks.
func (r *TestReport) Mismatches() []FieldCheck {
	var out []FieldCheck
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// SendTestLead maps rec, creates ONE real lead marked as a test (a tag and a
// name prefix) through client, adds the note, reads the lead, contact and
// company back, and reports field by field whether amoCRM stored what was
// sent — the "create a test lead and check every field" step of the support
// guide, automated. A mapping problem is returned as *Error before anything
// is sent; a client error is returned with the report built so far (LeadID
// set once the lead exists). Not idempotent: every call creates a lead.
func SendTestLead(ctx context.Context, client LeadCreator, m *Mapper, rec Record, opts TestLeadOptions) (*TestReport, error) {
	res, err := m.Apply(rec)
	if err != nil {
		return nil, err
	}
	tag := opts.Tag
	if tag == "" {
		tag = "chatter-test"
	}
	prefix := opts.NamePrefix
	switch prefix {
	case "":
		prefix = "[ТЕСТ] "
	case "-":
		prefix = ""
	}
	res.lead.Name = prefix + res.lead.Name
	if !hasTag(res.Lead.Tags, tag) {
		res.Lead.Tags = append(res.Lead.Tags, amocrm.Tag{Name: tag})
	}
	if c := res.Lead.Contact; c != nil {
		if c.Embedded == nil {
			c.Embedded = &amocrm.ContactEmbedded{}
		}
		if !hasTag(c.Embedded.Tags, tag) {
			c.Embedded.Tags = append(c.Embedded.Tags, amocrm.Tag{Name: tag})
		}
	}
	res.Lead.RequestID = "test"
	rep := &TestReport{Sent: res}

	out, err := client.CreateComplex(ctx, []*amocrm.ComplexLead{&res.Lead})
	if err != nil {
		return rep, fmt.Errorf("fieldmap: test lead: create: %w", err)
	}
	if len(out) == 0 || out[0] == nil || out[0].ID == 0 {
		return rep, errors.New("fieldmap: test lead: amoCRM returned no lead id")
	}
	rep.LeadID, rep.ContactID, rep.CompanyID = out[0].ID, out[0].ContactID, out[0].CompanyID
	if res.Note != nil {
		res.Note.EntityID = rep.LeadID
		if err := client.AddLeadNote(ctx, res.Note); err != nil {
			return rep, fmt.Errorf("fieldmap: test lead: add note: %w", err)
		}
	}
	got, err := client.GetLead(ctx, rep.LeadID)
	if err != nil {
		return rep, fmt.Errorf("fieldmap: test lead: read back lead %d: %w", rep.LeadID, err)
	}
	rep.Checks = append(rep.Checks, compareLead(res.Lead.Lead, res.Lead.Tags, got)...)
	if c := res.Lead.Contact; c != nil {
		if rep.ContactID == 0 {
			rep.Checks = append(rep.Checks, FieldCheck{Entity: amocrm.EntityContacts, Field: "id", Sent: "new contact", Stored: "none", OK: false})
		} else {
			gc, err := client.GetContact(ctx, rep.ContactID)
			if err != nil {
				return rep, fmt.Errorf("fieldmap: test lead: read back contact %d: %w", rep.ContactID, err)
			}
			rep.Checks = append(rep.Checks, compareText(amocrm.EntityContacts, "name", c.Name, gc.Name),
				compareText(amocrm.EntityContacts, "first_name", c.FirstName, gc.FirstName),
				compareText(amocrm.EntityContacts, "last_name", c.LastName, gc.LastName))
			rep.Checks = append(rep.Checks, compareFields(amocrm.EntityContacts, c.CustomFieldsValues, gc.CustomFieldsValues)...)
		}
	}
	if co := res.Lead.Company; co != nil {
		if rep.CompanyID == 0 {
			rep.Checks = append(rep.Checks, FieldCheck{Entity: amocrm.EntityCompanies, Field: "id", Sent: "new company", Stored: "none", OK: false})
		} else {
			gco, err := client.GetCompany(ctx, rep.CompanyID)
			if err != nil {
				return rep, fmt.Errorf("fieldmap: test lead: read back company %d: %w", rep.CompanyID, err)
			}
			rep.Checks = append(rep.Checks, compareText(amocrm.EntityCompanies, "name", co.Name, gco.Name))
			rep.Checks = append(rep.Checks, compareFields(amocrm.EntityCompanies, co.CustomFieldsValues, gco.CustomFieldsValues)...)
		}
	}
	return rep, nil
}

func compareText(e amocrm.EntityType, field, sent, stored string) FieldCheck {
	ok := sent == "" || strings.TrimSpace(sent) == strings.TrimSpace(stored)
	return FieldCheck{Entity: e, Field: field, Sent: sent, Stored: stored, OK: ok}
}

func compareInt(e amocrm.EntityType, field string, sent, stored int) FieldCheck {
	return FieldCheck{Entity: e, Field: field, Sent: strconv.Itoa(sent), Stored: strconv.Itoa(stored), OK: sent == 0 || sent == stored}
}

func compareLead(sent *amocrm.Lead, tags []amocrm.Tag, got *amocrm.Lead) []FieldCheck {
	e := amocrm.EntityLeads
	checks := []FieldCheck{
		compareText(e, "name", sent.Name, got.Name),
		compareInt(e, "price", sent.Price, got.Price),
		compareInt(e, "pipeline_id", sent.PipelineID, got.PipelineID),
		compareInt(e, "status_id", sent.StatusID, got.StatusID),
		compareInt(e, "responsible_user_id", sent.ResponsibleUserID, got.ResponsibleUserID),
	}
	var stored []amocrm.Tag
	if got.Embedded != nil {
		stored = got.Embedded.Tags
	}
	for _, t := range tags {
		fc := FieldCheck{Entity: e, Field: "tags", Sent: t.Name, OK: hasTag(stored, t.Name)}
		if fc.OK {
			fc.Stored = t.Name
		}
		checks = append(checks, fc)
	}
	return append(checks, compareFields(e, sent.CustomFieldsValues, got.CustomFieldsValues)...)
}

func compareFields(e amocrm.EntityType, sent, stored amocrm.CustomFieldsValues) []FieldCheck {
	var out []FieldCheck
	for _, s := range sent {
		var g *amocrm.CustomFieldValues
		label := s.FieldCode
		if s.FieldID != 0 {
			g = stored.ByID(s.FieldID)
			label = "#" + strconv.Itoa(s.FieldID)
			if s.FieldName != "" {
				label += " " + s.FieldName
			}
		} else {
			g = stored.ByCode(s.FieldCode)
		}
		var got []amocrm.FieldValue
		if g != nil {
			got = g.Values
		}
		for _, v := range s.Values {
			fc := FieldCheck{Entity: e, Field: label, Sent: describeValue(v)}
			for _, gv := range got {
				if sameValue(s.FieldType, v, gv) {
					fc.OK, fc.Stored = true, describeValue(gv)
					break
				}
			}
			if !fc.OK {
				parts := make([]string, 0, len(got))
				for _, gv := range got {
					parts = append(parts, describeValue(gv))
				}
				fc.Stored = strings.Join(parts, "; ")
				if g == nil {
					fc.Stored = "(field not stored)"
				}
			}
			out = append(out, fc)
		}
	}
	return out
}

func describeValue(v amocrm.FieldValue) string {
	var parts []string
	if v.Value != nil {
		parts = append(parts, v.Text())
	}
	if v.EnumID != 0 {
		parts = append(parts, "enum_id="+strconv.Itoa(v.EnumID))
	}
	if v.EnumCode != "" {
		parts = append(parts, "enum_code="+v.EnumCode)
	}
	if v.Subtype != "" {
		parts = append(parts, "subtype="+v.Subtype)
	}
	return strings.Join(parts, " ")
}

// addressPart is the smart_address part a value is for.
func addressPart(v amocrm.FieldValue) string {
	if v.EnumCode != "" {
		return v.EnumCode
	}
	return v.Subtype
}

// sameValue reports whether amoCRM stored sent as got.
func sameValue(t amocrm.FieldType, sent, got amocrm.FieldValue) bool {
	if sent.EnumID != 0 {
		return got.EnumID == sent.EnumID
	}
	if t == amocrm.FieldTypeSmartAddress {
		// amocrm.AddressValue names the part in enum_code; older payloads
		// name it subtype.
		if sp, gp := addressPart(sent), addressPart(got); sp != "" && gp != "" && !strings.EqualFold(sp, gp) {
			return false
		}
	}
	if sent.Subtype != "" && !strings.EqualFold(sent.Subtype, got.Subtype) {
		return false
	}
	if sent.EnumCode != "" && got.EnumCode != "" && !strings.EqualFold(sent.EnumCode, got.EnumCode) {
		return false
	}
	switch {
	case t.IsDate():
		a, err1 := sent.Time()
		b, err2 := got.Time()
		return err1 == nil && err2 == nil && (a.Equal(b) || t != amocrm.FieldTypeDateTime && a.Format("2006-01-02") == b.Format("2006-01-02"))
	case t == amocrm.FieldTypeNumeric || t == amocrm.FieldTypePrice || t == amocrm.FieldTypeMonetary:
		a, err1 := sent.Float()
		b, err2 := got.Float()
		return err1 == nil && err2 == nil && math.Abs(a-b) < 1e-9
	case t == amocrm.FieldTypeCheckbox:
		a, err1 := sent.Bool()
		b, err2 := got.Bool()
		return err1 == nil && err2 == nil && a == b
	}
	switch sent.Value.(type) {
	case string, json.Number, bool, nil:
		return strings.EqualFold(strings.TrimSpace(sent.Text()), strings.TrimSpace(got.Text()))
	}
	// composite: every sent key must be stored with the same value
	var sm, gm map[string]any
	if sent.Decode(&sm) != nil || got.Decode(&gm) != nil {
		return false
	}
	for k, sv := range sm {
		if fmt.Sprint(sv) != fmt.Sprint(gm[k]) {
			return false
		}
	}
	return true
}
