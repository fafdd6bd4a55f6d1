package fieldmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chatterhq/sdk/amocrm"
)

// Spec is a declarative mapping from a source record to amoCRM entities: a
// lead with its tags and custom fields, optionally one new contact and one
// new company (the /leads/complex item), and a note. YAML and JSON share
// this schema (the YAML keys are the JSON keys); see the package
// documentation for a complete example. Unknown keys are errors.
type Spec struct {
	// Version is the schema version; 0 and 1 mean 1.
	Version int `json:"version,omitempty"`
	// Timezone is the zone for dates without one ("Europe/Moscow", "+03:00";
	// default UTC). IANA names are loaded when compiling, never in Apply.
	Timezone string `json:"timezone,omitempty"`
	// Lookups are named tables from source values to target values (enum
	// options, user names, ...), used by the lookup function and by
	// Source.Lookup. The key "*" is the fallback for values not in the table.
	Lookups map[string]map[string]any `json:"lookups,omitempty"`
	Lead    LeadSpec                  `json:"lead"`
	Contact *ContactSpec              `json:"contact,omitempty"`
	Company *CompanySpec              `json:"company,omitempty"`
	Note    *NoteSpec                 `json:"note,omitempty"`
}

// LeadSpec maps the lead.
type LeadSpec struct {
	// Name is the lead name (required).
	Name *Source `json:"name,omitempty"`
	// Price is the lead budget: a whole number of the account currency.
	Price *Source `json:"price,omitempty"`
	// Pipeline, Status and Responsible are routing rules: the first rule
	// whose When holds wins. Without a pipeline amoCRM uses the main one;
	// without a status, the first stage of the pipeline.
	Pipeline    Routes `json:"pipeline,omitempty"`
	Status      Routes `json:"status,omitempty"`
	Responsible Routes `json:"responsible,omitempty"`
	// Tags are tag names; empty results are dropped. They are evaluated
	// for every record: a consumer that adds a record to an existing lead
	// instead of creating one (amocrmsink, for a message threaded onto an
	// open lead) adds the tags the lead lacks and removes none.
	Tags   []Source    `json:"tags,omitempty"`
	Fields []FieldSpec `json:"fields,omitempty"`
}

// ContactSpec maps the new contact created with the lead.
type ContactSpec struct {
	// When makes the whole contact conditional.
	When      string  `json:"when,omitempty"`
	Name      *Source `json:"name,omitempty"`
	FirstName *Source `json:"first_name,omitempty"`
	LastName  *Source `json:"last_name,omitempty"`
	// Responsible defaults to the lead's responsible user.
	Responsible Routes `json:"responsible,omitempty"`
	// Phone and Email write the predefined PHONE/EMAIL multitext fields
	// (enum MOB and WORK unless the Source says otherwise). They are optional:
	// an empty value is skipped with a warning.
	Phone  *Source     `json:"phone,omitempty"`
	Email  *Source     `json:"email,omitempty"`
	Tags   []Source    `json:"tags,omitempty"`
	Fields []FieldSpec `json:"fields,omitempty"`
}

// CompanySpec maps the new company created with the lead.
type CompanySpec struct {
	When        string      `json:"when,omitempty"`
	Name        *Source     `json:"name,omitempty"`
	Responsible Routes      `json:"responsible,omitempty"`
	Tags        []Source    `json:"tags,omitempty"`
	Fields      []FieldSpec `json:"fields,omitempty"`
}

// NoteSpec maps the note added to the lead (the message text and link).
type NoteSpec struct {
	When string `json:"when,omitempty"`
	// Type is "common" (default) or "service_message".
	Type amocrm.NoteType `json:"type,omitempty"`
	// Service is the sender name shown on a service_message note.
	Service string  `json:"service,omitempty"`
	Text    *Source `json:"text,omitempty"`
}

