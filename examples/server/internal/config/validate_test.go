package config

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

// valid is a configuration using most sections, without problems.
const valid = `store:
  sealing_key: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
http:
  public_url: https://chatter.example.com
workspaces:
  - id: shop
    amocrm:
      subdomain: shop
      long_lived_token: aaaa.eyJleHAiOjF9.cccc
    mapping:
      inline:
        lead:
          name: "{{ text }}"
          fields:
            - id: 5
              type: text
              value: { from: sender.id }
    keywords:
      rules: [ремонт]
    bots:
      - id: sales
        token: 1:AAbbccddeeffgghhiijjkkllmmnnooppqq1
        mode: webhook
        webhook_secret: s3cret
    parser:
      accounts:
        - id: acc
          api_id: 1
          api_hash: 0123456789abcdef0123456789abcdef
          phone: "+79991234567"
          proxy: socks5://u:p@10.0.0.1:1080
      chats:
        - chat: "@leads"
    notifications:
      smtp: {host: mail.example.com, from: chatter@example.com, username: u, password: p}
      email: [{to: [a@example.com], events: [new_lead]}]
      telegram: [{bot: sales, chat_id: -100123, events: [source_down]}]
      webhooks: [{url: https://hooks.example.com/x, secret: 0123456789abcdef}]
`

func TestValidConfigHasNoProblems(t *testing.T) {
	_, ps := loadYAML(t, valid, nil, nil)
	require.Empty(t, ps, ps.Render("en"))
}

