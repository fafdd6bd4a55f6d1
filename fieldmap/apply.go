package fieldmap

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/chatterhq/sdk/amocrm"
)

// Result is what Apply produced for one record: the exact /leads/complex
// item the amoCRM client sends, the note to add to the created lead, and the
// warnings (values cut, optional fields left out, no routing rule matched).
type Result struct {
	// Lead is the /leads/complex item: Lead.Lead always set, Lead.Contact
	// and Lead.Company when mapped (and their When holds), Lead.Tags the lead
	// tags. RequestID is left for the caller (the batch helpers number it).
	Lead amocrm.ComplexLead
	// Note is the note to add to the lead once created (set EntityID), or nil.
	Note *amocrm.Note
	// Warnings did not stop the mapping but are worth showing.
	Warnings Problems

	lead amocrm.Lead

	// reuse is the storage ApplyInto keeps for its next call into this
	// Result (nil in the Results Apply returns).
	reuse *spare
}

// spare is the storage one mapping writes its output into, kept by
// ApplyInto for the next call: the entities Lead and Note pointed to, and the
// value, entry and warning arrays (their length is what the call used).
type spare struct {
	contact *amocrm.Contact
	company *amocrm.Company
	note    *amocrm.Note
	vals    []amocrm.FieldValue
	cfv     amocrm.CustomFieldsValues
	warns   Problems
	// fresh: the Result and contact are newly allocated (zero), no reset needed
	fresh bool
}

// resultWithContact is what Apply allocates when the spec maps a contact:
// the result and the contact in one allocation. The company and the note,
// rarer, are allocated when they are produced.
type resultWithContact struct {
	res     Result
	contact amocrm.Contact
}

// Apply maps one record. It does no I/O, may be called concurrently, and
// never returns a silently wrong value: every value that cannot be converted
// to its field's type, every non-optional field left empty, and every status
// that does not exist in the routed pipeline makes it fail with an *Error
// listing all such problems. Round-robin routing advances on each call.
//
// Apply returns a new Result each time; ApplyInto is the same mapping into
// a Result the caller reuses.
func (m *Mapper) Apply(rec Record) (*Result, error) {
	res, sp := m.newResult()
	if err := m.applyInto(rec, res, &sp); err != nil {
		return nil, err
	}
	return res, nil
}

// ApplyInto is Apply writing into res instead of a new Result, for hot loops
// that send each result before mapping the next record: res is reset, and
// the lead, contact, company and note it held and the backing arrays of its
// custom field entries, values and warnings are reused, so a reused Result
// saves most of Apply's allocations (the output is most of Apply's memory).
// A zero Result is ready to use, and so is one Apply returned. The values
// written are exactly those Apply returns for the same record (round-robin
// advances the same way).
//
// Everything the previous call left in res is overwritten or dropped: the
// caller must not keep references into a Result (Lead.Lead, Lead.Contact,
// CustomFieldsValues, Note, Warnings, ...) across calls, nor use copies of a
// Result value, which share its storage. Send or copy what you need first.
//
// On error (the same *Error Apply returns) res.Lead is zero (Lead.Lead is
// nil) and res.Note is nil, so nothing half-mapped can be sent; res.Warnings
// holds the warnings. A nil res is an error.
//
// ApplyInto is safe for concurrent use with a Result per goroutine; one
// Result must not be used by two calls at once.
func (m *Mapper) ApplyInto(rec Record, res *Result) error {
	if res == nil {
		return errors.New("fieldmap: ApplyInto: nil *Result")
	}
	if res.reuse == nil {
		res.reuse = &spare{}
	}
	return m.applyInto(rec, res, res.reuse)
}

// applyInto is Apply and ApplyInto: it maps rec into res, using and then
// keeping the storage in sp.
func (m *Mapper) applyInto(rec Record, res *Result, sp *spare) error {
	if probs := m.apply(rec, res, sp, false); len(probs) > 0 {
		res.Lead, res.Note = amocrm.ComplexLead{}, nil
		return &Error{Problems: probs}
	}
	return nil
}

