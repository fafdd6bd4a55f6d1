package amocrm

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Limits of the incoming webhook parser.
const (
	maxWebhookBody  = 10 << 20
	maxWebhookKeys  = 20000
	maxWebhookDepth = 16
)

// WebhookAccount identifies the account that sent a webhook. Check it
// against your allow-list: amoCRM does not sign account webhooks.
type WebhookAccount struct {
	ID        int
	Subdomain string
	// Self is account[_links][self], the account's base URL.
	Self string
}

// WebhookPayload is one incoming account webhook POST; it may carry several
// events (several entities and actions).
type WebhookPayload struct {
	Account WebhookAccount
	Events  []WebhookEvent
}

// WebhookEvent is one entity in an incoming webhook, e.g. leads[status][0].
// Webhooks use legacy field names (date_create, last_modified,
// created_user_id, custom_fields[i][values][j][enum]); they are mapped to the
// fields below. Treat a webhook as a trigger and re-read the entity through
// the API when you need its full, current state.
type WebhookEvent struct {
	// Entity is the top-level key: "leads", "contacts", "companies",
	// "customers", "task", "message", "talk", "unsorted", "catalogs".
	Entity string
	// Action is "add", "update", "delete", "restore", "status",
	// "responsible", "note", ...
	Action string
	// Index is the position within Entity[Action].
	Index int

	// ID is the entity's numeric id. It is 0 for chat messages, whose id
	// is a UUID: see MessageID.
	ID   int
	Name string
	// Type is "contact" or "company" for contacts[...]. It is empty for
	// chat messages, whose type field is the direction (see Direction).
	Type                 string
	StatusID             int
	OldStatusID          int
	PipelineID           int
	OldPipelineID        int
	ResponsibleUserID    int
	OldResponsibleUserID int
	Price                int
	AccountID            int
	CreatedAt            Timestamp // date_create or created_at
	UpdatedAt            Timestamp // last_modified or updated_at
	CreatedBy            int       // created_user_id or created_by
	UpdatedBy            int       // modified_user_id or updated_by
	CustomFields         []WebhookField
	Tags                 []Tag
	LinkedLeadIDs        []int
	LinkedCompanyID      int
	CompanyName          string

	// Message, talk, note and task fields.
	Text      string
	ChatID    string
	TalkID    string
	ContactID int
	EntityID  int // element_id or entity_id
	// EntityType is the kind of entity EntityID names, always by name:
	// WebhookEntityLead, WebhookEntityContact, WebhookEntityCompany,
	// WebhookEntityTask, WebhookEntityCustomer, or another name amoCRM
	// sends in entity_type. The legacy numeric element_type (2 for a lead)
	// is mapped to its name; a number this package does not know gives ""
	// (the raw value stays in Fields).
	EntityType string
	NoteType   string
	// Direction is "incoming" or "outgoing" for messages.
	Direction string
	// MessageID is the id of a chat message (message[add][0][id]), a UUID
	// kept as the string amoCRM sent.
	MessageID string
	// Author is who wrote a chat message; zero for other events.
	Author WebhookAuthor
	// Origin is the channel of a chat message or talk ("telegram",
	// "waba", "instagram_business", ...).
	Origin string

	// Fields holds every value of the event, flattened with bracketed keys
	// relative to the event ("custom_fields[0][values][0][value]").
	Fields map[string]string
}

// WebhookAuthor is the author of a chat message in a webhook
// (message[add][0][author]).
type WebhookAuthor struct {
	// ID is the author's id in the Chats API (a UUID).
	ID string
	// Type is "external" for the client writing through a channel and
	// "internal" for an amoCRM user.
	Type      string
	Name      string
	AvatarURL string
}

// Names of the entity a webhook event refers to (WebhookEvent.EntityType).
const (
	WebhookEntityContact  = "contact"
	WebhookEntityLead     = "lead"
	WebhookEntityCompany  = "company"
	WebhookEntityTask     = "task"
	WebhookEntityCustomer = "customer"
)

// webhookElementTypes maps amoCRM's legacy numeric element_type codes to
// entity names.
var webhookElementTypes = map[int]string{
	1:  WebhookEntityContact,
	2:  WebhookEntityLead,
	3:  WebhookEntityCompany,
	4:  WebhookEntityTask,
	12: WebhookEntityCustomer,
}

// webhookEntityPlurals maps the API v4 (plural) entity names to the names
// webhooks use.
var webhookEntityPlurals = map[string]string{
	"contacts":  WebhookEntityContact,
	"leads":     WebhookEntityLead,
	"companies": WebhookEntityCompany,
	"tasks":     WebhookEntityTask,
	"customers": WebhookEntityCustomer,
}

// webhookEntityType normalises an entity_type or element_type value to an
// entity name: a known number maps to its name, an unknown one to "", a
// plural API name to the singular.
func webhookEntityType(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return ""
	}
	if n, err := strconv.Atoi(v); err == nil {
		return webhookElementTypes[n]
	}
	if s, ok := webhookEntityPlurals[v]; ok {
		return s
	}
	return v
}

// WebhookField is a custom field in a webhook event.
type WebhookField struct {
	ID     int
	Name   string
	Code   string
	Values []FieldValue
}

