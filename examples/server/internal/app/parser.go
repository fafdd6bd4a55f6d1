package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/tgparse"
)

// parser is the workspace's Telegram parsing: one tgparse.Source over the
// workspace's user accounts and chats. Every message it reads goes to the
// pipeline, whose filter (the workspace's keyword rules) decides, so that
// filtered messages are on the ledger with the rule that dropped them.
type parser struct {
	ws       *workspace
	src      *tgparse.Source
	conn     tgparse.Connection
	accounts *tgparse.AccountStore
	list     []tgparse.Account
}

func (w *workspace) buildParser(ctx context.Context) error {
	pc := w.cfg.Parser
	var accounts []tgparse.Account
	for _, a := range pc.Accounts {
		if a.Disabled {
			continue
		}
		accounts = append(accounts, tgparse.Account{ID: a.ID, Phone: a.Phone, APIID: a.APIID, APIHash: a.APIHash, Proxy: a.Proxy})
	}
	if len(accounts) == 0 || len(pc.Chats) == 0 {
		return nil
	}
	ep, err := w.app.parserEndpoint(w)
	if err != nil {
		return fmt.Errorf("workspace %s: parser.server: %w", w.id, err)
	}
	conn := tgparse.Connection{
		Workspace: w.id, Store: w.app.store, Sealer: w.app.sealer, Holder: w.app.holder,
		Endpoint: ep, Logger: w.log, Now: w.app.now,
	}
	as, err := tgparse.NewAccountStore(w.app.store, w.app.sealer, w.id)
	if err != nil {
		return fmt.Errorf("workspace %s: parser accounts: %w", w.id, err)
	}
	// The configuration seeds the account store (sealed), where the login
	// finds the account.
	for _, a := range accounts {
		if err := as.Save(ctx, a); err != nil {
			return fmt.Errorf("workspace %s: parser account %s: %w", w.id, a.ID, err)
		}
	}
	now := w.app.now()
	var chats []tgparse.ChatConfig
	for i, c := range pc.Chats {
		d, err := depth(c.Depth, now)
		if err != nil {
			return fmt.Errorf("workspace %s: parser.chats[%d].depth: %w", w.id, i, err)
		}
		chats = append(chats, tgparse.ChatConfig{Ref: c.Chat, Depth: d, Join: c.Join})
	}
	def, err := depth(pc.Depth, now)
	if err != nil {
		return fmt.Errorf("workspace %s: parser.depth: %w", w.id, err)
	}
	sc := tgparse.SourceConfig{Connection: conn, Accounts: accounts, Chats: chats,
		MaxChatsPerAccount: pc.MaxChatsPerAccount, PollInterval: pc.PollInterval.D()}
	if def != nil {
		sc.Depth = *def
	}
	src, err := tgparse.NewSource(sc)
	if err != nil {
		return fmt.Errorf("workspace %s: parser: %w", w.id, err)
	}
	w.parser = &parser{ws: w, src: src, conn: conn, accounts: as, list: accounts}
	return nil
}

func (p *parser) name() string { return "parser:" + p.ws.id }

func (p *parser) run(ctx context.Context) error { return p.src.Run(ctx, p.ws.app.pipeline) }

func (p *parser) checks() []chatter.Check {
	out := p.src.Checks()
	for _, a := range p.list {
		if a.Proxy == "" {
			continue
		}
		out = append(out, renameChecks([]chatter.Check{tgparse.ProxyCheck(a, p.conn.Endpoint)}, p.ws.id+"/"+a.ID, "аккаунт "+a.ID, "account "+a.ID)...)
	}
	return out
}

// login returns the login steps for the workspace's accounts.
func (p *parser) login() (*tgparse.Login, error) { return tgparse.NewLogin(p.conn, p.accounts) }

// parserEndpoint is the Telegram the workspace's accounts connect to: the
// demo's test server, the configured one, or production (nil).
func (a *App) parserEndpoint(w *workspace) (*tgparse.Endpoint, error) {
	if a.opts.ParserEndpoint != nil {
		return a.opts.ParserEndpoint, nil
	}
	srv := w.cfg.Parser.Server
	if srv.IsZero() {
		return nil, nil
	}
	var pem []byte
	if srv.PublicKeyFile != "" {
		// Load resolved the path against the config file's directory.
		var err error
		if pem, err = os.ReadFile(srv.PublicKeyFile); err != nil {
			return nil, err
		}
	}
	return tgparse.NewEndpoint(srv.DC, srv.Address, pem)
}

// depth converts a configured depth (nil when it reads no history).
func depth(d config.Depth, now time.Time) (*tgparse.Depth, error) {
	if d.IsZero() {
		return nil, nil
	}
	out := &tgparse.Depth{Count: d.Count}
	if d.Since != "" {
		since, err := d.SinceTime(now)
		if err != nil {
			return nil, err
		}
		out.Since = since
	}
	return out, nil
}

// LoginParserAccount signs a parser account in from a terminal (headless
// deployments): it asks Telegram for a code, reads it from in, and then the
// two-step verification password when the account has one. Texts go to
// out in Russian with English in brackets.
func (a *App) LoginParserAccount(ctx context.Context, ws, id string, in *bufio.Reader, out io.Writer) error {
	login, err := a.ParserLogin(ws)
	if err != nil {
		return err
	}
	p := a.ws(ws).parser
	i := slices.IndexFunc(p.list, func(acct tgparse.Account) bool { return acct.ID == id })
	if i < 0 {
		return fmt.Errorf("аккаунт %q не найден в пространстве %s или отключён (no enabled parser account %q in %s)", id, ws, id, ws)
	}
	acct := p.list[i]
	explain := func(err error) error {
		var te *tgparse.Error
		if errors.As(err, &te) {
			return fmt.Errorf("%s — %s (%s — %s)", te.Message().RU, te.Remedy().RU, te.Message().EN, te.Remedy().EN)
		}
		return err
	}
	st, err := login.SendCode(ctx, acct)
	if err != nil {
		return explain(err)
	}
	var self *tgparse.Self
	if st.Authorized {
		self = st.Self
	} else {
		fmt.Fprintf(out, "Telegram отправил код на %s. Введите код (enter the code): ", tgparse.MaskPhone(acct.Phone))
		code, err := readLine(in)
		if err != nil {
			return err
		}
		self, err = login.SignIn(ctx, st, code)
		if errors.Is(err, tgparse.ErrPasswordNeeded) {
			fmt.Fprint(out, "Включена двухэтапная проверка. Введите облачный пароль (two-step verification password; it is echoed): ")
			pw, rerr := readLine(in)
			if rerr != nil {
				return rerr
			}
			self, err = login.Password(ctx, st, pw)
		}
		if err != nil {
			return explain(err)
		}
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "parser account signed in",
		slog.String(chatter.AttrCategory, chatter.CategoryAuth), slog.String(chatter.AttrWorkspace, ws), slog.String("account", id))
	fmt.Fprintf(out, "Вход выполнен (signed in): %s — %s\n", id, selfName(self))
	return nil
}

func selfName(s *tgparse.Self) string {
	if s == nil {
		return ""
	}
	name := strings.TrimSpace(s.FirstName + " " + s.LastName)
	if s.Username != "" {
		name += " @" + s.Username
	}
	return name
}

func readLine(in *bufio.Reader) (string, error) {
	line, err := in.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", fmt.Errorf("ввод прерван (input ended): %w", err)
	}
	return strings.TrimSpace(line), nil
}
