package tgparse

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gotd/td/telegram"
	"github.com/gotd/td/telegram/updates"
	updhook "github.com/gotd/td/telegram/updates/hook"
	"github.com/gotd/td/tg"

	"github.com/chatterhq/sdk/chatter"
)

// ChatConfig is one chat to monitor.
type ChatConfig struct {
	// Ref is the chat as people write it: @name, a t.me link or an invite
	// link (see ParseLink).
	Ref string `json:"ref"`
	// Depth overrides SourceConfig.Depth for this chat when set.
	Depth *Depth `json:"depth,omitempty"`
	// Join lets the account join the chat (public channels are read
	// without joining; private ones need an invite link).
	Join bool `json:"join,omitempty"`
}

// Defaults of SourceConfig.
const (
	DefaultName               = "tgparse"
	DefaultMaxChatsPerAccount = 50
	DefaultPollInterval       = time.Minute
	DefaultRetryInterval      = time.Minute
	DefaultMaxBackfill        = 10_000
	checkpointTimeout         = 30 * time.Second // bounds one checkpoint write
)

// SourceConfig configures a Source. Zero fields take the documented
// defaults.
type SourceConfig struct {
	Connection
	// Name is the Key.Account of the messages and checkpoints of this
	// source: the same for every account in the pool, so a chat handed to
	// another account keeps its checkpoint and its messages keep their
	// keys. Defaults to "tgparse". No ':' or '@'.
	Name string
	// Accounts read the chats; each must be signed in (see Login).
	Accounts []Account
	// Chats to monitor.
	Chats []ChatConfig
	// Depth of the first read of a chat without a checkpoint. The zero
	// Depth reads no history and follows the chat from now on.
	Depth Depth
	// Filter decides which messages reach the Handler (nil: all). Its
	// verdicts are counted per rule for diagnostics.
	Filter chatter.Filter
	// MaxChatsPerAccount caps the chats one account reads at once.
	// Defaults to 50.
	MaxChatsPerAccount int
	// PollInterval is how often each chat is read for new messages when no
	// live update arrives. Defaults to 1 minute.
	PollInterval time.Duration
	// RetryInterval is the base of the backoff for failed chats and
	// accounts. Defaults to 1 minute.
	RetryInterval time.Duration
	// MaxBackfill is the budget of one pass over a chat: the messages it
	// reads before it ends. A backlog larger than that (after downtime, or
	// a first read whose Depth is deeper) is read oldest first over
	// several passes, each continuing from the checkpoint right after the
	// last; nothing is skipped (ChatState.CatchingUp is set meanwhile). It
	// bounds how long one pass runs and the messages the first read keeps
	// in memory. Defaults to 10000.
	MaxBackfill int
	// NoUpdates turns live updates off: chats are only polled.
	NoUpdates bool
}

// Source reads chats with a pool of accounts and hands each new message that
// passes the filter to a Handler. It implements chatter.Source.
//
// Each chat is read by one account at a time, oldest message first; its
// checkpoint (chatter.CheckpointStore, keyed by Name and the chat) advances
// only after the Handler returned nil, so after a restart or downtime the
// chat continues from the checkpoint, paging forward (oldest first) through
// everything sent since, however much that is, in passes of MaxBackfill
// messages; no message is skipped and none is emitted twice by a Source
// that completes its handling. Depth applies to the first read of a chat
// only. Live updates only wake a chat's reader: messages reach the Handler
// in id order, a live one after the backlog before it. Chats are spread
// over the accounts (the least loaded account first, at most
// MaxChatsPerAccount each). A short FLOOD_WAIT is waited out; after a long
// one the account takes no new chats until it ends and the chat moves to
// another account. An account whose session is dead (banned, revoked,
// duplicated, not logged in) stops; its chats move to the others.
//
// Snapshot and Checks report the state. A Source may be Run again after
// Run returns; it is safe for concurrent use.
type Source struct {
	cfg    SourceConfig
	holder string

	mu       sync.Mutex
	wake     chan struct{}
	accounts map[string]*acctRun
	order    []string // account ids in configuration order
	chats    []*chatRun
	byChat   map[int64]*chatRun
}

var _ chatter.Source = (*Source)(nil)

type acctRun struct {
	acct       Account
	state      AccountState
	chats      int
	floodUntil time.Time
	spawn      func(c *chatRun) // set while the account is connected
}

type chatRun struct {
	cfg      ChatConfig
	link     Link
	linkErr  error
	depth    Depth
	state    ChatState
	excluded map[string]bool // accounts that cannot read it
	retryAt  time.Time
	failures int
	poke     chan struct{}
}

