package tgparse

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/chatter"
)

// Link is a parsed reference to a Telegram chat: exactly one of Username,
// ChannelID and InviteHash is set. MessageID is set when the link points at a
// message.
type Link struct {
	Username   string `json:"username,omitempty"`    // public username, lower case, without '@'
	ChannelID  int64  `json:"channel_id,omitempty"`  // bare channel id, from t.me/c/<id>/… or -100<id>
	InviteHash string `json:"invite_hash,omitempty"` // from t.me/+hash, t.me/joinchat/hash, tg://join?invite=
	MessageID  int    `json:"message_id,omitempty"`  // the message the link points at; 0 when none
}

// String renders the canonical form: @name, https://t.me/name/12,
// https://t.me/c/123/45 or https://t.me/+hash.
func (l Link) String() string {
	switch {
	case l.Username != "" && l.MessageID > 0:
		return "https://t.me/" + l.Username + "/" + strconv.Itoa(l.MessageID)
	case l.Username != "":
		return "@" + l.Username
	case l.ChannelID != 0 && l.MessageID > 0:
		return "https://t.me/c/" + strconv.FormatInt(l.ChannelID, 10) + "/" + strconv.Itoa(l.MessageID)
	case l.ChannelID != 0:
		return "https://t.me/c/" + strconv.FormatInt(l.ChannelID, 10)
	case l.InviteHash != "":
		return "https://t.me/+" + l.InviteHash
	}
	return ""
}

// IsInvite reports whether the link is an invite link.
func (l Link) IsInvite() bool { return l.InviteHash != "" }

// Limits of the parts of a link.
const (
	maxLinkLen     = 512
	minUsernameLen = 4 // collectible usernames have 4 characters; ordinary ones at least 5
	maxUsernameLen = 32
	maxInviteLen   = 64
	// maxChannelID bounds bare channel ids so that -100<id> fits an int64
	// and stays in the Bot API form (-1000000000000 - id).
	maxChannelID = 999_999_999_999
)

// hosts that serve t.me links.
var linkHosts = map[string]bool{
	"t.me": true, "www.t.me": true, "telegram.me": true, "www.telegram.me": true,
	"telegram.dog": true, "www.telegram.dog": true,
}

// reserved first path segments of t.me that are not usernames.
var reservedPaths = map[string]bool{
	"addstickers": true, "addemoji": true, "addtheme": true, "addlist": true, "share": true,
	"proxy": true, "socks": true, "setlanguage": true, "login": true, "bg": true, "iv": true,
	"confirmphone": true, "invoice": true, "boost": true, "giftcode": true, "m": true, "nft": true,
	"contact": true, "$": true,
}

// ParseLink parses a chat reference as people paste it:
//
//	@name, name                           a public username
//	t.me/name, https://t.me/name/123      a public chat (and a message in it)
//	t.me/s/name                           the web preview of a public channel
//	t.me/c/1234567890/45                  a private channel or supergroup by id
//	-1001234567890                        a Bot API chat id of a channel/supergroup
//	t.me/+hash, t.me/joinchat/hash        an invite link
//	tg://resolve?domain=name&post=123     the same in the app scheme
//	tg://privatepost?channel=123&post=45
//	tg://join?invite=hash
//
// telegram.me and telegram.dog work as t.me; http(s):// is optional; query
// strings and fragments of https links are ignored. Anything else returns an
// *Error of KindLinkInvalid with the reason.
func ParseLink(s string) (Link, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Link{}, linkErr(s, "пустая ссылка", "the link is empty")
	case len(s) > maxLinkLen:
		return Link{}, linkErr(s[:32]+"…", "ссылка слишком длинная", "the link is too long")
	}
	if strings.HasPrefix(s, "@") {
		return usernameLink(s, s[1:], "")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return botAPIIDLink(s, n)
	}
	lower := strings.ToLower(s)
	if strings.HasPrefix(lower, "tg://") || strings.HasPrefix(lower, "tg:") {
		return parseAppLink(s)
	}
	rest := s
	for _, p := range []string{"https://", "http://"} {
		if strings.HasPrefix(strings.ToLower(rest), p) {
			rest = rest[len(p):]
			break
		}
	}
	host, path, hasPath := strings.Cut(rest, "/")
	if !hasPath && !strings.Contains(host, ".") && rest == s {
		return usernameLink(s, s, "") // a bare username
	}
	if !linkHosts[strings.ToLower(host)] {
		return Link{}, linkErr(s, "ссылка не на t.me", "the link is not a t.me link")
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimSuffix(path, "/")
	segs := strings.Split(path, "/")
	if path == "" || len(segs) == 0 {
		return Link{}, linkErr(s, "в ссылке нет имени чата", "the link has no chat name")
	}
	first := segs[0]
	switch {
	case strings.HasPrefix(first, "+"):
		if len(segs) != 1 {
			return Link{}, linkErr(s, "лишние части после кода приглашения", "extra parts after the invite code")
		}
		return inviteLink(s, first[1:])
	case strings.EqualFold(first, "joinchat"):
		if len(segs) != 2 {
			return Link{}, linkErr(s, "нет кода приглашения", "the invite code is missing")
		}
		return inviteLink(s, segs[1])
	case first == "c":
		if len(segs) < 2 || len(segs) > 4 {
			return Link{}, linkErr(s, "ожидается t.me/c/ID/сообщение", "want t.me/c/ID/message")
		}
		id, err := strconv.ParseInt(segs[1], 10, 64)
		if err != nil || id <= 0 || id > maxChannelID {
			return Link{}, linkErr(s, "неверный ID канала", "the channel id is invalid")
		}
		msg, err := lastMessageID(s, segs[2:])
		if err != nil {
			return Link{}, err
		}
		return Link{ChannelID: id, MessageID: msg}, nil
	case first == "s":
		if len(segs) < 2 || len(segs) > 3 {
			return Link{}, linkErr(s, "ожидается t.me/s/имя", "want t.me/s/name")
		}
		return usernameLink(s, segs[1], strings.Join(segs[2:], "/"))
	case reservedPaths[strings.ToLower(first)]:
		return Link{}, linkErr(s, "это ссылка не на чат", "the link does not point at a chat")
	}
	if len(segs) > 3 {
		return Link{}, linkErr(s, "слишком много частей в ссылке", "the link has too many parts")
	}
	return usernameLink(s, first, strings.Join(segs[1:], "/"))
}

