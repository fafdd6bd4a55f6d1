package web

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/fieldmap"
)

// mappingTestLead creates one real lead in amoCRM from a sample or a
// stored message with the editor's text (fieldmap.SendTestLead): named
// "[ТЕСТ] …" and tagged chatter-test, with its contact and note, then read
// back, and shows field by field what amoCRM stored, with a link to the
// lead. amoCRM's refusals are shown on the fields they name.
func (s *server) mappingTestLead(w http.ResponseWriter, r *http.Request) {
	rt, f, ok := s.amoPostWorkspace(w, r)
	if !ok {
		return
	}
	b := s.mappingBuildText(r.Context(), rt, f.Values.Get("spec"), true)
	p := &mappingPage{Action: "test"}
	if !b.ok() {
		status := http.StatusUnprocessableEntity
		if len(b.Problems) == 0 {
			status = http.StatusBadGateway
		}
		s.renderMapping(w, r, status, rt, f, b, p)
		return
	}
	msg, label, ok := s.mappingRecordOf(r.Context(), rt, f)
	if !ok {
		s.renderMapping(w, r, http.StatusUnprocessableEntity, rt, f, b, p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*amoTimeout)
	defer cancel()
	rep, err := fieldmap.SendTestLead(ctx, fieldmap.NewLeadCreator(rt.AmoCRM), b.Mapper, mappingMessageRecord(msg), fieldmap.TestLeadOptions{})
	if ps := fieldmap.ProblemsOf(err); rep == nil && len(ps) > 0 {
		// The message does not map: nothing was sent.
		p.Preview = &mappingPreview{Record: label}
		for _, pr := range ps {
			p.Preview.Problems = append(p.Preview.Problems, b.problem(s, pr))
		}
		s.renderMapping(w, r, http.StatusUnprocessableEntity, rt, f, b, p)
		return
	}
	p.Test = mappingTestOf(rep, b.Schema, rt.AmoCRM.BaseURL())
	p.Test.Record = label
	status := http.StatusOK
	if err != nil {
		status = http.StatusBadGateway
		p.Test.Err = amoExplain(err)
		if rep != nil {
			p.Test.AmoErrors = s.mappingAmoErrors(err, rep.Sent)
		}
		if rt.Schema.ReportError(err) {
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "amoCRM schema refreshed after a refused test lead",
				slog.String(chatter.AttrCategory, chatter.CategorySystem), slog.String(chatter.AttrWorkspace, rt.ID))
		}
		s.amoLog(r, rt.ID, chatter.CategorySystem, "test lead refused by amoCRM", slog.Int("lead_id", p.Test.LeadID), slog.String("err", err.Error()))
	} else {
		s.amoLog(r, rt.ID, chatter.CategorySystem, "test lead created", slog.Int("lead_id", rep.LeadID),
			slog.Int("contact_id", rep.ContactID), slog.Bool("all_stored", rep.OK()), slog.Int("mismatches", len(rep.Mismatches())))
	}
	s.renderMapping(w, r, status, rt, f, b, p)
}
