package web

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// badge is one state of a user in the list and on their page.
type badge struct {
	Kind string // ok, info, warn, error
	Text string
}

// userStates describes u at now: active, blocked, locked until, access
// ended or ending, must change the password, password expired.
func (s *server) userStates(v *view, u *auth.User) []badge {
	now := s.now()
	var out []badge
	switch {
	case u.Blocked():
		out = append(out, badge{"error", v.T("state.blocked", v.Date(u.BlockedAt), u.BlockedBy)})
	case u.AccessExpiredAt(now):
		out = append(out, badge{"error", v.T("state.access_ended", v.Date(u.AccessExpiresAt))})
	default:
		out = append(out, badge{"ok", v.T("state.active")})
	}
	if u.LockedAt(now) {
		out = append(out, badge{"warn", v.T("state.locked", v.Time(u.LockedUntil))})
	}
	if !u.AccessExpiresAt.IsZero() && !u.AccessExpiredAt(now) {
		out = append(out, badge{"info", v.T("state.access_until", v.Date(u.AccessExpiresAt))})
	}
	if u.MustChangePassword {
		out = append(out, badge{"warn", v.T("state.must_change")})
	} else if at := s.auth.PasswordExpiresAt(u); !at.IsZero() && !now.Before(at) {
		out = append(out, badge{"warn", v.T("state.password_expired")})
	}
	return out
}

// userData is a user's page.
type userData struct {
	Target     *auth.User
	States     []badge
	Workspaces []string // every configured workspace, for the role form
	Self       bool     // the administrator's own account
	Locked     bool     // locked, or failed logins counting
	OneTime    string   // a password just generated, shown once
}

// target loads the user of the path's {id}, or answers 404.
func (s *server) target(w http.ResponseWriter, r *http.Request) (*auth.User, bool) {
	u, err := s.auth.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, auth.ErrUserNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "error.no_user")
		return nil, false
	}
	if err != nil {
		s.serverError(w, r, err)
		return nil, false
	}
	return u, true
}

// renderUser renders target's page (re-read, so it shows the state after
// an action) with the problems of a form, a message and a one-time
// password.
func (s *server) renderUser(w http.ResponseWriter, r *http.Request, status int, id string, f *form, a *alert, oneTime string) {
	u, err := s.auth.Get(r.Context(), id)
	if errors.Is(err, auth.ErrUserNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "error.no_user")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r)
	v.Path = "/users/" + u.ID
	if f != nil {
		v.Form = f
	}
	if !v.Form.Values.Has("role") {
		v.Form.Values.Set("role", string(u.Role))
		v.Form.Values["workspaces"] = slices.Clone(u.Workspaces)
	}
	if !v.Form.Values.Has("access_until") {
		v.Form.Values.Set("access_until", v.InputDate(u.AccessExpiresAt))
	}
	v.Alert = a
	v.Data = userData{Target: u, States: s.userStates(v, u), Workspaces: s.app.WorkspaceIDs(),
		Self: u.ID == currentUser(r).ID, Locked: u.LockedAt(s.now()) || len(u.RecentFailures) > 0, OneTime: oneTime}
	s.render(w, r, status, "user_show", v)
}

// userAction runs an administrator's action on the user of the path: do
// returns the catalog key of the success message, or records field
// problems in f, or fails. Success leaves a flash message and returns to
// the user's page; a refusal (oneself, the last administrator) is shown
// on it.
func (s *server) userAction(w http.ResponseWriter, r *http.Request, do func(by auth.Actor, u *auth.User, f *form) (string, error)) {
	s.userActionThen(w, r, "", do)
}

// userActionThen is userAction returning to then ("" for the user's page).
func (s *server) userActionThen(w http.ResponseWriter, r *http.Request, then string, do func(by auth.Actor, u *auth.User, f *form) (string, error)) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	u, ok := s.target(w, r)
	if !ok {
		return
	}
	f := newForm(r.PostForm)
	key, err := do(currentUser(r).Actor(s.clientAddr(r)), u, f)
	f.addProblems(err, nil)
	switch {
	case !f.ok():
		s.renderUser(w, r, http.StatusUnprocessableEntity, u.ID, f, nil, "")
	case errors.Is(err, auth.ErrSelf) || errors.Is(err, auth.ErrLastAdmin) || errors.Is(err, auth.ErrUserNotFound):
		s.renderUser(w, r, http.StatusConflict, u.ID, nil, &alert{Kind: "error", Text: auth.Message(err, s.loc).In(requestLang(r))}, "")
	case err != nil:
		s.serverError(w, r, err)
	default:
		s.flashKey(r, "info", key, u.Login)
		redirect(w, r, cmpOr(then, "/users/"+u.ID))
	}
}

// confirmed checks a destructive action's confirmation checkbox.
func (s *server) confirmed(f *form, field string) bool {
	if f.Values.Get(field) == "yes" {
		return true
	}
	f.failKey(s.i18n, field, "users.confirm_needed")
	return false
}

// parseAccessDate reads an access end date (YYYY-MM-DD): access ends at
// the end of that day in the UI's time zone. Empty means no end.
func (s *server) parseAccessDate(f *form, field string) (time.Time, bool) {
	val := f.Values.Get(field)
	if val == "" {
		return time.Time{}, true
	}
	d, err := time.ParseInLocation(time.DateOnly, val, s.loc)
	if err != nil {
		f.failKey(s.i18n, field, "users.bad_date")
		return time.Time{}, false
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, s.loc), true
}

// checkWorkspaces checks a manager's workspaces against the configured
// ones; a manager needs at least one.
func (s *server) checkWorkspaces(f *form, role auth.Role) []string {
	ws := f.Values["workspaces"]
	if role != auth.RoleManager {
		return nil
	}
	if len(ws) == 0 {
		f.failKey(s.i18n, "workspaces", "users.need_workspace")
	}
	known := s.app.WorkspaceIDs()
	for _, w := range ws {
		if !slices.Contains(known, w) {
			f.failKey(s.i18n, "workspaces", "users.unknown_workspace", w)
		}
	}
	return ws
}
