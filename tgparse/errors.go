package tgparse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gotd/td/telegram/auth"
	"github.com/gotd/td/tgerr"

	"github.com/chatterhq/sdk/chatter"
)

// Kind says what went wrong, in terms an operator can act on. Every *Error
// has one; the sentinel errors below carry only a Kind and match any *Error
// of that Kind with errors.Is.
type Kind string

// Error kinds. Login kinds come back from Login; chat kinds from resolving
// chats; account kinds stop an account in the pool (see AccountStatus).
const (
	KindCodeInvalid       Kind = "code_invalid"       // PHONE_CODE_INVALID, PHONE_CODE_EMPTY
	KindCodeExpired       Kind = "code_expired"       // PHONE_CODE_EXPIRED
	KindPasswordNeeded    Kind = "password_needed"    // SESSION_PASSWORD_NEEDED: call Login.Password
	KindPasswordInvalid   Kind = "password_invalid"   // PASSWORD_HASH_INVALID
	KindPhoneInvalid      Kind = "phone_invalid"      // PHONE_NUMBER_INVALID
	KindPhoneBanned       Kind = "phone_banned"       // PHONE_NUMBER_BANNED
	KindPhoneFlood        Kind = "phone_flood"        // PHONE_NUMBER_FLOOD, PHONE_PASSWORD_FLOOD
	KindSignUpRequired    Kind = "sign_up_required"   // the number has no Telegram account
	KindFloodWait         Kind = "flood_wait"         // FLOOD_WAIT_X, FLOOD_PREMIUM_WAIT_X
	KindPeerFlood         Kind = "peer_flood"         // PEER_FLOOD: the account is spam-limited
	KindAccountBanned     Kind = "account_banned"     // USER_DEACTIVATED, USER_DEACTIVATED_BAN
	KindSessionRevoked    Kind = "session_revoked"    // AUTH_KEY_UNREGISTERED, SESSION_REVOKED, SESSION_EXPIRED
	KindSessionDuplicated Kind = "session_duplicated" // AUTH_KEY_DUPLICATED
	KindSessionInUse      Kind = "session_in_use"     // another instance holds the session lease
	KindNotLoggedIn       Kind = "not_logged_in"      // no authorized session stored for the account
	KindProxy             Kind = "proxy"              // the account's proxy (or the network) does not connect
	KindUnreachable       Kind = "unreachable"        // no proxy is set and Telegram does not answer
	KindLinkInvalid       Kind = "link_invalid"       // not a username, t.me link or invite link
	KindUsernameNotFound  Kind = "username_not_found" // USERNAME_NOT_OCCUPIED, USERNAME_INVALID
	KindInviteInvalid     Kind = "invite_invalid"     // INVITE_HASH_EXPIRED, INVITE_HASH_INVALID
	KindInviteRequestSent Kind = "invite_request_sent"
	KindChannelPrivate    Kind = "channel_private" // CHANNEL_PRIVATE: private, or the account was banned there
	KindNotMember         Kind = "not_member"      // the account is not a member and the link cannot join it
	KindNoAccess          Kind = "no_access"       // CHAT_ADMIN_REQUIRED, CHAT_FORBIDDEN, CHANNEL_INVALID …
	KindTooManyChannels   Kind = "too_many_channels"
	KindAccountUnknown    Kind = "account_unknown" // the account is not in the AccountStore
	KindConfig            Kind = "config"          // the configuration is invalid
)

// Sentinel errors, one per Kind, for errors.Is.
var (
	ErrCodeInvalid       = &Error{Kind: KindCodeInvalid}
	ErrCodeExpired       = &Error{Kind: KindCodeExpired}
	ErrPasswordNeeded    = &Error{Kind: KindPasswordNeeded}
	ErrPasswordInvalid   = &Error{Kind: KindPasswordInvalid}
	ErrPhoneInvalid      = &Error{Kind: KindPhoneInvalid}
	ErrPhoneBanned       = &Error{Kind: KindPhoneBanned}
	ErrPhoneFlood        = &Error{Kind: KindPhoneFlood}
	ErrSignUpRequired    = &Error{Kind: KindSignUpRequired}
	ErrFloodWait         = &Error{Kind: KindFloodWait}
	ErrPeerFlood         = &Error{Kind: KindPeerFlood}
	ErrAccountBanned     = &Error{Kind: KindAccountBanned}
	ErrSessionRevoked    = &Error{Kind: KindSessionRevoked}
	ErrSessionDuplicated = &Error{Kind: KindSessionDuplicated}
	ErrSessionInUse      = &Error{Kind: KindSessionInUse}
	ErrNotLoggedIn       = &Error{Kind: KindNotLoggedIn}
	ErrProxy             = &Error{Kind: KindProxy}
	ErrUnreachable       = &Error{Kind: KindUnreachable}
	ErrLinkInvalid       = &Error{Kind: KindLinkInvalid}
	ErrUsernameNotFound  = &Error{Kind: KindUsernameNotFound}
	ErrInviteInvalid     = &Error{Kind: KindInviteInvalid}
	ErrInviteRequestSent = &Error{Kind: KindInviteRequestSent}
	ErrChannelPrivate    = &Error{Kind: KindChannelPrivate}
	ErrNotMember         = &Error{Kind: KindNotMember}
	ErrNoAccess          = &Error{Kind: KindNoAccess}
	ErrTooManyChannels   = &Error{Kind: KindTooManyChannels}
	ErrAccountUnknown    = &Error{Kind: KindAccountUnknown}
	ErrConfig            = &Error{Kind: KindConfig}
)