// NewSource validates cfg and returns a Source. It starts nothing.
func NewSource(cfg SourceConfig) (*Source, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Name = cmp.Or(cfg.Name, DefaultName)
	switch {
	case !validKeyAccount(cfg.Name):
		return nil, configErr("name %q must not contain ':' or '@'", cfg.Name)
	case len(cfg.Accounts) == 0:
		return nil, configErr("no accounts")
	case len(cfg.Chats) == 0:
		return nil, configErr("no chats")
	case cfg.MaxChatsPerAccount < 0 || cfg.PollInterval < 0 || cfg.RetryInterval < 0 || cfg.MaxBackfill < 0:
		return nil, configErr("limits and intervals must not be negative")
	}
	cfg.MaxChatsPerAccount = cmp.Or(cfg.MaxChatsPerAccount, DefaultMaxChatsPerAccount)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, DefaultPollInterval)
	cfg.RetryInterval = cmp.Or(cfg.RetryInterval, DefaultRetryInterval)
	cfg.MaxBackfill = cmp.Or(cfg.MaxBackfill, DefaultMaxBackfill)
	s := &Source{cfg: cfg, holder: cfg.holder(), wake: make(chan struct{}, 1),
		accounts: map[string]*acctRun{}, byChat: map[int64]*chatRun{}}
	for _, a := range cfg.Accounts {
		if err := a.Validate(); err != nil {
			return nil, err
		}
		if _, dup := s.accounts[a.ID]; dup {
			return nil, configErr("account %s is listed twice", a.ID)
		}
		s.accounts[a.ID] = &acctRun{acct: a, state: AccountState{Account: a.ID, Status: StatusStopped}}
		s.order = append(s.order, a.ID)
	}
	for _, cc := range cfg.Chats {
		c := &chatRun{cfg: cc, depth: cfg.Depth, excluded: map[string]bool{}, poke: make(chan struct{}, 1)}
		if cc.Depth != nil {
			c.depth = *cc.Depth
		}
		c.state = ChatState{Ref: cc.Ref, Status: ChatPending, Rules: map[string]*RuleStats{}}
		c.link, c.linkErr = ParseLink(cc.Ref)
		if c.linkErr != nil {
			c.state.Status, c.state.Err = ChatFailed, c.linkErr
		}
		s.chats = append(s.chats, c)
	}
	return s, nil
}

func validKeyAccount(s string) bool {
	return chatter.Key{Source: chatter.SourceParser, Account: s, ChatID: 1, MessageID: 1}.Validate() == nil
}