// FieldSpec maps one custom field. The target is ID, Code or Name (exactly
// one). Type is the amoCRM field type; it may be left out when the mapper
// is compiled with a schema, or for the predefined PHONE/EMAIL/WEB/POSITION/
// ADDRESS codes.
type FieldSpec struct {
	ID   int              `json:"id,omitempty"`
	Code string           `json:"code,omitempty"`
	Name string           `json:"name,omitempty"`
	Type amocrm.FieldType `json:"type,omitempty"`
	// Value is the single value; Values are several (multiselect,
	// multitext, file, ...); Object is a composite value by key (legal_entity,
	// payer, supplier, linked_entity, chained_list, file, items) or the parts of
	// a smart_address (address_line_1, city, zip, ...); Objects are several
	// composite values (items). Exactly one is set.
	Value   *Source             `json:"value,omitempty"`
	Values  []Source            `json:"values,omitempty"`
	Object  map[string]Source   `json:"object,omitempty"`
	Objects []map[string]Source `json:"objects,omitempty"`
	// Enum is the enum code of multitext values (WORK, MOB, PRIV, ...).
	Enum string `json:"enum,omitempty"`
	// When makes the field conditional.
	When string `json:"when,omitempty"`
	// Optional fields that come out empty are left out with a warning;
	// other fields make Apply fail with CodeValueEmpty.
	Optional bool `json:"optional,omitempty"`
	// MaxLength cuts text values (with a warning); 0 uses the type's default.
	MaxLength int `json:"max_length,omitempty"`
}

// target describes the field for messages.
func (f *FieldSpec) target() string {
	switch {
	case f.ID != 0:
		return fmt.Sprintf("#%d", f.ID)
	case f.Code != "":
		return f.Code
	}
	return fmt.Sprintf("%q", f.Name)
}

// Source is where a value comes from: exactly one of From (a record path),
// Const (a constant) or Template. In YAML/JSON a bare string is a Template
// (a constant when it has no {{…}}), and a bare number or boolean is a Const.
type Source struct {
	From     string `json:"from,omitempty"`
	Const    any    `json:"const,omitempty"`
	Template string `json:"template,omitempty"`
	// Lookup names a table in Spec.Lookups applied to the value.
	Lookup string `json:"lookup,omitempty"`
	// Enum is the multitext enum code of this value (overrides FieldSpec.Enum).
	Enum string `json:"enum,omitempty"`
	// When drops this one value (a tag, one of Values) unless it holds.
	When string `json:"when,omitempty"`
}

// UnmarshalJSON accepts a string (template), a number or boolean (constant)
// or an object with the Source keys.
func (s *Source) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*s = Source{}
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		return json.Unmarshal(b, &s.Template)
	case b[0] == '{':
		type plain Source
		var p plain
		if err := strictDecode(b, &p); err != nil {
			return err
		}
		*s = Source(p)
		n := 0
		if s.From != "" {
			n++
		}
		if s.Const != nil {
			n++
		}
		if s.Template != "" {
			n++
		}
		if n != 1 {
			return errS("у значения должно быть ровно одно из: from, const, template", "a value needs exactly one of from, const, template")
		}
		return nil
	case b[0] == '[':
		return errS("значение здесь не может быть списком (для нескольких — values:)", "a value cannot be a list here (use values: for several)")
	}
	return decodeNumber(b, &s.Const)
}

// MarshalJSON writes the short form (a string or a constant) when the
// Source has nothing else.
func (s Source) MarshalJSON() ([]byte, error) {
	if s.Lookup == "" && s.Enum == "" && s.When == "" && s.From == "" {
		if s.Const == nil {
			return json.Marshal(s.Template)
		}
		if s.Template == "" {
			if _, isStr := s.Const.(string); !isStr {
				return json.Marshal(s.Const)
			}
		}
	}
	type plain Source
	return json.Marshal(plain(s))
}

// Routes is a list of routing rules, the first match wins. In YAML/JSON it is
// a single rule or a list; a rule may be written as a bare id (number) or
// name (string; a string with @ is a user's email).
type Routes []Route

// UnmarshalJSON accepts a list of rules or a single rule.
func (r *Routes) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var list []Route
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		*r = list
		return nil
	}
	if string(b) == "null" {
		*r = nil
		return nil
	}
	var one Route
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*r = Routes{one}
	return nil
}

// Route is one routing rule: when When holds (or is empty), the target is
// the referenced entity, or, for responsible users, the next of RoundRobin.
type Route struct {
	When string `json:"when,omitempty"`
	Ref
	// RoundRobin spreads leads over these users in turn (responsible only).
	RoundRobin []Ref `json:"round_robin,omitempty"`
}

