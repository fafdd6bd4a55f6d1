package amocrm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// ErrNoToken is returned by a TokenStore's Load when it holds no token.
var ErrNoToken = errors.New("amocrm: no token stored")

// expirySkew refreshes a little before the token actually expires.
const expirySkew = time.Minute

// Token is an OAuth 2.0 token pair of one account (or a long-lived token,
// which has no RefreshToken). Its String, GoString and LogValue methods
// redact the secrets, so printing or logging a Token is safe; JSON encoding
// keeps them (that is what a TokenStore persists).
type Token struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
	// APIDomain is the api_domain claim of the access token (e.g.
	// "api-b.amocrm.ru"), used to rediscover a renamed subdomain.
	APIDomain string `json:"api_domain,omitempty"`
}

// LongLived reports whether t cannot be refreshed (no refresh token).
func (t *Token) LongLived() bool { return t.RefreshToken == "" }

// Expired reports whether the access token expires within a minute of now.
// A token without ExpiresAt never expires.
func (t *Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Add(expirySkew).Before(t.ExpiresAt)
}

// String returns a description with the secrets redacted.
func (t Token) String() string {
	return fmt.Sprintf("amocrm.Token{AccessToken:%s RefreshToken:%s TokenType:%s ExpiresAt:%s APIDomain:%s}",
		mask(t.AccessToken), mask(t.RefreshToken), t.TokenType, t.ExpiresAt.Format(time.RFC3339), t.APIDomain)
}

// GoString redacts like String (for %#v).
func (t Token) GoString() string { return t.String() }

// LogValue implements slog.LogValuer without the secrets.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_token", mask(t.AccessToken)),
		slog.String("refresh_token", mask(t.RefreshToken)),
		slog.Time("expires_at", t.ExpiresAt),
		slog.String("api_domain", t.APIDomain),
	)
}

func mask(s string) string {
	if s == "" {
		return `""`
	}
	return "[REDACTED]"
}

// TokenStore persists the token of one account. Save is called with a
// refreshed pair BEFORE the client uses it: amoCRM refresh tokens are
// single-use, so a pair that is used but not saved is lost on restart.
//
// Load returns ErrNoToken when nothing is stored. Implementations must be
// safe for concurrent use; a store shared by several processes should make
// Save atomic (the last successful refresh wins; the client re-loads before
// refreshing so it picks up a pair rotated elsewhere).
type TokenStore interface {
	Load(ctx context.Context) (*Token, error)
	Save(ctx context.Context, t *Token) error
}

// MemoryTokenStore is an in-memory TokenStore, safe for concurrent use.
// Tokens are lost when the process exits.
type MemoryTokenStore struct {
	mu  sync.Mutex
	tok *Token
}

// NewMemoryTokenStore returns a MemoryTokenStore holding t (which may be nil).
func NewMemoryTokenStore(t *Token) *MemoryTokenStore {
	s := &MemoryTokenStore{}
	if t != nil {
		cp := *t
		s.tok = &cp
	}
	return s
}

// Load implements TokenStore.
func (s *MemoryTokenStore) Load(context.Context) (*Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil {
		return nil, ErrNoToken
	}
	cp := *s.tok
	return &cp, nil
}

// Save implements TokenStore.
func (s *MemoryTokenStore) Save(_ context.Context, t *Token) error {
	if t == nil {
		return errors.New("amocrm: MemoryTokenStore.Save: nil token")
	}
	cp := *t
	s.mu.Lock()
	s.tok = &cp
	s.mu.Unlock()
	return nil
}

// AuthMode is how the amoCRM consent page returns to the integration.
type AuthMode string

// Authorization modes.
const (
	AuthModePostMessage AuthMode = "post_message"
	AuthModePopup       AuthMode = "popup"
)

// Authorization page URLs.
const (
	AuthURLAmoCRM = "https://www.amocrm.ru/oauth"
	AuthURLKommo  = "https://www.kommo.com/oauth"
)

// OAuthConfig holds an integration's OAuth 2.0 credentials.
type OAuthConfig struct {
	// ClientID is the integration id.
	ClientID string
	// ClientSecret is the integration secret key.
	ClientSecret string
	// RedirectURL must match the one registered with the integration
	// exactly (a trailing slash matters).
	RedirectURL string
	// AuthURL is the consent page. Defaults to AuthURLAmoCRM.
	AuthURL string
}

