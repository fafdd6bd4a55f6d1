package fieldmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"weak"

	"gopkg.in/yaml.v3"
)

// Pos is a place in the text of a spec: a 1-based line and a 1-based column
// counted in characters (runes), as editors show them.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// IsZero reports whether the position is unknown.
func (p Pos) IsZero() bool { return p.Line == 0 }

// String returns "line:column".
func (p Pos) String() string { return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Column) }

// specIndex maps the spec paths of a parsed spec ("lead.fields[2].value")
// to where they are written.
type specIndex struct {
	pos map[string]Pos
}

// lookup returns the position of path, or of its closest written parent
// ("lead.pipeline[0]" of a pipeline written as one name is "lead.pipeline").
func (ix *specIndex) lookup(path string) Pos {
	if ix == nil {
		return Pos{}
	}
	for {
		if p, ok := ix.pos[path]; ok {
			return p
		}
		if path == "" {
			return Pos{}
		}
		path = parentPath(path)
	}
}

// parentPath strips the last element of a spec path.
func parentPath(path string) string {
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

// specPositions holds the index of each *Spec ParseSpec returned, for as
// long as the Spec lives, so that Compile and Validate can give the line
// and column of a problem without the Spec struct carrying them.
var specPositions sync.Map // weak.Pointer[Spec] → *specIndex

func setPositions(s *Spec, ix *specIndex) {
	wp := weak.Make(s)
	specPositions.Store(wp, ix)
	runtime.AddCleanup(s, func(wp weak.Pointer[Spec]) { specPositions.Delete(wp) }, wp)
}

func positionsOf(s *Spec) *specIndex {
	if s == nil {
		return nil
	}
	if v, ok := specPositions.Load(weak.Make(s)); ok {
		return v.(*specIndex)
	}
	return nil
}

// Position returns where the spec path (a Problem.Path such as
// "lead.fields[2].value") is written in the text ParseSpec or LoadSpec
// decoded this Spec from: the value for a scalar, the key for a mapping
// or list; a path not written (a default) gives its closest written
// parent. A Spec built in code, or a copy of the struct, has no positions.
func (s *Spec) Position(path string) (Pos, bool) {
	p := positionsOf(s).lookup(path)
	return p, !p.IsZero()
}

// locate sets the position of each problem from ix.
func (ix *specIndex) locate(ps Problems) {
	if ix == nil {
		return
	}
	for i := range ps {
		if ps[i].Line == 0 {
			p := ix.lookup(ps[i].Path)
			ps[i].Line, ps[i].Column = p.Line, p.Column
		}
	}
}

// ---- a positioned tree of the spec text ----

// pnode is one value of a spec with its position: an object (keys in the
// order written), a list, or a scalar (a value json.Marshal encodes).
type pnode struct {
	kind   byte // 'o', 'a' or 's'
	val    any
	keys   []string
	keyPos []Pos
	kids   []*pnode
	pos    Pos
}

// index records the position of every path below n.
func (n *pnode) index(ix *specIndex, path string) {
	if _, ok := ix.pos[path]; !ok {
		ix.pos[path] = n.pos
	}
	for i, k := range n.kids {
		var p string
		if n.kind == 'o' {
			p = n.keys[i]
			if path != "" {
				p = path + "." + p
			}
			if k.kind != 's' {
				if _, ok := ix.pos[p]; !ok {
					ix.pos[p] = n.keyPos[i]
				}
			}
		} else {
			p = path + "[" + strconv.Itoa(i) + "]"
		}
		k.index(ix, p)
	}
}

// encode writes n as JSON, objects in the order written.
func (n *pnode) encode(b *bytes.Buffer) error {
	switch n.kind {
	case 'o':
		b.WriteByte('{')
		for i, k := range n.kids {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(n.keys[i])
			b.Write(kb)
			b.WriteByte(':')
			if err := k.encode(b); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case 'a':
		b.WriteByte('[')
		for i, k := range n.kids {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := k.encode(b); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		vb, err := json.Marshal(n.val)
		if err != nil {
			return err
		}
		b.Write(vb)
	}
	return nil
}

func (n *pnode) json() []byte {
	var b bytes.Buffer
	if n.encode(&b) != nil {
		return nil
	}
	return b.Bytes()
}

// lineIndex turns byte offsets of a text into positions.
type lineIndex struct {
	data  []byte
	start []int // byte offset of each line
}

func newLineIndex(data []byte) *lineIndex {
	li := &lineIndex{data: data, start: []int{0}}
	for i, c := range data {
		if c == '\n' {
			li.start = append(li.start, i+1)
		}
	}
	return li
}

func (li *lineIndex) pos(off int) Pos {
	off = max(0, min(off, len(li.data)))
	l := sort.Search(len(li.start), func(i int) bool { return li.start[i] > off }) - 1
	return Pos{Line: l + 1, Column: utf8.RuneCount(li.data[li.start[l]:off]) + 1}
}

// lineStart is the position of the first character of line that is not
// blank (for errors that name only a line).
func (li *lineIndex) lineStart(line int) Pos {
	if line < 1 || line > len(li.start) {
		return Pos{Line: max(line, 0), Column: 1}
	}
	off := li.start[line-1]
	for off < len(li.data) && (li.data[off] == ' ' || li.data[off] == '\t') {
		off++
	}
	return li.pos(off)
}

// errNested is the error of a spec nested deeper than maxSpecDepth.
var errNested = errS("описание сопоставления вложено слишком глубоко", "spec is nested too deeply")

// posError is a parse error at a place of the text.
type posError struct {
	err error
	pos Pos
}

func (e *posError) Error() string { return e.err.Error() }
func (e *posError) Unwrap() error { return e.err }

// jsonTree parses JSON text into a positioned tree; a syntax error is a
// *posError.
func jsonTree(data []byte, li *lineIndex) (*pnode, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	jb := &jsonBuilder{dec: dec, data: data, li: li}
	n, err := jb.value(0)
	if err != nil {
		return nil, err
	}
	off := jb.skip()
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, jb.syntax(err, off)
		}
		return nil, &posError{errS("данные после конца описания сопоставления", "data after the end of the spec"), li.pos(off)}
	}
	return n, nil
}

type jsonBuilder struct {
	dec  *json.Decoder
	data []byte
	li   *lineIndex
}

// skip returns the offset of the next token: after the decoder's offset,
// past blanks and the one separator the decoder has not consumed yet.
func (jb *jsonBuilder) skip() int {
	off := int(jb.dec.InputOffset())
	sep := false
	for off < len(jb.data) {
		switch c := jb.data[off]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case (c == ',' || c == ':') && !sep:
			sep = true
		default:
			return off
		}
		off++
	}
	return off
}