// UnmarshalJSON accepts a bare reference or an object.
func (r *Route) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*r = Route{}
	if len(b) > 0 && b[0] == '{' {
		var aux struct {
			When       string `json:"when,omitempty"`
			ID         int    `json:"id,omitempty"`
			Name       string `json:"name,omitempty"`
			Email      string `json:"email,omitempty"`
			RoundRobin []Ref  `json:"round_robin,omitempty"`
		}
		if err := strictDecode(b, &aux); err != nil {
			return err
		}
		*r = Route{When: aux.When, Ref: Ref{ID: aux.ID, Name: aux.Name, Email: aux.Email}, RoundRobin: aux.RoundRobin}
		return nil
	}
	return r.Ref.UnmarshalJSON(b)
}

// MarshalJSON writes a rule as an object (a plain reference stays short).
func (r Route) MarshalJSON() ([]byte, error) {
	if r.When == "" && len(r.RoundRobin) == 0 {
		return r.Ref.MarshalJSON()
	}
	return json.Marshal(struct {
		When       string `json:"when,omitempty"`
		ID         int    `json:"id,omitempty"`
		Name       string `json:"name,omitempty"`
		Email      string `json:"email,omitempty"`
		RoundRobin []Ref  `json:"round_robin,omitempty"`
	}{r.When, r.ID, r.Name, r.Email, r.RoundRobin})
}

