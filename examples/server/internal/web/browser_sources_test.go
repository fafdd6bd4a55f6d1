package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/tgparse"
)

// TestSourcesInARealBrowser: in Chromium at 375 px, the bot's token test,
// the login wizard end to end against the demo's MTProto fake (the demo
// account: phone → code; an account with a cloud password: phone → code →
// password), and a keyword dry run showing what the new rules gain and
// lose. Full-page screenshots go to artifactsDir.
func TestSourcesInARealBrowser(t *testing.T) {
	ctx := browserContext(t)
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	shots := artifactsDir(t)
	shoot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		require.NoError(t, err)
		return strings.Join(strings.Fields(s), " ")
	}
	fits := func(what string) {
		t.Helper()
		width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		require.NoError(t, err)
		require.LessOrEqual(t, width, 375, "%s is wider than the phone", what)
	}
	run := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, actions...))
	}
	open := func(path string) {
		t.Helper()
		run(chromedp.Navigate(f.h.URL+path), chromedp.WaitReady("main"))
	}
	// click presses sel and waits for the next page (a new document).
	click := func(sel string) {
		t.Helper()
		before, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.timeOrigin`))
		require.NoError(t, err)
		run(chromedp.Click(sel))
		for start := time.Now(); ; {
			now, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.timeOrigin`))
			if err == nil && now != before {
				break
			}
			require.Less(t, time.Since(start), time.Minute, "no page after pressing %s", sel)
			time.Sleep(20 * time.Millisecond)
		}
		run(chromedp.WaitReady("main"))
	}
	submit := func(form string) {
		t.Helper()
		click(form + ` button[type="submit"]`)
	}

	run(chromedp.Navigate(f.h.URL+"/login"), chromedp.WaitVisible("#login"),
		chromedp.SendKeys("#login", "admin"), chromedp.SendKeys("#password", goodPassword),
		chromedp.Click(`form[action="/login"] button[type="submit"]`), chromedp.WaitVisible("nav"))

	// The overview and the bot's token test (getMe).
	open("/sources")
	fits("the overview")
	shoot("sources")
	open(sourcesWS + "/bots/demo-bot")
	submit(`form[action$="/check"]`)
	run(chromedp.WaitVisible("#result"))
	require.Contains(t, text("#result"), "Токен действителен: бот @"+f.h.Env.BotUsername)
	require.Contains(t, text("#privacy"), "включён")
	fits("the bot's page")
	shoot("bot-token-tested")

	// A parser account: added, a chat, then the wizard.
	acct := f.h.Env.ParserAccount
	addAccount := func(id, phone string) {
		t.Helper()
		open(sourcesWS + "/accounts/new")
		run(chromedp.SendKeys("#id", id), chromedp.SendKeys("#phone", phone),
			chromedp.SendKeys("#api_id", "17349"), chromedp.SendKeys("#api_hash", acct.APIHash))
		submit(`form[action$="/accounts"]`)
		require.Contains(t, text(".alert"), "Аккаунт "+id+" добавлен.")
	}
	addAccount(acct.ID, acct.Phone)
	open(sourcesWS + "/chats")
	run(chromedp.SendKeys("#chat", f.h.Env.Groups[0].Ref), chromedp.SendKeys("#count", "100"))
	submit(`form[action$="/chats"]`)
	require.Contains(t, text(".alert"), "добавлен")
	f.srcAccountStatus(t, acct.ID, tgparse.StatusNotLoggedIn)
	page := sourcesWS + "/accounts/" + acct.ID
	open(page)
	require.Equal(t, "нужен вход", text("#account-state"))
	fits("the account's page")
	shoot("account-not-logged-in")
	sendCode := func(page string) {
		t.Helper()
		for range 40 {
			open(page)
			submit(`form[action$="/login/send"]`)
			if s := text("main"); !strings.Contains(s, "уже используется другим экземпляром") {
				break
			}
		}
		run(chromedp.WaitVisible("#code"))
	}
	sendCode(page)
	require.Contains(t, text(".alert"), "Код отправлен на "+tgparse.MaskPhone(acct.Phone))
	shoot("login-code")
	run(chromedp.SendKeys("#code", "00000"))
	submit(`form[action$="/login/code"]`)
	require.Contains(t, text("#code-error"), "Неверный код подтверждения")
	run(chromedp.SendKeys("#code", f.h.Env.LoginCode(acct.Phone)))
	submit(`form[action$="/login/code"]`)
	require.Contains(t, text(".alert"), "Аккаунт demo-parser вошёл в Telegram")
	submit("form#restart")
	require.Contains(t, text(".alert"), "Парсер перезапущен.")
	f.srcAccountStatus(t, acct.ID, tgparse.StatusActive)
	open(page)
	require.Equal(t, "активен", text("#account-state"))
	shoot("login-signed-in")

	// Two-step verification: the password step.
	u := f.h.Env.Telegram.AddUser("+79990000555", "twofa_acc", "Двухэтапный")
	f.h.Env.Telegram.SetPassword(u, "облако-42")
	addAccount("twofa", "+79990000555")
	f.srcAccountStatus(t, "twofa", tgparse.StatusNotLoggedIn)
	sendCode(sourcesWS + "/accounts/twofa")
	run(chromedp.SendKeys("#code", f.h.Env.LoginCode("+79990000555")))
	submit(`form[action$="/login/code"]`)
	run(chromedp.WaitVisible("#password"))
	require.Contains(t, text(".alert"), "Включена двухэтапная проверка")
	run(chromedp.SendKeys("#password", "облако-42"))
	fits("the password step")
	shoot("login-password")
	submit(`form[action$="/login/password"]`)
	require.Contains(t, text(".alert"), "Аккаунт twofa вошёл в Telegram: Двухэтапный @twofa_acc.")
	shoot("login-password-signed-in")

	// A keyword dry run over stored messages.
	srcParsed(t, f, 900001, "Ищу мастера по укладке плитки")
	srcParsed(t, f, 900002, "Кто посоветует хорошего электрика?")
	open(sourcesWS + "/keywords")
	run(chromedp.SetValue("#rules", "ремонт*\nэлектрик*\n-продам"))
	click(`button[formaction$="/dryrun"]`)
	run(chromedp.WaitVisible("#dryrun"))
	require.Equal(t, "+1", text("#dr-gained"))
	require.Contains(t, text("#dr-gains"), "электрика")
	require.Contains(t, text("#dr-gains"), "принято правилом электрик*")
	require.NotEqual(t, "−0", text("#dr-lost"))
	require.Contains(t, text("#dr-losses"), "мастера по укладке плитки")
	fits("the dry run")
	shoot("keywords-dry-run")
}
