package chatter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestMulti(t *testing.T) {
	t.Parallel()
	a, b, c := &recordingNotifier{}, &recordingNotifier{err: errors.New("smtp down")}, &recordingNotifier{err: errors.New("webhook 500")}
	n := &Notification{Type: NotifyNewLead}
	err := Multi(a, nil, b, c).Notify(t.Context(), n)
	if len(a.all()) != 1 || len(b.all()) != 1 || len(c.all()) != 1 {
		t.Fatal("not every notifier was called")
	}
	if err == nil || err.Error() != "smtp down\nwebhook 500" {
		t.Errorf("Multi error = %q; want both, in order", err)
	}
	if err := Multi(a).Notify(t.Context(), n); err != nil || len(a.all()) != 2 {
		t.Errorf("single: %v", err)
	}
	if err := Multi().Notify(t.Context(), n); err != nil {
		t.Errorf("empty Multi = %v", err)
	}
}

func TestRouter(t *testing.T) {
	t.Parallel()
	leads, ops, def := &recordingNotifier{}, &recordingNotifier{}, &recordingNotifier{}
	r := NewRouter(map[NotificationType][]Notifier{
		NotifyNewLead:        {leads},
		NotifyDeliveryFailed: {ops, leads},
		NotifySourceUp:       nil, // muted
	}, def)
	ctx := t.Context()
	for _, typ := range []NotificationType{NotifyNewLead, NotifyDeliveryFailed, NotifySourceUp, NotifyTokenExpired} {
		if err := r.Notify(ctx, &Notification{Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	// A digest of failures goes where failures go; an unrouted digest to the default.
	_ = r.Notify(ctx, &Notification{Type: NotifyDigest, Fields: map[string]string{digestTypeField: string(NotifyDeliveryFailed)}})
	_ = r.Notify(ctx, &Notification{Type: NotifyDigest, Fields: map[string]string{digestTypeField: string(NotifyRateLimited)}})
	check := func(name string, rn *recordingNotifier, want string) {
		t.Helper()
		if got := fmt.Sprint(rn.types()); got != want {
			t.Errorf("%s got %s; want %s", name, got, want)
		}
	}
	check("leads", leads, "[new_lead delivery_failed digest]")
	check("ops", ops, "[delivery_failed digest]")
	check("default", def, "[token_expired digest]")
}

type digestBundle struct {
	clock *testClock
	out   *recordingNotifier
	d     *Digest
	tick  chan time.Time
	ticks atomic.Int32
}

func setupDigest(t *testing.T, cfg DigestConfig) *digestBundle {
	t.Helper()
	b := &digestBundle{clock: newTestClock(), out: &recordingNotifier{}, tick: make(chan time.Time)}
	cfg.Now = b.clock.Now
	cfg.NewTicker = func(d time.Duration) (<-chan time.Time, func()) {
		b.ticks.Add(1)
		return b.tick, func() {}
	}
	d, err := NewDigest(b.out, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.d = d
	return b
}

func failed(ws string, id int) *Notification {
	return &Notification{Type: NotifyDeliveryFailed, Workspace: ws, Severity: SeverityError,
		Title: T("Сообщение не доставлено в CRM", "Message not delivered to the CRM"), Key: fmt.Sprintf("tgbot:1:-1:%d", id)}
}

func TestDigestGroupsBursts(t *testing.T) {
	t.Parallel()
	b := setupDigest(t, DigestConfig{Window: 5 * time.Minute, MaxItems: 3})
	ctx := t.Context()
	for i := range 12 {
		if err := b.d.Notify(ctx, failed("ws1", i)); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(10 * time.Second)
	}
	// Another workspace and another type have windows of their own.
	_ = b.d.Notify(ctx, failed("ws2", 100))
	_ = b.d.Notify(ctx, &Notification{Type: NotifyRateLimited, Workspace: "ws1", Severity: SeverityWarning, Title: T("Превышен лимит", "Rate limited")})
	if got := len(b.out.all()); got != 3 {
		t.Fatalf("%d notifications passed at once; want 3 (the first of each group)", got)
	}
	if b.d.Pending() != 11 {
		t.Fatalf("Pending = %d; want 11", b.d.Pending())
	}
	// Within the window nothing more is sent.
	if err := b.d.flush(ctx, b.clock.Now()); err != nil || len(b.out.all()) != 3 {
		t.Fatalf("flush before the window closed sent something: %v", err)
	}
	b.clock.Advance(5 * time.Minute)
	if err := b.d.flush(ctx, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	got := b.out.all()
	if len(got) != 4 {
		t.Fatalf("got %d notifications after the window; want 4", len(got))
	}
	dg := got[3]
	if dg.Type != NotifyDigest || dg.Workspace != "ws1" || dg.Count != 11 || len(dg.Items) != 3 || dg.Severity != SeverityError {
		t.Fatalf("digest = %+v", dg)
	}
	if want := "11 уведомлений «доставка не удалась» за 5 минут"; dg.Title.RU != want {
		t.Errorf("title RU = %q; want %q", dg.Title.RU, want)
	}
	if want := `11 "delivery failed" notifications in 5 minutes`; dg.Title.EN != want {
		t.Errorf("title EN = %q; want %q", dg.Title.EN, want)
	}
	if !strings.Contains(dg.Body.RU, "…и ещё 8") || !strings.Contains(dg.Body.EN, "…and 8 more") || !strings.Contains(dg.Body.RU, "tgbot:1:-1:1") {
		t.Errorf("body = %q / %q", dg.Body.RU, dg.Body.EN)
	}
	if dg.Fields[digestTypeField] != string(NotifyDeliveryFailed) || dg.Fields["count"] != "11" {
		t.Errorf("fields = %v", dg.Fields)
	}
	// The window closed: the next one passes at once again.
	_ = b.d.Notify(ctx, failed("ws1", 200))
	if got := b.out.all(); got[len(got)-1].Key != "tgbot:1:-1:200" {
		t.Errorf("after the window the first notification did not pass: %+v", got[len(got)-1])
	}
	if b.d.Pending() != 0 {
		t.Errorf("Pending = %d", b.d.Pending())
	}
}

func TestDigestLateArrivalSendsPendingFirst(t *testing.T) {
	t.Parallel()
	b := setupDigest(t, DigestConfig{Window: time.Minute})
	ctx := t.Context()
	_ = b.d.Notify(ctx, failed("ws1", 1))
	_ = b.d.Notify(ctx, failed("ws1", 2))
	b.clock.Advance(2 * time.Minute) // no tick happened
	_ = b.d.Notify(ctx, failed("ws1", 3))
	got := b.out.all()
	if len(got) != 3 || got[1].Type != NotifyDigest || got[1].Count != 1 || got[2].Key != "tgbot:1:-1:3" {
		t.Fatalf("got %+v", got)
	}
	if want := "1 уведомление «доставка не удалась» за 1 минуту"; got[1].Title.RU != want {
		t.Errorf("title = %q; want %q", got[1].Title.RU, want)
	}
}

func TestDigestFlushAndTypes(t *testing.T) {
	t.Parallel()
	b := setupDigest(t, DigestConfig{Types: []NotificationType{NotifyDeliveryFailed}})
	ctx := t.Context()
	for i := range 3 {
		_ = b.d.Notify(ctx, failed("ws1", i))
		_ = b.d.Notify(ctx, &Notification{Type: NotifyNewLead, Workspace: "ws1"})
	}
	if got := fmt.Sprint(b.out.types()); got != "[delivery_failed new_lead new_lead new_lead]" {
		t.Fatalf("types = %s", got)
	}
	b.out.err = errors.New("smtp down")
	if err := b.d.Flush(ctx); err == nil || !strings.Contains(err.Error(), "smtp down") {
		t.Errorf("Flush error = %v", err)
	}
	got := b.out.all()
	if last := got[len(got)-1]; last.Type != NotifyDigest || last.Count != 2 {
		t.Errorf("Flush sent %+v", last)
	}
	if b.d.Pending() != 0 {
		t.Error("Flush left notifications pending")
	}
	// A digest handed to a Digest passes as it is.
	b.out.err = nil
	_ = b.d.Notify(ctx, &Notification{Type: NotifyDigest, Count: 5})
	if got := b.out.all(); got[len(got)-1].Count != 5 {
		t.Error("digest was not passed through")
	}
}

func TestDigestRun(t *testing.T) {
	t.Parallel()
	b := setupDigest(t, DigestConfig{Window: 10 * time.Minute})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.d.Run(ctx) }()
	waitFor(t, "ticker", func() bool { return b.ticks.Load() == 1 })

	_ = b.d.Notify(ctx, failed("ws1", 1))
	_ = b.d.Notify(ctx, failed("ws1", 2))
	b.tick <- b.clock.Now() // window open: nothing
	b.clock.Advance(10 * time.Minute)
	b.tick <- b.clock.Now()
	waitFor(t, "digest", func() bool { return len(b.out.all()) == 2 })
	if got := b.out.all()[1]; got.Type != NotifyDigest || got.Count != 1 {
		t.Errorf("digest = %+v", got)
	}

	// On shutdown what is pending is flushed.
	_ = b.d.Notify(ctx, failed("ws2", 1))
	_ = b.d.Notify(ctx, failed("ws2", 2))
	_ = b.d.Notify(ctx, failed("ws2", 3))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := b.out.all()
	if last := got[len(got)-1]; len(got) != 4 || last.Type != NotifyDigest || last.Workspace != "ws2" || last.Count != 2 {
		t.Errorf("after shutdown: %d sent, last %+v", len(got), last)
	}
}

func TestNewDigestValidate(t *testing.T) {
	t.Parallel()
	out := &recordingNotifier{}
	for name, tc := range map[string]struct {
		next Notifier
		cfg  DigestConfig
	}{
		"nil next":  {nil, DigestConfig{}},
		"window":    {out, DigestConfig{Window: -1}},
		"max items": {out, DigestConfig{MaxItems: -1}},
		"tick":      {out, DigestConfig{TickInterval: -1}},
	} {
		if _, err := NewDigest(tc.next, tc.cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v; want ErrInvalid", name, err)
		}
	}
	d, err := NewDigest(out, DigestConfig{})
	if err != nil || d.cfg.Window != DefaultDigestWindow || d.cfg.MaxItems != DefaultDigestMaxItems || d.cfg.TickInterval != 30*time.Second {
		t.Errorf("defaults: %+v, %v", d.cfg, err)
	}
}

func TestPluralAndDuration(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "минут", 1: "минуту", 2: "минуты", 4: "минуты", 5: "минут", 11: "минут", 12: "минут", 14: "минут", 21: "минуту", 22: "минуты", 25: "минут", 101: "минуту", 111: "минут"} {
		if got := pluralRU(n, "минуту", "минуты", "минут"); got != want {
			t.Errorf("pluralRU(%d) = %s; want %s", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		time.Hour:               "1 час / 1 hour",
		3 * time.Hour:           "3 часа / 3 hours",
		5 * time.Minute:         "5 минут / 5 minutes",
		90 * time.Minute:        "90 минут / 90 minutes",
		30 * time.Second:        "30 секунд / 30 seconds",
		1500 * time.Millisecond: "2 секунды / 2 seconds",
	} {
		if got := durationText(d).String(); got != want {
			t.Errorf("durationText(%s) = %q; want %q", d, got, want)
		}
	}
}
