package smtpnotify

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/chatterhq/sdk/chatter"
)

// Security is how the connection to the SMTP server is protected.
type Security string

// Security modes.
const (
	// SecuritySTARTTLS upgrades a plain connection with STARTTLS and refuses
	// servers that do not offer it (port 587). The default.
	SecuritySTARTTLS Security = "starttls"
	// SecurityTLS connects with TLS from the first byte (port 465).
	SecurityTLS Security = "tls"
	// SecurityNone sends in clear text. Only for a relay on localhost or a
	// trusted network; authentication is refused in this mode.
	SecurityNone Security = "none"
)

// Defaults for Config fields left zero.
const (
	DefaultTimeout       = 15 * time.Second
	DefaultSubjectPrefix = "[Chatter]"
)

// DefaultDKIMSelectors are tried by the DKIM check when Config.DKIMSelectors is empty.
var DefaultDKIMSelectors = []string{"default", "mail", "dkim", "smtp", "selector1", "selector2", "google", "yandex", "s1", "k1"}

// Resolver looks up DNS TXT records; *net.Resolver satisfies it.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Config configures a Notifier.
type Config struct {
	// Host of the SMTP server. Required.
	Host string
	// Port defaults to 587 (465 with SecurityTLS, 25 with SecurityNone).
	Port int
	// Security defaults to SecuritySTARTTLS.
	Security Security
	// Username and Password authenticate (PLAIN or LOGIN, as the server
	// offers) when Username is set.
	Username, Password string
	// From is the sender, "Name <addr>" or "addr". Required.
	From string
	// To receives every notification type without its own entry in Recipients.
	To []string
	// Recipients overrides To per notification type; an empty list turns
	// that type off.
	Recipients map[chatter.NotificationType][]string
	// English appends the English text under the Russian one.
	English bool
	// SubjectPrefix starts every subject. Defaults to "[Chatter]".
	SubjectPrefix string
	// HELO is the name sent in EHLO. Defaults to go-mail's (the host name).
	HELO string
	// TLSConfig overrides the TLS settings (for example RootCAs for a
	// private CA). ServerName defaults to Host.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each SMTP command. Defaults to 15s.
	Timeout time.Duration
	// Resolver is used by the SPF and DKIM checks. Defaults to net.DefaultResolver.
	Resolver Resolver
	// DKIMSelectors are tried by the DKIM check. Defaults to DefaultDKIMSelectors.
	DKIMSelectors []string
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// Logger receives diagnostics; nil is silent. Passwords and message
	// bodies are never logged.
	Logger *slog.Logger
}

// Notifier sends notifications by email. It is safe for concurrent use.
type Notifier struct {
	cfg      Config
	from     *mail.Address
	fromAddr string
	log      *slog.Logger
}

var _ chatter.Notifier = (*Notifier)(nil)

