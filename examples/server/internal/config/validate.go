package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/keyword"
	"github.com/chatterhq/sdk/fieldmap"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgparse"
)

// notificationCandidates are the event names of chatter.NotificationType
// values; NotificationTypes keeps those the SDK knows.
var notificationCandidates = []string{
	"new_lead", "delivery_failed", "source_down", "source_up", "token_expiring", "token_expired",
	"rate_limited", "account_blocked", "auth_failed", "rights_missing", "digest",
}

// knownEvent reports whether name is a chatter.NotificationType the SDK
// knows: its Label is its own (an unknown type's label is its raw name).
func knownEvent(name string) bool {
	return chatter.NotificationType(name).Label() != chatter.T(name, name)
}

// NotificationTypes are the event names notifications accept: the SDK's
// chatter.NotificationType values.
func NotificationTypes() []chatter.NotificationType {
	var out []chatter.NotificationType
	for _, n := range notificationCandidates {
		if knownEvent(n) {
			out = append(out, chatter.NotificationType(n))
		}
	}
	return out
}

// AllowedUpdates are the Bot API update kinds a bot may ask for.
func AllowedUpdates() []string {
	return []string{tgbot.UpdateMessage, tgbot.UpdateEditedMessage, tgbot.UpdateChannelPost,
		tgbot.UpdateEditedChannelPost, tgbot.UpdateCallbackQuery, tgbot.UpdateMyChatMember}
}

