package chattertest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
)

// ---- contacts ----

// NormalizeUsername returns a Telegram username as ContactLink stores it:
// trimmed, without a leading '@', lower case.
func NormalizeUsername(u string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(u), "@"))
}

// FindContact implements chatter.ContactStore. When several contacts share
// the username or phone that matched, the most recently saved one wins. A
// query with no keys finds nothing (ErrNotFound).
func (s *MemStore) FindContact(ctx context.Context, workspace string, q chatter.ContactQuery) (*chatter.ContactLink, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := needWorkspace(workspace); err != nil {
		return nil, fmt.Errorf("chattertest: find contact: %w", err)
	}
	username, phone := NormalizeUsername(q.Username), strings.TrimSpace(q.Phone)
	s.mu.Lock()
	defer s.mu.Unlock()
	find := func(match func(l *chatter.ContactLink) bool) *chatter.ContactLink {
		var best *chatter.ContactLink
		for k, l := range s.contacts {
			if k.ws != workspace || !match(l) {
				continue
			}
			if best == nil || l.UpdatedAt.After(best.UpdatedAt) ||
				(l.UpdatedAt.Equal(best.UpdatedAt) && l.ContactID > best.ContactID) {
				best = l
			}
		}
		return best
	}
	var l *chatter.ContactLink
	if q.TelegramID != 0 {
		l = find(func(l *chatter.ContactLink) bool { return l.TelegramID == q.TelegramID })
	}
	if l == nil && username != "" {
		l = find(func(l *chatter.ContactLink) bool { return l.Username == username })
	}
	if l == nil && phone != "" {
		l = find(func(l *chatter.ContactLink) bool { return l.Phone == phone })
	}
	if l == nil {
		return nil, fmt.Errorf("chattertest: find contact: %w", chatter.ErrNotFound)
	}
	c := *l
	return &c, nil
}

// SaveContact implements chatter.ContactStore. It stores the username
// normalised (NormalizeUsername) and stamps UpdatedAt; l itself is not
// changed.
func (s *MemStore) SaveContact(ctx context.Context, l *chatter.ContactLink) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l == nil {
		return fmt.Errorf("chattertest: save contact: %w", invalidf("contact", "контакт отсутствует", "contact is nil"))
	}
	if err := needWorkspace(l.Workspace); err != nil {
		return fmt.Errorf("chattertest: save contact: %w", err)
	}
	if l.ContactID <= 0 {
		return fmt.Errorf("chattertest: save contact: %w", invalidf("contact_id", "не указан контакт CRM", "contact id is not positive"))
	}
	c := *l
	c.Username = NormalizeUsername(c.Username)
	c.Phone = strings.TrimSpace(c.Phone)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.TelegramID != 0 {
		for k, o := range s.contacts {
			if k.ws == c.Workspace && k.id != c.ContactID && o.TelegramID == c.TelegramID {
				return fmt.Errorf("chattertest: save contact %d: telegram id %d belongs to contact %d: %w",
					c.ContactID, c.TelegramID, o.ContactID, chatter.ErrConflict)
			}
		}
	}
	c.UpdatedAt = s.now()
	s.contacts[contactKey{c.Workspace, c.ContactID}] = &c
	return nil
}

// ---- tokens ----

// memToken is a stored token; the secrets live in secret, sealed when the
// store has a Sealer.
type memToken struct {
	t      chatter.Token // AccessToken and RefreshToken empty
	secret []byte
}

type tokenSecrets struct {
	Access  string `json:"a"`
	Refresh string `json:"r"`
}

func (s *MemStore) seal(plain []byte, ad string) ([]byte, error) {
	if s.sealer == nil {
		return bytes.Clone(plain), nil
	}
	return s.sealer.Seal(plain, []byte(ad))
}

func (s *MemStore) open(sealed []byte, ad string) ([]byte, error) {
	if s.sealer == nil {
		return bytes.Clone(sealed), nil
	}
	return s.sealer.Open(sealed, []byte(ad))
}

func tokenAD(ws, account string) string { return "token:" + ws + ":" + account }

func sessionAD(ws, account string) string { return "session:" + ws + ":" + account }

func needAccount(account string) error {
	if account == "" {
		return invalidf("account", "не указан аккаунт", "account is empty")
	}
	return nil
}