// syntax is the error of the token that starts at off. (The offset of
// encoding/json's SyntaxError counts from the start of the buffer for some
// errors and from the start of the value for others, so it is not used.)
func (jb *jsonBuilder) syntax(err error, off int) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		off = len(bytes.TrimRight(jb.data, " \t\r\n"))
		err = errS("описание сопоставления оборвано (не хватает конца JSON)", "unexpected end of JSON input")
	}
	return &posError{err, jb.li.pos(off)}
}

func (jb *jsonBuilder) value(depth int) (*pnode, error) {
	off := jb.skip()
	at := jb.li.pos(off)
	if depth > maxSpecDepth {
		return nil, &posError{errNested, at}
	}
	tok, err := jb.dec.Token()
	if err != nil {
		return nil, jb.syntax(err, off)
	}
	d, isDelim := tok.(json.Delim)
	if !isDelim {
		return &pnode{kind: 's', val: tok, pos: at}, nil
	}
	n := &pnode{pos: at}
	switch d {
	case '{':
		n.kind = 'o'
		for jb.dec.More() {
			koff := jb.skip()
			kt, err := jb.dec.Token()
			if err != nil {
				return nil, jb.syntax(err, koff)
			}
			k, _ := kt.(string)
			v, err := jb.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.keys, n.keyPos, n.kids = append(n.keys, k), append(n.keyPos, jb.li.pos(koff)), append(n.kids, v)
		}
	case '[':
		n.kind = 'a'
		for jb.dec.More() {
			v, err := jb.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, v)
		}
	}
	if coff := jb.skip(); true {
		if _, err := jb.dec.Token(); err != nil { // the closing delimiter
			return nil, jb.syntax(err, coff)
		}
	}
	return n, nil
}

// yamlTree builds the positioned tree of a YAML document from its node
// tree and its decoded value v (decoded by yaml.v3, so scalars, anchors,
// merge keys and duplicate keys follow YAML): node order and positions, v's
// values. A key v has that the nodes do not show (a merge) comes after the
// written ones, at the position of its mapping.
func yamlTree(n *yaml.Node, v any, at Pos, depth int) (*pnode, error) {
	if depth > maxSpecDepth {
		return nil, &posError{errNested, at}
	}
	if n != nil {
		at = Pos{Line: n.Line, Column: n.Column}
		for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < maxSpecDepth; i++ {
			n = n.Alias
		}
	}
	switch x := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = e
		}
		return yamlObject(n, m, at, depth)
	case map[string]any:
		return yamlObject(n, x, at, depth)
	case []any:
		out := &pnode{kind: 'a', pos: at}
		for i, e := range x {
			var en *yaml.Node
			if n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
				en = n.Content[i]
			}
			k, err := yamlTree(en, e, at, depth+1)
			if err != nil {
				return nil, err
			}
			out.kids = append(out.kids, k)
		}
		return out, nil
	case float64:
		if x != x || x > 1e308 || x < -1e308 {
			return nil, &posError{errT("число %v недопустимо", "number %v is not allowed", x), at}
		}
	}
	return &pnode{kind: 's', val: v, pos: at}, nil
}

