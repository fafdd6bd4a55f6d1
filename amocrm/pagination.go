package amocrm

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxLimit is the largest page size amoCRM honours.
const MaxLimit = 250

// MaxBatch is the largest number of entities sent in one write request.
const MaxBatch = 50

// ListOptions are the paging parameters of list methods.
type ListOptions struct {
	// Page is the 1-based page number. Zero means the first page.
	Page int
	// Limit is the page size, at most MaxLimit (larger values are capped).
	// Zero means amoCRM's default (50).
	Limit int
}

func (o ListOptions) encode(q url.Values, maxLimit int) {
	if o.Page > 0 {
		q.Set("page", strconv.Itoa(o.Page))
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(min(o.Limit, maxLimit)))
	}
}

// Order sorts a list: Field is "created_at", "updated_at" or "id".
type Order struct {
	Field string
	Desc  bool
}

func (o *Order) encode(q url.Values) {
	if o == nil || o.Field == "" {
		return
	}
	dir := "asc"
	if o.Desc {
		dir = "desc"
	}
	q.Set("order["+o.Field+"]", dir)
}

// Range is an inclusive numeric range filter; a zero bound is omitted.
type Range struct {
	From, To int
}

// TimeRange is an inclusive time range filter; a zero bound is omitted.
type TimeRange struct {
	From, To time.Time
}

func encodeInts(q url.Values, key string, ids []int) {
	for _, id := range ids {
		q.Add(key+"[]", strconv.Itoa(id))
	}
}

func encodeRange(q url.Values, key string, r *Range) {
	if r == nil {
		return
	}
	if r.From != 0 {
		q.Set(key+"[from]", strconv.Itoa(r.From))
	}
	if r.To != 0 {
		q.Set(key+"[to]", strconv.Itoa(r.To))
	}
}

func encodeTimeRange(q url.Values, key string, r *TimeRange) {
	if r == nil {
		return
	}
	if !r.From.IsZero() {
		q.Set(key+"[from]", strconv.FormatInt(r.From.Unix(), 10))
	}
	if !r.To.IsZero() {
		q.Set(key+"[to]", strconv.FormatInt(r.To.Unix(), 10))
	}
}

func encodeWith(q url.Values, with []string) {
	if len(with) > 0 {
		q.Set("with", strings.Join(with, ","))
	}
}

func mergeValues(q, extra url.Values) {
	for k, vs := range extra {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
}

// pageEnvelope is a HAL list body: {_page, _links, _embedded{<key>: [...]}}.
type pageEnvelope[T any] struct {
	Page     flexInt          `json:"_page"`
	Links    *Links           `json:"_links"`
	Embedded embeddedItems[T] `json:"_embedded"`
}

// embeddedItems decodes the list under key in _embedded (or the first
// array when key is empty).
type embeddedItems[T any] struct {
	key   string
	items []T
}

func (e *embeddedItems[T]) UnmarshalJSON(b []byte) error {
	if !isJSON(b) || b[0] != '{' {
		return nil // null, [] (PHP empty object)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	raw, ok := m[e.key]
	if !ok && e.key == "" {
		for _, v := range m {
			if isJSON(v) && v[0] == '[' {
				raw, ok = v, true
				break
			}
		}
	}
	if !ok {
		return nil
	}
	return unmarshalLenient(raw, &e.items)
}

// nextPage extracts the page number of a _links.next href.
func nextPage(l *Links) int {
	if l == nil || l.Next == nil || l.Next.Href == "" {
		return 0
	}
	u, err := url.Parse(l.Next.Href)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(u.Query().Get("page"))
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// getList fetches one page of a list; a 204 is an empty page.
func getList[T any](ctx context.Context, c *Client, path, key string, q url.Values, hdr http.Header) ([]T, *Response, error) {
	req := &request{method: http.MethodGet, path: path, query: q, header: hdr}
	env := pageEnvelope[T]{Embedded: embeddedItems[T]{key: key}}
	resp, err := c.do(ctx, req, &env)
	if err != nil {
		return nil, resp, err
	}
	resp.Page = int(env.Page)
	if resp.StatusCode == http.StatusNoContent {
		return []T{}, resp, nil
	}
	if resp.Page == 0 {
		if p, _ := strconv.Atoi(q.Get("page")); p > 0 {
			resp.Page = p
		} else {
			resp.Page = 1
		}
	}
	resp.NextPage = nextPage(env.Links)
	if resp.NextPage <= resp.Page {
		resp.NextPage = 0 // never loop on a bad link
	}
	if env.Embedded.items == nil {
		env.Embedded.items = []T{}
	}
	return env.Embedded.items, resp, nil
}

// iterate walks pages from start until a page has no next link, is empty,
// or answers 204. It stops at the first error (yielding it once).
func iterate[T any](ctx context.Context, start int, fetch func(ctx context.Context, page int) ([]T, *Response, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		page := max(start, 1)
		for {
			items, resp, err := fetch(ctx, page)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if len(items) == 0 || resp == nil || resp.NextPage == 0 {
				return
			}
			page = resp.NextPage
		}
	}
}

// getOne fetches a single entity; a 204 means not found.
func getOne[T any](ctx context.Context, c *Client, path string, q url.Values) (*T, *Response, error) {
	req := &request{method: http.MethodGet, path: path, query: q}
	v := new(T)
	resp, err := c.do(ctx, req, v)
	if err != nil {
		return nil, resp, err
	}
	if resp.StatusCode == http.StatusNoContent {
		return nil, resp, &NotFoundError{&APIError{StatusCode: http.StatusNoContent, Method: req.method, Path: path,
			Detail: "no content", RequestID: resp.RequestID}}
	}
	return v, resp, nil
}

// writeList sends items (at most MaxBatch) and decodes _embedded[key].
func writeList[T any](ctx context.Context, c *Client, method, path, key string, items []T) ([]T, *Response, error) {
	req, err := c.newRequest(method, path, nil, items)
	if err != nil {
		return nil, nil, err
	}
	env := pageEnvelope[T]{Embedded: embeddedItems[T]{key: key}}
	resp, err := c.do(ctx, req, &env)
	if err != nil {
		return nil, resp, err
	}
	return env.Embedded.items, resp, nil
}

// writeChunked sends items in chunks of MaxBatch, in order. On failure it
// returns the results so far and a *BatchError.
func writeChunked[T any](ctx context.Context, c *Client, method, path, key string, items []T) ([]T, *Response, error) {
	if len(items) == 0 {
		return nil, nil, &InvalidRequestError{Index: -1, Reason: "nothing to send"}
	}
	out := make([]T, 0, len(items))
	var resp *Response
	for start := 0; start < len(items); start += MaxBatch {
		end := min(start+MaxBatch, len(items))
		res, r, err := writeList(ctx, c, method, path, key, items[start:end])
		if r != nil {
			resp = r
		}
		if err != nil {
			if len(items) <= MaxBatch {
				return out, resp, err
			}
			return out, resp, &BatchError{Done: start, Err: err}
		}
		out = append(out, res...)
	}
	return out, resp, nil
}

// Chunk splits items into consecutive slices of at most size elements
// (sharing items' backing array). size < 1 means MaxBatch.
func Chunk[T any](items []T, size int) [][]T {
	if size < 1 {
		size = MaxBatch
	}
	var out [][]T
	for start := 0; start < len(items); start += size {
		out = append(out, items[start:min(start+size, len(items))])
	}
	return out
}
