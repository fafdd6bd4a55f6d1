package amocrmsink_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/fieldmap"
)

func TestRevokedTokenIsAuth(t *testing.T) {
	e := newEnv(t, envOptions{noCache: true})
	e.srv.RevokeToken(e.token)
	_, err := e.deliver(t, msg(chatID, 1, maria, "Здравствуйте"), 1)
	var ua *amocrm.UnauthorizedError
	if !errors.As(err, &ua) || chatter.ClassOf(err) != chatter.ClassAuth {
		t.Fatalf("err = %v (class %q), want auth", err, chatter.ClassOf(err))
	}
	if chatter.IsPermanent(err) {
		t.Error("auth must be retried (the operator may re-authorise), not dead at once")
	}
	// Through the pipeline the ledger shows the class; the delivery is
	// snoozed (no attempt spent) until the operator re-authorises.
	p := e.runPipeline(t, chatter.PipelineConfig{MaxAttempts: 2})
	m := msg(chatID, 2, maria, "Ответьте, пожалуйста")
	if _, err := p.Accept(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if en := waitSnoozed(t, e, m); en.ErrorClass != chatter.ClassAuth || en.Attempts != 0 {
		t.Fatalf("ledger = %s/%s after %d attempts, want queued/auth after 0", en.State, en.ErrorClass, en.Attempts)
	}
	if len(e.srv.Leads()) != 2 {
		t.Error("a lead was created with a revoked token")
	}
}

// waitSnoozed waits until m's entry is queued again after an attempt (a
// snooze records the error class and gives the attempt back).
func waitSnoozed(t *testing.T, e *env, m *chatter.Message) *chatter.LedgerEntry {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if en := e.entry(t, m); en.State == chatter.StateQueued && en.ErrorClass != "" {
			return en
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not snoozed within 30s: %+v", m.Key, e.entry(t, m))
		}
	}
}

