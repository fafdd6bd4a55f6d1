package chattertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

var messageTests = []storeTest{
	{"SaveAccepted", testSaveAccepted},
	{"SaveDuplicate", testSaveDuplicate},
	{"SaveDuplicateConcurrent", testSaveDuplicateConcurrent},
	{"SaveFiltered", testSaveFiltered},
	{"SaveInvalid", testSaveInvalid},
	{"SaveBatch", testSaveBatch},
	{"SaveBatchAtomic", testSaveBatchAtomic},
	{"GetEntryNotFound", testGetEntryNotFound},
	{"RoundTrip", testMessageRoundTrip},
	{"NoAliasing", testMessageNoAliasing},
	{"SaveRejected", testSaveRejected},
	{"SaveRejectedInvalid", testSaveRejectedInvalid},
}

// rejection is a realistic Rejection, with Cyrillic, escapes and a raw
// payload that is not valid JSON.
func rejection() *chatter.Rejection {
	return &chatter.Rejection{
		Field:     "text",
		Reason:    chatter.T("текст не в кодировке UTF-8", "text is not valid UTF-8"),
		Key:       "tgbot:7000000001:-1001:0",
		Raw:       `{"update_id": 5, "message": {"text": "Прив\u00e9т \"ремонт\"", "message_id": 0` + "\uFFFD",
		Truncated: true,
	}
}

// testSaveRejected: a rejected message is on the ledger with its reason and
// message, found by state and class, never delivered, and its key stays
// taken (a later save of the key is a duplicate).
func testSaveRejected(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := fullMessage(ws, -1021021, 1)
	m.Raw = nil // a rejected entry keeps the raw input in the Rejection
	rej := rejection()
	r, err := s.SaveRejected(t.Context(), m, rej)
	require.NoError(t, err)
	if d := cmp.Diff(chatter.AcceptResult{State: chatter.StateRejected}, r); d != "" {
		t.Errorf("SaveRejected (-want +got):\n%s", d)
	}
	e, err := s.GetEntry(t.Context(), ws, m.Key)
	require.NoError(t, err)
	checkMessage(t, "rejected entry message", e.Message, m)
	if d := cmp.Diff(rej, e.Rejection); d != "" {
		t.Errorf("stored rejection (-want +got):\n%s", d)
	}
	got := struct {
		State    chatter.State
		Class    chatter.ErrorClass
		Err      string
		Attempts int
		NextAt   time.Time
	}{e.State, e.ErrorClass, e.LastError, e.Attempts, e.NextAt}
	want := got
	want.State, want.Class, want.Err, want.Attempts, want.NextAt = chatter.StateRejected, chatter.ClassInvalid, rej.Text().EN, 0, time.Time{}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rejected entry (-want +got):\n%s", d)
	}

	again, err := s.SaveRejected(t.Context(), m, rej)
	require.NoError(t, err)
	require.Equal(t, chatter.AcceptResult{Duplicate: true, State: chatter.StateRejected}, again, "SaveRejected again")
	dup := save(t, s, m, accept(0, 3))
	require.Equal(t, chatter.AcceptResult{Duplicate: true, State: chatter.StateRejected}, dup, "SaveMessage of a rejected key")
	queued := NewMessage(ws, -1021021, 2, "")
	save(t, s, queued, accept(0, 3))
	taken := NewMessage(ws, -1021021, 3, "")
	save(t, s, taken, accept(0, 3))
	r, err = s.SaveRejected(t.Context(), taken, rej)
	require.NoError(t, err)
	require.Equal(t, chatter.AcceptResult{Duplicate: true, State: chatter.StateQueued}, r, "SaveRejected of a stored key")

	es, err := s.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, States: []chatter.State{chatter.StateRejected}, WithMessage: true})
	require.NoError(t, err)
	require.Len(t, es, 1)
	if es[0].Key != m.Key || es[0].Rejection == nil || es[0].Rejection.Field != "text" || es[0].Message == nil {
		t.Errorf("listed rejected entry = %+v, want %s with its rejection and message", es[0], m.Key)
	}
	byClass, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, ErrorClass: chatter.ClassInvalid})
	require.NoError(t, err)
	if d := cmp.Diff(map[chatter.State]int{chatter.StateRejected: 1}, byClass); d != "" {
		t.Errorf("CountEntries by class invalid (-want +got):\n%s", d)
	}
	wantErr(t, "Replay(rejected)", s.Replay(t.Context(), ws, m.Key), chatter.ErrConflict)

	var log jobLog
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return deliveredOutcome(j)
	})
	waitEntry(t, s, ws, queued.Key, chatter.StateDelivered)
	waitEntry(t, s, ws, taken.Key, chatter.StateDelivered)
	w.stop(t)
	require.Zero(t, log.count(ws, m.Key), "a rejected message was handed to the WorkFunc")
}

