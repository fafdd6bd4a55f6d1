package amocrmsink_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/fieldmap"
)

// completeSpec maps the phone and e-mail a message carries onto the
// contact, and tags the lead "срочно" when the text says so.
const completeSpec = `
version: 1
lead:
  name: 'Telegram: {{ sender.first_name }}'
  pipeline: Воронка
  status: Первичный контакт
  tags:
    - telegram
    - template: срочно
      when: 'text | icontains "срочно"'
  fields:
    - name: Источник
      value: Telegram бот
contact:
  name: '{{ sender.first_name }} {{ sender.last_name }}'
  phone: '{{ sender.phone | default text | find_phone }}'
  email: '{{ text | find_email }}'
  fields:
    - name: Telegram ID
      value: { from: sender.id }
`

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// withSpec replaces the env's sink with one mapping by spec (and logging
// into the returned buffer).
func (e *env) withSpec(t *testing.T, spec string, mod func(*amocrmsink.Config)) *syncBuffer {
	t.Helper()
	sp, err := fieldmap.ParseSpec([]byte(spec), fieldmap.FormatYAML)
	require.NoError(t, err)
	mapper, err := fieldmap.Compile(sp, fieldmap.WithSchema(e.schema(t)))
	require.NoError(t, err)
	var logs syncBuffer
	e.cfg.Mapper = mapper
	e.cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if mod != nil {
		mod(&e.cfg)
	}
	e.sink, err = amocrmsink.New(e.cfg)
	require.NoError(t, err)
	return &logs
}

func (e *env) requestsSince(n int, method, path string) int {
	c := 0
	for _, r := range e.srv.Requests()[n:] {
		if r.Method == method && strings.HasPrefix(r.Path, path) {
			c++
		}
	}
	return c
}

func TestLaterMessageCompletesContact(t *testing.T) {
	e := newEnv(t, envOptions{noCache: true})
	logs := e.withSpec(t, completeSpec, nil)
	first := e.mustDeliver(t, msg(chatID, 1, maria, "Здравствуйте, нужна кухня"))
	c, ok := e.srv.Contact(first.ContactID)
	require.True(t, ok)
	require.Empty(t, amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactPhone), "the first message had no phone")

	// The phone comes in a later message: written to the contact, which had none.
	before := len(e.srv.Requests())
	second := e.mustDeliver(t, msg(chatID, 2, maria, "Мой номер +7 903 111-22-33, звоните после 18"))
	require.True(t, second.Threaded)
	require.Equal(t, first.ContactID, second.ContactID)
	c, _ = e.srv.Contact(first.ContactID)
	if diff := cmp.Diff("+79031112233", amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactPhone)); diff != "" {
		t.Errorf("contact phone (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([2]int{1, 1}, [2]int{e.requestsSince(before, "GET", "/api/v4/contacts"), e.requestsSince(before, "PATCH", "/api/v4/contacts")}); diff != "" {
		t.Errorf("contact reads and writes for the new phone (-want +got):\n%s", diff)
	}
	require.Contains(t, logs.String(), "contact completed with the message's phone or e-mail")

	// The same phone again costs nothing: the link knows it.
	before = len(e.srv.Requests())
	e.mustDeliver(t, msg(chatID, 3, maria, "Напоминаю: +7 903 111-22-33"))
	require.Zero(t, e.requestsSince(before, "", "/api/v4/contacts"), "the known phone was checked again")

	// An e-mail later still: added next to the phone.
	before = len(e.srv.Requests())
	e.mustDeliver(t, msg(chatID, 4, maria, "Пришлите смету на Maria.K@Example.com"))
	c, _ = e.srv.Contact(first.ContactID)
	if diff := cmp.Diff("maria.k@example.com", amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactEmail)); diff != "" {
		t.Errorf("contact e-mail (-want +got):\n%s", diff)
	}
	require.Equal(t, "+79031112233", amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactPhone))
	require.Equal(t, 1, e.requestsSince(before, "PATCH", "/api/v4/contacts"))
	before = len(e.srv.Requests())
	e.mustDeliver(t, msg(chatID, 5, maria, "Адрес тот же: maria.k@example.com"))
	require.Zero(t, e.requestsSince(before, "", "/api/v4/contacts"), "the settled e-mail was checked again")
}

