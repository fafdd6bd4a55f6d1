package tgparse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gotd/td/telegram/auth"
	"github.com/gotd/td/tgerr"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

func TestClassify(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		err   error
		want  *Error
		class chatter.ErrorClass
	}{
		{tgerr.New(400, "PHONE_CODE_INVALID"), ErrCodeInvalid, chatter.ClassAuth},
		{tgerr.New(400, "PHONE_CODE_EXPIRED"), ErrCodeExpired, chatter.ClassAuth},
		{fmt.Errorf("check: %w", auth.ErrPasswordInvalid), ErrPasswordInvalid, chatter.ClassAuth},
		{auth.ErrPasswordAuthNeeded, ErrPasswordNeeded, chatter.ClassAuth},
		{tgerr.New(400, "PHONE_NUMBER_BANNED"), ErrPhoneBanned, chatter.ClassBlocked},
		{tgerr.New(401, "USER_DEACTIVATED_BAN"), ErrAccountBanned, chatter.ClassBlocked},
		{tgerr.New(400, "PEER_FLOOD"), ErrPeerFlood, chatter.ClassBlocked},
		{tgerr.New(401, "AUTH_KEY_UNREGISTERED"), ErrSessionRevoked, chatter.ClassAuth},
		{tgerr.New(401, "SESSION_REVOKED"), ErrSessionRevoked, chatter.ClassAuth},
		{tgerr.New(401, "SOMETHING_NEW"), ErrSessionRevoked, chatter.ClassAuth},
		{tgerr.New(406, "AUTH_KEY_DUPLICATED"), ErrSessionDuplicated, chatter.ClassAuth},
		{tgerr.New(400, "CHANNEL_PRIVATE"), ErrChannelPrivate, chatter.ClassRights},
		{tgerr.New(400, "USERNAME_NOT_OCCUPIED"), ErrUsernameNotFound, chatter.ClassPermanent},
		{tgerr.New(400, "INVITE_HASH_EXPIRED"), ErrInviteInvalid, chatter.ClassPermanent},
		{tgerr.New(400, "CHANNELS_TOO_MUCH"), ErrTooManyChannels, chatter.ClassPermanent},
		{fmt.Errorf("x: %w", chatter.ErrLeaseHeld), ErrSessionInUse, chatter.ClassTransient},
	}
	for _, tt := range tests {
		got := classify(tt.err, "acc1", "", now)
		if !errors.Is(got, tt.want) || !errors.Is(got, tt.err) && !errors.Is(got, errors.Unwrap(tt.err)) {
			t.Errorf("classify(%v) = %v, want kind %s", tt.err, got, tt.want.Kind)
			continue
		}
		if c := chatter.ClassOf(got); c != tt.class {
			t.Errorf("ClassOf(classify(%v)) = %s, want %s", tt.err, c, tt.class)
		}
		var e *Error
		if errors.As(got, &e); e.Message().RU == "" || e.Message().EN == "" || e.Remedy().RU == "" || e.Remedy().EN == "" {
			t.Errorf("%s: missing ru/en texts", e.Kind)
		}
		if !strings.Contains(got.Error(), "acc1") {
			t.Errorf("%v: error text lacks the account", got)
		}
	}
	fw := classify(tgerr.New(420, "FLOOD_WAIT_30"), "a", "", now)
	var f *FloodWaitError
	if !errors.Is(fw, ErrFloodWait) || !errors.As(fw, &f) || f.Wait != 30*time.Second || !f.Until.Equal(now.Add(30*time.Second)) {
		t.Fatalf("flood: %v", fw)
	}
	if d, ok := chatter.RetryAfter(fw); !ok || d != 30*time.Second || chatter.ClassOf(fw) != chatter.ClassRateLimited {
		t.Fatalf("RetryAfter = %v %v", d, ok)
	}
	plain := errors.New("boom")
	if classify(plain, "", "", now) != plain || classify(nil, "", "", now) != nil {
		t.Fatal("unknown errors must pass through")
	}
	if errors.Is(&Error{Kind: KindCodeInvalid}, ErrCodeExpired) {
		t.Fatal("kinds must not match each other")
	}
	for _, k := range []Kind{KindCodeInvalid, KindProxy, KindUnreachable, KindConfig, KindLinkInvalid, KindNotMember, KindSessionInUse, KindAccountUnknown} {
		if d := describe(k); d.cause.RU == "" || d.remedy.EN == "" {
			t.Errorf("kind %s has no texts", k)
		}
	}
}

