// Command leads-demo shows "a Telegram message becomes exactly one lead": a
// scripted Russian conversation (several people, repeated and edited
// messages, a phone number in the text, an existing customer) flows through
// chatter.Pipeline with the embedded SQLite store into a fake amoCRM account
// (amocrmtest). The program prints, as aligned tables, the conversation (who
// wrote what, in which chat, when), what happened to each message (lead
// created, note added to lead #N, skipped and why, with its ledger state and
// attempts), the account's leads and contacts afterwards, and the
// diagnostics; messages are referred to by their number in the conversation
// (№1, №2, …).
//
//	go run ./examples/leads-demo            # amoCRM's 7 requests/s enforced
//	go run ./examples/leads-demo -fast      # no pacing
//	go run ./examples/leads-demo -lang en   # English labels (default ru)
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
	"github.com/chatterhq/sdk/fieldmap"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "leads-demo:", errorText(err))
		os.Exit(1)
	}
}

// errorText is err for the terminal: a refused option in Russian and
// English, anything else as it is.
func errorText(err error) string {
	if ve, ok := errors.AsType[*chatter.ValidationError](err); ok {
		return ve.Field + ": " + ve.Problem.RU + " (" + ve.Problem.EN + ")"
	}
	return err.Error()
}

// mapping is the field mapping of the demo: the DemoAccount's fields.
const mapping = `
version: 1
timezone: "+03:00"
lead:
  name: '{{ sender.first_name | default sender.username | default "Клиент" }}: {{ text | trim | truncate 40 "…" }}'
  pipeline: Воронка
  status: Первичный контакт
  tags:
    - telegram
    - template: '{{ chat.title }}'
      when: 'chat.type | ne "private"'
  fields:
    - name: Источник
      value: Telegram бот
    - name: Telegram ID
      value: { from: sender.id }
    - name: Ссылка на сообщение
      value: { from: link }
      optional: true
    - name: Дата обращения
      value: { from: time }
contact:
  name: '{{ sender.first_name }} {{ sender.last_name }}'
  phone: '{{ sender.phone | default text | find_phone }}'
  fields:
    - name: Telegram ID
      value: { from: sender.id }
    - name: Telegram username
      value: '{{ sender.username }}'
      optional: true
`

