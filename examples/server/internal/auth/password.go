package auth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/chatterhq/sdk/chatter"
)

// HashParams are the argon2id parameters of a password hash. They are
// written into every hash (PHC string format), so changing them affects
// only new hashes and rehashes.
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultHash is OWASP's second argon2id profile (m=19 MiB, t=2, p=1), with
// a 16-byte salt and a 32-byte key: about 30 ms of one core and 19 MiB per
// hash on the 2-core reference machine. OWASP's first profile (46 MiB, t=1)
// costs as much time for 2.4 times the memory a burst of logins needs on a
// small server; HashConcurrency bounds that memory either way.
var DefaultHash = HashParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters read from a stored hash, so a damaged row cannot make
// a login allocate gigabytes or loop for minutes.
const (
	maxHashMemory  = 1 << 20 // 1 GiB
	maxHashTime    = 32
	maxPasswordLen = 1024 // bytes; longer inputs are refused before hashing
	phcPrefix      = "$argon2id$v=19$"
)

func (p HashParams) validate() error {
	switch {
	case p.Memory < 8*uint32(max(p.Threads, 1)) || p.Memory > maxHashMemory:
		return fmt.Errorf("memory %d KiB is outside 8×threads..%d: %w", p.Memory, maxHashMemory, chatter.ErrInvalid)
	case p.Time < 1 || p.Time > maxHashTime:
		return fmt.Errorf("time %d is outside 1..%d: %w", p.Time, maxHashTime, chatter.ErrInvalid)
	case p.Threads < 1:
		return fmt.Errorf("threads must be at least 1: %w", chatter.ErrInvalid)
	case p.SaltLen < 8 || p.SaltLen > 64:
		return fmt.Errorf("salt length %d is outside 8..64: %w", p.SaltLen, chatter.ErrInvalid)
	case p.KeyLen < 16 || p.KeyLen > 64:
		return fmt.Errorf("key length %d is outside 16..64: %w", p.KeyLen, chatter.ErrInvalid)
	}
	return nil
}

// phc is a parsed argon2id PHC string.
type phc struct {
	params    HashParams
	salt, key []byte
}

var b64 = base64.RawStdEncoding