// ParseWebhook reads an incoming amoCRM account webhook (a form-encoded
// POST) into typed events. The body is read up to 10 MiB. Respond 2xx
// quickly and process asynchronously: amoCRM has short timeouts.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/webhooks-format
func ParseWebhook(r *http.Request) (*WebhookPayload, error) {
	if r == nil || r.Body == nil {
		return nil, errors.New("amocrm: webhook: empty request")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err == nil && mt != "application/x-www-form-urlencoded" {
			return nil, fmt.Errorf("amocrm: webhook: unexpected content type %q", mt)
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil {
		return nil, fmt.Errorf("amocrm: webhook: read body: %w", err)
	}
	if len(body) > maxWebhookBody {
		return nil, errors.New("amocrm: webhook: body too large")
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("amocrm: webhook: %w", err)
	}
	return ParseWebhookForm(vals)
}

// ParseWebhookForm parses already decoded webhook form values.
//
// amoCRM API docs: https://www.amocrm.ru/developers/content/crm_platform/webhooks-format
func ParseWebhookForm(form url.Values) (*WebhookPayload, error) {
	if len(form) > maxWebhookKeys {
		return nil, errors.New("amocrm: webhook: too many keys")
	}
	root := &formNode{}
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := form[k]
		path := splitFormKey(k)
		if len(path) == 0 || len(vs) == 0 {
			continue
		}
		if len(path) > maxWebhookDepth {
			path = path[:maxWebhookDepth]
		}
		root.set(path, vs[len(vs)-1])
	}
	p := &WebhookPayload{}
	if acc := root.child("account"); acc != nil {
		p.Account = WebhookAccount{
			ID:        acc.int("id"),
			Subdomain: acc.str("subdomain"),
			Self:      acc.child("_links").str("self"),
		}
	}
	for _, entity := range root.sortedKeys() {
		if entity == "account" {
			continue
		}
		en := root.kids[entity]
		for _, action := range en.sortedKeys() {
			an := en.kids[action]
			for _, idx := range an.sortedKeys() {
				item := an.kids[idx]
				if item.kids == nil {
					continue
				}
				i, _ := strconv.Atoi(idx)
				p.Events = append(p.Events, buildEvent(entity, action, i, item))
			}
		}
	}
	if len(p.Events) == 0 && p.Account.ID == 0 && p.Account.Subdomain == "" {
		return p, errors.New("amocrm: webhook: no events in payload")
	}
	return p, nil
}

func buildEvent(entity, action string, idx int, n *formNode) WebhookEvent {
	e := WebhookEvent{
		Entity:               entity,
		Action:               action,
		Index:                idx,
		ID:                   n.int("id"),
		Name:                 n.str("name"),
		Type:                 n.str("type"),
		StatusID:             n.int("status_id"),
		OldStatusID:          n.int("old_status_id"),
		PipelineID:           n.int("pipeline_id"),
		OldPipelineID:        n.int("old_pipeline_id"),
		ResponsibleUserID:    n.int("responsible_user_id"),
		OldResponsibleUserID: n.int("old_responsible_user_id"),
		Price:                n.int("price"),
		AccountID:            n.int("account_id"),
		CreatedAt:            n.ts("date_create", "created_at"),
		UpdatedAt:            n.ts("last_modified", "updated_at"),
		CreatedBy:            n.intAny("created_user_id", "created_by"),
		UpdatedBy:            n.intAny("modified_user_id", "updated_by"),
		LinkedCompanyID:      n.int("linked_company_id"),
		CompanyName:          n.str("company_name"),
		Text:                 n.str("text"),
		ChatID:               n.str("chat_id"),
		TalkID:               n.str("talk_id"),
		ContactID:            n.int("contact_id"),
		EntityID:             n.intAny("element_id", "entity_id"),
		EntityType:           firstNonEmpty(webhookEntityType(n.str("entity_type")), webhookEntityType(n.str("element_type"))),
		NoteType:             n.str("note_type"),
		Origin:               n.str("origin"),
		Fields:               map[string]string{},
	}
	if e.Entity == "message" {
		// A message's id is a UUID and its type is the direction.
		e.ID, e.Type = 0, ""
		e.MessageID = n.str("id")
		e.Direction = n.str("type")
		if a := n.child("author"); a != nil {
			e.Author = WebhookAuthor{ID: a.str("id"), Type: a.str("type"), Name: a.str("name"), AvatarURL: a.str("avatar_url")}
		}
	}
	if note := n.child("note"); note != nil { // leads[note][0][note][...]
		if e.Text == "" {
			e.Text = note.str("text")
		}
		if e.EntityID == 0 {
			e.EntityID = note.intAny("element_id", "entity_id")
		}
		if e.EntityType == "" {
			e.EntityType = firstNonEmpty(webhookEntityType(note.str("entity_type")), webhookEntityType(note.str("element_type")))
		}
		if e.NoteType == "" {
			e.NoteType = note.str("note_type")
		}
		if e.ID == 0 {
			e.ID = note.int("id")
		}
	}
	if cf := n.child("custom_fields"); cf != nil {
		for _, k := range cf.sortedKeys() {
			f := cf.kids[k]
			wf := WebhookField{ID: f.int("id"), Name: f.str("name"), Code: f.str("code")}
			if vals := f.child("values"); vals != nil {
				if vals.hasVal && vals.kids == nil {
					wf.Values = append(wf.Values, FieldValue{Value: vals.val})
				}
				for _, vk := range vals.sortedKeys() {
					v := vals.kids[vk]
					if v.kids == nil { // date fields: values[0]=<ts>
						wf.Values = append(wf.Values, FieldValue{Value: v.val})
						continue
					}
					fv := FieldValue{EnumCode: v.str("enum_code"), Subtype: v.str("subtype")}
					if v.child("value") != nil {
						fv.Value = v.str("value")
					}
					if en := v.str("enum"); en != "" {
						if id, err := strconv.Atoi(en); err == nil {
							fv.EnumID = id
						} else if fv.EnumCode == "" {
							fv.EnumCode = en
						}
					}
					if id := v.int("enum_id"); id != 0 {
						fv.EnumID = id
					}
					wf.Values = append(wf.Values, fv)
				}
			}
			e.CustomFields = append(e.CustomFields, wf)
		}
	}
	if tags := n.child("tags"); tags != nil {
		for _, k := range tags.sortedKeys() {
			t := tags.kids[k]
			if t.kids == nil {
				e.Tags = append(e.Tags, Tag{Name: t.val})
				continue
			}
			e.Tags = append(e.Tags, Tag{ID: t.int("id"), Name: t.str("name")})
		}
	}
	if ll := n.child("linked_leads_id"); ll != nil {
		for _, k := range ll.sortedKeys() {
			c := ll.kids[k]
			id := c.int("ID")
			if id == 0 {
				id, _ = strconv.Atoi(strings.TrimSpace(c.val))
			}
			if id == 0 {
				id, _ = strconv.Atoi(k)
			}
			if id != 0 {
				e.LinkedLeadIDs = append(e.LinkedLeadIDs, id)
			}
		}
	}
	n.flatten("", e.Fields)
	return e
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// formNode is a node of the bracketed-key tree.
type formNode struct {
	val    string
	hasVal bool
	kids   map[string]*formNode
}

func (n *formNode) set(path []string, v string) {
	cur := n
	for _, p := range path {
		if cur.kids == nil {
			cur.kids = make(map[string]*formNode)
		}
		next := cur.kids[p]
		if next == nil {
			next = &formNode{}
			cur.kids[p] = next
		}
		cur = next
	}
	cur.val, cur.hasVal = v, true
}

func (n *formNode) child(k string) *formNode {
	if n == nil || n.kids == nil {
		return nil
	}
	return n.kids[k]
}

func (n *formNode) str(k string) string {
	c := n.child(k)
	if c == nil {
		return ""
	}
	return c.val
}

func (n *formNode) int(k string) int {
	s := strings.TrimSpace(n.str(k))
	if s == "" {
		return 0
	}
	if v, err := strconv.Atoi(s); err == nil {
		return v
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > -1e18 && f < 1e18 {
		return int(f)
	}
	return 0
}

func (n *formNode) intAny(keys ...string) int {
	for _, k := range keys {
		if v := n.int(k); v != 0 {
			return v
		}
	}
	return 0
}

func (n *formNode) ts(keys ...string) Timestamp {
	for _, k := range keys {
		if s := n.str(k); s != "" {
			if sec, ok := parseTimeString(s); ok && sec != 0 {
				return Timestamp(sec)
			}
		}
	}
	return 0
}

// sortedKeys returns child keys, numeric ones in numeric order first.
func (n *formNode) sortedKeys() []string {
	if n == nil || len(n.kids) == 0 {
		return nil
	}
	keys := make([]string, 0, len(n.kids))
	for k := range n.kids {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, errA := strconv.Atoi(keys[i])
		b, errB := strconv.Atoi(keys[j])
		switch {
		case errA == nil && errB == nil:
			return a < b
		case errA == nil:
			return true
		case errB == nil:
			return false
		}
		return keys[i] < keys[j]
	})
	return keys
}

func (n *formNode) flatten(prefix string, out map[string]string) {
	if n.hasVal && prefix != "" {
		out[prefix] = n.val
	}
	for _, k := range n.sortedKeys() {
		key := k
		if prefix != "" {
			key = prefix + "[" + k + "]"
		}
		n.kids[k].flatten(key, out)
	}
}

// splitFormKey splits "leads[add][0][id]" into [leads add 0 id]. A key
// without brackets is one segment; text after an unclosed bracket is kept
// as the last segment.
func splitFormKey(k string) []string {
	i := strings.IndexByte(k, '[')
	if i < 0 {
		if k == "" {
			return nil
		}
		return []string{k}
	}
	out := []string{k[:i]}
	rest := k[i:]
	for len(rest) > 0 {
		if rest[0] != '[' {
			out = append(out, rest)
			break
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			out = append(out, rest[1:])
			break
		}
		out = append(out, rest[1:j])
		rest = rest[j+1:]
	}
	return out
}