// New validates cfg and returns a Notifier. It does no I/O. A bad cfg gives
// a *ConfigError (it wraps chatter.ErrInvalid).
func New(cfg Config) (*Notifier, error) {
	if cfg.Host == "" {
		return nil, configErr("Config.Host", "не задан адрес почтового сервера", "the mail server's host is empty", nil)
	}
	cfg.Security = cmp.Or(cfg.Security, SecuritySTARTTLS)
	switch cfg.Security {
	case SecuritySTARTTLS:
		cfg.Port = cmp.Or(cfg.Port, 587)
	case SecurityTLS:
		cfg.Port = cmp.Or(cfg.Port, 465)
	case SecurityNone:
		cfg.Port = cmp.Or(cfg.Port, 25)
		if cfg.Username != "" {
			return nil, configErr("Config.Username",
				"задан вместе с режимом без шифрования (none): пароль нельзя отправлять открытым текстом",
				"is set with SecurityNone: refusing to send a password in clear text", nil)
		}
	default:
		return nil, configErr("Config.Security", fmt.Sprintf("%q — не starttls, tls или none", cfg.Security),
			fmt.Sprintf("%q is not starttls, tls or none", cfg.Security), nil)
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, configErr("Config.Port", fmt.Sprintf("порт %d вне диапазона 1–65535", cfg.Port),
			fmt.Sprintf("port %d is outside 1-65535", cfg.Port), nil)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, configErr("Config.From", fmt.Sprintf("%q — не адрес электронной почты", cfg.From),
			fmt.Sprintf("%q is not an email address: %v", cfg.From, err), err)
	}
	for _, to := range cfg.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return nil, configErr("Config.To", fmt.Sprintf("%q — не адрес электронной почты", to),
				fmt.Sprintf("%q is not an email address: %v", to, err), err)
		}
	}
	for typ, list := range cfg.Recipients {
		for _, to := range list {
			if _, err := mail.ParseAddress(to); err != nil {
				field := fmt.Sprintf("Config.Recipients[%s]", typ)
				return nil, configErr(field, fmt.Sprintf("%q — не адрес электронной почты", to),
					fmt.Sprintf("%q is not an email address: %v", to, err), err)
			}
		}
	}
	if cfg.Timeout < 0 {
		return nil, configErr("Config.Timeout", "время ожидания отрицательное", "the timeout is negative", nil)
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.SubjectPrefix = cmp.Or(cfg.SubjectPrefix, DefaultSubjectPrefix)
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if len(cfg.DKIMSelectors) == 0 {
		cfg.DKIMSelectors = DefaultDKIMSelectors
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n := &Notifier{cfg: cfg, from: from, fromAddr: from.Address, log: cfg.Logger}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	return n, nil
}

// RecipientsFor returns who receives notifications of type t.
func (n *Notifier) RecipientsFor(t chatter.NotificationType) []string {
	if list, ok := n.cfg.Recipients[t]; ok {
		return list
	}
	return n.cfg.To
}

// Notify emails note to the recipients of its type. A type with no
// recipients is skipped without error.
func (n *Notifier) Notify(ctx context.Context, note *chatter.Notification) error {
	if note == nil {
		return errors.New("smtpnotify: nil notification")
	}
	to := n.RecipientsFor(note.Type)
	if len(to) == 0 {
		n.log.LogAttrs(ctx, slog.LevelDebug, "no recipients for notification type", slog.String("type", string(note.Type)))
		return nil
	}
	msg, err := n.message(note, to)
	if err != nil {
		return err
	}
	return n.send(ctx, msg)
}

// TestSend sends a test email to to (or, when empty, to every configured
// recipient), for a "send a test email" button.
func (n *Notifier) TestSend(ctx context.Context, to ...string) error {
	if len(to) == 0 {
		seen := map[string]bool{}
		for _, a := range n.cfg.To {
			seen[a] = true
		}
		for _, list := range n.cfg.Recipients {
			for _, a := range list {
				seen[a] = true
			}
		}
		for a := range seen {
			to = append(to, a)
		}
		slices.Sort(to)
	}
	if len(to) == 0 {
		return &Error{Kind: KindConfig, Err: errors.New("no recipients configured")}
	}
	note := &chatter.Notification{
		Type: "test", Time: n.cfg.Now(), Severity: chatter.SeverityInfo,
		Title: chatter.T("Проверка уведомлений Chatter", "Chatter notification test"),
		Body: chatter.T("Это тестовое письмо: если вы его читаете, уведомления по почте настроены верно.",
			"This is a test email: if you can read it, email notifications are set up correctly."),
	}
	msg, err := n.message(note, to)
	if err != nil {
		return err
	}
	return n.send(ctx, msg)
}

// Send sends a plain-text email to one address through the notifier's
// server and sender, for mail that is not a notification (a password-reset
// link, say). subject gets the notifier's SubjectPrefix. The errors are
// those of Notify.
func (n *Notifier) Send(ctx context.Context, to, subject, text string) error {
	if _, err := mail.ParseAddress(to); err != nil {
		return &Error{Kind: KindConfig, Err: fmt.Errorf("to %q: %w", to, err)}
	}
	m := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	if err := m.From(n.from.String()); err != nil {
		return &Error{Kind: KindConfig, Err: fmt.Errorf("from: %w", err)}
	}
	if err := m.To(to); err != nil {
		return &Error{Kind: KindConfig, Err: fmt.Errorf("to: %w", err)}
	}
	m.Subject(strings.TrimSpace(n.cfg.SubjectPrefix + " " + subject))
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(gomail.TypeTextPlain, text)
	return n.send(ctx, m)
}

func (n *Notifier) message(note *chatter.Notification, to []string) (*gomail.Msg, error) {
	m := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	if err := m.From(n.from.String()); err != nil {
		return nil, &Error{Kind: KindConfig, Err: fmt.Errorf("from: %w", err)}
	}
	if err := m.To(to...); err != nil {
		return nil, &Error{Kind: KindConfig, Err: fmt.Errorf("to: %w", err)}
	}
	m.Subject(n.subject(note))
	m.SetDate()
	m.SetMessageID()
	if note.Key != "" {
		m.SetGenHeader("X-Chatter-Message-Key", note.Key)
	}
	m.SetGenHeader("X-Chatter-Type", string(note.Type))
	plain, html, err := render(note, n.cfg.English)
	if err != nil {
		return nil, err
	}
	m.SetBodyString(gomail.TypeTextPlain, plain)
	m.AddAlternativeString(gomail.TypeTextHTML, html)
	return m, nil
}

func (n *Notifier) subject(note *chatter.Notification) string {
	title := note.Title.RU
	if title == "" {
		title = note.Title.EN
	}
	if note.Type == chatter.NotifyDigest && note.Count > 0 && !strings.Contains(title, strconv.Itoa(note.Count)) {
		title = fmt.Sprintf("%s (%d)", title, note.Count)
	}
	return strings.TrimSpace(n.cfg.SubjectPrefix + " " + title)
}

func (n *Notifier) client() (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(n.cfg.Port),
		gomail.WithTimeout(n.cfg.Timeout),
	}
	tlsCfg := &tls.Config{ServerName: n.cfg.Host, MinVersion: tls.VersionTLS12}
	if n.cfg.TLSConfig != nil {
		tlsCfg = n.cfg.TLSConfig.Clone()
		if tlsCfg.ServerName == "" {
			tlsCfg.ServerName = n.cfg.Host
		}
	}
	opts = append(opts, gomail.WithTLSConfig(tlsCfg))
	switch n.cfg.Security {
	case SecuritySTARTTLS:
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.TLSMandatory))
	case SecurityTLS:
		opts = append(opts, gomail.WithSSL())
	case SecurityNone:
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.NoTLS))
	}
	if n.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(n.cfg.HELO))
	}
	if n.cfg.Username != "" {
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(n.cfg.Username), gomail.WithPassword(n.cfg.Password))
	}
	c, err := gomail.NewClient(n.cfg.Host, opts...)
	if err != nil {
		return nil, &Error{Kind: KindConfig, Err: err}
	}
	// go-mail's defaults re-set the port for SSL; keep the configured one.
	c.SetTLSPortPolicy(policyFor(n.cfg.Security))
	if n.cfg.Security == SecurityTLS {
		c.SetSSLPort(true, false)
	}
	if err := c.SetTLSConfig(tlsCfg); err != nil {
		return nil, &Error{Kind: KindConfig, Err: err}
	}
	return c, nil
}

