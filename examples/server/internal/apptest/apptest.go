// Package apptest runs the reference server in tests: the demo's
// in-process fakes (amoCRM, the Bot API, Telegram's MTProto), a
// configuration with the demo workspace, the App on a random port, and
// optionally the conversation generator. Tests of the app, the web UI and
// the command line share it.
package apptest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/examples/server/internal/demo"
)

// Workspace is the id of the demo workspace.
const Workspace = demo.WorkspaceID

// Options configures Start.
type Options struct {
	// Dir is the data directory; a new temporary one when empty. Pass the
	// same Dir to a second Start to test a restart.
	Dir string
	// Configure changes the configuration before the app is built (the
	// demo workspace is Workspaces[0]).
	Configure func(cfg *config.Config)
	// Handler is the admin UI (app.Options.Handler).
	Handler func(a *app.App) http.Handler
	// Logger receives the app's log; nil is silent.
	Logger *slog.Logger
	// NoParser leaves the parser out (faster start; no MTProto sign-in).
	NoParser bool
	// NoRun builds the app without serving it (commands such as doctor).
	NoRun bool
	// Now is the app's clock (app.Options.Now); nil is time.Now.
	Now func() time.Time
	// Webhook runs the demo bot in webhook mode with the server's address
	// as http.public_url, so the fake Bot API posts updates to the
	// server's webhook endpoint.
	Webhook bool
}

// Harness is a running server with its fakes.
type Harness struct {
	App    *app.App
	Env    *demo.Env
	Config *config.Config
	// URL is the server's base URL (http://127.0.0.1:port).
	URL string
	Dir string

	stop context.CancelFunc
	done chan error
}

// Start starts the fakes and the server, and stops them at the test's end.
func Start(t testing.TB, o Options) *Harness {
	t.Helper()
	h, err := start(context.Background(), t, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Stop(t) })
	return h
}

func start(ctx context.Context, t testing.TB, o Options) (*Harness, error) {
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	h := &Harness{Dir: o.Dir}
	denv, err := demo.Start(ctx, demo.Config{Dir: o.Dir + "/demo", Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	h.Env = denv
	cfg, probs := config.Loader{Getenv: func(string) string { return "" }}.Load("")
	if probs.HasErrors() {
		denv.Close()
		return nil, probs.Err()
	}
	cfg.DataDir = o.Dir
	cfg.HTTP.Addr = "127.0.0.1:0"
	var ln net.Listener
	if !o.NoRun {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			denv.Close()
			return nil, err
		}
		h.URL = "http://" + ln.Addr().String()
	}
	fail := func(err error) (*Harness, error) {
		if ln != nil {
			ln.Close()
		}
		if h.App != nil {
			h.App.Close()
		}
		denv.Close()
		return nil, err
	}
	ws, err := denv.Workspace()
	if err != nil {
		return fail(err)
	}
	if o.NoParser {
		ws.Parser = config.Parser{}
	}
	if o.Webhook {
		cfg.HTTP.PublicURL = h.URL
		ws.Bots[0].Mode = config.ModeWebhook
	}
	cfg.Workspaces = []config.Workspace{ws}
	if o.Configure != nil {
		o.Configure(cfg)
	}
	cfg.SetDefaults()
	if probs := cfg.Validate(); probs.HasErrors() {
		return fail(probs.Err())
	}
	h.Config = cfg
	a, err := app.New(ctx, app.Options{Config: cfg, Version: "test", Logger: o.Logger, Handler: o.Handler, Now: o.Now,
		ParserEndpoint: denv.TelegramEndpoint, Offline: o.NoRun})
	if err != nil {
		return fail(err)
	}
	h.App = a
	if !o.NoParser && len(ws.Parser.Accounts) > 0 {
		login, err := a.ParserLogin(Workspace)
		if err == nil {
			_, err = denv.SignInParser(ctx, login)
		}
		if err != nil {
			return fail(fmt.Errorf("apptest: parser sign-in: %w", err))
		}
	}
	if o.NoRun {
		return h, nil
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	h.stop, h.done = stop, make(chan error, 1)
	go func() { h.done <- a.Serve(rctx, ln) }()
	return h, h.waitReady(ctx)
}

func (h *Harness) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		rd := h.App.Readiness(ctx)
		if rd.Ready {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("apptest: the server did not get ready: %+v", h.App.Readiness(ctx))
}

// Stop stops the server (gracefully), then the fakes, saving their state
// for a restart on the same Dir. It is safe to call twice.
func (h *Harness) Stop(t testing.TB) {
	t.Helper()
	if h.stop != nil {
		h.stop()
		if err := <-h.done; err != nil {
			t.Errorf("apptest: server: %v", err)
		}
		h.stop = nil
	}
	if h.App != nil {
		if err := h.App.Close(); err != nil {
			t.Errorf("apptest: close: %v", err)
		}
		h.App = nil
	}
	if h.Env != nil {
		if err := h.Env.Close(); err != nil {
			t.Errorf("apptest: demo fakes: %v", err)
		}
		h.Env = nil
	}
}
