package fieldmap

import (
	"errors"
	"strconv"
	"strings"
)

// Text is an operator-facing text in Russian with an English variant. It has
// the same shape and JSON form as chatter.Text (fieldmap does not import
// chatter), so the two convert with a plain struct conversion.
type Text struct {
	RU string `json:"ru"`
	EN string `json:"en"`
}

// T builds a Text from its Russian and English variants.
func T(ru, en string) Text { return Text{RU: ru, EN: en} }

// In returns the variant for lang ("ru" or "en"); any other value, or an
// empty variant, falls back to Russian, then English.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	if t.RU != "" {
		return t.RU
	}
	return t.EN
}

// IsZero reports whether both variants are empty.
func (t Text) IsZero() bool { return t.RU == "" && t.EN == "" }

// String returns "RU / EN", or the one variant present.
func (t Text) String() string {
	switch {
	case t.RU == "":
		return t.EN
	case t.EN == "" || t.EN == t.RU:
		return t.RU
	default:
		return t.RU + " / " + t.EN
	}
}

// Code identifies the kind of a Problem. Codes are stable and meant for
// programs (UI highlighting, metrics, tests); Message and Remedy are for people.
type Code string

// Problem codes found while parsing and compiling a spec.
const (
	CodeSpecSyntax     Code = "spec_syntax"     // the YAML/JSON does not parse or has unknown keys
	CodeSpecInvalid    Code = "spec_invalid"    // a value in the spec is missing or not allowed
	CodeTemplateSyntax Code = "template_syntax" // a {{…}} template or a when condition does not parse
	CodeUnknownType    Code = "unknown_type"    // a field type fieldmap cannot convert to
	CodeNeedsSchema    Code = "needs_schema"    // a target by name (or without a type) needs a Schema to resolve
	CodeUnknownPath    Code = "unknown_path"    // a record path is not in the RecordSchema (WithRecordSchema)
)

// Problem codes found by Validate against the live account schema.
const (
	CodeFieldNotFound     Code = "field_not_found"     // no such custom field in the account
	CodeFieldTypeMismatch Code = "field_type_mismatch" // the spec declares another type than the account has
	CodeFieldReadOnly     Code = "field_read_only"     // the field is computed and cannot be written
	CodeEnumNotFound      Code = "enum_not_found"      // an option is not among the field's enums
	CodeRequiredMissing   Code = "required_missing"    // a field required in the target status is not mapped
	CodeRequiredOptional  Code = "required_optional"   // a required field is mapped but may be skipped
	CodePipelineNotFound  Code = "pipeline_not_found"  // no such pipeline
	CodeStatusNotFound    Code = "status_not_found"    // no such status in the pipeline
	CodeUserNotFound      Code = "user_not_found"      // no such (active) user
	CodeTooManyFields     Code = "too_many_fields"     // more custom field values than /leads/complex accepts
)

// Problem codes found by Apply for one record.
const (
	CodeBadValue        Code = "bad_value"        // a value cannot be converted to the field type
	CodeValueEmpty      Code = "value_empty"      // a non-optional field got no value
	CodeTruncated       Code = "value_truncated"  // warning: a value was cut to the field's maximum length
	CodeOptionalSkipped Code = "optional_skipped" // warning: an optional field got no value and was left out
	CodeNoRoute         Code = "no_route"         // no routing rule matched and there is no default
)

// Severity tells whether a Problem stops the mapping (SeverityError) or is
// only reported (SeverityWarning).
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Problem is one typed finding about a spec, a mapper against a schema, or a
// record being mapped.
type Problem struct {
	Code     Code     `json:"code"`
	Severity Severity `json:"severity"`
	// Path points into the spec: "lead.fields[2].value", "lead.status[0]".
	Path string `json:"path,omitempty"`
	// Line and Column (1-based; the column in characters) are where the
	// problem is in the spec's text, for a spec from ParseSpec or LoadSpec
	// (see Spec.Position); 0 for a spec built in code.
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Message says what is wrong; Remedy says what to do about it.
	Message Text `json:"message"`
	Remedy  Text `json:"remedy,omitzero"`
	// Suggestions are the closest existing names for a name that was not
	// found (field, pipeline, status, user, enum option), best first.
	Suggestions []string `json:"suggestions,omitempty"`
}

// Error implements error with the English text.
func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString("fieldmap: ")
	if p.Line > 0 {
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(p.Column))
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message.EN)
	if len(p.Suggestions) > 0 {
		b.WriteString(" (did you mean ")
		for i, s := range p.Suggestions {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(s))
		}
		b.WriteString("?)")
	}
	b.WriteString(" [")
	b.WriteString(string(p.Code))
	b.WriteString("]")
	return b.String()
}

// Problems is a list of problems, errors and warnings mixed.
type Problems []Problem

// Errors returns the problems of SeverityError.
func (ps Problems) Errors() Problems { return ps.filter(SeverityError) }

// Warnings returns the problems of SeverityWarning.
func (ps Problems) Warnings() Problems { return ps.filter(SeverityWarning) }

func (ps Problems) filter(s Severity) Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == s {
			out = append(out, p)
		}
	}
	return out
}

// HasErrors reports whether any problem is an error.
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Has reports whether any problem has the given code.
func (ps Problems) Has(c Code) bool {
	for _, p := range ps {
		if p.Code == c {
			return true
		}
	}
	return false
}

// Err returns an *Error holding the error problems, or nil when there are none.
func (ps Problems) Err() error {
	errs := ps.Errors()
	if len(errs) == 0 {
		return nil
	}
	return &Error{Problems: errs}
}

// Error is returned by ParseSpec, Compile and Apply when the spec or the
// record has problems. It holds every problem found, not only the first;
// match it with errors.As. It is permanent: retrying the same input gives
// the same error.
type Error struct {
	Problems Problems
}

// Error implements error.
func (e *Error) Error() string {
	switch len(e.Problems) {
	case 0:
		return "fieldmap: no problems"
	case 1:
		return e.Problems[0].Error()
	}
	var b strings.Builder
	b.WriteString(e.Problems[0].Error())
	b.WriteString(" (and ")
	b.WriteString(strconv.Itoa(len(e.Problems) - 1))
	b.WriteString(" more)")
	return b.String()
}

// Permanent reports true: a mapping error does not go away by retrying.
func (e *Error) Permanent() bool { return true }

// Message returns an operator-facing summary of all problems.
func (e *Error) Message() Text {
	var ru, en strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			ru.WriteString("; ")
			en.WriteString("; ")
		}
		if p.Path != "" {
			ru.WriteString(p.Path + ": ")
			en.WriteString(p.Path + ": ")
		}
		ru.WriteString(p.Message.RU)
		en.WriteString(p.Message.EN)
	}
	return Text{RU: ru.String(), EN: en.String()}
}

// ProblemsOf returns the problems carried by err (an *Error in its chain),
// or nil.
func ProblemsOf(err error) Problems {
	var e *Error
	if errors.As(err, &e) {
		return e.Problems
	}
	return nil
}

func problem(code Code, path string, msg, remedy Text) Problem {
	return Problem{Code: code, Severity: SeverityError, Path: path, Message: msg, Remedy: remedy}
}

func warning(code Code, path string, msg, remedy Text) Problem {
	return Problem{Code: code, Severity: SeverityWarning, Path: path, Message: msg, Remedy: remedy}
}
