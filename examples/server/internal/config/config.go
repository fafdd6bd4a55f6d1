package config

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/fieldmap"
)

// Config is the whole configuration of the server: the YAML file, the
// environment and the flags, merged (see the package documentation for the
// precedence). The yaml tags are the file's keys; the json tags give the form
// the server keeps in its store (a Workspace is stored as JSON).
//
// Struct tags used by the loader besides yaml and json:
//
//	secret:"true"  the value is a secret: Redacted hides it, Secrets lists it,
//	               and the key also accepts a <key>_file sibling (and the
//	               variable <VAR>_FILE)
//	secret:"url"   a URL whose password (and pass, password, secret, token
//	               query parameters) are secret
//	file:"no"      no <key>_file sibling (the key has a file key of its own)
//	env:"lines"    a list given in one variable one item per line (not
//	               comma-separated)
type Config struct {
	// DataDir holds the SQLite database, the sealing key and other state.
	// Default "./chatter-data" (flag -data, CHATTER_DATA_DIR). A relative
	// path is relative to the working directory.
	DataDir string `yaml:"data_dir" json:"data_dir,omitempty"`
	// Instance names this server process across its restarts (letters,
	// digits, '.', '_', '-'; at most 64), distinct from every other
	// process on the same store: after a crash its restart takes back at
	// once the deliveries it left running and the leases it held (bots'
	// pollers, people's deliveries), and other instances take a dead
	// one's work over within seconds. Default: kept in <data_dir>/instance,
	// made at the first start. Set it (CHATTER_INSTANCE, e.g. a
	// StatefulSet pod's name) when the data directory does not survive a
	// restart.
	Instance string `yaml:"instance" json:"instance,omitempty"`
	// Log configures the process log.
	Log Log `yaml:"log" json:"log,omitzero"`
	// Store is where messages, the delivery ledger and settings live.
	Store Store `yaml:"store" json:"store,omitzero"`
	// HTTP configures the admin UI, the webhook endpoints and /metrics.
	HTTP HTTP `yaml:"http" json:"http,omitzero"`
	// Delivery tunes the delivery workers shared by all workspaces.
	Delivery Delivery `yaml:"delivery" json:"delivery,omitzero"`
	// Auth tunes the admin UI's accounts: lockout, password policy,
	// sessions and reset links.
	Auth Auth `yaml:"auth" json:"auth,omitzero"`
	// Notify holds the server-wide settings of the workspaces'
	// notifications (the routes themselves are per workspace).
	Notify Notify `yaml:"notify" json:"notify,omitzero"`
	// Workspaces are the tenants: one amoCRM account each, with its bots,
	// parser accounts, mapping, keywords and notifications.
	Workspaces []Workspace `yaml:"workspaces" json:"workspaces,omitempty"`

	// meta records where each value came from (file line, variable, flag).
	meta *meta
}

// Log configures the process log (stderr).
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level" json:"level,omitempty"`
	// Format is text (default) or json.
	Format string `yaml:"format" json:"format,omitempty"`
}

// Store selects the store: PostgreSQL when Postgres.URL is set, else the
// SQLite file.
type Store struct {
	SQLite   SQLite   `yaml:"sqlite" json:"sqlite,omitzero"`
	Postgres Postgres `yaml:"postgres" json:"postgres,omitzero"`
	// SealingKey is the key (32 bytes: 64 hex digits, or base64) that seals
	// OAuth tokens and Telegram sessions at rest. When empty the key is read
	// from SealingKeyFile, which is generated on first start.
	SealingKey string `yaml:"sealing_key" json:"sealing_key,omitempty" secret:"true" file:"no"`
	// SealingKeyFile holds the key when SealingKey is empty. Default
	// "sealing.key"; a relative path is relative to DataDir. Back it up:
	// without it the sealed tokens and sessions cannot be opened.
	SealingKeyFile string `yaml:"sealing_key_file" json:"sealing_key_file,omitempty"`
}

// SQLite is the embedded store (one process).
type SQLite struct {
	// Path of the database file. Default "chatter.db"; a relative path is
	// relative to DataDir.
	Path string `yaml:"path" json:"path,omitempty"`
}

// Postgres is the store for several instances.
type Postgres struct {
	// URL is a postgres:// connection URL. Setting it selects PostgreSQL.
	URL string `yaml:"url" json:"url,omitempty" secret:"url"`
	// Schema holds the tables (empty: the connection's search_path).
	Schema string `yaml:"schema" json:"schema,omitempty"`
}