func yamlObject(n *yaml.Node, m map[string]any, at Pos, depth int) (*pnode, error) {
	out := &pnode{kind: 'o', pos: at}
	used := make(map[string]bool, len(m))
	add := func(k string, kp Pos, vn *yaml.Node) error {
		kid, err := yamlTree(vn, m[k], kp, depth+1)
		if err != nil {
			return err
		}
		used[k] = true
		out.keys, out.keyPos, out.kids = append(out.keys, k), append(out.keyPos, kp), append(out.kids, kid)
		return nil
	}
	if n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn := n.Content[i]
			if kn.Kind != yaml.ScalarNode || kn.Tag == "!!merge" {
				continue
			}
			if _, ok := m[kn.Value]; !ok || used[kn.Value] {
				continue
			}
			if err := add(kn.Value, Pos{Line: kn.Line, Column: kn.Column}, n.Content[i+1]); err != nil {
				return nil, err
			}
		}
	}
	rest := make([]string, 0, len(m)-len(used))
	for k := range m {
		if !used[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		if err := add(k, at, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ---- where a decoding error is ----

var (
	sourceType = reflect.TypeFor[Source]()
	routesType = reflect.TypeFor[Routes]()
	routeType  = reflect.TypeFor[Route]()
	refType    = reflect.TypeFor[Ref]()
	refsType   = reflect.TypeFor[[]Ref]()
)

// where finds the first value below n (in the order written) that does not
// decode into t, the way strictDecode decodes the whole spec, and returns
// its position: an unknown key, a value of the wrong shape, a value its
// UnmarshalJSON refuses.
func where(n *pnode, t reflect.Type, depth int) (Pos, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if depth > maxSpecDepth {
		return n.pos, true
	}
	if n.kind == 's' && n.val == nil {
		return Pos{}, false // null leaves any value as it is
	}
	switch t {
	case sourceType, refType:
		if n.kind == 'o' {
			if p, bad := unknownKey(n, structKeys(t)); bad {
				return p, true
			}
		}
		return leaf(n, t)
	case routesType:
		if n.kind != 'a' {
			return where(n, routeType, depth+1)
		}
		for _, k := range n.kids {
			if p, bad := where(k, routeType, depth+1); bad {
				return p, true
			}
		}
		return Pos{}, false
	case routeType:
		if n.kind == 'o' {
			keys := []string{"when", "id", "name", "email", "round_robin"}
			if p, bad := unknownKey(n, keys); bad {
				return p, true
			}
			for i, k := range n.keys {
				if strings.EqualFold(k, "round_robin") {
					if p, bad := where(n.kids[i], refsType, depth+1); bad {
						return p, true
					}
				}
			}
		}
		return leaf(n, t)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.kind != 'o' {
			return n.pos, true
		}
		fields := structFields(t)
		for i, k := range n.keys {
			ft, ok := fieldType(fields, k)
			if !ok {
				return n.keyPos[i], true
			}
			if p, bad := where(n.kids[i], ft, depth+1); bad {
				return p, true
			}
		}
		return Pos{}, false
	case reflect.Slice:
		if n.kind != 'a' {
			return n.pos, true
		}
		for _, k := range n.kids {
			if p, bad := where(k, t.Elem(), depth+1); bad {
				return p, true
			}
		}
		return Pos{}, false
	case reflect.Map:
		if n.kind != 'o' {
			return n.pos, true
		}
		for _, k := range n.kids {
			if p, bad := where(k, t.Elem(), depth+1); bad {
				return p, true
			}
		}
		return Pos{}, false
	}
	return leaf(n, t)
}

// leaf decodes n alone into a new t.
func leaf(n *pnode, t reflect.Type) (Pos, bool) {
	js := n.json()
	if js == nil || strictDecode(js, reflect.New(t).Interface()) != nil {
		return n.pos, true
	}
	return Pos{}, false
}

func unknownKey(n *pnode, keys []string) (Pos, bool) {
	for i, k := range n.keys {
		known := false
		for _, want := range keys {
			if strings.EqualFold(k, want) { // encoding/json matches keys case-insensitively
				known = true
				break
			}
		}
		if !known {
			return n.keyPos[i], true
		}
	}
	return Pos{}, false
}

type structField struct {
	key string
	typ reflect.Type
}

// structFields lists the JSON keys of a spec struct type and their types.
func structFields(t reflect.Type) []structField {
	var out []structField
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, structField{name, sf.Type})
	}
	return out
}

func structKeys(t reflect.Type) []string {
	var out []string
	for _, f := range structFields(t) {
		out = append(out, f.key)
	}
	return out
}

func fieldType(fields []structField, key string) (reflect.Type, bool) {
	for _, f := range fields { // an exact match wins over a folded one, as in encoding/json
		if f.key == key {
			return f.typ, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.key, key) {
			return f.typ, true
		}
	}
	return nil, false
}
