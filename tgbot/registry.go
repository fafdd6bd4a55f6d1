package tgbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chatterhq/sdk/chatter"
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
//
// A registry from NewChatRegistry lives in memory. One from
// NewStoredChatRegistry is kept in a chatter.SettingsStore, one setting per
// chat (see ChatRegistryKeyPrefix), so that the bot still knows its chats
// and rights after a restart: Load reads it, and Save writes what changed
// since the last Save.
type ChatRegistry struct {
	mu    sync.RWMutex
	chats map[int64]*ChatState
	store *registryStore // nil: memory only
}

// registryStore is the persistence of a stored registry.
type registryStore struct {
	settings  chatter.SettingsStore
	workspace string
	prefix    string

	saveMu   sync.Mutex      // one Save at a time
	loaded   bool            // guarded by ChatRegistry.mu
	dirty    map[int64]bool  // guarded by ChatRegistry.mu: changed since the last Save
	versions map[int64]int64 // guarded by saveMu: the stored versions
}

// NewChatRegistry returns an empty registry kept in memory.
func NewChatRegistry() *ChatRegistry { return &ChatRegistry{chats: map[int64]*ChatState{}} }

// ChatRegistryKeyPrefix is the prefix of the settings keys that a stored
// registry of bot botID keeps its chats under, one key per chat:
// "tgbot.chat.<bot id>.<chat id>", whose value is the ChatState as JSON.
func ChatRegistryKeyPrefix(botID int64) string {
	return "tgbot.chat." + strconv.FormatInt(botID, 10) + "."
}

// NewStoredChatRegistry returns an empty registry of bot botID kept in
// settings under workspace. Call Load before use (a Source with
// Config.Store does it in Run).
func NewStoredChatRegistry(settings chatter.SettingsStore, workspace string, botID int64) (*ChatRegistry, error) {
	if settings == nil || workspace == "" || botID <= 0 {
		return nil, errors.New("tgbot: NewStoredChatRegistry: settings store, workspace and bot id are required")
	}
	return &ChatRegistry{chats: map[int64]*ChatState{}, store: &registryStore{settings: settings, workspace: workspace,
		prefix: ChatRegistryKeyPrefix(botID), dirty: map[int64]bool{}, versions: map[int64]int64{}}}, nil
}

// Stored reports whether the registry is kept in a store.
func (r *ChatRegistry) Stored() bool { return r.store != nil }