func policyFor(s Security) gomail.TLSPolicy {
	if s == SecurityNone {
		return gomail.NoTLS
	}
	return gomail.TLSMandatory
}

func (n *Notifier) send(ctx context.Context, msg *gomail.Msg) error {
	c, err := n.client()
	if err != nil {
		return err
	}
	if err := c.DialWithContext(ctx); err != nil {
		return n.fail(ctx, classifyDial(err, n.cfg.Username != ""))
	}
	defer func() { _ = c.Close() }()
	if err := c.Send(msg); err != nil {
		return n.fail(ctx, &Error{Kind: KindRejected, Err: scrubErr(err, n.cfg.Password)})
	}
	return nil
}

func (n *Notifier) fail(ctx context.Context, e *Error) error {
	e.Server = net.JoinHostPort(n.cfg.Host, strconv.Itoa(n.cfg.Port))
	e.Err = scrubErr(e.Err, n.cfg.Password)
	n.log.LogAttrs(ctx, slog.LevelWarn, "smtp send failed",
		slog.String("server", e.Server), slog.String("kind", string(e.Kind)), slog.String("error", e.Err.Error()))
	return e
}

// dial connects (and authenticates) without sending, for the checks.
func (n *Notifier) dial(ctx context.Context) error {
	c, err := n.client()
	if err != nil {
		return err
	}
	if err := c.DialWithContext(ctx); err != nil {
		return n.fail(ctx, classifyDial(err, n.cfg.Username != ""))
	}
	return c.Close()
}

func scrubErr(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[REDACTED]"))
}

