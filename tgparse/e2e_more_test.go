package tgparse_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/keyword"
	"github.com/chatterhq/sdk/tgparse"
)

func findCheck(t *testing.T, rs []chatter.CheckResult, name string) chatter.CheckResult {
	t.Helper()
	for _, r := range rs {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no check %q", name)
	return chatter.CheckResult{}
}

func TestSourceChatsFilterChecksAndLive(t *testing.T) {
	e := newEnv(t)
	u := e.srv.AddUser("+79990000001", "parser_acc", "Parser")
	author := e.srv.AddUser("+79990000009", "anna", "Анна")
	public := e.srv.AddChannel("remont_chat", "Ремонт", false)
	private := e.srv.AddChannel("", "Private leads", false)
	closed := e.srv.AddChannel("", "Closed", true)
	quiet := e.srv.AddChannel("quiet_chat", "Quiet", false)
	e.srv.Post(t.Context(), public, author, "Нужен ремонт квартиры, срочно")
	e.srv.Post(t.Context(), public, author, "продам диван")
	e.srv.Post(t.Context(), public, author, "ремонт бесплатно")
	e.srv.Post(t.Context(), private, author, "ищу ремонт офиса")
	e.srv.Post(t.Context(), quiet, author, "погода хорошая")
	acct := account("acc1", "+79990000001")
	e.login(t, acct)

	set, err := keyword.Compile(keyword.Config{Rules: keyword.ParseRules("ремонт -бесплатно\n-бесплатно")})
	if err != nil {
		t.Fatal(err)
	}
	src, err := tgparse.NewSource(tgparse.SourceConfig{
		Connection: e.conn("i1"), Accounts: []tgparse.Account{acct},
		Chats: []tgparse.ChatConfig{
			{Ref: "t.me/remont_chat"},
			{Ref: e.srv.InviteLink(private), Join: true},
			{Ref: "https://t.me/c/" + strconv.FormatInt(closed.ID, 10) + "/5"},
			{Ref: "@no_such_chat"},
			{Ref: "t.me/share/url"},
			{Ref: "@quiet_chat"},
		},
		Depth: tgparse.Depth{Count: 50}, Filter: set, PollInterval: time.Hour, RetryInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	stop := runSource(t, src, c)
	waitFor(t, "2 matched messages", func() bool { return len(c.ids()) >= 2 })
	if !e.srv.IsMember(private, u) {
		t.Fatal("the account did not join by the invite link")
	}
	waitFor(t, "chat states", func() bool {
		s := src.Snapshot()
		return s.Chats[2].Status == tgparse.ChatFailed && s.Chats[3].Status == tgparse.ChatFailed && s.Chats[5].Scanned == 1
	})

	// Live: a new message in a joined chat arrives through updates (polling
	// is hourly; Telegram pushes updates only for chats the account is in).
	e.srv.Post(t.Context(), private, author, "ремонт ванной под ключ")
	waitFor(t, "the live message", func() bool { return len(c.ids()) >= 3 })
	if e.srv.Pushed() == 0 {
		t.Fatal("no update was pushed")
	}

	c.mu.Lock()
	texts := []string{c.msgs[0].Text, c.msgs[1].Text, c.msgs[2].Text}
	var priv *chatter.Message
	for _, m := range c.msgs {
		if m.Text == "ищу ремонт офиса" {
			priv = m
		}
	}
	c.mu.Unlock()
	joined := strings.Join(texts, "|")
	for _, want := range []string{"Нужен ремонт квартиры, срочно", "ищу ремонт офиса", "ремонт ванной под ключ"} {
		if !strings.Contains(joined, want) {
			t.Errorf("messages %q lack %q", joined, want)
		}
	}
	if strings.Contains(joined, "бесплатно") || strings.Contains(joined, "диван") {
		t.Errorf("filtered messages were handed over: %q", joined)
	}
	if priv == nil {
		t.Fatal("no message from the private chat")
	}
	if want := fmt.Sprintf("https://t.me/c/%d/1", private.ID); priv.Link != want || priv.Sender.Username != "anna" {
		t.Errorf("private message: link %q sender %+v, want %q", priv.Link, priv.Sender, want)
	}

	results := chatter.RunChecks(t.Context(), src.Checks(), chatter.CheckOptions{})
	if r := findCheck(t, results, "tgparse.account.acc1"); r.Status != chatter.StatusOK {
		t.Errorf("account check = %+v", r)
	}
	if r := findCheck(t, results, "tgparse.chat.t.me/remont_chat"); r.Status != chatter.StatusOK {
		t.Errorf("chat check = %+v", r)
	}
	closedRef := "https://t.me/c/" + strconv.FormatInt(closed.ID, 10) + "/5"
	if r := findCheck(t, results, "tgparse.chat."+closedRef); r.Status != chatter.StatusFail || !strings.Contains(r.Cause.RU, "не состоит") {
		t.Errorf("closed chat check = %+v", r)
	}
	if r := findCheck(t, results, "tgparse.chat.@no_such_chat"); r.Status != chatter.StatusFail || !strings.Contains(r.Cause.EN, "no chat has this username") {
		t.Errorf("unknown chat check = %+v", r)
	}
	if r := findCheck(t, results, "tgparse.chat.t.me/share/url"); r.Status != chatter.StatusFail || !strings.Contains(r.Cause.EN, "does not point at a chat") {
		t.Errorf("bad link check = %+v", r)
	}
	r := findCheck(t, results, "tgparse.messages.t.me/remont_chat")
	if r.Status != chatter.StatusOK || r.Details["scanned"] != "3" || r.Details["accepted"] != "1" ||
		r.Details["rules_matched_stopped"] != "-бесплатно: 0/1; ремонт -бесплатно: 1/0" {
		t.Errorf("messages check = %+v", r)
	}
	r = findCheck(t, results, "tgparse.messages.@quiet_chat")
	if r.Status != chatter.StatusWarn || !strings.Contains(r.Cause.EN, "1 messages scanned") || r.Details["checkpoint"] != "1" {
		t.Errorf("quiet chat check = %+v", r)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestSourceDeadAccounts(t *testing.T) {
	e := newEnv(t)
	banned := e.srv.AddUser("+79990000001", "one", "One")
	two := e.srv.AddUser("+79990000002", "two", "Two")
	e.srv.AddChannel("leads_channel", "Leads", true)
	a1, a2, a3 := account("acc1", "+79990000001"), account("acc2", "+79990000002"), account("acc3", "+79990000003")
	e.login(t, a1)
	e.login(t, a2)
	e.srv.Ban(banned)
	revoked := a2
	src, err := tgparse.NewSource(tgparse.SourceConfig{Connection: e.conn("i1"), Accounts: []tgparse.Account{a1, revoked, a3},
		Chats: []tgparse.ChatConfig{{Ref: "@leads_channel"}}, NoUpdates: true})
	if err != nil {
		t.Fatal(err)
	}
	// acc2 is fine until its sessions are terminated.
	e.srv.Revoke(two)
	err = src.Run(t.Context(), &collector{})
	for _, want := range []error{tgparse.ErrAccountBanned, tgparse.ErrSessionRevoked} {
		if !errors.Is(err, want) {
			t.Errorf("Run: err = %v, want it to include %v", err, want)
		}
	}
	snap := src.Snapshot()
	want := []tgparse.AccountStatus{tgparse.StatusBanned, tgparse.StatusSessionRevoked, tgparse.StatusNotLoggedIn}
	for i, a := range snap.Accounts {
		if a.Status != want[i] || a.Cause().RU == "" || a.Remedy().RU == "" {
			t.Errorf("account %s: %s (%v), want %s", a.Account, a.Status, a.Err, want[i])
		}
	}
	results := chatter.RunChecks(t.Context(), src.Checks(), chatter.CheckOptions{})
	if r := findCheck(t, results, "tgparse.account.acc1"); r.Status != chatter.StatusFail || !strings.Contains(r.Remedy.RU, "новый аккаунт") {
		t.Errorf("banned check = %+v", r)
	}
}

// socks5 is a minimal SOCKS5 server (RFC 1928, user/password RFC 1929)
// that counts connections and bytes.
type socks5 struct {
	ln         net.Listener
	user, pass string
	conns      atomic.Int64
	bytes      atomic.Int64
	authFailed atomic.Int64
	wg         sync.WaitGroup
}

func startSOCKS5(t *testing.T, user, pass string) *socks5 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &socks5{ln: ln, user: user, pass: pass}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *socks5) serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 262)
	if _, err := io.ReadFull(c, buf[:2]); err != nil || buf[0] != 5 {
		return
	}
	if _, err := io.ReadFull(c, buf[:buf[1]]); err != nil {
		return
	}
	if _, err := c.Write([]byte{5, 2}); err != nil { // user/password
		return
	}
	if _, err := io.ReadFull(c, buf[:2]); err != nil {
		return
	}
	ulen := int(buf[1])
	if _, err := io.ReadFull(c, buf[:ulen+1]); err != nil {
		return
	}
	user := string(buf[:ulen])
	plen := int(buf[ulen])
	if _, err := io.ReadFull(c, buf[:plen]); err != nil {
		return
	}
	if user != s.user || string(buf[:plen]) != s.pass {
		s.authFailed.Add(1)
		_, _ = c.Write([]byte{1, 1})
		return
	}
	if _, err := c.Write([]byte{1, 0}); err != nil {
		return
	}
	if _, err := io.ReadFull(c, buf[:4]); err != nil || buf[1] != 1 {
		return
	}
	var host string
	switch buf[3] {
	case 1:
		if _, err := io.ReadFull(c, buf[:4]); err != nil {
			return
		}
		host = net.IP(buf[:4]).String()
	case 3:
		if _, err := io.ReadFull(c, buf[:1]); err != nil {
			return
		}
		n := int(buf[0])
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return
		}
		host = string(buf[:n])
	default:
		return
	}
	if _, err := io.ReadFull(c, buf[:2]); err != nil {
		return
	}
	port := binary.BigEndian.Uint16(buf[:2])
	up, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
	if err != nil {
		_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer up.Close()
	if _, err := c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}); err != nil {
		return
	}
	s.conns.Add(1)
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		n, _ := io.Copy(dst, src)
		s.bytes.Add(n)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(up, c)
	go cp(c, up)
	<-done
	<-done
}

