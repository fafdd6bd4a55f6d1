package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/keyword"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

func (ws *sourceWS) KeywordsURL() string { return ws.Base() + "/keywords" }

// srcRuleLines are the rules of the form's text area, one per line; empty
// lines and lines starting with '#' are skipped. Line[i] is rule i's line.
type srcRuleLines struct {
	Rules []string
	Line  []int
}

func srcParseRuleLines(text string) srcRuleLines {
	var out srcRuleLines
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out.Rules = append(out.Rules, line)
		out.Line = append(out.Line, i+1)
	}
	return out
}

// srcLineProblem is a problem of one rule, by its line in the text area.
type srcLineProblem struct {
	Line int
	Text chatter.Text
}

// srcKeywordsForm is the rules as the form gives them.
type srcKeywordsForm struct {
	Lines   srcRuleLines
	ApplyTo string
	Fold    bool
}

func srcReadKeywordsForm(f *form) srcKeywordsForm {
	return srcKeywordsForm{Lines: srcParseRuleLines(f.Values.Get("rules")), ApplyTo: f.Values.Get("apply_to"), Fold: f.Values.Get("fold") == "1"}
}

// compile checks the rules one by one (each problem with its line, as the
// configuration's validation reports them) and returns the set.
func (k srcKeywordsForm) compile() (*keyword.Set, []srcLineProblem) {
	norm := keyword.NormalizeOptions{FoldLookalikes: k.Fold}
	var probs []srcLineProblem
	rules := make([]keyword.Rule, len(k.Lines.Rules))
	for i, r := range k.Lines.Rules {
		rules[i] = keyword.Rule{Expr: r}
		if _, err := keyword.Compile(keyword.Config{Rules: rules[i : i+1], Normalize: norm}); err != nil {
			probs = append(probs, srcLineProblem{Line: k.Lines.Line[i], Text: srcSyntaxText(err)})
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	set, err := keyword.Compile(keyword.Config{Rules: rules, Normalize: norm})
	if err != nil {
		return nil, []srcLineProblem{{Text: srcSyntaxText(err)}}
	}
	return set, nil
}

func srcSyntaxText(err error) chatter.Text {
	var se *keyword.SyntaxError
	if errors.As(err, &se) {
		return se.Message()
	}
	return chatter.T(err.Error(), err.Error())
}

// srcKeywordsPage is the page of the workspace's keyword rules and their dry
// run.
type srcKeywordsPage struct {
	sourceFormPage
	// File is the file the rules were read from at start ("" when none):
	// saving here keeps them in the server's store instead.
	File string
	// Rules counts the rules in force.
	Rules int
	// RuleProblems are the rules' problems by line.
	RuleProblems []srcLineProblem
	DryRun       *srcDryRunResult
	Days         int
	MaxDays      int
}

// renderSourceKeywords renders the rules page; f nil shows the rules in force.
func (s *server) renderSourceKeywords(w http.ResponseWriter, r *http.Request, status int, ws *sourceWS, f *form, page *srcKeywordsPage) {
	if fresh, ok := s.app.WorkspaceConfig(ws.ID); ok {
		ws.Config = srcCloneWorkspace(fresh)
		ws.RT, _ = s.app.Runtime(ws.ID)
	}
	v := s.newView(r)
	v.Path = ws.KeywordsURL()
	k := ws.Config.Keywords
	if f != nil {
		v.Form = f
	} else {
		v.Form.Values.Set("rules", strings.Join(k.Rules, "\n"))
		v.Form.Values.Set("apply_to", k.ApplyTo)
		if k.FoldLookalikes {
			v.Form.Values.Set("fold", "1")
		}
	}
	if !v.Form.Values.Has("days") {
		v.Form.Values.Set("days", strconv.Itoa(srcDryRunDefaultDays))
	}
	if page == nil {
		page = &srcKeywordsPage{}
	}
	page.WS, page.File, page.Rules, page.MaxDays = ws, k.File, len(k.Rules), srcDryRunMaxDays
	if len(page.RuleProblems) > 0 {
		v.Form.fail("rules", s.srcPlural("sources.keywords.rule_problems", len(page.RuleProblems)))
	}
	v.Data = page
	s.render(w, r, status, "sources_keywords", v)
}

// srcRulesProblems places UpdateWorkspace's problems of the keywords: a rule's
// by its line, apply_to on its field, the rest at the top.
func (s *server) srcRulesProblems(probs config.Problems, ws *sourceWS, f *form, lines srcRuleLines) ([]srcLineProblem, []chatter.Text) {
	prefix := fmt.Sprintf("workspaces[%d].keywords.rules", ws.Index)
	var lps []srcLineProblem
	var rest config.Problems
	for _, p := range probs {
		if p.Severity != config.SeverityError {
			continue
		}
		if tail, ok := strings.CutPrefix(p.Path, prefix); ok {
			line := 0
			if n, err := strconv.Atoi(strings.Trim(tail, "[]")); err == nil && n >= 0 && n < len(lines.Line) {
				line = lines.Line[n]
			}
			lps = append(lps, srcLineProblem{Line: line, Text: p.Message})
			continue
		}
		rest = append(rest, p)
	}
	var other []chatter.Text
	if len(rest) > 0 {
		other = s.srcPlaceProblems(rest, ws, f, "keywords", srcFields{"apply_to": "apply_to", "fold_lookalikes": "fold"})
	}
	return lps, other
}
