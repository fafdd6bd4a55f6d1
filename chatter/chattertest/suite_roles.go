package chattertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// ---- contacts ----

var contactTests = []storeTest{
	{"SaveFind", testContactSaveFind},
	{"LookupOrder", testContactLookupOrder},
	{"Update", testContactUpdate},
	{"TelegramIDConflict", testContactConflict},
	{"Invalid", testContactInvalid},
}

func testContactSaveFind(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	_, err := s.FindContact(t.Context(), ws, chatter.ContactQuery{TelegramID: 42})
	wantErr(t, "FindContact(empty store)", err, chatter.ErrNotFound)
	l := &chatter.ContactLink{Workspace: ws, TelegramID: 42, Username: "@Irina_Smirnova", Phone: "+79161234567",
		ContactID: 7001, LeadID: 9001, LeadAt: BaseTime}
	noErr(t, "SaveContact", s.SaveContact(t.Context(), l))
	if l.Username != "@Irina_Smirnova" || !l.UpdatedAt.IsZero() {
		t.Errorf("SaveContact changed the caller's link: %+v", l)
	}
	for _, q := range []chatter.ContactQuery{
		{TelegramID: 42}, {Username: "irina_smirnova"}, {Username: "@IRINA_SMIRNOVA"}, {Phone: "+79161234567"},
	} {
		got, err := s.FindContact(t.Context(), ws, q)
		if err != nil {
			t.Errorf("FindContact(%+v): %v", q, err)
			continue
		}
		if got.ContactID != 7001 || got.TelegramID != 42 || got.Username != "irina_smirnova" || got.Phone != "+79161234567" ||
			got.LeadID != 9001 || !got.LeadAt.Equal(BaseTime) || got.Workspace != ws || got.UpdatedAt.IsZero() {
			t.Errorf("FindContact(%+v) = %+v; want contact 7001 with the username normalised and UpdatedAt set", q, got)
		}
		got.LeadID = 1 // must not reach the store
	}
	got, err := s.FindContact(t.Context(), ws, chatter.ContactQuery{TelegramID: 42})
	noErr(t, "FindContact", err)
	if got.LeadID != 9001 {
		t.Errorf("a returned link aliased the store: LeadID %d", got.LeadID)
	}
	_, err = s.FindContact(t.Context(), ws, chatter.ContactQuery{})
	wantErr(t, "FindContact(no keys)", err, chatter.ErrNotFound)
}

func testContactLookupOrder(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	a := &chatter.ContactLink{Workspace: ws, TelegramID: 1, Username: "anna", ContactID: 100}
	b := &chatter.ContactLink{Workspace: ws, Username: "boris", Phone: "+79990000002", ContactID: 200}
	c := &chatter.ContactLink{Workspace: ws, Phone: "+79990000003", ContactID: 300}
	for _, l := range []*chatter.ContactLink{a, b, c} {
		noErr(t, "SaveContact", s.SaveContact(t.Context(), l))
	}
	cases := []struct {
		q    chatter.ContactQuery
		want int64 // 0: not found
	}{
		{chatter.ContactQuery{TelegramID: 1, Username: "boris", Phone: "+79990000003"}, 100},
		{chatter.ContactQuery{TelegramID: 999, Username: "boris", Phone: "+79990000003"}, 200},
		{chatter.ContactQuery{Username: "nobody", Phone: "+79990000003"}, 300},
		{chatter.ContactQuery{TelegramID: 999, Username: "nobody", Phone: "+70000000000"}, 0},
		{chatter.ContactQuery{Username: "anna"}, 100},
		{chatter.ContactQuery{Phone: "+79990000002"}, 200},
	}
	for _, tc := range cases {
		got, err := s.FindContact(t.Context(), ws, tc.q)
		if tc.want == 0 {
			wantErr(t, fmt.Sprintf("FindContact(%+v)", tc.q), err, chatter.ErrNotFound)
			continue
		}
		if err != nil || got.ContactID != tc.want {
			t.Errorf("FindContact(%+v) = %+v, %v; want contact %d", tc.q, got, err, tc.want)
		}
	}
}

func testContactUpdate(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	l := &chatter.ContactLink{Workspace: ws, Username: "petr", ContactID: 500}
	noErr(t, "SaveContact", s.SaveContact(t.Context(), l))
	first, err := s.FindContact(t.Context(), ws, chatter.ContactQuery{Username: "petr"})
	noErr(t, "FindContact", err)
	// Learning the strong key and opening a lead updates the same contact.
	upd := &chatter.ContactLink{Workspace: ws, TelegramID: 555, Username: "petr", Phone: "+79160000005", ContactID: 500,
		LeadID: 8800, LeadAt: BaseTime.Add(time.Hour)}
	noErr(t, "SaveContact(update)", s.SaveContact(t.Context(), upd))
	got, err := s.FindContact(t.Context(), ws, chatter.ContactQuery{TelegramID: 555})
	noErr(t, "FindContact(by new telegram id)", err)
	if got.ContactID != 500 || got.LeadID != 8800 || !got.LeadAt.Equal(upd.LeadAt) || got.Phone != "+79160000005" {
		t.Errorf("updated link = %+v, want %+v", got, upd)
	}
	if got.UpdatedAt.Before(first.UpdatedAt) {
		t.Errorf("UpdatedAt went back: %v then %v", first.UpdatedAt, got.UpdatedAt)
	}
	// Saving the same contact again with its own telegram id is no conflict.
	noErr(t, "SaveContact(same again)", s.SaveContact(t.Context(), upd))
}

