package deliveryqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatterhq/sdk/chatter"
)

// Fences are a store's instance fences (see chatter.QueueConfig.Instance):
// a lock per instance id that one live process holds and the operating
// system gives up when that process dies.
type Fences interface {
	// Claim takes the fence of id for this process, waiting while another
	// process holds it (calling waiting once when it has to). The returned
	// channel is closed if the fence is lost while held (a broken database
	// session); release gives it up.
	Claim(ctx context.Context, id string, waiting func()) (lost <-chan struct{}, release func(), err error)
	// Probe takes the fence of id if no live process holds it, runs fn
	// while holding it and gives it back; it reports whether fn ran.
	Probe(ctx context.Context, id string, fn func(ctx context.Context) error) (bool, error)
	// FreeLeases releases every lease whose holder belongs to id
	// (chatter.InstanceOf(holder) == id) and returns how many.
	FreeLeases(ctx context.Context, id string) (int64, error)
}

// Instance defaults.
const (
	// DefaultInstanceSweep is how often Work looks for running jobs of
	// instances whose process died (Tuning.InstanceSweep).
	DefaultInstanceSweep = 2 * time.Second
	// stuckPage is how many running jobs one query of a sweep reads.
	stuckPage = 1000
)

// ErrFenceLost is returned by Work when the fence of its instance was lost
// while it ran (the database session that held it broke): it stopped its
// jobs, since another process may now take them; run it again.
var ErrFenceLost = errors.New("the instance fence was lost (its database session broke): work stopped; start it again")

// claimInstance takes the fence of id, then makes the running jobs of id's
// earlier processes runnable at once and frees their leases.
func (q *Queue[TTx, D]) claimInstance(ctx context.Context, id string, log *slog.Logger) (<-chan struct{}, func(), error) {
	if q.fences == nil {
		return nil, nil, q.invalid("instance", "это хранилище не поддерживает идентификатор экземпляра", "this store has no instance fences")
	}
	if err := chatter.ValidateInstance(id); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", q.name, err)
	}
	lost, release, err := q.fences.Claim(ctx, id, func() {
		log.WarnContext(ctx, q.name+": waiting for the instance's other process to stop (it holds the instance fence)",
			slog.String("instance", id), slog.String(chatter.AttrCategory, chatter.CategorySystem))
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: claim instance %q: %w", q.name, id, err)
	}
	jobs, leases, err := q.recoverInstance(ctx, id, "its process restarted")
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("%s: recover instance %q: %w", q.name, id, err)
	}
	log.InfoContext(ctx, q.name+": instance claimed", slog.String("instance", id),
		slog.Int("jobs_resumed", jobs), slog.Int64("leases_freed", leases), slog.String(chatter.AttrCategory, chatter.CategorySystem))
	return lost, release, nil
}

// recoverInstance makes the running jobs last attempted by a process of
// instance id runnable now and frees id's leases. The caller holds id's
// fence, so no live process of id is running them.
func (q *Queue[TTx, D]) recoverInstance(ctx context.Context, id, why string) (int, int64, error) {
	byInstance, err := q.runningByInstance(ctx)
	if err != nil {
		return 0, 0, err
	}
	jobs := byInstance[id]
	if err := q.rescueNow(ctx, jobs, "instance "+id+": "+why); err != nil {
		return 0, 0, err
	}
	leases, err := q.fences.FreeLeases(ctx, id)
	if err != nil {
		return len(jobs), 0, err
	}
	return len(jobs), leases, nil
}

// runningByInstance returns the running jobs whose last attempt was made by
// a River client named by chatter.InstanceHolder, by instance.
func (q *Queue[TTx, D]) runningByInstance(ctx context.Context) (map[string][]*rivertype.JobRow, error) {
	out := map[string][]*rivertype.JobRow{}
	exec := q.driver.GetExecutor()
	horizon := q.now().Add(24 * time.Hour) // every running job
	var after int64
	for {
		rows, err := exec.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{AfterID: after, Max: stuckPage, Schema: q.schema, StuckHorizon: horizon})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if n := len(r.AttemptedBy); n > 0 {
				if inst := chatter.InstanceOf(r.AttemptedBy[n-1]); inst != "" {
					out[inst] = append(out[inst], r)
				}
			}
			after = max(after, r.ID)
		}
		if len(rows) < stuckPage {
			return out, nil
		}
	}
}

// rescueNow makes jobs available at once, in their old place in the line
// (like River's rescuer, with the error why on the job, but without its
// wait); a job on its last River attempt is discarded instead, for the
// reconcile sweep to mark dead.
func (q *Queue[TTx, D]) rescueNow(ctx context.Context, jobs []*rivertype.JobRow, why string) error {
	if len(jobs) == 0 {
		return nil
	}
	now := q.now().UTC()
	p := &riverdriver.JobRescueManyParams{Schema: q.schema, StuckHorizon: now.Add(24 * time.Hour)}
	for _, j := range jobs {
		e, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: j.Attempt, Error: "interrupted: " + why})
		if err != nil {
			return err
		}
		state, fin := string(rivertype.JobStateAvailable), (*time.Time)(nil)
		if j.Attempt >= j.MaxAttempts {
			state, fin = string(rivertype.JobStateDiscarded), &now
		}
		p.ID = append(p.ID, j.ID)
		p.Error = append(p.Error, e)
		p.FinalizedAt = append(p.FinalizedAt, fin)
		// Its place in the line: it was running, it goes first again.
		at := now
		if j.ScheduledAt.Before(now) {
			at = j.ScheduledAt
		}
		p.ScheduledAt = append(p.ScheduledAt, at)
		p.State = append(p.State, state)
	}
	_, err := q.driver.GetExecutor().JobRescueMany(ctx, p)
	return err
}

// sweepInstances recovers the work of every other instance whose process
// died: running jobs attempted by it, and its leases. An instance is taken
// for dead when its fence is free; the recovery runs while this process
// holds that fence, so the instance cannot restart meanwhile.
func (q *Queue[TTx, D]) sweepInstances(ctx context.Context, self string, log *slog.Logger) {
	if q.fences == nil {
		return
	}
	byInstance, err := q.runningByInstance(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.ErrorContext(ctx, q.name+": instance sweep", slog.String("error", err.Error()))
		}
		return
	}
	for inst := range byInstance {
		if inst == self {
			continue
		}
		var jobs int
		var leases int64
		dead, err := q.fences.Probe(ctx, inst, func(ctx context.Context) error {
			var err error
			jobs, leases, err = q.recoverInstance(ctx, inst, "its process died")
			return err
		})
		switch {
		case err != nil && ctx.Err() == nil:
			log.ErrorContext(ctx, q.name+": recover a dead instance", slog.String("instance", inst), slog.String("error", err.Error()))
		case dead && jobs > 0:
			log.WarnContext(ctx, q.name+": the process of an instance died: its jobs run again here", slog.String("instance", inst),
				slog.Int("jobs_resumed", jobs), slog.Int64("leases_freed", leases), slog.String(chatter.AttrCategory, chatter.CategoryDelivery))
		}
	}
}
