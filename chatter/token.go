package chatter

import (
	"fmt"
	"log/slog"
)

// redacted stands for a secret that is set.
const redacted = "[REDACTED]"

func redactedMark(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// String describes t without its secrets, for %v, %+v and %s: the access
// and refresh tokens show only whether they are set.
func (t Token) String() string {
	return fmt.Sprintf("chatter.Token{Workspace:%s Account:%s AccessToken:%s RefreshToken:%s TokenType:%s ExpiresAt:%v APIDomain:%s Version:%d UpdatedAt:%v}",
		t.Workspace, t.Account, redactedMark(t.AccessToken), redactedMark(t.RefreshToken), t.TokenType, t.ExpiresAt, t.APIDomain, t.Version, t.UpdatedAt)
}

// GoString is String for %#v.
func (t Token) GoString() string {
	return fmt.Sprintf("chatter.Token{Workspace:%q, Account:%q, AccessToken:%q, RefreshToken:%q, TokenType:%q, ExpiresAt:%q, APIDomain:%q, Version:%d, UpdatedAt:%q}",
		t.Workspace, t.Account, redactedMark(t.AccessToken), redactedMark(t.RefreshToken), t.TokenType, t.ExpiresAt, t.APIDomain, t.Version, t.UpdatedAt)
}

// LogValue is what slog records of t: its fields, the tokens redacted.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("workspace", t.Workspace),
		slog.String("account", t.Account),
		slog.String("access_token", redactedMark(t.AccessToken)),
		slog.String("refresh_token", redactedMark(t.RefreshToken)),
		slog.String("token_type", t.TokenType),
		slog.Time("expires_at", t.ExpiresAt),
		slog.String("api_domain", t.APIDomain),
		slog.Int64("version", t.Version),
		slog.Time("updated_at", t.UpdatedAt),
	)
}
