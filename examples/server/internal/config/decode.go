package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/fieldmap"
)

// origin is where a value came from.
type origin struct {
	line int    // line in file (the config file when file is empty)
	file string // a file other than the config file
	env  string // the variable or flag that set the value
}

// meta records the origins of values by path, for problems.
type meta struct {
	origins map[string]origin
	// handled are paths Load already reported an error for; Validate's
	// problems on them are dropped as duplicates.
	handled map[string]bool
	// sealingKeyMissing: no key is given and the key file does not exist
	// yet (it is generated on first start).
	sealingKeyMissing bool
}

func newMeta() *meta { return &meta{origins: map[string]origin{}, handled: map[string]bool{}} }

// lookup returns the origin of path or of its nearest ancestor with one.
func (m *meta) lookup(path string) origin {
	if m == nil {
		return origin{}
	}
	for p := path; ; {
		if o, ok := m.origins[p]; ok {
			return o
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			return origin{}
		}
		p = p[:i]
	}
}

// Limits of the input.
const (
	// MaxFileBytes is the largest config, mapping or keywords file read.
	MaxFileBytes = 4 << 20
	// maxNodes bounds the YAML nodes visited (aliases can multiply them).
	maxNodes = 200_000
	maxDepth = 64
)

// decoder decodes a YAML node tree onto a *Config key by key, recording
// the line of every key and collecting every problem.
type decoder struct {
	l     *Loader
	dir   string // the config file's directory, for relative paths
	meta  *meta
	probs Problems
	nodes int
	depth int
}

func (d *decoder) problem(sev Severity, path string, line int, ru, en string) {
	d.probs = append(d.probs, Problem{Path: path, Line: line, Message: chatter.T(ru, en), Severity: sev})
	if sev == SeverityError && path != "" {
		d.meta.handled[path] = true
	}
}

// add records a problem with its own location.
func (d *decoder) add(p Problem) {
	d.probs = append(d.probs, p)
	if p.Severity == SeverityError && p.Path != "" {
		d.meta.handled[p.Path] = true
	}
}

func (d *decoder) errorf(path string, line int, ru, en string) {
	d.problem(SeverityError, path, line, ru, en)
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// parseYAML parses data into its document node. A syntax error is one
// problem with its line; an empty document gives a nil node.
func (d *decoder) parseYAML(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
			// yaml.v3 gives parser errors ("did not find expected …") the
			// 0-based line of the construct being parsed; scanner errors
			// are 1-based already.
			if strings.HasPrefix(msg, "did not find expected") {
				line++
			}
		}
		d.errorf("", line, "файл конфигурации не разбирается как YAML: "+msg,
			"the config file is not valid YAML: "+msg)
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := 0
		if err == nil {
			line = extra.Line
		}
		d.errorf("", line, "в файле больше одного YAML-документа (---): оставьте один",
			"the file holds more than one YAML document (---): keep one")
		return nil, false
	}
	if len(doc.Content) == 0 {
		return nil, true
	}
	return doc.Content[0], true
}

// resolve follows aliases and counts nodes; it returns nil when the input
// is too large.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.nodes++
	if d.nodes > maxNodes {
		return nil
	}
	return n
}

func (d *decoder) tooLarge(path string, line int) {
	if d.nodes == maxNodes+1 {
		d.errorf(path, line, "файл слишком большой или содержит слишком много ссылок (alias)",
			"the file is too large or holds too many aliases")
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// section decodes a mapping node onto the struct v.
func (d *decoder) section(n *yaml.Node, v reflect.Value, path string) {
	if n = d.resolve(n); n == nil {
		d.tooLarge(path, 0)
		return
	}
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(path, n.Line, "ожидается раздел «ключ: значение»", "want a section of key: value pairs")
		return
	}
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		d.errorf(path, n.Line, "слишком глубокая вложенность", "nested too deeply")
		return
	}
	t := v.Type()
	seen := map[string]int{}  // key → its line
	order := map[string]int{} // key → its position
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := d.resolve(n.Content[i]), n.Content[i+1]
		if k == nil {
			d.tooLarge(path, 0)
			return
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(path, k.Line, "ключ должен быть строкой", "a key must be a string")
			continue
		}
		key := k.Value
		if k.Tag == "!!merge" {
			d.merge(val, v, path)
			continue
		}
		fp := joinPath(path, key)
		if first, dup := seen[key]; dup {
			d.errorf(fp, k.Line, fmt.Sprintf("ключ %q повторяется (первый раз в строке %d)", key, first),
				fmt.Sprintf("key %q appears twice (first on line %d)", key, first))
			continue
		}
		seen[key], order[key] = k.Line, i
		if f := fieldByKey(t, key); f != nil {
			d.meta.origins[fp] = origin{line: k.Line}
			d.value(val, v.Field(f.index), fp, f)
			continue
		}
		if base, ok := strings.CutSuffix(key, "_file"); ok {
			if f := fieldByKey(t, base); f != nil && f.hasFile() {
				bp := joinPath(path, base)
				if line, both := seen[base]; both {
					d.errorf(fp, k.Line, fmt.Sprintf("заданы и %s (строка %d), и %s: оставьте одно", base, line, key),
						fmt.Sprintf("both %s (line %d) and %s are set: keep one", base, line, key))
					continue
				}
				d.meta.origins[bp] = origin{line: k.Line}
				d.secretFile(val, v.Field(f.index), bp, fp)
				continue
			}
		}
		d.unknownKey(fp, k.Line, key, t)
	}
	// a key after its _file sibling
	for key, line := range seen {
		if f := fieldByKey(t, key); f != nil && f.hasFile() {
			if fl, both := seen[key+"_file"]; both && order[key+"_file"] < order[key] {
				d.errorf(joinPath(path, key), line, fmt.Sprintf("заданы и %s_file (строка %d), и %s: оставьте одно", key, fl, key),
					fmt.Sprintf("both %s_file (line %d) and %s are set: keep one", key, fl, key))
			}
		}
	}
}

