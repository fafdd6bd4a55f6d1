package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// The amoCRM page (/amocrm?ws=…) shows one workspace's account: how the
// server signs in (a long-lived token with its expiry, or OAuth with the
// stored pair's), the set-up state, the sink's checks, the webhooks amoCRM
// has against the one the server expects, and a test request. Its forms
// post to /amocrm/<action> with the workspace in a hidden field: a path
// /amocrm/<ws>/<x> would be the app's webhook route.

// amoTimeout bounds the amoCRM requests one page makes.
const amoTimeout = 20 * time.Second

// amoTokenWarn is how long before its expiry a long-lived token is shown
// as ending soon.
const amoTokenWarn = 14 * 24 * time.Hour

// amoRefreshTTL is the life of an amoCRM refresh token: three months from
// the refresh that issued it.
const amoRefreshTTL = 90 * 24 * time.Hour

// amoWebhookEvents are the events the server subscribes its amoCRM webhook
// to: what app.amocrmWebhook acts on (a lead closed or deleted, a contact
// changed or deleted).
var amoWebhookEvents = []string{"status_lead", "delete_lead", "update_contact", "delete_contact"}

// amoWorkspace resolves the workspace of a request of the amoCRM and
// mapping pages: the query's or form's ws, else the first one the user may
// see. An unknown or hidden workspace is answered with 404 and false.
func (s *server) amoWorkspace(w http.ResponseWriter, r *http.Request) (*app.Runtime, bool) {
	id := r.FormValue("ws")
	if id == "" {
		if vis := s.visibleWorkspaces(r); len(vis) > 0 {
			id = vis[0]
		}
	}
	rt, ok := s.app.Runtime(id)
	if !ok || !canAccess(r, id) {
		s.errorPage(w, r, http.StatusNotFound, "amocrm.no_workspace")
		return nil, false
	}
	return rt, true
}

// amoPostWorkspace parses a form post of these pages and resolves its
// workspace.
func (s *server) amoPostWorkspace(w http.ResponseWriter, r *http.Request) (*app.Runtime, *form, bool) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return nil, nil, false
	}
	rt, ok := s.amoWorkspace(w, r)
	if !ok {
		return nil, nil, false
	}
	return rt, newForm(r.PostForm), true
}

// amoPage is the amoCRM page of one workspace.
type amoPage struct {
	WS         string
	Name       string
	Workspaces []string
	// Account is what GET /api/v4/account answered (nil on error).
	Account    *amocrm.Account
	AccountErr chatter.Text
	Ready      bool         // the sink is set up
	SetupErr   chatter.Text // why not, when known
	Auth       amoAuth
	Checks     []amoCheck
	Hooks      amoHooks
	Probe      *amoProbe
	// OAuthRedirect is the callback URL to register with the integration
	// (the public URL's, "" without one).
	OAuthRedirect string
}

// amoAuth is how the workspace signs in to amoCRM. Secrets appear only
// masked.
type amoAuth struct {
	Mode string // "token" or "oauth"

	TokenMask    string
	TokenExpires time.Time // from the JWT's exp; zero when it has none
	TokenState   string    // ok, soon, expired or unknown

	ClientID   string
	SecretMask string
	Redirect   string
	AuthURL    string
	// Connected: a pair is stored; AccessExpires is its access token's
	// end, RefreshUntil the refresh token's (three months from the pair's
	// issue, which is when it was stored).
	Connected     bool
	AccessExpires time.Time
	Stored        time.Time
	RefreshUntil  time.Time
	StoreErr      chatter.Text
	// SaveErr is amocrm.Client.TokenSaveErr: a pair in use but not stored.
	SaveErr chatter.Text
}

// amoCheck is one check as the page shows it.
type amoCheck struct {
	chatter.CheckResult
	Kind    string // badge: ok, warn, error, info
	Details []amoDetail
}

type amoDetail struct{ Key, Value string }

// amoHooks compares the webhooks amoCRM has with the one the server
// expects.
type amoHooks struct {
	Enabled   bool   // amocrm.webhooks in the settings
	PublicURL bool   // http.public_url is set
	Expected  string // the server's webhook URL, its secret masked ("" when off)
	Found     bool   // amoCRM has it
	Disabled  bool   // … but disabled
	List      []amoHook
	Err       chatter.Text
}

type amoHook struct {
	Destination string // masked
	Events      string
	Disabled    bool
	Ours        bool
}

// amoProbe is the answer of a test request.
type amoProbe struct {
	Status    int
	Latency   time.Duration
	RequestID string
	Account   *amocrm.Account
	Err       chatter.Text
}

// OK reports whether the test request succeeded.
func (p *amoProbe) OK() bool { return p.Err.IsZero() }

// LatencyMS is the latency in milliseconds.
func (p *amoProbe) LatencyMS() int64 { return p.Latency.Milliseconds() }

