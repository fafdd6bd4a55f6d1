package fieldmap

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Template is a compiled template: literal text with {{…}} actions, compiled
// once and executed many times (safe for concurrent use).
//
// An action is a pipeline: an operand (a record path such as sender.username,
// a 'string' or "string", or a number) followed by functions separated by |,
// each with literal or path arguments:
//
//	{{ sender.first_name | default sender.username | trim | truncate 40 }}
//	{{ time | date "02.01.2006 15:04" "+03:00" }}
//	{{ text | find_phone }}   {{ sender.phone | phone }}   {{ text | match "заказ №(\d+)" }}
//
// The functions are listed in the package documentation. Conditions (the
// "when" of a spec) use the same pipelines combined with &&, || and !, and
// are true unless the result is empty, 0, false, "false", "no" or "нет".
type Template struct {
	src   string
	parts []part
}

type part struct {
	lit  string
	pipe *pipeline // nil for a literal
}

type pipeline struct {
	op    operand
	calls []call
}

type operand struct {
	path   string // a record path when isPath
	isPath bool
	slot   int32 // memo slot of path for reader.lookup (0: none)
	lit    value
	pos    int // byte offset in the template, for messages
}

type call struct {
	name  string
	fn    func(c *call, in value, rec Record) (value, error)
	args  []operand
	n     int            // truncate length, match group
	s, s2 string         // layouts, separators, suffixes
	re    *regexp.Regexp // match, matches, find_*
	table *lookupTable
	loc   *time.Location
	pos   int
}

// lookupTable is a compiled lookup table: exact keys first, then keys
// compared trimmed and case-insensitively, then the "*" fallback.
type lookupTable struct {
	name     string
	exact    map[string]value
	folded   map[string]value
	fallback *value
}

// evalError is a runtime failure of a template function (a bad value).
type evalError struct {
	fn  string
	msg Text
}

func (e *evalError) Error() string { return e.fn + ": " + e.msg.EN }

// compileEnv carries what templates may refer to while compiling.
type compileEnv struct {
	tables map[string]*lookupTable
	loc    *time.Location
	res    map[string]*regexp.Regexp // compiled once per spec
	// slots numbers the distinct record paths of a Mapper (from 1) so that
	// Apply reads each once (reader); nil for standalone templates.
	slots map[string]int32
}

// slot returns the memo slot of a record path (0: not remembered).
func (e *compileEnv) slot(path string) int32 {
	if e.slots == nil {
		return 0
	}
	n, ok := e.slots[path]
	if !ok {
		n = int32(len(e.slots) + 1)
		e.slots[path] = n
	}
	return n
}

// reader reads record paths for one evaluation. Within one Apply it
// remembers the value of each compiled path slot, so that a path read by
// several fields and templates is looked up once (Record.Lookup is pure by
// contract). A MapRecord is read without a dynamic call.
//
// The memo is an array inside the reader (not a slice) so that a reader on
// the stack stays there: the record escapes to the heap through
// Record.Lookup, and escape analysis does not tell struct fields apart.
type reader struct {
	rec  Record
	n    int32         // slots remembered: 1..n
	memo [maxMemo]memo // memo[slot-1]
}

type memo struct {
	x     any
	state uint8 // memoUnread, memoFound, memoMissing
}

const (
	memoUnread uint8 = iota
	memoFound
	memoMissing
)

// maxMemo is the number of path slots Apply remembers (on its stack);
// paths beyond it are read every time.
const maxMemo = 32

func (r *reader) lookup(path string, slot int32) (any, bool) {
	if r.rec == nil {
		return nil, false
	}
	if slot <= 0 || slot > r.n {
		return r.read(path)
	}
	m := &r.memo[slot-1]
	switch m.state {
	case memoFound:
		return m.x, true
	case memoMissing:
		return nil, false
	}
	x, ok := r.read(path)
	if ok {
		m.x, m.state = x, memoFound
	} else {
		m.state = memoMissing
	}
	return x, ok
}

func (r *reader) read(path string) (any, bool) {
	if m, ok := r.rec.(MapRecord); ok {
		return lookupPath(m, path)
	}
	return r.rec.Lookup(path)
}

