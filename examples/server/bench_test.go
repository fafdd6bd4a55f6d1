package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

// TestMain lets the benchmarks run the server as a child process (this test
// binary, re-executed), so that its memory and start-up are the server's
// alone.
func TestMain(m *testing.M) {
	if args := os.Getenv("SERVER_BENCH_CHILD_ARGS"); args != "" {
		ctx, stop := signalContext()
		defer stop()
		err := run(ctx, strings.Fields(args), os.Getenv, os.Stdin, os.Stdout, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 1)
	signalNotify(ch)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// benchWorld is a server child process in webhook mode against in-process
// fakes of amoCRM (enforcing 7 requests/s) and the Bot API.
type benchWorld struct {
	dir, url, hook string
	config         string
	crm            *httptest.Server
	fake           *amocrmtest.Server
	tg             *httptest.Server
	botToken       string
}

const benchSecret = "bench-webhook-secret"

func newBenchWorld(b testing.TB) *benchWorld {
	b.Helper()
	w := &benchWorld{dir: b.TempDir()}
	crm := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
	crm.AddCustomField(amocrmtest.EntityLeads, amocrmtest.CustomField{Name: amocrmsink.DefaultMarkerFieldName, Type: amocrmtest.FieldText, IsAPIOnly: true})
	w.fake, w.crm = crm, httptest.NewServer(crm)
	b.Cleanup(w.crm.Close)
	tg := tgbottest.New()
	token, _ := tg.AddBot("bench_bot")
	w.botToken = token
	w.tg = httptest.NewServer(tg)
	b.Cleanup(w.tg.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	w.url = "http://" + addr
	w.hook = w.url + "/telegram/bench/b"
	w.config = filepath.Join(w.dir, "chatter.yaml")
	store := ""
	if u := os.Getenv("SERVER_BENCH_POSTGRES_URL"); u != "" {
		store = "store: {postgres: {url: \"" + u + "\", schema: bench_" + strconv.FormatInt(time.Now().UnixNano(), 36) + "}}\n"
	}
	cfg := fmt.Sprintf(store+`data_dir: %s
log: {level: error}
http:
  addr: %s
  public_url: %s
workspaces:
  - id: bench
    amocrm:
      subdomain: %s
      base_url: %s
      long_lived_token: %s
      contact_telegram_id_field: "%d"
    mapping:
      inline:
        lead:
          name: '{{ sender.first_name }}: {{ text | truncate 40 "…" }}'
        contact:
          name: '{{ sender.first_name }}'
    bots:
      - id: b
        token: %s
        mode: webhook
        webhook_secret: %s
        api_url: %s
`, filepath.Join(w.dir, "data"), addr, w.url, crm.Account().Subdomain, w.crm.URL,
		crm.LongLivedToken(24*time.Hour), amocrmtest.DemoContactTelegramID, token, benchSecret, w.tg.URL)
	if err := os.WriteFile(w.config, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	return w
}

// start runs the server and returns the process once /readyz answers 200,
// with the time that took.
func (w *benchWorld) start(b testing.TB) (*exec.Cmd, time.Duration) {
	b.Helper()
	return w.startLogging(b, &strings.Builder{})
}

// startLogging is start with the server's log written to stderr.
func (w *benchWorld) startLogging(b testing.TB, stderr io.Writer) (*exec.Cmd, time.Duration) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SERVER_BENCH_CHILD_ARGS=serve -config "+w.config)
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		resp, err := http.Get(w.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd, time.Since(t0)
			}
		}
	}
	cmd.Process.Kill()
	b.Fatalf("the server did not get ready in 30 s:\n%s", stderr)
	return nil, 0
}

func stopChild(b testing.TB, cmd *exec.Cmd) {
	b.Helper()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b.Errorf("the server exited with %v", err)
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		b.Error("the server did not stop in a minute")
	}
}

// rssKB reads a process's resident set size from /proc (Linux).
func rssKB(pid int) (int, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n, err == nil
		}
	}
	return 0, false
}

// BenchmarkServerStartup measures the time from exec to /readyz 200 on a
// warm store (the data directory of an earlier start).
func BenchmarkServerStartup(b *testing.B) {
	w := newBenchWorld(b)
	cmd, _ := w.start(b) // creates and migrates the store
	stopChild(b, cmd)
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		cmd, d := w.start(b)
		total += d
		b.StopTimer()
		stopChild(b, cmd)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/ready")
}

// BenchmarkServerWebhookIngest posts b.N Telegram updates to the server's
// webhook at 1,000 per second (as Telegram would, with the secret), from
// 500 people, and reports the acknowledgement latency (p50, p99: 200 is
// sent only once the message is durable) and the server's RSS idle and at
// its peak under that load. Deliveries to the rate-limited amoCRM run
// meanwhile (at 7 requests/s the queue grows: that is the point of it).
func BenchmarkServerWebhookIngest(b *testing.B) {
	if _, ok := rssKB(os.Getpid()); !ok {
		b.Skip("needs /proc for RSS")
	}
	w := newBenchWorld(b)
	cmd, _ := w.start(b)
	defer stopChild(b, cmd)
	time.Sleep(3 * time.Second) // settle
	idle, _ := rssKB(cmd.Process.Pid)

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: 30 * time.Second}
	var (
		mu   sync.Mutex
		lat  []time.Duration
		errs int
		peak = idle
		wg   sync.WaitGroup
	)
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				if kb, ok := rssKB(cmd.Process.Pid); ok && kb > peak {
					peak = kb
				}
			}
		}
	}()
	const rate = 1000
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		wg.Go(func() {
			user := 100000 + i%500
			body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":%d,"chat":{"id":%d,"type":"private","first_name":"Клиент %d"},`+
				`"from":{"id":%d,"is_bot":false,"first_name":"Клиент %d","language_code":"ru"},"text":"Здравствуйте! Нужен ремонт кухни, заявка %d"}}`,
				i+1, i+1, time.Now().Unix(), user, user, user, user, i)
			req, _ := http.NewRequest(http.MethodPost, w.hook, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", benchSecret)
			t0 := time.Now()
			resp, err := hc.Do(req)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs++
				return
			}
			lat = append(lat, d)
		})
	}
	wg.Wait()
	b.StopTimer()
	close(stopSampling)
	<-sampled
	if errs > 0 {
		b.Errorf("%d of %d webhook requests failed", errs, b.N)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.90), "p90_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(pct(0.999), "p99.9_ms")
	b.ReportMetric(float64(idle)/1024, "rss_idle_MB")
	b.ReportMetric(float64(peak)/1024, "rss_peak_MB")
}