// merge applies a YAML merge key (<<: *anchor) onto v.
func (d *decoder) merge(val *yaml.Node, v reflect.Value, path string) {
	if val = d.resolve(val); val == nil {
		return
	}
	if val.Kind == yaml.SequenceNode {
		for _, m := range val.Content {
			d.section(m, v, path)
		}
		return
	}
	d.section(val, v, path)
}

func (d *decoder) unknownKey(path string, line int, key string, t reflect.Type) {
	ru := fmt.Sprintf("неизвестный ключ %q", key)
	en := fmt.Sprintf("unknown key %q", key)
	if s := closest(key, keysOf(t)); s != "" {
		ru += fmt.Sprintf(" (может быть, %q?)", s)
		en += fmt.Sprintf(" (did you mean %q?)", s)
	}
	d.errorf(path, line, ru, en)
}

// value decodes one value of any supported type.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, f *fieldInfo) {
	t := v.Type()
	switch {
	case t == specType:
		d.spec(n, v, path)
	case isNested(t):
		d.section(n, v, path)
	case isItemList(t):
		d.items(n, v, path)
	case t.Kind() == reflect.Slice:
		d.list(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n = d.resolve(n); n == nil {
		d.tooLarge(path, 0)
		return
	}
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(path, n.Line, "ожидается одно значение, а не раздел или список", "want a single value, not a section or a list")
		return
	}
	if err := setScalar(v, n.Value); err != nil {
		d.errorf(path, n.Line, err.ru, err.en)
	}
}

func (d *decoder) list(n *yaml.Node, v reflect.Value, path string) {
	if n = d.resolve(n); n == nil {
		d.tooLarge(path, 0)
		return
	}
	if isNull(n) {
		v.SetZero()
		return
	}
	var elems []*yaml.Node
	switch n.Kind {
	case yaml.SequenceNode:
		elems = n.Content
	case yaml.ScalarNode: // a single value stands for a list of one
		elems = []*yaml.Node{n}
	default:
		d.errorf(path, n.Line, "ожидается список значений", "want a list of values")
		return
	}
	out := reflect.MakeSlice(v.Type(), len(elems), len(elems))
	for i, e := range elems {
		ep := fmt.Sprintf("%s[%d]", path, i)
		d.meta.origins[ep] = origin{line: e.Line}
		d.scalar(e, out.Index(i), ep)
	}
	v.Set(out)
}

func (d *decoder) items(n *yaml.Node, v reflect.Value, path string) {
	if n = d.resolve(n); n == nil {
		d.tooLarge(path, 0)
		return
	}
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(path, n.Line, "ожидается список (элементы начинаются с «- »)", "want a list (items start with \"- \")")
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		ep := fmt.Sprintf("%s[%d]", path, i)
		d.meta.origins[ep] = origin{line: e.Line}
		d.section(e, out.Index(i), ep)
	}
	v.Set(out)
}

// spec decodes an inline fieldmap spec: fieldmap parses it (strictly), and
// the lines of its keys are recorded under path so that compile problems
// point at them.
func (d *decoder) spec(n *yaml.Node, v reflect.Value, path string) {
	if n = d.resolve(n); n == nil {
		d.tooLarge(path, 0)
		return
	}
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(path, n.Line, "ожидается описание сопоставления полей (раздел с ключом lead)",
			"want a field mapping spec (a section with a lead key)")
		return
	}
	recordLines(d.meta.origins, n, path, "", 0)
	data, err := yaml.Marshal(n)
	if err != nil {
		d.errorf(path, n.Line, "описание сопоставления не разбирается: "+err.Error(), "the mapping does not parse: "+err.Error())
		return
	}
	spec, err := fieldmap.ParseSpec(data, fieldmap.FormatYAML)
	if err != nil {
		for _, p := range specProblems(err) {
			d.errorf(path, specErrorLine(d.meta.origins, path, p.EN, d.meta.origins[path].line), p.RU, p.EN)
		}
		return
	}
	v.Set(reflect.ValueOf(spec))
}