// HTTP configures the server's listener.
type HTTP struct {
	// Addr is the listen address. Default "127.0.0.1:8080" (flag -addr,
	// CHATTER_HTTP_ADDR).
	Addr string `yaml:"addr" json:"addr,omitempty"`
	// PublicURL is the address Telegram, amoCRM and browsers reach the
	// server at (https://chatter.example.com). Needed for webhooks and OAuth.
	PublicURL string `yaml:"public_url" json:"public_url,omitempty"`
	// TrustedProxies are the networks (CIDR or single addresses) of reverse
	// proxies whose X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies []string `yaml:"trusted_proxies" json:"trusted_proxies,omitempty"`
	// MaxBodyBytes limits request bodies. Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes" json:"max_body_bytes,omitempty"`
	// Metrics guards /metrics.
	Metrics Metrics `yaml:"metrics" json:"metrics,omitzero"`
}

// Metrics configures the Prometheus endpoint /metrics (and the diagnostics
// API). A request is served when it comes from one of AllowedNetworks, or
// carries the BasicAuth credentials (when a username is set). With an empty
// list and no credentials only loopback is served.
type Metrics struct {
	// Enabled serves /metrics. Default true.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// AllowedNetworks default to the loopback networks 127.0.0.0/8 and
	// ::1/128. Set [] to let in only requests with the credentials.
	AllowedNetworks []string `yaml:"allowed_networks" json:"allowed_networks,omitempty"`
	// BasicAuth, when its username is set, lets in requests from anywhere
	// that carry these credentials.
	BasicAuth BasicAuth `yaml:"basic_auth" json:"basic_auth,omitzero"`
}

// BasicAuth is a user name and password for HTTP basic authentication.
type BasicAuth struct {
	Username string `yaml:"username" json:"username,omitempty"`
	Password string `yaml:"password" json:"password,omitempty" secret:"true"`
}

// Notify holds the server-wide settings of notifications.
type Notify struct {
	Webhook NotifyWebhook `yaml:"webhook" json:"webhook,omitzero"`
}

// NotifyWebhook guards the workspaces' webhook notifications.
type NotifyWebhook struct {
	// AllowPrivate lets webhooks reach addresses that are not public:
	// loopback, private networks, link-local (cloud metadata services),
	// CGNAT and other reserved ones (webhooknotify.Config.AllowPrivate).
	// Default false: a workspace admin cannot point a webhook URL at the
	// server's internal services (SSRF). For tests, the demo and a receiver
	// on the server's own host or network.
	AllowPrivate bool `yaml:"allow_private" json:"allow_private,omitempty"`
}

// Auth tunes the admin UI's sign-in (package auth's Config).
type Auth struct {
	// MaxFailures failed logins within LockFor lock the account for
	// LockFor. Default 5.
	MaxFailures int `yaml:"max_failures" json:"max_failures,omitempty"`
	// LockFor is how long a lockout lasts. Default 15m.
	LockFor Duration `yaml:"lock_for" json:"lock_for,omitempty"`
	// MinPasswordLength is the shortest password accepted. Default 10.
	MinPasswordLength int `yaml:"min_password_length" json:"min_password_length,omitempty"`
	// PasswordMaxAge makes passwords expire this long after they were set
	// (the next login leads to the change form). 0 (default): never.
	PasswordMaxAge Duration `yaml:"password_max_age" json:"password_max_age,omitempty"`
	// SessionIdle ends a session not used for this long. Default 12h.
	SessionIdle Duration `yaml:"session_idle" json:"session_idle,omitempty"`
	// SessionMaxAge ends a session this long after login. Default 30d.
	SessionMaxAge Duration `yaml:"session_max_age" json:"session_max_age,omitempty"`
	// ResetTTL is how long a password-reset link works. Default 1h.
	ResetTTL Duration `yaml:"reset_ttl" json:"reset_ttl,omitempty"`
	// Timezone shows times (locked until, access ends on) in this zone
	// (IANA name, e.g. Europe/Moscow). Default: the server's local zone.
	Timezone string `yaml:"timezone" json:"timezone,omitempty"`
}