func TestValidateChecks(t *testing.T) {
	type want struct{ errors, warnings []string }
	cases := []struct {
		name   string
		mutate func(c *Config, w *Workspace)
		want   want
	}{
		{"data dir", func(c *Config, _ *Workspace) { c.DataDir = "" }, want{errors: []string{"data_dir"}}},
		{"log format", func(c *Config, _ *Workspace) { c.Log.Format = "xml" }, want{errors: []string{"log.format"}}},
		{"instance with a slash", func(c *Config, _ *Workspace) { c.Instance = "web/1" }, want{errors: []string{"instance"}}},
		{"instance in Cyrillic", func(c *Config, _ *Workspace) { c.Instance = "сервер" }, want{errors: []string{"instance"}}},
		{"instance", func(c *Config, _ *Workspace) { c.Instance = "chatter-web-1.prod" }, want{}},
		{"postgres url", func(c *Config, _ *Workspace) { c.Store.Postgres.URL = "mysql://db/x" }, want{errors: []string{"store.postgres.url"}}},
		{"postgres schema", func(c *Config, _ *Workspace) { c.Store.Postgres.Schema = "1bad-schema" }, want{errors: []string{"store.postgres.schema"}}},
		{"sealing key", func(c *Config, _ *Workspace) { c.Store.SealingKey = "abc" }, want{errors: []string{"store.sealing_key"}}},
		{"sealing key base64", func(c *Config, _ *Workspace) {
			c.Store.SealingKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
		}, want{}},
		{"no sqlite path", func(c *Config, _ *Workspace) { c.Store.SQLite.Path = "" }, want{errors: []string{"store.sqlite.path"}}},
		{"public url shape", func(c *Config, _ *Workspace) { c.HTTP.PublicURL = "chatter.example.com" }, want{errors: []string{"http.public_url"}}},
		{"public url query", func(c *Config, _ *Workspace) { c.HTTP.PublicURL = "https://x.example.com/?a=b" }, want{errors: []string{"http.public_url"}}},
		{"public url http with webhooks", func(c *Config, _ *Workspace) { c.HTTP.PublicURL = "http://chatter.example.com" },
			want{warnings: []string{"http.public_url"}}},
		{"public url http without webhooks", func(c *Config, w *Workspace) {
			c.HTTP.PublicURL = "http://chatter.example.com"
			w.Bots[0].Mode = ModePolling
		}, want{}},
		{"webhook port", func(c *Config, _ *Workspace) { c.HTTP.PublicURL = "https://chatter.example.com:9443" },
			want{warnings: []string{"workspaces[0].bots[0].mode"}}},
		{"webhook port with a local Bot API", func(c *Config, w *Workspace) {
			c.HTTP.PublicURL = "https://chatter.example.com:9443"
			w.Bots[0].APIURL = "http://127.0.0.1:8081"
		}, want{}},
		{"webhook without public url", func(c *Config, _ *Workspace) { c.HTTP.PublicURL = "" },
			want{errors: []string{"workspaces[0].bots[0].mode"}}},
		{"disabled webhook bot needs no public url", func(c *Config, w *Workspace) {
			c.HTTP.PublicURL = ""
			w.Bots[0].Disabled = true
		}, want{}},
		{"amocrm webhooks without public url", func(c *Config, w *Workspace) {
			c.HTTP.PublicURL = ""
			w.Bots[0].Mode = ModePolling
			w.AmoCRM.Webhooks = true
		}, want{errors: []string{"workspaces[0].amocrm.webhooks"}}},
		{"addr", func(c *Config, _ *Workspace) { c.HTTP.Addr = "8080" }, want{errors: []string{"http.addr"}}},
		{"addr any interface", func(c *Config, _ *Workspace) { c.HTTP.Addr = ":8080" }, want{}},
		{"trusted proxy", func(c *Config, _ *Workspace) { c.HTTP.TrustedProxies = []string{"10.0.0.1", "nope"} },
			want{errors: []string{"http.trusted_proxies[1]"}}},
		{"metrics networks", func(c *Config, _ *Workspace) { c.HTTP.Metrics.AllowedNetworks = []string{"::1/129"} },
			want{errors: []string{"http.metrics.allowed_networks[0]"}}},
		{"metrics by credentials only", func(c *Config, _ *Workspace) {
			c.HTTP.Metrics.AllowedNetworks = nil
			c.HTTP.Metrics.BasicAuth = BasicAuth{Username: "u", Password: "p"}
		}, want{}},
		{"metrics open to all", func(c *Config, _ *Workspace) { c.HTTP.Metrics.AllowedNetworks = []string{"10.0.0.0/8", "0.0.0.0/0"} },
			want{warnings: []string{"http.metrics.allowed_networks[1]"}}},
		{"metrics user without password", func(c *Config, _ *Workspace) { c.HTTP.Metrics.BasicAuth.Username = "u" },
			want{errors: []string{"http.metrics.basic_auth.password"}}},
		{"body limit", func(c *Config, _ *Workspace) { c.HTTP.MaxBodyBytes = 10 }, want{errors: []string{"http.max_body_bytes"}}},
		{"delivery", func(c *Config, _ *Workspace) {
			c.Delivery.MaxAttempts = -1
			c.Delivery.JobTimeout = 0
			c.Delivery.BackoffBase = Duration(time.Hour)
			c.Delivery.MaxAge = 0
			c.Delivery.BatchSize = 51
			c.Delivery.BatchWait = -1
		}, want{errors: []string{"delivery.backoff_base", "delivery.batch_size", "delivery.batch_wait", "delivery.job_timeout",
			"delivery.max_age", "delivery.max_attempts"}}},
		{"no workspaces", func(c *Config, _ *Workspace) { c.Workspaces = nil }, want{warnings: []string{"workspaces"}}},
		{"duplicate workspace", func(c *Config, w *Workspace) {
			w2 := *w
			w2.Bots = nil
			w2.Notifications.Telegram = nil
			c.Workspaces = append(c.Workspaces, w2)
		}, want{errors: []string{"workspaces[1].id"}}},
		{"workspace id", func(_ *Config, w *Workspace) { w.ID = "" }, want{errors: []string{"workspaces[0].id"}}},
		{"subdomain shape", func(_ *Config, w *Workspace) { w.AmoCRM.Subdomain = "https://shop.amocrm.ru" },
			want{errors: []string{"workspaces[0].amocrm.subdomain"}}},
		{"subdomain host", func(_ *Config, w *Workspace) { w.AmoCRM.Subdomain = "shop.kommo.com" }, want{}},
		{"no account", func(_ *Config, w *Workspace) { w.AmoCRM.Subdomain = "" }, want{errors: []string{"workspaces[0].amocrm.subdomain"}}},
		{"base url", func(_ *Config, w *Workspace) {
			w.AmoCRM.Subdomain = ""
			w.AmoCRM.BaseURL = "127.0.0.1:8787"
		}, want{errors: []string{"workspaces[0].amocrm.base_url"}}},
		{"base url for the subdomain's account", func(_ *Config, w *Workspace) { w.AmoCRM.BaseURL = "http://127.0.0.1:8787" }, want{}},
		{"token and oauth", func(_ *Config, w *Workspace) { w.AmoCRM.OAuth.ClientID = "x" }, want{errors: []string{"workspaces[0].amocrm.oauth"}}},
		{"oauth incomplete", func(_ *Config, w *Workspace) {
			w.AmoCRM.LongLivedToken = ""
			w.AmoCRM.OAuth = OAuth{ClientID: "x", RedirectURL: "/callback"}
		}, want{errors: []string{"workspaces[0].amocrm.oauth.client_secret", "workspaces[0].amocrm.oauth.redirect_url"}}},
		{"token shape", func(_ *Config, w *Workspace) { w.AmoCRM.LongLivedToken = "def502001234" },
			want{errors: []string{"workspaces[0].amocrm.long_lived_token"}}},
		{"marker and lookup", func(_ *Config, w *Workspace) {
			w.AmoCRM.MarkerField = " "
			w.AmoCRM.Lookup = "both"
			w.AmoCRM.ThreadWindow = -1
		}, want{errors: []string{"workspaces[0].amocrm.lookup", "workspaces[0].amocrm.marker_field", "workspaces[0].amocrm.thread_window"}}},
		{"no mapping", func(_ *Config, w *Workspace) { w.Mapping = Mapping{} }, want{errors: []string{"workspaces[0].mapping"}}},
		{"mapping without lead name", func(_ *Config, w *Workspace) { w.Mapping.Inline.Lead.Name = nil },
			want{errors: []string{"workspaces[0].mapping.inline.lead.name"}}},
		{"keyword rule", func(_ *Config, w *Workspace) { w.Keywords.Rules = []string{"ок", `"open`, ""} },
			want{errors: []string{"workspaces[0].keywords.rules[1]", "workspaces[0].keywords.rules[2]"}}},
		{"keywords apply to", func(_ *Config, w *Workspace) { w.Keywords.ApplyTo = "bots" }, want{errors: []string{"workspaces[0].keywords.apply_to"}}},
		{"no rules with chats", func(_ *Config, w *Workspace) { w.Keywords.Rules = nil }, want{warnings: []string{"workspaces[0].keywords.rules"}}},
		{"bot", func(_ *Config, w *Workspace) {
			w.Bots[0].Mode = "push"
			w.Bots[0].APIURL = "api.telegram.org"
			w.Bots[0].AllowedUpdates = []string{"message", "poll"}
			w.Bots[0].WebhookSecret = "has space"
		}, want{errors: []string{"workspaces[0].bots[0].allowed_updates[1]", "workspaces[0].bots[0].api_url", "workspaces[0].bots[0].mode",
			"workspaces[0].bots[0].webhook_secret"}}},
		{"webhook secret generated by the server", func(_ *Config, w *Workspace) { w.Bots[0].WebhookSecret = "" }, want{}},
		{"bot token", func(_ *Config, w *Workspace) { w.Bots[0].Token = "1:short" }, want{errors: []string{"workspaces[0].bots[0].token"}}},
		{"same bot token twice", func(_ *Config, w *Workspace) {
			w.Bots = append(w.Bots, Bot{ID: "other", Token: w.Bots[0].Token, Mode: ModePolling, APIURL: w.Bots[0].APIURL})
		}, want{errors: []string{"workspaces[0].bots[1].token"}}},
		{"duplicate bot id", func(_ *Config, w *Workspace) {
			w.Bots = append(w.Bots, Bot{ID: "sales", Token: "2:AAbbccddeeffgghhiijjkkllmmnnooppqq1", Mode: ModePolling, APIURL: w.Bots[0].APIURL})
		}, want{errors: []string{"workspaces[0].bots[1].id"}}},
		{"parser account", func(_ *Config, w *Workspace) {
			a := &w.Parser.Accounts[0]
			a.ID, a.APIID, a.APIHash, a.Phone, a.Proxy = "Acc:1", -1, "xyz", "+7999", "http://proxy:3128"
		}, want{errors: []string{"workspaces[0].parser.accounts[0].api_hash", "workspaces[0].parser.accounts[0].api_id",
			"workspaces[0].parser.accounts[0].id", "workspaces[0].parser.accounts[0].phone", "workspaces[0].parser.accounts[0].proxy"}}},
		{"mtproxy", func(_ *Config, w *Workspace) {
			w.Parser.Accounts[0].Proxy = "mtproxy://1.2.3.4:443?secret=ee00112233445566778899aabbccddeeff"
		}, want{}},
		{"chats without accounts", func(_ *Config, w *Workspace) { w.Parser.Accounts = nil }, want{errors: []string{"workspaces[0].parser.accounts"}}},
		{"chats", func(_ *Config, w *Workspace) {
			w.Parser.Chats = append(w.Parser.Chats,
				ParserChat{Chat: "https://t.me/leads"}, // the same chat as @leads
				ParserChat{Chat: "https://example.com/leads"},
				ParserChat{Chat: "t.me/+AbCdEfGhIjKl"},
				ParserChat{Chat: "-1001234567890", Depth: Depth{Count: -1, Since: "yesterday"}})
		}, want{errors: []string{"workspaces[0].parser.chats[1].chat", "workspaces[0].parser.chats[2].chat",
			"workspaces[0].parser.chats[4].depth.count", "workspaces[0].parser.chats[4].depth.since"},
			warnings: []string{"workspaces[0].parser.chats[3].join"}}},
		{"parser timing", func(_ *Config, w *Workspace) {
			w.Parser.PollInterval = Duration(time.Millisecond)
			w.Parser.MaxChatsPerAccount = -1
		}, want{errors: []string{"workspaces[0].parser.max_chats_per_account", "workspaces[0].parser.poll_interval"}}},
		{"mtproto server", func(_ *Config, w *Workspace) { w.Parser.Server = MTProtoServer{DC: 0, Address: "localhost"} },
			want{errors: []string{"workspaces[0].parser.server.address", "workspaces[0].parser.server.dc"}}},
		{"smtp", func(_ *Config, w *Workspace) {
			s := &w.Notifications.SMTP
			s.Host, s.Port, s.From, s.TLS, s.Username = "mail.example.com:25", 70000, "not an address", "ssl", ""
		}, want{errors: []string{"workspaces[0].notifications.smtp.from", "workspaces[0].notifications.smtp.host",
			"workspaces[0].notifications.smtp.port", "workspaces[0].notifications.smtp.tls", "workspaces[0].notifications.smtp.username"}}},
		{"smtp password in clear", func(_ *Config, w *Workspace) { w.Notifications.SMTP.TLS = TLSNone },
			want{warnings: []string{"workspaces[0].notifications.smtp.tls"}}},
		{"email without smtp", func(_ *Config, w *Workspace) { w.Notifications.SMTP = SMTP{} },
			want{errors: []string{"workspaces[0].notifications.email[0]"}}},
		{"smtp without recipients", func(_ *Config, w *Workspace) { w.Notifications.Email = nil },
			want{warnings: []string{"workspaces[0].notifications.email"}}},
		{"email route", func(_ *Config, w *Workspace) {
			w.Notifications.Email = append(w.Notifications.Email, EmailRoute{To: []string{"x@", "Boss <b@example.com>"}, Events: []string{"lead"}},
				EmailRoute{})
		}, want{errors: []string{"workspaces[0].notifications.email[1].events[0]", "workspaces[0].notifications.email[1].to[0]",
			"workspaces[0].notifications.email[1].to[1]", "workspaces[0].notifications.email[2].to"}}},
		{"telegram route", func(_ *Config, w *Workspace) {
			w.Notifications.Telegram[0] = TelegramRoute{Bot: "nobody", Lang: "de"}
		}, want{errors: []string{"workspaces[0].notifications.telegram[0].bot", "workspaces[0].notifications.telegram[0].chat_id",
			"workspaces[0].notifications.telegram[0].lang"}}},
		{"webhook route", func(_ *Config, w *Workspace) {
			w.Notifications.Webhooks[0] = WebhookNotifications{URL: "hooks.example.com", Secret: "short", Events: []string{"new_lead", "digest"}}
		}, want{errors: []string{"workspaces[0].notifications.webhooks[0].secret", "workspaces[0].notifications.webhooks[0].url"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, valid, nil, nil)
			tc.mutate(c, &c.Workspaces[0])
			ps := c.Validate()
			if d := cmp.Diff(tc.want.errors, errorPaths(ps), diffOpts); d != "" {
				t.Errorf("errors (-want +got):\n%s\n%s", d, ps.Render("en"))
			}
			if d := cmp.Diff(tc.want.warnings, warningPaths(ps), diffOpts); d != "" {
				t.Errorf("warnings (-want +got):\n%s\n%s", d, ps.Render("en"))
			}
			for _, p := range ps {
				require.NotEmpty(t, p.Message.RU, p.Path)
				require.NotEmpty(t, p.Message.EN, p.Path)
				require.NotEqual(t, p.Message.RU, p.Message.EN, "%s: the Russian text is missing", p.Path)
			}
		})
	}
}

