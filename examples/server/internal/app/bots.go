package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/tgbot"
)

// botLeaseTTL is the lease a polling bot runs under: Telegram allows one
// getUpdates poller per bot (a second gets 409), so across instances exactly
// one polls, and another takes over within this long after it dies.
const botLeaseTTL = 30 * time.Second

// bot is one running Telegram bot of a workspace.
type bot struct {
	ws     *workspace
	cfg    config.Bot
	client *tgbot.Client
	src    *tgbot.Source
	secret string // the webhook's secret_token
}

func (w *workspace) buildBots(ctx context.Context) error {
	for _, bc := range w.cfg.Bots {
		if bc.Disabled {
			continue
		}
		opts := []tgbot.Option{tgbot.WithLogger(w.log)}
		if bc.APIURL != "" {
			opts = append(opts, tgbot.WithBaseURL(bc.APIURL))
		}
		client, err := tgbot.NewClient(bc.Token, opts...)
		if err != nil {
			return fmt.Errorf("workspace %s: bot %s: %w", w.id, bc.ID, err)
		}
		b := &bot{ws: w, cfg: bc, client: client}
		mode := tgbot.ModePolling
		if bc.Mode == config.ModeWebhook {
			mode = tgbot.ModeWebhook
			b.secret = bc.WebhookSecret
			if b.secret == "" {
				// A secret of our own, kept (sealed) in the store so that
				// every instance checks the same one.
				if b.secret, err = w.app.secretSetting(ctx, w.id, "bot/"+bc.ID+"/webhook-secret"); err != nil {
					return fmt.Errorf("workspace %s: bot %s: %w", w.id, bc.ID, err)
				}
			}
		}
		src, err := tgbot.NewSource(tgbot.Config{
			Client: client, Workspace: w.id, Mode: mode, AllowedUpdates: bc.AllowedUpdates,
			SecretToken: b.secret, WebhookURL: b.webhookURL(), MaxBodyBytes: w.app.cfg.HTTP.MaxBodyBytes,
			Notifier: w.app.notifierOf(w.id), Logger: w.log.With(slog.String("bot", bc.ID)), Clock: w.app.now,
		})
		if err != nil {
			return fmt.Errorf("workspace %s: bot %s: %w", w.id, bc.ID, err)
		}
		b.src = src
		w.bots = append(w.bots, b)
	}
	return nil
}

// webhookURL is the address Telegram posts this bot's updates to ("" in
// polling mode or without a public URL: then the webhook is not
// registered by the server).
func (b *bot) webhookURL() string {
	base := b.ws.app.publicURL()
	if b.cfg.Mode != config.ModeWebhook || base == "" {
		return ""
	}
	return base + "/telegram/" + b.ws.id + "/" + b.cfg.ID
}

func (b *bot) name() string { return "bot:" + b.ws.id + "/" + b.cfg.ID }

// run runs the bot's source into the pipeline. A polling bot runs under
// the bot's lease; a webhook bot runs on every instance (each serves the
// webhook endpoint; registering the same webhook again is harmless).
func (b *bot) run(ctx context.Context) error {
	h := b.ws.app.pipeline
	if b.cfg.Mode == config.ModeWebhook {
		return b.src.Run(ctx, h)
	}
	return chatter.HoldLease(ctx, b.ws.app.store, b.ws.id, "bot:"+b.cfg.ID, b.ws.app.holder, botLeaseTTL,
		func(ctx context.Context, _ *chatter.Lease) error { return b.src.Run(ctx, h) })
}

// webhook serves POST /telegram/{workspace}/{bot}.
func (b *bot) webhook() http.Handler { return b.src.WebhookHandler() }

func (b *bot) checks() []chatter.Check {
	cc := tgbot.CheckConfig{Client: b.client, Source: b.src, WebhookURL: b.webhookURL(), Clock: b.ws.app.now}
	if b.ws.app.opts.Offline {
		// Not running here: judge the bot by what Telegram says.
		cc.Source, cc.Mode = nil, tgbot.ModePolling
		if b.cfg.Mode == config.ModeWebhook {
			cc.Mode = tgbot.ModeWebhook
		}
	}
	cs := tgbot.Checks(cc)
	return renameChecks(cs, b.ws.id+"/"+b.cfg.ID, "бот "+b.cfg.ID, "bot "+b.cfg.ID)
}

// renameChecks makes the names of checks that exist once per bot or account
// unique, and says in their titles which one they are about.
func renameChecks(cs []chatter.Check, suffix, ru, en string) []chatter.Check {
	out := make([]chatter.Check, len(cs))
	for i, c := range cs {
		name := c.Name() + ":" + suffix
		out[i] = chatter.CheckFunc(name, func(ctx context.Context) chatter.CheckResult {
			r := c.Run(ctx)
			r.Name = name
			if !r.Title.IsZero() {
				r.Title = chatter.T(r.Title.RU+" ("+ru+")", r.Title.EN+" ("+en+")")
			}
			return r
		})
	}
	return out
}
