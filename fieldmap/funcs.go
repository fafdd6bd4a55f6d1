package fieldmap

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// FuncNames lists the template functions in documentation order.
func FuncNames() []string {
	return []string{
		"trim", "lower", "upper", "capitalize", "truncate", "default", "join", "first", "len", "replace",
		"date", "unix", "number", "phone", "email", "find_phone", "find_email", "find_amount", "match", "lookup",
		"eq", "ieq", "ne", "in", "contains", "icontains", "prefix", "suffix", "matches", "gt", "ge", "lt", "le",
		"empty", "not",
	}
}

func arity(name string, args []operand, lo, hi int) error {
	if len(args) < lo || len(args) > hi {
		switch {
		case lo == hi:
			return errT("%[1]s: нужно аргументов: %[2]d, передано: %[3]d", "%[1]s takes %[2]d argument(s), got %[3]d", name, lo, len(args))
		case hi > 100:
			return errT("%[1]s: нужно аргументов: не меньше %[2]d, передано: %[3]d", "%[1]s takes at least %[2]d argument(s), got %[3]d", name, lo, len(args))
		default:
			return errT("%[1]s: нужно аргументов: от %[2]d до %[3]d, передано: %[4]d", "%[1]s takes %[2]d to %[3]d arguments, got %[4]d", name, lo, hi, len(args))
		}
	}
	return nil
}

func litString(name string, a operand) (string, error) {
	if a.isPath || a.lit.k != kString {
		return "", errT("%s: аргумент должен быть строкой в кавычках", "%s: argument must be a quoted string", name)
	}
	return a.lit.s, nil
}

func litInt(name string, a operand) (int, error) {
	if a.isPath || a.lit.k != kNumber || a.lit.f != math.Trunc(a.lit.f) || a.lit.f < 0 || a.lit.f > 1e6 {
		return 0, errT("%s: аргумент должен быть целым числом", "%s: argument must be a whole number", name)
	}
	return int(a.lit.f), nil
}

// namedLayouts are the date layouts that may be given by name.
func namedLayout(s string) string {
	switch s {
	case "date":
		return "02.01.2006"
	case "datetime":
		return "02.01.2006 15:04"
	case "time":
		return "15:04"
	case "iso", "iso_date":
		return "2006-01-02"
	case "rfc3339":
		return time.RFC3339
	}
	return s
}

// parseZone accepts "UTC", "+03:00", "-0530" and IANA names (loaded at
// compile time, never during Apply).
func parseZone(s string) (*time.Location, error) {
	if s == "" || strings.EqualFold(s, "utc") || s == "Z" {
		return time.UTC, nil
	}
	if s[0] == '+' || s[0] == '-' {
		t, err := time.Parse("-07:00", s)
		if err != nil {
			t, err = time.Parse("-0700", s)
		}
		if err != nil {
			return nil, errT("неверное смещение часового пояса %q (пример: +03:00)", "bad zone offset %q (want +03:00)", s)
		}
		_, off := t.Zone()
		return time.FixedZone(s, off), nil
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, errT("неизвестный часовой пояс %q", "unknown time zone %q", s)
	}
	return loc, nil
}

func bad(fn, ru, en string) *evalError { return &evalError{fn: fn, msg: T(ru, en)} }

// Regular expressions of the find_* functions.
const (
	rePhone  = `\+?[\d(][\d\s\-().\x{00a0}]{6,22}\d`
	reEmail  = `[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}`
	reAmount = `(?i)(бюджет|цена|стоимость|сумма|оплата|оплачу|заплачу|budget|price|cost)?[^\d\n]{0,16}?` +
		`([$€₽])?\s?(\d{1,3}(?:[ \x{00a0}\x{202f}]\d{3})+|\d+)(?:[.,](\d{1,2}))?\s?` +
		`(?:(млн|миллион\p{L}*|тыс\.?|тысяч\p{L}*|т\.р\.?|к|k|m)(?:[^\p{L}]|$))?\s*` +
		`(₽|руб\p{L}*\.?|р\.|rub|usd|eur|долл\p{L}*|евро|\$|€)?`
)

