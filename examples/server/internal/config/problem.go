package config

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/chatter"
)

// Severity says whether a Problem stops the server from starting.
type Severity string

// Severities.
const (
	// SeverityError: the configuration is invalid; the server does not start.
	SeverityError Severity = "error"
	// SeverityWarning: the server starts, but something needs attention.
	SeverityWarning Severity = "warning"
)

// Problem is one finding about the configuration.
type Problem struct {
	// Path is the key concerned, as written in the file:
	// "workspaces[0].bots[1].token", "http.addr". Empty for the file as a
	// whole (it does not parse).
	Path string `json:"path,omitempty"`
	// File is the file Line refers to when it is not the config file (a
	// mapping, keywords or secret file).
	File string `json:"file,omitempty"`
	// Line is the 1-based line in the config file (or File); 0 when unknown,
	// for example for a default or a value from the environment.
	Line int `json:"line,omitempty"`
	// Env is the environment variable the value came from, or the flag
	// ("-addr"), when it did not come from a file.
	Env string `json:"env,omitempty"`
	// Message says what is wrong and what to do, in Russian and English.
	Message  chatter.Text `json:"message"`
	Severity Severity     `json:"severity"`
}

// where renders the location: "chatter.yaml:12 workspaces[0].id (CHATTER_…)".
func (p Problem) where() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
	}
	if p.Line > 0 {
		if p.File == "" {
			b.WriteString("line ")
		} else {
			b.WriteString(":")
		}
		b.WriteString(strconv.Itoa(p.Line))
	}
	if p.Path != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(p.Path)
	}
	if p.Env != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString("(" + p.Env + ")")
	}
	return b.String()
}

// Text renders the problem in lang: "ru", "en", or "both" (Russian, then
// English on the next line).
func (p Problem) Text(lang string) string {
	where := p.where()
	prefix := ""
	if where != "" {
		prefix = where + ": "
	}
	mark := "error"
	markRU := "ошибка"
	if p.Severity == SeverityWarning {
		mark, markRU = "warning", "предупреждение"
	}
	switch lang {
	case "en":
		return mark + ": " + prefix + p.Message.In("en")
	case "both":
		return markRU + ": " + prefix + p.Message.In("ru") + "\n    " + mark + ": " + p.Message.In("en")
	}
	return markRU + ": " + prefix + p.Message.In("ru")
}

// Error implements error with the English text.
func (p Problem) Error() string { return "config: " + p.Text("en") }

// Problems is a list of problems, errors and warnings mixed, in file order.
// It implements error; an empty Problems is not an error (use Err).
type Problems []Problem

// Error renders every problem in Russian and English, one after another.
func (ps Problems) Error() string {
	if len(ps) == 0 {
		return "config: no problems"
	}
	var b strings.Builder
	b.WriteString("config: ")
	b.WriteString(ps.summary().String())
	for _, p := range ps {
		b.WriteString("\n  ")
		b.WriteString(p.Text("both"))
	}
	return b.String()
}

// Err returns ps as an error when it holds at least one error, else nil
// (warnings alone are not an error).
func (ps Problems) Err() error {
	if ps.HasErrors() {
		return ps
	}
	return nil
}

// HasErrors reports whether any problem is an error.
func (ps Problems) HasErrors() bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return p.Severity == SeverityError })
}

// Errors returns the errors.
func (ps Problems) Errors() Problems { return ps.only(SeverityError) }

// Warnings returns the warnings.
func (ps Problems) Warnings() Problems { return ps.only(SeverityWarning) }

func (ps Problems) only(s Severity) Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == s {
			out = append(out, p)
		}
	}
	return out
}

// Paths returns the paths of the problems, in order.
func (ps Problems) Paths() []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Path
	}
	return out
}

func (ps Problems) summary() chatter.Text {
	e, w := len(ps.Errors()), len(ps.Warnings())
	switch {
	case e == 0 && w == 0:
		return chatter.T("проблем не найдено", "no problems found")
	case e == 0:
		return chatter.T(fmt.Sprintf("ошибок нет, предупреждений: %d", w), fmt.Sprintf("no errors, %d warning(s)", w))
	}
	return chatter.T(fmt.Sprintf("ошибок: %d, предупреждений: %d — сервер не запустится", e, w),
		fmt.Sprintf("%d error(s), %d warning(s): the server will not start", e, w))
}

// Render writes one problem per line (two for "both") in lang ("ru", "en"
// or "both") for a terminal, then a summary line.
func (ps Problems) Render(lang string) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Text(lang))
		b.WriteString("\n")
	}
	s := ps.summary()
	switch lang {
	case "en":
		b.WriteString(s.In("en"))
	case "both":
		b.WriteString(s.In("ru") + "\n" + s.In("en"))
	default:
		b.WriteString(s.In("ru"))
	}
	b.WriteString("\n")
	return b.String()
}

// Check is `config check`: it loads the configuration like the server
// would, writes every problem with its path to w in lang ("ru", "en" or
// "both"), ending with a summary, and reports whether there are errors (the
// command then exits with a non-zero status).
func Check(w io.Writer, l Loader, path, lang string) (hasErrors bool, err error) {
	_, ps := l.Load(path)
	if _, err := io.WriteString(w, ps.Render(lang)); err != nil {
		return ps.HasErrors(), err
	}
	return ps.HasErrors(), nil
}

// sortProblems orders problems by file, line, then path; the sort is stable
// so problems of one key keep their order.
func sortProblems(ps Problems) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		// problems without a line (defaults, environment) go last
		la, lb := a.Line, b.Line
		if la == 0 {
			la = 1 << 30
		}
		if lb == 0 {
			lb = 1 << 30
		}
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(la, lb), cmp.Compare(a.Path, b.Path))
	})
}
