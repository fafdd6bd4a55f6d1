package chattertest

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
)

// MemStore is an in-memory chatter.Store for tests, examples and demos. It
// implements every role interface with the same observable behaviour as the
// SQL stores (it passes TestStore), including the durable-looking delivery
// queue: jobs survive the end of one Work and are served by the next.
//
// Nothing survives the process. Values are copied in and out, so callers may
// reuse or mutate what they pass and what they get back. A MemStore is safe
// for concurrent use; its zero value is not usable, call NewMemStore.
type MemStore struct {
	now         func() time.Time
	customClock bool
	sealer      *chatter.Sealer

	mu      sync.Mutex
	wake    chan struct{} // closed and replaced whenever a job may have become runnable
	seq     int64         // insertion order of entries
	jobSeq  int64
	eventID int64

	entries     map[entryKey]*memEntry
	ready       [maxPriority + 1]jobHeap // runnable jobs per priority
	delayed     jobHeap                  // jobs waiting for their NextAt
	contacts    map[contactKey]*chatter.ContactLink
	tokens      map[wsName]*memToken
	sessions    map[wsName][]byte
	leases      map[wsName]*memLease
	checkpoints map[checkpointKey]*chatter.Checkpoint
	events      []*memEvent // in ID order
	settings    map[wsName]*chatter.Setting
	budgets     map[wsName]time.Time // theoretical arrival time per key
	endedJobs   map[*memEntry]bool   // entries whose job ended outside Chatter, for the reconcile sweep
	notes       []*memNote           // notification jobs not yet sent
	noteKeys    map[string]bool      // dedupe keys of every notification recorded
	alerts      map[wsName]*memAlert // alert episodes by workspace and key
}

var _ chatter.Store = (*MemStore)(nil)

// Limits from the contracts in chatter/store.go.
const (
	maxPriority      = 3    // AcceptOptions.Priority: 0 (highest) to 3
	defaultListLimit = 100  // LedgerQuery.Limit and EventQuery.Limit: 0 means 100
	maxListLimit     = 1000 // … and at most 1000
)

// MemOption configures a MemStore.
type MemOption func(*MemStore)

// WithClock makes the store read time from now instead of time.Now: it stamps
// ReceivedAt, UpdatedAt and DeliveredAt, judges lease expiry, schedules
// retries and snoozes, and books rate-budget slots. A nil now is ignored.
//
// Work polls a custom clock at least every 20 ms, so advancing it makes
// delayed jobs runnable without further calls.
func WithClock(now func() time.Time) MemOption {
	return func(s *MemStore) {
		if now != nil {
			s.now, s.customClock = now, true
		}
	}
}

// WithSealer makes the store keep OAuth tokens and session blobs sealed with
// sl (as the SQL stores do at rest), bound to their workspace and account. A
// nil sl keeps them as plain copies.
func WithSealer(sl *chatter.Sealer) MemOption {
	return func(s *MemStore) { s.sealer = sl }
}

