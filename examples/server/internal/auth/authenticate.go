package auth

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// Authenticate checks a login form: loginOrEmail (a login, or an e-mail
// address when it contains '@', ignoring case) and password, from
// remoteAddr. On success it returns the user (create a session with
// CreateSession). Otherwise the error is, for the login page (Message gives
// its text):
//
//   - ErrBadCredentials: wrong password, or no such user;
//   - *LockedError: MaxFailures failed logins within FailureWindow; every
//     password, the right one too, is refused until Until;
//   - *BlockedError, *AccessExpiredError: only after the right password;
//   - *MustChangePasswordError (errors.Is ErrMustChangePassword) or
//     *PasswordExpiredError: the password was right and must be replaced;
//     the error carries a ticket for ChangePasswordWithTicket.
//
// A stranger learns nothing about whether a login exists: unknown logins
// cost the same argon2id work, and their failures are counted and locked
// exactly like a real account's (in a keyed, bounded table), so they get the
// same sequence of answers. Blocked, expired and must-change states are told
// only to whoever knows the password. The call takes at least
// Config.MinResponse. Each outcome is an event.
func (s *Service) Authenticate(ctx context.Context, loginOrEmail, password, remoteAddr string) (*User, error) {
	defer s.pad(ctx, time.Now())
	addr := clip(remoteAddr, maxAddrLen)
	rec, err := s.find(ctx, loginOrEmail)
	if errors.Is(err, ErrUserNotFound) {
		return nil, s.unknownLogin(ctx, loginOrEmail, password, addr)
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if rec.LockedAt(now) {
		s.event(ctx, slog.LevelWarn, "login refused", append(subject(&rec.User, rec.Actor(addr)),
			slog.String(attrReason, "locked"), timeAttr(attrUntil, rec.LockedUntil))...)
		return nil, &LockedError{Until: rec.LockedUntil}
	}
	ok, stale, err := s.verifyPassword(ctx, rec.Hash, password)
	if errors.Is(err, errBadHash) {
		s.event(ctx, slog.LevelError, "stored password hash is unreadable", subject(&rec.User, rec.Actor(addr))...)
	} else if err != nil {
		return nil, err
	}
	if !ok {
		locked, err := s.fail(ctx, rec, addr, "wrong password")
		if err != nil {
			return nil, err
		}
		if locked != nil {
			return nil, locked
		}
		return nil, ErrBadCredentials
	}
	var newHash string
	if stale {
		if newHash, err = s.hashPassword(ctx, password); err != nil {
			return nil, err
		}
	}
	var refusal error
	var reason string
	nrec, err := s.updateUser(ctx, rec.ID, func(r *userRecord) error {
		refusal, reason = nil, ""
		switch {
		case r.Hash != rec.Hash: // the password changed while we verified it
			refusal, reason = ErrBadCredentials, "password changed meanwhile"
		case r.LockedAt(now): // locked by failures that landed meanwhile
			refusal, reason = &LockedError{Until: r.LockedUntil}, "locked"
		case r.Blocked():
			refusal, reason = &BlockedError{At: r.BlockedAt}, "blocked"
		case r.AccessExpiredAt(now):
			refusal, reason = &AccessExpiredError{On: r.AccessExpiresAt}, "access expired"
		case r.MustChangePassword:
			refusal, reason = &MustChangePasswordError{}, "must change password"
		case s.passwordExpired(&r.User, now):
			refusal, reason = &PasswordExpiredError{ExpiredAt: s.PasswordExpiresAt(&r.User)}, "password expired"
		}
		if refusal != nil && (reason == "locked" || reason == "password changed meanwhile") {
			return errUnchanged
		}
		changed := len(r.RecentFailures) > 0 || !r.LockedUntil.IsZero()
		r.RecentFailures, r.LockedUntil = nil, time.Time{}
		if newHash != "" {
			r.Hash, changed = newHash, true
		}
		if refusal == nil {
			r.LastLoginAt, r.LastLoginAddr, changed = now, addr, true
		}
		if !changed {
			return errUnchanged
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	u := nrec.User.clone()
	if refusal == nil {
		s.event(ctx, slog.LevelInfo, "login succeeded", subject(u, u.Actor(addr))...)
		return u, nil
	}
	var me *MustChangePasswordError
	var pe *PasswordExpiredError
	if errors.As(refusal, &me) || errors.As(refusal, &pe) {
		ticket, err := s.issueTicket(ctx, u.ID, reason)
		if err != nil {
			return nil, err
		}
		if me != nil {
			me.Ticket = ticket
		} else {
			pe.Ticket = ticket
		}
	}
	s.event(ctx, slog.LevelWarn, "login refused", append(subject(u, u.Actor(addr)), slog.String(attrReason, reason))...)
	return nil, refusal
}

// pad sleeps until Config.MinResponse has passed since start (wall time).
func (s *Service) pad(ctx context.Context, start time.Time) {
	d := s.cfg.MinResponse - time.Since(start)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// addFailure records a failed login at now in a failure list: failures
// outside FailureWindow, and those before the end of an earlier lockout, are
// forgotten. It returns the new list and, when the list reaches MaxFailures,
// the end of the lockout it starts.
func (s *Service) addFailure(fails []time.Time, lockedUntil, now time.Time) ([]time.Time, time.Time) {
	keep := make([]time.Time, 0, len(fails)+1)
	for _, t := range fails {
		if now.Sub(t) < s.cfg.FailureWindow && !t.Before(lockedUntil) {
			keep = append(keep, t)
		}
	}
	keep = append(keep, now)
	if len(keep) >= s.cfg.MaxFailures {
		return keep, now.Add(s.cfg.LockFor)
	}
	return keep, time.Time{}
}

// fail counts a failed password for rec's user (with compare-and-swap, so
// concurrent failures all count). It returns a *LockedError when the user
// is locked, by this failure or meanwhile.
func (s *Service) fail(ctx context.Context, rec *userRecord, addr, reason string) (*LockedError, error) {
	now := s.now()
	var already bool
	var started time.Time
	nrec, err := s.updateUser(ctx, rec.ID, func(r *userRecord) error {
		already, started = false, time.Time{}
		if r.LockedAt(now) {
			already = true
			return errUnchanged
		}
		r.RecentFailures, started = s.addFailure(r.RecentFailures, r.LockedUntil, now)
		if !started.IsZero() {
			r.LockedUntil = started
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	who := subject(&nrec.User, nrec.Actor(addr))
	failures := slog.Int("failures", len(nrec.RecentFailures))
	switch {
	case already:
		s.event(ctx, slog.LevelWarn, "login refused", append(who, slog.String(attrReason, "locked"), timeAttr(attrUntil, nrec.LockedUntil))...)
		return &LockedError{Until: nrec.LockedUntil}, nil
	case !started.IsZero():
		s.event(ctx, slog.LevelWarn, "login failed", append(slices.Clip(who), slog.String(attrReason, reason), failures)...)
		s.event(ctx, slog.LevelWarn, "account locked", append(who, timeAttr(attrUntil, started), failures)...)
		return &LockedError{Until: started}, nil
	default:
		s.event(ctx, slog.LevelWarn, "login failed", append(who, slog.String(attrReason, reason), failures)...)
		return nil, nil
	}
}

// Unknown logins: failures of a login that matches no user are counted like
// a real account's, so that lockouts do not tell a stranger which logins
// exist. The counters live in unknownBuckets rows of at most unknownEntries
// entries each, keyed by HMAC-SHA256(key, lower login) with a random key
// made once per store: a stranger cannot aim two logins at one bucket. When
// a bucket is full the entry with the oldest failure is dropped (only under
// a flood of distinct unknown logins).
const (
	unknownBuckets = 4096 // three hex digits
	unknownEntries = 8
)

type unknownBucket struct {
	Entries map[string]*unknownEntry `json:"entries"`
}

type unknownEntry struct {
	Failures    []time.Time `json:"failures"`
	LockedUntil time.Time   `json:"locked_until,omitzero"`
}

func (e *unknownEntry) live(s *Service, now time.Time) bool {
	if now.Before(e.LockedUntil) {
		return true
	}
	for _, t := range e.Failures {
		if now.Sub(t) < s.cfg.FailureWindow && !t.Before(e.LockedUntil) {
			return true
		}
	}
	return false
}

type keyRecord struct {
	Key []byte `json:"key"`
}

// bucketKey returns the row and entry of input in the unknown-login table.
func (s *Service) bucketKey(ctx context.Context, input string) (row, entry string, err error) {
	s.saltMu.Lock()
	defer s.saltMu.Unlock()
	if s.salt == nil {
		fresh := make([]byte, 32)
		if _, err := io.ReadFull(s.cfg.Rand, fresh); err != nil {
			return "", "", fmt.Errorf("auth: key: %w", err)
		}
		rec, _, err := update(ctx, s, keySalt, func(cur *keyRecord) (*keyRecord, error) {
			if cur != nil && len(cur.Key) == 32 {
				return nil, errUnchanged
			}
			return &keyRecord{Key: fresh}, nil
		})
		if err != nil {
			return "", "", err
		}
		s.salt = rec.Key
	}
	m := hmac.New(sha256.New, s.salt)
	m.Write([]byte(normalize(input)))
	h := hex.EncodeToString(m.Sum(nil))
	return keyUnknown + h[:3], h, nil
}

// unknownLogin answers a login that matches no user as a real account with
// a wrong password would be answered.
func (s *Service) unknownLogin(ctx context.Context, input, password, addr string) error {
	row, entry, err := s.bucketKey(ctx, input)
	if err != nil {
		return err
	}
	attrs := []slog.Attr{slog.String(attrAttempt, attemptText(input)), slog.String(attrAddr, addr)}
	now := s.now()
	var b unknownBucket
	if _, found, err := s.load(ctx, row, &b); err != nil {
		return err
	} else if e := b.Entries[entry]; found && e != nil && now.Before(e.LockedUntil) {
		s.event(ctx, slog.LevelWarn, "login refused", append(attrs, slog.String(attrReason, "locked (unknown login)"), timeAttr(attrUntil, e.LockedUntil))...)
		return &LockedError{Until: e.LockedUntil}
	}
	if err := s.dummyVerify(ctx, password); err != nil {
		return err
	}
	var locked time.Time
	var failures int
	_, _, err = update(ctx, s, row, func(cur *unknownBucket) (*unknownBucket, error) {
		locked, failures = time.Time{}, 0
		if cur == nil || cur.Entries == nil {
			cur = &unknownBucket{Entries: map[string]*unknownEntry{}}
		}
		e := cur.Entries[entry]
		if e != nil && now.Before(e.LockedUntil) {
			locked = e.LockedUntil
			return nil, errUnchanged
		}
		maps.DeleteFunc(cur.Entries, func(_ string, e *unknownEntry) bool { return !e.live(s, now) })
		if e == nil {
			e = &unknownEntry{}
		}
		var started time.Time
		e.Failures, started = s.addFailure(e.Failures, e.LockedUntil, now)
		if !started.IsZero() {
			e.LockedUntil, locked = started, started
		}
		failures = len(e.Failures)
		cur.Entries[entry] = e
		for len(cur.Entries) > unknownEntries {
			oldest := slices.MinFunc(slices.Collect(maps.Keys(cur.Entries)), func(a, b string) int {
				return cmp.Or(cur.Entries[a].last().Compare(cur.Entries[b].last()), cmp.Compare(a, b))
			})
			delete(cur.Entries, oldest)
		}
		return cur, nil
	})
	if err != nil {
		return err
	}
	s.event(ctx, slog.LevelWarn, "login failed", append(attrs, slog.String(attrReason, "unknown login"), slog.Int("failures", failures))...)
	if !locked.IsZero() {
		return &LockedError{Until: locked}
	}
	return ErrBadCredentials
}

func (e *unknownEntry) last() time.Time {
	if len(e.Failures) == 0 {
		return time.Time{}
	}
	return e.Failures[len(e.Failures)-1]
}

// Tokens handed to users (session cookies, reset links, change tickets) are
// "<user id>.<secret>" or "<user id>.<slot>.<secret>", the secret being 32
// random bytes in unpadded base64url. Only SHA-256 of the secret is stored.
const secretLen = 32

var b64url = base64.RawURLEncoding

func (s *Service) newSecret() (secret []byte, text string, err error) {
	secret = make([]byte, secretLen)
	if _, err := io.ReadFull(s.cfg.Rand, secret); err != nil {
		return nil, "", fmt.Errorf("auth: secret: %w", err)
	}
	return secret, b64url.EncodeToString(secret), nil
}

func digest(secret []byte) string {
	h := sha256.Sum256(secret)
	return hex.EncodeToString(h[:])
}

// sameDigest compares a secret with a stored digest in constant time.
func sameDigest(secret []byte, stored string) bool {
	want, err := hex.DecodeString(stored)
	if err != nil {
		return false
	}
	got := sha256.Sum256(secret)
	return hmac.Equal(got[:], want)
}

func decodeSecret(s string) ([]byte, bool) {
	if len(s) != b64url.EncodedLen(secretLen) {
		return nil, false
	}
	b, err := b64url.Strict().DecodeString(s)
	// Decoding skips line breaks: accept only the canonical text.
	return b, err == nil && len(b) == secretLen && b64url.EncodeToString(b) == s
}

// ticketRecord is a change-password ticket: issued after a right password
// that must be replaced (forced or expired).
type ticketRecord struct {
	Hash      string    `json:"hash"`
	ExpiresAt time.Time `json:"expires_at"`
	Reason    string    `json:"reason"`
}

func (s *Service) issueTicket(ctx context.Context, id, reason string) (string, error) {
	secret, text, err := s.newSecret()
	if err != nil {
		return "", err
	}
	t := &ticketRecord{Hash: digest(secret), ExpiresAt: s.now().Add(s.cfg.TicketTTL), Reason: reason}
	if _, _, err := update(ctx, s, keyTicket+id, func(*ticketRecord) (*ticketRecord, error) { return t, nil }); err != nil {
		return "", err
	}
	return id + "." + text, nil
}

// parseUserToken splits "<user id>.<secret>".
func parseUserToken(token string) (id string, secret []byte, ok bool) {
	if len(token) < 33 || token[32] != '.' || !validID(token[:32]) {
		return "", nil, false
	}
	secret, ok = decodeSecret(token[33:])
	return token[:32], secret, ok
}

// checkTicket returns the user of a valid ticket and the ticket row's
// version.
func (s *Service) checkTicket(ctx context.Context, ticket string) (*userRecord, int64, error) {
	id, secret, ok := parseUserToken(ticket)
	if !ok {
		return nil, 0, ErrBadTicket
	}
	var t ticketRecord
	version, found, err := s.load(ctx, keyTicket+id, &t)
	if err != nil {
		return nil, 0, err
	}
	if !found || !sameDigest(secret, t.Hash) || !s.now().Before(t.ExpiresAt) {
		return nil, 0, ErrBadTicket
	}
	rec, err := s.record(ctx, id)
	if errors.Is(err, ErrUserNotFound) {
		return nil, 0, ErrBadTicket
	}
	if err != nil {
		return nil, 0, err
	}
	return rec, version, nil
}

// CheckTicket returns the user a change-password ticket is for, or
// ErrBadTicket; the change form calls it before showing itself.
func (s *Service) CheckTicket(ctx context.Context, ticket string) (*User, error) {
	rec, _, err := s.checkTicket(ctx, ticket)
	if err != nil {
		return nil, err
	}
	return rec.User.clone(), nil
}

// ChangePasswordWithTicket sets a new password with the ticket that came
// with a *MustChangePasswordError or *PasswordExpiredError, and completes
// that login: it returns the user (create a session with CreateSession).
// The ticket works once and for Config.TicketTTL; problems with the new
// password (policy, equal to the old one) come back as a
// *chatter.ValidationError for FieldPassword and leave the ticket usable.
// Other sessions of the user end.
func (s *Service) ChangePasswordWithTicket(ctx context.Context, ticket, password, remoteAddr string) (*User, error) {
	addr := clip(remoteAddr, maxAddrLen)
	rec, version, err := s.checkTicket(ctx, ticket)
	if err != nil {
		return nil, err
	}
	if err := s.checkPassword(password, rec.Login, rec.Email); err != nil {
		return nil, fmt.Errorf("auth: change password: %w", err)
	}
	same, _, err := s.verifyPassword(ctx, rec.Hash, password)
	if err != nil && !errors.Is(err, errBadHash) {
		return nil, err
	}
	if same {
		return nil, fmt.Errorf("auth: change password: %w", invalid(FieldPassword, textSamePassword))
	}
	now := s.now()
	switch {
	case rec.Blocked():
		return nil, &BlockedError{At: rec.BlockedAt}
	case rec.AccessExpiredAt(now):
		return nil, &AccessExpiredError{On: rec.AccessExpiresAt}
	}
	// Single use: of two concurrent submissions one wins this write.
	if _, err := s.put(ctx, keyTicket+rec.ID, nil, version); err != nil {
		if errors.Is(err, chatter.ErrConflict) {
			return nil, ErrBadTicket
		}
		return nil, err
	}
	u, err := s.applyPassword(ctx, rec.ID, password, false)
	if err != nil {
		return nil, err
	}
	nrec, err := s.updateUser(ctx, rec.ID, func(r *userRecord) error {
		r.LastLoginAt, r.LastLoginAddr = now, addr
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.event(ctx, slog.LevelInfo, "password changed", append(subject(u, u.Actor(addr)), slog.String(attrReason, "required at login"))...)
	s.event(ctx, slog.LevelInfo, "login succeeded", subject(u, u.Actor(addr))...)
	return nrec.User.clone(), nil
}