// newResult allocates a Result for m, with its contact in the same
// allocation when the spec maps a contact (in the returned spare).
func (m *Mapper) newResult() (*Result, spare) {
	if m.contact != nil {
		rc := &resultWithContact{}
		return &rc.res, spare{contact: &rc.contact, fresh: true}
	}
	return &Result{}, spare{fresh: true}
}

type applier struct {
	m     *Mapper
	rd    reader
	dry   bool
	res   *Result
	vals  []amocrm.FieldValue
	probs Problems
}

func (a *applier) warn(p Problem) { a.res.Warnings = append(a.res.Warnings, p) }
func (a *applier) fail(p Problem) { a.probs = append(a.probs, p) }

func (a *applier) failErr(path string, err error) {
	var ee *evalError
	var se *srcError
	if errors.As(err, &se) {
		path, err = se.path, se.err
	}
	var msg Text
	if errors.As(err, &ee) {
		msg = ee.msg
	} else {
		t := textOf(err)
		msg = T("ошибка вычисления: "+t.RU, "evaluation failed: "+t.EN)
	}
	a.fail(problem(CodeBadValue, path, msg, T("Проверьте данные сообщения или шаблон (например, добавьте default).",
		"Check the record data or the template (for example, add a default).")))
}

func (a *applier) failConv(e *convError) {
	remedy := T("Проверьте данные сообщения или шаблон; значение должно подходить к типу поля.",
		"Check the record data or the template; the value must fit the field type.")
	a.fail(problem(e.code, e.path, e.msg, remedy))
}

// when evaluates an optional condition; a failing condition is a problem.
func (a *applier) when(c *Condition, path string) bool {
	if c == nil {
		return true
	}
	ok, err := c.root.eval(&a.rd)
	if err != nil {
		a.failErr(path+".when", err)
		return false
	}
	return ok
}

