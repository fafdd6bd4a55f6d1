package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/fieldmap"
)

// The mapping page (/mapping?ws=…) edits a workspace's field mapping as
// text. The settings keep the spec itself (config.Mapping.Inline, stored
// as JSON); the YAML the operator wrote, comments and order included, is
// kept beside it in the store (setting mappingTextKey) with the hash of
// the spec it parsed to, and shown while the running spec is still that
// one. Otherwise (the configuration file changed it, or it was never
// saved here) the editor shows the mapping file when it still holds the
// running spec, else the spec written out as YAML.
//
// Every button posts the editor's text: "Проверить" parses it and compiles
// it against the account's live schema (fetched again), listing each
// problem at its line; "Предпросмотр" maps a sample or a stored message;
// "Сохранить" applies it through app.UpdateWorkspace, refused while it
// does not compile against the schema; "Создать тестовую сделку" creates
// one real lead marked as a test (fieldmap.SendTestLead) and shows what
// amoCRM stored.

// mappingTextKey is the setting holding the editor's saved text.
const mappingTextKey = "web/mapping/text"

// mappingStored is the saved text of a workspace's mapping.
type mappingStored struct {
	Text     string    `json:"text"`
	SpecHash string    `json:"spec_sha256"`
	By       string    `json:"by,omitempty"`
	At       time.Time `json:"at,omitzero"`
}

