package smtpnotify

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every way of printing a Config or a Notifier hides the password and the
// TLS settings (a client certificate's private key).
func TestConfigAndNotifierDoNotPrintSecrets(t *testing.T) {
	t.Parallel()
	const (
		password = "smtp-Pass-7731-zz"
		keyMark  = "private-Key-Marker-4410"
	)
	cfg := Config{
		Host: "smtp.example.ru", Username: "chatter@example.ru", Password: password,
		From: "Chatter <chatter@example.ru>", To: []string{"sales@example.ru"},
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{{PrivateKey: keyMark}}},
	}
	n, err := New(cfg)
	require.NoError(t, err)
	type embeds struct {
		Config
		Note string
	}
	type holds struct {
		C *Config
		N *Notifier
	}
	values := map[string]any{
		"Config": cfg, "*Config": &cfg, "embedded": embeds{Config: cfg, Note: "x"},
		"fields": holds{C: &cfg, N: n}, "*Notifier": n,
	}
	for name, v := range values {
		var out []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out = append(out, verb+" "+fmt.Sprintf(verb, v))
		}
		var js, txt bytes.Buffer
		slog.New(slog.NewJSONHandler(&js, nil)).Info("m", slog.Any("v", v))
		slog.New(slog.NewTextHandler(&txt, nil)).Info("m", slog.Any("v", v))
		slog.New(slog.NewTextHandler(&txt, nil)).Info("m", "v", v)
		out = append(out, "json "+js.String(), "text "+txt.String())
		for _, o := range out {
			for _, s := range []string{password, keyMark} {
				if strings.Contains(o, s) {
					t.Errorf("%s: %q shows %q", name, o, s)
				}
			}
		}
	}
	s := fmt.Sprintf("%+v", cfg)
	for _, want := range []string{"Host:smtp.example.ru", "Username:chatter@example.ru", "Password:[REDACTED]", "TLSConfig:set"} {
		require.Contains(t, s, want)
	}
	var js bytes.Buffer
	slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "cfg", cfg)
	require.Contains(t, js.String(), `"password":"[REDACTED]"`)
	require.Contains(t, fmt.Sprint(Config{}), "Password: ", "an empty password shows as empty")
}
