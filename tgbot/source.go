package tgbot

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// Mode is how a Source receives updates.
type Mode string

// Modes.
const (
	ModePolling Mode = "polling" // long polling with getUpdates
	ModeWebhook Mode = "webhook" // Telegram POSTs updates to WebhookHandler
)

// Defaults of Config.
const (
	DefaultPollTimeout  = 30 * time.Second
	DefaultMinBackoff   = time.Second
	DefaultMaxBackoff   = time.Minute
	DefaultMaxBodyBytes = MaxUpdateBytes
	DefaultDedupeSize   = 4096
	DefaultReplyWindow  = 24 * time.Hour
)

// SecretHeader is the header Telegram sets to the webhook's secret_token.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// AutoReply answers people who write to the bot privately, once per window
// per chat (for example "Спасибо, менеджер скоро ответит"). The reply is sent
// after the message is durable; a failure to send is logged and does not
// affect the message.
type AutoReply struct {
	// Text is the reply; "{name}" and "{first_name}" are replaced with the
	// sender's name. People whose Telegram language is not Russian (or
	// Ukrainian, Belarusian, Kazakh) get EN when it is set.
	Text chatter.Text
	// Window is how long after a reply the same chat gets no other. Defaults
	// to DefaultReplyWindow.
	Window time.Duration
}

// Config configures a Source. Zero fields take the documented defaults.
type Config struct {
	// Client talks to the Bot API. Required.
	Client *Client
	// Workspace is set on every message. Required.
	Workspace string
	// Mode defaults to ModePolling.
	Mode Mode

	// PollTimeout is the long-poll timeout (whole seconds). Defaults to
	// DefaultPollTimeout.
	PollTimeout time.Duration
	// PollLimit is the batch size, 1-100. Defaults to 100.
	PollLimit int
	// AllowedUpdates defaults to DefaultAllowedUpdates(), plus
	// UpdateCallbackQuery when OnCallbackQuery is set. Without
	// OnCallbackQuery, UpdateCallbackQuery is left out of any list: nobody
	// would answer the presses.
	AllowedUpdates []string

	// SecretToken is the webhook secret (1-256 of A-Z a-z 0-9 _ -). Required
	// in webhook mode: requests without it are refused with 401.
	SecretToken string
	// WebhookURL, when set in webhook mode, makes Run register the webhook
	// (setWebhook with SecretToken and AllowedUpdates) before serving.
	WebhookURL string
	// MaxBodyBytes limits a webhook request body. Defaults to 1 MiB.
	MaxBodyBytes int64
	// DedupeSize is how many recent update ids the webhook handler
	// remembers to drop redeliveries. Defaults to DefaultDedupeSize.
	DedupeSize int

	// AlbumWindow joins albums in polling mode: Telegram delivers an album
	// (several photos or files sent together) as one update per part,
	// sharing a media_group_id, and the Source hands them on as one
	// message with every part's attachments once AlbumWindow has passed
	// without a new part (see NormalizeAlbum). Buffered parts are not
	// acknowledged: the offset stays on the first of them until the album
	// is handled, so a crash reads them again. They are handed on when Run
	// stops, too. Defaults to DefaultAlbumWindow; negative hands every part
	// on by itself. In webhook mode parts are handed on one by one:
	// Telegram sends a chat's updates one at a time and waits for each
	// answer, which may be 200 only once the part is durable.
	AlbumWindow time.Duration

	// MinBackoff and MaxBackoff bound the waits after failures (network,
	// handler). Default to DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration

	// Registry receives membership changes; a new one is created when nil:
	// kept in Store when it is set, in memory otherwise.
	Registry *ChatRegistry
	// Store, when set (and Registry is not), keeps the chat registry in the
	// settings of Workspace (see NewStoredChatRegistry), so the bot still
	// knows which chats it is in, with which rights, after a restart. Run
	// loads it before receiving updates (retrying with backoff while the
	// store fails), and an update that changes it is acknowledged only
	// after the change is stored. A chatter.Store is a SettingsStore.
	Store chatter.SettingsStore
	// OnChatEvent, when set, is called for every membership change of the bot
	// (added, removed, promoted, restricted, blocked, migrated). It must not
	// block for long.
	OnChatEvent func(ctx context.Context, ev ChatEvent)
	// OnCallbackQuery, when set, receives presses on the inline keyboard
	// buttons of the bot's messages (for example "Принять заявку"), and
	// callback_query updates are asked for. After it returns nil the Source
	// answers the press (answerCallbackQuery) with the CallbackAnswer it
	// returned, which stops the button's spinner and shows the text, if any;
	// a failure to answer (Telegram accepts an answer for a short while
	// only) is logged. An error is treated like a Handler error: the update
	// is not acknowledged and comes again (polling: after a backoff;
	// webhook: Telegram retries), unless it is permanent (chatter.Permanent
	// or wrapping chatter.ErrInvalid), when it is logged, the press is
	// answered with nothing and the update acknowledged. Presses come again
	// after a crash as well, so the hook must tolerate a repeated query id.
	OnCallbackQuery func(ctx context.Context, q CallbackQuery) (CallbackAnswer, error)
	// Notifier, when set, is told when the bot is added to or removed from a
	// group or channel, or loses rights there. Failures are logged.
	Notifier chatter.Notifier
	// AutoReply, when set, answers private messages.
	AutoReply *AutoReply
	// OmitRaw leaves Message.Raw empty.
	OmitRaw bool

	// Logger receives diagnostics; nil is silent.
	Logger *slog.Logger
	// Clock returns the current time. Defaults to time.Now.
	Clock func() time.Time
}

