package amocrmtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Entity types, as they appear in API paths.
const (
	EntityLeads     = "leads"
	EntityContacts  = "contacts"
	EntityCompanies = "companies"
)

// Status ids that exist in every pipeline.
const (
	StatusWon  int64 = 142 // "Успешно реализовано"
	StatusLost int64 = 143 // "Закрыто и не реализовано"
)

// Status types.
const (
	StatusTypeNormal   = 0
	StatusTypeUnsorted = 1 // the "Неразобранное" stage of a pipeline
)

// Rights values used in UserRights.
const (
	RightAll    = "A" // allowed for all entities
	RightGroup  = "G" // allowed for the user's group (treated as allowed)
	RightMine   = "M" // allowed for own entities (treated as allowed)
	RightDenied = "D" // denied
)

// Account describes the amoCRM account the server hosts.
type Account struct {
	ID          int64
	Name        string
	Subdomain   string
	AmojoID     string // the account id for the Chats API (with=amojo_id)
	UUID        string
	UsersGroups []UsersGroup
}

// UsersGroup is a group of users ("отдел").
type UsersGroup struct {
	ID   int64
	Name string
}

// DefaultAccount returns the account used when WithAccount is not given.
func DefaultAccount() Account {
	return Account{
		ID:          29000001,
		Name:        "Chatter Demo",
		Subdomain:   "chatterdemo",
		AmojoID:     "6f1d5c2a-3b4e-4f60-8a71-92b3c4d5e6f7",
		UUID:        "0b7c1e4a-9d2f-4c3b-a1e5-7f8d9c0b1a2e",
		UsersGroups: []UsersGroup{{ID: 0, Name: "Отдел продаж"}},
	}
}

// Integration is the OAuth integration registered in the account.
type Integration struct {
	ClientID     string
	ClientSecret string
	RedirectURI  string // must match the token request's redirect_uri exactly
}

// DefaultIntegration returns the integration used when WithIntegration is not given.
func DefaultIntegration() Integration {
	return Integration{
		ClientID:     "2e3a4b5c-6d7e-4f80-9a1b-2c3d4e5f6a7b",
		ClientSecret: "fake-secret-Zt8v1yQ3nK5mW7pR9sU2xA4cE6gI8kM0",
		RedirectURI:  "https://example.com/amocrm/oauth/callback",
	}
}

// EntityRights holds one user's rights on one entity type; each field is one of
// RightAll, RightGroup, RightMine or RightDenied. An empty field means RightAll.
type EntityRights struct {
	View, Edit, Add, Delete, Export string
}

// UserRights holds a user's rights.
type UserRights struct {
	Leads, Contacts, Companies EntityRights
	IsAdmin                    bool
	Inactive                   bool // is_active: false; such a user's tokens answer 401
	GroupID                    int64
}

// User is a user of the account.
type User struct {
	ID     int64
	Name   string
	Email  string
	Lang   string // defaults to "ru"
	Rights UserRights
}

// Enum is one choice of a select, multiselect, radiobutton or multitext field. For
// multitext (PHONE, EMAIL) Value is the enum code such as "WORK" or "MOB".
type Enum struct {
	ID    int64
	Value string
	Sort  int
}

// RequiredStatus makes a field required when a lead enters the status.
type RequiredStatus struct {
	PipelineID int64
	StatusID   int64
}

// Custom field types.
const (
	FieldText          = "text"
	FieldNumeric       = "numeric"
	FieldCheckbox      = "checkbox"
	FieldSelect        = "select"
	FieldMultiselect   = "multiselect"
	FieldMultitext     = "multitext"
	FieldDate          = "date"
	FieldURL           = "url"
	FieldTextarea      = "textarea"
	FieldRadiobutton   = "radiobutton"
	FieldStreetAddress = "streetaddress"
	FieldSmartAddress  = "smart_address"
	FieldBirthday      = "birthday"
	FieldLegalEntity   = "legal_entity"
	FieldDateTime      = "date_time"
	FieldItems         = "items"
	FieldCategory      = "category"
	FieldPrice         = "price"
	FieldTrackingData  = "tracking_data"
	FieldLinkedEntity  = "linked_entity"
	FieldOrgLegalName  = "org_legal_name"
	FieldMonetary      = "monetary"
	FieldChainedList   = "chained_list"
	FieldFile          = "file"
	FieldPayer         = "payer"
	FieldSupplier      = "supplier"
)

