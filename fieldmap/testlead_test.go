package fieldmap

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/chatterhq/sdk/amocrm"
)

// fakeCRM stores what it is sent, round-tripped through JSON the way the
// wire would, and can drop a field to imitate amoCRM ignoring it.
type fakeCRM struct {
	mu        sync.Mutex
	leads     map[int]*amocrm.Lead
	contacts  map[int]*amocrm.Contact
	companies map[int]*amocrm.Company
	notes     []*amocrm.Note
	dropField int
	createErr error
	calls     int
}

func newFakeCRM() *fakeCRM {
	return &fakeCRM{leads: map[int]*amocrm.Lead{}, contacts: map[int]*amocrm.Contact{}, companies: map[int]*amocrm.Company{}}
}

func roundTrip(t any, dst any) {
	b, err := json.Marshal(t)
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(b, dst); err != nil {
		panic(err)
	}
}

func (f *fakeCRM) CreateComplex(_ context.Context, items []*amocrm.ComplexLead) ([]*amocrm.ComplexLeadResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.createErr != nil {
		return nil, f.createErr
	}
	var out []*amocrm.ComplexLeadResult
	for _, it := range items {
		// decode the wire form back, as amoCRM would read it
		var wire struct {
			amocrm.Lead
			Embedded struct {
				Contacts  []*amocrm.Contact `json:"contacts"`
				Companies []*amocrm.Company `json:"companies"`
				Tags      []amocrm.Tag      `json:"tags"`
			} `json:"_embedded"`
		}
		roundTrip(it, &wire)
		l := wire.Lead
		l.ID = 1000 + len(f.leads)
		var kept amocrm.CustomFieldsValues
		for _, cv := range l.CustomFieldsValues {
			if cv.FieldID != f.dropField {
				kept = append(kept, cv)
			}
		}
		l.CustomFieldsValues = kept
		l.Embedded = &amocrm.LeadEmbedded{Tags: wire.Embedded.Tags}
		f.leads[l.ID] = &l
		res := &amocrm.ComplexLeadResult{ID: l.ID}
		if len(wire.Embedded.Contacts) > 0 {
			c := wire.Embedded.Contacts[0]
			c.ID = 2000 + len(f.contacts)
			f.contacts[c.ID] = c
			res.ContactID = c.ID
		}
		if len(wire.Embedded.Companies) > 0 {
			c := wire.Embedded.Companies[0]
			c.ID = 3000 + len(f.companies)
			f.companies[c.ID] = c
			res.CompanyID = c.ID
		}
		out = append(out, res)
	}
	return out, nil
}

func (f *fakeCRM) AddLeadNote(_ context.Context, n *amocrm.Note) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.leads[n.EntityID] == nil {
		return errors.New("no such lead")
	}
	f.notes = append(f.notes, n)
	return nil
}

func (f *fakeCRM) GetLead(_ context.Context, id int) (*amocrm.Lead, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.leads[id]
	if !ok {
		return nil, errors.New("not found")
	}
	return l, nil
}

func (f *fakeCRM) GetContact(_ context.Context, id int) (*amocrm.Contact, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.contacts[id]
	if !ok {
		return nil, errors.New("not found")
	}
	return c, nil
}

func (f *fakeCRM) GetCompany(_ context.Context, id int) (*amocrm.Company, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.companies[id]
	if !ok {
		return nil, errors.New("not found")
	}
	return c, nil
}

var _ LeadCreator = (*fakeCRM)(nil)
var _ LeadCreator = NewLeadCreator(nil)

