package demo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
	"github.com/chatterhq/sdk/tgparse"
	"github.com/chatterhq/sdk/tgparse/tgparsetest"
)

// Defaults of Config.
const (
	DefaultBotUsername = "uyut_masterskaya_bot"
	// AmoCRMTokenTTL is the lifetime of the long-lived amoCRM token Start
	// issues.
	AmoCRMTokenTTL = 365 * 24 * time.Hour
)

// Config configures Start.
type Config struct {
	// Dir is the data directory (created if missing) where the fakes keep
	// what they need to continue on the next start: StateFile, AmoCRMFile
	// and HistoryFile. Required.
	Dir string
	// Now is the clock of the fakes (message dates, amoCRM timestamps and
	// token expiry). Defaults to time.Now.
	Now func() time.Time
	// Logger receives the fakes' diagnostics; nil is silent. Tokens are
	// never logged.
	Logger *slog.Logger
	// BotUsername is the bot's username. Defaults to DefaultBotUsername.
	BotUsername string
	// AmoCRMOptions are added to the fake amoCRM's options (after the
	// demo's own clock and logger), e.g. amocrmtest.WithRateLimit in tests.
	AmoCRMOptions []amocrmtest.Option
}

// Env is the running demo world: a fake amoCRM account, a fake Bot API
// with one bot, and an in-process Telegram (MTProto) with a parser account
// in two groups, all on 127.0.0.1 with random ports. Its exported fields
// are what the server needs to wire the real SDK components against them;
// the Generator plays conversations into it.
//
// Everything the fakes hold that the server depends on survives Close and
// a new Start on the same Config.Dir: amoCRM's entities and their ids,
// Telegram ids, each chat's message ids, the bot updates not yet fetched
// and the groups' history. What does not: credentials (a new amoCRM token,
// bot token and MTProto keys every start, so the stored parser session is
// unknown to the new fake and the account signs in again, see
// SignInParser) and the fakes' request logs.
//
// Env's methods are safe for concurrent use.
type Env struct {
	// AmoCRM is the fake amoCRM, for assertions (Leads, Contacts, Notes).
	AmoCRM *amocrmtest.Server
	// AmoCRMURL is the API base URL (amocrm.WithBaseURL).
	AmoCRMURL string
	// AmoCRMSubdomain is the account's subdomain (amocrm.NewClient).
	AmoCRMSubdomain string
	// AmoCRMToken is a long-lived token of the account's admin
	// (amocrm.WithLongLivedToken), valid until AmoCRMTokenExpiry. It is a
	// secret: never log it.
	AmoCRMToken       string
	AmoCRMTokenExpiry time.Time
	// ContactTelegramIDField and ContactUsernameField are the demo
	// account's contact fields for the Telegram id and username
	// (amocrmsink.Config). Plan assumes the sink is given both and looks
	// people up in amoCRM (amocrmsink.LookupCRM).
	ContactTelegramIDField int
	ContactUsernameField   int
	// MarkerField is the lead field amocrmsink.EnsureMarkerField finds
	// (amocrmsink.DefaultMarkerFieldName, API-only). The demo creates it
	// in the account on the first start: the fake cannot create fields
	// through the API.
	MarkerField int

	// Bot is the fake Bot API.
	Bot *tgbottest.Server
	// BotAPIURL is the Bot API base URL (tgbot.WithBaseURL). It is a proxy
	// in front of Bot that delivers the script's repeats twice.
	BotAPIURL string
	// BotToken is the bot's token, new every start. It is a secret.
	BotToken    string
	BotID       int64
	BotUsername string

	// Telegram is the MTProto fake.
	Telegram *tgparsetest.Server
	// TelegramEndpoint is tgparse.Connection.Endpoint. New every start
	// (ports and server keys change).
	TelegramEndpoint *tgparse.Endpoint
	// ParserAccount is the parser's account (phone, api id and hash,
	// device) for tgparse.Login and tgparse.SourceConfig.Accounts.
	ParserAccount tgparse.Account
	// Groups are the two parsed groups the parser account is a member of.
	Groups []Group

	// Restored reports whether Start found the state of an earlier start
	// in Config.Dir.
	Restored bool

	cfg      Config
	log      *slog.Logger
	amo      *amoPersist
	amoHTTP  *http.Server
	botHTTP  *http.Server
	bot      *botWorld
	tg       *telegramWorld
	tgCancel context.CancelFunc

	mu        sync.Mutex
	generator generatorState
	closed    bool
}

