package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// Session is a signed-in browser. Its cookie (returned by CreateSession and
// RotateSession) is the only copy of its secret; the store keeps SHA-256 of
// it.
type Session struct {
	// ID names the session without its secret ("<user id>.<slot>"), for
	// lists and RevokeSession. It is not a credential.
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"` // written at most once per Config.SessionTouch
	RemoteAddr string    `json:"remote_addr"`
	UserAgent  string    `json:"user_agent"`
	Language   string    `json:"language"`
	Flash      *Flash    `json:"flash,omitempty"` // a message for the next page, see SetFlash
	Version    int64     `json:"-"`
}

// Flash is a one-time message shown on the next page (after a redirect).
type Flash struct {
	Kind string       `json:"kind"` // "info", "warn" or "error", for the page's style
	Text chatter.Text `json:"text"`
}

type sessionRecord struct {
	Session
	Hash string `json:"hash"` // hex SHA-256 of the secret
}

// Sessions are stored in slots, session/<user id>/<n>: an ended or expired
// session's slot is reused by the user's next login, and a user has at most
// Config.MaxSessionsPerUser of them, so the rows stay bounded although the
// store cannot delete.
const maxSlot = 9999

func sessionKey(userID string, slot int) string {
	return keySession + userID + "/" + strconv.Itoa(slot)
}

func sessionPrefix(userID string) string { return keySession + userID + "/" }

// parseSessionID splits "<user id>.<slot>".
func parseSessionID(id string) (userID string, slot int, ok bool) {
	if len(id) < 34 || id[32] != '.' || !validID(id[:32]) {
		return "", 0, false
	}
	n := id[33:]
	if len(n) > 4 || n[0] == '0' && len(n) > 1 {
		return "", 0, false
	}
	slot, err := strconv.Atoi(n)
	if err != nil || slot < 0 || slot > maxSlot || strconv.Itoa(slot) != n {
		return "", 0, false
	}
	return id[:32], slot, true
}

// parseSessionToken splits a cookie "<user id>.<slot>.<secret>".
func parseSessionToken(token string) (userID string, slot int, secret []byte, ok bool) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return "", 0, nil, false
	}
	userID, slot, ok = parseSessionID(token[:i])
	if !ok {
		return "", 0, nil, false
	}
	secret, ok = decodeSecret(token[i+1:])
	return userID, slot, secret, ok
}

func (s *Service) sessionExpired(ss *Session, now time.Time) bool {
	return now.Sub(ss.LastSeenAt) >= s.cfg.SessionIdle || now.Sub(ss.CreatedAt) >= s.cfg.SessionMaxAge
}

// refusal returns why u may not use the system now (the error a login would
// give after the right password, without tickets), or nil.
func (s *Service) refusal(u *User, now time.Time) error {
	switch {
	case u.Blocked():
		return &BlockedError{At: u.BlockedAt}
	case u.AccessExpiredAt(now):
		return &AccessExpiredError{On: u.AccessExpiresAt}
	case u.MustChangePassword:
		return &MustChangePasswordError{}
	case s.passwordExpired(u, now):
		return &PasswordExpiredError{ExpiredAt: s.PasswordExpiresAt(u)}
	}
	return nil
}

// CreateSession signs u in from remoteAddr with userAgent: call it after
// Authenticate or ChangePasswordWithTicket succeeds (a new session at every
// login is the rotation that defeats session fixation; delete the
// browser's previous session with DeleteSession). It returns the cookie
// value: set it HttpOnly, SameSite=Lax, Secure under HTTPS. A user who may
// not log in now (blocked, access expired, password to be changed) gets the
// corresponding error and no session.
func (s *Service) CreateSession(ctx context.Context, u *User, remoteAddr, userAgent string) (string, *Session, error) {
	rec, err := s.record(ctx, u.ID)
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	if err := s.refusal(&rec.User, now); err != nil {
		return "", nil, err
	}
	secret, text, err := s.newSecret()
	if err != nil {
		return "", nil, err
	}
	for range maxRetries {
		rows, err := list[sessionRecord](ctx, s, sessionPrefix(u.ID))
		if err != nil {
			return "", nil, err
		}
		slot, version, err := s.pickSlot(u.ID, rows, now)
		if err != nil {
			return "", nil, err
		}
		ss := &sessionRecord{Session: Session{
			ID: u.ID + "." + strconv.Itoa(slot), UserID: u.ID, CreatedAt: now, LastSeenAt: now,
			RemoteAddr: clip(remoteAddr, maxAddrLen), UserAgent: clip(userAgent, maxAgentLen), Language: rec.Language,
		}, Hash: digest(secret)}
		v, err := s.put(ctx, sessionKey(u.ID, slot), ss, version)
		if errors.Is(err, chatter.ErrConflict) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		ss.Version = v
		out := ss.Session
		return ss.ID + "." + text, &out, nil
	}
	return "", nil, fmt.Errorf("auth: create session: gave up after %d conflicting writes: %w", maxRetries, chatter.ErrConflict)
}

