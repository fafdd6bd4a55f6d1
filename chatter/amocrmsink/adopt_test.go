package amocrmsink_test

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
)

// TestExactlyOnceWithSearchLag delivers 2,000 messages of 800 people
// through a Pipeline while 20% of all writes are applied by amoCRM but
// answered 504, and amoCRM's search index lags 30 s behind (real time, so
// nothing written during the test is ever found by query=). Retries must
// find what the ambiguous attempts created without query=: every message
// becomes exactly one lead or one note, every person has exactly one
// contact, nothing goes dead.
func TestExactlyOnceWithSearchLag(t *testing.T) {
	for _, tc := range []struct {
		name    string
		workers int
		config  func(*amocrmsink.Config)
	}{
		{"one_by_one", 8, func(*amocrmsink.Config) {}},
		{"batched_lookup_store", 60, func(c *amocrmsink.Config) {
			c.BatchSize, c.BatchWait, c.Lookup = amocrm.MaxComplexBatch, 20*time.Millisecond, amocrmsink.LookupStore
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exactlyOnceWithSearchLag(t, tc.workers, tc.config)
		})
	}
}

func exactlyOnceWithSearchLag(t *testing.T, workers int, config func(*amocrmsink.Config)) {
	n, people := 2000, 800
	if testing.Short() {
		n, people = 300, 120
	}
	e := newEnv(t, envOptions{
		server: []amocrmtest.Option{amocrmtest.WithFaultSeed(7), amocrmtest.WithSearchLag(30 * time.Second)},
		config: config,
	})
	// The first lead creation (a whole batch when batching) is applied
	// behind a 504 for sure; then 20% of all writes are.
	e.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/leads/complex", ApplyThenFail: true, Count: 1})
	e.srv.InjectFault(amocrmtest.Fault{Method: "POST", ApplyThenFail: true, Fraction: 0.2})
	e.srv.InjectFault(amocrmtest.Fault{Method: "PATCH", ApplyThenFail: true, Fraction: 0.2})
	p := e.runPipeline(t, chatter.PipelineConfig{Workers: workers, MaxAttempts: 100})
	msgs := make([]*chatter.Message, n)
	base := int64(710000000)
	for i := range n {
		who := person{id: base + int64(i%people), username: "lag_" + strconv.Itoa(i%people), first: "Клиент", last: strconv.Itoa(i % people)}
		msgs[i] = msg(chatID, int64(i+1), who, "Заявка №"+strconv.Itoa(i+1)+": нужен ремонт")
	}
	for start := 0; start < n; start += 100 {
		_, err := p.AcceptBatch(t.Context(), msgs[start:min(start+100, n)])
		require.NoError(t, err)
	}
	counts := e.waitSettled(t, n, 10*time.Minute)
	require.Zero(t, counts[chatter.StateDead], "dead deliveries: %v", counts)

	leads, notes := e.leadsByMarker(), e.notesByMarker()
	var newLeads, threaded, adopted int
	var dupLeads, missingLeads, badNotes []string
	for _, m := range msgs {
		k := m.Key.String()
		en := e.entry(t, m)
		require.Equal(t, chatter.StateDelivered, en.State, "message %s", k)
		if en.Result.Adopted {
			adopted++
		}
		if len(notes[k]) != 1 {
			badNotes = append(badNotes, k)
		}
		switch {
		case len(leads[k]) > 1:
			dupLeads = append(dupLeads, k)
		case en.Result.Threaded:
			threaded++
			if len(leads[k]) != 0 {
				dupLeads = append(dupLeads, k)
			}
		default:
			newLeads++
			if len(leads[k]) != 1 || leads[k][0].ID != en.Result.LeadID {
				missingLeads = append(missingLeads, k)
			}
		}
	}
	contactsOf := map[string]int{} // Telegram id → contacts
	for _, c := range e.srv.Contacts() {
		contactsOf[amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactTelegramID)]++
	}
	var dupContacts []int64
	for i := range people {
		if contactsOf[strconv.FormatInt(base+int64(i), 10)] != 1 {
			dupContacts = append(dupContacts, base+int64(i))
		}
	}
	total := e.srv.CountRequests("", "/api/v4/")
	t.Logf("%d messages, %d people: %d new leads, %d threaded notes, %d adopted after a 504; %d requests (%.2f per message): %s",
		n, people, newLeads, threaded, adopted, total, float64(total)/float64(n), requestKinds(e.srv.Requests()))
	t.Logf("messages with two or more leads (or threaded and a lead): %d; new-lead messages without their lead: %d; without exactly one note: %d; people with other than one contact: %d",
		len(dupLeads), len(missingLeads), len(badNotes), len(dupContacts))
	if diff := cmp.Diff(struct {
		DupLeads, MissingLeads, BadNotes []string
		DupContacts                      []int64
	}{}, struct {
		DupLeads, MissingLeads, BadNotes []string
		DupContacts                      []int64
	}{dupLeads, missingLeads, badNotes, dupContacts}); diff != "" {
		t.Fatalf("duplicates or losses (-want +got):\n%s", diff)
	}
	require.Equal(t, n, newLeads+threaded)
	require.NotZero(t, adopted, "no delivery adopted the result of an ambiguous attempt: the faults did not bite")
}