func TestLaterMessageNeverOverwritesManagersPhone(t *testing.T) {
	e := newEnv(t, envOptions{noCache: true})
	logs := e.withSpec(t, completeSpec, nil)
	first := e.mustDeliver(t, msg(chatID, 1, pavel, "Добрый день, нужен шкаф"))
	// A manager enters the number the client gave on the phone, and an e-mail.
	_, _, err := e.client.Contacts.UpdateOne(t.Context(), &amocrm.Contact{ID: int(first.ContactID), CustomFieldsValues: amocrm.CustomFieldsValues{
		amocrm.SetFieldCode(amocrm.FieldCodePhone, amocrm.MultitextValue("+7 (495) 765-43-21", "WORK")),
		amocrm.SetFieldCode(amocrm.FieldCodeEmail, amocrm.MultitextValue("pavel@office.example", "WORK")),
	}})
	require.NoError(t, err)
	before, _ := e.srv.Contact(first.ContactID)

	res := e.mustDeliver(t, msg(chatID, 2, pavel, "Мой мобильный +7 916 000-11-22, почта pavel.s@mail.example"))
	require.True(t, res.Threaded)
	after, _ := e.srv.Contact(first.ContactID)
	if diff := cmp.Diff(before.CustomFieldsValues, after.CustomFieldsValues); diff != "" {
		t.Errorf("the manager's values changed (-before +after):\n%s", diff)
	}
	require.Contains(t, logs.String(), "the message's phone or e-mail differs from the contact's; the contact is left as is")
	// The number is not lost: the note holds the message.
	notes := e.notesByMarker()[msg(chatID, 2, pavel, "").Key.String()]
	require.Len(t, notes, 1)
	require.Contains(t, notes[0].Params["text"], "+7 916 000-11-22")
}

func TestThreadedMessageAddsMappingTags(t *testing.T) {
	e := newEnv(t, envOptions{noCache: true})
	e.withSpec(t, completeSpec, nil)
	first := e.mustDeliver(t, msg(chatID, 1, maria, "Здравствуйте, вопрос по доставке"))
	lead, _ := e.srv.Lead(first.LeadID)
	require.Equal(t, []string{"telegram"}, lead.Tags)
	// A manager tags the lead.
	_, _, err := e.client.Leads.UpdateOne(t.Context(), &amocrm.Lead{ID: int(first.LeadID), TagsToAdd: []amocrm.Tag{{Name: "VIP"}}})
	require.NoError(t, err)

	// A later message the mapping tags "срочно": added, nothing removed.
	before := len(e.srv.Requests())
	res := e.mustDeliver(t, msg(chatID, 2, maria, "Срочно! Доставка нужна завтра"))
	require.True(t, res.Threaded)
	lead, _ = e.srv.Lead(first.LeadID)
	if diff := cmp.Diff([]string{"VIP", "telegram", "срочно"}, slices.Sorted(slices.Values(lead.Tags))); diff != "" {
		t.Errorf("lead tags (-want +got):\n%s", diff)
	}
	require.Equal(t, 1, e.requestsSince(before, "PATCH", "/api/v4/leads"))

	// Tags the lead has already cost nothing.
	before = len(e.srv.Requests())
	e.mustDeliver(t, msg(chatID, 3, maria, "Срочно, повторю: завтра"))
	e.mustDeliver(t, msg(chatID, 4, maria, "Спасибо"))
	require.Zero(t, e.requestsSince(before, "PATCH", "/api/v4/leads"))
	lead, _ = e.srv.Lead(first.LeadID)
	require.Len(t, lead.Tags, 3)
}

func TestTagFailureIsRetriedWithoutDuplicateNote(t *testing.T) {
	e := newEnv(t, envOptions{noCache: true})
	e.withSpec(t, completeSpec, nil)
	first := e.mustDeliver(t, msg(chatID, 1, maria, "Здравствуйте"))
	m := msg(chatID, 2, maria, "Срочно перезвоните")
	// The tag change is applied, but the answer is lost.
	remove := e.srv.InjectFault(amocrmtest.Fault{Method: "PATCH", PathPrefix: "/api/v4/leads", ApplyThenFail: true, Count: 1})
	_, err := e.deliver(t, m, 1)
	remove()
	require.Error(t, err)
	require.Equal(t, chatter.ClassTransient, chatter.ClassOf(err))
	res, err := e.deliver(t, m, 2)
	require.NoError(t, err)
	require.True(t, res.Threaded)
	require.Equal(t, first.LeadID, res.LeadID)
	require.Len(t, e.notesByMarker()[m.Key.String()], 1)
	lead, _ := e.srv.Lead(first.LeadID)
	require.ElementsMatch(t, []string{"telegram", "срочно"}, lead.Tags)

}

func TestRefusedTagChangeStillDeliversTheNote(t *testing.T) {
	// amoCRM refuses every PATCH /leads with a validation error.
	e := newEnv(t, envOptions{noCache: true, handler: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/api/v4/leads") {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"validation-errors":[{"request_id":"0","errors":[{"code":"InvalidType","path":"tags_to_add.0.name","detail":"This value is not valid."}]}],"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}})
	logs := e.withSpec(t, completeSpec, nil)
	first := e.mustDeliver(t, msg(chatID, 1, maria, "Здравствуйте"))
	m := msg(chatID, 2, maria, "Срочно, жду звонка")
	res, err := e.deliver(t, m, 1)
	require.NoError(t, err)
	require.True(t, res.Threaded)
	require.Equal(t, first.LeadID, res.LeadID)
	require.Len(t, e.notesByMarker()[m.Key.String()], 1)
	require.Contains(t, logs.String(), "the mapping's tags not added to the open lead")
}
