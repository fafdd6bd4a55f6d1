package amocrm

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// maxErrorBody is how much of an error response body is read (1 MiB).
const maxErrorBody = 1 << 20

// APIError is an error response from amoCRM (a problem+json body, or an
// HTML page from the gateway). Specific failures wrap an *APIError:
// *NotFoundError, *PaymentRequiredError, *UnauthorizedError, so
// errors.As(err, &apiErr) matches all of them.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Method and Path identify the request (the path carries no query).
	Method string
	Path   string
	// Title, Type and Detail come from the problem+json body.
	Title  string
	Type   string
	Detail string
	// Hint is set by the OAuth endpoint ("Token has been revoked").
	Hint string
	// RequestID is the X-Request-Id response header; quote it to support.
	RequestID string
	// ValidationErrors lists per-item errors of a 400 batch response.
	ValidationErrors []ValidationError
	// Body is the start of the raw body (at most 1 KiB, secrets redacted),
	// useful when it was not JSON.
	Body string
}

// ValidationError is the set of errors for one item of a batch, matched
// to the item by RequestID.
type ValidationError struct {
	RequestID string       `json:"request_id"`
	Errors    []FieldError `json:"errors"`
}

// FieldError is one validation failure: Path points into the item
// ("custom_fields_values.0.field_id"), Code is machine-readable
// ("NotSupportedChoice").
type FieldError struct {
	Code   string `json:"code"`
	Path   string `json:"path"`
	Detail string `json:"detail"`
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "amocrm: %s %s: %d", e.Method, e.Path, e.StatusCode)
	if e.Title != "" {
		b.WriteString(" " + e.Title)
	} else if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	for i, ve := range e.ValidationErrors {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.ValidationErrors)-3)
			break
		}
		for _, fe := range ve.Errors {
			fmt.Fprintf(&b, "; request_id %s: %s %s", ve.RequestID, fe.Path, fe.Code)
			if fe.Detail != "" {
				b.WriteString(" (" + fe.Detail + ")")
			}
		}
	}
	if e.RequestID != "" {
		b.WriteString(" [x-request-id " + e.RequestID + "]")
	}
	return b.String()
}

// ValidationErrorsFor returns the field errors reported for one request_id.
func (e *APIError) ValidationErrorsFor(requestID string) []FieldError {
	var out []FieldError
	for _, ve := range e.ValidationErrors {
		if ve.RequestID == requestID {
			out = append(out, ve.Errors...)
		}
	}
	return out
}

// Message returns an operator-facing description in lang ("ru" or "en").
func (e *APIError) Message(lang string) string {
	detail := e.Detail
	if detail == "" {
		detail = e.Title
	}
	if isRU(lang) {
		switch {
		case e.StatusCode == http.StatusBadRequest && len(e.ValidationErrors) > 0:
			return "amoCRM отклонил данные: ошибка проверки полей (" + e.firstValidation() + "). Проверьте сопоставление полей."
		case e.StatusCode >= 500:
			return fmt.Sprintf("Сбой на стороне amoCRM (HTTP %d). Повторите позже.", e.StatusCode)
		}
		return fmt.Sprintf("amoCRM вернул ошибку HTTP %d: %s", e.StatusCode, detail)
	}
	switch {
	case e.StatusCode == http.StatusBadRequest && len(e.ValidationErrors) > 0:
		return "amoCRM rejected the data: field validation failed (" + e.firstValidation() + "). Check the field mapping."
	case e.StatusCode >= 500:
		return fmt.Sprintf("amoCRM server failure (HTTP %d). Try again later.", e.StatusCode)
	}
	return fmt.Sprintf("amoCRM returned HTTP %d: %s", e.StatusCode, detail)
}

func (e *APIError) firstValidation() string {
	for _, ve := range e.ValidationErrors {
		for _, fe := range ve.Errors {
			return fe.Path + " " + fe.Code
		}
	}
	return ""
}

// NotFoundError is a 404: the entity or endpoint does not exist (or the
// base domain is wrong: www.amocrm.ru answers 404 HTML).
type NotFoundError struct{ *APIError }

// Unwrap returns the underlying *APIError.
func (e *NotFoundError) Unwrap() error { return e.APIError }

