package config

import (
	"cmp"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgparse"
)

// Defaults of the keys (see the example file for all of them).
const (
	DefaultDataDir        = "./chatter-data"
	DefaultAddr           = "127.0.0.1:8080"
	DefaultSQLitePath     = "chatter.db"
	DefaultSealingKeyFile = "sealing.key"
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxAge         = chatter.DefaultMaxAge
	DefaultThreadWindow   = amocrmsink.DefaultThreadWindow
	DefaultPollInterval   = tgparse.DefaultPollInterval
	DefaultMaxChats       = tgparse.DefaultMaxChatsPerAccount
	DefaultMarkerField    = amocrmsink.DefaultMarkerFieldName
	DefaultBatchWait      = amocrmsink.DefaultBatchWait
)

// DefaultMetricsNetworks are the networks allowed to read /metrics by
// default: the loopback ones.
func DefaultMetricsNetworks() []string { return []string{"127.0.0.0/8", "::1/128"} }

// Default returns the configuration used when nothing is configured.
func Default() *Config {
	c := &Config{HTTP: HTTP{Metrics: Metrics{Enabled: true, AllowedNetworks: DefaultMetricsNetworks()}}}
	c.SetDefaults()
	return c
}

// SetDefaults fills every empty key with its default, workspaces included
// (for example a Workspace read back from the store as JSON). Booleans and
// lists are left as they are.
func (c *Config) SetDefaults() {
	c.DataDir = cmp.Or(c.DataDir, DefaultDataDir)
	c.Log.Level = cmp.Or(c.Log.Level, "info")
	c.Log.Format = cmp.Or(c.Log.Format, "text")
	c.Store.SQLite.Path = cmp.Or(c.Store.SQLite.Path, DefaultSQLitePath)
	c.Store.SealingKeyFile = cmp.Or(c.Store.SealingKeyFile, DefaultSealingKeyFile)
	c.HTTP.Addr = cmp.Or(c.HTTP.Addr, DefaultAddr)
	c.HTTP.MaxBodyBytes = cmp.Or(c.HTTP.MaxBodyBytes, DefaultMaxBodyBytes)
	au := &c.Auth
	au.MaxFailures = cmp.Or(au.MaxFailures, auth.DefaultMaxFailures)
	au.LockFor = cmp.Or(au.LockFor, Duration(auth.DefaultLockFor))
	au.MinPasswordLength = cmp.Or(au.MinPasswordLength, auth.DefaultMinPasswordLength)
	au.SessionIdle = cmp.Or(au.SessionIdle, Duration(auth.DefaultSessionIdle))
	au.SessionMaxAge = cmp.Or(au.SessionMaxAge, Duration(auth.DefaultSessionMaxAge))
	au.ResetTTL = cmp.Or(au.ResetTTL, Duration(auth.DefaultResetTTL))
	d := &c.Delivery
	d.Workers = cmp.Or(d.Workers, chatter.DefaultWorkers)
	d.JobTimeout = cmp.Or(d.JobTimeout, Duration(chatter.DefaultJobTimeout))
	d.MaxAttempts = cmp.Or(d.MaxAttempts, chatter.DefaultMaxAttempts)
	d.BackoffBase = cmp.Or(d.BackoffBase, Duration(chatter.DefaultBackoffBase))
	d.BackoffMax = cmp.Or(d.BackoffMax, Duration(chatter.DefaultBackoffMax))
	d.MaxAge = cmp.Or(d.MaxAge, Duration(DefaultMaxAge))
	if d.BatchSize > 1 {
		d.BatchWait = cmp.Or(d.BatchWait, Duration(DefaultBatchWait))
	}
	for i := range c.Workspaces {
		c.Workspaces[i].SetDefaults()
	}
}

// SetDefaults fills every empty key of the workspace with its default.
func (w *Workspace) SetDefaults() {
	w.Name = cmp.Or(w.Name, w.ID)
	a := &w.AmoCRM
	a.MarkerField = cmp.Or(a.MarkerField, FieldRef(DefaultMarkerField))
	a.Lookup = cmp.Or(a.Lookup, LookupCRM)
	a.ThreadWindow = cmp.Or(a.ThreadWindow, Duration(DefaultThreadWindow))
	for i := range w.Bots {
		b := &w.Bots[i]
		b.Mode = cmp.Or(b.Mode, ModePolling)
		b.APIURL = cmp.Or(b.APIURL, tgbot.DefaultBaseURL)
	}
	w.Keywords.ApplyTo = cmp.Or(w.Keywords.ApplyTo, ApplyToParser)
	p := &w.Parser
	p.PollInterval = cmp.Or(p.PollInterval, Duration(DefaultPollInterval))
	p.MaxChatsPerAccount = cmp.Or(p.MaxChatsPerAccount, DefaultMaxChats)
	n := &w.Notifications
	if n.SMTP.Host != "" {
		n.SMTP.TLS = cmp.Or(n.SMTP.TLS, TLSStartTLS)
		if n.SMTP.Port == 0 {
			switch n.SMTP.TLS {
			case TLSImplicit:
				n.SMTP.Port = 465
			case TLSNone:
				n.SMTP.Port = 25
			default:
				n.SMTP.Port = 587
			}
		}
	}
	for i := range n.Telegram {
		n.Telegram[i].Lang = cmp.Or(n.Telegram[i].Lang, "ru")
	}
}
