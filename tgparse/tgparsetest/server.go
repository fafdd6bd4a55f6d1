// Package tgparsetest runs an in-process Telegram (MTProto) for tgparse:
// gotd's tgtest server on loopback with a small, consistent world of users,
// channels and messages, the login flow (code and cloud password, checked
// with real SRP), history, invites, live updates, and fault injection
// (FLOOD_WAIT, banned accounts, revoked sessions, any RPC error).
//
//	srv := tgparsetest.NewServer(t)
//	u := srv.AddUser("+79990000001", "parser_acc", "Parser")
//	ch := srv.AddChannel("leads_channel", "Leads", true)
//	srv.Post(ch, nil, "нужен ремонт квартиры")
//	conn := tgparse.Connection{Endpoint: srv.Endpoint(), ...}
//
// What it serves: auth.sendCode, auth.signIn, account.getPassword,
// auth.checkPassword, users.getUsers (self), contacts.resolveUsername,
// channels.getChannels, channels.joinChannel, messages.checkChatInvite,
// messages.importChatInvite, messages.getHistory (channels; offset_id,
// add_offset, limit, min_id and max_id as Telegram applies them, in
// O(log n + limit) per page, so tests can page through tens of thousands of
// messages), and updates.getState/getDifference/getChannelDifference.
// Chats are channels and supergroups; basic groups and private chats are
// not modelled, nor are edits and deletions. FloodLimit rate-limits a
// method per account with FLOOD_WAIT_X as Telegram does; Fail injects one
// error.
package tgparsetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/proto"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"
	"github.com/gotd/td/tgtest"
	"github.com/gotd/td/tgtest/cluster"

	"github.com/chatterhq/sdk/tgparse"
)

// Server is the fake Telegram. All methods are safe for concurrent use.
type Server struct {
	cluster *cluster.Cluster
	srv     *tgtest.Server
	cancel  context.CancelFunc
	done    chan error
	now     func() time.Time

	mu        sync.Mutex
	nextID    int64
	users     map[int64]*User
	byPhone   map[string]*User
	channels  map[int64]*Channel
	invites   map[string]*Channel
	keys      map[[8]byte]*keyState // by auth key id
	codes     map[string]*sentCode  // by phone code hash
	calls     map[string]int
	faults    map[string][]*tgerr.Error
	limits    map[string]floodLimit
	windows   map[floodKey][]time.Time // recent accepted calls per account and limited method
	pushCount int
	floods    int
}

// floodLimit is a method's rate limit: n calls per window.
type floodLimit struct {
	n   int
	per time.Duration
}

// floodKey is whose calls a flood limit counts: the signed-in user (as
// Telegram counts per account), or the auth key before sign-in.
type floodKey struct {
	method string
	user   int64
	key    [8]byte
}

// User is an account in the fake.
type User struct {
	ID        int64
	Phone     string // without '+'
	Username  string
	FirstName string
	// Password is the cloud password (two-step verification); empty: none.
	Password string
	banned   bool
	revoked  bool
}

// Channel is a channel (broadcast) or supergroup in the fake.
type Channel struct {
	ID         int64
	AccessHash int64
	Username   string // empty: private (reachable by invite or t.me/c/ID for members)
	Title      string
	Broadcast  bool
	// InviteHash is the channel's invite link code.
	InviteHash string
	// RequestNeeded makes joins by invite wait for approval.
	RequestNeeded bool
	members       map[int64]bool
	messages      []*tg.Message // ascending by id
	pts           map[int]int   // message id → pts
	lastPts       int
	nextMsg       int
}

type keyState struct {
	session tgtest.Session
	userID  int64 // 0 until signed in
	pwdUser int64 // waiting for the cloud password of this user
	srp     *srpState
	revoked bool
}

type sentCode struct {
	phone   string
	code    string
	expired bool
}