// CustomField is a custom field of an entity type.
type CustomField struct {
	ID               int64
	Name             string
	Code             string // e.g. "PHONE", "EMAIL"; empty for most fields
	Type             string // one of the Field* constants; unknown types are stored raw
	Sort             int
	Enums            []Enum
	RequiredStatuses []RequiredStatus
	IsAPIOnly        bool
	IsPredefined     bool
	GroupID          string
	EntityType       string // set by AddCustomField
}

// FieldValue is one value of a custom field on an entity. Value holds a string for
// text-like, numeric and enum fields, a bool for checkbox, an int64 unix time for
// date fields, and decoded JSON for composite types.
type FieldValue struct {
	Value    any
	EnumID   int64
	EnumCode string
}

// FieldValues is the value of one custom field on an entity.
type FieldValues struct {
	FieldID   int64
	FieldName string
	FieldCode string
	FieldType string
	Values    []FieldValue
}

// FieldString returns the first value of field id among values formatted as a
// string, or "" if it is not set.
func FieldString(values []FieldValues, fieldID int64) string {
	for _, fv := range values {
		if fv.FieldID == fieldID && len(fv.Values) > 0 {
			switch v := fv.Values[0].Value.(type) {
			case nil:
				return ""
			case string:
				return v
			default:
				b, _ := json.Marshal(v)
				return string(b)
			}
		}
	}
	return ""
}

// Status is a stage of a pipeline.
type Status struct {
	ID         int64
	Name       string
	Sort       int
	Color      string
	Type       int // StatusTypeNormal or StatusTypeUnsorted
	PipelineID int64
}

// Pipeline is a sales pipeline ("воронка") with its statuses.
type Pipeline struct {
	ID           int64
	Name         string
	Sort         int
	IsMain       bool
	IsUnsortedOn bool
	IsArchive    bool
	Statuses     []Status
}

// Lead is a deal ("сделка").
type Lead struct {
	ID                 int64
	Name               string
	Price              int64
	StatusID           int64
	PipelineID         int64
	LossReasonID       int64
	ResponsibleUserID  int64
	GroupID            int64
	CreatedBy          int64
	UpdatedBy          int64
	CreatedAt          time.Time
	UpdatedAt          time.Time
	ClosedAt           time.Time // zero unless the lead is in StatusWon or StatusLost
	IsDeleted          bool
	CustomFieldsValues []FieldValues
	Tags               []string
	ContactIDs         []int64 // the first one is the main contact
	CompanyID          int64
}

// Contact is a contact.
type Contact struct {
	ID                 int64
	Name               string
	FirstName          string
	LastName           string
	ResponsibleUserID  int64
	GroupID            int64
	CreatedBy          int64
	UpdatedBy          int64
	CreatedAt          time.Time
	UpdatedAt          time.Time
	IsDeleted          bool
	IsUnsorted         bool
	CustomFieldsValues []FieldValues
	Tags               []string
	CompanyID          int64
	LeadIDs            []int64 // derived from the leads' links; ignored by AddContact
}

// Company is a company.
type Company struct {
	ID                 int64
	Name               string
	ResponsibleUserID  int64
	GroupID            int64
	CreatedBy          int64
	UpdatedBy          int64
	CreatedAt          time.Time
	UpdatedAt          time.Time
	IsDeleted          bool
	CustomFieldsValues []FieldValues
	Tags               []string
	ContactIDs         []int64 // derived; ignored by AddCompany
	LeadIDs            []int64 // derived; ignored by AddCompany
}

