package chatter

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestSealerRoundTrip(t *testing.T) {
	t.Parallel()
	s, err := NewSealer("k1", map[string][]byte{"k1": testKey(1)})
	if err != nil {
		t.Fatal(err)
	}
	ad := []byte("token:ws1:acme")
	for _, pt := range [][]byte{[]byte("refresh-token-value"), {}, bytes.Repeat([]byte{0}, 4096)} {
		sealed, err := s.Seal(pt, ad)
		if err != nil {
			t.Fatal(err)
		}
		if len(pt) > 4 && bytes.Contains(sealed, pt) {
			t.Error("plaintext visible in sealed data")
		}
		got, err := s.Open(sealed, ad)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, %v; want %q", got, err, pt)
		}
		if id, err := s.KeyID(sealed); id != "k1" || err != nil {
			t.Errorf("KeyID = %q, %v", id, err)
		}
		if s.NeedsRotation(sealed) {
			t.Error("fresh data needs rotation")
		}
	}
	a, _ := s.Seal([]byte("x"), ad)
	b, _ := s.Seal([]byte("x"), ad)
	if bytes.Equal(a, b) {
		t.Error("two seals of the same plaintext are equal: nonce reused")
	}
}

func TestSealerRejects(t *testing.T) {
	t.Parallel()
	s, _ := NewSealer("k1", map[string][]byte{"k1": testKey(1)})
	ad := []byte("token:ws1:acme")
	sealed, _ := s.Seal([]byte("secret"), ad)

	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, err := s.Open(bad, ad); !errors.Is(err, ErrUnseal) {
			t.Fatalf("byte %d flipped: Open = %v; want ErrUnseal", i, err)
		}
	}
	if _, err := s.Open(sealed, []byte("token:ws2:acme")); !errors.Is(err, ErrUnseal) {
		t.Errorf("wrong AD: %v", err)
	}
	for _, bad := range [][]byte{nil, {0x01}, {0x02, 2, 'k', '1'}, {0x01, 0}, {0x01, 5, 'k'}, sealed[:len(sealed)-1], sealed[:5]} {
		if _, err := s.Open(bad, ad); !errors.Is(err, ErrUnseal) {
			t.Errorf("Open(%x) = %v; want ErrUnseal", bad, err)
		}
	}
	if _, err := s.KeyID([]byte("plain")); !errors.Is(err, ErrUnseal) {
		t.Errorf("KeyID(plain) = %v", err)
	}
	if s.NeedsRotation([]byte("plain")) {
		t.Error("unsealed data reported as needing rotation")
	}
}

func TestSealerRotation(t *testing.T) {
	t.Parallel()
	old, _ := NewSealer("2024", map[string][]byte{"2024": testKey(1)})
	ad := []byte("session:ws1:+7999")
	oldData, _ := old.Seal([]byte("session-blob"), ad)

	s, err := NewSealer("2025", map[string][]byte{"2024": testKey(1), "2025": testKey(2)})
	if err != nil {
		t.Fatal(err)
	}
	if s.CurrentKeyID() != "2025" || !s.NeedsRotation(oldData) {
		t.Fatal("old data not flagged for rotation")
	}
	pt, err := s.Open(oldData, ad)
	if err != nil || string(pt) != "session-blob" {
		t.Fatalf("open old-key data: %q, %v", pt, err)
	}
	resealed, _ := s.Seal(pt, ad)
	if s.NeedsRotation(resealed) {
		t.Error("resealed data still needs rotation")
	}
	if _, err := old.Open(resealed, ad); !errors.Is(err, ErrUnseal) || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("a sealer without the new key opened it: %v", err)
	}
	// Retiring the old key makes old data unreadable, with a clear error.
	retired, _ := NewSealer("2025", map[string][]byte{"2025": testKey(2)})
	if _, err := retired.Open(oldData, ad); !errors.Is(err, ErrUnseal) || !strings.Contains(err.Error(), `"2024"`) {
		t.Errorf("Open with a retired key = %v", err)
	}
}

func TestNewSealerErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		current string
		keys    map[string][]byte
	}{
		"missing current": {"k2", map[string][]byte{"k1": testKey(1)}},
		"short key":       {"k1", map[string][]byte{"k1": make([]byte, 16)}},
		"empty id":        {"", map[string][]byte{"": testKey(1)}},
		"long id":         {"k1", map[string][]byte{"k1": testKey(1), strings.Repeat("x", 256): testKey(2)}},
	} {
		if _, err := NewSealer(tc.current, tc.keys); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzSealerOpen(f *testing.F) {
	s, _ := NewSealer("k1", map[string][]byte{"k1": testKey(1), "k0": testKey(0)})
	good, _ := s.Seal([]byte("hello"), []byte("ad"))
	f.Add(good, []byte("ad"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{0x01, 2, 'k', '1'}, []byte("ad"))
	f.Add([]byte{0x01, 255}, []byte(nil))
	f.Fuzz(func(t *testing.T, data, ad []byte) {
		pt, err := s.Open(data, ad)
		if err != nil {
			if !errors.Is(err, ErrUnseal) {
				t.Fatalf("Open error %v does not wrap ErrUnseal", err)
			}
			if pt != nil {
				t.Fatal("plaintext returned with an error")
			}
		}
		// Whatever the input, a seal of it opens to it.
		sealed, err := s.Seal(data, ad)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Open(sealed, ad)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip of %x: %x, %v", data, got, err)
		}
	})
}
