package amocrm

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// AccountService reads the account: /api/v4/account.
type AccountService service

// Values for AccountService.Get's with.
const (
	AccountWithAmojoID            = "amojo_id"
	AccountWithAmojoRights        = "amojo_rights"
	AccountWithUsersGroups        = "users_groups"
	AccountWithTaskTypes          = "task_types"
	AccountWithVersion            = "version"
	AccountWithEntityNames        = "entity_names"
	AccountWithDatetimeSettings   = "datetime_settings"
	AccountWithDriveURL           = "drive_url"
	AccountWithIsAPIFilterEnabled = "is_api_filter_enabled"
)

// Get returns the account. opts.With selects extra data (AccountWithAmojoID
// for the Chats API id, AccountWithUsersGroups, AccountWithTaskTypes, ...).
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/account-info
func (s *AccountService) Get(ctx context.Context, opts *GetOptions) (*Account, *Response, error) {
	return getOne[Account](ctx, s.client, "/api/v4/account", opts.values())
}

// UsersService reads users: /api/v4/users.
type UsersService service

// Values for UserListOptions.With.
const (
	UserWithRole     = "role"
	UserWithGroup    = "group"
	UserWithUUID     = "uuid"
	UserWithAmojoID  = "amojo_id"
	UserWithUserRank = "user_rank"
)

// UserListOptions are the parameters of UsersService.List.
type UserListOptions struct {
	ListOptions
	With []string
}

// List returns one page of users with their rights.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/users-api
func (s *UsersService) List(ctx context.Context, opts *UserListOptions) ([]*User, *Response, error) {
	q := url.Values{}
	if opts != nil {
		opts.ListOptions.encode(q, MaxLimit)
		encodeWith(q, opts.With)
	}
	return getList[*User](ctx, s.client, "/api/v4/users", "users", q, nil)
}

// ListIter returns all users.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/users-api
func (s *UsersService) ListIter(ctx context.Context, opts *UserListOptions) iter.Seq2[*User, error] {
	var o UserListOptions
	if opts != nil {
		o = *opts
	}
	return iterate(ctx, o.Page, func(ctx context.Context, page int) ([]*User, *Response, error) {
		o.Page = page
		return s.List(ctx, &o)
	})
}

// Get returns one user.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/users-api
func (s *UsersService) Get(ctx context.Context, id int, opts *GetOptions) (*User, *Response, error) {
	return getOne[User](ctx, s.client, "/api/v4/users/"+strconv.Itoa(id), opts.values())
}

// CustomFieldsService handles the custom field schema of leads, contacts,
// companies, customers (and segments/catalogs).
type CustomFieldsService service

// CustomFieldListOptions are the parameters of CustomFieldsService.List.
// amoCRM returns at most 50 fields per page.
type CustomFieldListOptions struct {
	ListOptions
	// Types keeps only fields of these types.
	Types []FieldType
	Order *Order
}

func customFieldsPath(entity EntityType) (string, error) {
	switch entity {
	case EntityLeads, EntityContacts, EntityCompanies, EntityCustomers, EntitySegments:
		return "/api/v4/" + string(entity) + "/custom_fields", nil
	}
	if strings.HasPrefix(string(entity), "catalogs/") {
		return "/api/v4/" + string(entity) + "/custom_fields", nil
	}
	return "", &InvalidRequestError{Index: -1, Reason: "custom fields: unsupported entity type " + strconv.Quote(string(entity))}
}

// List returns one page of custom fields of entity (EntityLeads, ...).
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/custom-fields
func (s *CustomFieldsService) List(ctx context.Context, entity EntityType, opts *CustomFieldListOptions) ([]*CustomField, *Response, error) {
	path, err := customFieldsPath(entity)
	if err != nil {
		return nil, nil, err
	}
	q := url.Values{}
	if opts != nil {
		opts.ListOptions.encode(q, 50)
		for i, t := range opts.Types {
			q.Set("filter[type]["+strconv.Itoa(i)+"]", string(t))
		}
		opts.Order.encode(q)
	}
	return getList[*CustomField](ctx, s.client, path, "custom_fields", q, nil)
}

