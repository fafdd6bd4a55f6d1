package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// Errors matched with errors.Is. Message gives the text a page shows for
// each of them.
var (
	// ErrBadCredentials: the login (or e-mail) and password do not match a
	// user. Also the answer for a login that does not exist.
	ErrBadCredentials = errors.New("auth: wrong login or password")
	// ErrMustChangePassword: an administrator asked for a new password at
	// the next login. Authenticate returns it as a *MustChangePasswordError
	// carrying the change ticket.
	ErrMustChangePassword = errors.New("auth: the password must be changed")
	// ErrNoSession: the session cookie is missing, malformed, unknown,
	// expired, ended, or belongs to a user who may no longer log in.
	ErrNoSession = errors.New("auth: no valid session")
	// ErrBadResetToken: the reset link is unknown, used or expired.
	ErrBadResetToken = errors.New("auth: invalid or expired reset link")
	// ErrBadTicket: the change-password ticket is unknown, used or expired.
	ErrBadTicket = errors.New("auth: invalid or expired change ticket")
	// ErrUserNotFound: no user has that id, login or e-mail. It wraps
	// chatter.ErrNotFound.
	ErrUserNotFound = fmt.Errorf("auth: user %w", chatter.ErrNotFound)
	// ErrLastAdmin: the change (block, delete, demote, end of access) would
	// leave no active administrator.
	ErrLastAdmin = errors.New("auth: the last active administrator cannot be blocked, deleted, demoted or expired")
	// ErrSelf: administrators cannot block, delete, demote or expire
	// themselves.
	ErrSelf = errors.New("auth: administrators cannot block, delete, demote or expire themselves")
	// ErrSetupDone: CreateFirstAdmin was called when an administrator exists.
	ErrSetupDone = errors.New("auth: an administrator already exists")
)

// LockedError: too many failed logins; no password is accepted until Until.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	return "auth: account locked until " + e.Until.UTC().Format(time.RFC3339)
}

// BlockedError: an administrator blocked the account.
type BlockedError struct{ At time.Time }

func (e *BlockedError) Error() string { return "auth: account blocked by an administrator" }

// AccessExpiredError: the account's access ended at On (set by an
// administrator).
type AccessExpiredError struct{ On time.Time }

func (e *AccessExpiredError) Error() string {
	return "auth: access expired on " + e.On.UTC().Format(time.RFC3339)
}

// PasswordExpiredError: the password is older than Config.PasswordMaxAge.
// The password was right: Ticket lets the change form set a new one
// (ChangePasswordWithTicket) without asking for the old one again.
type PasswordExpiredError struct {
	ExpiredAt time.Time
	Ticket    string // secret: put it in the form, never in a log or URL
}

func (e *PasswordExpiredError) Error() string { return "auth: the password has expired" }

// MustChangePasswordError: an administrator asked for a new password (or the
// password is one-time). The password was right: Ticket works as for
// PasswordExpiredError. errors.Is(err, ErrMustChangePassword) holds.
type MustChangePasswordError struct {
	Ticket string // secret: put it in the form, never in a log or URL
}

func (e *MustChangePasswordError) Error() string { return ErrMustChangePassword.Error() }

// Is makes errors.Is(err, ErrMustChangePassword) true.
func (e *MustChangePasswordError) Is(target error) bool { return target == ErrMustChangePassword }

// ChangeTicket returns the change-password ticket carried by a
// *PasswordExpiredError or *MustChangePasswordError in err's chain.
func ChangeTicket(err error) (string, bool) {
	var pe *PasswordExpiredError
	if errors.As(err, &pe) && pe.Ticket != "" {
		return pe.Ticket, true
	}
	var me *MustChangePasswordError
	if errors.As(err, &me) && me.Ticket != "" {
		return me.Ticket, true
	}
	return "", false
}