// Run reads the chats until ctx ends (then it returns nil) or no account
// can run. When an account's session lease is held by another instance at
// start, Run stops at once with an *Error of KindSessionInUse: one session
// must never run in two places.
func (s *Source) Run(ctx context.Context, h chatter.Handler) error {
	if h == nil {
		return configErr("handler is nil")
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, id := range s.order {
		a := s.accounts[id]
		wg.Go(func() { s.runAccount(runCtx, a, h, cancel) })
	}
	s.schedule(runCtx)
	cancel(nil)
	wg.Wait()
	if cause := context.Cause(runCtx); cause != nil && !errors.Is(cause, context.Canceled) && ctx.Err() == nil {
		return cause
	}
	if ctx.Err() == nil {
		return s.deadError()
	}
	return nil
}

// schedule assigns chats to accounts until ctx ends or every account is
// dead.
func (s *Source) schedule(ctx context.Context) {
	for {
		next, alive := s.assign()
		if !alive {
			return
		}
		wait := time.Second
		if !next.IsZero() {
			wait = min(max(next.Sub(s.cfg.now()), 10*time.Millisecond), wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (s *Source) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// assign hands waiting chats to accounts. It returns the earliest time a
// waiting chat may be retried, and whether any account may still run.
func (s *Source) assign() (next time.Time, alive bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	for _, a := range s.accounts {
		if !a.state.Status.dead() {
			alive = true
		}
		if a.state.Status == StatusFloodWait && !now.Before(a.floodUntil) && a.spawn != nil {
			a.state.Status, a.state.Until, a.state.Err = StatusActive, time.Time{}, nil
		}
	}
	for _, c := range s.chats {
		if c.linkErr != nil || c.state.Account != "" {
			continue
		}
		if now.Before(c.retryAt) {
			if next.IsZero() || c.retryAt.Before(next) {
				next = c.retryAt
			}
			continue
		}
		var best *acctRun
		usable := 0
		for _, id := range s.order {
			a := s.accounts[id]
			if a.state.Status.dead() || c.excluded[id] {
				continue
			}
			usable++
			if a.spawn == nil || now.Before(a.floodUntil) || a.chats >= s.cfg.MaxChatsPerAccount {
				if now.Before(a.floodUntil) && (next.IsZero() || a.floodUntil.Before(next)) {
					next = a.floodUntil
				}
				continue
			}
			if best == nil || a.chats < best.chats {
				best = a
			}
		}
		if usable == 0 && len(c.excluded) > 0 && alive {
			// Every account failed on this chat: report it, try all again later.
			c.state.Status = ChatFailed
			c.excluded = map[string]bool{}
			c.retryAt = now.Add(s.cfg.RetryInterval)
			continue
		}
		if best == nil {
			continue
		}
		best.chats++
		best.state.Chats = best.chats
		c.state.Account = best.acct.ID
		best.spawn(c)
	}
	return next, alive
}

// runAccount connects one account again and again until ctx ends or its
// session is dead.
func (s *Source) runAccount(ctx context.Context, a *acctRun, h chatter.Handler, failRun context.CancelCauseFunc) {
	lg := s.cfg.logger().With("account", a.acct.ID)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		s.setAccount(a, StatusStarting, nil, time.Time{})
		err := s.serveAccount(ctx, a, h, lg)
		if ctx.Err() != nil {
			s.setAccount(a, StatusStopped, nil, time.Time{})
			return
		}
		st := statusOf(err)
		s.setAccount(a, st, err, time.Time{})
		lg.Warn("account stopped", "status", string(st), "err", err)
		if attempt == 0 && errors.Is(err, ErrSessionInUse) {
			failRun(err)
			return
		}
		if st.dead() {
			s.poke()
			return
		}
		s.poke()
		if sleepCtx(ctx, backoff(attempt, s.cfg.RetryInterval/4, s.cfg.RetryInterval*10)) != nil {
			return
		}
	}
}

// serveAccount connects, checks the session, follows live updates and
// serves the chats the scheduler hands over until the connection ends.
func (s *Source) serveAccount(ctx context.Context, a *acctRun, h chatter.Handler, lg *slog.Logger) error {
	hooks := clientHooks{onFlood: func(fw *FloodWaitError) {
		lg.Info("flood wait", "wait", fw.Wait.String())
	}}
	var gaps *updates.Manager
	if !s.cfg.NoUpdates {
		d := tg.NewUpdateDispatcher()
		d.OnNewChannelMessage(func(ctx context.Context, _ tg.Entities, u *tg.UpdateNewChannelMessage) error {
			s.pokeChat(peerOf(u.Message))
			return nil
		})
		d.OnNewMessage(func(ctx context.Context, _ tg.Entities, u *tg.UpdateNewMessage) error {
			s.pokeChat(peerOf(u.Message))
			return nil
		})
		gaps = updates.New(updates.Config{Handler: d})
		hooks.updates = gaps
		hooks.middlewares = []telegram.Middleware{updhook.UpdateHook(gaps.Handle)}
	}
	return s.cfg.withSession(ctx, s.holder, a.acct, hooks, func(ctx context.Context, ls *liveSession) error {
		self, err := authorizedSelf(ctx, ls)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		var wg sync.WaitGroup
		defer wg.Wait()
		if gaps != nil {
			wg.Go(func() {
				err := gaps.Run(ctx, ls.api, self.ID, updates.AuthOptions{})
				if err != nil && ctx.Err() == nil {
					if e := classify(err, a.acct.ID, "", s.cfg.now()); isAccountFatal(e) {
						cancel(e)
						return
					}
					lg.Warn("live updates stopped; chats are polled", "err", err)
				}
			})
		}
		s.mu.Lock()
		a.state.Self = selfOf(self)
		a.spawn = func(c *chatRun) {
			wg.Go(func() {
				err := s.runChat(ctx, ls, c, h, lg)
				s.chatDone(c, a, err)
				if isAccountFatal(err) {
					cancel(err)
				}
			})
		}
		s.mu.Unlock()
		s.setAccount(a, StatusActive, nil, time.Time{})
		s.poke()
		<-ctx.Done()
		s.mu.Lock()
		a.spawn = nil
		s.mu.Unlock()
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			return cause
		}
		return ctx.Err()
	})
}

func peerOf(m tg.MessageClass) tg.PeerClass {
	switch m := m.(type) {
	case *tg.Message:
		return m.PeerID
	case *tg.MessageService:
		return m.PeerID
	}
	return nil
}

// pokeChat wakes the reader of a chat after a live update.
func (s *Source) pokeChat(p tg.PeerClass) {
	id := BotAPIChatID(p)
	s.mu.Lock()
	c := s.byChat[id]
	s.mu.Unlock()
	if c == nil {
		return
	}
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

// chatDone records why a chat's reader stopped and frees the chat.
func (s *Source) chatDone(c *chatRun, a *acctRun, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.poke()
	now := s.cfg.now()
	a.chats--
	a.state.Chats = a.chats
	c.state.Account = ""
	if err == nil || errors.Is(err, context.Canceled) {
		c.state.Status = ChatPending
		return
	}
	c.state.Err = err
	if fw, ok := floodWaitOf(err); ok {
		a.floodUntil = fw.Until
		a.state.Status, a.state.Until, a.state.Err = StatusFloodWait, fw.Until, err
		c.state.Status = ChatPending
		return
	}
	switch {
	case errors.Is(err, ErrPeerFlood):
		a.state.Status, a.state.Err = StatusPeerFlood, err
		c.excluded[a.acct.ID] = true
		c.state.Status = ChatPending
	case isChatError(err):
		c.excluded[a.acct.ID] = true
		c.state.Status = ChatFailed
	case isAccountFatal(err):
		c.state.Status = ChatPending
	default: // the handler or the network failed: retry with backoff
		c.failures++
		c.retryAt = now.Add(backoff(c.failures-1, time.Second, s.cfg.RetryInterval))
		c.state.Status = ChatRetrying
	}
}

// runChat resolves a chat and reads it until ctx ends or an error.
func (s *Source) runChat(ctx context.Context, ls *liveSession, c *chatRun, h chatter.Handler, lg *slog.Logger) error {
	rc, err := resolve(ctx, ls.api, c.link, c.cfg.Join)
	if err != nil {
		return classify(err, ls.acct.ID, c.cfg.Ref, s.cfg.now())
	}
	s.mu.Lock()
	c.state.ChatID, c.state.Title, c.state.Type, c.state.Status, c.state.Err = rc.ChatID, rc.Title, rc.Type, ChatActive, nil
	s.byChat[rc.ChatID] = c
	s.mu.Unlock()
	lg = lg.With("chat", c.cfg.Ref, "chat_id", rc.ChatID)
	if rc.Joined {
		lg.Info("joined chat")
	}
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.poke:
		case <-poll.C:
		}
		more, err := s.pass(ctx, ls, c, rc, h)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return classify(err, ls.acct.ID, c.cfg.Ref, s.cfg.now())
		}
		s.mu.Lock()
		c.failures = 0
		s.mu.Unlock()
		if more {
			poll.Reset(0) // a backlog: the next pass goes on at once
		} else {
			poll.Reset(s.cfg.PollInterval)
		}
	}
}

// pass reads what is new in a chat and hands it to h oldest first,
// advancing the checkpoint after each message h accepted. With a
// checkpoint it reads forward from it, page by page, and stops after
// MaxBackfill messages: more reports that the chat may have more, for a
// pass right after this one. Without one it makes the first read, to the
// chat's depth (see readDepth).
func (s *Source) pass(ctx context.Context, ls *liveSession, c *chatRun, rc *ResolvedChat, h chatter.Handler) (more bool, err error) {
	cp, err := s.cfg.Store.GetCheckpoint(ctx, s.cfg.Workspace, chatter.SourceParser, s.cfg.Name, rc.ChatID)
	if err != nil && !errors.Is(err, chatter.ErrNotFound) {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	advance := func(id int, at time.Time) error {
		// A message the handler took is done even when Run is stopping:
		// store its checkpoint anyway, or a restart would emit it again.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointTimeout)
		defer cancel()
		err := s.cfg.Store.AdvanceCheckpoint(actx, &chatter.Checkpoint{Workspace: s.cfg.Workspace, Source: chatter.SourceParser,
			Account: s.cfg.Name, ChatID: rc.ChatID, MessageID: int64(id), At: at})
		if err != nil {
			return fmt.Errorf("advance checkpoint: %w", err)
		}
		s.mu.Lock()
		if int64(id) > c.state.Checkpoint {
			c.state.Checkpoint, c.state.CheckpointAt = int64(id), at
		}
		s.mu.Unlock()
		return nil
	}
	defer func() {
		if err == nil {
			s.mu.Lock()
			c.state.CatchingUp = more
			s.mu.Unlock()
		}
	}()
	if cp == nil {
		if c.depth.IsZero() {
			id, at, err := newestMessage(ctx, ls.api, rc.Peer)
			if err != nil || id == 0 {
				return false, err
			}
			return false, advance(id, at)
		}
		f, err := readDepth(ctx, ls.api, rc.Peer, c.depth, s.cfg.MaxBackfill)
		if err != nil {
			return false, err
		}
		s.record(c, f)
		if f.over {
			// The depth is larger than a pass: start before its oldest
			// message and read it forward like a backlog.
			return true, advance(f.start, f.startAt)
		}
		return false, s.deliver(ctx, c, rc, h, f, advance)
	}
	s.mu.Lock()
	c.state.Checkpoint, c.state.CheckpointAt = cp.MessageID, cp.At
	s.mu.Unlock()
	after, read := int(cp.MessageID), 0
	for read < s.cfg.MaxBackfill {
		f, err := readForward(ctx, ls.api, rc.Peer, after, s.cfg.MaxBackfill-read)
		if err != nil {
			return false, err
		}
		s.record(c, f)
		if err := s.deliver(ctx, c, rc, h, f, advance); err != nil {
			return false, err
		}
		if f.end {
			return false, nil
		}
		after, read = f.maxID, read+f.read
	}
	return true, nil
}

// record adds a read to the chat's statistics.
func (s *Source) record(c *chatRun, f *fetched) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.state.Fetched += int64(f.fetched)
	c.state.Requests += int64(f.calls)
	c.state.LastPassAt = s.cfg.now()
	if !f.oldestAt.IsZero() && (c.state.OldestAt.IsZero() || f.oldestAt.Before(c.state.OldestAt)) {
		c.state.OldestAt = f.oldestAt
	}
}

// deliver hands the messages of f to h oldest first, advancing the
// checkpoint after each one h accepted, then past the filtered, skipped and
// service messages up to the newest of f.
func (s *Source) deliver(ctx context.Context, c *chatRun, rc *ResolvedChat, h chatter.Handler, f *fetched, advance func(int, time.Time) error) error {
	if rc.entities != nil {
		f.ents.Add(nil, nil)
		for id, ch := range rc.entities.Channels {
			if f.ents.Channels[id] == nil {
				f.ents.Channels[id] = ch
			}
		}
	}
	done, doneAt := 0, time.Time{}
	for _, m := range f.msgs {
		if err := ctx.Err(); err != nil {
			return err // stopping: hand nothing more
		}
		msg, err := Normalize(s.cfg.Workspace, s.cfg.Name, m, f.ents)
		if err != nil {
			// A message that cannot be a chatter.Message is handed on all
			// the same: the pipeline records it as rejected, with the
			// reason, so it does not vanish. A handler that refuses it too
			// (ErrInvalid) has it skipped; any other error is retried.
			if msg != nil {
				if herr := h.Handle(ctx, msg); herr != nil && !errors.Is(herr, chatter.ErrInvalid) {
					return fmt.Errorf("handler: refused message %d: %w", m.ID, herr)
				}
			}
			s.cfg.logger().Warn("message refused", "chat_id", rc.ChatID, "message_id", m.ID, "err", err)
			done, doneAt = m.ID, time.Unix(int64(m.Date), 0).UTC()
			continue
		}
		v := chatter.Verdict{Accept: true}
		if s.cfg.Filter != nil {
			v = s.cfg.Filter.Filter(msg)
		}
		s.count(c, v)
		if v.Accept {
			if done > 0 {
				if err := advance(done, doneAt); err != nil {
					return err
				}
			}
			if err := h.Handle(ctx, msg); err != nil {
				return fmt.Errorf("handler: message %s: %w", msg.Key, err)
			}
		}
		done, doneAt = m.ID, msg.Time
		if v.Accept {
			if err := advance(done, doneAt); err != nil {
				return err
			}
			done = 0
		}
	}
	// Skipped, filtered and service messages up to the newest seen are done too.
	if id := max(f.maxID, done); id > 0 {
		at := f.maxAt
		if done > f.maxID {
			at = doneAt
		}
		return advance(id, at)
	}
	return nil
}

// count records a filter verdict in the chat's statistics.
func (s *Source) count(c *chatRun, v chatter.Verdict) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.state.Scanned++
	if v.Accept {
		c.state.Accepted++
	}
	if v.Rule == "" {
		return
	}
	rs := c.state.Rules[v.Rule]
	if rs == nil {
		rs = &RuleStats{}
		c.state.Rules[v.Rule] = rs
	}
	if v.Accept {
		rs.Matched++
	} else {
		rs.Stopped++
	}
}

func (s *Source) setAccount(a *acctRun, st AccountStatus, err error, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a.state.Status, a.state.Err, a.state.Until = st, err, until
	a.state.Since = s.cfg.now()
}

// deadError explains why no account can run.
func (s *Source) deadError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, id := range s.order {
		if err := s.accounts[id].state.Err; err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return configErr("no account can run")
	}
	return errors.Join(errs...)
}