func (c Config) withDefaults() Config {
	c.Mode = cmp.Or(c.Mode, ModePolling)
	c.PollTimeout = cmp.Or(c.PollTimeout, DefaultPollTimeout)
	c.PollLimit = cmp.Or(c.PollLimit, 100)
	if c.AllowedUpdates == nil {
		c.AllowedUpdates = DefaultAllowedUpdates()
		if c.OnCallbackQuery != nil {
			c.AllowedUpdates = append(c.AllowedUpdates, UpdateCallbackQuery)
		}
	} else if c.OnCallbackQuery == nil && slices.Contains(c.AllowedUpdates, UpdateCallbackQuery) {
		c.AllowedUpdates = slices.DeleteFunc(slices.Clone(c.AllowedUpdates), func(k string) bool { return k == UpdateCallbackQuery })
		if len(c.AllowedUpdates) == 0 {
			c.AllowedUpdates = nil // validate refuses it
		}
	}
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, DefaultMaxBodyBytes)
	c.DedupeSize = cmp.Or(c.DedupeSize, DefaultDedupeSize)
	c.AlbumWindow = cmp.Or(c.AlbumWindow, DefaultAlbumWindow)
	c.MinBackoff = cmp.Or(c.MinBackoff, DefaultMinBackoff)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, DefaultMaxBackoff)
	if c.Registry == nil && c.Store == nil {
		c.Registry = NewChatRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.AutoReply != nil {
		ar := *c.AutoReply
		ar.Window = cmp.Or(ar.Window, DefaultReplyWindow)
		c.AutoReply = &ar
	}
	return c
}