// Note is a note ("примечание") on a lead, contact or company.
type Note struct {
	ID                int64
	EntityType        string
	EntityID          int64
	NoteType          string
	Params            map[string]any
	ResponsibleUserID int64
	CreatedBy         int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Task is a task.
type Task struct {
	ID                int64
	EntityType        string
	EntityID          int64
	TaskTypeID        int64
	Text              string
	ResponsibleUserID int64
	CreatedBy         int64
	CompleteTill      time.Time
	IsCompleted       bool
	Result            string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Tag is a tag of an entity type.
type Tag struct {
	ID    int64
	Name  string
	Color string
}

// Webhook is an account webhook subscription.
type Webhook struct {
	ID          int64
	Destination string
	Settings    []string // event codes such as "add_lead", "update_lead", "status_lead"
	Sort        int
	Disabled    bool
	CreatedBy   int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Unsorted is an item of "Неразобранное" created by POST
// /api/v4/leads/unsorted/forms.
type Unsorted struct {
	UID        string
	Category   string // "forms"
	SourceUID  string
	SourceName string
	PipelineID int64
	CreatedAt  time.Time
	Metadata   map[string]any
	LeadID     int64
	ContactIDs []int64
	CompanyIDs []int64
	State      string // "pending", "accepted" or "declined"
}

// record is the stored form of leads, contacts and companies.
type record struct {
	kind                               string
	id                                 int64
	name, firstName, lastName          string
	price                              int64
	statusID, pipelineID, lossReasonID int64
	responsibleUserID, groupID         int64
	createdBy, updatedBy               int64
	createdAt, updatedAt, closedAt     int64
	isDeleted, isUnsorted              bool
	cf                                 []FieldValues
	tags                               []int64
	contactIDs                         []int64 // leads: linked contacts, first is main
	companyID                          int64   // leads and contacts
	// search holds the versions query= sees when a search lag is set
	// (WithSearchLag), oldest first; nil means query= sees the live record.
	search []searchDoc
}

func (r *record) clone() *record {
	c := *r
	c.cf = cloneFieldValues(r.cf)
	c.tags = slices.Clone(r.tags)
	c.contactIDs = slices.Clone(r.contactIDs)
	c.search = slices.Clone(r.search)
	return &c
}

func cloneFieldValues(in []FieldValues) []FieldValues {
	if in == nil {
		return nil
	}
	out := make([]FieldValues, len(in))
	for i, fv := range in {
		fv.Values = slices.Clone(fv.Values)
		out[i] = fv
	}
	return out
}

// state is everything the account holds. It is guarded by Server.mu.
type state struct {
	account   Account
	users     []*User
	pipelines []*Pipeline
	fields    map[string][]*CustomField // by entity type
	records   map[string][]*record      // by entity type, in id order
	byID      map[string]map[int64]*record
	tags      map[string][]*Tag
	notes     []*Note
	tasks     []*Task
	webhooks  []*Webhook
	unsorted  []*Unsorted
	seq       map[string]int64
}

func newState() *state {
	return &state{
		account: DefaultAccount(),
		fields:  map[string][]*CustomField{},
		records: map[string][]*record{},
		byID: map[string]map[int64]*record{
			EntityLeads: {}, EntityContacts: {}, EntityCompanies: {},
		},
		tags: map[string][]*Tag{},
		seq:  map[string]int64{},
	}
}

// idBase is where each id sequence starts, so ids of different kinds never collide
// and look like real amoCRM ids.
var idBase = map[string]int64{
	"user": 11000000, "pipeline": 9000000, "status": 90000000, "field": 700000,
	"enum": 800000, EntityLeads: 20000000, EntityContacts: 30000000,
	EntityCompanies: 40000000, "note": 50000000, "task": 60000000, "tag": 100000,
	"webhook": 1000, "unsorted": 0,
}

func (st *state) nextID(kind string) int64 {
	st.seq[kind]++
	return idBase[kind] + st.seq[kind]
}

// bumpID makes sure the sequence of kind never hands out id again.
func (st *state) bumpID(kind string, id int64) {
	if id-idBase[kind] > st.seq[kind] {
		st.seq[kind] = id - idBase[kind]
	}
}

func validEntity(e string) bool {
	return e == EntityLeads || e == EntityContacts || e == EntityCompanies
}

func (st *state) user(id int64) *User {
	for _, u := range st.users {
		if u.ID == id {
			return u
		}
	}
	return nil
}

func (st *state) firstAdmin() *User {
	for _, u := range st.users {
		if u.Rights.IsAdmin && !u.Rights.Inactive {
			return u
		}
	}
	if len(st.users) > 0 {
		return st.users[0]
	}
	return nil
}

func (st *state) pipeline(id int64) *Pipeline {
	for _, p := range st.pipelines {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (st *state) mainPipeline() *Pipeline {
	for _, p := range st.pipelines {
		if p.IsMain {
			return p
		}
	}
	if len(st.pipelines) > 0 {
		return st.pipelines[0]
	}
	return nil
}

// firstStatus returns the first normal (not unsorted, not closed) status.
func firstStatus(p *Pipeline) int64 {
	for _, s := range p.Statuses {
		if s.Type == StatusTypeNormal && s.ID != StatusWon && s.ID != StatusLost {
			return s.ID
		}
	}
	return StatusWon
}

func unsortedStatus(p *Pipeline) int64 {
	for _, s := range p.Statuses {
		if s.Type == StatusTypeUnsorted {
			return s.ID
		}
	}
	return firstStatus(p)
}

func findStatus(p *Pipeline, id int64) *Status {
	for i := range p.Statuses {
		if p.Statuses[i].ID == id {
			return &p.Statuses[i]
		}
	}
	return nil
}

func (st *state) field(entity string, id int64) *CustomField {
	for _, f := range st.fields[entity] {
		if f.ID == id {
			return f
		}
	}
	return nil
}

func (st *state) fieldByCode(entity, code string) *CustomField {
	for _, f := range st.fields[entity] {
		if f.Code != "" && strings.EqualFold(f.Code, code) {
			return f
		}
	}
	return nil
}

func (st *state) tagByID(entity string, id int64) *Tag {
	for _, t := range st.tags[entity] {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// tagByName returns the tag with name, creating it if create is set.
func (st *state) tagByName(entity, name string, create bool) *Tag {
	for _, t := range st.tags[entity] {
		if strings.EqualFold(t.Name, name) {
			return t
		}
	}
	if !create {
		return nil
	}
	t := &Tag{ID: st.nextID("tag"), Name: name}
	st.tags[entity] = append(st.tags[entity], t)
	return t
}

func (st *state) insert(r *record) {
	st.records[r.kind] = append(st.records[r.kind], r)
	st.byID[r.kind][r.id] = r
}

func (st *state) get(kind string, id int64) *record {
	r := st.byID[kind][id]
	if r == nil || r.isDeleted {
		return nil
	}
	return r
}

// --- seeding and accessors ----------------------------------------------------

func unixOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOf(u int64) time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(u, 0).UTC()
}

// Account returns the hosted account.
func (s *Server) Account() Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.account
	a.UsersGroups = slices.Clone(a.UsersGroups)
	return a
}

// Integration returns the registered OAuth integration.
func (s *Server) Integration() Integration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.integration
}

// AddUser adds a user and returns it with its id. A zero ID is assigned.
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == 0 {
		u.ID = s.st.nextID("user")
	} else {
		s.st.bumpID("user", u.ID)
	}
	if u.Lang == "" {
		u.Lang = "ru"
	}
	s.st.users = append(s.st.users, &u)
	return u
}

// Users returns the users of the account.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, len(s.st.users))
	for i, u := range s.st.users {
		out[i] = *u
	}
	return out
}

// AddPipeline adds a pipeline and returns it with ids assigned. Zero ids are
// assigned; an unsorted stage is added at the start and StatusWon and StatusLost
// at the end unless present. The first pipeline added becomes the main one unless
// another is marked IsMain.
func (s *Server) AddPipeline(p Pipeline) Pipeline {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	if p.ID == 0 {
		p.ID = st.nextID("pipeline")
	} else {
		st.bumpID("pipeline", p.ID)
	}
	if p.Name == "" {
		p.Name = "Воронка"
	}
	statuses := slices.Clone(p.Statuses)
	hasUnsorted, hasWon, hasLost := false, false, false
	for _, x := range statuses {
		hasUnsorted = hasUnsorted || x.Type == StatusTypeUnsorted
		hasWon = hasWon || x.ID == StatusWon
		hasLost = hasLost || x.ID == StatusLost
	}
	if !hasUnsorted {
		statuses = append([]Status{{Name: "Неразобранное", Type: StatusTypeUnsorted, Color: "#c1c1c1"}}, statuses...)
	}
	if !hasWon {
		statuses = append(statuses, Status{ID: StatusWon, Name: "Успешно реализовано", Color: "#CCFF66"})
	}
	if !hasLost {
		statuses = append(statuses, Status{ID: StatusLost, Name: "Закрыто и не реализовано", Color: "#D5D8DB"})
	}
	for _, x := range statuses {
		if x.ID != 0 && x.ID != StatusWon && x.ID != StatusLost {
			st.bumpID("status", x.ID)
		}
	}
	for i := range statuses {
		x := &statuses[i]
		if x.ID == 0 {
			x.ID = st.nextID("status")
		} else if x.ID != StatusWon && x.ID != StatusLost {
			st.bumpID("status", x.ID)
		}
		x.PipelineID = p.ID
		if x.Sort == 0 {
			x.Sort = (i + 1) * 10
		}
		if x.ID == StatusWon {
			x.Sort = 10000
		}
		if x.ID == StatusLost {
			x.Sort = 11000
		}
		if x.Color == "" {
			x.Color = "#99ccff"
		}
	}
	p.Statuses = statuses
	if p.Sort == 0 {
		p.Sort = (len(st.pipelines) + 1) * 10
	}
	if p.IsMain {
		for _, q := range st.pipelines {
			q.IsMain = false
		}
	} else if len(st.pipelines) == 0 {
		p.IsMain = true
	}
	cp := p
	cp.Statuses = slices.Clone(p.Statuses)
	st.pipelines = append(st.pipelines, &cp)
	return p
}

// Pipelines returns the pipelines with their statuses.
func (s *Server) Pipelines() []Pipeline {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Pipeline, len(s.st.pipelines))
	for i, p := range s.st.pipelines {
		out[i] = *p
		out[i].Statuses = slices.Clone(p.Statuses)
	}
	return out
}

// AddCustomField adds a custom field to entity (EntityLeads, EntityContacts or
// EntityCompanies) and returns it with ids assigned (zero field and enum ids are
// assigned). It panics on an unknown entity type.
func (s *Server) AddCustomField(entity string, f CustomField) CustomField {
	if !validEntity(entity) {
		panic(fmt.Sprintf("amocrmtest: AddCustomField: unknown entity type %q", entity))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addField(entity, f)
}

// addField stores f (ids assigned) as a field of entity and returns it.
func (st *state) addField(entity string, f CustomField) CustomField {
	if f.ID == 0 {
		f.ID = st.nextID("field")
	} else {
		st.bumpID("field", f.ID)
	}
	if f.Type == "" {
		f.Type = FieldText
	}
	f.EntityType = entity
	f.Enums = slices.Clone(f.Enums)
	f.RequiredStatuses = slices.Clone(f.RequiredStatuses)
	for _, e := range f.Enums {
		st.bumpID("enum", e.ID)
	}
	for i := range f.Enums {
		if f.Enums[i].ID == 0 {
			f.Enums[i].ID = st.nextID("enum")
		} else {
			st.bumpID("enum", f.Enums[i].ID)
		}
		if f.Enums[i].Sort == 0 {
			f.Enums[i].Sort = (i + 1) * 2
		}
	}
	if f.Sort == 0 {
		f.Sort = 500 + len(st.fields[entity])
	}
	cp := f
	cp.Enums = slices.Clone(f.Enums)
	cp.RequiredStatuses = slices.Clone(f.RequiredStatuses)
	st.fields[entity] = append(st.fields[entity], &cp)
	return f
}

// CustomFields returns the custom fields of entity.
func (s *Server) CustomFields(entity string) []CustomField {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CustomField
	for _, f := range s.st.fields[entity] {
		c := *f
		c.Enums = slices.Clone(f.Enums)
		c.RequiredStatuses = slices.Clone(f.RequiredStatuses)
		out = append(out, c)
	}
	return out
}

// seedRecord stores a record built by a seeding method.
func (s *Server) seedRecord(r *record, tags []string) {
	st := s.st
	now := s.now().Unix()
	if r.id == 0 {
		r.id = st.nextID(r.kind)
	} else {
		st.bumpID(r.kind, r.id)
	}
	if r.createdAt == 0 {
		r.createdAt = now
	}
	if r.updatedAt == 0 {
		r.updatedAt = r.createdAt
	}
	if r.responsibleUserID == 0 {
		if u := st.firstAdmin(); u != nil {
			r.responsibleUserID = u.ID
		}
	}
	for _, name := range tags {
		r.tags = append(r.tags, st.tagByName(r.kind, name, true).ID)
	}
	r.cf = s.fillFieldMeta(r.kind, r.cf)
	st.insert(r)
}

// fillFieldMeta fills names, codes and types of seeded field values from the
// field definitions.
func (s *Server) fillFieldMeta(entity string, in []FieldValues) []FieldValues {
	out := cloneFieldValues(in)
	for i := range out {
		fv := &out[i]
		f := s.st.field(entity, fv.FieldID)
		if f == nil && fv.FieldCode != "" {
			f = s.st.fieldByCode(entity, fv.FieldCode)
		}
		if f == nil {
			continue
		}
		fv.FieldID, fv.FieldName, fv.FieldCode, fv.FieldType = f.ID, f.Name, f.Code, f.Type
		for j := range fv.Values {
			v := &fv.Values[j]
			for _, e := range f.Enums {
				if v.EnumID == e.ID || (v.EnumID == 0 && v.EnumCode != "" && v.EnumCode == e.Value) {
					v.EnumID = e.ID
					if f.Type == FieldMultitext {
						v.EnumCode = e.Value
					} else if v.Value == nil {
						v.Value = e.Value
					}
				}
			}
		}
	}
	return out
}

// AddLead stores a lead as if created in the account and returns it with its id.
// Zero fields get defaults (main pipeline, its first stage, first admin as
// responsible, the clock's time). No validation is done: use it to seed state,
// including states the API would refuse.
func (s *Server) AddLead(l Lead) Lead {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &record{kind: EntityLeads, id: l.ID, name: l.Name, price: l.Price, statusID: l.StatusID,
		pipelineID: l.PipelineID, lossReasonID: l.LossReasonID, responsibleUserID: l.ResponsibleUserID,
		groupID: l.GroupID, createdBy: l.CreatedBy, updatedBy: l.UpdatedBy, createdAt: unixOf(l.CreatedAt),
		updatedAt: unixOf(l.UpdatedAt), closedAt: unixOf(l.ClosedAt), isDeleted: l.IsDeleted,
		cf: l.CustomFieldsValues, contactIDs: slices.Clone(l.ContactIDs), companyID: l.CompanyID}
	if r.pipelineID == 0 {
		if p := s.st.mainPipeline(); p != nil {
			r.pipelineID = p.ID
		}
	}
	if r.statusID == 0 {
		if p := s.st.pipeline(r.pipelineID); p != nil {
			r.statusID = firstStatus(p)
		}
	}
	s.seedRecord(r, l.Tags)
	return s.leadOf(r)
}

// AddContact stores a contact and returns it with its id; see AddLead.
func (s *Server) AddContact(c Contact) Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &record{kind: EntityContacts, id: c.ID, name: c.Name, firstName: c.FirstName, lastName: c.LastName,
		responsibleUserID: c.ResponsibleUserID, groupID: c.GroupID, createdBy: c.CreatedBy, updatedBy: c.UpdatedBy,
		createdAt: unixOf(c.CreatedAt), updatedAt: unixOf(c.UpdatedAt), isDeleted: c.IsDeleted,
		isUnsorted: c.IsUnsorted, cf: c.CustomFieldsValues, companyID: c.CompanyID}
	if r.name == "" {
		r.name = strings.TrimSpace(c.FirstName + " " + c.LastName)
	}
	s.seedRecord(r, c.Tags)
	return s.contactOf(r)
}

// AddCompany stores a company and returns it with its id; see AddLead.
func (s *Server) AddCompany(c Company) Company {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &record{kind: EntityCompanies, id: c.ID, name: c.Name, responsibleUserID: c.ResponsibleUserID,
		groupID: c.GroupID, createdBy: c.CreatedBy, updatedBy: c.UpdatedBy, createdAt: unixOf(c.CreatedAt),
		updatedAt: unixOf(c.UpdatedAt), isDeleted: c.IsDeleted, cf: c.CustomFieldsValues}
	s.seedRecord(r, c.Tags)
	return s.companyOf(r)
}

func (s *Server) tagNames(kind string, ids []int64) []string {
	var out []string
	for _, id := range ids {
		if t := s.st.tagByID(kind, id); t != nil {
			out = append(out, t.Name)
		}
	}
	return out
}

func (s *Server) leadOf(r *record) Lead {
	return Lead{ID: r.id, Name: r.name, Price: r.price, StatusID: r.statusID, PipelineID: r.pipelineID,
		LossReasonID: r.lossReasonID, ResponsibleUserID: r.responsibleUserID, GroupID: r.groupID,
		CreatedBy: r.createdBy, UpdatedBy: r.updatedBy, CreatedAt: timeOf(r.createdAt),
		UpdatedAt: timeOf(r.updatedAt), ClosedAt: timeOf(r.closedAt), IsDeleted: r.isDeleted,
		CustomFieldsValues: cloneFieldValues(r.cf), Tags: s.tagNames(r.kind, r.tags),
		ContactIDs: slices.Clone(r.contactIDs), CompanyID: r.companyID}
}

func (s *Server) contactOf(r *record) Contact {
	return Contact{ID: r.id, Name: r.name, FirstName: r.firstName, LastName: r.lastName,
		ResponsibleUserID: r.responsibleUserID, GroupID: r.groupID, CreatedBy: r.createdBy,
		UpdatedBy: r.updatedBy, CreatedAt: timeOf(r.createdAt), UpdatedAt: timeOf(r.updatedAt),
		IsDeleted: r.isDeleted, IsUnsorted: r.isUnsorted, CustomFieldsValues: cloneFieldValues(r.cf),
		Tags: s.tagNames(r.kind, r.tags), CompanyID: r.companyID, LeadIDs: s.leadsOfContact(r.id)}
}

func (s *Server) companyOf(r *record) Company {
	return Company{ID: r.id, Name: r.name, ResponsibleUserID: r.responsibleUserID, GroupID: r.groupID,
		CreatedBy: r.createdBy, UpdatedBy: r.updatedBy, CreatedAt: timeOf(r.createdAt),
		UpdatedAt: timeOf(r.updatedAt), IsDeleted: r.isDeleted, CustomFieldsValues: cloneFieldValues(r.cf),
		Tags: s.tagNames(r.kind, r.tags), ContactIDs: s.contactsOfCompany(r.id), LeadIDs: s.leadsOfCompany(r.id)}
}

func (s *Server) leadsOfContact(id int64) []int64 {
	var out []int64
	for _, l := range s.st.records[EntityLeads] {
		if !l.isDeleted && slices.Contains(l.contactIDs, id) {
			out = append(out, l.id)
		}
	}
	return out
}

func (s *Server) leadsOfCompany(id int64) []int64 {
	var out []int64
	for _, l := range s.st.records[EntityLeads] {
		if !l.isDeleted && l.companyID == id {
			out = append(out, l.id)
		}
	}
	return out
}

func (s *Server) contactsOfCompany(id int64) []int64 {
	var out []int64
	for _, c := range s.st.records[EntityContacts] {
		if !c.isDeleted && c.companyID == id {
			out = append(out, c.id)
		}
	}
	return out
}

// Lead returns the lead with id, including deleted ones.
func (s *Server) Lead(id int64) (Lead, bool) { return recordByID(s, EntityLeads, id, s.leadOf) }

// Leads returns all leads that are not deleted, in id order.
func (s *Server) Leads() []Lead { return liveRecords(s, EntityLeads, s.leadOf) }

// Contact returns the contact with id, including deleted ones.
func (s *Server) Contact(id int64) (Contact, bool) {
	return recordByID(s, EntityContacts, id, s.contactOf)
}

// Contacts returns all contacts that are not deleted, in id order.
func (s *Server) Contacts() []Contact { return liveRecords(s, EntityContacts, s.contactOf) }

// Company returns the company with id, including deleted ones.
func (s *Server) Company(id int64) (Company, bool) {
	return recordByID(s, EntityCompanies, id, s.companyOf)
}

// Companies returns all companies that are not deleted, in id order.
func (s *Server) Companies() []Company { return liveRecords(s, EntityCompanies, s.companyOf) }

// recordByID converts the record of entity with id, deleted or not.
func recordByID[T any](s *Server, entity string, id int64, conv func(*record) T) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.st.byID[entity][id]
	if r == nil {
		var zero T
		return zero, false
	}
	return conv(r), true
}

