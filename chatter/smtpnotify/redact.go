package smtpnotify

import (
	"fmt"
	"log/slog"
)

// redacted stands for a secret that is set.
const redacted = "[REDACTED]"

// String describes c without its secrets, for %v, %+v and %s: the password
// shows only whether it is set, and TLSConfig (which may hold a client
// certificate's private key) only whether it is given.
func (c Config) String() string {
	return fmt.Sprintf("smtpnotify.Config{Host:%s Port:%d Security:%s Username:%s Password:%s From:%s To:%v Recipients:%v English:%t SubjectPrefix:%s HELO:%s TLSConfig:%s Timeout:%v}",
		c.Host, c.Port, c.Security, c.Username, mark(c.Password), c.From, c.To, c.Recipients, c.English, c.SubjectPrefix, c.HELO, c.tlsMark(), c.Timeout)
}

// GoString is String for %#v.
func (c Config) GoString() string {
	return fmt.Sprintf("smtpnotify.Config{Host:%q, Port:%d, Security:%q, Username:%q, Password:%q, From:%q, To:%#v, Recipients:%#v, English:%t, SubjectPrefix:%q, HELO:%q, TLSConfig:%q, Timeout:%d}",
		c.Host, c.Port, c.Security, c.Username, mark(c.Password), c.From, c.To, c.Recipients, c.English, c.SubjectPrefix, c.HELO, c.tlsMark(), c.Timeout)
}

// LogValue is what slog records of c: the fields of String.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host),
		slog.Int("port", c.Port),
		slog.String("security", string(c.Security)),
		slog.String("username", c.Username),
		slog.String("password", mark(c.Password)),
		slog.String("from", c.From),
		slog.Any("to", c.To),
		slog.Any("recipients", c.Recipients),
		slog.Bool("english", c.English),
		slog.String("subject_prefix", c.SubjectPrefix),
		slog.String("helo", c.HELO),
		slog.String("tls_config", c.tlsMark()),
		slog.Duration("timeout", c.Timeout),
	)
}

// String describes n by its configuration, without secrets.
func (n *Notifier) String() string { return "smtpnotify.Notifier{" + n.cfg.String() + "}" }

// GoString is String for %#v.
func (n *Notifier) GoString() string { return "&smtpnotify.Notifier{" + n.cfg.GoString() + "}" }

// LogValue is what slog records of n: its configuration, without secrets.
func (n *Notifier) LogValue() slog.Value { return n.cfg.LogValue() }

func (c Config) tlsMark() string {
	if c.TLSConfig == nil {
		return ""
	}
	return "set"
}

func mark(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}