func testContactConflict(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	noErr(t, "SaveContact", s.SaveContact(t.Context(), &chatter.ContactLink{Workspace: ws, TelegramID: 77, Username: "olga", ContactID: 1}))
	err := s.SaveContact(t.Context(), &chatter.ContactLink{Workspace: ws, TelegramID: 77, Username: "olga2", ContactID: 2})
	wantErr(t, "SaveContact(telegram id of another contact)", err, chatter.ErrConflict)
	got, err := s.FindContact(t.Context(), ws, chatter.ContactQuery{TelegramID: 77})
	if err != nil || got.ContactID != 1 || got.Username != "olga" {
		t.Errorf("after the conflict FindContact = %+v, %v; want contact 1 unchanged", got, err)
	}
	_, err = s.FindContact(t.Context(), ws, chatter.ContactQuery{Username: "olga2"})
	wantErr(t, "FindContact(username of the refused link)", err, chatter.ErrNotFound)
}

func testContactInvalid(t *testing.T, s chatter.Store) {
	wantErr(t, "SaveContact(no contact id)", s.SaveContact(t.Context(), &chatter.ContactLink{Workspace: "ws-main", TelegramID: 5}), chatter.ErrInvalid)
	wantErr(t, "SaveContact(no workspace)", s.SaveContact(t.Context(), &chatter.ContactLink{TelegramID: 5, ContactID: 5}), chatter.ErrInvalid)
	wantErr(t, "SaveContact(nil)", s.SaveContact(t.Context(), nil), chatter.ErrInvalid)
	_, err := s.FindContact(t.Context(), "ws-main", chatter.ContactQuery{TelegramID: 5})
	wantErr(t, "FindContact after invalid saves", err, chatter.ErrNotFound)
}

// ---- tokens ----

var tokenTests = []storeTest{
	{"CompareAndSwap", testTokenCAS},
	{"ConcurrentSwap", testTokenConcurrentSwap},
	{"Invalid", testTokenInvalid},
}

func newToken(ws, account, suffix string) *chatter.Token {
	return &chatter.Token{
		Workspace: ws, Account: account,
		AccessToken: "access-" + suffix, RefreshToken: "refresh-" + suffix, TokenType: "Bearer",
		ExpiresAt: BaseTime.Add(24 * time.Hour), APIDomain: "api-b.amocrm.ru",
	}
}

func checkToken(t *testing.T, what string, got, want *chatter.Token, version int64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: nil token", what)
		return
	}
	if got.Workspace != want.Workspace || got.Account != want.Account || got.AccessToken != want.AccessToken ||
		got.RefreshToken != want.RefreshToken || got.TokenType != want.TokenType || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		got.APIDomain != want.APIDomain || got.Version != version || got.UpdatedAt.IsZero() {
		t.Errorf("%s = %+v (secrets %q/%q), want %+v (secrets %q/%q) at version %d with UpdatedAt",
			what, got, got.AccessToken, got.RefreshToken, want, want.AccessToken, want.RefreshToken, version)
	}
}

func testTokenCAS(t *testing.T, s chatter.Store) {
	const ws, acc = "ws-main", "remontmsk"
	_, err := s.GetToken(t.Context(), ws, acc)
	wantErr(t, "GetToken(none)", err, chatter.ErrNotFound)
	t1 := newToken(ws, acc, "one")
	got, err := s.SwapToken(t.Context(), t1, 0)
	noErr(t, "SwapToken(0)", err)
	checkToken(t, "SwapToken(0)", got, t1, 1)
	if t1.Version != 0 {
		t.Errorf("SwapToken changed the caller's token version to %d", t1.Version)
	}
	stored, err := s.GetToken(t.Context(), ws, acc)
	noErr(t, "GetToken", err)
	checkToken(t, "GetToken", stored, t1, 1)
	_, err = s.SwapToken(t.Context(), newToken(ws, acc, "stale"), 0)
	wantErr(t, "SwapToken(0) when one is stored", err, chatter.ErrConflict)
	t2 := newToken(ws, acc, "two")
	got, err = s.SwapToken(t.Context(), t2, 1)
	noErr(t, "SwapToken(1)", err)
	checkToken(t, "SwapToken(1)", got, t2, 2)
	_, err = s.SwapToken(t.Context(), newToken(ws, acc, "stale"), 1)
	wantErr(t, "SwapToken(stale version)", err, chatter.ErrConflict)
	_, err = s.SwapToken(t.Context(), newToken(ws, acc, "future"), 5)
	wantErr(t, "SwapToken(future version)", err, chatter.ErrConflict)
	stored, err = s.GetToken(t.Context(), ws, acc)
	noErr(t, "GetToken", err)
	checkToken(t, "GetToken after refused swaps", stored, t2, 2)
	stored.AccessToken = "changed by the caller"
	again, err := s.GetToken(t.Context(), ws, acc)
	noErr(t, "GetToken", err)
	checkToken(t, "GetToken after the caller changed a copy", again, t2, 2)

	noErr(t, "DeleteToken", s.DeleteToken(t.Context(), ws, acc))
	_, err = s.GetToken(t.Context(), ws, acc)
	wantErr(t, "GetToken after delete", err, chatter.ErrNotFound)
	noErr(t, "DeleteToken(missing)", s.DeleteToken(t.Context(), ws, acc))
	got, err = s.SwapToken(t.Context(), t1, 0)
	noErr(t, "SwapToken(0) after delete", err)
	checkToken(t, "SwapToken(0) after delete", got, t1, 1)
}

func testTokenConcurrentSwap(t *testing.T, s chatter.Store) {
	const ws, acc = "ws-main", "remontmsk"
	_, err := s.SwapToken(t.Context(), newToken(ws, acc, "base"), 0)
	noErr(t, "SwapToken", err)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.SwapToken(t.Context(), newToken(ws, acc, fmt.Sprint("refresher-", i)), 1) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("refreshers %d and %d both won the swap from version 1", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, chatter.ErrConflict):
			t.Errorf("refresher %d: %v, want ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no refresher won the swap")
	}
	got, err := s.GetToken(t.Context(), ws, acc)
	noErr(t, "GetToken", err)
	checkToken(t, "stored token", got, newToken(ws, acc, fmt.Sprint("refresher-", winner)), 2)
}

