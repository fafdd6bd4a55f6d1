package amocrm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
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
// which has no RefreshToken). Its Format, String, GoString and LogValue
// methods redact the secrets, so printing (any fmt verb) or logging a Token
// is safe; JSON encoding keeps them (that is what a TokenStore persists).
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

// TokenStore persists the token of one account. The client calls Save with
// every pair amoCRM issues (code exchange, refresh) as soon as it is issued.
// amoCRM refresh tokens are single-use: the pair just issued is the only one
// that works, so the client never throws it away. It uses the new pair at
// once, and when Save fails it keeps the pair in memory and retries the save
// (see Client.TokenSaveErr); a process that exits before a save succeeds
// loses the pair.
//
// Before each save, and before each refresh, the client Loads the stored
// pair: a refresh starts from the stored pair when it is newer than the one
// in memory (rotated by another process), and a save that failed is
// reconciled against what the store holds (see Client.SaveToken).
//
// Load returns ErrNoToken when nothing is stored. Implementations must be
// safe for concurrent use; a store shared by several processes should make
// Save atomic, ideally compare-and-swap against the pair last loaded.
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

// OAuthConfig holds an integration's OAuth 2.0 credentials. Printing or
// logging it redacts ClientSecret (see Format and LogValue).
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

// Saving issued pairs. A pair whose save failed stays in use; the save is
// retried by the first request, refresh or SaveToken call after a delay that
// grows exponentially (with jitter) from tokenSaveBase to tokenSaveMax.
const (
	tokenSaveBase    = time.Second
	tokenSaveMax     = time.Minute
	tokenSaveTimeout = 15 * time.Second // one load and save
	refreshTimeout   = 2 * time.Minute  // one refresh, shared by its callers
)

// Token events are logged with category=auth, the attribute the chatter
// event log files them under.
const (
	logKeyCategory  = "category"
	logCategoryAuth = "auth"
)

func tokenSaveDelay(n int, jitter func() float64) time.Duration {
	return Backoff{Base: tokenSaveBase, Max: tokenSaveMax}.delay(n, jitter)
}

// authManager owns the token of one account. Every pair amoCRM issues — by
// ExchangeCode, by the refresh on expiry or on a 401, by RefreshToken —
// becomes current through issued, the one place a pair is adopted and saved.
type authManager struct {
	c      *Client
	cfg    *OAuthConfig
	store  TokenStore
	static *Token

	// rot serialises issuing and saving pairs (a channel so that waiting
	// for it respects a context): a save never races a rotation, which
	// could otherwise put a spent pair in the store.
	rot chan struct{}
	sf  singleflight.Group

	mu      sync.Mutex
	cur     *Token
	pending *unsaved // cur is in use but not stored yet
}

// unsaved is a pair in use that the TokenStore has not accepted yet.
type unsaved struct {
	tok *Token
	// base is the pair the store is expected to hold: the one whose refresh
	// token amoCRM spent to issue tok. It is nil after a code exchange,
	// which replaces whatever is stored.
	base     *Token
	since    time.Time // first failed save of this pair or of the unsaved pair it replaced
	attempts int       // failed saves, including those of the pairs it replaced
	err      error
	next     time.Time
}

func (p *unsaved) error() *TokenNotSavedError {
	return &TokenNotSavedError{Since: p.since, Attempts: p.attempts, NextAttempt: p.next, ExpiresAt: p.tok.ExpiresAt, Err: p.err}
}

func newAuthManager(c *Client, cfg *OAuthConfig, store TokenStore, static *Token) *authManager {
	a := &authManager{c: c, cfg: cfg, store: store, static: static, rot: make(chan struct{}, 1)}
	if static != nil {
		c.addSecret(static.AccessToken)
	}
	if cfg != nil {
		c.addSecret(cfg.ClientSecret)
	}
	return a
}