// mappingSpecHash identifies a spec by its JSON form (the form the
// settings keep it in).
func mappingSpecHash(spec *fieldmap.Spec) string {
	b, err := json.Marshal(spec)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// mappingPage is the mapping editor of one workspace.
type mappingPage struct {
	WS         string
	Name       string
	Workspaces []string
	// Origin is where the text first shown came from: saved (here),
	// file (the mapping file) or generated (from the running spec).
	Origin  string
	File    string
	SavedBy string
	SavedAt time.Time

	SchemaAt  time.Time
	SchemaErr chatter.Text

	// Action is the button that produced the page (check, preview,
	// save, test), "" for the page itself.
	Action   string
	Errors   int
	Warnings int
	Problems []mappingProblem
	Listing  []mappingLine
	Recent   []mappingOption
	Preview  *mappingPreview
	Test     *mappingTest
}

// mappingProblem is a problem of the editor's text, at its line (0:
// unknown).
type mappingProblem struct {
	Line        int
	Path        string
	Code        string
	Warning     bool
	Message     chatter.Text
	Remedy      chatter.Text
	Suggestions []string
}

// mappingProblemView is a problem with the page's view, for the
// "mapping-problem" template.
type mappingProblemView struct {
	V *view
	P mappingProblem
}

// MappingProblem pairs a problem with the view for the "mapping-problem"
// template.
func (v *view) MappingProblem(p mappingProblem) mappingProblemView {
	return mappingProblemView{V: v, P: p}
}

// mappingOption is a stored message offered for the preview.
type mappingOption struct {
	Value, Label string
}

// mappingBuild is what the editor's text became: the spec, and the mapper
// compiled against the live schema, or the problems.
type mappingBuild struct {
	Text      string
	Spec      *fieldmap.Spec
	Mapper    *fieldmap.Mapper
	Schema    *fieldmap.Schema
	SchemaErr chatter.Text
	Problems  []mappingProblem
	idx       *mappingIndex
}

// ok reports whether the text compiled against the schema.
func (b *mappingBuild) ok() bool { return b.Mapper != nil }

// mappingBuildText parses text and compiles it against the live schema;
// fresh fetches the schema again (the editor's checks want today's
// fields), else the cached one is used.
func (s *server) mappingBuildText(ctx context.Context, rt *app.Runtime, text string, fresh bool) *mappingBuild {
	b := &mappingBuild{Text: text, idx: newMappingIndex(text)}
	if len(text) > fieldmap.MaxSpecBytes || !utf8.ValidString(text) {
		b.Problems = append(b.Problems, mappingProblem{Code: string(fieldmap.CodeSpecSyntax),
			Message: s.mappingT("mapping.too_large", fieldmap.MaxSpecBytes/1024)})
		return b
	}
	spec, err := fieldmap.ParseSpec([]byte(text), fieldmap.FormatAuto)
	if err != nil {
		b.addProblems(s, err)
		return b
	}
	b.Spec = spec
	if fresh {
		rt.Schema.Invalidate()
	}
	ctx, cancel := context.WithTimeout(ctx, amoTimeout)
	defer cancel()
	schema, _, err := rt.Schema.Get(ctx)
	if err != nil {
		b.SchemaErr = amoExplain(err)
		// Still report what needs no schema.
		if _, err := fieldmap.Compile(spec, fieldmap.WithRecordSchema(amocrmsink.MessageRecordSchema())); err != nil {
			for _, p := range fieldmap.ProblemsOf(err) {
				if p.Code != fieldmap.CodeNeedsSchema {
					b.Problems = append(b.Problems, b.problem(s, p))
				}
			}
		}
		return b
	}
	b.Schema = schema
	m, err := fieldmap.Compile(spec, fieldmap.WithSchema(schema), fieldmap.WithRecordSchema(amocrmsink.MessageRecordSchema()))
	if err != nil {
		b.addProblems(s, err)
		return b
	}
	b.Mapper = m
	for _, p := range m.Warnings() {
		b.Problems = append(b.Problems, b.problem(s, p))
	}
	return b
}

// addProblems records the problems of a fieldmap error.
func (b *mappingBuild) addProblems(s *server, err error) {
	ps := fieldmap.ProblemsOf(err)
	if len(ps) == 0 {
		b.Problems = append(b.Problems, mappingProblem{Message: chatter.T(err.Error(), err.Error())})
		return
	}
	for _, p := range ps {
		b.Problems = append(b.Problems, b.problem(s, p))
	}
}

// problem places a fieldmap problem at its line; a syntax problem's text
// is made readable.
func (b *mappingBuild) problem(s *server, p fieldmap.Problem) mappingProblem {
	mp := mappingProblem{Path: p.Path, Code: string(p.Code), Warning: p.Severity == fieldmap.SeverityWarning,
		Message: chatter.Text(p.Message), Remedy: chatter.Text(p.Remedy), Suggestions: p.Suggestions}
	if p.Code == fieldmap.CodeSpecSyntax {
		mp.Line = b.idx.syntaxLine(p.Message.EN)
		mp.Message = s.mappingSyntaxText(p.Message.EN)
		return mp
	}
	mp.Line = b.idx.line(p.Path)
	return mp
}

// mappingSyntaxHints explain the commonest YAML and spec errors.
var mappingSyntaxHints = []struct{ fragment, key string }{
	{"mapping values are not allowed", "mapping.yaml.colon"},
	{"did not find expected key", "mapping.yaml.indent"},
	{"did not find expected '-' indicator", "mapping.yaml.dash"},
	{"could not find expected ':'", "mapping.yaml.no_colon"},
	{"found character that cannot start any token", "mapping.yaml.char"},
	{"found unexpected end of stream", "mapping.yaml.eof"},
	{"found undefined tag handle", "mapping.yaml.tag"},
	{"did not find expected node content", "mapping.yaml.node"},
	{"unknown field", "mapping.yaml.unknown"},
	{"cannot unmarshal", "mapping.yaml.shape"},
	{"spec is empty", "mapping.yaml.empty"},
	{"a value needs exactly one of", "mapping.yaml.source"},
	{"a value cannot be a list", "mapping.yaml.list"},
}

// mappingSyntaxText turns ParseSpec's message ("spec error: yaml: line 3:
// …") into a text in both languages, without the line (shown apart).
func (s *server) mappingSyntaxText(en string) chatter.Text {
	msg := strings.TrimPrefix(en, "spec error: ")
	msg = mappingYAMLLineRE.ReplaceAllString(msg, "")
	msg = strings.TrimPrefix(msg, "yaml: ")
	for _, h := range mappingSyntaxHints {
		if !strings.Contains(msg, h.fragment) {
			continue
		}
		if m := mappingUnknownRE.FindStringSubmatch(msg); m != nil && h.key == "mapping.yaml.unknown" {
			return s.mappingT(h.key, m[1])
		}
		t := s.mappingT(h.key)
		return chatter.T(t.RU+" ("+msg+")", t.EN+" ("+msg+")")
	}
	return chatter.T("ошибка в описании сопоставления: "+msg, "spec error: "+msg)
}

// mappingT is a catalog text in both languages.
func (s *server) mappingT(key string, args ...any) chatter.Text {
	return chatter.T(s.i18n.T(auth.LangRU, key, args...), s.i18n.T(auth.LangEN, key, args...))
}

// mappingConfigProblems places the problems of a settings change; it
// reports whether err held any.
func (b *mappingBuild) configProblems(c *config.Config, id string, err error) bool {
	var ps config.Problems
	if !errors.As(err, &ps) {
		return false
	}
	prefix := ""
	for i := range c.Workspaces {
		if c.Workspaces[i].ID == id {
			prefix = fmt.Sprintf("workspaces[%d].mapping.inline", i)
		}
	}
	for _, p := range ps.Errors() {
		mp := mappingProblem{Message: p.Message, Path: p.Path}
		if rest, ok := strings.CutPrefix(p.Path, prefix); ok && prefix != "" {
			mp.Path = strings.TrimPrefix(rest, ".")
			mp.Line = b.idx.line(mp.Path)
		}
		b.Problems = append(b.Problems, mp)
	}
	return len(ps.Errors()) > 0
}

// mappingText is the text the editor starts with for the running spec.
func (s *server) mappingText(ctx context.Context, rt *app.Runtime, p *mappingPage) string {
	m := rt.Config.Mapping
	if m.Inline == nil {
		p.Origin = "generated"
		return ""
	}
	hash := mappingSpecHash(m.Inline)
	if st, err := s.app.Store().GetSetting(ctx, rt.ID, mappingTextKey); err == nil {
		var saved mappingStored
		if json.Unmarshal(st.Value, &saved) == nil && saved.SpecHash == hash {
			p.Origin, p.SavedBy, p.SavedAt = "saved", saved.By, saved.At
			return saved.Text
		}
	} else if !errors.Is(err, chatter.ErrNotFound) {
		s.log.Warn("web: mapping text not read", "workspace", rt.ID, "err", err.Error())
	}
	if m.File != "" {
		if data, err := os.ReadFile(m.File); err == nil && len(data) <= fieldmap.MaxSpecBytes {
			if spec, err := fieldmap.ParseSpec(data, fieldmap.FormatAuto); err == nil && mappingSpecHash(spec) == hash {
				p.Origin, p.File = "file", m.File
				return string(data)
			}
		}
	}
	p.Origin = "generated"
	text, err := mappingToYAML(m.Inline)
	if err != nil {
		s.log.Warn("web: mapping as YAML", "workspace", rt.ID, "err", err.Error())
	}
	return text
}

// mappingSaveText keeps the editor's text for the spec it parsed to.
func (s *server) mappingSaveText(ctx context.Context, ws string, st mappingStored) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	for range 5 {
		var version int64
		if cur, err := s.app.Store().GetSetting(ctx, ws, mappingTextKey); err == nil {
			version = cur.Version
		} else if !errors.Is(err, chatter.ErrNotFound) {
			return err
		}
		_, err := s.app.Store().PutSetting(ctx, ws, mappingTextKey, b, version)
		if !errors.Is(err, chatter.ErrConflict) {
			return err
		}
	}
	return chatter.ErrConflict
}

