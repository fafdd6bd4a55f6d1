package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/web"
)

// webHandler serves the admin UI on every path the app's machine endpoints
// do not take. Password-reset links go out through the SMTP server of the
// first workspace that has one, looked up at each send (settings change).
var webHandler = func(a *app.App) http.Handler {
	return web.New(a, web.Config{Mailer: web.MailerFunc(func(ctx context.Context, to, subject, text string) error {
		send := a.MailFunc()
		if send == nil {
			return errNoSMTP
		}
		return send(ctx, to, subject, text)
	})})
}

var errNoSMTP = errors.New("no workspace has an SMTP server configured (notifications.smtp): the reset link was not sent")
