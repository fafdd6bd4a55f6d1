package amocrmsink_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/pgstore"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
	"github.com/chatterhq/sdk/fieldmap"
)

// The crash test runs the real pipeline (a SQL store, River, amocrmsink)
// against amocrmtest in child processes — this test binary, re-executed —
// and kills them with SIGKILL at random moments while they accept and
// deliver, with a fifth of amoCRM's writes applied but answered as
// failures. amoCRM (the fake) lives in the parent, like the real one
// outside the crashing server. Each child accepts the whole input again at
// start (like a source that redelivers what it was not sure of) and
// delivers until every message is final.

// TestMain runs a crash child when CRASH_CHILD is set, the tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv("CRASH_CHILD") != "" {
		if err := crashChild(); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const (
	crashMessages = 2000
	crashPeople   = 400
	crashKills    = 5
	// crashLastRun bounds the run that finishes the work (about 2.5
	// minutes on a quiet machine, twice that under CI's load).
	crashLastRun = 9 * time.Minute
)

// crashInput writes the messages the children accept: crashPeople people,
// each writing several messages (the first makes a lead, the others notes).
func crashInput(t testing.TB, dir string) (string, []*chatter.Message) {
	return writeInput(t, dir, crashMessages, crashPeople)
}

// writeInput writes n messages from people people: each person's first,
// then the rest at random.
func writeInput(t testing.TB, dir string, n, people int) (string, []*chatter.Message) {
	t.Helper()
	rng := rand.New(rand.NewPCG(42, 7))
	next := map[int64]int64{}
	var ms []*chatter.Message
	for i := range n {
		p := int64(1 + i%people)
		if i >= people {
			p = 1 + rng.Int64N(int64(people))
		}
		next[p]++
		who := person{id: 900000 + p, username: "client" + strconv.FormatInt(p, 10), first: "Клиент", last: strconv.FormatInt(p, 10)}
		m := msg(900000+p, next[p], who, fmt.Sprintf("Здравствуйте! Заявка %d: нужен ремонт, бюджет %d ₽", i, 100000+i))
		m.Time = time.Now().Add(time.Duration(i-n) * time.Second)
		ms = append(ms, m)
	}
	path := filepath.Join(dir, "input.jsonl")
	f, err := os.Create(path)
	require.NoError(t, err)
	enc := json.NewEncoder(f)
	for _, m := range ms {
		require.NoError(t, enc.Encode(m))
	}
	require.NoError(t, f.Close())
	return path, ms
}

// crashWorld is the fake amoCRM with ambiguous faults on a fifth of the
// writes.
func crashWorld(t *testing.T) (*amocrmtest.Server, string, int) {
	t.Helper()
	srv := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount), amocrmtest.WithFaultSeed(11),
		amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: -1, BlockAfter: -1}))
	marker := int(srv.AddCustomField(amocrmtest.EntityLeads, amocrmtest.CustomField{Name: amocrmsink.DefaultMarkerFieldName, Type: amocrmtest.FieldText, IsAPIOnly: true}).ID)
	srv.InjectFault(amocrmtest.Fault{Method: "POST", ApplyThenFail: true, Fraction: 0.2})
	srv.InjectFault(amocrmtest.Fault{Method: "PATCH", ApplyThenFail: true, Fraction: 0.2})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	require.NoError(t, srv.Start(ln.Addr().String()))
	t.Cleanup(func() { srv.Close() })
	return srv, srv.LongLivedToken(24 * time.Hour), marker
}

// child is one run of a crash child.
type child struct {
	cmd  *exec.Cmd
	done chan error
	out  *strings.Builder
}

func startChild(t testing.TB, env []string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out := &strings.Builder{}
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if os.Getenv("CRASH_VERBOSE") != "" {
			os.Stderr.Write(p) // a run's progress, as it happens
		}
		return out.Write(p)
	})
	cmd.Stdout, cmd.Stderr = w, w
	require.NoError(t, cmd.Start())
	c := &child{cmd: cmd, done: make(chan error, 1), out: out}
	go func() { c.done <- cmd.Wait() }()
	return c
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// crashResult is what the fake and the ledger hold at the end.
type crashResult struct {
	Kills, Writes, Faults, Adopted int
	Resumed                        int // jobs a killed child left running, taken back at once
	Delivered, Lost, DuplicateLds  int
	DuplicateNotes, Contacts       int
}

