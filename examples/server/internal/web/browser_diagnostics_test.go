package web

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// TestBrowserDiagnosticsFlagsARevokedToken: with the demo's amoCRM token
// revoked, Диагностика in Chromium flags the amoCRM authorisation problem
// with its remedy; after the workspace restarts, «Проверить снова» of that
// problem shows the set-up failing with the guide's remedy (new keys).
func TestBrowserDiagnosticsFlagsARevokedToken(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	waitSink(t, f)
	f.h.Env.AmoCRM.RevokeToken(f.h.Env.AmoCRMToken)

	d := newShotDriver(t, f.h.URL)
	d.login("admin", goodPassword)
	d.open("/diagnostics")
	group := `section[data-group="` + chatter.GuideAmoCRMAuth + `"]`
	require.Equal(t, 1, d.eval(`document.querySelector('`+group+`').dataset.status === "fail" ? 1 : 0`))
	tok := group + ` li[data-check="` + amocrmsink.CheckToken + `"]`
	require.Contains(t, d.text(tok+" .diag-cause"), "amoCRM отклонил токен")
	require.Contains(t, d.text(tok+" .diag-remedy"), "выпустите новый долгосрочный токен")
	require.Contains(t, d.text("#diag-problems"), "Токен amoCRM действителен")
	require.Zero(t, d.eval(`document.querySelectorAll("#diag-none").length`))
	d.fitsPhone()
	d.shoot("diagnostics-token-revoked")

	// The workspace restarts (its settings saved again): the amoCRM set-up
	// fails on the revoked token; the group's «Проверить снова» shows it.
	wc, _ := f.h.App.WorkspaceConfig(apptest.Workspace)
	require.NoError(t, f.h.App.UpdateWorkspace(context.Background(), wc, "test"))
	d.run(chromedp.Click(group+` form button[type="submit"]`), chromedp.WaitVisible(`main .alert`))
	require.Equal(t, "Проверки группы «Ошибка авторизации через amoCRM» выполнены заново.", d.text("main .alert"))
	setup := group + ` li[data-check="amocrm.setup.demo"]`
	require.Contains(t, d.text(setup+" .diag-remedy"), "Сгенерируйте новые ключи в amoCRM (Настройки → Интеграции)")
	d.fitsPhone()
	d.shoot("diagnostics-setup-failed")

	// The other pages of the section at phone width.
	d.open("/notifications")
	require.Equal(t, "Уведомления", d.text("h1"))
	d.fitsPhone()
	d.shoot("notifications")
}
