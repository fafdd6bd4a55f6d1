package web

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/examples/server/internal/demo"
)

// mappingBrowserLogin signs the administrator in through Chromium.
func mappingBrowserLogin(t *testing.T, ctx context.Context, f *fixture) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(f.h.URL+"/login"),
		chromedp.WaitVisible("#login"),
		chromedp.SendKeys("#login", "admin"),
		chromedp.SendKeys("#password", goodPassword),
		chromedp.Click(`form[action="/login"] button[type="submit"]`),
		chromedp.WaitVisible(`nav`),
	))
}

func mappingShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(artifactsDir(t), name+".png"), buf, 0o644))
}

// TestMappingEditorInABrowser: in Chromium, a mapping with a misspelt
// field is checked and the error shown at its line (the link selects the
// line in the editor), then the fixed mapping creates a test lead whose
// fields amoCRM stored; the lead is in the fake. No page is wider than the
// 375 px phone.
func TestMappingEditorInABrowser(t *testing.T) {
	ctx := browserContext(t)
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	mappingBrowserLogin(t, ctx, f)
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		require.NoError(t, err)
		return strings.Join(strings.Fields(s), " ")
	}

	bad, line := mappingTypo(t)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(f.h.URL+"/mapping"),
		chromedp.WaitVisible("#spec"),
		chromedp.SetValue("#spec", bad),
		chromedp.Click(`button[formaction="/mapping/check"]`),
		chromedp.WaitVisible("#mapping-problems"),
	))
	problem := text("#mapping-problems li.spec-problem")
	require.Contains(t, problem, "строка "+strconv.Itoa(line))
	require.Contains(t, problem, "поле \"Коментарий\" не найдено")
	require.Contains(t, problem, "Может быть: «Комментарий»")
	require.Equal(t, "- name: Коментарий", text("#mapping-listing li.bad"))
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	require.NoError(t, err)
	require.LessOrEqual(t, width, 375, "the editor with its errors fits the phone")
	mappingShot(t, ctx, "mapping-error")

	// The line link selects the line in the editor.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click("a.spec-line-ref")))
	sel, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function(){var e=document.getElementById("spec");return e.value.substring(e.selectionStart,e.selectionEnd)})()`))
	require.NoError(t, err)
	require.Equal(t, "    - name: Коментарий", sel)

	// Fixed: the test lead is created and read back.
	before := len(f.h.Env.AmoCRM.Leads())
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue("#spec", string(demo.MappingYAML)),
		chromedp.Click(`button[formaction="/mapping/test-lead"]`),
		chromedp.WaitVisible("#mapping-test-result"),
	))
	res := text("#mapping-test-result")
	require.Regexp(t, `^Создана тестовая сделка #\d+\. Контакт #\d+\. amoCRM сохранил все поля так, как они были отправлены\.`, res)
	fields := text("#mapping-test-fields")
	require.Contains(t, fields, "[ТЕСТ] Тест Образцов")
	require.Contains(t, fields, "chatter-test")
	require.Contains(t, fields, "Telegram бот")
	width, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	require.NoError(t, err)
	require.LessOrEqual(t, width, 375)
	mappingShot(t, ctx, "mapping-test-lead")

	leads := f.h.Env.AmoCRM.Leads()
	require.Len(t, leads, before+1)
	created := leads[len(leads)-1]
	require.True(t, strings.HasPrefix(created.Name, "[ТЕСТ] Тест Образцов: "), created.Name)
	require.Contains(t, created.Tags, "chatter-test")
	require.Contains(t, res, "#"+strconv.FormatInt(created.ID, 10))
}

// TestAmoCRMConnectInABrowser: "Подключить amoCRM" reaches the consent
// page in Chromium (the page's form-action allows its origin: a redirect
// after a form post is checked against it), and the amoCRM page fits the
// phone.
func TestAmoCRMConnectInABrowser(t *testing.T) {
	ctx := browserContext(t)
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	integ := amocrmtest.DefaultIntegration()
	wc := f.amoWorkspace(t)
	wc.AmoCRM.LongLivedToken = ""
	wc.AmoCRM.OAuth = config.OAuth{ClientID: integ.ClientID, ClientSecret: integ.ClientSecret, RedirectURL: integ.RedirectURI,
		AuthURL: f.h.Env.AmoCRM.URL + "/oauth"}
	require.NoError(t, f.h.App.UpdateWorkspace(t.Context(), wc, "test"))
	mappingBrowserLogin(t, ctx, f)

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(f.h.URL+"/amocrm"), chromedp.WaitVisible("#amo-oauth")))
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	require.NoError(t, err)
	require.LessOrEqual(t, width, 375)
	mappingShot(t, ctx, "amocrm-oauth")

	require.NoError(t, chromedp.Do(ctx, chromedp.Click(`form[action="/amocrm/connect"] button`)))
	var loc string
	require.Eventually(t, func() bool {
		loc, err = chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
		return err == nil && strings.HasPrefix(loc, f.h.Env.AmoCRM.URL+"/oauth?")
	}, 30*time.Second, 100*time.Millisecond, "the browser went to the consent page (at %s)", loc)
	require.Contains(t, loc, "client_id="+integ.ClientID)
	require.Contains(t, loc, "state=")
}