// AuthorizationURL returns the URL of amoCRM's consent page. After consent
// amoCRM redirects to RedirectURL with code, state, referer (the account
// host: pass it to NewClient) and client_id; then call Client.ExchangeCode.
// An empty mode means AuthModePostMessage.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/oauth/step-by-step
func (cfg OAuthConfig) AuthorizationURL(state string, mode AuthMode) string {
	base := cfg.AuthURL
	if base == "" {
		base = AuthURLAmoCRM
	}
	if mode == "" {
		mode = AuthModePostMessage
	}
	q := url.Values{}
	q.Set("client_id", cfg.ClientID)
	q.Set("state", state)
	q.Set("mode", string(mode))
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + q.Encode()
}

// authManager owns the token of one account.
type authManager struct {
	c      *Client
	cfg    *OAuthConfig
	store  TokenStore
	static *Token

	mu  sync.Mutex
	cur *Token
	sf  singleflight.Group
}

func newAuthManager(c *Client, cfg *OAuthConfig, store TokenStore, static *Token) *authManager {
	a := &authManager{c: c, cfg: cfg, store: store, static: static}
	if static != nil {
		c.addSecret(static.AccessToken)
	}
	if cfg != nil {
		c.addSecret(cfg.ClientSecret)
	}
	return a
}

func (a *authManager) canRefresh() bool {
	if a.static != nil || a.cfg == nil {
		return false
	}
	a.mu.Lock()
	cur := a.cur
	a.mu.Unlock()
	return cur == nil || !cur.LongLived()
}

func (a *authManager) set(t *Token) {
	a.c.addSecret(t.AccessToken)
	a.c.addSecret(t.RefreshToken)
	a.mu.Lock()
	a.cur = t
	a.mu.Unlock()
}

func (a *authManager) load(ctx context.Context) (*Token, error) {
	t, err := a.store.Load(ctx)
	if errors.Is(err, ErrNoToken) || (err == nil && (t == nil || t.AccessToken == "")) {
		return nil, &UnauthorizedError{Reason: "no token stored: authorise the integration first", Err: ErrNoToken}
	}
	if err != nil {
		return nil, fmt.Errorf("amocrm: load token: %w", err)
	}
	a.c.addSecret(t.AccessToken)
	a.c.addSecret(t.RefreshToken)
	return t, nil
}

// accessToken returns a usable access token, refreshing it first when it
// has expired.
func (a *authManager) accessToken(ctx context.Context) (string, error) {
	if a.static != nil {
		return a.static.AccessToken, nil
	}
	a.mu.Lock()
	cur := a.cur
	a.mu.Unlock()
	if cur == nil {
		t, err := a.load(ctx)
		if err != nil {
			return "", err
		}
		a.mu.Lock()
		if a.cur == nil {
			a.cur = t
		}
		cur = a.cur
		a.mu.Unlock()
	}
	if cur.LongLived() || !cur.Expired(a.c.now()) {
		return cur.AccessToken, nil
	}
	if err := a.refresh(ctx, cur.AccessToken); err != nil {
		return "", err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cur.AccessToken, nil
}

// refresh rotates the token pair unless stale is no longer the current
// access token. Concurrent callers share one refresh (single-flight); each
// waits only as long as its own ctx allows.
func (a *authManager) refresh(ctx context.Context, stale string) error {
	if a.cfg == nil || a.static != nil {
		return &UnauthorizedError{Reason: "token cannot be refreshed"}
	}
	ch := a.sf.DoChan("refresh", func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		return a.doRefresh(rctx, stale)
	})
	select {
	case <-ctx.Done():
		return ctx.Err()
	case res := <-ch:
		return res.Err
	}
}

