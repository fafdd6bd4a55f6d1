package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

//go:embed i18n/*.json
var catalogFS embed.FS

// languages the UI speaks; the first is the default.
var languages = []string{auth.LangRU, auth.LangEN}

// langCookie holds an anonymous visitor's language (signed-in users keep
// theirs in their account).
const langCookie = "chatter_lang"

// catalog is one language's messages: key → text. A key with plural forms
// has entries "<key>.one", "<key>.few", "<key>.many" (Russian) or
// "<key>.one", "<key>.other" (English); the text may hold %d.
type catalog map[string]string

// catalogs are the embedded i18n/<lang>.json and i18n/<section>.<lang>.json files.
type catalogs struct{ by map[string]catalog }

func mustLoadCatalogs() *catalogs {
	c, err := loadCatalogs(catalogFS)
	if err != nil {
		panic(err) // embedded files: a broken one fails every test
	}
	return c
}

// loadCatalogs reads every i18n/*.json: i18n/<lang>.json and, so that
// each section keeps its own texts, i18n/<section>.<lang>.json. A key
// defined twice for one language is an error.
func loadCatalogs(fsys fs.FS) (*catalogs, error) {
	c := &catalogs{by: map[string]catalog{}}
	for _, lang := range languages {
		c.by[lang] = catalog{}
	}
	files, err := fs.Glob(fsys, "i18n/*.json")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".json")
		lang := name[strings.LastIndexByte(name, '.')+1:]
		into, ok := c.by[lang]
		if !ok {
			return nil, fmt.Errorf("web: catalog %s: unknown language %q", f, lang)
		}
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("web: catalog %s: %w", f, err)
		}
		var m catalog
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("web: catalog %s: %w", f, err)
		}
		for k, v := range m {
			if _, dup := into[k]; dup {
				return nil, fmt.Errorf("web: catalog %s: key %q is defined twice", f, k)
			}
			into[k] = v
		}
	}
	return c, nil
}

// lang returns a supported language: lang itself or the default.
func lang(l string) string {
	for _, x := range languages {
		if x == l {
			return l
		}
	}
	return languages[0]
}

// missing marks a key absent from a catalog in the page, so that the test
// walking every page finds it.
func missing(key string) string { return "[[" + key + "]]" }

// T returns key's text in lang, formatted with args when given.
func (c *catalogs) T(lang, key string, args ...any) string {
	s, ok := c.by[lang][key]
	if !ok {
		return missing(key)
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// N returns the plural form of key for n in lang, with n formatted in.
func (c *catalogs) N(lang, key string, n int) string {
	s, ok := c.by[lang][key+"."+pluralForm(lang, n)]
	if !ok {
		return missing(key)
	}
	if strings.Contains(s, "%d") {
		return fmt.Sprintf(s, n)
	}
	return s
}

// pluralForm is the CLDR plural category of n: Russian one (1, 21, 101…),
// few (2–4, 22–24…), many (0, 5–20, 25…); English one and other.
func pluralForm(lang string, n int) string {
	if n < 0 {
		n = -n
	}
	if lang != auth.LangRU {
		if n == 1 {
			return "one"
		}
		return "other"
	}
	switch d, dd := n%10, n%100; {
	case d == 1 && dd != 11:
		return "one"
	case d >= 2 && d <= 4 && (dd < 12 || dd > 14):
		return "few"
	default:
		return "many"
	}
}

// requestLang is the language of a request: the signed-in user's, else
// the language cookie's, else Russian.
func requestLang(r *http.Request) string {
	if st := state(r); st != nil && st.user != nil {
		return lang(st.user.Language)
	}
	if c, err := r.Cookie(langCookie); err == nil {
		return lang(c.Value)
	}
	return languages[0]
}
