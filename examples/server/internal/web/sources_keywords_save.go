package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// sourceKeywordsSave saves the workspace's keyword rules (POST
// /sources/{ws}/keywords). A rule's problem is shown with its line; the
// rules in force change only when every rule compiles.
func (s *server) sourceKeywordsSave(w http.ResponseWriter, r *http.Request) {
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
	wc := ws.Config
	wc.Keywords.Rules, wc.Keywords.ApplyTo, wc.Keywords.FoldLookalikes = kf.Lines.Rules, kf.ApplyTo, kf.Fold
	// The rules now live in the server's store, not in the file.
	wc.Keywords.File = ""
	err := s.app.UpdateWorkspace(r.Context(), wc, currentUser(r).Login)
	var probs config.Problems
	if errors.As(err, &probs) {
		lps, other := s.srcRulesProblems(probs, ws, f, kf.Lines)
		s.renderSourceKeywords(w, r, http.StatusUnprocessableEntity, ws, f, &srcKeywordsPage{sourceFormPage: sourceFormPage{Problems: other}, RuleProblems: lps})
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sourceEvent(r, ws.ID, chatter.CategorySystem, "keyword rules changed", slog.Int("rules", len(kf.Lines.Rules)),
		slog.String("apply_to", kf.ApplyTo), slog.Bool("fold_lookalikes", kf.Fold))
	s.flash(r, "info", s.srcPlural("sources.keywords.saved", len(kf.Lines.Rules)))
	redirect(w, r, ws.KeywordsURL())
}
