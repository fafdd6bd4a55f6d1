package tgbottest

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

const maxRequestBytes = 10 << 20

// ServeHTTP serves the Bot API at /bot<token>/<method>.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || token == "" || method == "" || strings.Contains(method, "/") {
		writeJSON(w, http.StatusNotFound, response{OK: false, ErrorCode: 404, Description: "Not Found"})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, response{OK: false, ErrorCode: 405, Description: "Method Not Allowed"})
		return
	}
	s.mu.Lock()
	b := s.bots[token]
	if b != nil {
		if b.calls == nil {
			b.calls = map[string]int{}
		}
		b.calls[strings.ToLower(method)]++
	}
	s.mu.Unlock()
	if b == nil {
		writeError(w, &APIError{Code: 401, Description: "Unauthorized"})
		return
	}
	p, err := parseParams(r)
	if err != nil {
		writeError(w, &APIError{Code: 400, Description: "Bad Request: " + err.Error()})
		return
	}
	res, apiErr := s.call(r.Context(), b, method, p)
	if apiErr != nil {
		s.log.Debug("tgbottest: call failed", "method", method, "bot_id", b.ID(), "code", apiErr.Code, "description", apiErr.Description)
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func writeError(w http.ResponseWriter, e *APIError) {
	resp := response{OK: false, ErrorCode: e.Code, Description: e.Description}
	if e.RetryAfter != 0 || e.MigrateToChatID != 0 {
		resp.Parameters = &responseParameters{RetryAfter: e.RetryAfter, MigrateToChatID: e.MigrateToChatID}
	}
	if e.RetryAfter != 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, e.Code, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"ok":false,"error_code":500,"description":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// params are a request's parameters, each as JSON, whatever encoding the
// client used (query string, JSON body, urlencoded or multipart form).
type params map[string]json.RawMessage

func parseParams(r *http.Request) (params, error) {
	p := params{}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			p[k] = rawFromString(vs[len(vs)-1])
		}
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return p, nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxRequestBytes)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]json.RawMessage
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("can't parse JSON object")
		}
		for k, v := range m {
			if string(v) != "null" {
				p[k] = v
			}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("can't parse request body")
		}
		for k, vs := range r.PostForm {
			if len(vs) > 0 {
				p[k] = rawFromString(vs[len(vs)-1])
			}
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxRequestBytes); err != nil {
			return nil, fmt.Errorf("can't parse multipart body")
		}
		for k, vs := range r.MultipartForm.Value {
			if len(vs) > 0 {
				p[k] = rawFromString(vs[len(vs)-1])
			}
		}
	case "":
		// Telegram accepts an empty body without a content type.
	default:
		return nil, fmt.Errorf("unsupported Content-Type %q", ct)
	}
	return p, nil
}

// rawFromString turns a form value into JSON: values that are JSON numbers,
// booleans, arrays or objects are kept as such; anything else is a string.
func rawFromString(v string) json.RawMessage {
	t := strings.TrimSpace(v)
	if t != "" && t == v && (t[0] == '[' || t[0] == '{' || t[0] == '-' || (t[0] >= '0' && t[0] <= '9') || t == "true" || t == "false") && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(v)
	return b
}

func (p params) has(k string) bool { _, ok := p[k]; return ok }

func (p params) str(k string) string {
	raw, ok := p[k]
	if !ok {
		return ""
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

func (p params) int(k string) (int64, bool) {
	raw, ok := p[k]
	if !ok {
		return 0, false
	}
	s := p.str(k)
	if len(raw) > 0 && raw[0] != '"' {
		s = string(raw)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, false
		}
		n = int64(f)
	}
	return n, true
}

func (p params) bool(k string) bool {
	switch strings.ToLower(p.str(k)) {
	case "true", "1":
		return true
	}
	return false
}

func (p params) strings(k string) ([]string, bool) {
	raw, ok := p[k]
	if !ok {
		return nil, false
	}
	var out []string
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil || json.Unmarshal([]byte(s), &out) != nil {
			return nil, false
		}
		return out, true
	}
	if json.Unmarshal(raw, &out) != nil {
		return nil, false
	}
	return out, true
}

func badRequest(desc string) *APIError {
	return &APIError{Code: 400, Description: "Bad Request: " + desc}
}
func forbidden(desc string) *APIError { return &APIError{Code: 403, Description: "Forbidden: " + desc} }

