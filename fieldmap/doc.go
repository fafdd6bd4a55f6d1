// Package fieldmap maps a source record (a Telegram message, a form post, any
// JSON-ish event) onto amoCRM entities by a declarative spec: a lead with its
// pipeline, status, responsible user, tags and custom fields, one new contact
// and one new company (the /leads/complex item), and a note with the message
// text and link.
//
// It exists so that "leads are created with the wrong fields" cannot happen
// silently: every target is checked against the live account schema
// (Validate), every value is converted to its field's type or refused with a
// typed Problem (Apply), and a test lead can be created and read back field by
// field (SendTestLead).
//
// fieldmap imports amocrm, not chatter, so integrators can use it alone.
//
// # Quick start
//
// These steps run as the package example (func Example in example_test.go,
// with a saved schema and a chatter.Message):
//
//	spec, err := fieldmap.LoadSpec("mapping.yaml")           // or ParseSpec(data, fieldmap.FormatJSON)
//	cache := fieldmap.NewSchemaCache(fieldmap.FetchSchema(client), fieldmap.SchemaCacheConfig{})
//	schema, _, err := cache.Get(ctx)                          // fields, pipelines, users
//	records := fieldmap.RecordSchemaOf(chatter.Message{}).With("sender.name")
//	m, err := fieldmap.Compile(spec, fieldmap.WithSchema(schema), fieldmap.WithRecordSchema(records)) // once
//	rec, err := fieldmap.StructRecord(msg)                    // once per message (or a MapRecord / Record of your own)
//	res, err := m.Apply(rec)                                  // many times, concurrently, no I/O
//	results, _, err := client.Leads.CreateComplex(ctx, []*amocrm.ComplexLead{&res.Lead})
//	// then add res.Note to the lead (res.Note.EntityID = results[0].ID)
//
// Compile's error is an *Error listing every problem. Each problem of a
// spec from ParseSpec or LoadSpec carries the Line and Column where it is
// written (YAML and JSON alike), and its Message and Remedy in Russian and
// in English, each in one language.
//
// WithRecordSchema checks every record path of the spec (from:, and the
// paths in templates and conditions) against the shape of the records, so
// that a typo such as sendr.first_name fails Compile with the closest
// paths suggested instead of mapping empty values: RecordSchemaOf derives
// the paths from a record type's JSON names (a chatter.Message; add
// "sender.name", which amocrmsink.MessageRecord computes), NewRecordSchema
// declares them for other records. Dynamic parts stay open: maps, interface
// values and raw JSON (a Message's raw) allow any path below them, and a
// declared "extra.*" does the same. Without a record schema paths are not
// checked.
//
// In a hot loop that sends each result before mapping the next record,
// reuse one Result per goroutine with ApplyInto: the same mapping without
// allocating the output again (send or copy it before the next call).
//
//	var res fieldmap.Result                             // one per goroutine
//	for rec := range records {
//		if err := m.ApplyInto(rec, &res); err != nil { ... }
//		send(&res.Lead)                                 // done with res before the next ApplyInto
//	}
//
// Compile without a schema works too when every field is given by id (or by
// the predefined codes PHONE, EMAIL, WEB, POSITION, ADDRESS) with its type,
// and routing by id; Validate(m, schema) then checks it later. Compiled with a
// schema, names resolve to ids, option texts to enum ids, and Validate's
// checks run at compile time (errors fail Compile, warnings are in
// Mapper.Warnings). Constants are converted to their field's type at
// compile time whenever the type is known (from the schema or declared):
// "abc" for a numeric field, a bad date or an option the field does not
// have (the error lists the options) fail Compile, not every Apply. When amoCRM rejects a delivery with a field error, tell
// the SchemaCache (ReportError) and recompile when Get returns a new version.
//
// # Spec
//
// YAML and JSON share one schema (JSON keys; unknown keys are errors). A
// complete example, also in testdata/spec.yaml and testdata/spec.json:
//
//	version: 1
//	timezone: "+03:00"                 # for dates without a zone; IANA names too
//	lookups:                           # tables: source value → target value ("*" = fallback)
//	  source_by_chat:
//	    "Продажи B2B": "Telegram B2B"
//	    "*": "Telegram"
//	  region_by_city:
//	    москва: "Центр"
//	    питер: "Северо-Запад"
//	    "*": "Регионы"
//	lead:
//	  name: '{{ sender.first_name | default sender.username | default "Клиент" }}: {{ text | trim | truncate 40 "…" }}'
//	  price: '{{ text | find_amount }}'
//	  pipeline:                        # routing: first rule whose when holds
//	    - when: 'text | icontains "опт"'
//	      name: Оптовые продажи
//	    - name: Продажи
//	  status:
//	    - when: 'text | icontains "срочно"'
//	      name: Горячий лид
//	    - name: Первичный контакт
//	  responsible:
//	    - when: 'chat.title | eq "VIP"'
//	      email: boss@example.com
//	    - round_robin: [Анна Смирнова, Иван Петров]
//	  tags:
//	    - telegram
//	    - '{{ chat.title }}'
//	    - template: срочно
//	      when: 'text | icontains "срочно"'
//	  fields:
//	    - name: Источник               # target: id, code or name
//	      value: { from: chat.title, lookup: source_by_chat }
//	    - name: Регион
//	      value: { template: '{{ text | match "(?i)(москва|питер)" | lower }}', lookup: region_by_city }
//	    - name: Дата обращения
//	      value: { from: time }
//	    - name: Ссылка на сообщение
//	      value: { from: link }
//	      optional: true               # empty → left out with a warning (else: value_empty)
//	    - name: Текст заявки
//	      value: { from: text }
//	    - name: Срочно
//	      value: '{{ text | icontains "срочно" }}'
//	contact:
//	  name: '{{ sender.first_name }} {{ sender.last_name }}'
//	  first_name: { from: sender.first_name }
//	  last_name: { from: sender.last_name }
//	  fields:
//	    - code: PHONE                  # normalised to E.164, enum code MOB
//	      enum: MOB
//	      values:
//	        - { from: sender.phone }
//	        - '{{ text | find_phone }}'
//	      optional: true
//	    - code: EMAIL
//	      value: '{{ text | find_email }}'
//	      optional: true
//	    - name: Telegram ID
//	      value: { from: sender.id }
//	    - name: Telegram username
//	      value: '{{ sender.username }}'
//	      optional: true
//	company:
//	  when: 'chat.type | ne "private"'
//	  name: { from: chat.title }
//	note:
//	  text: "{{ text }}\n\nСообщение: {{ link | default \"нет ссылки\" }}\nЧат: {{ chat.title }}"
//
// A value (Source) is a string (a template; a constant when it has no {{…}}),
// a number or boolean (a constant), or an object with exactly one of from
// (a record path), const or template, plus optional lookup (a table), enum
// (multitext code) and when. contact.phone and contact.email are shorthands
// for the PHONE and EMAIL fields. The same field mapped twice merges values
// for multi-value types; for one-value types the first mapping that produced
// a value wins.
//
// # Field types
//
// All 26 amoCRM types convert, and a bad value is a CodeBadValue problem:
// text, textarea, streetaddress, tracking_data, org_legal_name (text; text
// cut to 256 characters with a warning, textarea not cut; max_length
// overrides); url (absolute http/https); numeric, price, monetary (numbers,
// "1 500,5" accepted); checkbox (true/false, 1/0, yes/no, да/нет); date,
// birthday (midnight in the spec's timezone), date_time (Unix seconds; input
// time.Time, RFC 3339, 2006-01-02, 02.01.2006, Unix); select, radiobutton,
// multiselect, category (a number is an enum id, text an option matched
// case-insensitively; with a schema resolved to enum_id, an unknown option is
// CodeEnumNotFound); multitext (value + enum_code; PHONE values normalised to
// E.164, EMAIL values checked); smart_address (object parts address_line_1,
// address_line_2, city, state, zip, country); legal_entity, payer, supplier
// (object: name, entity_type, vat_id, tax_registration_reason_code, address,
// kpp, external_uid, bank_code, bank_account_number); linked_entity (object:
// entity_id, entity_type, catalog_id, name); chained_list (catalog_id,
// catalog_element_id); file (file_uuid, version_uuid, file_name, file_size);
// items (objects: sku, description, unit_price, quantity, unit_type,
// discount_type, discount_value, vat_rate_id, external_uid). Composite values
// may also come from a record map (value: {from: crm.requisites}). A type
// fieldmap does not know is a CodeUnknownType problem, never a panic.
//
// # Templates
//
// {{ operand | function args… }}: the operand is a record path, a 'string',
// a "string" or a number; arguments are literals or paths. Functions:
//
//	trim lower upper capitalize        text
//	truncate N ["…"]                   cut to N characters
//	default X                          X when the value is empty
//	join ["sep"]  first  len           lists
//	replace "old" "new"
//	date "layout" ["zone"]             layout: date, datetime, time, iso, rfc3339 or a Go layout
//	unix  number                       time → Unix seconds; text → number ("1 500,5")
//	phone  email                       normalise to E.164 / lower-case address; bad input fails
//	find_phone find_email find_amount  first phone, e-mail, money amount found in text ("" if none)
//	match "regexp" [group]             capture group (1 when the expression has one)
//	lookup table                       a Spec.Lookups table
//	eq ieq ne in contains icontains prefix suffix matches gt ge lt le empty not
//
// Conditions (when) are pipelines joined with &&, || and !, with
// parentheses; a result is true unless empty, 0, false, "false", "no" or
// "нет". Templates and conditions compile once; executing them does not
// marshal and allocates only for new strings.
//
// # Concurrency
//
// A Mapper is immutable except for round-robin counters, which are atomic:
// Apply is safe for concurrent use, and so is ApplyInto with a Result per
// goroutine. DryRun does not advance them.
package fieldmap
