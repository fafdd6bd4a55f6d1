package tgparsetest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"
)

func rpcErr(code int, msg string) error { return tgerr.New(code, msg) }

// authorized returns the signed-in user of the request's session.
func (s *Server) authorizedLocked(ctx context.Context) (*User, error) {
	k := s.key(ctx)
	if k.revoked {
		return nil, rpcErr(401, "SESSION_REVOKED")
	}
	u := s.users[k.userID]
	if u == nil {
		return nil, rpcErr(401, "AUTH_KEY_UNREGISTERED")
	}
	if u.banned {
		return nil, rpcErr(401, "USER_DEACTIVATED_BAN")
	}
	return u, nil
}

func (s *Server) register(d *tg.ServerDispatcher) {
	d.OnAuthSendCode(func(ctx context.Context, req *tg.AuthSendCodeRequest) (tg.AuthSentCodeClass, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		phone := strings.TrimPrefix(req.PhoneNumber, "+")
		u := s.byPhone[phone]
		switch {
		case u == nil:
			return nil, rpcErr(400, "PHONE_NUMBER_INVALID")
		case u.banned:
			return nil, rpcErr(400, "PHONE_NUMBER_BANNED")
		}
		hash := randHex(8)
		s.codes[hash] = &sentCode{phone: phone, code: fmt.Sprintf("%05d", randInt(100000))}
		return &tg.AuthSentCode{Type: &tg.AuthSentCodeTypeApp{Length: 5}, PhoneCodeHash: hash}, nil
	})
	d.OnAuthSignIn(func(ctx context.Context, req *tg.AuthSignInRequest) (tg.AuthAuthorizationClass, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		c := s.codes[req.PhoneCodeHash]
		phone := strings.TrimPrefix(req.PhoneNumber, "+")
		switch {
		case c == nil || c.phone != phone || c.expired:
			return nil, rpcErr(400, "PHONE_CODE_EXPIRED")
		case req.PhoneCode == "":
			return nil, rpcErr(400, "PHONE_CODE_EMPTY")
		case req.PhoneCode != c.code:
			return nil, rpcErr(400, "PHONE_CODE_INVALID")
		}
		u := s.byPhone[phone]
		if u.banned {
			return nil, rpcErr(400, "PHONE_NUMBER_BANNED")
		}
		c.expired = true
		k := s.key(ctx)
		k.revoked = false
		if u.Password != "" {
			k.pwdUser = u.ID
			return nil, rpcErr(401, "SESSION_PASSWORD_NEEDED")
		}
		k.userID = u.ID
		u.revoked = false
		return &tg.AuthAuthorization{User: s.userEntity(u)}, nil
	})
	d.OnAccountGetPassword(func(ctx context.Context) (*tg.AccountPassword, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		k := s.key(ctx)
		u := s.users[k.pwdUser]
		if u == nil || u.Password == "" {
			return &tg.AccountPassword{NewAlgo: &tg.PasswordKdfAlgoUnknown{}, NewSecureAlgo: &tg.SecurePasswordKdfAlgoUnknown{}, SecureRandom: []byte{1}}, nil
		}
		st, err := newSRP(u.Password)
		if err != nil {
			return nil, err
		}
		k.srp = st
		return st.accountPassword(), nil
	})
	d.OnAuthCheckPassword(func(ctx context.Context, in tg.InputCheckPasswordSRPClass) (tg.AuthAuthorizationClass, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		k := s.key(ctx)
		u := s.users[k.pwdUser]
		pw, ok := in.(*tg.InputCheckPasswordSRP)
		switch {
		case u == nil || k.srp == nil:
			return nil, rpcErr(400, "PASSWORD_HASH_INVALID")
		case !ok || pw.SRPID != k.srp.id:
			return nil, rpcErr(400, "SRP_ID_INVALID")
		case !k.srp.verify(pw.A, pw.M1):
			return nil, rpcErr(400, "PASSWORD_HASH_INVALID")
		}
		k.userID, k.pwdUser, k.srp = u.ID, 0, nil
		return &tg.AuthAuthorization{User: s.userEntity(u)}, nil
	})
	d.OnUsersGetUsers(func(ctx context.Context, ids []tg.InputUserClass) ([]tg.UserClass, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		u, err := s.authorizedLocked(ctx)
		if err != nil {
			return nil, err
		}
		var out []tg.UserClass
		for _, id := range ids {
			switch id := id.(type) {
			case *tg.InputUserSelf:
				e := s.userEntity(u)
				e.Self = true
				out = append(out, e)
			case *tg.InputUser:
				if v := s.users[id.UserID]; v != nil {
					out = append(out, s.userEntity(v))
				}
			}
		}
		return out, nil
	})
	d.OnContactsResolveUsername(func(ctx context.Context, req *tg.ContactsResolveUsernameRequest) (*tg.ContactsResolvedPeer, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		u, err := s.authorizedLocked(ctx)
		if err != nil {
			return nil, err
		}
		name := strings.ToLower(req.Username)
		for _, ch := range s.channels {
			if ch.Username != "" && strings.ToLower(ch.Username) == name {
				return &tg.ContactsResolvedPeer{Peer: &tg.PeerChannel{ChannelID: ch.ID},
					Chats: []tg.ChatClass{s.channelEntityLocked(ch, u.ID)}}, nil
			}
		}
		for _, v := range s.users {
			if v.Username != "" && strings.ToLower(v.Username) == name {
				return &tg.ContactsResolvedPeer{Peer: &tg.PeerUser{UserID: v.ID}, Users: []tg.UserClass{s.userEntity(v)}}, nil
			}
		}
		return nil, rpcErr(400, "USERNAME_NOT_OCCUPIED")
	})
	d.OnChannelsGetChannels(func(ctx context.Context, ids []tg.InputChannelClass) (tg.MessagesChatsClass, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		u, err := s.authorizedLocked(ctx)
		if err != nil {
			return nil, err
		}
		var out []tg.ChatClass
		for _, id := range ids {
			in, ok := id.(*tg.InputChannel)
			if !ok {
				return nil, rpcErr(400, "CHANNEL_INVALID")
			}
			ch := s.channels[in.ChannelID]
			switch {
			case ch == nil:
				return nil, rpcErr(400, "CHANNEL_INVALID")
			case in.AccessHash != ch.AccessHash && !ch.members[u.ID]:
				return nil, rpcErr(400, "CHANNEL_INVALID") // no access hash: only members can look it up by id
			}
			out = append(out, s.channelEntityLocked(ch, u.ID))
		}
		return &tg.MessagesChats{Chats: out}, nil
	})
	d.OnChannelsJoinChannel(func(ctx context.Context, in tg.InputChannelClass) (tg.MessagesChatInviteJoinResultClass, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		u, err := s.authorizedLocked(ctx)
		if err != nil {
			return nil, err
		}
		ch, err := s.channelLocked(in)
		if err != nil {
			return nil, err
		}
		if ch.Username == "" {
			return nil, rpcErr(400, "CHANNEL_PRIVATE")
		}
		if ch.members[u.ID] {
			return nil, rpcErr(400, "USER_ALREADY_PARTICIPANT")
		}
		ch.members[u.ID] = true
		return &tg.MessagesChatInviteJoinResultOk{Updates: &tg.Updates{Chats: []tg.ChatClass{s.channelEntityLocked(ch, u.ID)}, Date: int(s.now().Unix())}}, nil
	})
	d.OnMessagesCheckChatInvite(func(ctx context.Context, hash string) (tg.ChatInviteClass, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		u, err := s.authorizedLocked(ctx)
		if err != nil {
			return nil, err
		}
		ch := s.invites[hash]
		if ch == nil {
			return nil, rpcErr(400, "INVITE_HASH_EXPIRED")
		}
		if ch.members[u.ID] {
			return &tg.ChatInviteAlready{Chat: s.channelEntityLocked(ch, u.ID)}, nil
		}
		inv := &tg.ChatInvite{Channel: true, Broadcast: ch.Broadcast, Megagroup: !ch.Broadcast, Public: ch.Username != "",
			RequestNeeded: ch.RequestNeeded, Title: ch.Title, Photo: &tg.PhotoEmpty{}, ParticipantsCount: len(ch.members)}
		inv.SetFlags()
		return inv, nil
	})
	d.OnMessagesImportChatInvite(func(ctx context.Context, hash string) (tg.MessagesChatInviteJoinResultClass, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		u, err := s.authorizedLocked(ctx)
		if err != nil {
			return nil, err
		}
		ch := s.invites[hash]
		switch {
		case ch == nil:
			return nil, rpcErr(400, "INVITE_HASH_EXPIRED")
		case ch.members[u.ID]:
			return nil, rpcErr(400, "USER_ALREADY_PARTICIPANT")
		case ch.RequestNeeded:
			return nil, rpcErr(400, "INVITE_REQUEST_SENT")
		}
		ch.members[u.ID] = true
		return &tg.MessagesChatInviteJoinResultOk{Updates: &tg.Updates{Chats: []tg.ChatClass{s.channelEntityLocked(ch, u.ID)}, Date: int(s.now().Unix())}}, nil
	})
	d.OnMessagesGetHistory(func(ctx context.Context, req *tg.MessagesGetHistoryRequest) (tg.MessagesMessagesClass, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		u, err := s.authorizedLocked(ctx)
		if err != nil {
			return nil, err
		}
		in, ok := req.Peer.(*tg.InputPeerChannel)
		if !ok {
			return nil, rpcErr(400, "PEER_ID_INVALID")
		}
		ch, err := s.channelLocked(&tg.InputChannel{ChannelID: in.ChannelID, AccessHash: in.AccessHash})
		if err != nil {
			return nil, err
		}
		if ch.Username == "" && !ch.members[u.ID] {
			return nil, rpcErr(400, "CHANNEL_PRIVATE")
		}
		page := historyPage(ch.messages, req)
		msgs := make([]tg.MessageClass, len(page))
		for i, m := range page {
			msgs[i] = m
		}
		return &tg.MessagesChannelMessages{Pts: ch.lastPts, Count: len(ch.messages), Messages: msgs,
			Chats: []tg.ChatClass{s.channelEntityLocked(ch, u.ID)}, Users: s.usersOfLocked(page)}, nil
	})
	d.OnUpdatesGetState(func(ctx context.Context) (*tg.UpdatesState, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, err := s.authorizedLocked(ctx); err != nil {
			return nil, err
		}
		return &tg.UpdatesState{Pts: 1, Qts: 0, Seq: 0, Date: int(s.now().Unix())}, nil
	})
	d.OnUpdatesGetDifference(func(ctx context.Context, req *tg.UpdatesGetDifferenceRequest) (tg.UpdatesDifferenceClass, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, err := s.authorizedLocked(ctx); err != nil {
			return nil, err
		}
		return &tg.UpdatesDifferenceEmpty{Date: int(s.now().Unix()), Seq: 0}, nil
	})
	d.OnUpdatesGetChannelDifference(func(ctx context.Context, req *tg.UpdatesGetChannelDifferenceRequest) (tg.UpdatesChannelDifferenceClass, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		u, err := s.authorizedLocked(ctx)
		if err != nil {
			return nil, err
		}
		ch, err := s.channelLocked(req.Channel)
		if err != nil {
			return nil, err
		}
		if ch.Username == "" && !ch.members[u.ID] {
			return nil, rpcErr(400, "CHANNEL_PRIVATE")
		}
		var news []*tg.Message
		for _, m := range ch.messages {
			if ch.pts[m.ID] > req.Pts {
				news = append(news, m)
			}
		}
		if len(news) == 0 {
			return &tg.UpdatesChannelDifferenceEmpty{Final: true, Pts: ch.lastPts}, nil
		}
		msgs := make([]tg.MessageClass, len(news))
		for i, m := range news {
			msgs[i] = m
		}
		return &tg.UpdatesChannelDifference{Final: true, Pts: ch.lastPts, NewMessages: msgs,
			Chats: []tg.ChatClass{s.channelEntityLocked(ch, u.ID)}, Users: s.usersOfLocked(news)}, nil
	})
}

