package fieldmap

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/amocrm"
)

// reuseSpec has everything ApplyInto reuses, each present or absent by the
// record: optional fields, a multi-value PHONE from two sources, a contact,
// a company and a note under conditions, and tags.
const reuseSpec = `
lead:
  name: '{{ sender.first_name | default "Клиент" }}: {{ chat.title | default "чат" }}'
  tags: ['{{ chat.title }}']
  fields:
    - {id: 1, type: text, value: {from: chat.title}, optional: true}
    - {id: 2, type: text, value: {from: sender.username}, optional: true}
    - {id: 3, type: textarea, value: {from: text}}
    - {id: 4, type: url, value: {from: link}, optional: true}
    - {id: 5, type: date_time, value: {from: time}, optional: true}
    - {id: 6, type: multiselect, values: [{from: tags}], optional: true}
contact:
  when: 'sender.phone || sender.username || sender.first_name'
  name: '{{ sender.first_name }} {{ sender.last_name }}'
  tags: ['{{ sender.username }}']
  fields:
    - code: PHONE
      enum: MOB
      values: [{from: sender.phone}, '{{ text | find_phone }}']
      optional: true
    - {id: 9, type: text, value: {from: sender.username}, optional: true}
company:
  when: 'chat.type | ne "private"'
  name: {from: chat.title}
  fields:
    - {id: 11, type: text, value: {from: chat.type}, optional: true}
note:
  when: 'link'
  text: '{{ text }} {{ link }}'
`

// reuseRecords are records of different shapes: more and fewer fields,
// with and without contact, company and note, and one with problems.
func reuseRecords() []MapRecord {
	full := benchRecord()
	full["tags"] = []any{"10", "20", "30"}
	return []MapRecord{
		full,
		{"text": "имя без полей", "sender": map[string]any{"first_name": "Олег"}},
		{"text": "только текст"},
		{"text": "звоните 8 903 000-00-00", "sender": map[string]any{"phone": "+7 916 123 45 67", "first_name": "Анна"},
			"chat": map[string]any{"type": "private", "title": "ЛС"}},
		{"text": "x", "link": "notaurl", "time": "вчера"}, // problems
		{"text": "компания", "chat": map[string]any{"type": "group"}, "link": "https://example.com/a", "tags": []any{"7"}},
		benchRecord(),
		{"text": "сам", "sender": map[string]any{"username": "u2"}},
	}
}

