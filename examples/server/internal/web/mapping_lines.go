package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chatterhq/sdk/fieldmap"
)

// The mapping editor shows each problem at its line. fieldmap's problems
// name a path into the spec ("lead.fields[2].value"), not a line: the
// editor's text is parsed again as a YAML tree (JSON is YAML too) to find
// where each path is written. A spec that does not parse says its line in
// the YAML error ("yaml: line 3: …"); one that parses but does not fit the
// schema names a key ("unknown field \"nam\""), a Go field path, or a
// value shape, which are looked up in the tree.

// mappingMaxDepth bounds the walk of the tree (fieldmap refuses deeper
// specs).
const mappingMaxDepth = 64

// mappingIndex maps spec paths to the 1-based lines they are written on.
type mappingIndex struct {
	text  []string // the lines of the text
	lines map[string]int
	// keys are the mapping keys in document order, for looking up a key
	// by name.
	keys []mappingKey
	// values are the nodes that hold a fieldmap Source (a value), in
	// document order, for locating a value's own errors.
	values []mappingValue
}

type mappingKey struct {
	path, name string
	line       int
}

type mappingValue struct {
	line int
	node *yaml.Node
}

// mappingSourceKeys are the keys whose value is a fieldmap Source wherever
// they appear; name is one only on an entity (lead, contact, company).
var mappingSourceKeys = map[string]bool{
	"value": true, "price": true, "first_name": true, "last_name": true, "phone": true, "email": true, "text": true,
}

// newMappingIndex indexes text; a text that does not parse gives an empty
// index.
func newMappingIndex(text string) *mappingIndex {
	idx := &mappingIndex{lines: map[string]int{}, text: strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")}
	var n yaml.Node
	if yaml.Unmarshal([]byte(text), &n) != nil || len(n.Content) == 0 {
		return idx
	}
	idx.walk(n.Content[0], "", "", 0)
	return idx
}

func (idx *mappingIndex) walk(n *yaml.Node, path, key string, depth int) {
	if n == nil || depth > mappingMaxDepth {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if _, seen := idx.lines[p]; !seen {
				idx.lines[p] = k.Line
			}
			idx.keys = append(idx.keys, mappingKey{path: p, name: k.Value, line: k.Line})
			if mappingHoldsSource(path, key, k.Value) {
				idx.values = append(idx.values, mappingValue{line: v.Line, node: v})
			}
			idx.walk(v, p, k.Value, depth+1)
		}
	case yaml.SequenceNode:
		for i, e := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			idx.lines[p] = e.Line
			if key == "values" || key == "tags" {
				idx.values = append(idx.values, mappingValue{line: e.Line, node: e})
			}
			idx.walk(e, p, key, depth+1)
		}
	}
}

// mappingHoldsSource reports whether the value of key k, in the mapping at
// path (itself the value of parentKey), is a fieldmap Source.
func mappingHoldsSource(path, parentKey, k string) bool {
	switch {
	case mappingSourceKeys[k]:
		return true
	case k == "name":
		return path == "lead" || path == "contact" || path == "company"
	case parentKey == "object":
		return true
	case parentKey == "objects":
		return true
	}
	return false
}

// line is the line of path, or of its closest written parent ("lead.
// pipeline[0]" when the pipeline is written as one name), or 0.
func (idx *mappingIndex) line(path string) int {
	for path != "" {
		if l, ok := idx.lines[path]; ok {
			return l
		}
		path = mappingParent(path)
	}
	return 0
}

// mappingParent strips the last element of a spec path.
func mappingParent(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// keyLine is the line of the first key named name outside the lookup
// tables (whose keys are data), or 0.
func (idx *mappingIndex) keyLine(name string) int {
	for _, k := range idx.keys {
		if k.name == name && !strings.HasPrefix(k.path, "lookups.") {
			return k.line
		}
	}
	return 0
}

// dedent refines the line of a "did not find expected key" error: YAML
// names the line where the block starts, but the mistake is usually a
// later line indented less than the block and more than its parent.
func (idx *mappingIndex) dedent(block int) int {
	lines := idx.text
	if block < 1 || block > len(lines) {
		return block
	}
	indent := func(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }
	blank := func(l string) bool { t := strings.TrimSpace(l); return t == "" || strings.HasPrefix(t, "#") }
	inner := indent(lines[block-1])
	outer := -1
	for i := block - 2; i >= 0; i-- {
		if !blank(lines[i]) && indent(lines[i]) < inner {
			outer = indent(lines[i])
			break
		}
	}
	for i := block; i < len(lines); i++ {
		if blank(lines[i]) {
			continue
		}
		if in := indent(lines[i]); in < inner && in > outer {
			return i + 1
		} else if in <= outer {
			break
		}
	}
	return block
}

var (
	mappingYAMLLineRE = regexp.MustCompile(`\byaml: (?:unmarshal errors:\s*)?line (\d+): `)
	mappingUnknownRE  = regexp.MustCompile(`unknown field "([^"]*)"`)
	mappingGoFieldRE  = regexp.MustCompile(`Go struct field [A-Za-z]+\.([^ ]+) of type`)
)

// syntaxLine finds the line of a problem of ParseSpec (its English
// message), or 0.
func (idx *mappingIndex) syntaxLine(msg string) int {
	if m := mappingYAMLLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		if strings.Contains(msg, "did not find expected") {
			return idx.dedent(n)
		}
		return n
	}
	if m := mappingUnknownRE.FindStringSubmatch(msg); m != nil {
		return idx.keyLine(m[1])
	}
	if m := mappingGoFieldRE.FindStringSubmatch(msg); m != nil {
		return idx.line(m[1])
	}
	// A value of the wrong shape: the first value that fails the same way.
	reason := strings.TrimPrefix(msg, "spec error: ")
	for _, v := range idx.values {
		if mappingSourceError(v.node) == reason {
			return v.line
		}
	}
	return 0
}

// mappingSourceError decodes a YAML value as a fieldmap Source, as
// ParseSpec does, and returns the English text of its problem ("" when it
// decodes), without ParseSpec's "spec error: " prefix.
func mappingSourceError(n *yaml.Node) string {
	b, err := yaml.Marshal(n)
	if err != nil {
		return ""
	}
	_, err = fieldmap.ParseSource(b, fieldmap.FormatYAML)
	var fe *fieldmap.Error
	if !errors.As(err, &fe) || len(fe.Problems) == 0 {
		return ""
	}
	return strings.TrimPrefix(fe.Problems[0].Message.EN, "spec error: ")
}

// mappingToYAML writes a spec as YAML for the editor, in the order of the
// spec's fields, multi-line texts as blocks.
func mappingToYAML(spec *fieldmap.Spec) (string, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return "", err
	}
	mappingBlockStyle(&n, 0)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return out.String(), nil
}

// mappingBlockStyle drops the flow style JSON came with.
func mappingBlockStyle(n *yaml.Node, depth int) {
	if depth > mappingMaxDepth {
		return
	}
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && strings.Contains(n.Value, "\n") {
		n.Style = yaml.LiteralStyle
	}
	for _, c := range n.Content {
		mappingBlockStyle(c, depth+1)
	}
}

// mappingLine is one line of the editor's text in the numbered listing.
type mappingLine struct {
	N    int
	Text string
	Bad  bool // a problem is on this line
}

// mappingListing numbers the lines of text and marks those in bad.
func mappingListing(text string, bad map[int]bool) []mappingLine {
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), "\n"), "\n")
	out := make([]mappingLine, len(lines))
	for i, l := range lines {
		out[i] = mappingLine{N: i + 1, Text: l, Bad: bad[i+1]}
	}
	return out
}