// parseAppLink parses tg:// links.
func parseAppLink(s string) (Link, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Link{}, linkErr(s, "неверная ссылка tg://", "malformed tg:// link")
	}
	target := strings.ToLower(u.Host)
	if target == "" {
		target = strings.ToLower(strings.TrimPrefix(u.Opaque, "//"))
		if i := strings.IndexByte(target, '?'); i >= 0 {
			target = target[:i]
		}
	}
	q := u.Query()
	switch target {
	case "resolve":
		return usernameLink(s, q.Get("domain"), q.Get("post"))
	case "join":
		return inviteLink(s, q.Get("invite"))
	case "privatepost":
		id, err := strconv.ParseInt(q.Get("channel"), 10, 64)
		if err != nil || id <= 0 || id > maxChannelID {
			return Link{}, linkErr(s, "неверный ID канала", "the channel id is invalid")
		}
		msg, err := lastMessageID(s, []string{q.Get("post")})
		if err != nil {
			return Link{}, err
		}
		return Link{ChannelID: id, MessageID: msg}, nil
	}
	return Link{}, linkErr(s, "ссылка tg:// не на чат", "the tg:// link does not point at a chat")
}

func usernameLink(orig, name, msgPath string) (Link, error) {
	if !validUsername(name) {
		return Link{}, linkErr(orig, "недопустимое имя чата (латиница, цифры и _, от 4 до 32 символов, начинается с буквы)",
			"invalid username (Latin letters, digits and _, 4 to 32 characters, starting with a letter)")
	}
	var segs []string
	if msgPath != "" {
		segs = strings.Split(msgPath, "/")
	}
	msg, err := lastMessageID(orig, segs)
	if err != nil {
		return Link{}, err
	}
	return Link{Username: strings.ToLower(name), MessageID: msg}, nil
}

// lastMessageID reads the message id: the last segment (after an optional
// forum topic id).
func lastMessageID(orig string, segs []string) (int, error) {
	if len(segs) == 0 || (len(segs) == 1 && segs[0] == "") {
		return 0, nil
	}
	if len(segs) > 2 {
		return 0, linkErr(orig, "слишком много частей в ссылке", "the link has too many parts")
	}
	for _, seg := range segs {
		n, err := strconv.Atoi(seg)
		if err != nil || n <= 0 || n > 1<<31-1 {
			return 0, linkErr(orig, "неверный номер сообщения", "the message number is invalid")
		}
	}
	n, _ := strconv.Atoi(segs[len(segs)-1])
	return n, nil
}

func inviteLink(orig, hash string) (Link, error) {
	if hash == "" || len(hash) > maxInviteLen {
		return Link{}, linkErr(orig, "неверный код приглашения", "the invite code is invalid")
	}
	for i := 0; i < len(hash); i++ {
		c := hash[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return Link{}, linkErr(orig, "недопустимые символы в коде приглашения", "invalid characters in the invite code")
		}
	}
	return Link{InviteHash: hash}, nil
}

// botAPIIDLink accepts -100<id> chat ids of channels and supergroups.
func botAPIIDLink(orig string, n int64) (Link, error) {
	if n < -botAPIChannelOffset && n >= -botAPIChannelOffset-maxChannelID {
		return Link{ChannelID: -botAPIChannelOffset - n}, nil
	}
	return Link{}, linkErr(orig, "числовой ID поддерживается только для каналов и супергрупп (-100…)", "numeric ids are supported only for channels and supergroups (-100…)")
}

func validUsername(s string) bool {
	if len(s) < minUsernameLen || len(s) > maxUsernameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case (c >= '0' && c <= '9' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// LinkError is the detail of an invalid link, wrapped in an *Error of
// KindLinkInvalid. It wraps chatter.ErrInvalid.
type LinkError struct {
	Input   string
	Problem chatter.Text
}

// Error renders the input and the English problem.
func (e *LinkError) Error() string { return "link " + strconv.Quote(e.Input) + ": " + e.Problem.EN }

// Unwrap returns chatter.ErrInvalid.
func (e *LinkError) Unwrap() error { return chatter.ErrInvalid }

func linkErr(input, ru, en string) error {
	return &Error{Kind: KindLinkInvalid, Chat: "", Err: &LinkError{Input: input, Problem: chatter.T(ru, en)}}
}

// LinkProblem returns the ru/en reason a link was rejected, or a zero Text.
func LinkProblem(err error) chatter.Text {
	var le *LinkError
	if errors.As(err, &le) {
		return le.Problem
	}
	return chatter.Text{}
}
