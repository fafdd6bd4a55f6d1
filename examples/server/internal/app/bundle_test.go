package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// TestBundleHoldsNoSecret writes the support bundle of a server whose
// configuration has a secret in every kind of place and scans every file
// of the zip for each of them, and for the secrets the server generated.
func TestBundleHoldsNoSecret(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	smtpPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	h := apptest.Start(t, apptest.Options{NoParser: true, Configure: func(c *config.Config) {
		ws := &c.Workspaces[0]
		ws.Bots[0].WebhookSecret = "bundle-webhook-secret-42"
		ws.Notifications.SMTP = config.SMTP{Host: "127.0.0.1", Port: smtpPort, Username: "mailer", Password: "smtp-pass-Zq81",
			From: "chatter@example.com", TLS: config.TLSStartTLS}
		ws.Notifications.Email = []config.EmailRoute{{To: []string{"sales@example.com"}}}
		ws.Notifications.Webhooks = []config.WebhookNotifications{{URL: "https://hooks.example.com/in?token=hook-url-token-77", Secret: "hook-signing-secret-0042"}}
		c.HTTP.Metrics.BasicAuth = config.BasicAuth{Username: "prom", Password: "metrics-pass-5567"}
		c.Store.SealingKey = "" // the generated key file's key must not leak either
	}})
	ctx := context.Background()
	var buf bytes.Buffer
	require.NoError(t, h.App.WriteBundle(ctx, &buf))

	secrets := h.Config.Secrets()
	secrets = append(secrets, h.Env.AmoCRMToken, h.Env.BotToken, h.Config.Store.SealingKey,
		h.App.AmoCRMWebhookPath("demo")[len("/amocrm/demo/"):])
	require.Contains(t, secrets, "smtp-pass-Zq81")
	require.Contains(t, secrets, "metrics-pass-5567")
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, f := range zr.File {
		seen[f.Name] = true
		rc, err := f.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
		for _, s := range secrets {
			if len(s) < 4 {
				continue
			}
			require.NotContains(t, string(data), s, "bundle file %s leaks a secret", f.Name)
		}
	}
	for _, name := range []string{"build.json", "config.json", "checks.json", "checks.txt", "events.jsonl", "ledger.json", "components.json"} {
		require.True(t, seen[name], "bundle has %s", name)
	}
}
