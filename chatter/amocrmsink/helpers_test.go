package amocrmsink_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/fieldmap"
)

const ws = "ws1"

// testSpec maps a message onto the DemoAccount's fields.
const testSpec = `
version: 1
timezone: "+03:00"
lead:
  name: '{{ sender.first_name | default sender.username | default "Клиент" }}: {{ text | trim | truncate 40 "…" }}'
  pipeline: Воронка
  status: Первичный контакт
  tags: [telegram, '{{ chat.title }}']
  fields:
    - name: Источник
      value: Telegram бот
    - name: Ссылка на сообщение
      value: { from: link }
      optional: true
    - name: Чат
      value: { from: chat.title }
      optional: true
contact:
  name: '{{ sender.first_name }} {{ sender.last_name }}'
  phone: '{{ sender.phone | default text | find_phone }}'
  fields:
    - name: Telegram ID
      value: { from: sender.id }
    - name: Telegram username
      value: '{{ sender.username }}'
      optional: true
note:
  text: "{{ text }}\n\nОт: {{ sender.name }} (@{{ sender.username }})\nЧат: {{ chat.title }}\nСсылка: {{ link | default \"нет\" }}"
`

type env struct {
	srv    *amocrmtest.Server
	client *amocrm.Client
	store  *chattertest.MemStore
	sink   *amocrmsink.Sink
	stats  *amocrmsink.RequestStats
	cache  *fieldmap.SchemaCache
	marker int
	token  string
	cfg    amocrmsink.Config
}

type envOptions struct {
	server  []amocrmtest.Option
	client  []amocrm.Option
	token   func(*amocrmtest.Server) string
	handler func(http.Handler) http.Handler // wraps the fake
	config  func(*amocrmsink.Config)
	noCache bool
}

// newEnv starts the fake with the demo account (rate limit off unless
// options say otherwise), a client, a MemStore and a Sink.
func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	opts := append([]amocrmtest.Option{
		amocrmtest.WithSeed(amocrmtest.DemoAccount),
		amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: -1, BlockAfter: -1}),
	}, o.server...)
	e := &env{store: chattertest.NewMemStore()}
	if o.handler == nil {
		e.srv = amocrmtest.NewServer(t, opts...)
	} else {
		e.srv = amocrmtest.New(opts...)
		hs := newHTTPServer(t, o.handler(e.srv))
		e.srv.URL = hs
	}
	e.marker = int(e.srv.AddCustomField(amocrmtest.EntityLeads, amocrmtest.CustomField{Name: "Chatter ID", Type: amocrmtest.FieldText}).ID)
	e.token = e.srv.AccessToken()
	if o.token != nil {
		e.token = o.token(e.srv)
	}
	e.stats = amocrmsink.NewRequestStats(nil)
	c, err := amocrm.NewClient("example", append([]amocrm.Option{
		amocrm.WithBaseURL(e.srv.URL),
		amocrm.WithLongLivedToken(e.token),
		amocrm.WithLimiter(amocrm.Unlimited()),
		amocrm.WithBackoff(amocrm.Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond, Retries: 3}),
	}, o.client...)...)
	if err != nil {
		t.Fatal(err)
	}
	e.client = c
	mapper, err := fieldmap.Compile(parseTestSpec(t), fieldmap.WithSchema(e.schema(t)))
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = amocrmsink.Config{
		Client: c, Mapper: mapper, Contacts: e.store, Leases: e.store,
		MarkerField:            e.marker,
		ContactTelegramIDField: int(amocrmtest.DemoContactTelegramID),
		ContactUsernameField:   int(amocrmtest.DemoContactTelegramUsername),
		Stats:                  e.stats,
	}
	if !o.noCache {
		e.cache = fieldmap.NewSchemaCache(fieldmap.FetchSchema(c), fieldmap.SchemaCacheConfig{MinRefresh: time.Nanosecond})
		e.cfg.Schema = e.cache
	}
	if o.config != nil {
		o.config(&e.cfg)
	}
	e.sink, err = amocrmsink.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newHTTPServer(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := &http.Server{Handler: h}
	ln, err := listen()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// person is a Telegram sender used by the tests.
type person struct {
	id                    int64
	username, first, last string
	phone                 string
}

// msg builds a message from p in chat with text.
func msg(chatID, msgID int64, p person, text string) *chatter.Message {
	m := chattertest.NewMessage(ws, chatID, msgID, text)
	m.Sender = chatter.Sender{ID: p.id, Username: p.username, FirstName: p.first, LastName: p.last, Phone: p.phone, Language: "ru"}
	m.Raw = nil
	return m
}

func (e *env) deliver(t testing.TB, m *chatter.Message, attempt int) (*chatter.DeliveryResult, error) {
	t.Helper()
	return e.sink.Deliver(t.Context(), &chatter.Delivery{Message: m, Attempt: attempt, MaxAttempts: 8})
}

func (e *env) mustDeliver(t testing.TB, m *chatter.Message) *chatter.DeliveryResult {
	t.Helper()
	res, err := e.deliver(t, m, 1)
	if err != nil {
		t.Fatalf("deliver %s: %v", m.Key, err)
	}
	return res
}

// leadsByMarker counts the fake's leads per marker value.
func (e *env) leadsByMarker() map[string][]amocrmtest.Lead {
	out := map[string][]amocrmtest.Lead{}
	for _, l := range e.srv.Leads() {
		if k := amocrmtest.FieldString(l.CustomFieldsValues, int64(e.marker)); k != "" {
			out[k] = append(out[k], l)
		}
	}
	return out
}

// notesByMarker counts the fake's lead notes per message key.
func (e *env) notesByMarker() map[string][]amocrmtest.Note {
	out := map[string][]amocrmtest.Note{}
	for _, n := range e.srv.Notes(amocrmtest.EntityLeads, 0) {
		text, _ := n.Params["text"].(string)
		if i := lastLine(text); len(i) > len(amocrmsink.MarkerPrefix) && i[:len(amocrmsink.MarkerPrefix)] == amocrmsink.MarkerPrefix {
			out[i[len(amocrmsink.MarkerPrefix):]] = append(out[i[len(amocrmsink.MarkerPrefix):]], n)
		}
	}
	return out
}

func lastLine(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}

// contactsWithTG returns the fake's contacts whose Telegram ID field is id.
func (e *env) contactsWithTG(id int64) []amocrmtest.Contact {
	var out []amocrmtest.Contact
	for _, c := range e.srv.Contacts() {
		if amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactTelegramID) == strconv.FormatInt(id, 10) {
			out = append(out, c)
		}
	}
	return out
}

