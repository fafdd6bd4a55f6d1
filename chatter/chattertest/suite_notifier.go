package chattertest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// TestNotifier runs the conformance suite for chatter.Notifier
// implementations. n is the notifier under test; received returns every
// notification that reached the other end so far (for example, decoded by a
// test SMTP or HTTP server), oldest first. A transport that does not carry a
// field leaves it zero in what received returns; fields it does carry must
// arrive intact. Title and Body, in both languages, must always arrive.
//
// The subtests share n and run one after another; each tells its own
// notifications apart by a unique marker in Title.EN.
func TestNotifier(t *testing.T, n chatter.Notifier, received func() []*chatter.Notification) {
	t.Helper()
	t.Run("DeliversTextIntact", func(t *testing.T) { testNotifyIntact(t, n, received) })
	t.Run("Concurrent", func(t *testing.T) { testNotifyConcurrent(t, n, received) })
	t.Run("CanceledContext", func(t *testing.T) { testNotifyCanceled(t, n, received) })
}

// NotifierSubtests returns the names of TestNotifier's subtests.
func NotifierSubtests() []string {
	return []string{"DeliversTextIntact", "Concurrent", "CanceledContext"}
}

// SampleNotification returns a realistic notification (a new lead) whose
// Title.EN ends with marker, so tests can find it among others.
func SampleNotification(ws, marker string) *chatter.Notification {
	return &chatter.Notification{
		Type:      chatter.NotifyNewLead,
		Workspace: ws,
		Time:      BaseTime,
		Severity:  chatter.SeverityInfo,
		Title:     chatter.T("Новая заявка из Telegram: «Ремонт ванной» — "+marker, "New lead from Telegram: \"Bathroom renovation\" — "+marker),
		Body: chatter.T(
			"Ирина Смирнова (@irina_smirnova) пишет в «Ремонт квартир — Москва»:\nНужен ремонт ванной под ключ, бюджет 300 000 ₽ 🛁 <b>&amp;</b>",
			"Irina Smirnova (@irina_smirnova) wrote in \"Ремонт квартир — Москва\":\nNeeds a turnkey bathroom renovation, budget 300,000 RUB <b>&amp;</b>",
		),
		Link:   "https://remontmsk.amocrm.ru/leads/detail/31337",
		Key:    "tgbot:7000000001:-1001234567890:42",
		Fields: map[string]string{"lead_id": "31337", "contact_id": "4242"},
	}
}

// newMarker returns a marker unique to this call of t's subtest.
func newMarker(t *testing.T) string {
	return fmt.Sprintf("[%s %s]", t.Name(), rand.Text()[:10])
}

// findReceived returns the received notifications carrying marker.
func findReceived(received func() []*chatter.Notification, marker string) []*chatter.Notification {
	var out []*chatter.Notification
	for _, n := range received() {
		if n != nil && strings.Contains(n.Title.EN, marker) {
			out = append(out, n)
		}
	}
	return out
}

func testNotifyIntact(t *testing.T, n chatter.Notifier, received func() []*chatter.Notification) {
	marker := newMarker(t)
	sent := SampleNotification("ws-main", marker)
	noErr(t, "Notify", n.Notify(t.Context(), sent))
	var got []*chatter.Notification
	waitFor(t, "the notification to arrive", func() (bool, error) {
		got = findReceived(received, marker)
		return len(got) > 0, nil
	})
	if len(got) != 1 {
		t.Errorf("notification arrived %d times, want once", len(got))
	}
	g := got[0]
	if g.Title != sent.Title {
		t.Errorf("title = %+v, want %+v", g.Title, sent.Title)
	}
	if g.Body != sent.Body {
		t.Errorf("body = %+v, want %+v", g.Body, sent.Body)
	}
	check := func(field string, zero bool, equal bool) {
		if !zero && !equal {
			t.Errorf("%s arrived changed: got %+v", field, g)
		}
	}
	check("Type", g.Type == "", g.Type == sent.Type)
	check("Workspace", g.Workspace == "", g.Workspace == sent.Workspace)
	check("Severity", g.Severity == "", g.Severity == sent.Severity)
	check("Link", g.Link == "", g.Link == sent.Link)
	check("Key", g.Key == "", g.Key == sent.Key)
	check("Time", g.Time.IsZero(), g.Time.Equal(sent.Time))
	for k, v := range g.Fields {
		if sent.Fields[k] != v {
			t.Errorf("field %q arrived as %q, want %q", k, v, sent.Fields[k])
		}
	}
}

func testNotifyConcurrent(t *testing.T, n chatter.Notifier, received func() []*chatter.Notification) {
	const count = 5
	markers := make([]string, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	for i := range count {
		markers[i] = newMarker(t)
		wg.Go(func() { errs[i] = n.Notify(t.Context(), SampleNotification("ws-main", markers[i])) })
	}
	wg.Wait()
	for _, err := range errs {
		noErr(t, "concurrent Notify", err)
	}
	for _, m := range markers {
		waitFor(t, "notification "+m, func() (bool, error) { return len(findReceived(received, m)) > 0, nil })
		if got := findReceived(received, m); len(got) != 1 {
			t.Errorf("notification %s arrived %d times, want once", m, len(got))
		}
	}
}

func testNotifyCanceled(t *testing.T, n chatter.Notifier, received func() []*chatter.Notification) {
	marker := newMarker(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	done := make(chan error, 1)
	go func() { done <- n.Notify(ctx, SampleNotification("ws-main", marker)) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Notify(canceled ctx) = %v, want an error wrapping context.Canceled", err)
		}
	case <-time.After(WaitTimeout):
		t.Fatal("Notify with a canceled context did not return")
	}
	if got := findReceived(received, marker); len(got) != 0 {
		t.Errorf("a notification sent with a canceled context arrived")
	}
}