func TestSendTestLead(t *testing.T) {
	m := exampleMapper(t)
	crm := newFakeCRM()
	rep, err := SendTestLead(t.Context(), crm, m, loadMessage(t), TestLeadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Mismatches()) != 0 {
		t.Fatalf("mismatches: %+v", rep.Mismatches())
	}
	if rep.LeadID == 0 || rep.ContactID == 0 || rep.CompanyID == 0 || len(crm.notes) != 1 {
		t.Errorf("report %+v notes %d", rep, len(crm.notes))
	}
	stored := crm.leads[rep.LeadID]
	if !strings.HasPrefix(stored.Name, "[ТЕСТ] ") || !hasTag(stored.Embedded.Tags, "chatter-test") {
		t.Errorf("not marked as test: %q %v", stored.Name, stored.Embedded.Tags)
	}
	fields := 0
	for _, c := range rep.Checks {
		if strings.HasPrefix(c.Field, "#") || c.Field == "PHONE" {
			fields++
		}
	}
	if fields < 8 {
		t.Errorf("only %d custom field checks: %+v", fields, rep.Checks)
	}

	// amoCRM silently drops a field: the report says which
	crm.dropField = 103
	rep, err = SendTestLead(t.Context(), crm, m, loadMessage(t), TestLeadOptions{Tag: "qa", NamePrefix: "-"})
	if err != nil {
		t.Fatal(err)
	}
	bad := rep.Mismatches()
	if rep.OK() || len(bad) != 1 || !strings.Contains(bad[0].Field, "Дата обращения") || bad[0].Stored != "(field not stored)" {
		t.Errorf("mismatches: %+v", bad)
	}
	if strings.HasPrefix(crm.leads[rep.LeadID].Name, "[") {
		t.Error("NamePrefix '-' ignored")
	}

	// a mapping problem: nothing is sent
	calls := crm.calls
	rec := loadMessage(t)
	rec["time"] = "never"
	if _, err := SendTestLead(t.Context(), crm, m, rec, TestLeadOptions{}); ProblemsOf(err) == nil || crm.calls != calls {
		t.Errorf("mapping problem: %v, calls %d→%d", err, calls, crm.calls)
	}
	// a client error is returned wrapped
	crm.createErr = &amocrm.APIError{StatusCode: 400}
	var ae *amocrm.APIError
	if _, err := SendTestLead(t.Context(), crm, m, loadMessage(t), TestLeadOptions{}); !errors.As(err, &ae) {
		t.Errorf("client error: %v", err)
	}
}

func TestSameValue(t *testing.T) {
	cases := []struct {
		typ  amocrm.FieldType
		a, b amocrm.FieldValue
		want bool
	}{
		{amocrm.FieldTypeSelect, amocrm.EnumValue(3), amocrm.FieldValue{EnumID: 3, Value: "A"}, true},
		{amocrm.FieldTypeSelect, amocrm.EnumValue(3), amocrm.FieldValue{EnumID: 4}, false},
		{amocrm.FieldTypeNumeric, amocrm.NumberValue(1.5), amocrm.FieldValue{Value: "1.5"}, true},
		{amocrm.FieldTypeCheckbox, amocrm.BoolValue(true), amocrm.FieldValue{Value: "1"}, true},
		{amocrm.FieldTypeDateTime, amocrm.FieldValue{Value: int64(1772446500)}, amocrm.FieldValue{Value: "2026-03-02T10:15:00Z"}, true},
		{amocrm.FieldTypeMultitext, amocrm.MultitextValue("+7", "MOB"), amocrm.FieldValue{Value: "+7", EnumCode: "WORK"}, false},
		{amocrm.FieldTypeLegalEntity, amocrm.ObjectValue(amocrm.LegalEntityValue{Name: "A"}), amocrm.FieldValue{Value: map[string]any{"name": "A", "x": 1}}, true},
		{amocrm.FieldTypeLegalEntity, amocrm.ObjectValue(amocrm.LegalEntityValue{Name: "A"}), amocrm.FieldValue{Value: map[string]any{"name": "B"}}, false},
		{amocrm.FieldTypeSmartAddress, amocrm.AddressValue("city", "X"), amocrm.FieldValue{Value: "X", Subtype: "zip"}, false},
	}
	for i, tc := range cases {
		if got := sameValue(tc.typ, tc.a, tc.b); got != tc.want {
			t.Errorf("case %d: got %v", i, got)
		}
	}
}
