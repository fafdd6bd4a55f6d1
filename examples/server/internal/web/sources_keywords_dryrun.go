package web

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// sourceKeywordsDryRun tries the rules of the form, without saving them,
// on the messages stored over the last N days (POST
// /sources/{ws}/keywords/dryrun): what they would gain and lose against
// the verdicts in force, and why each changed message matched.
func (s *server) sourceKeywordsDryRun(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	f := newForm(r.PostForm)
	kf := srcReadKeywordsForm(f)
	days, err := strconv.Atoi(strings.TrimSpace(f.Values.Get("days")))
	if err != nil || days < 1 || days > srcDryRunMaxDays {
		f.failKey(s.i18n, "days", "sources.keywords.bad_days", srcDryRunMaxDays)
	}
	if kf.ApplyTo != config.ApplyToParser && kf.ApplyTo != config.ApplyToAll {
		f.failKey(s.i18n, "apply_to", "sources.keywords.bad_apply_to")
	}
	set, lps := kf.compile()
	page := &srcKeywordsPage{RuleProblems: lps, Days: days}
	if !f.ok() || len(lps) > 0 {
		s.renderSourceKeywords(w, r, http.StatusUnprocessableEntity, ws, f, page)
		return
	}
	to := s.now()
	res, err := srcDryRun(r.Context(), s.app.Store(), srcDryRunOptions{Workspace: ws.ID, Set: set, ApplyTo: kf.ApplyTo,
		Current: ws.Config.Keywords.ApplyTo, From: to.Add(-time.Duration(days) * 24 * time.Hour), To: to})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "keyword rules dry run",
		slog.String(chatter.AttrCategory, chatter.CategoryFilter), slog.String(chatter.AttrWorkspace, ws.ID),
		slog.String("by", currentUser(r).Login), slog.Int("days", days), slog.Int("scanned", res.Scanned),
		slog.Int("gained", res.Gained), slog.Int("lost", res.Lost))
	page.DryRun = res
	s.renderSourceKeywords(w, r, http.StatusOK, ws, f, page)
}
