package amocrmsink_test

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
)

var (
	maria = person{id: 610000001, username: "Maria_K", first: "Мария", last: "Ковалёва"}
	pavel = person{id: 610000002, username: "pavel_s", first: "Павел", last: "Сидоров"}
)

const chatID = -1001234567890

func TestNewRejectsIncompleteConfig(t *testing.T) {
	_, err := amocrmsink.New(amocrmsink.Config{})
	if !errors.Is(err, chatter.ErrInvalid) {
		t.Fatalf("New(empty) = %v, want ErrInvalid", err)
	}
	for _, want := range []string{"Client", "Mapper", "Contacts", "Leases", "MarkerField"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	e := newEnv(t, envOptions{})
	cfg := e.cfg
	cfg.ThreadWindow = -time.Second
	if _, err := amocrmsink.New(cfg); !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("negative ThreadWindow: %v, want ErrInvalid", err)
	}
}

func TestDeliverNilMessageIsPermanent(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, err := e.sink.Deliver(t.Context(), &chatter.Delivery{Attempt: 1})
	if !chatter.IsPermanent(err) || !errors.Is(err, chatter.ErrInvalid) {
		t.Fatalf("Deliver(no message) = %v, want permanent ErrInvalid", err)
	}
}

func TestNewPersonGetsContactLeadAndNote(t *testing.T) {
	e := newEnv(t, envOptions{})
	p := e.runPipeline(t, chatter.PipelineConfig{})
	m := msg(chatID, 101, maria, "Добрый день! Интересует кухня на заказ, 3 метра. Мой номер +7 903 111-22-33")
	if _, err := p.Accept(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	e.waitSettled(t, 1, 30*time.Second)
	en := e.entry(t, m)
	if en.State != chatter.StateDelivered || en.Result == nil {
		t.Fatalf("entry = %+v, want delivered", en)
	}
	res := en.Result
	if res.Threaded || res.Adopted || res.LeadID == 0 || res.ContactID == 0 || res.NoteID == 0 {
		t.Fatalf("result = %+v, want a new lead, contact and note", res)
	}
	lead, ok := e.srv.Lead(res.LeadID)
	if !ok {
		t.Fatalf("lead %d not in amoCRM", res.LeadID)
	}
	if got := amocrmtest.FieldString(lead.CustomFieldsValues, int64(e.marker)); got != m.Key.String() {
		t.Errorf("marker = %q, want %q", got, m.Key.String())
	}
	if len(lead.ContactIDs) != 1 || lead.ContactIDs[0] != res.ContactID {
		t.Errorf("lead contacts = %v, want [%d]", lead.ContactIDs, res.ContactID)
	}
	if !strings.HasPrefix(lead.Name, "Мария: Добрый день!") {
		t.Errorf("lead name = %q", lead.Name)
	}
	if len(lead.Tags) != 2 || lead.Tags[0] != "telegram" {
		t.Errorf("lead tags = %v, want telegram and the chat title", lead.Tags)
	}
	c, _ := e.srv.Contact(res.ContactID)
	if got := amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactTelegramID); got != "610000001" {
		t.Errorf("contact Telegram ID = %q", got)
	}
	if got := amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactPhone); got != "+79031112233" {
		t.Errorf("contact phone = %q, want the E.164 phone from the text", got)
	}
	notes := e.srv.Notes(amocrmtest.EntityLeads, res.LeadID)
	if len(notes) != 1 {
		t.Fatalf("notes = %d, want 1", len(notes))
	}
	text, _ := notes[0].Params["text"].(string)
	for _, want := range []string{"кухня на заказ", "Мария Ковалёва", "@Maria_K", "Ремонт квартир — Москва", m.Link, amocrmsink.MarkerPrefix + m.Key.String()} {
		if !strings.Contains(text, want) {
			t.Errorf("note %q lacks %q", text, want)
		}
	}
	link, err := e.store.FindContact(t.Context(), ws, chatter.ContactQuery{TelegramID: maria.id})
	if err != nil || link.ContactID != res.ContactID || link.LeadID != res.LeadID || link.Username != "maria_k" || link.Phone != "+79031112233" {
		t.Errorf("contact link = %+v, %v", link, err)
	}
}