// validate checks c (after withDefaults); the error is a *ConfigError.
func (c Config) validate() error {
	switch {
	case c.Client == nil:
		return configErr("Config.Client", "не задан клиент Bot API", "the Bot API client is required")
	case c.Workspace == "":
		return configErr("Config.Workspace", "не задано рабочее пространство", "the workspace is required")
	case c.Mode != ModePolling && c.Mode != ModeWebhook:
		return configErr("Config.Mode", fmt.Sprintf("%q: нужен %q или %q", c.Mode, ModePolling, ModeWebhook),
			fmt.Sprintf("%q: want %q or %q", c.Mode, ModePolling, ModeWebhook))
	case c.PollTimeout < 0 || c.PollTimeout > 10*time.Minute:
		return configErr("Config.PollTimeout", fmt.Sprintf("%v: нужно от 0 до 10 минут", c.PollTimeout),
			fmt.Sprintf("%v: want 0-10m", c.PollTimeout))
	case c.PollLimit < 1 || c.PollLimit > 100:
		return configErr("Config.PollLimit", fmt.Sprintf("%d: нужно от 1 до 100", c.PollLimit),
			fmt.Sprintf("%d: want 1-100", c.PollLimit))
	case c.Mode == ModeWebhook && c.SecretToken == "":
		return configErr("Config.SecretToken", "обязателен в режиме вебхука", "is required in webhook mode")
	case c.SecretToken != "" && !validSecret(c.SecretToken):
		return configErr("Config.SecretToken", "нужно от 1 до 256 символов A-Z a-z 0-9 _ -",
			"must be 1-256 characters of A-Z a-z 0-9 _ -")
	case c.MaxBodyBytes < 1024:
		return configErr("Config.MaxBodyBytes", fmt.Sprintf("%d: нужно не меньше 1024", c.MaxBodyBytes),
			fmt.Sprintf("%d: want at least 1024", c.MaxBodyBytes))
	case c.Registry != nil && c.Store != nil:
		return configErr("Config.Store", "задан вместе с Config.Registry: у реестра из NewStoredChatRegistry уже есть хранилище",
			"is set together with Config.Registry: a registry from NewStoredChatRegistry already has its store")
	case c.AllowedUpdates == nil:
		return configErr("Config.AllowedUpdates", "запрошен только callback_query, но Config.OnCallbackQuery не задан",
			"asks only for callback_query, but Config.OnCallbackQuery is not set")
	case c.MinBackoff > c.MaxBackoff:
		return configErr("Config.MinBackoff", "больше MaxBackoff", "exceeds MaxBackoff")
	}
	return nil
}

