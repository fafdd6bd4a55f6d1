// Command amocrm-fake serves a fake amoCRM account (API v4 and OAuth) seeded
// with the demo account, for trying integrations in any language, like
// stripe-mock. It prints the base URL, the integration's credentials and ready
// tokens (including a refresh token, so OAuth rotation can be tried without a
// code exchange) and the active faults, then serves until interrupted.
//
//	go run ./examples/amocrm-fake -addr 127.0.0.1:8787
//	curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:8787/api/v4/leads
//
// Every flag but -demo and -v takes its default from an environment variable:
//
//	-addr ($AMOCRM_FAKE_ADDR, 127.0.0.1:8787)
//	    listen address; port 0 picks a free port
//	-client-id, -client-secret, -redirect-uri ($AMOCRM_FAKE_CLIENT_ID, ...)
//	    the integration's credentials
//	-rate ($AMOCRM_FAKE_RATE, 7)
//	    requests per second per account; -1 disables the limit
//	-block-after ($AMOCRM_FAKE_BLOCK_AFTER, 20)
//	    429 answers within a minute that block the account with 403; -1 disables
//	-block-for ($AMOCRM_FAKE_BLOCK_FOR, 15m)
//	    how long a block lasts
//	-error-rate ($AMOCRM_FAKE_ERROR_RATE, 0)
//	    fraction of /api/ requests answered -error-status without being applied
//	-error-status ($AMOCRM_FAKE_ERROR_STATUS, 503)
//	    status of those answers (500..599), with an HTML gateway body
//	-applied-then-fail-rate ($AMOCRM_FAKE_APPLIED_THEN_FAIL_RATE, 0)
//	    fraction of POST and PATCH /api/ requests applied and then answered 504
//	-timeout-rate ($AMOCRM_FAKE_TIMEOUT_RATE, 0)
//	    fraction of /api/ requests that hang for -timeout-after
//	-timeout-after ($AMOCRM_FAKE_TIMEOUT_AFTER, 30s)
//	    how long they hang, on top of -latency
//	-latency ($AMOCRM_FAKE_LATENCY, 0)
//	    delay added to every /api/ request, faulted or not
//	-fault-seed ($AMOCRM_FAKE_FAULT_SEED, 1)
//	    seed of the random fault draws, so runs are reproducible
//
// The three fault rates are exclusive: a request suffers at most one of them,
// each rate is the fraction of all matching requests (a write is drawn for an
// error first, then a timeout, then applied-then-fail), and their sum must not
// exceed 1. A request that hangs is applied only if the client waits longer
// than -timeout-after; one that gives up first leaves nothing behind. OAuth
// (/oauth2/access_token) is never faulted. A bad value, given as a flag or in
// a variable, is an error. For example:
//
//	AMOCRM_FAKE_APPLIED_THEN_FAIL_RATE=0.1 go run ./examples/amocrm-fake
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
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
	srv, err := start(args, getenv, stdout)
	if err != nil || srv == nil {
		return err
	}
	defer srv.Close()
	<-ctx.Done()
	return nil
}

// config is the parsed command line.
type config struct {
	addr, clientID, clientSecret, redirectURI string

	rate, blockAfter int
	blockFor         time.Duration

	errorRate           float64
	errorStatus         int
	appliedThenFailRate float64
	timeoutRate         float64
	timeoutAfter        time.Duration
	latency             time.Duration
	faultSeed           uint64

	demo, verbose bool
}

// errHelp reports that -h was asked for and the usage printed.
var errHelp = errors.New("help requested")

// envDefaults reads flag defaults from environment variables and collects the
// malformed ones.
type envDefaults struct {
	getenv func(string) string
	errs   []error
}

// envValue returns the parsed value of the variable name, or def when it is
// unset or empty. A malformed value is recorded as an error naming the variable.
func envValue[T any](e *envDefaults, name string, def T, parse func(string) (T, error)) T {
	s := e.getenv(name)
	if s == "" {
		return def
	}
	v, err := parse(s)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("environment variable %s=%q: %w", name, s, err))
		return def
	}
	return v
}

func parseInt(s string) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("not an integer")
	}
	return v, nil
}

func parseUint64(s string) (uint64, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, errors.New("not an unsigned integer")
	}
	return v, nil
}