// ListIter returns all custom fields of entity, page after page.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/custom-fields
func (s *CustomFieldsService) ListIter(ctx context.Context, entity EntityType, opts *CustomFieldListOptions) iter.Seq2[*CustomField, error] {
	var o CustomFieldListOptions
	if opts != nil {
		o = *opts
	}
	return iterate(ctx, o.Page, func(ctx context.Context, page int) ([]*CustomField, *Response, error) {
		o.Page = page
		return s.List(ctx, entity, &o)
	})
}

// Get returns one custom field of entity.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/custom-fields
func (s *CustomFieldsService) Get(ctx context.Context, entity EntityType, id int) (*CustomField, *Response, error) {
	path, err := customFieldsPath(entity)
	if err != nil {
		return nil, nil, err
	}
	return getOne[CustomField](ctx, s.client, path+"/"+strconv.Itoa(id), nil)
}

// Create adds custom fields to entity, in chunks of at most MaxBatch.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/custom-fields
func (s *CustomFieldsService) Create(ctx context.Context, entity EntityType, fields []*CustomField) ([]*CustomField, *Response, error) {
	path, err := customFieldsPath(entity)
	if err != nil {
		return nil, nil, err
	}
	return writeChunked(ctx, s.client, http.MethodPost, path, "custom_fields", fields)
}

// Delete removes a custom field of entity.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/custom-fields
func (s *CustomFieldsService) Delete(ctx context.Context, entity EntityType, id int) (*Response, error) {
	path, err := customFieldsPath(entity)
	if err != nil {
		return nil, err
	}
	return s.client.do(ctx, &request{method: http.MethodDelete, path: path + "/" + strconv.Itoa(id)}, nil)
}

// PipelinesService handles pipelines and their statuses: /api/v4/leads/pipelines.
type PipelinesService service

// List returns all pipelines with their statuses.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads_pipelines
func (s *PipelinesService) List(ctx context.Context) ([]*Pipeline, *Response, error) {
	return getList[*Pipeline](ctx, s.client, "/api/v4/leads/pipelines", "pipelines", url.Values{}, nil)
}

// Get returns one pipeline with its statuses.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads_pipelines
func (s *PipelinesService) Get(ctx context.Context, id int) (*Pipeline, *Response, error) {
	return getOne[Pipeline](ctx, s.client, "/api/v4/leads/pipelines/"+strconv.Itoa(id), nil)
}

// Create adds pipelines (with their statuses in Embedded).
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads_pipelines
func (s *PipelinesService) Create(ctx context.Context, pipelines []*Pipeline) ([]*Pipeline, *Response, error) {
	return writeChunked(ctx, s.client, http.MethodPost, "/api/v4/leads/pipelines", "pipelines", pipelines)
}

// Delete removes a pipeline.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads_pipelines
func (s *PipelinesService) Delete(ctx context.Context, id int) (*Response, error) {
	return s.client.do(ctx, &request{method: http.MethodDelete, path: "/api/v4/leads/pipelines/" + strconv.Itoa(id)}, nil)
}

// ListStatuses returns the statuses of a pipeline.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads_pipelines
func (s *PipelinesService) ListStatuses(ctx context.Context, pipelineID int) ([]*Status, *Response, error) {
	return getList[*Status](ctx, s.client, "/api/v4/leads/pipelines/"+strconv.Itoa(pipelineID)+"/statuses", "statuses", url.Values{}, nil)
}

// GetStatus returns one status of a pipeline.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads_pipelines
func (s *PipelinesService) GetStatus(ctx context.Context, pipelineID, statusID int) (*Status, *Response, error) {
	return getOne[Status](ctx, s.client, "/api/v4/leads/pipelines/"+strconv.Itoa(pipelineID)+"/statuses/"+strconv.Itoa(statusID), nil)
}

// ListLossReasons returns the loss reasons of the account.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/leads-api
func (s *PipelinesService) ListLossReasons(ctx context.Context) ([]*LossReason, *Response, error) {
	return getList[*LossReason](ctx, s.client, "/api/v4/leads/loss_reasons", "loss_reasons", url.Values{}, nil)
}

