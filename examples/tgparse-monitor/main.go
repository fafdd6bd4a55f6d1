// Command tgparse-monitor watches Telegram chats with a user account and
// prints the messages that match keyword rules, with the rule and the words
// that matched.
//
// Without credentials it runs against an in-process Telegram
// (tgparse/tgparsetest) with sample chats, signs in by itself and posts a few
// live messages:
//
//	go run ./examples/tgparse-monitor
//	go run ./examples/tgparse-monitor -rules 'ремонт -бесплатно' -max 3
//
// With a real account, give the credentials in the environment (they are
// never printed or logged; the session is kept sealed in a SQLite file):
//
//	TGPARSE_API_ID=12345 TGPARSE_API_HASH=0123…  # from my.telegram.org
//	TGPARSE_PHONE=+79991234567
//	TGPARSE_SEAL_KEY=<64 hex digits>             # encrypts the session at rest
//	TGPARSE_PROXY=socks5://user:pass@host:1080   # optional
//	TGPARSE_DC_ADDR=149.154.167.40:443           # optional: Telegram's test DC 2 instead of production
//	go run ./examples/tgparse-monitor -chats @some_channel,https://t.me/+invite -depth 200
//
// The first run sends a login code and exits; run again with TGPARSE_CODE
// (and TGPARSE_PASSWORD if the account has two-step verification).
package main

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/chatter/keyword"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
	"github.com/chatterhq/sdk/tgparse"
	"github.com/chatterhq/sdk/tgparse/tgparsetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tgparse-monitor:", err)
		os.Exit(1)
	}
}

const workspace = "monitor"

// defaultRules are used when -rules is not given.
const defaultRules = "ремонт -бесплатно\n\"под ключ\"\nre:\\+7\\d{10}\n-вакансия"

// options are the parsed flags.
type options struct {
	chats    []string
	rules    string
	depth    int
	max      int
	poll     time.Duration
	db       string
	lang     string
	testMode bool
}

// run parses flags, picks the real or the test-server mode and monitors
// until ctx ends or -max messages matched, then prints the diagnostics.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("tgparse-monitor", flag.ContinueOnError)
	fs.SetOutput(stdout)
	chats := fs.String("chats", getenv("TGPARSE_CHATS"), "comma-separated chats: @name, t.me links, invite links (test mode: the sample chats)")
	rules := fs.String("rules", defaultRules, "keyword rules, one per line (see package keyword)")
	depth := fs.Int("depth", 100, "messages of history to read per chat on the first run")
	maxMatches := fs.Int("max", 0, "stop after this many matched messages (0: run until interrupted)")
	poll := fs.Duration("poll", time.Minute, "how often chats are polled besides live updates")
	db := fs.String("db", "tgparse-monitor.db", "SQLite file for the session and checkpoints (real mode)")
	lang := fs.String("lang", "ru", "language of diagnostics: ru or en")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	o := options{rules: *rules, depth: *depth, max: *maxMatches, poll: *poll, db: *db, lang: *lang, testMode: getenv("TGPARSE_API_ID") == ""}
	for c := range strings.SplitSeq(*chats, ",") {
		if c = strings.TrimSpace(c); c != "" {
			o.chats = append(o.chats, c)
		}
	}
	set, err := keyword.Compile(keyword.Config{Rules: keyword.ParseRules(o.rules)})
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	if o.testMode {
		return runTestServer(ctx, o, set, stdout)
	}
	return runReal(ctx, o, set, getenv, stdout)
}