// apply maps rec into res (reset first), using the storage in sp and
// keeping there what it used, and returns the problems.
func (m *Mapper) apply(rec Record, res *Result, sp *spare, dry bool) Problems {
	oldVals, oldCFV, oldWarns := sp.vals, sp.cfv, sp.warns
	if !sp.fresh {
		res.Lead, res.Note, res.Warnings = amocrm.ComplexLead{}, nil, oldWarns[:0]
		res.lead = amocrm.Lead{}
	}
	a := &applier{m: m, dry: dry, res: res}
	a.rd.rec, a.rd.n = rec, int32(min(m.nSlots, maxMemo))
	rd := &a.rd
	if cap(oldVals) >= m.nValues {
		a.vals = oldVals[:0]
	} else {
		a.vals = make([]amocrm.FieldValue, 0, m.nValues)
	}
	// m.nFields bounds the entries (one per field plan at most): cfv never grows.
	var cfv amocrm.CustomFieldsValues
	if cap(oldCFV) >= m.nFields {
		cfv = oldCFV[:0]
	} else {
		cfv = make(amocrm.CustomFieldsValues, 0, m.nFields)
	}
	cfvBase, cfvUsed := cfv, 0

	// routing
	l := &res.lead
	pipelineID, _ := a.route(&m.pipeline)
	if rule := a.pick(&m.status); rule != nil {
		statusID := rule.id
		if rule.byPipeline != nil {
			pid := pipelineID
			if pid == 0 {
				pid = rule.home
			}
			sid, ok := rule.byPipeline[pid]
			if !ok {
				a.fail(problem(CodeStatusNotFound, rule.path,
					T(fmt.Sprintf("этап правила %s не существует в выбранной воронке #%d", rule.path, pid),
						fmt.Sprintf("the status of rule %s does not exist in the routed pipeline #%d", rule.path, pid)),
					T("Согласуйте правила воронки и этапа.", "Make the pipeline and status rules agree.")))
			}
			pipelineID, statusID = pid, sid
		}
		l.StatusID = statusID
	}
	l.PipelineID = pipelineID
	l.ResponsibleUserID, _ = a.route(&m.responsible)

	// lead
	l.Name = a.name(m.lead.name, "lead.name", true)
	if m.lead.price != nil {
		a.price(m.lead.price, l)
	}
	res.Lead.Lead = l
	res.Lead.Tags = a.tags(m.lead.tags)
	cfv = a.fields(&m.lead, cfv)
	if n := len(cfv); n > 0 {
		l.CustomFieldsValues = cfv[:n:n]
		cfv, cfvUsed = cfv[n:], cfvUsed+n
	}

	// contact
	if ep := m.contact; ep != nil && a.when(ep.when, ep.path) {
		c := sp.contact
		if c == nil {
			c = new(amocrm.Contact)
			sp.contact = c
		} else if !sp.fresh {
			*c = amocrm.Contact{}
		}
		c.Name = a.name(ep.name, "contact.name", false)
		c.FirstName = a.name(ep.firstName, "contact.first_name", false)
		c.LastName = a.name(ep.lastName, "contact.last_name", false)
		c.ResponsibleUserID = l.ResponsibleUserID
		if ep.ownResp {
			c.ResponsibleUserID, _ = a.route(&ep.resp)
		}
		if tags := a.tags(ep.tags); tags != nil {
			c.Embedded = &amocrm.ContactEmbedded{Tags: tags}
		}
		cfv = a.fields(ep, cfv)
		if n := len(cfv); n > 0 {
			c.CustomFieldsValues = cfv[:n:n]
			cfv, cfvUsed = cfv[n:], cfvUsed+n
		}
		if c.Name == "" && c.FirstName == "" && c.LastName == "" && len(c.CustomFieldsValues) == 0 {
			a.warn(warning(CodeOptionalSkipped, ep.path, T("контакт не создан: для него нет данных", "contact left out: no data for it"),
				T("Добавьте в сопоставление имя или телефон контакта.", "Map the contact's name or phone.")))
		} else {
			res.Lead.Contact = c
		}
	}

	// company
	if ep := m.company; ep != nil && a.when(ep.when, ep.path) {
		co := sp.company
		if co == nil {
			co = new(amocrm.Company)
			sp.company = co
		} else {
			*co = amocrm.Company{}
		}
		co.Name = a.name(ep.name, "company.name", false)
		co.ResponsibleUserID = l.ResponsibleUserID
		if ep.ownResp {
			co.ResponsibleUserID, _ = a.route(&ep.resp)
		}
		if tags := a.tags(ep.tags); tags != nil {
			co.Embedded = &amocrm.CompanyEmbedded{Tags: tags}
		}
		cfv = a.fields(ep, cfv)
		if n := len(cfv); n > 0 {
			co.CustomFieldsValues = cfv[:n:n]
			cfvUsed += n
		}
		if co.Name == "" && len(co.CustomFieldsValues) == 0 {
			a.warn(warning(CodeOptionalSkipped, ep.path, T("компания не создана: для неё нет данных", "company left out: no data for it"),
				T("Добавьте в сопоставление название компании.", "Map the company name.")))
		} else {
			res.Lead.Company = co
		}
	}

	// note
	if np := m.note; np != nil && a.when(np.when, np.path) {
		v, err := np.text.eval(rd)
		switch {
		case err != nil:
			a.failErr(np.text.path, err)
		case v.isEmpty():
			a.warn(warning(CodeOptionalSkipped, np.path, T("примечание не добавлено: текст пуст", "note left out: its text is empty"), Text{}))
		default:
			n := sp.note
			if n == nil {
				n = new(amocrm.Note)
				sp.note = n
			}
			*n = amocrm.Note{NoteType: np.typ, ResponsibleUserID: l.ResponsibleUserID,
				Params: amocrm.NoteParams{Text: v.text(), Service: np.service}}
			res.Note = n
		}
	}

	// keep the storage for the next ApplyInto, and drop what the previous
	// call left beyond what this one used so that it can be collected
	sp.vals = a.vals
	if n := len(a.vals); n < len(oldVals) {
		clear(oldVals[n:])
	}
	if cfvUsed <= cap(cfvBase) {
		sp.cfv = cfvBase[:cfvUsed]
	} else {
		sp.cfv = nil
	}
	if cfvUsed < len(oldCFV) {
		clear(oldCFV[cfvUsed:])
	}
	sp.warns = res.Warnings
	if n := len(res.Warnings); n < len(oldWarns) {
		clear(oldWarns[n:])
	}
	if len(res.Warnings) == 0 {
		res.Warnings = nil
	}
	return a.probs
}

