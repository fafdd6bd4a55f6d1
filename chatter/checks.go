package chatter

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultCheckTimeout bounds one check in RunChecks.
const DefaultCheckTimeout = 10 * time.Second

// CheckOptions tunes RunChecks. Zero fields take the defaults.
type CheckOptions struct {
	// Timeout bounds each check. Defaults to 10 seconds. A check that has
	// not returned by then is reported as failed (and left to finish on
	// its own).
	Timeout time.Duration
	// Concurrency is the most checks run at once. Defaults to all of them.
	Concurrency int
	// Now is the clock for CheckResult.At and Duration. Defaults to time.Now.
	Now func() time.Time
}

// RunChecks runs checks concurrently, each under its own timeout, and
// returns their results in input order with Name, At and Duration filled. A
// check that panics, times out, is cut short by ctx, or returns no valid
// Status yields StatusFail with a ru/en cause. nil checks are skipped.
func RunChecks(ctx context.Context, checks []Check, opts CheckOptions) []CheckResult {
	timeout := cmp.Or(max(opts.Timeout, 0), DefaultCheckTimeout)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	limit := len(checks)
	if opts.Concurrency > 0 {
		limit = min(limit, opts.Concurrency)
	}
	sem := make(chan struct{}, max(limit, 1))
	results := make([]CheckResult, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		if c == nil {
			continue
		}
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				results[i] = checkAborted(c.Name(), now(), ctx.Err())
				return
			}
			results[i] = runCheck(ctx, c, timeout, now)
		})
	}
	wg.Wait()
	return slicesCompact(results, checks)
}

// slicesCompact drops the results of nil checks, keeping order.
func slicesCompact(rs []CheckResult, checks []Check) []CheckResult {
	out := rs[:0]
	for i, r := range rs {
		if checks[i] != nil {
			out = append(out, r)
		}
	}
	return out
}

func runCheck(ctx context.Context, c Check, timeout time.Duration, now func() time.Time) CheckResult {
	name := c.Name()
	start := now()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan CheckResult, 1) // buffered: a check that overruns can still finish
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- CheckResult{
					Status: StatusFail,
					Cause: T(fmt.Sprintf("проверка завершилась аварийно (внутренняя ошибка): %v", p),
						fmt.Sprintf("the check crashed (internal error): %v", p)),
					Remedy: T("Сообщите в техподдержку.", "Contact support."),
				}
			}
		}()
		done <- c.Run(cctx)
	}()
	var r CheckResult
	select {
	case r = <-done:
	case <-cctx.Done():
		select {
		case r = <-done: // it finished just in time
		default:
			r = checkAborted(name, start, cctx.Err())
			if ctx.Err() == nil {
				r.Cause = T(fmt.Sprintf("проверка не завершилась за %s", durationText(timeout).RU),
					fmt.Sprintf("the check did not finish in %s", durationText(timeout).EN))
			}
		}
	}
	r.Name = cmp.Or(r.Name, name)
	if r.Title.IsZero() {
		r.Title = T(name, name)
	}
	switch r.Status {
	case StatusOK, StatusWarn, StatusFail, StatusSkip:
	default:
		r.Cause = T(fmt.Sprintf("проверка вернула неизвестный статус %q", r.Status), fmt.Sprintf("the check returned an unknown status %q", r.Status))
		r.Status = StatusFail
	}
	r.At = start
	r.Duration = max(now().Sub(start), 0)
	return r
}

func checkAborted(name string, at time.Time, err error) CheckResult {
	return CheckResult{
		Name:   name,
		Title:  T(name, name),
		Status: StatusFail,
		Cause:  T("проверка прервана: "+err.Error(), "the check was interrupted: "+err.Error()),
		Remedy: T("Повторите диагностику; если проверка зависает, проверьте подключение к сервису.", "Run the diagnostics again; if the check hangs, check the connection to the service."),
		At:     at,
	}
}

// Summary returns the worst status of results: StatusFail, then StatusWarn,
// then StatusOK. Skipped checks do not count; with no results, or only
// skipped ones, it returns StatusSkip.
func Summary(results []CheckResult) Status {
	worst := StatusSkip
	rank := map[Status]int{StatusSkip: 0, StatusOK: 1, StatusWarn: 2, StatusFail: 3}
	for _, r := range results {
		rk, ok := rank[r.Status]
		if !ok {
			rk = rank[StatusFail] // an unknown status is treated as a failure
		}
		if rk > rank[worst] {
			worst = r.Status
			if !ok {
				worst = StatusFail
			}
		}
	}
	return worst
}