// verify checks the fake amoCRM: every message has exactly one note, no
// message created two leads, every person has one contact and one lead.
func verify(t *testing.T, srv *amocrmtest.Server, ms []*chatter.Message, entries []*chatter.LedgerEntry) crashResult {
	t.Helper()
	var r crashResult
	notes := map[string]int{}
	leadsOf := map[string]int{}
	for _, l := range srv.Leads() {
		for _, cf := range l.CustomFieldsValues {
			for _, v := range cf.Values {
				if s, ok := v.Value.(string); ok && strings.Contains(s, ":") {
					leadsOf[s]++
				}
			}
		}
		for _, n := range srv.Notes(amocrmtest.EntityLeads, l.ID) {
			text, _ := n.Params["text"].(string)
			if i := strings.LastIndex(text, amocrmsink.MarkerPrefix); i >= 0 {
				notes[strings.TrimSpace(text[i+len(amocrmsink.MarkerPrefix):])]++
			}
		}
	}
	for _, m := range ms {
		k := m.Key.String()
		switch n := notes[k]; {
		case n == 0:
			r.Lost++
			t.Errorf("message %s has no note in amoCRM", k)
		case n > 1:
			r.DuplicateNotes++
			t.Errorf("message %s has %d notes", k, n)
		}
		if leadsOf[k] > 1 {
			r.DuplicateLds++
			t.Errorf("message %s created %d leads", k, leadsOf[k])
		}
	}
	people := map[int64]bool{}
	for _, m := range ms {
		people[m.Sender.ID] = true
	}
	for id := range people {
		cs := 0
		for _, c := range srv.Contacts() {
			for _, cf := range c.CustomFieldsValues {
				if cf.FieldID == amocrmtest.DemoContactTelegramID {
					for _, v := range cf.Values {
						if v.Value == strconv.FormatInt(id, 10) {
							cs++
						}
					}
				}
			}
		}
		if cs != 1 {
			t.Errorf("person %d has %d contacts", id, cs)
		}
		r.Contacts += cs
	}
	for _, e := range entries {
		if e.State == chatter.StateDelivered {
			r.Delivered++
			if e.Result != nil && e.Result.Adopted {
				r.Adopted++
			}
		}
	}
	return r
}

// crashEnv is the child's environment for a store.
func crashEnv(srv *amocrmtest.Server, token string, marker int, input, store, dsn, instance string) []string {
	return []string{"CRASH_CHILD=1", "CRASH_CRM=" + srv.URL, "CRASH_TOKEN=" + token, "CRASH_MARKER=" + strconv.Itoa(marker),
		"CRASH_INPUT=" + input, "CRASH_STORE=" + store, "CRASH_DSN=" + dsn, "CRASH_INSTANCE=" + instance}
}

// TestCrashSQLite kills the child five times at random moments, then lets a
// last run finish on the same file: nothing lost, nothing twice.
func TestCrashSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: kills and restarts child processes")
	}
	dir := t.TempDir()
	input, ms := crashInput(t, dir)
	srv, token, marker := crashWorld(t)
	db := filepath.Join(dir, "chatter.db")
	env := crashEnv(srv, token, marker, input, "sqlite", db, "child")
	rng := rand.New(rand.NewPCG(1, 2))
	var outs []*strings.Builder
	for i := range crashKills {
		c := startChild(t, env)
		outs = append(outs, c.out)
		time.Sleep(time.Duration(300+rng.IntN(2500)) * time.Millisecond)
		select {
		case err := <-c.done:
			t.Fatalf("child %d ended before its kill: %v\n%s", i, err, c.out.String())
		default:
		}
		c.kill()
	}
	c := startChild(t, env)
	outs = append(outs, c.out)
	select {
	case err := <-c.done:
		require.NoError(t, err, c.out.String())
		t.Logf("the last child:\n%s", c.out.String())
	case <-time.After(crashLastRun):
		c.kill()
		t.Fatalf("the last child did not finish in %s:\n%s", crashLastRun, c.out.String())
	}
	st, err := sqlitestore.Open(context.Background(), db, sqlitestore.Config{})
	require.NoError(t, err)
	defer st.Close()
	entries := allEntries(t, st)
	r := verify(t, srv, ms, entries)
	r.Kills = crashKills
	r.Writes, r.Faults = faults(srv)
	r.Resumed = resumed(outs)
	require.Equal(t, crashMessages, r.Delivered, "every message delivered")
	require.Positive(t, r.Resumed, "a restart takes back what its killed predecessor left running")
	t.Logf("sqlite: %+v", r)
}

