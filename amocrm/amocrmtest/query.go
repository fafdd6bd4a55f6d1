package amocrmtest

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// splitKey splits a PHP-style bracketed query key such as
// "filter[statuses][0][pipeline_id]" into its parts ("filter", "statuses", "0",
// "pipeline_id"). An empty part ("filter[id][]") means "append". A key that is not
// well formed (an unclosed "[", text after "]" that does not open a new bracket)
// is returned whole as a single part, as PHP treats it as a plain name.
func splitKey(key string) []string {
	i := strings.IndexByte(key, '[')
	if i <= 0 {
		return []string{key}
	}
	parts := []string{key[:i]}
	rest := key[i:]
	for rest != "" {
		if rest[0] != '[' {
			return []string{key}
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return []string{key}
		}
		inner := rest[1:j]
		if strings.ContainsAny(inner, "[") {
			return []string{key}
		}
		parts = append(parts, inner)
		rest = rest[j+1:]
	}
	return parts
}

// joinKey is the inverse of splitKey for keys it splits into several parts.
func joinKey(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(parts[0])
	for _, p := range parts[1:] {
		b.WriteString("[" + p + "]")
	}
	return b.String()
}

// qnode is a node of a parsed bracketed query: values set directly on the key and
// child nodes by bracket part.
type qnode struct {
	vals []string
	kids map[string]*qnode
	seq  int // counter for "[]" parts
}

func (n *qnode) child(name string) *qnode {
	if n == nil {
		return nil
	}
	return n.kids[name]
}

// path walks down the tree; a missing part yields nil.
func (n *qnode) path(parts ...string) *qnode {
	for _, p := range parts {
		n = n.child(p)
	}
	return n
}

// all returns the values of the node and, recursively, of its children in key
// order, so "f[id]=1", "f[id][]=1" and "f[id][0]=1" all yield ["1"].
func (n *qnode) all() []string {
	if n == nil {
		return nil
	}
	out := append([]string(nil), n.vals...)
	for _, k := range n.sortedKids() {
		out = append(out, n.kids[k].all()...)
	}
	return out
}

func (n *qnode) sortedKids() []string {
	keys := make([]string, 0, len(n.kids))
	for k := range n.kids {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, errA := strconv.Atoi(keys[i])
		b, errB := strconv.Atoi(keys[j])
		if errA == nil && errB == nil {
			return a < b
		}
		return keys[i] < keys[j]
	})
	return keys
}

// first returns the first value of the node, or "".
func (n *qnode) first() string {
	v := n.all()
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// parseQuery parses a raw query string into a bracket tree. Malformed escapes are
// skipped, like url.ParseQuery does.
func parseQuery(raw string) *qnode {
	vals, _ := url.ParseQuery(raw)
	root := &qnode{}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts := splitKey(k)
		for _, v := range vals[k] {
			n := root
			for _, p := range parts {
				if p == "" {
					p = fmt.Sprintf("\x00%08d", n.seq)
					n.seq++
				}
				if n.kids == nil {
					n.kids = map[string]*qnode{}
				}
				c := n.kids[p]
				if c == nil {
					c = &qnode{}
					n.kids[p] = c
				}
				n = c
			}
			n.vals = append(n.vals, v)
		}
	}
	return root
}

// ints parses the values of n as int64s, skipping the ones that are not numbers
// and splitting comma-separated lists.
func ints(n *qnode) []int64 {
	var out []int64
	for _, v := range n.all() {
		for _, s := range strings.Split(v, ",") {
			if id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
				out = append(out, id)
			}
		}
	}
	return out
}

// intRange reads n[from] and n[to]; a plain value is both bounds.
func intRange(n *qnode) (from, to int64, ok bool) {
	if n == nil {
		return 0, 0, false
	}
	from, to = -1<<63, 1<<63-1
	if v, err := strconv.ParseInt(n.child("from").first(), 10, 64); err == nil {
		from, ok = v, true
	}
	if v, err := strconv.ParseInt(n.child("to").first(), 10, 64); err == nil {
		to, ok = v, true
	}
	if !ok && len(n.vals) > 0 {
		if v, err := strconv.ParseInt(n.vals[0], 10, 64); err == nil {
			return v, v, true
		}
	}
	return from, to, ok
}

// withSet parses the with= parameter.
func withSet(q *qnode) map[string]bool {
	out := map[string]bool{}
	for _, v := range q.child("with").all() {
		for _, w := range strings.Split(v, ",") {
			if w = strings.TrimSpace(w); w != "" {
				out[w] = true
			}
		}
	}
	return out
}