func (a *authManager) doRefresh(ctx context.Context, stale string) (*Token, error) {
	cur, err := a.load(ctx)
	if err != nil {
		return nil, err
	}
	// Someone (another goroutine or process) has rotated already.
	if cur.AccessToken != stale && !cur.Expired(a.c.now()) {
		a.set(cur)
		return cur, nil
	}
	if cur.LongLived() {
		return nil, &UnauthorizedError{Reason: "long-lived token rejected (revoked or expired)"}
	}
	form := map[string]string{
		"client_id":     a.cfg.ClientID,
		"client_secret": a.cfg.ClientSecret,
		"grant_type":    "refresh_token",
		"refresh_token": cur.RefreshToken,
		"redirect_uri":  a.cfg.RedirectURL,
	}
	nt, err := a.c.tokenRequest(ctx, form)
	var re *RefreshError
	if err != nil && errors.As(err, &re) && re.APIError != nil &&
		(re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusNotFound) &&
		cur.APIDomain != "" && !a.c.fixed {
		// The subdomain may have been renamed: ask api_domain where the
		// account lives now, then retry once.
		if moved, derr := a.c.discoverSubdomain(ctx, cur); derr == nil && moved {
			nt, err = a.c.tokenRequest(ctx, form)
		}
	}
	if err != nil {
		if errors.As(err, &re) && re.InvalidGrant() {
			return nil, &UnauthorizedError{Reason: "refresh token rejected", Err: err}
		}
		return nil, err
	}
	if err := a.store.Save(ctx, nt); err != nil {
		// Never use a pair that is not persisted: it would be lost.
		return nil, fmt.Errorf("amocrm: save refreshed token: %w", err)
	}
	a.set(nt)
	a.c.logger.LogAttrs(ctx, slog.LevelInfo, "amocrm token refreshed",
		slog.String("subdomain", a.c.Subdomain()), slog.Time("expires_at", nt.ExpiresAt))
	return nt, nil
}

// tokenRequest calls POST /oauth2/access_token.
func (c *Client) tokenRequest(ctx context.Context, form map[string]string) (*Token, error) {
	c.addSecret(form["code"])
	c.addSecret(form["refresh_token"])
	c.addSecret(form["client_secret"])
	req, err := c.newRequest(http.MethodPost, "/oauth2/access_token", nil, form)
	if err != nil {
		return nil, err
	}
	req.noAuth = true
	var out struct {
		TokenType    string  `json:"token_type"`
		ExpiresIn    flexInt `json:"expires_in"`
		AccessToken  string  `json:"access_token"`
		RefreshToken string  `json:"refresh_token"`
	}
	_, err = c.do(ctx, req, &out)
	if err != nil {
		var ae *APIError
		var be *BlockedError
		if errors.As(err, &be) || !errors.As(err, &ae) {
			return nil, err
		}
		return nil, &RefreshError{APIError: ae, Code: oauthCode(ae)}
	}
	if out.AccessToken == "" {
		return nil, &RefreshError{Code: "empty_response"}
	}
	c.addSecret(out.AccessToken)
	c.addSecret(out.RefreshToken)
	t := &Token{
		AccessToken:  out.AccessToken,
		RefreshToken: out.RefreshToken,
		TokenType:    cmpOr(out.TokenType, "Bearer"),
	}
	if out.ExpiresIn > 0 {
		t.ExpiresAt = c.now().Add(time.Duration(out.ExpiresIn) * time.Second)
	}
	claims := jwtClaims(out.AccessToken)
	t.APIDomain = claims.APIDomain
	if t.ExpiresAt.IsZero() && claims.Exp > 0 {
		t.ExpiresAt = time.Unix(claims.Exp, 0)
	}
	return t, nil
}

func oauthCode(ae *APIError) string {
	h := strings.ToLower(ae.Hint + " " + ae.Detail + " " + ae.Title)
	switch {
	case strings.Contains(h, "invalid_grant"), strings.Contains(h, "revoked"), strings.Contains(h, "expired"):
		return "invalid_grant"
	case strings.Contains(h, "invalid_client"):
		return "invalid_client"
	}
	if ae.StatusCode == http.StatusBadRequest || ae.StatusCode == http.StatusUnauthorized {
		return "invalid_grant"
	}
	return ""
}

type tokenClaims struct {
	APIDomain string `json:"api_domain"`
	Exp       int64  `json:"exp"`
	AccountID int64  `json:"account_id"`
}

// jwtClaims reads (without verifying) the payload of a JWT access token.
func jwtClaims(tok string) tokenClaims {
	var c tokenClaims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return c
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return c
	}
	var raw struct {
		APIDomain string          `json:"api_domain"`
		Exp       json.RawMessage `json:"exp"`
		AccountID json.RawMessage `json:"account_id"`
	}
	if json.Unmarshal(b, &raw) != nil {
		return c
	}
	exp, _ := parseFlexInt(raw.Exp)
	acc, _ := parseFlexInt(raw.AccountID)
	return tokenClaims{APIDomain: raw.APIDomain, Exp: int64(exp), AccountID: int64(acc)}
}

