package auth

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
)

// Role is what a user may do.
type Role string

// Roles.
const (
	// RoleAdmin may do everything: users, settings, every workspace.
	RoleAdmin Role = "admin"
	// RoleManager reads the ledger and logs of their workspaces and
	// replays deliveries there.
	RoleManager Role = "manager"
)

// Languages of the UI and of the e-mails sent to a user.
const (
	LangRU = "ru"
	LangEN = "en"
)

// User is an account. Values returned by the Service are copies; change
// them through the Service.
type User struct {
	ID          string   `json:"id"`
	Login       string   `json:"login"` // unique ignoring case
	Email       string   `json:"email"` // unique ignoring case
	DisplayName string   `json:"display_name"`
	Role        Role     `json:"role"`
	Workspaces  []string `json:"workspaces,omitempty"` // a manager's workspaces, sorted
	Language    string   `json:"language"`             // LangRU or LangEN

	PasswordChangedAt  time.Time   `json:"password_changed_at"`
	MustChangePassword bool        `json:"must_change_password,omitempty"` // forced by an administrator, or a one-time password
	AccessExpiresAt    time.Time   `json:"access_expires_at,omitzero"`     // zero: no end
	BlockedAt          time.Time   `json:"blocked_at,omitzero"`            // zero: not blocked
	BlockedBy          string      `json:"blocked_by,omitempty"`           // the administrator's login
	RecentFailures     []time.Time `json:"recent_failures,omitempty"`      // failed logins within Config.FailureWindow
	LockedUntil        time.Time   `json:"locked_until,omitzero"`          // zero or past: not locked

	CreatedAt     time.Time `json:"created_at"`
	CreatedBy     string    `json:"created_by,omitempty"`
	LastLoginAt   time.Time `json:"last_login_at,omitzero"`
	LastLoginAddr string    `json:"last_login_addr,omitempty"`

	// Version is the store version of the user's row; it changes with every
	// write.
	Version int64 `json:"-"`
}

// IsAdmin reports whether u is an administrator.
func (u *User) IsAdmin() bool { return u.Role == RoleAdmin }

// Blocked reports whether an administrator blocked u.
func (u *User) Blocked() bool { return !u.BlockedAt.IsZero() }

// LockedAt reports whether failed logins keep u locked at now.
func (u *User) LockedAt(now time.Time) bool { return now.Before(u.LockedUntil) }

// AccessExpiredAt reports whether u's access has ended at now.
func (u *User) AccessExpiredAt(now time.Time) bool {
	return !u.AccessExpiresAt.IsZero() && !now.Before(u.AccessExpiresAt)
}

// CanAccess reports whether u may see workspace: administrators see all,
// managers their own.
func (u *User) CanAccess(workspace string) bool {
	return u.IsAdmin() || slices.Contains(u.Workspaces, workspace)
}

// active reports whether u can use the system at now (ignoring a lockout,
// which ends by itself).
func (u *User) active(now time.Time) bool { return !u.Blocked() && !u.AccessExpiredAt(now) }

func (u *User) clone() *User {
	c := *u
	c.Workspaces = slices.Clone(u.Workspaces)
	c.RecentFailures = slices.Clone(u.RecentFailures)
	return &c
}

// userRecord is the stored row: the user and their password hash, which
// never leaves the package.
type userRecord struct {
	User
	Hash string `json:"password_hash"` // argon2id PHC string
}

// PasswordExpiresAt returns when u's password expires under
// Config.PasswordMaxAge, or zero when passwords do not expire.
func (s *Service) PasswordExpiresAt(u *User) time.Time {
	if s.cfg.PasswordMaxAge <= 0 {
		return time.Time{}
	}
	return u.PasswordChangedAt.Add(s.cfg.PasswordMaxAge)
}

func (s *Service) passwordExpired(u *User, now time.Time) bool {
	at := s.PasswordExpiresAt(u)
	return !at.IsZero() && !now.Before(at)
}

