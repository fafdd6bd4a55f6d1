package amocrmsink_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
)

// batched returns env options with batching on (and no schema cache, so
// the request log holds only deliveries).
func batched(size int, wait time.Duration, lookup amocrmsink.LookupPolicy) envOptions {
	return envOptions{noCache: true, config: func(c *amocrmsink.Config) {
		c.BatchSize, c.BatchWait, c.Lookup = size, wait, lookup
	}}
}

// deliverAll delivers msgs concurrently (attempt) and returns the results
// and errors in order.
func (e *env) deliverAll(t *testing.T, msgs []*chatter.Message, attempt int) ([]*chatter.DeliveryResult, []error) {
	t.Helper()
	res := make([]*chatter.DeliveryResult, len(msgs))
	errs := make([]error, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Go(func() { res[i], errs[i] = e.deliver(t, m, attempt) })
	}
	wg.Wait()
	return res, errs
}

// countPath counts the logged requests with exactly this method and path.
func (e *env) countPath(method, path string) int {
	n := 0
	for _, r := range e.srv.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

func newPeople(n int, base int64, withPhone bool) []*chatter.Message {
	msgs := make([]*chatter.Message, n)
	for i := range n {
		p := person{id: base + int64(i), username: "batch_" + strconv.FormatInt(base+int64(i), 10), first: "Клиент"}
		if withPhone {
			p.phone = "+7 900 " + strconv.Itoa(1000000+i)
		}
		msgs[i] = msg(chatID, int64(i+1), p, "Заявка "+strconv.Itoa(i))
	}
	return msgs
}

// checkOwnLeads verifies that every message got exactly one lead, carrying
// its marker and its sender's contact, and exactly one note.
func (e *env) checkOwnLeads(t *testing.T, msgs []*chatter.Message, res []*chatter.DeliveryResult) {
	t.Helper()
	leads, notes := e.leadsByMarker(), e.notesByMarker()
	seen := map[int64]bool{}
	for i, m := range msgs {
		k := m.Key.String()
		if len(leads[k]) != 1 || leads[k][0].ID != res[i].LeadID {
			t.Fatalf("message %s: leads %+v, result %+v", k, leads[k], res[i])
		}
		if seen[res[i].LeadID] {
			t.Fatalf("lead %d handed to two callers", res[i].LeadID)
		}
		seen[res[i].LeadID] = true
		if len(notes[k]) != 1 || notes[k][0].EntityID != res[i].LeadID || int64(notes[k][0].ID) != res[i].NoteID {
			t.Fatalf("message %s: notes %+v, result %+v", k, notes[k], res[i])
		}
		cs := e.contactsWithTG(m.Sender.ID)
		if len(cs) != 1 || cs[0].ID != res[i].ContactID {
			t.Fatalf("message %s: contacts %+v, result %+v", k, cs, res[i])
		}
	}
}

func TestBatchingConcurrentNewPeople(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lookup amocrmsink.LookupPolicy
	}{{"lookup_crm", amocrmsink.LookupCRM}, {"lookup_store", amocrmsink.LookupStore}} {
		t.Run(tc.name, func(t *testing.T) {
			// A minute's wait: batches go out only when full, so the count
			// of requests does not depend on timing.
			e := newEnv(t, batched(50, time.Minute, tc.lookup))
			const n = 100
			msgs := newPeople(n, 660000000, true)
			e.srv.ResetRequests()
			res, errs := e.deliverAll(t, msgs, 1)
			for i, err := range errs {
				if err != nil {
					t.Fatalf("delivery %d: %v", i, err)
				}
			}
			if got, want := e.srv.CountRequests("POST", "/api/v4/leads/complex"), (n+49)/50; got != want {
				t.Errorf("/leads/complex requests = %d, want %d", got, want)
			}
			if got, want := e.srv.CountRequests("POST", "/api/v4/leads/notes"), (n+49)/50; got != want {
				t.Errorf("note requests = %d, want %d", got, want)
			}
			gets := e.countPath("GET", "/api/v4/contacts")
			switch tc.lookup {
			case amocrmsink.LookupStore:
				if gets != 0 {
					t.Errorf("LookupStore searched amoCRM %d times", gets)
				}
			case amocrmsink.LookupCRM:
				if gets < n {
					t.Errorf("LookupCRM searched amoCRM %d times for %d new people", gets, n)
				}
			}
			e.checkOwnLeads(t, msgs, res)
			// The store now knows everyone: the next message is a note
			// (through a sink without batching, not to wait for a batch).
			cfg := e.cfg
			cfg.BatchSize = 0
			single, err := amocrmsink.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			r, err := single.Deliver(t.Context(), &chatter.Delivery{Attempt: 1, Message: msg(chatID, 1000, person{id: msgs[7].Sender.ID, first: "Клиент"}, "Ещё вопрос")})
			if err != nil || !r.Threaded || r.LeadID != res[7].LeadID {
				t.Fatalf("follow-up = %+v, %v; want a note on lead %d", r, err, res[7].LeadID)
			}
		})
	}
}

