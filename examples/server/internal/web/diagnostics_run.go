package web

import (
	"log/slog"
	"net/http"
	"slices"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/doctor"
)

// diagnosticsRun runs the checks again ("проверить снова"): those of one
// group (form field group, a problem's id) or every check, stores the
// report and goes back to the page, at the group.
func (s *server) diagnosticsRun(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	group := r.PostForm.Get("group")
	if group != "" && !slices.ContainsFunc(doctor.Problems(), func(p chatter.GuideProblem) bool { return p.ID == group }) {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	prev, err := s.diagLoad(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	rep := s.diagRun(r.Context(), prev, group)
	if err := s.diagSave(r.Context(), rep); err != nil {
		s.serverError(w, r, err)
		return
	}
	u := currentUser(r)
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "diagnostics run",
		slog.String(chatter.AttrCategory, chatter.CategorySystem), slog.String(chatter.AttrWorkspace, auth.ServerWorkspace),
		slog.String("group", cmpOr(group, "all")), slog.String("status", string(rep.Status)),
		slog.Int("problems", len(rep.Problems())), slog.String("by", u.Login), slog.String("addr", s.clientAddr(r)))
	to := "/diagnostics"
	if group != "" {
		for _, p := range doctor.Problems() {
			if p.ID == group {
				s.flash(r, "info", chatter.T(s.i18n.T(auth.LangRU, "diagnostics.group_done", p.Title.RU),
					s.i18n.T(auth.LangEN, "diagnostics.group_done", p.Title.EN)))
			}
		}
		to += "#g-" + group
	} else {
		s.flashKey(r, "info", "diagnostics.all_done")
	}
	redirect(w, r, to)
}