func (a *authManager) lock(ctx context.Context) error {
	select {
	case a.rot <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *authManager) tryLock() bool {
	select {
	case a.rot <- struct{}{}:
		return true
	default:
		return false
	}
}

func (a *authManager) unlock() { <-a.rot }

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

func (a *authManager) current() *Token {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cur
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
	cur := a.current()
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
	if err := a.refresh(ctx, cur.AccessToken, false); err != nil && !isNotSaved(err) {
		return "", err
	}
	return a.current().AccessToken, nil
}

// refresh rotates the token pair unless stale is no longer the current
// access token; force rotates regardless (RefreshToken). Concurrent callers
// share one refresh (single-flight); each waits only as long as its own ctx
// allows. A *TokenNotSavedError means the new pair is in use but not saved.
func (a *authManager) refresh(ctx context.Context, stale string, force bool) error {
	if a.cfg == nil || a.static != nil {
		return &UnauthorizedError{Reason: "token cannot be refreshed"}
	}
	ch := a.sf.DoChan("refresh", func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		if err := a.lock(rctx); err != nil {
			return nil, err
		}
		defer a.unlock()
		return nil, a.doRefresh(rctx, stale, force)
	})
	select {
	case <-ctx.Done():
		return ctx.Err()
	case res := <-ch:
		return res.Err
	}
}

// doRefresh is the one refresh routine. Called with rot held.
func (a *authManager) doRefresh(ctx context.Context, stale string, force bool) error {
	// A pair not saved yet: try to save it before spending its refresh token.
	_ = a.saveLocked(ctx)
	a.mu.Lock()
	p, cur := a.pending, a.cur
	a.mu.Unlock()
	var base *Token
	if p != nil {
		// The store still holds the pair whose refresh token is spent:
		// continue from the pair in memory.
		base = p.base
	} else {
		t, err := a.load(ctx)
		if err != nil {
			return err
		}
		cur, base = t, t
	}
	// Someone (another goroutine or process) has rotated already.
	if !force && cur.AccessToken != stale && !cur.Expired(a.c.now()) {
		a.set(cur)
		return nil
	}
	if cur.LongLived() {
		return &UnauthorizedError{Reason: "long-lived token rejected (revoked or expired)"}
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
		moved, derr := a.c.discoverSubdomain(ctx, cur)
		var uh *UntrustedHostError
		switch {
		case errors.As(derr, &uh):
			return &UnauthorizedError{Reason: "refresh rejected and the account's new address is not trusted", Err: fmt.Errorf("%w; %w", derr, err)}
		case derr == nil && moved:
			nt, err = a.c.tokenRequest(ctx, form)
		}
	}
	if err != nil {
		if errors.As(err, &re) && re.InvalidGrant() {
			return &UnauthorizedError{Reason: "refresh token rejected", Err: err}
		}
		return err
	}
	return a.issued(ctx, nt, base)
}

// issued makes a pair amoCRM has just issued the current one at once, then
// saves it. amoCRM has already revoked the previous refresh token, so the
// pair is never dropped: when the save fails it stays in use, the save is
// retried, and issued returns a *TokenNotSavedError. base is the pair the
// store should still hold (nil: replace anything). Called with rot held.
func (a *authManager) issued(ctx context.Context, nt, base *Token) error {
	a.c.addSecret(nt.AccessToken)
	a.c.addSecret(nt.RefreshToken)
	a.mu.Lock()
	a.cur = nt
	p := &unsaved{tok: nt, base: base, since: a.c.now()}
	if old := a.pending; old != nil {
		// The store has lacked the live pair since the first failure.
		p.since, p.attempts = old.since, old.attempts
	}
	a.pending = p
	a.mu.Unlock()
	return a.saveLocked(ctx)
}

// retrySave retries a failed save once its delay has passed, unless a
// rotation or a save is already running. It never fails the caller.
func (a *authManager) retrySave(ctx context.Context) {
	if a.static != nil {
		return
	}
	a.mu.Lock()
	due := a.pending != nil && !a.c.now().Before(a.pending.next)
	a.mu.Unlock()
	if !due || !a.tryLock() {
		return
	}
	defer a.unlock()
	_ = a.saveLocked(ctx)
}

