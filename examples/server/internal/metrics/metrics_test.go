package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

func TestEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v4/leads":              "/api/v4/leads",
		"/api/v4/leads/123/notes":    "/api/v4/leads/{id}/notes",
		"/api/v4/contacts/1/links/2": "/api/v4/contacts/{id}/links/{id}",
		"/api/v4/leads/77":           "/api/v4/leads/{id}",
	} {
		require.Equal(t, want, endpoint(in), in)
	}
}

func TestHooksCount(t *testing.T) {
	m := New(Build{Version: "test"})
	h := m.PipelineHooks()
	ctx := context.Background()
	msg := &chatter.Message{Key: chatter.Key{Source: chatter.SourceBot}, Time: time.Now().Add(-time.Second)}
	h.OnAccepted(ctx, msg, chatter.AcceptResult{State: chatter.StateQueued}, nil)
	h.OnAccepted(ctx, msg, chatter.AcceptResult{Duplicate: true, State: chatter.StateQueued}, nil)
	h.OnAccepted(ctx, msg, chatter.AcceptResult{}, errors.New("store down"))
	h.OnDelivered(ctx, msg, &chatter.DeliveryResult{LeadID: 1}, 10*time.Millisecond, nil)
	h.OnOutcome(ctx, &chatter.Job{}, chatter.Outcome{Kind: chatter.OutcomeDelivered})
	h.OnOutcome(ctx, &chatter.Job{}, chatter.Outcome{Kind: chatter.OutcomeSnooze, Class: chatter.ClassRateLimited})
	require.Equal(t, 1.0, testutil.ToFloat64(m.accepted.WithLabelValues("tgbot", "queued")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.accepted.WithLabelValues("tgbot", "duplicate")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.accepted.WithLabelValues("tgbot", "error")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.deliveries.WithLabelValues("snooze", "rate_limited")))
	require.Equal(t, 1, testutil.CollectAndCount(m.latency))

	hook := m.AmoCRMHook("ws")
	hook(amocrm.RequestInfo{Path: "/api/v4/leads/5", Status: 429})
	hook(amocrm.RequestInfo{Path: "/api/v4/leads/6", Status: 200})
	require.Equal(t, 1.0, testutil.ToFloat64(m.amoRequests.WithLabelValues("ws", "/api/v4/leads/{id}", "429")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.amoBlocked.WithLabelValues("ws", "429")))

	n := m.Notifier(chatter.NotifierFunc(func(context.Context, *chatter.Notification) error { return errors.New("smtp down") }))
	require.Error(t, n.Notify(ctx, &chatter.Notification{Type: chatter.NotifyNewLead}))
	require.Equal(t, 1.0, testutil.ToFloat64(m.notifications.WithLabelValues("new_lead", "failed")))
}

func TestLedgerGauges(t *testing.T) {
	m := New(Build{Version: "test"})
	st := chattertest.NewMemStore()
	ctx := context.Background()
	_, err := st.SaveMessage(ctx, &chatter.Message{Workspace: "ws", Key: chatter.Key{Source: chatter.SourceBot, Account: "1", ChatID: 1, MessageID: 1},
		Text: "привет", Time: time.Now()}, chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: true}, MaxAttempts: 1})
	require.NoError(t, err)
	m.RegisterLedger(st, func() []string { return []string{"ws"} }, func(context.Context, string) (time.Time, bool, error) {
		return time.Now().Add(-time.Minute), true, nil
	}, nil)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	require.Contains(t, text, `chatter_queue_depth{workspace="ws"} 1`)
	require.Contains(t, text, `chatter_ledger_messages{state="queued",workspace="ws"} 1`)
	require.Contains(t, text, `chatter_build_info{commit="",goversion="",version="test"} 1`)
	var age string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "chatter_queue_oldest_seconds") {
			age = l
		}
	}
	require.NotEmpty(t, age)
	require.NotContains(t, age, " 0\n")
}
