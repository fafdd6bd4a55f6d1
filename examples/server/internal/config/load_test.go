package config

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/fieldmap"
)

const fullToken = "eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJIUzI1NiJ9.eyJhdWQiOiAieCIsICJleHAiOiA0MTAyNDQ0ODAwLCAiYWNjb3VudF9pZCI6IDF9.c2lnbmF0dXJlLXNoYXBlZC1wYXJ0"

// fullExpected is testdata/full.yaml as a struct.
func fullExpected(t *testing.T) *Config {
	return &Config{
		DataDir: "/var/lib/chatter", Instance: "chatter-web-1",
		Log: Log{Level: "debug", Format: "json"},
		Store: Store{
			SQLite:         SQLite{Path: "db/chatter.sqlite"},
			Postgres:       Postgres{URL: "postgres://chatter:pg-pass-Secret1@db.internal:5432/chatter?sslmode=require", Schema: "chatter_prod"},
			SealingKey:     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			SealingKeyFile: DefaultSealingKeyFile,
		},
		HTTP: HTTP{
			Addr: "0.0.0.0:8443", PublicURL: "https://chatter.example.com",
			TrustedProxies: []string{"10.0.0.0/8", "192.168.1.10"}, MaxBodyBytes: 2 << 20,
			Metrics: Metrics{Enabled: false, AllowedNetworks: []string{"10.1.0.0/16"},
				BasicAuth: BasicAuth{Username: "prometheus", Password: "metrics-pass-Secret2"}},
		},
		Delivery: Delivery{Workers: 8, JobTimeout: dur(time.Minute), MaxAttempts: 5, BackoffBase: dur(time.Second),
			BackoffMax: dur(5 * time.Minute), MaxAge: dur(48 * time.Hour), BatchSize: 20, BatchWait: dur(200 * time.Millisecond)},
		Auth: Auth{MaxFailures: 3, LockFor: dur(30 * time.Minute), MinPasswordLength: 12, PasswordMaxAge: dur(90 * 24 * time.Hour),
			SessionIdle: dur(8 * time.Hour), SessionMaxAge: dur(14 * 24 * time.Hour), ResetTTL: dur(2 * time.Hour), Timezone: "Europe/Moscow"},
		Notify: Notify{Webhook: NotifyWebhook{AllowPrivate: true}},
		Workspaces: []Workspace{
			{
				ID: "shop", Name: "Магазин",
				AmoCRM: AmoCRM{Subdomain: "shop", LongLivedToken: fullToken, MarkerField: "900001",
					ContactTelegramIDField: "TG id", ContactUsernameField: "900003", Lookup: LookupStore,
					ThreadWindow: dur(72 * time.Hour), Webhooks: true},
				Mapping: Mapping{File: "testdata/full-mapping.json",
					Inline: mustSpec(t, mustRead(t, "testdata/full-mapping.json"), fieldmap.FormatJSON)},
				Keywords: Keywords{File: "testdata/full-keywords.txt", Rules: []string{"ремонт квартиры", "(купить | заказать) окна"},
					FoldLookalikes: true, ApplyTo: ApplyToAll},
				Bots: []Bot{
					{ID: "sales-bot", Token: "123456789:AAbbccddeeffgghhiijjkkllmmnnooppqq1", Mode: ModeWebhook,
						WebhookSecret: "hook-Secret3", APIURL: "https://tg-bot-api.internal",
						AllowedUpdates: []string{"message", "my_chat_member"}},
					{ID: "support", Token: "987654321:AAsupportbotsecretsupportbotsecret0", Mode: ModePolling,
						APIURL: "https://api.telegram.org", Disabled: true},
				},
				Parser: Parser{
					Accounts: []ParserAccount{{ID: "sales-1", APIID: 2040, APIHash: "0123456789abcdef0123456789abcdef",
						Phone: "+79991234567", Proxy: "socks5://proxyuser:proxy-pass-Secret5@10.0.0.5:1080", Disabled: true}},
					Chats: []ParserChat{
						{Chat: "@leads_channel", Depth: Depth{Count: 50, Since: "2025-01-31"}},
						{Chat: "https://t.me/+AbCdEfGhIjKl", Join: true},
					},
					Depth:              Depth{Count: 100, Since: "30d"},
					PollInterval:       dur(2 * time.Minute),
					MaxChatsPerAccount: 20,
					Server:             MTProtoServer{DC: 2, Address: "127.0.0.1:10443", PublicKeyFile: "testdata/keys/server.pem"},
				},
				Notifications: Notifications{
					SMTP: SMTP{Host: "smtp.example.com", Port: 2525, Username: "chatter@example.com", Password: "smtp-pass-Secret6",
						From: "Chatter <chatter@example.com>", TLS: TLSImplicit, English: true},
					Email:    []EmailRoute{{To: []string{"sales@example.com", "boss@example.com"}, Events: []string{"new_lead"}}},
					Telegram: []TelegramRoute{{Bot: "sales-bot", ChatID: -1001234567890, Lang: "both", Events: []string{"delivery_failed", "source_down"}}},
					Webhooks: []WebhookNotifications{{URL: "https://hooks.example.com/services/T000/hook-url-Secret7",
						Secret: "webhook-sign-Secret8", Events: []string{"account_blocked"}}},
				},
			},
			{
				ID: "agency", Name: "agency",
				AmoCRM: AmoCRM{BaseURL: "http://127.0.0.1:8787",
					OAuth: OAuth{ClientID: "2e3a4b5c-6d7e-4f80-9a1b-2c3d4e5f6a7b", ClientSecret: "oauth-client-Secret9",
						RedirectURL: "https://chatter.example.com/oauth/amocrm", AuthURL: "https://www.kommo.com/oauth"},
					MarkerField: "Метка Chatter", Lookup: LookupCRM, ThreadWindow: dur(DefaultThreadWindow)},
				Mapping: Mapping{Inline: mustSpec(t, `
lead:
  name: "{{ text | truncate 40 }}"
  pipeline: 3001
  fields:
    - id: 700001
      type: text
      value: { from: sender.username }
`, fieldmap.FormatYAML)},
				Keywords: Keywords{Rules: []string{"ремонт квартиры", `re:\+7\d{10}`}, ApplyTo: ApplyToParser},
				Parser:   Parser{PollInterval: dur(DefaultPollInterval), MaxChatsPerAccount: DefaultMaxChats},
			},
		},
	}
}