func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, errors.New("not a number")
	}
	return v, nil
}

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("not a duration such as 200ms or 30s")
	}
	return v, nil
}

// parseConfig parses args with defaults from getenv. It returns errHelp after
// printing the usage for -h.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet("amocrm-fake", flag.ContinueOnError)
	fs.SetOutput(out)
	env := &envDefaults{getenv: getenv}
	envOf := map[string]string{} // flag name -> variable
	usage := func(flagName, variable, text string) string {
		envOf[flagName] = variable
		return text + " ($" + variable + ")"
	}
	def := amocrmtest.DefaultIntegration()
	var c config
	fs.StringVar(&c.addr, "addr", cmp.Or(getenv("AMOCRM_FAKE_ADDR"), "127.0.0.1:8787"),
		usage("addr", "AMOCRM_FAKE_ADDR", "listen address (port 0 picks a free port)"))
	fs.StringVar(&c.clientID, "client-id", cmp.Or(getenv("AMOCRM_FAKE_CLIENT_ID"), def.ClientID),
		usage("client-id", "AMOCRM_FAKE_CLIENT_ID", "integration client_id"))
	fs.StringVar(&c.clientSecret, "client-secret", cmp.Or(getenv("AMOCRM_FAKE_CLIENT_SECRET"), def.ClientSecret),
		usage("client-secret", "AMOCRM_FAKE_CLIENT_SECRET", "integration client_secret"))
	fs.StringVar(&c.redirectURI, "redirect-uri", cmp.Or(getenv("AMOCRM_FAKE_REDIRECT_URI"), def.RedirectURI),
		usage("redirect-uri", "AMOCRM_FAKE_REDIRECT_URI", "integration redirect_uri"))
	fs.IntVar(&c.rate, "rate", envValue(env, "AMOCRM_FAKE_RATE", amocrmtest.DefaultPerSecond, parseInt),
		usage("rate", "AMOCRM_FAKE_RATE", "requests per second per account; -1 disables the limit"))
	fs.IntVar(&c.blockAfter, "block-after", envValue(env, "AMOCRM_FAKE_BLOCK_AFTER", amocrmtest.DefaultBlockAfter, parseInt),
		usage("block-after", "AMOCRM_FAKE_BLOCK_AFTER", "429 answers within a minute that block the account with 403; -1 disables"))
	fs.DurationVar(&c.blockFor, "block-for", envValue(env, "AMOCRM_FAKE_BLOCK_FOR", amocrmtest.DefaultBlockFor, parseDuration),
		usage("block-for", "AMOCRM_FAKE_BLOCK_FOR", "how long a block lasts"))
	fs.Float64Var(&c.errorRate, "error-rate", envValue(env, "AMOCRM_FAKE_ERROR_RATE", 0.0, parseFloat),
		usage("error-rate", "AMOCRM_FAKE_ERROR_RATE", "fraction (0..1) of /api/ requests answered -error-status without being applied; "+
			"the fault rates are exclusive, their sum must not exceed 1 (drawn in the order error, timeout, applied-then-fail)"))
	fs.IntVar(&c.errorStatus, "error-status", envValue(env, "AMOCRM_FAKE_ERROR_STATUS", http.StatusServiceUnavailable, parseInt),
		usage("error-status", "AMOCRM_FAKE_ERROR_STATUS", "status (500..599) of -error-rate answers, with an HTML gateway body"))
	fs.Float64Var(&c.appliedThenFailRate, "applied-then-fail-rate", envValue(env, "AMOCRM_FAKE_APPLIED_THEN_FAIL_RATE", 0.0, parseFloat),
		usage("applied-then-fail-rate", "AMOCRM_FAKE_APPLIED_THEN_FAIL_RATE", "fraction (0..1) of POST and PATCH /api/ requests applied and then answered 504"))
	fs.Float64Var(&c.timeoutRate, "timeout-rate", envValue(env, "AMOCRM_FAKE_TIMEOUT_RATE", 0.0, parseFloat),
		usage("timeout-rate", "AMOCRM_FAKE_TIMEOUT_RATE", "fraction (0..1) of /api/ requests that hang for -timeout-after; "+
			"a client giving up first leaves the request unapplied, one waiting longer gets the real answer"))
	fs.DurationVar(&c.timeoutAfter, "timeout-after", envValue(env, "AMOCRM_FAKE_TIMEOUT_AFTER", 30*time.Second, parseDuration),
		usage("timeout-after", "AMOCRM_FAKE_TIMEOUT_AFTER", "how long -timeout-rate requests hang (on top of -latency)"))
	fs.DurationVar(&c.latency, "latency", envValue(env, "AMOCRM_FAKE_LATENCY", time.Duration(0), parseDuration),
		usage("latency", "AMOCRM_FAKE_LATENCY", "delay added to every /api/ request, faulted or not"))
	fs.Uint64Var(&c.faultSeed, "fault-seed", envValue(env, "AMOCRM_FAKE_FAULT_SEED", uint64(1), parseUint64),
		usage("fault-seed", "AMOCRM_FAKE_FAULT_SEED", "seed of the random fault draws, so runs are reproducible"))
	fs.BoolVar(&c.demo, "demo", true, "seed the demo account (pipelines, fields, users, a few leads)")
	fs.BoolVar(&c.verbose, "v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, errHelp
		}
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if len(env.errs) > 0 {
		return config{}, errors.Join(env.errs...)
	}

	// source names where a flag's value came from, for error messages.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	source := func(name string) string {
		if v := envOf[name]; !given[name] && v != "" && getenv(v) != "" {
			return fmt.Sprintf("environment variable %s=%q", v, getenv(v))
		}
		return "-" + name + "=" + fs.Lookup(name).Value.String()
	}
	var errs []error
	for _, r := range []struct {
		name string
		v    float64
	}{{"error-rate", c.errorRate}, {"applied-then-fail-rate", c.appliedThenFailRate}, {"timeout-rate", c.timeoutRate}} {
		if !(r.v >= 0 && r.v <= 1) { // also refuses NaN
			errs = append(errs, fmt.Errorf("%s: must be between 0 and 1", source(r.name)))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"block-for", c.blockFor}, {"timeout-after", c.timeoutAfter}, {"latency", c.latency}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative", source(d.name)))
		}
	}
	if c.errorStatus < 500 || c.errorStatus > 599 {
		errs = append(errs, fmt.Errorf("%s: must be a 5xx status", source("error-status")))
	}
	if len(errs) > 0 {
		return config{}, errors.Join(errs...)
	}
	if sum := c.errorRate + c.appliedThenFailRate + c.timeoutRate; sum > 1+1e-9 {
		var srcs []string
		for n, v := range map[string]float64{"error-rate": c.errorRate, "timeout-rate": c.timeoutRate, "applied-then-fail-rate": c.appliedThenFailRate} {
			if v > 0 {
				srcs = append(srcs, source(n))
			}
		}
		slices.Sort(srcs)
		return config{}, fmt.Errorf("%s: the fault rates are exclusive and add up to %g, more than 1", strings.Join(srcs, ", "), sum)
	}
	if c.timeoutRate > 0 && c.timeoutAfter == 0 {
		return config{}, fmt.Errorf("%s: must be positive when %s", source("timeout-after"), source("timeout-rate"))
	}
	return c, nil
}