func testTokenInvalid(t *testing.T, s chatter.Store) {
	_, err := s.SwapToken(t.Context(), newToken("", "acc", "x"), 0)
	wantErr(t, "SwapToken(no workspace)", err, chatter.ErrInvalid)
	_, err = s.SwapToken(t.Context(), newToken("ws-main", "", "x"), 0)
	wantErr(t, "SwapToken(no account)", err, chatter.ErrInvalid)
	_, err = s.SwapToken(t.Context(), nil, 0)
	wantErr(t, "SwapToken(nil)", err, chatter.ErrInvalid)
	_, err = s.GetToken(t.Context(), "ws-main", "acc")
	wantErr(t, "GetToken after invalid swaps", err, chatter.ErrNotFound)
}

// ---- sessions ----

var sessionTests = []storeTest{
	{"FencedByLease", testSessionFenced},
	{"StaleHolder", testSessionStaleHolder},
}

// sessionBlob is binary data with every byte value, like a real MTProto session.
func sessionBlob(tag byte) []byte {
	b := make([]byte, 600)
	for i := range b {
		b[i] = byte(i) ^ tag
	}
	return b
}

func testSessionFenced(t *testing.T, s chatter.Store) {
	const ws, acc = "ws-main", "+79160000001"
	_, err := s.LoadSession(t.Context(), ws, acc)
	wantErr(t, "LoadSession(none)", err, chatter.ErrNotFound)
	l, err := s.AcquireLease(t.Context(), ws, chatter.SessionLeaseName(acc), "instance-a", time.Minute)
	noErr(t, "AcquireLease", err)
	blob := sessionBlob(1)
	noErr(t, "StoreSession", s.StoreSession(t.Context(), ws, acc, blob, l))
	blob[0] ^= 0xff // the store keeps its own copy
	got, err := s.LoadSession(t.Context(), ws, acc)
	noErr(t, "LoadSession", err)
	if !bytes.Equal(got, sessionBlob(1)) {
		t.Errorf("LoadSession returned %d bytes that differ from the stored blob", len(got))
	}
	got[1] ^= 0xff
	if again, _ := s.LoadSession(t.Context(), ws, acc); !bytes.Equal(again, sessionBlob(1)) {
		t.Errorf("a returned blob aliased the store")
	}

	other, err := s.AcquireLease(t.Context(), ws, chatter.SessionLeaseName("+79160000002"), "instance-a", time.Minute)
	noErr(t, "AcquireLease(other account)", err)
	forged := *l
	forged.Token++
	otherHolder := *l
	otherHolder.Holder = "instance-b"
	for _, c := range []struct {
		name  string
		lease *chatter.Lease
	}{
		{"nil lease", nil},
		{"lease of another account", other},
		{"forged token", &forged},
		{"another holder", &otherHolder},
	} {
		err := s.StoreSession(t.Context(), ws, acc, sessionBlob(2), c.lease)
		wantErr(t, "StoreSession("+c.name+")", err, chatter.ErrLeaseLost)
	}
	noErr(t, "ReleaseLease", s.ReleaseLease(t.Context(), l))
	wantErr(t, "StoreSession(released lease)", s.StoreSession(t.Context(), ws, acc, sessionBlob(3), l), chatter.ErrLeaseLost)
	got, err = s.LoadSession(t.Context(), ws, acc)
	noErr(t, "LoadSession", err)
	if !bytes.Equal(got, sessionBlob(1)) {
		t.Errorf("a refused StoreSession changed the session")
	}
}

func testSessionStaleHolder(t *testing.T, s chatter.Store) {
	const ws, acc = "ws-main", "+79160000001"
	name := chatter.SessionLeaseName(acc)
	// Long enough for the store below even on a loaded machine; the test
	// then waits (polling) for it to expire.
	a, err := s.AcquireLease(t.Context(), ws, name, "instance-a", 2*time.Second)
	noErr(t, "AcquireLease(a)", err)
	noErr(t, "StoreSession(a)", s.StoreSession(t.Context(), ws, acc, sessionBlob(1), a))
	b := acquireAfterExpiry(t, s, ws, name, "instance-b")
	if b.Token <= a.Token {
		t.Errorf("new holder's token %d is not above the old holder's %d", b.Token, a.Token)
	}
	wantErr(t, "StoreSession(expired holder)", s.StoreSession(t.Context(), ws, acc, sessionBlob(2), a), chatter.ErrLeaseLost)
	noErr(t, "StoreSession(new holder)", s.StoreSession(t.Context(), ws, acc, sessionBlob(3), b))
	got, err := s.LoadSession(t.Context(), ws, acc)
	noErr(t, "LoadSession", err)
	if !bytes.Equal(got, sessionBlob(3)) {
		t.Errorf("LoadSession does not return the current holder's session")
	}
}

// acquireAfterExpiry polls AcquireLease for holder until the current lease
// expires (it must fail with ErrLeaseHeld meanwhile).
func acquireAfterExpiry(t *testing.T, s chatter.Store, ws, name, holder string) *chatter.Lease {
	t.Helper()
	var l *chatter.Lease
	waitFor(t, "the lease to expire", func() (bool, error) {
		var err error
		l, err = s.AcquireLease(t.Context(), ws, name, holder, time.Minute)
		if errors.Is(err, chatter.ErrLeaseHeld) {
			return false, nil
		}
		return err == nil, err
	})
	return l
}

// ---- leases ----

var leaseTests = []storeTest{
	{"AcquireRenewRelease", testLeaseBasics},
	{"Expiry", testLeaseExpiry},
	{"TokensIncrease", testLeaseTokens},
	{"Concurrent", testLeaseConcurrent},
	{"Invalid", testLeaseInvalid},
}

