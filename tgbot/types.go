package tgbot

import "encoding/json"

// User is a Telegram user or bot (Bot API "User").
type User struct {
	ID                      int64  `json:"id"`
	IsBot                   bool   `json:"is_bot"`
	FirstName               string `json:"first_name"`
	LastName                string `json:"last_name,omitempty"`
	Username                string `json:"username,omitempty"`
	LanguageCode            string `json:"language_code,omitempty"`
	CanJoinGroups           bool   `json:"can_join_groups,omitempty"`
	CanReadAllGroupMessages bool   `json:"can_read_all_group_messages,omitempty"` // getMe only: privacy mode is off
	SupportsInlineQueries   bool   `json:"supports_inline_queries,omitempty"`
}

// Chat is a Telegram chat (Bot API "Chat"; getChat fills the extra fields of
// "ChatFullInfo").
type Chat struct {
	ID          int64  `json:"id"`
	Type        string `json:"type"` // private, group, supergroup, channel
	Title       string `json:"title,omitempty"`
	Username    string `json:"username,omitempty"`
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	IsForum     bool   `json:"is_forum,omitempty"`
	Description string `json:"description,omitempty"`
	InviteLink  string `json:"invite_link,omitempty"`
}

// MessageEntity is a special span of text. Offset and Length count UTF-16
// code units.
type MessageEntity struct {
	Type   string `json:"type"`
	Offset int    `json:"offset"`
	Length int    `json:"length"`
	URL    string `json:"url,omitempty"`
	User   *User  `json:"user,omitempty"`
}

// PhotoSize is one size of a photo or thumbnail.
type PhotoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// File is the common part of Document, Video, Audio, Voice, Animation,
// VideoNote and Sticker.
type File struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
	Duration     int    `json:"duration,omitempty"`
	Emoji        string `json:"emoji,omitempty"` // stickers
}

// Contact is a shared phone contact.
type Contact struct {
	PhoneNumber string `json:"phone_number"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name,omitempty"`
	UserID      int64  `json:"user_id,omitempty"`
}

// Location is a point on the map.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// Venue is a place.
type Venue struct {
	Location Location `json:"location"`
	Title    string   `json:"title"`
	Address  string   `json:"address"`
}

// MessageOrigin says where a forwarded message came from.
type MessageOrigin struct {
	Type            string `json:"type"` // user, hidden_user, chat, channel
	Date            int64  `json:"date"`
	SenderUser      *User  `json:"sender_user,omitempty"`
	SenderUserName  string `json:"sender_user_name,omitempty"`
	SenderChat      *Chat  `json:"sender_chat,omitempty"`
	Chat            *Chat  `json:"chat,omitempty"`
	MessageID       int64  `json:"message_id,omitempty"`
	AuthorSignature string `json:"author_signature,omitempty"`
}

// Message is a Telegram message (Bot API "Message"), with the fields Chatter
// uses. Everything else stays in the update's raw JSON.
type Message struct {
	MessageID       int64           `json:"message_id"`
	From            *User           `json:"from,omitempty"`
	SenderChat      *Chat           `json:"sender_chat,omitempty"`
	Date            int64           `json:"date"`
	Chat            Chat            `json:"chat"`
	ForwardOrigin   *MessageOrigin  `json:"forward_origin,omitempty"`
	ForwardFrom     *User           `json:"forward_from,omitempty"`      // before Bot API 7.0
	ForwardFromChat *Chat           `json:"forward_from_chat,omitempty"` // before Bot API 7.0
	ForwardSender   string          `json:"forward_sender_name,omitempty"`
	ReplyToMessage  *Message        `json:"reply_to_message,omitempty"`
	EditDate        int64           `json:"edit_date,omitempty"`
	MediaGroupID    string          `json:"media_group_id,omitempty"`
	AuthorSignature string          `json:"author_signature,omitempty"`
	Text            string          `json:"text,omitempty"`
	Entities        []MessageEntity `json:"entities,omitempty"`
	Caption         string          `json:"caption,omitempty"`
	CaptionEntities []MessageEntity `json:"caption_entities,omitempty"`
	Photo           []PhotoSize     `json:"photo,omitempty"`
	Document        *File           `json:"document,omitempty"`
	Video           *File           `json:"video,omitempty"`
	Animation       *File           `json:"animation,omitempty"`
	Audio           *File           `json:"audio,omitempty"`
	Voice           *File           `json:"voice,omitempty"`
	VideoNote       *File           `json:"video_note,omitempty"`
	Sticker         *File           `json:"sticker,omitempty"`
	Contact         *Contact        `json:"contact,omitempty"`
	Location        *Location       `json:"location,omitempty"`
	Venue           *Venue          `json:"venue,omitempty"`
	Poll            json.RawMessage `json:"poll,omitempty"`

	NewChatMembers    []User          `json:"new_chat_members,omitempty"`
	LeftChatMember    *User           `json:"left_chat_member,omitempty"`
	NewChatTitle      string          `json:"new_chat_title,omitempty"`
	GroupChatCreated  bool            `json:"group_chat_created,omitempty"`
	MigrateToChatID   int64           `json:"migrate_to_chat_id,omitempty"`
	MigrateFromChatID int64           `json:"migrate_from_chat_id,omitempty"`
	PinnedMessage     json.RawMessage `json:"pinned_message,omitempty"`
}

