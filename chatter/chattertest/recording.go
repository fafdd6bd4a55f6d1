package chattertest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// RecordingNotifier is a chatter.Notifier that keeps every notification it is
// given. It honours ctx (a done context is an error and records nothing) and
// can be told to fail. It is safe for concurrent use; the zero value is ready.
type RecordingNotifier struct {
	mu   sync.Mutex
	got  []*chatter.Notification
	fail error
}

var _ chatter.Notifier = (*RecordingNotifier)(nil)

// NewRecordingNotifier returns an empty RecordingNotifier.
func NewRecordingNotifier() *RecordingNotifier { return &RecordingNotifier{} }

// Notify records a copy of n, or returns the error set by FailWith.
func (r *RecordingNotifier) Notify(ctx context.Context, n *chatter.Notification) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("chattertest: notify: %w", err)
	}
	if n == nil {
		return fmt.Errorf("chattertest: notify: %w", invalidf("notification", "уведомление отсутствует", "notification is nil"))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.got = append(r.got, CopyNotification(n))
	return nil
}

// FailWith makes every later Notify return err (nil restores success).
func (r *RecordingNotifier) FailWith(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = err
}

// Notifications returns copies of the recorded notifications, oldest first.
func (r *RecordingNotifier) Notifications() []*chatter.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*chatter.Notification, len(r.got))
	for i, n := range r.got {
		out[i] = CopyNotification(n)
	}
	return out
}

// Reset forgets the recorded notifications.
func (r *RecordingNotifier) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = nil
}

// CopyNotification returns a deep copy of n (nil for nil).
func CopyNotification(n *chatter.Notification) *chatter.Notification {
	if n == nil {
		return nil
	}
	c := *n
	c.Fields = maps.Clone(n.Fields)
	if n.Items != nil {
		c.Items = make([]*chatter.Notification, len(n.Items))
		for i, it := range n.Items {
			c.Items[i] = CopyNotification(it)
		}
	}
	return &c
}

// RetryAfterError is an error that asks the caller to wait: chatter.RetryAfter
// finds its Wait, chatter.ClassOf says ClassRateLimited, and the pipeline
// snoozes the delivery without using an attempt.
type RetryAfterError struct {
	Wait time.Duration
}

// Error describes the wait.
func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("chattertest: rate limited, retry after %s", e.Wait)
}

// RetryAfter returns e.Wait.
func (e *RetryAfterError) RetryAfter() time.Duration { return e.Wait }

// SinkCall is one call of RecordingSink.Deliver.
type SinkCall struct {
	Key         chatter.Key
	Workspace   string
	Attempt     int
	MaxAttempts int
	Ambiguous   bool
	Result      *chatter.DeliveryResult // nil when Err is set
	Err         error
}

// RecordingSink is a chatter.Sink that records deliveries and fails on
// command, for tests of pipelines and queues. Successful deliveries get
// deterministic results: LeadID 1000, 1001, … and ContactID 5000, 5001, … in
// the order of success. A key that was already delivered once is answered
// with its first result and Adopted set (as amocrmsink does when it finds the
// lead of an earlier attempt), so a duplicate delivery shows in
// DeliveredCount but never creates a second lead.
//
// Failures are programmed per message key and consumed in order. It is safe
// for concurrent use; the zero value is not usable, call NewRecordingSink.
type RecordingSink struct {
	mu        sync.Mutex
	plans     map[entryKey][]sinkStep
	calls     []SinkCall
	delivered []*chatter.Message
	count     map[entryKey]int
	first     map[entryKey]*chatter.DeliveryResult
	nextLead  int64
	block     map[entryKey]chan struct{}
}

type sinkStep struct {
	err   error
	times int // < 0: forever
}

var _ chatter.Sink = (*RecordingSink)(nil)

// NewRecordingSink returns a RecordingSink that delivers everything.
func NewRecordingSink() *RecordingSink {
	return &RecordingSink{
		plans: make(map[entryKey][]sinkStep),
		count: make(map[entryKey]int),
		first: make(map[entryKey]*chatter.DeliveryResult),
		block: make(map[entryKey]chan struct{}),
	}
}

// FailTimes makes the next n deliveries of key in workspace ws return err
// (after any failures programmed before). err may be chatter.Permanent(…), a
// *RetryAfterError, or an error annotated with chatter.WithClass.
func (s *RecordingSink) FailTimes(ws string, key chatter.Key, n int, err error) {
	if n <= 0 || err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := entryKey{ws, key}
	s.plans[k] = append(s.plans[k], sinkStep{err: err, times: n})
}

