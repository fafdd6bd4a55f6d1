package config

import (
	"io/fs"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/fieldmap"
)

// confPath is where the in-memory config file lives in tests.
const confPath = "conf/chatter.yaml"

// memFS returns a ReadFile over files (path → content); other paths do not
// exist.
func memFS(files map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
}

// envOf returns a Getenv over vars.
func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// environOf returns vars as KEY=VALUE pairs.
func environOf(vars map[string]string) []string {
	var out []string
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// loadYAML loads text as conf/chatter.yaml with the given variables (also
// given as Environ, so unknown variables are reported) and extra files.
func loadYAML(t *testing.T, text string, vars map[string]string, files map[string]string) (*Config, Problems) {
	t.Helper()
	all := map[string]string{confPath: text}
	for k, v := range files {
		all[k] = v
	}
	return Loader{Environ: environOf(vars), ReadFile: memFS(all)}.Load(confPath)
}

// mustLoad loads and requires no errors.
func mustLoad(t *testing.T, text string, vars map[string]string, files map[string]string) *Config {
	t.Helper()
	c, ps := loadYAML(t, text, vars, files)
	require.False(t, ps.HasErrors(), "unexpected errors:\n%s", ps.Render("en"))
	require.NotNil(t, c)
	return c
}

// errorPaths returns the sorted paths of the errors.
func errorPaths(ps Problems) []string {
	out := ps.Errors().Paths()
	slices.Sort(out)
	return out
}

// warningPaths returns the sorted paths of the warnings.
func warningPaths(ps Problems) []string {
	out := ps.Warnings().Paths()
	slices.Sort(out)
	return out
}

func mustSpec(t *testing.T, text string, f fieldmap.Format) *fieldmap.Spec {
	t.Helper()
	s, err := fieldmap.ParseSpec([]byte(text), f)
	require.NoError(t, err)
	return s
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// diffOpts compare configurations without their load metadata.
var diffOpts = cmp.Options{cmpopts.IgnoreUnexported(Config{}), cmpopts.EquateEmpty()}

func dur(d time.Duration) Duration { return Duration(d) }

// minimal is a valid configuration with one workspace.
const minimal = `
workspaces:
  - id: shop
    amocrm:
      subdomain: shop
      long_lived_token: aaaa.eyJleHAiOjF9.cccc
    mapping:
      inline:
        lead:
          name: "{{ text }}"
`