// testSaveRejectedInvalid: SaveRejected still refuses what it cannot store
// (an invalid message, a nil rejection), storing nothing.
func testSaveRejectedInvalid(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	bad := NewMessage(ws, -1022022, 1, "")
	bad.Text = string([]byte{0xff, 0xfe})
	_, err := s.SaveRejected(t.Context(), bad, rejection())
	wantErr(t, "SaveRejected(invalid message)", err, chatter.ErrInvalid)
	_, err = s.SaveRejected(t.Context(), NewMessage(ws, -1022022, 2, ""), nil)
	wantErr(t, "SaveRejected(nil rejection)", err, chatter.ErrInvalid)
	_, err = s.SaveRejected(t.Context(), nil, rejection())
	wantErr(t, "SaveRejected(nil message)", err, chatter.ErrInvalid)
	c, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws})
	require.NoError(t, err)
	require.Empty(t, c, "entries stored by refused SaveRejected calls")
}

func testSaveAccepted(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -1001234567890, 42, "")
	opts := accept(1, 5)
	r := save(t, s, m, opts)
	if r.Duplicate || r.State != chatter.StateQueued {
		t.Errorf("SaveMessage = %+v, want not duplicate, state queued", r)
	}
	e, err := s.GetEntry(t.Context(), ws, m.Key)
	noErr(t, "GetEntry", err)
	if e.Workspace != ws || e.Key != m.Key || e.State != chatter.StateQueued || e.Priority != 1 || e.Attempts != 0 {
		t.Errorf("entry = %+v, want workspace %q, key %v, queued, priority 1, 0 attempts", e, ws, m.Key)
	}
	if !e.Verdict.Accept || e.Verdict.Rule != opts.Verdict.Rule || e.Verdict.Reason != opts.Verdict.Reason ||
		!slices.Equal(e.Verdict.Matched, opts.Verdict.Matched) {
		t.Errorf("entry verdict = %+v, want %+v", e.Verdict, opts.Verdict)
	}
	if e.ReceivedAt.IsZero() || e.UpdatedAt.IsZero() {
		t.Errorf("entry times: received %v updated %v, want both set", e.ReceivedAt, e.UpdatedAt)
	}
	if e.Result != nil || !e.DeliveredAt.IsZero() || e.ErrorClass != "" {
		t.Errorf("new entry has result %+v delivered %v class %q, want none", e.Result, e.DeliveredAt, e.ErrorClass)
	}
	checkMessage(t, "GetEntry", e.Message, m)
}

func testSaveDuplicate(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -100555, 7, "Первый текст")
	if r := save(t, s, m, accept(0, 3)); r.Duplicate {
		t.Fatalf("first SaveMessage: Duplicate = true")
	}
	again := NewMessage(ws, -100555, 7, "Другой текст с тем же ключом")
	r := save(t, s, again, accept(0, 3))
	if !r.Duplicate || r.State != chatter.StateQueued {
		t.Errorf("second SaveMessage = %+v, want duplicate in state queued", r)
	}
	e, err := s.GetEntry(t.Context(), ws, m.Key)
	noErr(t, "GetEntry", err)
	checkMessage(t, "after duplicate", e.Message, m)
	if n, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws}); err != nil || n[chatter.StateQueued] != 1 {
		t.Errorf("CountEntries = %v, %v; want one queued entry", n, err)
	}

	// One job only: a lower-priority sentinel saved afterwards runs after every
	// job of m when there is one worker.
	sentinel := NewMessage(ws, -100555, 8, "")
	save(t, s, sentinel, accept(3, 3))
	var log jobLog
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return deliveredOutcome(j)
	})
	waitEntry(t, s, ws, sentinel.Key, chatter.StateDelivered)
	w.stop(t)
	if n := log.count(ws, m.Key); n != 1 {
		t.Errorf("message saved twice was handed to the worker %d times, want 1", n)
	}
	// A duplicate of a delivered message reports its state and changes nothing.
	r = save(t, s, again, accept(0, 3))
	if !r.Duplicate || r.State != chatter.StateDelivered {
		t.Errorf("SaveMessage after delivery = %+v, want duplicate in state delivered", r)
	}
}

