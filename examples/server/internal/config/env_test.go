package config

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// withItems is minimal with a bot, a parser account and a webhook route.
const withItems = minimal + `
    bots:
      - id: sales-bot
        token: 1:AAbbccddeeffgghhiijjkkllmmnnooppqq1
    parser:
      accounts:
        - id: sales-1
          api_id: 1
          api_hash: 0123456789abcdef0123456789abcdef
          phone: "+79991234567"
      chats:
        - chat: "@leads"
    keywords:
      rules: [ремонт]
    notifications:
      webhooks:
        - url: https://hooks.example.com/x
          secret: 0123456789abcdef
`

func TestEnvOverridesTopLevelKey(t *testing.T) {
	c := mustLoad(t, "http:\n  addr: 127.0.0.1:9000\n", map[string]string{"CHATTER_HTTP_ADDR": "0.0.0.0:8081",
		"CHATTER_DATA_DIR": "/srv/chatter"}, nil)
	require.Equal(t, "0.0.0.0:8081", c.HTTP.Addr)
	require.Equal(t, "/srv/chatter", c.DataDir)

	// Without a file at all: defaults and the environment.
	c, ps := Load("", envOf(map[string]string{"CHATTER_HTTP_ADDR": ":8082"}), memFS(nil))
	require.False(t, ps.HasErrors(), ps.Render("en"))
	require.Equal(t, ":8082", c.HTTP.Addr)
}

func TestEnvOverridesNestedKeysOfEveryType(t *testing.T) {
	c := mustLoad(t, minimal, map[string]string{
		"CHATTER_STORE_POSTGRES_URL":                  "postgres://u:p@db:5432/chatter",
		"CHATTER_STORE_POSTGRES_SCHEMA":               "tenant_a",
		"CHATTER_HTTP_METRICS_ENABLED":                "false",
		"CHATTER_HTTP_METRICS_BASIC_AUTH_USERNAME":    "prom",
		"CHATTER_HTTP_METRICS_BASIC_AUTH_PASSWORD":    "pw",
		"CHATTER_HTTP_TRUSTED_PROXIES":                "10.0.0.0/8, 192.168.0.0/16",
		"CHATTER_HTTP_MAX_BODY_BYTES":                 "4096",
		"CHATTER_DELIVERY_MAX_AGE":                    "3d",
		"CHATTER_WORKSPACES_SHOP_KEYWORDS_RULES":      "ремонт квартиры\nкупить, окна\n",
		"CHATTER_WORKSPACES_SHOP_AMOCRM_MARKER_FIELD": "123",
	}, nil)
	require.Equal(t, "postgres://u:p@db:5432/chatter", c.Store.Postgres.URL)
	require.True(t, c.UsePostgres())
	require.Equal(t, "tenant_a", c.Store.Postgres.Schema)
	require.False(t, c.HTTP.Metrics.Enabled)
	require.Equal(t, BasicAuth{Username: "prom", Password: "pw"}, c.HTTP.Metrics.BasicAuth)
	require.Equal(t, []string{"10.0.0.0/8", "192.168.0.0/16"}, c.HTTP.TrustedProxies)
	require.Equal(t, int64(4096), c.HTTP.MaxBodyBytes)
	require.Equal(t, dur(72*time.Hour), c.Delivery.MaxAge)
	// keyword rules are one per line: a comma stays inside a rule
	require.Equal(t, []string{"ремонт квартиры", "купить, окна"}, c.Workspaces[0].Keywords.Rules)
	id, ok := c.Workspaces[0].AmoCRM.MarkerField.ID()
	require.True(t, ok)
	require.Equal(t, 123, id)
}

