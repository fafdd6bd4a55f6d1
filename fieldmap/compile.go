package fieldmap

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chatterhq/sdk/amocrm"
)

// MaxFieldsPerEntity is how many custom field values /leads/complex accepts
// for one entity.
const MaxFieldsPerEntity = 40

// Default maximum lengths of text values; longer values are cut with a
// CodeTruncated warning. FieldSpec.MaxLength overrides them.
const (
	DefaultNameMaxLength = 255 // lead, contact and company names
	DefaultTextMaxLength = 256 // text, url, streetaddress, tracking_data, org_legal_name fields
	// textarea fields and notes are not cut by default.
)

// Mapper is a compiled Spec. Apply maps records with it; it is safe for
// concurrent use, and Apply does no I/O.
type Mapper struct {
	spec   *Spec
	schema *Schema
	record *RecordSchema
	loc    *time.Location

	lead    entityPlan
	contact *entityPlan
	company *entityPlan
	note    *notePlan

	pipeline    routePlan
	status      routePlan
	responsible routePlan

	nValues int // FieldValue capacity needed by a typical Apply
	nFields int
	nSlots  int // distinct record paths (compileEnv.slots)

	warnings Problems
}

// Option configures Compile.
type Option func(*compileOptions)

type compileOptions struct {
	schema *Schema
	record *RecordSchema
}

// WithSchema resolves the spec against the account schema while compiling:
// fields by name or code get their ids and types, enum options by text get
// their enum ids, pipelines, statuses and users by name get their ids, and
// every check of Validate runs (an error fails Compile; warnings are kept in
// Mapper.Warnings). Without a schema, targets must be given by id or code
// with a declared type, and routing by id.
func WithSchema(s *Schema) Option { return func(o *compileOptions) { o.schema = s } }