func loadFull(t *testing.T) (*Config, Problems) {
	t.Helper()
	return Loader{ReadFile: os.ReadFile}.Load("testdata/full.yaml")
}

func TestLoadEveryKey(t *testing.T) {
	c, ps := loadFull(t)
	require.False(t, ps.HasErrors(), ps.Render("en"))
	if d := cmp.Diff(fullExpected(t), c, diffOpts); d != "" {
		t.Errorf("full.yaml (-want +got):\n%s", d)
	}
	// The only warning: sqlite.path is set next to a PostgreSQL URL.
	if d := cmp.Diff([]string{"store.sqlite.path"}, warningPaths(ps)); d != "" {
		t.Errorf("warnings (-want +got):\n%s\n%s", d, ps.Render("en"))
	}
}

// TestFullFileSetsEveryKey keeps full.yaml complete: every single-value key
// of the schema is set by the file in at least one list item (a new key
// without a line in full.yaml fails here).
func TestFullFileSetsEveryKey(t *testing.T) {
	c, _ := loadFull(t)
	index := regexp.MustCompile(`\[\d+\]`)
	covered := map[string]bool{}
	all := map[string]bool{}
	for _, lf := range leaves(c) {
		key := index.ReplaceAllString(lf.path, "[]")
		all[key] = true
		if o, ok := c.meta.origin(lf.path); ok && o.line > 0 {
			covered[key] = true
		}
	}
	delete(all, "store.sealing_key_file") // exclusive with store.sealing_key, tested apart
	for key := range all {
		if !covered[key] {
			t.Errorf("%s is not set in testdata/full.yaml", key)
		}
	}
	require.Greater(t, len(all), 80, "the schema walk found too few keys")
}

