package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/tgparse"
)

// srcLoginTimeout bounds one login step: it connects to Telegram (through
// the account's proxy) and makes one or two requests.
const srcLoginTimeout = time.Minute

// srcLoginStep is what every step of the wizard needs: the workspace, the
// account as the parser runs it, and the login steps.
type srcLoginStep struct {
	ws    *sourceWS
	id    string
	acct  tgparse.Account
	login *tgparse.Login
}

// srcLoginBegin parses the form and finds the account's login, or
// answers (404, or the account's page saying why the wizard is off).
func (s *server) srcLoginBegin(w http.ResponseWriter, r *http.Request) (*srcLoginStep, *form, bool) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return nil, nil, false
	}
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return nil, nil, false
	}
	id := r.PathValue("acct")
	if ws.accountIndex(id) < 0 {
		s.errorPage(w, r, http.StatusNotFound, "sources.error.no_account")
		return nil, nil, false
	}
	f := newForm(r.PostForm)
	acct, running := ws.runningAccount(id)
	if !running {
		page := &srcAccountPage{Result: &srcCheck{Kind: "error", Cause: s.srcText("sources.login.off")}}
		s.renderSourceAccount(w, r, http.StatusConflict, ws, id, f, nil, page)
		return nil, nil, false
	}
	login, err := ws.RT.Parser.Login()
	if err != nil {
		s.serverError(w, r, err)
		return nil, nil, false
	}
	return &srcLoginStep{ws: ws, id: id, acct: acct, login: login}, f, true
}

func srcLoginContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), srcLoginTimeout)
}

// sourceLoginSend asks Telegram to send the account a login code (POST
// /sources/{ws}/accounts/{acct}/login/send): the wizard's first step.
// When the stored session is still signed in, nothing is sent.
func (s *server) sourceLoginSend(w http.ResponseWriter, r *http.Request) {
	ls, f, ok := s.srcLoginBegin(w, r)
	if !ok {
		return
	}
	ctx, cancel := srcLoginContext(r)
	st, err := ls.login.SendCode(ctx, ls.acct)
	cancel()
	if err != nil {
		s.srcLoginFailed(w, r, ls, f, "parser login code not sent", err)
		return
	}
	if st.Authorized {
		if err := s.srcLogins(ls.ws.ID).end(r, ls.id); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.srcLoginDone(w, r, ls, st.Self, "sources.login.already")
		return
	}
	if err := s.srcLogins(ls.ws.ID).put(r, ls.id, &srcLoginRecord{Step: srcLoginStepCode, State: st}); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sourceEvent(r, ls.ws.ID, chatter.CategoryAuth, "parser login code sent", slog.String("account", ls.id),
		slog.String("code_type", st.Type))
	phone, via := tgparse.MaskPhone(ls.acct.Phone), "sources.login.via."+cmpOr(st.Type, "unknown")
	s.flash(r, "info", chatter.T(s.i18n.T(auth.LangRU, "sources.login.code_sent", phone, s.i18n.T(auth.LangRU, via)),
		s.i18n.T(auth.LangEN, "sources.login.code_sent", phone, s.i18n.T(auth.LangEN, via))))
	redirect(w, r, ls.ws.AccountURL(ls.id)+"#login")
}

// srcLoginFailed shows a step's error on the account's page, in plain words.
func (s *server) srcLoginFailed(w http.ResponseWriter, r *http.Request, ls *srcLoginStep, f *form, event string, err error) {
	cv := s.srcLoginProblem(err)
	s.srcLoginEvent(r, ls, event, err)
	s.renderSourceAccount(w, r, http.StatusUnprocessableEntity, ls.ws, ls.id, f, nil, &srcAccountPage{Result: &cv})
}

// srcLoginRefused shows a code or password Telegram refused next to its
// field (already on f); the login goes on.
func (s *server) srcLoginRefused(w http.ResponseWriter, r *http.Request, ls *srcLoginStep, f *form, event string, err error) {
	s.srcLoginEvent(r, ls, event, err)
	s.renderSourceAccount(w, r, http.StatusUnprocessableEntity, ls.ws, ls.id, f, nil, nil)
}

// srcLoginEvent records a failed step (its kind, never what was typed).
func (s *server) srcLoginEvent(r *http.Request, ls *srcLoginStep, event string, err error) {
	s.log.LogAttrs(r.Context(), slog.LevelWarn, event,
		slog.String(chatter.AttrCategory, chatter.CategoryAuth), slog.String(chatter.AttrWorkspace, ls.ws.ID),
		slog.String("account", ls.id), slog.String("by", currentUser(r).Login), slog.String("addr", s.clientAddr(r)),
		slog.String("kind", srcLoginKind(err)))
}

// srcLoginKind is the tgparse kind of a step's error, for the event log.
func srcLoginKind(err error) string {
	if te, ok := srcAsTgparse(err); ok {
		return string(te.Kind)
	}
	return "other"
}

// srcLoginDone ends the wizard: the account is signed in. A running
// parser does not go back to an account it found not logged in: the
// message says to restart it (the account's page offers the button).
func (s *server) srcLoginDone(w http.ResponseWriter, r *http.Request, ls *srcLoginStep, self *tgparse.Self, key string) {
	s.sourceEvent(r, ls.ws.ID, chatter.CategoryAuth, "parser account signed in", slog.String("account", ls.id))
	name := ""
	if self != nil {
		name = srcSelfName(self)
	}
	t, n := s.srcText(key, ls.id, name), s.srcText("sources.login.restart_needed")
	s.flash(r, "info", chatter.T(t.RU+" "+n.RU, t.EN+" "+n.EN))
	redirect(w, r, ls.ws.AccountURL(ls.id)+"#restart")
}

// srcDeadStatus reports whether an account's status stops it until someone
// acts (as tgparse's pool treats it).
func srcDeadStatus(st tgparse.AccountStatus) bool {
	switch st {
	case tgparse.StatusBanned, tgparse.StatusSessionRevoked, tgparse.StatusSessionDuplicated, tgparse.StatusNotLoggedIn:
		return true
	}
	return false
}

// srcSelfName is "First Last @username".
func srcSelfName(s *tgparse.Self) string {
	name := s.FirstName
	if s.LastName != "" {
		name += " " + s.LastName
	}
	if s.Username != "" {
		name += " @" + s.Username
	}
	return name
}