// Message returns an operator-facing description in lang ("ru" or "en").
func (e *NotFoundError) Message(lang string) string {
	if isRU(lang) {
		return "Объект не найден в amoCRM (HTTP 404). Проверьте идентификатор и адрес аккаунта."
	}
	return "Not found in amoCRM (HTTP 404). Check the id and the account address."
}

// IsNotFound reports whether err is (or wraps) a 404 from amoCRM.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// IsStatus reports whether err carries an amoCRM HTTP response with status code.
func IsStatus(err error, code int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == code
}

// PaymentRequiredError is a 402: the account's plan does not allow the
// call (or the subscription has expired).
type PaymentRequiredError struct{ *APIError }

// Unwrap returns the underlying *APIError.
func (e *PaymentRequiredError) Unwrap() error { return e.APIError }

// Message returns an operator-facing description in lang ("ru" or "en").
func (e *PaymentRequiredError) Message(lang string) string {
	if isRU(lang) {
		return "Тариф аккаунта amoCRM не позволяет эту операцию или оплата просрочена (HTTP 402). Проверьте тариф и оплату."
	}
	return "The amoCRM plan does not allow this operation or the subscription has expired (HTTP 402). Check the plan and billing."
}

// UnauthorizedError means the account cannot be accessed with the current
// credentials: a 401 that persisted after one refresh, a 401 with a
// long-lived token, or a refresh token that was rejected. The integration
// must be re-authorised (or a new long-lived token issued).
type UnauthorizedError struct {
	// APIError is the 401 response, or nil when the failure came from the
	// token endpoint or the token store.
	*APIError
	// Reason says what failed, in English.
	Reason string
	// Err is the cause, for example a *RefreshError.
	Err error
}

// Error implements error.
func (e *UnauthorizedError) Error() string {
	msg := "amocrm: unauthorized"
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.APIError != nil {
		msg += ": " + strings.TrimPrefix(e.APIError.Error(), "amocrm: ")
	}
	if e.Err != nil {
		msg += ": " + strings.TrimPrefix(e.Err.Error(), "amocrm: ")
	}
	return msg
}