// pick returns the first rule whose condition holds, or nil (with a
// warning when there were rules).
func (a *applier) pick(rp *routePlan) *rulePlan {
	for i := range rp.rules {
		r := &rp.rules[i]
		if a.when(r.when, r.path) {
			return r
		}
	}
	if len(rp.rules) > 0 {
		a.warn(warning(CodeNoRoute, rp.path, T("ни одно правило не подошло: amoCRM применит значение по умолчанию",
			"no rule matched: amoCRM uses its default"), T("Добавьте правило без условия в конец списка.", "Add a rule without when at the end.")))
	}
	return nil
}

// route resolves a routing list to an id (0: none).
func (a *applier) route(rp *routePlan) (int, *rulePlan) {
	r := a.pick(rp)
	if r == nil {
		return 0, nil
	}
	if len(r.rr) > 0 {
		var n uint64
		if a.dry {
			n = r.next.Load()
		} else {
			n = r.next.Add(1) - 1
		}
		return r.rr[n%uint64(len(r.rr))], r
	}
	return r.id, r
}

func (a *applier) name(s *src, path string, required bool) string {
	if s == nil {
		return ""
	}
	v, err := s.eval(&a.rd)
	if err != nil {
		a.failErr(path, err)
		return ""
	}
	txt := strings.TrimSpace(v.text())
	if txt == "" {
		if required {
			a.fail(problem(CodeValueEmpty, path, T("название получилось пустым", "the name came out empty"),
				T("Добавьте default в шаблон названия.", "Add a default to the name template.")))
		} else {
			a.warn(warning(CodeOptionalSkipped, path, T("значение пусто, поле не заполнено", "value is empty, left out"), Text{}))
		}
		return ""
	}
	if cut, ok := truncateRunes(txt, DefaultNameMaxLength); !ok {
		a.warn(warning(CodeTruncated, path, T(fmt.Sprintf("название обрезано до %d символов", DefaultNameMaxLength),
			fmt.Sprintf("name cut to %d characters", DefaultNameMaxLength)), T("Сократите шаблон названия (truncate).", "Shorten the name template (truncate).")))
		txt = cut
	}
	return txt
}

func (a *applier) price(s *src, l *amocrm.Lead) {
	v, err := s.eval(&a.rd)
	if err != nil {
		a.failErr(s.path, err)
		return
	}
	if v.isEmpty() {
		a.warn(warning(CodeOptionalSkipped, s.path, T("бюджет не найден, не заполнен", "price is empty, left out"), Text{}))
		return
	}
	f, ok := v.number()
	if !ok || f < 0 || f > math.MaxInt32 {
		a.fail(problem(CodeBadValue, s.path, T("бюджет "+quote(v)+" — не целое неотрицательное число", "price "+quote(v)+" is not a non-negative whole number"),
			T("Проверьте источник бюджета (например, find_amount или number).", "Check the price source (for example find_amount or number).")))
		return
	}
	if r := math.Round(f); r != f {
		a.warn(warning(CodeTruncated, s.path, T(fmt.Sprintf("бюджет %v округлён до %v", f, r), fmt.Sprintf("price %v rounded to %v", f, r)), Text{}))
		f = r
	}
	l.Price = int(f)
}