// discoverSubdomain asks api_domain for the account's current host and
// switches the client to it. It reports whether the host changed.
func (c *Client) discoverSubdomain(ctx context.Context, t *Token) (bool, error) {
	base := c.base.Load()
	u := url.URL{Scheme: base.Scheme, Host: t.APIDomain, Path: "/oauth2/account/current/subdomain"}
	req := &request{method: http.MethodGet, path: u.Path, abs: u.String(), noAuth: true,
		header: http.Header{"X-Refresh-Token": {t.RefreshToken}}}
	var out struct {
		ID        flexInt `json:"id"`
		Subdomain string  `json:"subdomain"`
		Domain    string  `json:"domain"`
	}
	if _, err := c.do(ctx, req, &out); err != nil {
		return false, err
	}
	host := strings.ToLower(strings.TrimSpace(out.Domain))
	if host == "" && out.Subdomain != "" {
		h := base.Hostname()
		suffix := DomainRU
		if i := strings.IndexByte(h, '.'); i > 0 {
			suffix = h[i+1:]
		}
		host = out.Subdomain + "." + suffix
	}
	if host == "" || host == base.Host {
		return false, nil
	}
	nu := &url.URL{Scheme: base.Scheme, Host: host}
	c.base.Store(nu)
	c.logger.LogAttrs(ctx, slog.LevelWarn, "amocrm account moved to a new subdomain",
		slog.String("old_host", base.Host), slog.String("new_host", host))
	return true, nil
}

// ExchangeCode exchanges an authorization code (from the redirect, or the
// one an admin copies from the integration settings) for a token pair, saves
// it to the TokenStore and starts using it. The client must have been
// created with WithOAuth for the account in the redirect's referer.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/oauth/step-by-step
func (c *Client) ExchangeCode(ctx context.Context, code string) (*Token, error) {
	if c.auth == nil || c.auth.cfg == nil {
		return nil, errors.New("amocrm: ExchangeCode needs a client created WithOAuth")
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, errors.New("amocrm: ExchangeCode: empty code")
	}
	t, err := c.tokenRequest(ctx, map[string]string{
		"client_id":     c.auth.cfg.ClientID,
		"client_secret": c.auth.cfg.ClientSecret,
		"grant_type":    "authorization_code",
		"code":          code,
		"redirect_uri":  c.auth.cfg.RedirectURL,
	})
	if err != nil {
		return nil, err
	}
	if err := c.auth.store.Save(ctx, t); err != nil {
		return nil, fmt.Errorf("amocrm: save token: %w", err)
	}
	c.auth.set(t)
	return t, nil
}

// RefreshToken forces a refresh of the OAuth token pair (single-flight with
// any refresh in progress), saves it and returns it. Calling it regularly
// (e.g. weekly) keeps an idle integration's 3-month refresh token alive.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/oauth/step-by-step
func (c *Client) RefreshToken(ctx context.Context) (*Token, error) {
	if c.auth == nil || c.auth.cfg == nil || c.auth.static != nil {
		return nil, errors.New("amocrm: RefreshToken needs a client created WithOAuth")
	}
	cur, err := c.auth.load(ctx)
	if err != nil {
		return nil, err
	}
	// Mark the stored token as stale regardless of its expiry.
	c.auth.mu.Lock()
	c.auth.cur = cur
	c.auth.mu.Unlock()
	stale := *cur
	stale.ExpiresAt = time.Unix(1, 0)
	if err := c.auth.refreshForced(ctx, &stale); err != nil {
		return nil, err
	}
	c.auth.mu.Lock()
	defer c.auth.mu.Unlock()
	cp := *c.auth.cur
	return &cp, nil
}

func (a *authManager) refreshForced(ctx context.Context, cur *Token) error {
	ch := a.sf.DoChan("refresh", func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		form := map[string]string{
			"client_id":     a.cfg.ClientID,
			"client_secret": a.cfg.ClientSecret,
			"grant_type":    "refresh_token",
			"refresh_token": cur.RefreshToken,
			"redirect_uri":  a.cfg.RedirectURL,
		}
		nt, err := a.c.tokenRequest(rctx, form)
		if err != nil {
			var re *RefreshError
			if errors.As(err, &re) && re.InvalidGrant() {
				return nil, &UnauthorizedError{Reason: "refresh token rejected", Err: err}
			}
			return nil, err
		}
		if err := a.store.Save(rctx, nt); err != nil {
			return nil, fmt.Errorf("amocrm: save refreshed token: %w", err)
		}
		a.set(nt)
		return nt, nil
	})
	select {
	case <-ctx.Done():
		return ctx.Err()
	case res := <-ch:
		return res.Err
	}
}