// regexp compiles expr once per compile environment.
func (e *compileEnv) regexp(expr string) (*regexp.Regexp, error) {
	if re, ok := e.res[expr]; ok {
		return re, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	if e.res == nil {
		e.res = map[string]*regexp.Regexp{}
	}
	e.res[expr] = re
	return re, nil
}

// CompileTemplate compiles a standalone template (no lookup tables; times
// without a zone are read and formatted in UTC unless a date function names
// a zone). The error is an *Error with a CodeTemplateSyntax problem.
func CompileTemplate(src string) (*Template, error) {
	t, err := compileTemplate(src, &compileEnv{loc: time.UTC})
	if err != nil {
		return nil, &Error{Problems: Problems{problem(CodeTemplateSyntax, "", syntaxText(err), templateRemedy)}}
	}
	return t, nil
}

var templateRemedy = T(
	"Проверьте шаблон: {{ путь | функция аргумент }}; строки в кавычках, функции из списка в документации.",
	"Check the template: {{ path | function argument }}; strings in quotes, functions from the documented list.")

func syntaxText(err error) Text {
	t := textOf(err)
	return T("ошибка в шаблоне: "+t.RU, "template error: "+t.EN)
}

// Execute renders the template for rec. A function given a bad value (phone,
// number, email, date) returns an error; missing paths render as "".
func (t *Template) Execute(rec Record) (string, error) {
	v, err := t.eval(&reader{rec: rec})
	if err != nil {
		return "", err
	}
	return v.text(), nil
}

// String returns the template source.
func (t *Template) String() string { return t.src }

// isConst reports whether the template has no actions; constText is then its text.
func (t *Template) isConst() bool {
	for _, p := range t.parts {
		if p.pipe != nil {
			return false
		}
	}
	return true
}

func (t *Template) constText() string {
	var b strings.Builder
	for _, p := range t.parts {
		b.WriteString(p.lit)
	}
	return b.String()
}

// eval renders the template into a value. A template that is exactly one
// action keeps the action's value (a number stays a number, a record
// string is not copied); anything else is concatenated into text.
func (t *Template) eval(r *reader) (value, error) {
	switch len(t.parts) {
	case 0:
		return strValue(""), nil
	case 1:
		p := &t.parts[0]
		if p.pipe == nil {
			return strValue(p.lit), nil
		}
		return p.pipe.eval(r)
	}
	var stack [8]string
	texts := stack[:0]
	n := 0
	for i := range t.parts {
		p := &t.parts[i]
		s := p.lit
		if p.pipe != nil {
			v, err := p.pipe.eval(r)
			if err != nil {
				return value{}, err
			}
			s = v.text()
		}
		texts = append(texts, s)
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range texts {
		b.WriteString(s)
	}
	return strValue(b.String()), nil
}

func (p *pipeline) eval(r *reader) (value, error) {
	v := p.op.read(r)
	for i := range p.calls {
		c := &p.calls[i]
		var err error
		if v, err = c.fn(c, v, r.rec); err != nil {
			return value{}, err
		}
	}
	return v, nil
}

func (o *operand) eval(rec Record) value {
	if !o.isPath {
		return o.lit
	}
	if rec == nil {
		return value{}
	}
	x, ok := rec.Lookup(o.path)
	if !ok {
		return value{}
	}
	return fromAny(x)
}

// read is eval through r (the pipeline head: remembered within an Apply).
func (o *operand) read(r *reader) value {
	if !o.isPath {
		return o.lit
	}
	x, ok := r.lookup(o.path, o.slot)
	if !ok {
		return value{}
	}
	return fromAny(x)
}

// ---- lexer ----

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tPipe
	tAnd
	tOr
	tNot
	tLParen
	tRParen
	tClose // }}
)

type token struct {
	k   tokKind
	s   string
	pos int
}

// lexAction tokenizes from pos until "}}" (inAction) or the end of src.
func lexAction(src string, pos int, inAction bool) ([]token, int, error) {
	var toks []token
	for {
		for pos < len(src) && (src[pos] == ' ' || src[pos] == '\t' || src[pos] == '\n' || src[pos] == '\r') {
			pos++
		}
		if pos >= len(src) {
			if inAction {
				return nil, pos, errT("не закрыт {{ (нет }})", "unclosed {{ (missing }})")
			}
			return append(toks, token{k: tEOF, pos: pos}), pos, nil
		}
		c := src[pos]
		start := pos
		switch {
		case c == '}' && strings.HasPrefix(src[pos:], "}}"):
			if !inAction {
				return nil, pos, atCol(pos+1, errT("лишние }}", "unexpected }}"))
			}
			return append(toks, token{k: tClose, pos: pos}), pos + 2, nil
		case c == '|' && strings.HasPrefix(src[pos:], "||"):
			toks = append(toks, token{k: tOr, pos: pos})
			pos += 2
		case c == '|':
			toks = append(toks, token{k: tPipe, pos: pos})
			pos++
		case c == '&' && strings.HasPrefix(src[pos:], "&&"):
			toks = append(toks, token{k: tAnd, pos: pos})
			pos += 2
		case c == '!':
			toks = append(toks, token{k: tNot, pos: pos})
			pos++
		case c == '(':
			toks = append(toks, token{k: tLParen, pos: pos})
			pos++
		case c == ')':
			toks = append(toks, token{k: tRParen, pos: pos})
			pos++
		case c == '"' || c == '\'':
			s, n, err := lexString(src[pos:])
			if err != nil {
				return nil, pos, atCol(pos+1, err)
			}
			toks = append(toks, token{k: tString, s: s, pos: start})
			pos += n
		case c >= '0' && c <= '9' || c == '-' && pos+1 < len(src) && src[pos+1] >= '0' && src[pos+1] <= '9':
			pos++
			for pos < len(src) && (src[pos] >= '0' && src[pos] <= '9' || src[pos] == '.') {
				pos++
			}
			toks = append(toks, token{k: tNumber, s: src[start:pos], pos: start})
		case isIdentStart(c):
			for pos < len(src) && isIdentChar(src[pos]) {
				pos++
			}
			id := src[start:pos]
			if strings.HasSuffix(id, ".") || strings.Contains(id, "..") {
				return nil, pos, atCol(start+1, errT("неверный путь %q", "bad path %q", id))
			}
			toks = append(toks, token{k: tIdent, s: id, pos: start})
		default:
			r, _ := utf8.DecodeRuneInString(src[pos:])
			return nil, pos, atCol(pos+1, errT("недопустимый символ %q", "unexpected character %q", r))
		}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '.' || c == '-'
}

func lexString(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '\\', '"', '\'':
				b.WriteByte(s[i])
			default: // keep regexp escapes such as \d as written
				b.WriteByte('\\')
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errT("строка не закрыта кавычкой", "unterminated string")
}

// ---- parser ----

func compileTemplate(src string, env *compileEnv) (*Template, error) {
	if !utf8.ValidString(src) {
		return nil, errT("шаблон не в кодировке UTF-8", "template is not valid UTF-8")
	}
	t := &Template{src: src}
	pos := 0
	var lit strings.Builder
	for pos < len(src) {
		i := strings.Index(src[pos:], "{{")
		if i < 0 {
			lit.WriteString(src[pos:])
			break
		}
		lit.WriteString(src[pos : pos+i])
		toks, next, err := lexAction(src, pos+i+2, true)
		if err != nil {
			return nil, err
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{lit: lit.String()})
			lit.Reset()
		}
		p := &parser{toks: toks, env: env}
		pipe, err := p.pipeline()
		if err != nil {
			return nil, err
		}
		if p.peek().k != tClose {
			return nil, atCol(p.peek().pos+1, errS(fmt.Sprintf("лишнее %s в {{…}}", p.peek().describe().RU), fmt.Sprintf("unexpected %s in action", p.peek().describe().EN)))
		}
		t.parts = append(t.parts, part{pipe: pipe})
		pos = next
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, part{lit: lit.String()})
	}
	return t, nil
}

