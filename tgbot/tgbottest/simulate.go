package tgbottest

import (
	"fmt"
	"strings"
	"unicode/utf16"
)

// MessageOption adds something to a simulated message.
type MessageOption func(m *Message)

// ReplyTo makes the message a reply to to.
func ReplyTo(to *Message) MessageOption {
	return func(m *Message) {
		c := *to
		c.ReplyToMessage = nil
		m.ReplyToMessage = &c
	}
}

// ForwardedFrom makes the message a forward of a message originally written
// by from (a user who allows linking to their account).
func ForwardedFrom(from *User, date int64) MessageOption {
	return func(m *Message) {
		m.ForwardOrigin = &MessageOrigin{Type: "user", Date: date, SenderUser: from.wire()}
	}
}

// ForwardedFromHidden makes the message a forward from a user who hides
// their account; only the name is known.
func ForwardedFromHidden(name string, date int64) MessageOption {
	return func(m *Message) {
		m.ForwardOrigin = &MessageOrigin{Type: "hidden_user", Date: date, SenderUserName: name}
	}
}

// WithPhoto attaches a photo; the message text becomes its caption.
func WithPhoto(width, height int, size int64) MessageOption {
	return func(m *Message) {
		id := randomString(24)
		m.Photo = []PhotoSize{
			{FileID: "AgAD" + id + "s", FileUniqueID: "AQAD" + id[:8] + "s", Width: width / 4, Height: height / 4, FileSize: size / 10},
			{FileID: "AgAD" + id + "x", FileUniqueID: "AQAD" + id[:8] + "x", Width: width, Height: height, FileSize: size},
		}
	}
}

// WithDocument attaches a file; the message text becomes its caption.
func WithDocument(name, mimeType string, size int64) MessageOption {
	return func(m *Message) {
		id := randomString(24)
		m.Document = &Document{FileID: "BQAC" + id, FileUniqueID: "AgAD" + id[:8], FileName: name, MimeType: mimeType, FileSize: size}
	}
}

// WithContact attaches a shared contact (the text is ignored).
func WithContact(c Contact) MessageOption {
	return func(m *Message) { m.Contact = &c }
}

// OwnContact is the contact card a user shares with the "share my phone
// number" button: it carries the user's own id.
func OwnContact(u *User, phone string) Contact {
	return Contact{PhoneNumber: phone, FirstName: u.FirstName, LastName: u.LastName, UserID: u.ID}
}

// UserWrites simulates user writing text in chat (a private chat from
// PrivateChat, a group or a supergroup) and delivers the message to every bot
// that would see it. It returns the message as Telegram stores it. user must
// be a member of a group chat (UserWrites makes them one if not).
func (s *Server) UserWrites(chat *Chat, user *User, text string, opts ...MessageOption) *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userWritesLocked(chat, user, text, opts...)
}

func (s *Server) userWritesLocked(chat *Chat, user *User, text string, opts ...MessageOption) *Message {
	if chat.Type == ChatChannel {
		panic("tgbottest: UserWrites: users do not write in channels; use ChannelPost")
	}
	if chat.Type != ChatPrivate {
		if mb := chat.members[user.ID]; mb == nil || !isIn(mb.status) && mb.status != StatusRestricted {
			chat.members[user.ID] = &member{user: user, status: StatusMember}
		}
	}
	chat.nextMsg++
	m := &Message{MessageID: chat.nextMsg, From: user.wire(), Date: s.now().Unix(), Chat: chat.wire(), chat: chat}
	for _, o := range opts {
		o(m)
	}
	setText(m, text)
	s.deliverMessageLocked(chat, m, "message")
	return m
}

