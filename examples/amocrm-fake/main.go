// Command amocrm-fake serves a fake amoCRM account (API v4 and OAuth) seeded
// with the demo account, for trying integrations in any language, like
// stripe-mock. It prints the base URL, the integration's credentials and ready
// tokens, then serves until interrupted.
//
//	go run ./examples/amocrm-fake -addr 127.0.0.1:8787
//	curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:8787/api/v4/leads
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "amocrm-fake:", err)
		os.Exit(1)
	}
}

// run parses flags (defaults from AMOCRM_FAKE_* variables), starts the fake and
// serves until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("amocrm-fake", flag.ContinueOnError)
	fs.SetOutput(stdout)
	def := amocrmtest.DefaultIntegration()
	addr := fs.String("addr", cmp.Or(getenv("AMOCRM_FAKE_ADDR"), "127.0.0.1:8787"), "listen address (port 0 picks a free port)")
	clientID := fs.String("client-id", cmp.Or(getenv("AMOCRM_FAKE_CLIENT_ID"), def.ClientID), "integration client_id")
	secret := fs.String("client-secret", cmp.Or(getenv("AMOCRM_FAKE_CLIENT_SECRET"), def.ClientSecret), "integration client_secret")
	redirect := fs.String("redirect-uri", cmp.Or(getenv("AMOCRM_FAKE_REDIRECT_URI"), def.RedirectURI), "integration redirect_uri")
	rate := fs.Int("rate", amocrmtest.DefaultPerSecond, "requests per second per account; -1 disables the limit")
	blockAfter := fs.Int("block-after", amocrmtest.DefaultBlockAfter, "429 answers within a minute that block the account with 403; -1 disables")
	blockFor := fs.Duration("block-for", amocrmtest.DefaultBlockFor, "how long a block lasts")
	demo := fs.Bool("demo", true, "seed the demo account (pipelines, fields, users, a few leads)")
	verbose := fs.Bool("v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}

	opts := []amocrmtest.Option{
		amocrmtest.WithIntegration(amocrmtest.Integration{ClientID: *clientID, ClientSecret: *secret, RedirectURI: *redirect}),
		amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: *rate, BlockAfter: *blockAfter, BlockFor: *blockFor}),
	}
	if *verbose {
		opts = append(opts, amocrmtest.WithLogger(slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	if *demo {
		opts = append(opts, amocrmtest.WithSeed(amocrmtest.DemoAccount))
	} else {
		opts = append(opts, amocrmtest.WithSeed(func(s *amocrmtest.Server) {
			s.AddUser(amocrmtest.User{Name: "Администратор", Rights: amocrmtest.UserRights{IsAdmin: true}})
			s.AddPipeline(amocrmtest.Pipeline{Name: "Воронка", Statuses: []amocrmtest.Status{{Name: "Первичный контакт"}}})
		}))
	}
	srv := amocrmtest.New(opts...)
	if err := srv.Start(*addr); err != nil {
		return err
	}
	defer srv.Close()

	acc, in := srv.Account(), srv.Integration()
	fmt.Fprintf(stdout, "amoCRM fake API v4 is serving\n")
	fmt.Fprintf(stdout, "base_url: %s\n", srv.URL)
	fmt.Fprintf(stdout, "subdomain: %s\n", acc.Subdomain)
	fmt.Fprintf(stdout, "account_id: %d\n", acc.ID)
	fmt.Fprintf(stdout, "amojo_id: %s\n", acc.AmojoID)
	fmt.Fprintf(stdout, "client_id: %s\n", in.ClientID)
	fmt.Fprintf(stdout, "client_secret: %s\n", in.ClientSecret)
	fmt.Fprintf(stdout, "redirect_uri: %s\n", in.RedirectURI)
	fmt.Fprintf(stdout, "auth_code: %s\n", srv.IssueAuthCode())
	fmt.Fprintf(stdout, "access_token: %s\n", srv.AccessToken())
	fmt.Fprintf(stdout, "long_lived_token: %s\n", srv.LongLivedToken(5*365*24*time.Hour))
	fmt.Fprintf(stdout, "try: curl -H \"Authorization: Bearer <access_token>\" %s/api/v4/account?with=users_groups,amojo_id\n", srv.URL)

	<-ctx.Done()
	return nil
}
