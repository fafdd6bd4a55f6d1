package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// commonFlags are the flags every subcommand that reads the configuration
// takes.
type commonFlags struct {
	config string
	data   string
}

func (c *commonFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.config, "config", getenv("CHATTER_CONFIG"), "файл конфигурации YAML (config file; env CHATTER_CONFIG)")
	fs.StringVar(&c.data, "data", "", "каталог данных (data directory; env CHATTER_DATA_DIR, default ./chatter-data)")
}

// load reads the configuration: flags > environment > file > defaults. It
// prints the warnings and returns an error listing every problem when there
// are errors.
func (e *env) load(c commonFlags, flags []config.Flag) (*config.Config, error) {
	cfg, probs := e.loadProblems(c, flags)
	return cfg, e.report(probs)
}

// loadProblems reads the configuration and returns its problems unprinted.
func (e *env) loadProblems(c commonFlags, flags []config.Flag) (*config.Config, config.Problems) {
	if c.data != "" {
		flags = append(flags, config.Flag{Name: "-data", Path: "data_dir", Value: c.data})
	}
	l := config.Loader{Getenv: e.getenv, Environ: os.Environ(), Flags: flags}
	return l.Load(c.config)
}

// report prints the warnings of probs and returns an error when it has
// errors (after printing them all, in both languages).
func (e *env) report(probs config.Problems) error {
	for _, p := range probs.Warnings() {
		fmt.Fprintln(e.stderr, p.Text("ru"), "/", p.Text("en"))
	}
	if probs.HasErrors() {
		fmt.Fprintln(e.stderr, probs.Errors().Render("ru"))
		fmt.Fprintln(e.stderr, probs.Errors().Render("en"))
		return errors.New("конфигурация с ошибками, сервер не запущен (the configuration has errors; not started)")
	}
	return nil
}

// logger builds the process log (stderr) from the configuration.
func (e *env) logger(cfg *config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cmpOr(cfg.Log.Level, "info")))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(e.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(e.stderr, opts))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (e *env) serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c commonFlags
	c.register(fs, e.getenv)
	addr := fs.String("addr", "", "адрес HTTP (listen address; env CHATTER_HTTP_ADDR, default 127.0.0.1:8080)")
	demoMode := fs.Bool("demo", false, "демо: встроенные имитации amoCRM и Telegram (the demo; the default without -config)")
	demoRate := fs.Float64("demo-rate", 0.5, "демо: сообщений в секунду (demo messages per second)")
	demoSeed := fs.Uint64("demo-seed", 1, "демо: сценарий (demo script seed)")
	passive := fs.Bool("passive", false, "только HTTP, без обработчиков и источников (serve HTTP only, no workers or sources)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	demoSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "demo" {
			demoSet = true
		}
	})
	if !demoSet && c.config == "" {
		*demoMode = true
	}
	var flags []config.Flag
	if *addr != "" {
		flags = append(flags, config.Flag{Name: "-addr", Path: "http.addr", Value: *addr})
	}
	if *demoMode {
		return e.serveDemo(ctx, c, flags, demoOptions{rate: *demoRate, seed: *demoSeed})
	}
	cfg, err := e.load(c, flags)
	if err != nil {
		return err
	}
	log := e.logger(cfg)
	a, err := app.New(ctx, app.Options{Config: cfg, Version: version, Logger: log,
		Passive: *passive, Handler: webHandler})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("адрес %s занят или недоступен (cannot listen on %s): %w", cfg.HTTP.Addr, cfg.HTTP.Addr, err)
	}
	printBanner(e.stdout, a, cfg, ln.Addr().String(), nil)
	return a.Serve(ctx, ln)
}

// credentials are printed once at start when the server created an admin.
type credentials struct{ login, password string }

// printBanner tells the operator where the server is, in Russian with
// English in brackets.
func printBanner(w io.Writer, a *app.App, cfg *config.Config, addr string, admin *credentials) {
	var b strings.Builder
	url := "http://" + addr + "/"
	if cfg.HTTP.PublicURL != "" {
		url = strings.TrimSuffix(cfg.HTTP.PublicURL, "/") + "/"
	}
	fmt.Fprintf(&b, "Чаттер запущен (Chatter is running), версия %s\n", version)
	fmt.Fprintf(&b, "  Админка (admin UI):   %s\n", url)
	if admin != nil {
		fmt.Fprintf(&b, "  Логин (login):        %s\n", admin.login)
		fmt.Fprintf(&b, "  Пароль (password):    %s   — одноразовый, при входе смените (one-time: change it at first login)\n", admin.password)
	} else if has, err := a.Auth().HasAdmin(context.Background()); err == nil && !has {
		fmt.Fprintf(&b, "  Администратора ещё нет: откройте адрес выше (no administrator yet: open the address above), или: server user add -role admin\n")
	}
	dir, _ := filepath.Abs(cfg.DataDir)
	fmt.Fprintf(&b, "  Данные (data):        %s (%s)\n", dir, a.Store().Kind())
	fmt.Fprintf(&b, "  Пространства (workspaces): %s\n", strings.Join(a.WorkspaceIDs(), ", "))
	fmt.Fprintf(&b, "Остановить: Ctrl-C (stop with Ctrl-C)\n")
	_, _ = io.WriteString(w, b.String())
}
