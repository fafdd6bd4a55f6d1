package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
)

// Actor is who performs an action, for the event log: a signed-in user (use
// User.Actor) or the system (System: the CLI, the demo, the first-run page).
type Actor struct {
	UserID string // empty for the system
	Login  string // shown in the log
	Addr   string // the remote address; empty for the CLI
}

// System returns the actor for actions that no signed-in user performs,
// named for the log ("cli", "demo", "setup").
func System(name string) Actor { return Actor{Login: name} }

// Actor returns u acting from addr.
func (u *User) Actor(addr string) Actor { return Actor{UserID: u.ID, Login: u.Login, Addr: addr} }

// Attribute keys of the events. None of them contains a word the event log
// redacts (password, secret, token, session, …), and no value is a secret.
const (
	attrUser    = "user"    // the login of the user concerned
	attrUserID  = "user_id" // their id
	attrBy      = "by"      // the actor's login
	attrByID    = "by_id"   // the actor's id
	attrAddr    = "addr"    // the remote address the action came from
	attrReason  = "reason"  // why a login or request was refused
	attrUntil   = "until"   // end of a lockout
	attrAttempt = "attempt" // what was typed as the login, when it matches no user
)

// event writes one security event: category auth in ServerWorkspace, with
// the attributes given (never secrets).
func (s *Service) event(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	s.log.LogAttrs(context.WithoutCancel(ctx), level, msg,
		append([]slog.Attr{slog.String(chatter.AttrCategory, chatter.CategoryAuth), slog.String(chatter.AttrWorkspace, ServerWorkspace)}, attrs...)...)
}

// subject returns the attributes naming u and the actor.
func subject(u *User, by Actor) []slog.Attr {
	attrs := []slog.Attr{slog.String(attrUser, u.Login), slog.String(attrUserID, u.ID), slog.String(attrBy, by.Login)}
	if by.UserID != "" {
		attrs = append(attrs, slog.String(attrByID, by.UserID))
	}
	if by.Addr != "" {
		attrs = append(attrs, slog.String(attrAddr, by.Addr))
	}
	return attrs
}

// attemptText is what the log shows of a typed login that matches no user:
// an e-mail address as typed, anything else cut to its first two characters
// and its length ("iv… (5)"). People sometimes type their password into the
// login field, and a password must never reach the log.
func attemptText(input string) string {
	in := strings.TrimSpace(input)
	if a, err := mail.ParseAddress(in); err == nil && a.Address == in && a.Name == "" && len(in) <= maxEmailLen {
		return in
	}
	n := utf8.RuneCountInString(in)
	head := []rune(in)[:min(n, 2)]
	return fmt.Sprintf("%s… (%d)", string(head), n)
}

// clip cuts a caller-supplied value (address, user agent) to n bytes on a
// rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func timeAttr(k string, t time.Time) slog.Attr { return slog.String(k, t.UTC().Format(time.RFC3339)) }
