package demo

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

// amoSnapshotVersion is the version of AmoCRMFile's format.
const amoSnapshotVersion = 1

// amoSnapshot is AmoCRMFile: the fake account's schema and entities, read
// through amocrmtest's accessors and written back through its seeding
// methods. Not kept: tasks, webhook subscriptions, unsorted items, deleted
// entities, tag ids and colours (tags are restored by name) and OAuth
// grants (every start issues a new token).
type amoSnapshot struct {
	Version   int                                 `json:"version"`
	Account   amocrmtest.Account                  `json:"account"`
	Users     []amocrmtest.User                   `json:"users"`
	Pipelines []amocrmtest.Pipeline               `json:"pipelines"`
	Fields    map[string][]amocrmtest.CustomField `json:"fields"`
	Companies []amocrmtest.Company                `json:"companies"`
	Contacts  []amocrmtest.Contact                `json:"contacts"`
	Leads     []amocrmtest.Lead                   `json:"leads"`
	Notes     []amocrmtest.Note                   `json:"notes"`
}

var amoEntities = []string{amocrmtest.EntityLeads, amocrmtest.EntityContacts, amocrmtest.EntityCompanies}

// snapshotAmo reads the account. The caller makes sure no request changes
// it meanwhile.
func snapshotAmo(s *amocrmtest.Server) *amoSnapshot {
	snap := &amoSnapshot{
		Version:   amoSnapshotVersion,
		Account:   s.Account(),
		Users:     s.Users(),
		Pipelines: s.Pipelines(),
		Fields:    map[string][]amocrmtest.CustomField{},
		Companies: s.Companies(),
		Contacts:  s.Contacts(),
		Leads:     s.Leads(),
	}
	for _, e := range amoEntities {
		snap.Fields[e] = s.CustomFields(e)
		snap.Notes = append(snap.Notes, s.Notes(e, 0)...)
	}
	slices.SortFunc(snap.Notes, func(a, b amocrmtest.Note) int { return cmp.Compare(a.ID, b.ID) })
	return snap
}

// fillerEntity is the entity type of the notes that fill gaps in the note
// id sequence on restore (amocrmtest.AddNote keeps an explicit id without
// moving its sequence, so notes are restored with fresh ids, in order). No
// API endpoint lists notes of this type.
const fillerEntity = "demo_id_filler"

// restoreAmo seeds a fresh server with snap. Entities keep their ids, so
// the lead and contact ids the chatter store remembers stay valid.
func restoreAmo(s *amocrmtest.Server, snap *amoSnapshot) error {
	if snap.Version != amoSnapshotVersion {
		return fmt.Errorf("%s: unknown version %d", AmoCRMFile, snap.Version)
	}
	for _, u := range snap.Users {
		s.AddUser(u)
	}
	for _, p := range snap.Pipelines {
		s.AddPipeline(p)
	}
	types := map[string]map[int64]string{}
	for _, e := range amoEntities {
		types[e] = map[int64]string{}
		for _, f := range snap.Fields[e] {
			s.AddCustomField(e, f)
			types[e][f.ID] = f.Type
		}
	}
	for _, c := range snap.Companies {
		c.CustomFieldsValues = fixValues(c.CustomFieldsValues, types[amocrmtest.EntityCompanies])
		if got := s.AddCompany(c); got.ID != c.ID {
			return fmt.Errorf("%s: company %d restored as %d", AmoCRMFile, c.ID, got.ID)
		}
	}
	for _, c := range snap.Contacts {
		c.CustomFieldsValues = fixValues(c.CustomFieldsValues, types[amocrmtest.EntityContacts])
		if got := s.AddContact(c); got.ID != c.ID {
			return fmt.Errorf("%s: contact %d restored as %d", AmoCRMFile, c.ID, got.ID)
		}
	}
	for _, l := range snap.Leads {
		l.CustomFieldsValues = fixValues(l.CustomFieldsValues, types[amocrmtest.EntityLeads])
		if got := s.AddLead(l); got.ID != l.ID {
			return fmt.Errorf("%s: lead %d restored as %d", AmoCRMFile, l.ID, got.ID)
		}
	}
	// The first note id a fresh server hands out, learnt from a scratch one.
	next := amocrmtest.New().AddNote(amocrmtest.Note{EntityType: fillerEntity}).ID
	for _, n := range snap.Notes {
		want := n.ID
		if want < next {
			return fmt.Errorf("%s: note %d is out of order", AmoCRMFile, want)
		}
		for ; next < want; next++ {
			// A gap in the ids (a note deleted before the snapshot):
			// fill it so the next notes keep their ids.
			s.AddNote(amocrmtest.Note{EntityType: fillerEntity, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt})
		}
		n.ID = 0
		if got := s.AddNote(n); got.ID != want {
			return fmt.Errorf("%s: note %d restored as %d", AmoCRMFile, want, got.ID)
		}
		next = want + 1
	}
	return nil
}

// fixValues undoes what a JSON round trip does to custom field values:
// date, date_time and birthday values are Unix seconds (int64) in
// amocrmtest, and come back from JSON as float64.
func fixValues(in []amocrmtest.FieldValues, types map[int64]string) []amocrmtest.FieldValues {
	for i := range in {
		t := cmp.Or(types[in[i].FieldID], in[i].FieldType)
		if t != amocrmtest.FieldDate && t != amocrmtest.FieldDateTime && t != amocrmtest.FieldBirthday {
			continue
		}
		for j := range in[i].Values {
			if f, ok := in[i].Values[j].Value.(float64); ok {
				in[i].Values[j].Value = int64(f)
			}
		}
	}
	return in
}

// amoPersist serves the fake amoCRM and writes AmoCRMFile after every
// request that may change the account, before that request is answered:
// a client is never told of a change the file does not hold. Such requests
// are serialised with their snapshot; reads pass straight through.
type amoPersist struct {
	srv  *amocrmtest.Server
	path string
	log  *slog.Logger

	mu sync.Mutex
}

func (p *amoPersist) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		p.srv.ServeHTTP(w, r)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rec := httptest.NewRecorder()
	p.srv.ServeHTTP(rec, r)
	if err := p.saveLocked(); err != nil {
		// Applied in memory but not durable: answer as amoCRM does when a
		// write may or may not have happened, so the sink adopts it by its
		// marker on the retry rather than trusting it.
		p.log.Error("demo: fake amoCRM state not saved", slog.String("error", err.Error()))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusGatewayTimeout)
		_, _ = w.Write([]byte("<html><body><h1>504 Gateway Time-out</h1></body></html>"))
		return
	}
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// save writes AmoCRMFile now.
func (p *amoPersist) save() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.saveLocked()
}

// saveLocked writes the snapshot without syncing it to disk: a demo must
// survive its process stopping or crashing, which the page cache covers,
// and a sync of the whole account on every write would slow amoCRM down
// as the account grows (see BenchmarkAmoCRMSnapshot).
func (p *amoPersist) saveLocked() error {
	b, err := json.Marshal(snapshotAmo(p.srv))
	if err != nil {
		return err
	}
	return writeFileAtomic(p.path, b, false)
}
