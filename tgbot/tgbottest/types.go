package tgbottest

import "encoding/json"

// The wire types below mirror the Bot API objects the fake server produces.
// They are written independently of package tgbot so that the fake checks the
// client against the protocol, not against itself.

// User is a Telegram user or bot (Bot API "User").
type User struct {
	ID                      int64  `json:"id"`
	IsBot                   bool   `json:"is_bot"`
	FirstName               string `json:"first_name"`
	LastName                string `json:"last_name,omitempty"`
	Username                string `json:"username,omitempty"`
	LanguageCode            string `json:"language_code,omitempty"`
	CanJoinGroups           *bool  `json:"can_join_groups,omitempty"`
	CanReadAllGroupMessages *bool  `json:"can_read_all_group_messages,omitempty"`
	SupportsInlineQueries   *bool  `json:"supports_inline_queries,omitempty"`
}

// wire returns the public part of u as sent inside messages.
func (u *User) wire() *User {
	if u == nil {
		return nil
	}
	return &User{ID: u.ID, IsBot: u.IsBot, FirstName: u.FirstName, LastName: u.LastName,
		Username: u.Username, LanguageCode: u.LanguageCode}
}

// chatWire is the Bot API "Chat" object.
type chatWire struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title,omitempty"`
	Username  string `json:"username,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	IsForum   bool   `json:"is_forum,omitempty"`
}

// chatFullInfo is the Bot API "ChatFullInfo" object returned by getChat.
type chatFullInfo struct {
	chatWire
	AccentColorID   int    `json:"accent_color_id"`
	MaxReactions    int    `json:"max_reaction_count"`
	Description     string `json:"description,omitempty"`
	InviteLink      string `json:"invite_link,omitempty"`
	LinkedChatID    int64  `json:"linked_chat_id,omitempty"`
	HasPrivateForwd bool   `json:"has_private_forwards,omitempty"`
}

// Entity is the Bot API "MessageEntity" object. Offsets are in UTF-16 code units.
type Entity struct {
	Type   string `json:"type"`
	Offset int    `json:"offset"`
	Length int    `json:"length"`
	URL    string `json:"url,omitempty"`
	User   *User  `json:"user,omitempty"`
}

// PhotoSize is one size of a photo.
type PhotoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// Document is a general file.
type Document struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// Contact is a shared phone contact.
type Contact struct {
	PhoneNumber string `json:"phone_number"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name,omitempty"`
	UserID      int64  `json:"user_id,omitempty"`
}

// MessageOrigin is the Bot API "MessageOrigin" of a forwarded message.
type MessageOrigin struct {
	Type            string    `json:"type"` // user, hidden_user, chat, channel
	Date            int64     `json:"date"`
	SenderUser      *User     `json:"sender_user,omitempty"`
	SenderUserName  string    `json:"sender_user_name,omitempty"`
	SenderChat      *chatWire `json:"sender_chat,omitempty"`
	Chat            *chatWire `json:"chat,omitempty"`
	MessageID       int64     `json:"message_id,omitempty"`
	AuthorSignature string    `json:"author_signature,omitempty"`
}

// Message is the Bot API "Message" object, as the fake produces it.
type Message struct {
	MessageID         int64           `json:"message_id"`
	From              *User           `json:"from,omitempty"`
	SenderChat        *chatWire       `json:"sender_chat,omitempty"`
	Date              int64           `json:"date"`
	Chat              chatWire        `json:"chat"`
	ForwardOrigin     *MessageOrigin  `json:"forward_origin,omitempty"`
	ReplyToMessage    *Message        `json:"reply_to_message,omitempty"`
	EditDate          int64           `json:"edit_date,omitempty"`
	MediaGroupID      string          `json:"media_group_id,omitempty"`
	AuthorSignature   string          `json:"author_signature,omitempty"`
	Text              string          `json:"text,omitempty"`
	Entities          []Entity        `json:"entities,omitempty"`
	Photo             []PhotoSize     `json:"photo,omitempty"`
	Document          *Document       `json:"document,omitempty"`
	Caption           string          `json:"caption,omitempty"`
	CaptionEntities   []Entity        `json:"caption_entities,omitempty"`
	Contact           *Contact        `json:"contact,omitempty"`
	NewChatMembers    []*User         `json:"new_chat_members,omitempty"`
	LeftChatMember    *User           `json:"left_chat_member,omitempty"`
	GroupChatCreated  bool            `json:"group_chat_created,omitempty"`
	MigrateToChatID   int64           `json:"migrate_to_chat_id,omitempty"`
	MigrateFromChatID int64           `json:"migrate_from_chat_id,omitempty"`
	ReplyMarkup       json.RawMessage `json:"reply_markup,omitempty"`

	chat *Chat // the fake's chat, for edits and replies
}

