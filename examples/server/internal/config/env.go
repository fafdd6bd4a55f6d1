package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/fieldmap"
)

// EnvPrefix starts every configuration variable.
const EnvPrefix = "CHATTER"

// EnvConfig is the variable naming the config file (the -config flag's
// default). Load does not read it; it is not reported as unknown.
const EnvConfig = "CHATTER_CONFIG"

// leaf is one single-value key of a loaded configuration, with its path and
// variable name.
type leaf struct {
	path string
	env  string
	v    reflect.Value
	f    *fieldInfo
}

// envName turns a key or an id into its variable form: upper case, every
// character other than A-Z and 0-9 replaced by '_'.
func envName(s string) string {
	b := []byte(strings.ToUpper(s))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// leaves lists every single-value key of c. List items are included as
// they are: items of lists whose items have an id are named by the id
// (items without one, and the second item with an id already seen, are
// left out: validation reports them), other items by their position.
func leaves(c *Config) []leaf {
	var out []leaf
	walkLeaves(reflect.ValueOf(c).Elem(), "", EnvPrefix, &out, nil)
	return out
}

// idClash is two items of one list whose different ids have the same
// variable form.
type idClash struct {
	path, id, other, env string
}

func walkLeaves(v reflect.Value, path, env string, out *[]leaf, clashes *[]idClash) {
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		fp, fe := joinPath(path, f.key), env+"_"+envName(f.key)
		switch t := fv.Type(); {
		case t == specType:
			*out = append(*out, leaf{path: fp, env: fe, v: fv, f: f})
		case isNested(t):
			walkLeaves(fv, fp, fe, out, clashes)
		case isItemList(t):
			ids := map[string]string{} // variable form → id
			for i := range fv.Len() {
				item := fv.Index(i)
				ip := fmt.Sprintf("%s[%d]", fp, i)
				seg := strconv.Itoa(i)
				if id, hasID := idOf(item); hasID {
					if id == "" {
						continue
					}
					seg = envName(id)
					if other, dup := ids[seg]; dup {
						if other != id && clashes != nil {
							*clashes = append(*clashes, idClash{path: ip + ".id", id: id, other: other, env: fe + "_" + seg})
						}
						continue
					}
					ids[seg] = id
				}
				walkLeaves(item, ip, fe+"_"+seg, out, clashes)
			}
		default:
			*out = append(*out, leaf{path: fp, env: fe, v: fv, f: f})
		}
	}
}