// Load reads a stored registry from its store. Chats the registry learned
// before (not saved yet) are kept as they are; the others are replaced by
// the stored state. For a registry in memory it does nothing.
func (r *ChatRegistry) Load(ctx context.Context) error {
	st := r.store
	if st == nil {
		return nil
	}
	st.saveMu.Lock()
	defer st.saveMu.Unlock()
	sets, err := st.settings.ListSettings(ctx, st.workspace, st.prefix)
	if err != nil {
		return fmt.Errorf("tgbot: load chat registry: %w", err)
	}
	type loaded struct {
		state   ChatState
		version int64
	}
	got := make(map[int64]loaded, len(sets))
	for _, set := range sets {
		id, err := strconv.ParseInt(strings.TrimPrefix(set.Key, st.prefix), 10, 64)
		if err != nil {
			continue // not a chat key
		}
		var cs ChatState
		if err := json.Unmarshal(set.Value, &cs); err != nil {
			return fmt.Errorf("tgbot: load chat registry: chat %d: %w", id, err)
		}
		cs.Chat.ID = id
		got[id] = loaded{cs, set.Version}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, l := range got {
		st.versions[id] = l.version
		if st.dirty[id] {
			continue
		}
		c := l.state
		r.chats[id] = &c
	}
	st.loaded = true
	return nil
}

// Loaded reports whether Load succeeded once (always true in memory).
func (r *ChatRegistry) Loaded() bool {
	if r.store == nil {
		return true
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.store.loaded
}

// Save writes the chats that changed since the last Save to the store, one
// setting each; the last writer wins when another process wrote the same
// chat meanwhile. On an error the chats not written stay to be saved. For a
// registry in memory it does nothing.
func (r *ChatRegistry) Save(ctx context.Context) error {
	st := r.store
	if st == nil {
		return nil
	}
	st.saveMu.Lock()
	defer st.saveMu.Unlock()
	r.mu.Lock()
	if len(st.dirty) == 0 {
		r.mu.Unlock()
		return nil
	}
	ids := make([]int64, 0, len(st.dirty))
	values := make(map[int64]json.RawMessage, len(st.dirty))
	for id := range st.dirty {
		b, err := json.Marshal(r.chats[id])
		if err != nil {
			r.mu.Unlock()
			return fmt.Errorf("tgbot: save chat registry: chat %d: %w", id, err)
		}
		ids = append(ids, id)
		values[id] = b
	}
	clear(st.dirty)
	r.mu.Unlock()
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for i, id := range ids {
		if err := st.put(ctx, id, values[id]); err != nil {
			r.mu.Lock()
			for _, rest := range ids[i:] {
				st.dirty[rest] = true
			}
			r.mu.Unlock()
			return err
		}
	}
	return nil
}

// put writes one chat, taking over the stored version on a conflict.
func (st *registryStore) put(ctx context.Context, chatID int64, value json.RawMessage) error {
	key := st.prefix + strconv.FormatInt(chatID, 10)
	for attempt := 0; attempt < 5; attempt++ {
		set, err := st.settings.PutSetting(ctx, st.workspace, key, value, st.versions[chatID])
		if err == nil {
			st.versions[chatID] = set.Version
			return nil
		}
		if !errors.Is(err, chatter.ErrConflict) {
			return fmt.Errorf("tgbot: save chat registry: chat %d: %w", chatID, err)
		}
		cur, err := st.settings.GetSetting(ctx, st.workspace, key)
		switch {
		case err == nil:
			st.versions[chatID] = cur.Version
		case errors.Is(err, chatter.ErrNotFound):
			st.versions[chatID] = 0
		default:
			return fmt.Errorf("tgbot: save chat registry: chat %d: %w", chatID, err)
		}
	}
	return fmt.Errorf("tgbot: save chat registry: chat %d: %w", chatID, chatter.ErrConflict)
}

// touchLocked marks a chat as changed (r.mu held).
func (r *ChatRegistry) touchLocked(chatID int64) {
	if r.store != nil {
		r.store.dirty[chatID] = true
	}
}

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
	r.touchLocked(u.Chat.ID)
	return ev
}

// ObserveMessage records what a message reveals: a group or channel the bot
// is in, a new title, a migration to a supergroup. It returns a ChatMigrated
// event for a migration message (also one seen before) and nil otherwise.
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
	before := st.Chat
	st.Chat.ID, st.Chat.Type, st.Chat.Username = m.Chat.ID, m.Chat.Type, m.Chat.Username
	if m.Chat.Title != "" {
		st.Chat.Title = m.Chat.Title
	}
	if st.Chat != before {
		// A new chat, or a new title or username; a later message alone
		// (UpdatedAt) is not worth a write.
		r.touchLocked(m.Chat.ID)
	}
	if at.After(st.UpdatedAt) {
		st.UpdatedAt = at
	}
	if m.MigrateToChatID != 0 {
		if st.MigratedTo != m.MigrateToChatID {
			st.MigratedTo = m.MigrateToChatID
			r.touchLocked(m.Chat.ID)
		}
		if r.chats[m.MigrateToChatID] == nil {
			r.chats[m.MigrateToChatID] = &ChatState{
				Chat:   Chat{ID: m.MigrateToChatID, Type: "supergroup", Title: st.Chat.Title},
				Member: st.Member, UpdatedAt: at}
			r.touchLocked(m.MigrateToChatID)
		}
		// Every migration message raises the event, also one that comes
		// again (a retried update): the event follows the update, as
		// ApplyMemberUpdate's do.
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
	r.touchLocked(s.Chat.ID)
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