// Compile checks and compiles spec once. The error is an *Error listing
// every problem found. The spec must not be changed afterwards (Mapper.Spec
// returns it).
func Compile(spec *Spec, opts ...Option) (*Mapper, error) {
	var o compileOptions
	for _, f := range opts {
		f(&o)
	}
	m, probs := compileWith(spec, o.schema, o.record)
	if err := probs.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// MustCompile is Compile that panics on error, for specs fixed in code and
// tests.
func MustCompile(spec *Spec, opts ...Option) *Mapper {
	m, err := Compile(spec, opts...)
	if err != nil {
		panic(err)
	}
	return m
}

// Spec returns the spec the mapper was compiled from.
func (m *Mapper) Spec() *Spec { return m.spec }

// Schema returns the schema the mapper was compiled with, or nil.
func (m *Mapper) Schema() *Schema { return m.schema }

// Warnings returns the warnings found while compiling (with a schema: for
// example a required field that is mapped but optional).
func (m *Mapper) Warnings() Problems { return m.warnings }

// Validate checks a compiled mapper against the live account schema:
// missing fields (with the closest existing names), wrong types, enum options
// not in the field, computed fields, required fields of the target statuses
// that are not mapped, and pipelines, statuses and users that do not exist.
// It returns every problem, errors and warnings; Problems.Err turns them into
// an error. The mapper itself is not changed: compile with WithSchema to
// apply with the resolved ids.
func Validate(m *Mapper, s *Schema) Problems {
	if m == nil {
		return Problems{problem(CodeSpecInvalid, "", T("сопоставление не задано", "no mapper"), Text{})}
	}
	if s == nil {
		return Problems{problem(CodeNeedsSchema, "", T("схема аккаунта не задана", "no schema given"),
			T("Загрузите поля, воронки и пользователей из amoCRM.", "Load fields, pipelines and users from amoCRM."))}
	}
	_, probs := compileWith(m.spec, s, m.record)
	return probs
}

// ---- compiled plans ----

type src struct {
	path    string // spec path, for problems
	recPath string // record path when isPath
	isPath  bool
	slot    int32 // memo slot of recPath (reader.lookup)
	tmpl    *Template
	cnst    value
	table   *lookupTable
	enum    string
	when    *Condition
}

func (s *src) eval(r *reader) (value, error) {
	var v value
	switch {
	case s.isPath:
		if x, ok := r.lookup(s.recPath, s.slot); ok {
			v = fromAny(x)
		}
	case s.tmpl != nil:
		var err error
		if v, err = s.tmpl.eval(r); err != nil {
			return value{}, err
		}
	default:
		v = s.cnst
	}
	if s.table != nil {
		v = s.table.lookup(v)
	}
	return v, nil
}

type objPart struct {
	key string
	src *src
}

type fieldPlan struct {
	path     string
	entity   amocrm.EntityType
	spec     *FieldSpec
	id       int
	code     string
	name     string // for messages
	typ      amocrm.FieldType
	field    *amocrm.CustomField
	values   []*src
	object   []objPart
	objects  [][]objPart
	enum     string
	when     *Condition
	optional bool
	maxLen   int
	// shorthand: contact.phone or contact.email, whose value is at path
	shorthand bool

	// Decided once by finish (Compile), so that Apply does not switch on
	// the type string for every value.
	conv      convKind // how convertScalar converts a value
	composite bool     // objectKeys(typ) has parts
	multiple  bool     // typ.IsMultiple()
	limit     int      // maxLen, or the type's default cut length (0: none)
	codeKind  uint8    // multitext: codePhone, codeEmail or codeOther
	unique    bool     // no earlier field of the entity has the same target
}

// finish precomputes what Apply needs from the type and the code.
func (fp *fieldPlan) finish() {
	_, fp.composite = objectKeys(fp.typ)
	fp.multiple = fp.typ.IsMultiple()
	fp.conv = scalarKind(fp.typ)
	fp.limit = fp.maxLen
	if fp.limit == 0 {
		fp.limit = defaultMaxLen(fp.typ)
	}
	switch strings.ToUpper(fp.code) {
	case amocrm.FieldCodePhone:
		fp.codeKind = codePhone
	case amocrm.FieldCodeEmail:
		fp.codeKind = codeEmail
	}
}

// cv is the custom field entry Apply starts for fp (FieldName and FieldType
// are not sent: field_id wins, then field_code; they help readers such as
// Contact.Phones).
func (fp *fieldPlan) cv() amocrm.CustomFieldValues {
	cv := amocrm.CustomFieldValues{FieldID: fp.id, FieldCode: fp.code, FieldType: fp.typ}
	if fp.field != nil {
		cv.FieldName, cv.FieldCode = fp.field.Name, fp.field.Code
	}
	return cv
}

// sameTarget reports whether cv, produced by an earlier field of the same
// entity, is the field fp targets.
func (fp *fieldPlan) sameTarget(cv *amocrm.CustomFieldValues) bool {
	if fp.id != 0 {
		return cv.FieldID == fp.id
	}
	return cv.FieldID == 0 && strings.EqualFold(cv.FieldCode, fp.code)
}

type entityPlan struct {
	path      string
	entity    amocrm.EntityType
	when      *Condition
	name      *src
	firstName *src
	lastName  *src
	price     *src
	tags      []*src
	fields    []*fieldPlan
	ownResp   bool // has its own responsible routing
	resp      routePlan
}

type notePlan struct {
	path    string
	when    *Condition
	typ     amocrm.NoteType
	service string
	text    *src
}

type rulePlan struct {
	path       string
	when       *Condition
	id         int
	rr         []int
	next       *atomic.Uint64
	byPipeline map[int]int // status rules with a schema: pipeline id → status id
	home       int         // status rules with a schema: the pipeline used when none is routed
}

type routePlan struct {
	path  string
	rules []rulePlan
}

// ---- compiler ----

type compiler struct {
	spec   *Spec
	schema *Schema
	record *RecordSchema // nil: record paths are not checked
	env    *compileEnv
	probs  Problems
	m      *Mapper

	pipelineIDs []int // pipelines the lead can be routed to (schema mode)
}

func (c *compiler) add(p Problem) { c.probs = append(c.probs, p) }

func (c *compiler) invalid(path, ru, en string) {
	c.add(problem(CodeSpecInvalid, path, T(ru, en), T("Исправьте описание сопоставления.", "Fix the spec.")))
}

func compile(spec *Spec, schema *Schema) (*Mapper, Problems) { return compileWith(spec, schema, nil) }

func compileWith(spec *Spec, schema *Schema, record *RecordSchema) (*Mapper, Problems) {
	c := &compiler{spec: spec, schema: schema, record: record, env: &compileEnv{loc: time.UTC, tables: map[string]*lookupTable{}, slots: map[string]int32{}}}
	if spec == nil {
		c.invalid("", "описание сопоставления пустое", "spec is nil")
		return nil, c.probs
	}
	m := &Mapper{spec: spec, schema: schema, record: record}
	c.m = m
	if spec.Version != 0 && spec.Version != 1 {
		c.invalid("version", fmt.Sprintf("неизвестная версия %d (поддерживается 1)", spec.Version),
			fmt.Sprintf("unknown version %d (1 is supported)", spec.Version))
	}
	if spec.Timezone != "" {
		loc, err := parseZone(spec.Timezone)
		if err != nil {
			t := textOf(err)
			c.invalid("timezone", t.RU, t.EN)
		} else {
			c.env.loc = loc
		}
	}
	m.loc = c.env.loc
	c.tables()

	// routing first: status and required-field checks need the pipelines
	m.pipeline = c.routes("lead.pipeline", spec.Lead.Pipeline, "pipeline")
	m.status = c.routes("lead.status", spec.Lead.Status, "status")
	m.responsible = c.routes("lead.responsible", spec.Lead.Responsible, "user")

	c.entity(&m.lead, "lead", amocrm.EntityLeads, spec.Lead.Name, nil, nil, spec.Lead.Tags, spec.Lead.Fields, "")
	if spec.Lead.Price != nil {
		m.lead.price = c.source("lead.price", spec.Lead.Price)
	}
	if spec.Contact != nil {
		cs := spec.Contact
		ep := &entityPlan{}
		fields := cs.Fields
		var paths []string // of the shorthands: contact.phone, not the fields[i] they become
		if cs.Phone != nil || cs.Email != nil {
			fields = make([]FieldSpec, 0, len(cs.Fields)+2)
			if cs.Phone != nil {
				fields = append(fields, FieldSpec{Code: amocrm.FieldCodePhone, Value: cs.Phone, Enum: amocrm.EnumCodeMobile, Optional: true})
				paths = append(paths, "contact.phone")
			}
			if cs.Email != nil {
				fields = append(fields, FieldSpec{Code: amocrm.FieldCodeEmail, Value: cs.Email, Enum: amocrm.EnumCodeWork, Optional: true})
				paths = append(paths, "contact.email")
			}
			for i := range cs.Fields {
				paths = append(paths, fmt.Sprintf("contact.fields[%d]", i))
			}
			fields = append(fields, cs.Fields...)
		}
		c.entity(ep, "contact", amocrm.EntityContacts, cs.Name, cs.FirstName, cs.LastName, cs.Tags, fields, cs.When, paths...)
		if len(cs.Responsible) > 0 {
			ep.ownResp, ep.resp = true, c.routes("contact.responsible", cs.Responsible, "user")
		}
		m.contact = ep
	}
	if spec.Company != nil {
		cs := spec.Company
		ep := &entityPlan{}
		c.entity(ep, "company", amocrm.EntityCompanies, cs.Name, nil, nil, cs.Tags, cs.Fields, cs.When)
		if len(cs.Responsible) > 0 {
			ep.ownResp, ep.resp = true, c.routes("company.responsible", cs.Responsible, "user")
		}
		m.company = ep
	}
	if spec.Note != nil {
		n := spec.Note
		np := &notePlan{path: "note", typ: n.Type, service: n.Service}
		if np.typ == "" {
			np.typ = amocrm.NoteCommon
		}
		if np.typ != amocrm.NoteCommon && np.typ != amocrm.NoteServiceMessage {
			c.invalid("note.type", fmt.Sprintf("тип примечания %q не поддерживается (common или service_message)", n.Type),
				fmt.Sprintf("note type %q is not supported (common or service_message)", n.Type))
		}
		if np.typ == amocrm.NoteServiceMessage && np.service == "" {
			np.service = "Chatter"
		}
		np.when = c.cond("note.when", n.When)
		if n.Text == nil {
			c.invalid("note.text", "не задан текст примечания", "note text is missing")
		} else {
			np.text = c.source("note.text", n.Text)
		}
		m.note = np
	}
	if c.schema != nil {
		c.checkRequired()
	}
	m.nSlots = len(c.env.slots)
	positionsOf(spec).locate(c.probs)
	m.warnings = c.probs.Warnings()
	return m, c.probs
}

func (c *compiler) tables() {
	names := make([]string, 0, len(c.spec.Lookups))
	for name := range c.spec.Lookups {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		tbl := c.spec.Lookups[name]
		t := &lookupTable{name: name, exact: make(map[string]value, len(tbl)), folded: make(map[string]value, len(tbl))}
		keys := make([]string, 0, len(tbl))
		for k := range tbl {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, ok := constValue(tbl[k])
			if !ok {
				c.invalid("lookups."+name+"."+k, "значение таблицы должно быть строкой, числом или логическим",
					"a table value must be a string, number or boolean")
				continue
			}
			if k == "*" {
				t.fallback = &v
				continue
			}
			t.exact[k] = v
			fk := strings.ToLower(strings.TrimSpace(k))
			if _, dup := t.folded[fk]; !dup {
				t.folded[fk] = v
			}
		}
		c.env.tables[name] = t
	}
}

// constValue converts a spec constant, boxing strings once so Apply can
// reuse the interface.
func constValue(x any) (value, bool) {
	switch x.(type) {
	case nil, map[string]any, []any:
		return value{}, false
	}
	v := fromAny(x)
	if v.k == kString && v.raw == nil {
		v.raw = v.s
	}
	return v, v.k != kOther
}

func (c *compiler) cond(path, expr string) *Condition {
	if strings.TrimSpace(expr) == "" {
		return nil
	}
	cnd, err := compileCondition(expr, c.env)
	if err != nil {
		c.add(problem(CodeTemplateSyntax, path, syntaxText(err), templateRemedy))
		return nil
	}
	cnd.root.eachPath(func(p string, pos int) { c.checkPath(path, p, pos+1) })
	return cnd
}

// checkPath reports a record path the RecordSchema does not have; col is
// its 1-based column in a template or condition (0 for from:).
func (c *compiler) checkPath(path, recPath string, col int) {
	if c.record == nil || !validPath(recPath) || c.record.Has(recPath) {
		return
	}
	msg := T(fmt.Sprintf("в записи нет пути %q", recPath), fmt.Sprintf("the record has no path %q", recPath))
	if col > 0 {
		msg = T(fmt.Sprintf("в записи нет пути %q (столбец %d)", recPath, col), fmt.Sprintf("the record has no path %q (col %d)", recPath, col))
	}
	p := problem(CodeUnknownPath, path, msg,
		T("Исправьте путь: он должен быть полем записи (например, sender.username); свои ключи добавьте в RecordSchema.",
			"Fix the path: it must be a field of the record (sender.username, say); add keys of your own to the RecordSchema."))
	p.Suggestions = c.record.suggest(recPath)
	c.add(p)
}

func validPath(p string) bool {
	if p == "" || strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if !isIdentChar(p[i]) {
			return false
		}
	}
	return true
}