// Start starts the demo world and restores what an earlier start left in
// cfg.Dir. Call Close when done: it saves the state for the next start.
func Start(ctx context.Context, cfg Config) (_ *Env, err error) {
	if cfg.Dir == "" {
		return nil, errors.New("demo: Config.Dir is required")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: data directory: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.BotUsername = cmp.Or(cfg.BotUsername, DefaultBotUsername)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Env{cfg: cfg, log: log,
		ContactTelegramIDField: int(amocrmtest.DemoContactTelegramID),
		ContactUsernameField:   int(amocrmtest.DemoContactTelegramUsername)}
	defer func() {
		if err != nil {
			e.shutdown()
		}
	}()

	var st state
	found, err := readJSON(e.path(StateFile), &st)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if found && st.Version != stateVersion {
		return nil, fmt.Errorf("demo: %s: unknown version %d", StateFile, st.Version)
	}
	e.Restored = found
	e.generator = st.Generator

	if err := e.startAmoCRM(); err != nil {
		return nil, err
	}
	if err := e.startBot(st.Bot); err != nil {
		return nil, err
	}
	tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.tgCancel = cancel
	tw, err := startTelegram(tctx, cfg.Now, cfg.Dir, st.Telegram)
	if err != nil {
		return nil, fmt.Errorf("demo: telegram: %w", err)
	}
	e.tg = tw
	e.Telegram = tw.srv
	e.TelegramEndpoint = tw.srv.Endpoint()
	e.ParserAccount = tgparse.Account{ID: "demo-parser", Phone: ParserPhone, APIID: ParserAPIID, APIHash: ParserAPIHash,
		Device: tgparse.Device{Model: "Chatter demo", System: "demo", AppVersion: "1.0", LangCode: "ru"}}
	for i, g := range groupDefs {
		e.Groups = append(e.Groups, Group{Key: g.key, Title: g.title, Username: g.username,
			ChatID: chatID(tw.groups[i].ID), Ref: "@" + g.username, Link: "https://t.me/" + g.username})
	}
	if err := e.save(false); err != nil {
		return nil, err
	}
	log.Info("demo: fakes started", slog.String("amocrm", e.AmoCRMURL), slog.String("bot_api", e.BotAPIURL),
		slog.Bool("restored", e.Restored))
	return e, nil
}

func (e *Env) path(name string) string { return filepath.Join(e.cfg.Dir, name) }

func (e *Env) startAmoCRM() error {
	opts := []amocrmtest.Option{amocrmtest.WithClock(e.cfg.Now), amocrmtest.WithLogger(e.log.With("component", "amocrmtest"))}
	var snap amoSnapshot
	found, err := readJSON(e.path(AmoCRMFile), &snap)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	var srv *amocrmtest.Server
	if found {
		srv = amocrmtest.New(append(append(opts, amocrmtest.WithAccount(snap.Account)), e.cfg.AmoCRMOptions...)...)
		if err := restoreAmo(srv, &snap); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	} else {
		srv = amocrmtest.New(append(append(opts, amocrmtest.WithSeed(amocrmtest.DemoAccount)), e.cfg.AmoCRMOptions...)...)
		srv.AddCustomField(amocrmtest.EntityLeads, amocrmtest.CustomField{Name: amocrmsink.DefaultMarkerFieldName,
			Type: amocrmtest.FieldText, IsAPIOnly: true})
	}
	for _, f := range srv.CustomFields(amocrmtest.EntityLeads) {
		if f.Name == amocrmsink.DefaultMarkerFieldName {
			e.MarkerField = int(f.ID)
		}
	}
	if e.MarkerField == 0 {
		return fmt.Errorf("demo: %s: the lead field %q is missing", AmoCRMFile, amocrmsink.DefaultMarkerFieldName)
	}
	e.amo = &amoPersist{srv: srv, path: e.path(AmoCRMFile), log: e.log}
	if err := e.amo.save(); err != nil {
		return fmt.Errorf("demo: %s: %w", AmoCRMFile, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: amoCRM listener: %w", err)
	}
	srv.URL = "http://" + ln.Addr().String()
	e.amoHTTP = &http.Server{Handler: e.amo, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.amoHTTP.Serve(ln) }()
	e.AmoCRM = srv
	e.AmoCRMURL = srv.URL
	e.AmoCRMSubdomain = srv.Account().Subdomain
	e.AmoCRMToken = srv.LongLivedToken(AmoCRMTokenTTL)
	e.AmoCRMTokenExpiry = e.cfg.Now().Add(AmoCRMTokenTTL).Truncate(time.Second)
	return nil
}

func (e *Env) startBot(st botState) error {
	w, err := startBot(e.cfg.Now, e.log.With("component", "tgbottest"), e.cfg.BotUsername, st)
	if err != nil {
		return fmt.Errorf("demo: bot: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: Bot API listener: %w", err)
	}
	w.proxy.base = "http://" + ln.Addr().String()
	w.proxy.hc = &http.Client{Timeout: 30 * time.Second}
	e.botHTTP = &http.Server{Handler: w.proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.botHTTP.Serve(ln) }()
	w.srv.URL = w.proxy.base
	w.srv.Start() // webhook deliveries
	e.bot = w
	e.Bot = w.srv
	e.BotAPIURL = w.proxy.base
	e.BotToken = w.token
	e.BotID = w.bot.ID()
	e.BotUsername = w.bot.Username()
	return nil
}

// save writes StateFile; with pending it includes the bot updates still
// waiting in the fake.
func (e *Env) save(pending bool) error {
	e.mu.Lock()
	gen := e.generator
	e.mu.Unlock()
	st := state{Version: stateVersion, Bot: e.bot.save(pending), Telegram: e.tg.save(), Generator: gen}
	if err := writeJSON(e.path(StateFile), &st); err != nil {
		return fmt.Errorf("demo: %s: %w", StateFile, err)
	}
	return nil
}

// LoginCode returns the last login code the MTProto fake sent to phone
// (what the user would read in Telegram), or "".
func (e *Env) LoginCode(phone string) string { return e.Telegram.Code(phone) }

// SignInParser signs the parser account in through login, taking the code
// from the fake: SendCode, then SignIn unless the stored session is still
// signed in. Call it on every start before running the tgparse source: the
// fake does not know the session of an earlier start.
func (e *Env) SignInParser(ctx context.Context, login *tgparse.Login) (*tgparse.Self, error) {
	st, err := login.SendCode(ctx, e.ParserAccount)
	if err != nil {
		return nil, err
	}
	if st.Authorized {
		return st.Self, nil
	}
	code := e.LoginCode(e.ParserAccount.Phone)
	if code == "" {
		return nil, errors.New("demo: the MTProto fake sent no login code")
	}
	return login.SignIn(ctx, st, code)
}

// TelegramID returns the Telegram user id of p in its fake (the sender id
// of their messages), once the generator has created them.
func (e *Env) TelegramID(p Person) (int64, bool) {
	if p.Side == SideBot {
		return e.bot.userID(p.Index)
	}
	return e.tg.userID(p.Index)
}

// Close saves the state for the next start, including the bot updates the
// app did not fetch (stop the app's bot source first), and stops the fakes.
// It is safe to call more than once.
func (e *Env) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	err := errors.Join(e.save(true), e.amo.save())
	return errors.Join(err, e.shutdown())
}

// shutdown stops whatever Start started.
func (e *Env) shutdown() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if e.bot != nil {
		e.bot.srv.Close() // first: it ends the long polls the proxy serves
	}
	// A connection still busy at the deadline (a long poll of a client
	// that has not stopped yet) is closed: the state is saved already.
	shut := func(s *http.Server) error {
		if err := s.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			return s.Close()
		} else if err != nil {
			return err
		}
		return nil
	}
	if e.botHTTP != nil {
		errs = append(errs, shut(e.botHTTP))
	}
	if e.amoHTTP != nil {
		errs = append(errs, shut(e.amoHTTP))
	}
	if e.AmoCRM != nil {
		errs = append(errs, e.AmoCRM.Close())
	}
	if e.tg != nil {
		errs = append(errs, e.tg.close())
	}
	if e.tgCancel != nil {
		e.tgCancel()
	}
	return errors.Join(errs...)
}
