package demo

import (
	_ "embed"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/keyword"
	"github.com/chatterhq/sdk/fieldmap"
)

// MappingYAML is the demo's field mapping (a fieldmap spec) onto the fields
// of amocrmtest.DemoAccount: the lead named after the sender and the text,
// in "Воронка" / "Первичный контакт", for "Иван Петров", tagged by source,
// with Источник, Telegram ID and username, the message link, date, chat
// and text; the contact with the sender's name, phone (shared, or the
// first one in the text) and Telegram fields.
//
//go:embed mapping.yaml
var MappingYAML []byte

// KeywordRules are the demo's keyword rules for the parsed groups, one per
// line (keyword.ParseRules): requests for renovation, windows, craftsmen
// and furniture made to order, or a phone number, pass; vacancies, ads and
// sales are stopped; chit-chat matches nothing.
//
//go:embed keywords.txt
var KeywordRules string

// Mapping parses MappingYAML. Compile it with the account's schema
// (fieldmap.Compile(spec, fieldmap.WithSchema(schema))) to validate it.
func Mapping() (*fieldmap.Spec, error) {
	return fieldmap.ParseSpec(MappingYAML, fieldmap.FormatYAML)
}

// Keywords is the demo's keyword configuration: KeywordRules for the
// messages of the parser (tgparse), and no rules for the bot's, which are
// all accepted (keyword.Result.NoRules). Use it as the pipeline's filter
// (keyword.NewLive of the compiled set), so filtered posts are on the
// ledger as filtered.
func Keywords() keyword.Config {
	return keyword.Config{Overrides: []keyword.Override{{
		Scope:   keyword.Scope{Source: chatter.SourceParser},
		Replace: true,
		Rules:   keyword.ParseRules(KeywordRules),
	}}}
}
