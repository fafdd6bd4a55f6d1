package amocrmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Paging limits.
const (
	DefaultLimit   = 50  // page size when limit is absent
	MaxLimit       = 250 // larger limits are clamped
	MaxFieldsLimit = 50  // page size cap of custom field lists
	MaxBatch       = 50  // entities per POST/PATCH batch and per /leads/complex request
	MaxComplexCF   = 40  // custom field values per entity in /leads/complex
)

// obj is a JSON object under construction.
type obj = map[string]any

func writeHAL(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, err.Error(), nil)
		return
	}
	w.Header().Set("Content-Type", "application/hal+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeNoContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// vError is one entry of validation-errors[].errors.
type vError struct {
	Code   string `json:"code"`
	Path   string `json:"path"`
	Detail string `json:"detail"`
}

// vGroup is one entry of validation-errors.
type vGroup struct {
	RequestID string   `json:"request_id"`
	Errors    []vError `json:"errors"`
}

type problem struct {
	ValidationErrors []vGroup `json:"validation-errors,omitempty"`
	Title            string   `json:"title"`
	Type             string   `json:"type"`
	Status           int      `json:"status"`
	Detail           string   `json:"detail"`
}

func writeProblem(w http.ResponseWriter, status int, detail string, groups []vGroup) {
	p := problem{
		ValidationErrors: groups,
		Title:            http.StatusText(status),
		Type:             "https://httpstatus.es/" + strconv.Itoa(status),
		Status:           status,
		Detail:           detail,
	}
	b, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeValidation(w http.ResponseWriter, groups []vGroup) {
	writeProblem(w, http.StatusBadRequest, "Request validation failed", groups)
}

// writeHTML answers like amoCRM's nginx gateway does for 403, 429 and 5xx: an
// HTML page and no Retry-After.
func writeHTML(w http.ResponseWriter, status int) {
	text := fmt.Sprintf("%d %s", status, http.StatusText(status))
	if status == http.StatusGatewayTimeout {
		text = "504 Gateway Time-out"
	}
	body := "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text +
		"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Server", "nginx")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func link(href string) obj { return obj{"href": href} }

// paging is the page request of a list call.
type paging struct {
	limit, page int
}

func pagingOf(q url.Values, maxLimit int) paging {
	p := paging{limit: DefaultLimit, page: 1}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		p.limit = n
	}
	if p.limit > maxLimit {
		p.limit = maxLimit
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		p.page = n
	}
	return p
}

// window returns the bounds of the page within total items.
func (p paging) window(total int) (from, to int) {
	from = (p.page - 1) * p.limit
	if from > total || from < 0 {
		return total, total
	}
	to = min(from+p.limit, total)
	return from, to
}

// pageLink returns the list URL of r with page replaced.
func pageLink(r *http.Request, p paging, page int) string {
	q := r.URL.Query()
	q.Set("page", strconv.Itoa(page))
	q.Set("limit", strconv.Itoa(p.limit))
	return baseURL(r) + r.URL.Path + "?" + q.Encode()
}

// writeList answers a paged list: 204 with no body when the page is empty,
// otherwise _page, _links (self, next, first, prev) and _embedded[key];
// withTotal adds _total_items.
func writeList(w http.ResponseWriter, r *http.Request, key string, items []any, p paging, withTotal bool) {
	from, to := p.window(len(items))
	if from >= to {
		writeNoContent(w)
		return
	}
	links := obj{"self": link(pageLink(r, p, p.page))}
	if to < len(items) {
		links["next"] = link(pageLink(r, p, p.page+1))
	}
	if p.page > 1 {
		links["first"] = link(pageLink(r, p, 1))
		links["prev"] = link(pageLink(r, p, p.page-1))
	}
	out := obj{
		"_page":     p.page,
		"_links":    links,
		"_embedded": obj{key: items[from:to]},
	}
	if withTotal {
		out["_total_items"] = len(items)
	}
	writeHAL(w, http.StatusOK, out)
}