// faults returns the faults to inject, in order. amocrmtest applies the first
// matching fault and draws each fraction in turn, so the fractions of the later
// faults are conditional on the earlier ones not firing: that makes each rate
// the fraction of all matching requests. A write is drawn for a timeout before
// applied-then-fail, so every rate holds for writes and reads alike. The last,
// catch-all fault delays the requests no other fault took.
func (c config) faults() []amocrmtest.Fault {
	var out []amocrmtest.Fault
	left := 1.0 // probability that no earlier fault fired
	conditional := func(p float64) float64 {
		if left <= 0 {
			return 1
		}
		return min(1, p/left)
	}
	if c.errorRate > 0 {
		out = append(out, amocrmtest.Fault{PathPrefix: "/api/", Status: c.errorStatus, Latency: c.latency, Fraction: c.errorRate})
		left -= c.errorRate
	}
	if c.timeoutRate > 0 {
		out = append(out, amocrmtest.Fault{PathPrefix: "/api/", Latency: c.latency + c.timeoutAfter, Fraction: conditional(c.timeoutRate)})
		left -= c.timeoutRate
	}
	if c.appliedThenFailRate > 0 {
		f := conditional(c.appliedThenFailRate)
		for _, m := range []string{http.MethodPost, http.MethodPatch} {
			out = append(out, amocrmtest.Fault{Method: m, PathPrefix: "/api/", ApplyThenFail: true,
				Status: http.StatusGatewayTimeout, Latency: c.latency, Fraction: f})
		}
	}
	if c.latency > 0 {
		out = append(out, amocrmtest.Fault{PathPrefix: "/api/", Latency: c.latency})
	}
	return out
}

