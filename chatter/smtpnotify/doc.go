// Package smtpnotify is a chatter.Notifier that sends notifications by email
// over SMTP (STARTTLS or implicit TLS, with authentication), using
// github.com/wneessen/go-mail.
//
// Emails are in Russian, with the English text below it when Config.English
// is set, as a plain-text part and an HTML alternative. Recipients are chosen
// per notification type (Config.Recipients), falling back to Config.To.
//
// Quick start:
//
//	n, err := smtpnotify.New(smtpnotify.Config{
//		Host: "smtp.example.ru", Port: 587, // STARTTLS is required by default
//		Username: "chatter@example.ru", Password: password,
//		From: "Chatter <chatter@example.ru>",
//		To:   []string{"sales-head@example.ru"},
//		Recipients: map[chatter.NotificationType][]string{
//			chatter.NotifyAccountBlocked: {"admin@example.ru"},
//		},
//	})
//	if err != nil { ... }
//	err = n.TestSend(ctx)          // "send a test email" button
//	err = n.Notify(ctx, notification)
//
// Failures come back as *Error with a Kind (connect, tls, auth, rejected,
// send) and an operator message in Russian and English. Checks returns the
// diagnostics: the server is reachable, authentication works, and the sender
// domain publishes SPF and DKIM records (looked up through Config.Resolver).
//
// New refuses a bad Config with a *ConfigError (it wraps chatter.ErrInvalid)
// naming the field, with a Russian and English message.
//
// The password is never logged nor included in errors; Config and Notifier
// print and log (fmt, slog) with the password and the TLS settings
// redacted. A Notifier is safe for concurrent use; each Notify opens its own
// connection.
package smtpnotify
