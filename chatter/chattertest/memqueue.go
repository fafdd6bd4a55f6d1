package chattertest

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

const (
	// panicRetryDelay is the delay before a job whose WorkFunc panicked runs again.
	panicRetryDelay = 50 * time.Millisecond
	// idleWakeCustomClock bounds how long an idle worker sleeps when the clock
	// is injected (it may be advanced without any call on the store).
	idleWakeCustomClock = 20 * time.Millisecond
	// idleWake bounds how long an idle worker sleeps on the real clock.
	idleWake = time.Second
)

// Work implements chatter.Queue. It runs cfg.Workers goroutines that take
// due jobs of every workspace, highest priority (lowest number) first, then
// the longest waiting. Each attempt runs fn with a context that ends at
// cfg.JobTimeout or when ctx ends; the Outcome fn returns is applied even when
// ctx has ended meanwhile, so a delivery that succeeded is never repeated.
// When ctx ends Work stops taking jobs, waits for running ones and returns nil.
func (s *MemStore) Work(ctx context.Context, cfg chatter.QueueConfig, fn chatter.WorkFunc) error {
	if fn == nil {
		return fmt.Errorf("chattertest: work: %w", invalidf("fn", "не задан обработчик заданий", "work func is nil"))
	}
	if cfg.Workers < 0 {
		return fmt.Errorf("chattertest: work: %w", invalidf("workers", "отрицательное число обработчиков", "workers is negative"))
	}
	if cfg.JobTimeout < 0 {
		return fmt.Errorf("chattertest: work: %w", invalidf("job_timeout", "отрицательный тайм-аут задания", "job timeout is negative"))
	}
	if cfg.NotifyWorkers < 0 || cfg.NotifyTimeout < 0 {
		return fmt.Errorf("chattertest: work: %w", invalidf("notify_workers", "отрицательные параметры уведомлений", "notify workers or timeout is negative"))
	}
	workers := cmp.Or(cfg.Workers, chatter.DefaultWorkers)
	timeout := cmp.Or(cfg.JobTimeout, chatter.DefaultJobTimeout)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.mu.Lock()
	s.reconcileLocked(log)
	s.mu.Unlock()
	var wg sync.WaitGroup
	if cfg.Notifier != nil {
		s.runNotifiers(ctx, &wg, cfg, log)
	}
	for range workers {
		wg.Go(func() {
			for {
				j, job := s.claim(ctx, log)
				if j == nil {
					return
				}
				out := runJob(ctx, timeout, fn, job, log)
				s.apply(j, job, out, log)
			}
		})
	}
	wg.Wait()
	return nil
}

// runJob runs one attempt, turning a panic into a retry.
func runJob(ctx context.Context, timeout time.Duration, fn chatter.WorkFunc, job *chatter.Job, log *slog.Logger) (out chatter.Outcome) {
	jctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			log.LogAttrs(ctx, slog.LevelError, "work func panicked",
				slog.Int64("job_id", job.ID), slog.String("message_key", job.Message.Key.String()),
				slog.Int("attempt", job.Attempt), slog.String("panic", fmt.Sprint(r)))
			out = chatter.Outcome{
				Kind:  chatter.OutcomeRetry,
				Class: chatter.ClassInternal,
				Err:   fmt.Sprintf("panic: %v", r),
				Delay: panicRetryDelay,
			}
		}
	}()
	return fn(jctx, job)
}