// Delivery tunes the delivery of stored messages to amoCRM.
type Delivery struct {
	// Workers is the number of deliveries run at once. Default 4.
	Workers int `yaml:"workers" json:"workers,omitempty"`
	// JobTimeout bounds one delivery attempt. Default 2m.
	JobTimeout Duration `yaml:"job_timeout" json:"job_timeout,omitempty"`
	// MaxAttempts caps the attempts of a delivery as well; 0 (the SDK's
	// default, chatter.DefaultMaxAttempts) leaves MaxAge alone to decide.
	// Waits asked for by amoCRM (429) and snoozes do not count.
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts,omitempty"`
	// BackoffBase and BackoffMax bound the exponential wait after a failed
	// attempt. Defaults 2s and 10m.
	BackoffBase Duration `yaml:"backoff_base" json:"backoff_base,omitempty"`
	BackoffMax  Duration `yaml:"backoff_max" json:"backoff_max,omitempty"`
	// MaxAge is the retry budget: a delivery still failing this long after
	// the message arrived (or was replayed) goes dead and is notified as
	// delivery_failed; time spent snoozed (an expired token, a rate limit)
	// does not count. Default 24h.
	MaxAge Duration `yaml:"max_age" json:"max_age,omitempty"`
	// BatchSize, above 1, lets concurrent deliveries share one amoCRM
	// request (at most 50 leads). Default 0: every lead alone.
	BatchSize int `yaml:"batch_size" json:"batch_size,omitempty"`
	// BatchWait is how long the first lead of a batch waits for more.
	// Default 150ms when batching is on.
	BatchWait Duration `yaml:"batch_wait" json:"batch_wait,omitempty"`
}

// Workspace is one tenant: one amoCRM account and everything that feeds it.
// Its JSON form is what the server keeps in its store; after Load, the
// mapping and keyword files are read into Mapping.Inline and Keywords.Rules,
// so the JSON form is self-contained.
type Workspace struct {
	// ID names the workspace in the store and in variables: a lower-case
	// letter, then lower-case letters, digits, '-' or '_' (at most 63).
	// It must never change.
	ID string `yaml:"id" json:"id"`
	// Name is shown in the UI. Defaults to ID.
	Name          string        `yaml:"name" json:"name,omitempty"`
	AmoCRM        AmoCRM        `yaml:"amocrm" json:"amocrm,omitzero"`
	Mapping       Mapping       `yaml:"mapping" json:"mapping,omitzero"`
	Keywords      Keywords      `yaml:"keywords" json:"keywords,omitzero"`
	Bots          []Bot         `yaml:"bots" json:"bots,omitempty"`
	Parser        Parser        `yaml:"parser" json:"parser,omitzero"`
	Notifications Notifications `yaml:"notifications" json:"notifications,omitzero"`
}

// Lookup policies of AmoCRM.Lookup.
const (
	LookupCRM   = "crm"
	LookupStore = "store"
)

// AmoCRM is the workspace's amoCRM account: where it is (Subdomain, or
// BaseURL, or both: BaseURL then only redirects the requests and Subdomain
// still names the account) and how to authenticate (LongLivedToken or
// OAuth, exactly one).
type AmoCRM struct {
	// Subdomain is the account: "example" (example.amocrm.ru) or a full host
	// such as "example.kommo.com".
	Subdomain string `yaml:"subdomain" json:"subdomain,omitempty"`
	// BaseURL sends the API calls elsewhere: a fake (go run
	// ./examples/amocrm-fake serves http://127.0.0.1:8787) or a proxy. With
	// Subdomain set too, the subdomain names the account (its stored token
	// and request budget); alone, the URL's host does.
	BaseURL string `yaml:"base_url" json:"base_url,omitempty"`
	// LongLivedToken is the token of a private integration (amoCRM →
	// Settings → Integrations → Keys and access).
	LongLivedToken string `yaml:"long_lived_token" json:"long_lived_token,omitempty" secret:"true"`
	// OAuth is an external integration; the tokens are obtained through the
	// admin UI and kept sealed in the store.
	OAuth OAuth `yaml:"oauth" json:"oauth,omitzero"`
	// MarkerField is the lead text field that receives the key of the
	// message that created the lead (how a retried delivery finds the lead
	// of an earlier ambiguous attempt): a field name, created when missing,
	// or a field id. Default "Chatter ID".
	MarkerField FieldRef `yaml:"marker_field" json:"marker_field,omitempty"`
	// ContactTelegramIDField and ContactUsernameField are contact text
	// fields (name or id) holding the Telegram user id and username, the keys
	// people are recognised by. Optional; the id field is strongly
	// recommended.
	ContactTelegramIDField FieldRef `yaml:"contact_telegram_id_field" json:"contact_telegram_id_field,omitempty"`
	ContactUsernameField   FieldRef `yaml:"contact_username_field" json:"contact_username_field,omitempty"`
	// Lookup is how a person the store does not know yet is looked up: crm
	// (default: search amoCRM by Telegram id, username, phone) or store (no
	// search; faster, may duplicate contacts created by hand).
	Lookup string `yaml:"lookup" json:"lookup,omitempty"`
	// ThreadWindow is how long after a person's last message their open
	// lead still takes new messages as notes. Default 168h (7 days).
	ThreadWindow Duration `yaml:"thread_window" json:"thread_window,omitempty"`
	// Webhooks subscribes the account's webhooks to the server (needs
	// http.public_url), so lead changes in amoCRM reach the server at once.
	Webhooks bool `yaml:"webhooks" json:"webhooks,omitempty"`
}