// Error is a failure of tgparse with an operator-facing explanation.
//
// Match it by kind with errors.Is(err, tgparse.ErrCodeInvalid) or take it
// apart with errors.As; the Telegram error (*tgerr.Error) and, for flood
// waits, a *FloodWaitError stay reachable through Unwrap.
type Error struct {
	Kind    Kind
	RPC     string // the Telegram error type, e.g. "PHONE_CODE_INVALID"; empty when not from Telegram
	Account string // the account involved, if any
	Chat    string // the chat reference involved, if any
	Err     error  // the underlying error, if any
}

// Error renders the kind's English text with the account, chat and cause.
func (e *Error) Error() string {
	s := "tgparse: "
	if e.Account != "" {
		s += "account " + e.Account + ": "
	}
	if e.Chat != "" {
		s += "chat " + e.Chat + ": "
	}
	s += e.Message().EN
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's Kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Err == nil && t.RPC == "" && t.Account == "" && t.Chat == "" && t.Kind == e.Kind
}

// Message returns what happened, in Russian and English.
func (e *Error) Message() chatter.Text {
	d := describe(e.Kind)
	if e.Kind == KindFloodWait {
		var fw *FloodWaitError
		if errors.As(e.Err, &fw) {
			return chatter.T(d.cause.RU+" (ждать "+fw.Wait.String()+")", d.cause.EN+" (wait "+fw.Wait.String()+")")
		}
	}
	return d.cause
}

// Remedy returns what to do about it, in Russian and English.
func (e *Error) Remedy() chatter.Text { return describe(e.Kind).remedy }

// ErrorClass maps the kind onto the chatter error classes.
func (e *Error) ErrorClass() chatter.ErrorClass {
	switch e.Kind {
	case KindFloodWait:
		return chatter.ClassRateLimited
	case KindPeerFlood, KindAccountBanned, KindPhoneBanned:
		return chatter.ClassBlocked
	case KindSessionRevoked, KindSessionDuplicated, KindNotLoggedIn, KindCodeInvalid, KindCodeExpired,
		KindPasswordNeeded, KindPasswordInvalid, KindSignUpRequired:
		return chatter.ClassAuth
	case KindChannelPrivate, KindNotMember, KindNoAccess:
		return chatter.ClassRights
	case KindProxy, KindUnreachable, KindSessionInUse:
		return chatter.ClassTransient
	default:
		return chatter.ClassPermanent
	}
}

// FloodWaitError is a FLOOD_WAIT from Telegram: the method may be called
// again after Wait. It satisfies chatter.RetryAfter.
type FloodWaitError struct {
	Wait  time.Duration
	Until time.Time // the local time when the wait ends
	Err   error     // the *tgerr.Error
}

// Error says how long to wait.
func (e *FloodWaitError) Error() string {
	return "flood wait " + e.Wait.String()
}

// Unwrap returns the Telegram error.
func (e *FloodWaitError) Unwrap() error { return e.Err }

// RetryAfter returns Wait.
func (e *FloodWaitError) RetryAfter() time.Duration { return e.Wait }

type description struct{ cause, remedy chatter.Text }

