package amocrmsink_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

func TestTokenStoreRoundTripAndConflict(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := chattertest.NewMemStore()
	a := amocrmsink.NewTokenStore(store, "ws1", "remont")
	if _, err := a.Load(ctx); !errors.Is(err, amocrm.ErrNoToken) {
		t.Fatalf("empty store: %v", err)
	}
	exp := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	first := &amocrm.Token{AccessToken: "access-1", RefreshToken: "refresh-1", TokenType: "Bearer", ExpiresAt: exp, APIDomain: "api-b.amocrm.ru"}
	if err := a.Save(ctx, first); err != nil {
		t.Fatal(err)
	}
	// A second instance loads the same pair.
	b := amocrmsink.NewTokenStore(store, "ws1", "remont")
	got, err := b.Load(ctx)
	if err != nil || *got != *first {
		t.Fatalf("load = %+v, %v", got, err)
	}
	if e, err := b.Expiry(ctx); err != nil || !e.Equal(exp) {
		t.Errorf("expiry = %v, %v", e, err)
	}
	// b rotates; a, still holding the old version, cannot overwrite it.
	if err := b.Save(ctx, &amocrm.Token{AccessToken: "access-2", RefreshToken: "refresh-2"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Save(ctx, &amocrm.Token{AccessToken: "access-stale", RefreshToken: "refresh-stale"}); !errors.Is(err, chatter.ErrConflict) {
		t.Fatalf("stale save: %v", err)
	}
	if got, _ := a.Load(ctx); got.AccessToken != "access-2" {
		t.Fatalf("after conflict the stored pair is %q", got.AccessToken)
	}
	// Having reloaded, a can save again.
	if err := a.Save(ctx, &amocrm.Token{AccessToken: "access-3", RefreshToken: "refresh-3"}); err != nil {
		t.Fatal(err)
	}
	// Workspaces and accounts are separate.
	if _, err := amocrmsink.NewTokenStore(store, "ws2", "remont").Load(ctx); !errors.Is(err, amocrm.ErrNoToken) {
		t.Errorf("other workspace: %v", err)
	}
	if err := a.Save(ctx, nil); !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("nil token: %v", err)
	}
}

// The client refreshes an expired pair through the store: the rotated pair is
// stored (version 2) before use, and one refresh serves concurrent callers.
func TestTokenStoreWithClientRefresh(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := amocrmtest.NewManualClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	fake := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount), amocrmtest.WithClock(clock.Now),
		amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: -1, BlockAfter: -1}))
	srv := httptest.NewServer(fake)
	defer srv.Close()
	integ := fake.Integration()
	cfg := amocrm.OAuthConfig{ClientID: integ.ClientID, ClientSecret: integ.ClientSecret, RedirectURL: integ.RedirectURI}

	store := chattertest.NewMemStore()
	ts := amocrmsink.NewTokenStore(store, "ws1", fake.Account().Subdomain)
	client, err := amocrm.NewClient(fake.Account().Subdomain, amocrm.WithBaseURL(srv.URL), amocrm.WithOAuth(cfg, ts),
		amocrm.WithClock(clock.Now), amocrm.WithLimiter(amocrm.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := client.ExchangeCode(ctx, fake.IssueAuthCode())
	if err != nil {
		t.Fatal(err)
	}
	stored, err := store.GetToken(ctx, "ws1", fake.Account().Subdomain)
	if err != nil || stored.Version != 1 || stored.AccessToken != tok.AccessToken {
		t.Fatalf("after exchange: %+v, %v", stored, err)
	}

	clock.Advance(25 * time.Hour) // the access token expired
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			_, _, err := client.Account.Get(context.WithoutCancel(ctx), nil)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.CountRequests(http.MethodPost, "/oauth2/access_token"); n != 2 { // exchange + one refresh
		t.Errorf("token requests = %d, want 2", n)
	}
	stored, err = store.GetToken(ctx, "ws1", fake.Account().Subdomain)
	if err != nil || stored.Version != 2 || stored.RefreshToken == tok.RefreshToken {
		t.Fatalf("after refresh: version %d, rotated %v, %v", stored.Version, stored.RefreshToken != tok.RefreshToken, err)
	}
}