func entityPath(entity EntityType) (string, error) {
	switch entity {
	case EntityLeads, EntityContacts, EntityCompanies, EntityCustomers:
		return "/api/v4/" + string(entity), nil
	}
	return "", &InvalidRequestError{Index: -1, Reason: "unsupported entity type " + strconv.Quote(string(entity))}
}

// NotesService handles notes of leads, contacts, companies and customers.
type NotesService service

// NoteListOptions are the parameters of NotesService.List.
type NoteListOptions struct {
	ListOptions
	// EntityIDs keeps notes of these entities.
	EntityIDs []int
	// Types keeps notes of these types.
	Types []NoteType
	Order *Order
}

func (o *NoteListOptions) values() url.Values {
	q := url.Values{}
	if o == nil {
		return q
	}
	o.ListOptions.encode(q, MaxLimit)
	encodeInts(q, "filter[entity_id]", o.EntityIDs)
	for _, t := range o.Types {
		q.Add("filter[note_type][]", string(t))
	}
	o.Order.encode(q)
	return q
}

// List returns one page of notes of an entity type.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/events-and-notes#notes-list
func (s *NotesService) List(ctx context.Context, entity EntityType, opts *NoteListOptions) ([]*Note, *Response, error) {
	p, err := entityPath(entity)
	if err != nil {
		return nil, nil, err
	}
	return getList[*Note](ctx, s.client, p+"/notes", "notes", opts.values(), nil)
}

// ListIter returns all notes of an entity type matching opts.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/events-and-notes#notes-list
func (s *NotesService) ListIter(ctx context.Context, entity EntityType, opts *NoteListOptions) iter.Seq2[*Note, error] {
	var o NoteListOptions
	if opts != nil {
		o = *opts
	}
	return iterate(ctx, o.Page, func(ctx context.Context, page int) ([]*Note, *Response, error) {
		o.Page = page
		return s.List(ctx, entity, &o)
	})
}

// Get returns one note.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/events-and-notes#notes-detail
func (s *NotesService) Get(ctx context.Context, entity EntityType, id int) (*Note, *Response, error) {
	p, err := entityPath(entity)
	if err != nil {
		return nil, nil, err
	}
	return getOne[Note](ctx, s.client, p+"/notes/"+strconv.Itoa(id), nil)
}

// Create adds notes (each with EntityID and NoteType) in chunks of MaxBatch.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/events-and-notes#notes-add
func (s *NotesService) Create(ctx context.Context, entity EntityType, notes []*Note) ([]*Note, *Response, error) {
	p, err := entityPath(entity)
	if err != nil {
		return nil, nil, err
	}
	for i, n := range notes {
		if n == nil || n.EntityID == 0 || n.NoteType == "" {
			return nil, nil, &InvalidRequestError{Index: i, Reason: "note needs EntityID and NoteType"}
		}
	}
	return writeChunked(ctx, s.client, http.MethodPost, p+"/notes", "notes", notes)
}

// TasksService handles tasks: /api/v4/tasks.
type TasksService service

// TaskListOptions are the parameters of TasksService.List.
type TaskListOptions struct {
	ListOptions
	ResponsibleUserIDs []int
	EntityType         EntityType
	EntityIDs          []int
	TaskTypeIDs        []int
	// IsCompleted filters by completion when not nil.
	IsCompleted *bool
	Order       *Order
	Extra       url.Values
}

// List returns one page of tasks.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/tasks-api
func (s *TasksService) List(ctx context.Context, opts *TaskListOptions) ([]*Task, *Response, error) {
	q := url.Values{}
	if opts != nil {
		opts.ListOptions.encode(q, MaxLimit)
		encodeInts(q, "filter[responsible_user_id]", opts.ResponsibleUserIDs)
		if opts.EntityType != "" {
			q.Set("filter[entity_type]", string(opts.EntityType))
		}
		encodeInts(q, "filter[entity_id]", opts.EntityIDs)
		encodeInts(q, "filter[task_type]", opts.TaskTypeIDs)
		if opts.IsCompleted != nil {
			q.Set("filter[is_completed]", map[bool]string{true: "1", false: "0"}[*opts.IsCompleted])
		}
		opts.Order.encode(q)
		mergeValues(q, opts.Extra)
	}
	return getList[*Task](ctx, s.client, "/api/v4/tasks", "tasks", q, nil)
}