func testLeaseBasics(t *testing.T, s chatter.Store) {
	const ws, name = "ws-main", "poller:tgbot"
	a, err := s.AcquireLease(t.Context(), ws, name, "instance-a", time.Minute)
	noErr(t, "AcquireLease(a)", err)
	if a.Workspace != ws || a.Name != name || a.Holder != "instance-a" || a.Token <= 0 || a.ExpiresAt.IsZero() {
		t.Errorf("lease = %+v, want it filled with a positive token", a)
	}
	_, err = s.AcquireLease(t.Context(), ws, name, "instance-b", time.Minute)
	wantErr(t, "AcquireLease(b while a holds)", err, chatter.ErrLeaseHeld)
	a2, err := s.AcquireLease(t.Context(), ws, name, "instance-a", 2*time.Minute)
	noErr(t, "AcquireLease(a again)", err)
	if a2.Token != a.Token || a2.ExpiresAt.Before(a.ExpiresAt) {
		t.Errorf("re-acquire by the holder = %+v, want the same token %d and a later expiry than %v", a2, a.Token, a.ExpiresAt)
	}
	a3, err := s.RenewLease(t.Context(), a2, 3*time.Minute)
	noErr(t, "RenewLease", err)
	if a3.Token != a.Token || a3.Holder != "instance-a" || a3.ExpiresAt.Before(a2.ExpiresAt) {
		t.Errorf("renewed lease = %+v, want token %d and a later expiry than %v", a3, a.Token, a2.ExpiresAt)
	}
	// The lease from the first acquisition has the same token: still current.
	if _, err := s.RenewLease(t.Context(), a, 3*time.Minute); err != nil {
		t.Errorf("RenewLease(earlier copy of the current lease): %v", err)
	}
	noErr(t, "ReleaseLease", s.ReleaseLease(t.Context(), a3))
	_, err = s.RenewLease(t.Context(), a3, time.Minute)
	wantErr(t, "RenewLease(released)", err, chatter.ErrLeaseLost)
	b, err := s.AcquireLease(t.Context(), ws, name, "instance-b", time.Minute)
	noErr(t, "AcquireLease(b after release)", err)
	if b.Token <= a.Token {
		t.Errorf("token after release %d, want above %d", b.Token, a.Token)
	}
	noErr(t, "ReleaseLease(lost lease)", s.ReleaseLease(t.Context(), a3))
	if _, err := s.RenewLease(t.Context(), b, time.Minute); err != nil {
		t.Errorf("releasing a lost lease affected the current one: RenewLease(b): %v", err)
	}
	_, err = s.AcquireLease(t.Context(), ws, name, "instance-a", time.Minute)
	wantErr(t, "AcquireLease(a while b holds)", err, chatter.ErrLeaseHeld)
	_, err = s.RenewLease(t.Context(), nil, time.Minute)
	wantErr(t, "RenewLease(nil)", err, chatter.ErrLeaseLost)
	noErr(t, "ReleaseLease(nil)", s.ReleaseLease(t.Context(), nil))
	// Names are independent.
	if _, err := s.AcquireLease(t.Context(), ws, "poller:other", "instance-a", time.Minute); err != nil {
		t.Errorf("AcquireLease(another name): %v", err)
	}
}

func testLeaseExpiry(t *testing.T, s chatter.Store) {
	const ws, name = "ws-main", "scheduler"
	a, err := s.AcquireLease(t.Context(), ws, name, "instance-a", 30*time.Millisecond)
	noErr(t, "AcquireLease(a)", err)
	b := acquireAfterExpiry(t, s, ws, name, "instance-b")
	if b.Token <= a.Token {
		t.Errorf("token after expiry %d, want above %d", b.Token, a.Token)
	}
	_, err = s.RenewLease(t.Context(), a, time.Minute)
	wantErr(t, "RenewLease(expired, taken over)", err, chatter.ErrLeaseLost)
	noErr(t, "ReleaseLease(taken over)", s.ReleaseLease(t.Context(), a))
	if _, err := s.RenewLease(t.Context(), b, time.Minute); err != nil {
		t.Errorf("RenewLease(current): %v", err)
	}
}

func testLeaseTokens(t *testing.T, s chatter.Store) {
	const ws, name = "ws-main", "session:+79160000001"
	var last int64
	for i := range 6 {
		holder := fmt.Sprint("instance-", i%2)
		l, err := s.AcquireLease(t.Context(), ws, name, holder, time.Minute)
		noErr(t, "AcquireLease", err)
		if l.Token <= last {
			t.Errorf("acquisition %d: token %d, want above %d", i, l.Token, last)
		}
		last = l.Token
		noErr(t, "ReleaseLease", s.ReleaseLease(t.Context(), l))
	}
}

func testLeaseConcurrent(t *testing.T, s chatter.Store) {
	const ws, name = "ws-main", "leader"
	const n = 8
	var wg sync.WaitGroup
	leases := make([]*chatter.Lease, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			leases[i], errs[i] = s.AcquireLease(t.Context(), ws, name, fmt.Sprint("instance-", i), time.Minute)
		})
	}
	wg.Wait()
	won := 0
	for i := range n {
		switch {
		case errs[i] == nil:
			won++
		case !errors.Is(errs[i], chatter.ErrLeaseHeld):
			t.Errorf("AcquireLease %d: %v, want nil or ErrLeaseHeld", i, errs[i])
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent holders got the lease, want exactly 1", won)
	}
}

func testLeaseInvalid(t *testing.T, s chatter.Store) {
	for _, c := range []struct {
		name, ws, lease, holder string
		ttl                     time.Duration
	}{
		{"no workspace", "", "x", "h", time.Minute},
		{"no name", "ws-main", "", "h", time.Minute},
		{"no holder", "ws-main", "x", "", time.Minute},
		{"zero ttl", "ws-main", "x", "h", 0},
		{"negative ttl", "ws-main", "x", "h", -time.Second},
	} {
		_, err := s.AcquireLease(t.Context(), c.ws, c.lease, c.holder, c.ttl)
		wantErr(t, "AcquireLease("+c.name+")", err, chatter.ErrInvalid)
	}
	l, err := s.AcquireLease(t.Context(), "ws-main", "x", "h", time.Minute)
	noErr(t, "AcquireLease after invalid ones", err)
	_, err = s.RenewLease(t.Context(), l, 0)
	wantErr(t, "RenewLease(zero ttl)", err, chatter.ErrInvalid)
}

