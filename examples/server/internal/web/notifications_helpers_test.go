package web

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// testSMTP is a real SMTP server (emersion/go-smtp) on a loopback port,
// without TLS or login (config's tls: none), that hands on what it
// receives (waitFor).
type testSMTP struct {
	Host string
	Port int

	ch chan testMail
}

// testMail is one message the server received: envelope and raw data.
type testMail struct {
	From string
	To   []string
	Data string
}

func startTestSMTP(t *testing.T) *testSMTP {
	t.Helper()
	ms := &testSMTP{ch: make(chan testMail, 256)}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &testSMTPSession{ms: ms}, nil }))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 30*time.Second, 30*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	ms.Host, ms.Port = "127.0.0.1", l.Addr().(*net.TCPAddr).Port
	return ms
}

// config is the SMTP settings of a workspace that sends through ms.
func (ms *testSMTP) config() config.SMTP {
	return config.SMTP{Host: ms.Host, Port: ms.Port, TLS: config.TLSNone, From: "Chatter <chatter@example.invalid>"}
}

// waitFor waits for the next mail whose subject or text contains substr
// (skipping others, such as the notifications the server sends itself).
func (ms *testSMTP) waitFor(t *testing.T, substr string) testMail {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-ms.ch:
			if strings.Contains(m.decoded(t), substr) {
				return m
			}
		case <-deadline:
			t.Fatalf("the SMTP server received no mail with %q", substr)
			return testMail{}
		}
	}
}

type testSMTPSession struct {
	ms   *testSMTP
	from string
	to   []string
}

func (s *testSMTPSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *testSMTPSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *testSMTPSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	select {
	case s.ms.ch <- testMail{From: s.from, To: s.to, Data: string(b)}:
	default: // nobody waits for this many: never hold the sender up
	}
	return nil
}
func (s *testSMTPSession) Reset()        { s.from, s.to = "", nil }
func (s *testSMTPSession) Logout() error { return nil }

// startConfigured is start with the configuration changed by configure
// before the server is built; appMail makes the UI mail reset links the
// way the server does (web.go in package main: through the SMTP server of
// the first workspace that has one, a.MailFunc) instead of the test
// mailbox.
func startConfigured(t *testing.T, configure func(cfg *config.Config), appMail bool) *fixture {
	t.Helper()
	f := &fixture{mail: &mailbox{ch: make(chan mail, 16)}}
	f.h = apptest.Start(t, apptest.Options{NoParser: true, Configure: configure,
		Handler: func(a *app.App) http.Handler {
			cfg := Config{Mailer: f.mail, Location: time.UTC}
			if appMail {
				cfg.Mailer = MailerFunc(func(ctx context.Context, to, subject, text string) error {
					send := a.MailFunc()
					if send == nil {
						return errors.New("no workspace has SMTP")
					}
					return send(ctx, to, subject, text)
				})
			}
			f.srv = newServer(a, a.Auth(), cfg)
			return f.srv.handler()
		}})
	require.NotNil(t, f.srv)
	return f
}

// withSMTP configures the demo workspace to mail through ms, every event
// to to.
func withSMTP(ms *testSMTP, to ...string) func(cfg *config.Config) {
	return func(cfg *config.Config) {
		n := &cfg.Workspaces[0].Notifications
		n.SMTP = ms.config()
		if len(to) > 0 {
			n.Email = []config.EmailRoute{{To: to}}
		}
	}
}

// decoded is the mail's subject and the text of its parts (quoted-printable
// or base64 decoded), to find a link or a phrase in it.
func (m testMail) decoded(t *testing.T) string {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(m.Data))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString(subject + "\n")
	testDecodePart(t, &b, textproto.MIMEHeader(msg.Header), msg.Body)
	return b.String()
}

func testDecodePart(t *testing.T, b *strings.Builder, h textproto.MIMEHeader, body io.Reader) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err == nil && strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			require.NoError(t, err)
			testDecodePart(t, b, p.Header, p)
		}
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	data, err := io.ReadAll(body)
	require.NoError(t, err)
	b.Write(data)
	b.WriteString("\n")
}