func testSaveDuplicateConcurrent(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	const n = 8
	var wg sync.WaitGroup
	results := make([]chatter.AcceptResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = s.SaveMessage(t.Context(), NewMessage(ws, 777, 1, fmt.Sprintf("попытка %d", i)), accept(0, 3))
		})
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		noErr(t, "concurrent SaveMessage", errs[i])
		if !results[i].Duplicate {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d concurrent saves of one key: %d were not duplicates, want exactly 1", n, fresh)
	}
	counts, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws})
	noErr(t, "CountEntries", err)
	if counts[chatter.StateQueued] != 1 {
		t.Errorf("CountEntries = %v, want 1 queued", counts)
	}
}

func testSaveFiltered(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -100777, 11, "Продам диван, самовывоз")
	v := chatter.Verdict{Accept: false, Rule: "-продам", Matched: []string{"продам"}, Reason: "minus word"}
	r, err := s.SaveMessage(t.Context(), m, chatter.AcceptOptions{Verdict: v})
	noErr(t, "SaveMessage filtered", err)
	if r.Duplicate || r.State != chatter.StateFiltered {
		t.Errorf("SaveMessage = %+v, want state filtered", r)
	}
	e, err := s.GetEntry(t.Context(), ws, m.Key)
	noErr(t, "GetEntry", err)
	if e.State != chatter.StateFiltered || e.Verdict.Accept || e.Verdict.Rule != v.Rule || e.Verdict.Reason != v.Reason ||
		!slices.Equal(e.Verdict.Matched, v.Matched) {
		t.Errorf("entry = state %s verdict %+v, want filtered with %+v", e.State, e.Verdict, v)
	}
	checkMessage(t, "filtered entry", e.Message, m)
	if r := save(t, s, m, chatter.AcceptOptions{Verdict: v}); !r.Duplicate || r.State != chatter.StateFiltered {
		t.Errorf("saving the filtered message again = %+v, want duplicate, filtered", r)
	}
	// No delivery: the worker never sees it, and Replay refuses it.
	sentinel := NewMessage(ws, -100777, 12, "")
	save(t, s, sentinel, accept(3, 3))
	var log jobLog
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return deliveredOutcome(j)
	})
	waitEntry(t, s, ws, sentinel.Key, chatter.StateDelivered)
	w.stop(t)
	if n := log.count(ws, m.Key); n != 0 {
		t.Errorf("filtered message was handed to the worker %d times, want 0", n)
	}
	wantErr(t, "Replay(filtered)", s.Replay(t.Context(), ws, m.Key), chatter.ErrConflict)
	if e, err := s.GetEntry(t.Context(), ws, m.Key); err != nil || e.State != chatter.StateFiltered {
		t.Errorf("filtered entry after Work = %v, %v; want still filtered", e, err)
	}
}

func testSaveInvalid(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	bad := func(f func(m *chatter.Message)) *chatter.Message {
		m := NewMessage(ws, -100999, 5, "")
		f(m)
		return m
	}
	attachments := make([]chatter.Attachment, chatter.MaxAttachments+1)
	for i := range attachments {
		attachments[i] = chatter.Attachment{Kind: chatter.AttachPhoto, FileID: fmt.Sprint(i)}
	}
	cases := []struct {
		name string
		m    *chatter.Message
		opts chatter.AcceptOptions
	}{
		{"nil message", nil, accept(0, 3)},
		{"no workspace", bad(func(m *chatter.Message) { m.Workspace = "" }), accept(0, 3)},
		{"no source", bad(func(m *chatter.Message) { m.Key.Source = "" }), accept(0, 3)},
		{"source with colon", bad(func(m *chatter.Message) { m.Key.Source = "tg:bot" }), accept(0, 3)},
		{"no account", bad(func(m *chatter.Message) { m.Key.Account = "" }), accept(0, 3)},
		{"no chat id", bad(func(m *chatter.Message) { m.Key.ChatID = 0; m.Chat.ID = 0 }), accept(0, 3)},
		{"no message id", bad(func(m *chatter.Message) { m.Key.MessageID = 0 }), accept(0, 3)},
		{"negative revision", bad(func(m *chatter.Message) { m.Key.Revision = -1 }), accept(0, 3)},
		{"chat differs from key", bad(func(m *chatter.Message) { m.Chat.ID = -42 }), accept(0, 3)},
		{"no time", bad(func(m *chatter.Message) { m.Time = time.Time{} }), accept(0, 3)},
		{"invalid UTF-8 text", bad(func(m *chatter.Message) { m.Text = "Заявка \xff\xfe на ремонт" }), accept(0, 3)},
		{"invalid UTF-8 sender", bad(func(m *chatter.Message) { m.Sender.FirstName = "Ир\xc3\x28ина" }), accept(0, 3)},
		{"oversized text", bad(func(m *chatter.Message) { m.Text = strings.Repeat("ж", chatter.MaxTextBytes/2+1) }), accept(0, 3)},
		{"raw not JSON", bad(func(m *chatter.Message) { m.Raw = []byte(`{"update_id": 1`) }), accept(0, 3)},
		{"oversized raw", bad(func(m *chatter.Message) {
			m.Raw = []byte(`"` + strings.Repeat("a", chatter.MaxRawBytes) + `"`)
		}), accept(0, 3)},
		{"too many attachments", bad(func(m *chatter.Message) { m.Attachments = attachments }), accept(0, 3)},
		{"priority below 0", NewMessage(ws, -100999, 5, ""), accept(-1, 3)},
		{"priority above 3", NewMessage(ws, -100999, 5, ""), accept(4, 3)},
		{"negative max attempts", NewMessage(ws, -100999, 5, ""), accept(0, -1)},
	}
	for _, tc := range cases {
		_, err := s.SaveMessage(t.Context(), tc.m, tc.opts)
		if !errors.Is(err, chatter.ErrInvalid) {
			t.Errorf("SaveMessage(%s): error %v, want one wrapping ErrInvalid", tc.name, err)
		}
		if tc.m != nil && tc.m.Key.Validate() == nil && tc.m.Workspace != "" {
			if _, err := s.GetEntry(t.Context(), tc.m.Workspace, tc.m.Key); !errors.Is(err, chatter.ErrNotFound) {
				t.Errorf("after SaveMessage(%s): GetEntry error %v, want ErrNotFound", tc.name, err)
			}
		}
	}
	counts, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws})
	noErr(t, "CountEntries", err)
	if total(counts) != 0 {
		t.Errorf("after invalid saves CountEntries = %v, want nothing stored", counts)
	}
	// The same key, valid this time, is stored normally.
	if r := save(t, s, NewMessage(ws, -100999, 5, ""), accept(0, 3)); r.Duplicate || r.State != chatter.StateQueued {
		t.Errorf("valid save after invalid ones = %+v, want fresh queued", r)
	}
}

