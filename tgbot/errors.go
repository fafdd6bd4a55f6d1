package tgbot

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// ConfigError says which Config field NewSource refuses and why. It wraps
// chatter.ErrInvalid.
type ConfigError struct {
	Field   string       // e.g. "Config.Workspace"
	Problem chatter.Text // what is wrong, in Russian and English
}

func (e *ConfigError) Error() string { return "tgbot: " + e.Field + ": " + e.Problem.EN }

// Message explains the problem to an operator.
func (e *ConfigError) Message() chatter.Text {
	return chatter.T("Настройка бота "+e.Field+": "+e.Problem.RU, "Bot setting "+e.Field+": "+e.Problem.EN)
}

// Unwrap returns chatter.ErrInvalid.
func (e *ConfigError) Unwrap() error { return chatter.ErrInvalid }

func configErr(field, ru, en string) error {
	return &ConfigError{Field: field, Problem: chatter.T(ru, en)}
}

// Error is an error answer of the Bot API: {"ok":false, "error_code",
// "description", "parameters"}. Match it with errors.As; classify by Code and
// the helper methods, never by Description text (Telegram says the codes and
// texts may change).
//
// A 429 answer comes back as a *RateLimitError that wraps the *Error, so that
// chatter.RetryAfter finds a wait only where Telegram demanded one.
type Error struct {
	Method      string // the Bot API method that failed
	Code        int    // error_code (the HTTP status)
	Description string // e.g. "Bad Request: chat not found"
	// RetryAfterSeconds is parameters.retry_after (429 only).
	RetryAfterSeconds int
	// MigrateToChatID is parameters.migrate_to_chat_id: the group was
	// upgraded to this supergroup; use the new id.
	MigrateToChatID int64
}

func (e *Error) Error() string {
	return fmt.Sprintf("tgbot: %s: %d %s", e.Method, e.Code, e.Description)
}

// Unauthorized reports a wrong or revoked token (401).
func (e *Error) Unauthorized() bool { return e.Code == 401 }

// Blocked reports that the user blocked the bot or deleted their account
// (403 in a private chat).
func (e *Error) Blocked() bool {
	return e.Code == 403 && (strings.Contains(e.Description, "blocked by the user") || strings.Contains(e.Description, "user is deactivated"))
}

// NotMember reports that the bot is not (or no longer) in the chat.
func (e *Error) NotMember() bool {
	return e.Code == 403 && (strings.Contains(e.Description, "not a member") || strings.Contains(e.Description, "kicked"))
}

// ChatNotFound reports "Bad Request: chat not found": a wrong chat id, or a
// chat the bot has never been in.
func (e *Error) ChatNotFound() bool {
	return e.Code == 400 && strings.Contains(e.Description, "chat not found")
}

// Migrated reports that the group became a supergroup (see MigrateToChatID).
func (e *Error) Migrated() bool { return e.MigrateToChatID != 0 }

// WebhookActive reports the 409 getUpdates gets while a webhook is set.
func (e *Error) WebhookActive() bool {
	return e.Code == 409 && strings.Contains(e.Description, "webhook")
}

// Conflict reports a 409: another getUpdates is running on the token, or a
// webhook is set.
func (e *Error) Conflict() bool { return e.Code == 409 }

// ErrorClass classifies the error for the delivery ledger (see chatter.ClassOf).
func (e *Error) ErrorClass() chatter.ErrorClass {
	switch {
	case e.Code == 401 || e.Code == 404:
		return chatter.ClassAuth
	case e.Code == 429:
		return chatter.ClassRateLimited
	case e.Blocked():
		return chatter.ClassBlocked
	case e.Code == 403:
		return chatter.ClassRights
	case e.Code >= 500:
		return chatter.ClassTransient
	}
	return chatter.ClassPermanent
}

