package web

import (
	"net/http"

	"github.com/chatterhq/sdk/fieldmap"
)

// mappingPreview maps a sample or a stored message with the editor's text
// and shows the lead, contact, company and note amoCRM would be sent,
// every field with its name, type and value, and the warnings. Nothing is
// sent.
func (s *server) mappingPreview(w http.ResponseWriter, r *http.Request) {
	rt, f, ok := s.amoPostWorkspace(w, r)
	if !ok {
		return
	}
	b := s.mappingBuildText(r.Context(), rt, f.Values.Get("spec"), false)
	p := &mappingPage{Action: "preview"}
	if !b.ok() {
		s.renderMapping(w, r, http.StatusUnprocessableEntity, rt, f, b, p)
		return
	}
	msg, label, ok := s.mappingRecordOf(r.Context(), rt, f)
	if !ok {
		s.renderMapping(w, r, http.StatusUnprocessableEntity, rt, f, b, p)
		return
	}
	p.Preview = &mappingPreview{Record: label}
	res, err := b.Mapper.Apply(mappingMessageRecord(msg))
	if err != nil {
		for _, pr := range fieldmap.ProblemsOf(err) {
			p.Preview.Problems = append(p.Preview.Problems, b.problem(s, pr))
		}
		if len(p.Preview.Problems) == 0 {
			s.serverError(w, r, err)
			return
		}
		s.renderMapping(w, r, http.StatusUnprocessableEntity, rt, f, b, p)
		return
	}
	p.Preview.Entities = mappingEntities(res, b.Schema, s.loc)
	if res.Note != nil {
		p.Preview.Note, p.Preview.NoteType = res.Note.Params.Text, string(res.Note.NoteType)
	}
	for _, wp := range res.Warnings {
		p.Preview.Warnings = append(p.Preview.Warnings, b.problem(s, wp))
	}
	s.renderMapping(w, r, http.StatusOK, rt, f, b, p)
}