// ChatMember is a member of a chat with its status and rights (all Bot API
// ChatMember variants in one struct).
type ChatMember struct {
	Status      string `json:"status"` // creator, administrator, member, restricted, left, kicked
	User        User   `json:"user"`
	IsAnonymous bool   `json:"is_anonymous,omitempty"`
	UntilDate   int64  `json:"until_date,omitempty"`
	IsMember    bool   `json:"is_member,omitempty"` // restricted only

	CanBeEdited        bool `json:"can_be_edited,omitempty"`
	CanManageChat      bool `json:"can_manage_chat,omitempty"`
	CanDeleteMessages  bool `json:"can_delete_messages,omitempty"`
	CanRestrictMembers bool `json:"can_restrict_members,omitempty"`
	CanPromoteMembers  bool `json:"can_promote_members,omitempty"`
	CanChangeInfo      bool `json:"can_change_info,omitempty"`
	CanInviteUsers     bool `json:"can_invite_users,omitempty"`
	CanPostMessages    bool `json:"can_post_messages,omitempty"`
	CanEditMessages    bool `json:"can_edit_messages,omitempty"`
	CanPinMessages     bool `json:"can_pin_messages,omitempty"`
	CanSendMessages    bool `json:"can_send_messages,omitempty"` // restricted only
}

// Member statuses.
const (
	StatusCreator       = "creator"
	StatusAdministrator = "administrator"
	StatusMember        = "member"
	StatusRestricted    = "restricted"
	StatusLeft          = "left"
	StatusKicked        = "kicked"
)

// IsAdmin reports whether the member is the creator or an administrator.
func (m *ChatMember) IsAdmin() bool {
	return m.Status == StatusCreator || m.Status == StatusAdministrator
}

// IsPresent reports whether the member is in the chat (restricted members
// included).
func (m *ChatMember) IsPresent() bool {
	switch m.Status {
	case StatusCreator, StatusAdministrator, StatusMember:
		return true
	case StatusRestricted:
		return m.IsMember
	}
	return false
}

// ChatMemberUpdated is a change of a member's status (my_chat_member).
type ChatMemberUpdated struct {
	Chat          Chat       `json:"chat"`
	From          User       `json:"from"`
	Date          int64      `json:"date"`
	OldChatMember ChatMember `json:"old_chat_member"`
	NewChatMember ChatMember `json:"new_chat_member"`
}

// CallbackQuery is a press on an inline keyboard button.
type CallbackQuery struct {
	ID           string   `json:"id"`
	From         User     `json:"from"`
	Message      *Message `json:"message,omitempty"`
	ChatInstance string   `json:"chat_instance"`
	Data         string   `json:"data,omitempty"`
}

// Update is one incoming update (Bot API "Update"). Raw holds the JSON it was
// decoded from.
type Update struct {
	UpdateID          int64              `json:"update_id"`
	Message           *Message           `json:"message,omitempty"`
	EditedMessage     *Message           `json:"edited_message,omitempty"`
	ChannelPost       *Message           `json:"channel_post,omitempty"`
	EditedChannelPost *Message           `json:"edited_channel_post,omitempty"`
	CallbackQuery     *CallbackQuery     `json:"callback_query,omitempty"`
	MyChatMember      *ChatMemberUpdated `json:"my_chat_member,omitempty"`
	ChatMember        *ChatMemberUpdated `json:"chat_member,omitempty"`

	Raw json.RawMessage `json:"-"`
}

// Update types for allowed_updates.
const (
	UpdateMessage           = "message"
	UpdateEditedMessage     = "edited_message"
	UpdateChannelPost       = "channel_post"
	UpdateEditedChannelPost = "edited_channel_post"
	UpdateCallbackQuery     = "callback_query"
	UpdateMyChatMember      = "my_chat_member"
)

// DefaultAllowedUpdates are the update types a Source asks for by default:
// messages, channel posts (new and edited) and my_chat_member. A Source with
// Config.OnCallbackQuery also asks for UpdateCallbackQuery.
func DefaultAllowedUpdates() []string {
	return []string{UpdateMessage, UpdateEditedMessage, UpdateChannelPost, UpdateEditedChannelPost,
		UpdateMyChatMember}
}

// WebhookInfo is the answer of getWebhookInfo.
type WebhookInfo struct {
	URL                  string   `json:"url"`
	HasCustomCertificate bool     `json:"has_custom_certificate"`
	PendingUpdateCount   int      `json:"pending_update_count"`
	IPAddress            string   `json:"ip_address,omitempty"`
	LastErrorDate        int64    `json:"last_error_date,omitempty"`
	LastErrorMessage     string   `json:"last_error_message,omitempty"`
	LastSyncErrorDate    int64    `json:"last_synchronization_error_date,omitempty"`
	MaxConnections       int      `json:"max_connections,omitempty"`
	AllowedUpdates       []string `json:"allowed_updates,omitempty"`
}