// Unwrap returns the causes (the *APIError and/or Err).
func (e *UnauthorizedError) Unwrap() []error {
	var out []error
	if e.APIError != nil {
		out = append(out, e.APIError)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// Message returns an operator-facing description in lang ("ru" or "en").
func (e *UnauthorizedError) Message(lang string) string {
	var uh *UntrustedHostError
	if errors.As(e.Err, &uh) {
		return uh.Message(lang)
	}
	var re *RefreshError
	revoked := errors.As(e.Err, &re) && re.InvalidGrant()
	if isRU(lang) {
		if revoked {
			return "Токен обновления amoCRM отозван или истёк. Переподключите интеграцию в настройках (нужна повторная авторизация)."
		}
		return "amoCRM отклонил авторизацию (HTTP 401). Переподключите интеграцию или выпустите новый долгосрочный токен."
	}
	if revoked {
		return "The amoCRM refresh token was revoked or has expired. Reconnect the integration (re-authorisation required)."
	}
	return "amoCRM rejected the credentials (HTTP 401). Reconnect the integration or issue a new long-lived token."
}

// RefreshError is a failure of the OAuth token endpoint while exchanging a
// code or refreshing a token.
type RefreshError struct {
	*APIError
	// Code is the OAuth error code when given ("invalid_grant", ...).
	Code string
}

// Error implements error.
func (e *RefreshError) Error() string {
	msg := "amocrm: token request failed"
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	if e.APIError != nil {
		msg += ": " + strings.TrimPrefix(e.APIError.Error(), "amocrm: ")
	}
	return msg
}

// Unwrap returns the underlying *APIError.
func (e *RefreshError) Unwrap() error {
	if e.APIError == nil {
		return nil
	}
	return e.APIError
}

// InvalidGrant reports whether the refresh token (or code) was rejected as
// revoked, expired or already used: retrying will not help.
func (e *RefreshError) InvalidGrant() bool {
	if e.Code == "invalid_grant" {
		return true
	}
	if e.APIError == nil {
		return false
	}
	h := strings.ToLower(e.Hint + " " + e.Detail)
	return strings.Contains(h, "revoked") || strings.Contains(h, "expired") ||
		e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusBadRequest
}

// RateLimitError is a 429 from amoCRM that the client gave up retrying
// (retries exhausted or the context would expire first).
type RateLimitError struct {
	*APIError
	retryAfter time.Duration
}

// RetryAfter returns how long to wait before trying again.
func (e *RateLimitError) RetryAfter() time.Duration { return e.retryAfter }

// Error implements error.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("amocrm: rate limited (429), retry after %s: %s", e.retryAfter, strings.TrimPrefix(e.APIError.Error(), "amocrm: "))
}

// Unwrap returns the underlying *APIError.
func (e *RateLimitError) Unwrap() error { return e.APIError }

// Message returns an operator-facing description in lang ("ru" or "en").
func (e *RateLimitError) Message(lang string) string {
	if isRU(lang) {
		return fmt.Sprintf("Превышен лимит запросов к amoCRM (7 в секунду). Повтор через %s.", e.retryAfter.Round(time.Second))
	}
	return fmt.Sprintf("The amoCRM request limit (7 per second) was exceeded. Retrying in %s.", e.retryAfter.Round(time.Second))
}

// BlockedError means the account's API access is blocked or throttled hard:
// amoCRM answered a 403 HTML page (a block after repeated overuse) or 429
// repeatedly. The client sends NO further requests for this account until
// its next probe (see BlockPolicy); RetryAfter returns the time until then.
type BlockedError struct {
	// StatusCode is the status that opened the circuit (403 or 429).
	StatusCode int
	// Until is when the client probes the account next: the circuit closes
	// when the probe gets an answer (see BlockPolicy).
	Until time.Time
	// Since is when the circuit opened.
	Since time.Time
	// Cause is the response that opened the circuit, if this error is the
	// one that opened it.
	Cause *APIError
	now   func() time.Time
}

// Error implements error.
func (e *BlockedError) Error() string {
	what := "repeated 429 Too Many Requests"
	if e.StatusCode == http.StatusForbidden {
		what = "403 Forbidden (API access blocked)"
	}
	return fmt.Sprintf("amocrm: account blocked after %s; next probe at %s", what, e.Until.UTC().Format(time.RFC3339))
}

// Unwrap returns the response that opened the circuit, if known.
func (e *BlockedError) Unwrap() error {
	if e.Cause == nil {
		return nil
	}
	return e.Cause
}

// RetryAfter returns the time until the next probe.
func (e *BlockedError) RetryAfter() time.Duration {
	now := time.Now
	if e.now != nil {
		now = e.now
	}
	d := e.Until.Sub(now())
	if d < 0 {
		return 0
	}
	return d
}

// Message returns an operator-facing description in lang ("ru" or "en").
func (e *BlockedError) Message(lang string) string {
	if isRU(lang) {
		if e.StatusCode == http.StatusForbidden {
			return "amoCRM заблокировал доступ к API аккаунта (HTTP 403) из-за превышения лимитов. Запросы приостановлены; " +
				"доступ проверяется пробным запросом (следующий в " + e.Until.UTC().Format("15:04:05 UTC") + "), и доставка продолжится сама. " +
				"Если блокировка не снимается, напишите в поддержку amoCRM: укажите IP сервера, поддомен и ID аккаунта."
		}
		return "amoCRM многократно ответил «слишком много запросов» (HTTP 429). Запросы к аккаунту приостановлены, чтобы избежать блокировки; " +
			"пробный запрос в " + e.Until.UTC().Format("15:04:05 UTC") + "."
	}
	if e.StatusCode == http.StatusForbidden {
		return "amoCRM blocked API access for the account (HTTP 403) after the limits were exceeded. Requests are paused; " +
			"a probe checks for access (next at " + e.Until.UTC().Format("15:04:05 UTC") + ") and delivery resumes by itself. " +
			"If the block stays, contact amoCRM support with the server IP, the subdomain and the account id."
	}
	return "amoCRM answered 429 Too Many Requests repeatedly. Requests to the account are paused to avoid a block; " +
		"next probe at " + e.Until.UTC().Format("15:04:05 UTC") + "."
}

// PauseError is returned by the default limiters' Wait, before anything is
// sent, when amoCRM pushed back (a 429 backoff or an open circuit's pause)
// and the pause ends after the request's deadline. Retry after RetryAfter;
// nothing reached amoCRM.
type PauseError struct {
	// Until is when the account's next request may start.
	Until time.Time
	now   func() time.Time
}

// Error implements error.
func (e *PauseError) Error() string {
	return "amocrm: requests to the account are paused until " + e.Until.UTC().Format(time.RFC3339Nano) +
		", after the request's deadline; nothing was sent"
}

// RetryAfter returns how long until the pause ends.
func (e *PauseError) RetryAfter() time.Duration {
	now := time.Now
	if e.now != nil {
		now = e.now
	}
	return max(e.Until.Sub(now()), 0)
}

// Message returns an operator-facing description in lang ("ru" or "en").
func (e *PauseError) Message(lang string) string {
	if isRU(lang) {
		return "Запросы к amoCRM приостановлены до " + e.Until.UTC().Format("15:04:05 UTC") + " после ответа «слишком много запросов»; запрос не отправлялся."
	}
	return "amoCRM requests are paused until " + e.Until.UTC().Format("15:04:05 UTC") + " after a «too many requests» answer; the request was not sent."
}

// OutcomeUnknownError is returned for a write (POST/PATCH/DELETE) whose
// outcome is unknown: the connection failed after the request was sent, or
// amoCRM answered 502/503/504, and the request may have been applied. The
// client never re-sends such a write; look the entity up (for example by a
// marker tag or field) before creating it again. A failure before the
// request was sent is a *NetworkError instead.
type OutcomeUnknownError struct {
	Method string
	Path   string
	// Err is the transport error or the *APIError of the 5xx response.
	Err error
}

// Error implements error.
func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("amocrm: %s %s: outcome unknown (the write may have been applied): %v", e.Method, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// Message returns an operator-facing description in lang ("ru" or "en").
func (e *OutcomeUnknownError) Message(lang string) string {
	if isRU(lang) {
		return "Связь с amoCRM прервалась во время записи; неизвестно, была ли запись выполнена. Перед повтором выполняется проверка на дубли."
	}
	return "The connection to amoCRM failed during a write; it is unknown whether it was applied. A duplicate check runs before any retry."
}

// UntrustedHostError is returned when subdomain discovery (after a refresh
// failed at the account's old address) names a host outside the amoCRM and
// Kommo domains (amocrm.ru, amocrm.com, kommo.com) that is not the
// configured account host either. The client keeps its base URL and sends
// no token to that host. It reaches the caller wrapped in the
// *UnauthorizedError of the failed refresh.
type UntrustedHostError struct {
	// Host is the host that was refused.
	Host string
	// Source says where it came from: "api_domain" (the access token's
	// claim, where discovery is asked) or "domain" / "subdomain" (the
	// discovery answer).
	Source string
}

// Error implements error.
func (e *UntrustedHostError) Error() string {
	return fmt.Sprintf("amocrm: subdomain discovery: %s %q is not an amoCRM account host (*.amocrm.ru, *.amocrm.com, *.kommo.com); the base URL is kept",
		e.Source, e.Host)
}

// Message returns an operator-facing description in lang ("ru" or "en").
func (e *UntrustedHostError) Message(lang string) string {
	if isRU(lang) {
		return fmt.Sprintf("amoCRM сообщил новый адрес аккаунта %q, но это не адрес amoCRM или Kommo; токены туда не отправляются. Проверьте адрес аккаунта (поддомен) в настройках и подключите интеграцию заново.", e.Host)
	}
	return fmt.Sprintf("amoCRM reported a new account address %q that is not an amoCRM or Kommo address; no token is sent there. Check the account address (subdomain) in the settings and reconnect the integration.", e.Host)
}

// NetworkError is a transport failure before the request left the
// machine: the name did not resolve, the connection was refused or timed
// out, the TLS handshake failed. amoCRM received nothing, so retrying is
// safe for every method, writes included; the client has already retried
// as often as its Backoff allows. Err is the transport error (errors.As
// finds *net.OpError, *net.DNSError, x509 and TLS errors in it).
type NetworkError struct {
	Method string
	Path   string
	Err    error
}

// Error implements error.
func (e *NetworkError) Error() string {
	return fmt.Sprintf("amocrm: %s %s: not sent (amoCRM received nothing): %v", e.Method, e.Path, e.Err)
}

// Unwrap returns the transport error.
func (e *NetworkError) Unwrap() error { return e.Err }

// Retryable reports that the request can be sent again: it never reached
// amoCRM.
func (e *NetworkError) Retryable() bool { return true }

// Message returns an operator-facing description in lang ("ru" or "en").
func (e *NetworkError) Message(lang string) string {
	if isRU(lang) {
		return "Не удалось связаться с amoCRM (сеть, DNS или TLS); запрос не был отправлен, его можно безопасно повторить. Проверьте доступ сервера в интернет и адрес аккаунта."
	}
	return "Could not reach amoCRM (network, DNS or TLS); the request was not sent and can be retried safely. Check the server's internet access and the account address."
}

// InvalidRequestError is returned before any request is sent when the input
// breaks an amoCRM limit (for example more than 40 custom field values in a
// complex lead).
type InvalidRequestError struct {
	// Index is the position of the offending item in the input, or -1.
	Index int
	// Reason explains the problem.
	Reason string
}

// Error implements error.
func (e *InvalidRequestError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("amocrm: invalid request: item %d: %s", e.Index, e.Reason)
	}
	return "amocrm: invalid request: " + e.Reason
}

// BatchError reports a chunked write that failed part-way: Done items (the
// first chunks) were written, the chunk starting at Done failed with Err,
// the rest were not sent.
type BatchError struct {
	Done int
	Err  error
}

// Error implements error.
func (e *BatchError) Error() string {
	return fmt.Sprintf("amocrm: batch failed after %d items: %v", e.Done, e.Err)
}

// Unwrap returns the error of the failed chunk.
func (e *BatchError) Unwrap() error { return e.Err }

func isRU(lang string) bool {
	return strings.HasPrefix(strings.ToLower(lang), "ru")
}

// TokenNotSavedError reports that an OAuth pair amoCRM issued is in use but
// the TokenStore has not stored it: a save failed and is being retried.
// Requests keep working with the pair; but a process that exits before a
// save succeeds loses it, and since amoCRM revoked the previous refresh
// token when it issued this pair, the integration would then have to be
// authorised again. Client.TokenSaveErr returns it while that lasts;
// ExchangeCode and RefreshToken return it along with the new pair.
type TokenNotSavedError struct {
	// Since is when the store stopped holding the pair in use: when amoCRM
	// issued the first pair that could not be saved (a later refresh of an
	// unsaved pair keeps Since).
	Since time.Time
	// Attempts is how many saves have failed since then.
	Attempts int
	// NextAttempt is the earliest time a request, a refresh or
	// Client.SaveToken retries the save.
	NextAttempt time.Time
	// ExpiresAt is when the pair's access token expires.
	ExpiresAt time.Time
	// Err is the latest save error, with token values redacted.
	Err error
}

// Error implements error.
func (e *TokenNotSavedError) Error() string {
	return fmt.Sprintf("amocrm: token pair issued at %s is in use but not saved (%d failed attempts): %v",
		e.Since.UTC().Format(time.RFC3339), e.Attempts, e.Err)
}

// Unwrap returns the latest save error.
func (e *TokenNotSavedError) Unwrap() error { return e.Err }

// Message returns an operator-facing description in lang ("ru" or "en").
func (e *TokenNotSavedError) Message(lang string) string {
	if isRU(lang) {
		return fmt.Sprintf("Новая пара токенов amoCRM, полученная %s, используется, но не сохранена в хранилище (неудачных попыток: %d; последняя ошибка: %v). Сохранение повторяется автоматически. Не перезапускайте процесс, пока оно не пройдёт: иначе пара будет потеряна и интеграцию придётся авторизовать заново.",
			e.Since.UTC().Format("02.01.2006 15:04:05 UTC"), e.Attempts, e.Err)
	}
	return fmt.Sprintf("A new amoCRM token pair, issued at %s, is in use but not saved in the store (%d failed attempts; latest error: %v). The save is retried automatically. Do not restart the process until it succeeds: the pair would be lost and the integration would have to be authorised again.",
		e.Since.UTC().Format(time.RFC3339), e.Attempts, e.Err)
}