var unknownFieldRE = regexp.MustCompile(`unknown field "([^"]+)"`)

// specErrorLine finds the line of the key a spec syntax error names
// ("unknown field "leed""), when exactly one key under prefix has that
// name; else it returns def.
func specErrorLine(origins map[string]origin, prefix, msg string, def int) int {
	m := unknownFieldRE.FindStringSubmatch(msg)
	if m == nil {
		return def
	}
	line, found := def, 0
	for p, o := range origins {
		if strings.HasPrefix(p, prefix+".") && strings.HasSuffix(p, "."+m[1]) {
			line, found = o.line, found+1
		}
	}
	if found != 1 {
		return def
	}
	return line
}

// specProblems turns a ParseSpec error into texts.
func specProblems(err error) []chatter.Text {
	ps := fieldmap.ProblemsOf(err)
	if len(ps) == 0 {
		return []chatter.Text{chatter.T("описание сопоставления не разбирается: "+err.Error(), "the mapping does not parse: "+err.Error())}
	}
	var out []chatter.Text
	for _, p := range ps {
		ru, en := p.Message.RU, p.Message.EN
		if len(p.Suggestions) > 0 {
			ru += " (может быть, " + strings.Join(p.Suggestions, ", ") + "?)"
			en += " (did you mean " + strings.Join(p.Suggestions, ", ") + "?)"
		}
		out = append(out, chatter.T(ru, en))
	}
	return out
}

// recordLines records the line of every key under a spec node, with
// fieldmap's path form ("lead.fields[2].value") after path. Aliases are not
// followed.
func recordLines(origins map[string]origin, n *yaml.Node, path, file string, depth int) {
	if n == nil || depth > maxDepth {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := path + "." + n.Content[i].Value
			if _, ok := origins[p]; !ok {
				origins[p] = origin{line: n.Content[i].Line, file: file}
			}
			recordLines(origins, n.Content[i+1], p, file, depth+1)
		}
	case yaml.SequenceNode:
		for i, e := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			origins[p] = origin{line: e.Line, file: file}
			recordLines(origins, e, p, file, depth+1)
		}
	}
}

// secretFile reads a <key>_file value: the path (relative to the config
// file's directory) of a file holding the secret.
func (d *decoder) secretFile(n *yaml.Node, v reflect.Value, path, filePath string) {
	if n = d.resolve(n); n == nil {
		d.tooLarge(filePath, 0)
		return
	}
	if n.Kind != yaml.ScalarNode || isNull(n) || strings.TrimSpace(n.Value) == "" {
		d.errorf(filePath, n.Line, "ожидается путь к файлу", "want a file path")
		return
	}
	secret, perr := d.l.readSecret(d.l.inDir(d.dir, n.Value))
	if perr != nil {
		d.errorf(filePath, n.Line, perr.ru, perr.en)
		d.meta.handled[path] = true // the key itself is then missing: reported already
		return
	}
	v.SetString(secret)
}

// textErr is a problem text before it has a path.
type textErr struct{ ru, en string }

func (e *textErr) Error() string { return e.en }

func newTextErr(ru, en string) *textErr { return &textErr{ru: ru, en: en} }

// setScalar sets v from its text form (a YAML scalar or a variable).
func setScalar(v reflect.Value, s string) *textErr {
	t := v.Type()
	switch {
	case t == durationType:
		d, err := ParseDuration(s)
		if err != nil {
			return newTextErr(fmt.Sprintf("%q — не длительность: нужно, например, 30s, 5m, 2h или 7d", s),
				fmt.Sprintf("%q is not a duration: want for example 30s, 5m, 2h or 7d", s))
		}
		v.SetInt(int64(d))
	case t.Kind() == reflect.String:
		v.SetString(s)
	case t.Kind() == reflect.Bool:
		b, ok := parseBool(s)
		if !ok {
			return newTextErr(fmt.Sprintf("%q — не логическое значение: нужно true или false", s),
				fmt.Sprintf("%q is not a boolean: want true or false", s))
		}
		v.SetBool(b)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), 10, t.Bits())
		if err != nil {
			return newTextErr(fmt.Sprintf("%q — не целое число", s), fmt.Sprintf("%q is not a whole number", s))
		}
		v.SetInt(n)
	default:
		return newTextErr("значение этого типа не поддерживается", "unsupported value type "+t.String())
	}
	return nil
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1", "да":
		return true, true
	case "false", "no", "off", "0", "нет":
		return false, true
	}
	return false, false
}

// closest returns the candidate nearest to s (edit distance at most a
// third of its length, at least 2), or "".
func closest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	limit := max(2, len(s)/3)
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD && d <= limit {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
