package smtpnotify

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"github.com/chatterhq/sdk/chatter"
)

// Kind says which step of sending failed.
type Kind string

// Kinds of failure.
const (
	KindConfig   Kind = "config"   // the configuration cannot work (bad address, no recipients)
	KindConnect  Kind = "connect"  // the server is unreachable or the connection broke
	KindTLS      Kind = "tls"      // STARTTLS missing, or the certificate was refused
	KindAuth     Kind = "auth"     // the server refused the user name or password
	KindRejected Kind = "rejected" // the server refused the sender, a recipient or the message
)

// ConfigError says which Config field New refuses and why. It wraps
// chatter.ErrInvalid (and the parse error, if any). Problems found while
// sending (a bad address given to Send) are *Error values of KindConfig.
type ConfigError struct {
	Field   string       // e.g. "Config.Host"
	Problem chatter.Text // what is wrong, in Russian and English
	Err     error        // the underlying error, or nil
}

func (e *ConfigError) Error() string { return "smtpnotify: " + e.Field + ": " + e.Problem.EN }

// Message explains the problem to an operator.
func (e *ConfigError) Message() chatter.Text {
	return chatter.T("Настройка почты "+e.Field+": "+e.Problem.RU, "Email setting "+e.Field+": "+e.Problem.EN)
}

// Unwrap returns chatter.ErrInvalid and the underlying error.
func (e *ConfigError) Unwrap() []error {
	if e.Err == nil {
		return []error{chatter.ErrInvalid}
	}
	return []error{chatter.ErrInvalid, e.Err}
}

func configErr(field, ru, en string, err error) error {
	return &ConfigError{Field: field, Problem: chatter.T(ru, en), Err: err}
}

// Error is a failure to send email.
type Error struct {
	Kind   Kind
	Server string // host:port
	Err    error  // never contains the password
}

func (e *Error) Error() string {
	if e.Server != "" {
		return fmt.Sprintf("smtpnotify: %s: %s: %v", e.Server, e.Kind, e.Err)
	}
	return fmt.Sprintf("smtpnotify: %s: %v", e.Kind, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ErrorClass maps the failure to a chatter.ErrorClass.
func (e *Error) ErrorClass() chatter.ErrorClass {
	switch e.Kind {
	case KindConnect:
		return chatter.ClassTransient
	case KindAuth:
		return chatter.ClassAuth
	default:
		return chatter.ClassPermanent
	}
}

// Message explains the failure to an operator, with the remedy.
func (e *Error) Message() chatter.Text {
	switch e.Kind {
	case KindConnect:
		return chatter.T(
			"Почтовый сервер "+e.Server+" недоступен. Проверьте адрес и порт SMTP (587 для STARTTLS, 465 для TLS) и что сервер Chatter может к нему подключиться.",
			"The mail server "+e.Server+" is unreachable. Check the SMTP host and port (587 for STARTTLS, 465 for TLS) and that the Chatter server can connect to it.")
	case KindTLS:
		return chatter.T(
			"Не удалось установить защищённое соединение с "+e.Server+". Проверьте режим шифрования (STARTTLS на 587, TLS на 465) и сертификат сервера.",
			"Could not establish a secure connection to "+e.Server+". Check the encryption mode (STARTTLS on 587, TLS on 465) and the server certificate.")
	case KindAuth:
		return chatter.T(
			"Почтовый сервер "+e.Server+" отклонил логин или пароль. Проверьте учётные данные; для Яндекса и Gmail нужен пароль приложения.",
			"The mail server "+e.Server+" refused the user name or password. Check the credentials; Yandex and Gmail need an app password.")
	case KindRejected:
		return chatter.T(
			"Почтовый сервер отклонил письмо: "+e.Err.Error()+". Проверьте адрес отправителя (он должен принадлежать учётной записи) и адреса получателей.",
			"The mail server rejected the email: "+e.Err.Error()+". Check the sender address (it must belong to the account) and the recipient addresses.")
	default:
		return chatter.T("Ошибка настройки почты: "+e.Err.Error(), "Email configuration error: "+e.Err.Error())
	}
}

// classifyDial sorts a go-mail dial error (connect + EHLO + STARTTLS + AUTH)
// into a Kind, by error type wherever go-mail exposes one.
func classifyDial(err error, authed bool) *Error {
	var (
		tpErr    *textproto.Error
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		opErr    *net.OpError
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostErr),
		errors.As(err, &recErr), errors.As(err, &alertErr):
		return &Error{Kind: KindTLS, Err: err}
	case errors.As(err, &tpErr):
		// 530 auth required, 534/535 credentials refused, 538 encryption required for auth.
		if authed && (tpErr.Code == 530 || tpErr.Code == 534 || tpErr.Code == 535 || tpErr.Code == 538) {
			return &Error{Kind: KindAuth, Err: err}
		}
		return &Error{Kind: KindRejected, Err: err}
	case errors.Is(err, gomail.ErrNoSupportedAuthDiscovered), errors.Is(err, gomail.ErrPlainAuthNotSupported),
		errors.Is(err, gomail.ErrLoginAuthNotSupported):
		return &Error{Kind: KindAuth, Err: err}
	case errors.As(err, &opErr):
		return &Error{Kind: KindConnect, Err: err}
	case strings.Contains(err.Error(), "STARTTLS"):
		// go-mail reports a server without STARTTLS with a plain fmt error.
		return &Error{Kind: KindTLS, Err: err}
	default:
		return &Error{Kind: KindConnect, Err: err}
	}
}
