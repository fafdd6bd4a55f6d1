package keyword

import (
	"sync/atomic"

	"github.com/chatterhq/sdk/chatter"
)

// Live holds the current Set and swaps it atomically when the rules change,
// so matching never waits for a recompilation. It implements chatter.Filter
// and is safe for concurrent use.
type Live struct {
	set atomic.Pointer[Set]
}

var _ chatter.Filter = (*Live)(nil)

// NewLive returns a Live holding s (nil: accept everything until Swap).
func NewLive(s *Set) *Live {
	l := &Live{}
	if s != nil {
		l.set.Store(s)
	}
	return l
}

// Swap installs s and returns the previous set.
func (l *Live) Swap(s *Set) *Set { return l.set.Swap(s) }

// Update compiles cfg and, only if it compiles, swaps it in.
func (l *Live) Update(cfg Config) error {
	s, err := Compile(cfg)
	if err != nil {
		return err
	}
	l.set.Store(s)
	return nil
}

// Set returns the current set (nil if none).
func (l *Live) Set() *Set { return l.set.Load() }

// Filter implements chatter.Filter with the current set; with no set every
// message is accepted.
func (l *Live) Filter(m *chatter.Message) chatter.Verdict {
	s := l.set.Load()
	if s == nil {
		return chatter.Verdict{Accept: true, Reason: "no keyword rules"}
	}
	return s.Filter(m)
}
