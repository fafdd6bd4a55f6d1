// Command tgbot-leads runs a Telegram bot whose conversations become amoCRM
// leads, end to end, with no setup: a fake Bot API (tgbottest) where people
// write to the bot in private and in a group, the bot's long-polling source,
// the pipeline on the SQLite store, and the amoCRM sink delivering into a fake
// amoCRM (amocrmtest). The bot also tells the sales manager about each new
// lead in Telegram. It prints the leads, the ledger and the bot's messages.
//
//	go run ./examples/tgbot-leads
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
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
	"github.com/chatterhq/sdk/chatter/sqlitestore"
	"github.com/chatterhq/sdk/fieldmap"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tgbot-leads:", err)
		os.Exit(1)
	}
}

const workspace = "demo"

// mapping turns a bot message into a lead in the demo account's pipeline.
const mapping = `
lead:
  name: '{{ sender.first_name | default sender.username | default "Клиент" }}: {{ text | trim | truncate 40 "…" }}'
  pipeline: [{ name: Воронка }]
  status: [{ name: Первичный контакт }]
  tags: [telegram, бот]
  fields:
    - name: Источник
      value: Telegram бот
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
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("tgbot-leads", flag.ContinueOnError)
	fs.SetOutput(stdout)
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	dbPath := fs.String("db", getenv("TGBOT_LEADS_DB"), "SQLite file (default: a temporary file, removed at exit)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// Telegram: a bot, a manager who gets notifications, two customers
	// writing in private, and one asking in a group where the bot is admin.
	tg := tgbottest.New()
	tgSrv := httptest.NewServer(tg)
	defer tgSrv.Close()
	token, bot := tg.AddBot("okna_shop_bot")
	manager := tg.AddUser("sales_head", "Светлана")
	managerChat := tg.PrivateChat(manager, bot)
	tg.UserWrites(managerChat, manager, "/start")
	group := tg.AddChat(tgbottest.ChatSupergroup, "Окна и двери — опт", "", manager)
	tg.AddBotToChat(group, bot, manager)
	tg.PromoteBot(group, bot, manager, tgbottest.AdminRights())

	// amoCRM: the demo account, with a field that marks leads by message.
	crm := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
	crmSrv := httptest.NewServer(crm)
	defer crmSrv.Close()
	marker := crm.AddCustomField(amocrmtest.EntityLeads, amocrmtest.CustomField{Name: amocrmsink.DefaultMarkerFieldName, Type: amocrmtest.FieldText, IsAPIOnly: true})

	if *dbPath == "" {
		dir, err := os.MkdirTemp("", "tgbot-leads-")
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

	client, err := amocrm.NewClient(crm.Account().Subdomain, amocrm.WithBaseURL(crmSrv.URL),
		amocrm.WithLongLivedToken(crm.LongLivedToken(365*24*time.Hour)))
	if err != nil {
		return err
	}
	sink, err := newSink(ctx, client, store, int(marker.ID))
	if err != nil {
		return err
	}
	botClient, err := tgbot.NewClient(token, tgbot.WithBaseURL(tgSrv.URL))
	if err != nil {
		return err
	}
	notifier, err := tgbot.NewNotifier(tgbot.NotifierConfig{Client: botClient, ChatIDs: []int64{managerChat.ID}})
	if err != nil {
		return err
	}
	pipe, err := chatter.NewPipeline(chatter.PipelineConfig{
		Store: store, Sink: sink, Workers: 1,
		// Bot commands (/start, /help) are not leads: they stay on the
		// ledger as filtered, with the reason.
		Filter: chatter.FilterFunc(func(m *chatter.Message) chatter.Verdict {
			if strings.HasPrefix(m.Text, "/") {
				return chatter.Verdict{Rule: "команда бота", Reason: "a bot command is not a lead"}
			}
			return chatter.Verdict{Accept: true}
		}),
		// The manager hears about new leads only; everything else goes to the log.
		Notifier: chatter.NewRouter(map[chatter.NotificationType][]chatter.Notifier{chatter.NotifyNewLead: {notifier}}),
	})
	if err != nil {
		return err
	}
	src, err := tgbot.NewSource(tgbot.Config{Client: botClient, Workspace: workspace, PollTimeout: time.Second})
	if err != nil {
		return err
	}

	// Customers write while the bot is running.
	irina := tg.AddUser("irina_v", "Ирина")
	pavel := tg.AddUser("", "Павел")
	oleg := tg.AddUser("oleg_build", "Олег")
	tg.Join(group, oleg)
	written := []*tgbottest.Message{
		tg.UserWrites(tg.PrivateChat(irina, bot), irina, "Здравствуйте! Сколько стоят пластиковые окна в трёшку?"),
		tg.UserWrites(tg.PrivateChat(pavel, bot), pavel, "Нужен замер балкона, мой номер 8 916 700-12-34"),
		tg.UserWrites(group, oleg, "Коллеги, кто делает остекление коттеджей оптом? Объём 40 окон."),
	}
	written = append(written, tg.UserWrites(tg.PrivateChat(irina, bot), irina, "И ещё: есть ли рассрочка?"))

	runCtx, stopRun := context.WithCancel(ctx)
	errc := make(chan error, 2)
	go func() { errc <- pipe.Run(runCtx) }()
	go func() { errc <- src.Run(runCtx, pipe) }()
	// The manager's /start is on the ledger too (filtered). Notifications
	// are sent after the deliveries, by the pipeline's notification workers:
	// wait for those too before stopping.
	waitErr := waitSettled(ctx, store, len(written)+1)
	if waitErr == nil {
		waitErr = waitNotified(ctx, store, tg, managerChat.ID)
	}
	stopRun()
	for range 2 {
		if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	if waitErr != nil {
		return waitErr
	}
	return report(ctx, stdout, crm, store, tg, managerChat.ID)
}

func newSink(ctx context.Context, client *amocrm.Client, store *sqlitestore.Store, marker int) (*amocrmsink.Sink, error) {
	spec, err := fieldmap.ParseSpec([]byte(mapping), fieldmap.FormatYAML)
	if err != nil {
		return nil, err
	}
	cache := fieldmap.NewSchemaCache(fieldmap.FetchSchema(client), fieldmap.SchemaCacheConfig{})
	schema, _, err := cache.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the amoCRM schema: %w", err)
	}
	mapper, err := fieldmap.Compile(spec, fieldmap.WithSchema(schema))
	if err != nil {
		return nil, fmt.Errorf("compile the mapping: %w", err)
	}
	return amocrmsink.New(amocrmsink.Config{
		Client: client, Mapper: mapper, Schema: cache, Contacts: store, Leases: store,
		MarkerField:            marker,
		ContactTelegramIDField: int(amocrmtest.DemoContactTelegramID),
		ContactUsernameField:   int(amocrmtest.DemoContactTelegramUsername),
	})
}

func waitSettled(ctx context.Context, store chatter.MessageStore, n int) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		counts, err := store.CountEntries(ctx, chatter.LedgerQuery{Workspace: workspace})
		if err != nil {
			return err
		}
		if counts[chatter.StateDelivered]+counts[chatter.StateDead]+counts[chatter.StateFiltered] >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d deliveries (have %v): %w", n, counts, ctx.Err())
		case <-t.C:
		}
	}
}

// waitNotified waits until the manager has one message per new lead on the
// ledger.
func waitNotified(ctx context.Context, store chatter.MessageStore, tg *tgbottest.Server, managerChat int64) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		entries, err := store.ListEntries(ctx, chatter.LedgerQuery{Workspace: workspace, States: []chatter.State{chatter.StateDelivered}})
		if err != nil {
			return err
		}
		leads, sent := 0, 0
		for _, e := range entries {
			if e.Result != nil && !e.Result.Threaded {
				leads++
			}
		}
		for _, m := range tg.Sent() {
			if m.ChatID == managerChat {
				sent++
			}
		}
		if sent >= leads {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d notifications to the manager (have %d): %w", leads, sent, ctx.Err())
		case <-t.C:
		}
	}
}

func report(ctx context.Context, w io.Writer, crm *amocrmtest.Server, store chatter.MessageStore, tg *tgbottest.Server, managerChat int64) error {
	fmt.Fprintln(w, "Сделки в amoCRM:")
	leads := crm.Leads()
	slices.SortFunc(leads, func(a, b amocrmtest.Lead) int { return int(a.ID - b.ID) })
	for _, l := range leads {
		if !slices.Contains(l.Tags, "бот") {
			continue // the demo account's own leads
		}
		fmt.Fprintf(w, "  #%d «%s»\n", l.ID, l.Name)
		for _, n := range crm.Notes(amocrmtest.EntityLeads, l.ID) {
			text, _ := n.Params["text"].(string)
			first, _, _ := strings.Cut(text, "\n")
			fmt.Fprintf(w, "      примечание: %s\n", first)
		}
	}
	entries, err := store.ListEntries(ctx, chatter.LedgerQuery{Workspace: workspace})
	if err != nil {
		return err
	}
	slices.Reverse(entries) // oldest first
	fmt.Fprintln(w, "\nЖурнал доставки:")
	for _, e := range entries {
		what := "—"
		if e.State == chatter.StateFiltered {
			what = "отфильтровано: " + e.Verdict.Rule
		}
		if r := e.Result; r != nil {
			if r.Threaded {
				what = fmt.Sprintf("примечание к сделке #%d", r.LeadID)
			} else {
				what = fmt.Sprintf("новая сделка #%d", r.LeadID)
			}
		}
		fmt.Fprintf(w, "  %-32s %-9s %s\n", e.Key, e.State, what)
	}
	fmt.Fprintln(w, "\nБот написал менеджеру:")
	for _, m := range tg.Sent() {
		if m.ChatID == managerChat {
			first, _, _ := strings.Cut(m.Text, "\n")
			fmt.Fprintf(w, "  %s\n", first)
		}
	}
	return nil
}