// saveLocked saves the pending pair, if any, and returns nil once it is
// stored, or a *TokenNotSavedError. It first loads what the store holds:
//
//   - the pending pair itself: an earlier save that reported an error went
//     through after all;
//   - nothing, or the pair the pending one replaces: save;
//   - another pair: another process saved a pair issued after this one was
//     (only a new authorisation can do that, since this process holds the
//     only live refresh token of its chain); the stored pair wins and
//     becomes current.
//
// Called with rot held.
func (a *authManager) saveLocked(ctx context.Context) error {
	a.mu.Lock()
	p := a.pending
	a.mu.Unlock()
	if p == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tokenSaveTimeout)
	defer cancel()
	stored, err := a.store.Load(sctx)
	switch {
	case errors.Is(err, ErrNoToken), err == nil && (stored == nil || stored.AccessToken == ""):
		err = a.store.Save(sctx, p.tok)
	case err != nil:
		err = fmt.Errorf("load before save: %w", err)
	case samePair(stored, p.tok):
	case p.base == nil || samePair(stored, p.base):
		err = a.store.Save(sctx, p.tok)
	default:
		a.superseded(ctx, p, stored)
		return nil
	}
	log := a.c.logger
	if err == nil {
		a.mu.Lock()
		if a.pending == p {
			a.pending = nil
		}
		attempts := p.attempts
		a.mu.Unlock()
		if attempts == 0 {
			log.LogAttrs(ctx, slog.LevelInfo, "amocrm token pair issued and saved",
				slog.String(logKeyCategory, logCategoryAuth), slog.String("subdomain", a.c.Subdomain()),
				slog.Time("expires_at", p.tok.ExpiresAt))
		} else {
			log.LogAttrs(ctx, slog.LevelInfo, "amocrm token pair saved after failed attempts",
				slog.String(logKeyCategory, logCategoryAuth), slog.String("subdomain", a.c.Subdomain()),
				slog.Int("failed_attempts", attempts), slog.Time("issued_at", p.since))
		}
		return nil
	}
	err = a.c.redactErr(err)
	a.mu.Lock()
	p.attempts++
	p.err = err
	p.next = a.c.now().Add(tokenSaveDelay(p.attempts-1, a.c.jitter))
	nse := p.error()
	a.mu.Unlock()
	level := slog.LevelWarn
	if nse.Attempts == 1 {
		level = slog.LevelError
	}
	log.LogAttrs(ctx, level, "amocrm token pair not saved: it stays in use and the save is retried",
		slog.String(logKeyCategory, logCategoryAuth), slog.String("subdomain", a.c.Subdomain()),
		slog.Int("failed_attempts", nse.Attempts), slog.Time("issued_at", nse.Since),
		slog.Time("next_attempt", nse.NextAttempt), slog.String("error", err.Error()))
	return nse
}

// superseded drops the pending pair for the one another process stored.
func (a *authManager) superseded(ctx context.Context, p *unsaved, stored *Token) {
	a.c.addSecret(stored.AccessToken)
	a.c.addSecret(stored.RefreshToken)
	a.mu.Lock()
	if a.pending == p {
		a.pending = nil
		a.cur = stored
	}
	a.mu.Unlock()
	a.c.logger.LogAttrs(ctx, slog.LevelWarn, "amocrm token pair not saved: the store holds a newer pair saved by another process, which is used instead",
		slog.String(logKeyCategory, logCategoryAuth), slog.String("subdomain", a.c.Subdomain()),
		slog.Int("failed_attempts", p.attempts), slog.Time("issued_at", p.since))
}

func samePair(x, y *Token) bool {
	return x.AccessToken == y.AccessToken && x.RefreshToken == y.RefreshToken
}

