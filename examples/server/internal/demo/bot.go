package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

// botJournalMax bounds the in-memory journal of updates the demo made; the
// pending tail the fake still holds at Close is always far shorter.
const botJournalMax = 10_000

// botWorld is the Bot API fake with the bot's people, and what it takes to
// continue after a restart: Telegram ids, message ids and the updates the
// app had not fetched yet.
type botWorld struct {
	srv   *tgbottest.Server
	bot   *tgbottest.Bot
	token string
	proxy *botProxy

	mu          sync.Mutex
	people      []*tgbottest.User
	chats       []*tgbottest.Chat
	lastWritten []*tgbottest.Message // by person: the person's latest message (the one an edit fixes)
	lastID      []int64              // by person: the latest message id the demo saw in the chat
	journal     []botUpdate
}

// startBot creates the bot and the people of st (in order, so their ids are
// those of the previous start) and produces again the updates that were
// pending when the demo stopped. It returns the world and the new state.
func startBot(now func() time.Time, log *slog.Logger, username string, st botState) (*botWorld, error) {
	srv := tgbottest.New(tgbottest.WithClock(now), tgbottest.WithLogger(log))
	token, bot := srv.AddBot(username)
	w := &botWorld{srv: srv, bot: bot, token: token}
	w.proxy = &botProxy{fake: srv, log: log, dups: map[dupKey]int{}, hooks: map[string]string{}}
	if st.BotID != 0 && st.BotID != bot.ID() {
		return nil, fmt.Errorf("the bot's id is %d, was %d: the Bot API fake changed; remove %s to start over", bot.ID(), st.BotID, StateFile)
	}
	n := max(len(st.People), 1) // person 0, the customer, always exists
	for i := range n {
		id := w.addPerson(i)
		if i < len(st.People) && st.People[i] != id {
			return nil, fmt.Errorf("bot person %d got Telegram id %d, was %d: the Bot API fake changed; remove %s to start over", i, id, st.People[i], StateFile)
		}
	}
	if err := w.restore(st); err != nil {
		return nil, err
	}
	return w, nil
}

// addPerson creates person i in the fake. Called in index order.
func (w *botWorld) addPerson(i int) int64 {
	p := personAt(SideBot, i)
	u := w.srv.AddUser(p.Username, p.FirstName)
	u.LastName = p.LastName
	w.people = append(w.people, u)
	w.chats = append(w.chats, w.srv.PrivateChat(u, w.bot))
	w.lastWritten = append(w.lastWritten, nil)
	w.lastID = append(w.lastID, 0)
	return u.ID
}

// ensure creates people up to index i.
func (w *botWorld) ensure(i int) {
	for len(w.people) <= i {
		w.addPerson(len(w.people))
	}
}