// GetToken implements chatter.TokenStore.
func (s *MemStore) GetToken(ctx context.Context, workspace, account string) (*chatter.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := cmp.Or(needWorkspace(workspace), needAccount(account)); err != nil {
		return nil, fmt.Errorf("chattertest: get token: %w", err)
	}
	s.mu.Lock()
	mt, ok := s.tokens[wsName{workspace, account}]
	var t chatter.Token
	var secret []byte
	if ok {
		t, secret = mt.t, mt.secret
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("chattertest: get token %s: %w", account, chatter.ErrNotFound)
	}
	plain, err := s.open(secret, tokenAD(workspace, account))
	if err != nil {
		return nil, fmt.Errorf("chattertest: get token %s: %w", account, err)
	}
	var sec tokenSecrets
	if err := json.Unmarshal(plain, &sec); err != nil {
		return nil, fmt.Errorf("chattertest: get token %s: decode secrets: %w", account, err)
	}
	t.AccessToken, t.RefreshToken = sec.Access, sec.Refresh
	return &t, nil
}

// SwapToken implements chatter.TokenStore.
func (s *MemStore) SwapToken(ctx context.Context, t *chatter.Token, oldVersion int64) (*chatter.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("chattertest: swap token: %w", invalidf("token", "токен отсутствует", "token is nil"))
	}
	if err := cmp.Or(needWorkspace(t.Workspace), needAccount(t.Account)); err != nil {
		return nil, fmt.Errorf("chattertest: swap token: %w", err)
	}
	if oldVersion < 0 {
		return nil, fmt.Errorf("chattertest: swap token: %w", invalidf("version", "отрицательная версия", "version is negative"))
	}
	plain, err := json.Marshal(tokenSecrets{Access: t.AccessToken, Refresh: t.RefreshToken})
	if err != nil {
		return nil, fmt.Errorf("chattertest: swap token: %w", err)
	}
	secret, err := s.seal(plain, tokenAD(t.Workspace, t.Account))
	if err != nil {
		return nil, fmt.Errorf("chattertest: swap token %s: %w", t.Account, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := wsName{t.Workspace, t.Account}
	var cur int64
	if mt, ok := s.tokens[k]; ok {
		cur = mt.t.Version
	}
	if cur != oldVersion {
		return nil, fmt.Errorf("chattertest: swap token %s: stored version %d, want %d: %w", t.Account, cur, oldVersion, chatter.ErrConflict)
	}
	stored := *t
	stored.Version = oldVersion + 1
	stored.UpdatedAt = s.now()
	out := stored
	stored.AccessToken, stored.RefreshToken = "", ""
	s.tokens[k] = &memToken{t: stored, secret: secret}
	return &out, nil
}

// DeleteToken implements chatter.TokenStore.
func (s *MemStore) DeleteToken(ctx context.Context, workspace, account string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := cmp.Or(needWorkspace(workspace), needAccount(account)); err != nil {
		return fmt.Errorf("chattertest: delete token: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, wsName{workspace, account})
	return nil
}

// ---- sessions ----

// LoadSession implements chatter.SessionStore.
func (s *MemStore) LoadSession(ctx context.Context, workspace, account string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := cmp.Or(needWorkspace(workspace), needAccount(account)); err != nil {
		return nil, fmt.Errorf("chattertest: load session: %w", err)
	}
	s.mu.Lock()
	sealed, ok := s.sessions[wsName{workspace, account}]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("chattertest: load session %s: %w", account, chatter.ErrNotFound)
	}
	data, err := s.open(sealed, sessionAD(workspace, account))
	if err != nil {
		return nil, fmt.Errorf("chattertest: load session %s: %w", account, err)
	}
	return data, nil
}

// StoreSession implements chatter.SessionStore.
func (s *MemStore) StoreSession(ctx context.Context, workspace, account string, data []byte, lease *chatter.Lease) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := cmp.Or(needWorkspace(workspace), needAccount(account)); err != nil {
		return fmt.Errorf("chattertest: store session: %w", err)
	}
	sealed, err := s.seal(data, sessionAD(workspace, account))
	if err != nil {
		return fmt.Errorf("chattertest: store session %s: %w", account, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if lease == nil || lease.Workspace != workspace || lease.Name != chatter.SessionLeaseName(account) ||
		!s.leaseCurrentLocked(lease) {
		return fmt.Errorf("chattertest: store session %s: %w", account, chatter.ErrLeaseLost)
	}
	s.sessions[wsName{workspace, account}] = sealed
	return nil
}

// ---- leases ----

// memLease is the state of one lease name; it outlives releases so that
// fencing tokens keep increasing.
type memLease struct {
	holder  string // "" when released
	token   int64
	expires time.Time
}

func (s *MemStore) leaseCurrentLocked(l *chatter.Lease) bool {
	cur, ok := s.leases[wsName{l.Workspace, l.Name}]
	return ok && cur.holder != "" && cur.holder == l.Holder && cur.token == l.Token && s.now().Before(cur.expires)
}

func needTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return invalidf("ttl", "срок аренды должен быть положительным", "ttl is not positive")
	}
	return nil
}

// AcquireLease implements chatter.LeaseStore. An expired lease taken again,
// even by its previous holder, gets a new token.
func (s *MemStore) AcquireLease(ctx context.Context, workspace, name, holder string, ttl time.Duration) (*chatter.Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	err := cmp.Or(needWorkspace(workspace), needTTL(ttl))
	if err == nil && name == "" {
		err = invalidf("name", "не указано имя аренды", "lease name is empty")
	}
	if err == nil && holder == "" {
		err = invalidf("holder", "не указан владелец аренды", "lease holder is empty")
	}
	if err != nil {
		return nil, fmt.Errorf("chattertest: acquire lease: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	k := wsName{workspace, name}
	cur := s.leases[k]
	if cur == nil {
		cur = &memLease{}
		s.leases[k] = cur
	}
	if cur.holder != "" && now.Before(cur.expires) {
		if cur.holder != holder {
			return nil, fmt.Errorf("chattertest: acquire lease %s: %w", name, chatter.ErrLeaseHeld)
		}
	} else {
		cur.holder = holder
		cur.token++
	}
	cur.expires = now.Add(ttl)
	return &chatter.Lease{Workspace: workspace, Name: name, Holder: holder, Token: cur.token, ExpiresAt: cur.expires}, nil
}

// RenewLease implements chatter.LeaseStore.
func (s *MemStore) RenewLease(ctx context.Context, l *chatter.Lease, ttl time.Duration) (*chatter.Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := needTTL(ttl); err != nil {
		return nil, fmt.Errorf("chattertest: renew lease: %w", err)
	}
	if l == nil {
		return nil, fmt.Errorf("chattertest: renew lease: %w", chatter.ErrLeaseLost)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.leaseCurrentLocked(l) {
		return nil, fmt.Errorf("chattertest: renew lease %s: %w", l.Name, chatter.ErrLeaseLost)
	}
	cur := s.leases[wsName{l.Workspace, l.Name}]
	cur.expires = s.now().Add(ttl)
	out := *l
	out.ExpiresAt = cur.expires
	return &out, nil
}

// ReleaseLease implements chatter.LeaseStore.
func (s *MemStore) ReleaseLease(ctx context.Context, l *chatter.Lease) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.leases[wsName{l.Workspace, l.Name}]
	if ok && cur.holder == l.Holder && cur.token == l.Token {
		cur.holder = ""
		cur.expires = time.Time{}
	}
	return nil
}

// ---- checkpoints ----

func checkCheckpointKey(ws string, source chatter.SourceKind, account string, chatID int64) error {
	switch {
	case ws == "":
		return needWorkspace(ws)
	case source == "":
		return invalidf("source", "не указан источник", "source is empty")
	case account == "":
		return needAccount(account)
	case chatID == 0:
		return invalidf("chat_id", "не указан чат", "chat id is zero")
	}
	return nil
}

// GetCheckpoint implements chatter.CheckpointStore.
func (s *MemStore) GetCheckpoint(ctx context.Context, workspace string, source chatter.SourceKind, account string, chatID int64) (*chatter.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkCheckpointKey(workspace, source, account, chatID); err != nil {
		return nil, fmt.Errorf("chattertest: get checkpoint: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.checkpoints[checkpointKey{workspace, source, account, chatID}]
	if !ok {
		return nil, fmt.Errorf("chattertest: get checkpoint %s:%s:%d: %w", source, account, chatID, chatter.ErrNotFound)
	}
	out := *c
	return &out, nil
}

// AdvanceCheckpoint implements chatter.CheckpointStore.
func (s *MemStore) AdvanceCheckpoint(ctx context.Context, c *chatter.Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("chattertest: advance checkpoint: %w", invalidf("checkpoint", "отметка отсутствует", "checkpoint is nil"))
	}
	err := checkCheckpointKey(c.Workspace, c.Source, c.Account, c.ChatID)
	if err == nil && c.MessageID < 0 {
		err = invalidf("message_id", "отрицательный номер сообщения", "message id is negative")
	}
	if err != nil {
		return fmt.Errorf("chattertest: advance checkpoint: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := checkpointKey{c.Workspace, c.Source, c.Account, c.ChatID}
	if cur, ok := s.checkpoints[k]; ok && c.MessageID <= cur.MessageID {
		return nil
	}
	n := *c
	n.UpdatedAt = s.now()
	s.checkpoints[k] = &n
	return nil
}

// ListCheckpoints implements chatter.CheckpointStore. Checkpoints come
// ordered by source, account and chat id.
func (s *MemStore) ListCheckpoints(ctx context.Context, workspace string, source chatter.SourceKind) ([]*chatter.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := needWorkspace(workspace); err != nil {
		return nil, fmt.Errorf("chattertest: list checkpoints: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*chatter.Checkpoint
	for k, c := range s.checkpoints {
		if k.ws == workspace && (source == "" || k.source == source) {
			n := *c
			out = append(out, &n)
		}
	}
	slices.SortFunc(out, func(a, b *chatter.Checkpoint) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Account, b.Account), cmp.Compare(a.ChatID, b.ChatID))
	})
	return out, nil
}

// ---- events ----

// memEvent is a stored event with the folded copy of its text.
type memEvent struct {
	chatter.Event
	fold string // chatter.FoldText(Text), for EventQuery.Text
}

// AppendEvents implements chatter.EventStore. IDs increase in append order;
// an event with a zero Time is stamped with the store's clock.
func (s *MemStore) AppendEvents(ctx context.Context, events []chatter.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i := range events {
		if err := needWorkspace(events[i].Workspace); err != nil {
			return fmt.Errorf("chattertest: append event %d: %w", i, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, ev := range events {
		s.eventID++
		ev.ID = s.eventID
		if ev.Time.IsZero() {
			ev.Time = now
		}
		ev.Attrs = maps.Clone(ev.Attrs)
		s.events = append(s.events, &memEvent{Event: ev, fold: chatter.FoldText(ev.Text)})
	}
	return nil
}

func checkEventQuery(q chatter.EventQuery) (int, error) {
	if err := needWorkspace(q.Workspace); err != nil {
		return 0, err
	}
	if !utf8.ValidString(q.Text) {
		return 0, invalidf("text", "текст для поиска не в кодировке UTF-8", "search text is not valid UTF-8")
	}
	switch {
	case q.Limit < 0:
		return 0, invalidf("limit", "отрицательный лимит", "limit is negative")
	case q.Limit == 0:
		return defaultListLimit, nil
	case q.Limit > maxListLimit:
		return maxListLimit, nil
	}
	return q.Limit, nil
}

// eventFilter is an EventQuery prepared for matching many events.
type eventFilter struct {
	q       chatter.EventQuery
	pattern string // chatter.FoldText(q.Text)
}

func newEventFilter(q chatter.EventQuery) eventFilter {
	return eventFilter{q: q, pattern: chatter.FoldText(q.Text)}
}

// matches reports whether ev matches f's query, ignoring Limit and the
// cursor.
func (ev *memEvent) matches(f eventFilter) bool {
	q := &f.q
	switch {
	case ev.Workspace != q.Workspace:
	case !q.From.IsZero() && ev.Time.Before(q.From):
	case !q.To.IsZero() && !ev.Time.Before(q.To):
	case q.MinLevel != nil && ev.Level < *q.MinLevel:
	case q.Category != "" && ev.Category != q.Category:
	case q.ErrorClass != "" && ev.ErrorClass != q.ErrorClass:
	case q.Source != "" && ev.Source != q.Source:
	case q.Text != "" && !strings.Contains(ev.fold, f.pattern):
	default:
		return true
	}
	return false
}

// ListEvents implements chatter.EventStore: newest (highest ID) first.
func (s *MemStore) ListEvents(ctx context.Context, q chatter.EventQuery) ([]chatter.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit, err := checkEventQuery(q)
	if err != nil {
		return nil, fmt.Errorf("chattertest: list events: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := newEventFilter(q)
	var out []chatter.Event
	for i := len(s.events) - 1; i >= 0 && len(out) < limit; i-- {
		ev := s.events[i]
		if (q.BeforeID == 0 || ev.ID < q.BeforeID) && ev.matches(f) {
			c := ev.Event
			c.Attrs = maps.Clone(ev.Attrs)
			out = append(out, c)
		}
	}
	return out, nil
}

// CountEvents implements chatter.EventStore. Like CountEntries it ignores
// Limit and the BeforeID cursor.
func (s *MemStore) CountEvents(ctx context.Context, q chatter.EventQuery) (map[chatter.ErrorClass]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := checkEventQuery(q); err != nil {
		return nil, fmt.Errorf("chattertest: count events: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := newEventFilter(q)
	out := make(map[chatter.ErrorClass]int)
	for _, ev := range s.events {
		if ev.matches(f) {
			out[ev.ErrorClass]++
		}
	}
	return out, nil
}

// PruneEvents implements chatter.EventStore.
func (s *MemStore) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.events)
	s.events = slices.DeleteFunc(s.events, func(ev *memEvent) bool { return ev.Time.Before(before) })
	return n - len(s.events), nil
}

// ---- settings ----

// GetSetting implements chatter.SettingsStore.
func (s *MemStore) GetSetting(ctx context.Context, workspace, key string) (*chatter.Setting, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := needWorkspace(workspace); err != nil {
		return nil, fmt.Errorf("chattertest: get setting: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.settings[wsName{workspace, key}]
	if !ok {
		return nil, fmt.Errorf("chattertest: get setting %q: %w", key, chatter.ErrNotFound)
	}
	return copySetting(st), nil
}

func copySetting(st *chatter.Setting) *chatter.Setting {
	c := *st
	c.Value = bytes.Clone(st.Value)
	return &c
}

// PutSetting implements chatter.SettingsStore.
func (s *MemStore) PutSetting(ctx context.Context, workspace, key string, value json.RawMessage, version int64) (*chatter.Setting, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	err := needWorkspace(workspace)
	switch {
	case err != nil:
	case key == "":
		err = invalidf("key", "не указан ключ настройки", "setting key is empty")
	case !json.Valid(value):
		err = invalidf("value", "значение настройки — не JSON", "setting value is not valid JSON")
	case version < 0:
		err = invalidf("version", "отрицательная версия", "version is negative")
	}
	if err != nil {
		return nil, fmt.Errorf("chattertest: put setting %q: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := wsName{workspace, key}
	var cur int64
	if st, ok := s.settings[k]; ok {
		cur = st.Version
	}
	if cur != version {
		return nil, fmt.Errorf("chattertest: put setting %q: stored version %d, want %d: %w", key, cur, version, chatter.ErrConflict)
	}
	st := &chatter.Setting{Workspace: workspace, Key: key, Value: bytes.Clone(value), Version: version + 1, UpdatedAt: s.now()}
	s.settings[k] = st
	return copySetting(st), nil
}

// ListSettings implements chatter.SettingsStore, ordered by key.
func (s *MemStore) ListSettings(ctx context.Context, workspace, prefix string) ([]*chatter.Setting, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := needWorkspace(workspace); err != nil {
		return nil, fmt.Errorf("chattertest: list settings: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*chatter.Setting
	for k, st := range s.settings {
		if k.ws == workspace && strings.HasPrefix(k.name, prefix) {
			out = append(out, copySetting(st))
		}
	}
	slices.SortFunc(out, func(a, b *chatter.Setting) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}

// ---- rate budget ----

func checkBudget(ws, key string) error {
	if err := needWorkspace(ws); err != nil {
		return err
	}
	if key == "" {
		return invalidf("key", "не указан ключ лимита", "rate budget key is empty")
	}
	return nil
}

// Reserve implements chatter.RateBudget.
func (s *MemStore) Reserve(ctx context.Context, workspace, key string, interval time.Duration) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	err := checkBudget(workspace, key)
	if err == nil && interval <= 0 {
		err = invalidf("interval", "интервал должен быть положительным", "interval is not positive")
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("chattertest: reserve: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := wsName{workspace, key}
	slot := s.now()
	if tat := s.budgets[k]; tat.After(slot) {
		slot = tat
	}
	s.budgets[k] = slot.Add(interval)
	return slot, nil
}

// Penalize implements chatter.RateBudget.
func (s *MemStore) Penalize(ctx context.Context, workspace, key string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkBudget(workspace, key); err != nil {
		return fmt.Errorf("chattertest: penalize: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := wsName{workspace, key}
	if until.After(s.budgets[k]) {
		s.budgets[k] = until
	}
	return nil
}
