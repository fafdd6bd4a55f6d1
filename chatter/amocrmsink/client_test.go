package amocrmsink_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

var errStoreDown = errors.New("store: connection refused")

// flakyStore is a MemStore whose next swapFailures token saves fail, and
// whose rate budget fails while reserveErr is set.
type flakyStore struct {
	*chattertest.MemStore

	mu           sync.Mutex
	swapFailures int
	reserveErr   error
}

func (f *flakyStore) SwapToken(ctx context.Context, t *chatter.Token, oldVersion int64) (*chatter.Token, error) {
	f.mu.Lock()
	fail := f.swapFailures > 0
	if fail {
		f.swapFailures--
	}
	f.mu.Unlock()
	if fail {
		return nil, errStoreDown
	}
	return f.MemStore.SwapToken(ctx, t, oldVersion)
}

func (f *flakyStore) Reserve(ctx context.Context, workspace, key string, interval time.Duration) (time.Time, error) {
	f.mu.Lock()
	err := f.reserveErr
	f.mu.Unlock()
	if err != nil {
		return time.Time{}, err
	}
	return f.MemStore.Reserve(ctx, workspace, key, interval)
}

func (f *flakyStore) setReserveErr(err error) {
	f.mu.Lock()
	f.reserveErr = err
	f.mu.Unlock()
}

func oauthOf(srv *amocrmtest.Server) *amocrm.OAuthConfig {
	in := srv.Integration()
	return &amocrm.OAuthConfig{ClientID: in.ClientID, ClientSecret: in.ClientSecret, RedirectURL: in.RedirectURI}
}

func TestNewClientConfig(t *testing.T) {
	t.Parallel()
	store := chattertest.NewMemStore()
	oauth := &amocrm.OAuthConfig{ClientID: "id", ClientSecret: "secret", RedirectURL: "https://x/cb"}
	for name, cfg := range map[string]amocrmsink.ClientConfig{
		"no store":       {Workspace: ws, Account: "example", LongLivedToken: "t"},
		"no workspace":   {Store: store, Account: "example", LongLivedToken: "t"},
		"no account":     {Store: store, Workspace: ws, LongLivedToken: "t"},
		"no credentials": {Store: store, Workspace: ws, Account: "example"},
		"both":           {Store: store, Workspace: ws, Account: "example", LongLivedToken: "t", OAuth: oauth},
		"bad base URL":   {Store: store, Workspace: ws, Account: "example", LongLivedToken: "t", BaseURL: "::"},
		"bad account":    {Store: store, Workspace: ws, Account: "ex ample", LongLivedToken: "t"},
	} {
		_, err := amocrmsink.NewClient(cfg)
		require.ErrorIs(t, err, chatter.ErrInvalid, name)
	}
	c, err := amocrmsink.NewClient(amocrmsink.ClientConfig{Store: store, Workspace: ws, Account: "Example", OAuth: oauth})
	require.NoError(t, err)
	require.Equal(t, "https://example.amocrm.ru", c.BaseURL())
}