// ---- checkpoints ----

var checkpointTests = []storeTest{
	{"Advance", testCheckpointAdvance},
	{"List", testCheckpointList},
	{"Invalid", testCheckpointInvalid},
}

func testCheckpointAdvance(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	get := func() *chatter.Checkpoint {
		t.Helper()
		c, err := s.GetCheckpoint(t.Context(), ws, chatter.SourceParser, "acc1", -100200)
		noErr(t, "GetCheckpoint", err)
		return c
	}
	_, err := s.GetCheckpoint(t.Context(), ws, chatter.SourceParser, "acc1", -100200)
	wantErr(t, "GetCheckpoint(none)", err, chatter.ErrNotFound)
	cp := &chatter.Checkpoint{Workspace: ws, Source: chatter.SourceParser, Account: "acc1", ChatID: -100200, MessageID: 10, At: BaseTime}
	noErr(t, "AdvanceCheckpoint(10)", s.AdvanceCheckpoint(t.Context(), cp))
	c := get()
	if c.MessageID != 10 || !c.At.Equal(BaseTime) || c.UpdatedAt.IsZero() || c.Workspace != ws || c.Source != chatter.SourceParser ||
		c.Account != "acc1" || c.ChatID != -100200 {
		t.Errorf("checkpoint = %+v, want message 10 at %v with UpdatedAt", c, BaseTime)
	}
	for _, back := range []int64{5, 10} {
		noErr(t, "AdvanceCheckpoint(back)", s.AdvanceCheckpoint(t.Context(),
			&chatter.Checkpoint{Workspace: ws, Source: chatter.SourceParser, Account: "acc1", ChatID: -100200, MessageID: back, At: BaseTime.Add(time.Hour)}))
		if c := get(); c.MessageID != 10 || !c.At.Equal(BaseTime) {
			t.Errorf("after advancing to %d: checkpoint %+v, want unchanged at 10", back, c)
		}
	}
	noErr(t, "AdvanceCheckpoint(11)", s.AdvanceCheckpoint(t.Context(),
		&chatter.Checkpoint{Workspace: ws, Source: chatter.SourceParser, Account: "acc1", ChatID: -100200, MessageID: 11, At: BaseTime.Add(time.Minute)}))
	if c := get(); c.MessageID != 11 || !c.At.Equal(BaseTime.Add(time.Minute)) {
		t.Errorf("after advancing to 11: checkpoint %+v", c)
	}
	c = get()
	c.MessageID = 1
	if get().MessageID != 11 {
		t.Errorf("a returned checkpoint aliased the store")
	}
}

func testCheckpointList(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	cps := []chatter.Checkpoint{
		{Source: chatter.SourceParser, Account: "acc2", ChatID: -5, MessageID: 3},
		{Source: chatter.SourceBot, Account: "bot1", ChatID: 77, MessageID: 1},
		{Source: chatter.SourceParser, Account: "acc1", ChatID: -9, MessageID: 4},
		{Source: chatter.SourceParser, Account: "acc1", ChatID: -10, MessageID: 2},
	}
	for _, c := range cps {
		c.Workspace, c.At = ws, BaseTime
		noErr(t, "AdvanceCheckpoint", s.AdvanceCheckpoint(t.Context(), &c))
	}
	list, err := s.ListCheckpoints(t.Context(), ws, "")
	noErr(t, "ListCheckpoints(all)", err)
	var got []string
	for _, c := range list {
		got = append(got, fmt.Sprintf("%s/%s/%d=%d", c.Source, c.Account, c.ChatID, c.MessageID))
	}
	want := []string{"tgbot/bot1/77=1", "tgparse/acc1/-10=2", "tgparse/acc1/-9=4", "tgparse/acc2/-5=3"}
	if !slices.Equal(got, want) {
		t.Errorf("ListCheckpoints(all) = %v, want %v (ordered by source, account, chat)", got, want)
	}
	list, err = s.ListCheckpoints(t.Context(), ws, chatter.SourceBot)
	noErr(t, "ListCheckpoints(bot)", err)
	if len(list) != 1 || list[0].Account != "bot1" {
		t.Errorf("ListCheckpoints(tgbot) = %v, want the bot's only", list)
	}
	list, err = s.ListCheckpoints(t.Context(), "ws-empty", "")
	if err != nil || len(list) != 0 {
		t.Errorf("ListCheckpoints(empty workspace) = %v, %v; want none", list, err)
	}
}

func testCheckpointInvalid(t *testing.T, s chatter.Store) {
	for _, c := range []chatter.Checkpoint{
		{Source: chatter.SourceBot, Account: "a", ChatID: 1, MessageID: 1},
		{Workspace: "ws-main", Account: "a", ChatID: 1, MessageID: 1},
		{Workspace: "ws-main", Source: chatter.SourceBot, ChatID: 1, MessageID: 1},
		{Workspace: "ws-main", Source: chatter.SourceBot, Account: "a", MessageID: 1},
	} {
		wantErr(t, fmt.Sprintf("AdvanceCheckpoint(%+v)", c), s.AdvanceCheckpoint(t.Context(), &c), chatter.ErrInvalid)
	}
	wantErr(t, "AdvanceCheckpoint(nil)", s.AdvanceCheckpoint(t.Context(), nil), chatter.ErrInvalid)
	list, err := s.ListCheckpoints(t.Context(), "ws-main", "")
	if err != nil || len(list) != 0 {
		t.Errorf("after invalid advances ListCheckpoints = %v, %v; want none", list, err)
	}
}