func mustMapper(t testing.TB, spec string) *Mapper {
	t.Helper()
	s, err := ParseSpec([]byte(spec), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkSame fails unless ApplyInto's outcome (res, err) is what Apply
// returned (want, werr): the same problems, or the same result.
func checkSame(t *testing.T, what string, want *Result, werr error, res *Result, err error) {
	t.Helper()
	if (werr == nil) != (err == nil) {
		t.Fatalf("%s: Apply error %v, ApplyInto error %v", what, werr, err)
	}
	if werr != nil {
		if !reflect.DeepEqual(ProblemsOf(werr), ProblemsOf(err)) {
			t.Fatalf("%s: problems differ:\nApply     %v\nApplyInto %v", what, ProblemsOf(werr), ProblemsOf(err))
		}
		if res.Lead.Lead != nil || res.Lead.Contact != nil || res.Lead.Company != nil || res.Lead.Tags != nil || res.Note != nil {
			t.Fatalf("%s: ApplyInto left a result after an error: %+v", what, res)
		}
		return
	}
	if !reflect.DeepEqual(want.Lead, res.Lead) || !reflect.DeepEqual(want.Note, res.Note) || !reflect.DeepEqual(want.Warnings, res.Warnings) {
		t.Fatalf("%s: results differ:\nApply     %s\nApplyInto %s", what, resultJSON(t, want), resultJSON(t, res))
	}
	if a, b := resultJSON(t, want), resultJSON(t, res); a != b {
		t.Fatalf("%s: JSON differs:\nApply     %s\nApplyInto %s", what, a, b)
	}
	checkNoStaleTail(t, what, res)
}

func resultJSON(t testing.TB, r *Result) string {
	t.Helper()
	b, err := json.Marshal(struct {
		Lead     amocrm.ComplexLead
		Note     *amocrm.Note
		Warnings Problems
	}{r.Lead, r.Note, r.Warnings})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkNoStaleTail fails when the reused arrays keep values of an earlier
// call beyond what the last call used (they would never be collected).
func checkNoStaleTail(t *testing.T, what string, r *Result) {
	t.Helper()
	if r.reuse == nil {
		t.Fatalf("%s: ApplyInto kept no storage", what)
	}
	for i, v := range r.reuse.vals[len(r.reuse.vals):cap(r.reuse.vals)] {
		if !reflect.ValueOf(v).IsZero() {
			t.Fatalf("%s: stale value %d beyond the used ones: %+v", what, len(r.reuse.vals)+i, v)
		}
	}
	for i, cv := range r.reuse.cfv[len(r.reuse.cfv):cap(r.reuse.cfv)] {
		if !reflect.ValueOf(cv).IsZero() {
			t.Fatalf("%s: stale entry %d beyond the used ones: %+v", what, len(r.reuse.cfv)+i, cv)
		}
	}
	for i, w := range r.reuse.warns[len(r.reuse.warns):cap(r.reuse.warns)] {
		if !reflect.ValueOf(w).IsZero() {
			t.Fatalf("%s: stale warning %d beyond the used ones: %+v", what, len(r.reuse.warns)+i, w)
		}
	}
}

// TestApplyIntoReuseMatchesApply reuses one Result across records of every
// shape, in both orders, for several specs, and checks that each ApplyInto
// gives exactly what Apply gives (round-robin advances in step: two
// mappers compiled from the same spec).
func TestApplyIntoReuseMatchesApply(t *testing.T) {
	recs := reuseRecords()
	msg := loadMessage(t)
	private := loadMessage(t)
	private["chat"] = map[string]any{"id": 5, "type": "private", "title": "VIP"}
	private["text"] = "хочу купить"
	bad := loadMessage(t)
	bad["sender"] = map[string]any{"id": 1, "phone": "позвоните"}
	bad["time"] = "вчера"
	noPhone := loadMessage(t)
	noPhone["sender"] = map[string]any{"id": 2, "username": "p"}
	noPhone["text"] = "без телефона"
	delete(noPhone, "link")
	example := []MapRecord{msg, private, bad, noPhone, msg}

	cases := []struct {
		name string
		mk   func(t *testing.T) *Mapper
		recs []MapRecord
	}{
		{"reuse", func(t *testing.T) *Mapper { return mustMapper(t, reuseSpec) }, recs},
		{"bench10", func(t *testing.T) *Mapper { return mustMapper(t, bench10) }, recs},
		{"example", func(t *testing.T) *Mapper { return exampleMapper(t) }, example},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ma, mb := c.mk(t), c.mk(t)
			var res Result // zero Result, then reused
			order := append(append([]MapRecord{}, c.recs...), reversed(c.recs)...)
			ok := 0
			for i, rec := range order {
				want, werr := ma.Apply(rec)
				err := mb.ApplyInto(rec, &res)
				checkSame(t, fmt.Sprintf("record %d", i), want, werr, &res, err)
				if err == nil {
					ok++
				}
			}
			if ok < 2 {
				t.Fatalf("only %d records mapped: the test checks little", ok)
			}
		})
	}
}

func reversed(rs []MapRecord) []MapRecord {
	out := make([]MapRecord, 0, len(rs))
	for i := len(rs) - 1; i >= 0; i-- {
		out = append(out, rs[i])
	}
	return out
}

// TestApplyIntoNoLeaks checks explicitly what a stale value would look like:
// after a full record, a record without contact, company, note, tags and
// optional fields must leave them all out.
func TestApplyIntoNoLeaks(t *testing.T) {
	m := mustMapper(t, reuseSpec)
	var res Result
	full := reuseRecords()[0]
	full["link"] = "https://example.com/x"
	if err := m.ApplyInto(full, &res); err != nil {
		t.Fatal(err)
	}
	if res.Lead.Contact == nil || res.Lead.Company == nil || res.Note == nil || len(res.Lead.Lead.CustomFieldsValues) != 6 || len(res.Lead.Tags) != 1 {
		t.Fatalf("full record: %s", resultJSON(t, &res))
	}
	contact, lead := res.Lead.Contact, res.Lead.Lead
	if err := m.ApplyInto(MapRecord{"text": "один"}, &res); err != nil {
		t.Fatal(err)
	}
	l := res.Lead.Lead
	if res.Lead.Contact != nil || res.Lead.Company != nil || res.Note != nil || res.Lead.Tags != nil ||
		len(l.CustomFieldsValues) != 1 || l.CustomFieldsValues[0].FieldID != 3 || l.Name != "Клиент: чат" {
		t.Fatalf("stale values after a smaller record: %s", resultJSON(t, &res))
	}
	if len(res.Warnings) == 0 || !res.Warnings.Has(CodeOptionalSkipped) {
		t.Errorf("warnings: %v", res.Warnings)
	}
	// the storage is reused, not reallocated
	if err := m.ApplyInto(full, &res); err != nil {
		t.Fatal(err)
	}
	if res.Lead.Contact != contact || res.Lead.Lead != lead {
		t.Errorf("ApplyInto did not reuse the contact and lead")
	}
	if len(res.Warnings) != 0 || res.Warnings != nil {
		t.Errorf("stale warnings: %v", res.Warnings)
	}
	// an error clears what could be sent
	if err := m.ApplyInto(MapRecord{"text": "x", "link": "notaurl"}, &res); err == nil {
		t.Fatal("want an error for a bad url")
	}
	if res.Lead.Lead != nil || res.Lead.Contact != nil || res.Note != nil {
		t.Errorf("result after an error: %+v", res.Lead)
	}
	// a Result Apply returned can be reused too
	fresh, err := m.Apply(full)
	if err != nil {
		t.Fatal(err)
	}
	want, err := mustMapper(t, reuseSpec).Apply(MapRecord{"text": "один"})
	if err != nil {
		t.Fatal(err)
	}
	err = m.ApplyInto(MapRecord{"text": "один"}, fresh)
	checkSame(t, "into a Result from Apply", want, nil, fresh, err)
	if err := m.ApplyInto(full, nil); err == nil {
		t.Error("nil *Result: want an error")
	}
}

// TestApplyIntoAllocatesLess checks that a reused Result saves the output
// allocations (counts, not time).
func TestApplyIntoAllocatesLess(t *testing.T) {
	m := mustMapper(t, bench10)
	rec := benchRecord()
	var res Result
	if err := m.ApplyInto(rec, &res); err != nil {
		t.Fatal(err)
	}
	into := testing.AllocsPerRun(50, func() {
		if err := m.ApplyInto(rec, &res); err != nil {
			t.Fatal(err)
		}
	})
	fresh := testing.AllocsPerRun(50, func() {
		if _, err := m.Apply(rec); err != nil {
			t.Fatal(err)
		}
	})
	if into+3 > fresh {
		t.Errorf("ApplyInto allocates %v times, Apply %v: want at least 3 fewer (result, values, entries)", into, fresh)
	}
}

// TestApplyIntoConcurrent runs ApplyInto from several goroutines, each with
// its own reused Result, on one Mapper (run with -race).
func TestApplyIntoConcurrent(t *testing.T) {
	m := mustMapper(t, reuseSpec)
	recs := reuseRecords()
	want := make([]string, len(recs))
	for i, rec := range recs {
		res, err := m.Apply(rec)
		if err != nil {
			want[i] = "error: " + err.Error()
			continue
		}
		want[i] = resultJSON(t, res)
	}
	const workers, rounds = 4, 30
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res Result
			for r := range rounds {
				i := (w + r) % len(recs)
				got := ""
				if err := m.ApplyInto(recs[i], &res); err != nil {
					got = "error: " + err.Error()
				} else {
					got = resultJSON(t, &res)
				}
				if got != want[i] {
					errs <- fmt.Errorf("worker %d record %d:\ngot  %s\nwant %s", w, i, got, want[i])
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("workers did not finish")
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