func (c *compiler) source(path string, s *Source) *src {
	out := &src{path: path, enum: s.Enum}
	switch {
	case s.From != "":
		if !validPath(s.From) {
			c.invalid(path+".from", fmt.Sprintf("неверный путь %q (пример: sender.username)", s.From),
				fmt.Sprintf("bad path %q (example: sender.username)", s.From))
		}
		out.isPath, out.recPath = true, s.From
		out.slot = c.env.slot(s.From)
		c.checkPath(path+".from", s.From, 0)
	case s.Const != nil:
		v, ok := constValue(s.Const)
		if !ok {
			c.invalid(path, "константа должна быть строкой, числом или логическим", "a constant must be a string, number or boolean")
		}
		out.cnst = v
	default:
		t, err := compileTemplate(s.Template, c.env)
		if err != nil {
			c.add(problem(CodeTemplateSyntax, path, syntaxText(err), templateRemedy))
			break
		}
		t.eachPath(func(p string, pos int) { c.checkPath(path, p, pos+1) })
		if t.isConst() {
			out.cnst = strValue(t.constText())
			out.cnst.raw = out.cnst.s
		} else {
			out.tmpl = t
		}
	}
	if s.Lookup != "" {
		out.table = c.env.tables[s.Lookup]
		if out.table == nil {
			c.invalid(path+".lookup", fmt.Sprintf("нет таблицы %q в lookups", s.Lookup), fmt.Sprintf("no table %q in lookups", s.Lookup))
		}
	}
	out.when = c.cond(path+".when", s.When)
	return out
}