// ---- events ----

var eventTests = []storeTest{
	{"AppendList", testEventsAppendList},
	{"Count", testEventsCount},
	{"Prune", testEventsPrune},
	{"Invalid", testEventsInvalid},
	{"SourceAndText", testEventsSourceText},
}

func eventFixture(ws string) []chatter.Event {
	return []chatter.Event{
		{Workspace: ws, Time: BaseTime, Level: slog.LevelInfo, Category: "source", Source: "tgbot", Text: "бот подключён"},
		{Workspace: ws, Time: BaseTime.Add(1 * time.Minute), Level: slog.LevelWarn, Category: "delivery", ErrorClass: chatter.ClassRateLimited,
			MessageKey: "tgbot:7000000001:-100:1", Text: "amoCRM ответил 429, повтор через 2 с", Attrs: map[string]string{"retry_after": "2s"}},
		{Workspace: ws, Time: BaseTime.Add(2 * time.Minute), Level: slog.LevelError, Category: "auth", ErrorClass: chatter.ClassAuth,
			Text: "токен amoCRM отозван", Attrs: map[string]string{"account": "remontmsk"}},
		{Workspace: ws, Time: BaseTime.Add(3 * time.Minute), Level: slog.LevelInfo, Category: "delivery", Text: "сделка создана",
			Attrs: map[string]string{"lead_id": "31337"}},
		{Workspace: ws, Time: BaseTime.Add(4 * time.Minute), Level: slog.LevelError, Category: "delivery", ErrorClass: chatter.ClassMapping,
			Text: "обязательное поле «Бюджет» не заполнено"},
	}
}

func eventTexts(evs []chatter.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Text
	}
	return out
}

func testEventsAppendList(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	evs := eventFixture(ws)
	noErr(t, "AppendEvents", s.AppendEvents(t.Context(), evs))
	evs[1].Attrs["retry_after"] = "changed by the caller"
	want := eventFixture(ws)
	list, err := s.ListEvents(t.Context(), chatter.EventQuery{Workspace: ws})
	noErr(t, "ListEvents", err)
	if len(list) != len(want) {
		t.Fatalf("ListEvents = %d events, want %d", len(list), len(want))
	}
	for i, got := range list {
		w := want[len(want)-1-i] // newest first
		if got.ID == 0 || got.Workspace != ws || !got.Time.Equal(w.Time) || got.Level != w.Level || got.Category != w.Category ||
			got.ErrorClass != w.ErrorClass || got.Source != w.Source || got.MessageKey != w.MessageKey || got.Text != w.Text ||
			!maps.Equal(got.Attrs, w.Attrs) {
			t.Errorf("event %d = %+v, want %+v with an ID", i, got, w)
		}
		if i > 0 && got.ID >= list[i-1].ID {
			t.Errorf("ListEvents IDs not decreasing: %d after %d", got.ID, list[i-1].ID)
		}
	}
	warn := slog.LevelWarn
	cases := []struct {
		name string
		q    chatter.EventQuery
		want []string
	}{
		{"limit", chatter.EventQuery{Limit: 2}, []string{want[4].Text, want[3].Text}},
		{"cursor", chatter.EventQuery{BeforeID: list[1].ID, Limit: 2}, []string{want[2].Text, want[1].Text}},
		{"min level warn", chatter.EventQuery{MinLevel: &warn}, []string{want[4].Text, want[2].Text, want[1].Text}},
		{"category", chatter.EventQuery{Category: "delivery"}, []string{want[4].Text, want[3].Text, want[1].Text}},
		{"error class", chatter.EventQuery{ErrorClass: chatter.ClassAuth}, []string{want[2].Text}},
		{"time range", chatter.EventQuery{From: BaseTime.Add(time.Minute), To: BaseTime.Add(3 * time.Minute)}, []string{want[2].Text, want[1].Text}},
		{"nothing", chatter.EventQuery{Category: "system"}, nil},
	}
	for _, c := range cases {
		c.q.Workspace = ws
		got, err := s.ListEvents(t.Context(), c.q)
		noErr(t, "ListEvents("+c.name+")", err)
		if !slices.Equal(eventTexts(got), c.want) {
			t.Errorf("ListEvents(%s) = %q, want %q", c.name, eventTexts(got), c.want)
		}
	}
	list[0].Attrs = map[string]string{"x": "y"}
	if again, _ := s.ListEvents(t.Context(), chatter.EventQuery{Workspace: ws, Limit: 1}); len(again) != 1 || len(again[0].Attrs) != 0 {
		t.Errorf("a returned event aliased the store: %+v", again)
	}
	// A zero Time is stamped by the store.
	noErr(t, "AppendEvents(zero time)", s.AppendEvents(t.Context(), []chatter.Event{{Workspace: ws, Level: slog.LevelInfo, Text: "без времени"}}))
	latest, err := s.ListEvents(t.Context(), chatter.EventQuery{Workspace: ws, Limit: 1})
	noErr(t, "ListEvents", err)
	if len(latest) != 1 || latest[0].Text != "без времени" || latest[0].Time.IsZero() {
		t.Errorf("event appended without a time = %+v, want it stamped with the store's clock", latest)
	}
	noErr(t, "AppendEvents(empty)", s.AppendEvents(t.Context(), nil))
}