// pickSlot chooses where a new session goes: the lowest free or expired
// slot; else a new slot while the user has fewer than MaxSessionsPerUser;
// else the least recently used session's slot (that session ends).
func (s *Service) pickSlot(userID string, rows []listed[sessionRecord], now time.Time) (slot int, version int64, err error) {
	prefix := sessionPrefix(userID)
	free, highest, live := -1, -1, 0
	var freeVersion int64
	var lru *listed[sessionRecord]
	lruSlot := -1
	for i := range rows {
		r := &rows[i]
		n, err := strconv.Atoi(strings.TrimPrefix(r.key, prefix))
		if err != nil || n < 0 || n > maxSlot {
			continue
		}
		highest = max(highest, n)
		if r.value == nil || s.sessionExpired(&r.value.Session, now) {
			if free < 0 || n < free {
				free, freeVersion = n, r.version
			}
			continue
		}
		live++
		if lru == nil || r.value.LastSeenAt.Before(lru.value.LastSeenAt) {
			lru, lruSlot = r, n
		}
	}
	switch {
	case free >= 0:
		return free, freeVersion, nil
	case live < s.cfg.MaxSessionsPerUser && highest < maxSlot:
		return highest + 1, 0, nil
	case lru != nil:
		return lruSlot, lru.version, nil
	}
	return 0, 0, fmt.Errorf("auth: no session slot left for user %s: %w", userID, chatter.ErrConflict)
}

// loadSession reads the session a cookie names and checks its secret.
func (s *Service) loadSession(ctx context.Context, token string) (rec *sessionRecord, key string, version int64, err error) {
	userID, slot, secret, ok := parseSessionToken(token)
	if !ok {
		return nil, "", 0, ErrNoSession
	}
	key = sessionKey(userID, slot)
	var ss sessionRecord
	version, found, err := s.load(ctx, key, &ss)
	if err != nil {
		return nil, "", 0, err
	}
	if !found || !sameDigest(secret, ss.Hash) {
		return nil, "", 0, ErrNoSession
	}
	ss.Version = version
	return &ss, key, version, nil
}

// end writes a tombstone over a session row at version; losing the race
// means someone else changed or ended it, which is fine.
func (s *Service) end(ctx context.Context, key string, version int64) error {
	if _, err := s.put(ctx, key, nil, version); err != nil && !errors.Is(err, chatter.ErrConflict) {
		return err
	}
	return nil
}

