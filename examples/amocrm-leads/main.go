// Command amocrm-leads creates N leads, each with a new contact (name, phone,
// e-mail) and a tag, through POST /api/v4/leads/complex, and prints the ids
// amoCRM assigned. The people are a small realistic Russian sample.
//
// By default it starts the fake amoCRM (amocrmtest) in-process, so it runs
// with no account and no setup:
//
//	go run ./examples/amocrm-leads -n 5
//
// Given a real account through the environment it writes there instead
// (a long-lived token of a private integration; the token is never printed):
//
//	AMOCRM_SUBDOMAIN=example AMOCRM_TOKEN=eyJ0eXAi... go run ./examples/amocrm-leads -n 3
//
// AMOCRM_SUBDOMAIN may also be a full host (example.kommo.com).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "amocrm-leads:", err)
		os.Exit(1)
	}
}

// maxLeads bounds -n: enough to see batching (50 per request), small
// enough not to flood a real account by a typo.
const maxLeads = 1000

// person is one sample client.
type person struct {
	first, last string
	operator    string // mobile operator code of the phone
	email       string // local part; empty for people who gave no e-mail
	request     string // what they asked for
	price       int
}

var sample = []person{
	{"Анна", "Смирнова", "916", "anna.smirnova", "оптовая поставка кофе", 150000},
	{"Дмитрий", "Волков", "903", "d.volkov", "доставка в Казань", 12000},
	{"Екатерина", "Соколова", "921", "", "кухня на заказ", 180000},
	{"Сергей", "Кузнецов", "985", "kuznetsov.s", "аренда склада", 95000},
	{"Ольга", "Морозова", "926", "olga.m", "консультация юриста", 5000},
	{"Алексей", "Лебедев", "905", "", "ремонт офиса", 420000},
	{"Наталья", "Новикова", "911", "n.novikova", "корпоративное обучение", 60000},
	{"Игорь", "Фёдоров", "968", "fedorov.igor", "поставка окон ПВХ", 240000},
}

// item builds the i-th complex lead. Phones are unique per i, so amoCRM's
// duplicate control does not merge the demo leads into each other.
func item(i int, tag string) *amocrm.ComplexLead {
	p := sample[i%len(sample)]
	n := 2000000 + i*13
	phone := fmt.Sprintf("+7 (%s) %03d-%02d-%02d", p.operator, n/10000, n/100%100, n%100)
	cf := amocrm.CustomFieldsValues{
		amocrm.SetFieldCode(amocrm.FieldCodePhone, amocrm.MultitextValue(phone, amocrm.EnumCodeMobile)),
	}
	if p.email != "" {
		email := fmt.Sprintf("%s.%d@example.ru", p.email, i)
		cf = append(cf, amocrm.SetFieldCode(amocrm.FieldCodeEmail, amocrm.MultitextValue(email, amocrm.EnumCodeWork)))
	}
	return &amocrm.ComplexLead{
		Lead:    &amocrm.Lead{Name: "Заявка из Telegram: " + p.request, Price: p.price},
		Contact: &amocrm.Contact{FirstName: p.first, LastName: p.last, CustomFieldsValues: cf},
		Tags:    []amocrm.Tag{{Name: tag}},
	}
}

// run creates the leads; see the package comment. getenv supplies
// AMOCRM_SUBDOMAIN and AMOCRM_TOKEN; output goes to stdout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("amocrm-leads", flag.ContinueOnError)
	fs.SetOutput(stdout)
	n := fs.Int("n", 5, fmt.Sprintf("number of leads to create (1…%d)", maxLeads))
	tag := fs.String("tag", "chatter-demo", "tag put on every created lead")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *n < 1 || *n > maxLeads {
		return fmt.Errorf("-n must be between 1 and %d, got %d", maxLeads, *n)
	}
	if strings.TrimSpace(*tag) == "" {
		return errors.New("-tag must not be empty")
	}

	c, where, cleanup, err := connect(getenv)
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Fprintln(stdout, "amoCRM:", where)

	items := make([]*amocrm.ComplexLead, *n)
	for i := range items {
		items[i] = item(i, *tag)
	}
	res, err := c.Leads.CreateComplexBatch(ctx, items)
	created := 0
	for i, r := range res {
		if r == nil {
			continue
		}
		created++
		merged := ""
		if r.Merged {
			merged = " (contact merged with an existing one)"
		}
		fmt.Fprintf(stdout, "lead %d\tcontact %d\t%s — %s%s\n", r.ID, r.ContactID, items[i].Lead.Name,
			items[i].Contact.FirstName+" "+items[i].Contact.LastName, merged)
	}
	fmt.Fprintf(stdout, "created %d of %d leads\n", created, *n)
	if err != nil {
		var ou *amocrm.OutcomeUnknownError
		if errors.As(err, &ou) {
			return fmt.Errorf("%w (check the account for leads tagged %q before running again)", err, *tag)
		}
		return err
	}
	return nil
}

// connect returns a client for the account in the environment, or for an
// in-process fake when none is configured.
func connect(getenv func(string) string) (c *amocrm.Client, where string, cleanup func(), err error) {
	sub := strings.TrimSpace(getenv("AMOCRM_SUBDOMAIN"))
	token := strings.TrimSpace(getenv("AMOCRM_TOKEN"))
	switch {
	case sub != "" && token != "":
		c, err = amocrm.NewClient(sub, amocrm.WithLongLivedToken(token))
		if err != nil {
			return nil, "", nil, err
		}
		return c, "account " + c.BaseURL(), func() {}, nil
	case sub != "" || token != "":
		return nil, "", nil, errors.New("set both AMOCRM_SUBDOMAIN and AMOCRM_TOKEN (a long-lived token), or neither to use the in-process fake")
	}
	srv := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		return nil, "", nil, err
	}
	c, err = amocrm.NewClient(srv.Account().Subdomain, amocrm.WithBaseURL(srv.URL),
		amocrm.WithLongLivedToken(srv.LongLivedToken(amocrmtest.AccessTokenTTL)))
	if err != nil {
		_ = srv.Close()
		return nil, "", nil, err
	}
	return c, "in-process fake at " + srv.URL + " (set AMOCRM_SUBDOMAIN and AMOCRM_TOKEN for a real account)",
		func() { _ = srv.Close() }, nil
}
