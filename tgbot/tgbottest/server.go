package tgbottest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// ChatType is the type of a fake chat.
type ChatType string

// Chat types, as the Bot API names them.
const (
	ChatPrivate    ChatType = "private"
	ChatGroup      ChatType = "group"
	ChatSupergroup ChatType = "supergroup"
	ChatChannel    ChatType = "channel"
)

// Member statuses, as the Bot API names them.
const (
	StatusCreator       = "creator"
	StatusAdministrator = "administrator"
	StatusMember        = "member"
	StatusRestricted    = "restricted"
	StatusLeft          = "left"
	StatusKicked        = "kicked"
)

// Defaults of the webhook delivery loop.
const (
	DefaultWebhookRetryBase = time.Second
	DefaultWebhookRetryMax  = 60 * time.Second
	DefaultWebhookAttempts  = 10
)

// Option configures a Server.
type Option func(*Server)

// WithClock sets the clock used for message dates and error dates. Long-poll
// timeouts and webhook retries use real time.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithLogger sets a logger for the server's own diagnostics (requests, webhook
// deliveries). Tokens are never logged. nil is silent.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithWebhookRetry sets how failed webhook deliveries are retried: the delay
// starts at base and doubles up to maxDelay; after attempts failures in a row
// the update is dropped, as Telegram gives up after "a reasonable amount of
// attempts". Zero values keep the defaults.
func WithWebhookRetry(base, maxDelay time.Duration, attempts int) Option {
	return func(s *Server) {
		if base > 0 {
			s.retryBase = base
		}
		if maxDelay > 0 {
			s.retryMax = maxDelay
		}
		if attempts > 0 {
			s.retryAttempts = attempts
		}
	}
}

// WithWebhookClient sets the HTTP client that delivers webhook requests.
func WithWebhookClient(c *http.Client) Option { return func(s *Server) { s.httpc = c } }

// Server is a fake Telegram Bot API server. It speaks the real HTTP API at
// /bot<token>/<method> and keeps bots, users, chats, memberships and pending
// updates in memory. Test code drives it with helpers (UserWrites,
// AddBotToChat, MigrateToSupergroup, …) that produce the updates Telegram
// would produce.
//
// A Server is an http.Handler. All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the server ("http://127.0.0.1:port") when it was
	// started by NewServer; pass it to the client as the API base URL.
	URL string

	now           func() time.Time
	log           *slog.Logger
	httpc         *http.Client
	retryBase     time.Duration
	retryMax      time.Duration
	retryAttempts int

	mu        sync.Mutex
	bots      map[string]*Bot // by token
	botsByID  map[int64]*Bot
	users     map[int64]*User
	chats     map[int64]*Chat // groups, supergroups, channels
	privates  map[[2]int64]*Chat
	usernames map[string]*Chat // public chats, lower case
	seq       int64
	sent      []SentMessage
	kick      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	runMu     sync.Mutex
	runCancel context.CancelFunc
	runDone   chan struct{}
	httpSrv   *httptest.Server
}

// New returns a Server without a listener; use it as an http.Handler and call
// Run (or Start) to deliver webhooks. It starts no goroutines.
func New(opts ...Option) *Server {
	s := &Server{
		now:           time.Now,
		retryBase:     DefaultWebhookRetryBase,
		retryMax:      DefaultWebhookRetryMax,
		retryAttempts: DefaultWebhookAttempts,
		bots:          map[string]*Bot{},
		botsByID:      map[int64]*Bot{},
		users:         map[int64]*User{},
		chats:         map[int64]*Chat{},
		privates:      map[[2]int64]*Chat{},
		usernames:     map[string]*Chat{},
		kick:          make(chan struct{}, 1),
		done:          make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	if s.httpc == nil {
		s.httpc = &http.Client{Timeout: 30 * time.Second}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// NewServer starts a Server on a loopback httptest listener, starts its
// webhook delivery loop, and closes both when tb's test ends.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := New(opts...)
	s.httpSrv = httptest.NewServer(s)
	s.URL = s.httpSrv.URL
	s.Start()
	tb.Cleanup(s.Close)
	return s
}

// Start runs the webhook delivery loop in a background goroutine until Close.
// Calling Start twice has no effect.
func (s *Server) Start() {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.runCancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.runCancel = cancel
	s.runDone = make(chan struct{})
	go func() {
		defer close(s.runDone)
		_ = s.Run(ctx)
	}()
}

// Close stops the delivery loop, wakes every blocked long poll, and shuts
// down the listener started by NewServer. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.runMu.Lock()
		if s.runCancel != nil {
			s.runCancel()
			<-s.runDone
		}
		s.runMu.Unlock()
		if s.httpSrv != nil {
			s.httpSrv.Close()
		}
	})
}

