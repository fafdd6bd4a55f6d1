package amocrm

import "encoding/json"

// Statuses every pipeline has.
const (
	// StatusWon is the "successfully realised" stage of every pipeline.
	StatusWon = 142
	// StatusLost is the "closed and not realised" stage of every pipeline.
	StatusLost = 143
)

// Lead is an amoCRM lead (deal).
//
// Zero fields are omitted when writing, so an update sends only what is set.
// (A consequence: Price cannot be reset to 0 through Update; use Client.Do
// with a raw body for that.)
type Lead struct {
	ID                     int                `json:"id,omitempty"`
	Name                   string             `json:"name,omitempty"`
	Price                  int                `json:"price,omitempty"`
	ResponsibleUserID      int                `json:"responsible_user_id,omitempty"`
	GroupID                int                `json:"group_id,omitempty"`
	StatusID               int                `json:"status_id,omitempty"`
	PipelineID             int                `json:"pipeline_id,omitempty"`
	LossReasonID           int                `json:"loss_reason_id,omitempty"`
	SourceID               int                `json:"source_id,omitempty"`
	CreatedBy              int                `json:"created_by,omitempty"`
	UpdatedBy              int                `json:"updated_by,omitempty"`
	CreatedAt              Timestamp          `json:"created_at,omitempty"`
	UpdatedAt              Timestamp          `json:"updated_at,omitempty"`
	ClosedAt               Timestamp          `json:"closed_at,omitempty"`
	ClosestTaskAt          Timestamp          `json:"closest_task_at,omitempty"`
	IsDeleted              bool               `json:"is_deleted,omitempty"`
	IsPriceModifiedByRobot bool               `json:"is_price_modified_by_robot,omitempty"`
	Score                  *int               `json:"score,omitempty"`
	AccountID              int                `json:"account_id,omitempty"`
	LaborCost              *int               `json:"labor_cost,omitempty"`
	CustomFieldsValues     CustomFieldsValues `json:"custom_fields_values,omitempty"`
	// TagsToAdd and TagsToDelete change tags on PATCH without replacing them.
	TagsToAdd    []Tag         `json:"tags_to_add,omitempty"`
	TagsToDelete []Tag         `json:"tags_to_delete,omitempty"`
	RequestID    string        `json:"request_id,omitempty"`
	Embedded     *LeadEmbedded `json:"_embedded,omitempty"`
	Links        *Links        `json:"_links,omitempty"`
}

// LeadEmbedded holds a lead's _embedded entities. On create, Contacts and
// Companies given by ID link existing entities; Source sets the lead source.
type LeadEmbedded struct {
	Tags            []Tag            `json:"tags,omitempty"`
	Contacts        []*Contact       `json:"contacts,omitempty"`
	Companies       []*Company       `json:"companies,omitempty"`
	CatalogElements []CatalogElement `json:"catalog_elements,omitempty"`
	LossReason      []LossReason     `json:"loss_reason,omitempty"`
	Source          *Source          `json:"source,omitempty"`
}

// Contact is an amoCRM contact (a person).
type Contact struct {
	ID                 int                `json:"id,omitempty"`
	Name               string             `json:"name,omitempty"`
	FirstName          string             `json:"first_name,omitempty"`
	LastName           string             `json:"last_name,omitempty"`
	ResponsibleUserID  int                `json:"responsible_user_id,omitempty"`
	GroupID            int                `json:"group_id,omitempty"`
	CreatedBy          int                `json:"created_by,omitempty"`
	UpdatedBy          int                `json:"updated_by,omitempty"`
	CreatedAt          Timestamp          `json:"created_at,omitempty"`
	UpdatedAt          Timestamp          `json:"updated_at,omitempty"`
	ClosestTaskAt      Timestamp          `json:"closest_task_at,omitempty"`
	IsDeleted          bool               `json:"is_deleted,omitempty"`
	IsUnsorted         bool               `json:"is_unsorted,omitempty"`
	AccountID          int                `json:"account_id,omitempty"`
	CustomFieldsValues CustomFieldsValues `json:"custom_fields_values,omitempty"`
	// IsMain is set on contacts embedded in a lead: the lead's main contact.
	IsMain       bool             `json:"is_main,omitempty"`
	TagsToAdd    []Tag            `json:"tags_to_add,omitempty"`
	TagsToDelete []Tag            `json:"tags_to_delete,omitempty"`
	RequestID    string           `json:"request_id,omitempty"`
	Embedded     *ContactEmbedded `json:"_embedded,omitempty"`
	Links        *Links           `json:"_links,omitempty"`
}