func TestNotificationTypesAreTheSDKs(t *testing.T) {
	require.GreaterOrEqual(t, len(NotificationTypes()), 9)
	for _, nt := range []chatter.NotificationType{chatter.NotifyNewLead, chatter.NotifyDeliveryFailed, chatter.NotifySourceDown,
		chatter.NotifySourceUp, chatter.NotifyTokenExpiring, chatter.NotifyTokenExpired, chatter.NotifyRateLimited,
		chatter.NotifyAccountBlocked, chatter.NotifyDigest} {
		require.Contains(t, NotificationTypes(), nt)
	}
	require.False(t, knownEvent("new_leads"))
	for _, nt := range NotificationTypes() {
		// Label falls back to the raw name for a type the SDK does not know.
		require.NotEqual(t, chatter.T(string(nt), string(nt)), nt.Label(), "%s is not a chatter.NotificationType", nt)
	}
}

func TestPostgresWarnings(t *testing.T) {
	// No key and PostgreSQL: the warning says every instance needs the same key.
	_, ps := loadYAML(t, "store:\n  postgres: {url: postgres://db/x}\n"+minimal, nil, nil)
	require.False(t, ps.HasErrors(), ps.Render("en"))
	require.Equal(t, []string{"store.sealing_key_file"}, warningPaths(ps))
	require.Contains(t, ps.Warnings()[0].Message.EN, "every server instance needs the same key")
}