// describe returns the operator texts of a kind. The remedies for blocked
// accounts follow the support guide ("Аккаунт заблокирован").
func describe(k Kind) description {
	t := chatter.T
	switch k {
	case KindCodeInvalid:
		return description{t("неверный код подтверждения", "the confirmation code is wrong"),
			t("Проверьте код из Telegram (приходит в приложение, не по SMS) и введите его ещё раз.", "Check the code Telegram sent (to the app, not by SMS) and enter it again.")}
	case KindCodeExpired:
		return description{t("срок действия кода истёк", "the confirmation code has expired"),
			t("Запросите новый код и введите его в течение нескольких минут.", "Request a new code and enter it within a few minutes.")}
	case KindPasswordNeeded:
		return description{t("включена двухэтапная аутентификация, нужен облачный пароль", "two-step verification is on: the cloud password is needed"),
			t("Введите облачный пароль аккаунта Telegram.", "Enter the account's Telegram cloud password.")}
	case KindPasswordInvalid:
		return description{t("неверный облачный пароль", "the cloud password is wrong"),
			t("Проверьте раскладку и регистр и введите пароль ещё раз; забытый пароль сбрасывается в приложении Telegram.", "Check the keyboard layout and case and enter it again; a forgotten password is reset in the Telegram app.")}
	case KindPhoneInvalid:
		return description{t("неверный номер телефона", "the phone number is invalid"),
			t("Укажите номер в международном формате, например +79991234567.", "Give the number in international format, e.g. +79991234567.")}
	case KindPhoneBanned:
		return description{t("номер телефона заблокирован в Telegram", "the phone number is banned by Telegram"),
			t("Используйте другой номер; обжаловать блокировку можно через recover@telegram.org.", "Use another number; appeal the ban via recover@telegram.org.")}
	case KindPhoneFlood:
		return description{t("слишком много попыток входа с этим номером", "too many login attempts with this number"),
			t("Подождите несколько часов и не запрашивайте код повторно.", "Wait a few hours and do not request the code again meanwhile.")}
	case KindSignUpRequired:
		return description{t("на этот номер не зарегистрирован аккаунт Telegram", "there is no Telegram account for this number"),
			t("Зарегистрируйте аккаунт в официальном приложении Telegram, затем войдите здесь.", "Register the account in the official Telegram app, then log in here.")}
	case KindFloodWait:
		return description{t("Telegram ограничил частоту запросов (FLOOD_WAIT)", "Telegram limited the request rate (FLOOD_WAIT)"),
			t("Подождите указанное время; уменьшите частоту запросов и число одновременно парсимых чатов на аккаунт, распределите чаты по нескольким аккаунтам.", "Wait the given time; lower the request rate and the number of chats per account, spread chats over several accounts.")}
	case KindPeerFlood:
		return description{t("аккаунт ограничен Telegram за спам (PEER_FLOOD)", "Telegram limited the account as spam (PEER_FLOOD)"),
			t("Уменьшите нагрузку: увеличьте интервалы между запросами, ограничьте число чатов; проверьте ограничения у @SpamBot; используйте прокси с отдельным IP для каждого аккаунта.", "Reduce the load: longer intervals between requests, fewer chats; check the limits with @SpamBot; use a proxy with its own IP per account.")}
	case KindAccountBanned:
		return description{t("аккаунт заблокирован или удалён Telegram", "Telegram banned or deleted the account"),
			t("Создайте новый аккаунт: новый номер, новые API-данные, перенесите на него настройки; обжалование — recover@telegram.org. Впредь уменьшите нагрузку и используйте прокси.", "Create a new account: a new number and API credentials, move the settings to it; appeal via recover@telegram.org. Reduce the load and use proxies from now on.")}
	case KindSessionRevoked:
		return description{t("сессия завершена (вышли из аккаунта или сессию завершили в настройках Telegram)", "the session was terminated (logged out, or ended in Telegram's settings)"),
			t("Войдите в аккаунт заново (код из Telegram).", "Log in to the account again (code from Telegram).")}
	case KindSessionDuplicated:
		return description{t("сессия использовалась одновременно с двух адресов и аннулирована Telegram (AUTH_KEY_DUPLICATED)", "the session was used from two addresses at once and Telegram voided it (AUTH_KEY_DUPLICATED)"),
			t("Войдите заново и не запускайте один аккаунт в двух местах (копии сессии, dev и prod).", "Log in again and never run one account in two places (session copies, dev and prod).")}
	case KindSessionInUse:
		return description{t("сессия аккаунта уже используется другим экземпляром", "the account's session is in use by another instance"),
			t("Остановите другой экземпляр или подождите, пока истечёт его аренда; один аккаунт должен работать в одном месте.", "Stop the other instance or wait for its lease to expire; one account must run in one place.")}
	case KindNotLoggedIn:
		return description{t("аккаунт не авторизован", "the account is not logged in"),
			t("Выполните вход: номер телефона, код из Telegram и, если включён, облачный пароль.", "Log in: phone number, the code from Telegram and, if set, the cloud password.")}
	case KindProxy:
		return description{t("не удаётся подключиться к Telegram через прокси или сеть", "cannot connect to Telegram through the proxy or network"),
			t("Проверьте работоспособность прокси (адрес, порт, логин и пароль) и доступ в интернет; при необходимости замените прокси.", "Check that the proxy works (address, port, user and password) and the internet connection; replace the proxy if needed.")}
	case KindUnreachable:
		return description{t("Telegram недоступен: проверьте сеть или прокси", "Telegram is unreachable: check the network or the proxy"),
			t("Проверьте доступ в интернет и к серверам Telegram; если Telegram в этой сети заблокирован, задайте аккаунту прокси (SOCKS5 или MTProxy).", "Check the internet connection and access to Telegram's servers; if Telegram is blocked on this network, give the account a proxy (SOCKS5 or MTProxy).")}
	case KindLinkInvalid:
		return description{t("неверная ссылка на чат", "the chat link is invalid"),
			t("Укажите @username, ссылку t.me/имя, t.me/c/ID/сообщение или ссылку-приглашение t.me/+код.", "Give an @username, a t.me/name link, t.me/c/ID/message or an invite link t.me/+code.")}
	case KindUsernameNotFound:
		return description{t("чат с таким именем не найден", "no chat has this username"),
			t("Проверьте имя чата; возможно, чат переименован или не существует.", "Check the chat's username; it may have been renamed or may not exist.")}
	case KindInviteInvalid:
		return description{t("ссылка-приглашение недействительна или истекла", "the invite link is invalid or expired"),
			t("Попросите администратора чата новую ссылку-приглашение.", "Ask the chat's admin for a new invite link.")}
	case KindInviteRequestSent:
		return description{t("заявка на вступление отправлена и ждёт одобрения", "the join request was sent and awaits approval"),
			t("Попросите администратора чата одобрить заявку аккаунта.", "Ask the chat's admin to approve the account's request.")}
	case KindChannelPrivate:
		return description{t("канал приватный, или аккаунт в нём заблокирован", "the channel is private, or the account is banned there"),
			t("Добавьте аккаунт в чат по ссылке-приглашению или используйте аккаунт, который в нём состоит.", "Add the account to the chat with an invite link, or use an account that is a member.")}
	case KindNotMember:
		return description{t("аккаунт не состоит в чате", "the account is not a member of the chat"),
			t("Убедитесь, что аккаунт состоит в чате; добавьте его по ссылке-приглашению или включите автовступление.", "Make sure the account is a member; add it with an invite link or enable joining.")}
	case KindNoAccess:
		return description{t("нет доступа к чату", "no access to the chat"),
			t("Проверьте права доступа аккаунта в чате.", "Check the account's permissions in the chat.")}
	case KindTooManyChannels:
		return description{t("аккаунт состоит в слишком большом числе каналов", "the account has joined too many channels"),
			t("Распределите чаты по нескольким аккаунтам или выйдите из ненужных каналов.", "Spread chats over several accounts or leave unneeded channels.")}
	case KindAccountUnknown:
		return description{t("аккаунт не найден в настройках", "the account is not in the settings"),
			t("Добавьте аккаунт (номер, API ID и API hash) в настройках парсера.", "Add the account (phone, API ID and API hash) in the parser settings.")}
	case KindConfig:
		return description{t("неверная настройка парсера", "the parser configuration is invalid"),
			t("Исправьте настройку, указанную в ошибке.", "Fix the setting named in the error.")}
	}
	return description{t("ошибка Telegram", "Telegram error"), t("Повторите позже; если ошибка повторяется, обратитесь в поддержку.", "Retry later; contact support if it persists.")}
}

