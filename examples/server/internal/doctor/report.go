package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// GuideSystem groups the checks of the server itself (configuration, store,
// disk, clock) that no single problem of the guide owns.
const GuideSystem = "system"

// SystemProblem is the group of GuideSystem.
var SystemProblem = chatter.GuideProblem{
	ID:      GuideSystem,
	Title:   chatter.T("Сервер Чаттера", "The Chatter server"),
	Section: chatter.T("Общие принципы устранения неполадок", "General troubleshooting"),
}

// Problems returns the groups a report has, in order: the server's own
// group first, then the guide's ten problems in the guide's order.
func Problems() []chatter.GuideProblem {
	return append([]chatter.GuideProblem{SystemProblem}, chatter.GuideProblems()...)
}

// Group is one problem of the guide with the results of its checks.
type Group struct {
	Problem chatter.GuideProblem  `json:"problem"`
	Status  chatter.Status        `json:"status"`
	Results []chatter.CheckResult `json:"results"`
}

// Report is the outcome of one run of every check.
type Report struct {
	At      time.Time      `json:"at"`
	Status  chatter.Status `json:"status"`
	Groups  []Group        `json:"groups"`
	Version string         `json:"version,omitempty"`
}

// Run runs checks (concurrently, each bounded by opts.Timeout) and groups
// their results by CheckResult.Guide. A result whose Guide is not a known
// problem goes to the server's own group. Every group of Problems is in the
// report, empty ones with StatusSkip.
func Run(ctx context.Context, checks []chatter.Check, opts chatter.CheckOptions) *Report {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return NewReport(now(), chatter.RunChecks(ctx, checks, opts))
}

// NewReport groups results already run into a report made at at.
func NewReport(at time.Time, results []chatter.CheckResult) *Report {
	problems := Problems()
	idx := make(map[string]int, len(problems))
	groups := make([]Group, len(problems))
	for i, p := range problems {
		idx[p.ID] = i
		groups[i].Problem = p
	}
	for _, r := range results {
		i, ok := idx[r.Guide]
		if !ok {
			i = idx[GuideSystem]
		}
		groups[i].Results = append(groups[i].Results, r)
	}
	all := make([]chatter.CheckResult, 0, len(results))
	for i := range groups {
		slices.SortStableFunc(groups[i].Results, func(a, b chatter.CheckResult) int {
			return rank(b.Status) - rank(a.Status)
		})
		groups[i].Status = chatter.Summary(groups[i].Results)
		all = append(all, groups[i].Results...)
	}
	return &Report{At: at, Status: chatter.Summary(all), Groups: groups}
}

func rank(s chatter.Status) int {
	switch s {
	case chatter.StatusFail:
		return 3
	case chatter.StatusWarn:
		return 2
	case chatter.StatusOK:
		return 1
	}
	return 0
}

// ExitCode is the doctor command's exit code: 0 when nothing is wrong, 1 for
// warnings, 2 for failures.
func (r *Report) ExitCode() int {
	switch r.Status {
	case chatter.StatusFail:
		return 2
	case chatter.StatusWarn:
		return 1
	}
	return 0
}

// Problems returns the results that are not ok (warnings and failures), worst first.
func (r *Report) Problems() []chatter.CheckResult {
	var out []chatter.CheckResult
	for _, g := range r.Groups {
		for _, res := range g.Results {
			if res.Status == chatter.StatusFail || res.Status == chatter.StatusWarn {
				out = append(out, res)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b chatter.CheckResult) int { return rank(b.Status) - rank(a.Status) })
	return out
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadJSON reads a report written by WriteJSON (the doctor command's -url
// mode reads a running server's report this way).
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(io.LimitReader(rd, 16<<20)).Decode(&r); err != nil {
		return nil, fmt.Errorf("doctor: read report: %w", err)
	}
	if len(r.Groups) == 0 {
		return nil, fmt.Errorf("doctor: read report: no groups in the answer")
	}
	return &r, nil
}

// statusLabel is how a status is printed.
func statusLabel(s chatter.Status, lang string) string {
	t := map[chatter.Status]chatter.Text{
		chatter.StatusOK:   chatter.T("ОК", "OK"),
		chatter.StatusWarn: chatter.T("ВНИМАНИЕ", "WARN"),
		chatter.StatusFail: chatter.T("ОШИБКА", "FAIL"),
		chatter.StatusSkip: chatter.T("пропущено", "skipped"),
	}[s]
	if t.IsZero() {
		return string(s)
	}
	return t.In(lang)
}

// WriteText prints the report for a terminal in lang ("ru" or "en"): every
// group with its status, each check on a line, and for the checks that are
// not ok their cause and the guide's remedy. verbose prints the ok checks'
// details too.
func (r *Report) WriteText(w io.Writer, lang string, verbose bool) error {
	var b strings.Builder
	t := func(ru, en string) string { return chatter.T(ru, en).In(lang) }
	fmt.Fprintf(&b, "%s: %s\n", t("Диагностика Чаттера", "Chatter diagnostics"), statusLabel(r.Status, lang))
	for _, g := range r.Groups {
		fmt.Fprintf(&b, "\n[%s] %s\n", statusLabel(g.Status, lang), g.Problem.Title.In(lang))
		if len(g.Results) == 0 {
			fmt.Fprintf(&b, "    %s\n", t("нет проверок в этой конфигурации", "no checks in this configuration"))
			continue
		}
		for _, res := range g.Results {
			fmt.Fprintf(&b, "  %-9s %s\n", statusLabel(res.Status, lang), res.Title.In(lang))
			if res.Status == chatter.StatusWarn || res.Status == chatter.StatusFail || verbose {
				if !res.Cause.IsZero() {
					fmt.Fprintf(&b, "            %s %s\n", t("Причина:", "Cause:"), res.Cause.In(lang))
				}
				if !res.Remedy.IsZero() {
					fmt.Fprintf(&b, "            %s %s\n", t("Что сделать:", "Remedy:"), res.Remedy.In(lang))
				}
			}
			if verbose {
				keys := make([]string, 0, len(res.Details))
				for k := range res.Details {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for _, k := range keys {
					fmt.Fprintf(&b, "            %s = %s\n", k, res.Details[k])
				}
			}
		}
	}
	if len(r.Problems()) == 0 {
		fmt.Fprintf(&b, "\n%s\n", t("Проблем не найдено.", "No problems found."))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