// Problems collects the field-level problems in err (a
// *chatter.ValidationError, or several joined with errors.Join) by field,
// for showing each next to its form field. It returns nil when err has none.
func Problems(err error) map[string]chatter.Text {
	var out map[string]chatter.Text
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if ve, ok := err.(*chatter.ValidationError); ok {
			if out == nil {
				out = map[string]chatter.Text{}
			}
			if _, dup := out[ve.Field]; !dup {
				out[ve.Field] = ve.Problem
			}
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// Message returns what a page shows for err, in Russian and English, with
// times in loc (nil: UTC). It covers every error of this package; anything
// else reads as an internal error pointing at the event log.
func Message(err error, loc *time.Location) chatter.Text {
	if loc == nil {
		loc = time.UTC
	}
	var (
		locked  *LockedError
		blocked *BlockedError
		access  *AccessExpiredError
		expired *PasswordExpiredError
		ve      *chatter.ValidationError
	)
	switch {
	case err == nil:
		return chatter.Text{}
	case errors.As(err, &locked):
		at := locked.Until.In(loc).Format("15:04")
		return chatter.T(
			"Слишком много неудачных попыток входа: вход заблокирован до "+at+". Подождите или восстановите пароль по ссылке «Забыли пароль».",
			"Too many failed login attempts: login is locked until "+at+". Wait, or reset the password with “Forgot password”.")
	case errors.As(err, &blocked):
		return chatter.T("Учётная запись заблокирована администратором. Обратитесь к администратору системы.",
			"The account is blocked by an administrator. Contact the system administrator.")
	case errors.As(err, &access):
		on := access.On.In(loc).Format("02.01.2006")
		return chatter.T("Срок доступа истёк "+on+". Обратитесь к администратору системы, чтобы продлить доступ.",
			"Access expired on "+access.On.In(loc).Format("2006-01-02")+". Contact the system administrator to extend it.")
	case errors.As(err, &expired):
		return chatter.T("Срок действия пароля истёк. Задайте новый пароль.",
			"The password has expired. Choose a new password.")
	case errors.Is(err, ErrMustChangePassword):
		return chatter.T("Нужно сменить пароль: так решил администратор или пароль был одноразовым. Задайте новый пароль.",
			"You must change the password: an administrator asked for it or the password was one-time. Choose a new password.")
	case errors.Is(err, ErrBadCredentials):
		return chatter.T("Неверный логин (или email) или пароль. Проверьте раскладку клавиатуры и Caps Lock или воспользуйтесь ссылкой «Забыли пароль».",
			"Wrong login (or e-mail) or password. Check the keyboard layout and Caps Lock, or use “Forgot password”.")
	case errors.Is(err, ErrNoSession):
		return chatter.T("Сеанс завершён. Войдите снова.", "The session has ended. Please log in again.")
	case errors.Is(err, ErrBadResetToken):
		return chatter.T("Ссылка для восстановления пароля недействительна: она уже использована или устарела. Запросите новую.",
			"The password reset link is not valid: it was used or has expired. Request a new one.")
	case errors.Is(err, ErrBadTicket):
		return chatter.T("Время на смену пароля истекло. Войдите снова.", "The time to change the password has run out. Please log in again.")
	case errors.Is(err, ErrUserNotFound):
		return chatter.T("Пользователь не найден.", "User not found.")
	case errors.Is(err, ErrLastAdmin):
		return chatter.T("Нельзя удалить, заблокировать, лишить прав или доступа последнего действующего администратора.",
			"The last active administrator cannot be deleted, blocked, demoted or have their access ended.")
	case errors.Is(err, ErrSelf):
		return chatter.T("Нельзя заблокировать, удалить, лишить прав администратора или доступа собственную учётную запись.",
			"You cannot block, delete, demote or end the access of your own account.")
	case errors.Is(err, ErrSetupDone):
		return chatter.T("Администратор уже создан. Войдите под его учётной записью.",
			"An administrator already exists. Log in with that account.")
	case errors.As(err, &ve):
		return ve.Problem
	case errors.Is(err, chatter.ErrConflict):
		return chatter.T("Запись одновременно изменил кто-то другой. Повторите действие.",
			"Someone else changed the record at the same time. Please try again.")
	default:
		return chatter.T("Внутренняя ошибка. Повторите попытку позже; подробности — в журнале событий.",
			"Internal error. Try again later; the event log has the details.")
	}
}
