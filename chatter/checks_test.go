package chatter

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRunChecks(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	// The first two checks wait until both are running: only a concurrent
	// RunChecks finishes.
	var started sync.WaitGroup
	started.Add(2)
	barrier := func() { started.Done(); started.Wait() }
	release := make(chan struct{})
	defer close(release)
	checks := []Check{
		CheckFunc("store", func(ctx context.Context) CheckResult {
			barrier()
			clock.Advance(2 * time.Second)
			return CheckResult{Status: StatusOK, Title: T("База данных", "Database")}
		}),
		nil,
		CheckFunc("panics", func(ctx context.Context) CheckResult {
			barrier()
			var s []int
			_ = s[len(s)] // index out of range
			return CheckResult{Status: StatusOK}
		}),
		CheckFunc("bad-status", func(ctx context.Context) CheckResult { return CheckResult{} }),
	}
	rs := RunChecks(t.Context(), checks, CheckOptions{Timeout: 30 * time.Second, Now: clock.Now})
	// Timeouts are checked apart, with a short limit.
	rs = slices.Insert(rs, 2, RunChecks(t.Context(), []Check{
		CheckFunc("hangs", func(ctx context.Context) CheckResult {
			<-release // ignores ctx
			return CheckResult{Status: StatusOK}
		}),
		CheckFunc("honours-ctx", func(ctx context.Context) CheckResult {
			<-ctx.Done()
			return CheckResult{Status: StatusWarn, Cause: T("медленно", "slow")}
		}),
	}, CheckOptions{Timeout: 10 * time.Millisecond})...)
	if len(rs) != 5 {
		t.Fatalf("%d results; want 5", len(rs))
	}
	names := []string{}
	for _, r := range rs {
		names = append(names, r.Name)
		if r.At.IsZero() || r.Title.IsZero() {
			t.Errorf("%s: At or Title not filled: %+v", r.Name, r)
		}
	}
	if got := strings.Join(names, ","); got != "store,panics,hangs,honours-ctx,bad-status" {
		t.Errorf("order = %s", got)
	}
	if r := rs[0]; r.Status != StatusOK || r.Title.RU != "База данных" || r.Duration <= 0 {
		t.Errorf("store = %+v", r)
	}
	if r := rs[1]; r.Status != StatusFail || !strings.Contains(r.Cause.RU, "аварийно") || !strings.Contains(r.Cause.EN, "index out of range") {
		t.Errorf("panics = %+v", r)
	}
	if r := rs[2]; r.Status != StatusFail || !strings.Contains(r.Cause.RU, "не завершилась") || r.Cause.EN == "" {
		t.Errorf("hangs = %+v", r)
	}
	if r := rs[3]; r.Status != StatusWarn && r.Status != StatusFail {
		t.Errorf("honours-ctx = %+v", r)
	}
	if r := rs[4]; r.Status != StatusFail || !strings.Contains(r.Cause.EN, "unknown status") {
		t.Errorf("bad-status = %+v", r)
	}
	if Summary(rs) != StatusFail {
		t.Errorf("Summary = %s", Summary(rs))
	}
	b, err := json.Marshal(rs[0])
	if err != nil || !strings.Contains(string(b), `"status":"ok"`) || !strings.Contains(string(b), `"title":{"ru":"База данных","en":"Database"}`) || strings.Contains(string(b), `"cause"`) {
		t.Errorf("json = %s, %v", b, err)
	}
}

func TestRunChecksConcurrencyLimit(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	running, peak := 0, 0
	var checks []Check
	for range 6 {
		checks = append(checks, CheckFunc("c", func(ctx context.Context) CheckResult {
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			time.Sleep(time.Millisecond) // let others start if they could
			mu.Lock()
			running--
			mu.Unlock()
			return CheckResult{Status: StatusOK}
		}))
	}
	rs := RunChecks(t.Context(), checks, CheckOptions{Concurrency: 2})
	if len(rs) != 6 || peak > 2 || Summary(rs) != StatusOK {
		t.Errorf("peak %d, %d results, summary %s", peak, len(rs), Summary(rs))
	}
}

func TestRunChecksCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rs := RunChecks(ctx, []Check{CheckFunc("x", func(ctx context.Context) CheckResult {
		<-ctx.Done()
		return CheckResult{Status: StatusFail, Cause: T("отменено", "cancelled")}
	})}, CheckOptions{})
	if len(rs) != 1 || rs[0].Status != StatusFail || rs[0].Name != "x" {
		t.Errorf("results = %+v", rs)
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	r := func(ss ...Status) []CheckResult {
		var out []CheckResult
		for _, s := range ss {
			out = append(out, CheckResult{Status: s})
		}
		return out
	}
	for _, tc := range []struct {
		in   []CheckResult
		want Status
	}{
		{nil, StatusSkip},
		{r(StatusSkip), StatusSkip},
		{r(StatusOK, StatusSkip), StatusOK},
		{r(StatusOK, StatusWarn, StatusOK), StatusWarn},
		{r(StatusFail, StatusWarn), StatusFail},
		{r(StatusOK, "weird"), StatusFail},
	} {
		if got := Summary(tc.in); got != tc.want {
			t.Errorf("Summary(%v) = %s; want %s", tc.in, got, tc.want)
		}
	}
}
