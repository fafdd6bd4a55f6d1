package amocrm

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// A lead status change plus a contact update in one POST, legacy names.
const webhookMulti = "leads%5Bstatus%5D%5B0%5D%5Bid%5D=25399013&leads%5Bstatus%5D%5B0%5D%5Bname%5D=Lead+title" +
	"&leads%5Bstatus%5D%5B0%5D%5Bold_status_id%5D=7039101&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142" +
	"&leads%5Bstatus%5D%5B0%5D%5Bprice%5D=0&leads%5Bstatus%5D%5B0%5D%5Bresponsible_user_id%5D=123123" +
	"&leads%5Bstatus%5D%5B0%5D%5Blast_modified%5D=1413554372&leads%5Bstatus%5D%5B0%5D%5Bmodified_user_id%5D=123123" +
	"&leads%5Bstatus%5D%5B0%5D%5Bcreated_user_id%5D=123123&leads%5Bstatus%5D%5B0%5D%5Bdate_create%5D=1413554349" +
	"&leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=1300&leads%5Bstatus%5D%5B0%5D%5Bold_pipeline_id%5D=1299" +
	"&leads%5Bstatus%5D%5B0%5D%5Baccount_id%5D=7039099" +
	"&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bid%5D=427493" +
	"&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bname%5D=Checkbox" +
	"&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bvalues%5D%5B0%5D%5Bvalue%5D=1" +
	"&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B1%5D%5Bid%5D=427495" +
	"&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B1%5D%5Bname%5D=Select" +
	"&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B1%5D%5Bvalues%5D%5B0%5D%5Bvalue%5D=Option+1" +
	"&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B1%5D%5Bvalues%5D%5B0%5D%5Benum%5D=1240661" +
	"&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B2%5D%5Bid%5D=427497" +
	"&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B2%5D%5Bname%5D=Date" +
	"&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B2%5D%5Bvalues%5D%5B0%5D=1413493200" +
	"&leads%5Bstatus%5D%5B0%5D%5Btags%5D%5B0%5D%5Bid%5D=1&leads%5Bstatus%5D%5B0%5D%5Btags%5D%5B0%5D%5Bname%5D=telegram" +
	"&contacts%5Bupdate%5D%5B0%5D%5Bid%5D=5&contacts%5Bupdate%5D%5B0%5D%5Bname%5D=Ivan&contacts%5Bupdate%5D%5B0%5D%5Btype%5D=contact" +
	"&contacts%5Bupdate%5D%5B0%5D%5Blinked_leads_id%5D%5B25399013%5D%5BID%5D=25399013" +
	"&contacts%5Bupdate%5D%5B0%5D%5Blinked_company_id%5D=77&contacts%5Bupdate%5D%5B0%5D%5Bcompany_name%5D=Romashka" +
	"&contacts%5Bupdate%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bid%5D=3&contacts%5Bupdate%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bcode%5D=PHONE" +
	"&contacts%5Bupdate%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bvalues%5D%5B0%5D%5Bvalue%5D=%2B79990000000" +
	"&contacts%5Bupdate%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bvalues%5D%5B0%5D%5Benum%5D=MOB" +
	"&contacts%5Bupdate%5D%5B1%5D%5Bid%5D=6&contacts%5Bupdate%5D%5B1%5D%5Bname%5D=Petr" +
	"&account%5Bsubdomain%5D=example&account%5Bid%5D=7039099&account%5B_links%5D%5Bself%5D=https%3A%2F%2Fexample.amocrm.ru"

const webhookMessage = "message[add][0][id]=1db2f5cc-aea4-4f96-8d4f-a256ead5b7b0&message[add][0][chat_id]=c-1&message[add][0][talk_id]=12&message[add][0][contact_id]=5" +
	"&message[add][0][text]=Привет&message[add][0][created_at]=1600000000&message[add][0][element_type]=2&message[add][0][entity_type]=lead" +
	"&message[add][0][element_id]=900&message[add][0][entity_id]=900&message[add][0][type]=incoming" +
	"&message[add][0][author][id]=a-1&message[add][0][author][type]=external&message[add][0][author][name]=Ivan" +
	"&message[add][0][author][avatar_url]=https://amojo.amocrm.ru/a.jpg&message[add][0][origin]=telegram" +
	"&account[subdomain]=example&account[id]=1"

