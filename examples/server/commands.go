package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/examples/server/internal/doctor"
)

// open builds the App of a configuration for a command that does not serve
// (doctor, bundle, user, account): the store is opened and migrated, no
// worker or source starts.
func (e *env) open(ctx context.Context, c commonFlags) (*app.App, *config.Config, error) {
	cfg, err := e.load(c, nil)
	if err != nil {
		return nil, nil, err
	}
	a, err := app.New(ctx, app.Options{Config: cfg, Version: version,
		Logger: e.quietLogger(cfg), Offline: true})
	if err != nil {
		return nil, nil, err
	}
	return a, cfg, nil
}

// quietLogger logs warnings and errors only: the commands print their own
// output.
func (e *env) quietLogger(cfg *config.Config) *slog.Logger {
	c := *cfg
	if c.Log.Level == "" || c.Log.Level == "info" || c.Log.Level == "debug" {
		c.Log.Level = "warn"
	}
	return e.logger(&c)
}

func (e *env) doctor(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c commonFlags
	c.register(fs, e.getenv)
	asJSON := fs.Bool("json", false, "вывести JSON (print JSON)")
	url := fs.String("url", "", "адрес работающего сервера, например http://127.0.0.1:8080 (a running server's URL)")
	lang := fs.String("lang", "ru", "язык: ru или en (language)")
	verbose := fs.Bool("v", false, "подробно: детали всех проверок (details of every check)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	var rep *doctor.Report
	if *url != "" {
		var err error
		if rep, err = e.remoteDoctor(ctx, *url); err != nil {
			return err
		}
	} else {
		a, _, err := e.open(ctx, c)
		if err != nil {
			return err
		}
		defer a.Close()
		rep = a.Doctor(ctx)
	}
	var err error
	if *asJSON {
		err = rep.WriteJSON(e.stdout)
	} else {
		err = rep.WriteText(e.stdout, *lang, *verbose)
	}
	if err != nil {
		return err
	}
	if code := rep.ExitCode(); code != 0 {
		return exitCode(code)
	}
	return nil
}

// remoteGet fetches path from a running server, with the basic auth of
// CHATTER_HTTP_METRICS_BASIC_AUTH_USERNAME/PASSWORD when set.
func (e *env) remoteGet(ctx context.Context, base, path string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+path, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("адрес сервера (server URL): %w", err)
	}
	if u := e.getenv("CHATTER_HTTP_METRICS_BASIC_AUTH_USERNAME"); u != "" {
		req.SetBasicAuth(u, e.getenv("CHATTER_HTTP_METRICS_BASIC_AUTH_PASSWORD"))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("сервер недоступен (the server is unreachable): %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("сервер ответил %s (the server answered %s): доступ к /api/v1 задаётся как к /metrics (http.metrics)", resp.Status, resp.Status)
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error { defer b.cancel(); return b.ReadCloser.Close() }

func (e *env) remoteDoctor(ctx context.Context, base string) (*doctor.Report, error) {
	resp, err := e.remoteGet(ctx, base, "/api/v1/doctor")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return doctor.ReadJSON(resp.Body)
}

func (e *env) migrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c commonFlags
	c.register(fs, e.getenv)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	cfg, err := e.load(c, nil)
	if err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg, nil, e.quietLogger(cfg))
	if err != nil {
		return err
	}
	defer st.Close()
	where := cfg.SQLitePath()
	if cfg.UsePostgres() {
		where = "PostgreSQL"
		if s := cfg.Store.Postgres.Schema; s != "" {
			where += " (" + s + ")"
		}
	}
	fmt.Fprintf(e.stdout, "миграции применены (migrations applied): %s\n", where)
	return nil
}

func (e *env) bundle(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bundle", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c commonFlags
	c.register(fs, e.getenv)
	out := fs.String("o", "", "файл архива (output file; default chatter-bundle-<time>.zip)")
	url := fs.String("url", "", "взять архив у работающего сервера (fetch it from a running server)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	name := *out
	if name == "" {
		name = "chatter-bundle-" + time.Now().UTC().Format("20060102-150405") + ".zip"
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("архив (bundle): %w", err)
	}
	if *url != "" {
		resp, err := e.remoteGet(ctx, *url, "/api/v1/bundle")
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			resp.Body.Close()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(name)
			return err
		}
	} else {
		a, _, err := e.open(ctx, c)
		if err != nil {
			f.Close()
			os.Remove(name)
			return err
		}
		defer a.Close()
		err = a.WriteBundle(ctx, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(name)
			return err
		}
	}
	fmt.Fprintf(e.stdout, "архив для техподдержки (support bundle): %s — секретов в нём нет (it holds no secrets)\n", name)
	return nil
}

func (e *env) configCheck(args []string) error {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("config", e.getenv("CHATTER_CONFIG"), "файл конфигурации (config file)")
	lang := fs.String("lang", "ru", "язык: ru, en (language)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	hasErrors, err := config.Check(e.stdout, config.Loader{Getenv: e.getenv, Environ: os.Environ()}, *path, *lang)
	if err != nil {
		return err
	}
	if hasErrors {
		return exitCode(1)
	}
	return nil
}
