package app_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/examples/server/internal/demo"
)

const testWebhookSecret = "test-webhook-secret_1"

func post(t *testing.T, u, contentType string, body io.Reader, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// waitEvent waits for an event of ws whose text contains text and returns it.
func waitEvent(t *testing.T, h *apptest.Harness, ws, text string, n int) []chatter.Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		evs, err := h.App.Store().ListEvents(context.Background(), chatter.EventQuery{Workspace: ws, Limit: 1000})
		require.NoError(t, err)
		var got []chatter.Event
		for _, e := range evs {
			if strings.Contains(e.Text, text) {
				got = append(got, e)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d events %q in %s (have %d)", n, text, ws, len(got))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTelegramWebhook runs the bot in webhook mode: the server registers
// its webhook with the configured secret at start, the fake Bot API posts
// the updates to it, and they are delivered. Bad requests get a clear
// answer and an event-log line, and nothing of theirs is stored.
func TestTelegramWebhook(t *testing.T) {
	h := apptest.Start(t, apptest.Options{NoParser: true, Webhook: true, Configure: func(c *config.Config) {
		c.Workspaces[0].Bots[0].WebhookSecret = testWebhookSecret
		c.HTTP.MaxBodyBytes = 64 << 10
	}})
	hook := h.URL + "/telegram/demo/demo-bot"
	// The update the bad requests carry: a message of its own.
	update := `{"update_id": 990001, "message": {"message_id": 990001, "date": 1764000000, "chat": {"id": 5550001, "type": "private", "first_name": "Злоумышленник"}, "from": {"id": 5550001, "is_bot": false, "first_name": "Злоумышленник"}, "text": "купите слона"}}`

	resp := post(t, hook, "application/json", strings.NewReader(update), map[string]string{"X-Telegram-Bot-Api-Secret-Token": "wrong"})
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp = post(t, hook, "application/json", strings.NewReader(update), nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no secret at all")
	big := `{"update_id": 990002, "message": {"text": "` + strings.Repeat("а", 70<<10) + `"}}`
	resp = post(t, hook, "application/json", strings.NewReader(big), map[string]string{"X-Telegram-Bot-Api-Secret-Token": testWebhookSecret})
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	resp = post(t, hook, "application/json", strings.NewReader(`{"update_id": "nope"`), map[string]string{"X-Telegram-Bot-Api-Secret-Token": testWebhookSecret})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp = post(t, h.URL+"/telegram/demo/nobot", "application/json", strings.NewReader(update), nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	evs := waitEvent(t, h, "demo", "telegram webhook request refused", 4)
	for _, e := range evs {
		for k, v := range e.Attrs {
			require.NotContains(t, v, testWebhookSecret, "attribute %s", k)
		}
	}

	// The real traffic: the fake posts the bot's updates to the webhook.
	gen := play(t, h, 3)
	plan, err := demo.Plan(7, gen.Position())
	require.NoError(t, err)
	counts := settle(t, h, plan.BotUpdates)
	require.Equal(t, plan.BotUpdates, counts[chatter.StateDelivered], "every bot update delivered: %v", counts)
	_, err = h.App.Store().GetEntry(context.Background(), "demo",
		chatter.Key{Source: chatter.SourceBot, Account: strconv.FormatInt(h.Env.BotID, 10), ChatID: 5550001, MessageID: 990001})
	require.ErrorIs(t, err, chatter.ErrNotFound, "a refused request stored nothing")
}

// TestAmoCRMWebhook: the path's secret authenticates amoCRM's webhooks; a
// closed lead stops taking the person's messages as notes.
func TestAmoCRMWebhook(t *testing.T) {
	h := apptest.Start(t, apptest.Options{NoParser: true, Configure: func(c *config.Config) { c.HTTP.MaxBodyBytes = 64 << 10 }})
	path := h.App.AmoCRMWebhookPath("demo")
	require.NotEmpty(t, path)
	form := "application/x-www-form-urlencoded"

	resp := post(t, h.URL+"/amocrm/demo/wrong-secret", form, strings.NewReader("leads[status][0][id]=1"), nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp = post(t, h.URL+path, form, strings.NewReader("x="+strings.Repeat("a", 70<<10)), nil)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	resp = post(t, h.URL+path, "application/json", strings.NewReader(`{"leads": []}`), nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp = post(t, h.URL+"/amocrm/nosuch/"+strings.Repeat("x", 32), form, strings.NewReader("a=b"), nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	evs := waitEvent(t, h, "demo", "webhook request refused", 3)
	secret := path[strings.LastIndex(path, "/")+1:]
	for _, e := range evs {
		require.NotContains(t, e.Text, secret)
		for _, v := range e.Attrs {
			require.NotContains(t, v, secret)
		}
	}

	// A person's first message opens a lead; amoCRM says it was won.
	play(t, h, 1)
	settle(t, h, 1)
	ctx := context.Background()
	es, err := h.App.Store().ListEntries(ctx, chatter.LedgerQuery{Workspace: "demo", States: []chatter.State{chatter.StateDelivered}})
	require.NoError(t, err)
	require.NotEmpty(t, es)
	lead := es[len(es)-1].Result.LeadID
	links, err := h.App.Store().ListContacts(ctx, "demo", chatter.ContactListQuery{LeadID: lead})
	require.NoError(t, err)
	require.NotEmpty(t, links, "the person's open lead is linked")
	v := url.Values{}
	v.Set("leads[status][0][id]", strconv.FormatInt(lead, 10))
	v.Set("leads[status][0][status_id]", "142")
	v.Set("leads[status][0][pipeline_id]", "1")
	v.Set("account[id]", "1")
	v.Set("account[subdomain]", "chatterdemo")
	resp = post(t, h.URL+path, form, strings.NewReader(v.Encode()), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	links, err = h.App.Store().ListContacts(ctx, "demo", chatter.ContactListQuery{LeadID: lead})
	require.NoError(t, err)
	require.Empty(t, links, "a won lead is no longer anyone's open lead")
}

func TestHealthReadyMetrics(t *testing.T) {
	h := apptest.Start(t, apptest.Options{NoParser: true})
	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(h.URL + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	resp, _ := get("/healthz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("X-Chatter-Instance"))
	resp, body := get("/readyz")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Contains(t, body, `"ready":true`)
	resp, body = get("/metrics")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, m := range []string{"chatter_build_info", "chatter_queue_depth", "go_goroutines"} {
		require.Contains(t, body, m)
	}
	resp, body = get("/api/v1/doctor")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, `"groups"`)
}