// UserSendsAlbum simulates user sending an album (a media group) of 2 to 10
// parts, each made by one option (WithPhoto, WithDocument), with caption on
// the first part as Telegram apps put it. Telegram delivers an album as one
// message per part, sharing a media_group_id, in consecutive updates; so
// does UserSendsAlbum. It returns the parts in order.
func (s *Server) UserSendsAlbum(chat *Chat, user *User, caption string, parts ...MessageOption) []*Message {
	if len(parts) < 2 || len(parts) > 10 {
		panic("tgbottest: UserSendsAlbum: an album has 2 to 10 parts")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	group := fmt.Sprint(13_000_000_000_000_000 + s.newID())
	out := make([]*Message, 0, len(parts))
	for i, part := range parts {
		text := ""
		if i == 0 {
			text = caption
		}
		out = append(out, s.userWritesLocked(chat, user, text, part, func(m *Message) { m.MediaGroupID = group }))
	}
	return out
}

// UserSendsPhoto is UserWrites with a photo, caption as its caption.
func (s *Server) UserSendsPhoto(chat *Chat, user *User, caption string) *Message {
	return s.UserWrites(chat, user, caption, WithPhoto(1280, 960, 184_320))
}

// UserSharesContact is UserWrites with a shared contact card.
func (s *Server) UserSharesContact(chat *Chat, user *User, c Contact) *Message {
	return s.UserWrites(chat, user, "", WithContact(c))
}

// UserEdits simulates the author editing m; bots that saw m get an
// edited_message (edited_channel_post in channels) with edit_date set.
func (s *Server) UserEdits(m *Message, text string) *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := *m
	e.Text, e.Caption, e.Entities, e.CaptionEntities = "", "", nil, nil
	e.EditDate = s.now().Unix()
	if e.EditDate <= m.Date {
		e.EditDate = m.Date + 1
	}
	if m.EditDate >= e.EditDate {
		e.EditDate = m.EditDate + 1
	}
	setText(&e, text)
	kind := "edited_message"
	if m.chat.Type == ChatChannel {
		kind = "edited_channel_post"
	}
	s.deliverMessageLocked(m.chat, &e, kind)
	return &e
}

// UserDeletes simulates the deletion of m from its chat: replies to it are
// then refused with 400 "Bad Request: message to be replied not found"
// unless allow_sending_without_reply is set. Bots get no update, as with
// Telegram.
func (s *Server) UserDeletes(m *Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(m.chat.msgs, m.MessageID)
}

// ChannelPost publishes text in a channel; bots that are members of the
// channel get a channel_post.
func (s *Server) ChannelPost(chat *Chat, text string, opts ...MessageOption) *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if chat.Type != ChatChannel {
		panic("tgbottest: ChannelPost: not a channel")
	}
	chat.nextMsg++
	w := chat.wire()
	m := &Message{MessageID: chat.nextMsg, SenderChat: &w, Date: s.now().Unix(), Chat: w, chat: chat}
	for _, o := range opts {
		o(m)
	}
	setText(m, text)
	s.deliverMessageLocked(chat, m, "channel_post")
	return m
}

// UserPressesButton simulates a press on an inline button with callback data
// data of the message messageID (a message the bot sent) in chat and returns
// the callback query id the bot must answer. The query's message is the
// chat's message as the bot sent it (text, reply_markup, reply_to_message);
// for an id the chat does not have, a bare message from the bot.
func (s *Server) UserPressesButton(bot *Bot, chat *Chat, messageID int64, user *User, data string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("%d%d", bot.user.ID%100000, s.newID())
	bot.callbacks[id] = true
	msg := &Message{MessageID: messageID, From: bot.user.wire(), Date: s.now().Unix(), Chat: chat.wire()}
	if m := chat.msgs[messageID]; m != nil {
		cp := *m
		msg = &cp
	}
	s.enqueueLocked(bot, Update{CallbackQuery: &callbackQuery{ID: id, From: user.wire(), Message: msg,
		ChatInstance: fmt.Sprint(chat.ID ^ 0x5bd1e995), Data: data}})
	return id
}

// setText sets the text, or the caption for media, and detects entities
// (bot commands, mentions, URLs) like Telegram clients do.
func setText(m *Message, text string) {
	if m.Contact != nil {
		return
	}
	ents := detectEntities(text)
	if len(m.Photo) > 0 || m.Document != nil {
		m.Caption, m.CaptionEntities = text, ents
		return
	}
	m.Text, m.Entities = text, ents
}

