// Command leads-demo shows "a Telegram message becomes exactly one lead": a
// scripted Russian conversation (several people, repeated and edited
// messages, a phone number in the text, an existing customer) flows through
// chatter.Pipeline with an in-memory store into a fake amoCRM account
// (amocrmtest), and the program prints the resulting leads, contacts, notes,
// the delivery ledger and the diagnostics.
//
//	go run ./examples/leads-demo            # amoCRM's 7 requests/s enforced
//	go run ./examples/leads-demo -fast      # no pacing
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
	"slices"
	"strings"
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
		fmt.Fprintln(os.Stderr, "leads-demo:", err)
		os.Exit(1)
	}
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
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
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
	opts := []amocrm.Option{amocrm.WithBaseURL(srv.URL), amocrm.WithLongLivedToken(srv.LongLivedToken(365 * 24 * time.Hour)),
		amocrm.WithRequestHook(stats.Observe)}
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

	msgs := conversation()
	src := chattertest.NewFakeSource(msgs...)
	runCtx, stopRun := context.WithCancel(ctx)
	errc := make(chan error, 2)
	go func() { errc <- pipe.Run(runCtx) }()
	go func() { errc <- src.Run(runCtx, pipe) }()
	unique := map[chatter.Key]bool{}
	for _, m := range msgs {
		unique[m.Key] = true
	}
	waitErr := waitSettled(ctx, store, len(unique))
	stopRun()
	for range 2 {
		if err := <-errc; err != nil {
			return err
		}
	}
	if waitErr != nil {
		return waitErr
	}
	fmt.Fprintf(stdout, "Сообщений из Telegram: %d (уникальных: %d)\n\n", len(msgs), len(unique))
	if err := printCRM(stdout, srv, int64(marker.ID)); err != nil {
		return err
	}
	if err := printLedger(ctx, stdout, store); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nДиагностика (doctor):")
	for _, r := range chatter.RunChecks(ctx, sink.Checks(), chatter.CheckOptions{}) {
		line := fmt.Sprintf("  %-18s %s", r.Name, r.Status)
		if !r.Cause.IsZero() {
			line += " — " + r.Cause.RU
		}
		fmt.Fprintln(stdout, line)
	}
	requests, tooMany := stats.Totals()
	fmt.Fprintf(stdout, "\nЗапросов к amoCRM: %d, ответов 429: %d\n", requests, tooMany)
	return nil
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
		if counts[chatter.StateDelivered]+counts[chatter.StateDead] >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("deliveries did not finish: %v: %w", counts, ctx.Err())
		case <-t.C:
		}
	}
}

func printCRM(w io.Writer, srv *amocrmtest.Server, marker int64) error {
	statuses := map[int64]string{}
	for _, p := range srv.Pipelines() {
		for _, s := range p.Statuses {
			statuses[s.ID] = s.Name
		}
	}
	fmt.Fprintln(w, "Сделки в amoCRM:")
	for _, l := range srv.Leads() {
		origin := "была в аккаунте"
		if k := amocrmtest.FieldString(l.CustomFieldsValues, marker); k != "" {
			origin = "из сообщения " + k
		}
		fmt.Fprintf(w, "  #%d «%s» [%s] контакты %v теги %v (%s)\n", l.ID, l.Name, statuses[l.StatusID], l.ContactIDs, l.Tags, origin)
		for _, n := range srv.Notes(amocrmtest.EntityLeads, l.ID) {
			text, _ := n.Params["text"].(string)
			first, _, _ := strings.Cut(text, "\n")
			fmt.Fprintf(w, "      примечание #%d: %s\n", n.ID, first)
		}
	}
	fmt.Fprintln(w, "\nКонтакты в amoCRM:")
	for _, c := range srv.Contacts() {
		name := cmp.Or(c.Name, strings.TrimSpace(c.FirstName+" "+c.LastName))
		fmt.Fprintf(w, "  #%d %s telegram_id=%s username=%s телефон=%s\n", c.ID, name,
			cmp.Or(amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactTelegramID), "—"),
			cmp.Or(amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactTelegramUsername), "—"),
			cmp.Or(amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactPhone), "—"))
	}
	return nil
}

func printLedger(ctx context.Context, w io.Writer, store chatter.MessageStore) error {
	entries, err := store.ListEntries(ctx, chatter.LedgerQuery{Workspace: workspace, Limit: 1000})
	if err != nil {
		return err
	}
	slices.SortFunc(entries, func(a, b *chatter.LedgerEntry) int {
		return cmp.Or(a.ReceivedAt.Compare(b.ReceivedAt), strings.Compare(a.Key.String(), b.Key.String()))
	})
	fmt.Fprintln(w, "\nЖурнал доставки:")
	for _, e := range entries {
		what := ""
		if r := e.Result; r != nil {
			switch {
			case r.Adopted:
				what = fmt.Sprintf("найдена сделка #%d", r.LeadID)
			case r.Threaded:
				what = fmt.Sprintf("примечание #%d к сделке #%d", r.NoteID, r.LeadID)
			default:
				what = fmt.Sprintf("новая сделка #%d, контакт #%d", r.LeadID, r.ContactID)
			}
		}
		if e.ErrorClass != "" {
			what += " ошибка: " + string(e.ErrorClass)
		}
		fmt.Fprintf(w, "  %-28s %-9s попыток %d  %s\n", e.Key.String(), e.State, e.Attempts, what)
	}
	return nil
}