func (a *applier) tags(srcs []*src) []amocrm.Tag {
	if len(srcs) == 0 {
		return nil
	}
	var out []amocrm.Tag
	for _, s := range srcs {
		if !a.when(s.when, s.path) {
			continue
		}
		v, err := s.eval(&a.rd)
		if err != nil {
			a.failErr(s.path, err)
			continue
		}
		var buf [4]value
		for _, it := range v.items(buf[:0]) {
			name := strings.TrimSpace(it.text())
			if name == "" || hasTag(out, name) {
				continue
			}
			if out == nil {
				out = make([]amocrm.Tag, 0, len(srcs))
			}
			out = append(out, amocrm.Tag{Name: name})
		}
	}
	return out
}

func hasTag(tags []amocrm.Tag, name string) bool {
	for _, t := range tags {
		if strings.EqualFold(t.Name, name) {
			return true
		}
	}
	return false
}

// fields maps the entity's custom fields, appending to out.
func (a *applier) fields(ep *entityPlan, out amocrm.CustomFieldsValues) amocrm.CustomFieldsValues {
	base := len(out)
	for _, fp := range ep.fields {
		if !a.when(fp.when, fp.path) {
			continue
		}
		start := len(a.vals)
		before := len(a.probs)
		a.vals = a.fieldValues(fp, a.vals)
		if len(a.probs) > before {
			a.vals = a.vals[:start]
			continue
		}
		if len(a.vals) == start {
			if fp.optional {
				a.warn(warning(CodeOptionalSkipped, fp.path, T(fmt.Sprintf("поле %s пусто и не заполнено", fp.name),
					fmt.Sprintf("field %s is empty and was left out", fp.name)), Text{}))
			} else if fp.unique || !a.filled(out[base:], fp) {
				a.fail(problem(CodeValueEmpty, fp.path, T(fmt.Sprintf("поле %s получилось пустым", fp.name),
					fmt.Sprintf("field %s came out empty", fp.name)),
					T("Сделайте поле optional, добавьте default или условие when.", "Make the field optional, add a default or a when condition.")))
			}
			continue
		}
		vals := a.vals[start:len(a.vals):len(a.vals)]
		if fp.unique {
			out = append(out, fp.cv())
			out[len(out)-1].Values = vals
			continue
		}
		if i := a.index(out[base:], fp); i >= 0 {
			cv := &out[base+i]
			if fp.multiple {
				for _, v := range vals {
					if !hasValue(cv.Values, v) {
						cv.Values = append(cv.Values, v)
					}
				}
			} // single-valued: the first mapping that produced a value wins
			continue
		}
		cv := fp.cv()
		cv.Values = vals
		out = append(out, cv)
	}
	return out
}

func (a *applier) index(out amocrm.CustomFieldsValues, fp *fieldPlan) int {
	for i := range out {
		if fp.sameTarget(&out[i]) {
			return i
		}
	}
	return -1
}

func (a *applier) filled(out amocrm.CustomFieldsValues, fp *fieldPlan) bool {
	return a.index(out, fp) >= 0
}

func hasValue(vs []amocrm.FieldValue, v amocrm.FieldValue) bool {
	for _, x := range vs {
		if x.EnumID == v.EnumID && x.EnumCode == v.EnumCode && x.Subtype == v.Subtype && x.Text() == v.Text() {
			return true
		}
	}
	return false
}