// Start runs a server until ctx ends or Close. It takes about a second:
// the DC generates an RSA key.
func Start(ctx context.Context) (*Server, error) {
	ctx, cancel := context.WithCancel(ctx)
	s := &Server{
		cluster: cluster.NewCluster(cluster.Options{}),
		cancel:  cancel, done: make(chan error, 1), now: time.Now, nextID: 1000,
		users: map[int64]*User{}, byPhone: map[string]*User{}, channels: map[int64]*Channel{},
		invites: map[string]*Channel{}, keys: map[[8]byte]*keyState{}, codes: map[string]*sentCode{},
		calls: map[string]int{}, faults: map[string][]*tgerr.Error{},
		limits: map[string]floodLimit{}, windows: map[floodKey][]time.Time{},
	}
	s.srv, _ = s.cluster.DC(2, "dc2")
	sd := tg.NewServerDispatcher(func(ctx context.Context, b *bin.Buffer) (bin.Encoder, error) {
		return nil, tgerr.New(400, "INPUT_METHOD_INVALID")
	})
	s.register(sd)
	s.cluster.Common().Fallback(tgtest.HandlerFunc(func(srv *tgtest.Server, req *tgtest.Request) error {
		id, err := req.Buf.PeekID()
		if err != nil {
			return err
		}
		name := methodNames[id]
		s.mu.Lock()
		k := s.keyLocked(req.Session)
		k.session = req.Session
		s.calls[name]++
		var fault *tgerr.Error
		if q := s.faults[name]; len(q) > 0 {
			fault, s.faults[name] = q[0], q[1:]
		} else {
			fault = s.floodLocked(name, k, req.Session.AuthKey.ID)
		}
		s.mu.Unlock()
		if fault != nil {
			return srv.SendErr(req, fault)
		}
		res, err := sd.Handle(context.WithValue(req.RequestCtx, sessionKey{}, req.Session), req.Buf)
		if err != nil {
			var te *tgerr.Error
			if errors.As(err, &te) {
				return srv.SendErr(req, te)
			}
			return err
		}
		return srv.SendResult(req, res)
	}))
	go func() { s.done <- s.cluster.Up(ctx) }()
	select {
	case <-s.cluster.Ready():
		return s, nil
	case err := <-s.done:
		cancel()
		return nil, fmt.Errorf("tgparsetest: start: %w", err)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// NewServer starts a server for a test and stops it in t.Cleanup.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s, err := Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and waits for it.
func (s *Server) Close() {
	s.cancel()
	<-s.done
}

// Endpoint is what tgparse.Connection.Endpoint needs to reach the server.
func (s *Server) Endpoint() *tgparse.Endpoint {
	return &tgparse.Endpoint{DC: 2, DCList: s.cluster.List(), PublicKeys: s.cluster.Keys()}
}

// Addr returns the server's host:port (for proxies in tests).
func (s *Server) Addr() string {
	for _, o := range s.cluster.List().Options {
		return fmt.Sprintf("%s:%d", o.IPAddress, o.Port)
	}
	return ""
}

type sessionKey struct{}

func (s *Server) keyLocked(sess tgtest.Session) *keyState {
	k := s.keys[sess.AuthKey.ID]
	if k == nil {
		k = &keyState{}
		s.keys[sess.AuthKey.ID] = k
	}
	return k
}

func (s *Server) key(ctx context.Context) *keyState {
	sess, _ := ctx.Value(sessionKey{}).(tgtest.Session)
	return s.keyLocked(sess)
}

func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

// AddUser adds an account with the phone number (with or without '+').
func (s *Server) AddUser(phone, username, firstName string) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &User{ID: s.id(), Phone: strings.TrimPrefix(phone, "+"), Username: username, FirstName: firstName}
	s.users[u.ID] = u
	s.byPhone[u.Phone] = u
	return u
}

// SetPassword sets the user's cloud password ("" removes it).
func (s *Server) SetPassword(u *User, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Password = password
}

// Ban makes Telegram ban the account: its sessions get 401
// USER_DEACTIVATED_BAN and its number PHONE_NUMBER_BANNED.
func (s *Server) Ban(u *User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.banned = true
}

// Revoke ends all sessions of the account (401 SESSION_REVOKED), as
// "terminate all other sessions" does.
func (s *Server) Revoke(u *User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.revoked = true
	for _, k := range s.keys {
		if k.userID == u.ID {
			k.userID, k.revoked = 0, true
		}
	}
}

// AddChannel adds a channel (broadcast) or a supergroup. An empty username
// makes it private. Every channel gets an invite hash.
func (s *Server) AddChannel(username, title string, broadcast bool) *Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := &Channel{ID: s.id(), AccessHash: s.id() * 7919, Username: username, Title: title, Broadcast: broadcast,
		InviteHash: "inv" + randHex(8), members: map[int64]bool{}, pts: map[int]int{}, lastPts: 1, nextMsg: 1}
	s.channels[ch.ID] = ch
	s.invites[ch.InviteHash] = ch
	return ch
}

