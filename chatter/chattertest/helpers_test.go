package chattertest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

func TestRecordingNotifier(t *testing.T) {
	t.Parallel()
	rn := chattertest.NewRecordingNotifier()
	chattertest.TestNotifier(t, rn, rn.Notifications)

	rn.Reset()
	boom := errors.New("smtp: 554 rejected")
	rn.FailWith(boom)
	if err := rn.Notify(t.Context(), chattertest.SampleNotification("ws", "x")); !errors.Is(err, boom) {
		t.Errorf("Notify with FailWith = %v, want %v", err, boom)
	}
	rn.FailWith(nil)
	n := chattertest.SampleNotification("ws", "y")
	n.Items = []*chatter.Notification{chattertest.SampleNotification("ws", "item")}
	if err := rn.Notify(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	n.Title.RU, n.Fields["lead_id"], n.Items[0].Title.EN = "изменено", "0", "changed"
	got := rn.Notifications()
	if len(got) != 1 || got[0].Title.RU == "изменено" || got[0].Fields["lead_id"] != "31337" || got[0].Items[0].Title.EN == "changed" {
		t.Errorf("RecordingNotifier aliased the caller's notification: %+v", got)
	}
	if err := rn.Notify(t.Context(), nil); !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("Notify(nil) = %v, want ErrInvalid", err)
	}
}

func delivery(m *chatter.Message, attempt int) *chatter.Delivery {
	return &chatter.Delivery{Message: m, Attempt: attempt, MaxAttempts: 5}
}

func TestRecordingSink(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := chattertest.NewRecordingSink()
	a, b, c := chattertest.NewMessage("ws", -1, 1, ""), chattertest.NewMessage("ws", -1, 2, ""), chattertest.NewMessage("ws", -1, 3, "")
	transient := chatter.WithClass(errors.New("amoCRM 502"), chatter.ClassTransient)
	s.FailTimes("ws", a.Key, 2, transient)
	s.RetryAfter("ws", a.Key, 1, 3*time.Second)
	s.FailPermanently("ws", b.Key, errors.New("pipeline deleted"))

	for i := 1; i <= 2; i++ {
		if _, err := s.Deliver(ctx, delivery(a, i)); !errors.Is(err, transient) {
			t.Errorf("attempt %d of a = %v, want the programmed error", i, err)
		}
	}
	_, err := s.Deliver(ctx, delivery(a, 3))
	if d, ok := chatter.RetryAfter(err); !ok || d != 3*time.Second || chatter.ClassOf(err) != chatter.ClassRateLimited {
		t.Errorf("third call of a = %v, want RetryAfter 3s and class rate_limited", err)
	}
	res, err := s.Deliver(ctx, delivery(a, 3))
	if err != nil || res.LeadID != 1000 || res.ContactID != 5000 || res.Adopted {
		t.Errorf("fourth call of a = %+v, %v; want lead 1000", res, err)
	}
	for range 2 {
		if _, err := s.Deliver(ctx, delivery(b, 1)); !chatter.IsPermanent(err) {
			t.Errorf("b = %v, want a permanent error every time", err)
		}
	}
	if res, err := s.Deliver(ctx, delivery(c, 1)); err != nil || res.LeadID != 1001 {
		t.Errorf("c = %+v, %v; want lead 1001", res, err)
	}
	// A repeated delivery answers with the first result, marked adopted.
	if res, err := s.Deliver(ctx, delivery(a, 4)); err != nil || res.LeadID != 1000 || !res.Adopted {
		t.Errorf("a again = %+v, %v; want lead 1000, adopted", res, err)
	}
	if n := s.DeliveredCount("ws", a.Key); n != 2 {
		t.Errorf("DeliveredCount(a) = %d, want 2", n)
	}
	if n := s.DeliveredCount("ws", b.Key); n != 0 {
		t.Errorf("DeliveredCount(b) = %d, want 0", n)
	}
	if n := s.Attempts("ws", a.Key); n != 5 {
		t.Errorf("Attempts(a) = %d, want 5", n)
	}
	var order []int64
	for _, m := range s.Delivered() {
		order = append(order, m.Key.MessageID)
	}
	if fmt.Sprint(order) != "[1 3 1]" {
		t.Errorf("Delivered order = %v, want [1 3 1]", order)
	}
	calls := s.Calls()
	if len(calls) != 8 || calls[0].Err == nil || calls[3].Result == nil || !calls[3].Ambiguous || calls[5].Key != b.Key {
		t.Errorf("Calls = %+v", calls)
	}
	s.Clear("ws", b.Key)
	if _, err := s.Deliver(ctx, delivery(b, 2)); err != nil {
		t.Errorf("b after Clear = %v, want delivered", err)
	}
	if _, err := s.Deliver(ctx, nil); !chatter.IsPermanent(err) || !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("Deliver(nil) = %v, want a permanent ErrInvalid", err)
	}
}