func TestSealingKeyFile(t *testing.T) {
	dir := t.TempDir()
	c, ps := Load("", envOf(map[string]string{"CHATTER_DATA_DIR": dir}), os.ReadFile)
	require.Equal(t, []string{"store.sealing_key_file", "workspaces"}, warningPaths(ps))

	key, created, err := EnsureSealingKey(c, bytes.NewReader(bytes.Repeat([]byte{7}, 32)))
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, bytes.Repeat([]byte{7}, 32), key)
	fi, err := os.Stat(filepath.Join(dir, "sealing.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// The next start reads the file: no warning, same key.
	c2, ps := Load("", envOf(map[string]string{"CHATTER_DATA_DIR": dir}), os.ReadFile)
	require.Equal(t, []string{"workspaces"}, warningPaths(ps))
	key2, created, err := EnsureSealingKey(c2, nil)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, key, key2)

	// Another process that lost the race to create it uses the winner's key.
	c3 := Default()
	c3.DataDir = dir
	key3, created, err := EnsureSealingKey(c3, nil)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, key, key3)

	// A damaged key file is reported with the file as its origin.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sealing.key"), []byte("garbage\n"), 0o600))
	_, ps = Load("", envOf(map[string]string{"CHATTER_DATA_DIR": dir}), os.ReadFile)
	require.Equal(t, []string{"store.sealing_key"}, errorPaths(ps))
	require.Equal(t, filepath.Join(dir, "sealing.key"), ps.Errors()[0].File)
	require.NotContains(t, ps.Error(), "garbage")

	// An explicit key needs no file.
	c4 := Default()
	c4.Store.SealingKey = strings.Repeat("ab", 32)
	key4, created, err := EnsureSealingKey(c4, nil)
	require.NoError(t, err)
	require.False(t, created)
	require.Len(t, key4, 32)
}

