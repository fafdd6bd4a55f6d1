package web

import (
	"net/url"
	"slices"
	"strings"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// form is a submitted form: its values (to fill the form in again; never
// passwords) and the problems by field, each shown next to its field.
type form struct {
	Values   url.Values
	Problems map[string]chatter.Text
}

func newForm(values url.Values) *form {
	if values == nil {
		values = url.Values{}
	}
	return &form{Values: values, Problems: map[string]chatter.Text{}}
}

// fail records a problem of field (the first one stays).
func (f *form) fail(field string, t chatter.Text) {
	if _, ok := f.Problems[field]; !ok {
		f.Problems[field] = t
	}
}

// failKey records a catalog message as field's problem.
func (f *form) failKey(c *catalogs, field, key string, args ...any) {
	f.fail(field, chatter.T(c.T(auth.LangRU, key, args...), c.T(auth.LangEN, key, args...)))
}

// addProblems takes the field problems of a service error (auth.Problems),
// renaming fields through rename where the form's names differ.
func (f *form) addProblems(err error, rename map[string]string) bool {
	ps := auth.Problems(err)
	for field, t := range ps {
		if to, ok := rename[field]; ok {
			field = to
		}
		f.fail(field, t)
	}
	return len(ps) > 0
}

func (f *form) ok() bool { return len(f.Problems) == 0 }

// dropSecrets removes what must never be sent back into a page.
func (f *form) dropSecrets(names ...string) {
	for _, n := range names {
		f.Values.Del(n)
	}
}

// Err is field's problem in the page's language ("" when none).
func (v *view) Err(field string) string {
	if t, ok := v.Form.Problems[field]; ok {
		return t.In(v.Lang)
	}
	return ""
}

// Val is the submitted value of field.
func (v *view) Val(field string) string { return v.Form.Values.Get(field) }

// Has reports whether field was submitted with value (checkboxes).
func (v *view) Has(field, value string) bool { return slices.Contains(v.Form.Values[field], value) }

// fieldView is one labelled input for the "field" template.
type fieldView struct {
	ID, Name, Type, Label, Value, Error, Hint string
	Autocomplete, Inputmode                   string
	Required, Autofocus                       bool
	// Layout shows the keyboard layout indicator (password fields): the
	// script fills it in; NoScript is the hint without the script.
	Layout                      bool
	LayoutLabel, Caps, NoScript string
}

// F describes an input for the "field" template: name, type, the label's
// catalog key, and options separated by spaces: required, autofocus,
// autocomplete=…, inputmode=…, id=… (default: the name), hint=<key>,
// layout (the keyboard layout indicator of password fields).
// Passwords are never filled in again.
func (v *view) F(name, typ, labelKey, opts string) fieldView {
	f := fieldView{ID: name, Name: name, Type: typ, Label: v.T(labelKey), Error: v.Err(name)}
	if typ != "password" {
		f.Value = v.Val(name)
	}
	for _, o := range strings.Fields(opts) {
		k, val, _ := strings.Cut(o, "=")
		switch k {
		case "required":
			f.Required = true
		case "autofocus":
			f.Autofocus = true
		case "autocomplete":
			f.Autocomplete = val
		case "inputmode":
			f.Inputmode = val
		case "id":
			f.ID = val
		case "hint":
			f.Hint = v.T(val)
		case "layout":
			f.Layout, f.LayoutLabel, f.Caps, f.NoScript = true, v.T("layout.label"), v.T("layout.caps"), v.T("layout.noscript")
		}
	}
	return f
}

// WithHint returns f with a hint below the input (already translated).
func (f fieldView) WithHint(h string) fieldView {
	f.Hint = h
	return f
}

// PolicyHint describes the password policy.
func (v *view) PolicyHint() string {
	return v.T("password.policy", v.s.auth.Config().MinPasswordLength)
}
