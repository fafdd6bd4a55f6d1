package tgbot

import (
	"sort"
	"sync"
	"time"
)

// ChatState is what the bot knows about one chat it is (or was) in.
type ChatState struct {
	Chat Chat `json:"chat"`
	// Member is the bot's own membership: status and rights. Its Status is
	// "" when the chat is known only from messages.
	Member     ChatMember `json:"member"`
	MigratedTo int64      `json:"migrated_to,omitempty"` // the supergroup a group was upgraded to
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Present reports whether the bot is in the chat (or presumed to be, when
// it is known only from messages).
func (s ChatState) Present() bool {
	return s.MigratedTo == 0 && (s.Member.Status == "" || s.Member.IsPresent())
}

// ChatEventKind is what happened to the bot's membership.
type ChatEventKind string

// Chat event kinds.
const (
	ChatAdded      ChatEventKind = "added"      // the bot was added to a group or channel
	ChatRemoved    ChatEventKind = "removed"    // the bot was removed or banned, or left
	ChatPromoted   ChatEventKind = "promoted"   // the bot became an administrator
	ChatDemoted    ChatEventKind = "demoted"    // the bot is no longer an administrator
	ChatRestricted ChatEventKind = "restricted" // the bot was restricted
	ChatBlocked    ChatEventKind = "blocked"    // a user blocked the bot (private chat)
	ChatUnblocked  ChatEventKind = "unblocked"  // a user unblocked or started the bot
	ChatChanged    ChatEventKind = "changed"    // rights changed otherwise
	ChatMigrated   ChatEventKind = "migrated"   // a group became a supergroup (see ChatEvent.MigratedTo)
)

// ChatEvent is a change of the bot's membership, from a my_chat_member update
// or a migration service message.
type ChatEvent struct {
	Kind       ChatEventKind
	Chat       Chat
	By         User // who made the change
	Old, New   ChatMember
	MigratedTo int64
	Time       time.Time
}

// ChatRegistry remembers the chats the bot is in, with its rights, from
// my_chat_member updates and the messages it sees. It is safe for concurrent
// use; its size is bounded by the number of group chats and channels the bot
// has been in (private chats are tracked only when a user blocks or unblocks
// the bot).
type ChatRegistry struct {
	mu    sync.RWMutex
	chats map[int64]*ChatState
}

// NewChatRegistry returns an empty registry.
func NewChatRegistry() *ChatRegistry { return &ChatRegistry{chats: map[int64]*ChatState{}} }

// ApplyMemberUpdate records a my_chat_member update and returns the event it
// stands for.
func (r *ChatRegistry) ApplyMemberUpdate(u *ChatMemberUpdated) ChatEvent {
	ev := ChatEvent{Chat: u.Chat, By: u.From, Old: u.OldChatMember, New: u.NewChatMember, Time: time.Unix(u.Date, 0).UTC()}
	was, is := u.OldChatMember.IsPresent(), u.NewChatMember.IsPresent()
	private := u.Chat.Type == "private"
	switch {
	case private && !is:
		ev.Kind = ChatBlocked
	case private:
		ev.Kind = ChatUnblocked
	case !was && is:
		ev.Kind = ChatAdded
		if u.NewChatMember.Status == StatusRestricted {
			ev.Kind = ChatRestricted
		}
	case was && !is:
		ev.Kind = ChatRemoved
	case u.NewChatMember.Status == StatusRestricted:
		ev.Kind = ChatRestricted
	case u.NewChatMember.IsAdmin() && !u.OldChatMember.IsAdmin():
		ev.Kind = ChatPromoted
	case !u.NewChatMember.IsAdmin() && u.OldChatMember.IsAdmin():
		ev.Kind = ChatDemoted
	default:
		ev.Kind = ChatChanged
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.chats[u.Chat.ID]
	if st == nil {
		st = &ChatState{}
		r.chats[u.Chat.ID] = st
	}
	st.Chat, st.Member, st.UpdatedAt = u.Chat, u.NewChatMember, ev.Time
	return ev
}

// ObserveMessage records what a message reveals: a group or channel the bot
// is in, a new title, a migration to a supergroup. It returns a ChatMigrated
// event for a migration and nil otherwise.
func (r *ChatRegistry) ObserveMessage(m *Message) *ChatEvent {
	if m == nil || m.Chat.Type == "private" || m.Chat.ID == 0 {
		return nil
	}
	at := time.Unix(m.Date, 0).UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.chats[m.Chat.ID]
	if st == nil {
		st = &ChatState{}
		r.chats[m.Chat.ID] = st
	}
	st.Chat.ID, st.Chat.Type, st.Chat.Username = m.Chat.ID, m.Chat.Type, m.Chat.Username
	if m.Chat.Title != "" {
		st.Chat.Title = m.Chat.Title
	}
	if at.After(st.UpdatedAt) {
		st.UpdatedAt = at
	}
	if m.MigrateToChatID != 0 && st.MigratedTo != m.MigrateToChatID {
		st.MigratedTo = m.MigrateToChatID
		if r.chats[m.MigrateToChatID] == nil {
			r.chats[m.MigrateToChatID] = &ChatState{
				Chat:   Chat{ID: m.MigrateToChatID, Type: "supergroup", Title: st.Chat.Title},
				Member: st.Member, UpdatedAt: at}
		}
		return &ChatEvent{Kind: ChatMigrated, Chat: st.Chat, Old: st.Member, New: st.Member, MigratedTo: m.MigrateToChatID, Time: at}
	}
	return nil
}

// Set records what the caller learned otherwise (for example from
// getChatMember).
func (r *ChatRegistry) Set(s ChatState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := s
	r.chats[s.Chat.ID] = &c
}

// Get returns the state of a chat.
func (r *ChatRegistry) Get(chatID int64) (ChatState, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if st := r.chats[chatID]; st != nil {
		return *st, true
	}
	return ChatState{}, false
}

// List returns every known chat, ordered by id.
func (r *ChatRegistry) List() []ChatState {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]ChatState, 0, len(r.chats))
	for _, st := range r.chats {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Chat.ID < out[j].Chat.ID })
	return out
}