// claim waits for a due job, marks it delivering and returns it, or returns
// nil when ctx ends.
func (s *MemStore) claim(ctx context.Context, log *slog.Logger) (*memJob, *chatter.Job) {
	for {
		if ctx.Err() != nil {
			return nil, nil
		}
		s.mu.Lock()
		now := s.now()
		s.reconcileLocked(log)
		s.promoteLocked(now)
		if j := s.popReadyLocked(); j != nil {
			j.running = true
			e := &j.entry.e
			e.State = chatter.StateDelivering
			e.UpdatedAt = now
			e.NextAt = time.Time{}
			job := &chatter.Job{
				ID:          j.id,
				Message:     CopyMessage(j.entry.msg),
				Attempt:     e.Attempts + 1,
				MaxAttempts: j.maxTries,
				Priority:    e.Priority,
				LastError:   e.LastError,
				LastClass:   e.ErrorClass,
				BudgetStart: j.entry.budget,
			}
			s.mu.Unlock()
			return j, job
		}
		wake := s.wake
		wait := idleWake
		if s.customClock {
			wait = idleWakeCustomClock
		}
		if s.delayed.Len() > 0 {
			wait = max(min(wait, s.delayed[0].at.Sub(now)), time.Millisecond)
		}
		s.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// runnable reports whether a heap item still stands for a job waiting to run.
func (it jobItem) runnable() bool {
	j := it.j
	if it.gen != j.gen || j.running || j.done || j.ended != "" {
		return false
	}
	st := j.entry.e.State
	return st == chatter.StateQueued || st == chatter.StateFailed
}

// promoteLocked moves due delayed jobs to their ready heaps.
func (s *MemStore) promoteLocked(now time.Time) {
	for s.delayed.Len() > 0 && !s.delayed[0].at.After(now) {
		it := heap.Pop(&s.delayed).(jobItem)
		if it.runnable() {
			heap.Push(&s.ready[it.j.entry.e.Priority], it)
		}
	}
}

// popReadyLocked takes the best due job: highest priority, then oldest.
func (s *MemStore) popReadyLocked() *memJob {
	for p := range s.ready {
		for s.ready[p].Len() > 0 {
			it := heap.Pop(&s.ready[p]).(jobItem)
			if it.runnable() {
				return it.j
			}
		}
	}
	return nil
}

// apply records the outcome o of job (an attempt of j) and, with it, the
// notifications and alerts it calls for.
func (s *MemStore) apply(j *memJob, job *chatter.Job, o chatter.Outcome, log *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	attempt := job.Attempt
	now := s.now()
	me := j.entry
	e := &me.e
	defer s.notifyLocked(me.e.Workspace, o, now)
	j.running = false
	e.UpdatedAt = now
	delay := max(o.Delay, 0)
	dead := func(class chatter.ErrorClass, msg string) {
		e.State = chatter.StateDead
		e.Attempts = attempt
		e.ErrorClass = cmp.Or(class, chatter.ClassPermanent)
		e.LastError = msg
		e.NextAt = time.Time{}
	}
	switch o.Kind {
	case chatter.OutcomeDelivered:
		e.State = chatter.StateDelivered
		e.Attempts = attempt
		e.Result = copyResult(o.Result)
		e.DeliveredAt = now
		e.ErrorClass, e.LastError = chatter.ClassNone, ""
		e.NextAt = time.Time{}
		j.done = true
		me.job = nil
	case chatter.OutcomeSnooze:
		e.State = chatter.StateQueued
		e.ErrorClass, e.LastError = o.Class, o.Err
		e.NextAt = now.Add(delay)
		me.budget = me.budget.Add(delay) // time snoozed does not spend the retry budget
		j.runAt = e.NextAt
		s.scheduleLocked(j, now)
		s.wakeLocked()
	case chatter.OutcomeDead:
		dead(o.Class, o.Err)
	default:
		class, msg := cmp.Or(o.Class, chatter.ClassTransient), o.Err
		if o.Kind != chatter.OutcomeRetry {
			class, msg = chatter.ClassInternal, fmt.Sprintf("invalid outcome kind %d", o.Kind)
			log.LogAttrs(context.Background(), slog.LevelError, "invalid outcome",
				slog.Int64("job_id", j.id), slog.Int("kind", int(o.Kind)))
		}
		if j.maxTries > 0 && attempt >= j.maxTries {
			dead(class, msg)
			return
		}
		e.State = chatter.StateFailed
		e.Attempts = attempt
		e.ErrorClass, e.LastError = class, msg
		e.NextAt = now.Add(delay)
		j.runAt = e.NextAt
		s.scheduleLocked(j, now)
		s.wakeLocked()
	}
}

// Replay implements chatter.Queue. The job keeps counting attempts (so a sink
// still sees Delivery.Ambiguous after earlier failures); its MaxAttempts grows
// by the round it was accepted with, and its retry budget starts again.
func (s *MemStore) Replay(ctx context.Context, workspace string, key chatter.Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := needWorkspace(workspace); err != nil {
		return fmt.Errorf("chattertest: replay: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	me, ok := s.entries[entryKey{workspace, key}]
	if !ok {
		return fmt.Errorf("chattertest: replay %s: %w", key, chatter.ErrNotFound)
	}
	if st := me.e.State; (st != chatter.StateDead && st != chatter.StateFailed) || me.job == nil {
		return fmt.Errorf("chattertest: replay %s in state %s: %w", key, me.e.State, chatter.ErrConflict)
	}
	s.replayLocked(me, s.now())
	s.wakeLocked()
	return nil
}

// replayLocked starts a new round for me.
func (s *MemStore) replayLocked(me *memEntry, now time.Time) {
	j := me.job
	j.ended = "" // a new round is a new job
	delete(s.endedJobs, me)
	j.maxTries = 0
	if me.round > 0 {
		j.maxTries = me.e.Attempts + me.round
	}
	me.budget = now
	me.e.State = chatter.StateQueued
	me.e.NextAt = now
	me.e.UpdatedAt = now
	j.runAt = now
	s.scheduleLocked(j, now)
}

// Wake implements chatter.Queue: the workspace's snoozed entries with one of
// classes (queued, NextAt ahead, job not running) run now.
func (s *MemStore) Wake(ctx context.Context, workspace string, classes ...chatter.ErrorClass) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := needWorkspace(workspace); err != nil {
		return 0, fmt.Errorf("chattertest: wake: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	n := 0
	for _, me := range s.entries {
		j := me.job
		if me.e.Workspace != workspace || me.e.State != chatter.StateQueued || !slices.Contains(classes, me.e.ErrorClass) ||
			!me.e.NextAt.After(now) || j == nil || j.running || j.done || j.ended != "" {
			continue
		}
		me.e.NextAt, me.e.UpdatedAt = now, now
		j.runAt = now
		s.scheduleLocked(j, now)
		n++
	}
	if n > 0 {
		s.wakeLocked()
	}
	return n, nil
}

// ReplayDead implements chatter.Queue: every dead entry matching q (States
// empty or [dead]; Limit and Before ignored) is replayed; it returns how
// many.
func (s *MemStore) ReplayDead(ctx context.Context, q chatter.LedgerQuery) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(q.States) > 1 || (len(q.States) == 1 && q.States[0] != chatter.StateDead) {
		return 0, fmt.Errorf("chattertest: replay dead: %w", invalidf("states", "повторить можно только недоставленные (dead) сообщения",
			"only dead messages can be replayed: States must be empty or [dead]"))
	}
	q.States, q.Limit = []chatter.State{chatter.StateDead}, 0
	if _, err := checkLedgerQuery(q); err != nil {
		return 0, fmt.Errorf("chattertest: replay dead: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := newLedgerFilter(q)
	var found []*memEntry
	for _, me := range s.entries {
		if me.matches(f) && me.job != nil {
			found = append(found, me)
		}
	}
	slices.SortFunc(found, func(a, b *memEntry) int { return cmp.Compare(a.seq, b.seq) })
	now := s.now()
	for _, me := range found {
		s.replayLocked(me, now)
	}
	if len(found) > 0 {
		s.wakeLocked()
	}
	return len(found), nil
}

// reconcileReason is the error text of an entry the reconcile sweep marks dead.
const reconcileReason = "the delivery job was discarded or cancelled in the queue; replay to try again"

// reconcileLocked is the reconcile sweep of the SQL stores: an entry whose
// job ended outside Chatter (EndDeliveryJobForTest) while it was queued,
// delivering or failed is marked dead with class internal. Work runs it when
// it starts and whenever a worker looks for a job.
func (s *MemStore) reconcileLocked(log *slog.Logger) {
	if len(s.endedJobs) == 0 {
		return
	}
	now := s.now()
	n := 0
	for me := range s.endedJobs {
		delete(s.endedJobs, me)
		e := &me.e
		switch e.State {
		case chatter.StateQueued, chatter.StateDelivering, chatter.StateFailed:
		default:
			continue
		}
		e.State = chatter.StateDead
		e.ErrorClass, e.LastError = chatter.ClassInternal, reconcileReason
		e.NextAt = time.Time{}
		e.UpdatedAt = now
		n++
	}
	if n > 0 {
		log.LogAttrs(context.Background(), slog.LevelWarn, "ledger entries without a live job marked dead", slog.Int("count", n))
	}
}

// EndDeliveryJobForTest is for tests (TestStore's reconcile cases): it ends
// the job of key's current delivery round as the SQL stores' River would
// without Chatter, with state "discarded" (its rescuer gave up on it) or
// "cancelled" (an operator cancelled it), and leaves the ledger entry as it
// is; the reconcile sweep of Work then marks the entry dead. A job that is
// running or finished is refused with chatter.ErrConflict.
func (s *MemStore) EndDeliveryJobForTest(ctx context.Context, workspace string, key chatter.Key, state string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if state != "discarded" && state != "cancelled" {
		return fmt.Errorf("chattertest: end delivery job: %w", invalidf("state", "состояние должно быть discarded или cancelled",
			"state must be discarded or cancelled, not "+state))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	me, ok := s.entries[entryKey{workspace, key}]
	if !ok {
		return fmt.Errorf("chattertest: end delivery job %s: %w", key, chatter.ErrNotFound)
	}
	j := me.job
	if j == nil || j.done || j.running || j.ended != "" {
		return fmt.Errorf("chattertest: end delivery job %s: no waiting job: %w", key, chatter.ErrConflict)
	}
	switch me.e.State {
	case chatter.StateQueued, chatter.StateFailed:
	default:
		return fmt.Errorf("chattertest: end delivery job %s in state %s: %w", key, me.e.State, chatter.ErrConflict)
	}
	j.ended = state
	s.endedJobs[me] = true
	return nil
}