// newID returns the next id from the server-wide sequence.
func (s *Server) newID() int64 { s.seq++; return s.seq }

func randomString(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// AddBot registers a bot and returns its token. Privacy mode is on, as for a
// bot fresh from @BotFather.
func (s *Server) AddBot(username string) (token string, bot *Bot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := 7_000_000_000 + s.newID()
	token = fmt.Sprintf("%d:AA%s", id, randomString(33))
	u := &User{ID: id, IsBot: true, FirstName: username, Username: username}
	bot = &Bot{srv: s, user: u, token: token, privacy: true, canJoinGroups: true,
		notify: make(chan struct{}), injected: map[string][]APIError{},
		callbacks: map[string]bool{}, blockedBy: map[int64]bool{}}
	s.bots[token] = bot
	s.botsByID[id] = bot
	s.users[id] = u
	return token, bot
}

// AddUser registers a person. username may be empty. Set other exported
// fields (LastName, LanguageCode) before the user does anything.
func (s *Server) AddUser(username, firstName string) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &User{ID: 100_000_000 + s.newID(), FirstName: firstName, Username: username, LanguageCode: "ru"}
	s.users[u.ID] = u
	return u
}

// AddChat creates a group, supergroup or channel with creator as its owner.
// username makes the chat public (@username); it is ignored for basic groups.
func (s *Server) AddChat(typ ChatType, title, username string, creator *User) *Chat {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addChatLocked(typ, title, username, creator)
}

func (s *Server) addChatLocked(typ ChatType, title, username string, creator *User) *Chat {
	var id int64
	switch typ {
	case ChatGroup:
		id = -4_000_000_000 - s.newID()
		username = ""
	case ChatSupergroup, ChatChannel:
		id = -1_002_000_000_000 - s.newID()
	default:
		panic("tgbottest: AddChat: use PrivateChat for private chats")
	}
	c := &Chat{srv: s, ID: id, Type: typ, Title: title, Username: username, members: map[int64]*member{}, msgs: map[int64]*Message{}}
	if creator != nil {
		c.members[creator.ID] = &member{user: creator, status: StatusCreator}
	}
	s.chats[id] = c
	if username != "" {
		s.usernames[strings.ToLower(username)] = c
	}
	return c
}

// PrivateChat returns the private chat between user and bot, creating it as if
// the user had pressed Start.
func (s *Server) PrivateChat(user *User, bot *Bot) *Chat {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.privateLocked(user, bot)
}

func (s *Server) privateLocked(user *User, bot *Bot) *Chat {
	k := [2]int64{bot.user.ID, user.ID}
	if c := s.privates[k]; c != nil {
		return c
	}
	c := &Chat{srv: s, ID: user.ID, Type: ChatPrivate, Username: user.Username, user: user, bot: bot,
		msgs: map[int64]*Message{},
		members: map[int64]*member{
			user.ID:     {user: user, status: StatusMember},
			bot.user.ID: {user: bot.user, status: StatusMember},
		}}
	s.privates[k] = c
	return c
}

