package web

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestCatalogFilesMerge(t *testing.T) {
	fsys := fstest.MapFS{
		"i18n/ru.json":        {Data: []byte(`{"a": "а"}`)},
		"i18n/en.json":        {Data: []byte(`{"a": "a"}`)},
		"i18n/ledger.ru.json": {Data: []byte(`{"ledger.x": "икс"}`)},
		"i18n/ledger.en.json": {Data: []byte(`{"ledger.x": "x"}`)},
	}
	c, err := loadCatalogs(fsys)
	require.NoError(t, err)
	require.Equal(t, "икс", c.T("ru", "ledger.x"))
	require.Equal(t, "a", c.T("en", "a"))

	fsys["i18n/other.ru.json"] = &fstest.MapFile{Data: []byte(`{"a": "дубль"}`)}
	_, err = loadCatalogs(fsys)
	require.ErrorContains(t, err, `key "a" is defined twice`)
	delete(fsys, "i18n/other.ru.json")
	fsys["i18n/x.de.json"] = &fstest.MapFile{Data: []byte(`{}`)}
	_, err = loadCatalogs(fsys)
	require.ErrorContains(t, err, "unknown language")
}
