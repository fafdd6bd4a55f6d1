package amocrmsink

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
)

// CircuitSettingPrefix starts the chatter setting that holds an account's
// shared circuit: CircuitSettingPrefix + the account (the client's
// subdomain, lower case).
const CircuitSettingPrefix = "amocrm/circuit/"

const (
	// DefaultWatchInterval is how often Watch reads the shared circuit.
	DefaultWatchInterval = time.Second
	// DefaultBlockHold is how long a delivery held by an open shared
	// circuit is snoozed: a safety net, since Watch wakes it as soon as the
	// account answers.
	DefaultBlockHold = 10 * time.Minute
	// probeTimeout bounds one probe (its wait for a budget slot included).
	probeTimeout = 30 * time.Second
	// wakeTail is how many ticks after a close Watch wakes deliveries
	// again: one snoozed by a process that had not seen the close yet.
	wakeTail = 3
)

// WatchConfig configures Sink.Watch.
type WatchConfig struct {
	// Workspace owns the account's deliveries (and the shared circuit's
	// setting). Required.
	Workspace string
	// Settings keeps the shared circuit (a chatter setting under
	// CircuitSettingPrefix, compare-and-swap between instances). Required
	// (every chatter.Store is one).
	Settings chatter.SettingsStore
	// Queue wakes the deliveries snoozed for the block when the account
	// answers again (chatter.Queue.Wake). Required (every chatter.Store is
	// one).
	Queue chatter.Queue
	// Interval is how often the shared circuit is read. Defaults to
	// DefaultWatchInterval.
	Interval time.Duration
	// Hold is the snooze of a delivery while the shared circuit is open.
	// Defaults to DefaultBlockHold.
	Hold time.Duration
}