func testEventsCount(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	noErr(t, "AppendEvents", s.AppendEvents(t.Context(), eventFixture(ws)))
	noErr(t, "AppendEvents", s.AppendEvents(t.Context(), eventFixture(ws)[4:]))
	counts, err := s.CountEvents(t.Context(), chatter.EventQuery{Workspace: ws, Limit: 1, BeforeID: 1})
	noErr(t, "CountEvents", err)
	want := map[chatter.ErrorClass]int{"": 2, chatter.ClassRateLimited: 1, chatter.ClassAuth: 1, chatter.ClassMapping: 2}
	if !maps.Equal(counts, want) {
		t.Errorf("CountEvents (ignoring Limit and BeforeID) = %v, want %v", counts, want)
	}
	counts, err = s.CountEvents(t.Context(), chatter.EventQuery{Workspace: ws, Category: "delivery"})
	noErr(t, "CountEvents(delivery)", err)
	want = map[chatter.ErrorClass]int{"": 1, chatter.ClassRateLimited: 1, chatter.ClassMapping: 2}
	if !maps.Equal(counts, want) {
		t.Errorf("CountEvents(delivery) = %v, want %v", counts, want)
	}
}

func testEventsPrune(t *testing.T, s chatter.Store) {
	noErr(t, "AppendEvents", s.AppendEvents(t.Context(), eventFixture("ws-a")))
	noErr(t, "AppendEvents", s.AppendEvents(t.Context(), eventFixture("ws-b")))
	n, err := s.PruneEvents(t.Context(), BaseTime.Add(2*time.Minute))
	noErr(t, "PruneEvents", err)
	if n != 4 {
		t.Errorf("PruneEvents deleted %d, want 4 (2 in each workspace)", n)
	}
	for _, ws := range []string{"ws-a", "ws-b"} {
		list, err := s.ListEvents(t.Context(), chatter.EventQuery{Workspace: ws})
		noErr(t, "ListEvents", err)
		if len(list) != 3 || list[len(list)-1].Time.Before(BaseTime.Add(2*time.Minute)) {
			t.Errorf("%s after prune: %q, want the 3 events from minute 2 on", ws, eventTexts(list))
		}
	}
	if n, err := s.PruneEvents(t.Context(), BaseTime.Add(2*time.Minute)); err != nil || n != 0 {
		t.Errorf("second PruneEvents = %d, %v; want 0", n, err)
	}
}

func testEventsInvalid(t *testing.T, s chatter.Store) {
	evs := eventFixture("ws-main")
	evs[2].Workspace = ""
	wantErr(t, "AppendEvents(one without workspace)", s.AppendEvents(t.Context(), evs), chatter.ErrInvalid)
	list, err := s.ListEvents(t.Context(), chatter.EventQuery{Workspace: "ws-main"})
	if err != nil || len(list) != 0 {
		t.Errorf("after a refused batch ListEvents = %d events, %v; want none (one transaction)", len(list), err)
	}
	_, err = s.ListEvents(t.Context(), chatter.EventQuery{})
	wantErr(t, "ListEvents(no workspace)", err, chatter.ErrInvalid)
	_, err = s.CountEvents(t.Context(), chatter.EventQuery{})
	wantErr(t, "CountEvents(no workspace)", err, chatter.ErrInvalid)
}

// ---- settings ----

var settingTests = []storeTest{
	{"CompareAndSwap", testSettingsCAS},
	{"ConcurrentPut", testSettingsConcurrent},
	{"List", testSettingsList},
	{"Invalid", testSettingsInvalid},
}

// jsonEqual compares JSON documents by meaning (stores may re-encode them).
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func testSettingsCAS(t *testing.T, s chatter.Store) {
	const ws, key = "ws-main", "fieldmap.default"
	_, err := s.GetSetting(t.Context(), ws, key)
	wantErr(t, "GetSetting(none)", err, chatter.ErrNotFound)
	v1 := json.RawMessage(`{"pipeline": "Входящие", "fields": {"budget": "UF_BUDGET"}, "tags": ["telegram", "бот"]}`)
	st, err := s.PutSetting(t.Context(), ws, key, v1, 0)
	noErr(t, "PutSetting(0)", err)
	if st.Version != 1 || st.Workspace != ws || st.Key != key || !jsonEqual(st.Value, v1) || st.UpdatedAt.IsZero() {
		t.Errorf("PutSetting(0) = %+v, want version 1 with the value", st)
	}
	_, err = s.PutSetting(t.Context(), ws, key, json.RawMessage(`{}`), 0)
	wantErr(t, "PutSetting(0) when stored", err, chatter.ErrConflict)
	v2 := json.RawMessage(`[1, 2, 3]`)
	st, err = s.PutSetting(t.Context(), ws, key, v2, 1)
	noErr(t, "PutSetting(1)", err)
	if st.Version != 2 || !jsonEqual(st.Value, v2) {
		t.Errorf("PutSetting(1) = %+v, want version 2", st)
	}
	_, err = s.PutSetting(t.Context(), ws, key, json.RawMessage(`"stale"`), 1)
	wantErr(t, "PutSetting(stale)", err, chatter.ErrConflict)
	got, err := s.GetSetting(t.Context(), ws, key)
	noErr(t, "GetSetting", err)
	if got.Version != 2 || !jsonEqual(got.Value, v2) {
		t.Errorf("GetSetting = %+v (%s), want version 2 with %s", got, got.Value, v2)
	}
	got.Value[0] = '{'
	if again, _ := s.GetSetting(t.Context(), ws, key); again == nil || !jsonEqual(again.Value, v2) {
		t.Errorf("a returned setting aliased the store")
	}
}

func testSettingsConcurrent(t *testing.T, s chatter.Store) {
	const ws, key = "ws-main", "notify.email"
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.PutSetting(t.Context(), ws, key, json.RawMessage(fmt.Sprintf(`{"writer": %d}`, i)), 0)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both won version 1", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, chatter.ErrConflict):
			t.Errorf("writer %d: %v, want ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer won")
	}
	got, err := s.GetSetting(t.Context(), ws, key)
	noErr(t, "GetSetting", err)
	if got.Version != 1 || !jsonEqual(got.Value, []byte(fmt.Sprintf(`{"writer": %d}`, winner))) {
		t.Errorf("stored setting = %+v (%s), want the winner's", got, got.Value)
	}
}