// entity compiles an entity; fieldPaths, when given, are the spec paths of
// fields (else path.fields[i]).
func (c *compiler) entity(ep *entityPlan, path string, entity amocrm.EntityType, name, first, last *Source, tags []Source, fields []FieldSpec, when string, fieldPaths ...string) {
	ep.path, ep.entity = path, entity
	ep.when = c.cond(path+".when", when)
	if name != nil {
		ep.name = c.source(path+".name", name)
	} else if entity == amocrm.EntityLeads {
		c.invalid(path+".name", "не задано название сделки", "lead name is missing")
	}
	if first != nil {
		ep.firstName = c.source(path+".first_name", first)
	}
	if last != nil {
		ep.lastName = c.source(path+".last_name", last)
	}
	for i := range tags {
		ep.tags = append(ep.tags, c.source(fmt.Sprintf("%s.tags[%d]", path, i), &tags[i]))
	}
	seen := map[string]bool{}
	for i := range fields {
		fpath := fmt.Sprintf("%s.fields[%d]", path, i)
		if i < len(fieldPaths) {
			fpath = fieldPaths[i]
		}
		fp := c.field(fpath, entity, &fields[i], i < len(fieldPaths) && !strings.HasSuffix(fpath, "]"))
		if fp == nil {
			continue
		}
		ep.fields = append(ep.fields, fp)
		key := fp.key()
		if !seen[key] {
			seen[key] = true
		}
		c.m.nFields++
		c.m.nValues += max(1, len(fp.values), len(fp.objects), len(fp.object))
	}
	// A field no earlier field can have produced the entry for needs no
	// search of the entries made so far (the same test as applier.index).
	for j, fp := range ep.fields {
		fp.finish()
		c.checkConsts(fp)
		fp.unique = true
		for _, prev := range ep.fields[:j] {
			if cv := prev.cv(); fp.sameTarget(&cv) {
				fp.unique = false
				break
			}
		}
	}
	if len(seen) > MaxFieldsPerEntity {
		c.add(problem(CodeTooManyFields, path+".fields",
			T(fmt.Sprintf("%d полей, amoCRM принимает не больше %d для одной сущности", len(seen), MaxFieldsPerEntity),
				fmt.Sprintf("%d fields, amoCRM accepts at most %d per entity", len(seen), MaxFieldsPerEntity)),
			T("Уберите лишние поля или перенесите данные в примечание.", "Drop some fields or put the data into the note.")))
	}
}

func (fp *fieldPlan) key() string {
	if fp.id != 0 {
		return fmt.Sprint(fp.id)
	}
	return "code:" + strings.ToUpper(fp.code)
}

// predefinedType is the type of the predefined contact/company fields.
func predefinedType(code string) amocrm.FieldType {
	switch strings.ToUpper(code) {
	case amocrm.FieldCodePhone, amocrm.FieldCodeEmail, "IM":
		return amocrm.FieldTypeMultitext
	case amocrm.FieldCodeWeb:
		return amocrm.FieldTypeURL
	case amocrm.FieldCodePosition:
		return amocrm.FieldTypeText
	case amocrm.FieldCodeAddress:
		return amocrm.FieldTypeTextarea
	}
	return ""
}

func entityRU(e amocrm.EntityType) string {
	switch e {
	case amocrm.EntityContacts:
		return "контактов"
	case amocrm.EntityCompanies:
		return "компаний"
	}
	return "сделок"
}