// TestCrashPostgresTwoProcesses runs two children on one PostgreSQL schema,
// killing one of them at random moments five times (the other keeps
// working), then lets both finish.
func TestCrashPostgresTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: kills and restarts child processes")
	}
	url := os.Getenv("CHATTER_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("CHATTER_TEST_POSTGRES_URL is not set")
	}
	dir := t.TempDir()
	input, ms := crashInput(t, dir)
	srv, token, marker := crashWorld(t)
	schema := "crash_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	defer pool.Close()
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE") })
	st, err := pgstore.New(pool, pgstore.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, st.Migrate(ctx))
	dsn := url + "|" + schema
	envs := [2][]string{crashEnv(srv, token, marker, input, "postgres", dsn, "a"), crashEnv(srv, token, marker, input, "postgres", dsn, "b")}
	children := [2]*child{startChild(t, envs[0]), startChild(t, envs[1])}
	outs := []*strings.Builder{children[0].out, children[1].out}
	rng := rand.New(rand.NewPCG(3, 4))
	for range crashKills {
		time.Sleep(time.Duration(300+rng.IntN(2500)) * time.Millisecond)
		i := rng.IntN(2)
		select {
		case err := <-children[i].done:
			// It finished all the work between two kills: start it again,
			// it has nothing left to do.
			require.NoError(t, err, children[i].out.String())
		default:
			children[i].kill()
		}
		children[i] = startChild(t, envs[i])
		outs = append(outs, children[i].out)
	}
	for i, c := range children {
		select {
		case err := <-c.done:
			require.NoError(t, err, "child %d:\n%s", i, c.out.String())
		case <-time.After(crashLastRun):
			c.kill()
			t.Fatalf("child %d did not finish in %s:\n%s", i, crashLastRun, c.out.String())
		}
	}
	entries := allEntries(t, st)
	r := verify(t, srv, ms, entries)
	r.Kills = crashKills
	r.Writes, r.Faults = faults(srv)
	r.Resumed = resumed(outs)
	require.Equal(t, crashMessages, r.Delivered, "every message delivered")
	require.Positive(t, r.Resumed, "what a killed child left running is taken back at once")
	t.Logf("postgres, two processes: %+v", r)
}

// resumedRE finds the queue's count of jobs taken back from a dead process
// (its restart's, or another instance's sweep) in a child's log.
var resumedRE = regexp.MustCompile(`jobs_resumed=(\d+)`)

// resumed sums the jobs the children's logs say they took back.
func resumed(outs []*strings.Builder) int {
	n := 0
	for _, o := range outs {
		for _, m := range resumedRE.FindAllStringSubmatch(o.String(), -1) {
			k, _ := strconv.Atoi(m[1])
			n += k
		}
	}
	return n
}

// faults counts amoCRM's writes and those answered 504 after being applied.
func faults(srv *amocrmtest.Server) (writes, failed int) {
	for _, r := range srv.Requests() {
		if r.Method == "POST" || r.Method == "PATCH" {
			writes++
			if r.Status == 504 {
				failed++
			}
		}
	}
	return writes, failed
}

func allEntries(t *testing.T, s chatter.MessageStore) []*chatter.LedgerEntry {
	t.Helper()
	q := chatter.LedgerQuery{Workspace: ws, Limit: 1000}
	var out []*chatter.LedgerEntry
	for {
		es, err := s.ListEntries(context.Background(), q)
		require.NoError(t, err)
		out = append(out, es...)
		if len(es) < q.Limit {
			return out
		}
		q.Before = es[len(es)-1].ReceivedAt
	}
}

