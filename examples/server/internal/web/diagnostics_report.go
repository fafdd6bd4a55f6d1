package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/doctor"
)

// diagSetting is where the last diagnostics report is kept: a setting of
// the server's own rows, so that every instance shows the same report
// and a page view does not run the checks again (some are slow, some
// have effects: a test webhook, an SMTP connection, an amoCRM set-up
// attempt). A report holds no secrets (chatter.Check's contract).
const diagSetting = "web/diagnostics/report"

// diagConcurrency is how many checks run at once (as the app's Doctor).
const diagConcurrency = 8

// diagLoad returns the stored report, or nil when none was stored yet.
func (s *server) diagLoad(ctx context.Context) (*doctor.Report, error) {
	st, err := s.app.Store().GetSetting(ctx, auth.ServerWorkspace, diagSetting)
	if errors.Is(err, chatter.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rep doctor.Report
	if err := json.Unmarshal(st.Value, &rep); err != nil || len(rep.Groups) == 0 {
		// An unreadable report (an older format) is as good as none.
		s.log.Warn("web: stored diagnostics report unreadable; running the checks again", "err", fmt.Sprint(err))
		return nil, nil
	}
	return &rep, nil
}

// diagSave stores rep as the last report (the last run wins).
func (s *server) diagSave(ctx context.Context, rep *doctor.Report) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	store := s.app.Store()
	for range 5 {
		var version int64
		if st, err := store.GetSetting(ctx, auth.ServerWorkspace, diagSetting); err == nil {
			version = st.Version
		} else if !errors.Is(err, chatter.ErrNotFound) {
			return err
		}
		_, err := store.PutSetting(ctx, auth.ServerWorkspace, diagSetting, b, version)
		if !errors.Is(err, chatter.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("web: store the diagnostics report: %w", chatter.ErrConflict)
}

// diagRun runs the checks and returns the new report: every check when
// group is "" or there is no previous report; otherwise the checks whose
// results were in group last time, plus any check the previous report
// does not know (its group is known only once it ran). The other results
// are kept from prev, except those of checks that no longer exist.
func (s *server) diagRun(ctx context.Context, prev *doctor.Report, group string) *doctor.Report {
	opts := chatter.CheckOptions{Concurrency: diagConcurrency}
	checks := s.app.Checks()
	run, keep := checks, []chatter.CheckResult(nil)
	if group != "" && prev != nil {
		inGroup, known := map[string]bool{}, map[string]bool{}
		for _, g := range prev.Groups {
			for _, r := range g.Results {
				known[r.Name] = true
				if g.Problem.ID == group {
					inGroup[r.Name] = true
				}
			}
		}
		run = nil
		replaced := map[string]bool{}
		for _, c := range checks {
			if inGroup[c.Name()] || !known[c.Name()] {
				run = append(run, c)
				replaced[c.Name()] = true
			}
		}
		for _, g := range prev.Groups {
			for _, r := range g.Results {
				if !replaced[r.Name] {
					keep = append(keep, r)
				}
			}
		}
	}
	results := append(keep, chatter.RunChecks(ctx, run, opts)...)
	// Running may change the checks themselves (an amoCRM set-up that
	// succeeds brings the sink's checks): run the new ones once, and drop
	// the results of those that are gone.
	have := map[string]bool{}
	for _, r := range results {
		have[r.Name] = true
	}
	current := map[string]bool{}
	var more []chatter.Check
	for _, c := range s.app.Checks() {
		current[c.Name()] = true
		if !have[c.Name()] {
			more = append(more, c)
		}
	}
	results = slices.DeleteFunc(results, func(r chatter.CheckResult) bool { return !current[r.Name] })
	results = append(results, chatter.RunChecks(ctx, more, opts)...)
	return s.diagReport(results)
}

func (s *server) diagReport(results []chatter.CheckResult) *doctor.Report {
	rep := doctor.NewReport(time.Now(), results)
	rep.Version = s.app.Build().Version
	return rep
}

// diagStale reports whether the server's checks are not those rep ran
// (a workspace, bot or notifier was added or removed since).
func (s *server) diagStale(rep *doctor.Report) bool {
	var had []string
	for _, g := range rep.Groups {
		for _, r := range g.Results {
			had = append(had, r.Name)
		}
	}
	var now []string
	for _, c := range s.app.Checks() {
		now = append(now, c.Name())
	}
	slices.Sort(had)
	slices.Sort(now)
	return !slices.Equal(had, now)
}