// historyPage answers messages.getHistory over msgs (ascending by id) as
// Telegram documents it (core.telegram.org/api/offsets): the history is a
// list newest first; the slice starts at offsetFromID(offset_id) +
// add_offset, where offsetFromID counts the messages with an id of at least
// offset_id (0 for offset_id 0), and takes limit messages (1..100; 0 means
// 20, more means 100), clipped to the list; max_id and min_id then filter
// the slice (ids strictly below max_id, strictly above min_id). So
// {offset_id: X, add_offset: 0} pages back through the messages older than
// X, and {offset_id: X, add_offset: -limit} returns the limit oldest
// messages with an id of at least X. offset_date is not modelled. The cost
// is O(log n + limit).
func historyPage(msgs []*tg.Message, req *tg.MessagesGetHistoryRequest) []*tg.Message {
	limit := req.Limit
	switch {
	case limit <= 0:
		limit = 20
	case limit > 100:
		limit = 100
	}
	n := len(msgs)
	start := 0 // index into the newest-first list
	if req.OffsetID > 0 {
		// msgs[i:] are the messages with id >= offset_id.
		i := sort.Search(n, func(i int) bool { return msgs[i].ID >= req.OffsetID })
		start = n - i
	}
	start += req.AddOffset
	end := min(start+limit, n)
	start = max(start, 0)
	var page []*tg.Message
	for j := start; j < end; j++ {
		m := msgs[n-1-j]
		if req.MaxID > 0 && m.ID >= req.MaxID || req.MinID > 0 && m.ID <= req.MinID {
			continue
		}
		page = append(page, m)
	}
	return page
}

func (s *Server) channelLocked(in tg.InputChannelClass) (*Channel, error) {
	ic, ok := in.(*tg.InputChannel)
	if !ok {
		return nil, rpcErr(400, "CHANNEL_INVALID")
	}
	ch := s.channels[ic.ChannelID]
	if ch == nil || ch.AccessHash != ic.AccessHash {
		return nil, rpcErr(400, "CHANNEL_INVALID")
	}
	return ch, nil
}

// Messages returns the ids of the messages in ch, ascending.
func (s *Server) Messages(ch *Channel) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, len(ch.messages))
	for i, m := range ch.messages {
		ids[i] = m.ID
	}
	return slices.Clip(ids)
}