// sharedCircuit is the account's circuit as every instance sees it.
type sharedCircuit struct {
	Open      bool      `json:"open"`
	Status    int       `json:"status,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	NextProbe time.Time `json:"next_probe,omitzero"`
	Probes    int       `json:"probes,omitempty"`
	Prober    string    `json:"prober,omitempty"` // who claimed the last probe
	ClosedAt  time.Time `json:"closed_at,omitzero"`
}

// watchView is what Deliver reads of a running Watch.
type watchView struct {
	open  bool
	state sharedCircuit
	hold  time.Duration
}

// Watch keeps the account's circuit shared by every instance of the
// deployment, until ctx ends (it then returns nil; other errors only for a
// bad config). Run it once per Sink, in every process, next to the
// pipeline:
//
//   - When this process's client opens its circuit (amoCRM answered the
//     403 block page, or 429 repeatedly), Watch records the block in the
//     store, and within one Interval every instance holds its deliveries of
//     the account: Deliver returns a blocked error without a request, and
//     the pipeline snoozes the delivery (no attempt used) for Hold.
//   - One instance at a time probes the account when the probe is due (one
//     GET /api/v4/account under the shared rate budget, on
//     amocrm.BlockPolicy's schedule: a 30th of the block's age, 2 s to 5
//     min; the claim is a compare-and-swap on the setting, so a probe that
//     dies with its process is followed by another instance's at the next
//     due time).
//   - When the probe gets an answer, the circuit closes for everyone: each
//     instance's client forgets its own circuit and pause
//     (amocrm.Client.Unblock), and the snoozed deliveries run at once
//     (chatter.Queue.Wake) instead of sleeping out the hold.
//
// Without Watch a Sink still honours its own client's circuit (the client
// probes with the next due request), but other instances learn of a block
// only by meeting it, and deliveries sleep until the probe time their error
// named.
func (s *Sink) Watch(ctx context.Context, cfg WatchConfig) error {
	var missing []string
	if cfg.Workspace == "" {
		missing = append(missing, "Workspace")
	}
	if cfg.Settings == nil {
		missing = append(missing, "Settings")
	}
	if cfg.Queue == nil {
		missing = append(missing, "Queue")
	}
	if len(missing) > 0 {
		return fmt.Errorf("amocrmsink: watch: missing %s: %w", strings.Join(missing, ", "), chatter.ErrInvalid)
	}
	if cfg.Interval < 0 || cfg.Hold < 0 {
		return fmt.Errorf("amocrmsink: watch: negative duration: %w", chatter.ErrInvalid)
	}
	cfg.Interval = cmp.Or(cfg.Interval, DefaultWatchInterval)
	cfg.Hold = cmp.Or(cfg.Hold, DefaultBlockHold)
	// tail 1: the first tick wakes what an earlier process held, if the
	// block ended while no instance watched.
	w := &watcher{s: s, cfg: cfg, key: CircuitSettingPrefix + normAccount(s.cfg.Client.Subdomain()),
		log: s.log.With(slog.String(chatter.AttrWorkspace, cfg.Workspace)), tail: 1}
	s.watch.Store(&watchView{hold: cfg.Hold})
	defer s.watch.Store(nil)
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		w.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

type watcher struct {
	s    *Sink
	cfg  WatchConfig
	key  string
	log  *slog.Logger
	open bool // the last state seen
	tail int  // ticks left to wake again after a close
}

// tick reads the shared circuit once and acts on it.
func (w *watcher) tick(ctx context.Context) {
	st, version, err := w.read(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.LogAttrs(ctx, slog.LevelWarn, "amocrm shared circuit: read", slog.String("error", err.Error()))
		}
		return
	}
	now := w.s.cfg.Now()
	local := w.s.cfg.Client.Circuit()
	switch {
	case local.Open && !st.Open && !st.ClosedAt.After(local.Since):
		// This process met a block the others do not know of yet.
		next := sharedCircuit{Open: true, Status: local.StatusCode, Since: local.Since, NextProbe: local.NextProbe}
		if ok, err := w.write(ctx, next, version); err != nil || !ok {
			return // read again at the next tick
		}
		w.log.LogAttrs(ctx, slog.LevelWarn, "amocrm account blocked: every instance holds its deliveries until a probe gets an answer",
			slog.String(chatter.AttrCategory, chatter.CategoryDelivery), slog.Int("status", local.StatusCode),
			slog.Time("next_probe", local.NextProbe))
		st = next
	case local.Open && !st.Open:
		// Another instance's probe got an answer after this client's
		// circuit opened: it may send again.
		w.s.cfg.Client.Unblock(ctx)
	}
	w.publish(st)
	if !st.Open {
		if w.open {
			w.open, w.tail = false, wakeTail
		}
		if w.tail > 0 {
			w.tail--
			w.s.cfg.Client.Unblock(ctx)
			w.wake(ctx)
		}
		return
	}
	w.open = true
	if now.Before(st.NextProbe) {
		return
	}
	// The probe is due: claim it, so one instance probes.
	claim := st
	claim.NextProbe = now.Add(w.s.cfg.Client.BlockPolicy().ProbeGap(now.Sub(st.Since)))
	claim.Probes++
	claim.Prober = w.s.holder
	if ok, err := w.write(ctx, claim, version); err != nil || !ok {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	err = w.s.cfg.Client.Probe(pctx)
	cancel()
	if err != nil {
		var be *amocrm.BlockedError
		if !errors.As(err, &be) && ctx.Err() == nil {
			w.log.LogAttrs(ctx, slog.LevelInfo, "amocrm probe got no answer", slog.String("error", err.Error()),
				slog.Time("next_probe", claim.NextProbe))
		}
		return
	}
	w.close(ctx, claim)
}

// close records that the account answers again, lets this process's client
// send, and wakes the held deliveries.
func (w *watcher) close(ctx context.Context, probed sharedCircuit) {
	now := w.s.cfg.Now()
	for range 5 {
		st, version, err := w.read(ctx)
		if err != nil {
			return
		}
		if !st.Open {
			break // closed by another instance meanwhile
		}
		if st.Since.After(probed.Since) {
			return // a new block opened meanwhile
		}
		if ok, err := w.write(ctx, sharedCircuit{ClosedAt: now}, version); err != nil {
			return
		} else if ok {
			break
		}
	}
	w.s.cfg.Client.Unblock(ctx)
	w.publish(sharedCircuit{ClosedAt: now})
	n := w.wake(ctx)
	w.open, w.tail = false, wakeTail
	w.log.LogAttrs(ctx, slog.LevelInfo, "amocrm account answers again: deliveries resume",
		slog.String(chatter.AttrCategory, chatter.CategoryDelivery),
		slog.Duration("blocked_for", now.Sub(probed.Since).Round(time.Millisecond)),
		slog.Int("probes", probed.Probes), slog.Int("woken", n))
}

func (w *watcher) wake(ctx context.Context) int {
	n, err := w.cfg.Queue.Wake(ctx, w.cfg.Workspace, chatter.ClassBlocked, chatter.ClassRateLimited)
	if err != nil && ctx.Err() == nil {
		w.log.LogAttrs(ctx, slog.LevelWarn, "amocrm shared circuit: wake the held deliveries", slog.String("error", err.Error()))
	}
	return n
}

func (w *watcher) publish(st sharedCircuit) {
	w.s.watch.Store(&watchView{open: st.Open, state: st, hold: w.cfg.Hold})
}

func (w *watcher) read(ctx context.Context) (sharedCircuit, int64, error) {
	var st sharedCircuit
	set, err := w.cfg.Settings.GetSetting(ctx, w.cfg.Workspace, w.key)
	if errors.Is(err, chatter.ErrNotFound) {
		return st, 0, nil
	}
	if err != nil {
		return st, 0, err
	}
	if err := json.Unmarshal(set.Value, &st); err != nil {
		// A damaged value is overwritten by the next write.
		return sharedCircuit{}, set.Version, nil
	}
	return st, set.Version, nil
}

// write stores st if the setting is still at version; false: another
// instance wrote first.
func (w *watcher) write(ctx context.Context, st sharedCircuit, version int64) (bool, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return false, err
	}
	_, err = w.cfg.Settings.PutSetting(ctx, w.cfg.Workspace, w.key, b, version)
	if errors.Is(err, chatter.ErrConflict) {
		return false, nil
	}
	if err != nil && ctx.Err() == nil {
		w.log.LogAttrs(ctx, slog.LevelWarn, "amocrm shared circuit: write", slog.String("error", err.Error()))
	}
	return err == nil, err
}

// held returns the error of a delivery held by the open shared circuit,
// or nil.
func (s *Sink) held() error {
	v := s.watch.Load()
	if v == nil || !v.open {
		return nil
	}
	return &HeldError{Status: v.state.Status, Since: v.state.Since, NextProbe: v.state.NextProbe, hold: v.hold}
}

// holdRetry makes a delivery that met the block (or its pause) while Watch
// runs snooze for the hold: Watch wakes it when the account answers.
func (s *Sink) holdRetry(err error) error {
	v := s.watch.Load()
	if v == nil || err == nil {
		return err
	}
	var (
		be *amocrm.BlockedError
		pe *amocrm.PauseError
		bw *BudgetWaitError
	)
	switch {
	case errors.As(err, &be):
		return &HeldError{Status: be.StatusCode, Since: be.Since, NextProbe: be.Until, hold: v.hold, cause: err}
	case v.open && (errors.As(err, &pe) || errors.As(err, &bw)):
		return &HeldError{Status: v.state.Status, Since: v.state.Since, NextProbe: v.state.NextProbe, hold: v.hold, cause: err}
	}
	return err
}

// HeldError is a delivery held while amoCRM blocks the account: nothing was
// sent for it (or amoCRM refused it with the block page). Its class is
// blocked and RetryAfter the watch's hold; Sink.Watch wakes the delivery as
// soon as a probe finds the account answering.
type HeldError struct {
	// Status is what opened the circuit: 403 (the block page) or 429.
	Status int
	// Since is when the account was blocked.
	Since time.Time
	// NextProbe is when the account is probed next.
	NextProbe time.Time

	hold  time.Duration
	cause error
}

// Error implements error.
func (e *HeldError) Error() string {
	what := "repeated 429 Too Many Requests"
	if e.Status == http.StatusForbidden {
		what = "403 Forbidden (API access blocked)"
	}
	return fmt.Sprintf("amocrmsink: delivery held: amoCRM blocked the account after %s since %s; next probe at %s",
		what, e.Since.UTC().Format(time.RFC3339), e.NextProbe.UTC().Format(time.RFC3339))
}

// Unwrap returns the client's error, if this delivery met the block itself.
func (e *HeldError) Unwrap() error { return e.cause }

// RetryAfter returns the hold.
func (e *HeldError) RetryAfter() time.Duration { return e.hold }

// ErrorClass returns chatter.ClassBlocked.
func (e *HeldError) ErrorClass() chatter.ErrorClass { return chatter.ClassBlocked }

// Message returns an operator-facing description in lang ("ru" or "en").
func (e *HeldError) Message(lang string) string {
	if lang == "ru" {
		return "amoCRM заблокировал запросы аккаунта (HTTP " + fmt.Sprint(e.Status) + ") с " + e.Since.UTC().Format("15:04:05 UTC") +
			". Доставка приостановлена; доступ проверяется пробным запросом (следующий в " + e.NextProbe.UTC().Format("15:04:05 UTC") +
			"), и сообщения уйдут сразу, как amoCRM ответит."
	}
	return "amoCRM blocked the account's requests (HTTP " + fmt.Sprint(e.Status) + ") since " + e.Since.UTC().Format("15:04:05 UTC") +
		". Delivery is paused; a probe checks for access (next at " + e.NextProbe.UTC().Format("15:04:05 UTC") +
		") and the messages go out as soon as amoCRM answers."
}