// describe names the token for messages.
func (t token) describe() Text {
	var s string
	switch t.k {
	case tEOF:
		return T("конец", "end")
	case tClose:
		s = "}}"
	case tPipe:
		s = "|"
	case tAnd:
		s = "&&"
	case tOr:
		s = "||"
	case tNot:
		s = "!"
	case tLParen:
		s = "("
	case tRParen:
		s = ")"
	default:
		s = strconv.Quote(t.s)
	}
	return T(s, s)
}

type parser struct {
	toks []token
	i    int
	env  *compileEnv
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) pipeline() (*pipeline, error) {
	tok := p.next()
	var op operand
	switch tok.k {
	case tIdent:
		op = operand{path: tok.s, isPath: true, slot: p.env.slot(tok.s), pos: tok.pos}
	case tString:
		op = operand{lit: strValue(tok.s)}
	case tNumber:
		f, err := strconv.ParseFloat(tok.s, 64)
		if err != nil {
			return nil, atCol(tok.pos+1, errT("неверное число %q", "bad number %q", tok.s))
		}
		op = operand{lit: value{k: kNumber, f: f, s: tok.s}}
	default:
		return nil, atCol(tok.pos+1, errS("ожидался путь, строка или число, а не "+tok.describe().RU, "expected a path, string or number, got "+tok.describe().EN))
	}
	pipe := &pipeline{op: op}
	for p.peek().k == tPipe {
		p.next()
		name := p.next()
		if name.k != tIdent {
			return nil, atCol(name.pos+1, errS("после | ожидалось имя функции, а не "+name.describe().RU, "expected a function name after |, got "+name.describe().EN))
		}
		var args []operand
		for {
			a := p.peek()
			switch a.k {
			case tIdent:
				args = append(args, operand{path: a.s, isPath: true, pos: a.pos})
			case tString:
				args = append(args, operand{lit: strValue(a.s)})
			case tNumber:
				f, err := strconv.ParseFloat(a.s, 64)
				if err != nil {
					return nil, atCol(a.pos+1, errT("неверное число %q", "bad number %q", a.s))
				}
				args = append(args, operand{lit: value{k: kNumber, f: f, s: a.s}})
			default:
				goto done
			}
			p.next()
		}
	done:
		c, err := newCall(name.s, name.pos, args, p.env)
		if err != nil {
			return nil, err
		}
		pipe.calls = append(pipe.calls, c)
	}
	return pipe, nil
}

