package amocrmtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Token lifetimes.
const (
	AccessTokenTTL  = 24 * time.Hour      // expires_in: 86400
	RefreshTokenTTL = 90 * 24 * time.Hour // three months
	AuthCodeTTL     = 20 * time.Minute
)

type grant struct {
	userID  int64
	expires time.Time
	used    bool // codes and refresh tokens are single use
	revoked bool
}

type oauthState struct {
	rng     *rand.Rand
	codes   map[string]*grant
	access  map[string]*grant
	refresh map[string]*grant
}

func newOAuthState() oauthState {
	var seed [32]byte
	copy(seed[:], "amocrmtest oauth token generator")
	return oauthState{
		rng:     rand.New(rand.NewChaCha8(seed)),
		codes:   map[string]*grant{},
		access:  map[string]*grant{},
		refresh: map[string]*grant{},
	}
}

func (o *oauthState) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(o.rng.Uint32())
	}
	return hex.EncodeToString(b)
}

// newAccess issues a JWT-shaped access token. Called with s.mu held.
func (s *Server) newAccess(userID int64, ttl time.Duration, now time.Time) string {
	jti := s.oauth.hex(20)
	apiDomain := hostOf(s.URL)
	if apiDomain == "" {
		apiDomain = "api-b.amocrm.ru"
	}
	claims := obj{
		"aud":         s.integration.ClientID,
		"jti":         jti,
		"iat":         now.Unix(),
		"nbf":         now.Unix(),
		"exp":         now.Add(ttl).Unix(),
		"sub":         strconv.FormatInt(userID, 10),
		"grant_type":  "",
		"account_id":  s.st.account.ID,
		"base_domain": "amocrm.ru",
		"version":     2,
		"scopes":      []string{"crm", "files", "files_delete", "notifications", "push_notifications"},
		"hash_uuid":   s.oauth.hex(16),
		"api_domain":  apiDomain,
	}
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(obj{"typ": "JWT", "alg": "HS256", "jti": jti})
	body, _ := json.Marshal(claims)
	signing := enc.EncodeToString(head) + "." + enc.EncodeToString(body)
	mac := hmac.New(sha256.New, []byte(s.integration.ClientSecret))
	mac.Write([]byte(signing))
	tok := signing + "." + enc.EncodeToString(mac.Sum(nil))
	s.oauth.access[tok] = &grant{userID: userID, expires: now.Add(ttl)}
	return tok
}

func (s *Server) newRefresh(userID int64, now time.Time) string {
	tok := "def50200" + s.oauth.hex(96)
	s.oauth.refresh[tok] = &grant{userID: userID, expires: now.Add(RefreshTokenTTL)}
	return tok
}

func (s *Server) adminID() int64 {
	if u := s.st.firstAdmin(); u != nil {
		return u.ID
	}
	return 0
}

// IssueAuthCode returns a fresh authorization code for the first active admin, as
// the "simplified" flow in the integration settings shows it. It is single use and
// valid for AuthCodeTTL.
func (s *Server) IssueAuthCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueCode(s.adminID())
}

// IssueAuthCodeFor returns an authorization code that grants access as userID.
func (s *Server) IssueAuthCodeFor(userID int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueCode(userID)
}

func (s *Server) issueCode(userID int64) string {
	code := "def50200" + s.oauth.hex(64)
	s.oauth.codes[code] = &grant{userID: userID, expires: s.now().Add(AuthCodeTTL)}
	return code
}

// AccessToken returns a new access token for the first active admin, valid for
// AccessTokenTTL, without a refresh token. It is the quickest way to call the API.
func (s *Server) AccessToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newAccess(s.adminID(), AccessTokenTTL, s.now())
}

// IssueTokenPair returns an access token and a refresh token for userID, as a
// completed authorization-code exchange would.
func (s *Server) IssueTokenPair(userID int64) (access, refresh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	return s.newAccess(userID, AccessTokenTTL, now), s.newRefresh(userID, now)
}

// LongLivedToken returns a long-lived token for the first active admin, valid for
// ttl (amoCRM allows one day to five years). It has no refresh token.
func (s *Server) LongLivedToken(ttl time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newAccess(s.adminID(), ttl, s.now())
}