func isNotSaved(err error) bool {
	var ns *TokenNotSavedError
	return errors.As(err, &ns)
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

// maxClaimUnix is the latest expiry jwtClaims accepts (9999-12-31).
const maxClaimUnix = 253402300799

// jwtClaims reads (without verifying) the payload of a JWT access token.
// Values it cannot use are dropped: an exp or account_id that is negative
// or out of range (a float such as 1e300 would wrap around), and an
// api_domain that is not a bare host[:port] — it becomes a URL host and
// receives the refresh token during subdomain discovery.
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
	c.Exp = claimInt(raw.Exp, maxClaimUnix)
	c.AccountID = claimInt(raw.AccountID, math.MaxInt64)
	if d := strings.ToLower(raw.APIDomain); validHostPort(d) {
		c.APIDomain = d
	}
	return c
}

// claimInt decodes a numeric claim (a number or a numeric string) in
// [0, limit]; anything else is 0.
func claimInt(b json.RawMessage, limit int64) int64 {
	s := strings.TrimSpace(string(b))
	var str string
	if strings.HasPrefix(s, `"`) && json.Unmarshal(b, &str) == nil {
		s = strings.TrimSpace(str)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > limit {
			return 0
		}
		return n
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= 0 && f <= float64(limit)) || f >= math.MaxInt64 {
		return 0
	}
	return int64(f)
}

// validHostPort reports whether s is a host name or IP address, with an
// optional port, and nothing else (no scheme, path, user info or spaces).
func validHostPort(s string) bool {
	if s == "" || len(s) > 261 {
		return false
	}
	host := s
	if strings.ContainsAny(s, ":[]") {
		h, port, err := net.SplitHostPort(s)
		if err != nil || port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
			return false
		}
		if n, _ := strconv.Atoi(port); n < 1 || n > 65535 {
			return false
		}
		host = h
	}
	if ip := net.ParseIP(host); ip != nil {
		return true
	}
	if len(host) > 253 || strings.ContainsAny(host, ":[]") {
		return false
	}
	for label := range strings.SplitSeq(host, ".") {
		if len(label) > 63 || !subdomainRE.MatchString(label) {
			return false
		}
	}
	return true
}

// discoverSubdomain asks api_domain for the account's current host and
// switches the client to it. It reports whether the host changed. Both
// api_domain and the host named in the answer must be trusted (see
// trustedHost), otherwise it returns an *UntrustedHostError and the base
// stays: the refresh token goes to api_domain, and every token afterwards to
// the new host.
func (c *Client) discoverSubdomain(ctx context.Context, t *Token) (bool, error) {
	base := c.base.Load()
	if !trustedHost(t.APIDomain, base.Host) {
		return false, &UntrustedHostError{Host: t.APIDomain, Source: "api_domain"}
	}
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
	host := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(out.Domain)), ".")
	source := "domain"
	if sub := strings.ToLower(strings.TrimSpace(out.Subdomain)); host == "" && sub != "" {
		h := base.Hostname()
		suffix := DomainRU
		if i := strings.IndexByte(h, '.'); i > 0 {
			suffix = h[i+1:]
		}
		host, source = sub+"."+suffix, "subdomain"
	}
	if host == "" || host == base.Host {
		return false, nil
	}
	if !trustedHost(host, base.Host) {
		c.logger.LogAttrs(ctx, slog.LevelWarn, "amocrm subdomain discovery named an untrusted host; the base URL is kept",
			slog.String("host", base.Host), slog.String("untrusted_host", host))
		return false, &UntrustedHostError{Host: host, Source: source}
	}
	nu := &url.URL{Scheme: base.Scheme, Host: host}
	c.base.Store(nu)
	c.logger.LogAttrs(ctx, slog.LevelWarn, "amocrm account moved to a new subdomain",
		slog.String("old_host", base.Host), slog.String("new_host", host))
	return true, nil
}

// trustedDomains are the domains whose subdomains are amoCRM accounts.
var trustedDomains = []string{DomainRU, DomainCOM, DomainKommo}

