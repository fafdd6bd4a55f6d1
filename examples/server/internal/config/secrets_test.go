package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// fullSecrets are the secret values of testdata/full.yaml.
var fullSecrets = []string{
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", // store.sealing_key
	"0123456789abcdef0123456789abcdef",                                 // api_hash (api_hash_file)
	"123456789:AAbbccddeeffgghhiijjkkllmmnnooppqq1",                    // bot token
	"987654321:AAsupportbotsecretsupportbotsecret0",                    // bot token (token_file)
	"+79991234567", // phone
	"hook-Secret3", // webhook_secret
	"https://hooks.example.com/services/T000/hook-url-Secret7", // notification webhook URL
	"metrics-pass-Secret2", // metrics basic auth
	"oauth-client-Secret9", // oauth client secret
	"pg-pass-Secret1",      // postgres URL password
	"proxy-pass-Secret5",   // proxy password
	"smtp-pass-Secret6",    // smtp password
	"webhook-sign-Secret8", // notification webhook secret
	fullToken,              // long-lived token
}

func TestSecretsListsEverySecret(t *testing.T) {
	c, _ := loadFull(t)
	want := append([]string(nil), fullSecrets...)
	slicesSort(want)
	if d := cmp.Diff(want, c.Secrets()); d != "" {
		t.Errorf("Secrets (-want +got):\n%s", d)
	}
}

// TestFullFileSetsEverySecret: every secret key of the schema is set in
// full.yaml, so the redaction tests cover all of them.
func TestFullFileSetsEverySecret(t *testing.T) {
	c, _ := loadFull(t)
	index := regexp.MustCompile(`\[\d+\]`)
	set, all := map[string]bool{}, map[string]bool{}
	for _, lf := range leaves(c) {
		if lf.f.secret == "" {
			continue
		}
		key := index.ReplaceAllString(lf.path, "[]")
		all[key] = true
		if lf.v.String() != "" {
			set[key] = true
		}
	}
	for key := range all {
		if !set[key] {
			t.Errorf("secret %s is empty everywhere in testdata/full.yaml", key)
		}
	}
	require.Len(t, all, 13)
}

func TestRedactedHidesEverySecret(t *testing.T) {
	c, _ := loadFull(t)
	r := c.Redacted()
	js, err := json.Marshal(r)
	require.NoError(t, err)
	ys, err := yaml.Marshal(r)
	require.NoError(t, err)
	for _, out := range []string{string(js), string(ys), fmt.Sprintf("%+v", *r)} {
		for _, s := range c.Secrets() {
			require.NotContains(t, out, s)
		}
	}
	// The shape stays: URLs keep their host, the rest says REDACTED.
	require.Equal(t, "postgres://chatter:REDACTED@db.internal:5432/chatter?sslmode=require", r.Store.Postgres.URL)
	require.Equal(t, "socks5://proxyuser:REDACTED@10.0.0.5:1080", r.Workspaces[0].Parser.Accounts[0].Proxy)
	require.Equal(t, "REDACTED", r.Workspaces[0].Bots[0].Token)
	require.Equal(t, "REDACTED", r.Store.SealingKey)
	require.Equal(t, "prometheus", r.HTTP.Metrics.BasicAuth.Username, "not a secret")
	// The original is untouched.
	require.Equal(t, "metrics-pass-Secret2", c.HTTP.Metrics.BasicAuth.Password)
	require.Equal(t, c.Workspaces[0].Mapping.Inline, c.Workspaces[0].Mapping.Inline)
	require.NotSame(t, c.Workspaces[0].Mapping.Inline, r.Workspaces[0].Mapping.Inline)
	require.Equal(t, []string{"REDACTED"}, r.Secrets())
}

func TestURLSecrets(t *testing.T) {
	for in, want := range map[string][]string{
		"socks5://u:p@h:1":                                  {"p"},
		"socks5://h:1":                                      nil,
		"mtproxy://h:443?secret=ee0011":                     {"ee0011"},
		"tg://socks?server=h&port=1&user=u&pass=pw":         {"pw"},
		"postgres://u:pw@db/x?sslmode=require&password=pw2": {"pw", "pw2"},
		"::not a url":                                       {"::not a url"},
	} {
		if d := cmp.Diff(want, urlSecrets(in)); d != "" {
			t.Errorf("urlSecrets(%q) (-want +got):\n%s", in, d)
		}
		red := redactURL(in)
		for _, s := range want {
			require.NotContains(t, red, s, in)
		}
	}
	require.Equal(t, "tg://socks?pass=REDACTED&port=1&server=h&user=u", redactURL("tg://socks?server=h&port=1&user=u&pass=pw"))
}

// TestProblemsDoNotEchoSecrets: values of secret keys that are wrong are
// reported without the value.
func TestProblemsDoNotEchoSecrets(t *testing.T) {
	text := `store:
  sealing_key: sealkey-Leak1
  postgres: {url: "mysql://u:pgpass-Leak2@h/db"}
http:
  public_url: https://chatter.example.com
  metrics: {basic_auth: {password: metrics-Leak3}}
workspaces:
  - id: shop
    amocrm:
      subdomain: shop
      long_lived_token: "Bearer token-Leak4"
    mapping: {inline: {lead: {name: x}}}
    bots:
      - id: b
        token: "12:token-Leak5"
        mode: webhook
        webhook_secret: "hook secret-Leak6"
    parser:
      accounts:
        - id: a
          api_id: 1
          api_hash: hash-Leak7
          phone: "phone-Leak8"
          proxy: "http://u:proxy-Leak9@h:1"
    notifications:
      webhooks:
        - url: "ftp://hooks/url-Leak10"
          secret: short-Leak11
`
	c, ps := loadYAML(t, text, nil, nil)
	require.True(t, ps.HasErrors())
	secrets := c.Secrets()
	require.Len(t, secrets, 11, "%q", secrets)
	rendered := ps.Error() + ps.Render("both")
	for _, p := range ps {
		rendered += p.Text("ru") + p.Text("en")
	}
	for _, s := range secrets {
		require.NotContains(t, rendered, s)
	}
	// and each of them was reported
	for _, p := range []string{"store.sealing_key", "store.postgres.url", "http.metrics.basic_auth.username",
		"workspaces[0].amocrm.long_lived_token", "workspaces[0].bots[0].token", "workspaces[0].bots[0].webhook_secret",
		"workspaces[0].parser.accounts[0].api_hash", "workspaces[0].parser.accounts[0].phone",
		"workspaces[0].parser.accounts[0].proxy", "workspaces[0].notifications.webhooks[0].url",
		"workspaces[0].notifications.webhooks[0].secret"} {
		require.Contains(t, errorPaths(ps), p, ps.Render("en"))
	}
}

// TestSecretKeysAreMarked: keys whose names say they are secrets carry the
// secret tag, so a new password key cannot be added unmarked.
func TestSecretKeysAreMarked(t *testing.T) {
	c, _ := loadFull(t)
	for _, lf := range leaves(c) {
		key := lf.path[strings.LastIndex(lf.path, ".")+1:]
		looksSecret := strings.Contains(key, "token") || strings.Contains(key, "secret") || strings.Contains(key, "password") ||
			strings.Contains(key, "hash") || key == "sealing_key"
		if key == "allowed_updates" || lf.v.Kind() != reflect.String {
			continue
		}
		if looksSecret && lf.f.secret == "" {
			t.Errorf("%s looks like a secret but is not tagged secret", lf.path)
		}
	}
}