// requestKinds summarises a request log by method, path (ids folded) and
// the kind of lookup ("query", "created_at", "id").
func requestKinds(reqs []amocrmtest.Request) string {
	counts := map[string]int{}
	for _, r := range reqs {
		path := r.Path
		if i := strings.LastIndexByte(path, '/'); i >= 0 {
			if _, err := strconv.Atoi(path[i+1:]); err == nil {
				path = path[:i] + "/{id}"
			}
		}
		q, _ := url.ParseQuery(r.Query)
		switch {
		case q.Has("query"):
			path += "?query"
		case q.Has("filter[created_at][from]"):
			path += "?created_at"
		case q.Has("filter[id][]"):
			path += "?id"
		}
		counts[r.Method+" "+path]++
	}
	keys := slices.Sorted(maps.Keys(counts))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}

// lagEnv is an env whose amoCRM search lags an hour: query= never finds
// what the test writes.
func lagEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	o.server = append(o.server, amocrmtest.WithSearchLag(time.Hour))
	o.noCache = true
	return newEnv(t, o)
}

// retry delivers m again as the queue would after err: the next attempt,
// with err as the last error.
func (e *env) retry(t *testing.T, sink *amocrmsink.Sink, m *chatter.Message, attempt int, err error) (*chatter.DeliveryResult, error) {
	t.Helper()
	return sink.Deliver(t.Context(), &chatter.Delivery{Message: m, Attempt: attempt, LastError: err.Error(), LastClass: chatter.ClassOf(err)})
}

// kinds counts the requests logged since n by requestKinds' labels.
func (e *env) kinds(n int) map[string]int {
	out := map[string]int{}
	for _, part := range strings.Split(requestKinds(e.srv.Requests()[n:]), ", ") {
		if i := strings.LastIndexByte(part, ' '); i > 0 {
			c, _ := strconv.Atoi(part[i+1:])
			out[part[:i]] = c
		}
	}
	return out
}

func TestRetryAfterRestartAdoptsDespiteSearchLag(t *testing.T) {
	e := lagEnv(t, envOptions{})
	m := msg(chatID, 1, maria, "Хочу заказать шкаф")
	// The store holds the message (its ReceivedAt starts the window).
	_, err := e.store.SaveMessage(t.Context(), m, chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: false}})
	require.NoError(t, err)
	e.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/leads/complex", ApplyThenFail: true, Count: 1})
	_, err = e.deliver(t, m, 1)
	var ou *amocrm.OutcomeUnknownError
	require.ErrorAs(t, err, &ou)
	require.Len(t, e.leadsByMarker()[m.Key.String()], 1, "the write was applied behind the 504")

	// A restart: a new Sink remembers nothing of the first attempt.
	restarted, err2 := amocrmsink.New(e.cfg)
	require.NoError(t, err2)
	before := len(e.srv.Requests())
	res, err := e.retry(t, restarted, m, 2, err)
	require.NoError(t, err)
	require.True(t, res.Adopted)
	require.Len(t, e.leadsByMarker()[m.Key.String()], 1)
	require.Len(t, e.contactsWithTG(maria.id), 1)
	require.Len(t, e.notesByMarker()[m.Key.String()], 1)
	if diff := cmp.Diff(map[string]int{
		"GET /api/v4/leads?created_at": 1, // found among the leads created since the store got it
		"GET /api/v4/leads/notes":      1, // is the note there already? (no)
		"POST /api/v4/leads/notes":     1,
	}, e.kinds(before)); diff != "" {
		t.Errorf("requests of the retry (-want +got):\n%s", diff)
	}
}

