package amocrmsink_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
)

const hookURL = "https://chatter.example/amocrm/webhook"

func runChecks(t *testing.T, s *amocrmsink.Sink) map[string]chatter.CheckResult {
	t.Helper()
	out := map[string]chatter.CheckResult{}
	for _, r := range chatter.RunChecks(t.Context(), s.Checks(), chatter.CheckOptions{}) {
		out[r.Name] = r
	}
	return out
}

func wantStatus(t *testing.T, rs map[string]chatter.CheckResult, name string, want chatter.Status, causeHas string) {
	t.Helper()
	r, ok := rs[name]
	if !ok {
		t.Fatalf("no result for %s", name)
	}
	if r.Status != want {
		t.Errorf("%s = %s (%s), want %s", name, r.Status, r.Cause.EN, want)
		return
	}
	if want == chatter.StatusOK || want == chatter.StatusSkip {
		return
	}
	if r.Cause.RU == "" || r.Cause.EN == "" || r.Remedy.RU == "" || r.Remedy.EN == "" {
		t.Errorf("%s: cause/remedy missing a language: %+v", name, r)
	}
	if causeHas != "" && !strings.Contains(r.Cause.EN, causeHas) {
		t.Errorf("%s cause %q lacks %q", name, r.Cause.EN, causeHas)
	}
}

func TestChecksAllOK(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *amocrmsink.Config) {
		c.WebhookURL = hookURL
		c.TokenExpiry = func(context.Context) (time.Time, error) { return time.Now().Add(365 * 24 * time.Hour), nil }
	}})
	if _, _, err := e.client.Webhooks.Subscribe(t.Context(), hookURL, []string{"add_lead", "status_lead"}); err != nil {
		t.Fatal(err)
	}
	rs := runChecks(t, e.sink)
	for _, name := range []string{amocrmsink.CheckToken, amocrmsink.CheckRights, amocrmsink.CheckWebhooks,
		amocrmsink.CheckFields, amocrmsink.CheckRateLimit, amocrmsink.CheckBlocked} {
		wantStatus(t, rs, name, chatter.StatusOK, "")
	}
	for _, r := range rs {
		if strings.Contains(r.Cause.String()+r.Remedy.String()+strings.Join(mapValues(r.Details), " "), e.token) {
			t.Errorf("%s reveals the token", r.Name)
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestChecksWebhookSkippedWithoutURL(t *testing.T) {
	e := newEnv(t, envOptions{})
	wantStatus(t, runChecks(t, e.sink), amocrmsink.CheckWebhooks, chatter.StatusSkip, "")
}

func TestCheckTokenRevokedAndExpiring(t *testing.T) {
	e := newEnv(t, envOptions{})
	cfg := e.cfg
	cfg.TokenExpiry = func(context.Context) (time.Time, error) { return time.Now().Add(24 * time.Hour), nil }
	wantStatus(t, runChecks(t, must(amocrmsink.New(cfg))), amocrmsink.CheckToken, chatter.StatusWarn, "expires in")
	cfg.TokenExpiry = func(context.Context) (time.Time, error) { return time.Now().Add(-time.Hour), nil }
	wantStatus(t, runChecks(t, must(amocrmsink.New(cfg))), amocrmsink.CheckToken, chatter.StatusFail, "expired")

	e.srv.RevokeToken(e.token)
	rs := runChecks(t, e.sink)
	wantStatus(t, rs, amocrmsink.CheckToken, chatter.StatusFail, "rejected the token")
	if rs[amocrmsink.CheckToken].Guide != amocrmsink.GuideAuth {
		t.Errorf("guide = %q", rs[amocrmsink.CheckToken].Guide)
	}
}

func TestCheckRights(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *amocrmsink.Config) { c.WebhookURL = hookURL },
		token: func(s *amocrmtest.Server) string {
			u := s.AddUser(amocrmtest.User{Name: "Стажёр", Email: "intern@example.com", Rights: amocrmtest.UserRights{
				Contacts: amocrmtest.EntityRights{Add: amocrmtest.RightDenied}}})
			access, _ := s.IssueTokenPair(u.ID)
			return access
		}})
	rs := runChecks(t, e.sink)
	wantStatus(t, rs, amocrmsink.CheckRights, chatter.StatusFail, "no right to add contacts")
	wantStatus(t, rs, amocrmsink.CheckWebhooks, chatter.StatusFail, "administrator")

	// A manager with every right it needs, but not an administrator.
	e2 := newEnv(t, envOptions{config: func(c *amocrmsink.Config) { c.WebhookURL = hookURL },
		token: func(s *amocrmtest.Server) string {
			access, _ := s.IssueTokenPair(amocrmtest.DemoManagerUserID)
			return access
		}})
	wantStatus(t, runChecks(t, e2.sink), amocrmsink.CheckRights, chatter.StatusWarn, "not an administrator")
}

func TestCheckWebhookMissing(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *amocrmsink.Config) { c.WebhookURL = hookURL }})
	if _, _, err := e.client.Webhooks.Subscribe(t.Context(), "https://other.example/hook", []string{"add_lead"}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, runChecks(t, e.sink), amocrmsink.CheckWebhooks, chatter.StatusFail, hookURL)
}

func TestCheckFields(t *testing.T) {
	e := newEnv(t, envOptions{})
	cfg := e.cfg
	cfg.MarkerField = 123
	cfg.ContactTelegramIDField = int(amocrmtest.DemoContactBirthday)
	rs := runChecks(t, must(amocrmsink.New(cfg)))
	wantStatus(t, rs, amocrmsink.CheckFields, chatter.StatusFail, "#123")
	if c := rs[amocrmsink.CheckFields].Cause.EN; !strings.Contains(c, "birthday") {
		t.Errorf("cause %q does not report the wrong type of the Telegram ID field", c)
	}
}

func TestCheckRateLimitAndBlocked(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.stats.Observe(amocrm.RequestInfo{Method: "GET", Path: "/api/v4/leads", Status: 429})
	wantStatus(t, runChecks(t, e.sink), amocrmsink.CheckRateLimit, chatter.StatusWarn, "429")
	for range 10 {
		e.stats.Observe(amocrm.RequestInfo{Method: "GET", Path: "/api/v4/leads", Status: 429})
	}
	wantStatus(t, runChecks(t, e.sink), amocrmsink.CheckRateLimit, chatter.StatusFail, "429")

	// The account gets blocked (403 HTML to everything).
	e.srv.SetRateLimit(amocrmtest.RateLimit{PerSecond: 1, BlockAfter: 1, BlockFor: time.Hour})
	for range 5 {
		_, _, _ = e.client.Account.Get(t.Context(), nil)
	}
	if blocked, _ := e.srv.Blocked(); !blocked {
		t.Fatal("the fake did not block the account")
	}
	rs := runChecks(t, e.sink)
	wantStatus(t, rs, amocrmsink.CheckBlocked, chatter.StatusFail, "")
	wantStatus(t, rs, amocrmsink.CheckToken, chatter.StatusFail, "")
}