func TestDefaults(t *testing.T) {
	c, ps := Load("", envOf(nil), memFS(nil))
	require.NotNil(t, c)
	want := &Config{
		DataDir: "./chatter-data",
		Log:     Log{Level: "info", Format: "text"},
		Store:   Store{SQLite: SQLite{Path: "chatter.db"}, SealingKeyFile: "sealing.key"},
		HTTP: HTTP{Addr: "127.0.0.1:8080", MaxBodyBytes: 1 << 20,
			Metrics: Metrics{Enabled: true, AllowedNetworks: []string{"127.0.0.0/8", "::1/128"}}},
		Delivery: Delivery{Workers: 4, JobTimeout: dur(2 * time.Minute), MaxAttempts: chatter.DefaultMaxAttempts, BackoffBase: dur(2 * time.Second),
			BackoffMax: dur(10 * time.Minute), MaxAge: dur(24 * time.Hour)},
		Auth: Auth{MaxFailures: 5, LockFor: dur(15 * time.Minute), MinPasswordLength: 10, SessionIdle: dur(12 * time.Hour),
			SessionMaxAge: dur(30 * 24 * time.Hour), ResetTTL: dur(time.Hour)},
	}
	if d := cmp.Diff(want, c, diffOpts); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
	require.Equal(t, "chatter-data/chatter.db", c.SQLitePath())
	require.Equal(t, "chatter-data/sealing.key", c.SealingKeyPath())
	require.False(t, c.UsePostgres())
	// No file: no errors; warnings for the missing key file and no workspace.
	require.False(t, ps.HasErrors(), ps.Render("en"))
	if d := cmp.Diff([]string{"store.sealing_key_file", "workspaces"}, warningPaths(ps)); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}

	// Defaults of list items.
	c = mustLoad(t, minimal+`
    bots:
      - id: b
        token: 1:AAbbccddeeffgghhiijjkkllmmnnooppqq1
    notifications:
      smtp: {host: mail.example.com, from: a@example.com}
      email: [{to: [b@example.com]}]
      telegram: [{bot: b, chat_id: 5}]
`, nil, nil)
	w := c.Workspaces[0]
	require.Equal(t, "shop", w.Name)
	require.Equal(t, FieldRef("Chatter ID"), w.AmoCRM.MarkerField)
	require.Equal(t, LookupCRM, w.AmoCRM.Lookup)
	require.Equal(t, dur(7*24*time.Hour), w.AmoCRM.ThreadWindow)
	require.Equal(t, ModePolling, w.Bots[0].Mode)
	require.Equal(t, "https://api.telegram.org", w.Bots[0].APIURL)
	require.Equal(t, TLSStartTLS, w.Notifications.SMTP.TLS)
	require.Equal(t, 587, w.Notifications.SMTP.Port)
	require.Equal(t, "ru", w.Notifications.Telegram[0].Lang)
	require.Equal(t, ApplyToParser, w.Keywords.ApplyTo)
}

func TestSMTPPortDefaultFollowsTLS(t *testing.T) {
	for tls, port := range map[string]int{"tls": 465, "none": 25, "starttls": 587} {
		c := mustLoad(t, minimal+`
    notifications:
      smtp: {host: mail.example.com, from: a@example.com, tls: `+tls+`}
      email: [{to: [b@example.com]}]
`, nil, nil)
		require.Equal(t, port, c.Workspaces[0].Notifications.SMTP.Port, tls)
	}
}

func TestExampleFileIsValid(t *testing.T) {
	c, ps := Loader{ReadFile: os.ReadFile}.Load("../../chatter.example.yaml")
	require.False(t, ps.HasErrors(), ps.Render("en"))
	// The one warning: the sealing key file does not exist yet.
	if d := cmp.Diff([]string{"store.sealing_key_file"}, warningPaths(ps)); d != "" {
		t.Errorf("warnings (-want +got):\n%s\n%s", d, ps.Render("en"))
	}
	w := c.Workspace("demo")
	require.NotNil(t, w)
	// Pointed at the standalone fakes with their defaults.
	require.Equal(t, "http://127.0.0.1:8787", w.AmoCRM.BaseURL)
	require.Equal(t, "http://127.0.0.1:8081", w.Bot("support").APIURL)
	// amocrm-fake prints the long-lived token the variable sets; the
	// file holds a placeholder of the right shape.
	require.NotEmpty(t, w.AmoCRM.LongLivedToken)
	require.True(t, w.AmoCRM.OAuth.IsZero(), "OAuth stays commented out: the fake has no consent page")
	require.NotNil(t, w.Mapping.Inline)
}

// TestExampleDocumentsEveryKey: every key of the schema appears in the
// example file (set or in a comment).
func TestExampleDocumentsEveryKey(t *testing.T) {
	text := mustRead(t, "../../chatter.example.yaml")
	c, _ := loadFull(t)
	for _, lf := range leaves(c) {
		key := lf.path[strings.LastIndexAny(lf.path, ".")+1:]
		if !strings.Contains(text, key+":") {
			t.Errorf("key %s (%s) is not documented in chatter.example.yaml", key, lf.path)
		}
	}
}