// restore moves every private chat's message ids to where the previous
// start left them (the fake starts each chat at 1, and a repeated id would
// be taken for a message the store already has), then produces the pending
// updates again. Moving on is done by writing placeholder messages whose
// updates are confirmed at once, never seen by the app.
func (w *botWorld) restore(st botState) error {
	firstPending := map[int]int64{}
	need := map[[2]int64]bool{} // (person, message id) whose *Message must be kept
	for _, u := range st.Pending {
		if u.Person < 0 || u.Person >= len(w.people) {
			return fmt.Errorf("%s: pending update of unknown person %d", StateFile, u.Person)
		}
		if u.Kind == "edit" {
			need[[2]int64{int64(u.Person), u.MessageID}] = true
		} else if _, ok := firstPending[u.Person]; !ok {
			firstPending[u.Person] = u.MessageID
		}
	}
	lastWrittenID := map[int]int64{}
	for i := range w.people {
		if i < len(st.LastWritten) {
			lastWrittenID[i] = st.LastWritten[i]
			need[[2]int64{int64(i), st.LastWritten[i]}] = true
		}
	}
	kept := map[[2]int64]*tgbottest.Message{}
	burned := 0
	for i := range w.people {
		to := int64(0)
		if i < len(st.LastMessage) {
			to = st.LastMessage[i]
		}
		if first, ok := firstPending[i]; ok {
			to = first - 1
		}
		for range to {
			m := w.srv.UserWrites(w.chats[i], w.people[i], "·")
			burned++
			if need[[2]int64{int64(i), m.MessageID}] {
				kept[[2]int64{int64(i), m.MessageID}] = m
			}
		}
		w.lastID[i] = to
	}
	if burned > 0 {
		if err := w.dropPending(); err != nil {
			return err
		}
	}
	for _, u := range st.Pending {
		var m *tgbottest.Message
		if u.Kind != "edit" {
			// Ids between pending messages are the bot's own (every
			// message of the person after the first pending one is
			// pending too).
			if err := w.botFill(u.Person, u.MessageID-1); err != nil {
				return err
			}
		}
		switch u.Kind {
		case "message":
			m = w.srv.UserWrites(w.chats[u.Person], w.people[u.Person], u.Text)
		case "contact":
			p := personAt(SideBot, u.Person)
			m = w.srv.UserSharesContact(w.chats[u.Person], w.people[u.Person], tgbottest.OwnContact(w.people[u.Person], p.Phone))
		case "edit":
			orig := kept[[2]int64{int64(u.Person), u.MessageID}]
			if orig == nil {
				return fmt.Errorf("%s: pending edit of message %d of person %d, which is unknown", StateFile, u.MessageID, u.Person)
			}
			m = w.srv.UserEdits(orig, u.Text)
		default:
			return fmt.Errorf("%s: pending update of unknown kind %q", StateFile, u.Kind)
		}
		if m.MessageID != u.MessageID {
			return fmt.Errorf("%s: pending message %d of person %d came back as %d", StateFile, u.MessageID, u.Person, m.MessageID)
		}
		w.note(u, m)
		if u.Kind != "edit" {
			kept[[2]int64{int64(u.Person), m.MessageID}] = m
		}
	}
	for i, id := range lastWrittenID {
		if m := kept[[2]int64{int64(i), id}]; m != nil && w.lastWritten[i] == nil {
			w.lastWritten[i] = m
		}
	}
	// The bot's messages after the last pending one.
	for i := range w.people {
		if i < len(st.LastMessage) {
			if err := w.botFill(i, st.LastMessage[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// botFill moves person i's chat on to message id to with messages of the
// bot (sendMessage makes no update for the bot). They stand for the bot's
// own messages of the previous start, which came after an update still
// pending, and are in Bot.Sent as "·".
func (w *botWorld) botFill(i int, to int64) error {
	for w.lastID[i] < to {
		var resp struct {
			OK     bool `json:"ok"`
			Result struct {
				MessageID int64 `json:"message_id"`
			} `json:"result"`
		}
		q := url.Values{"chat_id": {strconv.FormatInt(w.people[i].ID, 10)}, "text": {"·"}}
		if err := w.call("sendMessage", q, &resp); err != nil {
			return err
		}
		if resp.Result.MessageID != w.lastID[i]+1 {
			return fmt.Errorf("demo: bot message in chat %d got id %d, expected %d", i, resp.Result.MessageID, w.lastID[i]+1)
		}
		w.lastID[i] = resp.Result.MessageID
	}
	return nil
}

// dropPending confirms every update the fake holds, as a getUpdates with an
// offset past the last one does.
func (w *botWorld) dropPending() error {
	var last struct {
		OK     bool `json:"ok"`
		Result []struct {
			UpdateID int64 `json:"update_id"`
		} `json:"result"`
	}
	if err := w.call("getUpdates", url.Values{"offset": {"-1"}, "timeout": {"0"}}, &last); err != nil {
		return err
	}
	if len(last.Result) == 0 {
		return nil
	}
	var none struct {
		OK bool `json:"ok"`
	}
	off := strconv.FormatInt(last.Result[0].UpdateID+1, 10)
	if err := w.call("getUpdates", url.Values{"offset": {off}, "timeout": {"0"}, "limit": {"1"}}, &none); err != nil {
		return err
	}
	if w.bot.Pending() != 0 {
		return fmt.Errorf("demo: %d placeholder updates were not confirmed", w.bot.Pending())
	}
	return nil
}

// call runs a Bot API method on the fake in-process.
func (w *botWorld) call(method string, q url.Values, out any) error {
	r := httptest.NewRequest(http.MethodGet, "/bot"+w.token+"/"+method+"?"+q.Encode(), nil)
	rec := httptest.NewRecorder()
	w.srv.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("demo: bot fake %s: %d %s", method, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	return json.Unmarshal(rec.Body.Bytes(), out)
}

// note records an update the demo made: in the journal (for the pending
// tail at Close), in the chat's message ids, and as a duplicate to deliver
// when it is a repeat.
func (w *botWorld) note(u botUpdate, m *tgbottest.Message) {
	w.journal = append(w.journal, u)
	if len(w.journal) > botJournalMax {
		w.journal = append(w.journal[:0:0], w.journal[len(w.journal)-botJournalMax/2:]...)
	}
	if m.MessageID > w.lastID[u.Person] {
		w.lastID[u.Person] = m.MessageID
	}
	if u.Kind != "edit" {
		w.lastWritten[u.Person] = m
	}
	if u.Repeat {
		w.proxy.mark(dupKey{chat: m.Chat.ID, message: m.MessageID, edit: m.EditDate})
	}
}

// write makes person i send text to the bot.
func (w *botWorld) write(i int, text string, repeat bool) *tgbottest.Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ensure(i)
	m := w.srv.UserWrites(w.chats[i], w.people[i], text)
	w.note(botUpdate{Person: i, Kind: "message", MessageID: m.MessageID, Text: text, Repeat: repeat}, m)
	return m
}

// shareContact makes person i share their own phone number with the bot.
func (w *botWorld) shareContact(i int, repeat bool) *tgbottest.Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ensure(i)
	p := personAt(SideBot, i)
	m := w.srv.UserSharesContact(w.chats[i], w.people[i], tgbottest.OwnContact(w.people[i], p.Phone))
	w.note(botUpdate{Person: i, Kind: "contact", MessageID: m.MessageID, Repeat: repeat}, m)
	return m
}

// edit makes person i edit their latest message to text.
func (w *botWorld) edit(i int, text string, repeat bool) (*tgbottest.Message, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ensure(i)
	orig := w.lastWritten[i]
	if orig == nil {
		return nil, fmt.Errorf("demo: bot person %d has no message to edit", i)
	}
	m := w.srv.UserEdits(orig, text)
	w.note(botUpdate{Person: i, Kind: "edit", MessageID: m.MessageID, Text: text, Repeat: repeat}, m)
	return m, nil
}

// save returns the state to keep. With pending set it includes the updates
// the fake still holds (call it only when nothing fetches them any more).
func (w *botWorld) save(pending bool) botState {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := botState{BotID: w.bot.ID()}
	last := append([]int64(nil), w.lastID...)
	index := make(map[int64]int, len(w.people))
	for i, u := range w.people {
		index[u.ID] = i
	}
	for _, s := range w.bot.Sent() { // the bot's own messages take ids in the chats too
		if i, ok := index[s.ChatID]; ok && s.MessageID > last[i] {
			last[i] = s.MessageID
		}
	}
	for i, u := range w.people {
		st.People = append(st.People, u.ID)
		var lw int64
		if m := w.lastWritten[i]; m != nil {
			lw = m.MessageID
		}
		st.LastWritten = append(st.LastWritten, lw)
	}
	st.LastMessage = last
	if pending {
		if n := w.bot.Pending(); n > 0 {
			st.Pending = append([]botUpdate(nil), w.journal[max(0, len(w.journal)-n):]...)
		}
	}
	return st
}

// userID returns the Telegram id of person i, if created.
func (w *botWorld) userID(i int) (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if i < 0 || i >= len(w.people) {
		return 0, false
	}
	return w.people[i].ID, true
}

// dupKey names one update: the message's chat, id and edit date.
type dupKey struct{ chat, message, edit int64 }

// botProxy serves the Bot API fake and delivers marked updates twice, as
// Telegram does when the confirmation of an update is lost: in a getUpdates
// answer the update appears twice with the same update_id, and in webhook
// mode (the webhook is relayed through the proxy) it is POSTed again after
// the first delivery was answered 2xx. Everything else passes through
// unchanged; getWebhookInfo shows the URL the app set.
type botProxy struct {
	fake *tgbottest.Server
	log  *slog.Logger
	base string // the proxy's own URL, for the webhook relay
	hc   *http.Client

	mu    sync.Mutex
	dups  map[dupKey]int
	hooks map[string]string // relay path → the app's webhook URL
}

func (p *botProxy) mark(k dupKey) {
	p.mu.Lock()
	p.dups[k]++
	p.mu.Unlock()
}

// take reports whether the update in raw is marked, and unmarks it.
func (p *botProxy) take(raw json.RawMessage) bool {
	var u struct {
		Message       *wireMessage `json:"message"`
		EditedMessage *wireMessage `json:"edited_message"`
	}
	if json.Unmarshal(raw, &u) != nil {
		return false
	}
	m := u.Message
	if m == nil {
		m = u.EditedMessage
	}
	if m == nil {
		return false
	}
	k := dupKey{chat: m.Chat.ID, message: m.MessageID, edit: m.EditDate}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dups[k] == 0 {
		return false
	}
	if p.dups[k]--; p.dups[k] == 0 {
		delete(p.dups, k)
	}
	return true
}

type wireMessage struct {
	MessageID int64 `json:"message_id"`
	EditDate  int64 `json:"edit_date"`
	Chat      struct {
		ID int64 `json:"id"`
	} `json:"chat"`
}

const relayPrefix = "/demo-webhook-relay/"

func (p *botProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, relayPrefix) {
		p.relay(w, r)
		return
	}
	_, method, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/")
	switch strings.ToLower(method) {
	case "getupdates":
		p.getUpdates(w, r)
	case "setwebhook":
		p.setWebhook(w, r)
	case "getwebhookinfo":
		p.getWebhookInfo(w, r)
	default:
		p.fake.ServeHTTP(w, r)
	}
}

// getUpdates answers with marked updates twice.
func (p *botProxy) getUpdates(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	p.fake.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	var resp struct {
		OK     bool              `json:"ok"`
		Result []json.RawMessage `json:"result"`
	}
	if rec.Code == http.StatusOK && json.Unmarshal(body, &resp) == nil && resp.OK {
		out := make([]json.RawMessage, 0, len(resp.Result))
		dup := false
		for _, u := range resp.Result {
			out = append(out, u)
			if p.take(u) {
				out = append(out, u)
				dup = true
			}
		}
		if dup {
			resp.Result = out
			if b, err := json.Marshal(resp); err == nil {
				body = b
			}
		}
	}
	maps.Copy(w.Header(), rec.Header())
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// setWebhook points the fake at the relay, which forwards to the app's URL.
// Only JSON, query and urlencoded parameters are rewritten (the SDK's client
// sends JSON); a multipart setWebhook passes unchanged and its webhook gets
// no duplicates.
func (p *botProxy) setWebhook(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	token, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/")
	relay := p.base + relayPrefix + strconv.Itoa(len(token)) + "-" + shortHash(token)
	set := func(target string) string {
		if target == "" {
			return ""
		}
		p.mu.Lock()
		p.hooks[relay] = target
		p.mu.Unlock()
		return relay
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	q := r.URL.Query()
	if v := q.Get("url"); v != "" {
		q.Set("url", set(v))
		r.URL.RawQuery = q.Encode()
	}
	switch ct {
	case "application/json":
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) == nil {
			var target string
			if json.Unmarshal(m["url"], &target) == nil && target != "" {
				m["url"], _ = json.Marshal(set(target))
				body, _ = json.Marshal(m)
			}
		}
	case "application/x-www-form-urlencoded":
		if f, err := url.ParseQuery(string(body)); err == nil && f.Get("url") != "" {
			f.Set("url", set(f.Get("url")))
			body = []byte(f.Encode())
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	p.fake.ServeHTTP(w, r)
}

// getWebhookInfo shows the app's URL instead of the relay's.
func (p *botProxy) getWebhookInfo(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	p.fake.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	var resp map[string]json.RawMessage
	var info map[string]json.RawMessage
	if rec.Code == http.StatusOK && json.Unmarshal(body, &resp) == nil && json.Unmarshal(resp["result"], &info) == nil {
		var u string
		if json.Unmarshal(info["url"], &u) == nil {
			p.mu.Lock()
			target, ok := p.hooks[u]
			p.mu.Unlock()
			if ok {
				info["url"], _ = json.Marshal(target)
				resp["result"], _ = json.Marshal(info)
				body, _ = json.Marshal(resp)
			}
		}
	}
	maps.Copy(w.Header(), rec.Header())
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// relay forwards a webhook delivery of the fake to the app, twice for a
// marked update.
func (p *botProxy) relay(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	target, ok := p.hooks[p.base+r.URL.Path]
	p.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	status, err := p.forward(r.Context(), target, r.Header, body)
	if err != nil {
		http.Error(w, "webhook unreachable", http.StatusBadGateway)
		return
	}
	if status/100 == 2 && p.take(body) {
		if _, err := p.forward(r.Context(), target, r.Header, body); err != nil {
			p.log.Debug("demo: duplicate webhook delivery failed", slog.String("error", err.Error()))
		}
	}
	w.WriteHeader(status)
}

func (p *botProxy) forward(ctx context.Context, target string, h http.Header, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for _, k := range []string{"Content-Type", "X-Telegram-Bot-Api-Secret-Token"} {
		if v := h.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// shortHash names a token in the relay path without showing it.
func shortHash(s string) string {
	var h uint64 = 14695981039346656037
	for i := range len(s) {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return strconv.FormatUint(h, 36)
}
