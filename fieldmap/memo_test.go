package fieldmap

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// countingRecord is a Record that counts the lookups of each path.
type countingRecord struct {
	rec MapRecord
	mu  sync.Mutex
	n   map[string]int
}

func (c *countingRecord) Lookup(path string) (any, bool) {
	c.mu.Lock()
	c.n[path]++
	c.mu.Unlock()
	return c.rec.Lookup(path)
}

func TestApplyReadsEachPathOnce(t *testing.T) {
	spec, err := ParseSpec([]byte(bench10+`
  when: 'chat.title | icontains "b2b"'
`), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	m := MustCompile(spec)
	want, err := m.DryRun(benchRecord())
	if err != nil {
		t.Fatal(err)
	}
	cr := &countingRecord{rec: benchRecord(), n: map[string]int{}}
	got, err := m.DryRun(cr)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("through a Record:\n%s\nwant (MapRecord)\n%s", got, want)
	}
	for _, p := range []string{"chat.title", "sender.username", "sender.first_name", "text", "sender.phone"} {
		if cr.n[p] != 1 {
			t.Errorf("%s looked up %d times, want once", p, cr.n[p])
		}
	}
	// a second Apply reads the record again
	if _, err := m.Apply(cr); err != nil {
		t.Fatal(err)
	}
	if cr.n["chat.title"] != 2 {
		t.Errorf("chat.title looked up %d times after two applies, want 2", cr.n["chat.title"])
	}
	// a missing path is remembered as missing, and a different record
	// never sees the values of the first
	other := MapRecord{"chat": map[string]any{"title": "Другой"}, "text": "нет"}
	if _, err := m.Apply(other); ProblemsOf(err) == nil {
		t.Fatal("want problems for a record without sender, time and link")
	}
	res, err := m.Apply(benchRecord())
	if err != nil || res.Lead.Lead.CustomFieldsValues[0].Values[0].Text() != "Продажи B2B" {
		t.Fatalf("after another record: %v %v", res, err)
	}
}

func TestApplyManyPaths(t *testing.T) {
	// more distinct paths than the memo holds: the rest are read directly
	var b strings.Builder
	b.WriteString("lead:\n  name: '{{ p0 }}{{ p0 }}'\n  fields:\n")
	rec := MapRecord{}
	n := maxMemo + 8
	for i := range n {
		fmt.Fprintf(&b, "    - {id: %d, type: text, value: '{{ p%d }}-{{ p%d }}'}\n", i+1, i, i)
		rec[fmt.Sprintf("p%d", i)] = fmt.Sprintf("v%d", i)
	}
	spec, err := ParseSpec([]byte(b.String()), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if m.nSlots != n {
		t.Errorf("nSlots = %d, want %d", m.nSlots, n)
	}
	res, err := m.Apply(rec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Lead.Lead.Name != "v0v0" {
		t.Errorf("name %q", res.Lead.Lead.Name)
	}
	cfv := res.Lead.Lead.CustomFieldsValues
	if len(cfv) != n {
		t.Fatalf("%d fields, want %d", len(cfv), n)
	}
	for i, cv := range cfv {
		if want := fmt.Sprintf("v%d-v%d", i, i); cv.FieldID != i+1 || cv.Values[0].Text() != want {
			t.Errorf("field %d: %d %q, want %q", i, cv.FieldID, cv.Values[0].Text(), want)
		}
	}
}