func TestEnvAddressesListItemsByID(t *testing.T) {
	c := mustLoad(t, withItems, map[string]string{
		"CHATTER_WORKSPACES_SHOP_AMOCRM_LONG_LIVED_TOKEN":       "xxxx.eyJleHAiOjJ9.zzzz",
		"CHATTER_WORKSPACES_SHOP_BOTS_SALES_BOT_TOKEN":          "2:AAbbccddeeffgghhiijjkkllmmnnooppqq2",
		"CHATTER_WORKSPACES_SHOP_PARSER_ACCOUNTS_SALES_1_PHONE": "+79990001122",
		"CHATTER_WORKSPACES_SHOP_PARSER_CHATS_0_DEPTH_COUNT":    "300",
		"CHATTER_WORKSPACES_SHOP_NOTIFICATIONS_WEBHOOKS_0_URL":  "https://hooks.example.com/y",
	}, nil)
	w := c.Workspaces[0]
	require.Equal(t, "xxxx.eyJleHAiOjJ9.zzzz", w.AmoCRM.LongLivedToken)
	require.Equal(t, "2:AAbbccddeeffgghhiijjkkllmmnnooppqq2", w.Bots[0].Token)
	require.Equal(t, "+79990001122", w.Parser.Accounts[0].Phone)
	require.Equal(t, 300, w.Parser.Chats[0].Depth.Count)
	require.Equal(t, "https://hooks.example.com/y", w.Notifications.Webhooks[0].URL)

	// A bad value from a variable names the variable and has no line.
	_, ps := loadYAML(t, withItems, map[string]string{"CHATTER_WORKSPACES_SHOP_BOTS_SALES_BOT_TOKEN": "nope"}, nil)
	errs := ps.Errors()
	require.Len(t, errs, 1, ps.Render("en"))
	require.Equal(t, "workspaces[0].bots[0].token", errs[0].Path)
	require.Equal(t, "CHATTER_WORKSPACES_SHOP_BOTS_SALES_BOT_TOKEN", errs[0].Env)
	require.Zero(t, errs[0].Line)
	require.NotContains(t, ps.Error(), "nope", "a secret is not echoed")
}

func TestEnvNamingAMissingListItemIsAProblem(t *testing.T) {
	vars := map[string]string{
		"CHATTER_WORKSPACES_SHOPP_BOTS_SALES_BOT_TOKEN": "1:AAbbccddeeffgghhiijjkkllmmnnooppqq1", // no workspace shopp
		"CHATTER_WORKSPACES_SHOP_BOTS_SUPPORT_TOKEN":    "1:AAbbccddeeffgghhiijjkkllmmnnooppqq1", // no bot support
		"CHATTER_HTTP_ADR":          "x",                 // a typo
		"CHATTER_CONFIG":            "/etc/chatter.yaml", // the -config flag: not a key, fine
		"CHATTER_TEST_POSTGRES_URL": "postgres://x",      // tests: fine
		"HOME":                      "/root",             // not ours
	}
	_, ps := loadYAML(t, withItems, vars, nil)
	var envs []string
	for _, p := range ps.Errors() {
		envs = append(envs, p.Env)
	}
	if d := cmp.Diff([]string{"CHATTER_HTTP_ADR", "CHATTER_WORKSPACES_SHOPP_BOTS_SALES_BOT_TOKEN", "CHATTER_WORKSPACES_SHOP_BOTS_SUPPORT_TOKEN"}, envs); d != "" {
		t.Errorf("errors (-want +got):\n%s\n%s", d, ps.Render("en"))
	}
	require.Contains(t, ps.Errors()[0].Message.EN, "did you mean CHATTER_HTTP_ADDR?")
	require.Contains(t, ps.Errors()[1].Message.EN, "list items are defined in the file")
	require.Contains(t, ps.Errors()[2].Message.EN, "did you mean CHATTER_WORKSPACES_SHOP_BOTS_SALES_BOT_TOKEN?")

	// With Getenv only the environment cannot be listed: nothing to report,
	// and the existing items are still overridden.
	c, ps := Loader{Getenv: envOf(vars), ReadFile: memFS(map[string]string{confPath: withItems})}.Load(confPath)
	require.False(t, ps.HasErrors(), ps.Render("en"))
	require.NotNil(t, c)

	// IgnoreEnv exempts variables the command reads itself.
	_, ps = Loader{Environ: []string{"CHATTER_DEMO=1"}, IgnoreEnv: []string{"CHATTER_DEMO"}, ReadFile: memFS(map[string]string{confPath: minimal})}.Load(confPath)
	require.False(t, ps.HasErrors(), ps.Render("en"))
}

func TestEnvNamesThatCollideAreAProblem(t *testing.T) {
	text := minimal + `
    bots:
      - id: a-b
        token: 1:AAbbccddeeffgghhiijjkkllmmnnooppqq1
      - id: a_b
        token: 2:AAbbccddeeffgghhiijjkkllmmnnooppqq1
`
	_, ps := loadYAML(t, text, nil, nil)
	if d := cmp.Diff([]string{"workspaces[0].bots[1].id"}, errorPaths(ps)); d != "" {
		t.Errorf("errors (-want +got):\n%s\n%s", d, ps.Render("en"))
	}
	require.Contains(t, ps.Error(), "CHATTER_WORKSPACES_SHOP_BOTS_A_B_")
	require.Equal(t, 15, ps.Errors()[0].Line)

	// The same id twice is one problem (from validation), not one per key.
	text = minimal + `
    bots:
      - id: a
        token: 1:AAbbccddeeffgghhiijjkkllmmnnooppqq1
      - id: a
        token: 2:AAbbccddeeffgghhiijjkkllmmnnooppqq1
`
	_, ps = loadYAML(t, text, nil, nil)
	if d := cmp.Diff([]string{"workspaces[0].bots[1].id"}, errorPaths(ps)); d != "" {
		t.Errorf("errors (-want +got):\n%s\n%s", d, ps.Render("en"))
	}
}