// Phones returns the values of the PHONE field (nil when none).
func (c *Contact) Phones() []string { return multitextValues(c.CustomFieldsValues, FieldCodePhone) }

// Emails returns the values of the EMAIL field (nil when none).
func (c *Contact) Emails() []string { return multitextValues(c.CustomFieldsValues, FieldCodeEmail) }

func multitextValues(vs CustomFieldsValues, code string) []string {
	f := vs.ByCode(code)
	if f == nil {
		return nil
	}
	out := make([]string, 0, len(f.Values))
	for _, v := range f.Values {
		if s := v.Text(); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// ContactEmbedded holds a contact's _embedded entities.
type ContactEmbedded struct {
	Tags            []Tag            `json:"tags,omitempty"`
	Leads           []*Lead          `json:"leads,omitempty"`
	Customers       []EntityRef      `json:"customers,omitempty"`
	Companies       []*Company       `json:"companies,omitempty"`
	CatalogElements []CatalogElement `json:"catalog_elements,omitempty"`
}

// Company is an amoCRM company.
type Company struct {
	ID                 int                `json:"id,omitempty"`
	Name               string             `json:"name,omitempty"`
	ResponsibleUserID  int                `json:"responsible_user_id,omitempty"`
	GroupID            int                `json:"group_id,omitempty"`
	CreatedBy          int                `json:"created_by,omitempty"`
	UpdatedBy          int                `json:"updated_by,omitempty"`
	CreatedAt          Timestamp          `json:"created_at,omitempty"`
	UpdatedAt          Timestamp          `json:"updated_at,omitempty"`
	ClosestTaskAt      Timestamp          `json:"closest_task_at,omitempty"`
	IsDeleted          bool               `json:"is_deleted,omitempty"`
	AccountID          int                `json:"account_id,omitempty"`
	CustomFieldsValues CustomFieldsValues `json:"custom_fields_values,omitempty"`
	TagsToAdd          []Tag              `json:"tags_to_add,omitempty"`
	TagsToDelete       []Tag              `json:"tags_to_delete,omitempty"`
	RequestID          string             `json:"request_id,omitempty"`
	Embedded           *CompanyEmbedded   `json:"_embedded,omitempty"`
	Links              *Links             `json:"_links,omitempty"`
}

// CompanyEmbedded holds a company's _embedded entities.
type CompanyEmbedded struct {
	Tags            []Tag            `json:"tags,omitempty"`
	Contacts        []*Contact       `json:"contacts,omitempty"`
	Leads           []*Lead          `json:"leads,omitempty"`
	Customers       []EntityRef      `json:"customers,omitempty"`
	CatalogElements []CatalogElement `json:"catalog_elements,omitempty"`
}

// Tag is a tag of leads, contacts or companies. When attaching tags to an
// entity give either ID or Name.
type Tag struct {
	ID        int    `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	Color     string `json:"color,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// EntityRef is a reference to another entity by id.
type EntityRef struct {
	ID    int    `json:"id"`
	Links *Links `json:"_links,omitempty"`
}

// CatalogElement is a catalog element linked to an entity.
type CatalogElement struct {
	ID       int             `json:"id"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// LossReason is a reason a lead was lost (status 143).
type LossReason struct {
	ID        int       `json:"id,omitempty"`
	Name      string    `json:"name,omitempty"`
	Sort      int       `json:"sort,omitempty"`
	CreatedAt Timestamp `json:"created_at,omitempty"`
	UpdatedAt Timestamp `json:"updated_at,omitempty"`
}

// Source is the lead source (for example a widget with an external id).
type Source struct {
	ID         int    `json:"id,omitempty"`
	Name       string `json:"name,omitempty"`
	Type       string `json:"type,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
}

// Links is the HAL _links object.
type Links struct {
	Self  *Link `json:"self,omitempty"`
	Next  *Link `json:"next,omitempty"`
	Prev  *Link `json:"prev,omitempty"`
	First *Link `json:"first,omitempty"`
}

// Link is one HAL link.
type Link struct {
	Href string `json:"href"`
}

// ComplexLead is one item of POST /api/v4/leads/complex: a new lead with at
// most one new contact and one new company, created and linked in one call.
//
// Lead must be set; its Embedded is ignored (use the fields below). When
// RequestID is empty the batch helpers assign the item's index.
type ComplexLead struct {
	Lead     *Lead
	Contact  *Contact
	Company  *Company
	Tags     []Tag
	Source   *Source
	Metadata *UnsortedMetadata
	// RequestID is echoed in the result; unique within a request.
	RequestID string
}

// MarshalJSON flattens the item into the lead object amoCRM expects:
// {..lead fields.., "request_id", "_embedded": {"contacts":[c], "companies":[co],
// "tags", "source", "metadata"}}.
func (cl ComplexLead) MarshalJSON() ([]byte, error) {
	var l Lead
	if cl.Lead != nil {
		l = *cl.Lead
	}
	l.Embedded = nil
	l.Links = nil
	if cl.RequestID != "" {
		l.RequestID = cl.RequestID
	}
	type emb struct {
		Contacts  []*Contact        `json:"contacts,omitempty"`
		Companies []*Company        `json:"companies,omitempty"`
		Tags      []Tag             `json:"tags,omitempty"`
		Source    *Source           `json:"source,omitempty"`
		Metadata  *UnsortedMetadata `json:"metadata,omitempty"`
	}
	e := emb{Tags: cl.Tags, Source: cl.Source, Metadata: cl.Metadata}
	if cl.Contact != nil {
		e.Contacts = []*Contact{cl.Contact}
	}
	if cl.Company != nil {
		e.Companies = []*Company{cl.Company}
	}
	type plainLead Lead
	out := struct {
		plainLead
		Embedded *emb `json:"_embedded,omitempty"`
	}{plainLead: plainLead(l)}
	if e.Contacts != nil || e.Companies != nil || e.Tags != nil || e.Source != nil || e.Metadata != nil {
		out.Embedded = &e
	}
	return json.Marshal(out)
}

// ComplexLeadResult is one item of the /leads/complex response.
type ComplexLeadResult struct {
	ID        int `json:"id"`
	ContactID int `json:"contact_id,omitempty"`
	CompanyID int `json:"company_id,omitempty"`
	// RequestID lists the request ids this result answers; several when
	// amoCRM merged leads (Merged is then true).
	RequestID RequestIDs `json:"request_id"`
	Merged    bool       `json:"merged"`
}

// UnsortedMetadata is the metadata of an incoming ("unsorted") lead: a web
// form, a call or a chat. Set the fields matching Category.
type UnsortedMetadata struct {
	Category string `json:"category,omitempty"`
	// forms
	FormID     string    `json:"form_id,omitempty"`
	FormName   string    `json:"form_name,omitempty"`
	FormPage   string    `json:"form_page,omitempty"`
	FormSentAt Timestamp `json:"form_sent_at,omitempty"`
	FormType   int       `json:"form_type,omitempty"`
	IP         string    `json:"ip,omitempty"`
	Referer    string    `json:"referer,omitempty"`
	VisitorUID string    `json:"visitor_uid,omitempty"`
	// sip
	UniqID      string    `json:"uniq,omitempty"`
	Duration    int       `json:"duration,omitempty"`
	ServiceCode string    `json:"service_code,omitempty"`
	Link        string    `json:"link,omitempty"`
	Phone       any       `json:"phone,omitempty"`
	CalledAt    Timestamp `json:"called_at,omitempty"`
	// chats
	From            string          `json:"from,omitempty"`
	To              string          `json:"to,omitempty"`
	ReceivedAt      Timestamp       `json:"received_at,omitempty"`
	Service         string          `json:"service,omitempty"`
	Client          json.RawMessage `json:"client,omitempty"`
	Origin          json.RawMessage `json:"origin,omitempty"`
	LastMessageText string          `json:"last_message_text,omitempty"`
	SourceName      string          `json:"source_name,omitempty"`
}

// Pipeline is a sales pipeline with its statuses.
type Pipeline struct {
	ID           int               `json:"id,omitempty"`
	Name         string            `json:"name"`
	Sort         int               `json:"sort,omitempty"`
	IsMain       bool              `json:"is_main"`
	IsUnsortedOn bool              `json:"is_unsorted_on"`
	IsArchive    bool              `json:"is_archive,omitempty"`
	AccountID    int               `json:"account_id,omitempty"`
	RequestID    string            `json:"request_id,omitempty"`
	Embedded     *PipelineEmbedded `json:"_embedded,omitempty"`
}

// PipelineEmbedded holds a pipeline's statuses.
type PipelineEmbedded struct {
	Statuses []*Status `json:"statuses,omitempty"`
}

// Statuses returns the pipeline's statuses (nil when not embedded).
func (p *Pipeline) Statuses() []*Status {
	if p == nil || p.Embedded == nil {
		return nil
	}
	return p.Embedded.Statuses
}

// Status is a stage of a pipeline. Type is 0 for ordinary stages and 1 for
// the "incoming" (unsorted) stage.
type Status struct {
	ID         int    `json:"id,omitempty"`
	Name       string `json:"name"`
	Sort       int    `json:"sort,omitempty"`
	IsEditable bool   `json:"is_editable,omitempty"`
	PipelineID int    `json:"pipeline_id,omitempty"`
	Color      string `json:"color,omitempty"`
	Type       int    `json:"type,omitempty"`
	AccountID  int    `json:"account_id,omitempty"`
	RequestID  string `json:"request_id,omitempty"`
}

// User is a user of the account, with rights when requested.
type User struct {
	ID       int           `json:"id"`
	Name     string        `json:"name"`
	Email    string        `json:"email"`
	Lang     string        `json:"lang,omitempty"`
	Rights   *UserRights   `json:"rights,omitempty"`
	Embedded *UserEmbedded `json:"_embedded,omitempty"`
}

// UserEmbedded holds a user's roles and groups.
type UserEmbedded struct {
	Roles  []Role      `json:"roles,omitempty"`
	Groups []UserGroup `json:"groups,omitempty"`
}

// Role is a user role.
type Role struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// UserRights are a user's permissions. Entity rights use amoCRM's letters:
// "A" all, "G" group, "M" own, "D" denied (per action).
type UserRights struct {
	Leads         EntityRights   `json:"leads"`
	Contacts      EntityRights   `json:"contacts"`
	Companies     EntityRights   `json:"companies"`
	Tasks         EntityRights   `json:"tasks"`
	MailAccess    bool           `json:"mail_access"`
	CatalogAccess bool           `json:"catalog_access"`
	FilesAccess   bool           `json:"files_access"`
	StatusRights  []StatusRights `json:"status_rights,omitempty"`
	IsAdmin       bool           `json:"is_admin"`
	IsFree        bool           `json:"is_free"`
	IsActive      bool           `json:"is_active"`
	GroupID       *int           `json:"group_id,omitempty"`
	RoleID        *int           `json:"role_id,omitempty"`
}

// EntityRights are the per-action rights on one entity type.
type EntityRights struct {
	View   string `json:"view,omitempty"`
	Edit   string `json:"edit,omitempty"`
	Add    string `json:"add,omitempty"`
	Delete string `json:"delete,omitempty"`
	Export string `json:"export,omitempty"`
}

// StatusRights are a user's rights on leads in one pipeline status.
type StatusRights struct {
	EntityType string            `json:"entity_type"`
	PipelineID int               `json:"pipeline_id"`
	StatusID   int               `json:"status_id"`
	Rights     map[string]string `json:"rights"`
}

// UserGroup is a group of users (a department).
type UserGroup struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	UUID string `json:"uuid,omitempty"`
}

// Account is the amoCRM account (GET /api/v4/account).
type Account struct {
	ID                      int              `json:"id"`
	Name                    string           `json:"name"`
	Subdomain               string           `json:"subdomain"`
	CreatedAt               Timestamp        `json:"created_at,omitempty"`
	CreatedBy               int              `json:"created_by,omitempty"`
	UpdatedAt               Timestamp        `json:"updated_at,omitempty"`
	UpdatedBy               int              `json:"updated_by,omitempty"`
	CurrentUserID           int              `json:"current_user_id,omitempty"`
	Country                 string           `json:"country,omitempty"`
	Currency                string           `json:"currency,omitempty"`
	CurrencySymbol          string           `json:"currency_symbol,omitempty"`
	CustomersMode           string           `json:"customers_mode,omitempty"`
	IsUnsortedOn            bool             `json:"is_unsorted_on"`
	IsLossReasonEnabled     bool             `json:"is_loss_reason_enabled"`
	IsHelpbotEnabled        bool             `json:"is_helpbot_enabled"`
	IsTechnicalAccount      bool             `json:"is_technical_account"`
	ContactNameDisplayOrder int              `json:"contact_name_display_order,omitempty"`
	AmojoID                 string           `json:"amojo_id,omitempty"`
	UUID                    string           `json:"uuid,omitempty"`
	Version                 int              `json:"version,omitempty"`
	DriveURL                string           `json:"drive_url,omitempty"`
	IsAPIFilterEnabled      bool             `json:"is_api_filter_enabled,omitempty"`
	Embedded                *AccountEmbedded `json:"_embedded,omitempty"`
}

// AccountEmbedded holds the parts of Account requested with "with".
type AccountEmbedded struct {
	UsersGroups      []UserGroup       `json:"users_groups,omitempty"`
	TaskTypes        []TaskType        `json:"task_types,omitempty"`
	AmojoRights      *AmojoRights      `json:"amojo_rights,omitempty"`
	DatetimeSettings *DatetimeSettings `json:"datetime_settings,omitempty"`
}

// AmojoRights tells what the account may do in the Chats API.
type AmojoRights struct {
	CanDirect       bool `json:"can_direct"`
	CanCreateGroups bool `json:"can_create_groups"`
}

// DatetimeSettings are the account's date formats and timezone.
type DatetimeSettings struct {
	DatePattern      string `json:"date_pattern,omitempty"`
	ShortDatePattern string `json:"short_date_pattern,omitempty"`
	ShortTimePattern string `json:"short_time_pattern,omitempty"`
	DateFormat       string `json:"date_format,omitempty"`
	TimeFormat       string `json:"time_format,omitempty"`
	Timezone         string `json:"timezone,omitempty"`
	TimezoneOffset   string `json:"timezone_offset,omitempty"`
}

// TaskType is a kind of task (1 follow-up, 2 meeting, plus custom ones).
type TaskType struct {
	ID     int    `json:"id"`
	Name   string `json:"name"`
	Color  string `json:"color,omitempty"`
	IconID int    `json:"icon_id,omitempty"`
	Code   string `json:"code,omitempty"`
}

// NoteType is the kind of a note ("common", "call_in", ...).
type NoteType string

// Note types accepted by amoCRM.
const (
	NoteCommon                 NoteType = "common"
	NoteCallIn                 NoteType = "call_in"
	NoteCallOut                NoteType = "call_out"
	NoteServiceMessage         NoteType = "service_message"
	NoteExtendedServiceMessage NoteType = "extended_service_message"
	NoteSMSIn                  NoteType = "sms_in"
	NoteSMSOut                 NoteType = "sms_out"
	NoteAttachment             NoteType = "attachment"
	NoteGeolocation            NoteType = "geolocation"
	NoteChat                   NoteType = "chat"
)

// Note is a note on a lead, contact, company or customer.
type Note struct {
	ID                             int        `json:"id,omitempty"`
	EntityID                       int        `json:"entity_id,omitempty"`
	CreatedBy                      int        `json:"created_by,omitempty"`
	UpdatedBy                      int        `json:"updated_by,omitempty"`
	CreatedAt                      Timestamp  `json:"created_at,omitempty"`
	UpdatedAt                      Timestamp  `json:"updated_at,omitempty"`
	ResponsibleUserID              int        `json:"responsible_user_id,omitempty"`
	GroupID                        int        `json:"group_id,omitempty"`
	NoteType                       NoteType   `json:"note_type"`
	Params                         NoteParams `json:"params,omitzero"`
	AccountID                      int        `json:"account_id,omitempty"`
	IsNeedToTriggerDigitalPipeline bool       `json:"is_need_to_trigger_digital_pipeline,omitempty"`
	RequestID                      string     `json:"request_id,omitempty"`
}

// NoteParams are the type-specific parameters of a note; set those that
// match the NoteType (Text for common, service_message and sms).
type NoteParams struct {
	Text       string `json:"text,omitempty"`
	Service    string `json:"service,omitempty"`
	Phone      string `json:"phone,omitempty"`
	UniqID     string `json:"uniq,omitempty"`
	Duration   int    `json:"duration,omitempty"`
	Source     string `json:"source,omitempty"`
	Link       string `json:"link,omitempty"`
	CallResult string `json:"call_result,omitempty"`
	CallStatus int    `json:"call_status,omitempty"`
	Address    string `json:"address,omitempty"`
	Longitude  string `json:"longitude,omitempty"`
	Latitude   string `json:"latitude,omitempty"`
	FileUUID   string `json:"file_uuid,omitempty"`
	FileName   string `json:"file_name,omitempty"`
	// Extra keeps parameters this struct does not model.
	Extra map[string]json.RawMessage `json:"-"`
}

// Task is a task bound to an entity.
type Task struct {
	ID                int         `json:"id,omitempty"`
	CreatedBy         int         `json:"created_by,omitempty"`
	UpdatedBy         int         `json:"updated_by,omitempty"`
	CreatedAt         Timestamp   `json:"created_at,omitempty"`
	UpdatedAt         Timestamp   `json:"updated_at,omitempty"`
	ResponsibleUserID int         `json:"responsible_user_id,omitempty"`
	GroupID           int         `json:"group_id,omitempty"`
	EntityID          int         `json:"entity_id,omitempty"`
	EntityType        EntityType  `json:"entity_type,omitempty"`
	IsCompleted       bool        `json:"is_completed,omitempty"`
	TaskTypeID        int         `json:"task_type_id,omitempty"`
	Text              string      `json:"text,omitempty"`
	Duration          int         `json:"duration,omitempty"`
	CompleteTill      Timestamp   `json:"complete_till,omitempty"`
	Result            *TaskResult `json:"result,omitempty"`
	AccountID         int         `json:"account_id,omitempty"`
	RequestID         string      `json:"request_id,omitempty"`
}

// TaskResult is the result text of a completed task.
type TaskResult struct {
	Text string `json:"text"`
}

// EntityLink links an entity to another (contact, company, catalog element).
type EntityLink struct {
	EntityID     int           `json:"entity_id,omitempty"`
	EntityType   EntityType    `json:"entity_type,omitempty"`
	ToEntityID   int           `json:"to_entity_id"`
	ToEntityType EntityType    `json:"to_entity_type"`
	Metadata     *LinkMetadata `json:"metadata,omitempty"`
}

// LinkMetadata qualifies a link (main contact, catalog quantity, ...).
type LinkMetadata struct {
	MainContact bool    `json:"main_contact,omitempty"`
	IsMain      bool    `json:"is_main,omitempty"`
	Quantity    float64 `json:"quantity,omitempty"`
	CatalogID   int     `json:"catalog_id,omitempty"`
	PriceID     int     `json:"price_id,omitempty"`
	UpdatedBy   int     `json:"updated_by,omitempty"`
}

// UnsortedCategory is the kind of an unsorted (incoming) lead.
type UnsortedCategory string

// Unsorted categories.
const (
	UnsortedForms UnsortedCategory = "forms"
	UnsortedSIP   UnsortedCategory = "sip"
	UnsortedMail  UnsortedCategory = "mail"
	UnsortedChats UnsortedCategory = "chats"
)

// Unsorted is an incoming lead waiting in the "Неразобранное" stage.
type Unsorted struct {
	UID        string            `json:"uid,omitempty"`
	SourceUID  string            `json:"source_uid,omitempty"`
	SourceName string            `json:"source_name,omitempty"`
	Category   UnsortedCategory  `json:"category,omitempty"`
	PipelineID int               `json:"pipeline_id,omitempty"`
	CreatedAt  Timestamp         `json:"created_at,omitempty"`
	AccountID  int               `json:"account_id,omitempty"`
	Metadata   *UnsortedMetadata `json:"metadata,omitempty"`
	RequestID  string            `json:"request_id,omitempty"`
	Embedded   *UnsortedEmbedded `json:"_embedded,omitempty"`
}

// UnsortedEmbedded holds the lead (exactly one on create), contacts and
// companies of an unsorted item.
type UnsortedEmbedded struct {
	Leads     []*Lead    `json:"leads,omitempty"`
	Contacts  []*Contact `json:"contacts,omitempty"`
	Companies []*Company `json:"companies,omitempty"`
}

// Webhook is an account webhook subscription. Settings are event codes such
// as "add_lead", "update_contact", "status_lead", "add_message".
type Webhook struct {
	ID          int       `json:"id,omitempty"`
	Destination string    `json:"destination"`
	CreatedAt   Timestamp `json:"created_at,omitempty"`
	UpdatedAt   Timestamp `json:"updated_at,omitempty"`
	AccountID   int       `json:"account_id,omitempty"`
	CreatedBy   int       `json:"created_by,omitempty"`
	Sort        int       `json:"sort,omitempty"`
	Disabled    bool      `json:"disabled,omitempty"`
	Settings    []string  `json:"settings,omitempty"`
}
