package amocrmsink_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/fieldmap"
)

// A first message from a person creates a contact, a lead and a note; the
// next one becomes a note on the same lead.
func Example() {
	ctx := context.Background()
	srv := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer srv.Close()
	marker := srv.AddCustomField(amocrmtest.EntityLeads, amocrmtest.CustomField{Name: "Chatter ID", Type: amocrmtest.FieldText})

	client, _ := amocrm.NewClient("example", amocrm.WithBaseURL(srv.URL), amocrm.WithLongLivedToken(srv.AccessToken()))
	spec, _ := fieldmap.ParseSpec([]byte(`
lead:
  name: 'Telegram: {{ sender.first_name }}'
  tags: [telegram]
contact:
  name: '{{ sender.first_name }} {{ sender.last_name }}'
`), fieldmap.FormatYAML)
	mapper := fieldmap.MustCompile(spec)
	store := chattertest.NewMemStore()
	sink, err := amocrmsink.New(amocrmsink.Config{
		Client: client, Mapper: mapper, Contacts: store, Leases: store,
		MarkerField:            int(marker.ID),
		ContactTelegramIDField: int(amocrmtest.DemoContactTelegramID),
	})
	if err != nil {
		panic(err)
	}
	for i, text := range []string{"Здравствуйте! Нужен ремонт ванной.", "Забыла сказать: площадь 6 м²."} {
		m := chattertest.NewMessage("demo", 42, 1, text)
		m.Key.MessageID = int64(i + 1)
		res, err := sink.Deliver(ctx, &chatter.Delivery{Message: m, Attempt: 1})
		if err != nil {
			panic(err)
		}
		lead, _ := srv.Lead(res.LeadID)
		fmt.Printf("%q threaded=%v notes=%d\n", lead.Name, res.Threaded, len(srv.Notes(amocrmtest.EntityLeads, res.LeadID)))
	}
	// Output:
	// "Telegram: Ирина" threaded=false notes=1
	// "Telegram: Ирина" threaded=true notes=2
}

// Three new people writing at once share one /leads/complex request and one
// notes request (LookupStore: no contact searches before).
func Example_batching() {
	ctx := context.Background()
	srv := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer srv.Close()
	marker := srv.AddCustomField(amocrmtest.EntityLeads, amocrmtest.CustomField{Name: "Chatter ID", Type: amocrmtest.FieldText})

	client, _ := amocrm.NewClient("example", amocrm.WithBaseURL(srv.URL), amocrm.WithLongLivedToken(srv.AccessToken()))
	spec, _ := fieldmap.ParseSpec([]byte("lead:\n  name: 'Telegram: {{ sender.first_name }}'\n"), fieldmap.FormatYAML)
	store := chattertest.NewMemStore()
	sink, err := amocrmsink.New(amocrmsink.Config{
		Client: client, Mapper: fieldmap.MustCompile(spec), Contacts: store, Leases: store,
		MarkerField:            int(marker.ID),
		ContactTelegramIDField: int(amocrmtest.DemoContactTelegramID),
		Lookup:                 amocrmsink.LookupStore,
		BatchSize:              3,           // the batch goes out when three leads wait…
		BatchWait:              time.Minute, // …or after a minute
	})
	if err != nil {
		panic(err)
	}
	var wg sync.WaitGroup
	for i, name := range []string{"Ирина", "Пётр", "Анна"} {
		m := chattertest.NewMessage("demo", 42, int64(i+1), "Здравствуйте!")
		m.Sender = chatter.Sender{ID: int64(900 + i), FirstName: name}
		wg.Go(func() {
			if _, err := sink.Deliver(ctx, &chatter.Delivery{Message: m, Attempt: 1}); err != nil {
				panic(err)
			}
		})
	}
	wg.Wait()
	fmt.Println("requests:", srv.CountRequests("", "/api/v4/"))
	fmt.Println("complex:", srv.CountRequests("POST", "/api/v4/leads/complex"), "notes:", srv.CountRequests("POST", "/api/v4/leads/notes"))
	// Output:
	// requests: 2
	// complex: 1 notes: 1
}
