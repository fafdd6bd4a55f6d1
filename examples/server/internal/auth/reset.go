package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// resetRecord is a user's reset link: one per user (a new request replaces
// the previous link), kept after use so that RequestedAt throttles.
type resetRecord struct {
	Hash          string    `json:"hash,omitempty"` // hex SHA-256 of the secret; empty once used or voided
	ExpiresAt     time.Time `json:"expires_at"`
	RequestedAt   time.Time `json:"requested_at"`
	RequestedFrom string    `json:"requested_from,omitempty"`
}

// RequestReset starts "forgot password" for email from remoteAddr. For an
// account that may reset its password it returns a reset token and the
// user: send the user a link carrying the token (it works once, for
// Config.ResetTTL). For an unknown address, a blocked account or one whose
// access has ended, and for a repeat request for one account within
// Config.ResetInterval, it returns an empty token, a nil user and no error:
// the page must answer every request the same way ("if the address is
// known, a link is on its way"), and should send the mail in the
// background so its duration tells nothing either. A malformed address is a
// *chatter.ValidationError for FieldEmail. A new link replaces the
// previous one. The call takes at least Config.MinResponse.
func (s *Service) RequestReset(ctx context.Context, email, remoteAddr string) (string, *User, error) {
	defer s.pad(ctx, time.Now())
	addr := clip(remoteAddr, maxAddrLen)
	email = strings.TrimSpace(email)
	if err := checkEmail(email); err != nil {
		return "", nil, fmt.Errorf("auth: reset: %w", err)
	}
	ignore := func(reason string, attrs ...slog.Attr) (string, *User, error) {
		s.event(ctx, slog.LevelWarn, "password reset not sent",
			append([]slog.Attr{slog.String("email", email), slog.String(attrAddr, addr), slog.String(attrReason, reason)}, attrs...)...)
		return "", nil, nil
	}
	rec, err := s.find(ctx, email)
	if errors.Is(err, ErrUserNotFound) {
		return ignore("unknown address")
	}
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	switch {
	case rec.Blocked():
		return ignore("blocked", slog.String(attrUser, rec.Login))
	case rec.AccessExpiredAt(now):
		return ignore("access expired", slog.String(attrUser, rec.Login))
	}
	secret, text, err := s.newSecret()
	if err != nil {
		return "", nil, err
	}
	throttled := false
	_, _, err = update(ctx, s, keyReset+rec.ID, func(cur *resetRecord) (*resetRecord, error) {
		throttled = cur != nil && now.Sub(cur.RequestedAt) < s.cfg.ResetInterval
		if throttled {
			return nil, errUnchanged
		}
		return &resetRecord{Hash: digest(secret), ExpiresAt: now.Add(s.cfg.ResetTTL), RequestedAt: now, RequestedFrom: addr}, nil
	})
	if err != nil {
		return "", nil, err
	}
	if throttled {
		return ignore("requested again too soon", slog.String(attrUser, rec.Login))
	}
	u := rec.User.clone()
	s.event(ctx, slog.LevelInfo, "password reset requested", append(subject(u, u.Actor(addr)), timeAttr("expires", now.Add(s.cfg.ResetTTL)))...)
	return rec.ID + "." + text, u, nil
}

// checkReset returns the user of a valid reset token and the reset row's
// version.
func (s *Service) checkReset(ctx context.Context, token string) (*userRecord, *resetRecord, int64, error) {
	id, secret, ok := parseUserToken(token)
	if !ok {
		return nil, nil, 0, ErrBadResetToken
	}
	var r resetRecord
	version, found, err := s.load(ctx, keyReset+id, &r)
	if err != nil {
		return nil, nil, 0, err
	}
	now := s.now()
	if !found || r.Hash == "" || !sameDigest(secret, r.Hash) || !now.Before(r.ExpiresAt) {
		return nil, nil, 0, ErrBadResetToken
	}
	rec, err := s.record(ctx, id)
	if errors.Is(err, ErrUserNotFound) {
		return nil, nil, 0, ErrBadResetToken
	}
	if err != nil {
		return nil, nil, 0, err
	}
	if !rec.active(now) {
		return nil, nil, 0, ErrBadResetToken
	}
	return rec, &r, version, nil
}

// CheckReset returns the user a reset token is for, or ErrBadResetToken:
// the reset page calls it before showing the new-password form.
func (s *Service) CheckReset(ctx context.Context, token string) (*User, error) {
	rec, _, _, err := s.checkReset(ctx, token)
	if err != nil {
		return nil, err
	}
	return rec.User.clone(), nil
}