// runPipeline starts a pipeline over the env's store and sink until the test
// ends.
func (e *env) runPipeline(t testing.TB, cfg chatter.PipelineConfig) *chatter.Pipeline {
	t.Helper()
	cfg.Store = e.store
	if cfg.Sink == nil {
		cfg.Sink = e.sink
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(int) time.Duration { return 5 * time.Millisecond }
	}
	p, err := chatter.NewPipeline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := p.Run(ctx); err != nil {
			t.Errorf("pipeline run: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return p
}

// waitSettled polls the ledger until n entries are delivered or dead.
func (e *env) waitSettled(t testing.TB, n int, limit time.Duration) map[chatter.State]int {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		counts, err := e.store.CountEntries(context.Background(), chatter.LedgerQuery{Workspace: ws})
		if err != nil {
			t.Fatal(err)
		}
		if counts[chatter.StateDelivered]+counts[chatter.StateDead] >= n {
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("ledger not settled after %s: %v", limit, counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) entry(t testing.TB, m *chatter.Message) *chatter.LedgerEntry {
	t.Helper()
	en, err := e.store.GetEntry(context.Background(), ws, m.Key)
	if err != nil {
		t.Fatal(err)
	}
	return en
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return v
}

func parseTestSpec(t testing.TB) *fieldmap.Spec {
	t.Helper()
	spec, err := fieldmap.ParseSpec([]byte(testSpec), fieldmap.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// schema reads the fake's live schema with an admin token.
func (e *env) schema(t testing.TB) *fieldmap.Schema {
	t.Helper()
	admin, err := amocrm.NewClient("example", amocrm.WithBaseURL(e.srv.URL),
		amocrm.WithLongLivedToken(e.srv.AccessToken()), amocrm.WithLimiter(amocrm.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	sch, err := fieldmap.FetchSchema(admin)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func amocrmsinkRecord(m *chatter.Message) fieldmap.Record { return amocrmsink.NewMessageRecord(m) }