// runTestServer monitors sample chats on the in-process Telegram.
func runTestServer(ctx context.Context, o options, set *keyword.Set, stdout io.Writer) error {
	fmt.Fprintln(stdout, "no TGPARSE_API_ID: using the in-process Telegram test server")
	srv, err := tgparsetest.Start(ctx)
	if err != nil {
		return err
	}
	defer srv.Close()
	srv.AddUser("+79990000001", "monitor_acc", "Monitor")
	author := srv.AddUser("+79990000002", "anna", "Анна")
	repair := srv.AddChannel("remont_chat", "Ремонт и отделка", false)
	private := srv.AddChannel("", "Закрытые заявки", false)
	for _, text := range []string{
		"Кто делает ремонт квартиры под ключ? Пишите +79991234567",
		"Продам диван, недорого",
		"Сделаем ремонт бесплатно (реклама)",
		"Вакансия: нужен мастер на ремонт",
	} {
		srv.Post(ctx, repair, author, text)
	}
	srv.Post(ctx, private, author, "Нужен ремонт офиса, 120 м²")

	store := chattertest.NewMemStore()
	sealer, err := chatter.NewSealer("demo", map[string][]byte{"demo": make([]byte, 32)})
	if err != nil {
		return err
	}
	acct := tgparse.Account{ID: "demo", Phone: "+79990000001", APIID: 17349, APIHash: "344583e45741c457fe1862106095a5eb",
		Device: tgparse.Device{Model: "tgparse-monitor", System: "demo", AppVersion: "1.0", LangCode: "ru"}}
	conn := tgparse.Connection{Workspace: workspace, Store: store, Sealer: sealer, Endpoint: srv.Endpoint(), Holder: "monitor"}
	accounts, err := tgparse.NewAccountStore(store, sealer, workspace)
	if err != nil {
		return err
	}
	login, err := tgparse.NewLogin(conn, accounts)
	if err != nil {
		return err
	}
	st, err := login.SendCode(ctx, acct)
	if err != nil {
		return err
	}
	if st == nil {
		return errors.New("login: no code state")
	}
	self := st.Self
	if !st.Authorized {
		if self, err = login.SignIn(ctx, st, srv.Code(acct.Phone)); err != nil {
			return err
		}
	}
	if self == nil {
		return errors.New("login: signed in without a user")
	}
	fmt.Fprintf(stdout, "signed in as @%s\n", self.Username)
	if len(o.chats) == 0 {
		o.chats = []string{"https://t.me/remont_chat", srv.InviteLink(private)}
	}
	// Live messages a moment after the start.
	var wg sync.WaitGroup
	defer wg.Wait()
	liveCtx, stopLive := context.WithCancel(ctx)
	defer stopLive()
	wg.Go(func() {
		t := time.NewTimer(500 * time.Millisecond)
		defer t.Stop()
		select {
		case <-liveCtx.Done():
			return
		case <-t.C:
		}
		srv.Post(liveCtx, private, author, "Срочно: ремонт ванной под ключ")
	})
	return monitor(ctx, o, conn, acct, set, stdout)
}

// runReal monitors with a real account; it signs in step by step across runs.
func runReal(ctx context.Context, o options, set *keyword.Set, getenv func(string) string, stdout io.Writer) error {
	apiID, err := strconv.Atoi(getenv("TGPARSE_API_ID"))
	if err != nil {
		return errors.New("TGPARSE_API_ID must be a number")
	}
	key, err := hex.DecodeString(getenv("TGPARSE_SEAL_KEY"))
	if err != nil || len(key) != 32 {
		return errors.New("TGPARSE_SEAL_KEY must be 64 hex digits (32 bytes); it encrypts the session at rest")
	}
	if len(o.chats) == 0 {
		return errors.New("give the chats to monitor: -chats or TGPARSE_CHATS")
	}
	sealer, err := chatter.NewSealer("k1", map[string][]byte{"k1": key})
	if err != nil {
		return err
	}
	store, err := sqlitestore.Open(ctx, o.db, sqlitestore.Config{Sealer: sealer})
	if err != nil {
		return err
	}
	defer store.Close()
	acct := tgparse.Account{ID: "main", Phone: getenv("TGPARSE_PHONE"), APIID: apiID, APIHash: getenv("TGPARSE_API_HASH"),
		Proxy:  getenv("TGPARSE_PROXY"),
		Device: tgparse.Device{Model: "Desktop", System: "Linux", AppVersion: "1.0", LangCode: "ru"}}
	if err := acct.Validate(); err != nil {
		return err
	}
	conn := tgparse.Connection{Workspace: workspace, Store: store, Sealer: sealer}
	if addr := getenv("TGPARSE_DC_ADDR"); addr != "" {
		if conn.Endpoint, err = tgparse.NewEndpoint(2, addr, nil); err != nil {
			return fmt.Errorf("TGPARSE_DC_ADDR: %w", err)
		}
	}
	accounts, err := tgparse.NewAccountStore(store, sealer, workspace)
	if err != nil {
		return err
	}
	login, err := tgparse.NewLogin(conn, accounts)
	if err != nil {
		return err
	}
	if err := signIn(ctx, login, store, acct, getenv, stdout, o.lang); err != nil {
		return err
	}
	return monitor(ctx, o, conn, acct, set, stdout)
}

// loginSteps are the steps of tgparse.Login that signIn takes.
type loginSteps interface {
	SendCode(ctx context.Context, acct tgparse.Account) (*tgparse.CodeState, error)
	SignIn(ctx context.Context, state *tgparse.CodeState, code string) (*tgparse.Self, error)
	Password(ctx context.Context, state *tgparse.CodeState, password string) (*tgparse.Self, error)
}