// ListIter returns all tasks matching opts.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/tasks-api
func (s *TasksService) ListIter(ctx context.Context, opts *TaskListOptions) iter.Seq2[*Task, error] {
	var o TaskListOptions
	if opts != nil {
		o = *opts
	}
	return iterate(ctx, o.Page, func(ctx context.Context, page int) ([]*Task, *Response, error) {
		o.Page = page
		return s.List(ctx, &o)
	})
}

// Get returns one task.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/tasks-api
func (s *TasksService) Get(ctx context.Context, id int) (*Task, *Response, error) {
	return getOne[Task](ctx, s.client, "/api/v4/tasks/"+strconv.Itoa(id), nil)
}

// Create adds tasks (Text and CompleteTill are required) in chunks of MaxBatch.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/tasks-api
func (s *TasksService) Create(ctx context.Context, tasks []*Task) ([]*Task, *Response, error) {
	for i, t := range tasks {
		if t == nil || t.Text == "" || t.CompleteTill == 0 {
			return nil, nil, &InvalidRequestError{Index: i, Reason: "task needs Text and CompleteTill"}
		}
	}
	return writeChunked(ctx, s.client, http.MethodPost, "/api/v4/tasks", "tasks", tasks)
}

// Update changes tasks (each with ID) in chunks of MaxBatch.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/tasks-api
func (s *TasksService) Update(ctx context.Context, tasks []*Task) ([]*Task, *Response, error) {
	for i, t := range tasks {
		if t == nil || t.ID == 0 {
			return nil, nil, &InvalidRequestError{Index: i, Reason: "task without id"}
		}
	}
	return writeChunked(ctx, s.client, http.MethodPatch, "/api/v4/tasks", "tasks", tasks)
}

// TagsService handles the tags of an entity type.
type TagsService service

// TagListOptions are the parameters of TagsService.List.
type TagListOptions struct {
	ListOptions
	// Query searches tags by name.
	Query string
	Names []string
	IDs   []int
}

// List returns one page of tags of entity (EntityLeads, EntityContacts, ...).
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/tags-api
func (s *TagsService) List(ctx context.Context, entity EntityType, opts *TagListOptions) ([]*Tag, *Response, error) {
	p, err := entityPath(entity)
	if err != nil {
		return nil, nil, err
	}
	q := url.Values{}
	if opts != nil {
		opts.ListOptions.encode(q, MaxLimit)
		if opts.Query != "" {
			q.Set("query", opts.Query)
		}
		for _, n := range opts.Names {
			q.Add("filter[name][]", n)
		}
		encodeInts(q, "filter[id]", opts.IDs)
	}
	return getList[*Tag](ctx, s.client, p+"/tags", "tags", q, nil)
}

// ListIter returns all tags of entity matching opts.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/tags-api
func (s *TagsService) ListIter(ctx context.Context, entity EntityType, opts *TagListOptions) iter.Seq2[*Tag, error] {
	var o TagListOptions
	if opts != nil {
		o = *opts
	}
	return iterate(ctx, o.Page, func(ctx context.Context, page int) ([]*Tag, *Response, error) {
		o.Page = page
		return s.List(ctx, entity, &o)
	})
}

// Create adds tags to entity's tag list, in chunks of MaxBatch.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/tags-api
func (s *TagsService) Create(ctx context.Context, entity EntityType, tags []*Tag) ([]*Tag, *Response, error) {
	p, err := entityPath(entity)
	if err != nil {
		return nil, nil, err
	}
	return writeChunked(ctx, s.client, http.MethodPost, p+"/tags", "tags", tags)
}

// LinksService links entities to each other.
type LinksService service

// List returns the links of one entity.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/entity-links-api
func (s *LinksService) List(ctx context.Context, entity EntityType, id int) ([]*EntityLink, *Response, error) {
	p, err := entityPath(entity)
	if err != nil {
		return nil, nil, err
	}
	return getList[*EntityLink](ctx, s.client, p+"/"+strconv.Itoa(id)+"/links", "links", url.Values{}, nil)
}

