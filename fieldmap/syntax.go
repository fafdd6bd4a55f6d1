package fieldmap

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// yamlLineRE finds the line yaml.v3 names in its errors ("yaml: line 3: …",
// "line 5: mapping key … already defined").
var yamlLineRE = regexp.MustCompile(`\bline (\d+): (.*)`)

// yamlSyntax is the problem of a YAML text that does not parse. yaml.v3
// names only the line of a syntax error; the column is that of the line's
// first character.
func yamlSyntax(err error, li *lineIndex) error {
	at := Pos{Line: 1, Column: 1}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		at = li.lineStart(n)
	}
	return specSyntax(err, at)
}

// yamlRU are the Russian texts of the yaml.v3 errors a hand-written spec
// meets most.
var yamlRU = []struct{ en, ru string }{
	{"mapping values are not allowed in this context", "двоеточие здесь не допускается (ключ: значение не на своём месте)"},
	{"did not find expected key", "не найден ожидаемый ключ (проверьте отступы)"},
	{"did not find expected node content", "не найдено ожидаемое значение"},
	{"did not find expected '-' indicator", "не найден ожидаемый элемент списка «-» (проверьте отступы)"},
	{"did not find expected ',' or ']'", "не найдена ожидаемая «,» или «]»"},
	{"did not find expected ',' or '}'", "не найдена ожидаемая «,» или «}»"},
	{"could not find expected ':'", "не найдено ожидаемое «:»"},
	{"found character that cannot start any token", "символ, с которого не может начинаться значение (например, табуляция)"},
	{"found unexpected end of stream", "текст оборван (не закрыта кавычка или скобка)"},
	{"found unknown escape character", "неизвестная экранированная последовательность в строке в кавычках"},
	{"found a tab character that violates indentation", "табуляция в отступе (используйте пробелы)"},
	{"found undefined alias", "ссылка на неопределённый якорь (*alias)"},
	{"block sequence entries are not allowed in this context", "элемент списка «-» здесь не допускается"},
	{"already defined", "ключ повторяется"},
	{"excessive aliasing", "слишком много ссылок на якоря (*alias)"},
	{"control characters are not allowed", "управляющие символы не допускаются"},
	{"invalid leading UTF-8 octet", "текст не в кодировке UTF-8"},
	{"incomplete UTF-8 octet sequence", "текст не в кодировке UTF-8"},
	{"invalid trailing UTF-8 octet", "текст не в кодировке UTF-8"},
}

// syntaxRU is the Russian text of a ParseSpec error: a textError's own,
// a translation of encoding/json's and yaml.v3's errors, or a sentence
// that names what failed without its English details.
func syntaxRU(err error) string {
	var te *textError
	if errors.As(err, &te) {
		return te.t.RU
	}
	msg := err.Error()
	if key, ok := unknownFieldKey(msg); ok {
		return fmt.Sprintf("неизвестный ключ %q", key)
	}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		what := fmt.Sprintf("ожидается %s, а не %s", kindRU(ute.Type.Kind().String(), ute.Type.String()), valueRU(ute.Value))
		if ute.Field != "" {
			return "ключ " + ute.Field + ": " + what
		}
		return what
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		if rest, ok := strings.CutPrefix(se.Error(), "invalid character "); ok {
			if q, _, ok := strings.Cut(rest, " "); ok {
				return "синтаксическая ошибка JSON: недопустимый символ " + q
			}
		}
		return "синтаксическая ошибка JSON"
	}
	if strings.HasPrefix(msg, "yaml:") {
		detail := "текст не разбирается как YAML"
		for _, t := range yamlRU {
			if strings.Contains(msg, t.en) {
				detail = t.ru
				break
			}
		}
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			return fmt.Sprintf("синтаксическая ошибка YAML в строке %s: %s", m[1], detail)
		}
		return "синтаксическая ошибка YAML: " + detail
	}
	return "описание не разбирается (подробности в английском тексте)"
}

// kindRU names a Go type a spec value decodes into.
func kindRU(kind, typ string) string {
	switch kind {
	case "struct", "map":
		return "объект (ключ: значение)"
	case "slice", "array":
		return "список"
	case "string":
		return "строка"
	case "bool":
		return "логическое значение (true/false)"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "целое число"
	case "float32", "float64":
		return "число"
	}
	return "значение типа " + typ
}

// valueRU names a JSON value kind of encoding/json's errors ("string",
// "number -1", "object", …).
func valueRU(v string) string {
	kind, rest, _ := strings.Cut(v, " ")
	var out string
	switch kind {
	case "string":
		out = "строка"
	case "number":
		out = "число"
	case "object":
		out = "объект"
	case "array":
		out = "список"
	case "bool":
		out = "логическое значение"
	default:
		return "«" + v + "»"
	}
	if rest != "" {
		out += " " + rest
	}
	return out
}