// renderMapping renders the editor with the text of f (or the running
// spec's) and what a button produced.
func (s *server) renderMapping(w http.ResponseWriter, r *http.Request, status int, rt *app.Runtime, f *form, b *mappingBuild, p *mappingPage) {
	v := s.newView(r)
	v.Path = "/mapping?ws=" + url.QueryEscape(rt.ID)
	if p == nil {
		p = &mappingPage{}
	}
	p.WS, p.Name, p.Workspaces = rt.ID, cmpOr(rt.Config.Name, rt.ID), s.visibleWorkspaces(r)
	if f != nil {
		v.Form = f
	} else {
		v.Form.Values.Set("spec", s.mappingText(r.Context(), rt, p))
		v.Form.Values.Set("record", "bot")
	}
	if b != nil {
		p.Problems = b.Problems
		p.SchemaErr = b.SchemaErr
		if b.Schema != nil {
			p.SchemaAt = b.Schema.FetchedAt
		}
		bad := map[int]bool{}
		for _, pr := range p.Problems {
			if pr.Warning {
				p.Warnings++
			} else {
				p.Errors++
			}
			if pr.Line > 0 {
				bad[pr.Line] = true
			}
		}
		if len(bad) > 0 {
			p.Listing = mappingListing(b.Text, bad)
		}
		slices.SortStableFunc(p.Problems, func(x, y mappingProblem) int { return mappingLineOrder(x.Line) - mappingLineOrder(y.Line) })
		if p.Errors > 0 {
			v.Form.fail("spec", s.mappingProblemsSummary(p.Errors))
		}
	}
	if p.SchemaAt.IsZero() {
		if sc := rt.Schema.Cached(); sc != nil {
			p.SchemaAt = sc.FetchedAt
		}
	}
	p.Recent = s.mappingRecent(r.Context(), rt.ID)
	v.Data = p
	s.render(w, r, status, "mapping", v)
}