// OAuth is an amoCRM external integration.
type OAuth struct {
	ClientID     string `yaml:"client_id" json:"client_id,omitempty"`
	ClientSecret string `yaml:"client_secret" json:"client_secret,omitempty" secret:"true"`
	// RedirectURL must equal the one registered with the integration.
	RedirectURL string `yaml:"redirect_url" json:"redirect_url,omitempty"`
	// AuthURL is the consent page. Default amoCRM's (www.amocrm.ru/oauth).
	AuthURL string `yaml:"auth_url" json:"auth_url,omitempty"`
}

// IsZero reports whether no OAuth key is set.
func (o OAuth) IsZero() bool { return o == OAuth{} }

// FieldRef names an amoCRM custom field by its name or by its id (digits).
type FieldRef string

// ID returns the field id when the reference is a number.
func (f FieldRef) ID() (int, bool) {
	s := strings.TrimSpace(string(f))
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// Name returns the field name when the reference is not a number.
func (f FieldRef) Name() string {
	if _, ok := f.ID(); ok {
		return ""
	}
	return strings.TrimSpace(string(f))
}

// Mapping is the field mapping: a fieldmap spec (see package fieldmap),
// written inline or in a file (exactly one).
type Mapping struct {
	// File is a YAML or JSON spec file. Relative to the config file's
	// directory; Load reads it into Inline and keeps the resolved path here.
	File string `yaml:"file" json:"file,omitempty"`
	// Inline is the spec itself.
	Inline *fieldmap.Spec `yaml:"inline" json:"inline,omitempty"`
}

// Keywords are the rules that decide which messages become leads (see
// package chatter/keyword for the syntax). No rules: every message counts.
type Keywords struct {
	// Rules, one expression each.
	Rules []string `yaml:"rules" json:"rules,omitempty" env:"lines"`
	// File holds rules one per line ('#' starts a comment line). Relative
	// to the config file's directory; Load reads it into Rules.
	File string `yaml:"file" json:"file,omitempty"`
	// FoldLookalikes folds Latin look-alike letters inside Cyrillic words
	// ("рeмонт" with a Latin e), a common trick to dodge filters.
	FoldLookalikes bool `yaml:"fold_lookalikes" json:"fold_lookalikes,omitempty"`
	// ApplyTo is parser (default: the rules filter the parsed chats, and
	// every message written to a bot counts) or all (bot messages too).
	ApplyTo string `yaml:"apply_to" json:"apply_to,omitempty"`
}

// Values of Keywords.ApplyTo.
const (
	ApplyToParser = "parser"
	ApplyToAll    = "all"
)

// Bot modes.
const (
	ModePolling = "polling"
	ModeWebhook = "webhook"
)

// Bot is a Telegram bot of the workspace.
type Bot struct {
	// ID names the bot in the workspace (same rule as Workspace.ID).
	ID string `yaml:"id" json:"id"`
	// Token from @BotFather: <bot id>:<35 characters>.
	Token string `yaml:"token" json:"token,omitempty" secret:"true"`
	// Mode is polling (default) or webhook (needs http.public_url).
	Mode string `yaml:"mode" json:"mode,omitempty"`
	// WebhookSecret is checked on every webhook request (1-256 of A-Z a-z
	// 0-9 _ -). Empty in webhook mode: the server generates one, keeps it
	// sealed in its store (every instance uses the same) and registers it
	// with setWebhook.
	WebhookSecret string `yaml:"webhook_secret" json:"webhook_secret,omitempty" secret:"true"`
	// APIURL is the Bot API server. Default https://api.telegram.org; a local
	// Bot API server or the fake (go run ./examples/tgbot-fake serves
	// http://127.0.0.1:8081).
	APIURL string `yaml:"api_url" json:"api_url,omitempty"`
	// AllowedUpdates are the update kinds asked for. Default: message,
	// edited_message, channel_post, edited_channel_post, my_chat_member
	// (tgbot.DefaultAllowedUpdates; callback_query only with a handler).
	AllowedUpdates []string `yaml:"allowed_updates" json:"allowed_updates,omitempty"`
	// Disabled keeps the bot in the configuration without running it.
	Disabled bool `yaml:"disabled" json:"disabled,omitempty"`
}

// Parser reads Telegram groups and channels with user accounts (MTProto).
// The chats are shared by the accounts: each chat is read by one account at
// a time, and moves to another when its account fails.
type Parser struct {
	Accounts []ParserAccount `yaml:"accounts" json:"accounts,omitempty"`
	Chats    []ParserChat    `yaml:"chats" json:"chats,omitempty"`
	// Depth is the history read on the first visit of a chat (chats may
	// override it). Default: none, the chat is followed from now on.
	Depth Depth `yaml:"depth" json:"depth,omitzero"`
	// PollInterval is how often chats are read when no live update
	// arrives. Default 1m.
	PollInterval Duration `yaml:"poll_interval" json:"poll_interval,omitempty"`
	// MaxChatsPerAccount caps the chats one account reads. Default 50.
	MaxChatsPerAccount int `yaml:"max_chats_per_account" json:"max_chats_per_account,omitempty"`
	// Server points the accounts at a Telegram other than production:
	// Telegram's test DCs or an MTProto test server. Empty: production.
	Server MTProtoServer `yaml:"server" json:"server,omitzero"`
}

// ParserAccount is a Telegram user account. The server signs it in through
// the admin UI (code, then the 2FA password); the session is kept sealed.
type ParserAccount struct {
	// ID names the account (same rule as Workspace.ID).
	ID string `yaml:"id" json:"id"`
	// APIID and APIHash are the application's credentials from
	// my.telegram.org.
	APIID   int    `yaml:"api_id" json:"api_id,omitempty"`
	APIHash string `yaml:"api_hash" json:"api_hash,omitempty" secret:"true"`
	// Phone in international format, +79991234567.
	Phone string `yaml:"phone" json:"phone,omitempty" secret:"true"`
	// Proxy: socks5://[user:password@]host:port, mtproxy://host:port?secret=HEX
	// or a tg://proxy, tg://socks or t.me/proxy link. Empty: direct.
	Proxy string `yaml:"proxy" json:"proxy,omitempty" secret:"url"`
	// Disabled keeps the account in the configuration without running it.
	Disabled bool `yaml:"disabled" json:"disabled,omitempty"`
}

// ParserChat is a chat the parser reads.
type ParserChat struct {
	// Chat as people write it: @name, a t.me link, an invite link
	// (t.me/+hash) or a chat id (-1001234567890).
	Chat string `yaml:"chat" json:"chat"`
	// Depth overrides Parser.Depth for this chat when set.
	Depth Depth `yaml:"depth" json:"depth,omitzero"`
	// Join lets the account join the chat (needed for private chats).
	Join bool `yaml:"join" json:"join,omitempty"`
}

// Depth bounds the history read on the first visit of a chat. Both bounds
// apply when both are set.
type Depth struct {
	// Count is the most messages read.
	Count int `yaml:"count" json:"count,omitempty"`
	// Since skips older messages: a date (2025-01-31), a time (RFC 3339) or
	// a duration before the first read (720h, 30d).
	Since string `yaml:"since" json:"since,omitempty"`
}

// IsZero reports whether the depth reads no history.
func (d Depth) IsZero() bool { return d.Count == 0 && d.Since == "" }

// MTProtoServer is a Telegram other than production.
type MTProtoServer struct {
	// DC is the data centre number to connect to (the test server uses 2).
	DC int `yaml:"dc" json:"dc,omitempty"`
	// Address is host:port of that DC.
	Address string `yaml:"address" json:"address,omitempty"`
	// PublicKeyFile is the server's RSA public key (PEM). A relative path
	// in the file is relative to the file's directory; Load resolves it, so
	// after Load the path is ready to open. Empty: Telegram's keys.
	PublicKeyFile string `yaml:"public_key_file" json:"public_key_file,omitempty"`
}

// IsZero reports whether no server key is set (production Telegram).
func (s MTProtoServer) IsZero() bool { return s == MTProtoServer{} }

// SMTP security modes.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
	TLSNone     = "none"
)

