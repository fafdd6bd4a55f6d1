package fieldmap

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
)

var (
	quotedRE   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|«[^»]*»|'[^']*'|` + "`[^`]*`")
	emailRE    = regexp.MustCompile(`\S+@\S+`)
	pathRE     = regexp.MustCompile(`[A-Za-z_$][A-Za-z0-9_$\-]*(?:[.\[][A-Za-z0-9_$\-\]\[]+)+`)
	latinRE    = regexp.MustCompile(`[A-Za-z][A-Za-z0-9_\-]*`)
	cyrillicRE = regexp.MustCompile(`\p{Cyrillic}`)
)

// latinOK are the Latin words a Russian text may use: keys, functions,
// types, codes and names of things.
func latinOK() map[string]bool {
	ok := map[string]bool{}
	for _, w := range append(append(specKeys(), FuncNames()...),
		"YAML", "JSON", "UTF-8", "UTF", "amoCRM", "Chatter", "WithSchema", "WithRecordSchema", "RecordSchema",
		"http", "https", "yaml", "json", "common", "service_message", "Go", "E", "MOB", "WORK", "true", "false",
		"alias", "schema") {
		ok[w] = true
	}
	for _, t := range amocrm.FieldTypes() {
		ok[string(t)] = true
		keys, _ := objectKeys(t)
		for _, k := range keys {
			ok[k] = true
		}
	}
	return ok
}

// checkOneLanguage fails when the Russian text has English words or the
// English text Russian ones (quoted names, paths and keys aside).
func checkOneLanguage(t *testing.T, what string, tx Text) {
	t.Helper()
	ok := latinOK()
	ru := pathRE.ReplaceAllString(emailRE.ReplaceAllString(quotedRE.ReplaceAllString(tx.RU, ""), ""), "")
	for _, w := range latinRE.FindAllString(ru, -1) {
		if !ok[w] && !ok[strings.ToLower(w)] {
			t.Errorf("%s: Russian text has the English word %q: %s", what, w, tx.RU)
			break
		}
	}
	if en := quotedRE.ReplaceAllString(tx.EN, ""); cyrillicRE.MatchString(en) {
		t.Errorf("%s: English text has Russian: %s", what, tx.EN)
	}
	if tx.RU == "" || tx.EN == "" {
		t.Errorf("%s: a language is missing: %+v", what, tx)
	}
}

// Every problem of ParseSpec and Compile says the same in each language,
// without mixing them.
func TestMessagesOneLanguage(t *testing.T) {
	schema := loadSchema(t)
	specs := []string{
		"lead:\n  name: x\n  nam: y\n",
		"lead:\n  name: x\n  fields:\n    - {id: 1, type: text, value: {from: a, const: 1}}\n",
		"lead:\n  name: x\n  fields:\n    - {id: 1, type: text, max_length: abc}\n",
		"lead:\n  name: x\n   bad: 1\n",
		"a: 1\na: 2\n",
		"lead: {name: [a]}",
		"lead: {name: x, responsible: {round_robin: [-1]}}",
		"lead: {name: x, pipeline: {id: 1, foo: 2}}",
		`{"lead": {"name": "x",, }}`,
		`{"lead": {"name": "x"`,
		`{"lead": {"name": "x"}} {}`,
		`{"lead": {"name": 5, "tags": {"a": 1}}}`,
		"\t- x",
		"lead: {name: \"a\\qb\"}",
		"version: 7\ntimezone: Mars/Olympus\nlead:\n  name: '{{ text | nope }} {{ a | truncate x }} {{ b | date \"zz\" }} {{ c | match \"(\" }} {{ d | lookup none }}'\n" +
			"  price: '{{ text | replace \"\" \"y\" }} {{ x | match \"a\" 3 }} {{ | }} {{ text }}}} {{ \"abc }}'\n" +
			"  tags: ['{{ a | truncate 1 \"…\" }}', '{{ a | default }}', '{{ a | eq 1 2 }}', '{{ a | date \"date\" \"+99\" }}']\n" +
			"  pipeline: [{when: 'a &&', name: Нет такой}, {round_robin: [1]}, {}]\n" +
			"  status: [{name: Нет такого, email: a@b.c}]\n" +
			"  responsible: [{name: Уволенный}, {email: nobody@example.com}, {name: Никто}]\n" +
			"  fields:\n" +
			"    - {name: Источникк, value: x}\n" +
			"    - {name: Источник, value: Телеграм}\n" +
			"    - {name: Источник, values: [a, b]}\n" +
			"    - {name: Регион, object: {a: b}}\n" +
			"    - {name: Текст заявки, type: numeric, value: x, enum: WORK}\n" +
			"    - {id: 9, code: X, value: x}\n" +
			"    - {id: 1, value: x, max_length: -1}\n" +
			"    - {id: 2, type: weird, value: x}\n" +
			"    - {id: 3, type: smart_address, object: {nope: x}}\n" +
			"    - {id: 4, type: text, objects: [{a: b}]}\n" +
			"    - {id: 5, type: text}\n" +
			"    - {id: 6, type: text, value: {from: a..b}}\n" +
			"    - {id: 7, type: text, value: {const: x, lookup: nope}}\n" +
			"contact:\n  name: x\n  fields:\n    - {code: PHONE, value: x, enum: NOPE}\n" +
			"note: {type: weird, text: x, when: '(a'}\n",
		"lead: {name: '{{ a | gt }}'}\nnote: {}\n",
		"lookups: {t: {a: [1]}}\nlead: {name: '{{ x }}'}\n",
	}
	n := 0
	for _, in := range specs {
		spec, err := ParseSpec([]byte(in), FormatAuto)
		if err != nil {
			ps := ProblemsOf(err)
			require.NotEmpty(t, ps, "%q: %v", in, err)
			for _, p := range ps {
				checkOneLanguage(t, string(p.Code)+" "+p.Path, p.Message)
				checkOneLanguage(t, string(p.Code)+" remedy", p.Remedy)
				n++
			}
			continue
		}
		for _, sch := range []*Schema{nil, schema} {
			var opts []Option
			if sch != nil {
				opts = append(opts, WithSchema(sch))
			}
			_, err := Compile(spec, opts...)
			require.Error(t, err, "%q", in)
			for _, p := range ProblemsOf(err) {
				checkOneLanguage(t, string(p.Code)+" "+p.Path, p.Message)
				if !p.Remedy.IsZero() {
					checkOneLanguage(t, string(p.Code)+" remedy", p.Remedy)
				}
				n++
			}
		}
	}
	require.Greater(t, n, 60, "the corpus should exercise many messages")
}
