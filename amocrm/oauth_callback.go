package amocrm

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the OAuth callback parser.
const (
	maxCallbackCode  = 8 << 10
	maxCallbackState = 1 << 10
	maxCallbackError = 256
)

// OAuthCallback holds the parameters amoCRM passes to the redirect URI
// after the consent page.
type OAuthCallback struct {
	// Code is the authorization code for Client.ExchangeCode.
	Code string
	// State is the state given to AuthorizationURL; check it against the
	// one you issued before using Code.
	State string
	// Referer is the account host ("example.amocrm.ru"), lower case; pass
	// it to NewClient. It is "" when amoCRM sent none.
	Referer string
	// ClientID is the integration id amoCRM sent, if any.
	ClientID string
}

// OAuthCallbackError is returned by OAuthConfig.ParseCallback when the
// callback does not carry a usable authorization: the user refused
// (Denied), or a parameter is missing or invalid.
type OAuthCallbackError struct {
	// Denied is set when amoCRM passed an error (the user refused access).
	Denied bool
	// Param is the parameter at fault: "error", "code", "state",
	// "referer" or "client_id".
	Param string
	// Reason explains the problem, in English.
	Reason string
}

// Error implements error.
func (e *OAuthCallbackError) Error() string {
	return fmt.Sprintf("amocrm: OAuth callback: %s: %s", e.Param, e.Reason)
}

// Message returns an operator-facing description in lang ("ru" or "en").
func (e *OAuthCallbackError) Message(lang string) string {
	if isRU(lang) {
		if e.Denied {
			return "amoCRM не выдал доступ: пользователь отказал на странице подтверждения. Подключите amoCRM ещё раз и нажмите «Разрешить»."
		}
		return fmt.Sprintf("amoCRM вернул некорректный ответ при подключении (параметр %s). Начните подключение amoCRM заново.", e.Param)
	}
	if e.Denied {
		return "amoCRM did not grant access: the user refused on the consent page. Connect amoCRM again and choose Allow."
	}
	return fmt.Sprintf("amoCRM returned an invalid answer while connecting (parameter %s). Start connecting amoCRM again.", e.Param)
}

// ParseCallback reads the query of the request amoCRM redirects to after
// the consent page: code, state, referer and client_id, or error when the
// user refused. It checks that code and state are present and sane, that
// referer (where ExchangeCode will send the code and the client secret) is
// an amoCRM or Kommo account host, and that client_id, when both are known,
// is this integration's. Errors are *OAuthCallbackError. Checking State
// against the one issued remains the caller's job.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/oauth/step-by-step
func (cfg OAuthConfig) ParseCallback(q url.Values) (*OAuthCallback, error) {
	if e := q.Get("error"); e != "" {
		reason := "access refused"
		if len(e) <= maxCallbackError && printable(e) {
			reason = "access refused (" + e + ")"
		}
		return nil, &OAuthCallbackError{Denied: true, Param: "error", Reason: reason}
	}
	cb := &OAuthCallback{
		Code:     strings.TrimSpace(q.Get("code")),
		State:    q.Get("state"),
		ClientID: strings.TrimSpace(q.Get("client_id")),
	}
	switch {
	case cb.Code == "":
		return nil, &OAuthCallbackError{Param: "code", Reason: "missing"}
	case len(cb.Code) > maxCallbackCode || !printable(cb.Code) || strings.ContainsRune(cb.Code, ' '):
		return nil, &OAuthCallbackError{Param: "code", Reason: "not an authorization code"}
	case cb.State == "":
		return nil, &OAuthCallbackError{Param: "state", Reason: "missing"}
	case len(cb.State) > maxCallbackState || !printable(cb.State):
		return nil, &OAuthCallbackError{Param: "state", Reason: "too long or not printable"}
	case cfg.ClientID != "" && cb.ClientID != "" && cb.ClientID != cfg.ClientID:
		return nil, &OAuthCallbackError{Param: "client_id", Reason: "issued for another integration"}
	}
	if ref := strings.TrimSpace(q.Get("referer")); ref != "" {
		host := strings.ToLower(ref)
		if rest, ok := strings.CutPrefix(host, "https://"); ok {
			host = strings.TrimSuffix(rest, "/")
		}
		if !trustedHost(host, "") {
			return nil, &OAuthCallbackError{Param: "referer", Reason: fmt.Sprintf("%q is not an amoCRM or Kommo account host", truncate(ref, 100))}
		}
		cb.Referer = host
	}
	return cb, nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