// field compiles one field; a shorthand (contact.phone) is its own value.
func (c *compiler) field(path string, entity amocrm.EntityType, fs *FieldSpec, shorthand bool) *fieldPlan {
	fp := &fieldPlan{shorthand: shorthand, path: path, entity: entity, spec: fs, id: fs.ID, code: fs.Code, enum: fs.Enum, optional: fs.Optional, maxLen: fs.MaxLength}
	fp.name = fs.target()
	targets := 0
	for _, set := range []bool{fs.ID != 0, fs.Code != "", fs.Name != ""} {
		if set {
			targets++
		}
	}
	if targets != 1 || fs.ID < 0 {
		c.invalid(path, "укажите поле ровно одним способом: id, code или name", "give the field exactly one of id, code, name")
		return nil
	}
	if fs.MaxLength < 0 {
		c.invalid(path+".max_length", "max_length не может быть отрицательным", "max_length is negative")
	}
	if c.schema != nil {
		fields := c.schema.Fields(entity)
		f := findField(fields, fs.ID, fs.Code, fs.Name)
		if f == nil {
			p := problem(CodeFieldNotFound, path,
				T(fmt.Sprintf("поле %s не найдено среди полей %s в amoCRM", fs.target(), entityRU(entity)),
					fmt.Sprintf("field %s not found among the %s fields in amoCRM", fs.target(), entity)),
				T("Проверьте название поля в amoCRM (Настройки → Поля) или выберите существующее.",
					"Check the field name in amoCRM (Settings → Fields) or pick an existing one."))
			p.Suggestions = closest(strings.Trim(fs.target(), `"#`), fieldNames(fields), 3)
			c.add(p)
			return nil
		}
		fp.field, fp.id, fp.typ = f, f.ID, f.Type
		fp.name = fmt.Sprintf("%q", f.Name)
		if fs.Type != "" && fs.Type != f.Type {
			c.add(problem(CodeFieldTypeMismatch, path,
				T(fmt.Sprintf("в amoCRM поле %q имеет тип %s, а в сопоставлении указан %s", f.Name, f.Type, fs.Type),
					fmt.Sprintf("field %q is of type %s in amoCRM, the spec says %s", f.Name, f.Type, fs.Type)),
				T("Исправьте тип в сопоставлении (или уберите его: тип берётся из amoCRM).",
					"Fix the type in the spec (or leave it out: it is taken from amoCRM).")))
		}
		if f.IsComputed {
			c.add(problem(CodeFieldReadOnly, path,
				T(fmt.Sprintf("поле %q вычисляется amoCRM, записать в него нельзя", f.Name), fmt.Sprintf("field %q is computed by amoCRM and cannot be written", f.Name)),
				T("Уберите это поле из сопоставления.", "Remove this field from the spec.")))
		}
	} else {
		fp.typ = fs.Type
		if fp.typ == "" && fs.Code != "" {
			fp.typ = predefinedType(fs.Code)
		}
		switch {
		case fs.Name != "":
			c.add(problem(CodeNeedsSchema, path,
				T(fmt.Sprintf("поле %s указано по названию: нужна схема аккаунта, чтобы найти его id", fs.target()),
					fmt.Sprintf("field %s is given by name: a schema is needed to find its id", fs.target())),
				T("Компилируйте с WithSchema или укажите id поля.", "Compile WithSchema or give the field id.")))
			return nil
		case fp.typ == "":
			c.add(problem(CodeNeedsSchema, path,
				T(fmt.Sprintf("для поля %s не указан тип", fs.target()), fmt.Sprintf("field %s has no type", fs.target())),
				T("Укажите type (text, numeric, select, …) или компилируйте с WithSchema.", "Give type (text, numeric, select, …) or compile WithSchema.")))
			return nil
		}
	}
	if !fp.typ.Known() || !supportedType(fp.typ) {
		c.add(problem(CodeUnknownType, path,
			T(fmt.Sprintf("тип поля %q неизвестен, значение не может быть преобразовано", fp.typ),
				fmt.Sprintf("field type %q is unknown; the value cannot be converted", fp.typ)),
			T("Обновите Chatter или уберите это поле из сопоставления.", "Upgrade Chatter or remove this field from the spec.")))
		return nil
	}
	fp.when = c.cond(path+".when", fs.When)
	c.fieldValues(fp, fs)
	return fp
}

// fieldValues compiles the value sources and checks their shape against the type.
func (c *compiler) fieldValues(fp *fieldPlan, fs *FieldSpec) {
	path := fp.path
	set := 0
	if fs.Value != nil {
		set++
	}
	if len(fs.Values) > 0 {
		set++
	}
	if len(fs.Object) > 0 {
		set++
	}
	if len(fs.Objects) > 0 {
		set++
	}
	if set != 1 {
		c.invalid(path, "укажите ровно одно из: value, values, object, objects", "give exactly one of value, values, object, objects")
		return
	}
	keys, composite := objectKeys(fp.typ)
	switch {
	case fs.Value != nil:
		vpath := path + ".value"
		if fp.shorthand {
			vpath = path
		}
		fp.values = []*src{c.source(vpath, fs.Value)}
	case len(fs.Values) > 0:
		if !fp.typ.IsMultiple() {
			c.invalid(path+".values", fmt.Sprintf("поле типа %s принимает одно значение (value)", fp.typ),
				fmt.Sprintf("a %s field takes one value (value)", fp.typ))
			return
		}
		for i := range fs.Values {
			fp.values = append(fp.values, c.source(fmt.Sprintf("%s.values[%d]", path, i), &fs.Values[i]))
		}
	case len(fs.Object) > 0:
		if !composite {
			c.invalid(path+".object", fmt.Sprintf("поле типа %s не составное: используйте value", fp.typ),
				fmt.Sprintf("a %s field is not composite: use value", fp.typ))
			return
		}
		fp.object = c.objectParts(path+".object", fp.typ, keys, fs.Object)
	default:
		if !composite || !fp.typ.IsMultiple() {
			c.invalid(path+".objects", fmt.Sprintf("поле типа %s не принимает список объектов", fp.typ),
				fmt.Sprintf("a %s field does not take a list of objects", fp.typ))
			return
		}
		for i, o := range fs.Objects {
			fp.objects = append(fp.objects, c.objectParts(fmt.Sprintf("%s.objects[%d]", path, i), fp.typ, keys, o))
		}
	}
	if fp.typ == amocrm.FieldTypeMultitext {
		c.checkMultitextEnum(fp, fp.enum, path+".enum")
		for _, s := range fp.values {
			if s.enum != "" {
				c.checkMultitextEnum(fp, s.enum, s.path+".enum")
			}
		}
	} else if fs.Enum != "" {
		c.invalid(path+".enum", "enum задаётся только для полей multitext (телефон, email)", "enum is only for multitext fields (phone, email)")
	}
	if fp.field != nil && fp.typ.HasEnums() && fp.typ != amocrm.FieldTypeMultitext {
		for _, s := range fp.values {
			c.checkEnumConst(fp, s)
		}
	}
}