func total[K comparable](m map[K]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func testSaveBatch(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	if res, err := s.SaveMessages(t.Context(), nil, nil); err != nil || len(res) != 0 {
		t.Errorf("SaveMessages(empty) = %v, %v; want no results, no error", res, err)
	}
	a, b, c := NewMessage(ws, -1001, 1, ""), NewMessage(ws, -1001, 2, "Продам гараж"), NewMessage(ws, 5005, 3, "")
	save(t, s, c, accept(0, 3)) // stored before: a duplicate inside the batch
	ms := []*chatter.Message{a, b, c, NewMessage(ws, -1001, 1, "повтор a в той же пачке")}
	opts := []chatter.AcceptOptions{accept(2, 3), {Verdict: chatter.Verdict{Reason: "no keyword"}}, accept(0, 3), accept(0, 3)}
	res, err := s.SaveMessages(t.Context(), ms, opts)
	noErr(t, "SaveMessages", err)
	want := []chatter.AcceptResult{
		{State: chatter.StateQueued},
		{State: chatter.StateFiltered},
		{Duplicate: true, State: chatter.StateQueued},
		{Duplicate: true, State: chatter.StateQueued},
	}
	if !slices.Equal(res, want) {
		t.Errorf("SaveMessages results = %+v, want %+v", res, want)
	}
	for _, m := range []*chatter.Message{a, b, c} {
		e, err := s.GetEntry(t.Context(), ws, m.Key)
		noErr(t, "GetEntry", err)
		checkMessage(t, "batch entry "+m.Key.String(), e.Message, m)
	}
	if e, _ := s.GetEntry(t.Context(), ws, a.Key); e != nil && e.Priority != 2 {
		t.Errorf("batch entry priority = %d, want 2", e.Priority)
	}
}

func testSaveBatchAtomic(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	good1, good2 := NewMessage(ws, -2002, 1, ""), NewMessage(ws, -2002, 3, "")
	badMsg := NewMessage(ws, -2002, 2, "")
	badMsg.Text = "битый \xff текст"
	_, err := s.SaveMessages(t.Context(), []*chatter.Message{good1, badMsg, good2},
		[]chatter.AcceptOptions{accept(0, 3), accept(0, 3), accept(0, 3)})
	wantErr(t, "SaveMessages with an invalid message", err, chatter.ErrInvalid)
	_, err = s.SaveMessages(t.Context(), []*chatter.Message{good1, good2},
		[]chatter.AcceptOptions{accept(0, 3), accept(9, 3)})
	wantErr(t, "SaveMessages with invalid options", err, chatter.ErrInvalid)
	_, err = s.SaveMessages(t.Context(), []*chatter.Message{good1, good2}, []chatter.AcceptOptions{accept(0, 3)})
	wantErr(t, "SaveMessages with fewer options than messages", err, chatter.ErrInvalid)
	for _, m := range []*chatter.Message{good1, badMsg, good2} {
		if _, err := s.GetEntry(t.Context(), ws, m.Key); !errors.Is(err, chatter.ErrNotFound) {
			t.Errorf("after failed batch: GetEntry(%s) error %v, want ErrNotFound", m.Key, err)
		}
	}
	counts, err := s.CountEntries(t.Context(), chatter.LedgerQuery{Workspace: ws})
	noErr(t, "CountEntries", err)
	if total(counts) != 0 {
		t.Errorf("after failed batch CountEntries = %v, want nothing", counts)
	}
	// Nothing was enqueued either: a worker finds no job.
	var log jobLog
	sentinel := NewMessage(ws, -2002, 9, "")
	save(t, s, sentinel, accept(3, 3))
	w := startWork(t, s, chatter.QueueConfig{Workers: 1}, func(_ context.Context, j *chatter.Job) chatter.Outcome {
		log.add(j)
		return deliveredOutcome(j)
	})
	waitEntry(t, s, ws, sentinel.Key, chatter.StateDelivered)
	w.stop(t)
	if jobs := log.all(); len(jobs) != 1 {
		t.Errorf("worker ran %d jobs after a failed batch, want only the sentinel", len(jobs))
	}
}

func testGetEntryNotFound(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := NewMessage(ws, -3003, 1, "")
	save(t, s, m, accept(0, 3))
	other := m.Key
	other.MessageID = 2
	_, err := s.GetEntry(t.Context(), ws, other)
	wantErr(t, "GetEntry(unknown message id)", err, chatter.ErrNotFound)
	rev := m.Key
	rev.Revision = 1741950000
	_, err = s.GetEntry(t.Context(), ws, rev)
	wantErr(t, "GetEntry(other revision)", err, chatter.ErrNotFound)
	_, err = s.GetEntry(t.Context(), "ws-other", m.Key)
	wantErr(t, "GetEntry(other workspace)", err, chatter.ErrNotFound)
}

func testMessageRoundTrip(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := fullMessage(ws, -1001987654321, 314)
	save(t, s, m, accept(0, 3))
	e, err := s.GetEntry(t.Context(), ws, m.Key)
	noErr(t, "GetEntry", err)
	checkMessage(t, "GetEntry", e.Message, m)
	// An edit is another key: both revisions are stored.
	orig := fullMessage(ws, -1001987654321, 314)
	orig.Key.Revision, orig.Edited = 0, false
	if r := save(t, s, orig, accept(0, 3)); r.Duplicate {
		t.Errorf("the unedited revision was reported as a duplicate of the edit")
	}
	list, err := s.ListEntries(t.Context(), chatter.LedgerQuery{Workspace: ws, WithMessage: true})
	noErr(t, "ListEntries", err)
	if len(list) != 2 {
		t.Fatalf("ListEntries returned %d entries, want 2", len(list))
	}
	for _, e := range list {
		want := m
		if e.Key == orig.Key {
			want = orig
		}
		checkMessage(t, "ListEntries(WithMessage)", e.Message, want)
	}
}

func testMessageNoAliasing(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	m := fullMessage(ws, -4004, 1)
	want := fullMessage(ws, -4004, 1)
	opts := accept(0, 3)
	save(t, s, m, opts)
	m.Text = "изменено после сохранения"
	m.Attachments[0].Name = "изменено"
	m.Raw[2] = 'X'
	opts.Verdict.Matched[0] = "изменено"
	e, err := s.GetEntry(t.Context(), ws, want.Key)
	noErr(t, "GetEntry", err)
	checkMessage(t, "after caller mutated its message", e.Message, want)
	if e.Verdict.Matched[0] != "ремонт" {
		t.Errorf("verdict changed with the caller's slice: %v", e.Verdict.Matched)
	}
	e.Message.Text = "изменено в выдаче"
	e.Message.Attachments[1].Name = "изменено"
	e.Message.Raw[3] = 'Y'
	e.Verdict.Matched[0] = "изменено"
	e2, err := s.GetEntry(t.Context(), ws, want.Key)
	noErr(t, "GetEntry again", err)
	checkMessage(t, "after caller mutated a returned entry", e2.Message, want)
	if e2.Verdict.Matched[0] != "ремонт" {
		t.Errorf("verdict changed with a returned slice: %v", e2.Verdict.Matched)
	}
}