// renderAmoCRM renders the amoCRM page of rt with a form's problems, a
// message and a test request's answer. It reads the account, runs the
// checks and lists the webhooks (a few amoCRM requests).
func (s *server) renderAmoCRM(w http.ResponseWriter, r *http.Request, status int, rt *app.Runtime, f *form, a *alert, probe *amoProbe) {
	ctx, cancel := context.WithTimeout(r.Context(), amoTimeout)
	defer cancel()
	v := s.newView(r)
	v.Path = "/amocrm?ws=" + url.QueryEscape(rt.ID)
	if f != nil {
		v.Form = f
	}
	v.Alert = a
	wc := rt.Config
	p := &amoPage{WS: rt.ID, Name: cmpOr(wc.Name, rt.ID), Workspaces: s.visibleWorkspaces(r), Probe: probe}
	p.Checks = s.amoChecks(ctx, rt)
	if rt.Sink == nil {
		// The set-up check has just tried again: once it worked, the
		// sink's own checks are what to show.
		if now, ok := s.app.Runtime(rt.ID); ok {
			if rt = now; rt.Sink != nil {
				p.Checks = s.amoChecks(ctx, rt)
			}
		}
	}
	p.Ready = rt.Sink != nil
	if !p.Ready && rt.SetupError != nil {
		p.SetupErr = amoExplain(rt.SetupError)
	}
	if base := strings.TrimSuffix(s.app.Config().HTTP.PublicURL, "/"); base != "" {
		p.OAuthRedirect = base + "/amocrm/oauth/callback"
	}
	acc, _, err := rt.AmoCRM.Account.Get(ctx, nil)
	if err != nil {
		p.AccountErr = amoExplain(err)
	} else {
		p.Account = acc
	}
	p.Auth = s.amoAuthOf(ctx, rt)
	p.Hooks = s.amoHooksOf(ctx, rt)
	if !v.Form.Values.Has("client_id") {
		v.Form.Values.Set("client_id", wc.AmoCRM.OAuth.ClientID)
		v.Form.Values.Set("redirect_url", cmpOr(wc.AmoCRM.OAuth.RedirectURL, p.OAuthRedirect))
		v.Form.Values.Set("auth_url", wc.AmoCRM.OAuth.AuthURL)
	}
	v.Data = p
	// The consent page is another site: the "Подключить amoCRM" form is
	// answered with a redirect there, which form-action must allow.
	w.Header().Set("Content-Security-Policy", amoCSP(wc.AmoCRM.OAuth.AuthURL))
	s.render(w, r, status, "amocrm", v)
}

// amoCSP is the page's policy: the UI's, with the OAuth consent page's
// origin added to form-action.
func amoCSP(authURL string) string {
	o := origin(cmpOr(authURL, amocrm.AuthURLAmoCRM))
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(o, " ;,'\"") {
		return csp
	}
	return strings.Replace(csp, "form-action 'self'", "form-action 'self' "+o, 1)
}

// amoAuthOf describes how rt signs in.
func (s *server) amoAuthOf(ctx context.Context, rt *app.Runtime) amoAuth {
	ac := rt.Config.AmoCRM
	var out amoAuth
	if err := rt.AmoCRM.TokenSaveErr(); err != nil {
		out.SaveErr = amoExplain(err)
	}
	if ac.LongLivedToken != "" {
		out.Mode = "token"
		out.TokenMask = amoMask(ac.LongLivedToken)
		out.TokenState = "unknown"
		if exp, ok := amoJWTExpiry(ac.LongLivedToken); ok {
			out.TokenExpires = exp
			switch left := exp.Sub(s.now()); {
			case left <= 0:
				out.TokenState = "expired"
			case left < amoTokenWarn:
				out.TokenState = "soon"
			default:
				out.TokenState = "ok"
			}
		}
		return out
	}
	out.Mode = "oauth"
	out.ClientID, out.Redirect, out.AuthURL = ac.OAuth.ClientID, ac.OAuth.RedirectURL, ac.OAuth.AuthURL
	out.SecretMask = amoMask(ac.OAuth.ClientSecret)
	tok, err := s.app.Store().GetToken(ctx, rt.ID, amoAccountKey(ac))
	switch {
	case errors.Is(err, chatter.ErrNotFound):
	case err != nil:
		out.StoreErr = chatter.T("не удалось прочитать сохранённый токен: "+err.Error(), "could not read the stored token: "+err.Error())
	case tok.AccessToken != "":
		out.Connected = true
		out.AccessExpires, out.Stored = tok.ExpiresAt, tok.UpdatedAt
		if !tok.UpdatedAt.IsZero() && tok.RefreshToken != "" {
			out.RefreshUntil = tok.UpdatedAt.Add(amoRefreshTTL)
		}
	}
	return out
}

