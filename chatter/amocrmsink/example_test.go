package amocrmsink_test

import (
	"context"
	"fmt"

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
