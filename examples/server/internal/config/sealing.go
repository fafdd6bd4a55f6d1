package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// NewSealingKey returns a fresh sealing key in its text form (64 hex
// digits), read from r (crypto/rand.Reader when nil).
func NewSealingKey(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("config: new sealing key: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// EnsureSealingKey makes sure c has a sealing key. When Store.SealingKey
// is empty it creates the key file (SealingKeyPath, mode 0600, its
// directory 0700) with a fresh key. The file appears whole or not at all
// (written aside, then hard-linked into place), and when another process
// created it first, its key is used instead. It returns the key and whether
// this call created the file (the caller then warns the operator to back
// the file up). r is the random source (nil: crypto/rand).
func EnsureSealingKey(c *Config, r io.Reader) (key []byte, created bool, err error) {
	if c.Store.SealingKey != "" {
		key, err := ParseSealingKey(c.Store.SealingKey)
		return key, false, err
	}
	path := c.SealingKeyPath()
	if path == "" {
		return nil, false, errors.New("config: no sealing key and no sealing key file")
	}
	text, err := NewSealingKey(r)
	if err != nil {
		return nil, false, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("config: sealing key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".sealing-key-*")
	if err != nil {
		return nil, false, fmt.Errorf("config: sealing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(text + "\n")
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, false, fmt.Errorf("config: write sealing key: %w", werr)
	}
	switch err := os.Link(tmp.Name(), path); {
	case errors.Is(err, fs.ErrExist):
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, false, fmt.Errorf("config: sealing key: %w", err)
		}
		existing := strings.TrimSpace(string(data))
		key, err := ParseSealingKey(existing)
		if err != nil {
			return nil, false, fmt.Errorf("config: sealing key file %s: %w", path, err)
		}
		c.Store.SealingKey = existing
		return key, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("config: sealing key: %w", err)
	}
	key, _ = hex.DecodeString(text)
	c.Store.SealingKey = text
	return key, true, nil
}
