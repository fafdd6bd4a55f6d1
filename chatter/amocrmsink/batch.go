package amocrmsink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/chatterhq/sdk/amocrm"
)

// DefaultBatchWait is how long the first item of a batch waits for others
// when Config.BatchSize > 1 and Config.BatchWait is zero.
const DefaultBatchWait = 150 * time.Millisecond

// batcher collects the items of concurrent callers into one request of at
// most size items. The first caller of a batch starts one goroutine for that
// batch (nothing runs between batches); it waits up to wait, or until the
// batch is full, then sends the batch and hands each caller its own result.
// A batch that is not full also waits while an earlier batch's request is
// in flight (group commit): when requests queue behind amoCRM's rate limit,
// batches grow instead of queueing as many small requests.
//
// The request runs under a context that carries the first caller's values
// and is cancelled only when every caller of the batch has gone: one caller
// giving up does not cancel the others' request. A caller whose context
// ends before the batch is sent is taken out of it; one whose context ends
// while the batch is in flight gets an *amocrm.OutcomeUnknownError for a
// write (it may be applied; its retry looks for it), and its context's
// error for a read.
type batcher[T, R any] struct {
	size   int
	wait   time.Duration
	method string // the request's method: a read (GET) left in flight is no write
	path   string // the request's path, for errors
	// send makes the request(s) for items and returns one result or one
	// error per item.
	send func(ctx context.Context, items []T) ([]R, []error)

	mu       sync.Mutex
	open     *batch[T, R]  // accepting items; nil when none
	inflight int           // requests being sent
	idle     chan struct{} // closed when inflight drops to 0
}

type batch[T, R any] struct {
	calls   []*batchCall[T, R]
	full    chan struct{} // closed when the batch reached size
	gone    chan struct{} // closed when every caller left before sending
	sending bool
	live    int // callers still waiting
	ctx     context.Context
	cancel  context.CancelFunc
}

type batchCall[T, R any] struct {
	item T
	done chan struct{}
	res  R
	err  error
}

// do adds item to the open batch (or opens one) and waits for its result.
func (b *batcher[T, R]) do(ctx context.Context, item T) (R, error) {
	if err := ctx.Err(); err != nil {
		var zero R
		return zero, err
	}
	if b.size <= 1 {
		rs, errs := b.send(ctx, []T{item})
		return rs[0], errs[0]
	}
	c := &batchCall[T, R]{item: item, done: make(chan struct{})}
	b.mu.Lock()
	g := b.open
	if g == nil {
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		g = &batch[T, R]{full: make(chan struct{}), gone: make(chan struct{}), ctx: sctx, cancel: cancel}
		b.open = g
		go b.run(g)
	}
	g.calls = append(g.calls, c)
	g.live++
	if len(g.calls) >= b.size {
		b.open = nil
		close(g.full)
	}
	b.mu.Unlock()

	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	select {
	case <-c.done: // answered meanwhile
		b.mu.Unlock()
		return c.res, c.err
	default:
	}
	sent := g.sending
	if !sent {
		g.calls = slices.DeleteFunc(g.calls, func(x *batchCall[T, R]) bool { return x == c })
	}
	g.live--
	if g.live == 0 {
		if b.open == g {
			b.open = nil
		}
		if !sent {
			close(g.gone)
		}
		g.cancel()
	}
	b.mu.Unlock()
	var zero R
	switch {
	case !sent:
		return zero, ctx.Err()
	case b.method == http.MethodGet:
		// A read changes nothing: giving up on its answer is no outcome
		// to look for.
		return zero, fmt.Errorf("amocrmsink: %s %s: gave up waiting for the answer: %w", b.method, b.path, ctx.Err())
	}
	return zero, &amocrm.OutcomeUnknownError{Method: b.method, Path: b.path, Err: ctx.Err()}
}