func newCall(name string, pos int, args []operand, env *compileEnv) (call, error) {
	c := call{name: name, args: args, pos: pos}
	fail := func(err error) (call, error) { return call{}, atCol(pos+1, err) }
	var err error
	switch name {
	case "trim", "lower", "upper", "capitalize", "unix", "number", "phone", "email", "first", "len", "empty", "not",
		"find_phone", "find_email", "find_amount":
		if err = arity(name, args, 0, 0); err != nil {
			return fail(err)
		}
	}
	switch name {
	case "trim":
		c.fn = fnTrim
	case "lower":
		c.fn = func(_ *call, in value, _ Record) (value, error) { return mapText(in, strings.ToLower), nil }
	case "upper":
		c.fn = func(_ *call, in value, _ Record) (value, error) { return mapText(in, strings.ToUpper), nil }
	case "capitalize":
		c.fn = func(_ *call, in value, _ Record) (value, error) { return mapText(in, upperFirst), nil }
	case "truncate":
		if err = arity(name, args, 1, 2); err != nil {
			return fail(err)
		}
		if c.n, err = litInt(name, args[0]); err != nil {
			return fail(err)
		}
		if len(args) == 2 {
			if c.s, err = litString(name, args[1]); err != nil {
				return fail(err)
			}
			if runeLen(c.s) >= c.n {
				return fail(errT("truncate: окончание не короче длины", "truncate: suffix is not shorter than the length"))
			}
		}
		c.fn = fnTruncate
	case "default":
		if err = arity(name, args, 1, 1); err != nil {
			return fail(err)
		}
		c.fn = func(c *call, in value, rec Record) (value, error) {
			if in.isEmpty() {
				return c.args[0].eval(rec), nil
			}
			return in, nil
		}
	case "join":
		if err = arity(name, args, 0, 1); err != nil {
			return fail(err)
		}
		c.s = ", "
		if len(args) == 1 {
			if c.s, err = litString(name, args[0]); err != nil {
				return fail(err)
			}
		}
		c.fn = fnJoin
	case "first":
		c.fn = func(_ *call, in value, _ Record) (value, error) {
			if in.k != kList {
				return in, nil
			}
			var buf [1]value
			for _, it := range in.items(buf[:0]) {
				return it, nil
			}
			return value{}, nil
		}
	case "len":
		c.fn = func(_ *call, in value, _ Record) (value, error) {
			switch in.k {
			case kList:
				return numValue(float64(in.listLen())), nil
			case kNull:
				return numValue(0), nil
			}
			return numValue(float64(runeLen(in.text()))), nil
		}
	case "replace":
		if err = arity(name, args, 2, 2); err != nil {
			return fail(err)
		}
		if c.s, err = litString(name, args[0]); err != nil {
			return fail(err)
		}
		if c.s == "" {
			return fail(errT("replace: заменяемый текст пуст", "replace: the text to replace is empty"))
		}
		if c.s2, err = litString(name, args[1]); err != nil {
			return fail(err)
		}
		c.fn = func(c *call, in value, _ Record) (value, error) {
			if in.k == kNull {
				return in, nil
			}
			return strValue(strings.ReplaceAll(in.text(), c.s, c.s2)), nil
		}
	case "date":
		if err = arity(name, args, 1, 2); err != nil {
			return fail(err)
		}
		var layout string
		if layout, err = litString(name, args[0]); err != nil {
			return fail(err)
		}
		c.s = namedLayout(layout)
		if !strings.ContainsAny(c.s, "0123456789") {
			return fail(errT("date: %q — не формат (используйте date, datetime, time, iso, rfc3339 или формат Go, например 02.01.2006)", "date: %q is not a layout (use date, datetime, time, iso, rfc3339 or a Go layout such as 02.01.2006)", layout))
		}
		c.loc = env.loc
		if len(args) == 2 {
			var zone string
			if zone, err = litString(name, args[1]); err != nil {
				return fail(err)
			}
			if c.loc, err = parseZone(zone); err != nil {
				return fail(err)
			}
		}
		c.fn = fnDate
	case "unix":
		c.loc = env.loc
		c.fn = func(c *call, in value, _ Record) (value, error) {
			if in.isEmpty() {
				return value{}, nil
			}
			t, ok := in.asTime(c.loc)
			if !ok {
				return value{}, bad("unix", "значение "+quote(in)+" — не дата", "value "+quote(in)+" is not a date")
			}
			return numValue(float64(t.Unix())), nil
		}
	case "number":
		c.fn = func(_ *call, in value, _ Record) (value, error) {
			if in.isEmpty() {
				return value{}, nil
			}
			f, ok := in.number()
			if !ok {
				return value{}, bad("number", "значение "+quote(in)+" — не число", "value "+quote(in)+" is not a number")
			}
			return numValue(f), nil
		}
	case "phone":
		c.fn = func(_ *call, in value, _ Record) (value, error) {
			if in.isEmpty() {
				return value{}, nil
			}
			p, ok := NormalizePhone(in.text())
			if !ok {
				return value{}, bad("phone", "значение "+quote(in)+" — не номер телефона", "value "+quote(in)+" is not a phone number")
			}
			return strValue(p), nil
		}
	case "email":
		c.re, _ = env.regexp(`^` + reEmail + `$`)
		c.fn = func(c *call, in value, _ Record) (value, error) {
			if in.isEmpty() {
				return value{}, nil
			}
			s := strings.TrimSpace(in.text())
			if !c.re.MatchString(s) {
				return value{}, bad("email", "значение "+quote(in)+" — не адрес email", "value "+quote(in)+" is not an email address")
			}
			return strValue(strings.ToLower(s)), nil
		}
	case "find_phone":
		c.re, _ = env.regexp(rePhone)
		c.fn = func(c *call, in value, _ Record) (value, error) {
			return findPhone(c.re, in.text()), nil
		}
	case "find_email":
		c.re, _ = env.regexp(reEmail)
		c.fn = func(c *call, in value, _ Record) (value, error) {
			if m := c.re.FindString(in.text()); m != "" {
				return strValue(strings.ToLower(m)), nil
			}
			return value{}, nil
		}
	case "find_amount":
		c.re, _ = env.regexp(reAmount)
		c.fn = func(c *call, in value, _ Record) (value, error) {
			if f, ok := findAmount(c.re, in.text()); ok {
				return numValue(f), nil
			}
			return value{}, nil
		}
	case "match", "matches":
		hi := 2
		if name == "matches" {
			hi = 1
		}
		if err = arity(name, args, 1, hi); err != nil {
			return fail(err)
		}
		var expr string
		if expr, err = litString(name, args[0]); err != nil {
			return fail(err)
		}
		if c.re, err = env.regexp(expr); err != nil {
			return fail(errS(fmt.Sprintf("%s: неверное регулярное выражение %q", name, expr), fmt.Sprintf("%s: bad regular expression: %v", name, err)))
		}
		if name == "matches" {
			c.fn = func(c *call, in value, _ Record) (value, error) { return boolValue(c.re.MatchString(in.text())), nil }
			break
		}
		c.n = -1
		if len(args) == 2 {
			if c.n, err = litInt(name, args[1]); err != nil {
				return fail(err)
			}
			if c.n > c.re.NumSubexp() {
				return fail(errT("match: в выражении нет группы %d", "match: the expression has no group %d", c.n))
			}
		} else if c.re.NumSubexp() > 0 {
			c.n = 1
		} else {
			c.n = 0
		}
		c.fn = fnMatch
	case "lookup":
		if err = arity(name, args, 1, 1); err != nil {
			return fail(err)
		}
		var tname string
		if !args[0].isPath && args[0].lit.k == kString {
			tname = args[0].lit.s
		} else if args[0].isPath {
			tname = args[0].path // lookup cities  (bare table name)
		} else {
			return fail(errT("lookup: аргумент должен быть именем таблицы", "lookup: argument must be a table name"))
		}
		c.table = env.tables[tname]
		if c.table == nil {
			return fail(errT("lookup: нет таблицы %q в lookups", "lookup: no table %q in the spec's lookups", tname))
		}
		c.fn = fnLookup
	case "eq", "ieq", "ne", "contains", "icontains", "prefix", "suffix":
		if err = arity(name, args, 1, 1); err != nil {
			return fail(err)
		}
		c.s = name
		c.fn = fnCompare
	case "in":
		if err = arity(name, args, 1, 1000); err != nil {
			return fail(err)
		}
		c.fn = func(c *call, in value, rec Record) (value, error) {
			for i := range c.args {
				if equalValues(in, c.args[i].eval(rec)) {
					return boolValue(true), nil
				}
			}
			return boolValue(false), nil
		}
	case "gt", "ge", "lt", "le":
		if err = arity(name, args, 1, 1); err != nil {
			return fail(err)
		}
		c.s = name
		c.fn = fnOrder
	case "empty":
		c.fn = func(_ *call, in value, _ Record) (value, error) { return boolValue(in.isEmpty()), nil }
	case "not":
		c.fn = func(_ *call, in value, _ Record) (value, error) { return boolValue(!in.truthy()), nil }
	default:
		return fail(errT("неизвестная функция %q (похожие: %s)", "unknown function %q (known: %s)", name, strings.Join(closest(name, FuncNames(), 3), ", ")))
	}
	return c, nil
}