func detectEntities(text string) []Entity {
	var out []Entity
	off := 0 // UTF-16 offset of the current word
	for _, field := range strings.SplitAfter(text, " ") {
		for _, part := range strings.SplitAfter(field, "\n") {
			w := strings.TrimRight(part, " \n")
			n := len(utf16.Encode([]rune(w)))
			switch {
			case len(w) > 1 && w[0] == '/' && off == 0:
				out = append(out, Entity{Type: "bot_command", Offset: off, Length: n})
			case len(w) > 1 && w[0] == '@':
				out = append(out, Entity{Type: "mention", Offset: off, Length: n})
			case strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://"):
				out = append(out, Entity{Type: "url", Offset: off, Length: n})
			}
			off += len(utf16.Encode([]rune(part)))
		}
	}
	return out
}

// sees reports whether bot b receives message m posted in chat c.
func (s *Server) sees(b *Bot, c *Chat, m *Message, service bool) bool {
	if c.Type == ChatPrivate {
		return c.bot == b && !b.blockedBy[c.user.ID]
	}
	mb := c.members[b.user.ID]
	if mb == nil || !(isIn(mb.status) || mb.status == StatusRestricted) {
		return false
	}
	if c.Type == ChatChannel || service {
		return true
	}
	if m.From != nil && m.From.IsBot {
		return false // bots never see other bots' messages
	}
	if mb.status == StatusAdministrator || mb.status == StatusCreator || !b.privacy {
		return true
	}
	if r := m.ReplyToMessage; r != nil && r.From != nil && r.From.ID == b.user.ID {
		return true
	}
	text, ents := m.Text, m.Entities
	if text == "" {
		text, ents = m.Caption, m.CaptionEntities
	}
	units := utf16.Encode([]rune(text))
	for _, e := range ents {
		if e.Offset+e.Length > len(units) {
			continue
		}
		w := string(utf16.Decode(units[e.Offset : e.Offset+e.Length]))
		switch e.Type {
		case "mention":
			if strings.EqualFold(w, "@"+b.user.Username) {
				return true
			}
		case "bot_command":
			_, target, addressed := strings.Cut(w, "@")
			if addressed && strings.EqualFold(target, b.user.Username) {
				return true
			}
			if !addressed && (c.lastBot == b.user.ID || c.lastBot == 0) {
				return true
			}
		}
	}
	return false
}

func (s *Server) deliverMessageLocked(c *Chat, m *Message, kind string) {
	c.storeLocked(m)
	service := len(m.NewChatMembers) > 0 || m.LeftChatMember != nil || m.MigrateToChatID != 0 || m.MigrateFromChatID != 0 || m.GroupChatCreated
	var bots []*Bot
	if c.Type == ChatPrivate {
		bots = []*Bot{c.bot}
	} else {
		for id := range c.members {
			if b := s.botsByID[id]; b != nil {
				bots = append(bots, b)
			}
		}
	}
	for _, b := range bots {
		if !s.sees(b, c, m, service) {
			continue
		}
		u := Update{}
		switch kind {
		case "message":
			u.Message = m
		case "edited_message":
			u.EditedMessage = m
		case "channel_post":
			u.ChannelPost = m
		case "edited_channel_post":
			u.EditedChannelPost = m
		}
		s.enqueueLocked(b, u)
	}
}

// AddBotToChat simulates by adding bot to chat as a member (as an
// administrator with AdminRights in channels, where bots cannot be plain
// members). The bot gets my_chat_member and, in groups, a service message.
func (s *Server) AddBotToChat(chat *Chat, bot *Bot, by *User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	nm := &member{user: bot.user, status: StatusMember}
	if chat.Type == ChatChannel {
		nm = &member{user: bot.user, status: StatusAdministrator, rights: AdminRights()}
	}
	s.changeBotLocked(chat, bot, by, nm)
	if chat.Type != ChatChannel {
		chat.nextMsg++
		m := &Message{MessageID: chat.nextMsg, From: by.wire(), Date: s.now().Unix(), Chat: chat.wire(),
			NewChatMembers: []*User{bot.user.wire()}, chat: chat}
		s.deliverMessageLocked(chat, m, "message")
	}
}

// PromoteBot makes bot an administrator of chat with rights.
func (s *Server) PromoteBot(chat *Chat, bot *Bot, by *User, rights Rights) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changeBotLocked(chat, bot, by, &member{user: bot.user, status: StatusAdministrator, rights: rights})
}

