package demo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/chatterhq/sdk/tgparse/tgparsetest"
)

// The parser account of the demo.
const (
	ParserPhone    = "+79990000101"
	parserUsername = "chatter_demo_parser"
	parserName     = "Парсер Chatter"
	// ParserAPIID and ParserAPIHash are the application credentials the
	// demo account signs in with (the MTProto fake accepts any).
	ParserAPIID   = 17349
	ParserAPIHash = "344583e45741c457fe1862106095a5eb"
)

// Group is one of the two parsed groups (public supergroups).
type Group struct {
	// Key names the group in the script: GroupRenovation or GroupFurniture.
	Key      string
	Title    string
	Username string
	// ChatID is the chat id in the Bot API form (-100…), as tgparse keys
	// the group's messages (chatter.Key.ChatID).
	ChatID int64
	// Ref is how tgparse.ChatConfig.Ref names it ("@username").
	Ref string
	// Link is the group's public link.
	Link string
}

// Group keys.
const (
	GroupRenovation = "renovation"
	GroupFurniture  = "furniture"
)

// groupDefs are the parsed groups, in creation order.
var groupDefs = []struct{ key, username, title string }{
	{GroupRenovation, "remont_kvartir_msk", "Ремонт квартир — Москва"},
	{GroupFurniture, "mebel_na_zakaz_msk", "Мебель на заказ | Москва и МО"},
}

func groupIndex(key string) int {
	for i, g := range groupDefs {
		if g.key == key {
			return i
		}
	}
	return -1
}

// historyLine is one post of HistoryFile.
type historyLine struct {
	Group  int    `json:"group"`
	Person int    `json:"person"`
	ID     int    `json:"id"`
	Text   string `json:"text"`
	At     int64  `json:"at"` // Unix seconds
}

// telegramWorld is the MTProto fake with the parser account, the two
// groups, the group people and the groups' history.
type telegramWorld struct {
	srv    *tgparsetest.Server
	ctx    context.Context
	parser *tgparsetest.User
	groups []*tgparsetest.Channel
	now    func() time.Time

	mu      sync.Mutex
	people  []*tgparsetest.User
	lastID  []int // by group
	history *os.File
}

// startTelegram starts the fake and rebuilds the world of st and of the
// history file: the same ids for the account, the groups and the people,
// and every earlier post again with its id and date.
func startTelegram(ctx context.Context, now func() time.Time, dir string, st telegramState) (_ *telegramWorld, err error) {
	srv, err := tgparsetest.Start(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			srv.Close()
		}
	}()
	w := &telegramWorld{srv: srv, ctx: ctx, now: now}
	w.parser = srv.AddUser(ParserPhone, parserUsername, parserName)
	if st.ParserID != 0 && st.ParserID != w.parser.ID {
		return nil, fmt.Errorf("the parser account's id is %d, was %d: the MTProto fake changed; remove %s to start over", w.parser.ID, st.ParserID, StateFile)
	}
	for i, g := range groupDefs {
		ch := srv.AddChannel(g.username, g.title, false)
		if i < len(st.Groups) && st.Groups[i] != ch.ID {
			return nil, fmt.Errorf("group %s got id %d, was %d: the MTProto fake changed; remove %s to start over", g.username, ch.ID, st.Groups[i], StateFile)
		}
		srv.AddMember(ch, w.parser)
		w.groups = append(w.groups, ch)
		w.lastID = append(w.lastID, 0)
	}
	for i, id := range st.People {
		if got := w.addPerson(i); got != id {
			return nil, fmt.Errorf("group person %d got Telegram id %d, was %d: the MTProto fake changed; remove %s to start over", i, got, id, StateFile)
		}
	}
	path := dir + string(os.PathSeparator) + HistoryFile
	if err := w.replay(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	w.history = f
	return w, nil
}

func (w *telegramWorld) addPerson(i int) int64 {
	p := personAt(SideGroups, i)
	// The fake's users have one name field and no phone shown to others
	// (most people hide their number): the number is only in their texts.
	u := w.srv.AddUser("", p.Username, p.Name())
	for _, ch := range w.groups {
		w.srv.AddMember(ch, u)
	}
	w.people = append(w.people, u)
	return u.ID
}

func (w *telegramWorld) ensure(i int) {
	for len(w.people) <= i {
		w.addPerson(len(w.people))
	}
}

// replay posts the history again. A torn last line (the demo was killed
// while writing it) is cut off.
func (w *telegramWorld) replay(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	offset := 0
	for sc.Scan() {
		line := sc.Bytes()
		next := offset + len(line) + 1
		var h historyLine
		if err := json.Unmarshal(line, &h); err != nil {
			if next >= len(data) {
				return os.Truncate(path, int64(offset))
			}
			return fmt.Errorf("%s: line at byte %d: %w", HistoryFile, offset, err)
		}
		if h.Group < 0 || h.Group >= len(w.groups) || h.Person < 0 {
			return fmt.Errorf("%s: line at byte %d: unknown group or person", HistoryFile, offset)
		}
		w.ensure(h.Person)
		id := w.srv.PostAt(w.ctx, w.groups[h.Group], w.people[h.Person], h.Text, time.Unix(h.At, 0))
		if id != h.ID {
			return fmt.Errorf("%s: post %d of group %d came back as %d", HistoryFile, h.ID, h.Group, id)
		}
		w.lastID[h.Group] = id
		offset = next
	}
	return sc.Err()
}

// post makes person i post text in group g. The post is written to the
// history file first, so a restart has it whatever happens next.
func (w *telegramWorld) post(g, i int, text string) (id int, at time.Time, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ensure(i)
	at = w.now().Truncate(time.Second)
	h := historyLine{Group: g, Person: i, ID: w.lastID[g] + 1, Text: text, At: at.Unix()}
	b, err := json.Marshal(h)
	if err != nil {
		return 0, at, err
	}
	if _, err := w.history.Write(append(b, '\n')); err != nil {
		return 0, at, fmt.Errorf("demo: %s: %w", HistoryFile, err)
	}
	if err := w.history.Sync(); err != nil {
		return 0, at, fmt.Errorf("demo: %s: %w", HistoryFile, err)
	}
	id = w.srv.PostAt(w.ctx, w.groups[g], w.people[i], text, at)
	if id != h.ID {
		return id, at, fmt.Errorf("demo: post in group %d got id %d, expected %d", g, id, h.ID)
	}
	w.lastID[g] = id
	return id, at, nil
}

func (w *telegramWorld) save() telegramState {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := telegramState{ParserID: w.parser.ID}
	for _, ch := range w.groups {
		st.Groups = append(st.Groups, ch.ID)
	}
	for _, u := range w.people {
		st.People = append(st.People, u.ID)
	}
	return st
}

func (w *telegramWorld) userID(i int) (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if i < 0 || i >= len(w.people) {
		return 0, false
	}
	return w.people[i].ID, true
}

func (w *telegramWorld) close() error {
	w.srv.Close()
	if w.history != nil {
		return w.history.Close()
	}
	return nil
}

// chatID is a channel's id in the Bot API form, as tgparse keys messages.
func chatID(channelID int64) int64 { return -1_000_000_000_000 - channelID }
