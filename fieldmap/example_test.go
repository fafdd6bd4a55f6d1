package fieldmap_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/fieldmap"
)

const exampleSpec = `
timezone: "+03:00"
lead:
  name: '{{ sender.first_name | default sender.username | default "Клиент" }}: {{ text | truncate 30 "…" }}'
  price: '{{ text | find_amount }}'
  pipeline: 11
  status:
    - when: 'text | icontains "срочно"'
      id: 112
    - id: 111
  responsible: {round_robin: [501, 502]}
  tags: [telegram, '{{ chat.title }}']
  fields:
    - {id: 103, type: date_time, value: {from: time}}
    - {id: 104, type: url, value: {from: link}, optional: true}
contact:
  name: '{{ sender.first_name }} {{ sender.last_name }}'
  phone: {from: sender.phone}
note:
  text: "{{ text }}\n{{ link }}"
`

// message is a chatter.Message as a record (fieldmap.StructRecord converts
// the struct once; a MapRecord literal is the same thing).
func message() fieldmap.MapRecord {
	return fieldmap.MapRecord{
		"chat":   map[string]any{"id": -1001, "type": "supergroup", "title": "Продажи B2B"},
		"sender": map[string]any{"id": 123456789, "username": "ivanov", "first_name": "Пётр", "last_name": "Иванов", "phone": "8 (916) 123-45-67"},
		"text":   "Срочно нужен опт, бюджет 150 тыс",
		"time":   "2026-03-02T10:15:00Z",
		"link":   "https://t.me/c/1001/7",
	}
}

func schema() *fieldmap.Schema {
	b, err := os.ReadFile("testdata/schema.json")
	if err != nil {
		panic(err)
	}
	var s fieldmap.Schema
	if err := json.Unmarshal(b, &s); err != nil {
		panic(err)
	}
	return &s
}