// LookupSession returns the session a cookie names and its user, or an
// error wrapping ErrNoSession: malformed or unknown cookie, wrong secret,
// idle for Config.SessionIdle, older than Config.SessionMaxAge, or a user
// who may no longer log in (deleted, blocked, access expired, password to
// be changed; the reason's typed error is wrapped too). Such a session is
// ended. The last-seen time is written at most once per Config.SessionTouch.
// Read the user's role from the returned user: it is current on every
// request.
func (s *Service) LookupSession(ctx context.Context, token string) (*Session, *User, error) {
	ss, key, version, err := s.loadSession(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	if s.sessionExpired(&ss.Session, now) {
		return nil, nil, cmp.Or(s.end(ctx, key, version), ErrNoSession)
	}
	rec, err := s.record(ctx, ss.UserID)
	if errors.Is(err, ErrUserNotFound) {
		return nil, nil, cmp.Or(s.end(ctx, key, version), ErrNoSession)
	}
	if err != nil {
		return nil, nil, err
	}
	if why := s.refusal(&rec.User, now); why != nil {
		if err := s.end(ctx, key, version); err != nil {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrNoSession, why)
	}
	if now.Sub(ss.LastSeenAt) >= s.cfg.SessionTouch {
		ss.LastSeenAt = now
		v, err := s.put(ctx, key, ss, version)
		switch {
		case err == nil:
			ss.Version = v
		case !errors.Is(err, chatter.ErrConflict): // a concurrent request touched it: fine
			return nil, nil, err
		}
	}
	out := ss.Session
	return &out, rec.User.clone(), nil
}

// RotateSession gives the session a cookie names a new secret (the old
// cookie stops working at once) and returns the new cookie: after a change
// of privilege within a session. The session keeps its creation time.
func (s *Service) RotateSession(ctx context.Context, token string) (string, *Session, error) {
	ss, key, _, err := s.loadSession(ctx, token)
	if err != nil {
		return "", nil, err
	}
	_, _, oldSecret, _ := parseSessionToken(token)
	secret, text, err := s.newSecret()
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	next, version, err := update(ctx, s, key, func(cur *sessionRecord) (*sessionRecord, error) {
		if cur == nil || !sameDigest(oldSecret, cur.Hash) || s.sessionExpired(&cur.Session, now) {
			return nil, ErrNoSession
		}
		cur.Hash, cur.LastSeenAt = digest(secret), now
		return cur, nil
	})
	if err != nil {
		return "", nil, err
	}
	next.Version = version
	out := next.Session
	return ss.ID + "." + text, &out, nil
}

// DeleteSession ends the session a cookie names (logout). An unknown or
// ended session is not an error.
func (s *Service) DeleteSession(ctx context.Context, token string, remoteAddr string) error {
	ss, _, _, err := s.loadSession(ctx, token)
	if errors.Is(err, ErrNoSession) {
		return nil
	}
	if err != nil {
		return err
	}
	_, _, secret, _ := parseSessionToken(token)
	ended, err := s.endIf(ctx, sessionKey(ss.UserID, slotOf(ss.ID)), func(cur *sessionRecord) bool { return sameDigest(secret, cur.Hash) })
	if err != nil {
		return err
	}
	if ended {
		s.event(ctx, slog.LevelInfo, "logged out", slog.String(attrUserID, ss.UserID), slog.String(attrAddr, clip(remoteAddr, maxAddrLen)))
	}
	return nil
}

func slotOf(id string) int {
	_, slot, _ := parseSessionID(id)
	return slot
}

// endIf ends the session at key when it is live and match(it) holds.
func (s *Service) endIf(ctx context.Context, key string, match func(*sessionRecord) bool) (bool, error) {
	var ended bool
	_, _, err := update(ctx, s, key, func(cur *sessionRecord) (*sessionRecord, error) {
		ended = false
		if cur == nil || !match(cur) {
			return nil, errUnchanged
		}
		ended = true
		return nil, nil
	})
	return ended, err
}

// RevokeSession ends the session with id (Session.ID) from a list of
// sessions: by an administrator, or by its user from another browser. It
// returns ErrNoSession when no such session is live.
func (s *Service) RevokeSession(ctx context.Context, by Actor, id string) error {
	userID, slot, ok := parseSessionID(id)
	if !ok {
		return ErrNoSession
	}
	now := s.now()
	ended, err := s.endIf(ctx, sessionKey(userID, slot), func(cur *sessionRecord) bool { return !s.sessionExpired(&cur.Session, now) })
	if err != nil {
		return err
	}
	if !ended {
		return ErrNoSession
	}
	attrs := []slog.Attr{slog.String(attrUserID, userID), slog.String(attrBy, by.Login)}
	if by.Addr != "" {
		attrs = append(attrs, slog.String(attrAddr, by.Addr))
	}
	s.event(ctx, slog.LevelInfo, "sign-in revoked", attrs...)
	return nil
}

// DeleteUserSessions ends every session of user id (password change,
// block, deletion) and returns how many were live.
func (s *Service) DeleteUserSessions(ctx context.Context, id string) (int, error) {
	if !validID(id) {
		return 0, ErrUserNotFound
	}
	rows, err := list[sessionRecord](ctx, s, sessionPrefix(id))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rows {
		if r.value == nil {
			continue
		}
		ended, err := s.endIf(ctx, r.key, func(*sessionRecord) bool { return true })
		if err != nil {
			return n, err
		}
		if ended {
			n++
		}
	}
	return n, nil
}

// updateSessions applies fn to every live session of user id, writing those
// for which it returns true.
func (s *Service) updateSessions(ctx context.Context, id string, fn func(*sessionRecord) bool) error {
	rows, err := list[sessionRecord](ctx, s, sessionPrefix(id))
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.value == nil {
			continue
		}
		if _, _, err := update(ctx, s, r.key, func(cur *sessionRecord) (*sessionRecord, error) {
			if cur == nil || !fn(cur) {
				return nil, errUnchanged
			}
			return cur, nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// ListSessions returns user id's live sessions, most recently used first.
func (s *Service) ListSessions(ctx context.Context, id string) ([]*Session, error) {
	if !validID(id) {
		return nil, ErrUserNotFound
	}
	rows, err := list[sessionRecord](ctx, s, sessionPrefix(id))
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []*Session
	for _, r := range rows {
		if r.value != nil && !s.sessionExpired(&r.value.Session, now) {
			ss := r.value.Session
			ss.Version = r.version
			out = append(out, &ss)
		}
	}
	slices.SortFunc(out, func(a, b *Session) int { return cmp.Or(b.LastSeenAt.Compare(a.LastSeenAt), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}

// SetFlash stores f in session id for the next page (TakeFlash), replacing
// an earlier one.
func (s *Service) SetFlash(ctx context.Context, id string, f *Flash) error {
	userID, slot, ok := parseSessionID(id)
	if !ok {
		return ErrNoSession
	}
	_, _, err := update(ctx, s, sessionKey(userID, slot), func(cur *sessionRecord) (*sessionRecord, error) {
		if cur == nil {
			return nil, ErrNoSession
		}
		cur.Flash = f
		return cur, nil
	})
	return err
}

// TakeFlash returns and clears session id's flash message (nil when none).
func (s *Service) TakeFlash(ctx context.Context, id string) (*Flash, error) {
	userID, slot, ok := parseSessionID(id)
	if !ok {
		return nil, ErrNoSession
	}
	var f *Flash
	_, _, err := update(ctx, s, sessionKey(userID, slot), func(cur *sessionRecord) (*sessionRecord, error) {
		f = nil
		if cur == nil {
			return nil, ErrNoSession
		}
		if cur.Flash == nil {
			return nil, errUnchanged
		}
		f, cur.Flash = cur.Flash, nil
		return cur, nil
	})
	return f, err
}