func TestProxySOCKS5(t *testing.T) {
	e := newEnv(t)
	u := e.srv.AddUser("+79990000001", "parser_acc", "Parser")
	ch := e.srv.AddChannel("leads_channel", "Leads", true)
	e.srv.Post(t.Context(), ch, nil, "ремонт")
	proxy := startSOCKS5(t, "proxyuser", "s3cret")
	acct := account("acc1", "+79990000001")
	acct.Proxy = "socks5://proxyuser:s3cret@" + proxy.ln.Addr().String()

	e.login(t, acct)
	if proxy.conns.Load() == 0 || proxy.bytes.Load() == 0 {
		t.Fatalf("login did not go through the proxy: conns=%d bytes=%d", proxy.conns.Load(), proxy.bytes.Load())
	}
	_ = u
	conns := proxy.conns.Load()
	src, err := tgparse.NewSource(tgparse.SourceConfig{Connection: e.conn("i1"), Accounts: []tgparse.Account{acct},
		Chats: []tgparse.ChatConfig{{Ref: "@leads_channel"}}, Depth: tgparse.Depth{Count: 10}, NoUpdates: true, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	stop := runSource(t, src, c)
	waitFor(t, "the message through the proxy", func() bool { return len(c.ids()) == 1 })
	results := chatter.RunChecks(t.Context(), src.Checks(), chatter.CheckOptions{})
	r := findCheck(t, results, "tgparse.proxy.acc1")
	if r.Status != chatter.StatusOK || strings.Contains(fmt.Sprint(r), "s3cret") {
		t.Errorf("proxy check = %+v", r)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if proxy.conns.Load() <= conns {
		t.Fatal("the source did not connect through the proxy")
	}

	// Wrong proxy credentials: the account is reported as proxy failing.
	bad := acct
	bad.Proxy = "socks5://proxyuser:wrong@" + proxy.ln.Addr().String()
	r = chatter.RunChecks(t.Context(), []chatter.Check{tgparse.ProxyCheck(bad, e.srv.Endpoint())}, chatter.CheckOptions{})[0]
	if r.Status != chatter.StatusFail || strings.Contains(fmt.Sprint(r), "wrong@") {
		t.Errorf("bad proxy check = %+v", r)
	}
	conn := e.conn("login2")
	conn.ConnectTimeout = 2 * time.Second
	l, err := tgparse.NewLogin(conn, e.accounts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.accounts.Save(t.Context(), bad); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Status(t.Context(), "acc1"); !errors.Is(err, tgparse.ErrProxy) {
		t.Fatalf("Status through a bad proxy: err = %v, want ErrProxy", err)
	}
	if proxy.authFailed.Load() == 0 {
		t.Fatal("the proxy saw no failed authentication")
	}
}