// Compile a spec once and apply it to a message record.
func ExampleCompile() {
	spec, err := fieldmap.ParseSpec([]byte(exampleSpec), fieldmap.FormatYAML)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := fieldmap.Compile(spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := m.Apply(message())
	if err != nil {
		fmt.Println(err)
		return
	}
	l := res.Lead.Lead
	fmt.Println(l.Name)
	fmt.Println("price", l.Price, "pipeline", l.PipelineID, "status", l.StatusID, "responsible", l.ResponsibleUserID)
	fmt.Println("phone", res.Lead.Contact.Phones())
	fmt.Printf("note %q\n", res.Note.Params.Text)
	// Output:
	// Пётр: Срочно нужен опт, бюджет 150…
	// price 150000 pipeline 11 status 112 responsible 501
	// phone [+79161234567]
	// note "Срочно нужен опт, бюджет 150 тыс\nhttps://t.me/c/1001/7"
}

// A record with a value that cannot be converted is refused with typed
// problems, never sent with a wrong value.
func ExampleMapper_Apply() {
	m := fieldmap.MustCompile(&fieldmap.Spec{Lead: fieldmap.LeadSpec{
		Name:   &fieldmap.Source{Const: "Заявка"},
		Fields: []fieldmap.FieldSpec{{ID: 7, Type: amocrm.FieldTypeNumeric, Value: &fieldmap.Source{From: "amount"}}},
	}})
	_, err := m.Apply(fieldmap.MapRecord{"amount": "сто рублей"})
	for _, p := range fieldmap.ProblemsOf(err) {
		fmt.Println(p.Code, p.Path)
		fmt.Println(p.Message.RU)
	}
	// Output:
	// bad_value lead.fields[0].value
	// поле #7 (numeric): значение "сто рублей" — не число
}

// Validate a compiled mapping against the live account schema after someone
// changed the fields in amoCRM: the renamed field gets the closest existing
// names, the removed option and the deactivated user are reported.
func ExampleValidate() {
	spec, err := fieldmap.LoadSpec("testdata/spec.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := fieldmap.Compile(spec, fieldmap.WithSchema(schema()))
	if err != nil {
		fmt.Println(err)
		return
	}
	live := schema()
	live.LeadFields[0].Enums = live.LeadFields[0].Enums[:1] // "Telegram B2B" removed
	live.LeadFields[1].Name = "Регион клиента"              // "Регион" renamed
	live.Users[1].Rights = &amocrm.UserRights{IsActive: false}
	for _, p := range fieldmap.Validate(m, live) {
		fmt.Println(p.Code, p.Path, p.Suggestions)
	}
	// Output:
	// user_not_found lead.responsible[1].round_robin[1] []
	// enum_not_found lookups.source_by_chat.Продажи B2B [Telegram]
	// field_not_found lead.fields[1] [Регион клиента]
}

// Dry run: what would be sent for a sample record, as JSON for the UI.
func ExampleMapper_DryRun() {
	m := fieldmap.MustCompile(&fieldmap.Spec{
		Lead: fieldmap.LeadSpec{
			Name: &fieldmap.Source{Template: "{{ chat.title }}: {{ sender.username }}"},
			Fields: []fieldmap.FieldSpec{
				{ID: 101, Type: amocrm.FieldTypeSelect, Value: &fieldmap.Source{Const: "Telegram"}},
				{ID: 105, Type: amocrm.FieldTypeText, Value: &fieldmap.Source{From: "sender.first_name"}, MaxLength: 3},
			},
		},
	})
	out, err := m.DryRun(message())
	fmt.Println(string(out), err)
	// Output:
	// {
	//   "lead": {
	//     "name": "Продажи B2B: ivanov",
	//     "custom_fields_values": [
	//       {
	//         "field_id": 101,
	//         "values": [
	//           {
	//             "value": "Telegram"
	//           }
	//         ]
	//       },
	//       {
	//         "field_id": 105,
	//         "values": [
	//           {
	//             "value": "Пёт"
	//           }
	//         ]
	//       }
	//     ]
	//   },
	//   "warnings": [
	//     {
	//       "code": "value_truncated",
	//       "severity": "warning",
	//       "path": "lead.fields[1].value",
	//       "message": {
	//         "ru": "поле #105: значение обрезано до 3 символов",
	//         "en": "field #105: value cut to 3 characters"
	//       },
	//       "remedy": {
	//         "ru": "Увеличьте max_length или сократите шаблон.",
	//         "en": "Raise max_length or shorten the template."
	//       }
	//     }
	//   ]
	// } <nil>
}

// Reuse one Result for a stream of records: each result is used (sent)
// before the next ApplyInto overwrites it.
func ExampleMapper_ApplyInto() {
	spec, err := fieldmap.ParseSpec([]byte(exampleSpec), fieldmap.FormatYAML)
	if err != nil {
		panic(err)
	}
	m, err := fieldmap.Compile(spec)
	if err != nil {
		panic(err)
	}
	other := message()
	other["sender"] = map[string]any{"username": "anna"}
	other["text"] = "Добрый день"
	delete(other, "link")

	var res fieldmap.Result // one per goroutine
	for _, rec := range []fieldmap.MapRecord{message(), other} {
		if err := m.ApplyInto(rec, &res); err != nil {
			fmt.Println(err)
			continue
		}
		l := res.Lead.Lead
		fmt.Printf("%q status %d responsible %d fields %d contact %t note %t\n",
			l.Name, l.StatusID, l.ResponsibleUserID, len(l.CustomFieldsValues), res.Lead.Contact != nil, res.Note != nil)
	}
	// Output:
	// "Пётр: Срочно нужен опт, бюджет 150…" status 112 responsible 501 fields 2 contact true note true
	// "anna: Добрый день" status 111 responsible 502 fields 1 contact false note true
}

// The quick start of the package documentation, runnable: load a spec,
// get the account schema, compile once against the schema and the shape of
// a chatter.Message, then map each message.
func Example() {
	spec, err := fieldmap.LoadSpec("testdata/spec.yaml") // or ParseSpec(data, fieldmap.FormatJSON)
	if err != nil {
		fmt.Println(err)
		return
	}

	// The account schema: fields, pipelines and users. With a live account
	// the fetch is fieldmap.FetchSchema(client); here it reads a saved one.
	cache := fieldmap.NewSchemaCache(func(context.Context) (*fieldmap.Schema, error) { return schema(), nil },
		fieldmap.SchemaCacheConfig{TTL: 10 * time.Minute})
	sch, _, err := cache.Get(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}

	// Once: an *Error lists every problem, each with its line and column in
	// mapping.yaml. The record schema catches a mistyped message path.
	records := fieldmap.RecordSchemaOf(chatter.Message{}).With("sender.name")
	m, err := fieldmap.Compile(spec, fieldmap.WithSchema(sch), fieldmap.WithRecordSchema(records))
	if err != nil {
		fmt.Println(err)
		return
	}

	// Per message (amocrmsink.NewMessageRecord(msg) reads the same paths
	// without marshalling).
	msg := &chatter.Message{
		Workspace: "acme",
		Key:       chatter.Key{Source: chatter.SourceBot, Account: "42", ChatID: -1001, MessageID: 7},
		Chat:      chatter.Chat{ID: -1001, Type: "supergroup", Title: "Продажи B2B"},
		Sender:    chatter.Sender{ID: 123456789, Username: "ivanov", FirstName: "Пётр", LastName: "Иванов", Phone: "8 (916) 123-45-67"},
		Text:      "Срочно нужен опт, Москва, бюджет 150 тыс.",
		Time:      time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC),
		Link:      "https://t.me/c/1001/7",
	}
	rec, err := fieldmap.StructRecord(msg)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := m.Apply(rec) // many times, concurrently, no I/O
	if err != nil {
		fmt.Println(err)
		return
	}
	// then: client.Leads.CreateComplex(ctx, []*amocrm.ComplexLead{&res.Lead}),
	// and res.Note with EntityID set to the new lead's id.
	l := res.Lead.Lead
	fmt.Println(l.Name)
	fmt.Println("pipeline", l.PipelineID, "status", l.StatusID, "responsible", l.ResponsibleUserID, "price", l.Price)
	fmt.Println("lead fields", len(l.CustomFieldsValues), "contact", res.Lead.Contact.Name, res.Lead.Contact.Phones())
	fmt.Println("company", res.Lead.Company.Name)

	// A typo in a path is found when compiling, not as empty values later.
	bad, _ := fieldmap.ParseSpec([]byte("lead:\n  name: '{{ sendr.first_name }}'\n"), fieldmap.FormatYAML)
	_, err = fieldmap.Compile(bad, fieldmap.WithRecordSchema(records))
	for _, p := range fieldmap.ProblemsOf(err) {
		fmt.Println(p.Line, p.Column, p.Code, p.Suggestions[0])
		fmt.Println(p.Message.RU)
	}
	// Output:
	// Пётр: Срочно нужен опт, Москва, бюджет 150 ты…
	// pipeline 12 status 122 responsible 501 price 150000
	// lead fields 6 contact Пётр Иванов [+79161234567]
	// company Продажи B2B
	// 2 9 unknown_path sender.first_name
	// в записи нет пути "sendr.first_name" (столбец 4)
}