// run starts the fake amoCRM, delivers the conversation and prints the result.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("leads-demo", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fast := fs.Bool("fast", getenv("LEADS_DEMO_FAST") != "", "do not pace requests (the fake's rate limit is off too)")
	dbPath := fs.String("db", getenv("LEADS_DEMO_DB"), "SQLite file for the store and queue (default: a temporary file, removed at exit)")
	timeout := fs.Duration("timeout", cmp.Or(parseDuration(getenv("LEADS_DEMO_TIMEOUT")), 2*time.Minute), "give up after this long")
	lang := fs.String("lang", cmp.Or(getenv("LEADS_DEMO_LANG"), langRU), "language of the output: ru or en")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *lang != langRU && *lang != langEN {
		return &chatter.ValidationError{Field: "-lang", Problem: chatter.T(
			fmt.Sprintf("язык вывода — ru или en, а не %q", *lang),
			fmt.Sprintf("the output language is ru or en, not %q", *lang))}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	rl := amocrmtest.RateLimit{}
	if *fast {
		rl = amocrmtest.RateLimit{PerSecond: -1, BlockAfter: -1}
	}
	srv := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount), amocrmtest.WithRateLimit(rl))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		return err
	}
	defer srv.Close()
	// The fake has no custom field API; in a real account use
	// amocrmsink.EnsureMarkerField.
	marker := srv.AddCustomField(amocrmtest.EntityLeads, amocrmtest.CustomField{Name: amocrmsink.DefaultMarkerFieldName, Type: amocrmtest.FieldText, IsAPIOnly: true})

	stats := amocrmsink.NewRequestStats(nil)
	// The sink attaches stats to the client (every HTTP attempt).
	opts := []amocrm.Option{amocrm.WithBaseURL(srv.URL), amocrm.WithLongLivedToken(srv.LongLivedToken(365 * 24 * time.Hour))}
	if *fast {
		opts = append(opts, amocrm.WithLimiter(amocrm.Unlimited()))
	}
	client, err := amocrm.NewClient(srv.Account().Subdomain, opts...)
	if err != nil {
		return err
	}
	spec, err := fieldmap.ParseSpec([]byte(mapping), fieldmap.FormatYAML)
	if err != nil {
		return err
	}
	cache := fieldmap.NewSchemaCache(fieldmap.FetchSchema(client), fieldmap.SchemaCacheConfig{})
	schema, _, err := cache.Get(ctx)
	if err != nil {
		return fmt.Errorf("read the amoCRM schema: %w", err)
	}
	mapper, err := fieldmap.Compile(spec, fieldmap.WithSchema(schema))
	if err != nil {
		return fmt.Errorf("compile the mapping: %w", err)
	}
	// The embedded default store: SQLite with the River queue, as the
	// reference deployment runs it.
	if *dbPath == "" {
		dir, err := os.MkdirTemp("", "leads-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dbPath = filepath.Join(dir, "chatter.db")
	}
	store, err := sqlitestore.Open(ctx, *dbPath, sqlitestore.Config{})
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer store.Close()
	sink, err := amocrmsink.New(amocrmsink.Config{
		Client: client, Mapper: mapper, Schema: cache, Contacts: store, Leases: store,
		MarkerField:            int(marker.ID),
		ContactTelegramIDField: int(amocrmtest.DemoContactTelegramID),
		ContactUsernameField:   int(amocrmtest.DemoContactTelegramUsername),
		Stats:                  stats,
	})
	if err != nil {
		return err
	}
	pipe, err := chatter.NewPipeline(chatter.PipelineConfig{Store: store, Sink: sink, Workers: 1})
	if err != nil {
		return err
	}

	rep := &report{lang: *lang, msgs: conversation(), seededLeads: map[int64]bool{}, seededContacts: map[int64]bool{}, statuses: map[int64]string{}}
	for _, l := range srv.Leads() {
		rep.seededLeads[l.ID] = true
	}
	for _, c := range srv.Contacts() {
		rep.seededContacts[c.ID] = true
	}
	// The source hands the messages one at a time, in order, and moves on
	// only after Handle succeeded: accepted[i] is msgs[i]'s answer.
	var mu sync.Mutex
	accept := chatter.HandlerFunc(func(ctx context.Context, m *chatter.Message) error {
		r, err := pipe.Accept(ctx, m)
		if err == nil {
			mu.Lock()
			rep.accepted = append(rep.accepted, r)
			mu.Unlock()
		}
		return err
	})
	src := chattertest.NewFakeSource(rep.msgs...)
	runCtx, stopRun := context.WithCancel(ctx)
	errc := make(chan error, 2)
	go func() { errc <- pipe.Run(runCtx) }()
	go func() { errc <- src.Run(runCtx, accept) }()
	unique := map[chatter.Key]bool{}
	for _, m := range rep.msgs {
		unique[m.Key] = true
	}
	// Every message handed (a repeat at the end of the conversation too),
	// then every unique one settled.
	waitErr := src.WaitAcked(ctx, len(rep.msgs))
	if waitErr == nil {
		waitErr = waitSettled(ctx, store, len(unique))
	}
	stopRun()
	for range 2 {
		if err := <-errc; err != nil {
			return err
		}
	}
	if waitErr != nil {
		return waitErr
	}
	mu.Lock()
	defer mu.Unlock()
	entries, err := store.ListEntries(ctx, chatter.LedgerQuery{Workspace: workspace, Limit: 1000})
	if err != nil {
		return err
	}
	rep.entries = map[chatter.Key]*chatter.LedgerEntry{}
	for _, e := range entries {
		rep.entries[e.Key] = e
	}
	rep.leads, rep.contacts = srv.Leads(), srv.Contacts()
	for _, p := range srv.Pipelines() {
		for _, s := range p.Statuses {
			rep.statuses[s.ID] = s.Name
		}
	}
	rep.checks = chatter.RunChecks(ctx, sink.Checks(), chatter.CheckOptions{})
	rep.requests, rep.tooMany = stats.Totals()
	return rep.write(stdout)
}

func parseDuration(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}

func waitSettled(ctx context.Context, store chatter.MessageStore, n int) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		counts, err := store.CountEntries(ctx, chatter.LedgerQuery{Workspace: workspace})
		if err != nil {
			return err
		}
		if counts[chatter.StateDelivered]+counts[chatter.StateDead]+counts[chatter.StateFiltered]+counts[chatter.StateRejected] >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("deliveries did not finish: %v: %w", counts, ctx.Err())
		case <-t.C:
		}
	}
}