// ---- conditions ----

// Condition is a compiled "when" expression: pipelines combined with &&, ||,
// ! and parentheses. Safe for concurrent use.
type Condition struct {
	src  string
	root *condNode
}

type condNode struct {
	op   byte // '&', '|', '!', 'p'
	a, b *condNode
	pipe *pipeline
}

// CompileCondition compiles a standalone condition such as
// `text | icontains "срочно" && !(chat.title | eq "Архив")`. Surrounding
// {{ }} are allowed. The error is an *Error with a CodeTemplateSyntax problem.
func CompileCondition(src string) (*Condition, error) {
	c, err := compileCondition(src, &compileEnv{loc: time.UTC})
	if err != nil {
		return nil, &Error{Problems: Problems{problem(CodeTemplateSyntax, "", syntaxText(err), templateRemedy)}}
	}
	return c, nil
}

func compileCondition(src string, env *compileEnv) (*Condition, error) {
	if !utf8.ValidString(src) {
		return nil, errT("условие не в кодировке UTF-8", "condition is not valid UTF-8")
	}
	s := strings.TrimSpace(src)
	if strings.HasPrefix(s, "{{") && strings.HasSuffix(s, "}}") && strings.Count(s, "{{") == 1 {
		s = s[2 : len(s)-2]
	}
	if strings.TrimSpace(s) == "" {
		return nil, errT("пустое условие", "empty condition")
	}
	toks, _, err := lexAction(s, 0, false)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, env: env}
	root, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.peek().k != tEOF {
		return nil, atCol(p.peek().pos+1, errS("лишнее "+p.peek().describe().RU, "unexpected "+p.peek().describe().EN))
	}
	return &Condition{src: src, root: root}, nil
}

const maxCondDepth = 64

func (p *parser) or(depth int) (*condNode, error) {
	a, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.peek().k == tOr {
		p.next()
		b, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		a = &condNode{op: '|', a: a, b: b}
	}
	return a, nil
}

func (p *parser) and(depth int) (*condNode, error) {
	a, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.peek().k == tAnd {
		p.next()
		b, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		a = &condNode{op: '&', a: a, b: b}
	}
	return a, nil
}

func (p *parser) unary(depth int) (*condNode, error) {
	if depth > maxCondDepth {
		return nil, errT("слишком глубокая вложенность условия", "condition nested too deeply")
	}
	switch p.peek().k {
	case tNot:
		p.next()
		a, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &condNode{op: '!', a: a}, nil
	case tLParen:
		open := p.next()
		a, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.next().k != tRParen {
			return nil, atCol(open.pos+1, errT("( без )", "( without )"))
		}
		return a, nil
	}
	pipe, err := p.pipeline()
	if err != nil {
		return nil, err
	}
	return &condNode{op: 'p', pipe: pipe}, nil
}

// Eval evaluates the condition for rec. A function that fails on a bad value
// makes the condition false and returns the error.
func (c *Condition) Eval(rec Record) (bool, error) { return c.root.eval(&reader{rec: rec}) }

// String returns the condition source.
func (c *Condition) String() string { return c.src }

func (n *condNode) eval(r *reader) (bool, error) {
	switch n.op {
	case '&':
		a, err := n.a.eval(r)
		if err != nil || !a {
			return false, err
		}
		return n.b.eval(r)
	case '|':
		a, err := n.a.eval(r)
		if err != nil {
			return false, err
		}
		if a {
			return true, nil
		}
		return n.b.eval(r)
	case '!':
		a, err := n.a.eval(r)
		return !a && err == nil, err
	}
	v, err := n.pipe.eval(r)
	if err != nil {
		return false, err
	}
	return v.truthy(), nil
}

// ---- helpers shared by functions ----

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || unicode.IsUpper(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// eachPath calls f with every record path the template reads and its byte
// offset in the template.
func (t *Template) eachPath(f func(path string, pos int)) {
	for _, p := range t.parts {
		if p.pipe != nil {
			p.pipe.eachPath(f)
		}
	}
}

func (p *pipeline) eachPath(f func(path string, pos int)) {
	if p.op.isPath {
		f(p.op.path, p.op.pos)
	}
	for _, c := range p.calls {
		for i, a := range c.args {
			if a.isPath && !(c.name == "lookup" && i == 0) { // lookup's bare argument names a table
				f(a.path, a.pos)
			}
		}
	}
}

func (n *condNode) eachPath(f func(path string, pos int)) {
	if n == nil {
		return
	}
	if n.pipe != nil {
		n.pipe.eachPath(f)
	}
	n.a.eachPath(f)
	n.b.eachPath(f)
}
