package chatter_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

// Every way of printing a Token hides the access and refresh tokens.
func TestTokenDoesNotPrintSecrets(t *testing.T) {
	t.Parallel()
	const access, refresh = "access-Tok-1122-secret", "refresh-Tok-3344-secret"
	tok := chatter.Token{Workspace: "acme", Account: "acme.amocrm.ru", AccessToken: access, RefreshToken: refresh,
		TokenType: "Bearer", ExpiresAt: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), APIDomain: "api-b.amocrm.ru", Version: 3}
	type embeds struct {
		chatter.Token
		Note string
	}
	type holds struct {
		T    *chatter.Token
		List []chatter.Token
	}
	values := map[string]any{
		"Token": tok, "*Token": &tok, "embedded": embeds{Token: tok, Note: "x"},
		"*embedded": &embeds{Token: tok}, "fields": holds{T: &tok, List: []chatter.Token{tok}},
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
		data, err := json.Marshal(v)
		require.NoError(t, err, name)
		out = append(out, "json "+js.String(), "text "+txt.String(), "marshal "+string(data))
		for _, o := range out {
			for _, s := range []string{access, refresh} {
				if strings.Contains(o, s) {
					t.Errorf("%s: %q shows %q", name, o, s)
				}
			}
		}
	}
	// What is printed still tells the token apart.
	s := fmt.Sprintf("%+v", tok)
	for _, want := range []string{"Workspace:acme", "Account:acme.amocrm.ru", "AccessToken:[REDACTED]", "RefreshToken:[REDACTED]", "Version:3"} {
		require.Contains(t, s, want)
	}
	require.Contains(t, fmt.Sprint(chatter.Token{}), "AccessToken: ", "an empty token shows as empty")
	var js bytes.Buffer
	slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "token", tok)
	require.Contains(t, js.String(), `"token":{"workspace":"acme","account":"acme.amocrm.ru","access_token":"[REDACTED]","refresh_token":"[REDACTED]"`)
	// Printing a nil *Token does not panic.
	require.Equal(t, "<nil>", fmt.Sprint((*chatter.Token)(nil)))
}
