package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"

	"github.com/chatterhq/sdk/fieldmap"
)

// redacted replaces secrets in Redacted copies.
const redacted = "REDACTED"

// secretQueryKeys are URL query parameters that carry secrets (proxy links
// and connection URLs).
var secretQueryKeys = []string{"pass", "password", "secret", "token", "sslpassword"}

// Redacted returns a deep copy of c with every secret replaced by
// "REDACTED"; URLs with credentials keep their shape
// (postgres://chatter:REDACTED@db/chatter). It is what support bundles and
// the UI show.
func (c *Config) Redacted() *Config {
	data, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("config: Redacted: %v", err)) // every type of Config marshals
	}
	var out Config
	if err := json.Unmarshal(data, &out); err != nil {
		panic(fmt.Sprintf("config: Redacted: %v", err))
	}
	out.meta = c.meta
	walkSecrets(reflect.ValueOf(&out).Elem(), func(v reflect.Value, kind string) {
		if kind == "url" {
			v.SetString(redactURL(v.String()))
		} else {
			v.SetString(redacted)
		}
	})
	return &out
}

// Secrets returns every secret value set in c (tokens, passwords, keys,
// the password parts of URLs), without duplicates. A test or a support
// bundle scans its output for them.
func (c *Config) Secrets() []string {
	var out []string
	walkSecrets(reflect.ValueOf(c).Elem(), func(v reflect.Value, kind string) {
		if kind == "url" {
			out = append(out, urlSecrets(v.String())...)
		} else {
			out = append(out, v.String())
		}
	})
	slices.Sort(out)
	return slices.Compact(out)
}

// walkSecrets calls fn for every secret string field that is set.
func walkSecrets(v reflect.Value, fn func(v reflect.Value, kind string)) {
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		switch t := fv.Type(); {
		case isNested(t):
			walkSecrets(fv, fn)
		case isItemList(t):
			for i := range fv.Len() {
				walkSecrets(fv.Index(i), fn)
			}
		case f.secret != "" && t.Kind() == reflect.String && fv.String() != "":
			fn(fv, f.secret)
		}
	}
}

// urlSecrets returns the secret parts of a URL: the password and the values
// of secret query parameters. A value that is not a URL is secret whole.
func urlSecrets(s string) []string {
	u, err := url.Parse(s)
	if err != nil {
		return []string{s}
	}
	var out []string
	if p, ok := u.User.Password(); ok && p != "" {
		out = append(out, p)
	}
	q := u.Query()
	for _, k := range secretQueryKeys {
		for _, v := range q[k] {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// redactURL replaces the secret parts of a URL; a value that is not a URL
// is replaced whole.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return redacted
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), redacted)
	}
	q := u.Query()
	changed := false
	for _, k := range secretQueryKeys {
		if q.Has(k) {
			q.Set(k, redacted)
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// UnmarshalJSON reads a mapping; the inline spec is parsed strictly by
// fieldmap (unknown keys are errors), as the YAML form is.
func (m *Mapping) UnmarshalJSON(b []byte) error {
	var aux struct {
		File   string          `json:"file"`
		Inline json.RawMessage `json:"inline"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&aux); err != nil {
		return fmt.Errorf("config: mapping: %w", err)
	}
	*m = Mapping{File: aux.File}
	if raw := bytes.TrimSpace(aux.Inline); len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		spec, err := fieldmap.ParseSpec(raw, fieldmap.FormatJSON)
		if err != nil {
			return fmt.Errorf("config: mapping.inline: %w", err)
		}
		m.Inline = spec
	}
	return nil
}