// amoChecks runs the workspace's amoCRM checks: the sink's (token, token
// saved, rights, webhooks, fields, rate limit and budget, blocked) once
// it is set up, else the set-up check, which says why it is not.
func (s *server) amoChecks(ctx context.Context, rt *app.Runtime) []amoCheck {
	var checks []chatter.Check
	for _, c := range rt.Checks() {
		if strings.HasPrefix(c.Name(), "amocrm.") {
			checks = append(checks, c)
		}
	}
	var out []amoCheck
	for _, res := range chatter.RunChecks(ctx, checks, chatter.CheckOptions{Concurrency: 4, Now: s.now}) {
		// The webhook check names the URL, path secret included.
		res.Cause = s.amoScrubText(rt.ID, res.Cause)
		res.Remedy = s.amoScrubText(rt.ID, res.Remedy)
		c := amoCheck{CheckResult: res, Kind: amoBadge(res.Status)}
		for k, val := range res.Details {
			c.Details = append(c.Details, amoDetail{k, s.amoScrub(rt.ID, val)})
		}
		slices.SortFunc(c.Details, func(a, b amoDetail) int { return strings.Compare(a.Key, b.Key) })
		out = append(out, c)
	}
	return out
}

// amoBadge is the badge kind of a check status.
func amoBadge(st chatter.Status) string {
	switch st {
	case chatter.StatusOK:
		return "ok"
	case chatter.StatusWarn:
		return "warn"
	case chatter.StatusFail:
		return "error"
	}
	return "info"
}

// amoHooksOf lists the account's webhooks against the expected one.
func (s *server) amoHooksOf(ctx context.Context, rt *app.Runtime) amoHooks {
	h := amoHooks{Enabled: rt.Config.AmoCRM.Webhooks, PublicURL: s.app.Config().HTTP.PublicURL != ""}
	want := strings.TrimRight(rt.AmoCRMWebhookURL, "/")
	if want != "" {
		h.Expected = s.amoMaskHook(rt.ID, want)
	}
	hooks, _, err := rt.AmoCRM.Webhooks.List(ctx, nil)
	if err != nil {
		if amocrm.IsStatus(err, http.StatusForbidden) {
			h.Err = chatter.T("нет прав на просмотр вебхуков: нужен администратор amoCRM", "no right to list the webhooks: an amoCRM administrator is needed")
		} else {
			h.Err = amoExplain(err)
		}
		return h
	}
	for _, wh := range hooks {
		ours := want != "" && strings.TrimRight(wh.Destination, "/") == want
		if ours {
			h.Found, h.Disabled = true, wh.Disabled
		}
		h.List = append(h.List, amoHook{Destination: s.amoMaskHook(rt.ID, wh.Destination), Events: strings.Join(wh.Settings, ", "),
			Disabled: wh.Disabled, Ours: ours})
	}
	return h
}

// amoScrub masks the workspace's webhook path secret in text.
func (s *server) amoScrub(ws, text string) string {
	p := s.app.AmoCRMWebhookPath(ws)
	if secret := p[strings.LastIndexByte(p, '/')+1:]; secret != "" {
		return strings.ReplaceAll(text, secret, amoMask(secret))
	}
	return text
}

func (s *server) amoScrubText(ws string, t chatter.Text) chatter.Text {
	return chatter.T(s.amoScrub(ws, t.RU), s.amoScrub(ws, t.EN))
}

// amoMaskHook shows a webhook destination without secrets: the server's
// own path secret, and any long path segment or query of another
// integration's URL, keep only their last 4 characters.
func (s *server) amoMaskHook(ws, dest string) string {
	dest = s.amoScrub(ws, dest)
	u, err := url.Parse(dest)
	if err != nil || u.Host == "" {
		return amoMask(dest)
	}
	segs := strings.Split(u.Path, "/")
	for i, seg := range segs {
		if len(seg) >= 16 && !strings.Contains(seg, "•") {
			segs[i] = amoMask(seg)
		}
	}
	out := u.Scheme + "://" + u.Host + strings.Join(segs, "/")
	if u.RawQuery != "" {
		out += "?" + amoMask(u.RawQuery)
	}
	return out
}

// amoMask shows a secret by its last 4 characters.
func amoMask(secret string) string {
	if secret == "" {
		return ""
	}
	r := []rune(secret)
	if len(r) <= 8 {
		return "••••"
	}
	return "••••" + string(r[len(r)-4:])
}

// amoJWTExpiry reads the exp claim of an amoCRM token (a JWT) without
// verifying it: only amoCRM can, and it does on every request.
func amoJWTExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(b, &claims) != nil || claims.Exp == "" {
		return time.Time{}, false
	}
	n, err := claims.Exp.Int64()
	if err != nil {
		f, ferr := claims.Exp.Float64()
		if ferr != nil {
			return time.Time{}, false
		}
		n = int64(f)
	}
	if n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// amoAccountKey names the account of ac in the store (its token and
