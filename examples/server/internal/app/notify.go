package app

import (
	"fmt"
	"log/slog"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/smtpnotify"
	"github.com/chatterhq/sdk/chatter/webhooknotify"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/tgbot"
)

// notifiers builds the workspace's notification routes: e-mail through the
// workspace's SMTP server, Telegram messages through one of its bots, and
// signed webhooks, each for the events it lists (all events when it lists
// none). The notifiers make one attempt per call: the durable notification
// jobs retry (see chatter.Pipeline). The webhooks reach public addresses
// only unless the server's notify.webhook.allow_private is on: their URLs
// are typed by the workspace's admins.
type notifiers struct {
	notifier chatter.Notifier // nil when nothing is configured
	smtp     *smtpnotify.Notifier
	hooks    []*webhooknotify.Notifier
	checks   []chatter.Check
}

func buildNotifiers(ws *config.Workspace, nc config.Notify, bots map[string]*tgbot.Client, log *slog.Logger) (*notifiers, error) {
	out := &notifiers{}
	routes := map[chatter.NotificationType][]chatter.Notifier{}
	var all []chatter.Notifier
	add := func(n chatter.Notifier, events []string) {
		if len(events) == 0 {
			all = append(all, n)
			return
		}
		for _, e := range events {
			t := chatter.NotificationType(e)
			routes[t] = append(routes[t], n)
		}
	}
	n := ws.Notifications
	if !n.SMTP.IsZero() && len(n.Email) > 0 {
		cfg := smtpnotify.Config{
			Host: n.SMTP.Host, Port: n.SMTP.Port, Security: smtpnotify.Security(n.SMTP.TLS),
			Username: n.SMTP.Username, Password: n.SMTP.Password, From: n.SMTP.From, English: n.SMTP.English,
			Recipients: map[chatter.NotificationType][]string{},
			Logger:     log,
		}
		for _, r := range n.Email {
			if len(r.Events) == 0 {
				cfg.To = append(cfg.To, r.To...)
				continue
			}
			for _, e := range r.Events {
				t := chatter.NotificationType(e)
				cfg.Recipients[t] = append(cfg.Recipients[t], r.To...)
			}
		}
		// smtpnotify routes by type itself: a type listed by routes with
		// events goes to them and to the routes without events (To); any
		// other type goes to To alone.
		for t, rs := range cfg.Recipients {
			cfg.Recipients[t] = append(rs, cfg.To...)
		}
		sn, err := smtpnotify.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("notifications.smtp: %w", err)
		}
		out.smtp = sn
		out.checks = append(out.checks, sn.Checks()...)
		all = append(all, sn)
	}
	for i, r := range n.Telegram {
		c := bots[r.Bot]
		if c == nil {
			return nil, fmt.Errorf("notifications.telegram[%d]: bot %q is not running", i, r.Bot)
		}
		tn, err := tgbot.NewNotifier(tgbot.NotifierConfig{Client: c, ChatIDs: []int64{r.ChatID}, Lang: r.Lang})
		if err != nil {
			return nil, fmt.Errorf("notifications.telegram[%d]: %w", i, err)
		}
		add(tn, r.Events)
	}
	for i, h := range n.Webhooks {
		wn, err := webhooknotify.New(webhooknotify.Config{URLs: []string{h.URL}, Secret: []byte(h.Secret), MaxAttempts: 1,
			AllowPrivate: nc.Webhook.AllowPrivate, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("notifications.webhooks[%d]: %w", i, err)
		}
		out.hooks = append(out.hooks, wn)
		out.checks = append(out.checks, wn.Check())
		add(wn, h.Events)
	}
	if len(all) == 0 && len(routes) == 0 {
		return out, nil
	}
	if len(routes) == 0 {
		out.notifier = chatter.Multi(all...)
		return out, nil
	}
	for t := range routes {
		routes[t] = append(routes[t], all...)
	}
	out.notifier = chatter.NewRouter(routes, all...)
	return out, nil
}