func testSettingsList(t *testing.T, s chatter.Store) {
	const ws = "ws-main"
	for _, k := range []string{"notify.telegram", "fieldmap.default", "notify.email", "notifyx", "filter.keywords"} {
		_, err := s.PutSetting(t.Context(), ws, k, json.RawMessage(`true`), 0)
		noErr(t, "PutSetting", err)
	}
	keys := func(prefix string) []string {
		list, err := s.ListSettings(t.Context(), ws, prefix)
		noErr(t, "ListSettings", err)
		var out []string
		for _, st := range list {
			out = append(out, st.Key)
		}
		return out
	}
	if got, want := keys("notify."), []string{"notify.email", "notify.telegram"}; !slices.Equal(got, want) {
		t.Errorf("ListSettings(notify.) = %v, want %v", got, want)
	}
	if got := keys(""); len(got) != 5 || !slices.IsSorted(got) {
		t.Errorf("ListSettings(\"\") = %v, want all 5 ordered by key", got)
	}
	if got := keys("zzz"); len(got) != 0 {
		t.Errorf("ListSettings(zzz) = %v, want none", got)
	}
	if got := keys("notify%"); len(got) != 0 {
		t.Errorf("ListSettings(notify%%) = %v, want none (the prefix is literal)", got)
	}
}

func testSettingsInvalid(t *testing.T, s chatter.Store) {
	const ws, key = "ws-main", "filter.keywords"
	_, err := s.PutSetting(t.Context(), ws, key, json.RawMessage(`{"words": ["ремонт"]}`), 0)
	noErr(t, "PutSetting", err)
	for _, bad := range []string{``, `{"words": [`, `ремонт`, `{"a":1}{"b":2}`} {
		_, err := s.PutSetting(t.Context(), ws, key, json.RawMessage(bad), 1)
		wantErr(t, fmt.Sprintf("PutSetting(%q)", bad), err, chatter.ErrInvalid)
	}
	_, err = s.PutSetting(t.Context(), ws, "", json.RawMessage(`1`), 0)
	wantErr(t, "PutSetting(no key)", err, chatter.ErrInvalid)
	_, err = s.PutSetting(t.Context(), "", key, json.RawMessage(`1`), 0)
	wantErr(t, "PutSetting(no workspace)", err, chatter.ErrInvalid)
	got, err := s.GetSetting(t.Context(), ws, key)
	noErr(t, "GetSetting", err)
	if got.Version != 1 || !jsonEqual(got.Value, []byte(`{"words": ["ремонт"]}`)) {
		t.Errorf("after refused writes setting = %+v (%s), want version 1 unchanged", got, got.Value)
	}
}

// ---- rate budget ----

var rateTests = []storeTest{
	{"Spacing", testRateSpacing},
	{"Penalize", testRatePenalize},
	{"Invalid", testRateInvalid},
}

func testRateSpacing(t *testing.T, s chatter.Store) {
	const ws, key = "ws-main", "amocrm:remontmsk"
	const n = 20
	// Slots are booked, not waited for, so a long interval costs nothing and
	// keeps the check below independent of how long the bookings take.
	const interval = time.Second
	var wg sync.WaitGroup
	slots := make([]time.Time, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { slots[i], errs[i] = s.Reserve(t.Context(), ws, key, interval) })
	}
	wg.Wait()
	for _, err := range errs {
		noErr(t, "Reserve", err)
	}
	slices.SortFunc(slots, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < n; i++ {
		if gap := slots[i].Sub(slots[i-1]); gap < interval {
			t.Errorf("slots %d and %d are %s apart, want at least %s", i-1, i, gap, interval)
		}
	}
	// Another key has its own budget: its first slot is not pushed behind
	// the 20 booked above.
	other, err := s.Reserve(t.Context(), ws, "amocrm:other", interval)
	noErr(t, "Reserve(other key)", err)
	if !other.Before(slots[n-1]) {
		t.Errorf("another key's first slot %v is not before the busy key's last %v", other, slots[n-1])
	}
}

func testRatePenalize(t *testing.T, s chatter.Store) {
	const ws, key = "ws-main", "amocrm:remontmsk"
	const interval = 10 * time.Millisecond
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	noErr(t, "Penalize", s.Penalize(t.Context(), ws, key, until))
	slot, err := s.Reserve(t.Context(), ws, key, interval)
	noErr(t, "Reserve", err)
	if slot.Before(until) {
		t.Errorf("slot %v after Penalize(%v) is earlier than the penalty", slot, until)
	}
	noErr(t, "Penalize(earlier)", s.Penalize(t.Context(), ws, key, until.Add(-30*time.Minute)))
	next, err := s.Reserve(t.Context(), ws, key, interval)
	noErr(t, "Reserve", err)
	if next.Sub(slot) < interval {
		t.Errorf("a Penalize to an earlier time moved the budget back: slots %v then %v", slot, next)
	}
	free, err := s.Reserve(t.Context(), ws, "tgbot:7000000001", interval)
	noErr(t, "Reserve(other key)", err)
	if !free.Before(until) {
		t.Errorf("Penalize of one key delayed another: slot %v", free)
	}
}

func testRateInvalid(t *testing.T, s chatter.Store) {
	_, err := s.Reserve(t.Context(), "ws-main", "k", 0)
	wantErr(t, "Reserve(zero interval)", err, chatter.ErrInvalid)
	_, err = s.Reserve(t.Context(), "", "k", time.Second)
	wantErr(t, "Reserve(no workspace)", err, chatter.ErrInvalid)
	_, err = s.Reserve(t.Context(), "ws-main", "", time.Second)
	wantErr(t, "Reserve(no key)", err, chatter.ErrInvalid)
	wantErr(t, "Penalize(no workspace)", s.Penalize(t.Context(), "", "k", time.Now()), chatter.ErrInvalid)
}
