package chattertest

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// memNote is a notification job: recorded with the outcome that called for
// it, sent by Work's notification workers when Work has a Notifier.
type memNote struct {
	n        *chatter.Notification
	attempts int
	runAt    time.Time
	running  bool
}

// memAlert is an alert episode of one workspace and key (chatter.Alert).
type memAlert struct {
	open       bool
	notifiedAt time.Time
}

// notifyLocked records the notifications and alerts of outcome o of an
// entry of workspace, as the SQL stores do in the outcome's transaction.
func (s *MemStore) notifyLocked(workspace string, o chatter.Outcome, now time.Time) {
	if o.ResolveAlerts {
		for k, a := range s.alerts {
			if k.ws == workspace {
				a.open = false
			}
		}
	}
	added := false
	add := func(n *chatter.Notification) {
		if n == nil || s.noteKeys[n.DedupeKey] {
			return
		}
		s.noteKeys[n.DedupeKey] = true
		s.notes = append(s.notes, &memNote{n: CopyNotification(n), runAt: now})
		added = true
	}
	for _, al := range o.Alerts {
		if al.Key == "" || al.Notification == nil {
			continue
		}
		k := wsName{workspace, al.Key}
		a := s.alerts[k]
		due := false
		switch {
		case a == nil:
			s.alerts[k] = &memAlert{open: true, notifiedAt: now}
			due = true
		case a.open:
		default:
			a.open = true
			if now.Sub(a.notifiedAt) >= max(al.Quiet, 0) {
				a.notifiedAt, due = now, true
			}
		}
		if due {
			n := *al.Notification
			n.DedupeKey = "alert:" + workspace + ":" + al.Key + ":" + strconv.FormatInt(now.UnixNano(), 10)
			add(&n)
		}
	}
	for _, n := range o.Notifications {
		if n != nil && n.DedupeKey == "" {
			c := *n
			c.DedupeKey = "outcome:" + workspace + ":" + string(n.Type) + ":" + n.Key + ":" + strconv.FormatInt(now.UnixNano(), 10)
			n = &c
		}
		add(n)
	}
	if added {
		s.wakeLocked()
	}
}

// PendingNotifications returns how many recorded notifications have not been
// sent yet (including those waiting for a retry), for tests.
func (s *MemStore) PendingNotifications() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.notes)
}

// runNotifiers runs cfg.NotifyWorkers notification workers until ctx ends.
func (s *MemStore) runNotifiers(ctx context.Context, wg *sync.WaitGroup, cfg chatter.QueueConfig, log *slog.Logger) {
	workers := cmp.Or(cfg.NotifyWorkers, chatter.DefaultNotifyWorkers)
	timeout := cmp.Or(cfg.NotifyTimeout, chatter.DefaultNotifyTimeout)
	for range workers {
		wg.Go(func() {
			for {
				note := s.claimNote(ctx)
				if note == nil {
					return
				}
				nctx, cancel := context.WithTimeout(ctx, timeout)
				err := sendNote(nctx, cfg.Notifier, note.n)
				cancel()
				s.finishNote(note, err, log)
			}
		})
	}
}

func sendNote(ctx context.Context, to chatter.Notifier, n *chatter.Notification) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("notifier panicked: %v", r)
		}
	}()
	return to.Notify(ctx, CopyNotification(n))
}

// claimNote waits for a due notification and marks it running, or returns
// nil when ctx ends.
func (s *MemStore) claimNote(ctx context.Context) *memNote {
	for {
		if ctx.Err() != nil {
			return nil
		}
		s.mu.Lock()
		now := s.now()
		wait := idleWake
		if s.customClock {
			wait = idleWakeCustomClock
		}
		for _, note := range s.notes {
			if note.running {
				continue
			}
			if !note.runAt.After(now) {
				note.running = true
				s.mu.Unlock()
				return note
			}
			wait = max(min(wait, note.runAt.Sub(now)), time.Millisecond)
		}
		wake := s.wake
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

// finishNote records the result of sending note.
func (s *MemStore) finishNote(note *memNote, err error, log *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	note.running = false
	attrs := []slog.Attr{slog.String(chatter.AttrCategory, chatter.CategoryNotify), slog.String(chatter.AttrWorkspace, note.n.Workspace),
		slog.String("type", string(note.n.Type)), slog.String("dedupe_key", note.n.DedupeKey)}
	if err == nil {
		s.dropNoteLocked(note)
		return
	}
	note.attempts++
	attrs = append(attrs, slog.Int("attempt", note.attempts), slog.String("error", err.Error()))
	if note.attempts >= chatter.NotifyMaxAttempts {
		log.LogAttrs(context.Background(), slog.LevelError, "notification dropped after its last attempt", attrs...)
		s.dropNoteLocked(note)
		return
	}
	note.runAt = s.now().Add(chatter.NotifyRetryDelay(note.attempts))
	log.LogAttrs(context.Background(), slog.LevelWarn, "notification not sent; will retry", attrs...)
}

func (s *MemStore) dropNoteLocked(note *memNote) {
	for i, x := range s.notes {
		if x == note {
			s.notes = append(s.notes[:i], s.notes[i+1:]...)
			return
		}
	}
}
