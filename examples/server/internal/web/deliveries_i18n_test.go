package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

// TestLedgerAndLogsKeysExist: every catalog key of the ledger's and the
// logs' code and templates is in both languages, and so are the keys
// their templates build from states, sources, levels and categories.
func TestLedgerAndLogsKeysExist(t *testing.T) {
	c, err := loadCatalogs(catalogFS)
	require.NoError(t, err)
	has := func(lang, k string) bool {
		_, plain := c.by[lang][k]
		_, plural := c.by[lang][k+".one"]
		return plain || plural
	}
	keyRE := regexp.MustCompile(`"((?:deliveries|logs)\.[a-z0-9_.]+)"`)
	var files []string
	for _, glob := range []string{"deliveries_*.go", "logs_*.go", "live.go", "templates/deliveries.html", "templates/delivery.html", "templates/logs.html"} {
		m, err := filepath.Glob(glob)
		require.NoError(t, err)
		files = append(files, m...)
	}
	found := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
			if strings.HasSuffix(m[1], ".") {
				continue // a prefix, completed below
			}
			found++
			for _, lang := range languages {
				require.True(t, has(lang, m[1]), "%s: key %q missing in %s", name, m[1], lang)
			}
		}
	}
	require.Greater(t, found, 100)
	var built []string
	for _, st := range chatter.AllStates {
		built = append(built, "deliveries.state."+string(st))
	}
	for _, src := range ledgerSources() {
		built = append(built, "deliveries.source."+string(src))
	}
	for _, l := range logsLevels() {
		built = append(built, "logs.level."+l.String())
	}
	for _, cat := range logsCategories() {
		built = append(built, "logs.category."+cat)
	}
	for _, k := range built {
		for _, lang := range languages {
			require.True(t, has(lang, k), "key %q missing in %s", k, lang)
		}
	}
}
