package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// The Источники section (/sources): the workspaces' bots, parser accounts,
// parsed chats and keyword rules. Every page is for administrators (the
// routes are adminOnly); each still checks canAccess for its workspace.
// Settings change only through app.UpdateWorkspace, whose config.Problems
// are shown next to the fields they name.

// sourceWS is one workspace as the pages of the section see it.
type sourceWS struct {
	ID   string
	Name string
	// Index is the workspace's place in the configuration: the N of
	// "workspaces[N]" in the paths of config.Problems.
	Index int
	// Config is a copy the handler may change and pass to UpdateWorkspace.
	Config config.Workspace
	// RT is the running workspace (nil when it is not running).
	RT *app.Runtime
}

// sourceWorkspace loads the workspace of the path's {ws}: 404 when it is
// not configured, 403 when the user may not see it.
func (s *server) sourceWorkspace(w http.ResponseWriter, r *http.Request) (*sourceWS, bool) {
	id := r.PathValue("ws")
	for i, wc := range s.app.Config().Workspaces {
		if wc.ID != id {
			continue
		}
		if !canAccess(r, id) {
			s.errorPage(w, r, http.StatusForbidden, "error.forbidden")
			return nil, false
		}
		rt, _ := s.app.Runtime(id)
		return &sourceWS{ID: id, Name: cmpOr(wc.Name, id), Index: i, Config: srcCloneWorkspace(wc), RT: rt}, true
	}
	s.errorPage(w, r, http.StatusNotFound, "sources.error.no_workspace")
	return nil, false
}

// base is the path of the workspace's pages.
func (ws *sourceWS) Base() string { return "/sources/" + url.PathEscape(ws.ID) }

// srcCloneWorkspace copies the lists a page edits, so that a change never
// reaches the running workspace's configuration before UpdateWorkspace.
func srcCloneWorkspace(wc config.Workspace) config.Workspace {
	wc.Bots = slices.Clone(wc.Bots)
	for i := range wc.Bots {
		wc.Bots[i].AllowedUpdates = slices.Clone(wc.Bots[i].AllowedUpdates)
	}
	wc.Keywords.Rules = slices.Clone(wc.Keywords.Rules)
	wc.Parser.Accounts = slices.Clone(wc.Parser.Accounts)
	wc.Parser.Chats = slices.Clone(wc.Parser.Chats)
	return wc
}

// srcFields maps the rest of a problem's path (after the scope's prefix,
// e.g. "token" of "workspaces[0].bots[1].token") onto a form field. A
// path that is not listed but starts with a listed key and a dot or a
// bracket goes to that key's field.
type srcFields map[string]string

func (m srcFields) field(rest string) (string, bool) {
	if f, ok := m[rest]; ok {
		return f, true
	}
	for k, f := range m {
		if strings.HasPrefix(rest, k+".") || strings.HasPrefix(rest, k+"[") {
			return f, true
		}
	}
	return "", false
}

// errSrcProblems says that UpdateWorkspace refused the settings: the problems
// are on the form (fields) and in the page's list (the others).
var errSrcProblems = errors.New("web: the settings have problems")

// sourceSave stores wc through UpdateWorkspace. The problems whose paths are
// under scope (e.g. "bots[1]" of the workspace) go to the form fields fields
// names; the others are returned in other, to be listed at the top of the
// page. It returns errSrcProblems when the settings were refused.
func (s *server) sourceSave(r *http.Request, ws *sourceWS, wc config.Workspace, f *form, scope string, fields srcFields) (other []chatter.Text, err error) {
	err = s.app.UpdateWorkspace(r.Context(), wc, currentUser(r).Login)
	var probs config.Problems
	if !errors.As(err, &probs) {
		return nil, err
	}
	return s.srcPlaceProblems(probs, ws, f, scope, fields), errSrcProblems
}