func (c *compiler) objectParts(path string, typ amocrm.FieldType, keys []string, obj map[string]Source) []objPart {
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]objPart, 0, len(obj))
	for _, k := range names {
		if !contains(keys, k) {
			p := problem(CodeSpecInvalid, path+"."+k,
				T(fmt.Sprintf("у поля типа %s нет части %q", typ, k), fmt.Sprintf("a %s field has no part %q", typ, k)),
				T("Допустимые части: "+strings.Join(keys, ", "), "Allowed parts: "+strings.Join(keys, ", ")))
			p.Suggestions = closest(k, keys, 3)
			c.add(p)
			continue
		}
		s := obj[k]
		parts = append(parts, objPart{key: k, src: c.source(path+"."+k, &s)})
	}
	return parts
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// knownEnumCodes are the multitext enum codes amoCRM documents.
func knownEnumCode(code string) bool {
	switch strings.ToUpper(code) {
	case amocrm.EnumCodeWork, amocrm.EnumCodeWorkDD, amocrm.EnumCodeMobile, amocrm.EnumCodeFax,
		amocrm.EnumCodeHome, amocrm.EnumCodeOther, amocrm.EnumCodePriv:
		return true
	}
	return false
}

func (c *compiler) checkMultitextEnum(fp *fieldPlan, code, path string) {
	if code == "" {
		return
	}
	if fp.field != nil && len(fp.field.Enums) > 0 {
		if fp.field.EnumByValue(code) == nil {
			c.enumProblem(fp, path, code)
		}
		return
	}
	if !knownEnumCode(code) {
		c.enumProblem(fp, path, code)
	}
}

func enumNames(f *amocrm.CustomField) []string {
	var out []string
	if f == nil {
		return []string{amocrm.EnumCodeWork, amocrm.EnumCodeWorkDD, amocrm.EnumCodeMobile, amocrm.EnumCodeFax,
			amocrm.EnumCodeHome, amocrm.EnumCodeOther, amocrm.EnumCodePriv}
	}
	for _, e := range f.Enums {
		out = append(out, e.Value)
	}
	for _, n := range f.Nested {
		out = append(out, n.Value)
	}
	return out
}

func (c *compiler) enumProblem(fp *fieldPlan, path, v string) {
	names := enumNames(fp.field)
	list := optionList(names)
	p := problem(CodeEnumNotFound, path,
		T(fmt.Sprintf("в поле %s нет варианта %q; варианты: %s", fp.name, v, list),
			fmt.Sprintf("field %s has no option %q; the options are: %s", fp.name, v, list)),
		T("Выберите существующий вариант или добавьте его в поле в amoCRM.", "Pick an existing option or add it to the field in amoCRM."))
	p.Suggestions = closest(v, names, 3)
	c.add(p)
}

// maxListedOptions bounds the options an enum problem lists.
const maxListedOptions = 30

// optionList quotes the options of a field for a message.
func optionList(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i == maxListedOptions {
			fmt.Fprintf(&b, ", … (+%d)", len(names)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(n))
	}
	return b.String()
}

// checkConsts converts the constant values of a field (and the values of
// the lookup tables it uses) the way Apply will, so that a constant that
// does not fit the field type ("abc" for a number, a bad date, a bad
// phone) fails Compile instead of every Apply. Options of select-like
// fields with a schema are checked by checkEnumConst, with the options
// listed.
func (c *compiler) checkConsts(fp *fieldPlan) {
	if fp.conv == convUnknown || fp.composite || (fp.conv == convEnum && fp.field != nil) {
		return
	}
	a := &applier{m: c.m, dry: true, res: &Result{}}
	check := func(s *src, v value, path string) {
		if v.isEmpty() {
			return
		}
		if _, e := a.convertScalar(fp, s, v, nil); e != nil {
			c.add(problem(e.code, path, e.msg,
				T("Исправьте константу: значение должно подходить к типу поля.", "Fix the constant: the value must fit the field type.")))
		}
	}
	for _, s := range fp.values {
		if !s.isPath && s.tmpl == nil && s.table == nil {
			check(s, s.cnst, s.path)
		}
		if s.table != nil {
			keys := make([]string, 0, len(s.table.exact))
			for k := range s.table.exact {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				check(s, s.table.exact[k], "lookups."+s.table.name+"."+k)
			}
			if s.table.fallback != nil {
				check(s, *s.table.fallback, "lookups."+s.table.name+".*")
			}
		}
	}
}

