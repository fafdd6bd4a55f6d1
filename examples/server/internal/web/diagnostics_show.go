package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/doctor"
)

// diagData is the diagnostics page: the last report, grouped as
// doctor.Report groups it (the server, then the guide's ten problems).
type diagData struct {
	At       time.Time
	Status   chatter.Status
	Kind     string // badge class of Status
	Version  string
	Groups   []diagGroup
	Problems []diagProblem // results that are not ok, worst first
	// Stale: the server's checks changed since the report was made.
	Stale bool
}

type diagGroup struct {
	ID, Anchor string
	Title      chatter.Text
	Section    chatter.Text
	Status     chatter.Status
	Kind       string
	Results    []diagResult
}

type diagResult struct {
	Name    string
	Title   chatter.Text
	Status  chatter.Status
	Kind    string
	Cause   chatter.Text
	Remedy  chatter.Text
	Details []diagDetail
	Took    string
	At      time.Time
}

type diagDetail struct{ Key, Value string }

// diagProblem is a line of the summary: a check that is not ok, with the
// anchor of its group.
type diagProblem struct {
	Group  chatter.Text
	Anchor string
	Title  chatter.Text
	Kind   string
	Status chatter.Status
}

// diagnosticsShow is Диагностика: the last report of the doctor's checks
// (run now when none was stored yet), each with its status, cause, remedy,
// details and the time it took; "проверить снова" per group or for all;
// the support bundle.
func (s *server) diagnosticsShow(w http.ResponseWriter, r *http.Request) {
	rep, err := s.diagLoad(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if rep == nil {
		rep = s.diagRun(r.Context(), nil, "")
		if err := s.diagSave(r.Context(), rep); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	v := s.newView(r)
	v.Data = s.diagView(v, rep)
	s.render(w, r, http.StatusOK, "diagnostics", v)
}

func (s *server) diagView(v *view, rep *doctor.Report) diagData {
	d := diagData{At: rep.At, Status: rep.Status, Kind: diagKind(rep.Status), Version: rep.Version, Stale: s.diagStale(rep)}
	for _, g := range rep.Groups {
		dg := diagGroup{ID: g.Problem.ID, Anchor: "g-" + g.Problem.ID, Title: g.Problem.Title, Section: g.Problem.Section,
			Status: g.Status, Kind: diagKind(g.Status)}
		for _, res := range g.Results {
			dr := diagResultView(v.Lang, res)
			dg.Results = append(dg.Results, dr)
			if res.Status == chatter.StatusFail || res.Status == chatter.StatusWarn {
				d.Problems = append(d.Problems, diagProblem{Group: g.Problem.Title, Anchor: dg.Anchor, Title: dr.Title, Kind: dr.Kind, Status: res.Status})
			}
		}
		d.Groups = append(d.Groups, dg)
	}
	slices.SortStableFunc(d.Problems, func(a, b diagProblem) int { return diagRank(b.Status) - diagRank(a.Status) })
	return d
}

// diagResultView is a check's result as the pages show it.
func diagResultView(lang string, res chatter.CheckResult) diagResult {
	dr := diagResult{Name: res.Name, Title: res.Title, Status: res.Status, Kind: diagKind(res.Status),
		Cause: res.Cause, Remedy: res.Remedy, Took: diagTook(lang, res.Duration), At: res.At}
	if dr.Title.IsZero() {
		dr.Title = chatter.T(res.Name, res.Name)
	}
	for k, val := range res.Details {
		dr.Details = append(dr.Details, diagDetail{k, val})
	}
	slices.SortFunc(dr.Details, func(a, b diagDetail) int { return strings.Compare(a.Key, b.Key) })
	return dr
}

// diagKind is the badge class of a status.
func diagKind(st chatter.Status) string {
	switch st {
	case chatter.StatusOK:
		return "ok"
	case chatter.StatusWarn:
		return "warn"
	case chatter.StatusFail:
		return "error"
	}
	return "info"
}

func diagRank(st chatter.Status) int {
	switch st {
	case chatter.StatusFail:
		return 3
	case chatter.StatusWarn:
		return 2
	case chatter.StatusOK:
		return 1
	}
	return 0
}

// diagTook is how long a check took, for people: "12 мс", "1,3 с".
func diagTook(lang string, d time.Duration) string {
	ms, s := "мс", "с"
	if lang == "en" {
		ms, s = "ms", "s"
	}
	switch {
	case d < time.Millisecond:
		return "< 1 " + ms
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " " + ms
	}
	out := fmt.Sprintf("%.1f", d.Seconds())
	if lang != "en" {
		out = strings.Replace(out, ".", ",", 1)
	}
	return out + " " + s
}