// srcPlaceProblems puts problems on f's fields by path and returns the rest.
func (s *server) srcPlaceProblems(probs config.Problems, ws *sourceWS, f *form, scope string, fields srcFields) []chatter.Text {
	var other []chatter.Text
	prefix := fmt.Sprintf("workspaces[%d].", ws.Index)
	if scope != "" {
		prefix += scope + "."
	}
	for _, p := range probs {
		if p.Severity != config.SeverityError {
			continue
		}
		if rest, ok := strings.CutPrefix(p.Path, prefix); ok {
			if field, ok := fields.field(rest); ok {
				f.fail(field, p.Message)
				continue
			}
		}
		where := strings.TrimPrefix(p.Path, fmt.Sprintf("workspaces[%d].", ws.Index))
		if where == "" {
			other = append(other, p.Message)
			continue
		}
		other = append(other, chatter.T(where+": "+p.Message.RU, where+": "+p.Message.EN))
	}
	if f.ok() && len(other) == 0 {
		// Refused without a readable problem: say so rather than nothing.
		other = append(other, chatter.T(probs.Error(), probs.Error()))
	}
	return other
}

// sourceEvent writes an action of the section to the event log: who did
// it, from where, on which workspace. attrs must hold no secret.
func (s *server) sourceEvent(r *http.Request, ws, category, msg string, attrs ...slog.Attr) {
	base := []slog.Attr{slog.String(chatter.AttrCategory, category), slog.String(chatter.AttrWorkspace, ws),
		slog.String("by", currentUser(r).Login), slog.String("addr", s.clientAddr(r))}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, msg, append(base, attrs...)...)
}

// srcText is a catalog message in both languages.
func (s *server) srcText(key string, args ...any) chatter.Text {
	return chatter.T(s.i18n.T(auth.LangRU, key, args...), s.i18n.T(auth.LangEN, key, args...))
}

// srcMask shows a secret by its last four characters only ("•••• 1a2b"); ""
// stays "".
func srcMask(secret string) string {
	if secret == "" {
		return ""
	}
	n := utf8.RuneCountInString(secret)
	if n <= 8 {
		return "••••"
	}
	r := []rune(secret)
	return "•••• " + string(r[n-4:])
}

// srcRemoteTimeout bounds one call to Telegram made while a page renders.
const srcRemoteTimeout = 10 * time.Second

// srcRemote is the context of a call to Telegram on behalf of r.
func srcRemote(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), srcRemoteTimeout)
}

// srcComponent returns the supervisor's state of the srcComponent name.
func (s *server) srcComponent(name string) *app.ComponentStatus {
	for _, c := range s.app.Components() {
		if c.Name == name {
			return &c
		}
	}
	return nil
}

// srcComponentBadge describes a srcComponent's state.
func srcComponentBadge(v *view, c *app.ComponentStatus) badge {
	if c == nil {
		return badge{"info", v.T("sources.component.none")}
	}
	kind := map[app.ComponentState]string{app.StateRunning: "ok", app.StateStarting: "info", app.StatePassive: "info",
		app.StateFailed: "error", app.StateStopped: "warn"}[c.State]
	return badge{cmpOr(kind, "info"), v.T("sources.component." + string(c.State))}
}

// srcCheck is a diagnostic's result as the pages show it.
type srcCheck struct {
	Kind   string // ok, warn, error, info
	Title  chatter.Text
	Cause  chatter.Text
	Remedy chatter.Text
}

func srcCheckOf(r chatter.CheckResult) srcCheck {
	kind := map[chatter.Status]string{chatter.StatusOK: "ok", chatter.StatusWarn: "warn", chatter.StatusFail: "error"}[r.Status]
	return srcCheck{Kind: cmpOr(kind, "info"), Title: r.Title, Cause: r.Cause, Remedy: r.Remedy}
}

// sourceFormPage is what every form page of the section shows besides
// its own data: the problems that belong to no field.
type sourceFormPage struct {
	WS       *sourceWS
	Problems []chatter.Text
}