// run waits for the batch to fill or its wait to pass, sends it and hands
// out the results.
func (b *batcher[T, R]) run(g *batch[T, R]) {
	defer g.cancel()
	t := time.NewTimer(b.wait)
	select {
	case <-t.C:
	case <-g.full:
	case <-g.gone:
	}
	t.Stop()
	b.mu.Lock()
	for b.inflight > 0 && len(g.calls) > 0 && !isClosed(g.full) && !isClosed(g.gone) {
		// Keep collecting while the previous request is in flight.
		idle := b.idle
		b.mu.Unlock()
		select {
		case <-idle:
		case <-g.full:
		case <-g.gone:
		}
		b.mu.Lock()
	}
	if b.open == g {
		b.open = nil
	}
	g.sending = true
	calls := slices.Clone(g.calls)
	if len(calls) == 0 {
		b.mu.Unlock()
		return
	}
	if b.inflight == 0 {
		b.idle = make(chan struct{})
	}
	b.inflight++
	b.mu.Unlock()
	items := make([]T, len(calls))
	for i, c := range calls {
		items[i] = c.item
	}
	rs, errs := b.send(g.ctx, items)
	b.mu.Lock()
	b.inflight--
	if b.inflight == 0 {
		close(b.idle)
	}
	b.mu.Unlock()
	for i, c := range calls {
		c.res, c.err = rs[i], errs[i]
		close(c.done)
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// sendLeads creates items in one /leads/complex request (at most
// amocrm.MaxComplexBatch) and maps the results back by request_id. A
// validation failure of the whole request is split: items amoCRM (or the
// client's own checks) named fail with their own error and the others are
// sent again; when no item is named they are sent one by one. Any other
// failure (an ambiguous 504, a 429, auth) is every item's error.
func (s *Sink) sendLeads(ctx context.Context, items []*amocrm.ComplexLead) ([]*amocrm.ComplexLeadResult, []error) {
	rs := make([]*amocrm.ComplexLeadResult, len(items))
	errs := make([]error, len(items))
	wire := make([]*amocrm.ComplexLead, len(items))
	for i, it := range items {
		cp := *it
		cp.RequestID = strconv.Itoa(i)
		wire[i] = &cp
	}
	out, resp, err := s.cfg.Client.Leads.CreateComplex(ctx, wire)
	if err == nil {
		s.skew.observe(resp, s.cfg.Now())
		for _, r := range out {
			for _, rid := range r.RequestID {
				if i, perr := strconv.Atoi(rid); perr == nil && i >= 0 && i < len(items) {
					rs[i] = r
				}
			}
		}
		if len(items) == 1 && rs[0] == nil && len(out) == 1 {
			rs[0] = out[0] // a single item answered without a request_id echo
		}
		for i := range items {
			if rs[i] == nil || rs[i].ID == 0 {
				// Sent and answered, but not for this item: it may exist.
				errs[i] = &amocrm.OutcomeUnknownError{Method: "POST", Path: "/api/v4/leads/complex",
					Err: fmt.Errorf("amoCRM returned no lead for request_id %d", i)}
			}
		}
		return rs, errs
	}
	s.splitRetry(ctx, len(items), err, errs, func(idx []int) {
		sub := make([]*amocrm.ComplexLead, len(idx))
		for k, i := range idx {
			sub[k] = items[i]
		}
		srs, serrs := s.sendLeads(ctx, sub)
		for k, i := range idx {
			rs[i], errs[i] = srs[k], serrs[k]
		}
	})
	return rs, errs
}

// sendNotes adds notes to leads in one request (at most amocrm.MaxBatch),
// mapping the results back by request_id, with the same failure handling
// as sendLeads.
func (s *Sink) sendNotes(ctx context.Context, notes []*amocrm.Note) ([]*amocrm.Note, []error) {
	rs := make([]*amocrm.Note, len(notes))
	errs := make([]error, len(notes))
	wire := make([]*amocrm.Note, len(notes))
	for i, n := range notes {
		cp := *n
		cp.RequestID = strconv.Itoa(i)
		wire[i] = &cp
	}
	out, resp, err := s.cfg.Client.Notes.Create(ctx, amocrm.EntityLeads, wire)
	if err == nil {
		s.skew.observe(resp, s.cfg.Now())
		for _, n := range out {
			if i, perr := strconv.Atoi(n.RequestID); perr == nil && i >= 0 && i < len(notes) {
				rs[i] = n
			}
		}
		if len(out) == len(notes) { // no request_id echo: amoCRM keeps the order
			for i, n := range out {
				if rs[i] == nil {
					rs[i] = n
				}
			}
		}
		for i := range notes {
			if rs[i] == nil {
				errs[i] = &amocrm.OutcomeUnknownError{Method: "POST", Path: "/api/v4/leads/notes",
					Err: fmt.Errorf("amoCRM returned no note for request_id %d", i)}
			}
		}
		return rs, errs
	}
	s.splitRetry(ctx, len(notes), err, errs, func(idx []int) {
		sub := make([]*amocrm.Note, len(idx))
		for k, i := range idx {
			sub[k] = notes[i]
		}
		srs, serrs := s.sendNotes(ctx, sub)
		for k, i := range idx {
			rs[i], errs[i] = srs[k], serrs[k]
		}
	})
	return rs, errs
}

// splitRetry handles the failure err of a request for n items. For a
// validation failure of a batch (n > 1) it fails the items named by the
// error and resends the others with resend (as one request when some item
// was named, else one by one); for anything else every item gets err.
//
// It relies on amoCRM applying nothing of a batch it answers 400: its
// validation runs before any entity is written.
func (s *Sink) splitRetry(ctx context.Context, n int, err error, errs []error, resend func(idx []int)) {
	fill := func() {
		for i := range errs {
			errs[i] = err
		}
	}
	if n <= 1 || ctx.Err() != nil {
		fill()
		return
	}
	bad := map[int]error{}
	var inv *amocrm.InvalidRequestError
	var api *amocrm.APIError
	switch {
	case errors.As(err, &inv):
		if inv.Index >= 0 && inv.Index < n {
			bad[inv.Index] = err
		}
	case errors.As(err, &api) && len(api.ValidationErrors) > 0:
		for _, ve := range api.ValidationErrors {
			i, perr := strconv.Atoi(ve.RequestID)
			if perr != nil || i < 0 || i >= n {
				continue
			}
			one := *api
			one.ValidationErrors = []amocrm.ValidationError{ve}
			bad[i] = &one
		}
	default:
		fill()
		return
	}
	s.log.DebugContext(ctx, "amocrm batch rejected, splitting", "items", n, "named", len(bad))
	var rest []int
	for i := range n {
		if e, ok := bad[i]; ok {
			errs[i] = e
		} else {
			rest = append(rest, i)
		}
	}
	switch {
	case len(rest) == 0:
	case len(bad) > 0:
		resend(rest)
	default:
		for _, i := range rest {
			resend([]int{i})
		}
	}
}

// readLeads reads leads by id, with their contacts, in one GET
// /leads?filter[id][]=…&with=contacts request (ids
// repeat when two callers ask for one lead); a lead amoCRM does not list
// (deleted, or never there) is nil. A failure is every item's.
func (s *Sink) readLeads(ctx context.Context, ids []int) ([]*amocrm.Lead, []error) {
	rs := make([]*amocrm.Lead, len(ids))
	errs := make([]error, len(ids))
	uniq := slices.Compact(slices.Sorted(slices.Values(ids)))
	opts := &amocrm.LeadListOptions{With: []string{amocrm.LeadWithContacts},
		Filter: &amocrm.LeadFilter{EntityFilter: amocrm.EntityFilter{IDs: uniq}}}
	opts.Limit = amocrm.MaxLimit
	byID := make(map[int]*amocrm.Lead, len(uniq))
	for l, err := range s.cfg.Client.Leads.ListIter(ctx, opts) {
		if err != nil {
			for i := range errs {
				errs[i] = err
			}
			return rs, errs
		}
		byID[l.ID] = l
	}
	for i, id := range ids {
		rs[i] = byID[id]
	}
	return rs, errs
}