func TestRecordingSinkHold(t *testing.T) {
	t.Parallel()
	s := chattertest.NewRecordingSink()
	m := chattertest.NewMessage("ws", -1, 1, "")
	release := s.Hold("ws", m.Key)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Deliver(ctx, delivery(m, 1))
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("held delivery after cancel = %v, want context.Canceled", err)
	}
	if n := s.DeliveredCount("ws", m.Key); n != 0 {
		t.Errorf("a canceled held delivery counted as delivered")
	}
	go func() {
		_, err := s.Deliver(t.Context(), delivery(m, 2))
		errc <- err
	}()
	release()
	release() // idempotent
	if err := <-errc; err != nil {
		t.Errorf("released delivery = %v", err)
	}
	if n := s.DeliveredCount("ws", m.Key); n != 1 {
		t.Errorf("DeliveredCount = %d, want 1", n)
	}
}

// flakyHandler fails the first call for each message id in failFirst.
type flakyHandler struct {
	mu        sync.Mutex
	failFirst map[int64]bool
	handled   []int64
}

func (h *flakyHandler) Handle(_ context.Context, m *chatter.Message) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failFirst[m.Key.MessageID] {
		delete(h.failFirst, m.Key.MessageID)
		return errors.New("store unavailable")
	}
	h.handled = append(h.handled, m.Key.MessageID)
	return nil
}

func TestFakeSource(t *testing.T) {
	t.Parallel()
	msgs := []*chatter.Message{
		chattertest.NewMessage("ws", -1, 1, ""), chattertest.NewMessage("ws", -1, 2, ""), chattertest.NewMessage("ws", -1, 3, ""),
	}
	src := chattertest.NewFakeSource(msgs...)
	src.RetryDelay = time.Millisecond
	msgs[0].Text = "изменено после передачи источнику"
	h := &flakyHandler{failFirst: map[int64]bool{2: true}}
	var first *chatter.Message
	var once sync.Once
	handler := chatter.HandlerFunc(func(ctx context.Context, m *chatter.Message) error {
		once.Do(func() { first = chattertest.CopyMessage(m) })
		return h.Handle(ctx, m)
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, handler) }()
	if err := src.WaitAcked(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	if err := src.Run(t.Context(), handler); !errors.Is(err, chattertest.ErrRunning) {
		t.Errorf("second concurrent Run = %v, want ErrRunning", err)
	}
	src.Push(chattertest.NewMessage("ws", -1, 4, ""))
	if err := src.WaitAcked(t.Context(), 4); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
	if first.Text == "изменено после передачи источнику" {
		t.Errorf("FakeSource aliased the caller's message")
	}
	var acked []int64
	for _, k := range src.Acked() {
		acked = append(acked, k.MessageID)
	}
	if fmt.Sprint(acked) != "[1 2 3 4]" || fmt.Sprint(h.handled) != "[1 2 3 4]" {
		t.Errorf("acked %v handled %v, want [1 2 3 4] in order", acked, h.handled)
	}
	if n := src.HandleCalls("ws", msgs[1].Key); n != 2 {
		t.Errorf("HandleCalls(failed once) = %d, want 2", n)
	}
	if n := src.HandleCalls("ws", msgs[0].Key); n != 1 {
		t.Errorf("HandleCalls = %d, want 1", n)
	}
	if errs := src.Errors(); len(errs) != 1 || src.Pending() != 0 {
		t.Errorf("Errors = %v, Pending = %d; want one error, none pending", errs, src.Pending())
	}
	if err := src.Run(t.Context(), nil); !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("Run(nil handler) = %v, want ErrInvalid", err)
	}
	wctx, wcancel := context.WithCancel(t.Context())
	wcancel()
	if err := src.WaitAcked(wctx, 10); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitAcked(canceled) = %v", err)
	}
}

func TestNewMessage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ chat, id int64 }{{-1001234567890, 1}, {123456789, 42}, {-5, 999999}} {
		m := chattertest.NewMessage("ws", c.chat, c.id, "")
		if err := m.Validate(); err != nil {
			t.Errorf("NewMessage(%d, %d) is invalid: %v", c.chat, c.id, err)
		}
		if m.Text != chattertest.DefaultText || m.Key.ChatID != c.chat || m.Key.MessageID != c.id || m.Chat.ID != c.chat {
			t.Errorf("NewMessage(%d, %d) = %+v", c.chat, c.id, m)
		}
		if (c.chat < 0) != (m.Link != "") {
			t.Errorf("NewMessage(%d): link %q; groups have links, private chats do not", c.chat, m.Link)
		}
	}
	a, b := chattertest.NewMessage("ws", -1, 7, "Текст"), chattertest.NewMessage("ws", -1, 7, "Текст")
	if !a.Time.Equal(b.Time) || string(a.Raw) != string(b.Raw) || a.Text != "Текст" {
		t.Errorf("NewMessage is not deterministic")
	}
	a.Raw[0] = 'X'
	if b.Raw[0] == 'X' {
		t.Errorf("NewMessage values share memory")
	}
}