var (
	idRE        = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	botTokenRE  = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{35}$`)
	subdomainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
	schemaRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	secretRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	jwtPartRE   = regexp.MustCompile(`^[A-Za-z0-9_-]+={0,2}$`)
)

// validator collects the problems of one configuration.
type validator struct {
	c     *Config
	probs Problems
}

func (v *validator) add(sev Severity, path, ru, en string) {
	o := v.c.meta.lookup(path)
	v.probs = append(v.probs, Problem{Path: path, File: o.file, Line: o.line, Env: o.env,
		Message: chatter.T(ru, en), Severity: sev})
}

func (v *validator) errorf(path, ru, en string) { v.add(SeverityError, path, ru, en) }
func (v *validator) warnf(path, ru, en string)  { v.add(SeverityWarning, path, ru, en) }

// required reports an empty key.
func (v *validator) required(path, value string) bool {
	if strings.TrimSpace(value) == "" {
		v.errorf(path, "ключ обязателен", "this key is required")
		return false
	}
	return true
}

// Validate checks the configuration and returns every problem at once,
// errors and warnings, in file order. It does no I/O: files are read by
// Load. A configuration with errors must not be used.
func (c *Config) Validate() Problems {
	v := &validator{c: c}
	v.top()
	v.store()
	v.http()
	v.delivery()
	v.auth()
	seen := map[string]string{}
	tokens := map[string]string{}
	for i := range c.Workspaces {
		wp := fmt.Sprintf("workspaces[%d]", i)
		w := &c.Workspaces[i]
		v.id(wp+".id", w.ID, seen, "workspaces")
		v.workspace(w, wp, tokens)
	}
	sortProblems(v.probs)
	return v.probs
}

// id checks an item id and that it is unique among seen (ids → paths).
func (v *validator) id(path, id string, seen map[string]string, list string) {
	if !v.required(path, id) {
		return
	}
	if !idRE.MatchString(id) {
		v.errorf(path, fmt.Sprintf("id %q: нужна строчная латинская буква, затем строчные буквы, цифры, - или _ (до 63 символов)", id),
			fmt.Sprintf("id %q: want a lower-case letter, then lower-case letters, digits, '-' or '_' (at most 63)", id))
		return
	}
	if first, dup := seen[id]; dup {
		v.errorf(path, fmt.Sprintf("id %q уже занят в %s (%s)", id, list, first), fmt.Sprintf("id %q is already used in %s (%s)", id, list, first))
		return
	}
	seen[id] = path
}

func (v *validator) top() {
	c := v.c
	v.required("data_dir", c.DataDir)
	if c.Instance != "" && chatter.ValidateInstance(c.Instance) != nil {
		v.errorf("instance", fmt.Sprintf("имя экземпляра %q: от 1 до %d латинских букв, цифр, '.', '_' или '-'", c.Instance, chatter.MaxInstanceLen),
			fmt.Sprintf("instance %q: 1 to %d ASCII letters, digits, '.', '_' or '-'", c.Instance, chatter.MaxInstanceLen))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		v.errorf("log.level", fmt.Sprintf("уровень %q: нужно debug, info, warn или error", c.Log.Level),
			fmt.Sprintf("level %q: want debug, info, warn or error", c.Log.Level))
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		v.errorf("log.format", fmt.Sprintf("формат %q: нужно text или json", c.Log.Format),
			fmt.Sprintf("format %q: want text or json", c.Log.Format))
	}
	if len(c.Workspaces) == 0 {
		v.warnf("workspaces", "не настроено ни одного рабочего пространства: добавьте его в файл или в веб-интерфейсе",
			"no workspace is configured: add one in the file or in the admin UI")
	}
}

func (v *validator) store() {
	s := &v.c.Store
	if s.Postgres.URL != "" {
		u, err := url.Parse(s.Postgres.URL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			v.errorf("store.postgres.url", "нужен адрес вида postgres://пользователь:пароль@хост:5432/база?sslmode=require",
				"want a URL such as postgres://user:password@host:5432/db?sslmode=require")
		}
		if _, explicit := v.c.meta.origin("store.sqlite.path"); explicit {
			v.warnf("store.sqlite.path", "задан store.postgres.url, поэтому store.sqlite.path не используется",
				"store.postgres.url is set, so store.sqlite.path is not used")
		}
	} else {
		v.required("store.sqlite.path", s.SQLite.Path)
	}
	if s.Postgres.Schema != "" && (!schemaRE.MatchString(s.Postgres.Schema) || len(s.Postgres.Schema) > 46) {
		v.errorf("store.postgres.schema", "схема: латинские буквы, цифры и _, не с цифры, до 46 символов",
			"schema: letters, digits and '_', not starting with a digit, at most 46 characters")
	}
	if s.SealingKey != "" {
		if _, err := ParseSealingKey(s.SealingKey); err != nil {
			v.errorf("store.sealing_key", "ключ шифрования должен быть 32 байтами: 64 шестнадцатеричные цифры или base64 (сгенерируйте: openssl rand -hex 32)",
				"the sealing key must be 32 bytes: 64 hex digits or base64 (generate one: openssl rand -hex 32)")
		}
		return
	}
	if v.c.meta != nil && v.c.meta.sealingKeyMissing {
		ru := fmt.Sprintf("ключ шифрования не задан: при первом запуске он будет создан в %s. Сохраните копию этого файла: без него зашифрованные токены и сессии не открыть",
			v.c.SealingKeyPath())
		en := fmt.Sprintf("no sealing key is set: it will be generated into %s on first start. Back that file up: without it the sealed tokens and sessions cannot be opened",
			v.c.SealingKeyPath())
		if v.c.UsePostgres() {
			ru += ". С PostgreSQL у всех экземпляров сервера должен быть один ключ: задайте store.sealing_key (или CHATTER_STORE_SEALING_KEY) одинаково везде"
			en += ". With PostgreSQL every server instance needs the same key: set store.sealing_key (or CHATTER_STORE_SEALING_KEY) alike everywhere"
		}
		v.warnf("store.sealing_key_file", ru, en)
	}
}

// origin returns a path's own origin (not an ancestor's) and whether it
// was set by the file, a variable or a flag.
func (m *meta) origin(path string) (origin, bool) {
	if m == nil {
		return origin{}, false
	}
	o, ok := m.origins[path]
	return o, ok
}

// webhooksUsed reports whether anything needs the public URL: a bot in
// webhook mode or amoCRM webhooks.
func (c *Config) webhooksUsed() bool {
	for _, w := range c.Workspaces {
		if w.AmoCRM.Webhooks {
			return true
		}
		for _, b := range w.Bots {
			if b.Mode == ModeWebhook && !b.Disabled {
				return true
			}
		}
	}
	return false
}

func (v *validator) http() {
	h := &v.c.HTTP
	v.hostPort("http.addr", h.Addr, true)
	if h.PublicURL != "" {
		u, err := url.Parse(h.PublicURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			v.errorf("http.public_url", "нужен полный адрес: https://chatter.example.com", "want an absolute URL: https://chatter.example.com")
		case u.RawQuery != "" || u.Fragment != "":
			v.errorf("http.public_url", "адрес не должен содержать ? или #", "the URL must not have a query or a fragment")
		case u.Scheme != "https" && v.c.webhooksUsed():
			v.warnf("http.public_url", "вебхуки настроены, а адрес не https: Telegram и amoCRM принимают только https (http годится лишь для тестовых серверов)",
				"webhooks are configured but the URL is not https: Telegram and amoCRM accept only https (http works only with test servers)")
		}
	}
	for i, p := range h.TrustedProxies {
		v.network(fmt.Sprintf("http.trusted_proxies[%d]", i), p)
	}
	if h.MaxBodyBytes < 1024 {
		v.errorf("http.max_body_bytes", "не меньше 1024 байт", "at least 1024 bytes")
	}
	m := &h.Metrics
	for i, p := range m.AllowedNetworks {
		v.network(fmt.Sprintf("http.metrics.allowed_networks[%d]", i), p)
	}
	if (m.BasicAuth.Username == "") != (m.BasicAuth.Password == "") {
		path := "http.metrics.basic_auth.password"
		if m.BasicAuth.Username == "" {
			path = "http.metrics.basic_auth.username"
		}
		v.errorf(path, "для basic auth нужны и имя пользователя, и пароль", "basic auth needs both a username and a password")
	}
	for i, n := range m.AllowedNetworks {
		if p, err := netip.ParsePrefix(n); err == nil && p.Bits() == 0 && m.Enabled {
			v.warnf(fmt.Sprintf("http.metrics.allowed_networks[%d]", i), "сеть охватывает все адреса: /metrics и диагностика открыты всем (basic auth их не закроет)",
				"the network covers every address: /metrics and the diagnostics are open to anyone (basic auth does not close them)")
		}
	}
}

// hostPort checks host:port (an empty host listens on every interface).
func (v *validator) hostPort(path, addr string, emptyHostOK bool) {
	if !v.required(path, addr) {
		return
	}
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 0 || n > 65535 || (!emptyHostOK && host == "") {
		v.errorf(path, fmt.Sprintf("%q: нужен адрес вида хост:порт, например 127.0.0.1:8080", addr),
			fmt.Sprintf("%q: want host:port, for example 127.0.0.1:8080", addr))
	}
}

func (v *validator) network(path, s string) {
	if _, err := netip.ParsePrefix(s); err == nil {
		return
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return
	}
	v.errorf(path, fmt.Sprintf("%q — не сеть: нужно, например, 10.0.0.0/8 или 192.168.1.10", s),
		fmt.Sprintf("%q is not a network: want for example 10.0.0.0/8 or 192.168.1.10", s))
}

func (v *validator) auth() {
	a := &v.c.Auth
	if a.MaxFailures < 1 || a.MaxFailures > 100 {
		v.errorf("auth.max_failures", "от 1 до 100", "1 to 100")
	}
	if a.MinPasswordLength < 8 || a.MinPasswordLength > 128 {
		v.errorf("auth.min_password_length", "от 8 до 128", "8 to 128")
	}
	for _, x := range []struct {
		path string
		d    Duration
	}{{"auth.lock_for", a.LockFor}, {"auth.session_idle", a.SessionIdle}, {"auth.session_max_age", a.SessionMaxAge}, {"auth.reset_ttl", a.ResetTTL}} {
		if x.d <= 0 {
			v.errorf(x.path, "длительность должна быть больше нуля", "the duration must be positive")
		}
	}
	if a.PasswordMaxAge < 0 {
		v.errorf("auth.password_max_age", "длительность не может быть отрицательной", "the duration must not be negative")
	}
	if a.SessionIdle > a.SessionMaxAge {
		v.errorf("auth.session_idle", "больше, чем auth.session_max_age", "exceeds auth.session_max_age")
	}
	if a.Timezone != "" {
		if _, err := time.LoadLocation(a.Timezone); err != nil {
			v.errorf("auth.timezone", fmt.Sprintf("%q: неизвестный часовой пояс (нужно имя IANA, например Europe/Moscow)", a.Timezone),
				fmt.Sprintf("%q: unknown time zone (want an IANA name such as Europe/Moscow)", a.Timezone))
		}
	}
}

func (v *validator) delivery() {
	d := &v.c.Delivery
	if d.Workers < 1 || d.Workers > 256 {
		v.errorf("delivery.workers", "от 1 до 256", "1 to 256")
	}
	if d.MaxAttempts < 0 {
		v.errorf("delivery.max_attempts", "не может быть отрицательным (0 — без ограничения по числу)", "must not be negative (0: no cap by count)")
	}
	for _, x := range []struct {
		path string
		d    Duration
	}{{"delivery.job_timeout", d.JobTimeout}, {"delivery.backoff_base", d.BackoffBase}, {"delivery.backoff_max", d.BackoffMax}} {
		if x.d <= 0 {
			v.errorf(x.path, "длительность должна быть больше нуля", "the duration must be positive")
		}
	}
	if d.BackoffBase > d.BackoffMax {
		v.errorf("delivery.backoff_base", "больше, чем delivery.backoff_max", "exceeds delivery.backoff_max")
	}
	if d.MaxAge <= 0 {
		v.errorf("delivery.max_age", "длительность должна быть больше нуля", "the duration must be positive")
	}
	if d.BatchSize < 0 || d.BatchSize > amocrm.MaxComplexBatch {
		v.errorf("delivery.batch_size", fmt.Sprintf("от 0 до %d", amocrm.MaxComplexBatch), fmt.Sprintf("0 to %d", amocrm.MaxComplexBatch))
	}
	if d.BatchWait < 0 {
		v.errorf("delivery.batch_wait", "длительность не может быть отрицательной", "the duration must not be negative")
	}
}

func (v *validator) workspace(w *Workspace, wp string, tokens map[string]string) {
	v.amocrm(&w.AmoCRM, wp+".amocrm")
	v.mapping(&w.Mapping, wp+".mapping")
	v.keywords(w, wp+".keywords")
	bots := map[string]string{}
	for i := range w.Bots {
		bp := fmt.Sprintf("%s.bots[%d]", wp, i)
		v.id(bp+".id", w.Bots[i].ID, bots, wp+".bots")
		v.bot(&w.Bots[i], bp, tokens)
	}
	v.parser(&w.Parser, wp+".parser")
	v.notifications(w, wp+".notifications")
}

func (v *validator) amocrm(a *AmoCRM, p string) {
	if a.Subdomain == "" && a.BaseURL == "" {
		v.errorf(p+".subdomain", "укажите аккаунт amoCRM: subdomain (example для example.amocrm.ru) или base_url",
			"name the amoCRM account: subdomain (example for example.amocrm.ru) or base_url")
	}
	if a.Subdomain != "" {
		s := strings.ToLower(strings.TrimSpace(a.Subdomain))
		if strings.Contains(s, "://") || !subdomainRE.MatchString(s) || strings.HasPrefix(s, "www.") {
			v.errorf(p+".subdomain", fmt.Sprintf("%q: нужен поддомен аккаунта (example) или его хост (example.amocrm.ru); полный адрес с http(s):// — в base_url", a.Subdomain),
				fmt.Sprintf("%q: want the account subdomain (example) or host (example.amocrm.ru); a full http(s):// URL goes in base_url", a.Subdomain))
		}
	}
	if a.BaseURL != "" {
		v.httpURL(p+".base_url", a.BaseURL)
	}
	switch {
	case a.LongLivedToken != "" && !a.OAuth.IsZero():
		v.errorf(p+".oauth", "заданы и long_lived_token, и oauth: оставьте один способ входа", "both long_lived_token and oauth are set: keep one way to sign in")
	case a.LongLivedToken == "" && a.OAuth.IsZero():
		v.errorf(p+".long_lived_token", "укажите вход в amoCRM: long_lived_token (закрытая интеграция) или oauth (client_id, client_secret, redirect_url)",
			"set how to sign in to amoCRM: long_lived_token (a private integration) or oauth (client_id, client_secret, redirect_url)")
	case a.LongLivedToken != "":
		v.jwt(p+".long_lived_token", a.LongLivedToken)
	default:
		v.required(p+".oauth.client_id", a.OAuth.ClientID)
		v.required(p+".oauth.client_secret", a.OAuth.ClientSecret)
		if v.required(p+".oauth.redirect_url", a.OAuth.RedirectURL) {
			v.httpURL(p+".oauth.redirect_url", a.OAuth.RedirectURL)
		}
		if a.OAuth.AuthURL != "" {
			v.httpURL(p+".oauth.auth_url", a.OAuth.AuthURL)
		}
	}
	if strings.TrimSpace(string(a.MarkerField)) == "" {
		v.errorf(p+".marker_field", "нужно поле-метка сделки (имя или id), по умолчанию «Chatter ID»", "a lead marker field (name or id) is required; the default is \"Chatter ID\"")
	}
	if a.Lookup != LookupCRM && a.Lookup != LookupStore {
		v.errorf(p+".lookup", fmt.Sprintf("%q: нужно crm или store", a.Lookup), fmt.Sprintf("%q: want crm or store", a.Lookup))
	}
	if a.ThreadWindow < 0 {
		v.errorf(p+".thread_window", "длительность не может быть отрицательной", "the duration must not be negative")
	}
	if a.Webhooks && v.c.HTTP.PublicURL == "" {
		v.errorf(p+".webhooks", "вебхукам amoCRM нужен http.public_url — адрес, по которому amoCRM достучится до сервера",
			"amoCRM webhooks need http.public_url, the address amoCRM reaches the server at")
	}
}

// jwt checks the shape of an amoCRM token (a JWT: three base64url parts).
func (v *validator) jwt(path, tok string) {
	if strings.HasPrefix(strings.ToLower(tok), "bearer ") {
		v.errorf(path, "вставьте сам токен, без слова Bearer", "paste the token itself, without the word Bearer")
		return
	}
	parts := strings.Split(tok, ".")
	ok := len(parts) == 3
	for _, part := range parts {
		ok = ok && jwtPartRE.MatchString(part)
	}
	if ok {
		_, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
		ok = err == nil
	}
	if !ok {
		v.errorf(path, "это не токен amoCRM: скопируйте долгосрочный токен целиком (три части через точку) в amoCRM → Настройки → Интеграции → Ключи и доступы",
			"this is not an amoCRM token: copy the whole long-lived token (three parts separated by dots) from amoCRM → Settings → Integrations → Keys and access")
	}
}

// httpURL checks an absolute http(s) URL.
func (v *validator) httpURL(path, s string) bool {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// the value is not echoed: some URLs carry a token
		v.errorf(path, "нужен полный адрес http:// или https://", "want an absolute http:// or https:// URL")
		return false
	}
	return true
}

func (v *validator) mapping(m *Mapping, p string) {
	if m.Inline == nil {
		if v.c.meta != nil && (v.c.meta.handled[p+".inline"] || v.c.meta.handled[p+".file"]) {
			return // reading it failed, and that was reported
		}
		if m.File == "" {
			v.errorf(p, "не задано сопоставление полей: mapping.inline (описание в файле конфигурации) или mapping.file",
				"no field mapping: set mapping.inline (the spec in the config file) or mapping.file")
		} else {
			v.errorf(p+".file", "файл сопоставления не прочитан (конфигурацию загружают через Load)", "the mapping file was not read (load the configuration with Load)")
		}
		return
	}
	_, err := fieldmap.Compile(m.Inline, fieldmap.WithRecordSchema(amocrmsink.MessageRecordSchema()))
	for _, fp := range fieldmap.ProblemsOf(err) {
		if fp.Code == fieldmap.CodeNeedsSchema {
			continue // resolved against the live account when the server starts
		}
		full := p + ".inline"
		if fp.Path != "" {
			full += "." + fp.Path
		}
		o := v.c.meta.lookup(full)
		ru, en := fp.Message.RU, fp.Message.EN
		if len(fp.Suggestions) > 0 {
			q := make([]string, len(fp.Suggestions))
			for i, s := range fp.Suggestions {
				q[i] = "«" + s + "»"
			}
			ru += " (возможно, имелось в виду " + strings.Join(q, ", ") + ")"
			en += " (did you mean " + strings.Join(q, ", ") + "?)"
		}
		if !fp.Remedy.IsZero() {
			ru += ". " + fp.Remedy.RU
			en += ". " + fp.Remedy.EN
		}
		path := full
		if m.File != "" {
			path = p + ".file"
			if fp.Path != "" {
				ru, en = fp.Path+": "+ru, fp.Path+": "+en
			}
		}
		sev := SeverityError
		if fp.Severity == fieldmap.SeverityWarning {
			sev = SeverityWarning
		}
		v.probs = append(v.probs, Problem{Path: path, File: o.file, Line: o.line, Env: o.env, Message: chatter.T(ru, en), Severity: sev})
	}
	if err != nil && len(fieldmap.ProblemsOf(err)) == 0 {
		v.errorf(p, "сопоставление не компилируется: "+err.Error(), "the mapping does not compile: "+err.Error())
	}
}

func (v *validator) keywords(w *Workspace, p string) {
	k := &w.Keywords
	norm := keyword.NormalizeOptions{FoldLookalikes: k.FoldLookalikes}
	bad := false
	for i, r := range k.Rules {
		rp := fmt.Sprintf("%s.rules[%d]", p, i)
		if strings.TrimSpace(r) == "" {
			v.errorf(rp, "пустое правило", "empty rule")
			bad = true
			continue
		}
		if _, err := keyword.Compile(keyword.Config{Rules: []keyword.Rule{{Expr: r}}, Normalize: norm}); err != nil {
			bad = true
			var se *keyword.SyntaxError
			if errors.As(err, &se) {
				msg := se.Message()
				v.errorf(rp, msg.RU, msg.EN)
			} else {
				v.errorf(rp, err.Error(), err.Error())
			}
		}
	}
	if !bad && len(k.Rules) > 0 {
		rules := make([]keyword.Rule, len(k.Rules))
		for i, r := range k.Rules {
			rules[i] = keyword.Rule{Expr: r}
		}
		if _, err := keyword.Compile(keyword.Config{Rules: rules, Normalize: norm}); err != nil {
			var se *keyword.SyntaxError
			if errors.As(err, &se) {
				msg := se.Message()
				v.errorf(p+".rules", msg.RU, msg.EN)
			} else {
				v.errorf(p+".rules", err.Error(), err.Error())
			}
		}
	}
	if k.ApplyTo != ApplyToParser && k.ApplyTo != ApplyToAll {
		v.errorf(p+".apply_to", fmt.Sprintf("%q: нужно parser или all", k.ApplyTo), fmt.Sprintf("%q: want parser or all", k.ApplyTo))
	}
	if len(k.Rules) == 0 && len(w.Parser.Chats) > 0 {
		v.warnf(p+".rules", "правил ключевых слов нет: каждое сообщение из отслеживаемых чатов станет сделкой",
			"there are no keyword rules: every message of the monitored chats becomes a lead")
	}
}

func (v *validator) bot(b *Bot, p string, tokens map[string]string) {
	if v.required(p+".token", b.Token) {
		if !botTokenRE.MatchString(b.Token) {
			v.errorf(p+".token", "это не токен бота: нужен вид <id бота>:<35 символов>, как его выдаёт @BotFather",
				"this is not a bot token: want <bot id>:<35 characters> as @BotFather issues it")
		} else if first, dup := tokens[b.Token]; dup {
			v.errorf(p+".token", fmt.Sprintf("этот токен уже у бота %s: один бот не может получать обновления дважды (Telegram ответит 409)", first),
				fmt.Sprintf("the same token is already used by %s: one bot cannot receive updates twice (Telegram answers 409)", first))
		} else {
			tokens[b.Token] = p
		}
	}
	switch b.Mode {
	case ModePolling:
	case ModeWebhook:
		if !b.Disabled && v.c.HTTP.PublicURL == "" {
			v.errorf(p+".mode", "режиму webhook нужен http.public_url — адрес, по которому Telegram достучится до сервера",
				"webhook mode needs http.public_url, the address Telegram reaches the server at")
		}
		if u, err := url.Parse(v.c.HTTP.PublicURL); err == nil && u.Scheme == "https" && b.APIURL == tgbot.DefaultBaseURL {
			if port := u.Port(); port != "" && !slices.Contains([]string{"443", "80", "88", "8443"}, port) {
				v.warnf(p+".mode", fmt.Sprintf("Telegram шлёт вебхуки только на порты 443, 80, 88 и 8443, а в http.public_url порт %s", port),
					fmt.Sprintf("Telegram sends webhooks only to ports 443, 80, 88 and 8443, but http.public_url has port %s", port))
			}
		}
	default:
		v.errorf(p+".mode", fmt.Sprintf("%q: нужно polling или webhook", b.Mode), fmt.Sprintf("%q: want polling or webhook", b.Mode))
	}
	if b.WebhookSecret != "" && !secretRE.MatchString(b.WebhookSecret) {
		v.errorf(p+".webhook_secret", "секрет: от 1 до 256 символов A-Z a-z 0-9 _ -", "the secret: 1 to 256 characters of A-Z a-z 0-9 _ -")
	}
	v.httpURL(p+".api_url", b.APIURL)
	for i, u := range b.AllowedUpdates {
		if !slices.Contains(AllowedUpdates(), u) {
			v.errorf(fmt.Sprintf("%s.allowed_updates[%d]", p, i), fmt.Sprintf("неизвестный вид обновлений %q: можно %s", u, strings.Join(AllowedUpdates(), ", ")),
				fmt.Sprintf("unknown update kind %q: want one of %s", u, strings.Join(AllowedUpdates(), ", ")))
		}
	}
}

func (v *validator) parser(ps *Parser, p string) {
	ids := map[string]string{}
	for i := range ps.Accounts {
		a := &ps.Accounts[i]
		ap := fmt.Sprintf("%s.accounts[%d]", p, i)
		v.id(ap+".id", a.ID, ids, p+".accounts")
		if a.APIID <= 0 {
			v.errorf(ap+".api_id", "api_id — положительное число с my.telegram.org", "api_id is a positive number from my.telegram.org")
		}
		if v.required(ap+".api_hash", a.APIHash) {
			if _, err := hex.DecodeString(a.APIHash); err != nil || len(a.APIHash) != 32 {
				v.errorf(ap+".api_hash", "api_hash — 32 шестнадцатеричные цифры с my.telegram.org", "api_hash is 32 hex digits from my.telegram.org")
			}
		}
		if v.required(ap+".phone", a.Phone) && !validPhone(a.Phone) {
			v.errorf(ap+".phone", "телефон в международном формате: + и от 7 до 15 цифр, например +79991234567",
				"the phone in international format: + and 7 to 15 digits, for example +79991234567")
		}
		if a.Proxy != "" {
			if _, err := tgparse.ParseProxy(a.Proxy); err != nil {
				v.errorf(ap+".proxy", "прокси: нужно socks5://[пользователь:пароль@]хост:порт или mtproxy://хост:порт?secret=HEX ("+redactErr(err, a.Proxy)+")",
					"proxy: want socks5://[user:password@]host:port or mtproxy://host:port?secret=HEX ("+redactErr(err, a.Proxy)+")")
			}
		}
	}
	if len(ps.Chats) > 0 && len(ps.Accounts) == 0 {
		v.errorf(p+".accounts", "чаты для парсинга заданы, а аккаунтов нет: добавьте хотя бы один аккаунт Telegram",
			"chats to parse are listed but there is no account: add at least one Telegram account")
	}
	v.depth(p+".depth", ps.Depth)
	chats := map[string]string{}
	for i := range ps.Chats {
		ch := &ps.Chats[i]
		cp := fmt.Sprintf("%s.chats[%d]", p, i)
		v.depth(cp+".depth", ch.Depth)
		if !v.required(cp+".chat", ch.Chat) {
			continue
		}
		link, err := tgparse.ParseLink(ch.Chat)
		if err != nil {
			t := tgparse.LinkProblem(err)
			if t.IsZero() {
				t = chatter.T(err.Error(), err.Error())
			}
			v.errorf(cp+".chat", fmt.Sprintf("%q: %s", ch.Chat, t.RU), fmt.Sprintf("%q: %s", ch.Chat, t.EN))
			continue
		}
		canon := link.String()
		if first, dup := chats[canon]; dup {
			v.errorf(cp+".chat", fmt.Sprintf("чат %s уже указан в %s", canon, first), fmt.Sprintf("chat %s is already listed in %s", canon, first))
		} else {
			chats[canon] = cp
		}
		if link.IsInvite() && !ch.Join {
			v.warnf(cp+".join", "по ссылке-приглашению чат читается только после вступления: поставьте join: true",
				"an invite link is read only after joining: set join: true")
		}
	}
	if ps.PollInterval.D() < time.Second {
		v.errorf(p+".poll_interval", "не меньше 1s", "at least 1s")
	}
	if ps.MaxChatsPerAccount < 1 {
		v.errorf(p+".max_chats_per_account", "не меньше 1", "at least 1")
	}
	if s := ps.Server; !s.IsZero() {
		if s.DC < 1 || s.DC > 1000 {
			v.errorf(p+".server.dc", "номер DC: от 1 до 1000", "DC number: 1 to 1000")
		}
		v.hostPort(p+".server.address", s.Address, false)
	}
}

func validPhone(p string) bool {
	if !strings.HasPrefix(p, "+") || len(p) < 8 || len(p) > 16 || p[1] == '0' {
		return false
	}
	return strings.Trim(p[1:], "0123456789") == ""
}

func (v *validator) depth(p string, d Depth) {
	if d.Count < 0 {
		v.errorf(p+".count", "число сообщений не может быть отрицательным", "the count must not be negative")
	}
	if d.Since != "" {
		if _, err := d.SinceTime(time.Time{}); err != nil {
			v.errorf(p+".since", fmt.Sprintf("%q: нужна дата (2025-01-31), время RFC 3339 или длительность назад (720h, 30d)", d.Since),
				fmt.Sprintf("%q: want a date (2025-01-31), an RFC 3339 time or a duration back (720h, 30d)", d.Since))
		}
	}
}

// SinceTime returns the earliest time of the depth: the date or time as
// written, or now minus the duration. It is zero when Since is empty.
func (d Depth) SinceTime(now time.Time) (time.Time, error) {
	s := strings.TrimSpace(d.Since)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	dur, err := ParseDuration(s)
	if err != nil || dur <= 0 {
		return time.Time{}, errors.New("want a date, an RFC 3339 time or a positive duration")
	}
	return now.Add(-dur.D()), nil
}

func (v *validator) events(p string, events []string) {
	for i, e := range events {
		if !knownEvent(e) {
			var names []string
			for _, t := range NotificationTypes() {
				names = append(names, string(t))
			}
			v.errorf(fmt.Sprintf("%s.events[%d]", p, i), fmt.Sprintf("неизвестное событие %q: можно %s", e, strings.Join(names, ", ")),
				fmt.Sprintf("unknown event %q: want one of %s", e, strings.Join(names, ", ")))
		}
	}
}

func (v *validator) notifications(w *Workspace, p string) {
	n := &w.Notifications
	s := &n.SMTP
	if !s.IsZero() {
		if v.required(p+".smtp.host", s.Host) && strings.ContainsAny(s.Host, ":/ ") {
			v.errorf(p+".smtp.host", "только имя хоста; порт — в smtp.port", "the host name only; the port goes in smtp.port")
		}
		if s.Port < 1 || s.Port > 65535 {
			v.errorf(p+".smtp.port", "порт от 1 до 65535", "a port from 1 to 65535")
		}
		if v.required(p+".smtp.from", s.From) {
			if _, err := mail.ParseAddress(s.From); err != nil {
				v.errorf(p+".smtp.from", fmt.Sprintf("%q — не адрес почты: нужно chatter@example.com или «Chatter <chatter@example.com>»", s.From),
					fmt.Sprintf("%q is not an email address: want chatter@example.com or \"Chatter <chatter@example.com>\"", s.From))
			}
		}
		if !slices.Contains([]string{TLSStartTLS, TLSImplicit, TLSNone}, s.TLS) {
			v.errorf(p+".smtp.tls", fmt.Sprintf("%q: нужно starttls, tls или none", s.TLS), fmt.Sprintf("%q: want starttls, tls or none", s.TLS))
		}
		if s.Password != "" && s.Username == "" {
			v.errorf(p+".smtp.username", "пароль задан, а имя пользователя нет", "a password is set without a username")
		}
		if s.TLS == TLSNone && s.Password != "" {
			v.warnf(p+".smtp.tls", "пароль SMTP уйдёт без шифрования: используйте starttls или tls", "the SMTP password would travel unencrypted: use starttls or tls")
		}
		if len(n.Email) == 0 {
			v.warnf(p+".email", "SMTP настроен, но получателей нет", "SMTP is configured but there are no recipients")
		}
	}
	for i := range n.Email {
		r := &n.Email[i]
		rp := fmt.Sprintf("%s.email[%d]", p, i)
		if s.IsZero() {
			v.errorf(rp, "письма некуда отправить: настройте notifications.smtp", "emails cannot be sent: configure notifications.smtp")
		}
		if len(r.To) == 0 {
			v.errorf(rp+".to", "укажите хотя бы один адрес", "list at least one address")
		}
		for j, to := range r.To {
			if a, err := mail.ParseAddress(to); err != nil || a.Name != "" {
				v.errorf(fmt.Sprintf("%s.to[%d]", rp, j), fmt.Sprintf("%q — не адрес почты", to), fmt.Sprintf("%q is not an email address", to))
			}
		}
		v.events(rp, r.Events)
	}
	for i := range n.Telegram {
		r := &n.Telegram[i]
		rp := fmt.Sprintf("%s.telegram[%d]", p, i)
		if v.required(rp+".bot", r.Bot) && w.Bot(r.Bot) == nil {
			var ids []string
			for _, b := range w.Bots {
				ids = append(ids, b.ID)
			}
			v.errorf(rp+".bot", fmt.Sprintf("бота %q нет в этом рабочем пространстве (есть: %s)", r.Bot, strings.Join(ids, ", ")),
				fmt.Sprintf("there is no bot %q in this workspace (there are: %s)", r.Bot, strings.Join(ids, ", ")))
		}
		if r.ChatID == 0 {
			v.errorf(rp+".chat_id", "нужен id чата: пользователя (он должен запустить бота), группы или канала",
				"a chat id is required: a user's (who started the bot), a group's or a channel's")
		}
		if !slices.Contains([]string{"ru", "en", "both"}, r.Lang) {
			v.errorf(rp+".lang", fmt.Sprintf("%q: нужно ru, en или both", r.Lang), fmt.Sprintf("%q: want ru, en or both", r.Lang))
		}
		v.events(rp, r.Events)
	}
	for i := range n.Webhooks {
		r := &n.Webhooks[i]
		rp := fmt.Sprintf("%s.webhooks[%d]", p, i)
		if v.required(rp+".url", r.URL) {
			v.httpURL(rp+".url", r.URL)
		}
		if len(r.Secret) < 16 {
			v.errorf(rp+".secret", "секрет подписи обязателен, не короче 16 символов (сгенерируйте: openssl rand -hex 32)",
				"a signing secret of at least 16 characters is required (generate one: openssl rand -hex 32)")
		}
		v.events(rp, r.Events)
	}
}

// ParseSealingKey decodes a sealing key: 64 hex digits, or base64
// (standard or URL alphabet, padded or not) of 32 bytes.
func ParseSealingKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("config: the sealing key must be 32 bytes: 64 hex digits or base64")
}

// redactErr renders a parse error without the secret parts of value.
func redactErr(err error, value string) string {
	msg := err.Error()
	for _, s := range urlSecrets(value) {
		msg = strings.ReplaceAll(msg, s, redacted)
	}
	return msg
}
