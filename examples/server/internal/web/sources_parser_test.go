package web

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/tgparse"
)

// srcAddAccount adds a parser account through the form.
func srcAddAccount(t *testing.T, b *browser, id, phone string, apiID int, apiHash string) *page {
	t.Helper()
	p := b.post(sourcesWS+"/accounts", url.Values{"id": {id}, "phone": {phone}, "api_id": {strconv.Itoa(apiID)}, "api_hash": {apiHash}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, sourcesWS+"/accounts/"+id, p.url.Path)
	return p
}

// srcAddDemoParser adds the demo's account and its first group through the
// pages (the fixture starts without a parser) and waits until the parser
// runs and finds the account not logged in.
func srcAddDemoParser(t *testing.T, f *fixture, b *browser) {
	t.Helper()
	acct := f.h.Env.ParserAccount
	p := srcAddAccount(t, b, acct.ID, acct.Phone, acct.APIID, acct.APIHash)
	require.Contains(t, p.alert(), "Аккаунт demo-parser добавлен.")
	require.Contains(t, p.srcText("#login"), "добавьте хотя бы один чат")
	require.Contains(t, p.srcText("#state"), "Добавить чат")
	p = b.post(sourcesWS+"/chats", url.Values{"chat": {f.h.Env.Groups[0].Ref}, "count": {"100"}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "Чат "+f.h.Env.Groups[0].Ref+" добавлен.")
	f.srcAccountStatus(t, acct.ID, tgparse.StatusNotLoggedIn)
}

// srcAccountStatus waits until the parser reports the account's status.
func (f *fixture) srcAccountStatus(t *testing.T, id string, want tgparse.AccountStatus) {
	t.Helper()
	var got tgparse.AccountStatus
	defer func() {
		if t.Failed() {
			t.Logf("components: %+v", f.h.App.Components())
			if rt, ok := f.h.App.Runtime(apptest.Workspace); ok && rt.Parser != nil {
				t.Logf("accounts: %+v", rt.Parser.Source.Snapshot().Accounts)
			}
		}
	}()
	srcEventually(t, "account "+id+" "+string(want), func() bool {
		rt, ok := f.h.App.Runtime(apptest.Workspace)
		if !ok || rt.Parser == nil {
			return false
		}
		for _, st := range rt.Parser.Source.Snapshot().Accounts {
			if st.Account == id {
				got = st.Status
			}
		}
		return got == want
	})
}

// srcSendCode presses "Отправить код", again while the parser's restart
// holds the session for a moment (the page says so: in use elsewhere).
func srcSendCode(t *testing.T, b *browser, id string) *page {
	t.Helper()
	var p *page
	for range 40 {
		p = b.post(sourcesWS+"/accounts/"+id+"/login/send", nil)
		if !strings.Contains(p.srcText("#result"), "уже используется другим экземпляром") {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	return p
}

// srcCodeSent is srcSendCode expecting the code to be sent.
func srcCodeSent(t *testing.T, b *browser, id string) *page {
	t.Helper()
	p := srcSendCode(t, b, id)
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Regexp(t, `^(Код отправлен на|The code was sent to) `, p.alert())
	return p
}

func TestSourcesAccountAdd(t *testing.T) {
	f, b := srcAdmin(t, fixtureOpts{})
	acct := f.h.Env.ParserAccount
	cases := []struct {
		name   string
		vals   url.Values
		errors map[string]string
	}{
		{"empty", url.Values{}, map[string]string{"id": "Укажите идентификатор."}},
		{"bad api id", url.Values{"id": {"a1"}, "api_id": {"x"}}, map[string]string{"api_id": "api_id — число с my.telegram.org."}},
		{"config problems", url.Values{"id": {"a1"}, "phone": {"8999"}, "api_id": {"0"}, "api_hash": {"xyz"}, "proxy": {"http://proxy:1"}}, map[string]string{
			"phone":    "телефон в международном формате: + и от 7 до 15 цифр, например +79991234567",
			"api_id":   "api_id — положительное число с my.telegram.org",
			"api_hash": "api_hash — 32 шестнадцатеричные цифры с my.telegram.org",
			"proxy":    "прокси: нужно socks5://[пользователь:пароль@]хост:порт или mtproxy://хост:порт?secret=HEX (tgparse: the parser configuration is invalid: proxy: want socks5://[user:password@]host:port or mtproxy://host:port?secret=HEX)",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := b.post(sourcesWS+"/accounts", c.vals)
			require.Equal(t, http.StatusUnprocessableEntity, p.status, p.main())
			if diff := cmp.Diff(c.errors, p.errors()); diff != "" {
				t.Errorf("field errors (-want +got):\n%s", diff)
			}
			require.Equal(t, "", p.doc.Find(`input[name="api_hash"]`).AttrOr("value", ""), "the API hash is never sent back")
		})
	}
	require.Empty(t, f.srcConfig(t).Parser.Accounts)
	p := srcAddAccount(t, b, acct.ID, acct.Phone, acct.APIID, acct.APIHash)
	require.NotContains(t, p.body, acct.APIHash)
	require.NotContains(t, p.body, acct.Phone, "the phone is shown masked")
	require.Contains(t, p.srcText("dl.facts"), tgparse.MaskPhone(acct.Phone))
	p = b.post(sourcesWS+"/accounts", url.Values{"id": {acct.ID}})
	require.Equal(t, "Аккаунт с таким идентификатором уже есть.", p.fieldError("id"))
	ev := f.srcEvents(t, "parser account added")[0]
	require.Equal(t, acct.ID, ev.Attrs["account"])
}

// TestSourcesLoginWizard: the demo account signs in through the pages
// (phone → code), a wrong code is shown at its field, an account with
// two-step verification gets the password step, an expired code ends the
// login, and the login's state is kept sealed on the server, readable by
// another instance, never in the page.
func TestSourcesLoginWizard(t *testing.T) {
	f, b := srcAdmin(t, fixtureOpts{})
	srcAddDemoParser(t, f, b)
	acct := f.h.Env.ParserAccount
	page := sourcesWS + "/accounts/" + acct.ID
	p := b.get(page)
	require.Equal(t, "нужен вход", p.srcText("#account-state"))
	require.Contains(t, p.srcText("#state"), "Выполните вход")
	require.Equal(t, page+"#login", p.doc.Find(`#state a`).AttrOr("href", ""))
	require.Contains(t, p.srcText("#login-step"), tgparse.MaskPhone(acct.Phone))

	// A code before sending one: refused, with what to do.
	p = b.post(page+"/login/code", url.Values{"code": {"12345"}})
	require.Equal(t, http.StatusConflict, p.status)
	require.Contains(t, p.srcText("#result"), "Вход не начат или истёк.")

	p = srcCodeSent(t, b, acct.ID)
	require.Contains(t, p.alert(), "Код отправлен на "+tgparse.MaskPhone(acct.Phone))
	require.Equal(t, 1, p.doc.Find(`form[action="`+page+`/login/code"]`).Length(), p.main())
	code := f.h.Env.LoginCode(acct.Phone)
	require.NotEmpty(t, code)

	// What Telegram returned is kept sealed in the store, never in the page.
	sets, err := f.h.App.Store().ListSettings(t.Context(), apptest.Workspace, srcLoginKeyPrefix)
	require.NoError(t, err)
	require.Len(t, sets, 1)
	require.NotContains(t, string(sets[0].Value), "phone_code_hash")
	require.NotContains(t, string(sets[0].Value), strings.TrimPrefix(acct.Phone, "+"))
	require.NotContains(t, p.body, "phone_code_hash")
	for _, in := range p.doc.Find(`input[type="hidden"]`).Nodes {
		for _, a := range in.Attr {
			require.NotEqual(t, "state", a.Val)
		}
	}
	// Another instance (another UI on the same store) continues the login.
	other := newServer(f.h.App, f.h.App.Auth(), Config{})
	st := f.srcSession(t, b)
	rec, err := other.srcLogins(apptest.Workspace).get(st, acct.ID)
	require.NoError(t, err)
	require.NotNil(t, rec)
	require.Equal(t, srcLoginStepCode, rec.Step)
	require.NotEmpty(t, rec.State.PhoneCodeHash)

	// A wrong code: at the field, and the login goes on.
	p = b.post(page+"/login/code", url.Values{"code": {"00000"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status, p.main())
	require.Equal(t, "Неверный код подтверждения. Проверьте код из Telegram (приходит в приложение, не по SMS) и введите его ещё раз.", p.fieldError("code"))
	require.Equal(t, "", p.doc.Find(`input[name="code"]`).AttrOr("value", ""))
	require.Contains(t, f.srcEvents(t, "parser login code refused")[0].Attrs["kind"], "code_invalid")
	p = b.post(page+"/login/code", url.Values{"code": {""}})
	require.Equal(t, "Введите код из Telegram.", p.fieldError("code"))

	p = b.post(page+"/login/code", url.Values{"code": {code}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "Аккаунт demo-parser вошёл в Telegram: Парсер Chatter @chatter_demo_parser.")
	require.Contains(t, p.alert(), "перезапустите парсер")
	require.Equal(t, 1, p.doc.Find("form#restart").Length(), "the account's page offers the restart")
	rec, err = other.srcLogins(apptest.Workspace).get(st, acct.ID)
	require.NoError(t, err)
	require.Nil(t, rec, "the finished login leaves nothing behind")
	f.srcEvents(t, "parser account signed in")
	p = b.submit(p, "form#restart", nil)
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "Парсер перезапущен.")
	require.Equal(t, page, p.url.Path)
	f.srcAccountStatus(t, acct.ID, tgparse.StatusActive)
	p = b.get(page)
	require.Equal(t, "активен", p.srcText("#account-state"))
	require.Contains(t, p.srcText("#state"), "Вход выполнен: Парсер Chatter @chatter_demo_parser")

	// Two-step verification: a second account on a fake user with a cloud
	// password.
	u := f.h.Env.Telegram.AddUser("+79990000777", "twofa_acc", "Двухэтапный")
	f.h.Env.Telegram.SetPassword(u, "облако-42")
	srcAddAccount(t, b, "twofa", "+79990000777", acct.APIID, acct.APIHash)
	f.srcAccountStatus(t, "twofa", tgparse.StatusNotLoggedIn)
	srcCodeSent(t, b, "twofa")
	p = b.post(sourcesWS+"/accounts/twofa/login/code", url.Values{"code": {f.h.Env.LoginCode("+79990000777")}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "Включена двухэтапная проверка")
	require.Equal(t, 1, p.doc.Find(`form[action="`+sourcesWS+`/accounts/twofa/login/password"]`).Length(), p.main())
	p = b.post(sourcesWS+"/accounts/twofa/login/password", url.Values{"password": {"неверный"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status, p.main())
	require.Equal(t, "Неверный облачный пароль. Проверьте раскладку и регистр и введите пароль ещё раз; забытый пароль сбрасывается в приложении Telegram.", p.fieldError("password"))
	require.NotContains(t, p.body, "неверный\"")
	p = b.post(sourcesWS+"/accounts/twofa/login/password", url.Values{"password": {"облако-42"}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "Аккаунт twofa вошёл в Telegram: Двухэтапный @twofa_acc.")
	for _, e := range f.allWorkspaceEvents(t) {
		for _, v := range e.Attrs {
			require.NotContains(t, v, "облако-42", "the password is never logged")
		}
	}

	// An expired code ends the login: send a new one.
	u2 := f.h.Env.Telegram.AddUser("+79990000778", "late_acc", "Опоздавший")
	_ = u2
	srcAddAccount(t, b, "late", "+79990000778", acct.APIID, acct.APIHash)
	f.srcAccountStatus(t, "late", tgparse.StatusNotLoggedIn)
	srcCodeSent(t, b, "late")
	f.h.Env.Telegram.ExpireCodes()
	p = b.post(sourcesWS+"/accounts/late/login/code", url.Values{"code": {"11111"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status, p.main())
	require.Contains(t, p.srcText("#result"), "срок действия кода истёк")
	require.Contains(t, p.srcText("#result"), "Запросите новый код")
	require.Equal(t, 1, p.doc.Find(`form[action="`+sourcesWS+`/accounts/late/login/send"]`).Length(), "back to the first step")

	// Cancel.
	srcCodeSent(t, b, "late")
	p = b.post(sourcesWS+"/accounts/late/login/cancel", nil)
	require.Contains(t, p.alert(), "Вход отменён.")
	require.Equal(t, 0, p.doc.Find(`form[action="`+sourcesWS+`/accounts/late/login/code"]`).Length())
}

// srcSession is a request carrying b's session, as the middleware sees it.
func (f *fixture) srcSession(t *testing.T, b *browser) *http.Request {
	t.Helper()
	u, err := url.Parse(b.base)
	require.NoError(t, err)
	var token string
	for _, c := range b.hc.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			token = c.Value
		}
	}
	require.NotEmpty(t, token)
	ss, user, err := f.h.App.Auth().LookupSession(t.Context(), token)
	require.NoError(t, err)
	r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
	require.NoError(t, err)
	return r.WithContext(withState(r.Context(), &reqState{token: token, session: ss, user: user}))
}

// allWorkspaceEvents is the demo workspace's whole event log.
func (f *fixture) allWorkspaceEvents(t *testing.T) []chatter.Event {
	t.Helper()
	evs, err := f.h.App.Store().ListEvents(t.Context(), chatter.EventQuery{Workspace: apptest.Workspace, Limit: 1000})
	require.NoError(t, err)
	return evs
}

// srcSocks5 is a SOCKS5 proxy for the tests (no authentication, or
// user:password when user is set) that connects where it is asked. It
// returns its address and counts the connections it made.
func srcSocks5(t *testing.T, user, password string) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if target := socksHandshake(c, user, password); target != nil {
					n.Add(1)
					defer target.Close()
					go func() {
						_, _ = io.Copy(target, c)
						target.Close() // either side ending ends both
						c.Close()
					}()
					_, _ = io.Copy(c, target)
				}
			}()
		}
	}()
	return ln.Addr().String(), &n
}

func socksHandshake(c net.Conn, user, password string) net.Conn {
	buf := make([]byte, 262)
	if _, err := io.ReadFull(c, buf[:2]); err != nil || buf[0] != 5 {
		return nil
	}
	if _, err := io.ReadFull(c, buf[:buf[1]]); err != nil {
		return nil
	}
	if user == "" {
		_, _ = c.Write([]byte{5, 0})
	} else {
		_, _ = c.Write([]byte{5, 2})
		if _, err := io.ReadFull(c, buf[:2]); err != nil {
			return nil
		}
		u := make([]byte, buf[1])
		_, _ = io.ReadFull(c, u)
		_, _ = io.ReadFull(c, buf[:1])
		pw := make([]byte, buf[0])
		_, _ = io.ReadFull(c, pw)
		if string(u) != user || string(pw) != password {
			_, _ = c.Write([]byte{1, 1})
			return nil
		}
		_, _ = c.Write([]byte{1, 0})
	}
	if _, err := io.ReadFull(c, buf[:4]); err != nil {
		return nil
	}
	var host string
	switch buf[3] {
	case 1:
		ip := make([]byte, 4)
		_, _ = io.ReadFull(c, ip)
		host = net.IP(ip).String()
	case 3:
		_, _ = io.ReadFull(c, buf[:1])
		name := make([]byte, buf[0])
		_, _ = io.ReadFull(c, name)
		host = string(name)
	default:
		return nil
	}
	port := make([]byte, 2)
	_, _ = io.ReadFull(c, port)
	target, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(int(port[0])<<8|int(port[1]))), 5*time.Second)
	if err != nil {
		_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return nil
	}
	_, _ = c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	return target
}

// TestSourcesProxy: the "проверить" button on a typed proxy and on the
// stored one, a broken proxy explained with the remedy, saving (never
// shown again with its password) and removing.
func TestSourcesProxy(t *testing.T) {
	f, b := srcAdmin(t, fixtureOpts{})
	srcAddDemoParser(t, f, b)
	page := sourcesWS + "/accounts/demo-parser"
	good, connects := srcSocks5(t, "parser", "s3cret-pw")
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		return ln.Addr().String()
	}()

	p := b.post(page+"/proxy/check", nil)
	require.Contains(t, p.srcText("#result"), "Прокси не задан")
	p = b.post(page+"/proxy/check", url.Values{"proxy": {"socks5://parser:s3cret-pw@" + closed}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.doc.Find("#result .src-result").AttrOr("class", ""), "error")
	require.Contains(t, p.srcText("#result"), "прокси недоступен")
	require.Contains(t, p.srcText("#result"), "Проверьте работоспособность прокси")
	require.NotContains(t, p.body, "s3cret-pw")
	p = b.post(page+"/proxy/check", url.Values{"proxy": {"socks5://parser:wrong@" + good}})
	require.Contains(t, p.srcText("#result"), "прокси недоступен")

	require.Zero(t, connects.Load())
	require.Empty(t, f.srcConfig(t).Parser.Accounts[0].Proxy, "a check saves nothing")

	// Saving: bad input at the field, then the proxy, never shown again.
	p = b.post(page+"/proxy", url.Values{"proxy": {""}})
	require.Equal(t, "Впишите прокси.", p.fieldError("proxy"))
	p = b.post(page+"/proxy", url.Values{"proxy": {"http://" + good}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.fieldError("proxy"), "прокси: нужно socks5://")
	p = b.post(page+"/proxy", url.Values{"proxy": {"socks5://parser:s3cret-pw@" + good}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "Прокси аккаунта demo-parser сохранён.")
	require.NotContains(t, p.body, "s3cret-pw")
	require.Contains(t, p.srcText("dl.facts"), "socks5://parser:***@"+good)
	require.Equal(t, "socks5://parser:s3cret-pw@"+good, f.srcConfig(t).Parser.Accounts[0].Proxy)
	ev := f.srcEvents(t, "parser proxy set")[0]
	require.Equal(t, "socks5://parser:***@"+good, ev.Attrs["proxy"])

	// The empty field checks the stored proxy: it connects through the
	// proxy to the DC. (Last: tgparsetest's DC stops serving after a bare
	// TCP connection such as the check's.)
	p = b.post(page+"/proxy/check", nil)
	require.Contains(t, p.doc.Find("#result .src-result").AttrOr("class", ""), "ok", p.srcText("#result"))
	require.Contains(t, p.srcText("#result"), "Прокси socks5://parser:***@"+good+" работает")
	require.NotZero(t, connects.Load())

	// Removing needs the confirmation.
	p = b.post(page+"/proxy", url.Values{"remove": {"1"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "Подтвердите действие: поставьте отметку.", p.fieldError("remove_confirm"))
	p = b.post(page+"/proxy", url.Values{"remove": {"1"}, "remove_confirm": {"yes"}})
	require.Contains(t, p.alert(), "Аккаунт demo-parser подключается без прокси.")
	require.Empty(t, f.srcConfig(t).Parser.Accounts[0].Proxy)
}

// TestSourcesAccountStates: each state with its remedy beside it.
func TestSourcesAccountStates(t *testing.T) {
	f, b := srcAdmin(t, fixtureOpts{})
	srcAddDemoParser(t, f, b)
	p := b.get("/sources")
	row := p.doc.Find(`tr[data-account="demo-parser"]`)
	require.Contains(t, row.Text(), "нужен вход")
	require.Contains(t, row.Text(), "Выполните вход: номер телефона, код из Telegram")
	require.Equal(t, sourcesWS+"/accounts/demo-parser#login", row.Find(`a[href$="#login"]`).AttrOr("href", ""))

	// A banned account: create a new one.
	u := f.h.Env.Telegram.AddUser("+79990000779", "banned_acc", "Забаненный")
	f.h.Env.Telegram.Ban(u)
	srcAddAccount(t, b, "banned", "+79990000779", f.h.Env.ParserAccount.APIID, f.h.Env.ParserAccount.APIHash)
	p = srcSendCode(t, b, "banned")
	require.Equal(t, http.StatusUnprocessableEntity, p.status, p.main())
	require.Contains(t, p.srcText("#result"), "номер телефона заблокирован в Telegram")
	require.Contains(t, p.srcText("#result"), "Используйте другой номер")

	// Disabled: enable it again.
	p = b.post(sourcesWS+"/accounts/banned/enabled", url.Values{"enabled": {"0"}})
	require.Equal(t, "Подтвердите действие: поставьте отметку.", p.fieldError("disable_confirm"))
	p = b.post(sourcesWS+"/accounts/banned/enabled", url.Values{"enabled": {"0"}, "disable_confirm": {"yes"}})
	require.Contains(t, p.alert(), "Аккаунт banned отключён.")
	require.Equal(t, "отключён", p.srcText("#account-state"))
	require.Contains(t, p.srcText("#login"), "Аккаунт отключён: включите его, чтобы войти.")
	p = b.post(sourcesWS+"/accounts/banned/login/send", nil)
	require.Equal(t, http.StatusConflict, p.status)
	p = b.post(sourcesWS+"/accounts/banned/enabled", url.Values{"enabled": {"1"}})
	require.Contains(t, p.alert(), "Аккаунт banned включён.")
}
