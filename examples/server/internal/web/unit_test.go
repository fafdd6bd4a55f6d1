package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// plainKey strips a plural suffix: both languages must have the same keys
// up to their plural forms.
func plainKey(k string) string {
	for _, s := range []string{".one", ".few", ".many", ".other"} {
		if strings.HasSuffix(k, s) {
			return strings.TrimSuffix(k, s)
		}
	}
	return k
}

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	c, err := loadCatalogs(catalogFS)
	require.NoError(t, err)
	keys := func(lang string) map[string]bool {
		out := map[string]bool{}
		for k := range c.by[lang] {
			out[plainKey(k)] = true
		}
		return out
	}
	if diff := cmp.Diff(keys("ru"), keys("en")); diff != "" {
		t.Errorf("ru and en catalogs differ (-ru +en):\n%s", diff)
	}
	for k := range c.by["ru"] {
		if plainKey(k) != k {
			for _, form := range []string{"one", "few", "many"} {
				require.Contains(t, c.by["ru"], plainKey(k)+"."+form)
			}
			for _, form := range []string{"one", "other"} {
				require.Contains(t, c.by["en"], plainKey(k)+"."+form)
			}
		}
	}
}

// TestEveryKeyInTheCodeExists finds the catalog keys written in the Go
// code and the templates and checks both catalogs have them.
func TestEveryKeyInTheCodeExists(t *testing.T) {
	c, err := loadCatalogs(catalogFS)
	require.NoError(t, err)
	keyRE := regexp.MustCompile(`"((?:nav|title|users|profile|password|login|forgot|setup|error|state|reset|mail|layout|dur|role|app|a11y|overview|diagnostics|notifications|deliveries|logs|sources|mapping|live)\.[a-z0-9_.]+)"`)
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	tmpl, err := filepath.Glob("templates/*/*.html")
	require.NoError(t, err)
	tmpl2, err := filepath.Glob("templates/*.html")
	require.NoError(t, err)
	found := 0
	for _, name := range append(append(files, tmpl...), tmpl2...) {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
			k := m[1]
			if k == "app.css" || k == "app.js" || k == "live.js" || strings.HasSuffix(k, ".") {
				continue // static files; prefixes completed at run time
			}
			found++
			for _, lang := range languages {
				_, plain := c.by[lang][k]
				_, plural := c.by[lang][k+".one"]
				require.True(t, plain || plural, "%s: key %q missing in %s", name, k, lang)
			}
		}
	}
	require.Greater(t, found, 150)
	for _, name := range []string{"overview", "sources", "amocrm", "mapping", "notifications", "deliveries", "logs", "diagnostics", "users", "profile"} {
		require.Contains(t, c.by["ru"], "title."+name)
		require.Contains(t, c.by["en"], "title."+name)
	}
}

func TestPluralForms(t *testing.T) {
	c, err := loadCatalogs(catalogFS)
	require.NoError(t, err)
	got := map[int]string{}
	for _, n := range []int{0, 1, 2, 4, 5, 11, 12, 14, 19, 21, 22, 25, 101, 111, 112, 122} {
		got[n] = c.N("ru", "users.count", n)
	}
	if diff := cmp.Diff(map[int]string{
		0: "0 пользователей", 1: "1 пользователь", 2: "2 пользователя", 4: "4 пользователя", 5: "5 пользователей",
		11: "11 пользователей", 12: "12 пользователей", 14: "14 пользователей", 19: "19 пользователей",
		21: "21 пользователь", 22: "22 пользователя", 25: "25 пользователей", 101: "101 пользователь",
		111: "111 пользователей", 112: "112 пользователей", 122: "122 пользователя",
	}, got); diff != "" {
		t.Errorf("Russian plurals (-want +got):\n%s", diff)
	}
	require.Equal(t, "1 user", c.N("en", "users.count", 1))
	require.Equal(t, "0 users", c.N("en", "users.count", 0))
	require.Equal(t, "21 users", c.N("en", "users.count", 21))
	require.Equal(t, "[[nothing]]", c.N("ru", "nothing", 1))
	require.Equal(t, "[[nothing]]", c.T("en", "nothing"))

	s := &server{i18n: c}
	require.Equal(t, "1 час", s.ttlText("ru", time.Hour))
	require.Equal(t, "2 часа", s.ttlText("ru", 2*time.Hour))
	require.Equal(t, "30 минут", s.ttlText("ru", 30*time.Minute))
	require.Equal(t, "91 минуту", s.ttlText("ru", 90*time.Minute+time.Second))
	require.Equal(t, "1 hour", s.ttlText("en", time.Hour))
}

func TestLimiter(t *testing.T) {
	l := newLimiter(2, time.Hour, 3)
	now := t0
	ok, _ := l.allow("a", now)
	require.True(t, ok)
	ok, _ = l.allow("a", now.Add(time.Minute))
	require.True(t, ok)
	ok, retry := l.allow("a", now.Add(2*time.Minute))
	require.False(t, ok)
	require.Equal(t, now.Add(time.Hour), retry)
	ok, _ = l.allow("a", now.Add(time.Hour))
	require.True(t, ok, "the first event left the window")
	for _, k := range []string{"b", "c", "d", "e"} {
		ok, _ := l.allow(k, now.Add(time.Hour))
		require.True(t, ok)
	}
	require.LessOrEqual(t, len(l.hits), 3, "bounded")
}

func TestSafePaths(t *testing.T) {
	for in, want := range map[string]string{
		"/users?x=1": "/users?x=1", "": "/", "users": "/", "//evil.example": "/", "/\\evil.example": "/",
		"https://evil.example/": "/", "/a\r\nSet-Cookie: x": "/", "/reset?token=abc": "/reset?token=abc",
	} {
		require.Equal(t, want, safePath(in), in)
	}
	for in, want := range map[string]string{"/users": "/users", "/login?next=/x": "/", "/logout": "/", "/setup": "/", "/reset?token=x": "/"} {
		require.Equal(t, want, afterLogin(in), in)
	}
	require.Equal(t, "https://chatter.example.com", origin("https://chatter.example.com/base/"))
	require.Equal(t, "http://127.0.0.1:8080", origin("http://127.0.0.1:8080"))
}