func TestParseWebhookMultipleEntities(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(webhookMulti))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	p, err := ParseWebhook(r)
	if err != nil {
		t.Fatal(err)
	}
	if p.Account.ID != 7039099 || p.Account.Subdomain != "example" || p.Account.Self != "https://example.amocrm.ru" {
		t.Errorf("account = %+v", p.Account)
	}
	if len(p.Events) != 3 {
		t.Fatalf("got %d events", len(p.Events))
	}
	c0, c1, l := p.Events[0], p.Events[1], p.Events[2] // contacts sort before leads
	if l.Entity != "leads" || l.Action != "status" || l.ID != 25399013 || l.StatusID != 142 || l.OldStatusID != 7039101 ||
		l.PipelineID != 1300 || l.OldPipelineID != 1299 || l.CreatedAt != 1413554349 || l.UpdatedAt != 1413554372 ||
		l.CreatedBy != 123123 || l.UpdatedBy != 123123 || l.AccountID != 7039099 {
		t.Errorf("lead event = %+v", l)
	}
	if len(l.CustomFields) != 3 || l.CustomFields[1].Values[0].EnumID != 1240661 || l.CustomFields[1].Values[0].Text() != "Option 1" {
		t.Errorf("lead fields = %+v", l.CustomFields)
	}
	if ts, err := l.CustomFields[2].Values[0].Time(); err != nil || ts.Unix() != 1413493200 {
		t.Errorf("scalar date value: %v %v", ts, err)
	}
	if len(l.Tags) != 1 || l.Tags[0].Name != "telegram" {
		t.Errorf("tags = %+v", l.Tags)
	}
	if c0.Entity != "contacts" || c0.Action != "update" || c0.ID != 5 || c0.Type != "contact" || c0.LinkedCompanyID != 77 ||
		c0.CompanyName != "Romashka" || len(c0.LinkedLeadIDs) != 1 || c0.LinkedLeadIDs[0] != 25399013 {
		t.Errorf("contact event = %+v", c0)
	}
	if v := c0.CustomFields[0].Values[0]; v.Text() != "+79990000000" || v.EnumCode != "MOB" || c0.CustomFields[0].Code != "PHONE" {
		t.Errorf("phone = %+v", v)
	}
	if c1.ID != 6 || c1.Index != 1 || c1.Name != "Petr" {
		t.Errorf("second contact = %+v", c1)
	}
	if l.Fields["custom_fields[1][values][0][enum]"] != "1240661" {
		t.Errorf("flattened fields = %v", l.Fields)
	}
}

func TestParseWebhookMessage(t *testing.T) {
	t.Parallel()
	v, err := url.ParseQuery(webhookMessage)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseWebhookForm(v)
	if err != nil {
		t.Fatal(err)
	}
	require.Len(t, p.Events, 1)
	m := p.Events[0]
	m.Fields = nil
	want := WebhookEvent{
		Entity: "message", Action: "add", Text: "Привет", ChatID: "c-1", TalkID: "12", ContactID: 5,
		CreatedAt: 1600000000, EntityID: 900, EntityType: WebhookEntityLead, Direction: "incoming",
		MessageID: "1db2f5cc-aea4-4f96-8d4f-a256ead5b7b0",
		Author:    WebhookAuthor{ID: "a-1", Type: "external", Name: "Ivan", AvatarURL: "https://amojo.amocrm.ru/a.jpg"},
		Origin:    "telegram",
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("message event (-want +got):\n%s", diff)
	}
}

// A message id that looks like a number is still the message's id, not
// the entity id.
func TestParseWebhookMessageNumericLookingID(t *testing.T) {
	t.Parallel()
	p, err := ParseWebhookForm(url.Values{"message[add][0][id]": {"1e5"}, "message[add][0][type]": {"outgoing"}})
	require.NoError(t, err)
	require.Len(t, p.Events, 1)
	got := p.Events[0]
	if diff := cmp.Diff([3]any{0, "1e5", "outgoing"}, [3]any{got.ID, got.MessageID, got.Direction}); diff != "" {
		t.Errorf("ID, MessageID, Direction (-want +got):\n%s", diff)
	}
	require.Empty(t, got.Type, "a message's type is its direction, not Type")
}

