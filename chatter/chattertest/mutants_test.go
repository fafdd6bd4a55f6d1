package chattertest_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

// The suite must fail for broken stores, or it proves nothing. Each mutant
// below wraps MemStore with one bug; TestStoreSuiteCatchesMutants runs the
// suite against it in a child process and expects a failure.

// mutantEnv names the mutant the child process runs the suite against.
const mutantEnv = "CHATTERTEST_MUTANT"

type mutant struct {
	name string
	test string // the suite subtest ("Group/Name") that must catch it
	wrap func(s *chattertest.MemStore) chatter.Store
}

var mutants = []mutant{
	{"no-dedupe", "Messages/SaveDuplicate", func(s *chattertest.MemStore) chatter.Store { return noDedupe{s} }},
	{"lenient-validation", "Messages/SaveInvalid", func(s *chattertest.MemStore) chatter.Store { return lenient{s} }},
	{"token-no-cas", "Tokens/CompareAndSwap", func(s *chattertest.MemStore) chatter.Store { return tokenNoCAS{s} }},
	{"settings-no-cas", "Settings/ConcurrentPut", func(s *chattertest.MemStore) chatter.Store { return settingsNoCAS{s} }},
	{"rate-no-spacing", "RateBudget/Spacing", func(s *chattertest.MemStore) chatter.Store { return rateNoSpacing{s} }},
	{"double-delivery", "Queue/Delivered", func(s *chattertest.MemStore) chatter.Store { return doubleWork{s} }},
	{"attempt-not-counted", "Queue/Retry", func(s *chattertest.MemStore) chatter.Store { return attemptOne{s} }},
	{"lease-ignores-workspace", "Isolation/Workspaces", func(s *chattertest.MemStore) chatter.Store { return leaseAnyWorkspace{s} }},
	{"reconcile-missing", "Queue/ReconcileDiscarded", func(s *chattertest.MemStore) chatter.Store { return noReconcile{s} }},
	{"notify-inside-attempt", "Notifications/HangingNotifierDoesNotBlockDelivery", func(s *chattertest.MemStore) chatter.Store { return notifyInline{s} }},
	{"alert-per-outcome", "Notifications/AlertOncePerEpisode", func(s *chattertest.MemStore) chatter.Store { return alertEveryTime{s} }},
	{"text-search-ascii-case-only", "Ledger/Text", func(s *chattertest.MemStore) chatter.Store {
		return searchMutant{MemStore: s, text: func(text, p string) bool { return strings.Contains(asciiLower(text), asciiLower(p)) }}
	}},
	{"text-search-like-wildcards", "Ledger/Text", func(s *chattertest.MemStore) chatter.Store {
		return searchMutant{MemStore: s, text: likeMatch}
	}},
	{"new-lead-counts-notes", "Ledger/NewLead", func(s *chattertest.MemStore) chatter.Store {
		return searchMutant{MemStore: s, newLead: func(r *chatter.DeliveryResult) bool { return r != nil && r.LeadID != 0 }}
	}},
	{"new-lead-without-adopted", "Ledger/NewLead", func(s *chattertest.MemStore) chatter.Store {
		return searchMutant{MemStore: s, newLead: func(r *chatter.DeliveryResult) bool { return r.NewLead() && !r.Adopted }}
	}},
	{"oldest-ignored", "Ledger/OldestFirst", func(s *chattertest.MemStore) chatter.Store {
		return ledgerMutant{s, func(q *chatter.LedgerQuery) { q.Oldest = false }}
	}},
	{"after-ignored", "Ledger/OldestFirst", func(s *chattertest.MemStore) chatter.Store {
		return ledgerMutant{s, func(q *chatter.LedgerQuery) { q.After = time.Time{} }}
	}},
	{"cursor-key-ignored", "Ledger/CursorKey", func(s *chattertest.MemStore) chatter.Store {
		return ledgerMutant{s, func(q *chatter.LedgerQuery) { q.CursorKey = chatter.Key{} }}
	}},
	{"cursor-key-inclusive", "Ledger/CursorKey", func(s *chattertest.MemStore) chatter.Store {
		return ledgerMutant{MemStore: s, change: func(q *chatter.LedgerQuery) {
			// Keeps the whole batch at the cursor's time, the key's entry
			// included (a "≤" where "<" belongs).
			if q.CursorKey != (chatter.Key{}) {
				if q.Oldest && !q.After.IsZero() {
					q.After, q.CursorKey = q.After.Add(-time.Nanosecond), chatter.Key{}
				} else if !q.Oldest && !q.Before.IsZero() {
					q.Before, q.CursorKey = q.Before.Add(time.Nanosecond), chatter.Key{}
				}
			}
		}}
	}},
	{"event-source-ignored", "Events/SourceAndText", func(s *chattertest.MemStore) chatter.Store {
		return eventMutant{MemStore: s, change: func(q *chatter.EventQuery) { q.Source = "" }}
	}},
	{"event-text-ignored", "Events/SourceAndText", func(s *chattertest.MemStore) chatter.Store {
		return eventMutant{MemStore: s, change: func(q *chatter.EventQuery) { q.Text = "" }}
	}},
	{"event-text-ascii-case-only", "Events/SourceAndText", func(s *chattertest.MemStore) chatter.Store {
		return eventMutant{MemStore: s, text: func(text, p string) bool { return strings.Contains(asciiLower(text), asciiLower(p)) }}
	}},
	{"event-text-like-wildcards", "Events/SourceAndText", func(s *chattertest.MemStore) chatter.Store {
		return eventMutant{MemStore: s, text: likeMatch}
	}},
}

