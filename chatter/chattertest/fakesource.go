package chattertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// DefaultRetryDelay is how long FakeSource waits before handing a message
// again after Handle failed, unless FakeSource.RetryDelay is set.
const DefaultRetryDelay = 10 * time.Millisecond

// FakeSource is a chatter.Source that hands a list of messages to a Handler
// one at a time, in order, and behaves like a well-mannered upstream: it
// acknowledges a message only after Handle returned nil for it, and hands a
// message whose Handle failed again (after RetryDelay) until it succeeds or
// ctx ends. Messages added with Push while Run is running are handed too.
//
// Run may run once at a time. A FakeSource is safe for concurrent use.
type FakeSource struct {
	// RetryDelay is the wait before a failed message is handed again.
	// Zero means DefaultRetryDelay. Set it before Run.
	RetryDelay time.Duration

	mu      sync.Mutex
	pending []*chatter.Message
	acked   []chatter.Key
	calls   map[entryKey]int
	errs    []error
	running bool
	changed chan struct{} // closed and replaced when pending or acked changes
}

var _ chatter.Source = (*FakeSource)(nil)

// ErrRunning is returned by FakeSource.Run when another Run is in progress.
var ErrRunning = errors.New("chattertest: fake source is already running")

// NewFakeSource returns a source that will emit msgs (copied) in order.
func NewFakeSource(msgs ...*chatter.Message) *FakeSource {
	s := &FakeSource{calls: make(map[entryKey]int), changed: make(chan struct{})}
	s.Push(msgs...)
	return s
}

// Push appends messages (copied) to emit after those already pending.
func (s *FakeSource) Push(msgs ...*chatter.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		s.pending = append(s.pending, CopyMessage(m))
	}
	s.signalLocked()
}

func (s *FakeSource) signalLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Run hands every pending message to h, then waits for more until ctx ends,
// and returns nil. It returns ErrRunning when another Run is in progress.
func (s *FakeSource) Run(ctx context.Context, h chatter.Handler) error {
	if h == nil {
		return fmt.Errorf("chattertest: fake source: %w", invalidf("handler", "не задан обработчик", "handler is nil"))
	}
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return ErrRunning
	}
	s.running = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
	}()
	delay := s.RetryDelay
	if delay <= 0 {
		delay = DefaultRetryDelay
	}
	for {
		s.mu.Lock()
		var m *chatter.Message
		if len(s.pending) > 0 {
			m = CopyMessage(s.pending[0])
		}
		changed := s.changed
		s.mu.Unlock()
		if m == nil {
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
				continue
			}
		}
		err := h.Handle(ctx, m)
		s.mu.Lock()
		s.calls[entryKey{m.Workspace, m.Key}]++
		if err == nil {
			s.pending = s.pending[1:]
			s.acked = append(s.acked, m.Key)
			s.signalLocked()
		} else {
			s.errs = append(s.errs, err)
		}
		s.mu.Unlock()
		if err != nil {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
	}
}

// Acked returns the keys of acknowledged messages, in order.
func (s *FakeSource) Acked() []chatter.Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]chatter.Key(nil), s.acked...)
}

// Pending returns how many messages are not acknowledged yet.
func (s *FakeSource) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// HandleCalls returns how many times the message with key in ws was handed
// to the Handler (failed calls included).
func (s *FakeSource) HandleCalls(ws string, key chatter.Key) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[entryKey{ws, key}]
}

// Errors returns the errors Handle returned, in order.
func (s *FakeSource) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

// WaitAcked blocks until at least n messages were acknowledged, or ctx ends
// (then it returns ctx's error).
func (s *FakeSource) WaitAcked(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		done := len(s.acked) >= n
		changed := s.changed
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chattertest: wait for %d acknowledged messages: %w", n, ctx.Err())
		case <-changed:
		}
	}
}