// RevokeToken revokes an access or refresh token, as disabling the integration
// would. Later use answers 401.
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.oauth.access[token]; g != nil {
		g.revoked = true
	}
	if g := s.oauth.refresh[token]; g != nil {
		g.revoked = true
	}
}

// oauthError answers like amoCRM's OAuth server.
func oauthError(w http.ResponseWriter, status int, hint string) {
	b, _ := json.Marshal(obj{
		"hint":   hint,
		"title":  "Некорректный запрос",
		"type":   "https://developers.amocrm.ru/v3/errors/OAuthProblemJson",
		"status": status,
		"detail": "В запросе отсутствует ряд параметров или параметры невалидны",
	})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// handleToken serves POST /oauth2/access_token with a JSON or form body.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	params := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			oauthError(w, http.StatusBadRequest, "Request body is not a valid JSON")
			return
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				params[k] = v
			case float64:
				params[k] = strconv.FormatFloat(v, 'f', -1, 64)
			}
		}
	} else {
		if err := r.ParseForm(); err != nil {
			oauthError(w, http.StatusBadRequest, "Request body is not valid")
			return
		}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	in := s.integration
	for _, k := range []string{"client_id", "client_secret", "grant_type", "redirect_uri"} {
		if params[k] == "" {
			oauthError(w, http.StatusBadRequest, "Check the `"+k+"` parameter")
			return
		}
	}
	if params["client_id"] != in.ClientID || params["client_secret"] != in.ClientSecret {
		oauthError(w, http.StatusUnauthorized, "Client authentication failed")
		return
	}
	if params["redirect_uri"] != in.RedirectURI {
		oauthError(w, http.StatusBadRequest, "Redirect URI does not match the one registered for the integration")
		return
	}
	var userID int64
	switch params["grant_type"] {
	case "authorization_code":
		code := params["code"]
		if code == "" {
			oauthError(w, http.StatusBadRequest, "Check the `code` parameter")
			return
		}
		g := s.oauth.codes[code]
		switch {
		case g == nil:
			oauthError(w, http.StatusBadRequest, "Cannot decrypt the authorization code")
			return
		case g.used || g.revoked:
			oauthError(w, http.StatusBadRequest, "Authorization code has been revoked")
			return
		case !now.Before(g.expires):
			oauthError(w, http.StatusBadRequest, "Authorization code has expired")
			return
		}
		g.used = true
		userID = g.userID
	case "refresh_token":
		tok := params["refresh_token"]
		if tok == "" {
			oauthError(w, http.StatusBadRequest, "Check the `refresh_token` parameter")
			return
		}
		g := s.oauth.refresh[tok]
		switch {
		case g == nil:
			oauthError(w, http.StatusBadRequest, "Cannot decrypt the refresh token")
			return
		case g.used || g.revoked:
			// Observed amoCRM answer to a reused (rotated) refresh token.
			oauthError(w, http.StatusUnauthorized, "Token has been revoked")
			return
		case !now.Before(g.expires):
			oauthError(w, http.StatusUnauthorized, "Token has expired")
			return
		}
		g.used = true
		userID = g.userID
	default:
		oauthError(w, http.StatusBadRequest, "The authorization grant type is not supported by the authorization server.")
		return
	}
	writeJSON(w, http.StatusOK, obj{
		"token_type":    "Bearer",
		"expires_in":    int(AccessTokenTTL / time.Second),
		"server_time":   now.Unix(),
		"access_token":  s.newAccess(userID, AccessTokenTTL, now),
		"refresh_token": s.newRefresh(userID, now),
	})
}

// authenticate checks the bearer token of an API request. It returns the user or
// writes a 401. Called with s.mu held.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, now time.Time) *User {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	var g *grant
	if ok {
		g = s.oauth.access[strings.TrimSpace(tok)]
	}
	if g == nil || g.revoked || !now.Before(g.expires) {
		writeProblem(w, http.StatusUnauthorized, "Неверный логин или пароль", nil)
		return nil
	}
	u := s.st.user(g.userID)
	if u == nil || u.Rights.Inactive {
		writeProblem(w, http.StatusUnauthorized, "Неверный логин или пароль", nil)
		return nil
	}
	return u
}