// Link links entities: each EntityLink needs EntityID (of entity type),
// ToEntityID and ToEntityType. Sent in chunks of MaxBatch.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/entity-links-api
func (s *LinksService) Link(ctx context.Context, entity EntityType, links []*EntityLink) ([]*EntityLink, *Response, error) {
	p, err := entityPath(entity)
	if err != nil {
		return nil, nil, err
	}
	return writeChunked(ctx, s.client, http.MethodPost, p+"/link", "links", links)
}

// Unlink removes links (same shape as Link).
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/entity-links-api
func (s *LinksService) Unlink(ctx context.Context, entity EntityType, links []*EntityLink) (*Response, error) {
	p, err := entityPath(entity)
	if err != nil {
		return nil, err
	}
	var resp *Response
	for _, chunk := range Chunk(links, MaxBatch) {
		req, err := s.client.newRequest(http.MethodPost, p+"/unlink", nil, chunk)
		if err != nil {
			return resp, err
		}
		if resp, err = s.client.do(ctx, req, nil); err != nil {
			return resp, err
		}
	}
	return resp, nil
}

// UnsortedService handles incoming ("unsorted") leads: /api/v4/leads/unsorted.
type UnsortedService service

// UnsortedListOptions are the parameters of UnsortedService.List.
type UnsortedListOptions struct {
	ListOptions
	UIDs       []string
	Categories []UnsortedCategory
	PipelineID int
	Order      *Order
}

// List returns one page of unsorted items.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/unsorted-api
func (s *UnsortedService) List(ctx context.Context, opts *UnsortedListOptions) ([]*Unsorted, *Response, error) {
	q := url.Values{}
	if opts != nil {
		opts.ListOptions.encode(q, MaxLimit)
		for _, u := range opts.UIDs {
			q.Add("filter[uid][]", u)
		}
		for _, c := range opts.Categories {
			q.Add("filter[category][]", string(c))
		}
		if opts.PipelineID != 0 {
			q.Set("filter[pipeline_id]", strconv.Itoa(opts.PipelineID))
		}
		opts.Order.encode(q)
	}
	return getList[*Unsorted](ctx, s.client, "/api/v4/leads/unsorted", "unsorted", q, nil)
}

// ListIter returns all unsorted items matching opts.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/unsorted-api
func (s *UnsortedService) ListIter(ctx context.Context, opts *UnsortedListOptions) iter.Seq2[*Unsorted, error] {
	var o UnsortedListOptions
	if opts != nil {
		o = *opts
	}
	return iterate(ctx, o.Page, func(ctx context.Context, page int) ([]*Unsorted, *Response, error) {
		o.Page = page
		return s.List(ctx, &o)
	})
}

// Get returns one unsorted item by uid.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/unsorted-api
func (s *UnsortedService) Get(ctx context.Context, uid string) (*Unsorted, *Response, error) {
	return getOne[Unsorted](ctx, s.client, "/api/v4/leads/unsorted/"+url.PathEscape(uid), nil)
}

// CreateForms adds web-form unsorted items (each with SourceUID,
// SourceName, Metadata and exactly one lead in Embedded.Leads), in chunks of
// MaxBatch.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/unsorted-api
func (s *UnsortedService) CreateForms(ctx context.Context, items []*Unsorted) ([]*Unsorted, *Response, error) {
	for i, it := range items {
		if it == nil || it.SourceUID == "" || it.Embedded == nil || len(it.Embedded.Leads) != 1 {
			return nil, nil, &InvalidRequestError{Index: i, Reason: "unsorted form needs SourceUID and exactly one lead"}
		}
	}
	return writeChunked(ctx, s.client, http.MethodPost, "/api/v4/leads/unsorted/forms", "unsorted", items)
}

// UnsortedActionOptions are the parameters of Accept and Decline.
type UnsortedActionOptions struct {
	// UserID acts on behalf of this user.
	UserID int `json:"user_id,omitempty"`
	// StatusID is the stage the accepted lead goes to (Accept only).
	StatusID int `json:"status_id,omitempty"`
}