// mappingLineOrder sorts problems by line, those without one last.
func mappingLineOrder(l int) int {
	if l == 0 {
		return 1 << 30
	}
	return l
}

func (s *server) mappingProblemsSummary(n int) chatter.Text {
	return chatter.T(s.i18n.N(auth.LangRU, "mapping.errors", n), s.i18n.N(auth.LangEN, "mapping.errors", n))
}

// mappingRecent lists the workspace's latest stored messages for the
// preview.
func (s *server) mappingRecent(ctx context.Context, ws string) []mappingOption {
	es, err := s.app.Store().ListEntries(ctx, chatter.LedgerQuery{Workspace: ws, Limit: 20, WithMessage: true})
	if err != nil {
		s.log.Warn("web: mapping: ledger not read", "workspace", ws, "err", err.Error())
		return nil
	}
	var out []mappingOption
	for _, e := range es {
		if e.Message == nil {
			continue
		}
		m := e.Message
		label := m.Time.In(s.loc).Format("02.01 15:04") + " · " + cmpOr(m.Sender.Name(), strconv.FormatInt(m.Sender.ID, 10))
		if t := strings.Join(strings.Fields(m.Text), " "); t != "" {
			label += " · " + clipRunes(t, 60)
		}
		out = append(out, mappingOption{Value: "key:" + e.Key.String(), Label: label})
	}
	return out
}

// clipRunes cuts s to n characters with an ellipsis.
func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// mappingSampleSender is the sample's person: 777000 is Telegram's own
// service account, which never writes to bots or groups, so a test
// contact carrying it is never taken for a real person's.
var mappingSampleSender = chatter.Sender{ID: 777000, Username: "chatter_sample", FirstName: "Тест", LastName: "Образцов", Language: "ru"}

// mappingSample is a built-in realistic message: one written to the bot
// (private chat) or one posted in a group.
func mappingSample(kind, ws string, now time.Time) *chatter.Message {
	now = now.Truncate(time.Second)
	if kind == "group" {
		return &chatter.Message{Workspace: ws,
			Key:    chatter.Key{Source: chatter.SourceParser, Account: "sample-account", ChatID: -1001234567890, MessageID: 4217},
			Chat:   chatter.Chat{ID: -1001234567890, Type: chatter.ChatSupergroup, Title: "Оптовики Москвы", Username: "optoviki_msk_sample"},
			Sender: mappingSampleSender,
			Text:   "Ищу поставщика упаковки оптом, срочно: 5000 коробок в месяц, доставка в Москву. Бюджет 120 000 ₽. Звоните: 8 (999) 000-00-01",
			Time:   now, Link: "https://t.me/optoviki_msk_sample/4217"}
	}
	return &chatter.Message{Workspace: ws,
		Key:    chatter.Key{Source: chatter.SourceBot, Account: "7000000001", ChatID: mappingSampleSender.ID, MessageID: 1},
		Chat:   chatter.Chat{ID: mappingSampleSender.ID, Type: chatter.ChatPrivate},
		Sender: mappingSampleSender,
		Text:   "Здравствуйте! Нужна доставка 20 коробок в Москву до пятницы, бюджет до 50 000 ₽. Телефон для связи +7 999 000-00-00",
		Time:   now}
}