func (h phc) String() string {
	return fmt.Sprintf("%sm=%d,t=%d,p=%d$%s$%s", phcPrefix, h.params.Memory, h.params.Time, h.params.Threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

var errBadHash = errors.New("auth: malformed password hash")

// parsePHC reads "$argon2id$v=19$m=…,t=…,p=…$salt$key" (unpadded standard
// base64), the format of the reference implementation and of libsodium.
func parsePHC(s string) (phc, error) {
	rest, ok := strings.CutPrefix(s, phcPrefix)
	if !ok {
		return phc{}, errBadHash
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return phc{}, errBadHash
	}
	var h phc
	seen := 0
	for i, kv := range strings.Split(parts[0], ",") {
		name, val, ok := strings.Cut(kv, "=")
		want := [...]string{"m", "t", "p"}
		if !ok || i >= len(want) || name != want[i] {
			return phc{}, errBadHash
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return phc{}, errBadHash
		}
		switch name {
		case "m":
			h.params.Memory = uint32(n)
		case "t":
			h.params.Time = uint32(n)
		case "p":
			if n > 255 {
				return phc{}, errBadHash
			}
			h.params.Threads = uint8(n)
		}
		seen++
	}
	if seen != 3 {
		return phc{}, errBadHash
	}
	var err error
	if h.salt, err = b64.Strict().DecodeString(parts[1]); err != nil {
		return phc{}, errBadHash
	}
	if h.key, err = b64.Strict().DecodeString(parts[2]); err != nil {
		return phc{}, errBadHash
	}
	h.params.SaltLen, h.params.KeyLen = uint32(len(h.salt)), uint32(len(h.key))
	// Only the canonical form: base64 decoding skips line breaks, and
	// numbers may have leading zeros.
	if h.params.validate() != nil || h.String() != s {
		return phc{}, errBadHash
	}
	return h, nil
}

// compute runs argon2id under the concurrency bound.
func (s *Service) compute(ctx context.Context, password string, salt []byte, p HashParams) ([]byte, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	defer func() { <-s.sem }()
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// hashPassword returns the PHC string of password with the configured
// parameters and a fresh salt.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	p := s.cfg.Hash
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(s.cfg.Rand, salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key, err := s.compute(ctx, password, salt, p)
	if err != nil {
		return "", err
	}
	return phc{params: p, salt: salt, key: key}.String(), nil
}

// verifyPassword reports whether password matches the PHC string encoded,
// and whether encoded uses parameters other than the configured ones (it
// should be rehashed).
func (s *Service) verifyPassword(ctx context.Context, encoded, password string) (ok, stale bool, err error) {
	h, err := parsePHC(encoded)
	if err != nil {
		// Spend the same work as a real verification before failing.
		if _, err := s.compute(ctx, password, make([]byte, s.cfg.Hash.SaltLen), s.cfg.Hash); err != nil {
			return false, false, err
		}
		return false, false, err
	}
	key, err := s.compute(ctx, password, h.salt, h.params)
	if err != nil {
		return false, false, err
	}
	return subtle.ConstantTimeCompare(key, h.key) == 1, h.params != s.cfg.Hash, nil
}

// dummyVerify spends the work of one verification, for logins that match no
// user, so timing does not tell them apart.
func (s *Service) dummyVerify(ctx context.Context, password string) error {
	_, err := s.compute(ctx, password, make([]byte, s.cfg.Hash.SaltLen), s.cfg.Hash)
	return err
}

// Field names of the validation errors (chatter.ValidationError.Field) this
// package returns, matching the form fields of the web UI.
const (
	FieldLogin       = "login"
	FieldEmail       = "email"
	FieldDisplayName = "display_name"
	FieldRole        = "role"
	FieldWorkspaces  = "workspaces"
	FieldLanguage    = "language"
	FieldPassword    = "password"     // the new password
	FieldOldPassword = "old_password" // the current password, when changing one's own
)

var textSamePassword = chatter.T("Новый пароль должен отличаться от текущего.", "The new password must differ from the current one.")

func invalid(field string, text chatter.Text) error {
	return &chatter.ValidationError{Field: field, Problem: text}
}

// checkPassword applies the password policy: at least MinPasswordLength
// characters, at most 1024 bytes, valid UTF-8, and not containing the login
// (of 3 characters or more; any login when they are equal) or the e-mail
// address's local part (of 4 characters or more), ignoring case. It returns
// a *chatter.ValidationError for FieldPassword.
func (s *Service) checkPassword(password, login, email string) error {
	n := s.cfg.MinPasswordLength
	switch {
	case !utf8.ValidString(password):
		return invalid(FieldPassword, chatter.T("Пароль содержит недопустимые символы.", "The password contains invalid characters."))
	case utf8.RuneCountInString(password) < n:
		return invalid(FieldPassword, chatter.T(
			fmt.Sprintf("Пароль слишком короткий: минимальная длина — %d знаков.", n),
			fmt.Sprintf("The password is too short: use at least %d characters.", n)))
	case len(password) > maxPasswordLen:
		return invalid(FieldPassword, chatter.T(
			fmt.Sprintf("Пароль слишком длинный: не больше %d байт.", maxPasswordLen),
			fmt.Sprintf("The password is too long: at most %d bytes.", maxPasswordLen)))
	}
	pw := strings.ToLower(password)
	if l := normalize(login); l != "" && (pw == l || utf8.RuneCountInString(l) >= 3 && strings.Contains(pw, l)) {
		return invalid(FieldPassword, chatter.T("Пароль не должен совпадать с логином или содержать его.",
			"The password must not be or contain the login."))
	}
	if e := normalize(email); e != "" {
		local, _, _ := strings.Cut(e, "@")
		if pw == e || utf8.RuneCountInString(local) >= 4 && strings.Contains(pw, local) {
			return invalid(FieldPassword, chatter.T("Пароль не должен содержать адрес электронной почты.",
				"The password must not contain the e-mail address."))
		}
	}
	return nil
}

// otpAlphabet has no look-alikes (0/O, 1/l/I).
const otpAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GenerateOneTimePassword returns a strong random password (16 characters
// of a 56-letter alphabet without look-alikes, ~93 bits, grouped by four
// with dashes) for a new account or an administrator's reset. Give it to a
// user with MustChangePassword set, so that it works for one login only.
func (s *Service) GenerateOneTimePassword() (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for n := 0; n < 16; {
		if _, err := io.ReadFull(s.cfg.Rand, buf); err != nil {
			return "", fmt.Errorf("auth: one-time password: %w", err)
		}
		// Rejection sampling keeps the letters uniform.
		if int(buf[0]) >= 256/len(otpAlphabet)*len(otpAlphabet) {
			continue
		}
		if n > 0 && n%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(otpAlphabet[int(buf[0])%len(otpAlphabet)])
		n++
	}
	return b.String(), nil
}
