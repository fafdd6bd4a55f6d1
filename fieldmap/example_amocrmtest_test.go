package fieldmap_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/fieldmap"
)

// Validate a mapping against the live schema of an account (here the fake
// amoCRM with its demo account): the operator learns about a renamed field
// before the first lead fails.
func ExampleValidate_liveSchema() {
	fake := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
	ts := httptest.NewServer(fake)
	defer ts.Close()
	client, err := amocrm.NewClient("demo", amocrm.WithBaseURL(ts.URL), amocrm.WithLongLivedToken(fake.AccessToken()))
	if err != nil {
		panic(err)
	}
	schema, err := fieldmap.FetchSchema(client)(context.Background())
	if err != nil {
		panic(err)
	}

	spec, err := fieldmap.ParseSpec([]byte(`
lead:
  name: '{{ sender.first_name }}: {{ text | truncate 40 "…" }}'
  pipeline: [{ name: Воронка }]
  status: [{ name: Первичный контакт }]
  fields:
    - { name: Telegram ID, value: { from: sender.id } }
    - { name: Чат, value: { from: chat.title } }
    - { name: Источнек, value: Telegram }
`), fieldmap.FormatYAML)
	if err != nil {
		panic(err)
	}
	_, err = fieldmap.Compile(spec, fieldmap.WithSchema(schema))
	for _, p := range fieldmap.ProblemsOf(err) {
		fmt.Println(p.Severity, p.Code, p.Path, p.Suggestions)
		fmt.Println(p.Message.RU)
		fmt.Println(p.Remedy.RU)
	}
	// Output:
	// error field_not_found lead.fields[2] [Источник]
	// поле "Источнек" не найдено среди полей сделок в amoCRM
	// Проверьте название поля в amoCRM (Настройки → Поля) или выберите существующее.
}
