package config

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzLoad feeds arbitrary YAML (outside input: the operator's file) to
// Load. It must never panic; a nil configuration comes with exactly one
// problem about the file as a whole; Validate is deterministic; Redacted
// hides every secret; and every workspace survives the JSON round trip the
// store relies on.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"testdata/full.yaml", "../../chatter.example.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		minimal, withItems, valid, "", "~", "[]", "a: b", "data_dir: [x]", "http: {addr: ':1', adr: x}",
		"workspaces:\n  - id: a\n    bots: [{id: b, token_file: /nope}]\n",
		"x: &a [*a, *a]\nlog: *a\n",
		"log: &l {level: info}\nhttp:\n  <<: *l\n",
		"workspaces:\n  - id: a\n    mapping: {inline: {lead: {name: '{{ text | nosuch }}'}}}\n",
		"workspaces: [{id: a, keywords: {rules: ['(', 're:[']}}]",
		"http:\n  addr: x\n  addr: y\n",
		"\t- bad",
		"a: b\n---\nc: d\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := Loader{ReadFile: memFS(map[string]string{confPath: string(data)})}
		c, ps := l.Load(confPath)
		if c == nil {
			if len(ps) != 1 || ps[0].Path != "" || !ps.HasErrors() {
				t.Fatalf("nil config with problems %v", ps)
			}
			return
		}
		for _, p := range ps {
			if p.Message.RU == "" || p.Message.EN == "" || (p.Severity != SeverityError && p.Severity != SeverityWarning) {
				t.Fatalf("bad problem %+v", p)
			}
		}
		if d := cmp.Diff(c.Validate(), c.Validate()); d != "" {
			t.Fatalf("Validate is not deterministic:\n%s", d)
		}
		r := c.Redacted()
		walkSecrets(reflect.ValueOf(r).Elem(), func(v reflect.Value, kind string) {
			if kind == "true" && v.String() != redacted {
				t.Fatalf("secret not redacted: %q", v.String())
			}
		})
		for _, w := range c.Workspaces {
			b, err := json.Marshal(w)
			if err != nil {
				t.Fatalf("marshal workspace: %v", err)
			}
			var back Workspace
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("unmarshal workspace %s: %v", b, err)
			}
			if d := cmp.Diff(w, back, diffOpts); d != "" {
				t.Fatalf("workspace round trip (-want +got):\n%s", d)
			}
		}
	})
}
