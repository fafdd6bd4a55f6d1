package app

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/examples/server/internal/doctor"
)

// serverChecks are the checks of the server itself: the configuration, the
// store, the disk, the components, the public URL and each amoCRM
// account's clock.
func (a *App) serverChecks() []chatter.Check {
	hc := &http.Client{Timeout: 10 * time.Second}
	out := []chatter.Check{
		chatter.CheckFunc("server.config", a.configCheck),
		chatter.CheckFunc("server.store", a.storeCheck),
		chatter.CheckFunc("server.components", a.componentsCheck),
		doctor.DiskSpace(a.cfg.DataDir),
		doctor.PublicURL(hc, a.publicURL(), a.instance, a.webhooksUsed()),
	}
	seen := map[string]bool{}
	for _, w := range a.allWorkspaces() {
		target := w.cfg.AmoCRM.BaseURL
		if target == "" {
			target = "https://" + w.amo.Subdomain()
			if !strings.Contains(w.amo.Subdomain(), ".") {
				target += ".amocrm.ru"
			}
		}
		if seen[target] {
			continue
		}
		seen[target] = true
		out = append(out, doctor.ClockSkew(hc, target, a.now))
	}
	return out
}

func (a *App) webhooksUsed() bool {
	for _, w := range a.allWorkspaces() {
		if w.cfg.AmoCRM.Webhooks {
			return true
		}
		for _, b := range w.cfg.Bots {
			if b.Mode == config.ModeWebhook && !b.Disabled {
				return true
			}
		}
	}
	return false
}

// configCheck reports the configuration's warnings (errors stop the start,
// so a running server has none).
func (a *App) configCheck(context.Context) chatter.CheckResult {
	r := chatter.CheckResult{Title: chatter.T("Конфигурация", "Configuration"), Status: chatter.StatusOK, Guide: doctor.GuideSystem}
	ps := a.Config().Validate()
	if len(ps) == 0 {
		return r
	}
	r.Details = map[string]string{}
	for i, p := range ps {
		r.Details[strconv.Itoa(i+1)+" "+p.Path] = p.Message.EN
	}
	r.Status = chatter.StatusWarn
	if ps.HasErrors() {
		r.Status = chatter.StatusFail
	}
	r.Cause = chatter.T(ps.Render("ru"), ps.Render("en"))
	r.Remedy = chatter.T("Исправьте перечисленные ключи конфигурации (chatter config check покажет их снова).",
		"Fix the listed configuration keys (chatter config check shows them again).")
	return r
}

func (a *App) storeCheck(ctx context.Context) chatter.CheckResult {
	r := chatter.CheckResult{Title: chatter.T("База данных доступна", "The database answers"), Status: chatter.StatusOK,
		Guide: chatter.GuideSlow, Details: map[string]string{"kind": a.store.Kind()}}
	start := time.Now()
	if err := a.store.Ping(ctx); err != nil {
		r.Status = chatter.StatusFail
		r.Cause = chatter.T("база данных не отвечает: "+err.Error(), "the database does not answer: "+err.Error())
		r.Remedy = chatter.T("Проверьте, что база данных запущена и доступна по адресу из конфигурации (store).",
			"Check that the database runs and is reachable at the configured address (store).")
		return r
	}
	d := time.Since(start)
	r.Details["ping"] = d.Round(time.Microsecond).String()
	if d > time.Second {
		r.Status = chatter.StatusWarn
		r.Cause = chatter.T("база данных отвечает медленно: "+d.Round(time.Millisecond).String(), "the database answers slowly: "+d.Round(time.Millisecond).String())
		r.Remedy = chatter.T("Проверьте нагрузку на сервер базы данных и место на диске.", "Check the database server's load and disk space.")
	}
	st := a.events.Stats()
	if st.Dropped > 0 {
		r.Details["events_dropped"] = strconv.FormatInt(st.Dropped, 10)
	}
	return r
}

// componentsCheck fails while a part of the server (a bot, the parser, the
// workers) is down and being restarted.
func (a *App) componentsCheck(context.Context) chatter.CheckResult {
	r := chatter.CheckResult{Title: chatter.T("Компоненты сервера работают", "The server's components run"), Status: chatter.StatusOK,
		Guide: doctor.GuideSystem, Details: map[string]string{}}
	var failed []string
	for _, c := range a.Components() {
		r.Details[c.Name] = string(c.State)
		if c.State == StateFailed {
			failed = append(failed, fmt.Sprintf("%s: %s", c.Name, c.LastError))
		}
	}
	if len(failed) > 0 {
		r.Status = chatter.StatusFail
		list := strings.Join(failed, "; ")
		r.Cause = chatter.T("перезапускаются после ошибки: "+list, "restarting after an error: "+list)
		r.Remedy = chatter.T("Посмотрите проверки этих компонентов ниже и журнал (Администрирование → Логи).",
			"See those components' checks below and the log (Administration → Logs).")
	}
	return r
}