// setFromText sets a leaf from a variable or flag value.
func setFromText(lf leaf, s string) *textErr {
	t := lf.v.Type()
	switch {
	case t == specType:
		spec, err := fieldmap.ParseSpec([]byte(s), fieldmap.FormatAuto)
		if err != nil {
			txt := specProblems(err)[0]
			return newTextErr(txt.RU, txt.EN)
		}
		lf.v.Set(reflect.ValueOf(spec))
		return nil
	case t.Kind() == reflect.Slice:
		sep := ","
		if lf.f.lines {
			sep = "\n"
		}
		var parts []string
		for p := range strings.SplitSeq(s, sep) {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		out := reflect.MakeSlice(t, len(parts), len(parts))
		for i, p := range parts {
			if err := setScalar(out.Index(i), p); err != nil {
				return err
			}
		}
		lf.v.Set(out)
		return nil
	}
	return setScalar(lf.v, strings.TrimSpace(s))
}

// lookupEnv returns a variable's value; an empty variable counts as unset.
func (l *Loader) lookupEnv(name string) (string, bool) {
	if l.Getenv != nil {
		v := l.Getenv(name)
		return v, v != ""
	}
	if l.envMap == nil {
		return "", false
	}
	v := l.envMap[name]
	return v, v != ""
}

// ignoredEnv reports whether a CHATTER_ variable is not a configuration key
// by design.
func (l *Loader) ignoredEnv(name string) bool {
	return name == EnvConfig || strings.HasPrefix(name, EnvPrefix+"_TEST_") || slices.Contains(l.IgnoreEnv, name)
}

// applyEnv applies the variables (and <VAR>_FILE for secrets) over c.
//
// It also reports keys whose variables would have the same name (ids that
// differ only in case, '-' and '_'), with or without an environment.
func (l *Loader) applyEnv(c *Config, d *decoder) {
	noEnv := l.Getenv == nil && l.Environ == nil
	if l.Environ != nil {
		l.envMap = map[string]string{}
		for _, kv := range l.Environ {
			if k, v, ok := strings.Cut(kv, "="); ok {
				l.envMap[k] = v
			}
		}
	}
	var ls []leaf
	var clashes []idClash
	walkLeaves(reflect.ValueOf(c).Elem(), "", EnvPrefix, &ls, &clashes)
	for _, cl := range clashes {
		o := d.meta.lookup(cl.path)
		d.add(Problem{Path: cl.path, Line: o.line, Severity: SeverityError, Message: chatter.T(
			fmt.Sprintf("id %q и id %q дают одно имя переменных окружения (%s_…): дайте элементам id, которые различаются не только регистром и знаками - и _", cl.id, cl.other, cl.env),
			fmt.Sprintf("ids %q and %q give the same environment variable names (%s_…): give the items ids that differ in more than case, '-' and '_'", cl.id, cl.other, cl.env))})
	}
	byEnv := map[string][]leaf{}
	for _, lf := range ls {
		byEnv[lf.env] = append(byEnv[lf.env], lf)
		if lf.f.hasFile() {
			byEnv[lf.env+"_FILE"] = append(byEnv[lf.env+"_FILE"], leaf{path: lf.path, env: lf.env + "_FILE", f: lf.f})
		}
	}
	for _, lf := range ls {
		if others := byEnv[lf.env]; len(others) > 1 {
			if others[0].path == lf.path {
				var paths []string
				for _, o := range others {
					paths = append(paths, o.path)
				}
				d.errorf(lf.path, d.meta.lookup(lf.path).line,
					fmt.Sprintf("переменная %s обозначала бы сразу %s: дайте элементам списков идентификаторы, которые различаются не только регистром и знаками - и _", lf.env, strings.Join(paths, " и ")),
					fmt.Sprintf("variable %s would name %s at once: give the list items ids that differ in more than case, '-' and '_'", lf.env, strings.Join(paths, " and ")))
			}
			continue
		}
		if noEnv {
			continue
		}
		val, set := l.lookupEnv(lf.env)
		fileVar := lf.env + "_FILE"
		fileVal, fileSet := "", false
		if lf.f.hasFile() && len(byEnv[fileVar]) == 1 {
			fileVal, fileSet = l.lookupEnv(fileVar)
		}
		switch {
		case set && fileSet:
			d.add(Problem{Path: lf.path, Env: lf.env, Severity: SeverityError, Message: chatter.T(
				fmt.Sprintf("заданы и %s, и %s: оставьте одну переменную", lf.env, fileVar),
				fmt.Sprintf("both %s and %s are set: keep one", lf.env, fileVar))})
		case set:
			d.meta.origins[lf.path] = origin{env: lf.env}
			if err := setFromText(lf, val); err != nil {
				d.add(Problem{Path: lf.path, Env: lf.env, Severity: SeverityError, Message: chatter.T(err.ru, err.en)})
			}
		case fileSet:
			d.meta.origins[lf.path] = origin{env: fileVar}
			secret, err := l.readSecret(fileVal)
			if err != nil {
				d.add(Problem{Path: lf.path, Env: fileVar, Severity: SeverityError, Message: chatter.T(err.ru, err.en)})
				continue
			}
			if err := setFromText(lf, secret); err != nil {
				d.add(Problem{Path: lf.path, Env: fileVar, Severity: SeverityError, Message: chatter.T(err.ru, err.en)})
			}
		}
	}
	if l.envMap == nil {
		return
	}
	names := make([]string, 0, len(byEnv))
	for n := range byEnv {
		names = append(names, n)
	}
	var unknown []string
	for k := range l.envMap {
		if strings.HasPrefix(k, EnvPrefix+"_") && byEnv[k] == nil && !l.ignoredEnv(k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		ru := fmt.Sprintf("переменная %s не соответствует ни одному ключу конфигурации", k)
		en := fmt.Sprintf("variable %s matches no configuration key", k)
		for _, list := range []string{"WORKSPACES", "BOTS", "ACCOUNTS", "CHATS", "EMAIL", "TELEGRAM", "WEBHOOKS"} {
			if strings.Contains(k, "_"+list+"_") {
				ru += ": элементы списков задаются в файле, а переменные называют их по id (например, CHATTER_WORKSPACES_<ID>_BOTS_<ID>_TOKEN) или по номеру, если id у элементов нет; проверьте id"
				en += ": list items are defined in the file, and variables name them by id (for example CHATTER_WORKSPACES_<ID>_BOTS_<ID>_TOKEN), or by position when items have no id; check the id"
				break
			}
		}
		if s := closest(k, names); s != "" {
			ru += fmt.Sprintf(" (может быть, %s?)", s)
			en += fmt.Sprintf(" (did you mean %s?)", s)
		}
		d.add(Problem{Env: k, Severity: SeverityError, Message: chatter.T(ru, en)})
	}
}

// Flag is a command-line flag that overrides a key (flags win over the
// environment and the file).
type Flag struct {
	// Name is the flag as the user typed it, for problems ("-addr").
	Name string
	// Path is the key: "http.addr", "data_dir".
	Path string
	// Value is the flag's value; an empty Value is ignored (pass only the
	// flags the user set, see flag.FlagSet.Visit).
	Value string
}

func (l *Loader) applyFlags(c *Config, d *decoder) {
	if len(l.Flags) == 0 {
		return
	}
	ls := leaves(c)
	for _, fl := range l.Flags {
		if fl.Value == "" {
			continue
		}
		i := slices.IndexFunc(ls, func(lf leaf) bool { return lf.path == fl.Path })
		if i < 0 {
			d.add(Problem{Path: fl.Path, Env: fl.Name, Severity: SeverityError, Message: chatter.T(
				fmt.Sprintf("флаг %s указывает на неизвестный ключ %s", fl.Name, fl.Path),
				fmt.Sprintf("flag %s names an unknown key %s", fl.Name, fl.Path))})
			continue
		}
		d.meta.origins[fl.Path] = origin{env: fl.Name}
		if err := setFromText(ls[i], fl.Value); err != nil {
			d.add(Problem{Path: fl.Path, Env: fl.Name, Severity: SeverityError, Message: chatter.T(err.ru, err.en)})
		}
	}
}
