package amocrm

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	secretAccess  = "acc-SECRET-1111"
	secretRefresh = "ref-SECRET-2222"
	secretClient  = "cs-SECRET-3333"
)

var allSecrets = []string{secretAccess, secretRefresh, secretClient}

// requireNoSecret fails when out holds a secret, plainly or hex-encoded.
func requireNoSecret(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range allSecrets {
		for _, form := range []string{s, hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s)))} {
			if strings.Contains(out, form) {
				t.Errorf("%s leaks %q:\n%s", what, s, out)
			}
		}
	}
}

// Every secret-bearing type, formatted every way fmt and slog offer,
// shows no secret.
func TestSecretsRedactedEverywhere(t *testing.T) {
	t.Parallel()
	tok := Token{AccessToken: secretAccess, RefreshToken: secretRefresh, TokenType: "Bearer",
		ExpiresAt: time.Date(2099, 5, 1, 0, 0, 0, 0, time.UTC), APIDomain: "api-b.amocrm.ru"}
	cfg := OAuthConfig{ClientID: "cid", ClientSecret: secretClient, RedirectURL: "https://app.example/cb"}
	store := NewMemoryTokenStore(&tok)
	client, err := NewClient("example", WithOAuth(cfg, store))
	require.NoError(t, err)
	// Load the pair, so the client holds every secret.
	_, err = client.auth.accessToken(t.Context())
	require.NoError(t, err)
	longLived, err := NewClient("example", WithLongLivedToken(secretAccess))
	require.NoError(t, err)

	type embedsToken struct {
		Token
		N int
	}
	type embedsConfigPtr struct {
		*OAuthConfig
		Name string
	}
	type namedFields struct {
		T   Token
		P   *Token
		C   OAuthConfig
		Cli *Client
	}
	values := map[string]any{
		"Token":            tok,
		"*Token":           &tok,
		"OAuthConfig":      cfg,
		"*OAuthConfig":     &cfg,
		"*Client (OAuth)":  client,
		"*Client (token)":  longLived,
		"embedded Token":   embedsToken{Token: tok, N: 1},
		"embedded *Config": embedsConfigPtr{OAuthConfig: &cfg, Name: "x"},
	}
	// Named (not embedded) fields, slices and maps: fmt and the text
	// handler format each element with its methods. The JSON handler
	// marshals them with encoding/json, which keeps a Token's secrets on
	// purpose (a TokenStore persists that encoding): not checked.
	fmtOnly := map[string]any{
		"named fields":      namedFields{T: tok, P: &tok, C: cfg, Cli: client},
		"*named fields":     &namedFields{T: tok, P: &tok, C: cfg, Cli: client},
		"[]Token":           []Token{tok},
		"map[string]*Token": map[string]*Token{"a": &tok},
		"[]OAuthConfig":     []OAuthConfig{cfg},
	}
	check := func(name string, v any, withJSON bool) {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v"} {
			requireNoSecret(t, name+" "+verb, fmt.Sprintf(verb, v))
		}
		requireNoSecret(t, name+" Sprint", fmt.Sprint(v)+fmt.Sprintln(v))
		var text, js bytes.Buffer
		slog.New(slog.NewTextHandler(&text, nil)).Info("msg", "v", v, slog.Any("any", v), slog.Group("g", "v", v))
		requireNoSecret(t, name+" slog text", text.String())
		if withJSON {
			slog.New(slog.NewJSONHandler(&js, nil)).Info("msg", "v", v, slog.Any("any", v), slog.Group("g", "v", v))
			requireNoSecret(t, name+" slog JSON", js.String())
		}
	}
	for name, v := range values {
		check(name, v, true)
	}
	for name, v := range fmtOnly {
		check(name, v, false)
	}

	// What is not secret stays visible.
	require.Contains(t, fmt.Sprintf("%+v", cfg), "cid")
	require.Contains(t, fmt.Sprintf("%v", client), "https://example.amocrm.ru")
	require.Contains(t, fmt.Sprintf("%v", tok), "api-b.amocrm.ru")
	var js bytes.Buffer
	slog.New(slog.NewJSONHandler(&js, nil)).Info("msg", "cfg", cfg)
	require.Contains(t, js.String(), `"client_id":"cid"`)
	require.Contains(t, js.String(), `"client_secret":"[REDACTED]"`)
	// A nil pointer still prints.
	var nilTok *Token
	var nilCfg *OAuthConfig
	var nilClient *Client
	require.NotPanics(t, func() { _ = fmt.Sprintf("%v %+v %#v %s", nilTok, nilCfg, nilClient, nilClient) })
}