// request budget) the way the app does: the subdomain, else the base URL's
// host.
func amoAccountKey(ac config.AmoCRM) string {
	acc := ac.Subdomain
	if acc == "" {
		u := strings.TrimPrefix(strings.TrimPrefix(ac.BaseURL, "https://"), "http://")
		if i := strings.IndexAny(u, "/?#"); i >= 0 {
			u = u[:i]
		}
		acc = strings.ReplaceAll(u, ":", "-")
	}
	return strings.ToLower(strings.TrimSpace(acc))
}

// amoExplain turns an amoCRM error into an operator's text.
func amoExplain(err error) chatter.Text {
	if err == nil {
		return chatter.Text{}
	}
	if errors.Is(err, amocrm.ErrNoToken) {
		return chatter.T("amoCRM ещё не подключён: нажмите «Подключить amoCRM» и разрешите доступ на странице amoCRM.",
			"amoCRM is not connected yet: press «Connect amoCRM» and allow access on amoCRM's page.")
	}
	var m interface{ Message(lang string) string }
	if errors.As(err, &m) {
		return chatter.T(m.Message(auth.LangRU), m.Message(auth.LangEN))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return chatter.T("amoCRM не ответил вовремя. Проверьте сетевое подключение сервера и повторите.",
			"amoCRM did not answer in time. Check the server's network connection and try again.")
	}
	msg := err.Error()
	return chatter.T("нет ответа от amoCRM: "+msg, "no answer from amoCRM: "+msg)
}

// amoProbeOf sends the test request: the account, with its latency and
// status.
func (s *server) amoProbeOf(ctx context.Context, c *amocrm.Client) *amoProbe {
	ctx, cancel := context.WithTimeout(ctx, amoTimeout)
	defer cancel()
	start := time.Now()
	acc, resp, err := c.Account.Get(ctx, nil)
	p := &amoProbe{Latency: time.Since(start), Account: acc}
	if resp != nil && resp.Response != nil {
		p.Status, p.RequestID = resp.StatusCode, resp.RequestID
	}
	var ae *amocrm.APIError
	if errors.As(err, &ae) {
		p.Status, p.RequestID = ae.StatusCode, ae.RequestID
	}
	if err != nil {
		p.Err, p.Account = amoExplain(err), nil
	}
	return p
}

// amoLog writes an action of these pages to the event log: who, from
// where, on which workspace; never a secret.
func (s *server) amoLog(r *http.Request, ws, category, msg string, attrs ...slog.Attr) {
	u := currentUser(r)
	base := []slog.Attr{slog.String(chatter.AttrCategory, category), slog.String(chatter.AttrWorkspace, ws),
		slog.String("by", u.Login), slog.String("addr", s.clientAddr(r))}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, msg, append(base, attrs...)...)
}

// amoConfigProblems records the problems of a settings change on the
// form: the keys of workspace ws under prefix ("amocrm.oauth") go to the
// fields named in fields (by the key's rest), the others to field other.
// It reports whether err held problems.
func amoConfigProblems(f *form, err error, c *config.Config, id string, fields map[string]string, other string) bool {
	var ps config.Problems
	if !errors.As(err, &ps) {
		return false
	}
	prefix := ""
	for i := range c.Workspaces {
		if c.Workspaces[i].ID == id {
			prefix = fmt.Sprintf("workspaces[%d].", i)
		}
	}
	for _, p := range ps.Errors() {
		field := other
		if rest, ok := strings.CutPrefix(p.Path, prefix); ok && prefix != "" {
			if name, ok := fields[rest]; ok {
				field = name
			}
		}
		f.fail(field, p.Message)
	}
	return len(ps.Errors()) > 0
}

// amoValidate checks workspace wc with the rest of the configuration, as
// UpdateWorkspace will, without changing anything.
func (s *server) amoValidate(wc config.Workspace) (*config.Config, error) {
	c := s.app.Config()
	wc.SetDefaults()
	for i := range c.Workspaces {
		if c.Workspaces[i].ID == wc.ID {
			c.Workspaces[i] = wc
		}
	}
	if ps := c.Validate(); ps.HasErrors() {
		return c, ps.Errors()
	}
	return c, nil
}

// amoSinkClient builds an amoCRM client for ac with token, sharing the
// workspace's request budget, for a test request before the token is
// saved.
func (s *server) amoSinkClient(rt *app.Runtime, ac config.AmoCRM, token string) (*amocrm.Client, error) {
	return amocrmsink.NewClient(amocrmsink.ClientConfig{Store: s.app.Store(), Workspace: rt.ID, Account: amoAccountKey(ac),
		BaseURL: ac.BaseURL, LongLivedToken: token, Stats: rt.Stats})
}