// mappingRecordOf is the record the form asks for: a sample (record=bot
// or group) or a stored message (a key typed in, or record=key:…). A bad
// or unknown key is a problem of field key.
func (s *server) mappingRecordOf(ctx context.Context, rt *app.Runtime, f *form) (*chatter.Message, chatter.Text, bool) {
	choice := f.Values.Get("record")
	key := strings.TrimSpace(f.Values.Get("key"))
	if key == "" {
		key = strings.TrimPrefix(choice, "key:")
		if key == choice {
			key = ""
		}
	}
	if key == "" {
		if choice != "group" {
			choice = "bot"
		}
		return mappingSample(choice, rt.ID, s.now()), s.mappingT("mapping.sample." + choice), true
	}
	k, err := chatter.ParseKey(key)
	if err != nil {
		f.failKey(s.i18n, "key", "mapping.bad_key")
		return nil, chatter.Text{}, false
	}
	e, err := s.app.Store().GetEntry(ctx, rt.ID, k)
	if errors.Is(err, chatter.ErrNotFound) || err == nil && e.Message == nil {
		f.failKey(s.i18n, "key", "mapping.no_entry", key)
		return nil, chatter.Text{}, false
	}
	if err != nil {
		f.fail("key", chatter.T("журнал доставки не прочитан: "+err.Error(), "the delivery log was not read: "+err.Error()))
		return nil, chatter.Text{}, false
	}
	return e.Message, chatter.T("сообщение "+key, "message "+key), true
}

// mappingPreview is what a record maps to.
type mappingPreview struct {
	Record   chatter.Text
	Entities []mappingEntity
	Note     string
	NoteType string
	Warnings []mappingProblem
	Problems []mappingProblem
}

// mappingEntity is a mapped lead, contact or company.
type mappingEntity struct {
	Kind   string // leads, contacts, companies: its catalog key mapping.entity.<kind>
	Attrs  []mappingAttr
	Tags   []string
	Fields []mappingField
}

// mappingAttr is one of an entity's own attributes (name, price, …).
type mappingAttr struct{ Key, Value string }

// mappingField is one custom field value: name, type and value.
type mappingField struct{ Name, Type, Value string }

// mappingEntities describes a mapping result with the schema's names for
// ids.
func mappingEntities(res *fieldmap.Result, sc *fieldmap.Schema, loc *time.Location) []mappingEntity {
	var out []mappingEntity
	if l := res.Lead.Lead; l != nil {
		e := mappingEntity{Kind: string(amocrm.EntityLeads)}
		e.attr("mapping.attr.name", l.Name)
		if l.Price != 0 {
			e.attr("mapping.attr.price", strconv.Itoa(l.Price))
		}
		e.attr("mapping.attr.pipeline", mappingPipelineName(sc, l.PipelineID))
		e.attr("mapping.attr.status", mappingStatusName(sc, l.PipelineID, l.StatusID))
		e.attr("mapping.attr.responsible", mappingUserName(sc, l.ResponsibleUserID))
		for _, t := range res.Lead.Tags {
			e.Tags = append(e.Tags, t.Name)
		}
		e.Fields = mappingFields(l.CustomFieldsValues, sc.Fields(amocrm.EntityLeads), loc)
		out = append(out, e)
	}
	if c := res.Lead.Contact; c != nil {
		e := mappingEntity{Kind: string(amocrm.EntityContacts)}
		e.attr("mapping.attr.name", c.Name)
		e.attr("mapping.attr.first_name", c.FirstName)
		e.attr("mapping.attr.last_name", c.LastName)
		e.attr("mapping.attr.responsible", mappingUserName(sc, c.ResponsibleUserID))
		if c.Embedded != nil {
			for _, t := range c.Embedded.Tags {
				e.Tags = append(e.Tags, t.Name)
			}
		}
		e.Fields = mappingFields(c.CustomFieldsValues, sc.Fields(amocrm.EntityContacts), loc)
		out = append(out, e)
	}
	if co := res.Lead.Company; co != nil {
		e := mappingEntity{Kind: string(amocrm.EntityCompanies)}
		e.attr("mapping.attr.name", co.Name)
		e.attr("mapping.attr.responsible", mappingUserName(sc, co.ResponsibleUserID))
		if co.Embedded != nil {
			for _, t := range co.Embedded.Tags {
				e.Tags = append(e.Tags, t.Name)
			}
		}
		e.Fields = mappingFields(co.CustomFieldsValues, sc.Fields(amocrm.EntityCompanies), loc)
		out = append(out, e)
	}
	return out
}

func (e *mappingEntity) attr(key, value string) {
	if value != "" {
		e.Attrs = append(e.Attrs, mappingAttr{key, value})
	}
}

func mappingPipelineName(sc *fieldmap.Schema, id int) string {
	if id == 0 {
		return ""
	}
	if sc != nil {
		for _, p := range sc.Pipelines {
			if p.ID == id {
				return p.Name + " (#" + strconv.Itoa(id) + ")"
			}
		}
	}
	return "#" + strconv.Itoa(id)
}