// FailPermanently makes every later delivery of key in ws return
// chatter.Permanent(err).
func (s *RecordingSink) FailPermanently(ws string, key chatter.Key, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := entryKey{ws, key}
	s.plans[k] = append(s.plans[k], sinkStep{err: chatter.Permanent(err), times: -1})
}

// RetryAfter makes the next n deliveries of key in ws fail with a
// *RetryAfterError asking to wait d.
func (s *RecordingSink) RetryAfter(ws string, key chatter.Key, n int, d time.Duration) {
	s.FailTimes(ws, key, n, &RetryAfterError{Wait: d})
}

// Clear drops the failures still programmed for key in ws.
func (s *RecordingSink) Clear(ws string, key chatter.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.plans, entryKey{ws, key})
}

// Hold makes deliveries of key in ws wait until the returned release function
// is called or their context ends (then they return the context's error). It
// lets a test stop a worker in the middle of a delivery.
func (s *RecordingSink) Hold(ws string, key chatter.Key) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.block[entryKey{ws, key}] = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			close(ch)
			if s.block[entryKey{ws, key}] == ch {
				delete(s.block, entryKey{ws, key})
			}
		})
	}
}

// Deliver implements chatter.Sink.
func (s *RecordingSink) Deliver(ctx context.Context, d *chatter.Delivery) (*chatter.DeliveryResult, error) {
	if d == nil || d.Message == nil {
		return nil, chatter.Permanent(fmt.Errorf("chattertest: deliver: %w", invalidf("delivery", "нет сообщения", "delivery has no message")))
	}
	k := entryKey{d.Message.Workspace, d.Message.Key}
	s.mu.Lock()
	hold := s.block[k]
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			err := fmt.Errorf("chattertest: deliver %s: %w", d.Message.Key, ctx.Err())
			s.record(d, nil, err)
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		err = fmt.Errorf("chattertest: deliver %s: %w", d.Message.Key, err)
		s.record(d, nil, err)
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if plan := s.plans[k]; len(plan) > 0 {
		err := plan[0].err
		if plan[0].times > 0 {
			plan[0].times--
			if plan[0].times == 0 {
				plan = plan[1:]
			}
			if len(plan) == 0 {
				delete(s.plans, k)
			} else {
				s.plans[k] = plan
			}
		}
		s.calls = append(s.calls, callOf(d, nil, err))
		return nil, err
	}
	var res *chatter.DeliveryResult
	if prev, ok := s.first[k]; ok {
		res = copyResult(prev)
		res.Adopted = true
	} else {
		res = &chatter.DeliveryResult{LeadID: 1000 + s.nextLead, ContactID: 5000 + s.nextLead}
		s.nextLead++
		s.first[k] = copyResult(res)
	}
	s.count[k]++
	s.delivered = append(s.delivered, CopyMessage(d.Message))
	s.calls = append(s.calls, callOf(d, copyResult(res), nil))
	return res, nil
}

func (s *RecordingSink) record(d *chatter.Delivery, res *chatter.DeliveryResult, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, callOf(d, res, err))
}

func callOf(d *chatter.Delivery, res *chatter.DeliveryResult, err error) SinkCall {
	return SinkCall{
		Key: d.Message.Key, Workspace: d.Message.Workspace,
		Attempt: d.Attempt, MaxAttempts: d.MaxAttempts, Ambiguous: d.Ambiguous(),
		Result: res, Err: err,
	}
}

// Delivered returns copies of the messages delivered successfully, in the
// order of delivery (a message delivered twice appears twice).
func (s *RecordingSink) Delivered() []*chatter.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*chatter.Message, len(s.delivered))
	for i, m := range s.delivered {
		out[i] = CopyMessage(m)
	}
	return out
}

// DeliveredCount returns how many times key in ws was delivered successfully:
// 1 for exactly-once delivery.
func (s *RecordingSink) DeliveredCount(ws string, key chatter.Key) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[entryKey{ws, key}]
}

// Calls returns every Deliver call, failed ones included, in order.
func (s *RecordingSink) Calls() []SinkCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.calls)
	for i := range out {
		out[i].Result = copyResult(out[i].Result)
	}
	return out
}

// Attempts returns how many times Deliver was called for key in ws.
func (s *RecordingSink) Attempts(ws string, key chatter.Key) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Workspace == ws && c.Key == key {
			n++
		}
	}
	return n
}