var (
	htmlTmpl = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title.RU}}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;color:#222">
{{- range .Parts}}
<h2 style="margin:0 0 8px">{{.Title}}</h2>
{{- range .Lines}}<p style="margin:0 0 6px">{{.}}</p>{{end}}
{{- if .Fields}}<table style="border-collapse:collapse;margin:8px 0">
{{- range .Fields}}<tr><td style="padding:2px 12px 2px 0;color:#666">{{.K}}</td><td style="padding:2px 0">{{.V}}</td></tr>{{end}}
</table>{{end}}
{{- if $.Link}}<p><a href="{{$.Link}}">{{.LinkText}}</a></p>{{end}}
<hr style="border:0;border-top:1px solid #ddd">
{{- end}}
<p style="color:#888;font-size:12px">Chatter · {{.Time}}</p>
</body></html>
`))
)

type kv struct{ K, V string }

type part struct {
	Title    string
	Lines    []string
	Fields   []kv
	LinkText string
}

func render(note *chatter.Notification, english bool) (plain, html string, err error) {
	parts := []part{buildPart(note, "ru")}
	if english {
		parts = append(parts, buildPart(note, "en"))
	}
	var pb strings.Builder
	for i, p := range parts {
		if i > 0 {
			pb.WriteString("\n---\n\n")
		}
		pb.WriteString(p.Title + "\n\n")
		for _, l := range p.Lines {
			pb.WriteString(l + "\n")
		}
		if len(p.Fields) > 0 {
			pb.WriteString("\n")
			for _, f := range p.Fields {
				pb.WriteString(f.K + ": " + f.V + "\n")
			}
		}
		if note.Link != "" {
			pb.WriteString("\n" + p.LinkText + ": " + note.Link + "\n")
		}
	}
	ts := note.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	pb.WriteString("\nChatter · " + ts.Format("2006-01-02 15:04:05 MST") + "\n")
	var hb bytes.Buffer
	link := note.Link
	if !strings.HasPrefix(link, "https://") && !strings.HasPrefix(link, "http://") {
		link = "" // never render javascript: or other schemes as a link
	}
	err = htmlTmpl.Execute(&hb, map[string]any{
		"Title": note.Title, "Parts": parts, "Link": link, "Time": ts.Format("2006-01-02 15:04:05 MST"),
	})
	if err != nil {
		return "", "", fmt.Errorf("smtpnotify: render: %w", err)
	}
	return pb.String(), hb.String(), nil
}

func buildPart(note *chatter.Notification, lang string) part {
	p := part{Title: note.Title.In(lang), LinkText: "Открыть"}
	if lang == "en" {
		p.LinkText = "Open"
	}
	if body := note.Body.In(lang); body != "" {
		p.Lines = strings.Split(body, "\n")
	}
	if note.Type == chatter.NotifyDigest {
		for _, it := range note.Items {
			line := "• " + it.Title.In(lang)
			if b := it.Body.In(lang); b != "" {
				line += ": " + b
			}
			p.Lines = append(p.Lines, line)
		}
		if more := note.Count - len(note.Items); more > 0 && len(note.Items) > 0 {
			if lang == "en" {
				p.Lines = append(p.Lines, fmt.Sprintf("…and %d more", more))
			} else {
				p.Lines = append(p.Lines, fmt.Sprintf("…и ещё %d", more))
			}
		}
	}
	keys := make([]string, 0, len(note.Fields))
	for k := range note.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p.Fields = append(p.Fields, kv{fieldLabel(k, lang), note.Fields[k]})
	}
	if note.Key != "" {
		p.Fields = append(p.Fields, kv{fieldLabel("message_key", lang), note.Key})
	}
	return p
}

var labels = map[string]chatter.Text{
	"lead_id":     chatter.T("Сделка", "Lead"),
	"contact_id":  chatter.T("Контакт", "Contact"),
	"error_class": chatter.T("Тип ошибки", "Error type"),
	"error":       chatter.T("Ошибка", "Error"),
	"attempts":    chatter.T("Попыток", "Attempts"),
	"source":      chatter.T("Источник", "Source"),
	"chat":        chatter.T("Чат", "Chat"),
	"account":     chatter.T("Аккаунт", "Account"),
	"until":       chatter.T("До", "Until"),
	"message_key": chatter.T("Сообщение", "Message"),
}

func fieldLabel(k, lang string) string {
	if t, ok := labels[k]; ok {
		return t.In(lang)
	}
	return k
}