var _ loginSteps = (*tgparse.Login)(nil)

// signIn makes sure acct is signed in, one step per run: it sends the code
// and saves the step in the store, or finishes with TGPARSE_CODE and
// TGPARSE_PASSWORD.
func signIn(ctx context.Context, login loginSteps, store chatter.SettingsStore, acct tgparse.Account, getenv func(string) string, stdout io.Writer, lang string) error {
	const stateKey = "tgparse-monitor.code_state"
	var st tgparse.CodeState
	saved, err := store.GetSetting(ctx, workspace, stateKey)
	switch {
	case errors.Is(err, chatter.ErrNotFound) || err == nil && len(saved.Value) < 3:
		s, err := login.SendCode(ctx, acct)
		if err != nil {
			return explain(err, lang)
		}
		if s == nil {
			return errors.New("login: no code state")
		}
		if s.Authorized {
			return nil
		}
		raw, _ := json.Marshal(s)
		if _, err := store.PutSetting(ctx, workspace, stateKey, raw, 0); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Telegram sent a login code (%s); run again with TGPARSE_CODE=<code>\n", s.Type)
		return errors.New("waiting for the login code")
	case err != nil:
		return err
	}
	if err := json.Unmarshal(saved.Value, &st); err != nil {
		return err
	}
	forget := func() { _, _ = store.PutSetting(ctx, workspace, stateKey, json.RawMessage(`{}`), saved.Version) }
	_, err = login.SignIn(ctx, &st, getenv("TGPARSE_CODE"))
	if errors.Is(err, tgparse.ErrPasswordNeeded) {
		_, err = login.Password(ctx, &st, getenv("TGPARSE_PASSWORD"))
	}
	if errors.Is(err, tgparse.ErrCodeExpired) {
		forget()
	}
	if err != nil {
		return explain(err, lang)
	}
	forget()
	return nil
}

// explain adds the ru/en cause and remedy of a tgparse error.
func explain(err error, lang string) error {
	var e *tgparse.Error
	if errors.As(err, &e) {
		return fmt.Errorf("%s. %s (%w)", e.Message().In(lang), e.Remedy().In(lang), err)
	}
	return err
}

// monitor runs the source and prints matches until ctx ends or o.max.
func monitor(ctx context.Context, o options, conn tgparse.Connection, acct tgparse.Account, set *keyword.Set, stdout io.Writer) error {
	var chats []tgparse.ChatConfig
	for _, c := range o.chats {
		chats = append(chats, tgparse.ChatConfig{Ref: c, Join: strings.Contains(c, "+") || strings.Contains(c, "joinchat")})
	}
	src, err := tgparse.NewSource(tgparse.SourceConfig{
		Connection: conn, Accounts: []tgparse.Account{acct}, Chats: chats,
		Depth: tgparse.Depth{Count: o.depth}, Filter: set, PollInterval: cmp.Or(o.poll, time.Minute),
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	matched := 0
	reached := make(chan struct{})
	h := chatter.HandlerFunc(func(ctx context.Context, m *chatter.Message) error {
		res := set.Match(m.Key, m.Text)
		mu.Lock()
		defer mu.Unlock()
		matched++
		fmt.Fprintf(stdout, "MATCH %s #%d %s\n  %s\n", m.Chat.Title, m.Key.MessageID, m.Link, m.Text)
		for _, rm := range res.Matches {
			var words []string
			for _, h := range rm.Hits {
				words = append(words, h.Text)
			}
			fmt.Fprintf(stdout, "  rule %q: %s\n", rm.Rule, strings.Join(words, ", "))
		}
		if o.max > 0 && matched == o.max {
			close(reached)
		}
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, h) }()
	var runErr error
	finished := false
	select {
	case runErr = <-done: // stopped by ctx, or failed
		finished = true
	case <-reached: // diagnose while running, then stop
	}
	fmt.Fprintln(stdout, "diagnostics:")
	checkCtx, checkCancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer checkCancel()
	for _, r := range chatter.RunChecks(checkCtx, src.Checks(), chatter.CheckOptions{}) {
		line := fmt.Sprintf("  [%s] %s", r.Status, r.Title.In(o.lang))
		if !r.Cause.IsZero() {
			line += ": " + r.Cause.In(o.lang)
		}
		if !r.Remedy.IsZero() && r.Status != chatter.StatusOK {
			line += " → " + r.Remedy.In(o.lang)
		}
		fmt.Fprintln(stdout, line)
	}
	cancel()
	if !finished {
		runErr = <-done
	}
	return runErr
}