func quote(v value) string {
	s, _ := truncateRunes(v.text(), 40)
	return strconv.Quote(s)
}

func mapText(in value, f func(string) string) value {
	switch in.k {
	case kNull:
		return in
	case kString:
		out := f(in.s)
		if out == in.s {
			return in
		}
		return strValue(out)
	}
	return strValue(f(in.text()))
}

func fnTrim(_ *call, in value, _ Record) (value, error) {
	if in.k != kString {
		if in.k == kNull {
			return in, nil
		}
		return strValue(strings.TrimSpace(in.text())), nil
	}
	s := strings.TrimSpace(in.s)
	if len(s) == len(in.s) {
		return in, nil
	}
	return strValue(s), nil
}

func fnTruncate(c *call, in value, _ Record) (value, error) {
	if in.k == kNull {
		return in, nil
	}
	s := in.text()
	if runeLen(s) <= c.n {
		if in.k == kString {
			return in, nil
		}
		return strValue(s), nil
	}
	cut, _ := truncateRunes(s, c.n-runeLen(c.s))
	return strValue(strings.TrimRightFunc(cut, unicode.IsSpace) + c.s), nil
}

func fnJoin(c *call, in value, _ Record) (value, error) {
	if in.k != kList {
		return in, nil
	}
	var buf [8]value
	var b strings.Builder
	n := 0
	for _, it := range in.items(buf[:0]) {
		s := it.text()
		if s == "" {
			continue
		}
		if n > 0 {
			b.WriteString(c.s)
		}
		b.WriteString(s)
		n++
	}
	return strValue(b.String()), nil
}