func TestSecondMessageBecomesNoteOnOpenLead(t *testing.T) {
	e := newEnv(t, envOptions{})
	first := e.mustDeliver(t, msg(chatID, 1, maria, "Здравствуйте, сколько стоит доставка в Химки?"))
	second := e.mustDeliver(t, msg(chatID, 2, maria, "И ещё: можно ли оплатить картой?"))
	if !second.Threaded || second.LeadID != first.LeadID || second.ContactID != first.ContactID || second.NoteID == 0 {
		t.Fatalf("second = %+v, want a note on lead %d", second, first.LeadID)
	}
	if n := len(e.srv.Leads()); n != 3 { // two demo leads + one
		t.Errorf("leads = %d, want 3", n)
	}
	if n := len(e.srv.Notes(amocrmtest.EntityLeads, first.LeadID)); n != 2 {
		t.Errorf("notes on the lead = %d, want 2", n)
	}
	// A message outside the thread window starts a new lead.
	late := msg(chatID, 3, maria, "Снова я, нужна ещё одна доставка")
	late.Time = late.Time.Add(8 * 24 * time.Hour)
	third := e.mustDeliver(t, late)
	if third.Threaded || third.LeadID == first.LeadID || third.ContactID != first.ContactID {
		t.Fatalf("late message = %+v, want a new lead for the same contact", third)
	}
}

func TestWonLeadStartsNewLead(t *testing.T) {
	e := newEnv(t, envOptions{})
	first := e.mustDeliver(t, msg(chatID, 1, pavel, "Нужна консультация по шкафу-купе"))
	if _, _, err := e.client.Leads.UpdateOne(t.Context(), &amocrm.Lead{ID: int(first.LeadID), StatusID: amocrm.StatusWon}); err != nil {
		t.Fatal(err)
	}
	second := e.mustDeliver(t, msg(chatID, 2, pavel, "Спасибо! Теперь хочу ещё и прихожую"))
	if second.Threaded || second.LeadID == first.LeadID || second.ContactID != first.ContactID {
		t.Fatalf("after the lead was won: %+v, want a new lead with contact %d", second, first.ContactID)
	}
	if _, _, err := e.client.Leads.UpdateOne(t.Context(), &amocrm.Lead{ID: int(second.LeadID), StatusID: amocrm.StatusLost}); err != nil {
		t.Fatal(err)
	}
	third := e.mustDeliver(t, msg(chatID, 3, pavel, "Передумал, давайте всё же обсудим"))
	if third.Threaded || third.LeadID == second.LeadID {
		t.Fatalf("after the lead was lost: %+v, want a new lead", third)
	}
	if got := len(e.contactsWithTG(pavel.id)); got != 1 {
		t.Errorf("contacts of the person = %d, want 1", got)
	}
}

func TestExistingCRMContactByWeakKeyIsAdoptedWithItsOpenLead(t *testing.T) {
	e := newEnv(t, envOptions{})
	// The demo's Анна Смирнова has username anna_smirnova, no Telegram id,
	// and an open lead in "Переговоры".
	anna := person{id: 620000001, username: "Anna_Smirnova", first: "Анна", last: "Смирнова"}
	res := e.mustDeliver(t, msg(chatID, 1, anna, "Добрый день, по нашему заказу: когда отгрузка?"))
	var annaID, annaLead int64
	for _, c := range e.srv.Contacts() {
		if c.FirstName == "Анна" && c.LastName == "Смирнова" {
			annaID, annaLead = c.ID, c.LeadIDs[0]
		}
	}
	if res.ContactID != annaID || !res.Threaded || res.LeadID != annaLead {
		t.Fatalf("result = %+v, want a note on Anna's lead %d (contact %d)", res, annaLead, annaID)
	}
	c, _ := e.srv.Contact(annaID)
	if got := amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactTelegramID); got != "620000001" {
		t.Errorf("Anna's Telegram ID = %q, want it completed", got)
	}
}

