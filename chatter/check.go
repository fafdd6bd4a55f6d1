package chatter

import (
	"context"
	"time"
)

// Status is a diagnostic's verdict.
type Status string

// Statuses, from best to worst.
const (
	StatusOK   Status = "ok"
	StatusWarn Status = "warn"
	StatusFail Status = "fail"
	StatusSkip Status = "skip" // not applicable in this configuration
)

// CheckResult is what one diagnostic found.
type CheckResult struct {
	Name     string            `json:"name"`
	Title    Text              `json:"title"` // what was checked, for people
	Status   Status            `json:"status"`
	Cause    Text              `json:"cause,omitzero"`  // why it is not ok
	Remedy   Text              `json:"remedy,omitzero"` // what to do about it
	Details  map[string]string `json:"details,omitempty"`
	Guide    string            `json:"guide,omitempty"` // the support guide section it implements
	Duration time.Duration     `json:"duration"`
	At       time.Time         `json:"at"`
}

// Check is a diagnostic: it looks at one thing that can break and, when it is
// broken, says why and what to do (in Russian and English). Run must honour
// ctx and must not panic; it never returns secrets in its result. Checks must
// be safe for concurrent use.
type Check interface {
	Name() string
	Run(ctx context.Context) CheckResult
}

// CheckFunc adapts a function to Check under a name.
func CheckFunc(name string, f func(ctx context.Context) CheckResult) Check {
	return checkFunc{name: name, f: f}
}

type checkFunc struct {
	name string
	f    func(ctx context.Context) CheckResult
}

func (c checkFunc) Name() string { return c.name }
func (c checkFunc) Run(ctx context.Context) CheckResult {
	r := c.f(ctx)
	if r.Name == "" {
		r.Name = c.name
	}
	return r
}
