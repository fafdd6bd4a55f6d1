package webhooknotify

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// redacted stands for a secret that is set.
const redacted = "[REDACTED]"

// String describes c without its secrets, for %v, %+v and %s: the secret
// shows only whether it is set, and each URL only its scheme and host (the
// path, query and user info of a webhook URL often carry a token).
func (c Config) String() string {
	return fmt.Sprintf("webhooknotify.Config{URLs:%v Secret:%s AllowPrivate:%t Allow:%v MaxAttempts:%d BackoffBase:%v BackoffMax:%v RequestTimeout:%v UserAgent:%s}",
		c.logURLs(), secretMark(c.Secret), c.AllowPrivate, c.Allow, c.MaxAttempts, c.BackoffBase, c.BackoffMax, c.RequestTimeout, c.UserAgent)
}

// GoString is String for %#v.
func (c Config) GoString() string {
	return fmt.Sprintf("webhooknotify.Config{URLs:%#v, Secret:%q, AllowPrivate:%t, Allow:%#v, MaxAttempts:%d, BackoffBase:%d, BackoffMax:%d, RequestTimeout:%d, UserAgent:%q}",
		c.logURLs(), secretMark(c.Secret), c.AllowPrivate, c.Allow, c.MaxAttempts, c.BackoffBase, c.BackoffMax, c.RequestTimeout, c.UserAgent)
}

// LogValue is what slog records of c: the fields of String.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("urls", c.logURLs()),
		slog.String("secret", secretMark(c.Secret)),
		slog.Bool("allow_private", c.AllowPrivate),
		slog.Any("allow", c.Allow),
		slog.Int("max_attempts", c.MaxAttempts),
		slog.Duration("backoff_base", c.BackoffBase),
		slog.Duration("backoff_max", c.BackoffMax),
		slog.Duration("request_timeout", c.RequestTimeout),
		slog.String("user_agent", c.UserAgent),
	)
}

// String describes n by its configuration, without secrets.
func (n *Notifier) String() string { return "webhooknotify.Notifier{" + n.cfg.String() + "}" }

// GoString is String for %#v.
func (n *Notifier) GoString() string { return "&webhooknotify.Notifier{" + n.cfg.GoString() + "}" }

// LogValue is what slog records of n: its configuration, without secrets.
func (n *Notifier) LogValue() slog.Value { return n.cfg.LogValue() }

func (c Config) logURLs() []string {
	out := make([]string, 0, len(c.URLs))
	for _, raw := range c.URLs {
		out = append(out, hostOnly(raw))
	}
	return out
}

// hostOnly keeps a URL's scheme and host; "/…" marks a dropped path, query
// or user info.
func hostOnly(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<invalid url>"
	}
	s := u.Scheme + "://" + u.Host
	if u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		s += "/…"
	}
	return s
}

func secretMark(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return redacted
}