// liveRecords converts the records of entity that are not deleted, in id order.
func liveRecords[T any](s *Server, entity string, conv func(*record) T) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []T
	for _, r := range s.st.records[entity] {
		if !r.isDeleted {
			out = append(out, conv(r))
		}
	}
	return out
}

// Notes returns the notes of one entity (entity type and id), in id order. An id
// of 0 returns the notes of all entities of the type.
func (s *Server) Notes(entity string, id int64) []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Note
	for _, n := range s.st.notes {
		if n.EntityType == entity && (id == 0 || n.EntityID == id) {
			c := *n
			c.Params = cloneMap(n.Params)
			out = append(out, c)
		}
	}
	return out
}

// AddNote stores a note and returns it with its id.
func (s *Server) AddNote(n Note) Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.ID == 0 {
		n.ID = s.st.nextID("note")
	}
	if n.NoteType == "" {
		n.NoteType = "common"
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = s.now().Truncate(time.Second)
		n.UpdatedAt = n.CreatedAt
	}
	n.Params = cloneMap(n.Params)
	c := n
	s.st.notes = append(s.st.notes, &c)
	return n
}

// Tasks returns all tasks, in id order.
func (s *Server) Tasks() []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Task, len(s.st.tasks))
	for i, t := range s.st.tasks {
		out[i] = *t
	}
	return out
}

// Tags returns the tags of entity.
func (s *Server) Tags(entity string) []Tag {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Tag
	for _, t := range s.st.tags[entity] {
		out = append(out, *t)
	}
	return out
}

// Webhooks returns the webhook subscriptions.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Webhook, len(s.st.webhooks))
	for i, w := range s.st.webhooks {
		out[i] = *w
		out[i].Settings = slices.Clone(w.Settings)
	}
	return out
}

// UnsortedItems returns the unsorted items in every state.
func (s *Server) UnsortedItems() []Unsorted {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Unsorted, len(s.st.unsorted))
	for i, u := range s.st.unsorted {
		out[i] = *u
		out[i].Metadata = cloneMap(u.Metadata)
		out[i].ContactIDs = slices.Clone(u.ContactIDs)
		out[i].CompanyIDs = slices.Clone(u.CompanyIDs)
	}
	return out
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	// Values are decoded JSON; a JSON round trip is a deep copy.
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}