// Ref names a pipeline, status or user by ID, Name or (users only) Email.
type Ref struct {
	ID    int    `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// IsZero reports whether the reference is empty.
func (r Ref) IsZero() bool { return r.ID == 0 && r.Name == "" && r.Email == "" }

// String describes the reference for messages.
func (r Ref) String() string {
	switch {
	case r.ID != 0:
		return fmt.Sprintf("#%d", r.ID)
	case r.Email != "":
		return r.Email
	}
	return fmt.Sprintf("%q", r.Name)
}

// UnmarshalJSON accepts a number (id), a string (name, or email when it
// has @) or an object.
func (r *Ref) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*r = Ref{}
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if strings.Contains(s, "@") {
			r.Email = s
		} else {
			r.Name = s
		}
		return nil
	case b[0] == '{':
		type plain Ref
		var p plain
		if err := strictDecode(b, &p); err != nil {
			return err
		}
		*r = Ref(p)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errS("ссылка — это id, имя или {id|name|email}", "a reference is an id, a name or {id|name|email}")
	}
	id, err := n.Int64()
	if err != nil || id <= 0 || id > 1<<53 {
		return errT("id %s в ссылке — не целое положительное число", "reference id %s is not a positive whole number", n)
	}
	r.ID = int(id)
	return nil
}

// MarshalJSON writes a bare id or name when only one is set.
func (r Ref) MarshalJSON() ([]byte, error) {
	switch {
	case r.Name == "" && r.Email == "":
		return json.Marshal(r.ID)
	case r.ID == 0 && r.Email == "" && !strings.Contains(r.Name, "@"):
		return json.Marshal(r.Name)
	case r.ID == 0 && r.Name == "":
		return json.Marshal(r.Email)
	}
	type plain Ref
	return json.Marshal(plain(r))
}

// Format is the encoding of a spec.
type Format string

// Spec formats. FormatAuto detects JSON by its leading '{' and reads
// anything else as YAML.
const (
	FormatAuto Format = ""
	FormatYAML Format = "yaml"
	FormatJSON Format = "json"
)

// MaxSpecBytes is the largest spec ParseSpec accepts.
const MaxSpecBytes = 1 << 20

// ParseSpec decodes a spec from YAML or JSON. Unknown keys, wrong value
// shapes and syntax errors give an *Error with a CodeSpecSyntax problem
// that carries the line and column of the mistake; the spec is not
// compiled (see Compile). The returned Spec remembers where each of its
// paths is written (Spec.Position), so that the problems Compile and
// Validate find carry lines and columns too.
func ParseSpec(data []byte, format Format) (*Spec, error) {
	s := new(Spec)
	ix, err := parseInto(data, format, s)
	if err != nil {
		return nil, err
	}
	setPositions(s, ix)
	return s, nil
}

// ParseSource decodes one value source (a constant, {from: …},
// {template: …}, …) from YAML or JSON the way ParseSpec decodes each
// source of a spec, with the same problems: an editor uses it to find
// which value of a spec a ParseSpec problem is about.
func ParseSource(data []byte, format Format) (*Source, error) {
	var s Source
	if _, err := parseInto(data, format, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// parseInto is ParseSpec's decoding: the text becomes a tree that knows
// where each value is written, the tree JSON, then a strict JSON decode
// into v. It returns the positions of the paths.
func parseInto(data []byte, format Format, v any) (*specIndex, error) {
	if len(data) > MaxSpecBytes {
		return nil, specSyntax(errT("описание сопоставления длиннее %d байт", "spec is larger than %d bytes", MaxSpecBytes), Pos{})
	}
	li := newLineIndex(data)
	trimmed := bytes.TrimSpace(data)
	if format == FormatAuto {
		format = FormatYAML
		if len(trimmed) > 0 && trimmed[0] == '{' {
			format = FormatJSON
		}
	}
	empty := specSyntax(errS("описание сопоставления пустое", "spec is empty"), Pos{Line: 1, Column: 1})
	var tree *pnode
	var js []byte
	switch format {
	case FormatJSON:
		if len(trimmed) == 0 {
			return nil, empty
		}
		t, err := jsonTree(data, li)
		if err != nil {
			return nil, treeError(err)
		}
		tree, js = t, trimmed
	case FormatYAML:
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, yamlSyntax(err, li)
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
			return nil, empty
		}
		var val any
		if err := doc.Decode(&val); err != nil {
			return nil, yamlSyntax(err, li)
		}
		t, err := yamlTree(doc.Content[0], val, Pos{Line: 1, Column: 1}, 0)
		if err != nil {
			return nil, treeError(err)
		}
		if js = t.json(); js == nil {
			return nil, specSyntax(errS("описание сопоставления не переводится в JSON", "spec cannot be encoded as JSON"), t.pos)
		}
		tree = t
	default:
		return nil, specSyntax(errT("неизвестный формат %q (нужен yaml или json)", "unknown format %q (want yaml or json)", string(format)), Pos{})
	}
	if tree.kind == 's' && tree.val == nil {
		return nil, empty
	}
	if err := strictDecode(js, v); err != nil {
		p, ok := where(tree, reflect.TypeOf(v), 0)
		if !ok {
			p = tree.pos
		}
		return nil, specSyntax(err, p)
	}
	ix := &specIndex{pos: map[string]Pos{}}
	tree.index(ix, "")
	return ix, nil
}

func treeError(err error) error {
	var pe *posError
	if errors.As(err, &pe) {
		return specSyntax(pe.err, pe.pos)
	}
	return specSyntax(err, Pos{})
}

// LoadSpec reads a spec file; the format follows the extension (.json,
// .yaml, .yml), else it is detected.
func LoadSpec(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fieldmap: load spec: %w", err)
	}
	f := FormatAuto
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		f = FormatJSON
	case ".yaml", ".yml":
		f = FormatYAML
	}
	return ParseSpec(data, f)
}

func specSyntax(err error, at Pos) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	p := problem(CodeSpecSyntax, "", T("ошибка в описании сопоставления: "+syntaxRU(err), "spec error: "+msg),
		T("Исправьте YAML/JSON описания сопоставления полей: ключи и формы значений — как в документации.",
			"Fix the spec YAML/JSON: keys and value shapes as documented."))
	p.Line, p.Column = at.Line, at.Column
	if key, ok := unknownFieldKey(msg); ok {
		p.Suggestions = closest(key, specKeys(), 3)
	}
	return &Error{Problems: Problems{p}}
}

// unknownFieldKey returns the key of encoding/json's unknown field error.
func unknownFieldKey(msg string) (string, bool) {
	if i := strings.Index(msg, `unknown field "`); i >= 0 {
		rest := msg[i+len(`unknown field "`):]
		if j := strings.IndexByte(rest, '"'); j >= 0 {
			return rest[:j], true
		}
	}
	return "", false
}

// specKeys lists every key of the spec schema, for suggestions.
func specKeys() []string {
	return []string{
		"version", "timezone", "lookups", "lead", "contact", "company", "note",
		"name", "price", "pipeline", "status", "responsible", "tags", "fields",
		"when", "first_name", "last_name", "phone", "email", "type", "service", "text",
		"id", "code", "value", "values", "object", "objects", "enum", "optional", "max_length",
		"from", "const", "template", "lookup", "round_robin",
	}
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errS("данные после конца описания сопоставления", "data after the end of the spec")
	}
	return nil
}

func decodeNumber(b []byte, dst *any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(dst)
}

const maxSpecDepth = 64
