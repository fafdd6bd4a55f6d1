package smtpnotify

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

func leadNote() *chatter.Notification {
	return &chatter.Notification{
		Type: chatter.NotifyNewLead, Workspace: "acme", Time: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
		Severity: chatter.SeverityInfo,
		Title:    chatter.T("Новая сделка из Telegram", "New lead from Telegram"),
		Body:     chatter.T("Иван Петров: «Нужна доставка 20 коробок, <b>срочно</b>»", "Ivan Petrov: \"Need 20 boxes delivered, <b>urgent</b>\""),
		Link:     "https://acme.amocrm.ru/leads/detail/9001",
		Key:      "tgbot:42:-100123:7",
		Fields:   map[string]string{"lead_id": "9001", "chat": "@shop_chat"},
	}
}

// parts decodes a received email into its headers and its text/plain and
// text/html bodies.
func parts(t *testing.T, raw []byte) (*mail.Message, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("content type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	var plain, html string
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			r = quotedprintable.NewReader(p)
		}
		b, _ := io.ReadAll(r)
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			plain = string(b)
		case "text/html":
			html = string(b)
		}
	}
	return msg, plain, html
}

func TestSendOverSTARTTLSWithAuth(t *testing.T) {
	t.Parallel()
	ms := startMailServer(t, serverOpts{startTLS: true, user: "chatter@example.ru", pass: "p@ss-word"})
	cfg := ms.config()
	cfg.Username, cfg.Password = "chatter@example.ru", "p@ss-word"
	cfg.English = true
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(t.Context(), leadNote()); err != nil {
		t.Fatal(err)
	}
	got := ms.received()
	if len(got) != 1 || got[0].from != "chatter@example.ru" || len(got[0].to) != 1 || got[0].to[0] != "head@example.ru" {
		t.Fatalf("received = %+v", got)
	}
	msg, plain, html := parts(t, got[0].data)
	subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subj != "[Chatter] Новая сделка из Telegram" {
		t.Errorf("subject = %q", subj)
	}
	if msg.Header.Get("X-Chatter-Message-Key") != "tgbot:42:-100123:7" {
		t.Errorf("key header = %q", msg.Header.Get("X-Chatter-Message-Key"))
	}
	for _, want := range []string{"Иван Петров", "Need 20 boxes", "Сделка: 9001", "Lead: 9001", "https://acme.amocrm.ru/leads/detail/9001", "Открыть"} {
		if !strings.Contains(plain, want) {
			t.Errorf("plain text lacks %q:\n%s", want, plain)
		}
	}
	if strings.Contains(html, "<b>срочно</b>") || !strings.Contains(html, "&lt;b&gt;срочно&lt;/b&gt;") {
		t.Errorf("HTML does not escape the message text:\n%s", html)
	}
	if !strings.Contains(html, `href="https://acme.amocrm.ru/leads/detail/9001"`) {
		t.Errorf("HTML lacks the link:\n%s", html)
	}
}

func TestAuthFailureIsTypedAndHidesPassword(t *testing.T) {
	t.Parallel()
	ms := startMailServer(t, serverOpts{startTLS: true, user: "chatter@example.ru", pass: "right"})
	cfg := ms.config()
	cfg.Username, cfg.Password = "chatter@example.ru", "wrong-secret-pw"
	n, _ := New(cfg)
	err := n.Notify(t.Context(), leadNote())
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindAuth {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "wrong-secret-pw") || strings.Contains(e.Message().RU, "wrong-secret-pw") {
		t.Errorf("password leaked: %v", err)
	}
	if chatter.ClassOf(err) != chatter.ClassAuth || !strings.Contains(e.Message().RU, "пароль") {
		t.Errorf("class %q, message %q", chatter.ClassOf(err), e.Message().RU)
	}
	if len(ms.received()) != 0 {
		t.Error("mail was accepted despite failed auth")
	}
}

