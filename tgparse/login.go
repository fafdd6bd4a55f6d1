package tgparse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gotd/td/telegram/auth"
	"github.com/gotd/td/tg"
)

// Login signs accounts in step by step, so a UI can drive it across
// requests: SendCode, then SignIn with the code, then Password when the
// account has two-step verification.
//
// Every step connects with the account's stored session under its session
// lease and disconnects at the end: no goroutine outlives a call, and the
// steps may run on different instances that share the store. A step fails
// with KindSessionInUse while a Source (or another step) holds the account.
// Errors are *Error values: KindCodeInvalid, KindCodeExpired,
// KindPasswordNeeded (not a failure: ask for the password),
// KindPasswordInvalid, KindPhoneInvalid, KindPhoneBanned, KindPhoneFlood,
// KindFloodWait, KindSignUpRequired, and KindUnreachable (KindProxy for an
// account with a proxy) when Telegram does not answer within
// Connection.ConnectTimeout or before ctx ends; that error wraps ctx's error
// when ctx ended. A step never returns a nil result without an error.
// Login is safe for concurrent use.
type Login struct {
	conn     Connection
	accounts *AccountStore
	holder   string
}

// NewLogin returns a Login that keeps accounts in accounts and sessions in
// conn.Store.
func NewLogin(conn Connection, accounts *AccountStore) (*Login, error) {
	if err := conn.validate(); err != nil {
		return nil, err
	}
	if accounts == nil {
		return nil, configErr("login: account store is nil")
	}
	if accounts.Workspace() != conn.Workspace {
		return nil, configErr("login: account store workspace %q differs from %q", accounts.Workspace(), conn.Workspace)
	}
	return &Login{conn: conn, accounts: accounts, holder: conn.holder()}, nil
}

// stepHolder names one step in the session lease: unique per call, so two
// steps (or a step and a Source of the same instance) never share a session.
func (l *Login) stepHolder() string { return l.holder + "/login-" + randomID() }

// CodeState is what SendCode returns and SignIn and Password take. Keep it
// on the server side (it holds the phone number). Its String, GoString,
// Format and LogValue mask the phone and hide PhoneCodeHash; its JSON form
// holds both, for storing the state between steps.
type CodeState struct {
	Account       string        `json:"account"`
	Phone         string        `json:"phone"`
	PhoneCodeHash string        `json:"phone_code_hash,omitempty"`
	Type          string        `json:"type,omitempty"`      // how the code was sent: app, sms, call, flash_call, …
	NextType      string        `json:"next_type,omitempty"` // how a resend would send it
	Timeout       time.Duration `json:"timeout,omitempty"`   // when a resend is allowed
	SentAt        time.Time     `json:"sent_at"`
	// Authorized is set when the session was already signed in: no code
	// was sent and the account is ready (Self is set).
	Authorized bool  `json:"authorized,omitempty"`
	Self       *Self `json:"self,omitempty"`
}

// String shows the state without secrets.
func (s CodeState) String() string {
	str := "code state of " + s.Account + " (" + MaskPhone(s.Phone) + ")"
	if s.Authorized {
		return str + ": authorized"
	}
	if s.Type != "" {
		str += ": sent by " + s.Type
	}
	return str
}

// GoString shows the state's fields with the phone masked and the code
// hash redacted, for %#v.
func (s CodeState) GoString() string {
	return fmt.Sprintf("tgparse.CodeState{Account:%q, Phone:%q, PhoneCodeHash:%q, Type:%q, NextType:%q, Timeout:%d, SentAt:%#v, Authorized:%t, Self:%#v}",
		s.Account, MaskPhone(s.Phone), redact(s.PhoneCodeHash), s.Type, s.NextType, s.Timeout, s.SentAt, s.Authorized, s.Self)
}

// Format makes every fmt verb show String (GoString for %#v).
func (s CodeState) Format(f fmt.State, verb rune) { formatRedacted(f, verb, s.String(), s.GoString()) }