// ChatID returns the id of the chat the message belongs to.
func (m *Message) ChatID() int64 { return m.Chat.ID }

// ChatMember is the Bot API "ChatMember" object (all variants in one struct:
// the fields of other statuses are omitted).
type ChatMember struct {
	Status      string `json:"status"` // creator, administrator, member, restricted, left, kicked
	User        *User  `json:"user"`
	IsAnonymous *bool  `json:"is_anonymous,omitempty"`
	UntilDate   *int64 `json:"until_date,omitempty"`
	IsMember    *bool  `json:"is_member,omitempty"`
	*Rights
}

// Rights are the administrator rights and member restrictions of a chat
// member. For an administrator the can_* flags are rights it holds; for a
// restricted member they are what it may still do.
type Rights struct {
	CanBeEdited         bool `json:"can_be_edited,omitempty"`
	CanManageChat       bool `json:"can_manage_chat"`
	CanDeleteMessages   bool `json:"can_delete_messages"`
	CanManageVideoChats bool `json:"can_manage_video_chats"`
	CanRestrictMembers  bool `json:"can_restrict_members"`
	CanPromoteMembers   bool `json:"can_promote_members"`
	CanChangeInfo       bool `json:"can_change_info"`
	CanInviteUsers      bool `json:"can_invite_users"`
	CanPostMessages     bool `json:"can_post_messages,omitempty"`
	CanEditMessages     bool `json:"can_edit_messages,omitempty"`
	CanPinMessages      bool `json:"can_pin_messages,omitempty"`
	CanSendMessages     bool `json:"can_send_messages,omitempty"`
}

// AdminRights returns the rights of a typical administrator that may read and
// post everything.
func AdminRights() Rights {
	return Rights{CanManageChat: true, CanDeleteMessages: true, CanInviteUsers: true,
		CanPostMessages: true, CanEditMessages: true, CanPinMessages: true, CanRestrictMembers: true}
}

// chatMemberUpdated is the Bot API "ChatMemberUpdated" object.
type chatMemberUpdated struct {
	Chat          chatWire    `json:"chat"`
	From          *User       `json:"from"`
	Date          int64       `json:"date"`
	OldChatMember *ChatMember `json:"old_chat_member"`
	NewChatMember *ChatMember `json:"new_chat_member"`
}

// callbackQuery is the Bot API "CallbackQuery" object.
type callbackQuery struct {
	ID           string   `json:"id"`
	From         *User    `json:"from"`
	Message      *Message `json:"message,omitempty"`
	ChatInstance string   `json:"chat_instance"`
	Data         string   `json:"data,omitempty"`
}

// Update is the Bot API "Update" object.
type Update struct {
	UpdateID          int64              `json:"update_id"`
	Message           *Message           `json:"message,omitempty"`
	EditedMessage     *Message           `json:"edited_message,omitempty"`
	ChannelPost       *Message           `json:"channel_post,omitempty"`
	EditedChannelPost *Message           `json:"edited_channel_post,omitempty"`
	CallbackQuery     *callbackQuery     `json:"callback_query,omitempty"`
	MyChatMember      *chatMemberUpdated `json:"my_chat_member,omitempty"`
}

// kind returns the update type name used by allowed_updates.
func (u *Update) kind() string {
	switch {
	case u.Message != nil:
		return "message"
	case u.EditedMessage != nil:
		return "edited_message"
	case u.ChannelPost != nil:
		return "channel_post"
	case u.EditedChannelPost != nil:
		return "edited_channel_post"
	case u.CallbackQuery != nil:
		return "callback_query"
	case u.MyChatMember != nil:
		return "my_chat_member"
	}
	return ""
}

// webhookInfo is the Bot API "WebhookInfo" object.
type webhookInfo struct {
	URL                  string   `json:"url"`
	HasCustomCertificate bool     `json:"has_custom_certificate"`
	PendingUpdateCount   int      `json:"pending_update_count"`
	IPAddress            string   `json:"ip_address,omitempty"`
	LastErrorDate        int64    `json:"last_error_date,omitempty"`
	LastErrorMessage     string   `json:"last_error_message,omitempty"`
	MaxConnections       int      `json:"max_connections,omitempty"`
	AllowedUpdates       []string `json:"allowed_updates,omitempty"`
}

// responseParameters is the Bot API "ResponseParameters" object.
type responseParameters struct {
	MigrateToChatID int64 `json:"migrate_to_chat_id,omitempty"`
	RetryAfter      int   `json:"retry_after,omitempty"`
}

// response is the envelope of every Bot API answer.
type response struct {
	OK          bool                `json:"ok"`
	Result      any                 `json:"result,omitempty"`
	Description string              `json:"description,omitempty"`
	ErrorCode   int                 `json:"error_code,omitempty"`
	Parameters  *responseParameters `json:"parameters,omitempty"`
}