func TestWorkspaceJSONRoundTrip(t *testing.T) {
	c, _ := loadFull(t)
	for _, w := range c.Workspaces {
		data, err := json.Marshal(w)
		require.NoError(t, err)
		var back Workspace
		require.NoError(t, json.Unmarshal(data, &back), string(data))
		if d := cmp.Diff(w, back, diffOpts); d != "" {
			t.Errorf("workspace %s JSON round trip (-want +got):\n%s", w.ID, d)
		}
		back.SetDefaults()
		cc := &Config{HTTP: HTTP{PublicURL: "https://chatter.example.com", Metrics: Metrics{AllowedNetworks: DefaultMetricsNetworks()}},
			Workspaces: []Workspace{back}}
		cc.SetDefaults()
		require.False(t, cc.Validate().HasErrors(), cc.Validate().Render("en"))
	}
	// The whole configuration too (Redacted relies on it).
	data, err := json.Marshal(c)
	require.NoError(t, err)
	var back Config
	require.NoError(t, json.Unmarshal(data, &back))
	if d := cmp.Diff(c, &back, diffOpts); d != "" {
		t.Errorf("config JSON round trip (-want +got):\n%s", d)
	}
	// An unknown key in a stored mapping is refused, as in YAML.
	var w Workspace
	require.Error(t, json.Unmarshal([]byte(`{"id":"x","mapping":{"inline":{"lead":{"name":"a"},"bogus":1}}}`), &w))
}

func TestBadYAMLGivesOneProblemWithLine(t *testing.T) {
	text := "http:\n  addr: 127.0.0.1:8080\n  public_url: [unclosed\nlog:\n  level: info\n"
	c, ps := loadYAML(t, text, nil, nil)
	require.Nil(t, c)
	require.Len(t, ps, 1, ps.Render("en"))
	require.Equal(t, SeverityError, ps[0].Severity)
	require.Equal(t, 3, ps[0].Line, ps.Render("en")) // where the unclosed [ is
	require.Contains(t, ps[0].Message.EN, "not valid YAML")
	require.NotEmpty(t, ps[0].Message.RU)

	// A tab in the indentation.
	_, ps = loadYAML(t, "http:\n\taddr: x\n", nil, nil)
	require.Len(t, ps, 1)
	require.Equal(t, 2, ps[0].Line, ps.Render("en"))

	// Two documents.
	_, ps = loadYAML(t, "log: {level: info}\n---\nlog: {level: debug}\n", nil, nil)
	require.Len(t, ps, 1)
	require.Contains(t, ps[0].Message.EN, "more than one YAML document")
}

func TestUnknownAndRepeatedKeysWithLines(t *testing.T) {
	text := `http:
  adr: 127.0.0.1:8080
  metrics:
    enabled: true
    enabled: false
workspaces:
  - id: shop
    amocrm: {subdomain: shop, long_lived_token: aaaa.eyJleHAiOjF9.cccc, tokken: x}
    mapping: {inline: {lead: {name: x}}}
`
	_, ps := loadYAML(t, text, nil, nil)
	want := []Problem{
		{Path: "http.adr", Line: 2, Severity: SeverityError},
		{Path: "http.metrics.enabled", Line: 5, Severity: SeverityError},
		{Path: "workspaces[0].amocrm.tokken", Line: 8, Severity: SeverityError},
	}
	got := ps.Errors()
	require.Len(t, got, len(want), ps.Render("en"))
	for i := range want {
		require.Equal(t, want[i].Path, got[i].Path)
		require.Equal(t, want[i].Line, got[i].Line, got[i].Path)
	}
	require.Contains(t, got[0].Message.EN, `did you mean "addr"`)
	require.Contains(t, got[1].Message.EN, "appears twice (first on line 4)")
}

func TestWrongValueTypes(t *testing.T) {
	text := `http:
  max_body_bytes: lots
  trusted_proxies: {a: b}
  metrics:
    enabled: maybe
delivery:
  job_timeout: forever
  workers: 2.5
`
	_, ps := loadYAML(t, text, nil, nil)
	if d := cmp.Diff([]string{"delivery.job_timeout", "delivery.workers", "http.max_body_bytes", "http.metrics.enabled",
		"http.trusted_proxies"}, errorPaths(ps)); d != "" {
		t.Errorf("errors (-want +got):\n%s\n%s", d, ps.Render("en"))
	}
	for _, p := range ps.Errors() {
		require.NotZero(t, p.Line, p.Path)
	}
}