func TestSecretFiles(t *testing.T) {
	text := minimal + `
    bots:
      - id: sales-bot
        token_file: secrets/bot
`
	files := map[string]string{
		"conf/secrets/bot":     "1:AAbbccddeeffgghhiijjkkllmmnnooppqq1\n", // relative to the config file
		"/run/secrets/amocrm":  "xxxx.eyJleHAiOjJ9.zzzz\r\n",
		"/run/secrets/metrics": "pw\n",
	}
	c := mustLoad(t, text, map[string]string{
		"CHATTER_WORKSPACES_SHOP_AMOCRM_LONG_LIVED_TOKEN_FILE": "/run/secrets/amocrm",
		"CHATTER_HTTP_METRICS_BASIC_AUTH_PASSWORD_FILE":        "/run/secrets/metrics",
		"CHATTER_HTTP_METRICS_BASIC_AUTH_USERNAME":             "prom",
	}, files)
	require.Equal(t, "1:AAbbccddeeffgghhiijjkkllmmnnooppqq1", c.Workspaces[0].Bots[0].Token)
	require.Equal(t, "xxxx.eyJleHAiOjJ9.zzzz", c.Workspaces[0].AmoCRM.LongLivedToken)
	require.Equal(t, "pw", c.HTTP.Metrics.BasicAuth.Password)

	// A missing or empty file is a problem at the key.
	_, ps := loadYAML(t, text, map[string]string{"CHATTER_HTTP_METRICS_BASIC_AUTH_PASSWORD_FILE": "/run/secrets/none"},
		map[string]string{"conf/secrets/bot": "\n"})
	if d := cmp.Diff([]string{"http.metrics.basic_auth.password", "workspaces[0].bots[0].token_file"}, errorPaths(ps)); d != "" {
		t.Errorf("errors (-want +got):\n%s\n%s", d, ps.Render("en"))
	}
	require.Contains(t, ps.Error(), "is empty")
	require.Contains(t, ps.Error(), "cannot read file /run/secrets/none")

	// A key without a secret has no _file sibling.
	_, ps = loadYAML(t, "http:\n  addr_file: x\n", nil, nil)
	require.Equal(t, []string{"http.addr_file"}, errorPaths(ps))
}

func TestBothFormsSetIsAProblem(t *testing.T) {
	text := minimal + `
    bots:
      - id: sales-bot
        token: 1:AAbbccddeeffgghhiijjkkllmmnnooppqq1
        token_file: secrets/bot
      - id: other
        token_file: secrets/bot
        token: 1:AAbbccddeeffgghhiijjkkllmmnnooppqq1
      - {id: third, token_file: secrets/bot, token: "3:AAbbccddeeffgghhiijjkkllmmnnooppqq1"}
`
	files := map[string]string{"conf/secrets/bot": "1:AAbbccddeeffgghhiijjkkllmmnnooppqq1", "/s": "x"}
	_, ps := loadYAML(t, text, map[string]string{
		"CHATTER_HTTP_METRICS_BASIC_AUTH_PASSWORD":      "a",
		"CHATTER_HTTP_METRICS_BASIC_AUTH_PASSWORD_FILE": "/s",
		"CHATTER_HTTP_METRICS_BASIC_AUTH_USERNAME":      "u",
	}, files)
	want := []string{"http.metrics.basic_auth.password", "workspaces[0].bots[0].token_file", "workspaces[0].bots[1].token",
		"workspaces[0].bots[2].token"}
	if d := cmp.Diff(want, errorPaths(ps)); d != "" {
		t.Errorf("errors (-want +got):\n%s\n%s", d, ps.Render("en"))
	}
	for _, p := range ps.Errors() {
		require.Contains(t, p.Message.EN, "keep one")
	}

	// mapping, keywords and the sealing key have exclusive pairs too.
	text = `store:
  sealing_key: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
  sealing_key_file: other.key
workspaces:
  - id: shop
    amocrm: {subdomain: shop, long_lived_token: aaaa.eyJleHAiOjF9.cccc}
    mapping:
      file: m.yaml
      inline: {lead: {name: x}}
    keywords:
      file: k.txt
      rules: [a]
`
	_, ps = loadYAML(t, text, nil, map[string]string{"conf/m.yaml": "lead: {name: x}", "conf/k.txt": "b"})
	want = []string{"store.sealing_key_file", "workspaces[0].keywords.file", "workspaces[0].mapping.file"}
	if d := cmp.Diff(want, errorPaths(ps)); d != "" {
		t.Errorf("errors (-want +got):\n%s\n%s", d, ps.Render("en"))
	}
}