// crashChild is the child process: open the store, accept the input,
// deliver until every message is final, exit 0.
func crashChild() error {
	ctx, cancel := context.WithTimeout(context.Background(), crashLastRun+time.Minute)
	defer cancel()
	var store interface {
		chatter.Store
	}
	// The benchmarks' variants (crash_bench_test.go); the tests take the
	// defaults.
	rescue, interval := envDuration("CRASH_RESCUE", time.Hour), envDuration("CRASH_INTERVAL", time.Millisecond)
	switch os.Getenv("CRASH_STORE") {
	case "sqlite":
		st, err := sqlitestore.Open(ctx, os.Getenv("CRASH_DSN"), sqlitestore.Config{
			Queue: sqlitestore.QueueTuning{RescueAfter: rescue, ReconcileInterval: 2 * time.Second}})
		if err != nil {
			return err
		}
		defer st.Close()
		store = st
	case "postgres":
		url, schema, _ := strings.Cut(os.Getenv("CRASH_DSN"), "|")
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			return err
		}
		defer pool.Close()
		st, err := pgstore.New(pool, pgstore.Config{Schema: schema,
			Queue: pgstore.QueueTuning{RescueAfter: rescue, ReconcileInterval: 2 * time.Second}})
		if err != nil {
			return err
		}
		if err := st.Migrate(ctx); err != nil {
			return err
		}
		store = st
	default:
		return errors.New("CRASH_STORE")
	}
	marker, _ := strconv.Atoi(os.Getenv("CRASH_MARKER"))
	// A restarted child is the same instance: it takes back at once what
	// its killed predecessor left running and held. River's rescuer waits
	// an hour and the leases last a minute, so without that the last run
	// would not finish in time.
	instance := os.Getenv("CRASH_INSTANCE")
	holder := "crash-" + strconv.Itoa(os.Getpid())
	if instance != "" {
		holder = chatter.InstanceHolder(instance)
	}
	client, err := amocrmsink.NewClient(amocrmsink.ClientConfig{Store: store, Workspace: ws, Account: "crash",
		BaseURL: os.Getenv("CRASH_CRM"), LongLivedToken: os.Getenv("CRASH_TOKEN"), Interval: interval,
		Options: append([]amocrm.Option{amocrm.WithBackoff(amocrm.Backoff{Base: 5 * time.Millisecond, Max: 50 * time.Millisecond, Retries: 3}),
			amocrm.WithTimeout(10 * time.Second)}, localLimiter(interval)...)})
	if err != nil {
		return err
	}
	spec, err := fieldmap.ParseSpec([]byte(testSpec), fieldmap.FormatYAML)
	if err != nil {
		return err
	}
	cache := fieldmap.NewSchemaCache(fieldmap.FetchSchema(client), fieldmap.SchemaCacheConfig{})
	schema, _, err := cache.Get(ctx)
	if err != nil {
		return err
	}
	mapper, err := fieldmap.Compile(spec, fieldmap.WithSchema(schema))
	if err != nil {
		return err
	}
	sink, err := amocrmsink.New(amocrmsink.Config{Client: client, Mapper: mapper, Schema: cache, Contacts: store, Leases: store,
		MarkerField: marker, ContactTelegramIDField: int(amocrmtest.DemoContactTelegramID),
		ContactUsernameField: int(amocrmtest.DemoContactTelegramUsername),
		LeaseTTL:             time.Minute, LeaseWait: 2 * time.Second, Holder: holder,
		BatchSize: 10, BatchWait: 20 * time.Millisecond})
	if err != nil {
		return err
	}
	// The child's log: the queue's lines about instances.
	logger := slog.New(instanceLines{slog.NewTextHandler(os.Stdout, nil)})
	p, err := chatter.NewPipeline(chatter.PipelineConfig{Store: store, Sink: sink, Workers: 8, JobTimeout: 5 * time.Second, Instance: instance, Logger: logger,
		Backoff: chatter.ExponentialBackoff(20*time.Millisecond, 500*time.Millisecond)})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runDone := make(chan error, 1)
	go func() { runDone <- p.Run(runCtx) }()
	if os.Getenv("CRASH_WATCH") != "" {
		// The account's circuit shared by the children (block_test.go).
		go func() {
			if err := sink.Watch(runCtx, amocrmsink.WatchConfig{Workspace: ws, Settings: store, Queue: store}); err != nil {
				fmt.Println("watch:", err)
			}
		}()
	}

	f, err := os.Open(os.Getenv("CRASH_INPUT"))
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var batch []*chatter.Message
	accepted := 0
	for sc.Scan() {
		accepted++
		var m chatter.Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return err
		}
		batch = append(batch, &m)
		if len(batch) == 50 {
			if _, err := p.AcceptBatch(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	f.Close()
	if len(batch) > 0 {
		if _, err := p.AcceptBatch(ctx, batch); err != nil {
			return err
		}
	}
	started, reported := time.Now(), time.Now()
	for {
		counts, err := store.CountEntries(ctx, chatter.LedgerQuery{Workspace: ws})
		if err != nil {
			return err
		}
		if time.Since(reported) >= 10*time.Second {
			// Progress, for the parent's failure message.
			reported = time.Now()
			fmt.Printf("%s: %v\n", time.Since(started).Round(time.Second), counts)
		}
		if counts[chatter.StateDelivered] == accepted {
			stop()
			return <-runDone
		}
		if n := counts[chatter.StateDead] + counts[chatter.StateRejected]; n > 0 {
			return fmt.Errorf("%d messages dead or rejected: %v", n, counts)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not done: %v", counts)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// instanceLines passes on the log records about instances only.
type instanceLines struct{ slog.Handler }

func (h instanceLines) Handle(ctx context.Context, r slog.Record) error {
	if !strings.Contains(r.Message, "instance") {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h instanceLines) WithAttrs(as []slog.Attr) slog.Handler {
	return instanceLines{h.Handler.WithAttrs(as)}
}

func (h instanceLines) WithGroup(name string) slog.Handler {
	return instanceLines{h.Handler.WithGroup(name)}
}

// envDuration is the duration in the variable name, or def.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

// localLimiter is CRASH_LIMITER=local's option: each process paces itself
// (amocrm's own limiter) instead of sharing the store's budget.
func localLimiter(interval time.Duration) []amocrm.Option {
	if os.Getenv("CRASH_LIMITER") != "local" {
		return nil
	}
	return []amocrm.Option{amocrm.WithLimiter(amocrm.NewIntervalLimiter(interval))}
}