func mappingStatusName(sc *fieldmap.Schema, pipeline, id int) string {
	if id == 0 {
		return ""
	}
	if sc != nil {
		for _, p := range sc.Pipelines {
			if pipeline != 0 && p.ID != pipeline {
				continue
			}
			for _, st := range p.Statuses() {
				if st.ID == id {
					return st.Name + " (#" + strconv.Itoa(id) + ")"
				}
			}
		}
	}
	return "#" + strconv.Itoa(id)
}

func mappingUserName(sc *fieldmap.Schema, id int) string {
	if id == 0 {
		return ""
	}
	if sc != nil {
		for _, u := range sc.Users {
			if u.ID == id {
				return u.Name + " (#" + strconv.Itoa(id) + ")"
			}
		}
	}
	return "#" + strconv.Itoa(id)
}

// mappingFields describes custom field values: the field's name (and id
// or code), its type, and each value (an option's text for an enum id, a
// date for a timestamp).
func mappingFields(cfv amocrm.CustomFieldsValues, schema []amocrm.CustomField, loc *time.Location) []mappingField {
	var out []mappingField
	for _, cv := range cfv {
		var def *amocrm.CustomField
		for i := range schema {
			if cv.FieldID != 0 && schema[i].ID == cv.FieldID || cv.FieldID == 0 && cv.FieldCode != "" && strings.EqualFold(schema[i].Code, cv.FieldCode) {
				def = &schema[i]
				break
			}
		}
		name := mappingFieldLabel(cv, def)
		typ := string(cv.FieldType)
		if typ == "" && def != nil {
			typ = string(def.Type)
		}
		var vals []string
		for _, v := range cv.Values {
			vals = append(vals, mappingValueText(v, cv.FieldType, def, loc))
		}
		out = append(out, mappingField{Name: name, Type: typ, Value: strings.Join(vals, "; ")})
	}
	return out
}

// mappingFieldLabel is "Бюджет (#700003)", "Телефон (PHONE)" or "#700003".
func mappingFieldLabel(cv amocrm.CustomFieldValues, def *amocrm.CustomField) string {
	name := cv.FieldName
	if name == "" && def != nil {
		name = def.Name
	}
	ref := cv.FieldCode
	if cv.FieldID != 0 {
		ref = "#" + strconv.Itoa(cv.FieldID)
	}
	if name == "" {
		return ref
	}
	return name + " (" + ref + ")"
}

// mappingValueText shows one value.
func mappingValueText(v amocrm.FieldValue, typ amocrm.FieldType, def *amocrm.CustomField, loc *time.Location) string {
	text := v.Text()
	if typ.IsDate() {
		if t, err := v.Time(); err == nil {
			text += " (" + t.In(loc).Format("02.01.2006 15:04") + ")"
		}
	}
	if v.EnumID != 0 {
		label := "enum_id " + strconv.Itoa(v.EnumID)
		if def != nil {
			for _, e := range def.Enums {
				if e.ID == v.EnumID {
					label = e.Value + " (" + label + ")"
				}
			}
		}
		text = strings.TrimSpace(text + " " + label)
	}
	if v.EnumCode != "" {
		text += " [" + v.EnumCode + "]"
	}
	return text
}

// mappingTest is the outcome of "Создать тестовую сделку".
type mappingTest struct {
	Record    chatter.Text
	LeadID    int
	ContactID int
	CompanyID int
	LeadURL   string
	Tag       string
	Checks    []mappingCheckRow
	OK        bool
	Err       chatter.Text
	AmoErrors []mappingAmoError
}

// mappingCheckRow is one field amoCRM was sent, and what it stored.
type mappingCheckRow struct {
	Entity, Field, Sent, Stored string
	OK                          bool
}

// mappingAmoError is one of amoCRM's validation errors, placed on the
// entity and field it names.
type mappingAmoError struct {
	Entity string // leads, contacts, companies
	Field  string // the custom field or attribute, "" for the entity
	Path   string // amoCRM's path
	Code   chatter.Text
	Detail string
}