// Join makes user a member of chat.
func (s *Server) Join(chat *Chat, user *User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	chat.members[user.ID] = &member{user: user, status: StatusMember}
}

// Sent returns every message sent by every bot through sendMessage, oldest first.
func (s *Server) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMessage(nil), s.sent...)
}

// Bot is a bot registered on the fake server.
type Bot struct {
	srv           *Server
	user          *User
	token         string
	privacy       bool
	canJoinGroups bool
	revoked       bool

	updates      []*Update // pending, ascending update_id
	nextUpdateID int64
	allowed      []string // nil: the default set
	notify       chan struct{}
	pollGen      uint64
	webhook      *webhook
	injected     map[string][]APIError
	sent         []SentMessage
	callbacks    map[string]bool
	answers      []CallbackAnswer
	blockedBy    map[int64]bool
	calls        map[string]int
}

type webhook struct {
	url            string
	secret         string
	maxConnections int
	nextAttempt    time.Time
	attempts       int
	inflight       bool
	lastErrorDate  int64
	lastErrorMsg   string
}

// ID returns the bot's user id.
func (b *Bot) ID() int64 { return b.user.ID }

// Username returns the bot's username.
func (b *Bot) Username() string { return b.user.Username }

// Token returns the bot's token.
func (b *Bot) Token() string {
	b.srv.mu.Lock()
	defer b.srv.mu.Unlock()
	return b.token
}

// User returns the bot as a User.
func (b *Bot) User() *User { return b.user }

// SetPrivacy turns privacy mode on or off, as /setprivacy in @BotFather does.
// With privacy on, the bot sees in groups only commands, replies to it and
// mentions of it, unless it is an administrator.
func (b *Bot) SetPrivacy(on bool) {
	b.srv.mu.Lock()
	defer b.srv.mu.Unlock()
	b.privacy = on
}

// RevokeToken makes the current token invalid (401 Unauthorized) and returns a
// new one, as /revoke in @BotFather does.
func (b *Bot) RevokeToken() string {
	s := b.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.bots, b.token)
	b.token = fmt.Sprintf("%d:AA%s", b.user.ID, randomString(33))
	s.bots[b.token] = b
	return b.token
}

// APIError is an error answer of the Bot API.
type APIError struct {
	Code            int
	Description     string
	RetryAfter      int   // seconds; sets parameters.retry_after
	MigrateToChatID int64 // sets parameters.migrate_to_chat_id
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Description) }

// FloodWait returns the 429 answer Telegram gives when a bot sends too fast.
func FloodWait(seconds int) APIError {
	return APIError{Code: 429, Description: fmt.Sprintf("Too Many Requests: retry after %d", seconds), RetryAfter: seconds}
}

// InjectError makes the next call of method (for example "sendMessage") fail
// with e. Injected errors queue up: n calls fail if InjectError is called n
// times. Method names are case-insensitive.
func (b *Bot) InjectError(method string, e APIError) {
	b.srv.mu.Lock()
	defer b.srv.mu.Unlock()
	m := strings.ToLower(method)
	b.injected[m] = append(b.injected[m], e)
}

// Calls returns how many times method was called with the bot's token
// (including failed calls).
func (b *Bot) Calls(method string) int {
	b.srv.mu.Lock()
	defer b.srv.mu.Unlock()
	return b.calls[strings.ToLower(method)]
}

// Sent returns the messages the bot sent, oldest first.
func (b *Bot) Sent() []SentMessage {
	b.srv.mu.Lock()
	defer b.srv.mu.Unlock()
	return append([]SentMessage(nil), b.sent...)
}

// CallbackAnswers returns the bot's answerCallbackQuery calls, oldest first.
func (b *Bot) CallbackAnswers() []CallbackAnswer {
	b.srv.mu.Lock()
	defer b.srv.mu.Unlock()
	return append([]CallbackAnswer(nil), b.answers...)
}