func validSecret(s string) bool {
	if len(s) == 0 || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Source receives updates for one bot and hands each message to a
// chatter.Handler; it implements chatter.Source.
//
// Acknowledgement: in polling mode the getUpdates offset moves past an update
// only after Handle returned nil for it, so an update whose Handle failed is
// fetched again (after a backoff) and nothing is lost; in webhook mode the
// handler answers 200 only after Handle returned nil and 500 otherwise, so
// Telegram redelivers. Redeliveries are possible in both modes (for example
// after a crash): handlers dedupe by Message.Key, as chatter stores do.
// Album parts waiting for Config.AlbumWindow keep the offset on the first of
// them; updates after them that were handled meanwhile come again after a
// crash.
//
// Updates that are not messages (my_chat_member) update the ChatRegistry and
// raise ChatEvents; callback queries go to Config.OnCallbackQuery. Service
// messages are not handed to the handler.
type Source struct {
	cfg     Config
	client  *Client
	log     *slog.Logger
	running atomic.Bool
	handler atomic.Pointer[chatter.Handler]
	dedupe  *dedupe

	mu     sync.Mutex
	status SourceStatus

	replyMu sync.Mutex
	replied map[int64]time.Time
}

var _ chatter.Source = (*Source)(nil)

// SourceStatus is a Source's health, for checks and admin pages.
type SourceStatus struct {
	Mode        Mode      `json:"mode"`
	Running     bool      `json:"running"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	LastPollAt  time.Time `json:"last_poll_at,omitzero"`  // last successful getUpdates
	LastEventAt time.Time `json:"last_event_at,omitzero"` // last update handled
	Offset      int64     `json:"offset,omitempty"`       // polling: next offset
	Handled     int64     `json:"handled"`                // messages handed on successfully
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// NewSource validates cfg and returns a Source. It starts nothing.
func NewSource(cfg Config) (*Source, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Registry == nil {
		r, err := NewStoredChatRegistry(cfg.Store, cfg.Workspace, cfg.Client.BotID())
		if err != nil {
			return nil, err
		}
		cfg.Registry = r
	}
	return &Source{cfg: cfg, client: cfg.Client, log: cfg.Logger, dedupe: newDedupe(cfg.DedupeSize),
		status: SourceStatus{Mode: cfg.Mode}, replied: map[int64]time.Time{}}, nil
}

// Registry returns the chat registry the source keeps up to date.
func (s *Source) Registry() *ChatRegistry { return s.cfg.Registry }

// Mode returns the source's mode.
func (s *Source) Mode() Mode { return s.cfg.Mode }

// Status returns a snapshot of the source's health.
func (s *Source) Status() SourceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Running = s.running.Load()
	return st
}

func (s *Source) noteError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.LastError = err.Error()
	s.status.LastErrorAt = s.cfg.Clock()
}

// Run receives updates until ctx ends, then returns nil. In polling mode it
// long-polls getUpdates; in webhook mode it registers the webhook (when
// Config.WebhookURL is set) and makes WebhookHandler serve h until ctx ends.
// It returns a *PollingConflictError when polling is impossible because a
// webhook is set, and the *Error for a wrong token (401). Network errors and
// handler errors are retried with backoff. Run must not be called twice at
// the same time.
func (s *Source) Run(ctx context.Context, h chatter.Handler) error {
	if h == nil {
		return errors.New("tgbot: Source.Run: nil handler")
	}
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("tgbot: Source.Run: already running")
	}
	defer s.running.Store(false)
	s.mu.Lock()
	s.status.StartedAt = s.cfg.Clock()
	s.mu.Unlock()
	if !s.loadRegistry(ctx) {
		return nil
	}
	if s.cfg.Mode == ModeWebhook {
		return s.runWebhook(ctx, h)
	}
	return s.runPolling(ctx, h)
}

// loadRegistry loads a stored registry that is not loaded yet, retrying with
// backoff; it reports false when ctx ended first.
func (s *Source) loadRegistry(ctx context.Context) bool {
	for attempt := 1; !s.cfg.Registry.Loaded(); attempt++ {
		err := s.cfg.Registry.Load(ctx)
		if err == nil {
			s.log.Info("tgbot: chat registry loaded", "bot_id", s.client.BotID(), "chats", len(s.cfg.Registry.List()))
			break
		}
		if ctx.Err() != nil {
			return false
		}
		s.noteError(err)
		wait := backoff(attempt, s.cfg.MinBackoff, s.cfg.MaxBackoff)
		s.log.Warn("tgbot: cannot load the chat registry; retrying", "bot_id", s.client.BotID(), "attempt", attempt, "wait", wait, "error", err.Error())
		if sleep(ctx, wait) != nil {
			return false
		}
	}
	return true
}

func (s *Source) runWebhook(ctx context.Context, h chatter.Handler) error {
	if s.cfg.WebhookURL != "" {
		err := s.client.SetWebhook(ctx, &SetWebhookParams{URL: s.cfg.WebhookURL, SecretToken: s.cfg.SecretToken,
			AllowedUpdates: s.cfg.AllowedUpdates})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.noteError(err)
			return fmt.Errorf("tgbot: set webhook: %w", err)
		}
		s.log.Info("tgbot: webhook set", "bot_id", s.client.BotID())
	}
	s.handler.Store(&h)
	defer s.handler.Store(nil)
	<-ctx.Done()
	return nil
}

func (s *Source) runPolling(ctx context.Context, h chatter.Handler) error {
	var (
		// offset is the next getUpdates offset: every update before it
		// has been handed on. confirmed is the offset Telegram was last
		// given. seen is the last update id taken care of in this run:
		// handed on, or buffered as an album part. While an album is
		// buffered, offset stays on its first part (a crash reads it
		// again) and updates up to seen, fetched again, are skipped.
		offset, confirmed, seen int64
	)
	albums := newAlbumBuffer(s.cfg.AlbumWindow)
	netFailures, handlerFailures := 0, 0
	advance := func() {
		if seen > 0 && seen >= offset {
			offset = seen + 1
		}
		if first := albums.firstUpdateID(); first != 0 && first < offset {
			offset = first
		}
		s.mu.Lock()
		s.status.Offset = offset
		s.mu.Unlock()
	}
	defer func() {
		// Hand on the albums being collected, then confirm what was
		// handled so a restart does not fetch it again.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for _, a := range albums.due(time.Now(), true) {
			if err := s.processAlbum(sctx, h, a); err != nil {
				s.noteError(err)
				s.log.Warn("tgbot: album not handed on at shutdown; it will be fetched again", "bot_id", s.client.BotID(),
					"update_id", a.firstUpdateID(), "error", err.Error())
				continue
			}
			albums.remove(a)
		}
		advance()
		if offset > confirmed {
			_, _ = s.client.GetUpdates(sctx, &GetUpdatesParams{Offset: offset, Limit: 1})
		}
	}()
	// failed logs a handler failure and waits; it reports false when ctx
	// ended meanwhile.
	failed := func(err error, updateID int64) bool {
		handlerFailures++
		s.noteError(err)
		wait, ok := chatter.RetryAfter(err)
		if !ok {
			wait = backoff(handlerFailures, s.cfg.MinBackoff, s.cfg.MaxBackoff)
		}
		s.log.Warn("tgbot: handler failed; the update will be fetched again", "bot_id", s.client.BotID(),
			"update_id", updateID, "attempt", handlerFailures, "wait", wait, "error", err.Error())
		return sleep(ctx, wait) == nil
	}
	s.log.Info("tgbot: polling started", "bot_id", s.client.BotID())
	for {
		if ctx.Err() != nil {
			return nil
		}
		timeout := int(s.cfg.PollTimeout / time.Second)
		if albums.len() > 0 {
			// Telegram answers at once while the offset stays on a
			// buffered part: poll at a slower pace until an album is due.
			if wait := min(time.Until(albums.nextDue()), albumPollStep); wait > 0 && sleep(ctx, wait) != nil {
				return nil
			}
			timeout = 0
		}
		ups, err := s.client.GetUpdates(ctx, &GetUpdatesParams{Offset: offset, Limit: s.cfg.PollLimit,
			Timeout: timeout, AllowedUpdates: s.cfg.AllowedUpdates})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.noteError(err)
			var apiErr *Error
			if errors.As(err, &apiErr) {
				if apiErr.WebhookActive() {
					cause, remedy := apiErr.Problem()
					s.log.Error("tgbot: polling impossible: a webhook is set", "bot_id", s.client.BotID())
					return &PollingConflictError{Err: apiErr, Cause: cause, Remedy: remedy}
				}
				if apiErr.Unauthorized() || apiErr.Code == 404 {
					s.log.Error("tgbot: token rejected", "bot_id", s.client.BotID(), "code", apiErr.Code)
					return err
				}
			}
			netFailures++
			wait, ok := chatter.RetryAfter(err)
			if !ok {
				wait = backoff(netFailures, s.cfg.MinBackoff, s.cfg.MaxBackoff)
			}
			s.log.Warn("tgbot: getUpdates failed", "bot_id", s.client.BotID(), "attempt", netFailures, "wait", wait, "error", err.Error())
			if sleep(ctx, wait) != nil {
				return nil
			}
			continue
		}
		confirmed = offset
		netFailures = 0
		s.mu.Lock()
		s.status.LastPollAt = s.cfg.Clock()
		s.mu.Unlock()
		ok := true
		for _, u := range ups {
			if u.UpdateID <= seen {
				continue // taken care of; fetched again behind a buffered album
			}
			if err := s.take(ctx, h, albums, u); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				ok = false
				if !failed(err, u.UpdateID) {
					return nil
				}
				break
			}
			seen = u.UpdateID
		}
		if ok {
			for _, a := range albums.due(time.Now(), false) {
				if err := s.processAlbum(ctx, h, a); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					ok = false
					if !failed(err, a.firstUpdateID()) {
						return nil
					}
					break
				}
				albums.remove(a)
			}
		}
		advance()
		if ok {
			handlerFailures = 0
		}
	}
}

// take handles one polled update: it buffers an album part, or hands the
// update on after the albums it ends. A nil error means it is taken care of.
func (s *Source) take(ctx context.Context, h chatter.Handler, albums *albumBuffer, u *Update) error {
	// Telegram delivers the parts of an album one after the other: another
	// message from the chat ends the chat's albums, which go first, so the
	// chat's order is kept.
	for _, a := range albums.endedBy(u) {
		if err := s.processAlbum(ctx, h, a); err != nil {
			return err
		}
		albums.remove(a)
	}
	if albums.add(u, time.Now()) {
		return nil
	}
	return s.process(ctx, h, u)
}

// process handles one update. A nil error means it may be acknowledged.
func (s *Source) process(ctx context.Context, h chatter.Handler, u *Update) error {
	s.mu.Lock()
	s.status.LastEventAt = s.cfg.Clock()
	s.mu.Unlock()
	if u.MyChatMember != nil {
		ev := s.cfg.Registry.ApplyMemberUpdate(u.MyChatMember)
		if err := s.cfg.Registry.Save(ctx); err != nil {
			return err // applied again when the update comes again
		}
		s.chatEvent(ctx, ev)
		return nil
	}
	if u.CallbackQuery != nil {
		return s.callbackQuery(ctx, u.UpdateID, u.CallbackQuery)
	}
	msg, _ := u.AnyMessage()
	if msg == nil {
		return nil // other updates are not messages for the pipeline
	}
	ev := s.cfg.Registry.ObserveMessage(msg)
	if err := s.cfg.Registry.Save(ctx); err != nil {
		return err
	}
	if ev != nil {
		s.chatEvent(ctx, *ev)
	}
	m, err := Normalize(u, s.normalizeOptions())
	return s.handOn(ctx, h, u, msg, m, err)
}

func (s *Source) normalizeOptions() NormalizeOptions {
	return NormalizeOptions{Workspace: s.cfg.Workspace, BotID: s.client.BotID(), OmitRaw: s.cfg.OmitRaw}
}

// processAlbum hands on the buffered parts of an album as one message. A nil
// error means every part may be acknowledged.
func (s *Source) processAlbum(ctx context.Context, h chatter.Handler, a *album) error {
	s.mu.Lock()
	s.status.LastEventAt = s.cfg.Clock()
	s.mu.Unlock()
	var evs []ChatEvent
	for _, u := range a.parts {
		msg, _ := u.AnyMessage()
		if ev := s.cfg.Registry.ObserveMessage(msg); ev != nil {
			evs = append(evs, *ev)
		}
	}
	if err := s.cfg.Registry.Save(ctx); err != nil {
		return err
	}
	for _, ev := range evs {
		s.chatEvent(ctx, ev)
	}
	m, err := NormalizeAlbum(a.parts, s.normalizeOptions())
	first := a.parts[0]
	for _, u := range a.parts[1:] {
		if u.UpdateID < first.UpdateID {
			first = u
		}
	}
	msg, _ := first.AnyMessage()
	return s.handOn(ctx, h, first, msg, m, err)
}

// handOn gives the handler m, normalised from u (whose message is msg) with
// err. A nil error means the update may be acknowledged.
func (s *Source) handOn(ctx context.Context, h chatter.Handler, u *Update, msg *Message, m *chatter.Message, err error) error {
	if err != nil {
		// It can never become valid. The handler gets it anyway: a
		// chatter.Pipeline records it on the ledger as rejected, with the
		// reason and the raw update, and returns nil. A handler that
		// refuses it (ErrInvalid) or a message that could not be built
		// leaves only this log line; either way the update is
		// acknowledged rather than block every update behind it.
		if m != nil {
			herr := h.Handle(ctx, m)
			switch {
			case herr == nil:
				s.log.Warn("tgbot: update refused as invalid; recorded by the handler", "bot_id", s.client.BotID(),
					"update_id", u.UpdateID, "message_key", m.Key.String(), "error", err.Error())
				return nil
			case !errors.Is(herr, chatter.ErrInvalid):
				return fmt.Errorf("tgbot: handle refused update %d: %w", u.UpdateID, herr)
			}
		}
		s.log.Error("tgbot: update cannot be normalised; skipped", "bot_id", s.client.BotID(), "update_id", u.UpdateID, "error", err.Error())
		return nil
	}
	if m == nil {
		return nil
	}
	if err := h.Handle(ctx, m); err != nil {
		return fmt.Errorf("tgbot: handle %s: %w", m.Key, err)
	}
	s.mu.Lock()
	s.status.Handled++
	s.mu.Unlock()
	if s.cfg.AutoReply != nil && msg.Chat.Type == "private" && u.Message != nil && msg.From != nil && !msg.From.IsBot {
		s.autoReply(ctx, msg)
	}
	return nil
}

// CallbackAnswer is the answer to a button press (answerCallbackQuery).
// The zero answer only stops the button's spinner.
type CallbackAnswer struct {
	// Text, when set, is shown to the user (at most 200 characters), as a
	// notification at the top of the chat or, with ShowAlert, as an alert.
	Text      string
	ShowAlert bool
}

// callbackQuery runs Config.OnCallbackQuery and answers the press. A nil
// error means the update may be acknowledged.
func (s *Source) callbackQuery(ctx context.Context, updateID int64, q *CallbackQuery) error {
	if s.cfg.OnCallbackQuery == nil {
		// Not asked for; a webhook or poller set up earlier may still
		// deliver them.
		return nil
	}
	ans, err := s.cfg.OnCallbackQuery(ctx, *q)
	if err != nil {
		if !chatter.IsPermanent(err) && !errors.Is(err, chatter.ErrInvalid) {
			return fmt.Errorf("tgbot: callback query %s: %w", q.ID, err)
		}
		s.log.Error("tgbot: callback query refused; answered with nothing", "bot_id", s.client.BotID(),
			"update_id", updateID, "from_id", q.From.ID, "error", err.Error())
		ans = CallbackAnswer{}
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.client.AnswerCallbackQuery(actx, q.ID, ans.Text, ans.ShowAlert); err != nil {
		s.log.Warn("tgbot: answer callback query failed", "bot_id", s.client.BotID(), "update_id", updateID, "error", err.Error())
	}
	return nil
}

func (s *Source) chatEvent(ctx context.Context, ev ChatEvent) {
	s.log.Info("tgbot: chat membership changed", "bot_id", s.client.BotID(), "chat_id", ev.Chat.ID,
		"chat_type", ev.Chat.Type, "event", string(ev.Kind), "status", ev.New.Status, "migrated_to", ev.MigratedTo)
	if s.cfg.OnChatEvent != nil {
		s.cfg.OnChatEvent(ctx, ev)
	}
	if s.cfg.Notifier == nil || ev.Chat.Type == "private" {
		return
	}
	n := ChatEventNotification(s.cfg.Workspace, ev)
	if n == nil {
		return
	}
	nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.cfg.Notifier.Notify(nctx, n); err != nil {
		s.log.Warn("tgbot: notify chat event failed", "chat_id", ev.Chat.ID, "event", string(ev.Kind), "error", err.Error())
	}
}

// ChatEventNotification builds the operator notification for a membership
// change in a group or channel, or nil when the change needs no attention.
func ChatEventNotification(workspace string, ev ChatEvent) *chatter.Notification {
	title := ev.Chat.Title
	if title == "" {
		title = strconv.FormatInt(ev.Chat.ID, 10)
	}
	n := &chatter.Notification{Workspace: workspace, Time: ev.Time,
		Fields: map[string]string{"chat_id": strconv.FormatInt(ev.Chat.ID, 10), "event": string(ev.Kind)}}
	switch ev.Kind {
	case ChatAdded, ChatPromoted:
		n.Type, n.Severity = chatter.NotifySourceUp, chatter.SeverityInfo
		n.Title = chatter.T("Бот добавлен в чат «"+title+"»", "The bot was added to “"+title+"”")
		if ev.Kind == ChatPromoted {
			n.Title = chatter.T("Бот стал администратором чата «"+title+"»", "The bot became an administrator of “"+title+"”")
		}
		n.Body = chatter.T("Сообщения из этого чата будут поступать в CRM.", "Messages from this chat will reach the CRM.")
	case ChatRemoved:
		n.Type, n.Severity = chatter.NotifySourceDown, chatter.SeverityWarning
		n.Title = chatter.T("Бот удалён из чата «"+title+"»", "The bot was removed from “"+title+"”")
		n.Body = chatter.T("Сообщения из этого чата больше не поступают в CRM. Добавьте бота в чат снова (лучше администратором).",
			"Messages from this chat no longer reach the CRM. Add the bot to the chat again (preferably as an administrator).")
	case ChatRestricted, ChatDemoted:
		n.Type, n.Severity = chatter.NotifySourceDown, chatter.SeverityWarning
		n.Title = chatter.T("Права бота в чате «"+title+"» ограничены", "The bot's rights in “"+title+"” were reduced")
		n.Body = chatter.T("Бот может перестать видеть сообщения. Сделайте бота администратором или отключите режим приватности в @BotFather (/setprivacy).",
			"The bot may stop seeing messages. Make it an administrator or disable privacy mode in @BotFather (/setprivacy).")
	case ChatMigrated:
		n.Type, n.Severity = chatter.NotifySourceDown, chatter.SeverityWarning
		n.Title = chatter.T("Группа «"+title+"» стала супергруппой", "The group “"+title+"” became a supergroup")
		n.Body = chatter.T(fmt.Sprintf("Новый идентификатор чата: %d. Обновите его в настройках.", ev.MigratedTo),
			fmt.Sprintf("The new chat id is %d. Update it in the settings.", ev.MigratedTo))
		n.Fields["migrated_to"] = strconv.FormatInt(ev.MigratedTo, 10)
	default:
		return nil
	}
	return n
}

func (s *Source) autoReply(ctx context.Context, msg *Message) {
	ar := s.cfg.AutoReply
	now := s.cfg.Clock()
	s.replyMu.Lock()
	if last, ok := s.replied[msg.Chat.ID]; ok && now.Sub(last) < ar.Window {
		s.replyMu.Unlock()
		return
	}
	if len(s.replied) >= 10000 {
		for id, at := range s.replied {
			if now.Sub(at) >= ar.Window {
				delete(s.replied, id)
			}
		}
	}
	s.replied[msg.Chat.ID] = now // reserve; undone on failure
	s.replyMu.Unlock()

	lang := "en"
	switch lc := strings.ToLower(msg.From.LanguageCode); {
	case lc == "", strings.HasPrefix(lc, "ru"), strings.HasPrefix(lc, "uk"), strings.HasPrefix(lc, "be"), strings.HasPrefix(lc, "kk"):
		lang = "ru"
	}
	name := strings.TrimSpace(msg.From.FirstName + " " + msg.From.LastName)
	text := strings.NewReplacer("{name}", name, "{first_name}", msg.From.FirstName).Replace(ar.Text.In(lang))
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.client.SendMessage(sctx, &SendMessageParams{ChatID: msg.Chat.ID, Text: text}); err != nil {
		s.replyMu.Lock()
		delete(s.replied, msg.Chat.ID)
		s.replyMu.Unlock()
		s.log.Warn("tgbot: auto-reply failed", "chat_id", msg.Chat.ID, "error", err.Error())
	}
}

// WebhookHandler returns the http.Handler Telegram posts updates to. It
// checks the secret token in constant time (401 on mismatch), accepts only
// POST (405), limits the body to Config.MaxBodyBytes (413), rejects bodies
// that are not updates (400), answers 200 for an update id it has already
// handled, and otherwise hands the update to the running Source: 200 after
// the handler made the message durable, 500 when it failed (Telegram
// retries), 503 while Run is not running. It is safe for concurrent use.
func (s *Source) WebhookHandler() http.Handler {
	return http.HandlerFunc(s.serveWebhook)
}

func (s *Source) serveWebhook(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	got := r.Header.Get(SecretHeader)
	if subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.SecretToken)) != 1 || s.cfg.SecretToken == "" {
		s.log.Warn("tgbot: webhook request with a wrong secret token", "remote_addr", r.RemoteAddr)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	hp := s.handler.Load()
	if hp == nil {
		http.Error(w, "not running", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.log.Warn("tgbot: webhook body too large", "limit", s.cfg.MaxBodyBytes)
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	u, err := DecodeUpdate(body)
	if err != nil {
		s.log.Warn("tgbot: webhook body is not an update", "error", err.Error())
		http.Error(w, "bad update", http.StatusBadRequest)
		return
	}
	if s.dedupe.seen(u.UpdateID) {
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := s.process(r.Context(), *hp, u); err != nil {
		s.noteError(err)
		s.log.Warn("tgbot: webhook update not handled; Telegram will retry", "update_id", u.UpdateID, "error", err.Error())
		http.Error(w, "not handled", http.StatusInternalServerError)
		return
	}
	s.dedupe.add(u.UpdateID)
	w.WriteHeader(http.StatusOK)
}

// dedupe remembers the last n update ids (a ring plus a set).
type dedupe struct {
	mu   sync.Mutex
	ring []int64
	next int
	set  map[int64]struct{}
}

func newDedupe(n int) *dedupe {
	return &dedupe{ring: make([]int64, n), set: make(map[int64]struct{}, n)}
}

func (d *dedupe) seen(id int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.set[id]
	return ok
}

func (d *dedupe) add(id int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.set[id]; ok {
		return
	}
	if old := d.ring[d.next]; old != 0 {
		delete(d.set, old)
	}
	d.ring[d.next] = id
	d.set[id] = struct{}{}
	d.next = (d.next + 1) % len(d.ring)
}