func TestAccountStore(t *testing.T) {
	ctx := t.Context()
	mem := chattertest.NewMemStore()
	sealer, _ := chatter.NewSealer("k", map[string][]byte{"k": make([]byte, 32)})
	s, err := NewAccountStore(mem, sealer, "ws")
	if err != nil {
		t.Fatal(err)
	}
	a := Account{ID: "acc1", Phone: "+79991234567", APIID: 1, APIHash: strings.Repeat("ab", 16), Proxy: "socks5://u:secretpw@1.2.3.4:1080"}
	if err := s.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, a); err != nil { // an update
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "acc1")
	if err != nil || got != a {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	raw, _ := mem.GetSetting(ctx, "ws", "tgparse.account.acc1")
	for _, secret := range []string{a.APIHash, "secretpw", "79991234567"} {
		if strings.Contains(string(raw.Value), secret) {
			t.Fatalf("stored value holds %q in plain text", secret)
		}
	}
	if list, err := s.List(ctx); err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	// A value moved to another key does not open.
	if _, err := mem.PutSetting(ctx, "ws", "tgparse.account.acc2", raw.Value, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "acc2"); !errors.Is(err, chatter.ErrUnseal) {
		t.Fatalf("moved value: err = %v, want ErrUnseal", err)
	}
	if err := s.Delete(ctx, "acc1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "acc1"); !errors.Is(err, ErrAccountUnknown) || !errors.Is(err, chatter.ErrNotFound) {
		t.Fatalf("deleted: err = %v", err)
	}
	if err := s.Save(ctx, Account{ID: "bad:id"}); !errors.Is(err, ErrConfig) {
		t.Fatalf("invalid: err = %v", err)
	}
	if _, err := NewAccountStore(mem, nil, "ws"); !errors.Is(err, ErrConfig) {
		t.Fatal("nil sealer accepted")
	}
	// Logging never shows secrets.
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "account", a)
	if out := b.String(); strings.Contains(out, "secretpw") || strings.Contains(out, a.APIHash) || strings.Contains(out, "79991234567") || a.String() != "acc1 (+7999***4567)" {
		t.Fatalf("log leaks secrets: %s / %s", out, a.String())
	}
}

func TestSessionStorageSealsAndFences(t *testing.T) {
	ctx := t.Context()
	mem := chattertest.NewMemStore()
	sealer, _ := chatter.NewSealer("k", map[string][]byte{"k": make([]byte, 32)})
	l, err := mem.AcquireLease(ctx, "ws", chatter.SessionLeaseName("acc1"), "me", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	st := NewSessionStorage(mem, sealer, "ws", "acc1", l)
	if _, err := st.LoadSession(ctx); err == nil {
		t.Fatal("empty storage returned a session")
	}
	blob := []byte(`{"Version":1,"Data":{"AuthKey":"c2VjcmV0"}}`)
	if err := st.StoreSession(ctx, blob); err != nil {
		t.Fatal(err)
	}
	raw, _ := mem.LoadSession(ctx, "ws", "acc1")
	if strings.Contains(string(raw), "c2VjcmV0") {
		t.Fatal("session stored in plain text")
	}
	if got, err := st.LoadSession(ctx); err != nil || string(got) != string(blob) {
		t.Fatalf("LoadSession = %q, %v", got, err)
	}
	if err := mem.ReleaseLease(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	if err := st.StoreSession(ctx, blob); !errors.Is(err, chatter.ErrLeaseLost) {
		t.Fatalf("write after losing the lease: err = %v, want ErrLeaseLost", err)
	}
}