func TestAllProblemsReportedAtOnce(t *testing.T) {
	text := `log:
  level: loud
http:
  addr: nowhere
  trusted_proxies: [10.0.0.0/33]
delivery:
  workers: -1
workspaces:
  - id: Shop
    amocrm:
      subdomain: shop
      base_url: 127.0.0.1:8787
    mapping:
      inline:
        lead:
          name: "{{ text | nosuchfunc }}"
    keywords:
      rules: ["ремонт (", "окна"]
    bots:
      - id: support
        token: not-a-token
        mode: webhook
        webhook_secret: s3cret
    parser:
      accounts:
        - id: sales
          api_id: 0
          api_hash: 0123456789abcdef0123456789abcdef
          phone: "89991234567"
          proxy: http://proxy.example.com:3128
    notifications:
      telegram:
        - bot: nobody
          chat_id: 1
          events: [new_leads]
`
	_, ps := loadYAML(t, text, nil, nil)
	want := []string{
		"http.addr",
		"http.trusted_proxies[0]",
		"log.level",
		"delivery.workers",
		"workspaces[0].amocrm.base_url",          // not a URL
		"workspaces[0].amocrm.long_lived_token",  // no way to sign in
		"workspaces[0].bots[0].mode",             // webhook without public_url
		"workspaces[0].bots[0].token",            // shape
		"workspaces[0].id",                       // upper case
		"workspaces[0].keywords.rules[0]",        // syntax
		"workspaces[0].mapping.inline.lead.name", // template function
		"workspaces[0].notifications.telegram[0].bot",
		"workspaces[0].notifications.telegram[0].events[0]",
		"workspaces[0].parser.accounts[0].api_id",
		"workspaces[0].parser.accounts[0].phone",
		"workspaces[0].parser.accounts[0].proxy",
	}
	slicesSort(want)
	if d := cmp.Diff(want, errorPaths(ps)); d != "" {
		t.Errorf("errors (-want +got):\n%s\n%s", d, ps.Render("en"))
	}
	// Each carries its line and both languages.
	for _, p := range ps.Errors() {
		require.NotZero(t, p.Line, p.Path)
		require.NotEmpty(t, p.Message.RU, p.Path)
		require.NotEmpty(t, p.Message.EN, p.Path)
	}
	// The problems come in file order, and Error() renders all of them.
	errs := ps.Errors()
	for i := 1; i < len(errs); i++ {
		require.LessOrEqual(t, errs[i-1].Line, errs[i].Line)
	}
	for _, p := range want {
		require.Contains(t, ps.Error(), p)
	}
	require.Error(t, ps.Err())
}

