package tgparse

import (
	"errors"
	"maps"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// AccountStatus is the state of an account in a Source's pool.
type AccountStatus string

// Account statuses. The dead ones (banned, session revoked or duplicated,
// not logged in) stop the account until the operator acts; the others pass.
const (
	StatusStopped           AccountStatus = "stopped"  // not running (before Run, after it)
	StatusStarting          AccountStatus = "starting" // connecting
	StatusActive            AccountStatus = "active"
	StatusFloodWait         AccountStatus = "flood_wait"         // takes no new chats until Until
	StatusPeerFlood         AccountStatus = "peer_flood"         // spam-limited by Telegram; still reads
	StatusBanned            AccountStatus = "banned"             // USER_DEACTIVATED(_BAN), PHONE_NUMBER_BANNED
	StatusSessionRevoked    AccountStatus = "session_revoked"    // AUTH_KEY_UNREGISTERED, SESSION_REVOKED
	StatusSessionDuplicated AccountStatus = "session_duplicated" // AUTH_KEY_DUPLICATED
	StatusNotLoggedIn       AccountStatus = "not_logged_in"
	StatusSessionInUse      AccountStatus = "session_in_use" // another instance holds the lease
	StatusProxyFailing      AccountStatus = "proxy_failing"  // KindProxy or KindUnreachable: does not connect
	StatusFailing           AccountStatus = "failing"        // another error; retried with backoff
)

func (s AccountStatus) dead() bool {
	switch s {
	case StatusBanned, StatusSessionRevoked, StatusSessionDuplicated, StatusNotLoggedIn:
		return true
	}
	return false
}

// statusOf maps the error that stopped an account onto its status.
func statusOf(err error) AccountStatus {
	var e *Error
	if !errors.As(err, &e) {
		return StatusFailing
	}
	switch e.Kind {
	case KindAccountBanned, KindPhoneBanned:
		return StatusBanned
	case KindSessionRevoked:
		return StatusSessionRevoked
	case KindSessionDuplicated:
		return StatusSessionDuplicated
	case KindNotLoggedIn:
		return StatusNotLoggedIn
	case KindSessionInUse:
		return StatusSessionInUse
	case KindProxy, KindUnreachable:
		return StatusProxyFailing
	case KindFloodWait:
		return StatusFloodWait
	case KindPeerFlood:
		return StatusPeerFlood
	}
	return StatusFailing
}

// AccountState is what a Source knows about one account.
type AccountState struct {
	Account string        `json:"account"`
	Status  AccountStatus `json:"status"`
	Since   time.Time     `json:"since,omitzero"` // when Status was set
	Until   time.Time     `json:"until,omitzero"` // end of a flood wait
	Chats   int           `json:"chats"`          // chats it reads now
	Self    *Self         `json:"self,omitempty"`
	Err     error         `json:"-"`
}

// Cause explains a status other than active, in Russian and English.
func (s AccountState) Cause() chatter.Text { return accountText(s, true) }

// Remedy says what to do about a status other than active, in Russian and
// English, following the support guide.
func (s AccountState) Remedy() chatter.Text { return accountText(s, false) }

func accountText(s AccountState, cause bool) chatter.Text {
	var e *Error
	if errors.As(s.Err, &e) {
		if cause {
			return e.Message()
		}
		return e.Remedy()
	}
	var k Kind
	switch s.Status {
	case StatusFloodWait:
		k = KindFloodWait
	case StatusPeerFlood:
		k = KindPeerFlood
	case StatusBanned:
		k = KindAccountBanned
	case StatusSessionRevoked:
		k = KindSessionRevoked
	case StatusSessionDuplicated:
		k = KindSessionDuplicated
	case StatusNotLoggedIn:
		k = KindNotLoggedIn
	case StatusSessionInUse:
		k = KindSessionInUse
	case StatusProxyFailing:
		k = KindProxy
	default:
		if s.Err != nil && cause {
			return chatter.T("ошибка: "+s.Err.Error(), "error: "+s.Err.Error())
		}
		return chatter.Text{}
	}
	if cause {
		return describe(k).cause
	}
	return describe(k).remedy
}

// ChatStatus is the state of a chat in a Source.
type ChatStatus string

// Chat statuses.
const (
	ChatPending  ChatStatus = "pending"  // waiting for an account
	ChatActive   ChatStatus = "active"   // being read
	ChatRetrying ChatStatus = "retrying" // the last pass failed; retried with backoff
	ChatFailed   ChatStatus = "failed"   // no account can read it (see Err)
)

// RuleStats counts one filter rule's verdicts in a chat.
type RuleStats struct {
	Matched int64 `json:"matched"` // messages accepted by this rule
	Stopped int64 `json:"stopped"` // messages rejected by this (stop) rule
}

// ChatState is what a Source knows about one chat: where it is read, how
// far back, and what the filter made of it (the numbers behind "messages
// not found").
type ChatState struct {
	Ref          string                `json:"ref"`
	ChatID       int64                 `json:"chat_id,omitempty"`
	Title        string                `json:"title,omitempty"`
	Type         chatter.ChatType      `json:"type,omitempty"`
	Status       ChatStatus            `json:"status"`
	Account      string                `json:"account,omitempty"` // the account reading it now
	Fetched      int64                 `json:"fetched"`           // messages read from Telegram
	Requests     int64                 `json:"requests"`          // history requests made
	Scanned      int64                 `json:"scanned"`           // messages passed to the filter
	Accepted     int64                 `json:"accepted"`          // messages the filter accepted
	Rules        map[string]*RuleStats `json:"rules,omitempty"`
	OldestAt     time.Time             `json:"oldest_at,omitzero"`    // the oldest message read: the depth reached
	CatchingUp   bool                  `json:"catching_up,omitempty"` // the last pass stopped at MaxBackfill with more to read
	Checkpoint   int64                 `json:"checkpoint,omitempty"`
	CheckpointAt time.Time             `json:"checkpoint_at,omitzero"`
	LastPassAt   time.Time             `json:"last_pass_at,omitzero"`
	Err          error                 `json:"-"`
}

// Snapshot is a copy of a Source's state.
type Snapshot struct {
	Accounts []AccountState `json:"accounts"`
	Chats    []ChatState    `json:"chats"`
}

// Snapshot returns a copy of the state of the accounts and chats.
func (s *Source) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out Snapshot
	for _, id := range s.order {
		out.Accounts = append(out.Accounts, s.accounts[id].state)
	}
	for _, c := range s.chats {
		cs := c.state
		cs.Rules = make(map[string]*RuleStats, len(c.state.Rules))
		for k, v := range maps.All(c.state.Rules) {
			r := *v
			cs.Rules[k] = &r
		}
		out.Chats = append(out.Chats, cs)
	}
	return out
}
