package amocrmtest

import (
	"strconv"
	"strings"
	"time"
)

// searchDoc is what query= sees of a record as of one write: its id, names
// and custom field values, searchable from visibleAt on.
type searchDoc struct {
	visibleAt                 time.Time
	id                        int64
	name, firstName, lastName string
	cf                        []FieldValues
}

func docOf(r *record, visibleAt time.Time) searchDoc {
	return searchDoc{visibleAt: visibleAt, id: r.id, name: r.name, firstName: r.firstName,
		lastName: r.lastName, cf: cloneFieldValues(r.cf)}
}

// SetSearchLag changes the search lag (see WithSearchLag) for the writes made
// from now on; a write already made keeps the time it becomes searchable.
func (s *Server) SetSearchLag(lag time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.searchLag = max(lag, 0)
}

// SearchLag returns the search lag (see WithSearchLag).
func (s *Server) SearchLag() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.searchLag
}

// indexed records that r was just written through the API (before is r as it
// was, nil for a new record): with a search lag the new version becomes what
// query= sees only lag from now. Called with s.mu held, after every API
// create or update of a lead, contact or company.
func (c *call) indexed(r, before *record) {
	lag := c.s.searchLag
	if lag <= 0 {
		// Searchable at once: the live record is what query= sees (this
		// also settles versions still pending from an earlier lag).
		r.search = nil
		return
	}
	if r.search == nil && before != nil {
		// The record was searchable as it was before this write: keep that
		// version visible until the new one is indexed.
		r.search = []searchDoc{docOf(before, time.Time{})}
	}
	// Drop the versions a later one already visible supersedes.
	keep := 0
	for i := range r.search {
		if !r.search[i].visibleAt.After(c.now) {
			keep = i
		}
	}
	r.search = append(r.search[keep:len(r.search):len(r.search)], docOf(r, c.now.Add(lag)))
}

// searchable returns the version of r that query= sees at now.
func (r *record) searchable(now time.Time) (searchDoc, bool) {
	if r.search == nil {
		return docOf(r, time.Time{}), true
	}
	for i := len(r.search) - 1; i >= 0; i-- {
		if !r.search[i].visibleAt.After(now) {
			return r.search[i], true
		}
	}
	return searchDoc{}, false
}

// matchQuery implements query=: a case-insensitive substring match over the id,
// names and every custom field value of the version of r the search index
// holds at now; a query of five or more digits also matches phone numbers by
// their digits ("+7 912 345-67-89" is found by "9123456789" and by
// "89123456789").
func matchQuery(r *record, query string, now time.Time) bool {
	d, ok := r.searchable(now)
	if !ok {
		return false
	}
	lq := strings.ToLower(query)
	if strconv.FormatInt(d.id, 10) == query {
		return true
	}
	for _, s := range []string{d.name, d.firstName, d.lastName} {
		if s != "" && strings.Contains(strings.ToLower(s), lq) {
			return true
		}
	}
	qd := digits(query)
	phoneLike := len(qd) >= 5 && len(qd)*2 >= len(strings.TrimSpace(query))
	for _, fv := range d.cf {
		for _, v := range fv.Values {
			s := valueString(v.Value)
			if strings.Contains(strings.ToLower(s), lq) {
				return true
			}
			if phoneLike && strings.EqualFold(fv.FieldCode, "PHONE") {
				vd := digits(s)
				if strings.Contains(vd, qd) || (len(qd) >= 10 && phoneKey(vd) == phoneKey(qd)) {
					return true
				}
			}
		}
	}
	return false
}
