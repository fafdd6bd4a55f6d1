package amocrm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

var errDBDown = errors.New("database is down")

// flakyStore is a TokenStore whose next `failures` saves fail with errDBDown
// (and, with applyThenFail, store the pair anyway, like a commit whose
// acknowledgement was lost).
type flakyStore struct {
	amocrm.TokenStore

	mu            sync.Mutex
	failures      int
	applyThenFail bool
	saves         int
}

func (s *flakyStore) Save(ctx context.Context, t *amocrm.Token) error {
	s.mu.Lock()
	s.saves++
	fail := s.failures > 0
	if fail {
		s.failures--
	}
	apply := !fail || s.applyThenFail
	s.mu.Unlock()
	if apply {
		if err := s.TokenStore.Save(ctx, t); err != nil {
			return err
		}
	}
	if fail {
		return errDBDown
	}
	return nil
}

func (s *flakyStore) setFailures(n int) {
	s.mu.Lock()
	s.failures = n
	s.mu.Unlock()
}

func (s *flakyStore) saveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}

// pair is the secret part of a token, for comparisons.
type pair struct{ Access, Refresh string }

func pairOf(t *amocrm.Token) pair { return pair{t.AccessToken, t.RefreshToken} }

// issuedPairs records every pair the token endpoint hands out.
type issuedPairs struct {
	mu    sync.Mutex
	pairs []pair
}

func (r *issuedPairs) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.URL.Path != "/oauth2/access_token" || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var out struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.pairs = append(r.pairs, pair{out.AccessToken, out.RefreshToken})
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func (r *issuedPairs) last(t *testing.T) pair {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.pairs, "no pair issued")
	return r.pairs[len(r.pairs)-1]
}

func (r *issuedPairs) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pairs)
}

type tokenEnv struct {
	srv    *amocrmtest.Server
	clock  *amocrmtest.ManualClock
	inner  *amocrm.MemoryTokenStore // what is really stored
	store  *flakyStore
	issued *issuedPairs
	client *amocrm.Client
	logs   *bytes.Buffer
}

// newTokenEnv starts the fake on a manual clock shared with an OAuth client
// whose token store fails as told. Jitter is 0, so a retry delay is half the
// exponential step: 0.5 s, 1 s, 2 s, ...
func newTokenEnv(t *testing.T) *tokenEnv {
	t.Helper()
	e := &tokenEnv{
		clock:  amocrmtest.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)),
		inner:  amocrm.NewMemoryTokenStore(nil),
		issued: &issuedPairs{},
		logs:   &bytes.Buffer{},
	}
	e.srv = newFake(t, amocrmtest.WithClock(e.clock.Now))
	e.store = &flakyStore{TokenStore: e.inner}
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.client = newClient(t, e.srv, amocrm.WithOAuth(oauthConfig(e.srv), e.store),
		amocrm.WithClock(e.clock.Now), amocrm.WithJitter(func() float64 { return 0 }),
		amocrm.WithHTTPClient(&http.Client{Transport: e.issued}), amocrm.WithLogger(logger))
	return e
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (e *tokenEnv) stored(t *testing.T) pair {
	t.Helper()
	tok, err := e.inner.Load(t.Context())
	require.NoError(t, err)
	return pairOf(tok)
}

func notSaved(t *testing.T, err error) *amocrm.TokenNotSavedError {
	t.Helper()
	var ns *amocrm.TokenNotSavedError
	require.ErrorAs(t, err, &ns)
	require.ErrorIs(t, err, errDBDown)
	return ns
}

