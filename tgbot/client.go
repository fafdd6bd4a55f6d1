package tgbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"
	"golang.org/x/time/rate"
)

// DefaultBaseURL is the Bot API server.
const DefaultBaseURL = "https://api.telegram.org"

// Defaults of the client.
const (
	DefaultMaxAttempts   = 3                // attempts per call, for the retries described on Client
	DefaultMaxRetryWait  = 30 * time.Second // longer retry_after waits are returned to the caller
	DefaultCallTimeout   = 30 * time.Second // per call, except the long poll
	maxResponseBodyBytes = 32 << 20
)

// RateLimits are the client's outgoing limits for message sending methods.
// They follow Telegram's Bot FAQ: about 30 messages per second per bot, 1 per
// second per chat, 20 per minute per group or channel. A zero Limit uses the
// default; rate.Inf disables that limit.
type RateLimits struct {
	Global        rate.Limit // default 30/s
	GlobalBurst   int        // default 30
	PerChat       rate.Limit // default 1/s
	PerChatBurst  int        // default 1
	PerGroup      rate.Limit // groups and channels (negative chat ids); default 20/min
	PerGroupBurst int        // default 1
}

func (l RateLimits) withDefaults() RateLimits {
	if l.Global == 0 {
		l.Global = 30
	}
	if l.GlobalBurst <= 0 {
		l.GlobalBurst = 30
	}
	if l.PerChat == 0 {
		l.PerChat = 1
	}
	if l.PerChatBurst <= 0 {
		l.PerChatBurst = 1
	}
	if l.PerGroup == 0 {
		l.PerGroup = rate.Every(3 * time.Second)
	}
	if l.PerGroupBurst <= 0 {
		l.PerGroupBurst = 1
	}
	return l
}

// NoRateLimits disables the client's outgoing limits (for tests against a
// fake server).
func NoRateLimits() RateLimits {
	return RateLimits{Global: rate.Inf, PerChat: rate.Inf, PerGroup: rate.Inf}
}

// Option configures a Client.
type Option func(*options) error

type options struct {
	baseURL      string
	httpClient   *http.Client
	logger       *slog.Logger
	limits       RateLimits
	maxAttempts  int
	maxRetryWait time.Duration
}

// WithBaseURL sets the Bot API server, for example a local telegram-bot-api
// server or tgbottest's URL. Defaults to DefaultBaseURL.
func WithBaseURL(u string) Option {
	return func(o *options) error {
		u = strings.TrimRight(u, "/")
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return fmt.Errorf("tgbot: base URL %q must start with http:// or https://", u)
		}
		o.baseURL = u
		return nil
	}
}

// WithHTTPClient sets the HTTP client (proxies, TLS, transports). Its
// Timeout, if set, must exceed the long-poll timeout.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("tgbot: nil HTTP client")
		}
		o.httpClient = c
		return nil
	}
}

// WithLogger sets the logger; nil is silent. The token is never logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { o.logger = l; return nil }
}

// WithRateLimits sets the outgoing limits.
func WithRateLimits(l RateLimits) Option {
	return func(o *options) error { o.limits = l; return nil }
}

// WithRetry sets the attempts per call (≥1) and the longest retry_after the
// client waits for by itself; longer waits come back as *RateLimitError.
func WithRetry(attempts int, maxWait time.Duration) Option {
	return func(o *options) error {
		if attempts < 1 {
			return fmt.Errorf("tgbot: retry attempts %d < 1", attempts)
		}
		o.maxAttempts, o.maxRetryWait = attempts, maxWait
		return nil
	}
}

// Client is a Bot API client. It is safe for concurrent use.
//
// Every call is a POST with a JSON body. Errors: *Error for API errors
// (*RateLimitError for 429), *TransportError when the server could not be
// reached or answered something that is not the Bot API, or ctx's error.
//
// Retries: a 429 whose retry_after is at most the retry wait limit is waited
// out (on ctx) and retried for every method — Telegram rejected the request,
// so nothing was applied. Network errors and 5xx answers are retried with
// backoff only for idempotent methods (get*, setWebhook, deleteWebhook);
// sendMessage and answerCallbackQuery are never re-sent after an ambiguous
// failure. sendMessage passes the rate limits first.
type Client struct {
	token  string
	botID  int64
	base   string
	r      *resty.Client
	log    *slog.Logger
	limits RateLimits
	global *rate.Limiter

	maxAttempts  int
	maxRetryWait time.Duration

	mu    sync.Mutex
	chats map[int64]*chatLimiter
}

