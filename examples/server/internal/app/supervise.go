package app

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// ComponentState is where a long-running part of the server is.
type ComponentState string

// Component states.
const (
	StateStarting ComponentState = "starting"
	StateRunning  ComponentState = "running"
	StateFailed   ComponentState = "failed" // stopped with an error; restarting after a backoff
	StateStopped  ComponentState = "stopped"
	StatePassive  ComponentState = "passive" // held by another instance (lease)
)

// ComponentStatus is a snapshot of one component.
type ComponentStatus struct {
	Name      string         `json:"name"`
	State     ComponentState `json:"state"`
	Since     time.Time      `json:"since"`
	LastError string         `json:"last_error,omitempty"`
	Restarts  int            `json:"restarts"`
}

// supervisor runs the server's components (sources, workers, the event
// log), restarting one that fails with a capped exponential backoff, so that
// one broken bot token never stops the rest. Its snapshot feeds /readyz and
// the diagnostics.
type supervisor struct {
	log *slog.Logger
	wg  sync.WaitGroup

	mu    sync.Mutex
	comps map[string]*ComponentStatus
}

func newSupervisor(log *slog.Logger) *supervisor {
	return &supervisor{log: log, comps: map[string]*ComponentStatus{}}
}

const (
	restartMin = time.Second
	restartMax = 2 * time.Minute
	// healthyAfter is how long a component must run before a failure
	// restarts the backoff from restartMin.
	healthyAfter = time.Minute
)

// errPassive is returned by a component that waits because another
// instance holds its lease; it is retried without being a failure.
var errPassive = errors.New("held by another instance")

// Go runs fn until ctx ends, restarting it after an error. fn returning nil
// while ctx is alive ends it for good (a one-shot component). group, when
// set, also counts the component (a workspace waits for its own).
func (s *supervisor) Go(ctx context.Context, group *sync.WaitGroup, name string, fn func(ctx context.Context) error) {
	s.set(name, StateStarting, nil, false)
	if group != nil {
		group.Add(1)
	}
	s.wg.Go(func() {
		if group != nil {
			defer group.Done()
		}
		delay := restartMin
		for {
			start := time.Now()
			s.set(name, StateRunning, nil, false)
			err := fn(ctx)
			if ctx.Err() != nil {
				s.set(name, StateStopped, nil, false)
				return
			}
			if err == nil {
				s.set(name, StateStopped, nil, false)
				return
			}
			if time.Since(start) > healthyAfter {
				delay = restartMin
			}
			if errors.Is(err, errPassive) || errors.Is(err, chatter.ErrLeaseHeld) {
				s.set(name, StatePassive, nil, true)
				delay = restartMin * 5
			} else {
				s.set(name, StateFailed, err, true)
				s.log.LogAttrs(ctx, slog.LevelError, "component failed; restarting",
					slog.String(chatter.AttrCategory, chatter.CategorySystem), slog.String("component", name),
					slog.Duration("delay", delay), slog.String("err", err.Error()))
			}
			wait := delay/2 + rand.N(delay/2+1)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				s.set(name, StateStopped, nil, false)
				return
			case <-t.C:
			}
			delay = min(delay*2, restartMax)
		}
	})
}

func (s *supervisor) set(name string, st ComponentState, err error, restart bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.comps[name]
	if c == nil {
		c = &ComponentStatus{Name: name}
		s.comps[name] = c
	}
	if c.State != st {
		c.Since = time.Now()
	}
	c.State = st
	if err != nil {
		c.LastError = err.Error()
	} else if st == StateRunning {
		c.LastError = ""
	}
	if restart {
		c.Restarts++
	}
}

// forget drops the components whose name starts with prefix (a workspace
// that was rebuilt).
func (s *supervisor) forget(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, c := range s.comps {
		if strings.HasPrefix(name, prefix) && c.State == StateStopped {
			delete(s.comps, name)
		}
	}
}

// Snapshot returns every component's status, sorted by name.
func (s *supervisor) Snapshot() []ComponentStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ComponentStatus, 0, len(s.comps))
	for _, c := range s.comps {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b ComponentStatus) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// State returns the state of one component ("" when unknown).
func (s *supervisor) State(name string) ComponentState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.comps[name]; c != nil {
		return c.State
	}
	return ""
}

// Wait waits for every component to stop.
func (s *supervisor) Wait() { s.wg.Wait() }
