package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/examples/server/internal/demo"
)

type demoOptions struct {
	rate float64
	seed uint64
}

// serveDemo runs the server against the demo's in-process fakes, with a
// generator playing conversations into them. Everything lives in the data
// directory; a second start continues where the first stopped.
func (e *env) serveDemo(ctx context.Context, c commonFlags, flags []config.Flag, o demoOptions) error {
	cfg, probs := e.loadProblems(commonFlags{data: c.data}, flags)
	if probs.HasErrors() {
		return e.report(probs)
	}
	log := e.logger(cfg)
	denv, err := demo.Start(ctx, demo.Config{Dir: filepath.Join(cfg.DataDir, "demo"), Logger: log})
	if err != nil {
		return fmt.Errorf("демо не запустилось (the demo did not start): %w", err)
	}
	defer denv.Close()
	ws, err := denv.Workspace()
	if err != nil {
		return err
	}
	cfg.Workspaces = append(cfg.Workspaces, ws)
	// Everything of the demo runs on this machine, and so does a webhook
	// receiver one tries it with.
	cfg.Notify.Webhook.AllowPrivate = true
	cfg.SetDefaults()
	if err := e.report(cfg.Validate()); err != nil {
		return err
	}
	a, err := app.New(ctx, app.Options{Config: cfg, Version: version, Logger: log, Handler: webHandler,
		ParserEndpoint: denv.TelegramEndpoint, Notifier: logNotifier(log)})
	if err != nil {
		return err
	}
	defer a.Close()
	login, err := a.ParserLogin(demo.WorkspaceID)
	if err != nil {
		return err
	}
	if _, err := denv.SignInParser(ctx, login); err != nil {
		return fmt.Errorf("демо: вход аккаунта парсера (demo: the parser account's sign-in): %w", err)
	}
	admin, err := demoAdmin(ctx, a)
	if err != nil {
		return err
	}
	gen, err := demo.NewGenerator(denv, demo.GeneratorConfig{Seed: o.seed, Rate: o.rate, Logger: log})
	if err != nil {
		var se *demo.SeedError
		if errors.As(err, &se) {
			return errors.New(se.Message().String())
		}
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("адрес %s занят или недоступен (cannot listen on %s): %w", cfg.HTTP.Addr, cfg.HTTP.Addr, err)
	}
	printBanner(e.stdout, a, cfg, ln.Addr().String(), admin)
	fmt.Fprintf(e.stdout, "Демо (demo): %.2g сообщ./с в бота и в группы %s (messages per second into the bot and groups)\n",
		o.rate, groupRefs(denv))

	genCtx, stopGen := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := gen.Run(genCtx); err != nil && genCtx.Err() == nil {
			log.Error("demo generator stopped", "err", err.Error())
		}
	})
	err = a.Serve(ctx, ln)
	stopGen()
	wg.Wait()
	return err
}

func groupRefs(denv *demo.Env) string {
	var s string
	for i, g := range denv.Groups {
		if i > 0 {
			s += ", "
		}
		s += g.Ref
	}
	return s
}

// demoAdmin creates the demo's administrator with a one-time password
// when the store has no administrator yet.
func demoAdmin(ctx context.Context, a *app.App) (*credentials, error) {
	users := a.Auth()
	has, err := users.HasAdmin(ctx)
	if err != nil || has {
		// Created by an earlier start: its password is the one set then.
		return nil, err
	}
	pw, err := users.GenerateOneTimePassword()
	if err != nil {
		return nil, err
	}
	_, err = users.Create(ctx, auth.System("demo"), auth.NewUser{Login: "admin", Email: "admin@demo.chatter.local",
		DisplayName: "Администратор", Role: auth.RoleAdmin, Password: pw, MustChangePassword: true})
	if err != nil {
		return nil, fmt.Errorf("демо: администратор (demo: the administrator): %w", err)
	}
	return &credentials{login: "admin", password: pw}, nil
}

// logNotifier is the demo's notifier: notifications go to the log (and
// so the event log) instead of e-mail.
func logNotifier(log *slog.Logger) chatter.Notifier {
	return chatter.NotifierFunc(func(ctx context.Context, n *chatter.Notification) error {
		log.LogAttrs(ctx, slog.LevelInfo, "notification",
			slog.String(chatter.AttrCategory, chatter.CategoryNotify), slog.String(chatter.AttrWorkspace, n.Workspace),
			slog.String("type", string(n.Type)), slog.String("title", n.Title.RU))
		return nil
	})
}