func slicesSort(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestMappingFileProblemsPointIntoTheFile(t *testing.T) {
	text := `workspaces:
  - id: shop
    amocrm: {subdomain: shop, long_lived_token: aaaa.eyJleHAiOjF9.cccc}
    mapping:
      file: maps/lead.yaml
`
	mapping := "lead:\n  name: x\n  fields:\n    - id: 5\n      type: text\n      value: '{{ text | nosuch }}'\n"
	_, ps := loadYAML(t, text, nil, map[string]string{"conf/maps/lead.yaml": mapping})
	errs := ps.Errors()
	require.Len(t, errs, 1, ps.Render("en"))
	require.Equal(t, "workspaces[0].mapping.file", errs[0].Path)
	require.Equal(t, "conf/maps/lead.yaml", errs[0].File)
	require.Equal(t, 6, errs[0].Line, ps.Render("en"))
	require.Contains(t, errs[0].Message.EN, "lead.fields[0].value")

	// A mapping file that does not parse, and one that is missing.
	_, ps = loadYAML(t, text, nil, map[string]string{"conf/maps/lead.yaml": "lead: {name: x, bogus: 1}\n"})
	require.Equal(t, []string{"workspaces[0].mapping.file"}, errorPaths(ps), ps.Render("en"))
	require.Contains(t, ps.Errors()[0].Message.EN, "bogus")
	require.Equal(t, 1, ps.Errors()[0].Line)
	_, ps = loadYAML(t, text, nil, nil)
	require.Equal(t, []string{"workspaces[0].mapping.file"}, errorPaths(ps), ps.Render("en"))
	require.Equal(t, 5, ps.Errors()[0].Line)
}

func TestKeywordsFileProblemsPointIntoTheFile(t *testing.T) {
	text := `workspaces:
  - id: shop
    amocrm: {subdomain: shop, long_lived_token: aaaa.eyJleHAiOjF9.cccc}
    mapping: {inline: {lead: {name: x}}}
    keywords:
      file: /etc/chatter/keywords.txt
`
	rules := "# rules\n\nремонт квартиры\n\"незакрытая фраза\n"
	c, ps := loadYAML(t, text, nil, map[string]string{"/etc/chatter/keywords.txt": rules})
	errs := ps.Errors()
	require.Len(t, errs, 1, ps.Render("en"))
	require.Equal(t, "workspaces[0].keywords.rules[1]", errs[0].Path)
	require.Equal(t, "/etc/chatter/keywords.txt", errs[0].File)
	require.Equal(t, 4, errs[0].Line)
	require.Equal(t, []string{"ремонт квартиры", `"незакрытая фраза`}, c.Workspaces[0].Keywords.Rules)
}

func TestInvalidInlineMappingKey(t *testing.T) {
	text := `workspaces:
  - id: shop
    amocrm: {subdomain: shop, long_lived_token: aaaa.eyJleHAiOjF9.cccc}
    mapping:
      inline:
        lead: {name: x}
        leed: {}
`
	_, ps := loadYAML(t, text, nil, nil)
	require.Equal(t, []string{"workspaces[0].mapping.inline"}, errorPaths(ps), ps.Render("en"))
	require.Contains(t, ps.Errors()[0].Message.EN, "leed")
	require.Equal(t, 7, ps.Errors()[0].Line) // the unknown key's own line
}

func TestMissingConfigFile(t *testing.T) {
	c, ps := Load("nope.yaml", envOf(nil), memFS(nil))
	require.Nil(t, c)
	require.Len(t, ps, 1)
	require.Contains(t, ps[0].Message.EN, "cannot read the config file")
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30s": 30 * time.Second, "5m": 5 * time.Minute, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour,
		"0": 0, "-2h": -2 * time.Hour, "150ms": 150 * time.Millisecond,
	} {
		got, err := ParseDuration(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got.D(), in)
		back, err := ParseDuration(got.String())
		require.NoError(t, err)
		require.Equal(t, got, back, in)
	}
	for _, bad := range []string{"", "d", "7", "1.5d", "3h2d", "1d-2h", "99999999999999d", "forever"} {
		_, err := ParseDuration(bad)
		require.Error(t, err, bad)
	}
	require.Equal(t, "7d", Duration(7*24*time.Hour).String())
	require.Equal(t, "1h30m0s", Duration(90*time.Minute).String())
}

func TestFieldRef(t *testing.T) {
	id, ok := FieldRef("900001").ID()
	require.True(t, ok)
	require.Equal(t, 900001, id)
	require.Empty(t, FieldRef("900001").Name())
	_, ok = FieldRef("Chatter ID").ID()
	require.False(t, ok)
	require.Equal(t, "Chatter ID", FieldRef(" Chatter ID ").Name())
}

// TestMappingPathTypoIsAProblem: a mapping that reads a path a message does
// not have is refused by config check with a suggestion, instead of
// yielding empty values at delivery.
func TestMappingPathTypoIsAProblem(t *testing.T) {
	text := `workspaces:
  - id: shop
    amocrm: {subdomain: shop, long_lived_token: aaaa.eyJleHAiOjF9.cccc}
    mapping:
      file: maps/lead.yaml
`
	mapping := "lead:\n  name: '{{ sendr.first_name }}'\n"
	_, ps := loadYAML(t, text, nil, map[string]string{"conf/maps/lead.yaml": mapping})
	errs := ps.Errors()
	require.Len(t, errs, 1, ps.Render("en"))
	require.Equal(t, "conf/maps/lead.yaml", errs[0].File)
	require.Equal(t, 2, errs[0].Line, ps.Render("en"))
	require.Contains(t, errs[0].Message.EN, "sendr.first_name")
	require.Contains(t, errs[0].Message.EN, "sender.first_name", "the suggestion")

	// Every path of a message, raw.* and the computed sender.name included, compiles.
	mapping = "lead:\n  name: '{{ sender.name }} {{ chat.title }} {{ raw.message.text }}'\n"
	_, ps = loadYAML(t, text, nil, map[string]string{"conf/maps/lead.yaml": mapping})
	require.Empty(t, ps.Errors(), ps.Render("en"))
}