func TestNoRightsIsRightsAndSnoozed(t *testing.T) {
	e := newEnv(t, envOptions{noCache: true, token: func(s *amocrmtest.Server) string {
		deny := amocrmtest.EntityRights{Add: amocrmtest.RightDenied}
		u := s.AddUser(amocrmtest.User{Name: "Стажёр", Email: "intern@example.com",
			Rights: amocrmtest.UserRights{Leads: deny, Contacts: deny}})
		access, _ := s.IssueTokenPair(u.ID)
		return access
	}})
	_, err := e.deliver(t, msg(chatID, 1, maria, "Здравствуйте"), 1)
	if chatter.ClassOf(err) != chatter.ClassRights {
		t.Fatalf("err = %v (class %q), want rights", err, chatter.ClassOf(err))
	}
	p := e.runPipeline(t, chatter.PipelineConfig{})
	m := msg(chatID, 2, maria, "Здравствуйте ещё раз")
	if _, err := p.Accept(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if en := waitSnoozed(t, e, m); en.ErrorClass != chatter.ClassRights || en.Attempts != 0 {
		t.Fatalf("ledger = %s/%s after %d attempts, want queued/rights after 0 (snoozed until the right is granted)", en.State, en.ErrorClass, en.Attempts)
	}
}

func TestPaymentRequiredIsPayment(t *testing.T) {
	e := newEnv(t, envOptions{noCache: true, handler: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/v4/leads") {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusPaymentRequired)
				_, _ = w.Write([]byte(`{"title":"Payment Required","type":"https://httpstatus.es/402","status":402,"detail":"Тариф не позволяет"}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}})
	_, err := e.deliver(t, msg(chatID, 1, maria, "Здравствуйте"), 1)
	var pe *amocrm.PaymentRequiredError
	if !errors.As(err, &pe) || chatter.ClassOf(err) != chatter.ClassPayment {
		t.Fatalf("err = %v (class %q), want payment", err, chatter.ClassOf(err))
	}
}

func TestRepeated429IsBlockedAndSnoozed(t *testing.T) {
	e := newEnv(t, envOptions{noCache: true,
		server: []amocrmtest.Option{amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: 1, BlockAfter: -1})},
		client: []amocrm.Option{amocrm.WithBlockPolicy(amocrm.BlockPolicy{Max429: 2, Cooldown429: time.Hour})},
	})
	var err error
	for i := range 20 { // the first requests of a second pass, then 429s
		if _, err = e.deliver(t, msg(chatID, int64(i+1), maria, "Сообщение"), 1); err != nil {
			break
		}
	}
	var be *amocrm.BlockedError
	if !errors.As(err, &be) || chatter.ClassOf(err) != chatter.ClassBlocked {
		t.Fatalf("err = %v (class %q), want blocked", err, chatter.ClassOf(err))
	}
	if wait, ok := chatter.RetryAfter(err); !ok || wait < 30*time.Minute {
		t.Fatalf("RetryAfter = %v, %v; want the cool-down (the pipeline snoozes)", wait, ok)
	}
	if n := e.stats.Count429(time.Hour); n < 2 {
		t.Errorf("429s counted = %d, want ≥ 2", n)
	}
	if until, _ := e.stats.BlockedUntil(); until.IsZero() {
		t.Error("the block was not recorded for the checks")
	}
}

func TestSingle429IsRateLimited(t *testing.T) {
	err := amocrmsink.Classify(&amocrm.RateLimitError{APIError: &amocrm.APIError{StatusCode: 429}})
	if chatter.ClassOf(err) != chatter.ClassRateLimited {
		t.Fatalf("class = %q", chatter.ClassOf(err))
	}
	if _, ok := chatter.RetryAfter(err); !ok {
		t.Fatal("a rate-limit error must keep its RetryAfter")
	}
}

func TestClassify(t *testing.T) {
	api := func(status int, ve ...amocrm.ValidationError) *amocrm.APIError {
		return &amocrm.APIError{StatusCode: status, ValidationErrors: ve}
	}
	cases := []struct {
		err  error
		want chatter.ErrorClass
	}{
		{&amocrm.UnauthorizedError{APIError: api(401)}, chatter.ClassAuth},
		{&amocrm.PaymentRequiredError{APIError: api(402)}, chatter.ClassPayment},
		{api(403), chatter.ClassRights},
		{&amocrm.BlockedError{StatusCode: 403, Until: time.Now().Add(time.Hour)}, chatter.ClassBlocked},
		{api(400, amocrm.ValidationError{RequestID: "0", Errors: []amocrm.FieldError{{Code: "NotSupportedChoice", Path: "custom_fields_values.0.field_id"}}}), chatter.ClassMapping},
		{&amocrm.InvalidRequestError{Index: 0, Reason: "41 values"}, chatter.ClassMapping},
		{&fieldmap.Error{}, chatter.ClassMapping},
		{&amocrm.OutcomeUnknownError{Method: "POST", Path: "/api/v4/leads/complex", Err: api(504)}, chatter.ClassTransient},
		{api(502), chatter.ClassTransient},
		{context.DeadlineExceeded, chatter.ClassTransient},
		{errors.New("connection reset"), chatter.ClassTransient},
		{api(400), chatter.ClassPermanent},
		{chatter.WithClass(errors.New("x"), chatter.ClassInternal), chatter.ClassInternal},
	}
	for _, c := range cases {
		if got := chatter.ClassOf(amocrmsink.Classify(c.err)); got != c.want {
			t.Errorf("Classify(%T %v) = %q, want %q", c.err, c.err, got, c.want)
		}
	}
	if amocrmsink.Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
}

// TestFieldRecreatedRecoversAfterSchemaRefresh: the mapping was compiled when
// the "Чат" field had another id; amoCRM rejects it, the sink refreshes the
// schema, recompiles, and the second attempt delivers.
func TestFieldRecreatedRecoversAfterSchemaRefresh(t *testing.T) {
	e := newEnv(t, envOptions{noCache: true})
	real := e.schema(t)
	stale := *real
	stale.LeadFields = append([]amocrm.CustomField(nil), real.LeadFields...)
	for i := range stale.LeadFields {
		if stale.LeadFields[i].ID == int(amocrmtest.DemoLeadChatTitle) {
			stale.LeadFields[i].ID = 799999 // the old, deleted field
		}
	}
	var fetches atomic.Int32
	cache := fieldmap.NewSchemaCache(func(ctx context.Context) (*fieldmap.Schema, error) {
		if fetches.Add(1) == 1 {
			return &stale, nil
		}
		return real, nil
	}, fieldmap.SchemaCacheConfig{MinRefresh: time.Nanosecond, TTL: time.Hour})
	cfg := e.cfg
	cfg.Schema = cache
	cfg.Mapper = must(fieldmap.Compile(parseTestSpec(t), fieldmap.WithSchema(&stale)))
	sink := must(amocrmsink.New(cfg))
	p := e.runPipeline(t, chatter.PipelineConfig{Sink: sink})
	m := msg(chatID, 1, maria, "Добрый день")
	if _, err := p.Accept(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	e.waitSettled(t, 1, 30*time.Second)
	en := e.entry(t, m)
	if en.State != chatter.StateDelivered || en.Attempts != 2 {
		t.Fatalf("ledger = %s after %d attempts (%s %s), want delivered on the 2nd", en.State, en.Attempts, en.ErrorClass, en.LastError)
	}
	if fetches.Load() != 2 {
		t.Errorf("schema fetched %d times, want 2 (one refresh)", fetches.Load())
	}
	lead, _ := e.srv.Lead(en.Result.LeadID)
	if got := amocrmtest.FieldString(lead.CustomFieldsValues, amocrmtest.DemoLeadChatTitle); got != "Ремонт квартир — Москва" {
		t.Errorf("Чат = %q", got)
	}
}

// TestFieldDeletedGoesDeadAfterSecondMappingFailure: a mapped field no longer
// exists; amoCRM rejects the lead (mapping), the refreshed schema does not
// have the field either (mapping again): dead after two attempts.
func TestFieldDeletedGoesDeadAfterSecondMappingFailure(t *testing.T) {
	e := newEnv(t, envOptions{noCache: true})
	real := e.schema(t)
	stale := *real
	stale.LeadFields = append(append([]amocrm.CustomField(nil), real.LeadFields...),
		amocrm.CustomField{ID: 799998, Name: "Удалённое поле", Type: amocrm.FieldTypeText})
	var fetches atomic.Int32
	cache := fieldmap.NewSchemaCache(func(ctx context.Context) (*fieldmap.Schema, error) {
		if fetches.Add(1) == 1 {
			return &stale, nil
		}
		return real, nil
	}, fieldmap.SchemaCacheConfig{MinRefresh: time.Nanosecond, TTL: time.Hour})
	spec := parseTestSpec(t)
	spec.Lead.Fields = append(spec.Lead.Fields, fieldmap.FieldSpec{Name: "Удалённое поле", Value: &fieldmap.Source{Template: "{{ text }}"}})
	cfg := e.cfg
	cfg.Schema = cache
	cfg.Mapper = must(fieldmap.Compile(spec, fieldmap.WithSchema(&stale)))
	sink := must(amocrmsink.New(cfg))

	_, err := sink.Deliver(t.Context(), &chatter.Delivery{Message: msg(chatID, 1, maria, "Привет"), Attempt: 1})
	var ae *amocrm.APIError
	if chatter.ClassOf(err) != chatter.ClassMapping || !errors.As(err, &ae) || len(ae.ValidationErrors) == 0 {
		t.Fatalf("first attempt = %v (class %q), want amoCRM's validation error as mapping", err, chatter.ClassOf(err))
	}

	p := e.runPipeline(t, chatter.PipelineConfig{Sink: sink})
	m := msg(chatID, 2, maria, "Добрый день")
	if _, err := p.Accept(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	e.waitSettled(t, 1, 30*time.Second)
	en := e.entry(t, m)
	// The Deliver above already refreshed the schema: both attempts fail
	// on the recompiled mapping, the second one goes dead.
	if en.State != chatter.StateDead || en.ErrorClass != chatter.ClassMapping || en.Attempts != 2 {
		t.Fatalf("ledger = %s/%s after %d attempts, want dead/mapping after 2", en.State, en.ErrorClass, en.Attempts)
	}
	if !strings.Contains(en.LastError, "Удалённое поле") {
		t.Errorf("ledger error %q does not name the missing field", en.LastError)
	}
	if fetches.Load() != 2 {
		t.Errorf("schema fetched %d times, want 2", fetches.Load())
	}
	if len(e.srv.Leads()) != 2 {
		t.Error("a lead was created despite the mapping error")
	}
}
