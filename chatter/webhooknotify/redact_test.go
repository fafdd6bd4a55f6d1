package webhooknotify

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every way of printing a Config or a Notifier hides the secret and the
// URL's credentials.
func TestConfigAndNotifierDoNotPrintSecrets(t *testing.T) {
	t.Parallel()
	const (
		hmacSecret = "hmac-Secret-4242-abcdef"
		urlToken   = "url-Token-9911"
		urlPass    = "url-Pass-5533"
		pathToken  = "T0PATH7788"
	)
	cfg := Config{
		URLs:   []string{"https://bot:" + urlPass + "@hooks.example.com/services/" + pathToken + "?token=" + urlToken},
		Secret: []byte(hmacSecret),
		Allow:  []string{"10.0.0.0/8"},
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
	// The secret as a string, and as fmt prints a []byte with %v.
	asBytes := strings.Trim(fmt.Sprint([]byte(hmacSecret)), "[]")
	secrets := []string{hmacSecret, asBytes, urlToken, urlPass, pathToken}
	for name, v := range values {
		var out []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out = append(out, verb+" "+fmt.Sprintf(verb, v))
		}
		var js, txt bytes.Buffer
		slog.New(slog.NewJSONHandler(&js, nil)).Info("m", slog.Any("v", v))
		slog.New(slog.NewTextHandler(&txt, nil)).Info("m", slog.Any("v", v))
		slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "v", v)
		out = append(out, "json "+js.String(), "text "+txt.String())
		for _, o := range out {
			for _, s := range secrets {
				if strings.Contains(o, s) {
					t.Errorf("%s: %q shows %q", name, o, s)
				}
			}
		}
	}
	// What is printed still says what the Config is.
	s := fmt.Sprintf("%+v", cfg)
	for _, want := range []string{"https://hooks.example.com/…", "Secret:[REDACTED]", "10.0.0.0/8"} {
		require.Contains(t, s, want)
	}
	var js bytes.Buffer
	slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "cfg", cfg)
	require.Contains(t, js.String(), `"cfg":{"urls":["https://hooks.example.com/…"],"secret":"[REDACTED]"`)
	require.Contains(t, fmt.Sprint(Config{}), "Secret: ", "an empty secret shows as empty")
}