// Problem explains the error to an operator, in Russian and English, with
// the remedy, for the errors the support guide lists. It returns a zero Text
// for other errors.
func (e *Error) Problem() (cause, remedy chatter.Text) {
	switch {
	case e.Unauthorized():
		return chatter.T("Telegram не принимает токен бота (401 Unauthorized): токен неверен, отозван или бот удалён.",
				"Telegram rejects the bot token (401 Unauthorized): it is wrong or revoked, or the bot was deleted."),
			chatter.T("Скопируйте токен заново из @BotFather (/mybots → API Token); если бот удалён — создайте нового и обновите токен в настройках.",
				"Copy the token again from @BotFather (/mybots → API Token); if the bot was deleted, create a new one and update the token in the settings.")
	case e.WebhookActive():
		return chatter.T("Для бота установлен вебхук, поэтому получение обновлений опросом (getUpdates) невозможно (409 Conflict).",
				"A webhook is set for the bot, so polling with getUpdates is impossible (409 Conflict)."),
			chatter.T("Удалите вебхук (deleteWebhook) или переключитесь на режим вебхука.",
				"Delete the webhook (deleteWebhook) or switch to webhook mode.")
	case e.Conflict():
		return chatter.T("С этим токеном уже работает другой экземпляр бота (409 Conflict).",
				"Another instance of the bot is already polling with this token (409 Conflict)."),
			chatter.T("Оставьте запущенным только один экземпляр, использующий этот токен.",
				"Keep only one running instance that uses this token.")
	case e.Migrated():
		return chatter.T(fmt.Sprintf("Группа преобразована в супергруппу, её новый идентификатор %d.", e.MigrateToChatID),
				fmt.Sprintf("The group was upgraded to a supergroup; its new id is %d.", e.MigrateToChatID)),
			chatter.T("Замените идентификатор чата в настройках на новый.", "Replace the chat id in the settings with the new one.")
	case e.Blocked():
		return chatter.T("Пользователь заблокировал бота.", "The user blocked the bot."),
			chatter.T("Попросите пользователя разблокировать бота или уберите его из получателей.", "Ask the user to unblock the bot, or remove them from the recipients.")
	case e.NotMember():
		return chatter.T("Бот не состоит в чате или был из него удалён.", "The bot is not in the chat or was removed from it."),
			chatter.T("Добавьте бота в чат (лучше администратором).", "Add the bot to the chat (preferably as an administrator).")
	case e.ChatNotFound():
		return chatter.T("Чат не найден: неверный идентификатор или бот никогда не был в этом чате.", "Chat not found: the id is wrong or the bot has never been in the chat."),
			chatter.T("Проверьте идентификатор чата и добавьте бота в чат.", "Check the chat id and add the bot to the chat.")
	case e.Code == 429:
		return chatter.T("Telegram ограничил частоту запросов бота.", "Telegram is rate-limiting the bot."),
			chatter.T("Подождите; уменьшите частоту отправки сообщений.", "Wait; send messages less often.")
	}
	return chatter.Text{}, chatter.Text{}
}

// RateLimitError is a 429 "Too Many Requests: retry after N". It wraps the
// *Error; RetryAfter is what chatter.RetryAfter and the queue honour.
type RateLimitError struct {
	Err *Error
}

func (e *RateLimitError) Error() string { return e.Err.Error() }

// Unwrap returns the *Error.
func (e *RateLimitError) Unwrap() error { return e.Err }

// RetryAfter returns parameters.retry_after (at least one second).
func (e *RateLimitError) RetryAfter() time.Duration {
	return time.Duration(max(e.Err.RetryAfterSeconds, 1)) * time.Second
}

// ErrorClass returns chatter.ClassRateLimited.
func (e *RateLimitError) ErrorClass() chatter.ErrorClass { return chatter.ClassRateLimited }

// TransportError is a failure to talk to the Bot API at all (network, TLS,
// timeout, a non-JSON answer). Its text never contains the token.
type TransportError struct {
	Method string
	Status int // HTTP status when an answer arrived but was not understood
	Err    error
}

func (e *TransportError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("tgbot: %s: unexpected answer (HTTP %d)", e.Method, e.Status)
	}
	return fmt.Sprintf("tgbot: %s: %v", e.Method, e.Err)
}

// Unwrap returns the cause (with the token removed from any URL in it).
func (e *TransportError) Unwrap() error { return e.Err }

// ErrorClass returns chatter.ClassTransient.
func (e *TransportError) ErrorClass() chatter.ErrorClass { return chatter.ClassTransient }

// PollingConflictError is returned by Source.Run in polling mode when
// Telegram refuses getUpdates because a webhook is set. Cause and Remedy are
// for operators.
type PollingConflictError struct {
	Err    *Error
	Cause  chatter.Text
	Remedy chatter.Text
}

func (e *PollingConflictError) Error() string {
	return "tgbot: polling impossible while a webhook is set: " + e.Remedy.EN + " (" + e.Err.Description + ")"
}

// Unwrap returns the *Error.
func (e *PollingConflictError) Unwrap() error { return e.Err }

// ErrorClass returns chatter.ClassPermanent: retrying does not help until an
// operator acts.
func (e *PollingConflictError) ErrorClass() chatter.ErrorClass { return chatter.ClassPermanent }

// redact removes the token from s.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	s = strings.ReplaceAll(s, token, "<token>")
	if esc := url.PathEscape(token); esc != token {
		s = strings.ReplaceAll(s, esc, "<token>")
	}
	return s
}

// redactErr rebuilds err so that its text does not contain token. A
// *url.Error keeps its type (so errors.Is on timeouts and ctx errors still
// works) with the URL redacted.
func redactErr(err error, token string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redact(ue.URL, token), Err: redactErr(ue.Err, token)}
	}
	if err == nil || !strings.Contains(err.Error(), token) {
		return err
	}
	return &redactedError{msg: redact(err.Error(), token), cause: errors.Unwrap(err), token: token}
}

type redactedError struct {
	msg   string
	cause error
	token string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error {
	if e.cause == nil {
		return nil
	}
	return redactErr(e.cause, e.token)
}