// rpcKinds maps Telegram error types onto kinds.
var rpcKinds = map[string]Kind{
	"PHONE_CODE_INVALID":      KindCodeInvalid,
	"PHONE_CODE_EMPTY":        KindCodeInvalid,
	"PHONE_CODE_EXPIRED":      KindCodeExpired,
	"PHONE_CODE_HASH_EMPTY":   KindCodeExpired,
	"PASSWORD_HASH_INVALID":   KindPasswordInvalid,
	"PHONE_NUMBER_INVALID":    KindPhoneInvalid,
	"PHONE_NUMBER_BANNED":     KindPhoneBanned,
	"PHONE_NUMBER_FLOOD":      KindPhoneFlood,
	"PHONE_PASSWORD_FLOOD":    KindPhoneFlood,
	"PHONE_NUMBER_UNOCCUPIED": KindSignUpRequired,
	"SESSION_PASSWORD_NEEDED": KindPasswordNeeded,
	"PEER_FLOOD":              KindPeerFlood,
	"USER_DEACTIVATED":        KindAccountBanned,
	"USER_DEACTIVATED_BAN":    KindAccountBanned,
	"AUTH_KEY_UNREGISTERED":   KindSessionRevoked,
	"AUTH_KEY_INVALID":        KindSessionRevoked,
	"SESSION_REVOKED":         KindSessionRevoked,
	"SESSION_EXPIRED":         KindSessionRevoked,
	"AUTH_KEY_PERM_EMPTY":     KindSessionRevoked,
	"AUTH_KEY_DUPLICATED":     KindSessionDuplicated,
	"USERNAME_NOT_OCCUPIED":   KindUsernameNotFound,
	"USERNAME_INVALID":        KindUsernameNotFound,
	"INVITE_HASH_EXPIRED":     KindInviteInvalid,
	"INVITE_HASH_INVALID":     KindInviteInvalid,
	"INVITE_HASH_EMPTY":       KindInviteInvalid,
	"INVITE_REQUEST_SENT":     KindInviteRequestSent,
	"CHANNEL_PRIVATE":         KindChannelPrivate,
	"CHANNEL_PUBLIC_GROUP_NA": KindChannelPrivate,
	"CHAT_ADMIN_REQUIRED":     KindNoAccess,
	"CHAT_FORBIDDEN":          KindNoAccess,
	"CHANNEL_INVALID":         KindNoAccess,
	"CHAT_ID_INVALID":         KindNoAccess,
	"PEER_ID_INVALID":         KindNoAccess,
	"MSG_ID_INVALID":          KindNoAccess,
	"USER_BANNED_IN_CHANNEL":  KindNoAccess,
	"CHANNELS_TOO_MUCH":       KindTooManyChannels,
}