func TestServerDownIsConnectError(t *testing.T) {
	t.Parallel()
	n, _ := New(Config{Host: "127.0.0.1", Port: freePort(t), Security: SecurityNone, From: "c@example.ru", To: []string{"a@example.ru"}, Timeout: 5 * time.Second})
	err := n.Notify(t.Context(), leadNote())
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindConnect || chatter.ClassOf(err) != chatter.ClassTransient {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(e.Message().RU, "недоступен") || !strings.Contains(e.Message().EN, "unreachable") {
		t.Errorf("message = %+v", e.Message())
	}
}

func TestSTARTTLSRequiredButMissing(t *testing.T) {
	t.Parallel()
	ms := startMailServer(t, serverOpts{}) // no TLS offered
	cfg := ms.config()
	cfg.Security = SecuritySTARTTLS
	n, _ := New(cfg)
	err := n.Notify(t.Context(), leadNote())
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindTLS {
		t.Fatalf("err = %v", err)
	}
	if len(ms.received()) != 0 {
		t.Error("sent in clear text although STARTTLS is required")
	}
}

func TestUntrustedCertificate(t *testing.T) {
	t.Parallel()
	ms := startMailServer(t, serverOpts{startTLS: true})
	cfg := ms.config()
	cfg.TLSConfig = nil // the system pool does not trust the test CA
	n, _ := New(cfg)
	err := n.Notify(t.Context(), leadNote())
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindTLS {
		t.Fatalf("err = %v", err)
	}
}

func TestRecipientRejected(t *testing.T) {
	t.Parallel()
	ms := startMailServer(t, serverOpts{rejectTo: "gone@example.ru"})
	cfg := ms.config()
	cfg.To = []string{"gone@example.ru"}
	n, _ := New(cfg)
	err := n.Notify(t.Context(), leadNote())
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRejected || chatter.ClassOf(err) != chatter.ClassPermanent {
		t.Fatalf("err = %v", err)
	}
}

func TestPerTypeRecipients(t *testing.T) {
	t.Parallel()
	ms := startMailServer(t, serverOpts{})
	cfg := ms.config()
	cfg.Recipients = map[chatter.NotificationType][]string{
		chatter.NotifyAccountBlocked: {"admin@example.ru", "cto@example.ru"},
		chatter.NotifyNewLead:        {}, // turned off
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := n.Notify(ctx, leadNote()); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(ctx, &chatter.Notification{Type: chatter.NotifyAccountBlocked, Title: chatter.T("Аккаунт amoCRM заблокирован", "amoCRM account blocked")}); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(ctx, &chatter.Notification{Type: chatter.NotifySourceDown, Title: chatter.T("Бот не отвечает", "Bot is down")}); err != nil {
		t.Fatal(err)
	}
	got := ms.received()
	if len(got) != 2 {
		t.Fatalf("received %d mails, want 2 (new_lead is off)", len(got))
	}
	if strings.Join(got[0].to, ",") != "admin@example.ru,cto@example.ru" || strings.Join(got[1].to, ",") != "head@example.ru" {
		t.Errorf("recipients = %v / %v", got[0].to, got[1].to)
	}
}

func TestDigestAndTestSend(t *testing.T) {
	t.Parallel()
	ms := startMailServer(t, serverOpts{})
	n, _ := New(ms.config())
	digest := &chatter.Notification{
		Type: chatter.NotifyDigest, Count: 12,
		Title: chatter.T("Доставка не удалась: 12 раз за 5 минут", "Delivery failed 12 times in 5 minutes"),
		Items: []*chatter.Notification{
			{Title: chatter.T("Доставка не удалась", "Delivery failed"), Body: chatter.T("поле «Бюджет» не найдено", "field Budget not found")},
			{Title: chatter.T("Доставка не удалась", "Delivery failed"), Body: chatter.T("токен истёк", "token expired")},
		},
	}
	if err := n.Notify(t.Context(), digest); err != nil {
		t.Fatal(err)
	}
	if err := n.TestSend(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := ms.received()
	if len(got) != 2 {
		t.Fatalf("received %d", len(got))
	}
	_, plain, _ := parts(t, got[0].data)
	for _, want := range []string{"поле «Бюджет» не найдено", "…и ещё 10"} {
		if !strings.Contains(plain, want) {
			t.Errorf("digest lacks %q:\n%s", want, plain)
		}
	}
	msg, plain, _ := parts(t, got[1].data)
	subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if !strings.Contains(subj, "Проверка уведомлений") || !strings.Contains(plain, "тестовое письмо") {
		t.Errorf("test mail: %q %q", subj, plain)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	base := Config{Host: "smtp.example.ru", From: "c@example.ru", To: []string{"a@example.ru"}}
	for name, tc := range map[string]struct {
		mut             func(*Config)
		field, ru, en   string
		wrapsParseError bool
	}{
		"no host":  {func(c *Config) { c.Host = "" }, "Config.Host", "не задан адрес почтового сервера", "host is empty", false},
		"bad from": {func(c *Config) { c.From = "not an address" }, "Config.From", "не адрес электронной почты", `"not an address" is not an email address`, true},
		"bad to":   {func(c *Config) { c.To = []string{"x"} }, "Config.To", "не адрес электронной почты", `"x" is not an email address`, true},
		"bad type recipient": {func(c *Config) { c.Recipients = map[chatter.NotificationType][]string{"new_lead": {"@@"}} },
			"Config.Recipients[new_lead]", "не адрес", `"@@" is not an email address`, true},
		"bad security":     {func(c *Config) { c.Security = "ssl3" }, "Config.Security", "не starttls, tls или none", `"ssl3" is not starttls, tls or none`, false},
		"clear-text auth":  {func(c *Config) { c.Security, c.Username = SecurityNone, "u" }, "Config.Username", "открытым текстом", "clear text", false},
		"bad port":         {func(c *Config) { c.Port = 70000 }, "Config.Port", "порт 70000 вне диапазона", "port 70000 is outside 1-65535", false},
		"negative timeout": {func(c *Config) { c.Timeout = -time.Second }, "Config.Timeout", "отрицательное", "negative", false},
	} {
		c := base
		tc.mut(&c)
		_, err := New(c)
		require.Error(t, err, name)
		require.ErrorIs(t, err, chatter.ErrInvalid, name)
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, name)
		if diff := cmp.Diff(tc.field, ce.Field); diff != "" {
			t.Errorf("%s: field (-want +got):\n%s", name, diff)
		}
		if want := "smtpnotify: " + tc.field + ": "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.en) {
			t.Errorf("%s: Error() = %q; want %q… with %q", name, err, want, tc.en)
		}
		m := ce.Message()
		if !strings.Contains(m.RU, tc.field) || !strings.Contains(m.RU, tc.ru) || !strings.Contains(m.EN, tc.en) {
			t.Errorf("%s: Message() = %+v", name, m)
		}
		if (ce.Err != nil) != tc.wrapsParseError {
			t.Errorf("%s: underlying error = %v", name, ce.Err)
		}
		if strings.Count(err.Error(), "smtpnotify:") != 1 {
			t.Errorf("%s: %q repeats the prefix", name, err)
		}
	}
	n, err := New(base)
	if err != nil || n.cfg.Port != 587 || n.cfg.Security != SecuritySTARTTLS {
		t.Fatalf("defaults: %+v %v", n, err)
	}
	if err := (&Notifier{cfg: Config{}}).TestSend(t.Context()); err == nil {
		t.Error("TestSend with no recipients: no error")
	}
}

type fakeResolver map[string][]string

func (r fakeResolver) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := r[name]; ok {
		return v, nil
	}
	if name == "broken.ru" {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	ms := startMailServer(t, serverOpts{startTLS: true, user: "u@example.ru", pass: "pw"})
	cfg := ms.config()
	cfg.Username, cfg.Password = "u@example.ru", "pw"
	cfg.Resolver = fakeResolver{
		"example.ru":                  {"google-site-verification=abc", "v=spf1 include:_spf.yandex.net ~all"},
		"mail._domainkey.example.ru":  {"v=DKIM1; k=rsa; p=MIGfMA0GCSq"},
		"other.ru":                    {"nothing"},
		"default._domainkey.other.ru": {"unrelated"},
	}
	n, _ := New(cfg)
	results := map[string]chatter.CheckResult{}
	for _, c := range n.Checks() {
		results[c.Name()] = c.Run(t.Context())
	}
	for name, r := range results {
		if r.Status != chatter.StatusOK {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if results["smtp_sender_dkim"].Details["selector"] != "mail" {
		t.Errorf("dkim details = %v", results["smtp_sender_dkim"].Details)
	}

	// Wrong password, a domain without SPF/DKIM, and a DNS failure.
	cfg.Password = "nope"
	cfg.From = "c@other.ru"
	n, _ = New(cfg)
	for _, c := range n.Checks() {
		r := c.Run(t.Context())
		switch c.Name() {
		case "smtp_reachable":
			if r.Status != chatter.StatusOK {
				t.Errorf("reachable: %+v", r)
			}
		case "smtp_auth":
			if r.Status != chatter.StatusFail || r.Cause.RU == "" || r.Remedy.EN == "" {
				t.Errorf("auth: %+v", r)
			}
		default:
			if r.Status != chatter.StatusWarn || !strings.Contains(r.Cause.RU, "other.ru") || r.Remedy.RU == "" {
				t.Errorf("%s: %+v", c.Name(), r)
			}
		}
	}
	cfg.From = "c@broken.ru"
	n, _ = New(cfg)
	if r := n.Checks()[2].Run(t.Context()); r.Status != chatter.StatusWarn || !strings.Contains(r.Cause.EN, "Could not query DNS") {
		t.Errorf("spf with DNS failure: %+v", r)
	}
	// Server down: reachable fails.
	down, _ := New(Config{Host: "127.0.0.1", Port: freePort(t), Security: SecurityNone, From: "c@example.ru", Resolver: cfg.Resolver, Timeout: 5 * time.Second})
	if r := down.Checks()[0].Run(t.Context()); r.Status != chatter.StatusFail {
		t.Errorf("down: %+v", r)
	}
	if r := down.Checks()[1].Run(t.Context()); r.Status != chatter.StatusSkip {
		t.Errorf("no auth configured: %+v", r)
	}
}