// UnsortedResult is the answer to Accept and Decline.
type UnsortedResult struct {
	UID        string            `json:"uid"`
	AcceptedAt Timestamp         `json:"accepted_at,omitempty"`
	DeclinedAt Timestamp         `json:"declined_at,omitempty"`
	Embedded   *UnsortedEmbedded `json:"_embedded,omitempty"`
}

// Accept turns an unsorted item into a regular lead.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/unsorted-api
func (s *UnsortedService) Accept(ctx context.Context, uid string, opts *UnsortedActionOptions) (*UnsortedResult, *Response, error) {
	return s.action(ctx, http.MethodPost, uid, "accept", opts)
}

// Decline rejects an unsorted item.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/unsorted-api
func (s *UnsortedService) Decline(ctx context.Context, uid string, opts *UnsortedActionOptions) (*UnsortedResult, *Response, error) {
	return s.action(ctx, http.MethodDelete, uid, "decline", opts)
}

func (s *UnsortedService) action(ctx context.Context, method, uid, verb string, opts *UnsortedActionOptions) (*UnsortedResult, *Response, error) {
	if uid == "" {
		return nil, nil, &InvalidRequestError{Index: -1, Reason: "empty unsorted uid"}
	}
	var body any
	if opts != nil {
		body = opts
	}
	req, err := s.client.newRequest(method, "/api/v4/leads/unsorted/"+url.PathEscape(uid)+"/"+verb, nil, body)
	if err != nil {
		return nil, nil, err
	}
	out := new(UnsortedResult)
	resp, err := s.client.do(ctx, req, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// WebhooksService manages account webhook subscriptions (admin rights).
type WebhooksService service

// WebhookListOptions are the parameters of WebhooksService.List.
type WebhookListOptions struct {
	// Destination keeps only the subscription of this URL.
	Destination string
}

// List returns the account's webhook subscriptions.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/webhooks-api
func (s *WebhooksService) List(ctx context.Context, opts *WebhookListOptions) ([]*Webhook, *Response, error) {
	q := url.Values{}
	if opts != nil && opts.Destination != "" {
		q.Set("filter[destination]", opts.Destination)
	}
	return getList[*Webhook](ctx, s.client, "/api/v4/webhooks", "webhooks", q, nil)
}

// WebhookOption sets an optional field of a subscription in
// WebhooksService.Subscribe.
type WebhookOption func(*webhookOptions)

type webhookOptions struct {
	sort *int
}

// WebhookSort sets the subscription's sort, its position among the
// account's webhooks (at least 1). Without it amoCRM keeps the sort of an
// existing subscription of the destination and gives a new one its default.
func WebhookSort(sort int) WebhookOption {
	return func(o *webhookOptions) { o.sort = &sort }
}

// Subscribe subscribes destination to the given event codes ("add_lead",
// "update_contact", "status_lead", ...); opts set optional fields such as
// WebhookSort. Subscribing a destination again replaces its events.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/webhooks-api
func (s *WebhooksService) Subscribe(ctx context.Context, destination string, settings []string, opts ...WebhookOption) (*Webhook, *Response, error) {
	if destination == "" || len(settings) == 0 {
		return nil, nil, &InvalidRequestError{Index: -1, Reason: "webhook needs a destination and at least one event"}
	}
	var o webhookOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	body := &Webhook{Destination: destination, Settings: settings}
	if o.sort != nil {
		if *o.sort < 1 {
			return nil, nil, &InvalidRequestError{Index: -1, Reason: fmt.Sprintf("webhook sort %d: must be at least 1", *o.sort)}
		}
		body.Sort = *o.sort
	}
	req, err := s.client.newRequest(http.MethodPost, "/api/v4/webhooks", nil, body)
	if err != nil {
		return nil, nil, err
	}
	out := new(Webhook)
	resp, err := s.client.do(ctx, req, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// Unsubscribe removes the subscription of destination.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/webhooks-api
func (s *WebhooksService) Unsubscribe(ctx context.Context, destination string) (*Response, error) {
	if destination == "" {
		return nil, errors.New("amocrm: Unsubscribe: empty destination")
	}
	req, err := s.client.newRequest(http.MethodDelete, "/api/v4/webhooks", nil, map[string]string{"destination": destination})
	if err != nil {
		return nil, err
	}
	return s.client.do(ctx, req, nil)
}