type chatLimiter struct {
	chat, group *rate.Limiter
	used        time.Time
}

// NewClient returns a client for the bot with token ("123456:ABC…").
func NewClient(token string, opts ...Option) (*Client, error) {
	idPart, secret, found := strings.Cut(token, ":")
	id, err := strconv.ParseInt(idPart, 10, 64)
	if !found || err != nil || id <= 0 || secret == "" || strings.ContainsAny(token, "/ ?#") {
		return nil, errors.New("tgbot: malformed bot token: want <bot id>:<secret> as issued by @BotFather")
	}
	o := options{baseURL: DefaultBaseURL, maxAttempts: DefaultMaxAttempts, maxRetryWait: DefaultMaxRetryWait}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.httpClient == nil {
		o.httpClient = &http.Client{}
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	r := resty.NewWithClient(o.httpClient).
		SetLogger(nopLogger{}).
		SetDebug(false).
		SetDisableWarn(true).
		SetResponseBodyLimit(maxResponseBodyBytes).
		SetHeader("Content-Type", "application/json").
		SetHeader("Accept", "application/json")
	limits := o.limits.withDefaults()
	return &Client{
		token: token, botID: id, base: o.baseURL, r: r, log: o.logger, limits: limits,
		global:      rate.NewLimiter(limits.Global, limits.GlobalBurst),
		maxAttempts: o.maxAttempts, maxRetryWait: o.maxRetryWait,
		chats: map[int64]*chatLimiter{},
	}, nil
}

type nopLogger struct{}

func (nopLogger) Errorf(string, ...any) {}
func (nopLogger) Warnf(string, ...any)  {}
func (nopLogger) Debugf(string, ...any) {}

// BotID returns the bot's user id (the token's prefix).
func (c *Client) BotID() int64 { return c.botID }

// String describes the client without its token.
func (c *Client) String() string {
	return fmt.Sprintf("tgbot.Client{bot_id: %d, base: %s}", c.botID, c.base)
}

func isIdempotent(method string) bool {
	m := strings.ToLower(method)
	return strings.HasPrefix(m, "get") || m == "setwebhook" || m == "deletewebhook"
}

type envelope struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// Do calls any Bot API method with params (marshalled to JSON; nil for none)
// and decodes the result into result (nil to discard). Use it for methods
// without a typed wrapper. Methods whose names start with "get" are treated as
// idempotent.
func (c *Client) Do(ctx context.Context, method string, params, result any) error {
	return c.call(ctx, method, params, result, 0)
}

func (c *Client) call(ctx context.Context, method string, params, result any, timeout time.Duration) error {
	body := []byte("{}")
	if params != nil {
		var err error
		if body, err = json.Marshal(params); err != nil {
			return fmt.Errorf("tgbot: %s: encode params: %w", method, err)
		}
	}
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	idem := isIdempotent(method)
	u := c.base + "/bot" + c.token + "/" + method
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, method, u, body, result, timeout)
		if err == nil || attempt >= c.maxAttempts || ctx.Err() != nil {
			return err
		}
		var wait time.Duration
		var rl *RateLimitError
		var apiErr *Error
		var te *TransportError
		switch {
		case errors.As(err, &rl):
			wait = rl.RetryAfter()
			if wait > c.maxRetryWait {
				return err
			}
		case idem && errors.As(err, &apiErr) && apiErr.Code >= 500:
			wait = backoff(attempt, 500*time.Millisecond, 10*time.Second)
		case idem && errors.As(err, &te):
			wait = backoff(attempt, 500*time.Millisecond, 10*time.Second)
		default:
			return err
		}
		c.log.Debug("tgbot: retrying call", "method", method, "attempt", attempt, "wait", wait, "error", err.Error())
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func (c *Client) once(ctx context.Context, method, u string, body []byte, result any, timeout time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	resp, err := c.r.R().SetContext(cctx).SetBody(body).Post(u)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err = redactErr(err, c.token)
		c.log.Debug("tgbot: call failed", "method", method, "duration", time.Since(start), "error", err.Error())
		return &TransportError{Method: method, Err: err}
	}
	status := resp.StatusCode()
	c.log.Debug("tgbot: call", "method", method, "status", status, "duration", time.Since(start))
	var env envelope
	if err := json.Unmarshal(resp.Body(), &env); err != nil || (!env.OK && env.ErrorCode == 0) {
		if status >= 500 {
			return &Error{Method: method, Code: status, Description: http.StatusText(status)}
		}
		return &TransportError{Method: method, Status: status}
	}
	if !env.OK {
		e := &Error{Method: method, Code: env.ErrorCode, Description: env.Description}
		if p := env.Parameters; p != nil {
			e.RetryAfterSeconds, e.MigrateToChatID = p.RetryAfter, p.MigrateToChatID
		}
		if e.Code == 429 {
			return &RateLimitError{Err: e}
		}
		return e
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(env.Result, result); err != nil {
		return &TransportError{Method: method, Status: status, Err: fmt.Errorf("decode result: %w", err)}
	}
	return nil
}

// GetMe returns the bot itself; it is the token check.
func (c *Client) GetMe(ctx context.Context) (*User, error) {
	var u User
	if err := c.call(ctx, "getMe", nil, &u, 0); err != nil {
		return nil, err
	}
	return &u, nil
}

// GetUpdatesParams are the parameters of getUpdates.
type GetUpdatesParams struct {
	// Offset confirms every update with a smaller id; 0 starts from the
	// oldest unconfirmed update.
	Offset int64 `json:"offset,omitempty"`
	// Limit is 1-100; 0 means 100.
	Limit int `json:"limit,omitempty"`
	// Timeout is the long-poll timeout in seconds; 0 is short polling.
	Timeout int `json:"timeout,omitempty"`
	// AllowedUpdates selects update types; nil keeps the previous setting.
	AllowedUpdates []string `json:"allowed_updates,omitempty"`
}

// GetUpdates long-polls for updates. Each returned Update has Raw set.
func (c *Client) GetUpdates(ctx context.Context, p *GetUpdatesParams) ([]*Update, error) {
	if p == nil {
		p = &GetUpdatesParams{}
	}
	var raws []json.RawMessage
	timeout := time.Duration(p.Timeout)*time.Second + DefaultCallTimeout
	if err := c.call(ctx, "getUpdates", p, &raws, timeout); err != nil {
		return nil, err
	}
	out := make([]*Update, 0, len(raws))
	for _, raw := range raws {
		u, err := DecodeUpdate(raw)
		if err != nil {
			return nil, &TransportError{Method: "getUpdates", Status: 200, Err: err}
		}
		out = append(out, u)
	}
	return out, nil
}

// SetWebhookParams are the parameters of setWebhook.
type SetWebhookParams struct {
	URL                string   `json:"url"`
	SecretToken        string   `json:"secret_token,omitempty"`
	AllowedUpdates     []string `json:"allowed_updates,omitempty"`
	DropPendingUpdates bool     `json:"drop_pending_updates,omitempty"`
	MaxConnections     int      `json:"max_connections,omitempty"`
	IPAddress          string   `json:"ip_address,omitempty"`
}

// SetWebhook sets the webhook.
func (c *Client) SetWebhook(ctx context.Context, p *SetWebhookParams) error {
	return c.call(ctx, "setWebhook", p, nil, 0)
}

// DeleteWebhook removes the webhook, optionally dropping pending updates.
func (c *Client) DeleteWebhook(ctx context.Context, dropPending bool) error {
	return c.call(ctx, "deleteWebhook", map[string]bool{"drop_pending_updates": dropPending}, nil, 0)
}

// GetWebhookInfo returns the webhook's state (URL empty when polling).
func (c *Client) GetWebhookInfo(ctx context.Context) (*WebhookInfo, error) {
	var w WebhookInfo
	if err := c.call(ctx, "getWebhookInfo", nil, &w, 0); err != nil {
		return nil, err
	}
	return &w, nil
}

// GetChat returns up-to-date information about a chat.
func (c *Client) GetChat(ctx context.Context, chatID int64) (*Chat, error) {
	var ch Chat
	if err := c.call(ctx, "getChat", map[string]int64{"chat_id": chatID}, &ch, 0); err != nil {
		return nil, err
	}
	return &ch, nil
}

// GetChatMember returns a member of a chat (use BotID for the bot itself).
func (c *Client) GetChatMember(ctx context.Context, chatID, userID int64) (*ChatMember, error) {
	var m ChatMember
	if err := c.call(ctx, "getChatMember", map[string]int64{"chat_id": chatID, "user_id": userID}, &m, 0); err != nil {
		return nil, err
	}
	return &m, nil
}

// GetChatAdministrators returns the chat's administrators (bots excluded
// unless the caller is one of them).
func (c *Client) GetChatAdministrators(ctx context.Context, chatID int64) ([]ChatMember, error) {
	var ms []ChatMember
	if err := c.call(ctx, "getChatAdministrators", map[string]int64{"chat_id": chatID}, &ms, 0); err != nil {
		return nil, err
	}
	return ms, nil
}

// SendMessageParams are the parameters of sendMessage.
type SendMessageParams struct {
	ChatID              int64           `json:"chat_id"`
	Text                string          `json:"text"`
	ParseMode           string          `json:"parse_mode,omitempty"` // "HTML", "MarkdownV2" or ""
	ReplyToMessageID    int64           `json:"-"`
	DisableNotification bool            `json:"disable_notification,omitempty"`
	DisablePreview      bool            `json:"-"`
	ReplyMarkup         json.RawMessage `json:"reply_markup,omitempty"`
}

// SendMessage sends a text message after waiting for the rate limits.
func (c *Client) SendMessage(ctx context.Context, p *SendMessageParams) (*Message, error) {
	if err := c.wait(ctx, p.ChatID); err != nil {
		return nil, err
	}
	type replyParams struct {
		MessageID                int64 `json:"message_id"`
		AllowSendingWithoutReply bool  `json:"allow_sending_without_reply"`
	}
	type linkPreview struct {
		IsDisabled bool `json:"is_disabled"`
	}
	body := struct {
		*SendMessageParams
		ReplyParameters    *replyParams `json:"reply_parameters,omitempty"`
		LinkPreviewOptions *linkPreview `json:"link_preview_options,omitempty"`
	}{SendMessageParams: p}
	if p.ReplyToMessageID != 0 {
		body.ReplyParameters = &replyParams{MessageID: p.ReplyToMessageID, AllowSendingWithoutReply: true}
	}
	if p.DisablePreview {
		body.LinkPreviewOptions = &linkPreview{IsDisabled: true}
	}
	var m Message
	if err := c.call(ctx, "sendMessage", body, &m, 0); err != nil {
		return nil, err
	}
	return &m, nil
}

// AnswerCallbackQuery answers a button press; text (optional) is shown to the user.
func (c *Client) AnswerCallbackQuery(ctx context.Context, queryID, text string, showAlert bool) error {
	p := map[string]any{"callback_query_id": queryID}
	if text != "" {
		p["text"] = text
	}
	if showAlert {
		p["show_alert"] = true
	}
	return c.call(ctx, "answerCallbackQuery", p, nil, 0)
}

// wait blocks until the global, per-chat and (for groups) per-group limits
// allow one more message to chatID.
func (c *Client) wait(ctx context.Context, chatID int64) error {
	if err := c.global.Wait(ctx); err != nil {
		return fmt.Errorf("tgbot: rate limit: %w", err)
	}
	c.mu.Lock()
	now := time.Now()
	cl := c.chats[chatID]
	if cl == nil {
		if len(c.chats) >= 4096 {
			for id, l := range c.chats {
				if now.Sub(l.used) > 2*time.Minute {
					delete(c.chats, id)
				}
			}
		}
		cl = &chatLimiter{chat: rate.NewLimiter(c.limits.PerChat, c.limits.PerChatBurst)}
		if chatID < 0 {
			cl.group = rate.NewLimiter(c.limits.PerGroup, c.limits.PerGroupBurst)
		}
		c.chats[chatID] = cl
	}
	cl.used = now
	c.mu.Unlock()
	if err := cl.chat.Wait(ctx); err != nil {
		return fmt.Errorf("tgbot: rate limit: %w", err)
	}
	if cl.group != nil {
		if err := cl.group.Wait(ctx); err != nil {
			return fmt.Errorf("tgbot: rate limit: %w", err)
		}
	}
	return nil
}