// trustedHost reports whether the client may send tokens to host: the
// configured account host itself, or a subdomain (without a port, not the
// common www site) of amocrm.ru, amocrm.com or kommo.com.
func trustedHost(host, configured string) bool {
	host = strings.ToLower(host)
	if host == "" {
		return false
	}
	if host == strings.ToLower(configured) {
		return true
	}
	if len(host) > 253 || strings.HasPrefix(host, "www.") {
		return false
	}
	for _, d := range trustedDomains {
		sub, ok := strings.CutSuffix(host, "."+d)
		if !ok || sub == "" {
			continue
		}
		for label := range strings.SplitSeq(sub, ".") {
			if len(label) > 63 || !subdomainRE.MatchString(label) {
				return false
			}
		}
		return true
	}
	return false
}

// ExchangeCode exchanges an authorization code (from the redirect, or the
// one an admin copies from the integration settings) for a token pair,
// starts using it and saves it to the TokenStore. The client must have been
// created with WithOAuth for the account in the redirect's referer.
//
// When the save fails the pair is still returned and in use, the save is
// retried (see TokenSaveErr), and the error is a *TokenNotSavedError.
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
	a := c.auth
	if err := a.lock(ctx); err != nil {
		return nil, err
	}
	defer a.unlock()
	t, err := c.tokenRequest(ctx, map[string]string{
		"client_id":     a.cfg.ClientID,
		"client_secret": a.cfg.ClientSecret,
		"grant_type":    "authorization_code",
		"code":          code,
		"redirect_uri":  a.cfg.RedirectURL,
	})
	if err != nil {
		return nil, err
	}
	err = a.issued(ctx, t, nil)
	cp := *t
	return &cp, err
}

// RefreshToken forces a refresh of the OAuth token pair (single-flight with
// any refresh in progress, through the same routine as the refresh on
// expiry), starts using it, saves it and returns it. Calling it regularly
// (e.g. weekly) keeps an idle integration's 3-month refresh token alive.
//
// When the save fails the new pair is still returned and in use, the save
// is retried (see TokenSaveErr), and the error is a *TokenNotSavedError.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/oauth/step-by-step
func (c *Client) RefreshToken(ctx context.Context) (*Token, error) {
	if c.auth == nil || c.auth.cfg == nil || c.auth.static != nil {
		return nil, errors.New("amocrm: RefreshToken needs a client created WithOAuth")
	}
	err := c.auth.refresh(ctx, "", true)
	if err != nil && !isNotSaved(err) {
		return nil, err
	}
	cp := *c.auth.current()
	return &cp, err
}

// TokenSaveErr reports whether every OAuth pair amoCRM issued to this client
// is stored. It returns nil when it is (or when the client has no OAuth),
// and a *TokenNotSavedError while the pair in use has failed to save: since
// when, how many attempts, the latest error and the next attempt. The save
// is retried by the first request, refresh or SaveToken call after the
// retry delay (1 s, doubling up to 1 minute, with jitter); nothing retries
// it while the client is idle, so an owner that wants the pair stored
// promptly calls SaveToken periodically.
//
// While a pair is not saved, a process that exits loses it and the
// integration must be authorised again (amoCRM has already revoked the
// previous refresh token). Other processes sharing the store keep working
// with the previous pair until its access token expires; their refresh then
// fails with *UnauthorizedError (its refresh token is spent) until the save
// succeeds, after which they load the new pair.
func (c *Client) TokenSaveErr() error {
	if c.auth == nil {
		return nil
	}
	c.auth.mu.Lock()
	defer c.auth.mu.Unlock()
	if p := c.auth.pending; p != nil && p.attempts > 0 {
		return p.error()
	}
	return nil
}

// SaveToken retries at once to save the OAuth pair in use whose save failed
// (see TokenSaveErr), without waiting for the retry delay. It returns nil
// when every issued pair is stored, or a *TokenNotSavedError. When the store
// turns out to hold a pair saved by another process after this one was
// issued (a new authorisation), that pair wins and becomes current.
func (c *Client) SaveToken(ctx context.Context) error {
	a := c.auth
	if a == nil || a.static != nil {
		return nil
	}
	a.mu.Lock()
	p := a.pending
	a.mu.Unlock()
	if p == nil {
		return nil
	}
	if err := a.lock(ctx); err != nil {
		return err
	}
	defer a.unlock()
	return a.saveLocked(ctx)
}