// checkEnumConst checks constant options and lookup-table results of a
// select-like field against its enums.
func (c *compiler) checkEnumConst(fp *fieldPlan, s *src) {
	check := func(v value, path string) {
		if v.k == kNull {
			return
		}
		if _, ok := resolveEnum(fp.field, v); !ok {
			c.enumProblem(fp, path, v.text())
		}
	}
	if !s.isPath && s.tmpl == nil && s.table == nil {
		check(s.cnst, s.path)
	}
	if s.table != nil {
		keys := make([]string, 0, len(s.table.exact))
		for k := range s.table.exact {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			check(s.table.exact[k], "lookups."+s.table.name+"."+k)
		}
		if s.table.fallback != nil {
			check(*s.table.fallback, "lookups."+s.table.name+".*")
		}
	}
}

// resolveEnum finds the enum id for v: a number is an enum id, text is an
// enum value (case-insensitive); nested (category) values count too.
func resolveEnum(f *amocrm.CustomField, v value) (int, bool) {
	if v.k == kNumber {
		id := int(v.f)
		if float64(id) != v.f {
			return 0, false
		}
		if f.EnumByID(id) != nil {
			return id, true
		}
		for _, n := range f.Nested {
			if n.ID == id {
				return id, true
			}
		}
		return 0, false
	}
	s := strings.TrimSpace(v.text())
	if e := f.EnumByValue(s); e != nil {
		return e.ID, true
	}
	for _, n := range f.Nested {
		if strings.EqualFold(n.Value, s) {
			return n.ID, true
		}
	}
	return 0, false
}

// ---- routing ----

func (c *compiler) routes(path string, rs Routes, what string) routePlan {
	rp := routePlan{path: path}
	for i, r := range rs {
		rpath := fmt.Sprintf("%s[%d]", path, i)
		rule := rulePlan{path: rpath, when: c.cond(rpath+".when", r.When)}
		if len(r.RoundRobin) > 0 {
			if what != "user" {
				c.invalid(rpath+".round_robin", "round_robin бывает только у ответственного", "round_robin is only for the responsible user")
			}
			if !r.Ref.IsZero() {
				c.invalid(rpath, "укажите либо пользователя, либо round_robin", "give either a user or round_robin")
			}
			for j, ref := range r.RoundRobin {
				if id := c.resolveRef(fmt.Sprintf("%s.round_robin[%d]", rpath, j), ref, what, &rule); id != 0 {
					rule.rr = append(rule.rr, id)
				}
			}
			rule.next = new(atomic.Uint64)
		} else if r.Ref.IsZero() {
			c.invalid(rpath, "не указано, куда направлять (id или name)", "no target (id or name)")
			continue
		} else {
			rule.id = c.resolveRef(rpath, r.Ref, what, &rule)
		}
		if what == "pipeline" && rule.id != 0 {
			c.pipelineIDs = append(c.pipelineIDs, rule.id)
		}
		rp.rules = append(rp.rules, rule)
	}
	if c.schema != nil && what == "pipeline" && (len(rp.rules) == 0 || rp.rules[len(rp.rules)-1].when != nil) {
		if mp := c.schema.mainPipeline(); mp != nil { // no match → amoCRM uses the main pipeline
			c.pipelineIDs = append(c.pipelineIDs, mp.ID)
		}
	}
	return rp
}

func (c *compiler) resolveRef(path string, ref Ref, what string, rule *rulePlan) int {
	if ref.Email != "" && what != "user" {
		c.invalid(path, "email указывается только для пользователя", "email is only for users")
		return 0
	}
	if c.schema == nil {
		if ref.ID == 0 {
			c.add(problem(CodeNeedsSchema, path,
				T(fmt.Sprintf("%s указан(а) по имени %s: нужна схема аккаунта", whatRU(what), ref), fmt.Sprintf("%s %s is given by name: a schema is needed", what, ref)),
				T("Компилируйте с WithSchema или укажите id.", "Compile WithSchema or give the id.")))
		}
		return ref.ID
	}
	switch what {
	case "pipeline":
		p := c.schema.pipeline(ref)
		if p == nil || p.IsArchive {
			names := make([]string, 0, len(c.schema.Pipelines))
			for _, p := range c.schema.Pipelines {
				if !p.IsArchive {
					names = append(names, p.Name)
				}
			}
			c.notFound(CodePipelineNotFound, path, "воронка", "pipeline", ref, names)
			return 0
		}
		return p.ID
	case "status":
		pids := c.pipelineIDs
		if len(pids) == 0 {
			if mp := c.schema.mainPipeline(); mp != nil {
				pids = []int{mp.ID}
			}
		}
		rule.byPipeline = map[int]int{}
		var missing, names []string
		for _, pid := range pids {
			p := c.schema.pipeline(Ref{ID: pid})
			if p == nil {
				continue
			}
			st := findStatus(p, ref)
			if st == nil {
				missing = append(missing, p.Name)
				for _, s := range p.Statuses() {
					if s != nil {
						names = append(names, s.Name)
					}
				}
				continue
			}
			rule.byPipeline[pid] = st.ID
			if rule.home == 0 {
				rule.home = pid
			}
		}
		if mp := c.schema.mainPipeline(); mp != nil {
			if _, ok := rule.byPipeline[mp.ID]; ok {
				rule.home = mp.ID
			}
		}
		if len(missing) > 0 {
			sev := SeverityError
			if len(rule.byPipeline) > 0 {
				sev = SeverityWarning // reachable in some pipelines; Apply fails for the others
			}
			p := problem(CodeStatusNotFound, path,
				T(fmt.Sprintf("этап %s не найден в воронке %s", ref, strings.Join(missing, ", ")),
					fmt.Sprintf("status %s not found in pipeline %s", ref, strings.Join(missing, ", "))),
				T("Выберите существующий этап воронки.", "Pick an existing status of the pipeline."))
			p.Severity = sev
			p.Suggestions = closest(ref.Name, names, 3)
			c.add(p)
		}
		if len(rule.byPipeline) == 0 {
			return 0
		}
		return rule.byPipeline[rule.home]
	default:
		u := c.schema.user(ref)
		if u == nil || !userActive(u) {
			names := make([]string, 0, len(c.schema.Users))
			for _, u := range c.schema.Users {
				if userActive(&u) {
					names = append(names, u.Name)
					if u.Email != "" {
						names = append(names, u.Email)
					}
				}
			}
			if u != nil {
				p := problem(CodeUserNotFound, path,
					T(fmt.Sprintf("пользователь %s отключён в amoCRM", ref), fmt.Sprintf("user %s is deactivated in amoCRM", ref)),
					T("Выберите активного пользователя или включите этого в amoCRM.", "Pick an active user or activate this one in amoCRM."))
				p.Suggestions = closest(ref.Name+ref.Email, names, 3)
				c.add(p)
				return 0
			}
			c.notFound(CodeUserNotFound, path, "пользователь", "user", ref, names)
			return 0
		}
		return u.ID
	}
}