// Notifications tell people about new leads and problems. Events are the
// SDK's chatter.NotificationType values (new_lead, delivery_failed,
// source_down, token_expired, ...; NotificationTypes lists them); an empty
// list means every event.
type Notifications struct {
	SMTP     SMTP                   `yaml:"smtp" json:"smtp,omitzero"`
	Email    []EmailRoute           `yaml:"email" json:"email,omitempty"`
	Telegram []TelegramRoute        `yaml:"telegram" json:"telegram,omitempty"`
	Webhooks []WebhookNotifications `yaml:"webhooks" json:"webhooks,omitempty"`
}

// SMTP is the mail server notifications are sent through.
type SMTP struct {
	Host string `yaml:"host" json:"host,omitempty"`
	// Port defaults to 587 (465 with tls: tls, 25 with tls: none).
	Port     int    `yaml:"port" json:"port,omitempty"`
	Username string `yaml:"username" json:"username,omitempty"`
	Password string `yaml:"password" json:"password,omitempty" secret:"true"`
	// From is the sender: "Chatter <chatter@example.com>" or an address.
	From string `yaml:"from" json:"from,omitempty"`
	// TLS is starttls (default), tls (from the first byte) or none (a local
	// relay only).
	TLS string `yaml:"tls" json:"tls,omitempty"`
	// English appends the English text under the Russian one.
	English bool `yaml:"english" json:"english,omitempty"`
}