func TestParseWebhookEntityTypeNormalised(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"legacy contact", url.Values{"task[add][0][element_type]": {"1"}}, WebhookEntityContact},
		{"legacy lead", url.Values{"task[add][0][element_type]": {"2"}}, WebhookEntityLead},
		{"legacy company", url.Values{"task[add][0][element_type]": {"3"}}, WebhookEntityCompany},
		{"legacy task", url.Values{"task[add][0][element_type]": {"4"}}, WebhookEntityTask},
		{"legacy customer", url.Values{"task[add][0][element_type]": {" 12 "}}, WebhookEntityCustomer},
		{"named", url.Values{"task[add][0][entity_type]": {"company"}}, WebhookEntityCompany},
		{"named plural", url.Values{"task[add][0][entity_type]": {"Leads"}}, WebhookEntityLead},
		{"named wins over legacy", url.Values{"task[add][0][element_type]": {"2"}, "task[add][0][entity_type]": {"customer"}}, WebhookEntityCustomer},
		{"number in entity_type", url.Values{"task[add][0][entity_type]": {"3"}}, WebhookEntityCompany},
		{"unknown number", url.Values{"task[add][0][element_type]": {"99"}}, ""},
		{"unknown name kept", url.Values{"task[add][0][entity_type]": {"catalog_element"}}, "catalog_element"},
		{"note nested", url.Values{"leads[note][0][note][element_type]": {"2"}, "leads[note][0][note][element_id]": {"7"}}, WebhookEntityLead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseWebhookForm(tc.form)
			require.NoError(t, err)
			require.Len(t, p.Events, 1)
			if diff := cmp.Diff(tc.want, p.Events[0].EntityType); diff != "" {
				t.Errorf("EntityType (-want +got):\n%s", diff)
			}
		})
	}
	p, err := ParseWebhookForm(url.Values{"task[add][0][element_type]": {"99"}})
	require.NoError(t, err)
	require.Equal(t, "99", p.Events[0].Fields["element_type"], "an unknown code stays in Fields")
}

func TestParseWebhookErrors(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(`{"leads":1}`))
	r.Header.Set("Content-Type", "application/json")
	if _, err := ParseWebhook(r); err == nil {
		t.Error("JSON body: want error")
	}
	if _, err := ParseWebhookForm(url.Values{"foo": {"bar"}}); err == nil {
		t.Error("no events: want error")
	}
	if got := splitFormKey("a[b][c"); strings.Join(got, "|") != "a|b|c" {
		t.Errorf("splitFormKey = %q", got)
	}
}

func FuzzParseWebhook(f *testing.F) {
	f.Add(webhookMulti)
	f.Add(webhookMessage)
	f.Add("leads[add][0][id]=1&leads[add][0][name]=x&account[id]=2")
	f.Add("leads[delete][0][id]=1&leads[delete][0][status_id]=143&leads[delete][0][pipeline_id]=1")
	f.Add("contacts[add][0][linked_leads_id][1]=1&contacts[add][0][tags]=x&contacts[add][0][custom_fields][0][values]=5")
	f.Add("leads[note][0][note][text]=hi&leads[note][0][note][element_id]=3&leads[note][0][note][note_type]=4")
	f.Add("a[b]=1&a[b][c]=2&a=3&[]=&[[[=]]]&leads[add][x][id]=y&leads[add][0]=z")
	f.Add("leads[add][0][custom_fields][0][values][0][value]=1e400&leads[add][0][id]=99999999999999999999999")
	f.Add("message[add][0][id]=1db2f5cc-aea4-4f96-8d4f-a256ead5b7b0&message[add][0][element_type]=2&message[add][0][author]=x&message[add][0][origin]=waba")
	f.Add("task[add][0][element_type]=12&task[add][0][entity_type]=leads&talk[add][0][entity_type]=99999999999999999999&talk[add][0][origin]=telegram")
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		p, err := ParseWebhook(r)
		if err == nil && p == nil {
			t.Fatal("nil payload without error")
		}
		if p != nil {
			for _, e := range p.Events {
				if _, err := strconv.Atoi(e.EntityType); err == nil {
					t.Fatalf("EntityType %q is a number, want a name", e.EntityType)
				}
				if e.Entity == "message" && (e.ID != 0 || e.Type != "") {
					t.Fatalf("message event with ID %d, Type %q", e.ID, e.Type)
				}
			}
		}
		if v, err := url.ParseQuery(body); err == nil {
			_, _ = ParseWebhookForm(v)
		}
	})
}
