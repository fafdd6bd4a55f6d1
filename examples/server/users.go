package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

const userUsage = `usage: server user <add|passwd|lock|unlock|list> [flags]
  add     -login L -email E -role admin|manager [-name N] [-workspaces a,b]   пароль из stdin (password from stdin; empty: a one-time one)
  passwd  -login L                                                           новый пароль из stdin (new password from stdin)
  lock    -login L                                                           заблокировать (block)
  unlock  -login L                                                           разблокировать и снять блокировку после неудачных входов (unblock and clear the lockout)
  list                                                                       все пользователи (every user)
each takes -config FILE and -data DIR
`

// readSecret reads one line (a password) from stdin.
func readSecret(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (e *env) user(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, userUsage)
		return errUsage
	}
	verb, args := args[0], args[1:]
	fs := flag.NewFlagSet("user "+verb, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c commonFlags
	c.register(fs, e.getenv)
	login := fs.String("login", "", "логин (login)")
	email := fs.String("email", "", "e-mail")
	role := fs.String("role", "manager", "роль: admin или manager (role)")
	name := fs.String("name", "", "имя (display name)")
	workspaces := fs.String("workspaces", "", "пространства менеджера через запятую (a manager's workspaces, comma-separated)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	switch verb {
	case "add", "passwd", "lock", "unlock", "list":
	default:
		fmt.Fprint(e.stderr, userUsage)
		return errUsage
	}
	if verb != "list" && *login == "" {
		fmt.Fprintln(e.stderr, "нужен -login (-login is required)")
		return errUsage
	}
	a, _, err := e.open(ctx, c)
	if err != nil {
		return err
	}
	defer a.Close()
	users := a.Auth()
	by := auth.System("cli")
	find := func() (*auth.User, error) {
		u, err := users.GetByLogin(ctx, *login)
		if errors.Is(err, chatter.ErrNotFound) {
			return nil, fmt.Errorf("пользователь %q не найден (no such user)", *login)
		}
		return u, err
	}
	switch verb {
	case "add":
		pw, err := readSecret(e.stdin)
		if err != nil {
			return err
		}
		oneTime := pw == ""
		if oneTime {
			if pw, err = users.GenerateOneTimePassword(); err != nil {
				return err
			}
		}
		var ws []string
		for _, w := range strings.Split(*workspaces, ",") {
			if w = strings.TrimSpace(w); w != "" {
				ws = append(ws, w)
			}
		}
		u, err := users.Create(ctx, by, auth.NewUser{Login: *login, Email: *email, DisplayName: *name, Role: auth.Role(*role),
			Workspaces: ws, Password: pw, MustChangePassword: oneTime})
		if err != nil {
			return userError(err)
		}
		fmt.Fprintf(e.stdout, "пользователь создан (user created): %s <%s>, %s\n", u.Login, u.Email, u.Role)
		if oneTime {
			fmt.Fprintf(e.stdout, "одноразовый пароль (one-time password): %s — смените при первом входе (change it at first login)\n", pw)
		}
	case "passwd":
		u, err := find()
		if err != nil {
			return err
		}
		pw, err := readSecret(e.stdin)
		if err != nil {
			return err
		}
		if err := users.SetPassword(ctx, by, u.ID, pw, false); err != nil {
			return userError(err)
		}
		fmt.Fprintf(e.stdout, "пароль изменён, сеансы завершены (password changed, sessions ended): %s\n", u.Login)
	case "lock":
		u, err := find()
		if err != nil {
			return err
		}
		if err := users.Block(ctx, by, u.ID); err != nil {
			return userError(err)
		}
		fmt.Fprintf(e.stdout, "заблокирован (blocked): %s\n", u.Login)
	case "unlock":
		u, err := find()
		if err != nil {
			return err
		}
		if u.Blocked() {
			if err := users.Unblock(ctx, by, u.ID); err != nil {
				return userError(err)
			}
		}
		if err := users.Unlock(ctx, by, u.ID); err != nil {
			return userError(err)
		}
		fmt.Fprintf(e.stdout, "разблокирован (unblocked): %s\n", u.Login)
	case "list":
		list, err := users.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LOGIN\tEMAIL\tROLE\tSTATE\tLAST LOGIN")
		now := time.Now()
		for _, u := range list {
			state := "active"
			switch {
			case u.Blocked():
				state = "blocked"
			case u.AccessExpiredAt(now):
				state = "expired"
			case u.LockedAt(now):
				state = "locked until " + u.LockedUntil.Local().Format("15:04")
			case u.MustChangePassword:
				state = "must change password"
			}
			last := "-"
			if !u.LastLoginAt.IsZero() {
				last = u.LastLoginAt.Local().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Login, u.Email, u.Role, state, last)
		}
		return tw.Flush()
	}
	return nil
}

// userError renders the auth package's field problems.
func userError(err error) error {
	probs := auth.Problems(err)
	if len(probs) == 0 {
		return err
	}
	var b strings.Builder
	for field, t := range probs {
		fmt.Fprintf(&b, "%s: %s\n", field, t.String())
	}
	return errors.New(strings.TrimSpace(b.String()))
}

func (e *env) accountLogin(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("account login", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c commonFlags
	c.register(fs, e.getenv)
	account := fs.String("account", "", "id аккаунта парсера из конфигурации (the parser account's id)")
	workspace := fs.String("workspace", "", "пространство (workspace; default: the only one with the account)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if *account == "" {
		fmt.Fprintln(e.stderr, "нужен -account (-account is required)")
		return errUsage
	}
	a, cfg, err := e.open(ctx, c)
	if err != nil {
		return err
	}
	defer a.Close()
	ws := *workspace
	if ws == "" {
		for _, w := range cfg.Workspaces {
			for _, pa := range w.Parser.Accounts {
				if pa.ID == *account {
					ws = w.ID
				}
			}
		}
	}
	if ws == "" {
		return fmt.Errorf("аккаунт %q не найден в конфигурации (no parser account %q in the configuration)", *account, *account)
	}
	return a.LoginParserAccount(ctx, ws, *account, bufio.NewReader(e.stdin), e.stdout)
}