func TestBatchWithOneInvalidItem(t *testing.T) {
	const n = 10
	// The leads fill the batch (no searches with LookupStore); the nine
	// notes then wait BatchWait, long enough that the leads never go out
	// before all ten have joined.
	e := newEnv(t, batched(n, 5*time.Second, amocrmsink.LookupStore))
	msgs := newPeople(n, 670000000, false)
	// The store links person 3 to a contact deleted from amoCRM: its item
	// names a contact id amoCRM rejects, failing the whole request.
	bad := 3
	if err := e.store.SaveContact(t.Context(), &chatter.ContactLink{Workspace: ws, TelegramID: msgs[bad].Sender.ID, ContactID: 99999999}); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetRequests()
	res, errs := e.deliverAll(t, msgs, 1)
	var api *amocrm.APIError
	if !errors.As(errs[bad], &api) || len(api.ValidationErrors) != 1 || chatter.ClassOf(errs[bad]) != chatter.ClassMapping {
		t.Fatalf("bad item: %v (class %q), want its own validation error, class mapping", errs[bad], chatter.ClassOf(errs[bad]))
	}
	good, goodRes := append(append([]*chatter.Message(nil), msgs[:bad]...), msgs[bad+1:]...), []*chatter.DeliveryResult{}
	for i, err := range errs {
		if i == bad {
			continue
		}
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		goodRes = append(goodRes, res[i])
	}
	e.checkOwnLeads(t, good, goodRes)
	if got := e.leadsByMarker()[msgs[bad].Key.String()]; len(got) != 0 {
		t.Fatalf("the invalid item created %d leads", len(got))
	}
	// The full batch was rejected once, then the nine others went out together.
	var statuses []int
	for _, r := range e.srv.Requests() {
		if r.Method == "POST" && r.Path == "/api/v4/leads/complex" {
			statuses = append(statuses, r.Status)
		}
	}
	if len(statuses) != 2 || statuses[0] != 400 || statuses[1] != 200 {
		t.Fatalf("/leads/complex answers = %v, want [400 200]", statuses)
	}
}

func TestBatchWithUnattributedRejectionFallsBackToOneByOne(t *testing.T) {
	const n = 4
	// The first /leads/complex is answered 400 with a validation error that
	// names no item (amoCRM does so for some whole-request checks).
	var mu sync.Mutex
	var sizes []int
	o := batched(n, time.Minute, amocrmsink.LookupStore)
	o.handler = func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/api/v4/leads/complex" {
				body, _ := io.ReadAll(r.Body)
				var items []json.RawMessage
				_ = json.Unmarshal(body, &items)
				mu.Lock()
				sizes = append(sizes, len(items))
				first := len(sizes) == 1
				mu.Unlock()
				if first {
					w.Header().Set("Content-Type", "application/problem+json")
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte(`{"validation-errors":[{"request_id":"","errors":[{"code":"NotSupportedChoice","path":"_embedded","detail":"The value you selected is not a valid choice."}]}],"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}`))
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, o)
	msgs := newPeople(n, 675000000, false)
	res, errs := e.deliverAll(t, msgs, 1)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	e.checkOwnLeads(t, msgs, res)
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 1+n || sizes[0] != n || slices.ContainsFunc(sizes[1:], func(k int) bool { return k != 1 }) {
		t.Fatalf("/leads/complex item counts = %v, want the batch of %d then %d single items", sizes, n, n)
	}
}

func TestAmbiguousBatchFailureThenRetriesAdopt(t *testing.T) {
	const n = 12
	e := newEnv(t, batched(n, time.Minute, amocrmsink.LookupStore))
	msgs := newPeople(n, 680000000, false)
	// The batch is applied, but amoCRM answers 504.
	remove := e.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/leads/complex", ApplyThenFail: true, Count: 1})
	_, errs := e.deliverAll(t, msgs, 1)
	remove()
	for i, err := range errs {
		var ou *amocrm.OutcomeUnknownError
		if !errors.As(err, &ou) || chatter.ClassOf(err) != chatter.ClassTransient {
			t.Fatalf("delivery %d: %v, want an ambiguous transient error", i, err)
		}
	}
	if got := len(e.leadsByMarker()); got != n {
		t.Fatalf("leads applied behind the 504 = %d, want %d", got, n)
	}
	// Every retry (attempt 2) finds its lead by the marker.
	res, errs := e.deliverAll(t, msgs, 2)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("retry %d: %v", i, err)
		}
		if !res[i].Adopted {
			t.Errorf("retry %d = %+v, want adopted", i, res[i])
		}
	}
	e.checkOwnLeads(t, msgs, res)
}