// srcLedgerURL is the delivery ledger's page of one message
// (GET /deliveries/{ws}/{key}).
func srcLedgerURL(ws string, k chatter.Key) string {
	return "/deliveries/" + url.PathEscape(ws) + "/" + url.PathEscape(k.String())
}

// srcCheckView is a result for the "src-check" template, with the view for
// its texts.
type srcCheckView struct {
	srcCheck
	V *view
}

// SrcCheck prepares a result for the "src-check" template.
func (v *view) SrcCheck(c *srcCheck) srcCheckView { return srcCheckView{srcCheck: *c, V: v} }

// srcNavView is the workspace's sub-navigation ("src-ws-nav").
type srcNavView struct {
	WS *sourceWS
	At string
	V  *view
}

// SrcNav prepares the workspace's sub-navigation; at names the current
// page (chats, keywords, or "").
func (v *view) SrcNav(ws *sourceWS, at string) srcNavView { return srcNavView{WS: ws, At: at, V: v} }

// srcActionView is an account's state with its remedy and the action
// offered ("src-account-action").
type srcActionView struct {
	WS    *sourceWS
	ID    string
	State srcAccountState
	V     *view
}

// SrcAction prepares an account's remedy and action.
func (v *view) SrcAction(ws *sourceWS, id string, st srcAccountState) srcActionView {
	return srcActionView{WS: ws, ID: id, State: st, V: v}
}

// srcDepthView is a depth for "src-depth": inherits says it is the
// parser's default.
type srcDepthView struct {
	Depth    config.Depth
	Inherits bool
	V        *view
}

// SrcDepth prepares a depth for "src-depth".
func (v *view) SrcDepth(d config.Depth, inherits bool) srcDepthView {
	return srcDepthView{Depth: d, Inherits: inherits, V: v}
}

// srcDryMessageView is a changed message for "src-dry-message".
type srcDryMessageView struct {
	M srcDryRunMessage
	V *view
}

// SrcDryMessage prepares a changed message of a dry run.
func (v *view) SrcDryMessage(m srcDryRunMessage) srcDryMessageView {
	return srcDryMessageView{M: m, V: v}
}

// SrcDryRunMax is the most messages a dry run reads.
func (v *view) SrcDryRunMax() int { return srcDryRunMaxMessages }

// srcRestartView is the parser's restart button ("src-restart"); ID is
// the account whose page it returns to ("" for the chats page).
type srcRestartView struct {
	WS *sourceWS
	ID string
	V  *view
}

// SrcRestart prepares the parser's restart button.
func (v *view) SrcRestart(ws *sourceWS, id string) srcRestartView {
	return srcRestartView{WS: ws, ID: id, V: v}
}

// srcPlural is the plural form of key for n in both languages.
func (s *server) srcPlural(key string, n int) chatter.Text {
	return chatter.T(s.i18n.N(auth.LangRU, key, n), s.i18n.N(auth.LangEN, key, n))
}

// sourceItemForm resolves the workspace of a source request and its bot
// (param "bot") or parser account (param "acct") by the path, and parses
// the posted form. When it returns false it has answered the request
// (400 for a form that does not parse, 403/404 as sourceWorkspace, 404
// for an unknown bot or account).
func (s *server) sourceItemForm(w http.ResponseWriter, r *http.Request, param string) (ws *sourceWS, id string, i int, f *form, ok bool) {
	if ws, ok = s.sourceWorkspace(w, r); !ok {
		return nil, "", 0, nil, false
	}
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return nil, "", 0, nil, false
	}
	id = r.PathValue(param)
	i, missing := ws.botIndex(id), "sources.error.no_bot"
	if param == "acct" {
		i, missing = ws.accountIndex(id), "sources.error.no_account"
	}
	if i < 0 {
		s.errorPage(w, r, http.StatusNotFound, missing)
		return nil, "", 0, nil, false
	}
	return ws, id, i, newForm(r.PostForm), true
}