func fnDate(c *call, in value, _ Record) (value, error) {
	if in.isEmpty() {
		return value{}, nil
	}
	t, ok := in.asTime(c.loc)
	if !ok {
		return value{}, bad("date", "значение "+quote(in)+" — не дата", "value "+quote(in)+" is not a date")
	}
	return strValue(t.In(c.loc).Format(c.s)), nil
}

func fnMatch(c *call, in value, _ Record) (value, error) {
	if in.k == kNull {
		return in, nil
	}
	idx := c.re.FindStringSubmatchIndex(in.text())
	if idx == nil || idx[2*c.n] < 0 {
		return value{}, nil
	}
	s := in.text()
	return strValue(s[idx[2*c.n]:idx[2*c.n+1]]), nil
}

func fnLookup(c *call, in value, _ Record) (value, error) {
	return c.table.lookup(in), nil
}

// lookup maps in through the table: exact key, then trimmed and
// case-insensitive, then the "*" fallback, else null.
func (t *lookupTable) lookup(in value) value {
	if in.k != kNull {
		key := in.text()
		if v, ok := t.exact[key]; ok {
			return v
		}
		if v, ok := t.folded[strings.ToLower(strings.TrimSpace(key))]; ok {
			return v
		}
	}
	if t.fallback != nil {
		return *t.fallback
	}
	return value{}
}

func equalValues(a, b value) bool {
	if a.k == kNumber || b.k == kNumber {
		fa, oka := a.number()
		fb, okb := b.number()
		if oka && okb {
			return fa == fb
		}
	}
	if a.k == kBool || b.k == kBool {
		ba, oka := a.asBool()
		bb, okb := b.asBool()
		if oka && okb {
			return ba == bb
		}
	}
	return a.text() == b.text()
}