// eventMutant changes every event query (change) or matches EventQuery.Text
// by its own (wrong) rule (text) instead of MemStore's.
type eventMutant struct {
	*chattertest.MemStore
	change func(q *chatter.EventQuery)
	text   func(text, pattern string) bool
}

func (s eventMutant) find(ctx context.Context, q chatter.EventQuery) ([]chatter.Event, error) {
	if s.change != nil {
		s.change(&q)
	}
	if s.text == nil || q.Text == "" || !utf8.ValidString(q.Text) || q.Limit < 0 {
		return s.MemStore.ListEvents(ctx, q)
	}
	pattern, limit := q.Text, cmp.Or(q.Limit, 100)
	q.Text, q.Limit = "", 1000
	list, err := s.MemStore.ListEvents(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []chatter.Event
	for _, e := range list {
		if s.text(e.Text, pattern) && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s eventMutant) ListEvents(ctx context.Context, q chatter.EventQuery) ([]chatter.Event, error) {
	return s.find(ctx, q)
}

func (s eventMutant) CountEvents(ctx context.Context, q chatter.EventQuery) (map[chatter.ErrorClass]int, error) {
	if s.change != nil {
		s.change(&q)
	}
	if s.text == nil {
		return s.MemStore.CountEvents(ctx, q)
	}
	q.Limit, q.BeforeID = 1000, 0
	list, err := s.find(ctx, q)
	if err != nil {
		return nil, err
	}
	out := map[chatter.ErrorClass]int{}
	for _, e := range list {
		out[e.ErrorClass]++
	}
	return out, nil
}

// ledgerMutant changes every ListEntries query before MemStore answers it.
type ledgerMutant struct {
	*chattertest.MemStore
	change func(q *chatter.LedgerQuery)
}

func (s ledgerMutant) ListEntries(ctx context.Context, q chatter.LedgerQuery) ([]*chatter.LedgerEntry, error) {
	s.change(&q)
	return s.MemStore.ListEntries(ctx, q)
}

// searchMutant answers ledger queries with Text or NewLead by its own
// (wrong) rule instead of MemStore's.
type searchMutant struct {
	*chattertest.MemStore
	text    func(text, pattern string) bool      // nil: MemStore's rule
	newLead func(r *chatter.DeliveryResult) bool // nil: MemStore's rule
}

func (s searchMutant) mutated(q chatter.LedgerQuery) bool {
	return q.Limit >= 0 && utf8.ValidString(q.Text) && (s.text != nil && q.Text != "" || s.newLead != nil && q.NewLead)
}

func (s searchMutant) find(ctx context.Context, q chatter.LedgerQuery) ([]*chatter.LedgerEntry, error) {
	base := q
	base.Limit, base.WithMessage = 1000, true
	if s.text != nil {
		base.Text = ""
	}
	if s.newLead != nil {
		base.NewLead = false
	}
	list, err := s.MemStore.ListEntries(ctx, base)
	if err != nil {
		return nil, err
	}
	var out []*chatter.LedgerEntry
	for _, e := range list {
		if s.text != nil && q.Text != "" && !s.text(e.Message.Text, q.Text) {
			continue
		}
		if s.newLead != nil && q.NewLead && (e.State != chatter.StateDelivered || !s.newLead(e.Result)) {
			continue
		}
		if !q.WithMessage {
			e.Message = nil
		}
		out = append(out, e)
	}
	return out, nil
}

func (s searchMutant) ListEntries(ctx context.Context, q chatter.LedgerQuery) ([]*chatter.LedgerEntry, error) {
	if !s.mutated(q) {
		return s.MemStore.ListEntries(ctx, q)
	}
	out, err := s.find(ctx, q)
	if limit := cmp.Or(q.Limit, 100); err == nil && len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

func (s searchMutant) CountEntries(ctx context.Context, q chatter.LedgerQuery) (map[chatter.State]int, error) {
	if !s.mutated(q) {
		return s.MemStore.CountEntries(ctx, q)
	}
	list, err := s.find(ctx, q)
	if err != nil {
		return nil, err
	}
	out := map[chatter.State]int{}
	for _, e := range list {
		out[e.State]++
	}
	return out, nil
}

// asciiLower is what SQLite's lower() does: ASCII letters only.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// likeMatch is an unescaped LIKE '%pattern%' on folded text: % and _ are
// wildcards.
func likeMatch(text, pattern string) bool {
	re := regexp.QuoteMeta(chatter.FoldText(pattern))
	re = strings.NewReplacer("%", ".*", "_", ".").Replace(re)
	return regexp.MustCompile("(?s)" + re).MatchString(chatter.FoldText(text))
}

// notifyInline sends an outcome's notifications from inside the attempt,
// before the outcome is recorded (how the pipeline used to do it).
type notifyInline struct{ *chattertest.MemStore }

func (s notifyInline) Work(ctx context.Context, cfg chatter.QueueConfig, fn chatter.WorkFunc) error {
	to := cfg.Notifier
	cfg.Notifier = nil
	if fn == nil || to == nil {
		return s.MemStore.Work(ctx, cfg, fn)
	}
	return s.MemStore.Work(ctx, cfg, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		o := fn(ctx, j)
		for _, n := range o.Notifications {
			_ = to.Notify(ctx, n)
		}
		o.Notifications = nil
		return o
	})
}

// alertEveryTime sends the notification of every alert, as if each outcome
// opened an episode.
type alertEveryTime struct{ *chattertest.MemStore }

func (s alertEveryTime) Work(ctx context.Context, cfg chatter.QueueConfig, fn chatter.WorkFunc) error {
	if fn == nil {
		return s.MemStore.Work(ctx, cfg, nil)
	}
	var seq atomic.Int64
	return s.MemStore.Work(ctx, cfg, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		o := fn(ctx, j)
		for _, a := range o.Alerts {
			n := *a.Notification
			n.DedupeKey = fmt.Sprintf("every-%d", seq.Add(1))
			o.Notifications = append(o.Notifications, &n)
		}
		o.Alerts = nil
		return o
	})
}

// noReconcile ignores jobs that ended outside the queue: the entry is worked
// as if nothing happened (a store without the reconcile sweep leaves it
// stuck instead; the suite catches both).
type noReconcile struct{ *chattertest.MemStore }

func (noReconcile) EndDeliveryJobForTest(context.Context, string, chatter.Key, string) error {
	return nil
}

// noDedupe hides duplicates from the caller.
type noDedupe struct{ *chattertest.MemStore }

func (s noDedupe) SaveMessage(ctx context.Context, m *chatter.Message, o chatter.AcceptOptions) (chatter.AcceptResult, error) {
	r, err := s.MemStore.SaveMessage(ctx, m, o)
	r.Duplicate = false
	return r, err
}

// lenient repairs bad text instead of refusing it.
type lenient struct{ *chattertest.MemStore }

func (s lenient) SaveMessage(ctx context.Context, m *chatter.Message, o chatter.AcceptOptions) (chatter.AcceptResult, error) {
	if m != nil {
		c := chattertest.CopyMessage(m)
		c.Text = strings.ToValidUTF8(c.Text, "?")
		m = c
	}
	return s.MemStore.SaveMessage(ctx, m, o)
}

// tokenNoCAS overwrites whatever is stored.
type tokenNoCAS struct{ *chattertest.MemStore }

func (s tokenNoCAS) SwapToken(ctx context.Context, t *chatter.Token, _ int64) (*chatter.Token, error) {
	var cur int64
	if t != nil {
		if old, err := s.GetToken(ctx, t.Workspace, t.Account); err == nil {
			cur = old.Version
		}
	}
	return s.MemStore.SwapToken(ctx, t, cur)
}

// settingsNoCAS overwrites whatever is stored.
type settingsNoCAS struct{ *chattertest.MemStore }

func (s settingsNoCAS) PutSetting(ctx context.Context, ws, key string, v json.RawMessage, _ int64) (*chatter.Setting, error) {
	var cur int64
	if old, err := s.GetSetting(ctx, ws, key); err == nil {
		cur = old.Version
	}
	return s.MemStore.PutSetting(ctx, ws, key, v, cur)
}

// rateNoSpacing grants every caller "now".
type rateNoSpacing struct{ *chattertest.MemStore }

func (s rateNoSpacing) Reserve(ctx context.Context, ws, key string, interval time.Duration) (time.Time, error) {
	if _, err := s.MemStore.Reserve(ctx, ws, key, interval); err != nil {
		return time.Time{}, err
	}
	return time.Now(), nil
}

// doubleWork runs every job twice.
type doubleWork struct{ *chattertest.MemStore }

func (s doubleWork) Work(ctx context.Context, cfg chatter.QueueConfig, fn chatter.WorkFunc) error {
	if fn == nil {
		return s.MemStore.Work(ctx, cfg, nil)
	}
	return s.MemStore.Work(ctx, cfg, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		fn(ctx, j)
		return fn(ctx, j)
	})
}