func TestWeakKeyNeverMergesWhenTelegramIDDisagrees(t *testing.T) {
	e := newEnv(t, envOptions{})
	// The demo's Олег Кузнецов: Telegram id 123456789, phone +7 (926) 555-44-33.
	var olegID int64
	for _, c := range e.srv.Contacts() {
		if c.FirstName == "Олег" {
			olegID = c.ID
		}
	}
	other := person{id: 630000001, first: "Олег", last: "Другой", phone: "+7 926 555-44-33"}
	res := e.mustDeliver(t, msg(chatID, 1, other, "Здравствуйте, у меня тот же номер, что у коллеги"))
	if res.ContactID == olegID || res.ContactID == 0 {
		t.Fatalf("contact = %d, must be a new contact, not Oleg's %d", res.ContactID, olegID)
	}
	if got := e.contactsWithTG(other.id); len(got) != 1 || got[0].ID != res.ContactID {
		t.Errorf("contacts with the new Telegram id = %+v", got)
	}
	oleg, _ := e.srv.Contact(olegID)
	if got := amocrmtest.FieldString(oleg.CustomFieldsValues, amocrmtest.DemoContactTelegramID); got != "123456789" {
		t.Errorf("Oleg's Telegram id changed to %q", got)
	}

	// The same in the store: a link by username with another Telegram id.
	ivan1 := person{id: 640000001, username: "ivan_remont", first: "Иван"}
	ivan2 := person{id: 640000002, username: "ivan_remont", first: "Иван"}
	r1 := e.mustDeliver(t, msg(chatID, 2, ivan1, "Нужен электрик"))
	r2 := e.mustDeliver(t, msg(chatID, 3, ivan2, "Нужен сантехник"))
	if r1.ContactID == r2.ContactID || r2.Threaded {
		t.Fatalf("two Telegram accounts with one username merged: %+v / %+v", r1, r2)
	}
	if l, err := e.store.FindContact(t.Context(), ws, chatter.ContactQuery{TelegramID: ivan1.id}); err != nil || l.ContactID != r1.ContactID {
		t.Errorf("link of the first Ivan = %+v, %v", l, err)
	}
}

func TestConcurrentFirstMessagesCreateOneContact(t *testing.T) {
	e := newEnv(t, envOptions{})
	newbie := person{id: 650000001, username: "new_client", first: "Ольга"}
	const n = 12
	results := make([]*chatter.DeliveryResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = e.deliver(t, msg(chatID, int64(10+i), newbie, "Сообщение номер "+strconv.Itoa(i)), 1)
		})
	}
	wg.Wait()
	leads := map[int64]bool{}
	threaded := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("delivery %d: %v", i, errs[i])
		}
		leads[results[i].LeadID] = true
		if results[i].Threaded {
			threaded++
		}
	}
	if got := e.contactsWithTG(newbie.id); len(got) != 1 {
		t.Fatalf("contacts for one new person = %d, want 1", len(got))
	}
	if len(leads) != 1 || threaded != n-1 {
		t.Fatalf("leads = %v, threaded = %d; want one lead and %d notes on it", leads, threaded, n-1)
	}
	for id := range leads {
		if got := len(e.srv.Notes(amocrmtest.EntityLeads, id)); got != n {
			t.Errorf("notes = %d, want %d", got, n)
		}
	}
}

func TestAmbiguousRetryAdoptsLeadAndNote(t *testing.T) {
	e := newEnv(t, envOptions{})
	m := msg(chatID, 1, maria, "Хочу заказать шкаф")
	// The lead is created but amoCRM answers 504.
	remove := e.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/leads/complex", ApplyThenFail: true, Count: 1})
	_, err := e.deliver(t, m, 1)
	remove()
	var ou *amocrm.OutcomeUnknownError
	if !errors.As(err, &ou) || chatter.ClassOf(err) != chatter.ClassTransient {
		t.Fatalf("first attempt = %v, want a transient OutcomeUnknownError", err)
	}
	res, err := e.deliver(t, m, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Adopted || res.ContactID == 0 || res.NoteID == 0 {
		t.Fatalf("retry = %+v, want the lead adopted with its contact and a note", res)
	}
	if got := e.leadsByMarker()[m.Key.String()]; len(got) != 1 {
		t.Fatalf("leads for the message = %d, want 1", len(got))
	}
	// The note is applied but answered 504: the retry finds it.
	m2 := msg(chatID, 2, maria, "И тумбу к нему")
	remove = e.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/leads/notes", ApplyThenFail: true, Count: 1})
	if _, err := e.deliver(t, m2, 1); err == nil {
		t.Fatal("note behind a 504: want an error")
	}
	remove()
	res2, err := e.deliver(t, m2, 2)
	if err != nil || !res2.Threaded || res2.LeadID != res.LeadID {
		t.Fatalf("retry of the note = %+v, %v", res2, err)
	}
	if got := e.notesByMarker()[m2.Key.String()]; len(got) != 1 {
		t.Fatalf("notes for the message = %d, want 1", len(got))
	}
}

// TestExactlyOnceUnderFaults pushes messages through a Pipeline while 20% of
// the writes are applied but answered 504 (and some reads fail), and checks
// in the fake that every message became exactly one lead or one note.
func TestExactlyOnceUnderFaults(t *testing.T) {
	exactlyOnceUnderFaults(t, envOptions{}, 8)
}

// TestExactlyOnceUnderFaultsBatched is the same with batching: a 504 on a
// batch is ambiguous for every delivery in it. With LookupStore, a person
// whose lead creation ended ambiguously is searched in amoCRM by the next
// delivery, so they keep one contact too.
func TestExactlyOnceUnderFaultsBatched(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lookup amocrmsink.LookupPolicy
	}{{"lookup_crm", amocrmsink.LookupCRM}, {"lookup_store", amocrmsink.LookupStore}} {
		t.Run(tc.name, func(t *testing.T) {
			o := envOptions{config: func(c *amocrmsink.Config) {
				c.BatchSize, c.BatchWait, c.Lookup = amocrm.MaxComplexBatch, 20*time.Millisecond, tc.lookup
			}}
			exactlyOnceUnderFaults(t, o, 60)
		})
	}
}