// ConsumeReset sets a new password with a reset token from remoteAddr. The
// token works once (of two concurrent uses one wins) and only within
// Config.ResetTTL, else ErrBadResetToken; a password the policy refuses is
// a *chatter.ValidationError for FieldPassword and leaves the token usable.
// Success lifts a lockout, clears a forced change, and ends every session of
// the user; it returns the user (sign them in with CreateSession, or send
// them to the login page).
func (s *Service) ConsumeReset(ctx context.Context, token, password, remoteAddr string) (*User, error) {
	addr := clip(remoteAddr, maxAddrLen)
	rec, r, version, err := s.checkReset(ctx, token)
	if err != nil {
		if errors.Is(err, ErrBadResetToken) {
			s.event(ctx, slog.LevelWarn, "password reset refused", slog.String(attrAddr, addr), slog.String(attrReason, "invalid or expired link"))
		}
		return nil, err
	}
	if err := s.checkPassword(password, rec.Login, rec.Email); err != nil {
		return nil, fmt.Errorf("auth: reset: %w", err)
	}
	used := *r
	used.Hash = ""
	if _, err := s.put(ctx, keyReset+rec.ID, &used, version); err != nil {
		if errors.Is(err, chatter.ErrConflict) {
			s.event(ctx, slog.LevelWarn, "password reset refused", append(subject(&rec.User, rec.Actor(addr)), slog.String(attrReason, "link used meanwhile"))...)
			return nil, ErrBadResetToken
		}
		return nil, err
	}
	u, err := s.applyPassword(ctx, rec.ID, password, false)
	if err != nil {
		return nil, err
	}
	s.event(ctx, slog.LevelInfo, "password reset", subject(u, u.Actor(addr))...)
	return u, nil
}

// voidResetAndTicket makes user id's pending reset link and change ticket
// stop working.
func (s *Service) voidResetAndTicket(ctx context.Context, id string) error {
	if _, _, err := update(ctx, s, keyReset+id, func(cur *resetRecord) (*resetRecord, error) {
		if cur == nil || cur.Hash == "" {
			return nil, errUnchanged
		}
		cur.Hash = ""
		return cur, nil
	}); err != nil {
		return err
	}
	_, _, err := update(ctx, s, keyTicket+id, func(cur *ticketRecord) (*ticketRecord, error) {
		if cur == nil {
			return nil, errUnchanged
		}
		return nil, nil
	})
	return err
}

// Prune clears what has run out: expired sessions, reset links and change
// tickets past their use, and idle unknown-login counters. The rows become
// tombstones (the SettingsStore cannot delete), which wipes the addresses
// and user agents they held; slots are reused. Run it periodically (hourly
// is plenty); it returns how many rows it cleared. Any instance may run it
// concurrently with others.
func (s *Service) Prune(ctx context.Context) (int, error) {
	now := s.now()
	n := 0
	sessions, err := list[sessionRecord](ctx, s, keySession)
	if err != nil {
		return 0, err
	}
	for _, r := range sessions {
		if r.value != nil && s.sessionExpired(&r.value.Session, now) {
			if ok, err := s.pruneRow(ctx, r.key, r.version); err != nil {
				return n, err
			} else if ok {
				n++
			}
		}
	}
	resets, err := list[resetRecord](ctx, s, keyReset)
	if err != nil {
		return n, err
	}
	for _, r := range resets {
		if r.value != nil && !now.Before(r.value.ExpiresAt) && now.Sub(r.value.RequestedAt) >= s.cfg.ResetInterval {
			if ok, err := s.pruneRow(ctx, r.key, r.version); err != nil {
				return n, err
			} else if ok {
				n++
			}
		}
	}
	tickets, err := list[ticketRecord](ctx, s, keyTicket)
	if err != nil {
		return n, err
	}
	for _, r := range tickets {
		if r.value != nil && !now.Before(r.value.ExpiresAt) {
			if ok, err := s.pruneRow(ctx, r.key, r.version); err != nil {
				return n, err
			} else if ok {
				n++
			}
		}
	}
	buckets, err := list[unknownBucket](ctx, s, keyUnknown)
	if err != nil {
		return n, err
	}
	for _, r := range buckets {
		if r.value == nil {
			continue
		}
		b := r.value
		before := len(b.Entries)
		maps.DeleteFunc(b.Entries, func(_ string, e *unknownEntry) bool { return !e.live(s, now) })
		if len(b.Entries) == before {
			continue
		}
		var w any = b
		if len(b.Entries) == 0 {
			w = nil
		}
		if _, err := s.put(ctx, r.key, w, r.version); err == nil {
			n++
		} else if !errors.Is(err, chatter.ErrConflict) {
			return n, err
		}
	}
	if n > 0 {
		s.event(ctx, slog.LevelDebug, "expired sign-ins pruned", slog.Int("rows", n))
	}
	return n, nil
}

// pruneRow writes a tombstone at version; a lost race (the row was reused
// meanwhile) is skipped.
func (s *Service) pruneRow(ctx context.Context, key string, version int64) (bool, error) {
	_, err := s.put(ctx, key, nil, version)
	if errors.Is(err, chatter.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}
