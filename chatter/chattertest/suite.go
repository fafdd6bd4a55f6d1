package chattertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// WaitTimeout bounds every wait on asynchronous behaviour in the conformance
// suites. Waits poll a condition; they never assert on elapsed time.
const WaitTimeout = 30 * time.Second

// TestStore runs the conformance suite for chatter.Store implementations.
//
// newStore must return a new, empty store for each call; it is called once
// per subtest, from that subtest, and subtests run in parallel (t.Parallel),
// so stores returned by different calls must not share rows (use a fresh
// database file or schema per call and release it with t.Cleanup). The store
// may use the real clock: the suite never asserts on elapsed time, waits on
// conditions for up to WaitTimeout, and uses short delays (10–50 ms) for
// retries, snoozes and lease expiry.
//
// Every method and documented error of every role interface in
// chatter/store.go is covered; see the package documentation for the list of
// subtests and the behaviour the suite pins down where store.go is silent.
func TestStore(t *testing.T, newStore func(t *testing.T) chatter.Store) {
	t.Helper()
	for _, g := range storeGroups() {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					s := newStore(t)
					if s == nil {
						t.Fatal("newStore returned nil")
					}
					tc.run(t, s)
				})
			}
		})
	}
}

// storeTest is one subtest of TestStore.
type storeTest struct {
	name string
	run  func(t *testing.T, s chatter.Store)
}

// storeGroup is a group of subtests of TestStore, one per role interface.
type storeGroup struct {
	name  string
	tests []storeTest
}

func storeGroups() []storeGroup {
	return []storeGroup{
		{"Messages", messageTests},
		{"Ledger", ledgerTests},
		{"Queue", queueTests},
		{"Notifications", notifyTests},
		{"Contacts", contactTests},
		{"Tokens", tokenTests},
		{"Sessions", sessionTests},
		{"Leases", leaseTests},
		{"Checkpoints", checkpointTests},
		{"Events", eventTests},
		{"Settings", settingTests},
		{"RateBudget", rateTests},
		{"Isolation", isolationTests},
	}
}

// StoreSubtests returns the names of TestStore's subtests, as "Group/Name"
// in the order they are defined, so a store's own tests can check that it
// skips none.
func StoreSubtests() []string {
	var out []string
	for _, g := range storeGroups() {
		for _, tc := range g.tests {
			out = append(out, g.name+"/"+tc.name)
		}
	}
	return out
}

// ---- helpers shared by the suite ----

// waitFor polls cond until it reports true, failing the test after
// WaitTimeout. cond's error fails the test at once.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: gave up after %s", what, WaitTimeout)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("waiting for %s: %v", what, t.Context().Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// waitEntry waits until key's entry is in one of states and returns it.
func waitEntry(t *testing.T, s chatter.Store, ws string, key chatter.Key, states ...chatter.State) *chatter.LedgerEntry {
	t.Helper()
	var last *chatter.LedgerEntry
	waitFor(t, fmt.Sprintf("%s in state %v", key, states), func() (bool, error) {
		e, err := s.GetEntry(t.Context(), ws, key)
		if err != nil {
			return false, err
		}
		last = e
		for _, st := range states {
			if e.State == st {
				return true, nil
			}
		}
		return false, nil
	})
	return last
}

// worker runs Queue.Work in the background until stopped.
type worker struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// startWork runs s.Work(cfg, fn) until the returned worker is stopped (or the
// test ends).
func startWork(t *testing.T, s chatter.Store, cfg chatter.QueueConfig, fn chatter.WorkFunc) *worker {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	w := &worker{cancel: cancel, done: make(chan error, 1)}
	go func() { w.done <- s.Work(ctx, cfg, fn) }()
	t.Cleanup(func() { w.stop(t) })
	return w
}

// stop cancels Work and waits for it to return; Work must return nil.
func (w *worker) stop(t *testing.T) {
	t.Helper()
	w.once.Do(func() {
		w.cancel()
		select {
		case w.err = <-w.done:
		case <-time.After(WaitTimeout):
			w.err = fmt.Errorf("Work did not return within %s after its context was canceled", WaitTimeout)
		}
		if w.err != nil {
			t.Errorf("Work returned %v, want nil after its context ended", w.err)
		}
	})
}

// jobLog records the jobs handed to a WorkFunc.
type jobLog struct {
	mu   sync.Mutex
	jobs []chatter.Job
}

func (l *jobLog) add(j *chatter.Job) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := *j
	c.Message = CopyMessage(j.Message)
	l.jobs = append(l.jobs, c)
	n := 0
	for _, o := range l.jobs {
		if o.Message.Workspace == j.Message.Workspace && o.Message.Key == j.Message.Key {
			n++
		}
	}
	return n
}

func (l *jobLog) all() []chatter.Job {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]chatter.Job(nil), l.jobs...)
}

