package web

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
)

// TestLedgerInARealBrowser: the ledger filter by error class finds a dead
// message and replay delivers it. amoCRM refuses the message's lead (400:
// class permanent), the message goes dead; in Chromium the operator filters
// the ledger by that class, sees it, the cause is removed, they press
// replay, and the row turns delivered by the live update (the page is not
// reloaded: the replay's message stays). Full-page screenshots of each
// step, and the ledger, the message's page and the logs fit a 375 px
// phone.
func TestLedgerInARealBrowser(t *testing.T) {
	ctx := browserContext(t)
	f := startLedger(t)
	shots := artifactsDir(t)
	shoot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err)
		return strings.TrimSpace(s)
	}
	fits := func(path, name string) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(f.h.URL+path), chromedp.WaitReady("main")))
		width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		require.NoError(t, err)
		require.LessOrEqual(t, width, 375, "%s is wider than the phone", path)
		shoot(name)
	}

	f.delivered(t, "Здравствуйте! Нужен ремонт кухни под ключ")
	f.accept(t, groupMessage(apptest.Workspace, "Продам шкаф, почти новый"))
	remove := f.h.Env.AmoCRM.InjectFault(amocrmtest.Fault{Method: http.MethodPost, PathPrefix: "/api/v4/leads", Status: http.StatusBadRequest})
	m := f.accept(t, botMessage(apptest.Workspace, "Сколько стоит замена окон в квартире?"))
	e := f.entry(t, m, chatter.StateDead)
	require.Equal(t, chatter.ClassPermanent, e.ErrorClass)
	row := `tr[id="entry-` + m.Key.String() + `"]`

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(f.h.URL+"/login"),
		chromedp.WaitVisible("#login"),
		chromedp.SendKeys("#login", "ivan"),
		chromedp.SendKeys("#password", goodPassword),
		chromedp.Click(`form[action="/login"] button[type="submit"]`),
		chromedp.WaitVisible(`nav`),
		chromedp.Navigate(f.h.URL+"/deliveries"),
		chromedp.WaitVisible("#ledger"),
	))
	shoot("ledger")
	// Filter by the error class.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#class"), string(chatter.ClassPermanent)),
		chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)),
	))
	// The row is on the unfiltered page too: wait for the filtered one.
	waitFor(t, "the filtered ledger page", func() bool {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`location.search.includes("class=`+string(chatter.ClassPermanent)+`") && document.readyState === "complete" && document.querySelector("#ledger") !== null`))
		return err == nil && ok
	})
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(row))))
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#ledger tbody tr[id]").length`))
	require.NoError(t, err)
	require.Equal(t, 1, rows, "the dead message alone")
	require.Equal(t, "не доставлено", text(row+" .badge"))
	require.Contains(t, text(row), "CRM отклонила сообщение (permanent)")
	require.Contains(t, text(row), "Сколько стоит замена окон")
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#ledger-live-status`))))
	shoot("ledger-dead-by-class")

	// The message's page says why.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(row+" a.why")), chromedp.WaitVisible(chromedp.CSS("#entry-steps"))))
	require.Contains(t, text("#entry-steps"), "Не доставлено: попытки прекращены после ошибки «CRM отклонила сообщение»")
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	require.NoError(t, err)
	require.LessOrEqual(t, width, 375, "the message's page is wider than the phone")
	shoot("why-not-in-crm")
	require.NoError(t, chromedp.Do(ctx, chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS(row))))

	// The cause is fixed; replay.
	remove()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row+` form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".alert")),
	))
	require.Equal(t, "Сообщение "+m.Key.String()+" поставлено в очередь на повторную отправку.", text(".alert"))
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(row+" .badge.ok"))))
	require.Equal(t, "доставлено", text(row+" .badge"))
	require.Contains(t, text(row), "Сделка №")
	require.Equal(t, "Сообщение "+m.Key.String()+" поставлено в очередь на повторную отправку.", text(".alert"),
		"turned delivered by the live update, without a reload")
	shoot("ledger-replayed-delivered")
	require.Equal(t, chatter.StateDelivered, f.entry(t, m, chatter.StateDelivered).State)

	fits("/deliveries", "ledger-phone")
	fits("/admin/logs", "logs-phone")
	// Close the event streams before the server stops.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")))
}
