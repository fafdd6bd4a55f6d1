package chatter

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// heldLeases refuses every lease, as a store does when another holder has it.
type heldLeases struct{}

func (heldLeases) AcquireLease(context.Context, string, string, string, time.Duration) (*Lease, error) {
	return nil, ErrLeaseHeld
}
func (heldLeases) RenewLease(context.Context, *Lease, time.Duration) (*Lease, error) {
	return nil, ErrLeaseLost
}
func (heldLeases) ReleaseLease(context.Context, *Lease) error { return nil }

// prefixRE finds the package prefixes in an error message: a lower-case
// word at the start or after ": ", followed by ": ".
var prefixRE = regexp.MustCompile(`(?:^|: )([a-z][a-z0-9]*): `)

// repeatedPrefix returns a package prefix that occurs twice in msg, or "".
func repeatedPrefix(msg string) string {
	seen := map[string]bool{}
	for _, m := range prefixRE.FindAllStringSubmatch(msg, -1) {
		if seen[m[1]] {
			return m[1]
		}
		seen[m[1]] = true
	}
	return ""
}

// The errors of the package wrap each other, its sentinels and
// *ValidationError, all starting with "chatter: ": a message says it once
// ("chatter: accept: invalid text: …", not "chatter: accept: chatter:
// invalid text: …"), and errors.Is still sees what is wrapped.
func TestErrorMessagesHaveOnePrefix(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupPipeline(t, nil)
	noWS := testMessage(1)
	noWS.Workspace = ""
	_, acceptNil := b.p.Accept(ctx, nil)
	_, acceptNoWS := b.p.Accept(ctx, noWS)
	_, batchNil := b.p.AcceptBatch(ctx, []*Message{testMessage(2), nil})
	replayMissing := b.p.Replay(ctx, "ws", testMessage(99).Key)

	closed := setupPipeline(t, nil)
	closed.store.saveErr = ErrClosed
	_, acceptClosed := closed.p.Accept(ctx, testMessage(3))
	_, batchClosed := closed.p.AcceptBatch(ctx, []*Message{testMessage(4), testMessage(5)})

	_, newPipeline := NewPipeline(PipelineConfig{})
	_, newDigest := NewDigest(nil, DigestConfig{})
	_, newEventLog := NewEventLog(nil, nil, EventLogConfig{})
	_, parseKey := ParseKey("tgbot:acct:x:1")
	_, parseKeyAccount := ParseKey("tgbot::1:1")
	noop := func(context.Context, *Lease) error { return nil }
	leaseNil := HoldLease(ctx, nil, "ws", "n", "h", time.Second, noop)
	leaseTTL := HoldLease(ctx, heldLeases{}, "ws", "n", "h", 0, noop)
	leaseHeld := HoldLease(ctx, heldLeases{}, "ws", "n", "h", time.Second, noop)
	// The lease-lost cause keepLease builds from a refused renewal.
	leaseLost := errorf("chatter: hold lease %q: %w", "n", errorf("%w: %w", ErrLeaseLost, ErrLeaseHeld))
	s, err := NewSealer("k1", map[string][]byte{"k1": make([]byte, 32)})
	require.NoError(t, err)
	sealed, err := s.Seal([]byte("x"), nil)
	require.NoError(t, err)
	sealed[len(sealed)-1] ^= 1
	_, unseal := s.Open(sealed, nil)

	for _, tc := range []struct {
		name string
		err  error
		want string
		is   error
	}{
		{"accept nil", acceptNil, "chatter: accept: invalid message: message is nil", ErrInvalid},
		{"accept without workspace", acceptNoWS, "chatter: accept: invalid workspace: workspace is empty", ErrInvalid},
		{"batch with nil", batchNil, "chatter: accept batch: message 1: invalid message: message is nil", ErrInvalid},
		{"replay missing", replayMissing, "chatter: replay " + testMessage(99).Key.String() + ": not found", ErrNotFound},
		{"accept, store closed", acceptClosed, "chatter: accept " + testMessage(3).Key.String() + ": closed", ErrClosed},
		{"batch, store closed", batchClosed, "chatter: accept batch of 2: closed", ErrClosed},
		{"new pipeline", newPipeline, "chatter: new pipeline: invalid ", ErrInvalid},
		{"new digest", newDigest, "chatter: new digest: invalid next: next notifier is nil", ErrInvalid},
		{"new event log", newEventLog, "chatter: new event log: invalid store: event store is nil", ErrInvalid},
		{"parse key", parseKey, `chatter: parse key "tgbot:acct:x:1": chat id: `, nil},
		{"parse key account", parseKeyAccount, "chatter: invalid key.account", ErrInvalid},
		{"lease store nil", leaseNil, "chatter: hold lease: invalid ls: lease store is nil", ErrInvalid},
		{"lease ttl", leaseTTL, `chatter: hold lease "n": invalid ttl: ttl must be positive`, ErrInvalid},
		{"lease held", leaseHeld, `chatter: hold lease "n": lease held by another holder`, ErrLeaseHeld},
		{"lease lost", leaseLost, `chatter: hold lease "n": lease lost: lease held by another holder`, ErrLeaseLost},
		{"unseal", unseal, "chatter: cannot open sealed data: authentication failed", ErrUnseal},
	} {
		require.Error(t, tc.err, tc.name)
		msg := tc.err.Error()
		if !strings.HasPrefix(msg, tc.want) {
			t.Errorf("%s: %q; want it to start with %q", tc.name, msg, tc.want)
		}
		if p := repeatedPrefix(msg); p != "" || strings.Count(msg, "chatter:") != 1 {
			t.Errorf("%s: %q repeats the prefix %q", tc.name, msg, p)
		}
		if tc.is != nil && !errors.Is(tc.err, tc.is) {
			t.Errorf("%s: %v does not wrap %v", tc.name, tc.err, tc.is)
		}
	}
	// What is wrapped is still found by type, and classified.
	var ve *ValidationError
	require.ErrorAs(t, acceptNoWS, &ve)
	require.Equal(t, "workspace", ve.Field)
	require.Equal(t, ClassPermanent, ClassOf(errorf("chatter: x: %w", Permanent(ErrConflict))))
}

func TestErrorfKeepsOnePrefix(t *testing.T) {
	t.Parallel()
	other := errors.New("pgstore: chatter: odd")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errorf("chatter: a: %w", ErrConflict), "chatter: a: conflict"},
		{errorf("%w: %w", ErrLeaseLost, ErrClosed), "chatter: lease lost: closed"},
		{errorf("chatter: a: %w: %w", ErrLeaseLost, ErrClosed), "chatter: a: lease lost: closed"},
		{errorf("chatter: a: %v", ErrClosed), "chatter: a: closed"},
		{errorf("chatter: a: %w", other), "chatter: a: pgstore: chatter: odd"}, // another layer's text is its own
		{errorf("chatter: a: %w", error(nil)), "chatter: a: %!w(<nil>)"},
		{errorf("chatter: a %d", 3), "chatter: a 3"},
	} {
		require.Equal(t, tc.want, tc.err.Error())
	}
	require.ErrorIs(t, errorf("%w: %w", ErrLeaseLost, ErrClosed), ErrClosed)
	require.ErrorIs(t, errorf("%w: %w", ErrLeaseLost, ErrClosed), ErrLeaseLost)
}