func TestRetryOfAnOldMessageTriesTheContactsLeadsFirst(t *testing.T) {
	e := lagEnv(t, envOptions{})
	// Maria's first lead is won; her next message gets a new lead with
	// her existing contact, behind a 504.
	first := e.mustDeliver(t, msg(chatID, 1, maria, "Здравствуйте"))
	_, _, err := e.client.Leads.UpdateOne(t.Context(), &amocrm.Lead{ID: int(first.LeadID), StatusID: amocrm.StatusWon})
	require.NoError(t, err)
	m := msg(chatID, 2, maria, "Снова я, нужна вторая кухня") // sent in 2025: the window would be wide
	e.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/leads/complex", ApplyThenFail: true, Count: 1})
	_, err = e.deliver(t, m, 1)
	require.Error(t, err)
	restarted, err2 := amocrmsink.New(e.cfg)
	require.NoError(t, err2)
	before := len(e.srv.Requests())
	res, err := e.retry(t, restarted, m, 2, err)
	require.NoError(t, err)
	require.True(t, res.Adopted)
	require.Equal(t, first.ContactID, res.ContactID)
	require.Len(t, e.leadsByMarker()[m.Key.String()], 1)
	if diff := cmp.Diff(map[string]int{
		"GET /api/v4/contacts/{id}": 1, // with=leads
		"GET /api/v4/leads?id":      1, // her leads: the marker is there
		"GET /api/v4/leads/notes":   1,
		"POST /api/v4/leads/notes":  1,
	}, e.kinds(before)); diff != "" {
		t.Errorf("requests of the retry (-want +got):\n%s", diff)
	}

	// Without a link the old message's retry asks query= (lagging: no
	// hit) and then lists the leads created since it was sent.
	newbie := person{id: 611000001, username: "old_timer", first: "Старый"}
	m2 := msg(chatID, 3, newbie, "Сообщение из истории")
	e.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/leads/complex", ApplyThenFail: true, Count: 1})
	_, err = e.deliver(t, m2, 1)
	require.Error(t, err)
	restarted, err2 = amocrmsink.New(e.cfg)
	require.NoError(t, err2)
	before = len(e.srv.Requests())
	res, err = e.retry(t, restarted, m2, 2, err)
	require.NoError(t, err)
	require.True(t, res.Adopted)
	require.Len(t, e.contactsWithTG(newbie.id), 1)
	got := e.kinds(before)
	require.Equal(t, 1, got["GET /api/v4/leads?query"])
	require.Equal(t, 1, got["GET /api/v4/leads?created_at"])
}

func TestRetryChainSkipsLookupsForWritesNeverMade(t *testing.T) {
	e := lagEnv(t, envOptions{})
	m := msg(chatID, 1, pavel, "Нужна консультация")
	// A 401: nothing written. The queue snoozes it (same attempt number).
	e.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/leads/complex", Status: 401, Count: 1})
	_, err := e.deliver(t, m, 1)
	var ua *amocrm.UnauthorizedError
	require.ErrorAs(t, err, &ua)
	require.True(t, strings.HasPrefix(err.Error(), "[attempt "), "error %q does not start with the attempt id", err)
	before := len(e.srv.Requests())
	res, err := e.retry(t, e.sink, m, 1, err)
	require.NoError(t, err)
	require.False(t, res.Adopted)
	if diff := cmp.Diff(map[string]int{
		"GET /api/v4/contacts?query": 2, // a new person is still looked up (LookupCRM)
		"POST /api/v4/leads/complex": 1, "POST /api/v4/leads/notes": 1,
	}, e.kinds(before)); diff != "" {
		t.Errorf("requests after a refused write (-want +got):\n%s", diff)
	}

	// A note lost behind a 504: the retry checks the note only.
	m2 := msg(chatID, 2, pavel, "И ещё вопрос")
	e.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/leads/notes", ApplyThenFail: true, Count: 1})
	_, err = e.deliver(t, m2, 1)
	require.Error(t, err)
	before = len(e.srv.Requests())
	res, err = e.retry(t, e.sink, m2, 2, err)
	require.NoError(t, err)
	require.True(t, res.Threaded)
	require.Len(t, e.notesByMarker()[m2.Key.String()], 1)
	if diff := cmp.Diff(map[string]int{"GET /api/v4/leads/{id}": 1, "GET /api/v4/leads/notes": 1}, e.kinds(before)); diff != "" {
		t.Errorf("requests after a lost note (-want +got):\n%s", diff)
	}

	// A last error that is not this process's (another instance's attempt
	// came between): everything is looked up.
	m3 := msg(chatID, 3, pavel, "Третий вопрос")
	e.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/leads/notes", ApplyThenFail: true, Count: 1})
	_, err = e.deliver(t, m3, 1)
	require.Error(t, err)
	before = len(e.srv.Requests())
	res, err = e.sink.Deliver(t.Context(), &chatter.Delivery{Message: m3, Attempt: 3, LastError: "[attempt 0123456789abcdef] amocrmsink: elsewhere", LastClass: chatter.ClassTransient})
	require.NoError(t, err)
	require.True(t, res.Threaded)
	require.Len(t, e.notesByMarker()[m3.Key.String()], 1)
	// (The message was sent in 2025: the wide way, the contact's leads,
	// query=, then created_at.)
	if diff := cmp.Diff(map[string]int{
		"GET /api/v4/contacts/{id}": 1, "GET /api/v4/leads?id": 1, "GET /api/v4/leads?query": 1, "GET /api/v4/leads?created_at": 1,
		"GET /api/v4/leads/{id}": 1, "GET /api/v4/leads/notes": 1,
	}, e.kinds(before)); diff != "" {
		t.Errorf("requests after a foreign attempt (-want +got):\n%s", diff)
	}
}

