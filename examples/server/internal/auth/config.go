package auth

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// ServerWorkspace is the reserved workspace holding the server-wide rows of
// this package (users, sessions, resets) and its events. Configured
// workspaces must not use it; every chatter store accepts it.
const ServerWorkspace = "_server"

// Defaults of Config.
const (
	DefaultMinPasswordLength  = 10
	DefaultMaxFailures        = 5
	DefaultLockFor            = 15 * time.Minute
	DefaultSessionIdle        = 12 * time.Hour
	DefaultSessionMaxAge      = 30 * 24 * time.Hour
	DefaultSessionTouch       = time.Minute
	DefaultMaxSessionsPerUser = 20
	DefaultResetTTL           = time.Hour
	DefaultResetInterval      = 5 * time.Minute
	DefaultTicketTTL          = 10 * time.Minute
	DefaultMinResponse        = 300 * time.Millisecond
)

// Config configures a Service. Zero fields take the defaults; durations that
// may be switched off say so.
type Config struct {
	// Logger receives the security events (category auth, workspace
	// ServerWorkspace): logins, failures, lockouts, resets, password and
	// account changes, with who, when and from which address; never a
	// password, hash, token or session secret. nil is silent.
	Logger *slog.Logger
	// Now is the clock of every decision (lockouts, expiries, sessions).
	// Defaults to time.Now.
	Now func() time.Time
	// Rand is the source of salts, ids, secrets and one-time passwords.
	// Defaults to crypto/rand.Reader; anything else is for tests.
	Rand io.Reader

	// Hash is the argon2id cost of new hashes. Defaults to DefaultHash.
	// Existing hashes keep the parameters written in their PHC string and
	// are rehashed with these on the next successful login.
	Hash HashParams
	// HashConcurrency bounds the argon2id computations running at once
	// (each takes Hash.Memory KiB), so a burst of logins cannot exhaust
	// memory. Defaults to GOMAXPROCS.
	HashConcurrency int

	// MinPasswordLength is the shortest password accepted, in characters.
	// Defaults to 10.
	MinPasswordLength int
	// PasswordMaxAge makes passwords expire this long after they were set:
	// the next login leads to the change form. Zero (the default) means
	// passwords never expire.
	PasswordMaxAge time.Duration

	// MaxFailures failed logins within FailureWindow lock the account for
	// LockFor. Defaults to 5.
	MaxFailures int
	// FailureWindow is how long a failed login counts. Defaults to LockFor.
	FailureWindow time.Duration
	// LockFor is how long a lockout lasts. Defaults to 15 minutes.
	LockFor time.Duration

	// SessionIdle ends a session not used for this long. Defaults to 12 h.
	SessionIdle time.Duration
	// SessionMaxAge ends a session this long after login, used or not.
	// Defaults to 30 days.
	SessionMaxAge time.Duration
	// SessionTouch is how often a session's last-seen time is written: at
	// most once per SessionTouch per session. Defaults to 1 minute.
	SessionTouch time.Duration
	// MaxSessionsPerUser bounds a user's live sessions; a new login beyond
	// it ends the least recently used one. Defaults to 20.
	MaxSessionsPerUser int

	// ResetTTL is how long a password-reset link works. Defaults to 1 hour.
	ResetTTL time.Duration
	// ResetInterval is the least time between two reset links for one
	// account; requests in between are ignored (silently, like an unknown
	// address). Defaults to 5 minutes.
	ResetInterval time.Duration
	// TicketTTL is how long the change-password ticket handed out with an
	// expired or forced password works. Defaults to 10 minutes.
	TicketTTL time.Duration

	// MinResponse pads Authenticate and RequestReset to at least this long
	// (wall time), so response times do not tell which path was taken.
	// Defaults to 300 ms; negative switches padding off (tests).
	MinResponse time.Duration
}

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Hash == (HashParams{}) {
		c.Hash = DefaultHash
	}
	c.HashConcurrency = cmp.Or(c.HashConcurrency, runtime.GOMAXPROCS(0))
	c.MinPasswordLength = cmp.Or(c.MinPasswordLength, DefaultMinPasswordLength)
	c.MaxFailures = cmp.Or(c.MaxFailures, DefaultMaxFailures)
	c.LockFor = cmp.Or(c.LockFor, DefaultLockFor)
	c.FailureWindow = cmp.Or(c.FailureWindow, c.LockFor)
	c.SessionIdle = cmp.Or(c.SessionIdle, DefaultSessionIdle)
	c.SessionMaxAge = cmp.Or(c.SessionMaxAge, DefaultSessionMaxAge)
	c.SessionTouch = cmp.Or(c.SessionTouch, DefaultSessionTouch)
	c.MaxSessionsPerUser = cmp.Or(c.MaxSessionsPerUser, DefaultMaxSessionsPerUser)
	c.ResetTTL = cmp.Or(c.ResetTTL, DefaultResetTTL)
	c.ResetInterval = cmp.Or(c.ResetInterval, DefaultResetInterval)
	c.TicketTTL = cmp.Or(c.TicketTTL, DefaultTicketTTL)
	c.MinResponse = cmp.Or(c.MinResponse, DefaultMinResponse)
	return c
}

func (c Config) validate() error {
	var problem string
	switch {
	case c.HashConcurrency < 1:
		problem = "HashConcurrency must be at least 1"
	case c.MinPasswordLength < 1:
		problem = "MinPasswordLength must be at least 1"
	case c.MaxFailures < 1:
		problem = "MaxFailures must be at least 1"
	case c.LockFor < 0 || c.FailureWindow < 0:
		problem = "LockFor and FailureWindow must not be negative"
	case c.PasswordMaxAge < 0:
		problem = "PasswordMaxAge must not be negative"
	case c.SessionIdle < 0 || c.SessionMaxAge < 0 || c.SessionTouch < 0:
		problem = "session durations must not be negative"
	case c.MaxSessionsPerUser < 1:
		problem = "MaxSessionsPerUser must be at least 1"
	case c.ResetTTL < 0 || c.ResetInterval < 0 || c.TicketTTL < 0:
		problem = "reset and ticket durations must not be negative"
	}
	if problem != "" {
		return fmt.Errorf("auth: %s: %w", problem, chatter.ErrInvalid)
	}
	if err := c.Hash.validate(); err != nil {
		return fmt.Errorf("auth: Hash: %w", err)
	}
	return nil
}

// Service keeps users, sessions, password resets and change tickets in a
// chatter.SettingsStore. Every state lives in the store, so any number of
// Service values (in one process or on several instances) on one store
// serve any request. It is safe for concurrent use.
type Service struct {
	store chatter.SettingsStore
	cfg   Config
	log   *slog.Logger
	sem   chan struct{} // bounds argon2 computations

	saltMu sync.Mutex
	salt   []byte // key of the unknown-login buckets, loaded once
}

// New returns a Service on store. It validates cfg, starts no goroutines and
// does not touch the store.
func New(store chatter.SettingsStore, cfg Config) (*Service, error) {
	if store == nil {
		return nil, fmt.Errorf("auth: nil store: %w", chatter.ErrInvalid)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, cfg: cfg, log: log, sem: make(chan struct{}, cfg.HashConcurrency)}, nil
}

// Config returns the configuration in effect, defaults applied.
func (s *Service) Config() Config { return s.cfg }

func (s *Service) now() time.Time { return s.cfg.Now() }