// NewUser is what Create needs.
type NewUser struct {
	Login       string
	Email       string
	DisplayName string // defaults to Login
	Role        Role
	Workspaces  []string // for managers; ignored for administrators
	Language    string   // defaults to LangRU
	Password    string
	// MustChangePassword makes the first login lead to the change form
	// (one-time passwords).
	MustChangePassword bool
	// AccessExpiresAt ends the account's access at that time; zero: never.
	AccessExpiresAt time.Time
}

const (
	maxLoginRunes = 64
	maxEmailLen   = 254
	maxNameRunes  = 128
	maxWorkspace  = 128
	maxAddrLen    = 128
	maxAgentLen   = 256
	claimGrace    = time.Minute // how long a claim without its user row is respected
)

// normalize is the case-insensitive form of a login or e-mail address.
func normalize(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// checkLogin: 2–64 letters, digits, '.', '_' or '-', starting with a letter
// or digit; no '@', so that a login never looks like an e-mail address.
func checkLogin(login string) error {
	n := utf8.RuneCountInString(login)
	if login == "" {
		return invalid(FieldLogin, chatter.T("Укажите логин.", "Enter a login."))
	}
	if !utf8.ValidString(login) || n < 2 || n > maxLoginRunes {
		return invalid(FieldLogin, chatter.T(
			fmt.Sprintf("Логин должен быть длиной от 2 до %d знаков.", maxLoginRunes),
			fmt.Sprintf("The login must be 2 to %d characters long.", maxLoginRunes)))
	}
	for i, r := range login {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || i > 0 && strings.ContainsRune("._-", r) {
			continue
		}
		return invalid(FieldLogin, chatter.T("Логин может содержать только буквы, цифры и знаки . _ - и должен начинаться с буквы или цифры.",
			"The login may contain only letters, digits and . _ - and must start with a letter or digit."))
	}
	return nil
}

func checkEmail(email string) error {
	if email == "" {
		return invalid(FieldEmail, chatter.T("Укажите адрес электронной почты.", "Enter an e-mail address."))
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || len(email) > maxEmailLen || !strings.Contains(email, "@") {
		return invalid(FieldEmail, chatter.T("Адрес электронной почты указан неверно: нужен вид name@example.com.",
			"The e-mail address is not valid: use the form name@example.com."))
	}
	return nil
}

func checkName(name string) error {
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxNameRunes || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return invalid(FieldDisplayName, chatter.T(
			fmt.Sprintf("Имя должно быть не длиннее %d знаков, без управляющих символов.", maxNameRunes),
			fmt.Sprintf("The name must be at most %d characters, without control characters.", maxNameRunes)))
	}
	return nil
}

func checkRole(r Role) error {
	if r != RoleAdmin && r != RoleManager {
		return invalid(FieldRole, chatter.T("Выберите роль: администратор или менеджер.", "Choose a role: administrator or manager."))
	}
	return nil
}

func checkLanguage(lang string) error {
	if lang != LangRU && lang != LangEN {
		return invalid(FieldLanguage, chatter.T("Язык должен быть ru или en.", "The language must be ru or en."))
	}
	return nil
}

// cleanWorkspaces validates, deduplicates and sorts a manager's workspaces.
func cleanWorkspaces(role Role, ws []string) ([]string, error) {
	if role == RoleAdmin {
		return nil, nil
	}
	var out []string
	for _, w := range ws {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		if w == ServerWorkspace || strings.HasPrefix(w, "_") || len(w) > maxWorkspace || !utf8.ValidString(w) ||
			strings.IndexFunc(w, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return nil, invalid(FieldWorkspaces, chatter.T(
				fmt.Sprintf("Недопустимое рабочее пространство %q.", w),
				fmt.Sprintf("Invalid workspace %q.", w)))
		}
		out = append(out, w)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// newID returns 16 random bytes in hex: a user id.
func (s *Service) newID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("auth: id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// validID reports whether id has the shape newID makes (keys are built
// from ids; nothing else may reach them).
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// Create adds a user. Problems with the input come back together, each as a
// *chatter.ValidationError naming its field (see Problems): bad or taken
// login or e-mail, password policy, role, language, workspaces. Logins and
// e-mail addresses are unique ignoring case across every instance sharing
// the store: of two concurrent Creates of one login exactly one succeeds.
func (s *Service) Create(ctx context.Context, by Actor, nu NewUser) (*User, error) {
	now := s.now()
	nu.Login, nu.Email, nu.DisplayName = strings.TrimSpace(nu.Login), strings.TrimSpace(nu.Email), strings.TrimSpace(nu.DisplayName)
	nu.Language = cmp.Or(nu.Language, LangRU)
	var errs []error
	errs = append(errs, checkLogin(nu.Login), checkEmail(nu.Email), checkName(nu.DisplayName), checkRole(nu.Role), checkLanguage(nu.Language))
	ws, err := cleanWorkspaces(nu.Role, nu.Workspaces)
	errs = append(errs, err, s.checkPassword(nu.Password, nu.Login, nu.Email))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("auth: create user: %w", err)
	}
	hash, err := s.hashPassword(ctx, nu.Password)
	if err != nil {
		return nil, err
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	rec := &userRecord{User: User{
		ID: id, Login: nu.Login, Email: nu.Email, DisplayName: cmp.Or(nu.DisplayName, nu.Login),
		Role: nu.Role, Workspaces: ws, Language: nu.Language,
		PasswordChangedAt: now, MustChangePassword: nu.MustChangePassword, AccessExpiresAt: nu.AccessExpiresAt,
		CreatedAt: now, CreatedBy: by.Login,
	}, Hash: hash}
	if err := s.insertUser(ctx, rec); err != nil {
		return nil, err
	}
	u := rec.User.clone()
	s.event(ctx, slog.LevelInfo, "user created", append(subject(u, by), slog.String("role", string(u.Role)),
		slog.String("email", u.Email), slog.Bool("must_change", u.MustChangePassword))...)
	return u, nil
}

// insertUser claims rec's login and e-mail, then writes its row; a failure
// releases the claims.
func (s *Service) insertUser(ctx context.Context, rec *userRecord) error {
	loginKey, emailKey := keyLogin+normalize(rec.Login), keyEmail+normalize(rec.Email)
	ok, err := s.claim(ctx, loginKey, rec.ID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("auth: create user: %w", invalid(FieldLogin, chatter.T("Этот логин уже занят.", "This login is taken.")))
	}
	ok, err = s.claim(ctx, emailKey, rec.ID)
	if err == nil && !ok {
		err = fmt.Errorf("auth: create user: %w", invalid(FieldEmail, chatter.T("Этот адрес электронной почты уже используется.", "This e-mail address is in use.")))
	}
	if err == nil {
		var v int64
		v, err = s.put(ctx, keyUser+rec.ID, rec, 0)
		rec.Version = v
	}
	if err != nil {
		s.release(ctx, loginKey, rec.ID)
		s.release(ctx, emailKey, rec.ID)
		return err
	}
	return nil
}

// claimRecord holds a login or e-mail address for one user.
type claimRecord struct {
	User string    `json:"user"`
	At   time.Time `json:"at"`
}

// claim makes key point at id. It returns false when a live user holds key.
// A claim is dead when its user row is a tombstone, when that user's login
// or e-mail no longer maps to key, or when the row never appeared within
// claimGrace (a Create that crashed between its claim and its row).
func (s *Service) claim(ctx context.Context, key, id string) (bool, error) {
	var taken bool
	_, _, err := update(ctx, s, key, func(cur *claimRecord) (*claimRecord, error) {
		taken = false
		if cur != nil && cur.User == id {
			return nil, errUnchanged
		}
		if cur != nil {
			live, err := s.claimLive(ctx, key, cur)
			if err != nil {
				return nil, err
			}
			if live {
				taken = true
				return nil, errUnchanged
			}
		}
		return &claimRecord{User: id, At: s.now()}, nil
	})
	return !taken && err == nil, err
}

func (s *Service) claimLive(ctx context.Context, key string, c *claimRecord) (bool, error) {
	var rec userRecord
	version, found, err := s.load(ctx, keyUser+c.User, &rec)
	switch {
	case err != nil:
		return false, err
	case found:
		return key == keyLogin+normalize(rec.Login) || key == keyEmail+normalize(rec.Email), nil
	case version > 0: // deleted
		return false, nil
	default: // not written yet, or never will be
		return s.now().Sub(c.At) < claimGrace, nil
	}
}

// release removes key's claim if id holds it. Errors are logged, not
// returned: a claim left behind is dead (see claim) and is taken over.
func (s *Service) release(ctx context.Context, key, id string) {
	_, _, err := update(ctx, s, key, func(cur *claimRecord) (*claimRecord, error) {
		if cur == nil || cur.User != id {
			return nil, errUnchanged
		}
		return nil, nil
	})
	if err != nil {
		s.event(ctx, slog.LevelWarn, "claim not released", slog.String("key", key), slog.Any("err", err))
	}
}

// record loads a user's row.
func (s *Service) record(ctx context.Context, id string) (*userRecord, error) {
	if !validID(id) {
		return nil, ErrUserNotFound
	}
	var rec userRecord
	version, found, err := s.load(ctx, keyUser+id, &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrUserNotFound
	}
	rec.Version = version
	return &rec, nil
}

// byClaim loads the user a login or e-mail claim points at, if the claim is
// still theirs.
func (s *Service) byClaim(ctx context.Context, key string) (*userRecord, error) {
	var c claimRecord
	_, found, err := s.load(ctx, key, &c)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrUserNotFound
	}
	rec, err := s.record(ctx, c.User)
	if err != nil {
		return nil, err
	}
	if key != keyLogin+normalize(rec.Login) && key != keyEmail+normalize(rec.Email) {
		return nil, ErrUserNotFound
	}
	return rec, nil
}

// find resolves what a login form calls "login or e-mail": input with '@'
// is an e-mail address, anything else a login, both ignoring case.
func (s *Service) find(ctx context.Context, loginOrEmail string) (*userRecord, error) {
	in := normalize(loginOrEmail)
	if in == "" || !utf8.ValidString(in) || len(in) > maxEmailLen {
		return nil, ErrUserNotFound
	}
	if strings.Contains(in, "@") {
		return s.byClaim(ctx, keyEmail+in)
	}
	return s.byClaim(ctx, keyLogin+in)
}

// Get returns the user with id, or ErrUserNotFound.
func (s *Service) Get(ctx context.Context, id string) (*User, error) {
	rec, err := s.record(ctx, id)
	if err != nil {
		return nil, err
	}
	return rec.User.clone(), nil
}

// GetByLogin returns the user whose login equals login ignoring case.
func (s *Service) GetByLogin(ctx context.Context, login string) (*User, error) {
	if strings.Contains(login, "@") {
		return nil, ErrUserNotFound
	}
	rec, err := s.find(ctx, login)
	if err != nil {
		return nil, err
	}
	return rec.User.clone(), nil
}

// GetByEmail returns the user whose e-mail address equals email ignoring
// case.
func (s *Service) GetByEmail(ctx context.Context, email string) (*User, error) {
	if !strings.Contains(email, "@") {
		return nil, ErrUserNotFound
	}
	rec, err := s.find(ctx, email)
	if err != nil {
		return nil, err
	}
	return rec.User.clone(), nil
}

// Find returns the user by login or, for input containing '@', by e-mail,
// ignoring case.
func (s *Service) Find(ctx context.Context, loginOrEmail string) (*User, error) {
	rec, err := s.find(ctx, loginOrEmail)
	if err != nil {
		return nil, err
	}
	return rec.User.clone(), nil
}

// List returns every user, ordered by login ignoring case.
func (s *Service) List(ctx context.Context) ([]*User, error) {
	rows, err := list[userRecord](ctx, s, keyUser)
	if err != nil {
		return nil, err
	}
	out := make([]*User, 0, len(rows))
	for _, r := range rows {
		if r.value != nil {
			u := r.value.User.clone()
			u.Version = r.version
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b *User) int { return cmp.Compare(normalize(a.Login), normalize(b.Login)) })
	return out, nil
}

// CountAdmins returns how many administrators exist, blocked or not.
func (s *Service) CountAdmins(ctx context.Context) (int, error) {
	users, err := s.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range users {
		if u.IsAdmin() {
			n++
		}
	}
	return n, nil
}

// HasAdmin reports whether any administrator exists (blocked or not): the
// first-run page is offered only when none does.
func (s *Service) HasAdmin(ctx context.Context) (bool, error) {
	n, err := s.CountAdmins(ctx)
	return n > 0, err
}

// setupRecord is the first-run claim.
type setupRecord struct {
	User string    `json:"user"`
	At   time.Time `json:"at"`
}

// CreateFirstAdmin creates the first administrator from the first-run page.
// It fails with ErrSetupDone when an administrator exists or another
// first-run submission (on any instance) is creating one: at most one
// succeeds. nu.Role is forced to RoleAdmin.
func (s *Service) CreateFirstAdmin(ctx context.Context, nu NewUser, addr string) (*User, error) {
	by := Actor{Login: "setup", Addr: clip(addr, maxAddrLen)}
	has, err := s.HasAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if has {
		return nil, ErrSetupDone
	}
	nu.Role = RoleAdmin
	claimed := false
	marker := &setupRecord{User: "pending", At: s.now()}
	_, version, err := update(ctx, s, keySetup, func(cur *setupRecord) (*setupRecord, error) {
		claimed = false
		// A claim older than claimGrace whose admin never appeared is from
		// a crashed or failed attempt.
		if cur != nil && s.now().Sub(cur.At) < claimGrace {
			return nil, errUnchanged
		}
		if cur != nil {
			if has, err := s.HasAdmin(ctx); err != nil || has {
				return nil, cmp.Or(err, errUnchanged)
			}
		}
		claimed = true
		return marker, nil
	})
	if err != nil {
		return nil, err
	}
	if !claimed {
		return nil, ErrSetupDone
	}
	u, err := s.Create(ctx, by, nu)
	if err != nil {
		// Let the next submission try at once.
		if _, perr := s.put(ctx, keySetup, nil, version); perr != nil && !errors.Is(perr, chatter.ErrConflict) {
			s.event(ctx, slog.LevelWarn, "first-run claim not released", slog.Any("err", perr))
		}
		return nil, err
	}
	if _, err := s.put(ctx, keySetup, &setupRecord{User: u.ID, At: marker.At}, version); err != nil {
		s.event(ctx, slog.LevelWarn, "first-run claim not recorded", slog.Any("err", err))
	}
	return u, nil
}

// updateUser applies fn to user id's record with compare-and-swap (fn is
// re-run on the fresh record after a lost race) and returns the stored
// result. fn returning errUnchanged skips the write.
func (s *Service) updateUser(ctx context.Context, id string, fn func(rec *userRecord) error) (*userRecord, error) {
	if !validID(id) {
		return nil, ErrUserNotFound
	}
	rec, version, err := update(ctx, s, keyUser+id, func(cur *userRecord) (*userRecord, error) {
		if cur == nil {
			return nil, ErrUserNotFound
		}
		if err := fn(cur); err != nil {
			return nil, err
		}
		return cur, nil
	})
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, ErrUserNotFound
	}
	rec.Version = version
	return rec, nil
}

// checkNotLastAdmin refuses a change that makes target stop being an
// active administrator when no other active administrator exists, and any
// such change by target themselves. The count is read before the write, so
// two administrators demoting each other at the same instant can both pass;
// the CLI (`user add -role admin`) recovers from that.
func (s *Service) checkNotLastAdmin(ctx context.Context, by Actor, target *User) error {
	if by.UserID != "" && by.UserID == target.ID {
		return ErrSelf
	}
	now := s.now()
	if !target.IsAdmin() || !target.active(now) {
		return nil
	}
	users, err := s.List(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.ID != target.ID && u.IsAdmin() && u.active(now) {
			return nil
		}
	}
	return ErrLastAdmin
}

// SetPassword sets a user's password on an administrator's (or the CLI's)
// authority, without the old one: the policy applies, a lockout is lifted,
// every session of the user ends and pending reset links and change
// tickets stop working. mustChange makes the next login lead to the change
// form (for a password the administrator handed over).
func (s *Service) SetPassword(ctx context.Context, by Actor, id, password string, mustChange bool) error {
	rec, err := s.record(ctx, id)
	if err != nil {
		return err
	}
	if err := s.checkPassword(password, rec.Login, rec.Email); err != nil {
		return fmt.Errorf("auth: set password: %w", err)
	}
	u, err := s.applyPassword(ctx, id, password, mustChange)
	if err != nil {
		return err
	}
	s.event(ctx, slog.LevelInfo, "password set by administrator", append(subject(u, by), slog.Bool("must_change", mustChange))...)
	return nil
}

// applyPassword hashes password and stores it for user id, clears the
// failure counters and ends what the old password opened.
func (s *Service) applyPassword(ctx context.Context, id, password string, mustChange bool) (*User, error) {
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	rec, err := s.updateUser(ctx, id, func(r *userRecord) error {
		r.Hash = hash
		r.PasswordChangedAt = now
		r.MustChangePassword = mustChange
		r.RecentFailures, r.LockedUntil = nil, time.Time{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.DeleteUserSessions(ctx, id); err != nil {
		return nil, err
	}
	if err := s.voidResetAndTicket(ctx, id); err != nil {
		return nil, err
	}
	return rec.User.clone(), nil
}

// ChangePassword is a user changing their own password: old must be the
// current password (a wrong one counts as a failed login and comes back as
// a *chatter.ValidationError for FieldOldPassword, or a *LockedError), and
// the new one must differ from it and pass the policy. Every session of the
// user ends, the current one included: create a new one for the user
// (CreateSession) to stay signed in.
func (s *Service) ChangePassword(ctx context.Context, id, old, password, addr string) (*User, error) {
	addr = clip(addr, maxAddrLen)
	rec, err := s.record(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if rec.LockedAt(now) {
		return nil, &LockedError{Until: rec.LockedUntil}
	}
	if password == old {
		return nil, fmt.Errorf("auth: change password: %w", invalid(FieldPassword, textSamePassword))
	}
	if err := s.checkPassword(password, rec.Login, rec.Email); err != nil {
		return nil, fmt.Errorf("auth: change password: %w", err)
	}
	ok, _, err := s.verifyPassword(ctx, rec.Hash, old)
	if err != nil && !errors.Is(err, errBadHash) {
		return nil, err
	}
	if !ok {
		locked, err := s.fail(ctx, rec, addr, "wrong current password")
		if err != nil {
			return nil, err
		}
		if locked != nil {
			return nil, locked
		}
		return nil, fmt.Errorf("auth: change password: %w", invalid(FieldOldPassword, chatter.T("Текущий пароль указан неверно.",
			"The current password is wrong.")))
	}
	u, err := s.applyPassword(ctx, id, password, false)
	if err != nil {
		return nil, err
	}
	s.event(ctx, slog.LevelInfo, "password changed", subject(u, u.Actor(addr))...)
	return u, nil
}

// Block stops user id from logging in (BlockedError after a right
// password) and ends their sessions. Administrators cannot block themselves
// or the last active administrator.
func (s *Service) Block(ctx context.Context, by Actor, id string) error {
	rec, err := s.record(ctx, id)
	if err != nil {
		return err
	}
	if err := s.checkNotLastAdmin(ctx, by, &rec.User); err != nil {
		return err
	}
	now := s.now()
	nrec, err := s.updateUser(ctx, id, func(r *userRecord) error {
		if r.Blocked() {
			return errUnchanged
		}
		r.BlockedAt, r.BlockedBy = now, by.Login
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := s.DeleteUserSessions(ctx, id); err != nil {
		return err
	}
	s.event(ctx, slog.LevelWarn, "user blocked", subject(&nrec.User, by)...)
	return nil
}

// Unblock lets a blocked user log in again.
func (s *Service) Unblock(ctx context.Context, by Actor, id string) error {
	rec, err := s.updateUser(ctx, id, func(r *userRecord) error {
		if !r.Blocked() {
			return errUnchanged
		}
		r.BlockedAt, r.BlockedBy = time.Time{}, ""
		return nil
	})
	if err != nil {
		return err
	}
	s.event(ctx, slog.LevelInfo, "user unblocked", subject(&rec.User, by)...)
	return nil
}

// Unlock lifts a lockout after failed logins and forgets the failures.
func (s *Service) Unlock(ctx context.Context, by Actor, id string) error {
	rec, err := s.updateUser(ctx, id, func(r *userRecord) error {
		if len(r.RecentFailures) == 0 && r.LockedUntil.IsZero() {
			return errUnchanged
		}
		r.RecentFailures, r.LockedUntil = nil, time.Time{}
		return nil
	})
	if err != nil {
		return err
	}
	s.event(ctx, slog.LevelInfo, "user unlocked", subject(&rec.User, by)...)
	return nil
}

// SetAccessExpiry makes user id's access end at at (zero: never). The UI
// turns a date into the instant it means (say, the end of that day in the
// company's time zone). An end in the past takes effect at once: sessions
// end and logins get AccessExpiredError; it is refused for oneself and for
// the last active administrator.
func (s *Service) SetAccessExpiry(ctx context.Context, by Actor, id string, at time.Time) error {
	rec, err := s.record(ctx, id)
	if err != nil {
		return err
	}
	now := s.now()
	if !at.IsZero() && !now.Before(at) {
		if err := s.checkNotLastAdmin(ctx, by, &rec.User); err != nil {
			return err
		}
	}
	nrec, err := s.updateUser(ctx, id, func(r *userRecord) error {
		if r.AccessExpiresAt.Equal(at) {
			return errUnchanged
		}
		r.AccessExpiresAt = at
		return nil
	})
	if err != nil {
		return err
	}
	if nrec.AccessExpiredAt(now) {
		if _, err := s.DeleteUserSessions(ctx, id); err != nil {
			return err
		}
	}
	attr := slog.String("access_expires", "never")
	if !at.IsZero() {
		attr = timeAttr("access_expires", at)
	}
	s.event(ctx, slog.LevelInfo, "access expiry set", append(subject(&nrec.User, by), attr)...)
	return nil
}

// ForcePasswordChange sets (or clears) the demand for a new password at the
// next login (gitea's "must change password"). Sessions of the user end:
// their next request leads to the login page, and the login to the change
// form.
func (s *Service) ForcePasswordChange(ctx context.Context, by Actor, id string, force bool) error {
	rec, err := s.updateUser(ctx, id, func(r *userRecord) error {
		if r.MustChangePassword == force {
			return errUnchanged
		}
		r.MustChangePassword = force
		return nil
	})
	if err != nil {
		return err
	}
	if force {
		if _, err := s.DeleteUserSessions(ctx, id); err != nil {
			return err
		}
	}
	s.event(ctx, slog.LevelInfo, "password change forced", append(subject(&rec.User, by), slog.Bool("force", force))...)
	return nil
}

// SetLanguage sets user id's language (LangRU or LangEN), also in their
// live sessions.
func (s *Service) SetLanguage(ctx context.Context, by Actor, id, lang string) error {
	if err := checkLanguage(lang); err != nil {
		return fmt.Errorf("auth: set language: %w", err)
	}
	rec, err := s.updateUser(ctx, id, func(r *userRecord) error {
		if r.Language == lang {
			return errUnchanged
		}
		r.Language = lang
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.updateSessions(ctx, id, func(ss *sessionRecord) bool {
		changed := ss.Language != lang
		ss.Language = lang
		return changed
	}); err != nil {
		return err
	}
	s.event(ctx, slog.LevelInfo, "language changed", append(subject(&rec.User, by), slog.String("language", lang))...)
	return nil
}

// SetRole sets user id's role and, for a manager, workspaces. Demoting
// oneself or the last active administrator is refused. Sessions continue:
// every request reads the user's current role.
func (s *Service) SetRole(ctx context.Context, by Actor, id string, role Role, workspaces []string) error {
	if err := checkRole(role); err != nil {
		return fmt.Errorf("auth: set role: %w", err)
	}
	ws, err := cleanWorkspaces(role, workspaces)
	if err != nil {
		return fmt.Errorf("auth: set role: %w", err)
	}
	rec, err := s.record(ctx, id)
	if err != nil {
		return err
	}
	if rec.IsAdmin() && role != RoleAdmin {
		if err := s.checkNotLastAdmin(ctx, by, &rec.User); err != nil {
			return err
		}
	}
	var old Role
	nrec, err := s.updateUser(ctx, id, func(r *userRecord) error {
		old = r.Role
		if r.Role == role && slices.Equal(r.Workspaces, ws) {
			return errUnchanged
		}
		r.Role, r.Workspaces = role, ws
		return nil
	})
	if err != nil {
		return err
	}
	s.event(ctx, slog.LevelInfo, "role changed", append(subject(&nrec.User, by), slog.String("old_role", string(old)),
		slog.String("role", string(role)), slog.String("workspaces", strings.Join(ws, ",")))...)
	return nil
}

// SetProfile sets user id's display name (empty: the login) and e-mail
// address. A new address must be free, as in Create.
func (s *Service) SetProfile(ctx context.Context, by Actor, id, displayName, email string) error {
	displayName, email = strings.TrimSpace(displayName), strings.TrimSpace(email)
	if err := errors.Join(checkName(displayName), checkEmail(email)); err != nil {
		return fmt.Errorf("auth: set profile: %w", err)
	}
	rec, err := s.record(ctx, id)
	if err != nil {
		return err
	}
	oldKey, newKey := keyEmail+normalize(rec.Email), keyEmail+normalize(email)
	if newKey != oldKey {
		ok, err := s.claim(ctx, newKey, id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("auth: set profile: %w", invalid(FieldEmail, chatter.T("Этот адрес электронной почты уже используется.", "This e-mail address is in use.")))
		}
	}
	var oldEmail string
	nrec, err := s.updateUser(ctx, id, func(r *userRecord) error {
		oldEmail = r.Email
		name := cmp.Or(displayName, r.Login)
		if r.DisplayName == name && r.Email == email {
			return errUnchanged
		}
		r.DisplayName, r.Email = name, email
		return nil
	})
	if err != nil {
		if newKey != oldKey {
			s.release(ctx, newKey, id)
		}
		return err
	}
	if k := keyEmail + normalize(oldEmail); k != newKey {
		s.release(ctx, k, id)
	}
	s.event(ctx, slog.LevelInfo, "profile changed", append(subject(&nrec.User, by), slog.String("email", email))...)
	return nil
}

// Delete removes user id, their sessions, reset link and ticket, and frees
// their login and e-mail address. Deleting oneself or the last active
// administrator is refused.
func (s *Service) Delete(ctx context.Context, by Actor, id string) error {
	rec, err := s.record(ctx, id)
	if err != nil {
		return err
	}
	if err := s.checkNotLastAdmin(ctx, by, &rec.User); err != nil {
		return err
	}
	var gone *userRecord
	_, _, err = update(ctx, s, keyUser+id, func(cur *userRecord) (*userRecord, error) {
		if cur == nil {
			return nil, ErrUserNotFound
		}
		gone = cur
		return nil, nil
	})
	if err != nil {
		return err
	}
	s.release(ctx, keyLogin+normalize(gone.Login), id)
	s.release(ctx, keyEmail+normalize(gone.Email), id)
	if _, err := s.DeleteUserSessions(ctx, id); err != nil {
		return err
	}
	if err := s.voidResetAndTicket(ctx, id); err != nil {
		return err
	}
	s.event(ctx, slog.LevelWarn, "user deleted", subject(&gone.User, by)...)
	return nil
}