// With OAuth through NewClient: a pair whose save fails stays in use
// (deliveries succeed), the token-saved check fails with its cause and
// remedy and retries the save, the event log has the auth events without
// token values, and once the store takes the pair the check is ok and the
// store holds exactly the pair amoCRM issued.
func TestNewClientTokenNotSavedCheckAndEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := t.Context()
	store := &flakyStore{MemStore: e.store, swapFailures: 2}
	evlog, err := chatter.NewEventLog(e.store, nil, chatter.EventLogConfig{})
	require.NoError(t, err)
	stats := amocrmsink.NewRequestStats(nil)
	// The client's clock stands still: a failed save is retried only by the
	// check (SaveToken), not by a request after its delay.
	clock := amocrmtest.NewManualClock(time.Now())
	client, err := amocrmsink.NewClient(amocrmsink.ClientConfig{
		Store: store, Workspace: ws, Account: "example", BaseURL: e.srv.URL, OAuth: oauthOf(e.srv),
		Stats: stats, Logger: slog.New(evlog), Options: []amocrm.Option{amocrm.WithClock(clock.Now)},
	})
	require.NoError(t, err)
	cfg := e.cfg
	cfg.Client, cfg.Stats = client, stats
	sink, err := amocrmsink.New(cfg)
	require.NoError(t, err)

	tok, err := client.ExchangeCode(ctx, e.srv.IssueAuthCode())
	var ns *amocrm.TokenNotSavedError
	require.ErrorAs(t, err, &ns)
	require.ErrorIs(t, err, errStoreDown)
	_, err = e.store.GetToken(ctx, ws, "example")
	require.ErrorIs(t, err, chatter.ErrNotFound)

	m := msg(500, 1, person{id: 9001, username: "ivan", first: "Иван"}, "Нужен ремонт")
	_, err = sink.Deliver(ctx, &chatter.Delivery{Message: m, Attempt: 1, MaxAttempts: 8})
	require.NoError(t, err, "a delivery failed although the unsaved pair works")

	rs := runChecks(t, sink)
	wantStatus(t, rs, amocrmsink.CheckTokenSaved, chatter.StatusFail, "is in use but not saved in the store: 2 failed attempts")
	r := rs[amocrmsink.CheckTokenSaved]
	require.Contains(t, r.Cause.RU, "не сохранена")
	require.Contains(t, r.Remedy.EN, "do not restart")
	require.Equal(t, amocrmsink.GuideAuth, r.Guide)
	wantStatus(t, rs, amocrmsink.CheckToken, chatter.StatusOK, "")
	wantStatus(t, rs, amocrmsink.CheckRateBudget, chatter.StatusOK, "")

	rs = runChecks(t, sink)
	wantStatus(t, rs, amocrmsink.CheckTokenSaved, chatter.StatusOK, "")
	require.NoError(t, client.TokenSaveErr())
	stored, err := e.store.GetToken(ctx, ws, "example")
	require.NoError(t, err)
	if diff := cmp.Diff([2]string{tok.AccessToken, tok.RefreshToken}, [2]string{stored.AccessToken, stored.RefreshToken}); diff != "" {
		t.Errorf("stored pair (-issued +stored):\n%s", diff)
	}

	require.NoError(t, evlog.Flush(ctx))
	events, err := e.store.ListEvents(ctx, chatter.EventQuery{Workspace: ws, Category: chatter.CategoryAuth})
	require.NoError(t, err)
	var texts []string
	for _, ev := range events {
		texts = append(texts, ev.Level.String()+" "+ev.Text)
		for _, s := range append([]string{ev.Text}, mapValues(ev.Attrs)...) {
			require.NotContains(t, s, tok.AccessToken)
			require.NotContains(t, s, tok.RefreshToken)
		}
	}
	// Newest first.
	want := []string{
		"INFO amocrm token pair saved after failed attempts",
		"WARN amocrm token pair not saved: it stays in use and the save is retried",
		"ERROR amocrm token pair not saved: it stays in use and the save is retried",
	}
	if diff := cmp.Diff(want, texts); diff != "" {
		t.Errorf("auth events (-want +got):\n%s", diff)
	}
}

// While the store's rate budget fails, nothing is sent to amoCRM: the
// delivery fails as transient (retried later), the fake sees no request,
// and the budget check fails with the cause until the window passes.
func TestNewClientBudgetStoreDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := t.Context()
	store := &flakyStore{MemStore: e.store}
	stats := amocrmsink.NewRequestStats(nil)
	client, err := amocrmsink.NewClient(amocrmsink.ClientConfig{
		Store: store, Workspace: ws, Account: "example", BaseURL: e.srv.URL, LongLivedToken: e.token, Stats: stats,
	})
	require.NoError(t, err)
	clock := amocrmtest.NewManualClock(time.Now())
	cfg := e.cfg
	cfg.Client, cfg.Stats, cfg.Now = client, stats, clock.Now
	sink, err := amocrmsink.New(cfg)
	require.NoError(t, err)

	_, _, err = client.Account.Get(ctx, nil) // the budget in use: checks run concurrently
	require.NoError(t, err)
	rs := runChecks(t, sink)
	wantStatus(t, rs, amocrmsink.CheckRateBudget, chatter.StatusOK, "")

	store.setReserveErr(errStoreDown)
	e.srv.ResetRequests()
	m := msg(501, 1, person{id: 9002, first: "Пётр"}, "Сколько стоит?")
	_, err = sink.Deliver(ctx, &chatter.Delivery{Message: m, Attempt: 1, MaxAttempts: 8})
	require.ErrorIs(t, err, errStoreDown)
	require.Equal(t, chatter.ClassTransient, chatter.ClassOf(err))
	require.Zero(t, e.srv.CountRequests("", "/api/"), "a request was sent without a slot of the shared budget")
	rs = runChecks(t, sink)
	wantStatus(t, rs, amocrmsink.CheckRateBudget, chatter.StatusFail, "connection refused")
	require.True(t, strings.Contains(rs[amocrmsink.CheckRateBudget].Cause.RU, "не отправляются"))

	store.setReserveErr(nil)
	_, err = sink.Deliver(ctx, &chatter.Delivery{Message: m, Attempt: 2, MaxAttempts: 8})
	require.NoError(t, err)
	clock.Advance(amocrmsink.DefaultRateWindow + time.Minute)
	rs = runChecks(t, sink)
	wantStatus(t, rs, amocrmsink.CheckRateBudget, chatter.StatusOK, "")
}

// A sink whose client paces per process says so; nothing is unsaved.
func TestChecksWithoutSharedBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	rs := runChecks(t, e.sink)
	wantStatus(t, rs, amocrmsink.CheckRateBudget, chatter.StatusSkip, "")
	require.Contains(t, rs[amocrmsink.CheckRateBudget].Remedy.EN, "amocrmsink.NewClient")
	wantStatus(t, rs, amocrmsink.CheckTokenSaved, chatter.StatusOK, "")
}
