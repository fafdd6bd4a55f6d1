package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/tgparse"
)

// accountIndex is the parser account's place in the configuration, or -1.
func (ws *sourceWS) accountIndex(id string) int {
	return slices.IndexFunc(ws.Config.Parser.Accounts, func(a config.ParserAccount) bool { return a.ID == id })
}

func (ws *sourceWS) AccountURL(id string) string {
	return ws.Base() + "/accounts/" + url.PathEscape(id)
}

// srcScopeAccount is the path of account i in its workspace's problems.
func srcScopeAccount(i int) string { return "parser.accounts[" + strconv.Itoa(i) + "]" }

// runningAccount is the account as the running parser has it (the login
// steps take it), or false when the parser does not run it.
func (ws *sourceWS) runningAccount(id string) (tgparse.Account, bool) {
	if ws.RT == nil || ws.RT.Parser == nil {
		return tgparse.Account{}, false
	}
	for _, a := range ws.RT.Parser.Accounts {
		if a.ID == id {
			return a, true
		}
	}
	return tgparse.Account{}, false
}

// snapshot is the running parser's state, or nil.
func (ws *sourceWS) snapshot() *tgparse.Snapshot {
	if ws.RT == nil || ws.RT.Parser == nil {
		return nil
	}
	sn := ws.RT.Parser.Source.Snapshot()
	return &sn
}

// Actions offered beside an account's state.
const (
	srcActionLogin  = "login"  // sign in (again): the wizard
	srcActionNew    = "new"    // banned: create a new account
	srcActionProxy  = "proxy"  // the proxy fails: check or replace it
	srcActionChats  = "chats"  // the parser does not run without a chat
	srcActionEnable = "enable" // disabled
)

// srcAccountState is an account's state with its remedy beside it
// (Wazzup style: active; flood wait until HH:MM; banned → a new account;
// not logged in → the wizard; in use elsewhere; proxy failing → the proxy).
type srcAccountState struct {
	Kind   string // badge kind
	Label  string
	Status tgparse.AccountStatus // "" when the parser does not run it
	Cause  chatter.Text
	Remedy chatter.Text
	Action string
	Self   *tgparse.Self
	Chats  int
	Since  time.Time
	Until  time.Time
}

// srcAccountStateOf describes account a from the parser's snapshot (nil: the
// parser does not run).
func srcAccountStateOf(v *view, ws *sourceWS, snap *tgparse.Snapshot, a config.ParserAccount) srcAccountState {
	if a.Disabled {
		return srcAccountState{Kind: "warn", Label: v.T("sources.account.state.disabled"), Action: srcActionEnable}
	}
	if snap == nil {
		out := srcAccountState{Kind: "info", Label: v.T("sources.account.state.no_parser")}
		if len(ws.Config.Parser.Chats) == 0 {
			out.Cause = v.s.srcText("sources.account.no_chats")
			out.Action = srcActionChats
		}
		return out
	}
	i := slices.IndexFunc(snap.Accounts, func(st tgparse.AccountState) bool { return st.Account == a.ID })
	if i < 0 {
		return srcAccountState{Kind: "info", Label: v.T("sources.account.state.unknown")}
	}
	st := snap.Accounts[i]
	out := srcAccountState{Status: st.Status, Label: v.T("sources.account.state." + string(st.Status)), Self: st.Self, Chats: st.Chats, Since: st.Since,
		Cause: st.Cause(), Remedy: st.Remedy()}
	switch st.Status {
	case tgparse.StatusActive:
		out.Kind, out.Cause, out.Remedy = "ok", chatter.Text{}, chatter.Text{}
	case tgparse.StatusStarting, tgparse.StatusStopped:
		out.Kind = "info"
	case tgparse.StatusFloodWait:
		out.Kind, out.Until = "warn", st.Until
		var fw *tgparse.FloodWaitError
		if errors.As(st.Err, &fw) && out.Until.IsZero() {
			out.Until = fw.Until
		}
		if !out.Until.IsZero() {
			out.Label = v.T("sources.account.state.flood_wait_until", v.Time(out.Until))
		}
	case tgparse.StatusBanned:
		out.Kind, out.Action = "error", srcActionNew
	case tgparse.StatusSessionRevoked, tgparse.StatusSessionDuplicated, tgparse.StatusNotLoggedIn:
		out.Kind, out.Action = "error", srcActionLogin
	case tgparse.StatusProxyFailing:
		out.Kind, out.Action = "warn", srcActionProxy
	default:
		out.Kind = "warn"
	}
	return out
}

// srcAccountInfo is an account's settings as its page shows them: the phone
// masked, the API hash masked, the proxy without its password or secret.
type srcAccountInfo struct {
	ID, Phone, APIHash, Proxy string
	APIID                     int
	Disabled                  bool
}

