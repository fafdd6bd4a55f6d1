package web

import (
	"log/slog"
	"net/http"
	"net/url"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// mappingSave applies the editor's text as the workspace's mapping, once
// it compiles against the live schema (else nothing changes and the
// problems are shown at their lines). The text itself is kept for the
// editor, comments included.
func (s *server) mappingSave(w http.ResponseWriter, r *http.Request) {
	rt, f, ok := s.amoPostWorkspace(w, r)
	if !ok {
		return
	}
	text := f.Values.Get("spec")
	b := s.mappingBuildText(r.Context(), rt, text, true)
	p := &mappingPage{Action: "save"}
	if !b.ok() {
		status := http.StatusUnprocessableEntity
		if len(b.Problems) == 0 {
			status = http.StatusBadGateway // the schema could not be read
		}
		s.renderMapping(w, r, status, rt, f, b, p)
		return
	}
	wc := rt.Config
	wc.Mapping = config.Mapping{Inline: b.Spec}
	by := currentUser(r).Login
	err := s.app.UpdateWorkspace(r.Context(), wc, by)
	if b.configProblems(s.app.Config(), rt.ID, err) {
		s.renderMapping(w, r, http.StatusUnprocessableEntity, rt, f, b, p)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	hash := mappingSpecHash(b.Spec)
	if err := s.mappingSaveText(r.Context(), rt.ID, mappingStored{Text: text, SpecHash: hash, By: by, At: s.now()}); err != nil {
		s.log.Warn("web: the mapping's text was not kept (the editor shows the spec as YAML)", "workspace", rt.ID, "err", err.Error())
	}
	s.amoLog(r, rt.ID, chatter.CategorySystem, "field mapping saved", slog.String("spec_sha256", hash[:12]),
		slog.Int("lead_fields", len(b.Spec.Lead.Fields)), slog.Int("warnings", len(b.Problems)))
	s.flashKey(r, "info", "mapping.saved")
	redirect(w, r, "/mapping?ws="+url.QueryEscape(rt.ID))
}
