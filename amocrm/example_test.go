package amocrm_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

// startFake starts the in-process fake amoCRM with the demo account; a real
// program passes the account subdomain to NewClient instead.
func startFake() *amocrmtest.Server {
	srv := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	return srv
}

// Connect with OAuth 2.0: trade the authorization code (from the redirect,
// or copied by an admin from the integration settings) for a token pair.
// The client saves it to the TokenStore and refreshes it by itself.
func ExampleClient_ExchangeCode() {
	srv := startFake()
	defer srv.Close()
	ctx := context.Background()

	in := srv.Integration()
	store := amocrm.NewMemoryTokenStore(nil) // use a persistent, sealed store in production
	c, err := amocrm.NewClient("chatterdemo",
		amocrm.WithBaseURL(srv.URL), // only for the fake
		amocrm.WithOAuth(amocrm.OAuthConfig{
			ClientID:     in.ClientID,
			ClientSecret: in.ClientSecret,
			RedirectURL:  in.RedirectURI,
		}, store))
	if err != nil {
		log.Fatal(err)
	}
	code := srv.IssueAuthCode() // in production: the "code" query parameter of the redirect
	tok, err := c.ExchangeCode(ctx, code)
	if err != nil {
		log.Fatal(err)
	}
	acc, _, err := c.Account.Get(ctx, &amocrm.GetOptions{With: []string{amocrm.AccountWithAmojoID}})
	if err != nil {
		log.Fatal(err)
	}
	saved, _ := store.Load(ctx)
	fmt.Println("connected to", acc.Name, "("+acc.Subdomain+")")
	fmt.Println("refreshable:", !tok.LongLived(), "saved:", saved.AccessToken == tok.AccessToken)
	fmt.Println("printing a token is safe:", !strings.Contains(fmt.Sprint(tok), tok.AccessToken))
	// Output:
	// connected to Chatter Demo (chatterdemo)
	// refreshable: true saved: true
	// printing a token is safe: true
}

// List leads with an iterator: it follows _links.next page after page and
// stops at the last page (or a 204).
func ExampleLeadsService_ListIter() {
	srv := startFake()
	defer srv.Close()
	c, err := amocrm.NewClient("chatterdemo", amocrm.WithBaseURL(srv.URL),
		amocrm.WithLongLivedToken(srv.LongLivedToken(amocrmtest.AccessTokenTTL)))
	if err != nil {
		log.Fatal(err)
	}
	opts := &amocrm.LeadListOptions{
		ListOptions: amocrm.ListOptions{Limit: 1}, // one lead per page, to show paging
		Order:       &amocrm.Order{Field: "id"},
		With:        []string{amocrm.LeadWithContacts},
	}
	for lead, err := range c.Leads.ListIter(context.Background(), opts) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s — %d ₽, contacts: %d\n", lead.Name, lead.Price, len(lead.Embedded.Contacts))
	}
	// Output:
	// Заявка из Telegram: оптовая поставка — 150000 ₽, contacts: 1
	// Вопрос о доставке — 0 ₽, contacts: 1
}

// Create a lead together with its contact in one request
// (POST /api/v4/leads/complex). CreateComplexBatch chunks any number of
// items by 50 and returns results aligned with the input.
func ExampleLeadsService_CreateComplexBatch() {
	srv := startFake()
	defer srv.Close()
	ctx := context.Background()
	c, err := amocrm.NewClient("chatterdemo", amocrm.WithBaseURL(srv.URL),
		amocrm.WithLongLivedToken(srv.LongLivedToken(amocrmtest.AccessTokenTTL)))
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Leads.CreateComplexBatch(ctx, []*amocrm.ComplexLead{{
		Lead: &amocrm.Lead{Name: "Заявка из Telegram: кухня на заказ", Price: 180000},
		Contact: &amocrm.Contact{FirstName: "Екатерина", LastName: "Соколова", CustomFieldsValues: amocrm.CustomFieldsValues{
			amocrm.SetFieldCode(amocrm.FieldCodePhone, amocrm.MultitextValue("+7 921 555-01-02", amocrm.EnumCodeMobile)),
		}},
		Tags: []amocrm.Tag{{Name: "telegram"}},
	}})
	if err != nil {
		log.Fatal(err)
	}
	lead, _, err := c.Leads.Get(ctx, res[0].ID, nil)
	if err != nil {
		log.Fatal(err)
	}
	contact, _, err := c.Contacts.Get(ctx, res[0].ContactID, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(lead.Name, "/", lead.Embedded.Tags[0].Name)
	fmt.Println(contact.Name, contact.Phones(), "merged:", res[0].Merged)
	// Output:
	// Заявка из Telegram: кухня на заказ / telegram
	// Екатерина Соколова [+7 921 555-01-02] merged: false
}

// Read custom fields: values carry the field's id, name, code and type; the
// accessors (Text, Float, Time, ...) tolerate amoCRM's type drift.
func ExampleCustomFieldsValues() {
	srv := startFake()
	defer srv.Close()
	ctx := context.Background()
	c, err := amocrm.NewClient("chatterdemo", amocrm.WithBaseURL(srv.URL),
		amocrm.WithLongLivedToken(srv.LongLivedToken(amocrmtest.AccessTokenTTL)))
	if err != nil {
		log.Fatal(err)
	}
	lead, _, err := c.Leads.Get(ctx, int(srv.Leads()[0].ID), nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range lead.CustomFieldsValues {
		fmt.Printf("%s (%s): %s\n", f.FieldName, f.FieldType, f.First().Text())
	}
	// The schema says which option an enum_id is and which fields a status requires.
	field, _, err := c.CustomFields.Get(ctx, amocrm.EntityLeads, int(amocrmtest.DemoLeadSource))
	if err != nil {
		log.Fatal(err)
	}
	src := lead.CustomFieldsValues.ByID(field.ID).First()
	fmt.Println("source enum:", field.EnumByID(src.EnumID).Value)
	// Output:
	// Источник (select): Telegram бот
	// Telegram username (text): anna_smirnova
	// source enum: Telegram бот
}
