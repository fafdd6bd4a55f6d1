package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/fieldmap"
)

// Loader reads a configuration. Its zero value reads the file with
// os.ReadFile and no environment.
type Loader struct {
	// Getenv returns a variable's value, like os.Getenv; an empty value
	// counts as unset. When nil, values are looked up in Environ.
	Getenv func(string) string
	// Environ is the environment as KEY=VALUE pairs, like os.Environ().
	// Optional; with it, Load also reports CHATTER_ variables that match no
	// key, such as one naming a list item that does not exist (a typo would
	// otherwise be ignored).
	Environ []string
	// IgnoreEnv are CHATTER_ variables that are not configuration keys
	// (read by the command itself); CHATTER_CONFIG and CHATTER_TEST_* are
	// always ignored.
	IgnoreEnv []string
	// ReadFile reads the config file and the files it names (secrets,
	// mapping, keywords, the sealing key). Defaults to os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// Flags override keys after the environment.
	Flags []Flag

	envMap map[string]string
}

// Load reads the config file at path (optional: "" means defaults and the
// environment only), applies the variables of getenv, the defaults, and
// reads the files the configuration names; then it validates the result.
// See Loader.Load.
func Load(path string, getenv func(string) string, readFile func(string) ([]byte, error)) (*Config, Problems) {
	return Loader{Getenv: getenv, ReadFile: readFile}.Load(path)
}

// Load builds the configuration: defaults, then the file, then the
// environment, then the flags, then the defaults of list items; it reads
// the files named by mapping.file, keywords.file, <secret>_file keys,
// <VAR>_FILE variables and the sealing key file, and validates everything.
//
// It returns every problem found, errors and warnings, in file order. The
// configuration is usable only when the problems hold no error
// (Problems.HasErrors; Problems.Err). It is nil only when the file cannot
// be read or is not YAML (one problem, with the line when YAML says it).
func (l Loader) Load(path string) (*Config, Problems) {
	c := Default()
	c.meta = newMeta()
	d := &decoder{l: &l, meta: c.meta}
	if path != "" {
		d.dir = filepath.Dir(path)
		data, err := l.readFile(path)
		switch {
		case err != nil:
			d.errorf("", 0, fmt.Sprintf("не удалось прочитать файл конфигурации %s: %v", path, err),
				fmt.Sprintf("cannot read the config file %s: %v", path, err))
			return nil, d.probs
		case len(data) > MaxFileBytes:
			d.errorf("", 0, fmt.Sprintf("файл конфигурации больше %d байт", MaxFileBytes),
				fmt.Sprintf("the config file is larger than %d bytes", MaxFileBytes))
			return nil, d.probs
		}
		node, ok := d.parseYAML(data)
		if !ok {
			return nil, d.probs
		}
		if node != nil {
			d.section(node, reflect.ValueOf(c).Elem(), "")
		}
	}
	l.applyEnv(c, d)
	l.applyFlags(c, d)
	c.SetDefaults()
	l.resolveFiles(c, d)
	probs := d.probs
	for _, p := range c.Validate() {
		if p.Severity == SeverityError && c.meta.handled[p.Path] {
			continue // the loader already reported this key
		}
		probs = append(probs, p)
	}
	sortProblems(probs)
	return c, probs
}

func (l *Loader) readFile(path string) ([]byte, error) {
	if l.ReadFile != nil {
		return l.ReadFile(path)
	}
	return os.ReadFile(path)
}