// Pending returns how many updates wait for the bot (not yet confirmed by
// getUpdates or delivered to its webhook).
func (b *Bot) Pending() int {
	b.srv.mu.Lock()
	defer b.srv.mu.Unlock()
	return len(b.updates)
}

// AllowedUpdates returns the update types the bot last asked for with
// getUpdates or setWebhook (nil: never set, Telegram's default set).
func (b *Bot) AllowedUpdates() []string {
	b.srv.mu.Lock()
	defer b.srv.mu.Unlock()
	return append([]string(nil), b.allowed...)
}

// WebhookURL returns the bot's webhook URL, or "" when none is set.
func (b *Bot) WebhookURL() string {
	b.srv.mu.Lock()
	defer b.srv.mu.Unlock()
	if b.webhook == nil {
		return ""
	}
	return b.webhook.url
}

// SentMessage is a message sent by a bot with sendMessage.
type SentMessage struct {
	BotID            int64
	ChatID           int64
	MessageID        int64
	Text             string // as users see it: markup removed, entities decoded
	RawText          string // the text parameter as sent
	ParseMode        string
	ReplyToMessageID int64
	ReplyMarkup      json.RawMessage
	Date             time.Time
}

// CallbackAnswer is one answerCallbackQuery call.
type CallbackAnswer struct {
	QueryID   string
	Text      string
	ShowAlert bool
}

// Chat is a fake chat.
type Chat struct {
	srv      *Server
	ID       int64
	Type     ChatType
	Title    string
	Username string

	user       *User // private chats: the person
	bot        *Bot  // private chats: the bot
	members    map[int64]*member
	msgs       map[int64]*Message // every message of the chat by id, incoming and sent; deleted ones removed
	nextMsg    int64
	migratedTo int64
	lastBot    int64
}

type member struct {
	user      *User
	status    string
	rights    Rights
	untilDate int64
}

func (c *Chat) wire() chatWire {
	w := chatWire{ID: c.ID, Type: string(c.Type), Title: c.Title, Username: c.Username}
	if c.Type == ChatPrivate {
		w.Title = ""
		w.FirstName, w.LastName = c.user.FirstName, c.user.LastName
	}
	return w
}

// MemberStatus returns the status of user in the chat ("left" when unknown).
func (c *Chat) MemberStatus(user *User) string {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if m := c.members[user.ID]; m != nil {
		return m.status
	}
	return StatusLeft
}

// storeLocked keeps m as the chat's message with its id, so that later
// messages can reply to it.
func (c *Chat) storeLocked(m *Message) { c.msgs[m.MessageID] = m }

// Message returns the chat's message with id as Telegram keeps it (the last
// edit), or nil when there is none or it was deleted.
func (c *Chat) Message(id int64) *Message {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	m := c.msgs[id]
	if m == nil {
		return nil
	}
	cp := *m
	return &cp
}

// MigratedTo returns the id of the supergroup this group was upgraded to, or 0.
func (c *Chat) MigratedTo() int64 {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	return c.migratedTo
}

// enqueueLocked appends an update for b if b's allowed_updates accept it.
func (s *Server) enqueueLocked(b *Bot, u Update) {
	kind := u.kind()
	if !allowedKind(b.allowed, kind) {
		return
	}
	if b.nextUpdateID == 0 {
		b.nextUpdateID = 1
	}
	u.UpdateID = b.nextUpdateID
	b.nextUpdateID++
	b.updates = append(b.updates, &u)
	close(b.notify)
	b.notify = make(chan struct{})
	s.kickLoop()
}

func (s *Server) kickLoop() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// defaultAllowed is the set Telegram delivers when allowed_updates was never set.
func allowedKind(allowed []string, kind string) bool {
	if len(allowed) == 0 {
		switch kind {
		case "chat_member", "message_reaction", "message_reaction_count":
			return false
		}
		return true
	}
	for _, a := range allowed {
		if a == kind {
			return true
		}
	}
	return false
}