func (l *jobLog) of(ws string, key chatter.Key) []chatter.Job {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []chatter.Job
	for _, j := range l.jobs {
		if j.Message.Workspace == ws && j.Message.Key == key {
			out = append(out, j)
		}
	}
	return out
}

func (l *jobLog) count(ws string, key chatter.Key) int { return len(l.of(ws, key)) }

// accept is AcceptOptions for an accepted message.
func accept(priority, maxAttempts int) chatter.AcceptOptions {
	return chatter.AcceptOptions{
		Verdict:     chatter.Verdict{Accept: true, Rule: "ремонт|отделка", Matched: []string{"ремонт"}, Reason: "keyword"},
		Priority:    priority,
		MaxAttempts: maxAttempts,
	}
}

// save stores m and fails the test on error.
func save(t *testing.T, s chatter.Store, m *chatter.Message, opts chatter.AcceptOptions) chatter.AcceptResult {
	t.Helper()
	r, err := s.SaveMessage(t.Context(), m, opts)
	if err != nil {
		t.Fatalf("SaveMessage(%s): %v", m.Key, err)
	}
	return r
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// noErr fails the test at once on err.
func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// fullMessage is a message with every field set, for round trips.
func fullMessage(ws string, chatID, msgID int64) *chatter.Message {
	m := NewMessage(ws, chatID, msgID, "Добрый день! Интересует отделка «под ключ» — 3-комнатная квартира, 74 м². \"Срочно\" 🚀 <b>&amp;</b>")
	m.Key.Revision = 1741945000 + msgID
	m.Edited = true
	m.ReplyTo = msgID - 1
	m.Sender.Phone = "+79161234567"
	m.Sender.IsBot = false
	m.Attachments = []chatter.Attachment{
		{Kind: chatter.AttachPhoto, FileID: "AgACAgIAAxkBAAIB", Name: "кухня.jpg", MIMEType: "image/jpeg", Size: 183422},
		{Kind: chatter.AttachDocument, FileID: "BQACAgIAAxkBAAIC", Name: "смета.pdf", MIMEType: "application/pdf", Size: 52011},
	}
	// Raw with key order, spacing and escapes a JSON re-encoder would change.
	m.Raw = []byte(`{"update_id": 912345, "message": {"text": "Добрый день! \u00ab\u043f\u043e\u0434 \u043a\u043b\u044e\u0447\u00bb", "message_id": ` +
		fmt.Sprint(msgID) + `, "a": [1, 2.50, true, null]}}`)
	return m
}

// diffMessage describes how got differs from want ("" when equal). Times are
// compared with Equal; nil and empty slices are equal; Raw must be byte-exact.
func diffMessage(got, want *chatter.Message) string {
	if got == nil || want == nil {
		if got == want {
			return ""
		}
		return fmt.Sprintf("got %v, want %v", got, want)
	}
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s: got %#v, want %#v", field, g, w)) }
	if got.Workspace != want.Workspace {
		add("Workspace", got.Workspace, want.Workspace)
	}
	if got.Key != want.Key {
		add("Key", got.Key, want.Key)
	}
	if got.Chat != want.Chat {
		add("Chat", got.Chat, want.Chat)
	}
	if got.Sender != want.Sender {
		add("Sender", got.Sender, want.Sender)
	}
	if got.Text != want.Text {
		add("Text", got.Text, want.Text)
	}
	if !got.Time.Equal(want.Time) {
		add("Time", got.Time, want.Time)
	}
	if got.Link != want.Link {
		add("Link", got.Link, want.Link)
	}
	if len(got.Attachments) != len(want.Attachments) {
		add("Attachments", got.Attachments, want.Attachments)
	} else {
		for i := range got.Attachments {
			if got.Attachments[i] != want.Attachments[i] {
				add(fmt.Sprintf("Attachments[%d]", i), got.Attachments[i], want.Attachments[i])
			}
		}
	}
	if got.Edited != want.Edited {
		add("Edited", got.Edited, want.Edited)
	}
	if got.ReplyTo != want.ReplyTo {
		add("ReplyTo", got.ReplyTo, want.ReplyTo)
	}
	if !bytes.Equal(got.Raw, want.Raw) {
		add("Raw", string(got.Raw), string(want.Raw))
	}
	if len(d) == 0 {
		return ""
	}
	return fmt.Sprint(d)
}

func checkMessage(t *testing.T, what string, got, want *chatter.Message) {
	t.Helper()
	if d := diffMessage(got, want); d != "" {
		t.Errorf("%s: message differs: %s", what, d)
	}
}

// deliveredOutcome is a successful Outcome with a recognisable result.
func deliveredOutcome(j *chatter.Job) chatter.Outcome {
	return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{
		LeadID: 10000 + j.Message.Key.MessageID, ContactID: 20000 + j.Message.Key.MessageID,
	}}
}