// fieldValues converts the field's sources, appending to dst. Problems are
// recorded on a.
func (a *applier) fieldValues(fp *fieldPlan, dst []amocrm.FieldValue) []amocrm.FieldValue {
	start := len(dst)
	if fp.composite {
		return a.compositeValues(fp, dst)
	}
	for _, s := range fp.values {
		if !a.when(s.when, s.path) {
			continue
		}
		v, err := s.eval(&a.rd)
		if err != nil {
			a.failErr(s.path, err)
			continue
		}
		if v.k == kList && fp.multiple {
			var buf [8]value
			for _, it := range v.items(buf[:0]) {
				if it.isEmpty() {
					continue
				}
				var e *convError
				if dst, e = a.convertScalar(fp, s, it, dst); e != nil {
					a.failConv(e)
				}
			}
			continue
		}
		if v.isEmpty() {
			continue
		}
		n := len(dst)
		var e *convError
		if dst, e = a.convertScalar(fp, s, v, dst); e != nil {
			a.failConv(e)
		} else if n > start && len(dst) == n+1 && hasValue(dst[start:n], dst[n]) {
			dst = dst[:n] // the same value from two sources
		}
	}
	if !fp.multiple && len(dst) > start+1 {
		// several values sources for a one-value field cannot happen (compile
		// rejects values:), but keep the invariant explicit
		dst = dst[:start+1]
	}
	return dst
}

func (a *applier) compositeValues(fp *fieldPlan, dst []amocrm.FieldValue) []amocrm.FieldValue {
	one := func(g *objectGetter) {
		var e *convError
		var err error
		dst, e, err = a.convertObject(fp, g, &a.rd, dst)
		switch {
		case err != nil:
			a.failErr(g.path, err)
		case e != nil:
			a.failConv(e)
		}
	}
	switch {
	case fp.object != nil:
		one(&objectGetter{parts: fp.object, path: fp.path + ".object"})
	case fp.objects != nil:
		for i, parts := range fp.objects {
			one(&objectGetter{parts: parts, path: fmt.Sprintf("%s.objects[%d]", fp.path, i)})
		}
	default:
		for _, s := range fp.values {
			if !a.when(s.when, s.path) {
				continue
			}
			v, err := s.eval(&a.rd)
			if err != nil {
				a.failErr(s.path, err)
				continue
			}
			if v.isEmpty() {
				continue
			}
			var maps []map[string]any
			switch x := v.raw.(type) {
			case map[string]any:
				maps = append(maps, x)
			case MapRecord:
				maps = append(maps, x)
			case []any:
				for _, it := range x {
					if m, ok := it.(map[string]any); ok {
						maps = append(maps, m)
					} else {
						maps = nil
						break
					}
				}
			}
			if maps == nil || len(maps) > 1 && !fp.multiple {
				a.failConv(badValue(s.path, fp, v, "— не объект с частями поля", "is not an object with the field's parts"))
				continue
			}
			for _, m := range maps {
				one(&objectGetter{m: m, path: s.path})
			}
		}
	}
	return dst
}

// DryRun maps rec without side effects (round-robin does not advance) and
// renders, as indented JSON, exactly what would be sent: {"lead": the
// /leads/complex item, "note": the note, "warnings": [...], "problems":
// [...]}. For the UI and tests. When the record has problems the JSON lists
// them and the error is the same *Error Apply returns.
func (m *Mapper) DryRun(rec Record) ([]byte, error) {
	res, sp := m.newResult()
	probs := m.apply(rec, res, &sp, true)
	out := struct {
		Lead     *amocrm.ComplexLead `json:"lead,omitempty"`
		Note     *amocrm.Note        `json:"note,omitempty"`
		Warnings Problems            `json:"warnings,omitempty"`
		Problems Problems            `json:"problems,omitempty"`
	}{Warnings: res.Warnings, Problems: probs}
	if len(probs) == 0 {
		out.Lead, out.Note = &res.Lead, res.Note
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("fieldmap: dry run: %w", err)
	}
	if len(probs) > 0 {
		return b, &Error{Problems: probs}
	}
	return b, nil
}