// NewMemStore returns an empty MemStore. It starts no goroutines.
func NewMemStore(opts ...MemOption) *MemStore {
	s := &MemStore{
		now:         time.Now,
		wake:        make(chan struct{}),
		entries:     make(map[entryKey]*memEntry),
		contacts:    make(map[contactKey]*chatter.ContactLink),
		tokens:      make(map[wsName]*memToken),
		sessions:    make(map[wsName][]byte),
		leases:      make(map[wsName]*memLease),
		checkpoints: make(map[checkpointKey]*chatter.Checkpoint),
		settings:    make(map[wsName]*chatter.Setting),
		budgets:     make(map[wsName]time.Time),
		endedJobs:   make(map[*memEntry]bool),
		noteKeys:    make(map[string]bool),
		alerts:      make(map[wsName]*memAlert),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

type entryKey struct {
	ws  string
	key chatter.Key
}

type wsName struct{ ws, name string }

type contactKey struct {
	ws string
	id int64
}

type checkpointKey struct {
	ws      string
	source  chatter.SourceKind
	account string
	chatID  int64
}

// memEntry is a ledger entry with its message and, while the delivery is not
// finished, its job.
type memEntry struct {
	seq    int64
	e      chatter.LedgerEntry // Message is kept in msg, never here
	msg    *chatter.Message
	fold   string    // chatter.FoldText(msg.Text), for LedgerQuery.Text
	round  int       // MaxAttempts of one round, for Replay (0: no cap)
	budget time.Time // start of the retry budget (chatter.Job.BudgetStart)
	job    *memJob
}

// memJob is the delivery of one entry.
type memJob struct {
	id       int64
	entry    *memEntry
	maxTries int       // attempts allowed in total (grows with Replay); 0: no cap
	runAt    time.Time // not before
	gen      int64     // bumped on every (re)scheduling; stale heap items are skipped
	running  bool
	done     bool   // delivered
	ended    string // "discarded" or "cancelled": ended outside Chatter (EndDeliveryJobForTest) until Replay
}

// jobItem is a scheduled job in a heap, valid while gen matches the job's.
type jobItem struct {
	j   *memJob
	gen int64
	at  time.Time
	id  int64
}

type jobHeap []jobItem

func (h jobHeap) Len() int { return len(h) }
func (h jobHeap) Less(a, b int) bool {
	if c := h[a].at.Compare(h[b].at); c != 0 {
		return c < 0
	}
	return h[a].id < h[b].id
}
func (h jobHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *jobHeap) Push(x any)   { *h = append(*h, x.(jobItem)) }
func (h *jobHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

func invalidf(field, ru, en string) error {
	return &chatter.ValidationError{Field: field, Problem: chatter.T(ru, en)}
}

func needWorkspace(ws string) error {
	if ws == "" {
		return invalidf("workspace", "не указано рабочее пространство", "workspace is empty")
	}
	return nil
}

// checkOptions validates AcceptOptions.
func checkOptions(o chatter.AcceptOptions) error {
	if o.Priority < 0 || o.Priority > maxPriority {
		return invalidf("priority", fmt.Sprintf("приоритет %d вне диапазона 0–%d", o.Priority, maxPriority),
			fmt.Sprintf("priority %d is outside 0..%d", o.Priority, maxPriority))
	}
	if o.MaxAttempts < 0 {
		return invalidf("max_attempts", "число попыток отрицательное", "max attempts is negative (0: no cap by count)")
	}
	return nil
}

// SaveMessage implements chatter.MessageStore.
func (s *MemStore) SaveMessage(ctx context.Context, m *chatter.Message, opts chatter.AcceptOptions) (chatter.AcceptResult, error) {
	res, err := s.SaveMessages(ctx, []*chatter.Message{m}, []chatter.AcceptOptions{opts})
	if err != nil {
		return chatter.AcceptResult{}, err
	}
	return res[0], nil
}

// SaveMessages implements chatter.MessageStore.
func (s *MemStore) SaveMessages(ctx context.Context, ms []*chatter.Message, opts []chatter.AcceptOptions) ([]chatter.AcceptResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(ms) != len(opts) {
		return nil, fmt.Errorf("chattertest: save messages: %w", invalidf("opts",
			fmt.Sprintf("%d сообщений, но %d наборов параметров", len(ms), len(opts)),
			fmt.Sprintf("%d messages but %d options", len(ms), len(opts))))
	}
	for i, m := range ms {
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("chattertest: save message %d: %w", i, err)
		}
		if err := checkOptions(opts[i]); err != nil {
			return nil, fmt.Errorf("chattertest: save message %s: %w", m.Key, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]chatter.AcceptResult, len(ms))
	enqueued := false
	for i, m := range ms {
		k := entryKey{m.Workspace, m.Key}
		if old, ok := s.entries[k]; ok {
			out[i] = chatter.AcceptResult{Duplicate: true, State: old.e.State}
			continue
		}
		o := opts[i]
		s.seq++
		me := &memEntry{
			seq: s.seq,
			e: chatter.LedgerEntry{
				Workspace:  m.Workspace,
				Key:        m.Key,
				State:      chatter.StateFiltered,
				Verdict:    copyVerdict(o.Verdict),
				Priority:   o.Priority,
				ReceivedAt: now,
				UpdatedAt:  now,
			},
			msg:    CopyMessage(m),
			fold:   chatter.FoldText(m.Text),
			round:  o.MaxAttempts,
			budget: now,
		}
		if o.Verdict.Accept {
			me.e.State = chatter.StateQueued
			me.e.NextAt = now
			s.jobSeq++
			me.job = &memJob{id: s.jobSeq, entry: me, maxTries: o.MaxAttempts, runAt: now}
			s.scheduleLocked(me.job, now)
			enqueued = true
		}
		s.entries[k] = me
		out[i] = chatter.AcceptResult{State: me.e.State}
	}
	if enqueued {
		s.wakeLocked()
	}
	return out, nil
}

// SaveRejected implements chatter.MessageStore.
func (s *MemStore) SaveRejected(ctx context.Context, m *chatter.Message, r *chatter.Rejection) (chatter.AcceptResult, error) {
	if err := ctx.Err(); err != nil {
		return chatter.AcceptResult{}, err
	}
	if err := m.Validate(); err != nil {
		return chatter.AcceptResult{}, fmt.Errorf("chattertest: save rejected: %w", err)
	}
	if r == nil {
		return chatter.AcceptResult{}, fmt.Errorf("chattertest: save rejected %s: %w", m.Key,
			invalidf("rejection", "не указана причина отказа", "rejection is nil"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := entryKey{m.Workspace, m.Key}
	if old, ok := s.entries[k]; ok {
		return chatter.AcceptResult{Duplicate: true, State: old.e.State}, nil
	}
	now := s.now()
	s.seq++
	rc := *r
	s.entries[k] = &memEntry{
		seq: s.seq,
		e: chatter.LedgerEntry{
			Workspace: m.Workspace, Key: m.Key, State: chatter.StateRejected,
			ErrorClass: chatter.ClassInvalid, LastError: r.Text().EN, Rejection: &rc,
			ReceivedAt: now, UpdatedAt: now,
		},
		msg:    CopyMessage(m),
		fold:   chatter.FoldText(m.Text),
		budget: now,
	}
	return chatter.AcceptResult{State: chatter.StateRejected}, nil
}

// GetEntry implements chatter.MessageStore.
func (s *MemStore) GetEntry(ctx context.Context, workspace string, key chatter.Key) (*chatter.LedgerEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := needWorkspace(workspace); err != nil {
		return nil, fmt.Errorf("chattertest: get entry: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	me, ok := s.entries[entryKey{workspace, key}]
	if !ok {
		return nil, fmt.Errorf("chattertest: get entry %s: %w", key, chatter.ErrNotFound)
	}
	return me.snapshot(true), nil
}

func (me *memEntry) snapshot(withMessage bool) *chatter.LedgerEntry {
	e := me.e
	e.Verdict = copyVerdict(e.Verdict)
	e.Result = copyResult(e.Result)
	if e.Rejection != nil {
		rc := *e.Rejection
		e.Rejection = &rc
	}
	e.Message = nil
	if withMessage {
		e.Message = CopyMessage(me.msg)
	}
	return &e
}

func checkLedgerQuery(q chatter.LedgerQuery) (limit int, err error) {
	if err := needWorkspace(q.Workspace); err != nil {
		return 0, err
	}
	if !utf8.ValidString(q.Text) {
		return 0, invalidf("text", "текст для поиска не в кодировке UTF-8", "search text is not valid UTF-8")
	}
	switch {
	case q.Limit < 0:
		return 0, invalidf("limit", "отрицательный лимит", "limit is negative")
	case q.Limit == 0:
		return defaultListLimit, nil
	case q.Limit > maxListLimit:
		return maxListLimit, nil
	}
	return q.Limit, nil
}

// ledgerFilter is a LedgerQuery prepared for matching many entries.
type ledgerFilter struct {
	q       chatter.LedgerQuery
	pattern string // chatter.FoldText(q.Text)
}

func newLedgerFilter(q chatter.LedgerQuery) ledgerFilter {
	return ledgerFilter{q: q, pattern: chatter.FoldText(q.Text)}
}

// matches reports whether e matches f's query, ignoring Limit, the order and
// the cursors.
func (me *memEntry) matches(f ledgerFilter) bool {
	e, q := &me.e, &f.q
	switch {
	case e.Workspace != q.Workspace:
	case !q.From.IsZero() && e.ReceivedAt.Before(q.From):
	case !q.To.IsZero() && !e.ReceivedAt.Before(q.To):
	case len(q.States) > 0 && !slices.Contains(q.States, e.State):
	case q.Source != "" && e.Key.Source != q.Source:
	case q.Account != "" && e.Key.Account != q.Account:
	case q.ChatID != 0 && e.Key.ChatID != q.ChatID:
	case q.ErrorClass != "" && e.ErrorClass != q.ErrorClass:
	case q.NewLead && (e.State != chatter.StateDelivered || !e.Result.NewLead()):
	case q.Text != "" && !strings.Contains(me.fold, f.pattern):
	default:
		return true
	}
	return false
}

// ListEntries implements chatter.MessageStore.
func (s *MemStore) ListEntries(ctx context.Context, q chatter.LedgerQuery) ([]*chatter.LedgerEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit, err := checkLedgerQuery(q)
	if err != nil {
		return nil, fmt.Errorf("chattertest: list entries: %w", err)
	}
	if q.CursorKey != (chatter.Key{}) {
		if err := q.CursorKey.Validate(); err != nil {
			return nil, fmt.Errorf("chattertest: list entries: cursor key: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := newLedgerFilter(q)
	c := s.cursorLocked(q)
	var found []*memEntry
	for _, me := range s.entries {
		if me.matches(f) && c.keeps(me) {
			found = append(found, me)
		}
	}
	slices.SortFunc(found, func(a, b *memEntry) int {
		if q.Oldest {
			return ledgerOrder(a, b)
		}
		return ledgerOrder(b, a)
	})
	if len(found) > limit {
		found = found[:limit]
	}
	out := make([]*chatter.LedgerEntry, len(found))
	for i, me := range found {
		out[i] = me.snapshot(q.WithMessage)
	}
	return out, nil
}

// ledgerOrder orders entries oldest first: by ReceivedAt, then in the order
// they were saved.
func ledgerOrder(a, b *memEntry) int {
	if c := a.e.ReceivedAt.Compare(b.e.ReceivedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// ledgerCursor is the page bounds of a LedgerQuery: Before and After, and
// the entry of CursorKey that refines the cursor in the listing's direction.
type ledgerCursor struct {
	before, after time.Time
	oldest        bool
	at            *memEntry // CursorKey's entry, or nil
}

func (s *MemStore) cursorLocked(q chatter.LedgerQuery) ledgerCursor {
	c := ledgerCursor{before: q.Before, after: q.After, oldest: q.Oldest}
	cur := q.Before
	if q.Oldest {
		cur = q.After
	}
	if !cur.IsZero() && q.CursorKey != (chatter.Key{}) {
		c.at = s.entries[entryKey{q.Workspace, q.CursorKey}] // nil when absent
	}
	return c
}

// keeps reports whether me is inside c's bounds: strictly before Before and
// strictly after After, except that, with CursorKey's entry, an entry
// received at exactly the cursor's time is kept when it comes after that
// entry in the listing's order.
func (c ledgerCursor) keeps(me *memEntry) bool {
	r := me.e.ReceivedAt
	if !c.before.IsZero() && !r.Before(c.before) {
		if c.oldest || c.at == nil || !r.Equal(c.before) || ledgerOrder(me, c.at) >= 0 {
			return false
		}
	}
	if !c.after.IsZero() && !r.After(c.after) {
		if !c.oldest || c.at == nil || !r.Equal(c.after) || ledgerOrder(me, c.at) <= 0 {
			return false
		}
	}
	return true
}

// CountEntries implements chatter.MessageStore.
func (s *MemStore) CountEntries(ctx context.Context, q chatter.LedgerQuery) (map[chatter.State]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := checkLedgerQuery(q); err != nil {
		return nil, fmt.Errorf("chattertest: count entries: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := newLedgerFilter(q)
	out := make(map[chatter.State]int)
	for _, me := range s.entries {
		if me.matches(f) {
			out[me.e.State]++
		}
	}
	return out, nil
}

// CopyMessage returns a deep copy of m (nil for nil): attachments and the raw
// payload are not shared with m.
func CopyMessage(m *chatter.Message) *chatter.Message {
	if m == nil {
		return nil
	}
	c := *m
	c.Attachments = slices.Clone(m.Attachments)
	c.Raw = bytes.Clone(m.Raw)
	return &c
}

func copyVerdict(v chatter.Verdict) chatter.Verdict {
	v.Matched = slices.Clone(v.Matched)
	return v
}

func copyResult(r *chatter.DeliveryResult) *chatter.DeliveryResult {
	if r == nil {
		return nil
	}
	c := *r
	c.Extra = maps.Clone(r.Extra)
	return &c
}

// wakeLocked tells waiting workers to look for work again.
func (s *MemStore) wakeLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// scheduleLocked puts j in the delayed heap, or the ready heap of its priority
// when it is due.
func (s *MemStore) scheduleLocked(j *memJob, now time.Time) {
	j.gen++
	it := jobItem{j: j, gen: j.gen, at: j.runAt, id: j.id}
	if j.runAt.After(now) {
		heap.Push(&s.delayed, it)
		return
	}
	heap.Push(&s.ready[j.entry.e.Priority], it)
}