// classify turns err into an *Error when it is a known Telegram error (or
// already one), attaching account and chat; other errors come back as they
// are. now stamps FloodWaitError.Until.
func classify(err error, account, chat string, now time.Time) error {
	if err == nil {
		return nil
	}
	var te *Error
	if errors.As(err, &te) {
		return err
	}
	switch {
	case errors.Is(err, auth.ErrPasswordInvalid):
		return &Error{Kind: KindPasswordInvalid, RPC: "PASSWORD_HASH_INVALID", Account: account, Err: err}
	case errors.Is(err, auth.ErrPasswordAuthNeeded):
		return &Error{Kind: KindPasswordNeeded, RPC: "SESSION_PASSWORD_NEEDED", Account: account, Err: err}
	case errors.Is(err, chatter.ErrLeaseHeld):
		return &Error{Kind: KindSessionInUse, Account: account, Err: err}
	}
	if d, ok := tgerr.AsFloodWait(err); ok {
		rpc, _ := tgerr.As(err)
		return &Error{Kind: KindFloodWait, RPC: rpc.Type, Account: account, Chat: chat,
			Err: &FloodWaitError{Wait: d, Until: now.Add(d), Err: err}}
	}
	if rpc, ok := tgerr.As(err); ok {
		if k, ok := rpcKinds[rpc.Type]; ok {
			return &Error{Kind: k, RPC: rpc.Type, Account: account, Chat: chat, Err: err}
		}
		if rpc.Code == 401 {
			return &Error{Kind: KindSessionRevoked, RPC: rpc.Type, Account: account, Err: err}
		}
	}
	return err
}

// isAccountFatal reports whether err stops the account (not only one chat).
func isAccountFatal(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Kind {
	case KindAccountBanned, KindSessionRevoked, KindSessionDuplicated, KindNotLoggedIn, KindPeerFlood,
		KindSessionInUse, KindProxy, KindUnreachable, KindPhoneBanned:
		return true
	}
	return false
}

// isChatError reports whether err is about one chat's accessibility.
func isChatError(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Kind {
	case KindLinkInvalid, KindUsernameNotFound, KindInviteInvalid, KindInviteRequestSent,
		KindChannelPrivate, KindNotMember, KindNoAccess, KindTooManyChannels:
		return true
	}
	return false
}

// floodWaitOf returns the flood wait in err, if any.
func floodWaitOf(err error) (*FloodWaitError, bool) {
	var fw *FloodWaitError
	if errors.As(err, &fw) {
		return fw, true
	}
	return nil, false
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func configErr(format string, args ...any) error {
	return &Error{Kind: KindConfig, Err: fmt.Errorf(format, args...)}
}

// tgIs reports whether err is a Telegram error of one of the types.
func tgIs(err error, types ...string) bool { return tgerr.Is(err, types...) }