// call runs one Bot API method.
func (s *Server) call(ctx context.Context, b *Bot, method string, p params) (any, *APIError) {
	m := strings.ToLower(method)
	s.mu.Lock()
	if q := b.injected[m]; len(q) > 0 {
		e := q[0]
		b.injected[m] = q[1:]
		s.mu.Unlock()
		return nil, &e
	}
	s.mu.Unlock()
	switch m {
	case "getupdates":
		return s.getUpdates(ctx, b, p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.revoked {
		return nil, &APIError{Code: 401, Description: "Unauthorized"}
	}
	switch m {
	case "getme":
		t, f := true, false
		privacyOff := !b.privacy
		return ok(&User{ID: b.user.ID, IsBot: true, FirstName: b.user.FirstName, Username: b.user.Username,
			CanJoinGroups: &t, CanReadAllGroupMessages: &privacyOff, SupportsInlineQueries: &f}), nil
	case "setwebhook":
		return s.setWebhookLocked(b, p)
	case "deletewebhook":
		return s.deleteWebhookLocked(b, p)
	case "getwebhookinfo":
		return ok(s.webhookInfoLocked(b)), nil
	case "getchat":
		return s.getChatLocked(b, p)
	case "getchatmember":
		return s.getChatMemberLocked(b, p)
	case "getchatadministrators":
		return s.getChatAdministratorsLocked(b, p)
	case "getchatmembercount":
		c, e := s.chatForLocked(b, p, true)
		if e != nil {
			return nil, e
		}
		n := 0
		for _, mb := range c.members {
			if isIn(mb.status) {
				n++
			}
		}
		return ok(n), nil
	case "sendmessage":
		return s.sendMessageLocked(b, p)
	case "answercallbackquery":
		id := p.str("callback_query_id")
		if !b.callbacks[id] {
			return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
		}
		delete(b.callbacks, id)
		b.answers = append(b.answers, CallbackAnswer{QueryID: id, Text: p.str("text"), ShowAlert: p.bool("show_alert")})
		return ok(true), nil
	case "logout", "close":
		return ok(true), nil
	}
	return nil, &APIError{Code: 404, Description: "Not Found: method not found"}
}

func ok(v any) response { return response{OK: true, Result: v} }

func isIn(status string) bool {
	switch status {
	case StatusCreator, StatusAdministrator, StatusMember:
		return true
	}
	return false
}

// getUpdates implements long polling with Telegram's offset semantics.
func (s *Server) getUpdates(ctx context.Context, b *Bot, p params) (any, *APIError) {
	offset, _ := p.int("offset")
	limit := int64(100)
	if n, ok := p.int("limit"); ok && n >= 1 && n <= 100 {
		limit = n
	}
	timeout, _ := p.int("timeout")
	if timeout < 0 {
		timeout = 0
	}
	allowed, hasAllowed := p.strings("allowed_updates")
	if p.has("allowed_updates") && !hasAllowed {
		return nil, badRequest("can't parse allowed updates")
	}

	s.mu.Lock()
	if b.revoked {
		s.mu.Unlock()
		return nil, &APIError{Code: 401, Description: "Unauthorized"}
	}
	if b.webhook != nil {
		s.mu.Unlock()
		return nil, webhookConflict()
	}
	if hasAllowed {
		b.allowed = allowed
	}
	b.pollGen++
	gen := b.pollGen
	// Wake a poll that is still waiting: it has been superseded.
	close(b.notify)
	b.notify = make(chan struct{})
	// Confirm: drop every update before offset.
	switch {
	case offset > 0:
		i := 0
		for i < len(b.updates) && b.updates[i].UpdateID < offset {
			i++
		}
		b.updates = b.updates[i:]
	case offset < 0:
		if keep := int(-offset); keep < len(b.updates) {
			b.updates = b.updates[len(b.updates)-keep:]
		}
	}
	s.mu.Unlock()

	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(time.Duration(timeout) * time.Second)
		defer t.Stop()
		timer = t.C
	}
	for {
		s.mu.Lock()
		if b.pollGen != gen {
			s.mu.Unlock()
			return nil, &APIError{Code: 409, Description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
		}
		if b.webhook != nil {
			s.mu.Unlock()
			return nil, webhookConflict()
		}
		out := make([]*Update, 0)
		for _, u := range b.updates {
			if int64(len(out)) >= limit {
				break
			}
			if offset > 0 && u.UpdateID < offset {
				continue
			}
			out = append(out, u)
		}
		if len(out) > 0 || timer == nil {
			body, err := json.Marshal(ok(out))
			s.mu.Unlock()
			if err != nil {
				return nil, &APIError{Code: 500, Description: "Internal Server Error"}
			}
			return json.RawMessage(body), nil
		}
		ch := b.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timer:
			timer = nil
		case <-ctx.Done():
			return nil, &APIError{Code: 500, Description: "Internal Server Error: request canceled"}
		case <-s.done:
			timer = nil
		}
	}
}

func webhookConflict() *APIError {
	return &APIError{Code: 409, Description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
}

func validSecret(s string) bool {
	if len(s) == 0 || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func (s *Server) setWebhookLocked(b *Bot, p params) (any, *APIError) {
	raw := p.str("url")
	if raw == "" {
		return s.deleteWebhookLocked(b, p)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, badRequest("bad webhook: Webhook URL is invalid")
	}
	loopback := false
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() || host == "localhost" {
		loopback = true
	}
	// The real service demands HTTPS on ports 443, 80, 88 or 8443. The fake
	// also accepts plain HTTP and any port on loopback, where tests run.
	switch {
	case u.Scheme == "https" && !loopback:
		if port := u.Port(); port != "" && port != "443" && port != "80" && port != "88" && port != "8443" {
			return nil, badRequest("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
		}
	case (u.Scheme == "http" || u.Scheme == "https") && loopback:
	default:
		return nil, badRequest("bad webhook: An HTTPS URL must be provided for webhook")
	}
	secret := p.str("secret_token")
	if p.has("secret_token") && secret != "" && !validSecret(secret) {
		return nil, badRequest("secret token contains unallowed characters")
	}
	maxConn := int64(40)
	if n, ok := p.int("max_connections"); ok {
		if n < 1 || n > 100 {
			return nil, badRequest("bad webhook: max_connections must be between 1 and 100")
		}
		maxConn = n
	}
	if allowed, okA := p.strings("allowed_updates"); okA {
		b.allowed = allowed
	} else if p.has("allowed_updates") {
		return nil, badRequest("can't parse allowed updates")
	}
	if p.bool("drop_pending_updates") {
		b.updates = nil
	}
	desc := "Webhook was set"
	if b.webhook != nil && b.webhook.url == raw && b.webhook.secret == secret {
		desc = "Webhook is already set"
	}
	b.webhook = &webhook{url: raw, secret: secret, maxConnections: int(maxConn)}
	close(b.notify) // end a waiting long poll with 409
	b.notify = make(chan struct{})
	s.kickLoop()
	return response{OK: true, Result: true, Description: desc}, nil
}

func (s *Server) deleteWebhookLocked(b *Bot, p params) (any, *APIError) {
	if p.bool("drop_pending_updates") {
		b.updates = nil
	}
	if b.webhook == nil {
		return response{OK: true, Result: true, Description: "Webhook is already deleted"}, nil
	}
	b.webhook = nil
	return response{OK: true, Result: true, Description: "Webhook was deleted"}, nil
}

func (s *Server) webhookInfoLocked(b *Bot) webhookInfo {
	info := webhookInfo{PendingUpdateCount: len(b.updates)}
	if w := b.webhook; w != nil {
		info.URL = w.url
		info.MaxConnections = w.maxConnections
		info.LastErrorDate = w.lastErrorDate
		info.LastErrorMessage = w.lastErrorMsg
		info.AllowedUpdates = append([]string(nil), b.allowed...)
	}
	return info
}

// chatForLocked resolves chat_id for b. With access, the bot must be able to
// act in the chat (a member, not blocked).
func (s *Server) chatForLocked(b *Bot, p params, access bool) (*Chat, *APIError) {
	if !p.has("chat_id") || p.str("chat_id") == "" {
		return nil, badRequest("chat_id is empty")
	}
	var c *Chat
	if name, isName := strings.CutPrefix(p.str("chat_id"), "@"); isName {
		c = s.usernames[strings.ToLower(name)]
	} else if id, okID := p.int("chat_id"); okID {
		if id > 0 {
			c = s.privates[[2]int64{b.user.ID, id}]
		} else {
			c = s.chats[id]
		}
	}
	if c == nil {
		return nil, badRequest("chat not found")
	}
	if c.migratedTo != 0 {
		return nil, &APIError{Code: 400, Description: "Bad Request: group chat was upgraded to a supergroup chat", MigrateToChatID: c.migratedTo}
	}
	if c.Type == ChatPrivate {
		if access && b.blockedBy[c.user.ID] {
			return nil, forbidden("bot was blocked by the user")
		}
		return c, nil
	}
	mb := c.members[b.user.ID]
	if mb == nil && c.Username == "" {
		return nil, badRequest("chat not found")
	}
	if access {
		word := string(c.Type) + " chat"
		switch {
		case mb == nil || mb.status == StatusLeft:
			return nil, forbidden("bot is not a member of the " + word)
		case mb.status == StatusKicked:
			return nil, forbidden("bot was kicked from the " + word)
		}
	}
	return c, nil
}

func (s *Server) getChatLocked(b *Bot, p params) (any, *APIError) {
	c, e := s.chatForLocked(b, p, false)
	if e != nil {
		return nil, e
	}
	info := chatFullInfo{chatWire: c.wire(), MaxReactions: 11}
	return ok(info), nil
}

func (mb *member) wire() *ChatMember {
	cm := &ChatMember{Status: mb.status, User: mb.user.wire()}
	f := false
	switch mb.status {
	case StatusCreator:
		cm.IsAnonymous = &f
	case StatusAdministrator:
		r := mb.rights
		cm.IsAnonymous = &f
		cm.Rights = &r
	case StatusRestricted:
		t := true
		r := Rights{CanSendMessages: mb.rights.CanSendMessages}
		cm.IsMember, cm.Rights, cm.UntilDate = &t, &r, &mb.untilDate
	case StatusKicked:
		cm.UntilDate = &mb.untilDate
	}
	return cm
}

func (s *Server) getChatMemberLocked(b *Bot, p params) (any, *APIError) {
	c, e := s.chatForLocked(b, p, true)
	if e != nil {
		return nil, e
	}
	uid, okU := p.int("user_id")
	if !okU || uid <= 0 {
		return nil, badRequest("invalid user_id specified")
	}
	u := s.users[uid]
	if u == nil {
		return nil, badRequest("user not found")
	}
	if mb := c.members[uid]; mb != nil {
		return ok(mb.wire()), nil
	}
	if c.Type == ChatPrivate {
		return nil, badRequest("user not found")
	}
	return ok((&member{user: u, status: StatusLeft}).wire()), nil
}

func (s *Server) getChatAdministratorsLocked(b *Bot, p params) (any, *APIError) {
	c, e := s.chatForLocked(b, p, true)
	if e != nil {
		return nil, e
	}
	if c.Type == ChatPrivate {
		return nil, badRequest("there are no administrators in the private chat")
	}
	out := []*ChatMember{}
	for _, mb := range c.members {
		if mb.status == StatusCreator || mb.status == StatusAdministrator {
			out = append(out, mb.wire())
		}
	}
	sortMembers(out)
	return ok(out), nil
}

func sortMembers(ms []*ChatMember) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].User.ID < ms[j-1].User.ID; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

func (s *Server) sendMessageLocked(b *Bot, p params) (any, *APIError) {
	c, e := s.chatForLocked(b, p, true)
	if e != nil {
		return nil, e
	}
	text := p.str("text")
	mode := p.str("parse_mode")
	plain := text
	switch strings.ToLower(mode) {
	case "":
	case "html":
		var err error
		if plain, err = stripHTML(text); err != nil {
			return nil, badRequest("can't parse entities: " + err.Error())
		}
	case "markdown", "markdownv2":
		plain = stripMarkdown(text)
	default:
		return nil, badRequest("unsupported parse_mode")
	}
	if strings.TrimSpace(plain) == "" {
		return nil, badRequest("message text is empty")
	}
	if utf16Len(plain) > 4096 {
		return nil, badRequest("message is too long")
	}
	if c.Type != ChatPrivate {
		mb := c.members[b.user.ID]
		switch {
		case c.Type == ChatChannel && (mb.status != StatusAdministrator && mb.status != StatusCreator || mb.status == StatusAdministrator && !mb.rights.CanPostMessages):
			return nil, badRequest("need administrator rights in the channel chat")
		case mb.status == StatusRestricted && !mb.rights.CanSendMessages:
			return nil, badRequest("not enough rights to send text messages to the chat")
		}
	}
	replied, e := replyTargetLocked(c, p)
	if e != nil {
		return nil, e
	}
	now := s.now()
	c.nextMsg++
	msg := &Message{MessageID: c.nextMsg, From: b.user.wire(), Date: now.Unix(), Chat: c.wire(), Text: plain, chat: c}
	var replyTo int64
	if replied != nil {
		replyTo = replied.MessageID
		msg.ReplyToMessage = replied
	}
	if c.Type == ChatChannel {
		msg.From = nil
		w := c.wire()
		msg.SenderChat = &w
	}
	var markup json.RawMessage
	if raw, okM := p["reply_markup"]; okM {
		markup = append(json.RawMessage(nil), raw...)
		msg.ReplyMarkup = markup
	}
	c.lastBot = b.user.ID
	c.storeLocked(msg)
	sm := SentMessage{BotID: b.user.ID, ChatID: c.ID, MessageID: msg.MessageID, Text: plain, RawText: text,
		ParseMode: mode, ReplyToMessageID: replyTo, ReplyMarkup: markup, Date: now}
	b.sent = append(b.sent, sm)
	s.sent = append(s.sent, sm)
	return ok(msg), nil
}

// replyTargetLocked resolves the reply parameters of a send: reply_parameters
// (an object, or a JSON string of one in form bodies) or, when it is absent,
// the legacy reply_to_message_id and allow_sending_without_reply, as the Bot
// API server reads them. It returns the replied-to message as it appears in
// reply_to_message (without its own reply_to_message), nil for no reply, or
// 400 "message to be replied not found" when the message does not exist in
// the chat and sending without a reply is not allowed.
func replyTargetLocked(c *Chat, p params) (*Message, *APIError) {
	var rp struct {
		MessageID                int64 `json:"message_id"`
		AllowSendingWithoutReply bool  `json:"allow_sending_without_reply"`
	}
	if raw, okP := p["reply_parameters"]; okP {
		if len(raw) > 0 && raw[0] == '"' {
			var str string
			_ = json.Unmarshal(raw, &str)
			raw = json.RawMessage(str)
		}
		if json.Unmarshal(raw, &rp) != nil {
			return nil, badRequest("can't parse reply parameters JSON object")
		}
	} else {
		// A value that is not a number counts as 0 (no reply), as the
		// Bot API server's integer parsing makes it.
		rp.MessageID, _ = p.int("reply_to_message_id")
		rp.AllowSendingWithoutReply = p.bool("allow_sending_without_reply")
	}
	if rp.MessageID == 0 {
		return nil, nil
	}
	m := c.msgs[rp.MessageID]
	if m == nil {
		if rp.AllowSendingWithoutReply {
			return nil, nil
		}
		return nil, badRequest("message to be replied not found")
	}
	cp := *m
	cp.ReplyToMessage = nil
	return &cp, nil
}

var htmlTags = map[string]bool{"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "a": true, "code": true, "pre": true, "tg-spoiler": true,
	"span": true, "blockquote": true, "tg-emoji": true}

// stripHTML checks Telegram's HTML subset and returns the text without markup.
func stripHTML(in string) (string, error) {
	var out strings.Builder
	var stack []string
	for i := 0; i < len(in); {
		switch in[i] {
		case '<':
			end := strings.IndexByte(in[i:], '>')
			if end < 0 {
				return "", fmt.Errorf("unclosed start tag at byte offset %d", i)
			}
			tag := in[i+1 : i+end]
			closing := strings.HasPrefix(tag, "/")
			name := strings.ToLower(strings.Fields(strings.TrimPrefix(tag, "/") + " ")[0])
			if !htmlTags[name] {
				return "", fmt.Errorf("unsupported start tag %q at byte offset %d", name, i)
			}
			if closing {
				if len(stack) == 0 || stack[len(stack)-1] != name {
					return "", fmt.Errorf("unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", i, last(stack), name)
				}
				stack = stack[:len(stack)-1]
			} else {
				stack = append(stack, name)
			}
			i += end + 1
		case '&':
			end := strings.IndexByte(in[i:], ';')
			if end < 0 {
				return "", fmt.Errorf("can't find end of the entity starting at byte offset %d", i)
			}
			ent := in[i+1 : i+end]
			switch {
			case ent == "lt":
				out.WriteByte('<')
			case ent == "gt":
				out.WriteByte('>')
			case ent == "amp":
				out.WriteByte('&')
			case ent == "quot":
				out.WriteByte('"')
			case strings.HasPrefix(ent, "#"):
				n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimPrefix(ent, "#"), "x"), map[bool]int{true: 16, false: 10}[strings.HasPrefix(ent, "#x")], 32)
				if err != nil {
					return "", fmt.Errorf("unsupported HTML entity at byte offset %d", i)
				}
				out.WriteRune(rune(n))
			default:
				return "", fmt.Errorf("unsupported HTML entity at byte offset %d", i)
			}
			i += end + 1
		default:
			out.WriteByte(in[i])
			i++
		}
	}
	if len(stack) > 0 {
		return "", fmt.Errorf("can't find end tag corresponding to start tag \"%s\"", last(stack))
	}
	return out.String(), nil
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func stripMarkdown(in string) string {
	r := strings.NewReplacer("\\*", "*", "\\_", "_", "\\.", ".", "\\-", "-", "\\!", "!", "*", "", "_", "", "`", "")
	return r.Replace(in)
}