// InviteLink returns the channel's invite link.
func (s *Server) InviteLink(ch *Channel) string { return "https://t.me/+" + ch.InviteHash }

// AddMember makes u a member of ch.
func (s *Server) AddMember(ch *Channel, u *User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch.members[u.ID] = true
}

// IsMember reports whether u is a member of ch.
func (s *Server) IsMember(ch *Channel, u *User) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ch.members[u.ID]
}

// PostAt adds a message to ch at time at, from (nil: a channel post), and
// pushes it as a live update to the members' connected sessions. It
// returns the message id.
func (s *Server) PostAt(ctx context.Context, ch *Channel, from *User, text string, at time.Time) int {
	s.mu.Lock()
	m := &tg.Message{ID: ch.nextMsg, PeerID: &tg.PeerChannel{ChannelID: ch.ID}, Message: text, Date: int(at.Unix()), Post: ch.Broadcast}
	if from != nil {
		m.FromID = &tg.PeerUser{UserID: from.ID}
	}
	ch.nextMsg++
	ch.lastPts++
	ch.pts[m.ID] = ch.lastPts
	ch.messages = append(ch.messages, m)
	var targets []tgtest.Session
	for _, k := range s.keys {
		if k.userID != 0 && ch.members[k.userID] && k.session.ID != 0 {
			targets = append(targets, k.session)
		}
	}
	upd := &tg.Updates{
		Updates: []tg.UpdateClass{&tg.UpdateNewChannelMessage{Message: m, Pts: ch.lastPts, PtsCount: 1}},
		Chats:   []tg.ChatClass{s.channelEntityLocked(ch, 0)},
		Users:   s.usersOfLocked([]*tg.Message{m}),
		Date:    int(s.now().Unix()),
	}
	s.mu.Unlock()
	for _, sess := range targets {
		if err := s.srv.Send(ctx, sess, proto.MessageFromServer, upd); err == nil {
			s.mu.Lock()
			s.pushCount++
			s.mu.Unlock()
		}
	}
	return m.ID
}

// Post is PostAt now.
func (s *Server) Post(ctx context.Context, ch *Channel, from *User, text string) int {
	return s.PostAt(ctx, ch, from, text, s.now())
}

// Pushed returns how many live updates were sent.
func (s *Server) Pushed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushCount
}

// Code returns the last login code sent to phone ("" if none).
func (s *Server) Code(phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	phone = strings.TrimPrefix(phone, "+")
	for _, c := range s.codes {
		if c.phone == phone && !c.expired {
			return c.code
		}
	}
	return ""
}

// ExpireCodes makes every code sent so far expired (PHONE_CODE_EXPIRED).
func (s *Server) ExpireCodes() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.codes {
		c.expired = true
	}
}

// Fail makes the next call of method (e.g. "messages.getHistory") fail
// with the RPC error code/message (e.g. 420, "FLOOD_WAIT_1"). Calls queue.
func (s *Server) Fail(method string, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], tgerr.New(code, message))
}