// DemoteBot makes bot a plain member of chat again.
func (s *Server) DemoteBot(chat *Chat, bot *Bot, by *User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changeBotLocked(chat, bot, by, &member{user: bot.user, status: StatusMember})
}

// RestrictBot restricts bot in a group; canSend says whether it may still
// send messages.
func (s *Server) RestrictBot(chat *Chat, bot *Bot, by *User, canSend bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changeBotLocked(chat, bot, by, &member{user: bot.user, status: StatusRestricted, rights: Rights{CanSendMessages: canSend}})
}

// RemoveBotFromChat simulates by banning bot from chat.
func (s *Server) RemoveBotFromChat(chat *Chat, bot *Bot, by *User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changeBotLocked(chat, bot, by, &member{user: bot.user, status: StatusKicked})
	if chat.Type != ChatChannel {
		chat.nextMsg++
		m := &Message{MessageID: chat.nextMsg, From: by.wire(), Date: s.now().Unix(), Chat: chat.wire(),
			LeftChatMember: bot.user.wire(), chat: chat}
		s.deliverMessageLocked(chat, m, "message")
	}
}

// BlockBot simulates user blocking bot: the bot gets my_chat_member (kicked)
// and sendMessage to the user fails with 403 "Forbidden: bot was blocked by
// the user".
func (s *Server) BlockBot(user *User, bot *Bot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.privateLocked(user, bot)
	s.enqueueLocked(bot, Update{MyChatMember: &chatMemberUpdated{Chat: c.wire(), From: user.wire(), Date: s.now().Unix(),
		OldChatMember: (&member{user: bot.user, status: StatusMember}).wire(),
		NewChatMember: (&member{user: bot.user, status: StatusKicked}).wire()}})
	bot.blockedBy[user.ID] = true
}

// UnblockBot reverses BlockBot.
func (s *Server) UnblockBot(user *User, bot *Bot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.privateLocked(user, bot)
	delete(bot.blockedBy, user.ID)
	s.enqueueLocked(bot, Update{MyChatMember: &chatMemberUpdated{Chat: c.wire(), From: user.wire(), Date: s.now().Unix(),
		OldChatMember: (&member{user: bot.user, status: StatusKicked}).wire(),
		NewChatMember: (&member{user: bot.user, status: StatusMember}).wire()}})
}

func (s *Server) changeBotLocked(chat *Chat, bot *Bot, by *User, nm *member) {
	old := chat.members[bot.user.ID]
	if old == nil {
		old = &member{user: bot.user, status: StatusLeft}
	}
	chat.members[bot.user.ID] = nm
	s.enqueueLocked(bot, Update{MyChatMember: &chatMemberUpdated{Chat: chat.wire(), From: by.wire(), Date: s.now().Unix(),
		OldChatMember: old.wire(), NewChatMember: nm.wire()}})
}

// MigrateToSupergroup upgrades a basic group to a supergroup, as Telegram does
// when a group grows or gets a public link. Members move over; sending to the
// old id fails with 400 and parameters.migrate_to_chat_id. Bots in the group
// get the service messages migrate_to_chat_id (old chat) and
// migrate_from_chat_id (new chat).
func (s *Server) MigrateToSupergroup(chat *Chat) *Chat {
	s.mu.Lock()
	defer s.mu.Unlock()
	if chat.Type != ChatGroup {
		panic("tgbottest: MigrateToSupergroup: not a basic group")
	}
	sg := s.addChatLocked(ChatSupergroup, chat.Title, "", nil)
	for id, mb := range chat.members {
		c := *mb
		sg.members[id] = &c
	}
	now := s.now().Unix()
	var creator *User
	for _, mb := range chat.members {
		if mb.status == StatusCreator {
			creator = mb.user
		}
	}
	chat.nextMsg++
	s.deliverMessageLocked(chat, &Message{MessageID: chat.nextMsg, From: creator.wire(), Date: now, Chat: chat.wire(),
		MigrateToChatID: sg.ID, chat: chat}, "message")
	sg.nextMsg++
	s.deliverMessageLocked(sg, &Message{MessageID: sg.nextMsg, From: creator.wire(), Date: now, Chat: sg.wire(),
		MigrateFromChatID: chat.ID, chat: sg}, "message")
	chat.migratedTo = sg.ID
	return sg
}
