package app

import (
	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/keyword"
	"github.com/chatterhq/sdk/chatter/smtpnotify"
	"github.com/chatterhq/sdk/chatter/webhooknotify"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/fieldmap"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgparse"
)

// Runtime is a running workspace's parts, for the admin UI's pages: they
// read their state and call their test functions (getMe, a test request,
// a test e-mail); changes of settings go through UpdateWorkspace.
type Runtime struct {
	ID     string
	Config config.Workspace

	// AmoCRM is the account's client (shared rate budget, stored tokens).
	AmoCRM *amocrm.Client
	// Sink is nil until the amoCRM set-up succeeded; SetupError says why
	// it has not.
	Sink       *amocrmsink.Sink
	SetupError error
	// Schema is the account's live schema (cached).
	Schema *fieldmap.SchemaCache
	// Stats counts the account's requests and 429/403 answers.
	Stats *amocrmsink.RequestStats
	// Filter is the keyword rules (nil: none); FilterAll says they apply
	// to bot messages too.
	Filter    *keyword.Live
	FilterAll bool

	Bots   []BotRuntime
	Parser *ParserRuntime // nil without parser accounts and chats

	SMTP     *smtpnotify.Notifier // nil without SMTP
	Webhooks []*webhooknotify.Notifier

	// AmoCRMWebhookURL is where the account's webhooks go ("" without a
	// public URL or with webhooks off). It holds the path secret.
	AmoCRMWebhookURL string

	w *workspace
}

// BotRuntime is one running bot.
type BotRuntime struct {
	Config     config.Bot
	Client     *tgbot.Client
	Source     *tgbot.Source
	WebhookURL string // "" in polling mode
	// Component is the supervisor's name of the bot's source.
	Component string
}

// ParserRuntime is the workspace's parsing.
type ParserRuntime struct {
	Source     *tgparse.Source
	Connection tgparse.Connection
	Accounts   []tgparse.Account
	Component  string
	p          *parser
}

// Login returns the step-by-step login of the accounts (SendCode, SignIn,
// Password) for the UI's wizard.
func (p *ParserRuntime) Login() (*tgparse.Login, error) { return p.p.login() }

// Checks returns the workspace's checks (amoCRM, bots, parser,
// notifications, queue).
func (r *Runtime) Checks() []chatter.Check { return r.w.Checks() }

// Runtime returns the running workspace id's parts, or false.
func (a *App) Runtime(id string) (*Runtime, bool) {
	w := a.ws(id)
	if w == nil {
		return nil, false
	}
	r := &Runtime{ID: w.id, Config: w.cfg, AmoCRM: w.amo, Sink: w.sink.Load(), Schema: w.schema, Stats: w.stats,
		Filter: w.filter, FilterAll: w.filterAll, AmoCRMWebhookURL: w.amoWebhookURL(), w: w}
	if p := w.setupErr.Load(); p != nil {
		r.SetupError = *p
	}
	for _, b := range w.bots {
		r.Bots = append(r.Bots, BotRuntime{Config: b.cfg, Client: b.client, Source: b.src, WebhookURL: b.webhookURL(), Component: b.name()})
	}
	if p := w.parser; p != nil {
		r.Parser = &ParserRuntime{Source: p.src, Connection: p.conn, Accounts: p.list, Component: p.name(), p: p}
	}
	if n := w.notifiers; n != nil {
		r.SMTP, r.Webhooks = n.smtp, n.hooks
	}
	return r, true
}