// faultSummary describes the active faults for the faults: line.
func (c config) faultSummary() string {
	var parts []string
	if c.errorRate > 0 {
		parts = append(parts, fmt.Sprintf("error-rate=%g (status %d)", c.errorRate, c.errorStatus))
	}
	if c.timeoutRate > 0 {
		parts = append(parts, fmt.Sprintf("timeout-rate=%g (hang %s)", c.timeoutRate, c.timeoutAfter))
	}
	if c.appliedThenFailRate > 0 {
		parts = append(parts, fmt.Sprintf("applied-then-fail-rate=%g (POST, PATCH; status 504)", c.appliedThenFailRate))
	}
	if c.latency > 0 {
		parts = append(parts, fmt.Sprintf("latency=%s", c.latency))
	}
	if len(parts) == 0 {
		return "none"
	}
	s := strings.Join(parts, ", ")
	if c.errorRate > 0 || c.timeoutRate > 0 || c.appliedThenFailRate > 0 {
		s += fmt.Sprintf(", fault-seed=%d", c.faultSeed)
	}
	return s
}

// adminID picks the user amocrmtest's AccessToken grants access as: the first
// active admin, else the first user.
func adminID(users []amocrmtest.User) int64 {
	for _, u := range users {
		if u.Rights.IsAdmin && !u.Rights.Inactive {
			return u.ID
		}
	}
	if len(users) > 0 {
		return users[0].ID
	}
	return 0
}

// start parses the flags, starts the fake and prints the credentials. It
// returns a nil server and error after -h.
func start(args []string, getenv func(string) string, stdout io.Writer) (*amocrmtest.Server, error) {
	c, err := parseConfig(args, getenv, stdout)
	if errors.Is(err, errHelp) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}

	opts := []amocrmtest.Option{
		amocrmtest.WithIntegration(amocrmtest.Integration{ClientID: c.clientID, ClientSecret: c.clientSecret, RedirectURI: c.redirectURI}),
		amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: c.rate, BlockAfter: c.blockAfter, BlockFor: c.blockFor}),
		amocrmtest.WithFaultSeed(c.faultSeed),
	}
	if c.verbose {
		opts = append(opts, amocrmtest.WithLogger(slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	if c.demo {
		opts = append(opts, amocrmtest.WithSeed(amocrmtest.DemoAccount))
	} else {
		opts = append(opts, amocrmtest.WithSeed(func(s *amocrmtest.Server) {
			s.AddUser(amocrmtest.User{Name: "Администратор", Rights: amocrmtest.UserRights{IsAdmin: true}})
			s.AddPipeline(amocrmtest.Pipeline{Name: "Воронка", Statuses: []amocrmtest.Status{{Name: "Первичный контакт"}}})
		}))
	}
	srv := amocrmtest.New(opts...)
	for _, f := range c.faults() {
		srv.InjectFault(f)
	}
	if err := srv.Start(c.addr); err != nil {
		return nil, err
	}

	acc, in := srv.Account(), srv.Integration()
	// Issued after Start: access tokens carry the server's host as api_domain.
	oauthAccess, refresh := srv.IssueTokenPair(adminID(srv.Users()))
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
	fmt.Fprintf(stdout, "oauth_access_token: %s\n", oauthAccess)
	fmt.Fprintf(stdout, "refresh_token: %s\n", refresh)
	fmt.Fprintf(stdout, "long_lived_token: %s\n", srv.LongLivedToken(5*365*24*time.Hour))
	fmt.Fprintf(stdout, "faults: %s\n", c.faultSummary())
	fmt.Fprintf(stdout, "try: curl -H \"Authorization: Bearer <access_token>\" %s/api/v4/account?with=users_groups,amojo_id\n", srv.URL)
	return srv, nil
}
