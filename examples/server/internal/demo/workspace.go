package demo

import (
	"fmt"
	"strconv"

	"github.com/chatterhq/sdk/chatter/keyword"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// WorkspaceID is the id of the demo's workspace.
const WorkspaceID = "demo"

// Workspace is the server's workspace configuration that points at the
// fakes of e: amoCRM by base URL with the long-lived token, the demo
// mapping and keyword rules (for the parser's messages), the bot polling the
// fake Bot API, and the parser account with the two groups.
func (e *Env) Workspace() (config.Workspace, error) {
	spec, err := Mapping()
	if err != nil {
		return config.Workspace{}, fmt.Errorf("demo mapping: %w", err)
	}
	var rules []string
	for _, r := range keyword.ParseRules(KeywordRules) {
		rules = append(rules, r.Expr)
	}
	ws := config.Workspace{
		ID: WorkspaceID, Name: "Демо (demo)",
		AmoCRM: config.AmoCRM{
			Subdomain: e.AmoCRMSubdomain, BaseURL: e.AmoCRMURL, LongLivedToken: e.AmoCRMToken,
			MarkerField:            config.FieldRef(strconv.Itoa(e.MarkerField)),
			ContactTelegramIDField: config.FieldRef(strconv.Itoa(e.ContactTelegramIDField)),
			ContactUsernameField:   config.FieldRef(strconv.Itoa(e.ContactUsernameField)),
			Lookup:                 config.LookupCRM,
		},
		Mapping:  config.Mapping{Inline: spec},
		Keywords: config.Keywords{Rules: rules, ApplyTo: config.ApplyToParser},
		Bots:     []config.Bot{{ID: "demo-bot", Token: e.BotToken, Mode: config.ModePolling, APIURL: e.BotAPIURL}},
	}
	acct := e.ParserAccount
	ws.Parser.Accounts = []config.ParserAccount{{ID: acct.ID, APIID: acct.APIID, APIHash: acct.APIHash, Phone: acct.Phone}}
	for _, g := range e.Groups {
		ws.Parser.Chats = append(ws.Parser.Chats, config.ParserChat{Chat: g.Ref})
	}
	// The first read of a group takes what was posted before the parser
	// first looked (the generator may be quicker than the sign-in).
	ws.Parser.Depth = config.Depth{Count: 1000}
	return ws, nil
}