func TestNextMessageFindsTheContactOfAnAmbiguousLead(t *testing.T) {
	for _, lookup := range []amocrmsink.LookupPolicy{amocrmsink.LookupCRM, amocrmsink.LookupStore} {
		t.Run(map[amocrmsink.LookupPolicy]string{amocrmsink.LookupCRM: "lookup_crm", amocrmsink.LookupStore: "lookup_store"}[lookup], func(t *testing.T) {
			e := lagEnv(t, envOptions{config: func(c *amocrmsink.Config) { c.Lookup = lookup }})
			newbie := person{id: 612000001, username: "fresh_one", first: "Новый"}
			m1 := msg(chatID, 1, newbie, "Первое сообщение")
			e.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/leads/complex", ApplyThenFail: true, Count: 1})
			_, err1 := e.deliver(t, m1, 1)
			require.Error(t, err1)
			// The next message comes before the first one's retry: the
			// store has no link, query= cannot see the new contact.
			before := len(e.srv.Requests())
			r2 := e.mustDeliver(t, msg(chatID, 2, newbie, "Второе сообщение"))
			lead1 := e.leadsByMarker()[m1.Key.String()]
			require.Len(t, lead1, 1)
			require.True(t, r2.Threaded, "second = %+v", r2)
			require.Equal(t, lead1[0].ID, r2.LeadID)
			require.Equal(t, 1, e.kinds(before)["GET /api/v4/leads?created_at"])
			r1, err := e.retry(t, e.sink, m1, 2, err1)
			require.NoError(t, err)
			require.True(t, r1.Adopted)
			require.Equal(t, lead1[0].ID, r1.LeadID)
			require.Len(t, e.contactsWithTG(newbie.id), 1)
			require.Len(t, e.notesByMarker()[m1.Key.String()], 1)
		})
	}
}

func TestContactCreatedBehindA504IsNotCreatedTwice(t *testing.T) {
	e := lagEnv(t, envOptions{})
	// Two Telegram accounts share a username: the second one's contact is
	// created alone (no duplicate control), and that write is lost behind
	// a 504.
	ivan1 := person{id: 613000001, username: "ivan_remont", first: "Иван"}
	ivan2 := person{id: 613000002, username: "ivan_remont", first: "Иван"}
	e.mustDeliver(t, msg(chatID, 1, ivan1, "Нужен электрик"))
	e.srv.InjectFault(amocrmtest.Fault{Method: "POST", PathPrefix: "/api/v4/contacts", ApplyThenFail: true, Count: 1})
	m := msg(chatID, 2, ivan2, "Нужен сантехник")
	_, err := e.deliver(t, m, 1)
	require.Error(t, err)
	require.Len(t, e.contactsWithTG(ivan2.id), 1, "the contact was created behind the 504")
	// The second Ivan writes again before the retry: his contact is found
	// among the contacts created since, not created again.
	before := len(e.srv.Requests())
	r2 := e.mustDeliver(t, msg(chatID, 3, ivan2, "И ещё кран потёк"))
	require.Equal(t, 1, e.kinds(before)["GET /api/v4/contacts?created_at"])
	cs := e.contactsWithTG(ivan2.id)
	require.Len(t, cs, 1)
	require.Equal(t, cs[0].ID, r2.ContactID)
	r1, err := e.retry(t, e.sink, m, 2, err)
	require.NoError(t, err)
	require.Equal(t, cs[0].ID, r1.ContactID)
	require.True(t, r1.Threaded, "the first message joins the lead of the second: %+v", r1)
	require.Len(t, e.contactsWithTG(ivan2.id), 1)
}