// LogValue logs the state without secrets.
func (s CodeState) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account", s.Account), slog.String("phone", MaskPhone(s.Phone)),
		slog.String("type", s.Type), slog.Bool("authorized", s.Authorized), slog.Time("sent_at", s.SentAt))
}

// Self is the signed-in user.
type Self struct {
	ID        int64  `json:"id"`
	Username  string `json:"username,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
}

func selfOf(u *tg.User) *Self {
	if u == nil {
		return nil
	}
	return &Self{ID: u.ID, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName}
}

// SendCode saves acct (sealed) in the account store and asks Telegram to
// send it a login code. When the stored session is already signed in it
// sends nothing and returns a state with Authorized set.
func (l *Login) SendCode(ctx context.Context, acct Account) (*CodeState, error) {
	if err := acct.Validate(); err != nil {
		return nil, err
	}
	if err := l.accounts.Save(ctx, acct); err != nil {
		return nil, err
	}
	var st *CodeState
	err := l.conn.withSession(ctx, l.stepHolder(), acct, clientHooks{}, func(ctx context.Context, s *liveSession) error {
		st = &CodeState{Account: acct.ID, Phone: acct.Phone, SentAt: l.conn.now()}
		if status, err := s.client.Auth().Status(ctx); err == nil && status.Authorized {
			st.Authorized, st.Self = true, selfOf(status.User)
			return nil
		}
		sent, err := s.client.Auth().SendCode(ctx, acct.Phone, auth.SendCodeOptions{})
		if err != nil {
			return err
		}
		switch sent := sent.(type) {
		case *tg.AuthSentCode:
			st.PhoneCodeHash = sent.PhoneCodeHash
			st.Type = codeTypeName(sent.Type)
			if nt, ok := sent.GetNextType(); ok {
				st.NextType = codeNextTypeName(nt)
			}
			if t, ok := sent.GetTimeout(); ok {
				st.Timeout = time.Duration(t) * time.Second
			}
		case *tg.AuthSentCodeSuccess:
			self, err := selfOfAuthorization(acct.ID, sent.Authorization)
			if err != nil {
				return err
			}
			st.Authorized, st.Self = true, self
		default:
			return fmt.Errorf("unexpected answer %T", sent)
		}
		return nil
	})
	if err != nil {
		return nil, classify(err, acct.ID, "", l.conn.now())
	}
	return st, nil
}

// SignIn enters the code from Telegram. It returns an *Error of
// KindPasswordNeeded when the account has two-step verification: call
// Password next with the same state.
func (l *Login) SignIn(ctx context.Context, state *CodeState, code string) (*Self, error) {
	if state == nil || state.PhoneCodeHash == "" {
		return nil, &Error{Kind: KindCodeExpired, Err: errors.New("no code was sent: call SendCode first")}
	}
	if code == "" {
		return nil, &Error{Kind: KindCodeInvalid, Account: state.Account, Err: errors.New("the code is empty")}
	}
	acct, err := l.accounts.Get(ctx, state.Account)
	if err != nil {
		return nil, err
	}
	var self *Self
	err = l.conn.withSession(ctx, l.stepHolder(), acct, clientHooks{}, func(ctx context.Context, s *liveSession) error {
		a, err := s.client.Auth().SignIn(ctx, state.Phone, code, state.PhoneCodeHash)
		if err != nil {
			var su *auth.SignUpRequired
			if errors.As(err, &su) {
				return &Error{Kind: KindSignUpRequired, Account: acct.ID, Err: err}
			}
			return err
		}
		self, err = selfOfAuthorization(acct.ID, a)
		return err
	})
	if err != nil {
		return nil, classify(err, acct.ID, "", l.conn.now())
	}
	return self, nil
}

// Password finishes a sign-in that needs the cloud password (after SignIn
// returned KindPasswordNeeded). The password is used for the SRP proof only;
// it is never stored or logged.
func (l *Login) Password(ctx context.Context, state *CodeState, password string) (*Self, error) {
	if state == nil {
		return nil, &Error{Kind: KindCodeExpired, Err: errors.New("no login in progress: call SendCode first")}
	}
	if password == "" {
		return nil, &Error{Kind: KindPasswordInvalid, Account: state.Account, Err: errors.New("the password is empty")}
	}
	acct, err := l.accounts.Get(ctx, state.Account)
	if err != nil {
		return nil, err
	}
	var self *Self
	err = l.conn.withSession(ctx, l.stepHolder(), acct, clientHooks{}, func(ctx context.Context, s *liveSession) error {
		a, err := s.client.Auth().Password(ctx, password)
		if err != nil {
			return err
		}
		self, err = selfOfAuthorization(acct.ID, a)
		return err
	})
	if err != nil {
		return nil, classify(err, acct.ID, "", l.conn.now())
	}
	return self, nil
}

// Status reports whether the account's stored session is signed in: the
// user, or an *Error of KindNotLoggedIn (or the kind of a dead session).
func (l *Login) Status(ctx context.Context, accountID string) (*Self, error) {
	acct, err := l.accounts.Get(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var self *Self
	err = l.conn.withSession(ctx, l.stepHolder(), acct, clientHooks{}, func(ctx context.Context, s *liveSession) error {
		u, err := authorizedSelf(ctx, s)
		self = selfOf(u)
		return err
	})
	if err != nil {
		return nil, classify(err, acct.ID, "", l.conn.now())
	}
	return self, nil
}

// authorizedSelf returns the signed-in user, or KindNotLoggedIn / the kind
// of a dead session (banned, revoked, duplicated).
func authorizedSelf(ctx context.Context, s *liveSession) (*tg.User, error) {
	users, err := s.api.UsersGetUsers(ctx, []tg.InputUserClass{&tg.InputUserSelf{}})
	if err != nil {
		if tgIs(err, "AUTH_KEY_UNREGISTERED") {
			return nil, &Error{Kind: KindNotLoggedIn, RPC: "AUTH_KEY_UNREGISTERED", Account: s.acct.ID, Err: err}
		}
		return nil, classify(err, s.acct.ID, "", time.Now())
	}
	for _, u := range users {
		if u, ok := u.(*tg.User); ok {
			return u, nil
		}
	}
	return nil, &Error{Kind: KindNotLoggedIn, Account: s.acct.ID}
}

// selfOfAuthorization returns the user an authorization signed in: never
// nil without an error.
func selfOfAuthorization(account string, a tg.AuthAuthorizationClass) (*Self, error) {
	switch a := a.(type) {
	case *tg.AuthAuthorization:
		if u, ok := a.GetUser().(*tg.User); ok && u != nil {
			return selfOf(u), nil
		}
		return nil, fmt.Errorf("tgparse: account %s: Telegram signed in without a user (%T)", account, a.GetUser())
	case *tg.AuthAuthorizationSignUpRequired:
		return nil, &Error{Kind: KindSignUpRequired, Account: account}
	}
	return nil, fmt.Errorf("tgparse: account %s: unexpected authorization %T", account, a)
}

func codeTypeName(t tg.AuthSentCodeTypeClass) string {
	switch t.(type) {
	case *tg.AuthSentCodeTypeApp:
		return "app"
	case *tg.AuthSentCodeTypeSMS:
		return "sms"
	case *tg.AuthSentCodeTypeCall:
		return "call"
	case *tg.AuthSentCodeTypeFlashCall:
		return "flash_call"
	case *tg.AuthSentCodeTypeMissedCall:
		return "missed_call"
	case *tg.AuthSentCodeTypeEmailCode:
		return "email"
	case *tg.AuthSentCodeTypeFragmentSMS:
		return "fragment_sms"
	case nil:
		return ""
	}
	return "other"
}

func codeNextTypeName(t tg.AuthCodeTypeClass) string {
	switch t.(type) {
	case *tg.AuthCodeTypeSMS:
		return "sms"
	case *tg.AuthCodeTypeCall:
		return "call"
	case *tg.AuthCodeTypeFlashCall:
		return "flash_call"
	case *tg.AuthCodeTypeMissedCall:
		return "missed_call"
	case *tg.AuthCodeTypeFragmentSMS:
		return "fragment_sms"
	}
	return "other"
}