func TestThreadedNotesAreBatched(t *testing.T) {
	const n = 20
	e := newEnv(t, batched(n, time.Minute, amocrmsink.LookupCRM))
	first := newPeople(n, 690000000, false)
	firstRes, errs := e.deliverAll(t, first, 1)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("first %d: %v", i, err)
		}
	}
	follow := make([]*chatter.Message, n)
	for i, m := range first {
		follow[i] = msg(chatID, int64(100+i), person{id: m.Sender.ID, username: m.Sender.Username, first: "Клиент"}, "Уточнение "+strconv.Itoa(i))
	}
	e.srv.ResetRequests()
	res, errs := e.deliverAll(t, follow, 1)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("follow-up %d: %v", i, err)
		}
		if !res[i].Threaded || res[i].LeadID != firstRes[i].LeadID || res[i].NoteID == 0 {
			t.Fatalf("follow-up %d = %+v, want a note on lead %d", i, res[i], firstRes[i].LeadID)
		}
	}
	if got := e.srv.CountRequests("POST", "/api/v4/leads/notes"); got != 1 {
		t.Errorf("note requests for %d threaded messages = %d, want 1", n, got)
	}
	if got := e.countPath("GET", "/api/v4/leads"); got != 1 {
		t.Errorf("lead reads for %d threaded messages = %d, want 1", n, got)
	}
	if got := e.srv.CountRequests("", "/api/v4/"); got != 2 {
		t.Errorf("requests for %d threaded messages = %d, want 2", n, got)
	}
	// A lead won meanwhile is read in the batch too: its person gets a new lead.
	if _, _, err := e.client.Leads.UpdateOne(t.Context(), &amocrm.Lead{ID: int(firstRes[0].LeadID), StatusID: amocrm.StatusWon}); err != nil {
		t.Fatal(err)
	}
	again := make([]*chatter.Message, n)
	for i, m := range first {
		again[i] = msg(chatID, int64(200+i), person{id: m.Sender.ID, username: m.Sender.Username, first: "Клиент"}, "Ещё "+strconv.Itoa(i))
	}
	// A short wait now (the won lead's new lead and note wait alone).
	cfg := e.cfg
	cfg.BatchWait = 50 * time.Millisecond
	short, err := amocrmsink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.sink = short
	res2, errs := e.deliverAll(t, again, 1)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("third round %d: %v", i, err)
		}
		if wantThreaded := i != 0; res2[i].Threaded != wantThreaded || (wantThreaded && res2[i].LeadID != firstRes[i].LeadID) {
			t.Fatalf("third round %d = %+v (won lead %d)", i, res2[i], firstRes[0].LeadID)
		}
	}
	notes := e.notesByMarker()
	for i, m := range follow {
		ns := notes[m.Key.String()]
		if len(ns) != 1 || ns[0].EntityID != res[i].LeadID || int64(ns[0].ID) != res[i].NoteID {
			t.Fatalf("follow-up %d: notes %+v, result %+v", i, ns, res[i])
		}
	}
}

func TestLookupStoreMergesByPhoneThroughDuplicateControl(t *testing.T) {
	e := newEnv(t, batched(0, 0, amocrmsink.LookupStore))
	var olegID int64
	for _, c := range e.srv.Contacts() {
		if c.FirstName == "Олег" {
			olegID = c.ID
		}
	}
	e.srv.ResetRequests()
	// Oleg writes from Telegram for the first time; the store does not know
	// him, amoCRM has his phone.
	oleg := person{id: 123456789, first: "Олег", phone: "+7 926 555-44-33"}
	res := e.mustDeliver(t, msg(chatID, 1, oleg, "Здравствуйте, это Олег"))
	if res.ContactID != olegID || res.Extra["merged"] != "true" {
		t.Fatalf("result = %+v, want Oleg's contact %d merged by amoCRM", res, olegID)
	}
	if got := e.srv.CountRequests("GET", "/api/v4/contacts"); got != 0 {
		t.Errorf("LookupStore searched amoCRM %d times", got)
	}
	if got := e.srv.CountRequests("", "/api/v4/"); got != 2 {
		t.Errorf("requests for a new person = %d, want 2 (complex lead, note)", got)
	}
}

func TestBatchConfigValidation(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, mod := range []func(*amocrmsink.Config){
		func(c *amocrmsink.Config) { c.BatchSize = 51 },
		func(c *amocrmsink.Config) { c.BatchSize = -1 },
		func(c *amocrmsink.Config) { c.BatchWait = -time.Second },
		func(c *amocrmsink.Config) { c.Lookup = 7 },
	} {
		cfg := e.cfg
		mod(&cfg)
		if _, err := amocrmsink.New(cfg); !errors.Is(err, chatter.ErrInvalid) {
			t.Errorf("New(%+v) = %v, want ErrInvalid", cfg, err)
		}
	}
}
