package web

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/tgparse"
)

// sourcesPages hands every page and form state of Источники to check
// (everyPage), in lang, on a server of its own: it adds bots, accounts and
// chats the other sections' pages should not see.
func sourcesPages(t *testing.T, check func(t *testing.T, name string, p *page), lang string) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	b := f.browser(t)
	b.signedIn("admin", goodPassword)
	b.post("/lang", url.Values{"lang": {lang}, "next": {"/"}})
	mb := f.browser(t)
	f.user(t, "ivan", auth.RoleManager, "demo")
	mb.signedIn("ivan", goodPassword)
	mb.post("/lang", url.Values{"lang": {lang}, "next": {"/"}})

	check(t, "sources", b.get("/sources"))
	check(t, "sources forbidden", mb.get("/sources"))
	bot := sourcesWS + "/bots/demo-bot"
	check(t, "bot", b.get(bot))
	check(t, "bot token tested", b.post(bot+"/check", nil))
	check(t, "bot token with errors", b.post(bot+"/token", url.Values{"token": {"nonsense"}}))
	check(t, "bot mode with errors", b.post(bot+"/mode", url.Values{"mode": {"webhook"}}))
	check(t, "bot disable with errors", b.post(bot+"/enabled", url.Values{"enabled": {"0"}}))
	check(t, "bot chat check with errors", b.post(bot+"/chats/check", url.Values{"chat_id": {"x"}}))
	check(t, "bot chat checked", b.post(bot+"/chats/check", url.Values{"chat_id": {"-1001"}}))
	check(t, "bot new", b.get(sourcesWS+"/bots/new"))
	check(t, "bot new with errors", b.post(sourcesWS+"/bots", url.Values{"mode": {"polling"}}))
	// Another bot's token: the warning and its confirmation.
	token, _ := f.h.Env.Bot.AddBot("other_" + lang + "_bot")
	check(t, "bot token of another bot", b.post(bot+"/token", url.Values{"token": {token}}))

	check(t, "account new", b.get(sourcesWS+"/accounts/new"))
	check(t, "account new with errors", b.post(sourcesWS+"/accounts", url.Values{"id": {"x"}, "phone": {"1"}}))
	acct := f.h.Env.ParserAccount
	check(t, "account without chats", srcAddAccount(t, b, acct.ID, acct.Phone, acct.APIID, acct.APIHash))
	check(t, "chats", b.get(sourcesWS+"/chats"))
	check(t, "chats with errors", b.post(sourcesWS+"/chats", url.Values{"chat": {"!!"}, "count": {"x"}}))
	check(t, "parser settings with errors", b.post(sourcesWS+"/parser", url.Values{"poll_interval": {"x"}, "max_chats": {"0"}}))
	g := f.h.Env.Groups[0]
	b.post(sourcesWS+"/chats", url.Values{"chat": {g.Ref}})
	f.srcAccountStatus(t, acct.ID, "not_logged_in")
	check(t, "chats with a parser", b.get(sourcesWS+"/chats"))
	check(t, "chat", b.get(sourcesWS+"/chat?ref="+url.QueryEscape(g.Ref)))
	check(t, "chat with errors", b.post(sourcesWS+"/chat/update", url.Values{"ref": {g.Ref}, "count": {"x"}}))
	check(t, "chat remove with errors", b.post(sourcesWS+"/chat/remove", url.Values{"ref": {g.Ref}}))
	page := sourcesWS + "/accounts/" + acct.ID
	check(t, "account not logged in", b.get(page))
	check(t, "account proxy checked", b.post(page+"/proxy/check", url.Values{"proxy": {"socks5://127.0.0.1:1"}}))
	check(t, "account proxy with errors", b.post(page+"/proxy", url.Values{"proxy": {"ftp://x"}}))
	check(t, "account disable with errors", b.post(page+"/enabled", url.Values{"enabled": {"0"}}))
	check(t, "login code step", srcCodeSent(t, b, acct.ID))
	check(t, "login code with errors", b.post(page+"/login/code", url.Values{"code": {"000"}}))
	u := f.h.Env.Telegram.AddUser("+79990000888", "pw_"+lang, "Пароль")
	f.h.Env.Telegram.SetPassword(u, "облако")
	srcAddAccount(t, b, "twofa", "+79990000888", acct.APIID, acct.APIHash)
	f.srcAccountStatus(t, "twofa", "not_logged_in")
	srcCodeSent(t, b, "twofa")
	p := b.post(sourcesWS+"/accounts/twofa/login/code", url.Values{"code": {f.h.Env.LoginCode("+79990000888")}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	check(t, "login password step", p)
	check(t, "login password with errors", b.post(sourcesWS+"/accounts/twofa/login/password", url.Values{"password": {"нет"}}))
	check(t, "login expired", b.post(page+"/login/password", url.Values{"password": {"x"}}))

	kw := sourcesWS + "/keywords"
	check(t, "keywords", b.get(kw))
	check(t, "keywords with errors", b.post(kw, url.Values{"rules": {"(a\n\"b"}, "apply_to": {"x"}}))
	srcParsed(t, f, 1, "Кто посоветует электрика?")
	srcParsed(t, f, 2, "Нужен ремонт кухни")
	check(t, "keywords dry run", b.post(kw+"/dryrun", url.Values{"rules": {"электрик*"}, "apply_to": {"parser"}, "days": {"7"}}))
	check(t, "keywords dry run with errors", b.post(kw+"/dryrun", url.Values{"rules": {"(a"}, "apply_to": {"parser"}, "days": {"0"}}))
}

// TestSourcesKeysExist: every sources.* key of the section's code and
// templates is in both catalogs, and so is every key made at run time from
// a state (prefix + value).
func TestSourcesKeysExist(t *testing.T) {
	c, err := loadCatalogs(catalogFS)
	require.NoError(t, err)
	has := func(lang, k string) bool {
		_, plain := c.by[lang][k]
		_, plural := c.by[lang][k+".one"]
		return plain || plural
	}
	keyRE := regexp.MustCompile(`"(sources\.[a-z0-9_.]+)"`)
	files, err := filepath.Glob("sources_*.go")
	require.NoError(t, err)
	tmpl, err := filepath.Glob("templates/sources*.html")
	require.NoError(t, err)
	found := 0
	for _, name := range append(append(files, tmpl...), "templates/layout/sources_parts.html") {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
			if strings.HasSuffix(m[1], ".") {
				continue
			}
			found++
			for _, lang := range languages {
				require.True(t, has(lang, m[1]), "%s: key %q missing in %s", name, m[1], lang)
			}
		}
	}
	require.Greater(t, found, 300)
	dynamic := map[string][]string{
		"sources.account.state.": {"stopped", "starting", "active", "flood_wait", "peer_flood", "banned", "session_revoked",
			"session_duplicated", "not_logged_in", "session_in_use", "proxy_failing", "failing"},
		"sources.chat.state.":        {"pending", "active", "retrying", "failed"},
		"sources.component.":         {"starting", "running", "failed", "stopped", "passive"},
		"sources.bot.member.":        {"creator", "administrator", "member", "restricted", "left", "kicked", "seen"},
		"sources.bot.mode.":          {"polling", "webhook"},
		"sources.bot.mode_set.":      {"polling", "webhook"},
		"sources.keywords.apply_to.": {"parser", "all"},
		"sources.login.via.":         {"app", "sms", "call", "flash_call", "missed_call", "email", "fragment_sms", "unknown"},
		"sources.bot.right.":         {"manage", "delete", "restrict", "promote", "info", "invite", "post", "edit", "pin", "send"},
	}
	for prefix, values := range dynamic {
		for _, v := range values {
			for _, lang := range languages {
				require.True(t, has(lang, prefix+v), "key %q missing in %s", prefix+v, lang)
			}
		}
	}
	for _, st := range []tgparse.AccountStatus{tgparse.StatusStopped, tgparse.StatusStarting, tgparse.StatusActive, tgparse.StatusFloodWait,
		tgparse.StatusPeerFlood, tgparse.StatusBanned, tgparse.StatusSessionRevoked, tgparse.StatusSessionDuplicated,
		tgparse.StatusNotLoggedIn, tgparse.StatusSessionInUse, tgparse.StatusProxyFailing, tgparse.StatusFailing} {
		require.Contains(t, dynamic["sources.account.state."], string(st))
	}
}