func TestCheckPrintsEveryProblem(t *testing.T) {
	l := Loader{ReadFile: memFS(map[string]string{confPath: "http:\n  addr: x\nlog:\n  level: loud\n"})}
	var out bytes.Buffer
	hasErrors, err := Check(&out, l, confPath, "both")
	require.NoError(t, err)
	require.True(t, hasErrors)
	text := out.String()
	for _, s := range []string{"line 2 http.addr", "line 4 log.level", "ошибка:", "error:", "2 error(s)", "ошибок: 2"} {
		require.Contains(t, text, s)
	}
	out.Reset()
	hasErrors, err = Check(&out, Loader{ReadFile: os.ReadFile}, "../../chatter.example.yaml", "en")
	require.NoError(t, err)
	require.False(t, hasErrors, out.String())
	require.Contains(t, out.String(), "no errors, 1 warning(s)")
	require.NotContains(t, out.String(), "ошибок")

	out.Reset()
	_, _ = Check(&out, Loader{ReadFile: os.ReadFile}, "testdata/full.yaml", "ru")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Equal(t, "ошибок нет, предупреждений: 1", lines[len(lines)-1])
	require.True(t, slices.ContainsFunc(lines, func(s string) bool {
		return strings.HasPrefix(s, "предупреждение: line 10 store.sqlite.path")
	}), out.String())
}
