package amocrm

import (
	"fmt"
	"io"
	"log/slog"
)

// Printing secrets. Token, OAuthConfig and *Client implement fmt.Formatter
// (every verb: %v, %+v, %#v, %s, %q, %x, %d, ...), fmt.Stringer,
// fmt.GoStringer and slog.LogValuer without their secrets, so fmt, log and
// slog (text or JSON handler) never print an access token, refresh token or
// client secret, also when the value is behind a pointer or embedded in
// another struct. encoding/json is not covered: a Token marshals with its
// tokens (TokenStores persist that form), so do not pass a struct that
// holds a Token or OAuthConfig in a named field, or a slice or map of
// them, to a JSON log handler.

// formatRedacted writes s (gs for %#v) for any verb.
func formatRedacted(f fmt.State, verb rune, s, gs string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = io.WriteString(f, gs)
	case verb == 'q':
		_, _ = fmt.Fprintf(f, "%q", s)
	default:
		_, _ = io.WriteString(f, s)
	}
}

// Format implements fmt.Formatter with the secrets redacted.
func (t Token) Format(f fmt.State, verb rune) { formatRedacted(f, verb, t.String(), t.GoString()) }

// String returns a description with the client secret redacted.
func (cfg OAuthConfig) String() string {
	return fmt.Sprintf("amocrm.OAuthConfig{ClientID:%s ClientSecret:%s RedirectURL:%s AuthURL:%s}",
		cfg.ClientID, mask(cfg.ClientSecret), cfg.RedirectURL, cfg.AuthURL)
}

// GoString redacts like String (for %#v).
func (cfg OAuthConfig) GoString() string { return cfg.String() }

// Format implements fmt.Formatter with the client secret redacted.
func (cfg OAuthConfig) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, cfg.String(), cfg.GoString())
}

// LogValue implements slog.LogValuer without the client secret.
func (cfg OAuthConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("client_id", cfg.ClientID),
		slog.String("client_secret", mask(cfg.ClientSecret)),
		slog.String("redirect_url", cfg.RedirectURL),
		slog.String("auth_url", cfg.AuthURL),
	)
}

// String describes the client by its account URL; it holds tokens and
// secrets that are never printed.
func (c *Client) String() string {
	if c == nil {
		return "amocrm.Client(nil)"
	}
	return "amocrm.Client{BaseURL:" + c.BaseURL() + "}"
}

// GoString is String (for %#v).
func (c *Client) GoString() string { return c.String() }

// Format implements fmt.Formatter without the client's secrets.
func (c *Client) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String(), c.GoString()) }

// LogValue implements slog.LogValuer without the client's secrets.
func (c *Client) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("amocrm.Client(nil)")
	}
	return slog.GroupValue(slog.String("base_url", c.BaseURL()))
}