func TestFlagsWinOverEnvironment(t *testing.T) {
	l := Loader{
		Environ:  []string{"CHATTER_HTTP_ADDR=0.0.0.0:1", "CHATTER_DATA_DIR=/env"},
		ReadFile: memFS(map[string]string{confPath: "http: {addr: 127.0.0.1:2}\n" + minimal}),
		Flags: []Flag{{Name: "-addr", Path: "http.addr", Value: "127.0.0.1:3"},
			{Name: "-data", Path: "data_dir", Value: ""}}, // not given: the environment stays
	}
	c, ps := l.Load(confPath)
	require.False(t, ps.HasErrors(), ps.Render("en"))
	require.Equal(t, "127.0.0.1:3", c.HTTP.Addr)
	require.Equal(t, "/env", c.DataDir)

	l.Flags = []Flag{{Name: "-addr", Path: "http.addr", Value: "bad"}, {Name: "-x", Path: "no.such", Value: "1"}}
	_, ps = l.Load(confPath)
	errs := ps.Errors()
	require.Len(t, errs, 2, ps.Render("en"))
	require.Equal(t, "-addr", errs[0].Env)
	require.Equal(t, "-x", errs[1].Env)
}

func TestEnvPathsAreUsedAsGiven(t *testing.T) {
	files := map[string]string{"maps/m.yaml": "lead: {name: x}\n"} // relative to the working directory
	c := mustLoad(t, `workspaces:
  - id: shop
    amocrm: {subdomain: shop, long_lived_token: aaaa.eyJleHAiOjF9.cccc}
    mapping: {file: nowhere.yaml}
`, map[string]string{"CHATTER_WORKSPACES_SHOP_MAPPING_FILE": "maps/m.yaml"}, files)
	require.Equal(t, "maps/m.yaml", c.Workspaces[0].Mapping.File)
	require.NotNil(t, c.Workspaces[0].Mapping.Inline)

	// mapping.inline from a variable: a whole spec.
	c = mustLoad(t, `workspaces:
  - id: shop
    amocrm: {subdomain: shop, long_lived_token: aaaa.eyJleHAiOjF9.cccc}
`, map[string]string{"CHATTER_WORKSPACES_SHOP_MAPPING_INLINE": `{"lead": {"name": "{{ text }}"}}`}, nil)
	require.NotNil(t, c.Workspaces[0].Mapping.Inline)
}

func TestEveryLeafHasAUniqueVariable(t *testing.T) {
	c, _ := Loader{ReadFile: os.ReadFile}.Load("testdata/full.yaml")
	seen := map[string]string{}
	for _, lf := range leaves(c) {
		require.True(t, strings.HasPrefix(lf.env, "CHATTER_"), lf.env)
		if first, dup := seen[lf.env]; dup {
			t.Errorf("%s names both %s and %s", lf.env, first, lf.path)
		}
		seen[lf.env] = lf.path
	}
	require.Equal(t, "http.addr", seen["CHATTER_HTTP_ADDR"])
	require.Equal(t, "data_dir", seen["CHATTER_DATA_DIR"])
	require.Equal(t, "store.postgres.url", seen["CHATTER_STORE_POSTGRES_URL"])
	require.Equal(t, "workspaces[0].amocrm.long_lived_token", seen["CHATTER_WORKSPACES_SHOP_AMOCRM_LONG_LIVED_TOKEN"])
	require.Equal(t, "workspaces[0].bots[0].token", seen["CHATTER_WORKSPACES_SHOP_BOTS_SALES_BOT_TOKEN"])
	require.Equal(t, "workspaces[0].parser.chats[1].join", seen["CHATTER_WORKSPACES_SHOP_PARSER_CHATS_1_JOIN"])
}