// inDir resolves a path written in the config file against its directory.
func (l *Loader) inDir(dir, p string) string {
	if p == "" || filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// readSecret reads a secret file: its content without the trailing
// newline.
func (l *Loader) readSecret(path string) (string, *textErr) {
	data, err := l.readFile(path)
	if err != nil {
		return "", newTextErr(fmt.Sprintf("не удалось прочитать файл %s: %v", path, err),
			fmt.Sprintf("cannot read file %s: %v", path, err))
	}
	if len(data) > MaxFileBytes {
		return "", newTextErr(fmt.Sprintf("файл %s слишком большой", path), fmt.Sprintf("file %s is too large", path))
	}
	s := strings.TrimRight(string(data), "\r\n")
	if strings.TrimSpace(s) == "" {
		return "", newTextErr(fmt.Sprintf("файл %s пуст", path), fmt.Sprintf("file %s is empty", path))
	}
	return s, nil
}

// resolveFiles reads mapping and keyword files into the configuration and
// the sealing key file into Store.SealingKey.
func (l *Loader) resolveFiles(c *Config, d *decoder) {
	for i := range c.Workspaces {
		w := &c.Workspaces[i]
		wp := fmt.Sprintf("workspaces[%d]", i)
		l.mappingFile(w, wp, d)
		l.keywordsFile(w, wp, d)
		if p := w.Parser.Server.PublicKeyFile; p != "" {
			w.Parser.Server.PublicKeyFile = l.pathFor(d, wp+".parser.server.public_key_file", p)
		}
	}
	l.sealingKey(c, d)
}

// pathFor resolves a path value: against the config file's directory when
// it came from the file, as given when it came from a variable or flag.
func (l *Loader) pathFor(d *decoder, path, value string) string {
	if d.meta.origins[path].env != "" {
		return value
	}
	return l.inDir(d.dir, value)
}

func (l *Loader) mappingFile(w *Workspace, wp string, d *decoder) {
	m := &w.Mapping
	if m.File == "" {
		return
	}
	fp := wp + ".mapping.file"
	o := d.meta.lookup(fp)
	if m.Inline != nil {
		d.add(Problem{Path: fp, Line: o.line, Env: o.env, Severity: SeverityError, Message: chatter.T(
			"заданы и mapping.file, и mapping.inline: оставьте одно", "both mapping.file and mapping.inline are set: keep one")})
		return
	}
	m.File = l.pathFor(d, fp, m.File)
	data, err := l.readFile(m.File)
	if err == nil && len(data) > fieldmap.MaxSpecBytes {
		err = fmt.Errorf("larger than %d bytes", fieldmap.MaxSpecBytes)
	}
	if err != nil {
		d.add(Problem{Path: fp, Line: o.line, Env: o.env, Severity: SeverityError, Message: chatter.T(
			fmt.Sprintf("не удалось прочитать файл сопоставления полей %s: %v", m.File, err),
			fmt.Sprintf("cannot read the field mapping file %s: %v", m.File, err))})
		return
	}
	format := fieldmap.FormatAuto
	switch strings.ToLower(filepath.Ext(m.File)) {
	case ".json":
		format = fieldmap.FormatJSON
	case ".yaml", ".yml":
		format = fieldmap.FormatYAML
	}
	spec, err := fieldmap.ParseSpec(data, format)
	if err != nil {
		lines := map[string]origin{}
		recordSpecLines(lines, data, format, wp+".mapping.inline", m.File)
		for _, t := range specProblems(err) {
			d.add(Problem{Path: fp, File: m.File, Line: specErrorLine(lines, wp+".mapping.inline", t.EN, 0),
				Severity: SeverityError, Message: t})
		}
		return
	}
	recordSpecLines(d.meta.origins, data, format, wp+".mapping.inline", m.File)
	m.Inline = spec
}

func (l *Loader) keywordsFile(w *Workspace, wp string, d *decoder) {
	k := &w.Keywords
	if k.File == "" {
		return
	}
	fp := wp + ".keywords.file"
	o := d.meta.lookup(fp)
	if len(k.Rules) > 0 {
		d.add(Problem{Path: fp, Line: o.line, Env: o.env, Severity: SeverityError, Message: chatter.T(
			"заданы и keywords.file, и keywords.rules: оставьте одно", "both keywords.file and keywords.rules are set: keep one")})
		return
	}
	k.File = l.pathFor(d, fp, k.File)
	data, err := l.readFile(k.File)
	if err == nil && len(data) > MaxFileBytes {
		err = fmt.Errorf("larger than %d bytes", MaxFileBytes)
	}
	if err != nil {
		d.add(Problem{Path: fp, Line: o.line, Env: o.env, Severity: SeverityError, Message: chatter.T(
			fmt.Sprintf("не удалось прочитать файл ключевых слов %s: %v", k.File, err),
			fmt.Sprintf("cannot read the keywords file %s: %v", k.File, err))})
		return
	}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		d.meta.origins[fmt.Sprintf("%s.keywords.rules[%d]", wp, len(k.Rules))] = origin{line: n + 1, file: k.File}
		k.Rules = append(k.Rules, line)
	}
}

// sealingKey reads the sealing key file when no key is given. A missing
// file is not a problem here: the server generates it on first start
// (EnsureSealingKey) and Validate warns about it.
func (l *Loader) sealingKey(c *Config, d *decoder) {
	const keyPath, filePath = "store.sealing_key", "store.sealing_key_file"
	if c.Store.SealingKey != "" {
		if o, explicit := d.meta.origins[filePath]; explicit {
			d.add(Problem{Path: filePath, Line: o.line, Env: o.env, Severity: SeverityError, Message: chatter.T(
				"заданы и store.sealing_key, и store.sealing_key_file: оставьте одно",
				"both store.sealing_key and store.sealing_key_file are set: keep one")})
		}
		return
	}
	if c.Store.SealingKeyFile == "" {
		return
	}
	path := c.SealingKeyPath()
	data, err := l.readFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.meta.sealingKeyMissing = true
	case err != nil:
		o := d.meta.lookup(filePath)
		d.add(Problem{Path: filePath, Line: o.line, Env: o.env, Severity: SeverityError, Message: chatter.T(
			fmt.Sprintf("не удалось прочитать ключ шифрования %s: %v", path, err),
			fmt.Sprintf("cannot read the sealing key %s: %v", path, err))})
	default:
		c.Store.SealingKey = strings.TrimSpace(string(data))
		d.meta.origins[keyPath] = origin{file: path, line: 1}
	}
}

// recordSpecLines records the lines of a YAML spec file's keys.
func recordSpecLines(origins map[string]origin, data []byte, format fieldmap.Format, prefix, file string) {
	if format == fieldmap.FormatJSON {
		return
	}
	var n yaml.Node
	if yaml.Unmarshal(data, &n) == nil && len(n.Content) > 0 {
		recordLines(origins, n.Content[0], prefix, file, 0)
	}
}