func whatRU(what string) string {
	switch what {
	case "pipeline":
		return "воронка"
	case "status":
		return "этап"
	}
	return "пользователь"
}

func (c *compiler) notFound(code Code, path, ru, en string, ref Ref, names []string) {
	p := problem(code, path,
		T(fmt.Sprintf("%s %s не найден(а) в amoCRM", ru, ref), fmt.Sprintf("%s %s not found in amoCRM", en, ref)),
		T("Выберите существующее значение или обновите схему аккаунта.", "Pick an existing one or refresh the account schema."))
	name := ref.Name
	if name == "" {
		name = ref.Email
	}
	p.Suggestions = closest(name, names, 3)
	c.add(p)
}

// checkRequired reports fields required in the statuses the lead can land
// in (and fields required everywhere) that the spec does not fill.
func (c *compiler) checkRequired() {
	type pair struct{ p, s int }
	var pairs []pair
	for _, r := range c.m.status.rules {
		for p, s := range r.byPipeline {
			pairs = append(pairs, pair{p, s})
		}
	}
	if len(c.m.status.rules) == 0 || c.m.status.rules[len(c.m.status.rules)-1].when != nil {
		for _, pid := range c.pipelineIDs { // default: the first ordinary stage
			if p := c.schema.pipeline(Ref{ID: pid}); p != nil {
				if st := firstStatus(p); st != nil {
					pairs = append(pairs, pair{pid, st.ID})
				}
			}
		}
	}
	check := func(ep *entityPlan, fields []amocrm.CustomField) {
		if ep == nil {
			return
		}
		for i := range fields {
			f := &fields[i]
			var whereRU, whereEN string
			if f.IsRequired {
				whereRU, whereEN = "всегда", "always"
			}
			for _, pr := range pairs {
				if f.RequiredIn(pr.p, pr.s) {
					whereRU = c.statusName(pr.p, pr.s)
					whereEN = whereRU
					break
				}
			}
			if whereRU == "" {
				continue
			}
			mapped, sure := false, false
			for _, fp := range ep.fields {
				if fp.id == f.ID {
					mapped = true
					if !fp.optional && fp.when == nil {
						sure = true
					}
				}
			}
			switch {
			case !mapped:
				c.add(problem(CodeRequiredMissing, ep.path+".fields",
					T(fmt.Sprintf("поле %q обязательно (%s), но не заполняется", f.Name, whereRU),
						fmt.Sprintf("field %q is required (%s) but is not mapped", f.Name, whereEN)),
					T("Добавьте это поле в сопоставление или снимите обязательность в amoCRM.",
						"Map this field or make it optional in amoCRM.")))
			case !sure:
				c.add(warning(CodeRequiredOptional, ep.path+".fields",
					T(fmt.Sprintf("поле %q обязательно (%s), но может остаться пустым (optional/when)", f.Name, whereRU),
						fmt.Sprintf("field %q is required (%s) but may be left empty (optional/when)", f.Name, whereEN)),
					T("Сделайте значение безусловным или задайте default.", "Make the value unconditional or give a default.")))
			}
		}
	}
	check(&c.m.lead, c.schema.LeadFields)
	check(c.m.contact, c.schema.ContactFields)
	check(c.m.company, c.schema.CompanyFields)
}

func firstStatus(p *amocrm.Pipeline) *amocrm.Status {
	var best *amocrm.Status
	for _, s := range p.Statuses() {
		if s == nil || s.Type == 1 || s.ID == amocrm.StatusWon || s.ID == amocrm.StatusLost {
			continue
		}
		if best == nil || s.Sort < best.Sort {
			best = s
		}
	}
	return best
}

func (c *compiler) statusName(pid, sid int) string {
	p := c.schema.pipeline(Ref{ID: pid})
	if p == nil {
		return fmt.Sprintf("#%d/#%d", pid, sid)
	}
	if st := findStatus(p, Ref{ID: sid}); st != nil {
		return p.Name + " → " + st.Name
	}
	return fmt.Sprintf("%s → #%d", p.Name, sid)
}
