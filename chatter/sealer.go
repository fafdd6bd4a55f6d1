package chatter

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Sealer encrypts secrets at rest (OAuth tokens, MTProto session blobs) with
// AES-256-GCM under keys the application supplies, and supports key rotation:
// new data is sealed with the current key, data sealed with any known key
// opens. A Sealer is safe for concurrent use.
//
// Sealed format: 'v1' version byte 0x01, key id length (1 byte), key id,
// 12-byte nonce, ciphertext with tag. The additional data (for example
// "token:workspace:account") binds a blob to its row so it cannot be moved.
type Sealer struct {
	current string
	aeads   map[string]cipher.AEAD
}

const sealVersion = 0x01

// ErrUnseal is returned by Open for data that was tampered with, sealed with
// an unknown key, bound to other additional data, or is not sealed at all.
var ErrUnseal = errors.New("chatter: cannot open sealed data")

// NewSealer returns a Sealer that seals with keys[current] and opens with any
// key in keys. Each key must be 32 bytes; key ids must be 1..255 bytes.
func NewSealer(current string, keys map[string][]byte) (*Sealer, error) {
	if _, ok := keys[current]; !ok {
		return nil, fmt.Errorf("chatter: sealer: current key %q is not among the keys", current)
	}
	s := &Sealer{current: current, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, key := range keys {
		if len(id) == 0 || len(id) > 255 {
			return nil, fmt.Errorf("chatter: sealer: key id %q must be 1..255 bytes", id)
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("chatter: sealer: key %q is %d bytes, want 32", id, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, errorf("chatter: sealer: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, errorf("chatter: sealer: key %q: %w", id, err)
		}
		s.aeads[id] = aead
	}
	return s, nil
}

// CurrentKeyID returns the id of the key new data is sealed with.
func (s *Sealer) CurrentKeyID() string { return s.current }

// Seal encrypts plaintext bound to additionalData with the current key.
func (s *Sealer) Seal(plaintext, additionalData []byte) ([]byte, error) {
	aead := s.aeads[s.current]
	out := make([]byte, 0, 2+len(s.current)+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out = append(out, sealVersion, byte(len(s.current)))
	out = append(out, s.current...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, errorf("chatter: sealer: nonce: %w", err)
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, additionalData), nil
}

// Open decrypts data produced by Seal with the same additionalData. It returns
// an error wrapping ErrUnseal when that is not possible.
func (s *Sealer) Open(sealed, additionalData []byte) ([]byte, error) {
	id, rest, err := s.split(sealed)
	if err != nil {
		return nil, err
	}
	aead, ok := s.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: unknown key id %q", ErrUnseal, id)
	}
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrUnseal)
	}
	nonce, ct := rest[:aead.NonceSize()], rest[aead.NonceSize():]
	pt, err := aead.Open(nil, nonce, ct, additionalData)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrUnseal)
	}
	return pt, nil
}

// KeyID returns the id of the key sealed was sealed with.
func (s *Sealer) KeyID(sealed []byte) (string, error) {
	id, _, err := s.split(sealed)
	return id, err
}

// NeedsRotation reports whether sealed was sealed with a key other than the
// current one (re-seal it: Open, then Seal).
func (s *Sealer) NeedsRotation(sealed []byte) bool {
	id, _, err := s.split(sealed)
	return err == nil && id != s.current
}

func (s *Sealer) split(sealed []byte) (id string, rest []byte, err error) {
	if len(sealed) < 2 || sealed[0] != sealVersion {
		return "", nil, fmt.Errorf("%w: not sealed data", ErrUnseal)
	}
	n := int(sealed[1])
	if n == 0 || len(sealed) < 2+n {
		return "", nil, fmt.Errorf("%w: truncated header", ErrUnseal)
	}
	return string(sealed[2 : 2+n]), sealed[2+n:], nil
}
