package app

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/doctor"
)

// Routes of the machine endpoints (the admin UI has the rest).
const (
	RouteTelegram  = "POST /telegram/{workspace}/{bot}"
	RouteAmoCRM    = "POST /amocrm/{workspace}/{secret}"
	RouteOAuth     = "GET /amocrm/oauth/callback"
	RouteHealth    = "GET /healthz"
	RouteReady     = "GET /readyz"
	RouteMetrics   = "GET /metrics"
	RouteDoctorAPI = "GET /api/v1/doctor"
	RouteBundleAPI = "GET /api/v1/bundle"
)

// routes builds the server's handler: the machine endpoints, then the
// admin UI for everything else, all behind the access log and panic
// recovery.
func (a *App) routes() (http.Handler, error) {
	ps := a.proxies
	nets, err := parseProxies(a.cfg.HTTP.Metrics.AllowedNetworks)
	if err != nil {
		return nil, err
	}
	g := guard{nets: nets, user: a.cfg.HTTP.Metrics.BasicAuth.Username, pass: a.cfg.HTTP.Metrics.BasicAuth.Password, ps: ps}
	mux := http.NewServeMux()
	mux.HandleFunc(RouteTelegram, a.telegramWebhook)
	mux.HandleFunc(RouteAmoCRM, a.amocrmWebhook)
	mux.HandleFunc(RouteOAuth, a.oauthCallback)
	mux.HandleFunc(RouteHealth, a.healthz)
	mux.HandleFunc(RouteReady, a.readyz)
	if a.cfg.HTTP.Metrics.Enabled {
		mux.Handle(RouteMetrics, g.wrap(a.metrics.Handler()))
	}
	mux.Handle(RouteDoctorAPI, g.wrap(http.HandlerFunc(a.doctorAPI)))
	mux.Handle(RouteBundleAPI, g.wrap(http.HandlerFunc(a.bundleAPI)))
	if a.opts.Handler != nil {
		mux.Handle("/", a.opts.Handler(a))
	}
	return accessLog(recoverer(mux, a.log), a.log, a.metrics, ps), nil
}

// badRequest answers a refused webhook request and puts a line on the
// event log (without the secret or the body).
func (a *App) badRequest(w http.ResponseWriter, r *http.Request, ws string, code int, ru, en string) {
	a.log.LogAttrs(r.Context(), slog.LevelWarn, "webhook request refused",
		slog.String(chatter.AttrCategory, chatter.CategorySource), slog.String(chatter.AttrWorkspace, cmpOr(ws, ServerWorkspace)),
		slog.String("route", r.Pattern), slog.Int("status", code), slog.String("reason", en),
		slog.String("remote_addr", r.RemoteAddr))
	http.Error(w, ru+" ("+en+")", code)
}

// telegramWebhook hands the request to the bot's webhook handler, which
// checks the secret token and answers 200 only after the message is
// durable.
func (a *App) telegramWebhook(w http.ResponseWriter, r *http.Request) {
	wsID, botID := r.PathValue("workspace"), r.PathValue("bot")
	ws := a.ws(wsID)
	if ws == nil {
		a.badRequest(w, r, "", http.StatusNotFound, "нет такого пространства", "no such workspace")
		return
	}
	for _, b := range ws.bots {
		if b.cfg.ID == botID {
			if b.src == nil || b.cfg.Mode != "webhook" {
				a.badRequest(w, r, wsID, http.StatusNotFound, "бот работает не через вебхук", "the bot does not use a webhook")
				return
			}
			sw := &statusWriter{ResponseWriter: w}
			b.webhook().ServeHTTP(sw, r)
			if sw.status >= 400 {
				// The SDK's handler answered (401 wrong secret, 413, 400):
				// it logged the details; the event log gets the refusal.
				a.log.LogAttrs(r.Context(), slog.LevelWarn, "telegram webhook request refused",
					slog.String(chatter.AttrCategory, chatter.CategorySource), slog.String(chatter.AttrWorkspace, wsID),
					slog.String("bot", botID), slog.Int("status", sw.status), slog.String("remote_addr", r.RemoteAddr))
			}
			return
		}
	}
	a.badRequest(w, r, wsID, http.StatusNotFound, "нет такого бота", "no such bot")
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(doctor.InstanceHeader, a.instance)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// Readiness is the answer of /readyz.
type Readiness struct {
	Ready      bool              `json:"ready"`
	Store      string            `json:"store"`
	Migrations string            `json:"migrations"`
	Workers    string            `json:"workers"`
	Components []ComponentStatus `json:"components"`
}

// Readiness reports whether the server can take messages: the store
// answers, its migrations were applied at start, and the delivery workers
// run (or the instance is passive).
func (a *App) Readiness(ctx context.Context) Readiness {
	rd := Readiness{Store: "ok", Migrations: "ok", Workers: "ok", Components: a.Components()}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		rd.Store = err.Error()
	}
	if !a.ready.Load() {
		rd.Workers = "starting or stopping"
	} else if !a.opts.Passive && a.sup.State("pipeline") != StateRunning {
		rd.Workers = string(a.sup.State("pipeline"))
	}
	rd.Ready = rd.Store == "ok" && rd.Workers == "ok"
	return rd
}

func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	rd := a.Readiness(r.Context())
	w.Header().Set("Content-Type", "application/json")
	if !rd.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(rd)
}

func (a *App) doctorAPI(w http.ResponseWriter, r *http.Request) {
	rep := a.Doctor(r.Context())
	w.Header().Set("Content-Type", "application/json")
	if err := rep.WriteJSON(w); err != nil && !errors.Is(err, context.Canceled) {
		a.log.Warn("doctor API: write", "err", err.Error())
	}
}

func (a *App) bundleAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="chatter-bundle-`+a.now().UTC().Format("20060102-150405")+`.zip"`)
	if err := a.WriteBundle(r.Context(), w); err != nil {
		a.log.Warn("bundle API: write", "err", err.Error())
	}
}