// IsZero reports whether no SMTP key is set.
func (s SMTP) IsZero() bool { return s == SMTP{} }

// EmailRoute sends some events to some addresses.
type EmailRoute struct {
	To     []string `yaml:"to" json:"to"`
	Events []string `yaml:"events" json:"events,omitempty"`
}

// TelegramRoute sends some events to a Telegram chat through one of the
// workspace's bots.
type TelegramRoute struct {
	// Bot is the id of a bot of this workspace.
	Bot string `yaml:"bot" json:"bot"`
	// ChatID is a user (who started the bot), group or channel id.
	ChatID int64 `yaml:"chat_id" json:"chat_id"`
	// Lang is ru (default), en or both.
	Lang   string   `yaml:"lang" json:"lang,omitempty"`
	Events []string `yaml:"events" json:"events,omitempty"`
}

// WebhookNotifications posts some events as HMAC-signed JSON to a URL.
type WebhookNotifications struct {
	// URL is the receiver; it often carries a token, so it is a secret.
	URL string `yaml:"url" json:"url" secret:"true"`
	// Secret signs the requests (HMAC-SHA256); at least 16 characters.
	Secret string   `yaml:"secret" json:"secret,omitempty" secret:"true"`
	Events []string `yaml:"events" json:"events,omitempty"`
}

// SQLitePath returns the SQLite file, resolved against DataDir.
func (c *Config) SQLitePath() string { return c.underDataDir(c.Store.SQLite.Path) }

// SealingKeyPath returns the sealing key file, resolved against DataDir.
func (c *Config) SealingKeyPath() string { return c.underDataDir(c.Store.SealingKeyFile) }

// UsePostgres reports whether the store is PostgreSQL.
func (c *Config) UsePostgres() bool { return c.Store.Postgres.URL != "" }

func (c *Config) underDataDir(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.DataDir, p)
}

// Workspace returns the workspace with the given id, or nil.
func (c *Config) Workspace(id string) *Workspace {
	for i := range c.Workspaces {
		if c.Workspaces[i].ID == id {
			return &c.Workspaces[i]
		}
	}
	return nil
}

// Bot returns the bot with the given id, or nil.
func (w *Workspace) Bot(id string) *Bot {
	for i := range w.Bots {
		if w.Bots[i].ID == id {
			return &w.Bots[i]
		}
	}
	return nil
}