// FloodLimit makes method answer 420 FLOOD_WAIT_X to an account that
// already made n calls of it in the last per, as Telegram limits
// messages.getHistory and other methods per account (Telethon measured
// about 10 getHistory calls per 30 s before a wait; the real limits are
// not published). X is the whole seconds until the oldest of those calls
// leaves the window, at least 1, so a client that waits X seconds and
// retries gets through. Refused calls do not count. n ≤ 0 removes the
// limit. Faults queued by Fail come first.
func (s *Server) FloodLimit(method string, n int, per time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 || per <= 0 {
		delete(s.limits, method)
		return
	}
	s.limits[method] = floodLimit{n: n, per: per}
}

// floodLocked applies method's flood limit to a call on key k: nil lets it
// through and counts it.
func (s *Server) floodLocked(method string, k *keyState, authKey [8]byte) *tgerr.Error {
	lim, ok := s.limits[method]
	if !ok {
		return nil
	}
	fk := floodKey{method: method, user: k.userID}
	if fk.user == 0 {
		fk.key = authKey
	}
	now := s.now()
	w := s.windows[fk]
	for len(w) > 0 && !w[0].After(now.Add(-lim.per)) {
		w = w[1:]
	}
	if len(w) >= lim.n {
		s.windows[fk] = w
		wait := w[0].Add(lim.per).Sub(now)
		secs := max(int((wait+time.Second-1)/time.Second), 1)
		s.floods++
		return tgerr.New(420, fmt.Sprintf("FLOOD_WAIT_%d", secs))
	}
	s.windows[fk] = append(w, now)
	return nil
}

// Floods returns how many calls a FloodLimit refused.
func (s *Server) Floods() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.floods
}

// Calls returns how many times method was called.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randInt(maxN int64) int64 {
	n, _ := rand.Int(rand.Reader, big.NewInt(maxN))
	return n.Int64()
}

// methodNames names the methods the server counts and can fail.
var methodNames = map[uint32]string{
	tg.AuthSendCodeRequestTypeID:                "auth.sendCode",
	tg.AuthSignInRequestTypeID:                  "auth.signIn",
	tg.AccountGetPasswordRequestTypeID:          "account.getPassword",
	tg.AuthCheckPasswordRequestTypeID:           "auth.checkPassword",
	tg.UsersGetUsersRequestTypeID:               "users.getUsers",
	tg.ContactsResolveUsernameRequestTypeID:     "contacts.resolveUsername",
	tg.ChannelsGetChannelsRequestTypeID:         "channels.getChannels",
	tg.ChannelsJoinChannelRequestTypeID:         "channels.joinChannel",
	tg.MessagesCheckChatInviteRequestTypeID:     "messages.checkChatInvite",
	tg.MessagesImportChatInviteRequestTypeID:    "messages.importChatInvite",
	tg.MessagesGetHistoryRequestTypeID:          "messages.getHistory",
	tg.UpdatesGetStateRequestTypeID:             "updates.getState",
	tg.UpdatesGetDifferenceRequestTypeID:        "updates.getDifference",
	tg.UpdatesGetChannelDifferenceRequestTypeID: "updates.getChannelDifference",
}

func (s *Server) userEntity(u *User) *tg.User {
	e := &tg.User{ID: u.ID, AccessHash: u.ID * 31, Username: u.Username, FirstName: u.FirstName, Phone: u.Phone}
	e.SetFlags()
	return e
}

func (s *Server) channelEntityLocked(ch *Channel, forUser int64) *tg.Channel {
	e := &tg.Channel{ID: ch.ID, AccessHash: ch.AccessHash, Title: ch.Title, Username: ch.Username,
		Broadcast: ch.Broadcast, Megagroup: !ch.Broadcast, Photo: &tg.ChatPhotoEmpty{}, Date: 1,
		Left: forUser != 0 && !ch.members[forUser]}
	e.SetFlags()
	return e
}

func (s *Server) usersOfLocked(ms []*tg.Message) []tg.UserClass {
	seen := map[int64]bool{}
	var out []tg.UserClass
	for _, m := range ms {
		if p, ok := m.FromID.(*tg.PeerUser); ok && !seen[p.UserID] {
			seen[p.UserID] = true
			if u := s.users[p.UserID]; u != nil {
				out = append(out, s.userEntity(u))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].(*tg.User).ID < out[j].(*tg.User).ID })
	return out
}
