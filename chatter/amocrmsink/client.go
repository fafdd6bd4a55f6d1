package amocrmsink

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
)

// ClientStore is what NewClient needs of a chatter store: the token store
// that keeps the account's OAuth pair and the rate budget the instances
// share. Every chatter.Store has both.
type ClientStore interface {
	chatter.TokenStore
	chatter.RateBudget
}

// ClientConfig says how to reach one workspace's amoCRM account; see
// NewClient.
type ClientConfig struct {
	// Store keeps the OAuth pair (sealed, compare-and-swap; see TokenStore)
	// and the account's request budget (see BudgetLimiter). Instances that
	// share the store share both. Required.
	Store ClientStore
	// Workspace owns the account. Required.
	Workspace string
	// Account is the amoCRM account: its subdomain ("example"), or a host
	// ("example.kommo.com") or URL. It names the stored token and the
	// budget, so every instance must be given the same value. Required.
	Account string
	// BaseURL, when set, sends the requests there instead of the account's
	// host (amocrmtest, a proxy); Account still names the token and the
	// budget.
	BaseURL string
	// OAuth holds the integration's credentials; the pair is kept in Store
	// (authorise once with Client.ExchangeCode). Exactly one of OAuth and
	// LongLivedToken is required.
	OAuth *amocrm.OAuthConfig
	// LongLivedToken is a private integration's long-lived token.
	LongLivedToken string
	// Stats, when set, receives every HTTP attempt (RequestStats.Attach)
	// and the budget's store failures. Pass the same value as Config.Stats
	// so that the sink's checks see the budget's failures too.
	Stats *RequestStats
	// Interval is the gap between two requests to the account across all
	// instances. Defaults to amocrm.DefaultInterval.
	Interval time.Duration
	// Logger receives the client's logs with the workspace attribute, so
	// that the chatter event log files them under the workspace; token
	// events (a pair issued, not saved, saved after retries) carry the
	// category auth. Tokens are never logged. nil is silent.
	Logger *slog.Logger
	// Options are further amocrm options (WithHTTPClient, WithTimeout,
	// WithBackoff, WithBlockPolicy, WithClock, WithRequestHook, ...),
	// applied after NewClient's own: a WithLimiter or WithLogger here
	// replaces what NewClient wires.
	Options []amocrm.Option
}

// NewClient returns the amoCRM client of cfg.Account for cfg.Workspace,
// wired for a deployment of one or several instances sharing cfg.Store:
//
//   - requests are paced by a BudgetLimiter on the store's rate budget, so
//     all instances together stay under amoCRM's 7 requests per second,
//     and a 429 or a block seen by one instance pauses every instance;
//   - with OAuth, the pair lives in the store (TokenStore: sealed at rest,
//     compare-and-swap between instances); a pair amoCRM issues is used at
//     once and, when its save fails, kept and saved again (the
//     CheckTokenSaved check reports it);
//   - every HTTP attempt feeds cfg.Stats, for the rate-limit, budget and
//     block checks.
//
// It starts no goroutines and makes no requests. The error wraps
// chatter.ErrInvalid for a bad config. Plain amocrm users who run one
// process can keep amocrm.NewClient and its per-process pacing.
func NewClient(cfg ClientConfig) (*amocrm.Client, error) {
	var missing []string
	if cfg.Store == nil {
		missing = append(missing, "Store")
	}
	if cfg.Workspace == "" {
		missing = append(missing, "Workspace")
	}
	account := normAccount(cfg.Account)
	if account == "" {
		missing = append(missing, "Account")
	}
	if cfg.OAuth == nil && strings.TrimSpace(cfg.LongLivedToken) == "" {
		missing = append(missing, "OAuth or LongLivedToken")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("amocrmsink: client config: missing %s: %w", strings.Join(missing, ", "), chatter.ErrInvalid)
	}
	if cfg.OAuth != nil && cfg.LongLivedToken != "" {
		return nil, fmt.Errorf("amocrmsink: client config: OAuth and LongLivedToken are exclusive: %w", chatter.ErrInvalid)
	}
	budget, err := NewBudgetLimiter(BudgetConfig{
		Budget: cfg.Store, Workspace: cfg.Workspace, Account: account, Interval: cfg.Interval, Stats: cfg.Stats,
	})
	if err != nil {
		return nil, err
	}
	opts := []amocrm.Option{amocrm.WithLimiter(budget)}
	if cfg.BaseURL != "" {
		opts = append(opts, amocrm.WithBaseURL(cfg.BaseURL))
	}
	if cfg.OAuth != nil {
		opts = append(opts, amocrm.WithOAuth(*cfg.OAuth, NewTokenStore(cfg.Store, cfg.Workspace, account)))
	} else {
		opts = append(opts, amocrm.WithLongLivedToken(cfg.LongLivedToken))
	}
	if cfg.Logger != nil {
		opts = append(opts, amocrm.WithLogger(cfg.Logger.With(slog.String(chatter.AttrWorkspace, cfg.Workspace))))
	}
	c, err := amocrm.NewClient(account, append(opts, cfg.Options...)...)
	if err != nil {
		return nil, fmt.Errorf("amocrmsink: client: %w: %w", err, chatter.ErrInvalid)
	}
	if cfg.Stats != nil {
		cfg.Stats.Attach(c)
	}
	return c, nil
}