// mappingAmoErrors explains amoCRM's validation errors of a /leads/complex
// request: which entity and field each names (from what was sent) and
// what its code means.
func (s *server) mappingAmoErrors(err error, sent *fieldmap.Result) []mappingAmoError {
	var ae *amocrm.APIError
	if !errors.As(err, &ae) {
		return nil
	}
	var out []mappingAmoError
	for _, ve := range ae.ValidationErrors {
		for _, fe := range ve.Errors {
			code := s.mappingT("mapping.amo_code_unknown", fe.Code)
			if k := "mapping.amo_code." + fe.Code; s.i18n.T(auth.LangRU, k) != missing(k) {
				code = s.mappingT(k)
			}
			e := mappingAmoError{Path: fe.Path, Code: code, Detail: fe.Detail}
			e.Entity, e.Field = mappingAmoPath(fe.Path, sent)
			out = append(out, e)
		}
	}
	return out
}

// mappingAmoPath names the entity and field of an amoCRM error path
// ("_embedded.contacts.0.custom_fields_values.1.values.0.value").
func mappingAmoPath(path string, sent *fieldmap.Result) (entity, field string) {
	entity = string(amocrm.EntityLeads)
	var cfv amocrm.CustomFieldsValues
	if sent != nil && sent.Lead.Lead != nil {
		cfv = sent.Lead.Lead.CustomFieldsValues
	}
	rest := path
	for _, e := range []amocrm.EntityType{amocrm.EntityContacts, amocrm.EntityCompanies} {
		prefix := "_embedded." + string(e)
		if rest != prefix && !strings.HasPrefix(rest, prefix+".") {
			continue
		}
		entity, rest, cfv = string(e), strings.TrimPrefix(strings.TrimPrefix(rest, prefix), "."), nil
		rest = strings.TrimPrefix(strings.TrimPrefix(rest, "0"), ".")
		if sent != nil {
			if c := sent.Lead.Contact; e == amocrm.EntityContacts && c != nil {
				cfv = c.CustomFieldsValues
			}
			if c := sent.Lead.Company; e == amocrm.EntityCompanies && c != nil {
				cfv = c.CustomFieldsValues
			}
		}
	}
	if after, ok := strings.CutPrefix(rest, "custom_fields_values."); ok {
		n, _, _ := strings.Cut(after, ".")
		if i, err := strconv.Atoi(n); err == nil && i >= 0 && i < len(cfv) {
			return entity, mappingFieldLabel(cfv[i], nil)
		}
	}
	field, _, _ = strings.Cut(rest, ".")
	return entity, field
}

// mappingTestOf describes a test lead's report.
func mappingTestOf(rep *fieldmap.TestReport, sc *fieldmap.Schema, base string) *mappingTest {
	t := &mappingTest{Tag: "chatter-test"}
	if rep == nil {
		return t
	}
	t.LeadID, t.ContactID, t.CompanyID = rep.LeadID, rep.ContactID, rep.CompanyID
	if rep.LeadID != 0 {
		t.LeadURL = strings.TrimSuffix(base, "/") + "/leads/detail/" + strconv.Itoa(rep.LeadID)
	}
	t.OK = rep.LeadID != 0 && rep.OK()
	for _, c := range rep.Checks {
		row := mappingCheckRow{Entity: string(c.Entity), Field: c.Field, Sent: c.Sent, Stored: c.Stored, OK: c.OK}
		switch c.Field {
		case "pipeline_id":
			row.Sent, row.Stored = mappingIDName(c.Sent, func(id int) string { return mappingPipelineName(sc, id) }), mappingIDName(c.Stored, func(id int) string { return mappingPipelineName(sc, id) })
		case "responsible_user_id":
			row.Sent, row.Stored = mappingIDName(c.Sent, func(id int) string { return mappingUserName(sc, id) }), mappingIDName(c.Stored, func(id int) string { return mappingUserName(sc, id) })
		case "status_id":
			row.Sent, row.Stored = mappingIDName(c.Sent, func(id int) string { return mappingStatusName(sc, 0, id) }), mappingIDName(c.Stored, func(id int) string { return mappingStatusName(sc, 0, id) })
		}
		t.Checks = append(t.Checks, row)
	}
	return t
}

func mappingIDName(s string, name func(int) string) string {
	id, err := strconv.Atoi(s)
	if err != nil || id == 0 {
		return s
	}
	return name(id)
}

// mappingMessageRecord is the fieldmap record of a message, as the sink
// maps it.
func mappingMessageRecord(m *chatter.Message) fieldmap.Record { return amocrmsink.NewMessageRecord(m) }