// A refresh whose save fails keeps the new pair in use; the save is retried
// with growing delays on later requests until the pair is stored. Without
// the fix the first request after expiry fails and the pair is lost.
func TestTokenSaveFailsRefreshedPairKept(t *testing.T) {
	t.Parallel()
	for _, failures := range []int{1, 3} {
		t.Run(strings.Repeat("fail", failures), func(t *testing.T) {
			t.Parallel()
			e := newTokenEnv(t)
			ctx := t.Context()
			_, err := e.client.ExchangeCode(ctx, e.srv.IssueAuthCode())
			require.NoError(t, err)
			first := e.stored(t)

			e.clock.Advance(amocrmtest.AccessTokenTTL + time.Minute)
			e.store.setFailures(failures)
			// Concurrent requests after expiry: one refresh, all succeed.
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for range 20 {
				wg.Go(func() {
					_, _, err := e.client.Account.Get(ctx, nil)
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err, "a request failed although amoCRM issued a working pair")
			}
			require.Equal(t, 2, e.issued.count(), "one exchange and exactly one refresh")
			refreshed := e.issued.last(t)
			require.NotEqual(t, first, refreshed)

			var delays []time.Duration
			for attempt := 1; attempt <= failures; attempt++ {
				ns := notSaved(t, e.client.TokenSaveErr())
				require.Equal(t, attempt, ns.Attempts)
				if diff := cmp.Diff(first, e.stored(t)); diff != "" {
					t.Fatalf("store changed while saves fail (-want +got):\n%s", diff)
				}
				delays = append(delays, ns.NextAttempt.Sub(e.clock.Now()))
				// Before the delay has passed requests do not retry the save.
				saves := e.store.saveCalls()
				_, _, err := e.client.Leads.List(ctx, nil)
				require.NoError(t, err)
				require.Equal(t, saves, e.store.saveCalls(), "save retried before its delay")
				// After it, the next request retries.
				e.clock.Set(ns.NextAttempt)
				_, _, err = e.client.Account.Get(ctx, nil)
				require.NoError(t, err)
			}
			require.NoError(t, e.client.TokenSaveErr())
			if diff := cmp.Diff(refreshed, e.stored(t)); diff != "" {
				t.Errorf("stored pair is not the issued one (-issued +stored):\n%s", diff)
			}
			want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}[:failures]
			if diff := cmp.Diff(want, delays); diff != "" {
				t.Errorf("retry delays (-want +got):\n%s", diff)
			}
			require.Equal(t, 2, e.issued.count(), "a failed save caused another refresh")

			// The stored pair is the live one: another process starting from
			// the store can rotate it.
			other := newClient(t, e.srv, amocrm.WithOAuth(oauthConfig(e.srv), e.inner), amocrm.WithClock(e.clock.Now))
			_, err = other.RefreshToken(ctx)
			require.NoError(t, err)

			logs := e.logs.String()
			for _, secret := range []string{first.Access, first.Refresh, refreshed.Access, refreshed.Refresh} {
				require.NotContains(t, logs, secret, "a token value was logged")
			}
			require.Contains(t, logs, `"level":"ERROR","msg":"amocrm token pair not saved: it stays in use and the save is retried","category":"auth"`)
			require.Contains(t, logs, `"msg":"amocrm token pair saved after failed attempts","category":"auth"`)
		})
	}
}

// ExchangeCode whose save fails returns the pair with *TokenNotSavedError;
// the pair is in use and SaveToken stores it.
func TestTokenSaveFailsExchangeCode(t *testing.T) {
	t.Parallel()
	e := newTokenEnv(t)
	ctx := t.Context()
	e.store.setFailures(1)
	tok, err := e.client.ExchangeCode(ctx, e.srv.IssueAuthCode())
	notSaved(t, err)
	require.NotNil(t, tok)
	if diff := cmp.Diff(e.issued.last(t), pairOf(tok)); diff != "" {
		t.Fatalf("returned pair (-issued +returned):\n%s", diff)
	}
	_, err = e.inner.Load(ctx)
	require.ErrorIs(t, err, amocrm.ErrNoToken)
	_, _, err = e.client.Account.Get(ctx, nil)
	require.NoError(t, err)
	// SaveToken does not wait for the retry delay.
	require.NoError(t, e.client.SaveToken(ctx))
	require.NoError(t, e.client.TokenSaveErr())
	if diff := cmp.Diff(pairOf(tok), e.stored(t)); diff != "" {
		t.Errorf("stored pair (-issued +stored):\n%s", diff)
	}
	require.NoError(t, e.client.SaveToken(ctx), "SaveToken with nothing pending")
}

