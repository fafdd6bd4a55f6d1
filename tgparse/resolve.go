package tgparse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gotd/td/tg"

	"github.com/chatterhq/sdk/chatter"
)

// API is the part of *tg.Client that tgparse calls to read chats. Tests
// may substitute a fake; *tg.Client implements it.
type API interface {
	ContactsResolveUsername(ctx context.Context, request *tg.ContactsResolveUsernameRequest) (*tg.ContactsResolvedPeer, error)
	ChannelsGetChannels(ctx context.Context, id []tg.InputChannelClass) (tg.MessagesChatsClass, error)
	ChannelsJoinChannel(ctx context.Context, channel tg.InputChannelClass) (tg.MessagesChatInviteJoinResultClass, error)
	MessagesCheckChatInvite(ctx context.Context, hash string) (tg.ChatInviteClass, error)
	MessagesImportChatInvite(ctx context.Context, hash string) (tg.MessagesChatInviteJoinResultClass, error)
	MessagesGetHistory(ctx context.Context, request *tg.MessagesGetHistoryRequest) (tg.MessagesMessagesClass, error)
}

var _ API = (*tg.Client)(nil)

// ResolvedChat is a chat found by one account.
type ResolvedChat struct {
	Link     Link
	ChatID   int64 // Bot API form
	Type     chatter.ChatType
	Title    string
	Username string
	Joined   bool // the account joined it during Resolve
	Peer     tg.InputPeerClass
	entities *Entities
}

// Resolve finds the chat of link for the account behind api, joining it
// when join is set and the account is not a member (public channels and
// supergroups are read without joining). Errors are *Error values of
// KindUsernameNotFound, KindInviteInvalid, KindInviteRequestSent,
// KindChannelPrivate, KindNotMember, KindNoAccess, KindTooManyChannels,
// KindFloodWait, or account kinds.
func Resolve(ctx context.Context, api API, link Link, join bool) (*ResolvedChat, error) {
	rc, err := resolve(ctx, api, link, join)
	if err != nil {
		return nil, classify(err, "", link.String(), time.Now())
	}
	return rc, nil
}

func resolve(ctx context.Context, api API, link Link, join bool) (*ResolvedChat, error) {
	switch {
	case link.Username != "":
		res, err := api.ContactsResolveUsername(ctx, &tg.ContactsResolveUsernameRequest{Username: link.Username})
		if err != nil {
			return nil, err
		}
		ents := NewEntities(res.Users, res.Chats)
		switch p := res.Peer.(type) {
		case *tg.PeerChannel:
			ch := ents.Channels[p.ChannelID]
			if ch == nil {
				return nil, &Error{Kind: KindNoAccess, Err: errors.New("the channel was not in the answer")}
			}
			return channelChat(ctx, api, link, ch, ents, join)
		case *tg.PeerUser:
			u := ents.Users[p.UserID]
			if u == nil {
				return nil, &Error{Kind: KindNoAccess, Err: errors.New("the user was not in the answer")}
			}
			return &ResolvedChat{Link: link, ChatID: u.ID, Type: chatter.ChatPrivate, Title: u.FirstName, Username: u.Username,
				Peer: &tg.InputPeerUser{UserID: u.ID, AccessHash: u.AccessHash}, entities: ents}, nil
		}
		return nil, &Error{Kind: KindNoAccess, Err: fmt.Errorf("unsupported peer %T", res.Peer)}
	case link.ChannelID != 0:
		res, err := api.ChannelsGetChannels(ctx, []tg.InputChannelClass{&tg.InputChannel{ChannelID: link.ChannelID}})
		if err != nil {
			if tgIs(err, "CHANNEL_INVALID", "CHANNEL_PRIVATE") {
				return nil, &Error{Kind: KindNotMember, Err: err}
			}
			return nil, err
		}
		ents := NewEntities(nil, res.GetChats())
		ch := ents.Channels[link.ChannelID]
		if ch == nil {
			return nil, &Error{Kind: KindNotMember, Err: errors.New("the channel is unknown to the account")}
		}
		return channelChat(ctx, api, link, ch, ents, false)
	case link.InviteHash != "":
		return inviteChat(ctx, api, link, join)
	}
	return nil, &Error{Kind: KindLinkInvalid, Err: errors.New("empty link")}
}

func channelChat(ctx context.Context, api API, link Link, ch *tg.Channel, ents *Entities, join bool) (*ResolvedChat, error) {
	rc := &ResolvedChat{Link: link, ChatID: ChannelChatID(ch.ID), Type: chatter.ChatSupergroup, Title: ch.Title,
		Username: channelUsername(ch), Peer: &tg.InputPeerChannel{ChannelID: ch.ID, AccessHash: ch.AccessHash}, entities: ents}
	if ch.Broadcast {
		rc.Type = chatter.ChatChannel
	}
	if !ch.Left {
		return rc, nil
	}
	if !join {
		if rc.Username != "" {
			return rc, nil // public: readable without joining
		}
		return nil, &Error{Kind: KindNotMember}
	}
	if _, err := api.ChannelsJoinChannel(ctx, &tg.InputChannel{ChannelID: ch.ID, AccessHash: ch.AccessHash}); err != nil && !tgIs(err, "USER_ALREADY_PARTICIPANT") {
		return nil, err
	}
	rc.Joined = true
	return rc, nil
}

func inviteChat(ctx context.Context, api API, link Link, join bool) (*ResolvedChat, error) {
	inv, err := api.MessagesCheckChatInvite(ctx, link.InviteHash)
	if err != nil {
		return nil, err
	}
	var chat tg.ChatClass
	switch inv := inv.(type) {
	case *tg.ChatInviteAlready:
		chat = inv.Chat
	case *tg.ChatInvitePeek:
		if !join {
			return nil, &Error{Kind: KindNotMember}
		}
	case *tg.ChatInvite:
		if !join {
			return nil, &Error{Kind: KindNotMember}
		}
	}
	joined := false
	if chat == nil {
		res, err := api.MessagesImportChatInvite(ctx, link.InviteHash)
		if err != nil && !tgIs(err, "USER_ALREADY_PARTICIPANT") {
			return nil, err
		}
		ok, _ := res.(*tg.MessagesChatInviteJoinResultOk)
		if ok == nil {
			return nil, &Error{Kind: KindNoAccess, Err: fmt.Errorf("unexpected join result %T", res)}
		}
		if chats := updatesChats(ok.Updates); len(chats) > 0 {
			chat = chats[0]
		}
		joined = true
	}
	ents := NewEntities(nil, []tg.ChatClass{chat})
	switch c := chat.(type) {
	case *tg.Channel:
		rc, err := channelChat(ctx, api, link, c, ents, false)
		if rc != nil {
			rc.Joined = joined
		}
		return rc, err
	case *tg.Chat:
		return &ResolvedChat{Link: link, ChatID: -c.ID, Type: chatter.ChatGroup, Title: c.Title,
			Peer: &tg.InputPeerChat{ChatID: c.ID}, Joined: joined, entities: ents}, nil
	case *tg.ChannelForbidden, *tg.ChatForbidden:
		return nil, &Error{Kind: KindChannelPrivate}
	}
	return nil, &Error{Kind: KindNoAccess, Err: fmt.Errorf("unsupported chat %T", chat)}
}

func updatesChats(u tg.UpdatesClass) []tg.ChatClass {
	switch u := u.(type) {
	case *tg.Updates:
		return u.Chats
	case *tg.UpdatesCombined:
		return u.Chats
	}
	return nil
}
