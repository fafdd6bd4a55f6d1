package auth

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter/chattertest"
)

const (
	seedID     = "0123456789abcdef0123456789abcdef"
	seedSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	seedPHC    = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8J8FQ3aVHkKZgAV8lQ1dRm3vE4Ij1zD2p0cZg3Jx9oM"
)

// Session cookies come from browsers: any string must parse or be refused
// without panicking, and what parses must print back as itself.
func FuzzParseSessionToken(f *testing.F) {
	for _, s := range []string{seedID + ".0." + seedSecret, seedID + ".17." + seedSecret, seedID + ".00." + seedSecret,
		seedID + ".-1." + seedSecret, seedID + "." + seedSecret, "", ".", "..", strings.ToUpper(seedID) + ".0." + seedSecret} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, slot, secret, ok := parseSessionToken(s)
		if !ok {
			return
		}
		if got := id + "." + strconv.Itoa(slot) + "." + b64url.EncodeToString(secret); got != s {
			t.Fatalf("parsed %q but prints as %q", s, got)
		}
		if len(secret) != secretLen || !validID(id) || slot < 0 || slot > maxSlot {
			t.Fatalf("accepted %q: id %q slot %d secret %d bytes", s, id, slot, len(secret))
		}
	})
}

// Reset links and change tickets come from URLs and forms.
func FuzzParseUserToken(f *testing.F) {
	for _, s := range []string{seedID + "." + seedSecret, seedID + ".", seedID + "." + seedSecret + "=", "x." + seedSecret, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, ok := parseUserToken(s)
		if !ok {
			return
		}
		if got := id + "." + b64url.EncodeToString(secret); got != s {
			t.Fatalf("parsed %q but prints as %q", s, got)
		}
	})
}

// Hashes come from the store, which a damaged row or another tool may have
// written: parsing must never panic, and must bound the parameters.
func FuzzParsePHC(f *testing.F) {
	for _, s := range []string{seedPHC, "$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$8J8FQ3aVHkKZgAV8lQ1dRm3vE4Ij1zD2p0cZg3Jx9oM",
		"$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$a2V5", "$argon2id$v=19$t=2,m=19456,p=1$c29tZXNhbHQ$a2V5", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			return
		}
		if h.params.validate() != nil {
			t.Fatalf("accepted out-of-bounds parameters %+v from %q", h.params, s)
		}
		if got := h.String(); got != s {
			t.Fatalf("parsed %q but prints as %q", s, got)
		}
	})
}

func TestPHCRoundTrip(t *testing.T) {
	svc, err := New(chattertest.NewMemStore(), Config{Hash: HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	require.NoError(t, err)
	ctx := context.Background()
	enc, err := svc.hashPassword(ctx, "пароль с кириллицей")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$"), enc)
	h, err := parsePHC(enc)
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(enc, h.String()))
	for pw, want := range map[string]bool{"пароль с кириллицей": true, "пароль с кириллицеи": false, "": false} {
		ok, stale, err := svc.verifyPassword(ctx, enc, pw)
		require.NoError(t, err)
		require.Equal(t, want, ok, pw)
		require.False(t, stale)
	}
	// The reference vector's shape from the PHC spec parses.
	_, err = parsePHC(seedPHC)
	require.NoError(t, err)
	_, _, err = svc.verifyPassword(ctx, "garbage", "x")
	require.ErrorIs(t, err, errBadHash)
}

// The unknown-login table stays bounded: a bucket keeps at most
// unknownEntries logins, dropping the one whose last failure is oldest.
func TestUnknownBucketBounded(t *testing.T) {
	store := chattertest.NewMemStore()
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	svc, err := New(store, Config{Hash: HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, MinResponse: -1,
		Now: func() time.Time { return now }})
	require.NoError(t, err)
	ctx := context.Background()
	row, _, err := svc.bucketKey(ctx, "seed")
	require.NoError(t, err)
	// Find unknownEntries+1 logins that share one bucket (the key is known
	// here, as it is not to a stranger).
	var logins []string
	for i := 0; len(logins) < unknownEntries+1; i++ {
		l := fmt.Sprintf("ghost%d", i)
		r, _, err := svc.bucketKey(ctx, l)
		require.NoError(t, err)
		if r == row {
			logins = append(logins, l)
		}
	}
	for _, l := range logins {
		require.ErrorIs(t, svc.unknownLogin(ctx, l, "pw", ""), ErrBadCredentials)
		now = now.Add(time.Second)
	}
	var b unknownBucket
	_, found, err := svc.load(ctx, row, &b)
	require.NoError(t, err)
	require.True(t, found)
	require.Len(t, b.Entries, unknownEntries)
	_, first, _ := svc.bucketKey(ctx, logins[0])
	require.NotContains(t, b.Entries, first, "the oldest entry gives way")
	_, last, _ := svc.bucketKey(ctx, logins[len(logins)-1])
	require.Contains(t, b.Entries, last)

	// Idle entries are dropped by Prune, and an empty bucket becomes a tombstone.
	now = now.Add(time.Hour)
	n, err := svc.Prune(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, found, err = svc.load(ctx, row, &b)
	require.NoError(t, err)
	require.False(t, found)
}