func exactlyOnceUnderFaults(t *testing.T, o envOptions, workers int) {
	n, people := 2000, 250
	if testing.Short() {
		n, people = 300, 40
	}
	o.server = append(o.server, amocrmtest.WithFaultSeed(42))
	e := newEnv(t, o)
	// The first lead creation (a whole batch when batching) is applied
	// behind a 504 for sure; then 20% of all writes are.
	e.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/leads/complex", ApplyThenFail: true, Count: 1})
	e.srv.InjectFault(amocrmtest.Fault{Method: "POST", ApplyThenFail: true, Fraction: 0.2})
	e.srv.InjectFault(amocrmtest.Fault{Method: "GET", Status: 503, Fraction: 0.05})
	p := e.runPipeline(t, chatter.PipelineConfig{Workers: workers, MaxAttempts: 100})
	msgs := make([]*chatter.Message, n)
	for i := range n {
		who := person{id: 700000000 + int64(i%people), username: "client_" + strconv.Itoa(i%people), first: "Клиент", last: strconv.Itoa(i % people)}
		msgs[i] = msg(chatID, int64(i+1), who, "Заявка №"+strconv.Itoa(i+1)+": нужен ремонт")
	}
	for start := 0; start < n; start += 100 {
		if _, err := p.AcceptBatch(t.Context(), msgs[start:min(start+100, n)]); err != nil {
			t.Fatal(err)
		}
	}
	counts := e.waitSettled(t, n, 10*time.Minute)
	if counts[chatter.StateDead] != 0 {
		t.Fatalf("dead deliveries: %v", counts)
	}
	leads, notes := e.leadsByMarker(), e.notesByMarker()
	adopted, threaded := 0, 0
	for _, m := range msgs {
		k := m.Key.String()
		if got := len(leads[k]); got > 1 {
			t.Fatalf("message %s: %d leads", k, got)
		}
		if got := len(notes[k]); got != 1 {
			t.Fatalf("message %s: %d notes, want exactly 1", k, got)
		}
		en := e.entry(t, m)
		if en.Result.Adopted {
			adopted++
		}
		if en.Result.Threaded {
			threaded++
			if len(leads[k]) != 0 {
				t.Fatalf("message %s: threaded and a lead", k)
			}
		} else if len(leads[k]) != 1 || leads[k][0].ID != en.Result.LeadID {
			t.Fatalf("message %s: result %+v, leads %+v", k, en.Result, leads[k])
		}
	}
	for i := range people {
		if got := len(e.contactsWithTG(700000000 + int64(i))); got != 1 {
			t.Fatalf("person %d: %d contacts", i, got)
		}
	}
	total := e.srv.CountRequests("", "/api/v4/")
	t.Logf("%d messages, %d people: %d leads, %d threaded notes, %d adopted after a 504; %d requests", n, people, len(leads), threaded, adopted, total)
	if adopted == 0 {
		t.Error("no delivery adopted the result of an ambiguous attempt: the faults did not bite")
	}
}