// RefreshToken while a pair is unsaved refreshes from that pair (the store
// holds one whose refresh token is spent) through the same routine, and the
// pair stored at the end is the last one issued.
func TestTokenSaveFailsForcedRefresh(t *testing.T) {
	t.Parallel()
	e := newTokenEnv(t)
	ctx := t.Context()
	_, err := e.client.ExchangeCode(ctx, e.srv.IssueAuthCode())
	require.NoError(t, err)
	first := e.stored(t)
	e.store.setFailures(100)
	second, err := e.client.RefreshToken(ctx)
	since := notSaved(t, err).Since
	e.clock.Advance(time.Hour)
	third, err := e.client.RefreshToken(ctx)
	ns := notSaved(t, err)
	require.NotEqual(t, pairOf(second), pairOf(third))
	if diff := cmp.Diff(e.issued.last(t), pairOf(third)); diff != "" {
		t.Fatalf("returned pair (-issued +returned):\n%s", diff)
	}
	// The second refresh first retried saving the second pair, then failed
	// to save the third: three failures since the first one.
	require.Equal(t, 3, ns.Attempts)
	require.Equal(t, since, ns.Since)
	require.Equal(t, first, e.stored(t))
	_, _, err = e.client.Account.Get(ctx, nil)
	require.NoError(t, err)

	e.store.setFailures(0)
	require.NoError(t, e.client.SaveToken(ctx))
	if diff := cmp.Diff(pairOf(third), e.stored(t)); diff != "" {
		t.Errorf("stored pair (-issued +stored):\n%s", diff)
	}
}

// A save that reported an error but went through is recognised by reading
// the store back: no second save, no error left.
func TestTokenSaveAmbiguousSave(t *testing.T) {
	t.Parallel()
	e := newTokenEnv(t)
	ctx := t.Context()
	e.store.applyThenFail = true
	e.store.setFailures(1)
	tok, err := e.client.ExchangeCode(ctx, e.srv.IssueAuthCode())
	notSaved(t, err)
	saves := e.store.saveCalls()
	require.NoError(t, e.client.SaveToken(ctx))
	require.Equal(t, saves, e.store.saveCalls(), "saved again although the store held the pair")
	require.NoError(t, e.client.TokenSaveErr())
	require.Equal(t, pairOf(tok), e.stored(t))
}

// While this process cannot save its pair, another process authorises the
// account again and saves a new pair: that pair wins, it is not overwritten,
// and this process switches to it.
func TestTokenSaveSupersededByNewAuthorisation(t *testing.T) {
	t.Parallel()
	e := newTokenEnv(t)
	ctx := t.Context()
	_, err := e.client.ExchangeCode(ctx, e.srv.IssueAuthCode())
	require.NoError(t, err)
	e.store.setFailures(100)
	mine, err := e.client.RefreshToken(ctx)
	notSaved(t, err)

	other := newClient(t, e.srv, amocrm.WithOAuth(oauthConfig(e.srv), e.inner), amocrm.WithClock(e.clock.Now))
	theirs, err := other.ExchangeCode(ctx, e.srv.IssueAuthCode())
	require.NoError(t, err)

	e.store.setFailures(0)
	require.NoError(t, e.client.SaveToken(ctx))
	require.NoError(t, e.client.TokenSaveErr())
	if diff := cmp.Diff(pairOf(theirs), e.stored(t)); diff != "" {
		t.Fatalf("the newer stored pair was overwritten (-theirs +stored):\n%s", diff)
	}
	// This client now uses the stored pair: its own one no longer works.
	e.srv.RevokeToken(mine.AccessToken)
	_, _, err = e.client.Account.Get(ctx, nil)
	require.NoError(t, err)
	require.Contains(t, e.logs.String(), "the store holds a newer pair saved by another process")
}

// Operator messages exist in both languages and carry no secret.
func TestTokenNotSavedErrorMessages(t *testing.T) {
	t.Parallel()
	e := &amocrm.TokenNotSavedError{Since: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Attempts: 2, Err: errDBDown}
	require.Contains(t, e.Message("ru"), "не сохранена")
	require.Contains(t, e.Message("en"), "not saved")
	require.Contains(t, e.Error(), "2 failed attempts")
	require.ErrorIs(t, e, errDBDown)
}