func fnCompare(c *call, in value, rec Record) (value, error) {
	arg := c.args[0].eval(rec)
	switch c.s {
	case "eq":
		return boolValue(equalValues(in, arg)), nil
	case "ne":
		return boolValue(!equalValues(in, arg)), nil
	}
	s, sub := in.text(), arg.text()
	switch c.s {
	case "ieq":
		return boolValue(strings.EqualFold(strings.TrimSpace(s), strings.TrimSpace(sub))), nil
	case "contains":
		return boolValue(strings.Contains(s, sub)), nil
	case "icontains":
		return boolValue(containsFold(s, sub)), nil
	case "prefix":
		return boolValue(strings.HasPrefix(s, sub)), nil
	}
	return boolValue(strings.HasSuffix(s, sub)), nil
}

func fnOrder(c *call, in value, rec Record) (value, error) {
	a, oka := in.number()
	b, okb := c.args[0].eval(rec).number()
	if !oka || !okb {
		return boolValue(false), nil
	}
	switch c.s {
	case "gt":
		return boolValue(a > b), nil
	case "ge":
		return boolValue(a >= b), nil
	case "lt":
		return boolValue(a < b), nil
	}
	return boolValue(a <= b), nil
}

// NormalizePhone converts a phone number to E.164 ("+79161234567").
// Separators (spaces, dashes, dots, parentheses) are dropped; "00" is read as
// "+". Numbers without a country code are Russian: 8XXXXXXXXXX and
// 7XXXXXXXXXX become +7XXXXXXXXXX, and ten digits starting with 3, 4, 8 or 9
// get +7. Other numbers of 11–15 digits are taken as international. ok is
// false for anything else (letters, extensions, too few or too many digits).
func NormalizePhone(s string) (string, bool) {
	var buf [24]byte
	d := buf[:0]
	plus := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			if len(d) == cap(d) {
				return "", false
			}
			d = append(d, byte(r))
		case r == '+':
			if plus || len(d) > 0 {
				return "", false
			}
			plus = true
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '\u00a0' || r == '\t' || r == '\u2011' || r == '\u2013':
		default:
			return "", false
		}
	}
	if !plus && len(d) > 2 && d[0] == '0' && d[1] == '0' {
		d, plus = d[2:], true
	}
	n := len(d)
	var out [16]byte
	o := append(out[:0], '+')
	switch {
	case plus:
		if n < 8 || n > 15 || d[0] == '0' {
			return "", false
		}
		if d[0] == '8' && n == 11 && d[1] == '9' { // "+8 9xx" is a Russian mobile written with 8
			o = append(o, '7')
			d = d[1:]
		}
		o = append(o, d...)
	case n == 11 && (d[0] == '8' || d[0] == '7'):
		o = append(o, '7')
		o = append(o, d[1:]...)
	case n == 10 && (d[0] == '3' || d[0] == '4' || d[0] == '8' || d[0] == '9'):
		o = append(o, '7')
		o = append(o, d...)
	case n >= 11 && n <= 15 && d[0] != '0':
		o = append(o, d...)
	default:
		return "", false
	}
	if string(o) == s {
		return s, true // already E.164: no copy
	}
	return string(o), true
}

func findPhone(re *regexp.Regexp, s string) value {
	for _, m := range re.FindAllString(s, 8) {
		if p, ok := NormalizePhone(strings.TrimSpace(m)); ok {
			return strValue(p)
		}
	}
	return value{}
}

// findAmount finds a money amount in free text: a number with a currency
// sign or word (₽, руб, $, usd, €…), a multiplier (к, тыс, млн) or a keyword
// before it (бюджет, цена, стоимость, сумма, budget, price). Bare numbers
// ("2 менеджера") are not amounts.
func findAmount(re *regexp.Regexp, s string) (float64, bool) {
	for _, m := range re.FindAllStringSubmatch(s, 16) {
		keyword, pre, whole, frac, mult, cur := m[1], m[2], m[3], m[4], m[5], m[6]
		if keyword == "" && pre == "" && mult == "" && cur == "" {
			continue
		}
		f, ok := parseNumber(whole)
		if !ok {
			continue
		}
		if frac != "" {
			fr, _ := strconv.ParseFloat("0."+frac, 64)
			f += fr
		}
		switch lm := strings.ToLower(strings.TrimSuffix(mult, ".")); {
		case lm == "":
		case lm == "к" || lm == "k" || strings.HasPrefix(lm, "тыс") || strings.HasPrefix(lm, "т.р"):
			f *= 1e3
		default:
			f *= 1e6
		}
		return f, true
	}
	return 0, false
}