// attemptOne always reports the first attempt.
type attemptOne struct{ *chattertest.MemStore }

func (s attemptOne) Work(ctx context.Context, cfg chatter.QueueConfig, fn chatter.WorkFunc) error {
	if fn == nil {
		return s.MemStore.Work(ctx, cfg, nil)
	}
	return s.MemStore.Work(ctx, cfg, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		j.Attempt = 1
		return fn(ctx, j)
	})
}

// leaseAnyWorkspace accepts a lease presented in any workspace.
type leaseAnyWorkspace struct{ *chattertest.MemStore }

func (s leaseAnyWorkspace) StoreSession(ctx context.Context, ws, account string, data []byte, l *chatter.Lease) error {
	if l != nil && l.Workspace != ws {
		if err := s.MemStore.StoreSession(ctx, l.Workspace, account, data, l); err != nil {
			return err
		}
		fixed := *l
		fixed.Workspace = ws
		l = &fixed
		// Take the lease in ws for the caller, ignoring who holds it.
		if nl, err := s.AcquireLease(ctx, ws, l.Name, l.Holder, time.Minute); err == nil {
			l = nl
		} else {
			return nil
		}
	}
	return s.MemStore.StoreSession(ctx, ws, account, data, l)
}

// TestStoreSuiteRunMutant is the child process of
// TestStoreSuiteCatchesMutants; it does nothing unless asked to.
func TestStoreSuiteRunMutant(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("runs only as a child of TestStoreSuiteCatchesMutants")
	}
	for _, m := range mutants {
		if m.name == name {
			chattertest.TestStore(t, func(t *testing.T) chatter.Store { return m.wrap(chattertest.NewMemStore()) })
			return
		}
	}
	t.Fatalf("unknown mutant %q", name)
}

func TestStoreSuiteCatchesMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in child processes")
	}
	t.Parallel()
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			group, name, _ := strings.Cut(m.test, "/")
			cmd := exec.CommandContext(t.Context(), os.Args[0],
				"-test.run=^TestStoreSuiteRunMutant$/^"+group+"$/^"+name+"$", "-test.count=1")
			cmd.Env = append(os.Environ(), mutantEnv+"="+m.name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Errorf("the suite passed a store with bug %q; output:\n%s", m.name, out)
				return
			}
			if !strings.Contains(string(out), "--- FAIL: TestStoreSuiteRunMutant/"+m.test) {
				t.Errorf("bug %q: the child failed, but not in %s:\n%s", m.name, m.test, out)
			}
		})
	}
}
