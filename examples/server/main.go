// Command server is Chatter's reference server: the program a company runs
// to turn Telegram conversations into amoCRM leads. With no arguments and
// no configuration it starts the demo: an SQLite store in ./chatter-data,
// in-process fakes of amoCRM, the Bot API and Telegram's MTProto, and a
// generator of realistic Russian conversations.
//
//	go run ./examples/server                        # the demo
//	go run ./examples/server serve -config chatter.yaml
//	go run ./examples/server doctor -config chatter.yaml
//	go run ./examples/server help
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	var ec exitCode
	switch {
	case errors.As(err, &ec):
		os.Exit(int(ec))
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "chatter:", err)
		os.Exit(1)
	}
}

// exitCode ends the program with a code and no message (doctor: 0/1/2).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit code %d", int(e)) }

// errUsage is returned after a usage message was printed.
var errUsage = errors.New("usage")

// env is what every subcommand gets.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

const usage = `Чаттер — сервер: сообщения Telegram превращаются в сделки amoCRM.
Chatter server: Telegram conversations become amoCRM leads.

Использование (usage): server [command] [flags]

Команды (commands):
  serve           запустить сервер (по умолчанию; без -config — демо) / run the server (the default; without -config, the demo)
  doctor          диагностика по руководству поддержки / diagnostics by the support guide (exit 0 ok, 1 warn, 2 fail)
  migrate         применить миграции базы данных / apply the database migrations
  user            пользователи: add, passwd, lock, unlock, list / users
  bundle          архив для техподдержки (без секретов) / the support bundle (no secrets)
  config check    проверить файл конфигурации / check a config file
  account login   вход аккаунта Telegram для парсинга / sign a Telegram parser account in
  version         версия / version

Подробнее (details): server <command> -h
`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return e.serve(ctx, args)
	case "doctor":
		return e.doctor(ctx, args)
	case "migrate":
		return e.migrate(ctx, args)
	case "user":
		return e.user(ctx, args)
	case "bundle":
		return e.bundle(ctx, args)
	case "config":
		if len(args) == 0 || args[0] != "check" {
			fmt.Fprintln(stderr, "usage: server config check [-config FILE] [-lang ru|en]")
			return errUsage
		}
		return e.configCheck(args[1:])
	case "account":
		if len(args) == 0 || args[0] != "login" {
			fmt.Fprintln(stderr, "usage: server account login -account ID [-workspace ID] [-config FILE] [-data DIR]")
			return errUsage
		}
		return e.accountLogin(ctx, args[1:])
	case "version":
		fmt.Fprintln(stdout, "chatter", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "неизвестная команда %q (unknown command)\n\n%s", cmd, usage)
	return errUsage
}