func srcAccountInfoOf(a config.ParserAccount) srcAccountInfo {
	out := srcAccountInfo{ID: a.ID, Phone: tgparse.MaskPhone(a.Phone), APIHash: srcMask(a.APIHash), APIID: a.APIID, Disabled: a.Disabled}
	if a.Proxy != "" {
		if p, err := tgparse.ParseProxy(a.Proxy); err == nil {
			out.Proxy = p.Redacted()
		} else {
			out.Proxy = "•••"
		}
	}
	return out
}

// srcLoginView is the wizard's step as the page shows it.
type srcLoginView struct {
	Step     string // "" (send the code), code, password
	Phone    string // masked
	CodeType string
	NextType string
	SentAt   time.Time
}

// srcAccountPage is the page of one parser account.
type srcAccountPage struct {
	sourceFormPage
	Account srcAccountInfo
	State   srcAccountState
	Parser  badge
	// ParserErr is the parser's last error, when it failed.
	ParserErr string
	Login     srcLoginView
	// LoginOff names why the wizard is not available ("" when it is): the
	// account is disabled, or the parser does not run (no chat yet).
	LoginOff string
	// Result is the outcome of the step or check just taken.
	Result *srcCheck
	// Restart offers to restart the parser: it stopped the account (not
	// logged in, session ended) and does not go back to it by itself.
	Restart bool
}

// renderSourceAccount renders the page of account id, re-read after an action.
func (s *server) renderSourceAccount(w http.ResponseWriter, r *http.Request, status int, ws *sourceWS, id string, f *form, other []chatter.Text, page *srcAccountPage) {
	if fresh, ok := s.app.WorkspaceConfig(ws.ID); ok {
		ws.Config = srcCloneWorkspace(fresh)
		ws.RT, _ = s.app.Runtime(ws.ID)
	}
	i := ws.accountIndex(id)
	if i < 0 {
		s.errorPage(w, r, http.StatusNotFound, "sources.error.no_account")
		return
	}
	a := ws.Config.Parser.Accounts[i]
	v := s.newView(r)
	v.Path = ws.AccountURL(id)
	if f != nil {
		f.dropSecrets("code", "password", "proxy", "api_hash")
		v.Form = f
	}
	if page == nil {
		page = &srcAccountPage{}
	}
	page.WS, page.Problems = ws, other
	page.Account = srcAccountInfoOf(a)
	page.State = srcAccountStateOf(v, ws, ws.snapshot(), a)
	if ws.RT != nil && ws.RT.Parser != nil {
		c := s.srcComponent(ws.RT.Parser.Component)
		page.Parser = srcComponentBadge(v, c)
		if c != nil && c.State == app.StateFailed {
			page.ParserErr = c.LastError
		}
	} else {
		page.Parser = badge{"info", v.T("sources.parser.off")}
	}
	switch _, running := ws.runningAccount(id); {
	case a.Disabled:
		page.LoginOff = "sources.login.off_disabled"
	case !running:
		page.LoginOff = "sources.login.off_no_parser"
	}
	page.Restart = !a.Disabled && srcDeadStatus(page.State.Status)
	page.Login = srcLoginView{Phone: tgparse.MaskPhone(a.Phone)}
	if rec, err := s.srcLogins(ws.ID).get(r, id); err != nil {
		s.log.Warn("web: parser login state not read", "err", err.Error())
	} else if rec != nil {
		page.Login.Step, page.Login.CodeType, page.Login.NextType, page.Login.SentAt = rec.Step, rec.State.Type, rec.State.NextType, rec.State.SentAt
	}
	v.Data = page
	s.render(w, r, status, "sources_account", v)
}

// srcLoginProblem explains an error of a login step in plain words:
// tgparse's texts, with the end of a flood wait.
func (s *server) srcLoginProblem(err error) srcCheck {
	var te *tgparse.Error
	if !errors.As(err, &te) {
		return srcCheck{Kind: "error", Cause: chatter.T("ошибка входа: "+err.Error(), "login failed: "+err.Error()),
			Remedy: s.srcText("sources.login.retry")}
	}
	cv := srcCheck{Kind: "error", Cause: te.Message(), Remedy: te.Remedy()}
	var fw *tgparse.FloodWaitError
	if errors.As(err, &fw) && !fw.Until.IsZero() {
		until := fw.Until.In(s.loc).Format("15:04")
		cv.Cause = chatter.T(cv.Cause.RU+" — до "+until, cv.Cause.EN+" — until "+until)
	}
	if te.Kind == tgparse.KindSessionInUse {
		cv.Kind = "warn"
	}
	return cv
}

// srcTrim trims the values of the text fields of f.
func srcTrim(f *form, names ...string) {
	for _, n := range names {
		if vs, ok := f.Values[n]; ok && len(vs) > 0 {
			f.Values.Set(n, strings.TrimSpace(vs[0]))
		}
	}
}
